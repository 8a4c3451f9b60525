import static org.junit.jupiter.api.Assertions.*;

import azure.Arm;
import azure.ArmRecovery;
import azure.Clients;
import cli.Console;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Executor;
import engine.Json;
import engine.Plan;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link Executor#run}: steps as a dependency graph, with Azure's "try again" failures retried. */
class ExecutorTest {
    /** Waits short enough that the retry tests take milliseconds. */
    static final Executor.Recovery FAST = new ArmRecovery(Duration.ofMillis(2));

    final ByteArrayOutputStream console = new ByteArrayOutputStream();
    final List<String> events = Collections.synchronizedList(new ArrayList<>());

    // --- the one place that knows how steps are built and run ---------------------------------------------------

    /** What a step's apply does, given the outputs of the steps before it. */
    interface Write {
        JsonNode apply(Plan.Outputs outputs) throws Exception;
    }

    record Does(Write write) implements Plan.Handler {
        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return Optional.empty(); }
        @Override public List<String> differences(JsonNode current, Plan.Outputs outputs) { return List.of(); }
        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            try {
                return write.apply(outputs);
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static Plan.Step step(String key, Plan.Action action, Optional<JsonNode> current, Write write, String... dependsOn) {
        Plan.Item item = new Plan.Item(key, "test resource", key, null, List.of(dependsOn), Map.of(), new Does(write));
        return new Plan.Step(item, action, current, List.of());
    }

    static Plan.Step create(String key, Write write, String... dependsOn) {
        return step(key, Plan.Action.CREATE, Optional.empty(), write, dependsOn);
    }

    Executor.Result run(Executor.Recovery recovery, Plan.Step... steps) {
        try (Console c = new Console(new PrintStream(console, true, StandardCharsets.UTF_8), false, Duration.ofHours(1))) {
            return Executor.run(List.of(steps), new Clients(null, null), c, recovery);
        }
    }

    Executor.Result run(Plan.Step... steps) {
        return run(FAST, steps);
    }

    /** A write that records its key and succeeds with an empty state. */
    Write records(String key) {
        return out -> {
            events.add(key);
            return Json.obj();
        };
    }

    /** A write that fails with this Azure error code every time, counting its calls. */
    static Write failsWith(String code, AtomicInteger calls) {
        return out -> {
            calls.incrementAndGet();
            throw new Arm.AzureException(409, code, "try later", "/x");
        };
    }

    static Executor.Status status(Executor.Result r, String key) {
        return r.outcomes().get(key).status();
    }

    // --- order ----------------------------------------------------------------------------------------------------

    @Test
    void aStepStartsOnlyAfterWhatItDependsOnHasFinished() {
        Executor.Result r = run(
                create("slow", out -> {
                    Thread.sleep(200);
                    events.add("slow finished");
                    return Json.obj();
                }),
                create("after", records("after started"), "slow"));
        assertEquals(List.of("slow finished", "after started"), events);
        assertTrue(r.ok());
    }

    @Test
    void independentStepsRunAtTheSameTime() {
        // Each waits for the other to arrive: run one after the other, the first would wait in vain.
        CyclicBarrier both = new CyclicBarrier(2);
        Write meet = out -> {
            both.await(10, TimeUnit.SECONDS);
            return Json.obj();
        };
        Executor.Result r = run(create("storage", meet), create("database", meet));
        assertTrue(r.ok(), r.outcomes().toString());
    }

    @Test
    void aStepDependingOnAnUnknownOrLaterStepIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> run(create("pool", records("pool"), "cluster"), create("cluster", records("cluster"))));
        assertEquals("pool depends on unknown or later cluster", e.getMessage());
    }

    // --- outputs ---------------------------------------------------------------------------------------------------

    @Test
    void aStepsResultIsAnOutputForTheStepsThatDependOnIt() {
        Executor.Result r = run(
                create("identity", out -> j("{'properties':{'principalId':'p-1'}}")),
                create("grant", out -> {
                    events.add(out.get("identity", "/properties/principalId"));
                    return Json.obj();
                }, "identity"));
        assertEquals(List.of("p-1"), events);
        assertEquals("p-1", r.states().get("identity").at("/properties/principalId").asText());
    }

    @Test
    void anUnchangedStepIsNotWrittenAndItsCurrentStateIsTheOutput() {
        Plan.Step same = step("identity", Plan.Action.NOOP, Optional.of(j("{'properties':{'principalId':'p-0'}}")), records("identity written"));
        Executor.Result r = run(same, create("grant", out -> {
            events.add(out.get("identity", "/properties/principalId"));
            return Json.obj();
        }, "identity"));
        assertEquals(List.of("p-0"), events);
        assertEquals(Executor.Status.UNCHANGED, status(r, "identity"));
    }

    // --- outcomes -------------------------------------------------------------------------------------------------

    @Test
    void eachActionEndsInItsOwnStatus() {
        Executor.Result r = run(create("a", records("a")),
                step("b", Plan.Action.UPDATE, Optional.of(Json.obj()), records("b")),
                step("c", Plan.Action.DELETE, Optional.of(Json.obj()), records("c")));
        assertEquals(List.of(Executor.Status.CREATED, Executor.Status.UPDATED, Executor.Status.DELETED),
                r.outcomes().values().stream().map(Executor.Outcome::status).toList());
        assertTrue(r.ok());
    }

    @Test
    void aFailedStepSkipsWhatDependsOnItDirectlyOrNotButNotUnrelatedSteps() {
        Executor.Result r = run(
                create("cluster", out -> { throw new IllegalStateException("no capacity"); }),
                create("pool", records("pool"), "cluster"),
                create("credential", records("credential"), "pool"),
                create("storage", records("storage")));
        assertEquals(Executor.Status.FAILED, status(r, "cluster"));
        assertEquals("no capacity", r.outcomes().get("cluster").error().getMessage());
        assertEquals(Executor.Status.SKIPPED, status(r, "pool"));
        assertEquals(Executor.Status.SKIPPED, status(r, "credential"));
        assertEquals(Executor.Status.CREATED, status(r, "storage"));
        assertEquals(List.of("storage"), events, "skipped steps are not written");
        assertFalse(r.ok());
        assertTrue(console.toString(StandardCharsets.UTF_8).contains("skipped   test resource pool (waits for cluster)"), console.toString());
    }

    @Test
    void aRoleAssignmentThatExistsUnderAnotherNameIsUnchanged() {
        AtomicInteger calls = new AtomicInteger();
        Executor.Result r = run(create("grant", failsWith("RoleAssignmentExists", calls)));
        assertEquals(Executor.Status.UNCHANGED, status(r, "grant"));
        assertEquals(1, calls.get());
        assertTrue(r.ok());
    }

    // --- retries ----------------------------------------------------------------------------------------------------

    @Test
    void aConflictIsRetriedUntilTheWriteSucceeds() {
        AtomicInteger calls = new AtomicInteger();
        Write twice = out -> calls.incrementAndGet() <= 2 ? failsWith("Conflict", new AtomicInteger()).apply(out) : Json.obj();
        Executor.Result r = run(create("subnet", twice));
        assertEquals(Executor.Status.CREATED, status(r, "subnet"));
        assertEquals(3, calls.get());
        String out = console.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("after Conflict: retrying in") && out.contains("attempt 2 of 10") && out.contains("attempt 3 of 10"), out);
    }

    /** How many times a step keyed {@code key} is tried when every try fails with {@code code}. */
    int attemptsUntilFailure(String key, String code) {
        AtomicInteger calls = new AtomicInteger();
        Executor.Result r = run(create(key, failsWith(code, calls)));
        assertEquals(Executor.Status.FAILED, status(r, key));
        assertEquals(code, ((Arm.AzureException) r.outcomes().get(key).error()).code, "the last error is kept");
        return calls.get();
    }

    @Test
    void busyResourceErrorsAreTriedTenTimesInAll() {
        for (String code : List.of("AnotherOperationInProgress", "OperationNotAllowed", "RetryableError", "Conflict")) {
            assertEquals(10, attemptsUntilFailure("vnet", code), code);
        }
    }

    @Test
    void aPrincipalNotReplicatedYetIsTriedTwentyFiveTimesInAll() {
        assertEquals(25, attemptsUntilFailure("grant", "PrincipalNotFound"));
    }

    @Test
    void anInternalServerErrorIsRetriedForThePostgresServerOnly() {
        assertEquals(4, attemptsUntilFailure("postgres", "InternalServerError"));
        assertEquals(1, attemptsUntilFailure("storage", "InternalServerError"));
    }

    @Test
    void otherErrorsFailAtOnce() {
        assertEquals(1, attemptsUntilFailure("postgres", "InvalidParameter"));
        AtomicInteger calls = new AtomicInteger();
        Executor.Result r = run(create("postgres", out -> {
            calls.incrementAndGet();
            throw new IllegalArgumentException("not an Azure error");
        }));
        assertEquals(Executor.Status.FAILED, status(r, "postgres"));
        assertEquals(1, calls.get());
    }

    @Test
    void theWaitsBeforeEachRetryFollowTheRuleOfTheErrorCode() {
        Executor.Recovery minute = new ArmRecovery(Duration.ofMinutes(1));
        Plan.Item postgres = create("postgres", records("postgres")).item();
        Plan.Item other = create("vnet", records("vnet")).item();
        // PostgreSQL's InternalServerError: doubling from the base, for attempts 2 to 4.
        assertEquals(List.of(Duration.ofMinutes(1), Duration.ofMinutes(2), Duration.ofMinutes(4)),
                List.of(2, 3, 4).stream().map(n -> minute.waitBefore(postgres, "InternalServerError", n)).toList());
        assertNull(minute.waitBefore(postgres, "InternalServerError", 5));
        assertNull(minute.waitBefore(other, "InternalServerError", 2));
        // A busy resource: a sixth of the base each time, up to attempt 10.
        assertEquals(Duration.ofSeconds(10), minute.waitBefore(other, "Conflict", 2));
        assertEquals(Duration.ofSeconds(10), minute.waitBefore(other, "AnotherOperationInProgress", 10));
        assertNull(minute.waitBefore(other, "Conflict", 11));
        // A principal not replicated yet: a twelfth of the base each time, up to attempt 25.
        assertEquals(Duration.ofSeconds(5), minute.waitBefore(other, "PrincipalNotFound", 25));
        assertNull(minute.waitBefore(other, "PrincipalNotFound", 26));
        assertNull(minute.waitBefore(other, "BadRequest", 2));
        assertEquals(1, minute.maxAttempts(other, "BadRequest"));
    }

    static JsonNode j(String text) {
        return Json.parse(text.replace('\'', '"'));
    }
}
