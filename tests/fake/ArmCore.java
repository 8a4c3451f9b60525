package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The store of {@link AzureFake}: resources by lower-cased id, the registered {@link Provider}s and their types, and the
 * generic Resource Manager verbs (GET, list, PUT, PATCH, DELETE) with the checks every type shares: resource group and
 * parent existence, busy resources, locations, provider registration and the caller's permissions. Not thread-safe:
 * {@link AzureFake} holds its lock around every call.
 */
final class ArmCore {

    static final String RG = "microsoft.resources/resourcegroups";
    static final Map<String, String> LOCATIONS = new LinkedHashMap<>();
    static {
        LOCATIONS.put("eastus", "East US");
        LOCATIONS.put("eastus2", "East US 2");
        LOCATIONS.put("westus2", "West US 2");
        LOCATIONS.put("westus3", "West US 3");
        LOCATIONS.put("centralus", "Central US");
        LOCATIONS.put("northeurope", "North Europe");
        LOCATIONS.put("westeurope", "West Europe");
        LOCATIONS.put("uksouth", "UK South");
        LOCATIONS.put("swedencentral", "Sweden Central");
        LOCATIONS.put("southeastasia", "Southeast Asia");
    }

    /** A directory principal as role assignments see it. */
    record Principal(String id, String type, long createdNanos) { }

    final Map<String, Res> resources = new LinkedHashMap<>();
    final List<Fault> faults = new ArrayList<>();
    final Operations ops = new Operations(this);
    final Map<String, String> subscriptionNames = new LinkedHashMap<>();
    final Map<String, String> subscriptionIds = new LinkedHashMap<>();
    final Map<String, Principal> principals = new LinkedHashMap<>();
    final Map<String, Set<String>> takenNames = new HashMap<>();
    final Set<String> unregisteredProviders = new LinkedHashSet<>();
    /** Generated value to its placeholder in {@link AzureFake#canonicalState()}. */
    final Map<String, String> generated = new LinkedHashMap<>();
    final List<Provider> providers = new ArrayList<>();
    final Map<String, TypeSpec> types = new LinkedHashMap<>();
    final Map<String, Set<String>> apiVersions = new HashMap<>();
    private final Map<String, Provider> owners = new HashMap<>();
    private final Map<String, String> segments = new HashMap<>();
    AuthorizationProvider rbac;

    ArmCore() {
        for (String k : List.of("subscriptions", "resourceGroups", "providers")) segments.put(k.toLowerCase(Locale.ROOT), k);
    }

    void register(Provider p) {
        providers.add(p);
        apiVersions.computeIfAbsent(p.namespace().toLowerCase(Locale.ROOT), k -> new LinkedHashSet<>()).addAll(p.apiVersions());
        for (TypeSpec t : p.types()) {
            types.put(t.lower(), t);
            owners.put(t.lower(), p);
            for (String seg : t.type().split("/")) segments.putIfAbsent(seg.toLowerCase(Locale.ROOT), seg);
        }
    }

    Provider provider(TypeSpec t) { return owners.get(t.lower()); }

    TypeSpec type(String typeLower) { return types.get(typeLower); }

    String canonicalId(String path) { return ArmId.canonical(path, segments); }

    static String normLocation(String l) {
        return l == null ? null : l.toLowerCase(Locale.ROOT).replace(" ", "");
    }

    String newGuid(String owner, String field) {
        String g = UUID.randomUUID().toString();
        generated.put(g, "{generated:" + owner.toLowerCase(Locale.ROOT) + "#" + field + "}");
        return g;
    }

    void addPrincipal(String id, String type, long createdNanos) {
        principals.put(id.toLowerCase(Locale.ROOT), new Principal(id, type, createdNanos));
    }

    Res get(String id) { return resources.get(id.toLowerCase(Locale.ROOT)); }

    /** Stored resources of this type (lower-case) whose keys start with the prefix (lower-case). */
    List<Res> all(String typeLower, String keyPrefix) {
        List<Res> out = new ArrayList<>();
        for (Res r : resources.values()) if (r.typeLower().equals(typeLower) && r.key().startsWith(keyPrefix)) out.add(r);
        return out;
    }

    /** A globally unique name (storage accounts, PostgreSQL servers) already used by another resource or someone else. */
    boolean globalNameTaken(String typeLower, String name, String selfId) {
        if (takenNames.getOrDefault(typeLower, Set.of()).contains(name.toLowerCase(Locale.ROOT))) return true;
        for (Res r : resources.values()) {
            if (r.typeLower().equals(typeLower) && r.name().equalsIgnoreCase(name) && !r.id.equalsIgnoreCase(selfId)) return true;
        }
        return false;
    }

