package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The slice of Microsoft Graph v1.0 the toolkit uses ({@code graph.*} hosts, {@code /v1.0/} or {@code /graph/v1.0/}
 * paths): the signed-in user, users, groups and directory objects, applications (with password credentials) and
 * service principals, and the deleted items they go to. Service principals become principals for role assignments.
 */
final class GraphProvider extends ArmProvider {
    /** Object id of the signed-in user (the admin). */
    static final String ADMIN = "00000000-0000-0000-0000-0000000000c1";
    private static final Pattern BY_APP_ID = Pattern.compile("(applications|serviceprincipals)\\(appid='([^']*)'\\)");
    private static final long AN_HOUR_AGO = 3_600_000_000_000L;

    private final Map<String, ObjectNode> apps = new LinkedHashMap<>();
    private final Map<String, ObjectNode> servicePrincipals = new LinkedHashMap<>();
    private final Map<String, ObjectNode> users = new LinkedHashMap<>();
    private final Map<String, ObjectNode> groups = new LinkedHashMap<>();
    private final Map<String, Set<String>> members = new LinkedHashMap<>();
    private final Map<String, ObjectNode> deletedObjects = Collections.synchronizedMap(new LinkedHashMap<>());
    boolean denyWrites;

    GraphProvider(ArmCore core) {
        super(core, "Microsoft.Graph", List.of());
        core.addPrincipal(ADMIN, "User", System.nanoTime() - AN_HOUR_AGO);
        ObjectNode me = Answer.M.createObjectNode();
        me.put("id", ADMIN).put("displayName", "Fake User").put("userPrincipalName", "fake.user@fake.onmicrosoft.com");
        users.put(ADMIN, me);
    }

    // ------------------------------------------------------------------------------------------------------------
    // test support

    String addUser(String userPrincipalName, String displayName) {
        String id = UUID.randomUUID().toString();
        ObjectNode u = Answer.M.createObjectNode();
        u.put("id", id).put("displayName", displayName).put("userPrincipalName", userPrincipalName);
        users.put(id, u);
        core.addPrincipal(id, "User", System.nanoTime() - AN_HOUR_AGO);
        return id;
    }

    String addGroup(String displayName, String... memberIds) {
        String id = UUID.randomUUID().toString();
        ObjectNode g = Answer.M.createObjectNode();
        g.put("id", id).put("displayName", displayName).put("securityEnabled", true).put("mailEnabled", false);
        groups.put(id, g);
        members.put(id, new LinkedHashSet<>(List.of(memberIds)));
        core.addPrincipal(id, "Group", System.nanoTime() - AN_HOUR_AGO);
        return id;
    }

    List<JsonNode> applications() { return copies(apps.values()); }

    List<JsonNode> servicePrincipals() { return copies(servicePrincipals.values()); }

    List<JsonNode> deletedItems() {
        synchronized (deletedObjects) {
            return copies(deletedObjects.values());
        }
    }

    private static List<JsonNode> copies(java.util.Collection<ObjectNode> objects) {
        return objects.stream().map(o -> (JsonNode) o.deepCopy()).toList();
    }

    /** Applications and service principals keyed {@code graph:<kind>:<displayName>#n}, for {@link AzureFake#canonicalState()}. */
    void canonical(Map<String, JsonNode> out) {
        Map<String, Integer> seen = new LinkedHashMap<>();
        for (ObjectNode app : apps.values()) {
            String dn = app.path("displayName").asText();
            int n = seen.merge("a:" + dn, 1, Integer::sum);
            out.put("graph:application:" + dn + "#" + n, core.canonical(ArmCore.stripVolatile(app)));
        }
        for (ObjectNode sp : servicePrincipals.values()) {
            String dn = sp.path("displayName").asText();
            int n = seen.merge("s:" + dn, 1, Integer::sum);
            out.put("graph:servicePrincipal:" + dn + "#" + n, core.canonical(ArmCore.stripVolatile(sp)));
        }
    }

    /** Lower-cased ids of the groups the object is a direct member of. */
    List<String> groupsOf(String oid) {
        List<String> out = new ArrayList<>();
        members.forEach((g, m) -> {
            if (m.stream().anyMatch(x -> x.equalsIgnoreCase(oid))) out.add(g.toLowerCase(Locale.ROOT));
        });
        return out;
    }

