package engine;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * What the engine asks of a handler and of the caller's layer, and nothing more: whether an earlier run left a resource
 * unfinished (and waiting for it), whether a parent's create made it, which failures to retry and which mean done.
 * No Azure here: the handlers are canned.
 */
class HandlerHooksTest {
    final List<String> told = Collections.synchronizedList(new ArrayList<>());

    /** A listener that writes down what the run tells. */
    final Executor.Listener listener = new Executor.Listener() {
        @Override public void started(Plan.Item item, Plan.Action action) { told.add("started " + item.key()); }
        @Override public void finished(Plan.Item item, Executor.Status status, long millis) { told.add(status + " " + item.key()); }
        @Override public void failed(Plan.Item item, RuntimeException e) { told.add("failed " + item.key() + ": " + e.getMessage()); }
        @Override public void skipped(Plan.Item item, String because) { told.add("skipped " + item.key() + " for " + because); }
        @Override public void retrying(Plan.Item item, String code, Duration wait, int attempt, int attempts) {
            told.add("retrying " + item.key() + " after " + code + " " + attempt + "/" + attempts);
        }
    };

    /** Retries "Busy" three times in all, without waiting; "Exists" means the state wanted is there. */
    static final Executor.Recovery RECOVERY = new Executor.Recovery() {
        @Override public Duration waitBefore(Plan.Item item, String code, int attempt) {
            return code.equals("Busy") && attempt <= 3 ? Duration.ZERO : null;
        }
        @Override public int maxAttempts(Plan.Item item, String code) { return code.equals("Busy") ? 3 : 1; }
        @Override public boolean satisfied(String code) { return code.equals("Exists"); }
    };

