package engine;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Runs a plan as a dependency graph: each step starts the moment everything it depends on is done, so
 * independent chains (storage, database, cluster) overlap. Transient failures are retried here; a failed step
 * stops only the steps that depend on it.
 */
public final class Executor {
    private Executor() {}

    public enum Status { CREATED, UPDATED, DELETED, UNCHANGED, FAILED, SKIPPED, INTERRUPTED }

    public record Outcome(Status status, long millis, RuntimeException error) {}

    public record Result(Map<String, JsonNode> states, Map<String, Outcome> outcomes, long millis) {
        public boolean ok() {
            return outcomes.values().stream().allMatch(o -> o.status() != Status.FAILED && o.status() != Status.SKIPPED
                    && o.status() != Status.INTERRUPTED);
        }
    }

    /** What the caller's layer knows of its failures: which to retry, after how long, and which mean the work is done. */
    public interface Recovery {
        /** Wait before attempt {@code attempt} after a failure with {@code code}, or null when the failure is final. */
        Duration waitBefore(Plan.Item item, String code, int attempt);

        int maxAttempts(Plan.Item item, String code);

        /** Whether a failure with {@code code} means the state wanted exists already. */
        default boolean satisfied(String code) { return false; }
    }

    /** A failure with a code a {@link Recovery} can look up. */
    public static class Failure extends RuntimeException {
        public final String code;

        public Failure(String code, String message) {
            super(message);
            this.code = code;
        }
    }

    /** The run was interrupted (Ctrl-C): what the service accepted carries on without us. */
    public static final class Interrupted extends RuntimeException {
        public Interrupted() { super("interrupted"); }
    }

    /** What a run tells as it goes: the live view implements it. */
    public interface Listener {
        void started(Plan.Item item, Plan.Action action);

        void finished(Plan.Item item, Status status, long millis);

        void failed(Plan.Item item, RuntimeException e);

        void skipped(Plan.Item item, String because);

        void retrying(Plan.Item item, String code, Duration wait, int attempt, int attempts);
    }