    String userPrincipalName(String oid) {
        ObjectNode u = users.get(oid);
        return u == null ? oid : u.path("userPrincipalName").asText(oid);
    }

    // ------------------------------------------------------------------------------------------------------------
    // requests

    @Override public Answer front(Req q) {
        String lower = q.path().toLowerCase(Locale.ROOT);
        if (!q.host().toLowerCase(Locale.ROOT).startsWith("graph.") && !lower.startsWith("/v1.0/") && !lower.startsWith("/graph/v1.0/")) return null;
        String rest = lower.startsWith("/graph/") ? q.path().substring("/graph".length()) : q.path();
        if (!rest.toLowerCase(Locale.ROOT).startsWith("/v1.0/")) return Answer.graphError(400, "BadRequest", "Invalid version.");
        return graph(q, rest.substring("/v1.0".length()));
    }

    private static Answer denied() {
        return Answer.graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
    }

    private static Answer methodNotAllowed() {
        return Answer.graphError(405, "Request_BadRequest", "Method not allowed.");
    }

    private Answer graph(Req q, String rest) {
        String[] segs = ArmId.split(rest);
        if (segs.length == 0) return Answer.graphError(400, "BadRequest", "Resource not found for the segment ''.");
        String head = segs[0];
        String hl = head.toLowerCase(Locale.ROOT);
        String m = q.method();
        Answer fixed = fixed(q, segs, hl);
        if (fixed != null) return fixed;
        Answer directory = directoryRead(q, segs);
        if (directory != null) return directory;
        Matcher alt = BY_APP_ID.matcher(hl);
        String coll = hl;
        if (alt.matches()) {
            coll = alt.group(1);
            String appId = alt.group(2);
            Map<String, ObjectNode> src = coll.equals("applications") ? apps : servicePrincipals;
            String objectId = src.values().stream().filter(x -> x.path("appId").asText().equalsIgnoreCase(appId))
                    .map(x -> x.path("id").asText()).findFirst().orElse("missing-" + appId);
            String[] shifted = new String[segs.length + 1];
            shifted[0] = coll;
            shifted[1] = objectId;
            System.arraycopy(segs, 1, shifted, 2, segs.length - 1);
            segs = shifted;
        }
        if (hl.equals("directory")) return deletedItems(q, segs);
        if (!coll.equals("applications") && !coll.equals("serviceprincipals")) {
            return Answer.graphError(400, "BadRequest", "Resource not found for the segment '" + head + "'.");
        }
        if (!m.equals("GET") && denyWrites) return denied();
        boolean isApps = coll.equals("applications");
        Map<String, ObjectNode> store = isApps ? apps : servicePrincipals;
        if (segs.length == 1) {
            if (m.equals("GET")) return list(q, store);
            if (m.equals("POST")) return isApps ? createApp(q) : createSp(q);
            return methodNotAllowed();
        }
        ObjectNode obj = store.get(segs[1].toLowerCase(Locale.ROOT));
        if (obj == null) return notInDirectory(segs[1]);
        if (segs.length == 2) return object(q, segs[1], obj, isApps, store);
        if (segs.length == 3 && isApps && m.equals("POST")) {
            String action = segs[2].toLowerCase(Locale.ROOT);
            if (action.equals("addpassword")) return addPassword(q, obj);
            if (action.equals("removepassword")) return removePassword(q, obj);
        }
        return Answer.graphError(400, "BadRequest", "Resource not found for the segment '" + segs[segs.length - 1] + "'.");
    }

    /** {@code /me}, {@code /me/memberOf}, the authorization policy and the organization. */
    private Answer fixed(Req q, String[] segs, String hl) {
        if (!q.method().equals("GET")) return null;
        if (hl.equals("me") && segs.length == 1) {
            ObjectNode me = Answer.M.createObjectNode();
            me.put("id", ADMIN);
            me.put("displayName", "Fake User");
            me.put("userPrincipalName", "fake.user@fake.onmicrosoft.com");
            return Answer.json(200, me);
        }
        if (hl.equals("me") && segs.length == 2 && segs[1].equalsIgnoreCase("memberOf")) {
            ObjectNode out = Answer.M.createObjectNode();
            out.putArray("value");
            return Answer.json(200, out);
        }
        if (hl.equals("policies") && segs.length == 2 && segs[1].equalsIgnoreCase("authorizationPolicy")) {
            ObjectNode out = Answer.M.createObjectNode();
            out.put("id", "authorizationPolicy");
            out.putObject("defaultUserRolePermissions").put("allowedToCreateApps", !denyWrites);
            return Answer.json(200, out);
        }
        if (hl.equals("organization")) {
            ObjectNode out = Answer.M.createObjectNode();
            ObjectNode o = out.putArray("value").addObject();
            o.put("id", AzureFake.TENANT_ID);
            o.put("displayName", "Fake Tenant");
            return Answer.json(200, out);
        }
        return null;
    }

