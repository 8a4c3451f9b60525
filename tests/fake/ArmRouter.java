package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where a request of {@link AzureFake} goes: cloud metadata and tokens, the providers' own front doors (Graph), the
 * caller's role assignments, subscriptions, locations, provider registrations, resource listings, operation polls,
 * the providers' actions, and finally the core's generic verbs for a registered type.
 */
final class ArmRouter {

    static final List<String> SUBSCRIPTION_API_VERSIONS = List.of("2016-06-01", "2020-01-01", "2021-01-01", "2022-12-01");
    private static final Pattern POLL = Pattern.compile(
            "/(operations|operationresults|azureasyncoperation)/[0-9a-f-]{36}$", Pattern.CASE_INSENSITIVE);

    private final ArmCore core;

    ArmRouter(ArmCore core) {
        this.core = core;
    }

    static boolean isPoll(String path) {
        return POLL.matcher(path).find();
    }

    private void checkApiVersion(Req q, String nsLower) {
        String v = q.apiVersion();
        if (v == null || v.isEmpty()) {
            throw Answer.fail(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
        }
        Set<String> ok = nsLower.equals("subscriptions") ? new LinkedHashSet<>(SUBSCRIPTION_API_VERSIONS) : core.apiVersions.get(nsLower);
        if (ok != null && !ok.contains(v)) {
            throw Answer.fail(400, "NoRegisteredProviderFound", "No registered resource provider found for location and API version '" + v
                    + "' and type in namespace '" + nsLower + "'. The supported api-versions are '" + String.join(", ", ok) + "'.");
        }
    }

    Answer route(Req q) {
        String path = q.path();
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.endsWith("/metadata/endpoints")) return metadata(q);
        if (lower.contains("/oauth2/") && lower.endsWith("/token")) {
            ObjectNode t = Answer.M.createObjectNode();
            t.put("token_type", "Bearer");
            t.put("expires_in", 3600);
            t.put("ext_expires_in", 3600);
            t.put("access_token", "fake-token");
            return Answer.json(200, t);
        }
        for (Provider p : core.providers) {
            Answer a = p.front(q);
            if (a != null) return a;
        }
        Answer limited = core.rbac.asCaller(q);
        if (limited != null) return limited;
        String[] segs = ArmId.split(path);
        if (segs.length == 0 || !segs[0].equalsIgnoreCase("subscriptions")) {
            if (segs.length == 1 && segs[0].equalsIgnoreCase("tenants") && q.method().equals("GET")) {
                ObjectNode t = Answer.M.createObjectNode();
                ObjectNode one = t.putArray("value").addObject();
                one.put("id", "/tenants/" + AzureFake.TENANT_ID);
                one.put("tenantId", AzureFake.TENANT_ID);
                one.put("displayName", "Fake Tenant");
                return Answer.json(200, t);
            }
            return Answer.error(400, "InvalidResourceType", "The resource type could not be found for path '" + path + "'.");
        }
        if (segs.length == 1) {
            q.requireGet();
            checkApiVersion(q, "subscriptions");
            ObjectNode out = Answer.M.createObjectNode();
            ArrayNode v = out.putArray("value");
            for (String s : core.subscriptionNames.keySet()) v.add(subscriptionBody(core, s));
            return Answer.json(200, out);
        }
        String sub = segs[1];
        if (!core.subscriptionNames.containsKey(sub.toLowerCase(Locale.ROOT))) {
            return Answer.error(404, "SubscriptionNotFound", "The subscription '" + sub + "' could not be found.");
        }
        if (segs.length == 2) {
            q.requireGet();
            checkApiVersion(q, "subscriptions");
            return Answer.json(200, subscriptionBody(core, sub.toLowerCase(Locale.ROOT)));
        }
        if (isPoll(path)) return core.ops.poll(q, segs);
        Answer top = subscriptionLevel(q, segs, sub);
        if (top != null) return top;
        ArmId a = ArmId.parse(path);
        if (a == null) return Answer.error(400, "InvalidResourceType", "The resource type could not be found for path '" + path + "'.");
        String nsl = a.ns().toLowerCase(Locale.ROOT);
        checkApiVersion(q, nsl);
        for (Provider p : core.providers) {
            if (!p.namespace().equalsIgnoreCase(a.ns())) continue;
            Answer special = p.action(q, a);
            if (special != null) return special;
        }
        TypeSpec spec = core.type(a.typeLower());
        if (spec == null) {
            if (!core.apiVersions.containsKey(nsl)) {
                return Answer.error(400, "NoRegisteredProviderFound", "No registered resource provider found for namespace '" + a.ns() + "'.");
            }
            return Answer.error(400, "InvalidResourceType", "The resource type '" + a.typeLower() + "' could not be found in the namespace '"
                    + a.ns() + "' for api version '" + q.apiVersion() + "'.");
        }
        if (!spec.is(TypeSpec.Trait.ANY_SCOPE)) {
            // non-extension types live directly under a subscription or resource group scope
            String expectScope = "/subscriptions/" + a.sub() + (a.rg() == null ? "" : "/resourceGroups/" + a.rg());
            if (!a.scope().equalsIgnoreCase(expectScope)) {
                return Answer.error(400, "InvalidResourceType", "The resource type '" + a.typeLower() + "' cannot be nested under '" + a.scope() + "'.");
            }
            if (a.rg() == null && !a.collection()) {
                return Answer.error(400, "InvalidResourceType", "The resource type '" + a.typeLower() + "' needs a resource group.");
            }
        }
        if (a.collection()) {
            q.requireGet();
            return core.listCollection(q, a, spec);
        }
        return switch (q.method()) {
            case "GET" -> core.getResource(q, a, spec);
            case "HEAD" -> {
                Answer g = core.getResource(q, a, spec);
                yield Answer.empty(g.status() == 200 ? 204 : g.status(), Map.of());
            }
            case "PUT" -> core.put(q, a, spec);
            case "DELETE" -> core.delete(q, a, spec);
            case "PATCH" -> core.patch(q, a, spec);
            default -> Answer.error(405, "MethodNotAllowed", "The requested method " + q.method() + " is not allowed for " + spec.type() + ".");
        };
    }