    /** A resource whose state says "phase": "running" while an operation is in flight and "broken" when it failed. */
    static class Phased implements Plan.Handler {
        final AtomicInteger writes = new AtomicInteger();
        final AtomicInteger waits = new AtomicInteger();
        JsonNode found;
        JsonNode afterWait = Json.parse("{\"phase\":\"done\"}");
        List<String> differences = List.of();
        JsonNode fromParent;
        RuntimeException failure;

        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return Optional.ofNullable(found); }
        @Override public List<String> differences(JsonNode current, Plan.Outputs outputs) { return differences; }
        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            writes.incrementAndGet();
            if (failure != null) throw failure;
            return Json.parse("{\"phase\":\"written\"}");
        }
        @Override public String unfinished(JsonNode current) {
            String phase = current.path("phase").asText();
            return phase.equals("running") || phase.equals("broken") ? "/phase (" + phase + ")" : null;
        }
        @Override public boolean inFlight(JsonNode current) { return current.path("phase").asText().equals("running"); }
        @Override public Optional<JsonNode> awaitSettled(Plan.Ctx ctx) {
            waits.incrementAndGet();
            return Optional.ofNullable(afterWait);
        }
        @Override public Optional<JsonNode> madeByParent(JsonNode parentState) {
            return parentState != null && fromParent != null ? Optional.of(fromParent) : Optional.empty();
        }
    }

    static Plan.Item item(String key, String parent, Plan.Handler h) {
        return new Plan.Item(key, "thing", key, parent, parent == null ? List.of() : List.of(parent), Map.of(), h);
    }

    static JsonNode phase(String p) {
        return Json.parse("{\"phase\":\"" + p + "\"}");
    }

    Executor.Result run(Plan.Step... steps) {
        return Executor.run(List.of(steps), null, listener, RECOVERY);
    }

    @Test
    void aPlanNamesWhyAnUnfinishedResourceIsWrittenAgainFirst() {
        Phased h = new Phased();
        h.found = phase("running");
        h.differences = List.of("/size");
        Plan.Step step = Plan.compute(List.of(item("a", null, h)), null, true).get(0);
        assertEquals(Plan.Action.UPDATE, step.action());
        assertEquals(List.of("/phase (running)", "/size"), step.changes());
    }

    @Test
    void anOperationLeftInFlightIsWaitedForAndNotWrittenWhenItEndsAsWanted() {
        Phased h = new Phased();
        Executor.Result r = run(new Plan.Step(item("a", null, h), Plan.Action.UPDATE, Optional.of(phase("running")), List.of("/phase (running)")));
        assertEquals(1, h.waits.get());
        assertEquals(0, h.writes.get(), "what the earlier run started ended as wanted: no second write");
        assertEquals(Executor.Status.UNCHANGED, r.outcomes().get("a").status());
        assertEquals("done", r.states().get("a").path("phase").asText());
    }

    @Test
    void anOperationThatEndsFailedOrDifferentIsWrittenAfterTheWait() {
        Phased failed = new Phased();
        failed.afterWait = phase("broken");
        Phased differs = new Phased();
        differs.differences = List.of("/size");
        Executor.Result r = run(new Plan.Step(item("a", null, failed), Plan.Action.UPDATE, Optional.of(phase("running")), List.of()),
                new Plan.Step(item("b", null, differs), Plan.Action.UPDATE, Optional.of(phase("running")), List.of()));
        assertEquals(List.of(1, 1), List.of(failed.waits.get(), differs.waits.get()));
        assertEquals(List.of(1, 1), List.of(failed.writes.get(), differs.writes.get()));
        assertEquals(Executor.Status.UPDATED, r.outcomes().get("a").status());
    }

    @Test
    void aResourceItsParentsCreateMadeIsNotWrittenUnlessItDiffers() {
        Phased parent = new Phased();
        Phased same = new Phased();
        same.fromParent = phase("done");
        Phased differs = new Phased();
        differs.fromParent = phase("done");
        differs.differences = List.of("/size");
        Executor.Result r = run(new Plan.Step(item("cluster", null, parent), Plan.Action.CREATE, Optional.empty(), List.of()),
                new Plan.Step(item("pool", "cluster", same), Plan.Action.CREATE, Optional.empty(), List.of()),
                new Plan.Step(item("pool2", "cluster", differs), Plan.Action.CREATE, Optional.empty(), List.of()));
        assertEquals(0, same.writes.get());
        assertEquals(Executor.Status.CREATED, r.outcomes().get("pool").status());
        assertEquals(1, differs.writes.get());
    }

    @Test
    void failuresAreRetriedAsTheCallersRecoverySaysAndAFailureMeaningDoneIsUnchanged() {
        Phased busy = new Phased();
        busy.failure = new Executor.Failure("Busy", "busy, try later");
        Phased exists = new Phased();
        exists.failure = new Executor.Failure("Exists", "made under another name");
        Phased other = new Phased();
        other.failure = new IllegalStateException("no capacity");
        Executor.Result r = run(new Plan.Step(item("busy", null, busy), Plan.Action.CREATE, Optional.empty(), List.of()),
                new Plan.Step(item("exists", null, exists), Plan.Action.CREATE, Optional.empty(), List.of()),
                new Plan.Step(item("other", null, other), Plan.Action.CREATE, Optional.empty(), List.of()),
                new Plan.Step(item("after", "other", new Phased()), Plan.Action.CREATE, Optional.empty(), List.of()));
        assertEquals(3, busy.writes.get(), "tried as often as the recovery allows");
        assertEquals(Executor.Status.FAILED, r.outcomes().get("busy").status());
        assertTrue(told.containsAll(List.of("retrying busy after Busy 2/3", "retrying busy after Busy 3/3")), told.toString());
        assertEquals(Executor.Status.UNCHANGED, r.outcomes().get("exists").status());
        assertEquals(1, other.writes.get(), "a failure without a code is final");
        assertTrue(told.contains("skipped after for other"), told.toString());
        assertFalse(r.ok());
    }

    @Test
    void anInterruptedWaitEndsTheStepAsInterrupted() {
        Phased h = new Phased() {
            @Override public Optional<JsonNode> awaitSettled(Plan.Ctx ctx) { throw new Executor.Interrupted(); }
        };
        Executor.Result r = run(new Plan.Step(item("a", null, h), Plan.Action.UPDATE, Optional.of(phase("running")), List.of()));
        assertEquals(Executor.Status.INTERRUPTED, r.outcomes().get("a").status());
        assertEquals(0, h.writes.get());
    }
}