    private Answer list(Req q, Map<String, ObjectNode> store) {
        String filter = q.q("$filter");
        Map<String, String> terms = Req.filterTerms(filter);
        if (filter != null && (terms.isEmpty() || !Set.of("displayname", "appid", "id").containsAll(terms.keySet())
                || filter.toLowerCase(Locale.ROOT).contains(" or "))) {
            return Answer.graphError(400, "Request_UnsupportedQuery", "Unsupported query (the fake knows \"displayName eq\", \"appId eq\", \"id eq\"): " + filter);
        }
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (ObjectNode o : store.values()) {
            boolean ok = true;
            for (Map.Entry<String, String> t : terms.entrySet()) {
                String field = t.getKey().equals("displayname") ? "displayName" : t.getKey().equals("appid") ? "appId" : t.getKey();
                if (!o.path(field).asText().equals(t.getValue())) ok = false;
            }
            if (ok) v.add(o.deepCopy());
        }
        return Answer.json(200, out);
    }

    private Answer object(Req q, String id, ObjectNode obj, boolean isApps, Map<String, ObjectNode> store) {
        switch (q.method()) {
            case "GET" -> {
                return Answer.json(200, obj);
            }
            case "PATCH" -> {
                ObjectNode b = parseBody(q);
                b.remove(List.of("id", "appId"));
                obj.setAll(b);
                return Answer.empty(204, Map.of());
            }
            case "DELETE" -> {
                store.remove(id.toLowerCase(Locale.ROOT));
                deletedObjects.put(id.toLowerCase(Locale.ROOT), obj.deepCopy().put("@odata.type",
                        isApps ? "#microsoft.graph.application" : "#microsoft.graph.servicePrincipal"));
                if (isApps) {
                    String appId = obj.path("appId").asText();
                    servicePrincipals.values().removeIf(sp -> {
                        boolean gone = sp.path("appId").asText().equalsIgnoreCase(appId);
                        if (gone) core.principals.remove(sp.path("id").asText().toLowerCase(Locale.ROOT));
                        return gone;
                    });
                } else {
                    core.principals.remove(obj.path("id").asText().toLowerCase(Locale.ROOT));
                }
                return Answer.empty(204, Map.of());
            }
            default -> {
                return methodNotAllowed();
            }
        }
    }

    private Answer addPassword(Req q, ObjectNode obj) {
        ObjectNode b = q.body().length == 0 ? Answer.M.createObjectNode() : parseBody(q);
        JsonNode pc = b.path("passwordCredential");
        String owner = "graph:application:" + obj.path("displayName").asText() + "#" + ordinal(obj);
        int n = obj.withArray("passwordCredentials").size();
        ObjectNode cred = Answer.M.createObjectNode();
        cred.putNull("customKeyIdentifier");
        cred.put("displayName", pc.path("displayName").asText(null));
        cred.put("endDateTime", pc.path("endDateTime").asText("2099-01-01T00:00:00Z"));
        cred.put("keyId", core.newGuid(owner, "keyId" + n));
        cred.put("startDateTime", java.time.Instant.now().toString());
        String secret = core.newGuid(owner, "secret" + n).replace("-", "") + "~Fk";
        core.generated.put(secret, "{generated:" + owner + "#secret" + n + "}");
        cred.put("hint", secret.substring(0, 3));
        obj.withArray("passwordCredentials").add(cred.deepCopy());
        cred.put("secretText", secret);
        return Answer.json(200, cred);
    }

