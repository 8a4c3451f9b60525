package azure;

import com.azure.core.http.HttpMethod;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Plan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Who else may use a stack: the principals given with --grant and --revoke, their role assignments (Storage Blob Data
 * Contributor on the container, AKS Cluster User on the cluster) and who has access now. There is no state file: the
 * grants are found again as the role assignments whose description carries {@link #MARK}.
 */
public final class Grants {
    private Grants() {}

    /** Start of the description of every grant's role assignment (RoleAssignmentProperties.description, 2022-04-01). */
    public static final String MARK = "metaflow-azure-toolkit grant: ";

    public static final Pattern GUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /** A directory principal: object id, role-assignment principalType (User, Group, ServicePrincipal), and how it is shown. */
    public record Principal(String objectId, String type, String label) {}

    /** A grant as it exists: one of its role assignments. */
    public record Existing(Principal principal, String assignmentId, String scope, String roleDefinitionId) {}

    /** What the plan does about access: grants to keep or add, grants to remove, and the notes for the user. */
    public record Change(List<Principal> keep, List<Principal> revoke, List<String> notes) {
    }

    // --- finding what exists --------------------------------------------------------------------------------

    /**
     * The toolkit's grants on the stack's container and cluster: the role assignments listed at each scope (a list
     * includes those at the scope itself) whose scope is that one and whose description carries the mark. A scope that
     * does not exist yet has none.
     */
    public static List<Existing> existing(Arm arm, Stack s, Desired.Caller c) {
        List<Existing> out = new ArrayList<>();
        for (String scope : List.of(s.containerId(c.subscriptionId()), s.aksId(c.subscriptionId()), FlowRunner.namespaceScope(s, c),
                s.registryId(c.subscriptionId()))) {
            String url = arm.url(scope + "/providers/Microsoft.Authorization/roleAssignments", Desired.API_ROLES);
            Arm.Response r = arm.send(HttpMethod.GET, url, null);
            if (r.status() == 404) continue;
            if (r.status() >= 400) {
                JsonNode e = r.body().path("error");
                throw new Arm.AzureException(r.status(), e.path("code").asText("HttpStatus" + r.status()), e.path("message").asText(""), url);
            }
            List<JsonNode> all = new ArrayList<>();
            r.body().path("value").forEach(all::add);
            for (String next = r.body().path("nextLink").asText(null); next != null && !next.isEmpty(); ) {
                JsonNode page = arm.getUrl(next);
                page.path("value").forEach(all::add);
                next = page.path("nextLink").asText(null);
            }
            for (JsonNode a : all) {
                JsonNode p = a.path("properties");
                String description = p.path("description").asText("");
                if (!description.startsWith(MARK) || !p.path("scope").asText().equalsIgnoreCase(scope)) continue;
                out.add(new Existing(new Principal(p.path("principalId").asText(), p.path("principalType").asText("User"),
                        description.substring(MARK.length())), a.path("id").asText(), p.path("scope").asText(), p.path("roleDefinitionId").asText()));
            }
        }
        return out;
    }

    /** The distinct principals of the existing grants, in the order found. */
    static List<Principal> principals(List<Existing> existing) {
        Map<String, Principal> byId = new LinkedHashMap<>();
        for (Existing e : existing) byId.putIfAbsent(e.principal().objectId().toLowerCase(Locale.ROOT), e.principal());
        return new ArrayList<>(byId.values());
    }

    // --- resolving WHO ---------------------------------------------------------------------------------------

    /**
     * WHO through Microsoft Graph v1.0: a UPN (contains '@') is a user (GET /users/{upn}); a GUID is a directory object
     * (GET /directoryObjects/{id}: user, group or service principal) or else an application id (GET
     * /servicePrincipals?$filter=appId eq '...'); anything else is a group's display name (GET /groups?$filter=displayName
     * eq '...'). Not found or ambiguous is bad input, naming the candidates.
     */
    public static Principal resolve(Arm graph, String option, String who) {
        String base = graph.endpoint() + "/v1.0/";
        if (who.contains("@")) {
            JsonNode u = graphGet(graph, base + "users/" + encode(who))
                    .orElseThrow(() -> new Stack.InputException(option, "no user '" + who + "' in the directory", "alice@contoso.com"));
            return user(u);
        }
        if (GUID.matcher(who).matches()) {
            Optional<JsonNode> object = graphGet(graph, base + "directoryObjects/" + who);
            List<JsonNode> byAppId = new ArrayList<>();
            graph.getUrl(base + "servicePrincipals" + Graph.filter("appId eq '" + who + "'")).path("value").forEach(byAppId::add);
            if (object.isPresent() && !byAppId.isEmpty()) {
                throw new Stack.InputException(option, "'" + who + "' is both the object id of " + describe(object.get())
                        + " and the app id of service principal " + byAppId.get(0).path("displayName").asText() + " (object id "
                        + byAppId.get(0).path("id").asText() + "); pass the object id of the one you mean", byAppId.get(0).path("id").asText());
            }
            if (object.isPresent()) {
                JsonNode o = object.get();
                return switch (o.path("@odata.type").asText()) {
                    case "#microsoft.graph.user" -> user(o);
                    case "#microsoft.graph.group" -> group(o);
                    case "#microsoft.graph.servicePrincipal" -> servicePrincipal(o);
                    default -> throw new Stack.InputException(option, "'" + who + "' is " + describe(o)
                            + ", not a user, group or service principal", "alice@contoso.com");
                };
            }
            if (byAppId.size() == 1) return servicePrincipal(byAppId.get(0));
            throw new Stack.InputException(option, "no user, group or service principal has the object id or app id '" + who + "'",
                    "alice@contoso.com");
        }
        List<JsonNode> groups = new ArrayList<>();
        graph.getUrl(base + "groups" + Graph.filter("displayName eq '" + who.replace("'", "''") + "'")).path("value").forEach(groups::add);
        if (groups.isEmpty()) {
            throw new Stack.InputException(option, "no group named '" + who + "' in the directory (a user is given by UPN, a service "
                    + "principal by app id)", "ml-team");
        }
        if (groups.size() > 1) {
            List<String> candidates = groups.stream().map(g -> g.path("displayName").asText() + " (object id " + g.path("id").asText() + ")").toList();
            throw new Stack.InputException(option, groups.size() + " groups are named '" + who + "': " + String.join(", ", candidates)
                    + "; pass the object id of the one you mean", groups.get(0).path("id").asText());
        }
        return group(groups.get(0));
    }

    private static Principal user(JsonNode u) {
        return new Principal(u.path("id").asText(), "User", u.path("userPrincipalName").asText(u.path("displayName").asText()));
    }

    private static Principal group(JsonNode g) {
        return new Principal(g.path("id").asText(), "Group", "group " + g.path("displayName").asText());
    }

    private static Principal servicePrincipal(JsonNode sp) {
        return new Principal(sp.path("id").asText(), "ServicePrincipal", "app " + sp.path("displayName").asText() + " (" + sp.path("appId").asText() + ")");
    }

    private static String describe(JsonNode o) {
        String type = o.path("@odata.type").asText("#microsoft.graph.directoryObject").replace("#microsoft.graph.", "");
        return "a " + type + " (" + o.path("displayName").asText("?") + ")";
    }

    private static String encode(String s) {
        return java.net.URLEncoder.encode(s, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A Graph GET: 404 is empty, other errors throw. */
    private static Optional<JsonNode> graphGet(Arm graph, String url) {
        Arm.Response r = graph.send(HttpMethod.GET, url, null);
        if (r.status() == 404) return Optional.empty();
        if (r.status() >= 400) {
            JsonNode e = r.body().path("error");
            throw new Arm.AzureException(r.status(), e.path("code").asText("HttpStatus" + r.status()), e.path("message").asText(""), url);
        }
        return Optional.of(r.body());
    }

    // --- deciding --------------------------------------------------------------------------------------------

    /**
     * What --grant and --revoke change, given the grants that exist: everyone granted before stays unless revoked.
     * A --revoke names an existing grantee by object id or label first (so a principal deleted from the directory can
     * still be revoked), else through Graph. The caller is never a grantee: every run grants its runner access.
     */
    public static Change decide(List<Existing> existing, List<String> grant, List<String> revoke, Arm graph, Desired.Caller caller) {
        List<Principal> had = principals(existing);
        Map<String, Principal> keep = new LinkedHashMap<>();
        for (Principal p : had) keep.put(p.objectId().toLowerCase(Locale.ROOT), p);
        List<Principal> revoked = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        boolean needGraph = !grant.isEmpty() || revoke.stream().anyMatch(w -> match(had, w) == null);
        if (needGraph && graph == null) {
            throw new Stack.InputException(grant.isEmpty() ? "--revoke" : "--grant", "needs Microsoft Graph, which this cloud does not offer",
                    null);
        }
        for (String who : revoke) {
            Principal p = match(had, who);
            if (p == null) p = resolve(graph, "--revoke", who);
            if (caller.objectId() != null && p.objectId().equalsIgnoreCase(caller.objectId())) {
                throw new Stack.InputException("--revoke", "'" + who + "' is you: every provision.java run grants its runner access; "
                        + "have another admin run it, or remove your role assignments with az role assignment delete", null);
            }
            if (keep.remove(p.objectId().toLowerCase(Locale.ROOT)) != null) {
                revoked.add(p);
            } else {
                notes.add(p.label() + " has no grant on this stack; nothing to revoke");
            }
        }
        for (String who : grant) {
            Principal p = resolve(graph, "--grant", who);
            if (revoked.stream().anyMatch(r -> r.objectId().equalsIgnoreCase(p.objectId()))) {
                throw new Stack.InputException("--grant", "'" + who + "' is also given to --revoke; choose one", null);
            }
            if (caller.objectId() != null && p.objectId().equalsIgnoreCase(caller.objectId())) {
                notes.add(p.label() + " is you: you have access anyway (every run grants its runner access)");
                continue;
            }
            keep.putIfAbsent(p.objectId().toLowerCase(Locale.ROOT), p);
        }
        List<Principal> kept = new ArrayList<>(keep.values());
        kept.sort(java.util.Comparator.comparing(Principal::label, String.CASE_INSENSITIVE_ORDER));   // the same order every run
        return new Change(kept, revoked, notes);
    }

    /** An existing grantee named by object id, label, or the label without its "group "/"app " word. */
    private static Principal match(List<Principal> had, String who) {
        for (Principal p : had) {
            String bare = p.label().replaceFirst("^(group|app) ", "");
            if (p.objectId().equalsIgnoreCase(who) || p.label().equalsIgnoreCase(who) || bare.equalsIgnoreCase(who)) return p;
        }
        return null;
    }

    // --- plan items --------------------------------------------------------------------------------------------

    /** The grants' role assignments to keep (created when missing) and to delete, as plan items. */
    public static List<Plan.Item> items(Stack s, Desired.Caller c, Change change, List<Existing> existing) {
        List<Plan.Item> items = new ArrayList<>();
        String containerId = s.containerId(c.subscriptionId());
        String aksId = s.aksId(c.subscriptionId());
        String registryId = s.registryId(c.subscriptionId());
        for (Principal p : change.keep()) {
            items.add(grant("grant-blob:" + p.objectId(), containerId, Desired.CONTAINER, Roles.BLOB_DATA_CONTRIBUTOR, p, s.container(), c));
            items.add(grant("grant-aks:" + p.objectId(), aksId, Desired.AKS, Roles.AKS_CLUSTER_USER, p, s.aks(), c));
            items.add(grant("grant-acr:" + p.objectId(), registryId, Desired.REGISTRY, Roles.ACR_PUSH, p, s.registry(), c));
            // What the person may do in the cluster: the flow runner role in the flows' namespace, nothing cluster-wide.
            items.add(Roles.assignment("grant-k8s:" + p.objectId(), null, List.of(Desired.AKS, Desired.FLOW_RUNNER),
                    FlowRunner.namespaceScope(s, c), namespaceLabel(s), FlowRunner.definitionId(s, c), FLOW_RUNNER_LABEL,
                    principal(p), FlowRunner.CONDITION, c,
                    Desired.settings("to", p.label() + " (" + p.type() + " " + p.objectId() + ")", "on", namespaceLabel(s),
                            "condition", "custom resources: argoproj.io " + String.join(", ", FlowRunner.ARGO_KINDS) + " only",
                            "granted by", "--grant")));
        }
        for (Principal p : change.revoke()) {
            for (Existing e : existing) {
                if (!e.principal().objectId().equalsIgnoreCase(p.objectId())) continue;
                String role = e.roleDefinitionId().substring(e.roleDefinitionId().lastIndexOf('/') + 1);
                String roleName = e.roleDefinitionId().equalsIgnoreCase(FlowRunner.definitionId(s, c)) ? FLOW_RUNNER_LABEL
                        : Roles.NAMES.getOrDefault(role, role);
                String on = e.scope().equalsIgnoreCase(containerId) ? s.container()
                        : e.scope().equalsIgnoreCase(aksId) ? s.aks() : e.scope().equalsIgnoreCase(registryId) ? s.registry() : namespaceLabel(s);
                items.add(new Plan.Item("revoke:" + e.assignmentId(), "role assignment", roleName + " for " + p.label() + " on " + on,
                        null, List.of(), Desired.settings("from", p.label(), "on", on, "why", "--revoke"),
                        new ArmRemoval(e.assignmentId(), Desired.API_ROLES)));
            }
        }
        return items;
    }

    static final String FLOW_RUNNER_LABEL = "Metaflow flow runner";

    private static String namespaceLabel(Stack s) {
        return "namespace " + s.kubeNamespace() + " of " + s.aks();
    }

    private static Roles.Principal principal(Principal p) {
        return new Roles.Principal(out -> p.objectId(), p.objectId(), p.type(), p.label(), MARK + p.label());
    }

    private static Plan.Item grant(String key, String scope, String scopeKey, String role, Principal p, String scopeLabel, Desired.Caller c) {
        // No parent: planned after the stack's items (read directly), and written once the scope exists.
        return Roles.assignment(key, null, List.of(scopeKey), scope, scopeLabel, role, principal(p), c,
                Desired.settings("to", p.label() + " (" + p.type() + " " + p.objectId() + ")", "on", scopeLabel, "granted by", "--grant"));
    }

    // --- showing ------------------------------------------------------------------------------------------------

    /** Who may use the stack once the plan is applied: you, then every grantee. */
    public static String accessLine(Change change) {
        List<String> who = new ArrayList<>(List.of("you"));
        change.keep().forEach(p -> who.add(p.label()));
        return "access: " + String.join(", ", who);
    }

    /**
     * How long a grant or revocation takes to act in the cluster: Azure propagates role assignment changes in up to five
     * minutes (AKS doc "Use Microsoft Entra ID authorization for the Kubernetes API in AKS"); then AKS's authorizer (guard)
     * caches decisions for 3 minutes and the API server its webhook answers for 5 (kubeguard/guard
     * authz/providers/azure/CACHING.md, the defaults).
     */
    public static final String TAKES_EFFECT = "Grants and revocations take effect in the cluster within about 13 minutes "
            + "(Azure propagates role changes in up to 5; AKS's authorizer caches decisions for up to 8 more); on the container and the "
            + "registry within 5.";

    /** What a grant means, said plainly. */
    public static final String MEANING = "A grant gives Storage Blob Data Contributor on the container (read, write and delete every "
            + "flow's data), AKS Cluster User on the cluster (to fetch its address) and the role Metaflow flow runner in namespace "
            + "metaflow: run and delete Jobs and Argo workflows, read pods, logs and events, port-forward; and AcrPush on the "
            + "registry (push the team's own images, pull any). No Secret, no other namespace, nothing cluster-wide. People sign in with Microsoft Entra ID; the cluster has no local accounts.";

    public static void print(java.io.PrintStream out, Change change) {
        out.println();
        out.println(accessLine(change));
        for (Principal p : change.revoke()) out.println("  revoked: " + p.label());
        for (String n : change.notes()) out.println("  note: " + n);
        if (!change.keep().isEmpty()) out.println(MEANING);
        if (!change.keep().isEmpty() || !change.revoke().isEmpty()) out.println(TAKES_EFFECT);
    }

    public static void addJson(ObjectNode doc, Change change) {
        var access = doc.putArray("access");
        access.add("you");
        change.keep().forEach(p -> access.addObject().put("label", p.label()).put("objectId", p.objectId()).put("principalType", p.type()));
        var revoked = doc.putArray("revoked");
        change.revoke().forEach(p -> revoked.addObject().put("label", p.label()).put("objectId", p.objectId()));
        var notes = doc.putArray("notes");
        change.notes().forEach(notes::add);
    }
}
