package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
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
        ROLE_ACTIONS.put("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", List.of("*"));        // Owner
    }

    private final GraphProvider graph;
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
            String def = p.path("roleDefinitionId").asText();
            out.addAll(ROLE_ACTIONS.getOrDefault(def.substring(def.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT), List.of()));
        }
        return out;
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
            case "PUT" -> definitions ? Answer.error(400, "UnsupportedByFake", "Custom role definitions are not modelled by the fake.")
                    : putRoleAssignment(q, a);
            case "DELETE" -> definitions ? Answer.error(400, "UnsupportedByFake", "Role definitions are read-only here.") : deleteAssignment(a);
            default -> null;
        };
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
        if (!core.scopeExists(a.scope())) {
            return Answer.error(404, "ResourceNotFound", "The scope '" + a.scope() + "' of the role assignment does not exist.");
        }
        core.checkAllowed("Microsoft.Authorization/roleAssignments/write", a.scope());
        JsonNode p = q.json().path("properties");
        String roleDef = p.path("roleDefinitionId").asText("");
        String principalId = p.path("principalId").asText("");
        String givenType = p.path("principalType").asText(null);
        String roleGuid = roleDef.substring(roleDef.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        if (!roleDef.toLowerCase(Locale.ROOT).contains("/providers/microsoft.authorization/roledefinitions/") || !BUILTIN_ROLES.containsKey(roleGuid)) {
            return Answer.error(400, "RoleDefinitionDoesNotExist", "The specified role definition with ID '" + roleGuid + "' does not exist.");
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
        p.putArray("assignableScopes").add("/");
        return b;
    }

    private static Answer roleDefinition(ArmId a) {
        String guid = a.name().toLowerCase(Locale.ROOT);
        if (!BUILTIN_ROLES.containsKey(guid)) {
            return Answer.error(404, "RoleDefinitionDoesNotExist", "The specified role definition with ID '" + a.name() + "' does not exist.");
        }
        return Answer.json(200, roleDefinitionBody(a.scope(), guid));
    }

    private static Answer listRoleDefinitions(Req q, ArmId a) {
        String want = Req.filterTerms(q.q("$filter")).get("rolename");
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Map.Entry<String, String> e : BUILTIN_ROLES.entrySet()) {
            if (want == null || want.equalsIgnoreCase(e.getValue())) v.add(roleDefinitionBody(a.scope(), e.getKey()));
        }
        return Answer.json(200, out);
    }
}