    public static Result run(List<Plan.Step> steps, Plan.Ctx ctx, Listener listener, Recovery recovery) {
        long start = System.nanoTime();
        Map<String, JsonNode> states = new ConcurrentHashMap<>();
        Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
        // Read by pool threads while this thread still adds to it.
        Map<String, CompletableFuture<Boolean>> done = new ConcurrentHashMap<>();
        for (Plan.Step s : steps) s.current().ifPresent(c -> states.put(s.item().key(), c));
        Plan.Outputs outputs = Plan.outputs(states);
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, steps.size()), Plan.daemon("apply"));
        try {
            for (Plan.Step step : steps) {
                List<CompletableFuture<Boolean>> deps = new ArrayList<>();
                for (String d : step.item().dependsOn()) {
                    CompletableFuture<Boolean> f = done.get(d);
                    if (f == null) throw new IllegalStateException(step.item().key() + " depends on unknown or later " + d);
                    deps.add(f);
                }
                CompletableFuture<Boolean> mine = CompletableFuture.allOf(deps.toArray(new CompletableFuture[0]))
                        .thenApplyAsync(ignored -> {
                            for (String d : step.item().dependsOn()) {
                                if (!done.get(d).join()) {
                                    outcomes.put(step.item().key(), new Outcome(Status.SKIPPED, 0, null));
                                    listener.skipped(step.item(), d);
                                    return false;
                                }
                            }
                            return runStep(step, ctx, outputs, states, outcomes, listener, recovery);
                        }, pool);
                done.put(step.item().key(), mine);
            }
            for (var f : done.values()) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    // recorded in outcomes
                } catch (InterruptedException e) {
                    // Ctrl-C: stop waiting; what the service already accepted carries on without us.
                    pool.shutdownNow();
                    for (Plan.Step s : steps) {
                        outcomes.putIfAbsent(s.item().key(), new Outcome(Status.INTERRUPTED, 0, new Interrupted()));
                    }
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } finally {
            pool.shutdownNow();
        }
        Map<String, Outcome> ordered = new LinkedHashMap<>();
        for (Plan.Step s : steps) ordered.put(s.item().key(), outcomes.get(s.item().key()));
        return new Result(Map.copyOf(states), ordered, (System.nanoTime() - start) / 1_000_000);
    }

    private static boolean runStep(Plan.Step step, Plan.Ctx ctx, Plan.Outputs outputs, Map<String, JsonNode> states,
                                   Map<String, Outcome> outcomes, Listener listener, Recovery recovery) {
        Plan.Item item = step.item();
        if (step.action() == Plan.Action.NOOP) {
            outcomes.put(item.key(), new Outcome(Status.UNCHANGED, 0, null));
            return true;
        }
        long t0 = System.nanoTime();
        listener.started(item, step.action());
        Optional<JsonNode> current = step.current();
        Plan.Handler handler = item.handler();
        if (current.isPresent() && handler.inFlight(current.get())) {
            // An earlier (interrupted) run started an operation here: wait for it instead of sending a second write.
            try {
                current = handler.awaitSettled(ctx);
            } catch (Interrupted e) {
                return record(outcomes, listener, item, Status.INTERRUPTED, t0, e);
            }
            if (current.isPresent() && handler.unfinished(current.get()) == null && handler.differences(current.get(), outputs).isEmpty()) {
                states.put(item.key(), current.get());
                return record(outcomes, listener, item, Status.UNCHANGED, t0, null);
            }
        }
        if (step.action() == Plan.Action.CREATE && current.isEmpty() && item.parent() != null) {
            // Made by its parent's create (a pool in the cluster's agentPoolProfiles): written only if it differs.
            current = handler.madeByParent(states.get(item.parent()));
            if (current.isPresent() && handler.differences(current.get(), outputs).isEmpty()) {
                states.put(item.key(), current.get());
                return record(outcomes, listener, item, Status.CREATED, t0, null);
            }
        }
        for (int attempt = 1; ; attempt++) {
            try {
                states.put(item.key(), handler.apply(ctx, current, outputs));
                return record(outcomes, listener, item, switch (step.action()) {
                    case CREATE -> Status.CREATED;
                    case DELETE -> Status.DELETED;
                    default -> Status.UPDATED;
                }, t0, null);
            } catch (Interrupted e) {
                return record(outcomes, listener, item, Status.INTERRUPTED, t0, e);
            } catch (Failure e) {
                if (recovery.satisfied(e.code)) return record(outcomes, listener, item, Status.UNCHANGED, t0, null);
                Duration wait = recovery.waitBefore(item, e.code, attempt + 1);
                if (wait == null || Thread.currentThread().isInterrupted()) {
                    return record(outcomes, listener, item, Status.FAILED, t0, e);
                }
                listener.retrying(item, e.code, wait, attempt + 1, recovery.maxAttempts(item, e.code));
                try {
                    Thread.sleep(wait.toMillis());
                } catch (InterruptedException ie) {
                    return record(outcomes, listener, item, Status.INTERRUPTED, t0, new Interrupted());
                }
                // A failed create may leave the resource behind in state Failed; the next PUT writes it again.
            } catch (RuntimeException e) {
                return record(outcomes, listener, item, Status.FAILED, t0, e);
            }
        }
    }

    /** Records how a started step ended, tells the listener, and says whether dependents may go on. */
    private static boolean record(Map<String, Outcome> outcomes, Listener listener, Plan.Item item, Status status, long t0,
                                  RuntimeException error) {
        long ms = (System.nanoTime() - t0) / 1_000_000;
        outcomes.put(item.key(), new Outcome(status, ms, error));
        switch (status) {
            case FAILED -> listener.failed(item, error);
            case INTERRUPTED -> { }      // still in flight: the listener keeps listing it
            default -> listener.finished(item, status, ms);
        }
        return status == Status.CREATED || status == Status.UPDATED || status == Status.DELETED || status == Status.UNCHANGED;
    }
}