    /** Locations, resource group and resource listings, provider registrations: the answer, or null. */
    private Answer subscriptionLevel(Req q, String[] segs, String sub) {
        String s2 = segs[2].toLowerCase(Locale.ROOT);
        if (segs.length == 3) {
            switch (s2) {
                case "locations" -> {
                    q.requireGet();
                    checkApiVersion(q, "subscriptions");
                    return locations(sub);
                }
                case "resourcegroups" -> {
                    q.requireGet();
                    checkApiVersion(q, "microsoft.resources");
                    return listResourceGroups(sub, q.q("$filter"));
                }
                case "resources" -> {
                    q.requireGet();
                    checkApiVersion(q, "microsoft.resources");
                    return listResources("/subscriptions/" + sub + "/", q.q("$filter"));
                }
                case "providers" -> {
                    q.requireGet();
                    checkApiVersion(q, "microsoft.resources");
                    ObjectNode out = Answer.M.createObjectNode();
                    ArrayNode v = out.putArray("value");
                    Set<String> nss = new LinkedHashSet<>();
                    for (Provider p : core.providers) if (!p.types().isEmpty() || !p.listedTypes().isEmpty()) nss.add(p.namespace());
                    for (String ns : nss) v.add(providerBody(sub, ns));
                    return Answer.json(200, out);
                }
                default -> {
                    return Answer.error(400, "InvalidResourceType", "The resource type '" + segs[2] + "' could not be found.");
                }
            }
        }
        if (segs.length == 4 && s2.equals("providers")) {
            q.requireGet();
            checkApiVersion(q, "microsoft.resources");
            return Answer.json(200, providerBody(sub, segs[3]));
        }
        if (segs.length == 5 && s2.equals("providers") && segs[4].equalsIgnoreCase("register")) {
            q.requirePost();
            checkApiVersion(q, "microsoft.resources");
            core.unregisteredProviders.remove(segs[3].toLowerCase(Locale.ROOT));
            return Answer.json(200, providerBody(sub, segs[3]));
        }
        if (segs.length == 5 && s2.equals("resourcegroups") && segs[4].equalsIgnoreCase("resources")) {
            q.requireGet();
            checkApiVersion(q, "microsoft.resources");
            Res rg = core.get("/subscriptions/" + sub + "/resourcegroups/" + segs[3]);
            if (rg == null) return ArmCore.rgNotFound(segs[3]);
            return listResources(rg.key() + "/", q.q("$filter"));
        }
        return null;
    }

    static ObjectNode subscriptionBody(ArmCore core, String subLower) {
        ObjectNode s = Answer.M.createObjectNode();
        String id = core.subscriptionIds.get(subLower);
        s.put("id", "/subscriptions/" + id);
        s.put("subscriptionId", id);
        s.put("tenantId", AzureFake.TENANT_ID);
        s.put("displayName", core.subscriptionNames.get(subLower));
        s.put("state", "Enabled");
        s.put("authorizationSource", "RoleBased");
        ObjectNode pol = s.putObject("subscriptionPolicies");
        pol.put("locationPlacementId", "Public_2014-09-01");
        pol.put("quotaId", core.quotaIds.getOrDefault(subLower, "PayAsYouGo_2014-09-01"));
        pol.put("spendingLimit", "Off");
        return s;
    }