    /** Who uses a subnet (other than resources of type ignoreTypeLower), or null. */
    String subnetUser(String subnetId, String ignoreTypeLower) {
        for (Res r : resources.values()) {
            if (r.typeLower().equals(ignoreTypeLower)) continue;
            String used = provider(r.spec).subnetOf(r);
            if (used != null && used.equalsIgnoreCase(subnetId)) return r.id;
        }
        return null;
    }

    void checkAllowed(String action, String scope) {
        rbac.checkAllowed(action, scope);
    }

    // ------------------------------------------------------------------------------------------------------------
    // answers shared by the verbs

    static Answer rgNotFound(String rg) {
        return Answer.error(404, "ResourceGroupNotFound", "Resource group '" + rg + "' could not be found.");
    }

    /** ResourceGroupNotFound if the id names a resource group that does not exist, else null. */
    Answer rgMissing(ArmId a) {
        return a.rg() != null && !resources.containsKey(a.rgKey()) ? rgNotFound(a.rg()) : null;
    }

    static Answer notFound(ArmId a, TypeSpec spec) {
        return Answer.error(404, "ResourceNotFound", "The Resource '" + spec.type().substring(0, spec.type().indexOf('/') + 1)
                + String.join("/", a.interleaved()) + "' under resource group '" + a.rg() + "' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");
    }

    static Answer anotherOp(Res busy) {
        return Answer.error(409, "AnotherOperationInProgress", "Operation on resource '" + busy.id + "' is not allowed because another operation ("
                + (busy.op.delete ? "delete" : "create or update") + ") is in progress. Please retry after it completes.");
    }

    private static Answer parentNotFound(ArmId a) {
        return Answer.error(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '"
                + a.parentId().substring(a.parentId().lastIndexOf('/') + 1) + "' not found.");
    }

    /** Whether a resource that is not stored exists all the same (kept in its parent, or implied by it). */
    private boolean held(ArmId a) {
        TypeSpec t = a == null ? null : types.get(a.typeLower());
        return t != null && provider(t).holds(a);
    }

    /** The stored parent's key: an implied parent (the default blob service) stands for its own parent. */
    String parentKey(ArmId a) {
        String pid = a.parentId();
        ArmId p = ArmId.parse(pid);
        if (!resources.containsKey(pid.toLowerCase(Locale.ROOT)) && held(p)) return p.parentId().toLowerCase(Locale.ROOT);
        return pid.toLowerCase(Locale.ROOT);
    }

    /** Whether a role assignment scope exists: the subscription, a stored resource, or one held in a stored parent. */
    boolean scopeExists(String scope) {
        if (resources.containsKey(scope.toLowerCase(Locale.ROOT))) return true;
        ArmId s = ArmId.parse(scope);
        if (s == null) return ArmId.split(scope).length == 2;
        return held(s);
    }

    String locationOfAncestor(Res r) {
        ArmId a = ArmId.parse(r.id);
        String id = r.id;
        while (a != null && a.typeSegs().size() > 1) {
            id = a.parentId();
            Res p = resources.get(id.toLowerCase(Locale.ROOT));
            if (p != null && p.location() != null) return p.location();
            a = ArmId.parse(id);
        }
        Res rg = a == null || a.rg() == null ? null : resources.get(a.rgKey());
        return rg == null ? "global" : rg.location();
    }

    // ------------------------------------------------------------------------------------------------------------
    // generic verbs

    Answer getResource(Req q, ArmId a, TypeSpec spec) {
        Answer own = provider(spec).verb("GET", q, a, spec);
        if (own != null) return own;
        String key = a.path().toLowerCase(Locale.ROOT);
        if (spec.lower().equals(RG)) {
            Res rg = resources.get(key);
            return rg == null ? rgNotFound(a.rg()) : Answer.json(200, render(rg));
        }
        Answer noRg = rgMissing(a);
        if (noRg != null) return noRg;
        if (a.typeSegs().size() > 1 && !resources.containsKey(parentKey(a))) return parentNotFound(a);
        Res r = resources.get(key);
        if (r != null) return Answer.json(200, render(r));
        Answer held = provider(spec).missing(a, spec);
        return held != null ? held : notFound(a, spec);
    }

