package azure;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What of a stack exists, read once: its resource group and what is in it (foreign resources included), its identities'
 * principals and their role assignments outside the group, the grants, its directory objects (live and deleted), and
 * groups elsewhere carrying its tags. Also which stacks a subscription holds. Reads only.
 */
public final class Discovery {
    private Discovery() {}

    /** An application or service principal of the stack in the directory. */
    record DirectoryObject(String kind, String id, String displayName, String appId) {
        static DirectoryObject of(String kind, JsonNode o) {
            return new DirectoryObject(kind, o.path("id").asText(), o.path("displayName").asText(), o.path("appId").asText());
        }
    }

    /** A role assignment held by one of the stack's identities on a scope outside its resource group. */
    record Assignment(String id, String scope, String role, String principalId, String principalLabel) {}

    /** Everything of the stack that exists now. {@code group} is null when there is none; lists are empty then. */
    public record Found(String where, String groupId, JsonNode group, List<JsonNode> groupResources, String nodeGroup,
                        boolean nodeGroupExists, List<JsonNode> applications, List<JsonNode> principals,
                        List<DirectoryObject> deletedObjects, List<Assignment> assignments, List<String> grantees,
                        List<String> elsewhere, String directoryNote, JsonNode customRole) {

        public boolean groupDeleting() {
            return group != null && group.path("properties").path("provisioningState").asText().equalsIgnoreCase("Deleting");
        }

        /** Whether the group exists but is not this toolkit's stack's (by its tags). */
        public boolean groupForeign(Stack s) {
            return group != null && !s.ownsTags(Json.tagsOf(group));
        }

        /** Resources in the group that do not carry the stack's tags: deleting the group would take them too. */
        public List<JsonNode> foreignResources(Stack s) {
            return groupResources.stream().filter(r -> !s.ownsTags(Json.tagsOf(r))).toList();
        }
    }

    /** A stack found in the subscription by its tags. */
    public record Listed(String prefix, String env, String location, String resourceGroup) {
        public String name() { return prefix + "-" + env; }
    }

    /** Every resource group this toolkit made in the subscription (by the managed-by tag), with its stack's prefix and env. */
    public static List<Listed> stacks(Arm arm, String subscriptionId) {
        String filter = Arm.odata("tagName eq '" + Stack.TAG_MANAGED_BY + "' and tagValue eq '" + Stack.MANAGED_BY + "'");
        List<Listed> out = new ArrayList<>();
        for (JsonNode g : arm.listAll(arm.url("/subscriptions/" + subscriptionId + "/resourcegroups?$filter=" + filter, Desired.API_GROUPS))) {
            JsonNode tags = g.path("tags");
            if (!Stack.MANAGED_BY.equals(tags.path(Stack.TAG_MANAGED_BY).asText())) continue;
            String prefix = tags.path(Stack.TAG_PREFIX).asText("");
            String env = tags.path(Stack.TAG_ENV).asText("");
            if (prefix.isEmpty() || env.isEmpty() || !tags.path(Stack.TAG_STACK).asText().equals(prefix + "-" + env)) continue;
            out.add(new Listed(prefix, env, g.path("location").asText(), g.path("name").asText()));
        }
        return out;
    }