    private Answer removePassword(Req q, ObjectNode obj) {
        String keyId = parseBody(q).path("keyId").asText("");
        ArrayNode pcs = obj.withArray("passwordCredentials");
        boolean found = false;
        for (int i = pcs.size() - 1; i >= 0; i--) {
            if (pcs.get(i).path("keyId").asText().equalsIgnoreCase(keyId)) {
                pcs.remove(i);
                found = true;
            }
        }
        return found ? Answer.empty(204, Map.of()) : Answer.graphError(400, "Request_BadRequest", "No password credential with keyId '" + keyId + "'.");
    }

    /** Graph reads of users, groups and directory objects (v1.0 shapes: user-get, group-list, directoryobject-get). */
    private Answer directoryRead(Req q, String[] segs) {
        if (!q.method().equals("GET")) return null;
        String head = segs[0].toLowerCase(Locale.ROOT);
        if (head.equals("users") && segs.length == 2) {
            for (ObjectNode u : users.values()) {
                if (u.path("id").asText().equalsIgnoreCase(segs[1]) || u.path("userPrincipalName").asText().equalsIgnoreCase(segs[1])) {
                    return Answer.json(200, u.deepCopy());
                }
            }
            return notInDirectory(segs[1]);
        }
        if (head.equals("groups") && segs.length == 1) {
            String filter = q.q("$filter");
            Map<String, String> terms = Req.filterTerms(filter);
            if (filter != null && (terms.isEmpty() || !Set.of("displayname", "id").containsAll(terms.keySet()))) {
                return Answer.graphError(400, "Request_UnsupportedQuery", "Unsupported query (the fake knows \"displayName eq\", \"id eq\"): " + filter);
            }
            ObjectNode out = Answer.M.createObjectNode();
            ArrayNode v = out.putArray("value");
            for (ObjectNode g : groups.values()) {
                String dn = terms.get("displayname");
                String id = terms.get("id");
                if ((dn == null || g.path("displayName").asText().equalsIgnoreCase(dn)) && (id == null || g.path("id").asText().equalsIgnoreCase(id))) {
                    v.add(g.deepCopy());
                }
            }
            return Answer.json(200, out);
        }
        if (head.equals("groups") && segs.length == 2) {
            ObjectNode g = groups.get(segs[1].toLowerCase(Locale.ROOT));
            return g == null ? notInDirectory(segs[1]) : Answer.json(200, g.deepCopy());
        }
        if (head.equals("directoryobjects") && segs.length == 2) {
            String id = segs[1].toLowerCase(Locale.ROOT);
            ObjectNode o = null;
            String type = null;
            if (users.containsKey(id)) {
                o = users.get(id);
                type = "#microsoft.graph.user";
            } else if (groups.containsKey(id)) {
                o = groups.get(id);
                type = "#microsoft.graph.group";
            } else if (servicePrincipals.containsKey(id)) {
                o = servicePrincipals.get(id);
                type = "#microsoft.graph.servicePrincipal";
            }
            if (o == null) return notInDirectory(segs[1]);
            ObjectNode out = Answer.M.createObjectNode();
            out.put("@odata.type", type);
            out.setAll(o.deepCopy());
            return Answer.json(200, out);
        }
        return null;
    }

    private static Answer notInDirectory(String id) {
        return Answer.graphError(404, "Request_ResourceNotFound", "Resource '" + id + "' does not exist or one of its queried reference-property "
                + "objects are not present.");
    }

    /**
     * {@code GET /directory/deletedItems/microsoft.graph.application?$filter=displayName eq '...'} (or
     * {@code microsoft.graph.servicePrincipal?$filter=appId eq '...'}) lists deleted objects; {@code DELETE /directory/deletedItems/{id}}: 204 for an object deleted earlier (once), else 404.
     */
    private Answer deletedItems(Req q, String[] segs) {
        if (segs.length != 3 || !segs[1].equalsIgnoreCase("deletedItems")) {
            return Answer.graphError(400, "BadRequest", "Resource not found for the segment '" + segs[0] + "'.");
        }
        if (q.method().equals("GET") && (segs[2].equalsIgnoreCase("microsoft.graph.application")
                || segs[2].equalsIgnoreCase("microsoft.graph.servicePrincipal"))) {
            String type = "#" + segs[2].toLowerCase(Locale.ROOT);
            Map<String, String> terms = Req.filterTerms(q.q("$filter"));
            ObjectNode out = Answer.M.createObjectNode();
            ArrayNode v = out.putArray("value");
            synchronized (deletedObjects) {
                for (ObjectNode o : deletedObjects.values()) {
                    if (!o.path("@odata.type").asText().equalsIgnoreCase(type)) continue;
                    if (terms.containsKey("displayname") && !o.path("displayName").asText().equals(terms.get("displayname"))) continue;
                    if (terms.containsKey("appid") && !o.path("appId").asText().equalsIgnoreCase(terms.get("appid"))) continue;
                    v.add(o.deepCopy());
                }
            }
            return Answer.json(200, out);
        }
        if (!q.method().equals("DELETE")) return methodNotAllowed();
        if (denyWrites) return denied();
        if (deletedObjects.remove(segs[2].toLowerCase(Locale.ROOT)) == null) {
            return Answer.graphError(404, "Request_ResourceNotFound", "Resource '" + segs[2] + "' does not exist.");
        }
        return Answer.empty(204, Map.of());
    }

