package azure;

import engine.Executor;
import engine.Plan;
import java.time.Duration;

/**
 * What to retry on Azure and how long to wait: the failures Azure documents as "try again". Each rule is a code, how
 * many attempts in all, and the wait before attempt n (2, 3, ...).
 */
public record ArmRecovery(Duration base) implements Executor.Recovery {
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

    @Override
    public Duration waitBefore(Plan.Item item, String code, int attempt) {
        Rule r = rule(item, code);
        return r == null || attempt > r.attempts() ? null : r.delay().apply(attempt);
    }

    @Override
    public int maxAttempts(Plan.Item item, String code) {
        Rule r = rule(item, code);
        return r == null ? 1 : r.attempts();
    }

    /** The same grant exists already under another name: that is the state wanted. */
    @Override
    public boolean satisfied(String code) {
        return code.equals("RoleAssignmentExists");
    }
}