    Answer listCollection(Req q, ArmId a, TypeSpec spec) {
        Answer own = provider(spec).verb("LIST", q, a, spec);
        if (own != null) return own;
        Answer noRg = rgMissing(a);
        if (noRg != null) return noRg;
        String tl = spec.lower();
        String prefix = a.path().toLowerCase(Locale.ROOT) + "/";
        if (a.typeSegs().size() > 1) {
            String parent = a.path().substring(0, a.path().lastIndexOf('/'));
            if (!resources.containsKey(parent.toLowerCase(Locale.ROOT)) && !held(ArmId.parse(parent))) {
                return Answer.error(404, "ParentResourceNotFound", "Parent resource '" + parent + "' not found.");
            }
            Answer kept = provider(spec).children(a, spec, parent);
            if (kept != null) return kept;
        }
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        String subPrefix = "/subscriptions/" + a.sub().toLowerCase(Locale.ROOT) + "/";
        for (Res r : resources.values()) {
            if (!r.typeLower().equals(tl)) continue;
            boolean match = a.rg() == null ? r.key().startsWith(subPrefix)
                    : r.key().startsWith(prefix) && r.key().indexOf('/', prefix.length()) < 0;
            if (match) v.add(render(r));
        }
        return Answer.json(200, out);
    }