    /** Reads everything of {@code stack} that exists in the session's subscription and directory. */
    public static Found read(AzureLogin.Session session, Stack stack) {
        Arm arm = session.arm();
        String sub = session.subscriptionId();
        String groupId = stack.groupId(sub);
        JsonNode group = arm.get(groupId, Desired.API_GROUPS).orElse(null);
        List<JsonNode> resources = new ArrayList<>();
        String nodeGroup = null;
        boolean nodeGroupExists = false;
        Map<String, String> principals = new LinkedHashMap<>();   // principal id -> what it is
        boolean ours = group != null && stack.ownsTags(Json.tagsOf(group));
        if (ours) {
            for (JsonNode r : arm.listAll(arm.url(groupId + "/resources", Desired.API_GROUPS))) resources.add(r);
            JsonNode aks = arm.get(stack.aksId(sub), Desired.API_AKS).orElse(null);
            nodeGroup = aks != null ? aks.path("properties").path("nodeResourceGroup").asText(null) : null;
            if (nodeGroup == null) nodeGroup = stack.nodeResourceGroup();
            nodeGroupExists = arm.get(stack.nodeGroupId(sub, nodeGroup), Desired.API_GROUPS).isPresent();
            if (aks != null && aks.path("identity").hasNonNull("principalId")) {
                principals.put(aks.path("identity").path("principalId").asText(), "AKS cluster " + stack.aks());
            }
            JsonNode identity = arm.get(stack.identityId(sub), Desired.API_IDENTITY).orElse(null);
            if (identity != null && identity.path("properties").hasNonNull("principalId")) {
                principals.put(identity.path("properties").path("principalId").asText(), "managed identity " + stack.identity());
            }
        }
        List<String> elsewhere = new ArrayList<>();
        if (group == null) {
            String url = arm.url("/subscriptions/" + sub + "/resourcegroups?$filter="
                    + Arm.odata("tagName eq '" + Stack.TAG_STACK + "' and tagValue eq '" + stack.name() + "'"), Desired.API_GROUPS);
            for (JsonNode g : arm.listAll(url)) {
                if (stack.ownsTags(Json.tagsOf(g)) && !g.path("name").asText().equalsIgnoreCase(stack.resourceGroup())) {
                    elsewhere.add(g.path("name").asText() + " (" + g.path("location").asText() + ")");
                }
            }
        }
        List<JsonNode> apps = new ArrayList<>();
        List<JsonNode> sps = new ArrayList<>();
        List<DirectoryObject> deleted = new ArrayList<>();
        String directoryNote = null;
        Arm graph = session.graph();
        if (graph == null) {
            directoryNote = "this cloud has no Microsoft Graph endpoint; directory objects were not looked for";
        } else {
            apps.addAll(Graph.findApplications(graph, stack.applicationName(), stack.name()));
            List<DirectoryObject> deletedApps = deleted(graph, "application", "displayName", stack.applicationName(), stack);
            for (JsonNode app : apps) {
                Graph.findServicePrincipal(graph, app.path("appId").asText()).ifPresent(sp -> {
                    sps.add(sp);
                    principals.put(sp.path("id").asText(), "service principal " + stack.applicationName());
                });
            }
            deleted.addAll(deletedApps);
            List<String> appIds = new ArrayList<>();
            apps.forEach(a -> appIds.add(a.path("appId").asText()));
            deletedApps.forEach(a -> appIds.add(a.appId()));
            for (String appId : appIds) deleted.addAll(deleted(graph, "servicePrincipal", "appId", appId, stack));
        }
        List<Assignment> assignments = new ArrayList<>();
        principals.forEach((pid, label) -> assignments.addAll(outside(arm, sub, groupId, pid, label)));
        // provision.java --grant's role assignments live in the group and go with it; listed so that nobody is surprised.
        List<String> grantees = ours ? Grants.existing(arm, stack, session.caller()).stream().map(e -> e.principal().label()).distinct().toList()
                : List.of();
        // The grantees' custom role outlives the group (role definitions are not resources in it): found to be deleted too.
        JsonNode customRole = arm.get(FlowRunner.definitionResourceId(stack, session.caller()), Desired.API_ROLES).orElse(null);
        return new Found(session.where(), groupId, group, resources, nodeGroup, nodeGroupExists, apps, sps, deleted, assignments,
                grantees, elsewhere, directoryNote, customRole);
    }

    /** The role assignments of principal {@code pid} whose scope is outside the group (those inside go with it). */
    static List<Assignment> outside(Arm arm, String sub, String groupId, String pid, String label) {
        List<Assignment> out = new ArrayList<>();
        String url = arm.url("/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleAssignments?$filter="
                + Arm.odata("principalId eq '" + pid + "'"), Desired.API_ROLES);
        String g = groupId.toLowerCase(Locale.ROOT);
        for (JsonNode ra : arm.listAll(url)) {
            String scope = ra.path("properties").path("scope").asText();
            if (!ra.path("properties").path("principalId").asText().equalsIgnoreCase(pid)) continue;
            String lower = scope.toLowerCase(Locale.ROOT);
            if (lower.equals(g) || lower.startsWith(g + "/")) continue;
            String roleDef = ra.path("properties").path("roleDefinitionId").asText();
            out.add(new Assignment(ra.path("id").asText(), scope, roleName(arm, roleDef), pid, label));
        }
        return out;
    }

    /**
     * This stack's objects in the directory's deleted items: what an interrupted teardown left between deleting an
     * object and removing it for good. Applications are matched by name and tag, service principals by their appId.
     */
    static List<DirectoryObject> deleted(Arm graph, String type, String field, String value, Stack stack) {
        JsonNode found = graph.getUrl(graph.endpoint() + "/v1.0/directory/deletedItems/microsoft.graph." + type + "?$filter="
                + Arm.odata(field + " eq '" + value + "'"));
        List<DirectoryObject> ours = new ArrayList<>();
        for (JsonNode o : found.path("value")) {
            if (type.equals("servicePrincipal")) {
                ours.add(DirectoryObject.of("service principal", o));
                continue;
            }
            for (JsonNode t : o.path("tags")) {
                if (t.asText().equals(Graph.stackTag(stack.name()))) ours.add(DirectoryObject.of("AAD application", o));
            }
        }
        return ours;
    }

    /** The role's display name: known ones without a request, others from their definition (the id if unreadable). */
    static String roleName(Arm arm, String roleDefinitionId) {
        String guid = roleDefinitionId.substring(roleDefinitionId.lastIndexOf('/') + 1);
        String known = Roles.NAMES.get(guid);
        if (known != null) return known;
        try {
            return arm.get(roleDefinitionId, Desired.API_ROLES).map(d -> d.path("properties").path("roleName").asText(null))
                    .filter(n -> n != null && !n.isEmpty()).orElse("role " + guid);
        } catch (Arm.AzureException e) {
            return "role " + guid;
        }
    }
}
