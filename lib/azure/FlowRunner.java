package azure;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * What a grantee may do in the cluster: the stack's custom role "Metaflow flow runner", assigned at the flows'
 * namespace scope ({@code <cluster id>/namespaces/<ns>}) of an Entra cluster with Azure RBAC for Kubernetes.
 *
 * <p>No built-in role fits: RBAC Writer includes {@code secrets/*}, RBAC Reader cannot create Jobs. The rights are
 * those Metaflow's own client uses (Netflix/metaflow 2.19.32 and 2.19.38, plugins/kubernetes/kubernetes_job.py and
 * kubernetes_client.py: create/read/patch/delete Jobs, list pods, read logs, exec {@code /sbin/killall5} to kill a
 * step; plugins/argo/argo_client.py: argoproj.io workflows, workflowtemplates, cronworkflows, sensors), plus reading
 * events, the client-config ConfigMap (connect) and services, and pods/write, which port-forward needs (AKS has no
 * portforward data action). pods/write and exec add nothing a Job does not already give in this namespace, which holds
 * no Secret of the stack (the services and the database password live in their own namespace). Custom resources are
 * narrowed by an ABAC condition on the assignment to Metaflow's four Argo kinds.
 * Data action names: the provider operations list for Microsoft.ContainerService (MicrosoftDocs, role-based-access-control
 * permissions "containers"); the condition's attributes: AKS doc "Use Microsoft Entra ID authorization for the Kubernetes
 * API in AKS" (conditionVersion 2.0, preview).
 */
public final class FlowRunner {
    private FlowRunner() {}

    private static final String K = "Microsoft.ContainerService/managedClusters/";

    public static final List<String> DATA_ACTIONS = List.of(
            K + "batch/jobs/read", K + "batch/jobs/write", K + "batch/jobs/delete",
            K + "pods/read", K + "pods/write", K + "pods/delete", K + "pods/exec/action",
            K + "events/read", K + "events.k8s.io/events/read",
            K + "configmaps/read", K + "services/read",
            K + "customresources/read", K + "customresources/write", K + "customresources/delete");

    /** The custom resources (group argoproj.io, resource plurals) Metaflow's Argo client reads and writes. */
    public static final List<String> ARGO_KINDS = List.of("workflows", "workflowtemplates", "cronworkflows", "sensors");

    /** Custom resources only of Metaflow's Argo kinds; every other action of the role passes unchanged. */
    public static final Roles.Condition CONDITION = new Roles.Condition(condition());

    private static String condition() {
        StringBuilder notCustom = new StringBuilder();
        for (String verb : List.of("read", "write", "delete")) {
            if (notCustom.length() > 0) notCustom.append(" AND ");
            notCustom.append("!(ActionMatches{'").append(K).append("customresources/").append(verb).append("'})");
        }
        StringBuilder kinds = new StringBuilder();
        for (String kind : ARGO_KINDS) {
            if (kinds.length() > 0) kinds.append(" OR ");
            kinds.append("@Request[").append(K).append("customResources:kind] StringEqualsIgnoreCase '").append(kind).append("'");
        }
        return "((" + notCustom + ") OR (@Request[" + K + "customResources:group] StringEqualsIgnoreCase 'argoproj.io' AND (" + kinds + ")))";
    }

    /** The role definition's name (a GUID): one per stack resource group, the same on every run. */
    static String roleGuid(Stack s, Desired.Caller c) {
        return UUID.nameUUIDFromBytes(("metaflow-flow-runner|" + s.groupId(c.subscriptionId()).toLowerCase())
                .getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** Where the definition is written (the stack's resource group, its only assignable scope). */
    public static String definitionResourceId(Stack s, Desired.Caller c) {
        return s.groupId(c.subscriptionId()) + "/providers/Microsoft.Authorization/roleDefinitions/" + roleGuid(s, c);
    }

    /** The id role assignments name it by (custom roles are addressed at the subscription, like built-in ones). */
    public static String definitionId(Stack s, Desired.Caller c) {
        return Roles.definitionId(c, roleGuid(s, c));
    }

    /** Role names are unique in a tenant: the resource group and subscription make it this stack's. */
    static String roleName(Stack s, Desired.Caller c) {
        return "Metaflow flow runner (" + s.resourceGroup() + ", subscription " + c.subscriptionId() + ")";
    }

    /** The namespace scope a grantee's role is assigned at. */
    public static String namespaceScope(Stack s, Desired.Caller c) {
        return s.aksId(c.subscriptionId()) + "/namespaces/" + s.kubeNamespace();
    }

    /** The custom role as a plan item (PUT roleDefinitions at the resource group, api-version Desired.API_ROLES). */
    static Plan.Item definition(Stack s, Desired.Caller c) {
        // No parent: a role definition is not a resource in the group (it outlives it); it needs the group as its assignable scope.
        return new Plan.Item(Desired.FLOW_RUNNER, "custom role", roleName(s, c), null, List.of(Desired.GROUP),
                Desired.settings("grants", "in namespace " + s.kubeNamespace() + ": Jobs, pods (logs, port-forward, exec), events, "
                                + "ConfigMaps and Services (read), Argo workflows/workflowtemplates/cronworkflows/sensors; no Secrets",
                        "assignable", "in resource group " + s.resourceGroup() + " only"),
                new ArmResource(definitionResourceId(s, c), Desired.API_ROLES, out -> {
                    ObjectNode b = Json.obj();
                    ObjectNode p = b.putObject("properties").put("roleName", roleName(s, c))
                            .put("description", "What running Metaflow flows on stack " + s.name() + " needs in its namespace "
                                    + s.kubeNamespace() + " (metaflow-azure-toolkit).")
                            .put("type", "CustomRole");
                    ObjectNode perm = p.putArray("permissions").addObject();
                    perm.putArray("actions");
                    perm.putArray("notActions");
                    ArrayNode data = perm.putArray("dataActions");
                    DATA_ACTIONS.forEach(data::add);
                    perm.putArray("notDataActions");
                    p.putArray("assignableScopes").add(s.groupId(c.subscriptionId()));
                    return b;
                }, Set.of()));
    }
}