    Answer put(Req q, ArmId a, TypeSpec spec) {
        Provider p = provider(spec);
        Answer own = p.verb("PUT", q, a, spec);
        if (own != null) return own;
        String tl = spec.lower();
        String key = a.path().toLowerCase(Locale.ROOT);
        boolean isRg = tl.equals(RG);
        Res rg = resources.get(a.rgKey());
        if (!isRg && rg == null) return rgNotFound(a.rg());
        if (rg != null && rg.busy() && rg.op.delete) {
            return Answer.error(409, "ResourceGroupBeingDeleted", "The resource group '" + a.rg() + "' is in deprovisioning state and cannot perform this operation.");
        }
        if (unregisteredProviders.contains(spec.ns().toLowerCase(Locale.ROOT))) {
            return Answer.error(409, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace '" + spec.ns() + "'.");
        }
        checkAllowed(spec.type() + "/write", a.path());
        if (isRg && (a.rg().length() > 90 || !a.rg().matches("[-\\w._()]+") || a.rg().endsWith("."))) {
            return Answer.error(400, "InvalidResourceGroupName", "Resource group names only allow up to 90 characters and can only include"
                    + " alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters.");
        }
        if (a.typeSegs().size() > 1) {
            Res parent = resources.get(parentKey(a));
            if (parent == null) return parentNotFound(a);
            if (parent.busy()) return anotherOp(parent);
        }
        Res existing = resources.get(key);
        if (existing != null && existing.busy()) return anotherOp(existing);
        ObjectNode body = q.json();
        if (spec.tracked()) {
            String location = normLocation(body.path("location").asText(null));
            if (location == null || location.isEmpty()) {
                return Answer.error(400, "LocationRequired", "The location property is required for this definition.");
            }
            boolean global = spec.is(TypeSpec.Trait.GLOBAL);
            if (global ? !location.equals("global") : !LOCATIONS.containsKey(location)) {
                return Answer.error(400, "LocationNotAvailableForResourceType", "The provided location '" + location
                        + "' is not available for resource type '" + spec.type() + "'. List of available regions for the resource type is '"
                        + (global ? "global" : String.join(",", LOCATIONS.keySet())) + "'.");
            }
            if (existing != null && !location.equalsIgnoreCase(normLocation(existing.location()))) {
                if (isRg) {
                    return Answer.error(409, "InvalidResourceGroupLocation", "Invalid resource group location '" + location
                            + "'. The Resource group already exists in location '" + existing.location() + "'.");
                }
                return Answer.error(409, "InvalidResourceLocation", "The resource '" + a.name() + "' already exists in location '" + existing.location()
                        + "' in resource group '" + a.rg() + "'. A resource with the same name cannot be created in location '" + location
                        + "'. Please select a new resource name.");
            }
            body.put("location", location);
        } else if (body.has("location") && !spec.is(TypeSpec.Trait.KEEPS_LOCATION)) {
            body.remove("location");
        }
        body.remove(List.of("id", "name", "type"));
        Answer inline = p.putInline(q, a, body);
        if (inline != null) return inline;
        body.with("properties");
        String[] failOp = p.validate(q, a, existing, body);
        boolean created = existing == null;
        Res r = created ? new Res(canonicalId(a.path()), spec) : existing;
        r.user = body;
        if (created) resources.put(key, r);
        p.written(q, a, r, created);
        return respond(q, a, spec, r, created, failOp);
    }

    /** The answer to a write that stored r: at once, or an operation started as the type's {@link TypeSpec.Lro} says. */
    Answer respond(Req q, ArmId a, TypeSpec spec, Res r, boolean created, String[] failOp) {
        String fc = failOp == null ? null : failOp[0];
        String fm = failOp == null ? null : failOp[1];
        String location = r.location() == null ? locationOfAncestor(r) : r.location();
        switch (spec.lro()) {
            case BODY -> {
                Operations.Op op = ops.start(q, r, false, a.sub(), spec.ns(), location, fc, fm);
                r.state = created ? "Creating" : "Updating";
                provider(spec).started(r, op, created);
                return Answer.json(created ? 201 : 200, render(r), Operations.headers(q, op, true, false));
            }
            case ACCEPTED -> {
                Operations.Op op = ops.start(q, r, false, a.sub(), spec.ns(), location, fc, fm);
                r.state = created ? "Creating" : "Updating";
                provider(spec).started(r, op, created);
                return Answer.empty(202, Operations.headers(q, op, true, true));
            }
            case STORAGE -> {
                if (created) {
                    Operations.Op op = ops.start(q, r, false, a.sub(), spec.ns(), r.location(), fc, fm);
                    r.state = "Creating";
                    provider(spec).started(r, op, true);
                    return Answer.empty(202, Operations.headers(q, op, false, true));
                }
                return Answer.json(200, render(r));
            }
            default -> {
                return Answer.json(created ? 201 : 200, render(r));
            }
        }
    }

    Answer patch(Req q, ArmId a, TypeSpec spec) {
        Answer own = provider(spec).verb("PATCH", q, a, spec);
        if (own != null) return own;
        Answer noRg = rgMissing(a);
        if (noRg != null) return noRg;
        Res r = resources.get(a.path().toLowerCase(Locale.ROOT));
        if (r == null) return notFound(a, spec);
        if (r.busy()) return anotherOp(r);
        checkAllowed(spec.type() + "/write", a.path());
        ObjectNode body = q.json();
        for (String f : List.of("id", "name", "type", "location")) body.remove(f);
        Answer special = provider(spec).patch(q, a, r, body);
        if (special != null) return special;
        merge(r, body);
        return Answer.json(200, render(r));
    }

    /** A PATCH body over what the writers sent: tags replaced, everything else merged. */
    static void merge(Res r, ObjectNode body) {
        if (body.has("tags")) r.user.set("tags", body.remove("tags"));
        deepMerge(r.user, body);
    }

    Answer delete(Req q, ArmId a, TypeSpec spec) {
        Provider p = provider(spec);
        Answer own = p.verb("DELETE", q, a, spec);
        if (own != null) return own;
        String key = a.path().toLowerCase(Locale.ROOT);
        boolean isRg = spec.lower().equals(RG);
        Answer noRg = rgMissing(a);
        if (noRg != null) return noRg;
        Res r = resources.get(key);
        if (r == null) return Answer.empty(204, Map.of());
        if (r.busy()) {
            if (r.op.delete) return Answer.empty(202, Operations.headers(q, r.op, !isRg && spec.lro() != TypeSpec.Lro.STORAGE, true));
            if (!isRg) return anotherOp(r);
        }
        checkAllowed(spec.type() + "/delete", a.path());
        Answer refused = p.deleting(a, r);
        if (refused != null) return refused;
        if (!isRg && (spec.lro() == TypeSpec.Lro.SYNC || spec.lro() == TypeSpec.Lro.STORAGE)) {
            removeTree(key);
            return Answer.empty(200, Map.of());
        }
        Operations.Op op = ops.start(q, r, true, a.sub(), isRg ? "Microsoft.Resources" : spec.ns(),
                r.location() == null ? locationOfAncestor(r) : r.location(), null, null);
        r.state = "Deleting";
        for (Res x : resources.values()) {
            if (x.key().startsWith(key + "/") && !x.spec.is(TypeSpec.Trait.ANY_SCOPE)) x.state = "Deleting";
        }
        return Answer.empty(202, Operations.headers(q, op, !isRg, true));
    }

    /** Removes a resource and everything under it; their principals leave the directory. */
    void removeTree(String key) {
        List<String> gone = new ArrayList<>();
        for (String k : resources.keySet()) if (k.equals(key) || k.startsWith(key + "/")) gone.add(k);
        for (String k : gone) {
            Res x = resources.remove(k);
            if (x == null) continue;
            provider(x.spec).removed(x);
            String pid = x.gen.path("properties").path("principalId").asText(null);
            if (pid != null) principals.remove(pid.toLowerCase(Locale.ROOT));
            pid = x.gen.path("identity").path("principalId").asText(null);
            if (pid != null) principals.remove(pid.toLowerCase(Locale.ROOT));
        }
    }

    /** A resource group made by the service (a cluster's node group) or a test's seed, unless it exists. */
    Res ensureGroup(String rgId, String location) {
        Res g = resources.get(rgId.toLowerCase(Locale.ROOT));
        if (g != null) return null;
        g = new Res(rgId, types.get(RG));
        g.user.put("location", location);
        resources.put(g.key(), g);
        return g;
    }

    /** See {@link AzureFake#seed}. */
    void seed(String id, JsonNode body) {
        ArmId a = ArmId.parse(id);
        TypeSpec spec = a == null ? null : types.get(a.typeLower());
        if (spec == null) throw new IllegalArgumentException("unsupported resource type in id " + id);
        if (a.rg() != null && !spec.lower().equals(RG)) {
            ensureGroup("/subscriptions/" + a.sub() + "/resourceGroups/" + a.rg(), body.path("location").asText("eastus"));
        }
        Res r = new Res(canonicalId(id), spec);
        ObjectNode b = body.deepCopy();
        b.remove(List.of("id", "name", "type"));
        r.user = b;
        String ps = r.props().path("provisioningState").asText(null);
        if (ps != null) {
            r.state = ps;
            r.props().remove("provisioningState");
        }
        resources.put(r.key(), r);
        provider(spec).seeded(r);
    }

    // ------------------------------------------------------------------------------------------------------------
    // rendering

    ObjectNode render(Res r) {
        Provider p = provider(r.spec);
        ObjectNode b = Answer.M.createObjectNode();
        b.put("id", r.id);
        b.put("name", r.name());
        b.put("type", r.spec.type());
        ObjectNode d = Answer.M.createObjectNode();
        p.defaults(r, d.putObject("properties"));
        deepMerge(b, d);
        deepMerge(b, r.user);
        deepMerge(b, r.gen);
        b.put("id", r.id);
        b.put("name", r.name());
        b.put("type", r.spec.type());
        ObjectNode props = b.with("properties");
        if (!r.spec.is(TypeSpec.Trait.NO_STATE)) props.put("provisioningState", r.state);
        p.render(r, b, props);
        return b;
    }

    static void deepMerge(ObjectNode into, JsonNode from) {
        if (from == null || !from.isObject()) return;
        Iterator<Map.Entry<String, JsonNode>> it = from.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode cur = into.get(e.getKey());
            if (cur != null && cur.isObject() && e.getValue().isObject()) {
                deepMerge((ObjectNode) cur, e.getValue());
            } else {
                into.set(e.getKey(), e.getValue().deepCopy());
            }
        }
    }

