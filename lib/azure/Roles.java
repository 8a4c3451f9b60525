package azure;

import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/** The built-in roles a stack uses, and the one way its role assignments (its identities', yours, the grants') are made. */
public final class Roles {
    private Roles() {}

    // Built-in role definition ids (the same in every tenant).
    public static final String BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";
    public static final String AKS_CLUSTER_USER = "4abbcc35-e782-43d8-92c5-2d3f1bd2253f";
    public static final String AKS_CONTRIBUTOR = "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8";
    /** What `az aks create` grants the cluster's identity on a subnet it did not create (stack.md §5 item 14). */
    public static final String NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7";
    /** Azure RBAC for Kubernetes: every action on every object of the cluster (the admin's, on an Entra cluster). */
    public static final String AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b";
    /** Pull images from a container registry: the cluster's kubelet identity (what az aks create --attach-acr grants). */
    public static final String ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
    /** Push and pull images: the admin and every grantee, so a team can push its own images. */
    public static final String ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec";
    /** Read secret contents: the Docker Hub credential set's identity, on the stack's Key Vault. */
    public static final String KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6";
    static final Map<String, String> NAMES = Map.of(
            ACR_PULL, "AcrPull",
            ACR_PUSH, "AcrPush",
            KEY_VAULT_SECRETS_USER, "Key Vault Secrets User",
            NETWORK_CONTRIBUTOR, "Network Contributor",
            AKS_RBAC_CLUSTER_ADMIN, "Azure Kubernetes Service RBAC Cluster Admin",
            BLOB_DATA_CONTRIBUTOR, "Storage Blob Data Contributor",
            AKS_CLUSTER_USER, "Azure Kubernetes Service Cluster User Role",
            AKS_CONTRIBUTOR, "Azure Kubernetes Service Contributor Role");

    /**
     * Who gets a role: the principal id (from another item's outputs when it is made in the same run), the seed of the
     * assignment's name, its type, how the plan shows it, and the description written on the assignment (or null).
     */
    public record Principal(Function<Plan.Outputs, String> id, String nameSeed, String type, String label, String description) {}

    /** An ABAC condition on an assignment (RoleAssignmentProperties.condition, conditionVersion "2.0" at 2022-04-01). */
    public record Condition(String text) {
        public static final String VERSION = "2.0";
    }

    /** A role assignment of {@code role} on {@code scope} (item {@code scopeKey}) to {@code p}, as a plan item. */
    public static Plan.Item assignment(String key, String parent, List<String> dependsOn, String scope, String scopeLabel, String role,
                                       Principal p, Desired.Caller c, Map<String, String> settings) {
        return assignment(key, parent, dependsOn, scope, scopeLabel, definitionId(c, role), NAMES.get(role), p, null, c, settings);
    }

    /** A role assignment of the role definition {@code definitionId} (a built-in's or a custom role's), with an optional condition. */
    public static Plan.Item assignment(String key, String parent, List<String> dependsOn, String scope, String scopeLabel, String definitionId,
                                       String roleLabel, Principal p, Condition condition, Desired.Caller c, Map<String, String> settings) {
        String role = definitionId.substring(definitionId.lastIndexOf('/') + 1);
        String id = scope + "/providers/Microsoft.Authorization/roleAssignments/" + name(scope, role, p.nameSeed());
        return new Plan.Item(key, "role assignment", roleLabel + " for " + p.label() + " on " + scopeLabel, parent, dependsOn, settings,
                new ArmResource(id, Desired.API_ROLES, out -> {
                    ObjectNode b = Json.obj();
                    ObjectNode props = b.putObject("properties").put("roleDefinitionId", definitionId)
                            .put("principalId", p.id().apply(out)).put("principalType", p.type());
                    if (p.description() != null) props.put("description", p.description());
                    if (condition != null) props.put("condition", condition.text()).put("conditionVersion", Condition.VERSION);
                    return b;
                }, Set.of()));
    }

    public static String definitionId(Desired.Caller c, String role) {
        return "/subscriptions/" + c.subscriptionId() + "/providers/Microsoft.Authorization/roleDefinitions/" + role;
    }

    /**
     * Role assignment names must be GUIDs. Deriving them from scope, role and principal makes a re-run (or an
     * interrupted run's successor) PUT the same assignment instead of adding a duplicate.
     */
    public static String name(String scope, String role, String principal) {
        return UUID.nameUUIDFromBytes((scope.toLowerCase() + "|" + role + "|" + principal).getBytes(StandardCharsets.UTF_8)).toString();
    }
}
