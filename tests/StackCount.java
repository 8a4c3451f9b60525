import azure.Clouds;
import azure.Desired;
import azure.Stack;
import engine.Plan;
import fake.AzureFake;
import java.util.List;

/**
 * How many resources a stack has, from the product's own list ({@link Desired#items}), so that no test writes the number
 * down: a resource added to the stack changes every expectation at once.
 */
final class StackCount {
    private StackCount() { }

    /** Every resource of the stack {@code --prefix prefix} (default env and location), as a plan counts them. */
    static int of(String prefix) {
        return of(prefix, Stack.DEFAULT_ENV, Stack.DEFAULT_LOCATION);
    }

    static int of(String prefix, String env, String location) {
        return items(prefix, env, location).size();
    }

    /** The resources that live directly in the stack's resource group (what a teardown lists under the group). */
    static int inGroup(String prefix) {
        return (int) items(prefix, Stack.DEFAULT_ENV, Stack.DEFAULT_LOCATION).stream().filter(i -> Desired.GROUP.equals(i.parent())).count();
    }

    private static List<Plan.Item> items(String prefix, String env, String location) {
        Stack s = Stack.of(prefix, env, location, Clouds.PUBLIC);
        // A removal (the GPU pool's, when --gpu-pool is not given) is no resource of the stack: the plan shows it only when there is one to
        // remove; an action-only item (the certificate rotation of a cluster moving off local accounts) is in a plan only when it acts.
        return Desired.items(s, Defaults.settings(), new Desired.Caller(AzureFake.DEFAULT_SUBSCRIPTION, new AzureFake().userObjectId(), "User"))
                .stream().filter(i -> !i.handler().removal() && !i.handler().actionOnly()).toList();
    }
}