    /** The body with every generated value replaced by its placeholder and object fields sorted. */
    JsonNode canonical(JsonNode n) {
        if (n.isTextual()) {
            String s = n.asText();
            for (Map.Entry<String, String> e : generated.entrySet()) {
                if (s.contains(e.getKey())) s = s.replace(e.getKey(), e.getValue());
            }
            return Answer.M.getNodeFactory().textNode(s);
        }
        if (n.isObject()) {
            ObjectNode o = Answer.M.createObjectNode();
            List<String> names = new ArrayList<>();
            n.fieldNames().forEachRemaining(names::add);
            Collections.sort(names);
            for (String k : names) o.set(k, canonical(n.get(k)));
            return o;
        }
        if (n.isArray()) {
            ArrayNode a = Answer.M.createArrayNode();
            for (JsonNode x : n) a.add(canonical(x));
            return a;
        }
        return n;
    }

    static JsonNode stripVolatile(JsonNode n) {
        JsonNode c = n.deepCopy();
        strip(c);
        return c;
    }

    private static void strip(JsonNode n) {
        if (n.isObject()) {
            ObjectNode o = (ObjectNode) n;
            o.remove(List.of("etag", "systemData", "hint", "createdDateTime", "startDateTime", "endDateTime", "createdOn", "updatedOn", "creationDate"));
            o.forEach(ArmCore::strip);
        } else if (n.isArray()) {
            n.forEach(ArmCore::strip);
        }
    }
}
