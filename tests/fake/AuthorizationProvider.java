package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Microsoft.Authorization: built-in role definitions, role assignments (GUID names, a known and replicated principal of
 * the stated type, no duplicates, no updates) and permissions. The admin (the signed-in user) may do what
 * {@link #callerActions} allow; any other caller only what its role assignments (and its groups') grant at the scope,
 * else 403 AuthorizationFailed.
 */
final class AuthorizationProvider extends ArmProvider {
    private static final String ASSIGNMENTS = "microsoft.authorization/roleassignments";
    private static final String DEFINITIONS = "microsoft.authorization/roledefinitions";
    private static final Pattern GUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    static final Map<String, String> BUILTIN_ROLES = new LinkedHashMap<>();
    static {
        BUILTIN_ROLES.put("ba92f5b4-2d11-453d-a403-e96b0029c9fe", "Storage Blob Data Contributor");
        BUILTIN_ROLES.put("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", "Storage Blob Data Reader");
        BUILTIN_ROLES.put("4abbcc35-e782-43d8-92c5-2d3f1bd2253f", "Azure Kubernetes Service Cluster User Role");
        BUILTIN_ROLES.put("ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8", "Azure Kubernetes Service Contributor Role");
        BUILTIN_ROLES.put("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", "Azure Kubernetes Service RBAC Cluster Admin");
        BUILTIN_ROLES.put("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor");
        BUILTIN_ROLES.put("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner");
        BUILTIN_ROLES.put("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader");
        BUILTIN_ROLES.put("4d97b98b-1d4f-4787-a291-c67834d212e7", "Network Contributor");
        BUILTIN_ROLES.put("f1a07417-d97a-45cb-824c-7a7467783830", "Managed Identity Operator");
        BUILTIN_ROLES.put("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator");
        BUILTIN_ROLES.put("3498e952-d568-435e-9b2c-8d77e338d7f7", "Azure Kubernetes Service RBAC Admin");
        BUILTIN_ROLES.put("a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", "Azure Kubernetes Service RBAC Writer");
        BUILTIN_ROLES.put("7f6c6a51-bcf8-42ba-9220-52d62157d7db", "Azure Kubernetes Service RBAC Reader");
        BUILTIN_ROLES.put("0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8", "Azure Kubernetes Service Cluster Admin Role");
        BUILTIN_ROLES.put("7f951dda-4ed3-4680-a7ca-43fe172d538d", "AcrPull");
        BUILTIN_ROLES.put("8311e382-0749-4cb8-b61a-304f252e45ec", "AcrPush");
        BUILTIN_ROLES.put("4633458b-17de-408a-b874-0445c86b69e6", "Key Vault Secrets User");
    }

    private static final String MC = "Microsoft.ContainerService/managedClusters/";
    private static final List<String> AKS_RBAC_ACTIONS = List.of("Microsoft.Authorization/*/read",
            "Microsoft.Resources/subscriptions/operationresults/read", "Microsoft.Resources/subscriptions/read",
            "Microsoft.Resources/subscriptions/resourceGroups/read");

    /**
     * Data actions and notDataActions of the built-in roles that have them: the AKS RBAC roles as
     * MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/containers.md lists them.
     */
    static final Map<String, List<String>> ROLE_DATA_ACTIONS = new LinkedHashMap<>();
    static final Map<String, List<String>> ROLE_NOT_DATA_ACTIONS = new LinkedHashMap<>();
    static {
        ROLE_DATA_ACTIONS.put("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", List.of(MC + "*"));   // RBAC Cluster Admin
        ROLE_DATA_ACTIONS.put("3498e952-d568-435e-9b2c-8d77e338d7f7", List.of(MC + "*"));   // RBAC Admin
        ROLE_NOT_DATA_ACTIONS.put("3498e952-d568-435e-9b2c-8d77e338d7f7", List.of(MC + "resourcequotas/write", MC + "resourcequotas/delete",
                MC + "namespaces/write", MC + "namespaces/delete"));
        List<String> reader = new ArrayList<>();
        for (String r : List.of("apps/controllerrevisions", "apps/daemonsets", "apps/deployments", "apps/replicasets", "apps/statefulsets",
                "autoscaling/horizontalpodautoscalers", "batch/cronjobs", "batch/jobs", "configmaps", "discovery.k8s.io/endpointslices",
                "endpoints", "events.k8s.io/events", "events", "extensions/daemonsets", "extensions/deployments", "extensions/ingresses",
                "extensions/networkpolicies", "extensions/replicasets", "limitranges", "metrics.k8s.io/pods", "metrics.k8s.io/nodes",
                "namespaces", "networking.k8s.io/ingresses", "networking.k8s.io/networkpolicies", "persistentvolumeclaims", "pods",
                "policy/poddisruptionbudgets", "replicationcontrollers", "resourcequotas", "serviceaccounts", "services")) {
            reader.add(MC + r + "/read");
        }
        ROLE_DATA_ACTIONS.put("7f6c6a51-bcf8-42ba-9220-52d62157d7db", List.copyOf(reader));   // RBAC Reader
        List<String> writer = new ArrayList<>();
        for (String r : List.of("apps/controllerrevisions/read", "apps/daemonsets/*", "apps/deployments/*", "apps/replicasets/*",
                "apps/statefulsets/*", "autoscaling/horizontalpodautoscalers/*", "batch/cronjobs/*", "coordination.k8s.io/leases/read",
                "coordination.k8s.io/leases/write", "coordination.k8s.io/leases/delete", "discovery.k8s.io/endpointslices/read",
                "batch/jobs/*", "configmaps/*", "endpoints/*", "events.k8s.io/events/read", "events/*", "extensions/daemonsets/*",
                "extensions/deployments/*", "extensions/ingresses/*", "extensions/networkpolicies/*", "extensions/replicasets/*",
                "limitranges/read", "metrics.k8s.io/pods/read", "metrics.k8s.io/nodes/read", "namespaces/read",
                "networking.k8s.io/ingresses/*", "networking.k8s.io/networkpolicies/*", "persistentvolumeclaims/*", "pods/*",
                "policy/poddisruptionbudgets/*", "replicationcontrollers/*", "resourcequotas/read", "secrets/*", "serviceaccounts/*",
                "services/*")) {
            writer.add(MC + r);
        }
        ROLE_DATA_ACTIONS.put("a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", List.copyOf(writer));   // RBAC Writer
        // security.md: Key Vault Secrets User reads secret contents.
        ROLE_DATA_ACTIONS.put("4633458b-17de-408a-b874-0445c86b69e6", List.of("Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action"));
    }

    /**
     * Actions of the built-in roles a caller other than the admin may hold (the admin keeps {@link #callerActions}).
     * As MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/storage.md and containers.md list them.
     */
    static final Map<String, List<String>> ROLE_ACTIONS = new LinkedHashMap<>();
    static {
        ROLE_ACTIONS.put("ba92f5b4-2d11-453d-a403-e96b0029c9fe", List.of(   // Storage Blob Data Contributor
                "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
                "Microsoft.Storage/storageAccounts/blobServices/containers/read",
                "Microsoft.Storage/storageAccounts/blobServices/containers/write",
                "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"));
        ROLE_ACTIONS.put("4abbcc35-e782-43d8-92c5-2d3f1bd2253f", List.of(   // Azure Kubernetes Service Cluster User Role
                "Microsoft.ContainerService/managedClusters/listClusterUserCredential/action",
                "Microsoft.ContainerService/managedClusters/read"));
        ROLE_ACTIONS.put("acdd72a7-3385-48ef-bd42-f606fba81ae7", List.of("*/read"));   // Reader
        List<String> withCredential = new ArrayList<>(AKS_RBAC_ACTIONS);
        withCredential.add("Microsoft.ContainerService/managedClusters/listClusterUserCredential/action");
        ROLE_ACTIONS.put("b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b", List.copyOf(withCredential));   // AKS RBAC Cluster Admin
        ROLE_ACTIONS.put("3498e952-d568-435e-9b2c-8d77e338d7f7", List.copyOf(withCredential));   // AKS RBAC Admin
        ROLE_ACTIONS.put("a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb", AKS_RBAC_ACTIONS);              // AKS RBAC Writer
        ROLE_ACTIONS.put("7f6c6a51-bcf8-42ba-9220-52d62157d7db", AKS_RBAC_ACTIONS);              // AKS RBAC Reader
        ROLE_ACTIONS.put("0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8", List.of(                        // AKS Cluster Admin Role
                "Microsoft.ContainerService/managedClusters/listClusterAdminCredential/action",
                "Microsoft.ContainerService/managedClusters/accessProfiles/listCredential/action",
                "Microsoft.ContainerService/managedClusters/read", "Microsoft.ContainerService/managedClusters/runcommand/action"));
        ROLE_ACTIONS.put("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", List.of("*"));        // Owner
        // containers.md: AcrPull and AcrPush are actions (not data actions) on the registry.
        ROLE_ACTIONS.put("7f951dda-4ed3-4680-a7ca-43fe172d538d", List.of("Microsoft.ContainerRegistry/registries/pull/read"));
        ROLE_ACTIONS.put("8311e382-0749-4cb8-b61a-304f252e45ec", List.of("Microsoft.ContainerRegistry/registries/pull/read",
                "Microsoft.ContainerRegistry/registries/push/write"));
    }

    private final GraphProvider graph;
    /** Custom role definitions by lower-cased GUID, as a GET answers them. */
    final Map<String, ObjectNode> customRoles = new LinkedHashMap<>();
    List<String> callerActions = List.of("*");
    List<String> callerNotActions = List.of();
    long principalReplicationMs;
    boolean principalTypeShortcut = true;

    AuthorizationProvider(ArmCore core, GraphProvider graph) {
        super(core, "Microsoft.Authorization", List.of("2022-04-01", "2015-07-01", "2018-01-01-preview", "2022-05-01-preview"));
        this.graph = graph;
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.Authorization/roleAssignments", TypeSpec.Lro.SYNC, false,
                        TypeSpec.Trait.ANY_SCOPE, TypeSpec.Trait.NO_STATE),
                new TypeSpec("Microsoft.Authorization/roleDefinitions", TypeSpec.Lro.NONE, false, TypeSpec.Trait.ANY_SCOPE));
    }

    // ------------------------------------------------------------------------------------------------------------
    // the admin's permissions

    void checkAllowed(String action, String scope) {
        boolean ok = false;
        for (String a : callerActions) if (glob(a, action)) ok = true;
        for (String a : callerNotActions) if (glob(a, action)) ok = false;
        if (!ok) {
            throw Answer.fail(403, "AuthorizationFailed", "The client '" + GraphProvider.ADMIN + "' with object id '" + GraphProvider.ADMIN
                    + "' does not have authorization to perform action '" + action + "' over scope '" + scope
                    + "' or the scope is invalid. If access was recently granted, please refresh your credentials.");
        }
    }

    private static boolean glob(String pattern, String s) {
        String re = Pattern.quote(pattern).replace("*", "\\E.*\\Q");
        return Pattern.compile(re, Pattern.CASE_INSENSITIVE).matcher(s).matches();
    }

    private static ObjectNode permissions(List<String> actions, List<String> notActions) {
        ObjectNode out = Answer.M.createObjectNode();
        ObjectNode p = out.putArray("value").addObject();
        ArrayNode acts = p.putArray("actions");
        actions.forEach(acts::add);
        ArrayNode nacts = p.putArray("notActions");
        notActions.forEach(nacts::add);
        p.putArray("dataActions");
        p.putArray("notDataActions");
        return out;
    }

    @Override public Answer action(Req q, ArmId a) {
        if (!a.typeSegs().stream().map(s -> s.toLowerCase(Locale.ROOT)).toList().equals(List.of("permissions"))) return null;
        q.requireGet();
        Answer noRg = core.rgMissing(a);
        return noRg != null ? noRg : Answer.json(200, permissions(callerActions, callerNotActions));
    }

    // ------------------------------------------------------------------------------------------------------------
    // callers other than the admin: what their role assignments allow

    /** The caller and the groups it is a direct member of. */
    private Set<String> identities(String oid) {
        Set<String> ids = new LinkedHashSet<>();
        ids.add(oid.toLowerCase(Locale.ROOT));
        ids.addAll(graph.groupsOf(oid));
        return ids;
    }

    private List<Res> assignments() {
        return core.all(ASSIGNMENTS, "");
    }

    /** Actions the caller's role assignments grant at this scope (assignments at the scope or above it). */
    private List<String> actionsAt(String oid, String scope) {
        Set<String> ids = identities(oid);
        String s = scope.toLowerCase(Locale.ROOT);
        List<String> out = new ArrayList<>();
        for (Res r : assignments()) {
            JsonNode p = r.props();
            if (!ids.contains(p.path("principalId").asText().toLowerCase(Locale.ROOT))) continue;
            String at = p.path("scope").asText().toLowerCase(Locale.ROOT);
            if (!(s.equals(at) || s.startsWith(at + "/"))) continue;
            String guid = guidOf(p.path("roleDefinitionId").asText());
            ObjectNode custom = customRoles.get(guid);
            if (custom != null) {
                for (JsonNode perm : custom.path("properties").path("permissions")) perm.path("actions").forEach(x -> out.add(x.asText()));
            } else {
                out.addAll(ROLE_ACTIONS.getOrDefault(guid, List.of()));
            }
        }
        return out;
    }

    /** Whether a principal's role assignments (direct or through its groups) grant this action at the scope. */
    boolean actionAllowed(String oid, String action, String scope) {
        return actionsAt(oid, scope).stream().anyMatch(x -> glob(x, action));
    }

    /** The action a request needs, as Azure RBAC names it ({@code <provider>/<type>/read|write|delete}, {@code .../<name>/action}). */
    private String actionOf(Req q) {
        String[] segs = ArmId.split(q.path());
        String verb = switch (q.method()) {
            case "GET", "HEAD" -> "read";
            case "PUT", "PATCH" -> "write";
            case "DELETE" -> "delete";
            default -> "action";
        };
        boolean rgs = segs.length >= 3 && segs[2].equalsIgnoreCase("resourceGroups");
        if (segs.length <= 2) return "Microsoft.Resources/subscriptions/read";
        if (segs.length == 3 && rgs) return "Microsoft.Resources/subscriptions/resourceGroups/read";
        if (segs.length == 4 && rgs) return "Microsoft.Resources/subscriptions/resourceGroups/" + verb;
        if (segs.length == 5 && rgs && segs[4].equalsIgnoreCase("resources")) return "Microsoft.Resources/subscriptions/resourceGroups/resources/read";
        ArmId a = ArmId.parse(q.path());
        if (a == null) return "Microsoft.Resources/" + verb;
        List<String> types = new ArrayList<>(a.typeSegs());
        String action = q.method().equals("POST") && a.collection() && types.size() > 1 ? types.remove(types.size() - 1) : null;
        String type = a.ns() + "/" + String.join("/", types);
        TypeSpec spec = core.type(type.toLowerCase(Locale.ROOT));
        if (spec != null) type = spec.type();
        return action != null ? type + "/" + action + "/action" : type + "/" + verb;
    }

    /** A request of a caller other than the admin: null to go on, or the answer (a filtered list, their permissions, 403). */
    Answer asCaller(Req q) {
        String oid = q.caller();
        if (oid == null || oid.equalsIgnoreCase(GraphProvider.ADMIN)) return null;
        String[] segs = ArmId.split(q.path());
        if (segs.length == 1 && segs[0].equalsIgnoreCase("subscriptions") && q.method().equals("GET")) {
            // Subscriptions in which the caller holds any role assignment.
            ObjectNode out = Answer.M.createObjectNode();
            ArrayNode v = out.putArray("value");
            Set<String> ids = identities(oid);
            for (String sub : core.subscriptionNames.keySet()) {
                boolean any = assignments().stream().anyMatch(r -> ids.contains(r.props().path("principalId").asText().toLowerCase(Locale.ROOT))
                        && r.props().path("scope").asText().toLowerCase(Locale.ROOT).startsWith("/subscriptions/" + sub));
                if (any) v.add(ArmRouter.subscriptionBody(core, sub));
            }
            return Answer.json(200, out);
        }
        if (segs.length == 0 || !segs[0].equalsIgnoreCase("subscriptions") || ArmRouter.isPoll(q.path())) return null;
        String suffix = "/providers/Microsoft.Authorization/permissions";
        if (q.path().toLowerCase(Locale.ROOT).endsWith(suffix.toLowerCase(Locale.ROOT))) {
            return Answer.json(200, permissions(actionsAt(oid, q.path().substring(0, q.path().length() - suffix.length())), List.of()));
        }
        String action = actionOf(q);
        for (String a : actionsAt(oid, q.path())) if (glob(a, action)) return null;
        String name = graph.userPrincipalName(oid);
        return Answer.error(403, "AuthorizationFailed", "The client '" + name + "' with object id '" + oid + "' does not have authorization to perform "
                + "action '" + action + "' over scope '" + q.path() + "' or the scope is invalid. If access was recently granted, please refresh your credentials.");
    }

    // ------------------------------------------------------------------------------------------------------------
    // role assignments and definitions

    @Override public Answer verb(String verb, Req q, ArmId a, TypeSpec t) {
        boolean definitions = t.lower().equals(DEFINITIONS);
        return switch (verb) {
            case "GET" -> definitions ? roleDefinition(a) : getAssignment(a);
            case "LIST" -> definitions ? listRoleDefinitions(q, a) : listRoleAssignments(q, a);
            case "PUT" -> definitions ? putRoleDefinition(q, a) : putRoleAssignment(q, a);
            case "DELETE" -> definitions ? deleteRoleDefinition(a) : deleteAssignment(a);
            default -> null;
        };
    }

    static String guidOf(String roleDefinitionId) {
        return roleDefinitionId.substring(roleDefinitionId.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
    }

    private static String parentScope(String scope) {
        int cut = scope.lastIndexOf('/');
        return cut <= 0 ? "" : scope.substring(0, cut);
    }

    /** Whether {@code scope} is {@code outer} or lies under it (ids compared case-insensitively). */
    static boolean within(String scope, String outer) {
        String s = scope.toLowerCase(Locale.ROOT);
        String o = outer.toLowerCase(Locale.ROOT);
        return s.equals(o) || s.startsWith(o + "/");
    }

    /**
     * A role assignment scope AKS adds below a cluster: {@code <cluster id>/namespaces/<name>} (AKS docs "Use Microsoft
     * Entra ID authorization for the Kubernetes API": az role assignment create --scope $AKS_ID/namespaces/<namespace>).
     * Valid as soon as the cluster exists; Azure does not know which namespaces the cluster holds.
     */
    private boolean namespaceScope(String scope) {
        String[] segs = ArmId.split(scope);
        if (segs.length < 2 || !segs[segs.length - 2].equalsIgnoreCase("namespaces")) return false;
        Res cluster = core.get(parentScope(parentScope(scope)));
        return cluster != null && cluster.typeLower().equals(ContainerServiceProvider.CLUSTERS);
    }

    // ------------------------------------------------------------------------------------------------------------
    // custom role definitions (MicrosoftDocs/azure-docs articles/role-based-access-control/custom-roles.md,
    // custom-roles-rest.md, troubleshoot-limits: RoleDefinitionWithSameNameExists, RoleDefinitionHasAssignments)

    /** The id Azure gives a custom role: under the subscription of its first assignable scope, whatever scope it was written at. */
    private static String customRoleId(String sub, String guid) {
        return "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + guid;
    }

    private Answer putRoleDefinition(Req q, ArmId a) {
        if (!GUID.matcher(a.name()).matches()) {
            return Answer.error(400, "InvalidRoleDefinitionId", "The role definition ID '" + a.name() + "' is not valid. The role definition ID must be a GUID.");
        }
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        String guid = a.name().toLowerCase(Locale.ROOT);
        if (BUILTIN_ROLES.containsKey(guid)) {
            return Answer.error(403, "AuthorizationFailed", "Built-in role definitions cannot be changed: '" + guid + "'.");
        }
        core.checkAllowed("Microsoft.Authorization/roleDefinitions/write", a.scope());
        ObjectNode body = q.json();
        JsonNode p = body.path("properties");
        String roleName = p.path("roleName").asText("");
        if (roleName.isBlank()) return Answer.error(400, "InvalidRoleDefinitionParameter", "The role definition needs a roleName.");
        JsonNode scopes = p.path("assignableScopes");
        if (!scopes.isArray() || scopes.size() == 0) {
            return Answer.error(400, "InvalidRoleDefinitionParameter", "The role definition needs at least one assignable scope (assignableScopes).");
        }
        int managementGroups = 0;
        boolean dataActions = false;
        for (JsonNode perm : p.path("permissions")) dataActions |= perm.path("dataActions").size() > 0;
        for (JsonNode sc : scopes) {
            String scope = sc.asText();
            String[] segs = ArmId.split(scope);
            boolean mg = segs.length == 4 && segs[0].equalsIgnoreCase("providers") && segs[1].equalsIgnoreCase("Microsoft.Management")
                    && segs[2].equalsIgnoreCase("managementGroups");
            boolean sub = segs.length == 2 && segs[0].equalsIgnoreCase("subscriptions");
            boolean rg = segs.length == 4 && segs[0].equalsIgnoreCase("subscriptions") && segs[2].equalsIgnoreCase("resourceGroups");
            if (segs.length == 0) {
                return Answer.error(400, "InvalidAssignableScopes", "You cannot set AssignableScopes to the root scope (\"/\").");
            }
            if (!mg && !sub && !rg) {
                // custom-roles.md: custom roles are assignable at management group, subscription and resource group scopes.
                return Answer.error(400, "InvalidAssignableScopes", "The assignable scope '" + scope + "' is not valid: use a management group,"
                        + " a subscription or a resource group.");
            }
            if (mg && ++managementGroups > 1) {
                return Answer.error(400, "InvalidAssignableScopes", "You can only define one management group in AssignableScopes of a custom role.");
            }
            if (mg && dataActions) {
                return Answer.error(400, "InvalidAssignableScopes", "You cannot add data action permissions when you have a management group as an assignable scope");
            }
            if ((sub || rg) && !core.scopeExists(scope)) {
                return Answer.error(400, "InvalidAssignableScopes", "The assignable scope '" + scope + "' does not exist.");
            }
        }
        for (Map.Entry<String, String> e : BUILTIN_ROLES.entrySet()) {
            if (e.getValue().equalsIgnoreCase(roleName)) return sameName();
        }
        for (Map.Entry<String, ObjectNode> e : customRoles.entrySet()) {
            if (!e.getKey().equals(guid) && e.getValue().path("properties").path("roleName").asText().equalsIgnoreCase(roleName)) return sameName();
        }
        boolean created = !customRoles.containsKey(guid);
        ObjectNode def = Answer.M.createObjectNode();
        String[] first = ArmId.split(scopes.get(0).asText());
        def.put("id", customRoleId(first.length >= 2 && first[0].equalsIgnoreCase("subscriptions") ? first[1] : a.sub(), guid));
        def.put("name", guid);
        def.put("type", "Microsoft.Authorization/roleDefinitions");
        ObjectNode dp = def.putObject("properties");
        dp.put("roleName", roleName);
        dp.put("type", "CustomRole");
        dp.put("description", p.path("description").asText(""));
        ArrayNode perms = dp.putArray("permissions");
        for (JsonNode perm : p.path("permissions")) {
            ObjectNode x = perms.addObject();
            for (String f : List.of("actions", "notActions", "dataActions", "notDataActions")) {
                x.set(f, perm.path(f).isArray() ? perm.get(f).deepCopy() : Answer.M.createArrayNode());
            }
        }
        dp.set("assignableScopes", scopes.deepCopy());
        dp.put("createdBy", GraphProvider.ADMIN);
        customRoles.put(guid, def);
        return Answer.json(created ? 201 : 200, def);
    }

    private static Answer sameName() {
        return Answer.error(409, "RoleDefinitionWithSameNameExists", "A custom role with the same name already exists in this directory.");
    }

    private Answer deleteRoleDefinition(ArmId a) {
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        String guid = a.name().toLowerCase(Locale.ROOT);
        if (BUILTIN_ROLES.containsKey(guid)) return Answer.error(403, "AuthorizationFailed", "Built-in role definitions cannot be deleted: '" + guid + "'.");
        ObjectNode def = customRoles.get(guid);
        if (def == null) return Answer.empty(204, Map.of());
        core.checkAllowed("Microsoft.Authorization/roleDefinitions/delete", a.scope());
        for (Res x : assignments()) {
            if (guidOf(x.props().path("roleDefinitionId").asText()).equals(guid)) {
                return Answer.error(409, "RoleDefinitionHasAssignments", "There are existing role assignments referencing role (code: RoleDefinitionHasAssignments)");
            }
        }
        customRoles.remove(guid);
        return Answer.json(200, def);
    }

    private Answer getAssignment(ArmId a) {
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        Res r = core.get(a.path());
        return r == null ? Answer.error(404, "RoleAssignmentNotFound", "The role assignment '" + a.name() + "' is not found.")
                : Answer.json(200, core.render(r));
    }

    private Answer deleteAssignment(ArmId a) {
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        Res r = core.get(a.path());
        if (r == null) return Answer.empty(204, Map.of());
        core.checkAllowed("Microsoft.Authorization/roleAssignments/delete", a.scope());
        ObjectNode b = core.render(r);
        core.resources.remove(r.key());
        return Answer.json(200, b);
    }

    private Answer putRoleAssignment(Req q, ArmId a) {
        if (!GUID.matcher(a.name()).matches()) {
            return Answer.error(400, "InvalidRoleAssignmentId", "The role assignment ID '" + a.name() + "' is not valid. The role assignment ID must be a GUID.");
        }
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        if (!core.scopeExists(a.scope()) && !namespaceScope(a.scope())) {
            return Answer.error(404, "ResourceNotFound", "The scope '" + a.scope() + "' of the role assignment does not exist.");
        }
        core.checkAllowed("Microsoft.Authorization/roleAssignments/write", a.scope());
        JsonNode p = q.json().path("properties");
        String roleDef = p.path("roleDefinitionId").asText("");
        String principalId = p.path("principalId").asText("");
        String givenType = p.path("principalType").asText(null);
        String roleGuid = roleDef.substring(roleDef.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        ObjectNode custom = customRoles.get(roleGuid);
        if (!roleDef.toLowerCase(Locale.ROOT).contains("/providers/microsoft.authorization/roledefinitions/")
                || (!BUILTIN_ROLES.containsKey(roleGuid) && custom == null)) {
            return Answer.error(400, "RoleDefinitionDoesNotExist", "The specified role definition with ID '" + roleGuid + "' does not exist.");
        }
        if (custom != null) {
            boolean assignable = false;
            for (JsonNode sc : custom.path("properties").path("assignableScopes")) assignable |= within(a.scope(), sc.asText());
            if (!assignable) {
                // The message users report when a custom role is assigned outside its assignableScopes; the code is the fake's.
                return Answer.error(400, "RoleDefinitionNotAssignableAtScope", "The role " + custom.path("properties").path("roleName").asText()
                        + " is not available for assignment at the requested scope.");
            }
        }
        ArmCore.Principal pr = core.principals.get(principalId.toLowerCase(Locale.ROOT));
        String notFound = "Principal " + principalId.replace("-", "") + " does not exist in the directory " + AzureFake.TENANT_ID
                + ". Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role,"
                + " this error might be related to a replication delay. In this case, set the role assignment principalType property to a value,"
                + " such as ServicePrincipal, User, or Group. See https://aka.ms/docs-principaltype";
        if (pr == null) return Answer.error(400, "PrincipalNotFound", notFound);
        if (givenType != null && !givenType.equalsIgnoreCase(pr.type())) {
            return Answer.error(400, "UnmatchedPrincipalType", "The PrincipalId '" + principalId.replace("-", "") + "' has type '" + pr.type()
                    + "', which is different from specified PrincipalType '" + givenType + "'.");
        }
        boolean young = System.nanoTime() - pr.createdNanos() < principalReplicationMs * 1_000_000L;
        if (young && !(givenType != null && principalTypeShortcut)) return Answer.error(400, "PrincipalNotFound", notFound);
        Res existing = core.get(a.path());
        if (existing != null) {
            if (same(existing, principalId, a.scope(), roleGuid)) return Answer.json(201, core.render(existing));
            return Answer.error(409, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.");
        }
        for (Res x : assignments()) {
            if (same(x, principalId, a.scope(), roleGuid)) {
                return Answer.error(409, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is "
                        + x.name().replace("-", "") + ".");
            }
        }
        Res r = new Res(core.canonicalId(a.path()), core.type(ASSIGNMENTS));
        ObjectNode rp = r.user.putObject("properties");
        rp.put("roleDefinitionId", roleDef);
        rp.put("principalId", principalId);
        rp.put("principalType", givenType != null ? givenType : pr.type());
        rp.put("scope", core.canonicalId(a.scope()));
        if (p.has("description")) rp.set("description", p.get("description"));
        if (p.has("condition")) rp.set("condition", p.get("condition"));
        // RoleAssignmentProperties.conditionVersion (2022-04-01): "Currently the only accepted value is '2.0'"; Azure returns it.
        if (p.has("conditionVersion")) rp.set("conditionVersion", p.get("conditionVersion"));
        rp.put("createdBy", GraphProvider.ADMIN);
        core.resources.put(r.key(), r);
        return Answer.json(201, core.render(r));
    }

    private static boolean same(Res x, String principalId, String scope, String roleGuid) {
        JsonNode xp = x.props();
        return xp.path("principalId").asText().equalsIgnoreCase(principalId) && xp.path("scope").asText().equalsIgnoreCase(scope)
                && xp.path("roleDefinitionId").asText().toLowerCase(Locale.ROOT).endsWith(roleGuid);
    }

    private Answer listRoleAssignments(Req q, ArmId a) {
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        String filter = q.q("$filter");
        Map<String, String> terms = Req.filterTerms(filter);
        boolean atScope = filter != null && filter.toLowerCase(Locale.ROOT).contains("atscope()");
        String scope = a.scope().toLowerCase(Locale.ROOT);
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Res x : assignments()) {
            String xs = x.props().path("scope").asText().toLowerCase(Locale.ROOT);
            boolean above = scope.equals(xs) || scope.startsWith(xs + "/");
            boolean below = xs.startsWith(scope + "/");
            if (!(above || (!atScope && below))) continue;
            String pid = terms.get("principalid");
            if (pid != null && !pid.equalsIgnoreCase(x.props().path("principalId").asText())) continue;
            v.add(core.render(x));
        }
        return Answer.json(200, out);
    }

    private static ObjectNode roleDefinitionBody(String scope, String guid) {
        ObjectNode b = Answer.M.createObjectNode();
        b.put("id", scope + "/providers/Microsoft.Authorization/roleDefinitions/" + guid);
        b.put("name", guid);
        b.put("type", "Microsoft.Authorization/roleDefinitions");
        ObjectNode p = b.putObject("properties");
        p.put("roleName", BUILTIN_ROLES.get(guid));
        p.put("type", "BuiltInRole");
        ObjectNode perm = p.putArray("permissions").addObject();
        ArrayNode acts = perm.putArray("actions");
        ROLE_ACTIONS.getOrDefault(guid, List.of()).forEach(acts::add);
        perm.putArray("notActions");
        ArrayNode data = perm.putArray("dataActions");
        ROLE_DATA_ACTIONS.getOrDefault(guid, List.of()).forEach(data::add);
        ArrayNode notData = perm.putArray("notDataActions");
        ROLE_NOT_DATA_ACTIONS.getOrDefault(guid, List.of()).forEach(notData::add);
        p.putArray("assignableScopes").add("/");
        return b;
    }

    private Answer roleDefinition(ArmId a) {
        String guid = a.name().toLowerCase(Locale.ROOT);
        if (customRoles.containsKey(guid)) return Answer.json(200, customRoles.get(guid));
        if (!BUILTIN_ROLES.containsKey(guid)) {
            return Answer.error(404, "RoleDefinitionDoesNotExist", "The specified role definition with ID '" + a.name() + "' does not exist.");
        }
        return Answer.json(200, roleDefinitionBody(a.scope(), guid));
    }

    /** Built-in roles, and the custom roles assignable at the scope (one of their assignableScopes is it or above it). */
    private Answer listRoleDefinitions(Req q, ArmId a) {
        Map<String, String> terms = Req.filterTerms(q.q("$filter"));
        String want = terms.get("rolename");
        String type = terms.get("type");
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        if (type == null || type.equalsIgnoreCase("BuiltInRole")) {
            for (Map.Entry<String, String> e : BUILTIN_ROLES.entrySet()) {
                if (want == null || want.equalsIgnoreCase(e.getValue())) v.add(roleDefinitionBody(a.scope(), e.getKey()));
            }
        }
        if (type == null || type.equalsIgnoreCase("CustomRole")) {
            for (ObjectNode def : customRoles.values()) {
                boolean here = false;
                for (JsonNode sc : def.path("properties").path("assignableScopes")) here |= within(a.scope(), sc.asText());
                if (here && (want == null || want.equalsIgnoreCase(def.path("properties").path("roleName").asText()))) v.add(def);
            }
        }
        return Answer.json(200, out);
    }

    // ------------------------------------------------------------------------------------------------------------
    // data actions (Azure RBAC for Kubernetes authorization): what AKS's authorizer asks Azure for each request

    /**
     * Whether the principal, or one of the groups (its token's groups claim, and its direct memberships in the fake's
     * directory), holds a role assignment at the scope or above it whose role allows the data action: one of the role's
     * dataActions matches (wildcards allowed) and none of that role's notDataActions does (MicrosoftDocs/azure-docs
     * articles/role-based-access-control/role-definitions.md, "NotDataActions"). An assignment with a condition counts only
     * when the condition holds for the request's attributes ({@link Condition}).
     */
    boolean dataActionAllowed(String objectId, Collection<String> groups, String action, String scope, Map<String, String> attributes) {
        Set<String> ids = identities(objectId);
        for (String g : groups) ids.add(g.toLowerCase(Locale.ROOT));
        for (Res r : assignments()) {
            JsonNode p = r.props();
            if (!ids.contains(p.path("principalId").asText().toLowerCase(Locale.ROOT))) continue;
            if (!within(scope, p.path("scope").asText())) continue;
            if (!roleAllows(guidOf(p.path("roleDefinitionId").asText()), action)) continue;
            String condition = p.path("condition").asText("");
            if (!condition.isBlank() && !Condition.holds(condition, action, attributes)) continue;
            return true;
        }
        return false;
    }

    private boolean roleAllows(String guid, String action) {
        ObjectNode custom = customRoles.get(guid);
        if (custom != null) {
            for (JsonNode perm : custom.path("properties").path("permissions")) {
                if (matchesAny(perm.path("dataActions"), action) && !matchesAny(perm.path("notDataActions"), action)) return true;
            }
            return false;
        }
        List<String> allowed = ROLE_DATA_ACTIONS.getOrDefault(guid, List.of());
        List<String> denied = ROLE_NOT_DATA_ACTIONS.getOrDefault(guid, List.of());
        return allowed.stream().anyMatch(x -> glob(x, action)) && denied.stream().noneMatch(x -> glob(x, action));
    }

    private static boolean matchesAny(JsonNode patterns, String action) {
        for (JsonNode x : patterns) if (glob(x.asText(), action)) return true;
        return false;
    }
}