    private static Answer locations(String sub) {
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Map.Entry<String, String> e : ArmCore.LOCATIONS.entrySet()) {
            ObjectNode l = v.addObject();
            l.put("id", "/subscriptions/" + sub + "/locations/" + e.getKey());
            l.put("name", e.getKey());
            l.put("type", "Region");
            l.put("displayName", e.getValue());
            l.put("regionalDisplayName", "(Fake) " + e.getValue());
            ObjectNode md = l.putObject("metadata");
            md.put("regionType", "Physical");
            md.put("regionCategory", "Recommended");
        }
        return Answer.json(200, out);
    }

    private ObjectNode providerBody(String sub, String ns) {
        String nsl = ns.toLowerCase(Locale.ROOT);
        String canonical = null;
        ObjectNode p = Answer.M.createObjectNode();
        ArrayNode rts = Answer.M.createArrayNode();
        for (Provider pr : core.providers) {
            if (!pr.namespace().equalsIgnoreCase(ns)) continue;
            for (TypeSpec t : pr.types()) {
                canonical = t.ns();
                resourceType(rts, t.type().substring(t.ns().length() + 1), t.is(TypeSpec.Trait.GLOBAL), nsl);
            }
            for (String t : pr.listedTypes()) {
                canonical = pr.namespace();
                resourceType(rts, t, false, nsl);
            }
        }
        if (canonical == null) throw Answer.fail(404, "InvalidResourceNamespace", "The resource namespace '" + ns + "' is invalid.");
        p.put("id", "/subscriptions/" + sub + "/providers/" + canonical);
        p.put("namespace", canonical);
        p.put("registrationState", core.unregisteredProviders.contains(nsl) ? "NotRegistered" : "Registered");
        p.put("registrationPolicy", "RegistrationRequired");
        p.set("resourceTypes", rts);
        return p;
    }

    private void resourceType(ArrayNode rts, String type, boolean global, String nsl) {
        ObjectNode rt = rts.addObject();
        rt.put("resourceType", type);
        ArrayNode locs = rt.putArray("locations");
        if (global) locs.add("global");
        else for (String d : ArmCore.LOCATIONS.values()) locs.add(d);
        ArrayNode av = rt.putArray("apiVersions");
        for (String v : core.apiVersions.getOrDefault(nsl, Set.of())) av.add(v);
    }

    private static Answer metadata(Req q) {
        String b = q.base();
        ArrayNode arr = Answer.M.createArrayNode();
        ObjectNode c = arr.addObject();
        c.put("name", "FakeCloud");
        c.put("portal", b + "/portal/");
        c.put("resourceManager", b + "/");
        ObjectNode auth = c.putObject("authentication");
        auth.put("loginEndpoint", b + "/login/");
        auth.putArray("audiences").add(b + "/");
        auth.put("tenant", "common");
        auth.put("identityProvider", "AAD");
        c.put("microsoftGraphResourceId", b + "/graph/");
        ObjectNode suf = c.putObject("suffixes");
        suf.put("storage", "core.windows.net");
        suf.put("postgresqlServerEndpoint", "postgres.database.azure.com");
        suf.put("keyVaultDns", "vault.azure.net");
        suf.put("acrLoginServer", "azurecr.io");
        return Answer.json(200, arr);
    }

    private static boolean tagMatch(JsonNode body, Map<String, String> terms) {
        String tn = terms.get("tagname");
        if (tn == null) return true;
        Iterator<Map.Entry<String, JsonNode>> it = body.path("tags").fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equalsIgnoreCase(tn)) {
                String tv = terms.get("tagvalue");
                return tv == null || e.getValue().asText().equals(tv);
            }
        }
        return false;
    }

    private Answer listResourceGroups(String sub, String filter) {
        Map<String, String> terms = Req.filterTerms(filter);
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Res r : core.all(ArmCore.RG, ("/subscriptions/" + sub + "/resourcegroups/").toLowerCase(Locale.ROOT))) {
            ObjectNode b = core.render(r);
            if (tagMatch(b, terms)) v.add(b);
        }
        return Answer.json(200, out);
    }

    private Answer listResources(String prefixLower, String filter) {
        Map<String, String> terms = Req.filterTerms(filter);
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Res r : core.resources.values()) {
            String tl = r.typeLower();
            if (!r.key().startsWith(prefixLower.toLowerCase(Locale.ROOT)) || tl.equals(ArmCore.RG)) continue;
            if (!r.spec.tracked() || tl.chars().filter(c -> c == '/').count() != 1) continue;
            String rt = terms.get("resourcetype");
            if (rt != null && !rt.equalsIgnoreCase(r.spec.type())) continue;
            ObjectNode full = core.render(r);
            if (!tagMatch(full, terms)) continue;
            ObjectNode b = Answer.M.createObjectNode();
            for (String f : List.of("id", "name", "type", "location", "tags", "sku", "kind", "identity", "managedBy")) {
                if (full.has(f)) b.set(f, full.get(f));
            }
            v.add(b);
        }
        return Answer.json(200, out);
    }
}
