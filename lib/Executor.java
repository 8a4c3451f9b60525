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

    public enum Status { CREATED, UPDATED, UNCHANGED, FAILED, SKIPPED, INTERRUPTED }

    public record Outcome(Status status, long millis, RuntimeException error) {}

    public record Result(Map<String, JsonNode> states, Map<String, Outcome> outcomes, long millis) {
        public boolean ok() {
            return outcomes.values().stream().allMatch(o -> o.status() != Status.FAILED && o.status() != Status.SKIPPED
                    && o.status() != Status.INTERRUPTED);
        }
    }

    /** What to retry and how long to wait: codes Azure documents as "try again". */
    public record Recovery(Duration base) {
        /** Wait before attempt {@code attempt} (2, 3, ...) after {@code code}, or null when the failure is final. */
        Duration waitBefore(Plan.Item item, String code, int attempt) {
            if (item.key().equals("postgres") && code.equals("InternalServerError") && attempt <= 4) {
                return base.multipliedBy(1L << (attempt - 2));          // 1x, 2x, 4x the base
            }
            if (code.equals("PrincipalNotFound") && attempt <= 25) return base.dividedBy(12);
            if ((code.equals("AnotherOperationInProgress") || code.equals("OperationNotAllowed")
                    || code.equals("RetryableError") || code.equals("Conflict")) && attempt <= 10) {
                return base.dividedBy(6);
            }
            return null;
        }

        int maxAttempts(Plan.Item item, String code) {
            if (code.equals("InternalServerError")) return 4;
            if (code.equals("PrincipalNotFound")) return 25;
            return 10;
        }
    }

    public static Result run(List<Plan.Step> steps, Plan.Ctx ctx, Console console, Recovery recovery) {
        long start = System.nanoTime();
        Map<String, JsonNode> states = new ConcurrentHashMap<>();
        Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
        Map<String, CompletableFuture<Boolean>> done = new LinkedHashMap<>();
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
                                    console.skipped(step.item(), d);
                                    return false;
                                }
                            }
                            return runStep(step, ctx, outputs, states, outcomes, console, recovery);
                        }, pool);
                done.put(step.item().key(), mine);
            }
            for (var f : done.values()) {
                try {
                    f.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    // recorded in outcomes
                } catch (InterruptedException e) {
                    // Ctrl-C: stop waiting; what Azure already accepted carries on without us.
                    pool.shutdownNow();
                    for (Plan.Step s : steps) {
                        outcomes.putIfAbsent(s.item().key(), new Outcome(Status.INTERRUPTED, 0, new Arm.Interrupted()));
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
                                   Map<String, Outcome> outcomes, Console console, Recovery recovery) {
        Plan.Item item = step.item();
        if (step.action() == Plan.Action.NOOP) {
            outcomes.put(item.key(), new Outcome(Status.UNCHANGED, 0, null));
            return true;
        }
        long t0 = System.nanoTime();
        console.started(item, step.action());
        Optional<JsonNode> current = step.current();
        if (current.isPresent() && item.handler() instanceof Plan.ArmResource arm
                && Arm.inProgress(current.get().path("properties").path("provisioningState").asText(""))) {
            // An earlier (interrupted) run started this operation: wait for it instead of sending a second write.
            try {
                current = Optional.ofNullable(ctx.arm().awaitSettled(arm.id(), arm.apiVersion(), console.watcher(item)));
            } catch (Arm.AzureException failed) {
                current = ctx.arm().get(arm.id(), arm.apiVersion());
            } catch (Arm.Interrupted e) {
                outcomes.put(item.key(), new Outcome(Status.INTERRUPTED, (System.nanoTime() - t0) / 1_000_000, e));
                return false;
            }
            String state = current.map(c -> c.path("properties").path("provisioningState").asText("")).orElse("");
            if (current.isPresent() && !state.equalsIgnoreCase("Failed") && item.handler().differences(current.get(), outputs).isEmpty()) {
                states.put(item.key(), current.get());
                long ms = (System.nanoTime() - t0) / 1_000_000;
                outcomes.put(item.key(), new Outcome(Status.UNCHANGED, ms, null));
                console.finished(item, Status.UNCHANGED, ms);
                return true;
            }
        }
        for (int attempt = 1; ; attempt++) {
            try {
                JsonNode result = item.handler().apply(ctx, current, outputs, console.watcher(item));
                states.put(item.key(), result);
                long ms = (System.nanoTime() - t0) / 1_000_000;
                Status status = step.action() == Plan.Action.CREATE ? Status.CREATED : Status.UPDATED;
                outcomes.put(item.key(), new Outcome(status, ms, null));
                console.finished(item, status, ms);
                return true;
            } catch (Arm.Interrupted e) {
                outcomes.put(item.key(), new Outcome(Status.INTERRUPTED, (System.nanoTime() - t0) / 1_000_000, e));
                return false;
            } catch (Arm.AzureException e) {
                if (e.code.equals("RoleAssignmentExists")) {
                    // The same grant already exists under another name: that is the state we wanted.
                    long ms = (System.nanoTime() - t0) / 1_000_000;
                    outcomes.put(item.key(), new Outcome(Status.UNCHANGED, ms, null));
                    console.finished(item, Status.UNCHANGED, ms);
                    return true;
                }
                Duration wait = recovery.waitBefore(item, e.code, attempt + 1);
                if (wait == null || Thread.currentThread().isInterrupted()) {
                    outcomes.put(item.key(), new Outcome(Status.FAILED, (System.nanoTime() - t0) / 1_000_000, e));
                    console.failed(item, e);
                    return false;
                }
                console.retrying(item, e.code, wait, attempt + 1, recovery.maxAttempts(item, e.code));
                try {
                    Thread.sleep(wait.toMillis());
                } catch (InterruptedException ie) {
                    outcomes.put(item.key(), new Outcome(Status.INTERRUPTED, (System.nanoTime() - t0) / 1_000_000, new Arm.Interrupted()));
                    return false;
                }
                // A failed create may leave the resource behind in state Failed; the next PUT writes it again.
            } catch (RuntimeException e) {
                outcomes.put(item.key(), new Outcome(Status.FAILED, (System.nanoTime() - t0) / 1_000_000, e));
                console.failed(item, e);
                return false;
            }
        }
    }
}
