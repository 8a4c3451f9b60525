package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Microsoft.Network virtual networks and their subnets. Subnets live in the network's body (as Azure answers them), so a
 * subnet PUT or DELETE rewrites the network; address ranges must be valid, inside the network and disjoint, and a subnet
 * in use (by a server or node pool) can be neither removed nor, for PostgreSQL, re-delegated.
 */
final class NetworkProvider extends ArmProvider {
    static final String VNETS = "microsoft.network/virtualnetworks";
    static final String SUBNETS = "microsoft.network/virtualnetworks/subnets";
    private static final Pattern CIDR = Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)/(\\d+)");

    NetworkProvider(ArmCore core) {
        super(core, "Microsoft.Network", List.of("2023-09-01", "2023-11-01", "2024-01-01", "2024-03-01", "2024-05-01",
                "2024-07-01", "2024-10-01", "2025-01-01", "2025-03-01"));
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.Network/virtualNetworks", TypeSpec.Lro.BODY, true),
                new TypeSpec("Microsoft.Network/virtualNetworks/subnets", TypeSpec.Lro.BODY, false));
    }

    static JsonNode findSubnet(Res vnet, String name) {
        for (JsonNode s : vnet.props().path("subnets")) if (s.path("name").asText().equalsIgnoreCase(name)) return s;
        return null;
    }

    /** The [first, last] addresses of an IPv4 CIDR block, or a 400 InvalidAddressPrefixFormat. */
    static long[] cidr(String s) {
        Matcher m = CIDR.matcher(s == null ? "" : s.trim());
        if (!m.matches()) throw Answer.fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' is not a valid CIDR block.");
        long ip = 0;
        for (int i = 1; i <= 4; i++) {
            int o = Integer.parseInt(m.group(i));
            if (o > 255) throw Answer.fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' is not a valid CIDR block.");
            ip = (ip << 8) | o;
        }
        int bits = Integer.parseInt(m.group(5));
        if (bits > 32) throw Answer.fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' is not a valid CIDR block.");
        long size = 1L << (32 - bits);
        long start = ip & ~(size - 1) & 0xffffffffL;
        if (start != ip) throw Answer.fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' has host bits set; use " + start + "/" + bits + ".");
        return new long[] {start, start + size - 1};
    }

    /** The stored network of a subnet id, or null. */
    Res vnetOf(ArmId subnet) {
        return subnet == null ? null : core.get(subnet.parentId());
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        if (a.typeLower().equals(VNETS)) validateVnet(a, existing, body.with("properties"));
        return null;
    }

    private static Answer inUse(String name, String user) {
        return Answer.error(400, "InUseSubnetCannotBeDeleted", "Subnet " + name + " is in use by " + user
                + " and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet.");
    }

    private void validateVnet(ArmId a, Res existing, ObjectNode props) {
        List<long[]> spaces = new ArrayList<>();
        for (JsonNode p : props.path("addressSpace").path("addressPrefixes")) spaces.add(cidr(p.asText()));
        if (spaces.isEmpty()) throw Answer.fail(400, "InvalidRequestFormat", "properties.addressSpace.addressPrefixes must contain at least one prefix.");
        List<long[]> seen = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (JsonNode s : props.path("subnets")) {
            String name = s.path("name").asText("");
            String pfx = s.path("properties").path("addressPrefix").asText(null);
            if (name.isEmpty() || pfx == null) throw Answer.fail(400, "InvalidRequestFormat", "Each subnet needs a name and properties.addressPrefix.");
            long[] r = cidr(pfx);
            boolean inside = false;
            for (long[] sp : spaces) if (r[0] >= sp[0] && r[1] <= sp[1]) inside = true;
            if (!inside) {
                throw Answer.fail(400, "NetcfgSubnetRangeOutsideVnet", "Subnet '" + name + "' is not valid because its IP address range is outside the IP address range of virtual network '" + a.name() + "'.");
            }
            for (int i = 0; i < seen.size(); i++) {
                if (r[0] <= seen.get(i)[1] && seen.get(i)[0] <= r[1]) {
                    throw Answer.fail(400, "NetcfgSubnetRangesOverlap", "Subnet '" + name + "' is not valid because its IP address range overlaps with that of subnet '" + names.get(i) + "'.");
                }
            }
            seen.add(r);
            names.add(name);
        }
        if (existing == null) return;
        for (JsonNode s : existing.props().path("subnets")) {
            String name = s.path("name").asText();
            JsonNode now = null;
            for (JsonNode n : props.path("subnets")) if (n.path("name").asText().equalsIgnoreCase(name)) now = n;
            String user = core.subnetUser(existing.id + "/subnets/" + name, null);
            if (user == null) continue;
            if (now == null) throw new Answer.BadRequest(inUse(name, user));
            if (!now.path("properties").path("delegations").equals(s.path("properties").path("delegations"))
                    && user.toLowerCase(Locale.ROOT).contains("/microsoft.dbforpostgresql/")) {
                throw Answer.fail(400, "SubnetMissingRequiredDelegation", "Subnet " + name + " is in use by " + user + " and its delegation cannot be changed.");
            }
        }
    }

    @Override public Answer putInline(Req q, ArmId a, ObjectNode body) {
        if (!a.typeLower().equals(SUBNETS)) return null;
        Res vnet = core.get(core.parentKey(a));
        ObjectNode vprops = vnet.user.deepCopy().with("properties");
        ArrayNode subnets = vprops.withArray("subnets");
        ObjectNode sn = Answer.M.createObjectNode();
        sn.put("name", a.name());
        sn.set("properties", body.path("properties").isObject() ? body.get("properties") : Answer.M.createObjectNode());
        boolean found = false;
        for (int i = 0; i < subnets.size(); i++) {
            if (subnets.get(i).path("name").asText().equalsIgnoreCase(a.name())) {
                subnets.set(i, sn);
                found = true;
            }
        }
        if (!found) subnets.add(sn);
        validateVnet(ArmId.parse(vnet.id), vnet, vprops);
        vnet.user.set("properties", vprops);
        Operations.Op op = core.ops.start(q, vnet, false, a.sub(), "Microsoft.Network", vnet.location(), null, null);
        vnet.state = "Updating";
        JsonNode out = null;
        for (JsonNode s : core.render(vnet).path("properties").path("subnets")) if (s.path("name").asText().equalsIgnoreCase(a.name())) out = s;
        return Answer.json(found ? 200 : 201, out, Operations.headers(q, op, true, false));
    }

    @Override public Answer verb(String verb, Req q, ArmId a, TypeSpec t) {
        if (!verb.equals("DELETE") || !a.typeLower().equals(SUBNETS)) return null;
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        Res vnet = core.get(core.parentKey(a));
        if (vnet == null || findSubnet(vnet, a.name()) == null) return Answer.empty(204, Map.of());
        String user = core.subnetUser(vnet.id + "/subnets/" + a.name(), null);
        if (user != null) {
            return Answer.error(400, "InUseSubnetCannotBeDeleted", "Subnet " + a.name() + " is in use by " + user + " and cannot be deleted.");
        }
        if (vnet.busy()) return ArmCore.anotherOp(vnet);
        ArrayNode subnets = vnet.props().withArray("subnets");
        for (int i = subnets.size() - 1; i >= 0; i--) if (subnets.get(i).path("name").asText().equalsIgnoreCase(a.name())) subnets.remove(i);
        return Answer.empty(200, Map.of());
    }

    @Override public Answer missing(ArmId a, TypeSpec t) {
        if (!a.typeLower().equals(SUBNETS)) return null;
        for (JsonNode s : core.render(core.get(core.parentKey(a))).path("properties").path("subnets")) {
            if (s.path("name").asText().equalsIgnoreCase(a.name())) return Answer.json(200, s);
        }
        return Answer.error(404, "NotFound", "Resource " + a.path() + " not found.");
    }

    @Override public Answer children(ArmId a, TypeSpec t, String parentId) {
        if (!a.typeLower().equals(SUBNETS)) return null;
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (JsonNode s : core.render(core.get(parentId)).path("properties").path("subnets")) v.add(s);
        return Answer.json(200, out);
    }

    @Override public boolean holds(ArmId a) {
        if (!a.typeLower().equals(SUBNETS)) return false;
        Res vnet = vnetOf(a);
        return vnet != null && findSubnet(vnet, a.name()) != null;
    }

    @Override public Answer deleting(ArmId a, Res r) {
        if (!r.typeLower().equals(VNETS)) return null;
        for (JsonNode s : r.props().path("subnets")) {
            String user = core.subnetUser(r.id + "/subnets/" + s.path("name").asText(), null);
            if (user != null) return inUse(s.path("name").asText(), user);
        }
        return null;
    }

    @Override public void render(Res r, ObjectNode body, ObjectNode props) {
        JsonNode subnets = props.get("subnets");
        if (!r.typeLower().equals(VNETS) || subnets == null || !subnets.isArray()) return;
        for (JsonNode s : subnets) decorateSubnet(r, (ObjectNode) s);
    }

    private static void decorateSubnet(Res vnet, ObjectNode s) {
        String sid = vnet.id + "/subnets/" + s.path("name").asText();
        s.put("id", sid);
        s.put("type", "Microsoft.Network/virtualNetworks/subnets");
        ObjectNode sp = s.with("properties");
        sp.put("provisioningState", vnet.state);
        JsonNode dels = sp.get("delegations");
        if (dels != null && dels.isArray()) {
            for (JsonNode d : dels) {
                ObjectNode dn = (ObjectNode) d;
                dn.put("id", sid + "/delegations/" + d.path("name").asText());
                dn.put("type", "Microsoft.Network/virtualNetworks/subnets/delegations");
                ObjectNode dp = dn.with("properties");
                dp.put("provisioningState", "Succeeded");
                if (!dp.has("actions")) dp.putArray("actions").add("Microsoft.Network/virtualNetworks/subnets/join/action");
            }
        }
        JsonNode eps = sp.get("serviceEndpoints");
        if (eps != null && eps.isArray()) {
            for (JsonNode e : eps) {
                ObjectNode en = (ObjectNode) e;
                en.put("provisioningState", "Succeeded");
                if (!en.has("locations")) en.putArray("locations").add(vnet.location());
            }
        }
    }
}
