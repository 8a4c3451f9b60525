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

    /**
     * What to retry and how long to wait: the failures Azure documents as "try again". Each rule is a code, how
     * many attempts in all, and the wait before attempt n (2, 3, ...).
     */
    public record Recovery(Duration base) {
        private record Rule(int attempts, java.util.function.IntFunction<Duration> delay) {}

        private Rule rule(Plan.Item item, String code) {
            return switch (code) {
                // New PostgreSQL servers sometimes fail this way; waiting and trying again resolves it.
                case "InternalServerError" -> item.key().equals(Desired.POSTGRES) ? new Rule(4, n -> base.multipliedBy(1L << (n - 2))) : null;
                // A principal created moments ago has not reached every directory replica yet.
                case "PrincipalNotFound" -> new Rule(25, n -> base.dividedBy(12));
                case "AnotherOperationInProgress", "OperationNotAllowed", "RetryableError", "Conflict" -> new Rule(10, n -> base.dividedBy(6));
                default -> null;
            };
        }

        /** Wait before attempt {@code attempt} after {@code code}, or null when the failure is final. */
        Duration waitBefore(Plan.Item item, String code, int attempt) {
            Rule r = rule(item, code);
            return r == null || attempt > r.attempts() ? null : r.delay().apply(attempt);
        }

        int maxAttempts(Plan.Item item, String code) {
            Rule r = rule(item, code);
            return r == null ? 1 : r.attempts();
        }
    }

    public static Result run(List<Plan.Step> steps, Plan.Ctx ctx, Console console, Recovery recovery) {
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
                current = Optional.ofNullable(ctx.arm().awaitSettled(arm.id(), arm.apiVersion(), Arm.Watcher.NONE));
            } catch (Arm.AzureException failed) {
                current = ctx.arm().get(arm.id(), arm.apiVersion());
            } catch (Arm.Interrupted e) {
                return record(outcomes, console, item, Status.INTERRUPTED, t0, e);
            }
            String state = current.map(c -> c.path("properties").path("provisioningState").asText("")).orElse("");
            if (current.isPresent() && !state.equalsIgnoreCase("Failed") && item.handler().differences(current.get(), outputs).isEmpty()) {
                states.put(item.key(), current.get());
                return record(outcomes, console, item, Status.UNCHANGED, t0, null);
            }
        }
        if (step.action() == Plan.Action.CREATE && item.handler() instanceof Plan.ArmResource arm && arm.inParentArray() != null
                && current.isEmpty()) {
            // Made by its parent's create (a pool in the cluster's agentPoolProfiles): written only if it differs.
            Optional<JsonNode> made = arm.fromParent(states.get(item.parent()));
            if (made.isPresent() && arm.differences(made.get(), outputs).isEmpty()) {
                states.put(item.key(), made.get());
                return record(outcomes, console, item, Status.CREATED, t0, null);
            }
            current = made;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                states.put(item.key(), item.handler().apply(ctx, current, outputs));
                return record(outcomes, console, item, switch (step.action()) {
                    case CREATE -> Status.CREATED;
                    case DELETE -> Status.DELETED;
                    default -> Status.UPDATED;
                }, t0, null);
            } catch (Arm.Interrupted e) {
                return record(outcomes, console, item, Status.INTERRUPTED, t0, e);
            } catch (Arm.AzureException e) {
                if (e.code.equals("RoleAssignmentExists")) {
                    // The same grant already exists under another name: that is the state we wanted.
                    return record(outcomes, console, item, Status.UNCHANGED, t0, null);
                }
                Duration wait = recovery.waitBefore(item, e.code, attempt + 1);
                if (wait == null || Thread.currentThread().isInterrupted()) {
                    return record(outcomes, console, item, Status.FAILED, t0, e);
                }
                console.retrying(item, e.code, wait, attempt + 1, recovery.maxAttempts(item, e.code));
                try {
                    Thread.sleep(wait.toMillis());
                } catch (InterruptedException ie) {
                    return record(outcomes, console, item, Status.INTERRUPTED, t0, new Arm.Interrupted());
                }
                // A failed create may leave the resource behind in state Failed; the next PUT writes it again.
            } catch (RuntimeException e) {
                return record(outcomes, console, item, Status.FAILED, t0, e);
            }
        }
    }

    /** Records how a started step ended, tells the console, and says whether dependents may go on. */
    private static boolean record(Map<String, Outcome> outcomes, Console console, Plan.Item item, Status status, long t0,
                                  RuntimeException error) {
        long ms = (System.nanoTime() - t0) / 1_000_000;
        outcomes.put(item.key(), new Outcome(status, ms, error));
        switch (status) {
            case FAILED -> console.failed(item, error);
            case INTERRUPTED -> { }      // still in flight on Azure: the console keeps listing it
            default -> console.finished(item, status, ms);
        }
        return status == Status.CREATED || status == Status.UPDATED || status == Status.DELETED || status == Status.UNCHANGED;
    }
}