    private int ordinal(ObjectNode app) {
        int n = 0;
        for (ObjectNode o : apps.values()) {
            if (o.path("displayName").asText().equals(app.path("displayName").asText())) n++;
            if (o == app) return n;
        }
        return n + 1;
    }

    private static ObjectNode parseBody(Req q) {
        try {
            JsonNode n = Answer.M.readTree(q.body());
            if (n == null || !n.isObject()) throw new Answer.BadRequest(Answer.graphError(400, "Request_BadRequest", "Invalid request body."));
            return (ObjectNode) n;
        } catch (IOException e) {
            throw new Answer.BadRequest(Answer.graphError(400, "Request_BadRequest", "Invalid JSON: " + e.getMessage()));
        }
    }

    private Answer createApp(Req q) {
        ObjectNode b = parseBody(q);
        String dn = b.path("displayName").asText("");
        if (dn.isEmpty()) return Answer.graphError(400, "Request_BadRequest", "A value is required for property 'displayName' of resource 'Application'.");
        int n = 1;
        for (ObjectNode o : apps.values()) if (o.path("displayName").asText().equals(dn)) n++;
        String owner = "graph:application:" + dn + "#" + n;
        ObjectNode app = Answer.M.createObjectNode();
        app.put("id", core.newGuid(owner, "id"));
        app.put("appId", core.newGuid(owner, "appId"));
        app.put("displayName", dn);
        app.put("signInAudience", "AzureADMyOrg");
        app.put("createdDateTime", java.time.Instant.now().toString());
        app.putArray("passwordCredentials");
        app.putArray("keyCredentials");
        b.remove(List.of("id", "appId", "passwordCredentials"));
        app.setAll(b);
        apps.put(app.path("id").asText().toLowerCase(Locale.ROOT), app);
        return Answer.json(201, app, Map.of("Location", q.base() + "/v1.0/applications/" + app.path("id").asText()));
    }

    private Answer createSp(Req q) {
        ObjectNode b = parseBody(q);
        String appId = b.path("appId").asText("");
        ObjectNode app = apps.values().stream().filter(x -> x.path("appId").asText().equalsIgnoreCase(appId)).findFirst().orElse(null);
        if (app == null) {
            return Answer.graphError(400, "Request_BadRequest", "The appId '" + appId + "' of the service principal does not reference a valid application object.");
        }
        for (ObjectNode sp : servicePrincipals.values()) {
            if (sp.path("appId").asText().equalsIgnoreCase(appId)) {
                return Answer.graphError(409, "Request_MultipleObjectsWithSameKeyValue",
                        "Another object with the same value for property servicePrincipalNames already exists.");
            }
        }
        String owner = "graph:servicePrincipal:" + app.path("displayName").asText() + "#" + ordinal(app);
        ObjectNode sp = Answer.M.createObjectNode();
        sp.put("id", core.newGuid(owner, "id"));
        sp.put("appId", app.path("appId").asText());
        sp.put("displayName", app.path("displayName").asText());
        sp.put("servicePrincipalType", "Application");
        sp.put("accountEnabled", true);
        sp.putArray("servicePrincipalNames").add(app.path("appId").asText());
        servicePrincipals.put(sp.path("id").asText().toLowerCase(Locale.ROOT), sp);
        core.addPrincipal(sp.path("id").asText(), "ServicePrincipal", System.nanoTime());
        return Answer.json(201, sp);
    }
}
