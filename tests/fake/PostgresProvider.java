package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Microsoft.DBforPostgreSQL flexible servers (202 + both operation headers; globally unique names; sku and tier that
 * agree; versions 13-17, no downgrade; storage that only grows; a write-only admin password; private access through a
 * delegated subnet and a linked private DNS zone), their databases and server parameters (configurations, answered
 * with defaults until set), name availability and regional capabilities.
 */
final class PostgresProvider extends ArmProvider {
    private static final String SERVERS = "microsoft.dbforpostgresql/flexibleservers";
    private static final String CONFIGURATIONS = "microsoft.dbforpostgresql/flexibleservers/configurations";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]{1,61}[a-z0-9]");
    private static final Set<String> RESERVED_LOGINS = Set.of("azure_superuser", "azure_pg_admin", "admin", "administrator",
            "root", "guest", "public");
    private static final String PASSWORD = "administratorLoginPassword";
    /** A PATCHed admin password, in force once its update operation has succeeded. */
    private static final String PENDING_PASSWORD = "pendingAdministratorLoginPassword";
    /** Defaults of server parameters answered for configurations never set. */
    static final Map<String, String> CONFIG_DEFAULTS = new LinkedHashMap<>();
    static {
        CONFIG_DEFAULTS.put("require_secure_transport", "on");
        CONFIG_DEFAULTS.put("ssl_min_protocol_version", "TLSv1.2");
        CONFIG_DEFAULTS.put("azure.extensions", "");
        CONFIG_DEFAULTS.put("max_connections", "50");
        CONFIG_DEFAULTS.put("log_min_duration_statement", "-1");
        CONFIG_DEFAULTS.put("timezone", "UTC");
    }

    /**
     * Default max_connections by compute size (Azure Database for PostgreSQL flexible server "Limits" page, maximum
     * connections table; Azure keeps 15 of them). A size not listed here answers the parameter's generic default.
     */
    static final Map<String, String> MAX_CONNECTIONS = Map.of("Standard_B1ms", "50", "Standard_B2s", "429", "Standard_B2ms", "859",
            "Standard_D2ds_v5", "859", "Standard_D4ds_v5", "1718", "Standard_E2ds_v5", "1718");

    private final NetworkProvider network;
    private final PrivateDnsProvider dns;
    List<String> versions = List.of("13", "14", "15", "16", "17");
    List<String> skus = List.of("Standard_B1ms", "Standard_B2s", "Standard_B2ms", "Standard_D2ds_v5", "Standard_D4ds_v5", "Standard_E2ds_v5");

    PostgresProvider(ArmCore core, NetworkProvider network, PrivateDnsProvider dns) {
        super(core, "Microsoft.DBforPostgreSQL", List.of("2022-12-01", "2024-08-01", "2025-01-01-preview", "2025-08-01"));
        this.network = network;
        this.dns = dns;
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.DBforPostgreSQL/flexibleServers", TypeSpec.Lro.ACCEPTED, true),
                new TypeSpec("Microsoft.DBforPostgreSQL/flexibleServers/databases", TypeSpec.Lro.ACCEPTED, false),
                new TypeSpec("Microsoft.DBforPostgreSQL/flexibleServers/configurations", TypeSpec.Lro.ACCEPTED, false));
    }

    /** The admin password the server holds now. */
    static String password(Res server) {
        return server.secrets.has(PASSWORD) ? server.secrets.get(PASSWORD).asText() : null;
    }

    @Override public Answer action(Req q, ArmId a) {
        if (!a.scope().equalsIgnoreCase("/subscriptions/" + a.sub())) return null;
        List<String> t = a.typeSegs().stream().map(s -> s.toLowerCase(Locale.ROOT)).toList();
        if (t.equals(List.of("locations", "checknameavailability"))) return checkName(q);
        if (!t.equals(List.of("locations", "capabilities"))) return null;
        q.requireGet();
        ObjectNode out = Answer.M.createObjectNode();
        ObjectNode cap = out.putArray("value").addObject();
        cap.put("name", "FlexibleServerCapabilities");
        ArrayNode editions = cap.putArray("supportedServerEditions");
        for (String tier : List.of("Burstable", "GeneralPurpose", "MemoryOptimized")) {
            ObjectNode e = editions.addObject();
            e.put("name", tier);
            ArrayNode skuList = e.putArray("supportedServerSkus");
            String letter = tier.equals("Burstable") ? "Standard_B" : tier.equals("GeneralPurpose") ? "Standard_D" : "Standard_E";
            for (String sku : skus) if (sku.startsWith(letter)) skuList.addObject().put("name", sku);
        }
        ArrayNode vs = cap.putArray("supportedServerVersions");
        for (String ver : versions) vs.addObject().put("name", ver);
        return Answer.json(200, out);
    }

    private Answer checkName(Req q) {
        q.requirePost();
        String name = q.json().path("name").asText("");
        ObjectNode out = !NAME.matcher(name).matches() ? nameAvailability("Invalid", "Server name '" + name
                + "' is invalid: 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen.")
                : core.globalNameTaken(SERVERS, name, "") ? nameAvailability("AlreadyExists", "Specified server name is already used.")
                : nameAvailability(null, "");
        out.put("name", name);
        out.put("type", "Microsoft.DBforPostgreSQL/flexibleServers");
        return Answer.json(200, out);
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        ObjectNode props = body.with("properties");
        if (a.typeLower().equals(SERVERS)) {
            validateServer(a, existing, body, props);
        } else if (a.typeLower().equals(CONFIGURATIONS)) {
            String n = a.name().toLowerCase(Locale.ROOT);
            if (!CONFIG_DEFAULTS.containsKey(n)) {
                throw Answer.fail(400, "ConfigurationNotExists", "The configuration '" + a.name() + "' does not exist for this server version.");
            }
            String v = props.path("value").asText(null);
            if (v == null) throw Answer.fail(400, "InvalidParameterValue", "properties.value is required.");
            if (n.equals("require_secure_transport") && !Set.of("on", "off").contains(v.toLowerCase(Locale.ROOT))) {
                throw Answer.fail(400, "InvalidParameterValue", "Invalid value given for parameter require_secure_transport. Specify a valid parameter value.");
            }
            if (!props.has("source")) props.put("source", "user-override");
        }
        return null;
    }

    private void validateServer(ArmId a, Res existing, ObjectNode body, ObjectNode props) {
        if (!NAME.matcher(a.name()).matches()) {
            throw Answer.fail(400, "InvalidServerName", "Server name '" + a.name() + "' is invalid: it must be 3 to 63 characters of lowercase"
                    + " letters, digits and hyphens, and must not start or end with a hyphen.");
        }
        if (existing == null && core.globalNameTaken(SERVERS, a.name(), a.path())) {
            throw Answer.fail(409, "ServerNameAlreadyExists", "Specified server name '" + a.name() + "' is already used. Please use a different name and try again.");
        }
        JsonNode sku = body.path("sku");
        if (existing == null || body.has("sku")) {
            String sn = sku.path("name").asText("");
            String tier = sku.path("tier").asText("");
            String want = sn.startsWith("Standard_B") ? "Burstable" : sn.startsWith("Standard_D") ? "GeneralPurpose"
                    : sn.startsWith("Standard_E") ? "MemoryOptimized" : null;
            if (want == null || !want.equalsIgnoreCase(tier)) {
                throw Answer.fail(400, "InvalidSkuName", "The sku '" + sn + "' is not valid for tier '" + tier
                        + "' (Standard_B* needs Burstable, Standard_D* GeneralPurpose, Standard_E* MemoryOptimized).");
            }
        }
        String version = props.path("version").asText(existing == null ? "" : existing.props().path("version").asText(""));
        int v;
        try {
            v = Integer.parseInt(version);
        } catch (NumberFormatException e) {
            v = -1;
        }
        if (v < 13 || v > 17) {
            throw Answer.fail(400, "UnsupportedServerVersion", "The server version '" + version + "' is not supported; supported major versions are 13, 14, 15, 16, 17.");
        }
        if (existing != null) {
            int old = existing.props().path("version").asInt(v);
            if (v < old) throw Answer.fail(400, "InvalidServerVersion", "Downgrading the server version from " + old + " to " + v + " is not allowed.");
        }
        JsonNode size = props.path("storage").path("storageSizeGB");
        if (!size.isMissingNode() && !Set.of(32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767).contains(size.asInt())) {
            throw Answer.fail(400, "InvalidStorageSize", "The storage size " + size.asText() + " GB is not valid.");
        }
        if (existing != null && !size.isMissingNode()) {
            int was = existing.props().path("storage").path("storageSizeGB").asInt(32);
            // Flexible Server storage can grow, never shrink (stack.md §5 item 12); the code is the fake's own name.
            if (size.asInt() < was) {
                throw Answer.fail(400, "StorageSizeDecreaseNotSupported", "Decreasing the storage size of a server is not supported (from "
                        + was + " GB to " + size.asInt() + " GB).");
            }
        }
        boolean passwordAuth = !props.path("authConfig").path("passwordAuth").asText("Enabled").equalsIgnoreCase("Disabled");
        if (existing == null && passwordAuth) {
            String login = props.path("administratorLogin").asText("");
            if (login.isEmpty() || RESERVED_LOGINS.contains(login.toLowerCase(Locale.ROOT)) || login.toLowerCase(Locale.ROOT).startsWith("pg_")
                    || !login.matches("[a-zA-Z_][a-zA-Z0-9_]{0,62}")) {
                throw Answer.fail(400, "InvalidAdministratorLogin", "The administrator login '" + login + "' is invalid or reserved.");
            }
            checkPassword(props.path(PASSWORD).asText(""));
        } else if (props.has(PASSWORD)) {
            checkPassword(props.path(PASSWORD).asText(""));
        }
        validateNetwork(existing, props.path("network"));
    }

    private void validateNetwork(Res existing, JsonNode net) {
        String sid = net.path("delegatedSubnetResourceId").asText("");
        if (existing != null) {
            String old = existing.props().path("network").path("delegatedSubnetResourceId").asText("");
            if (!old.equalsIgnoreCase(sid)) {
                throw Answer.fail(400, "NetworkChangeNotAllowed", "The network settings of an existing server cannot be changed (delegated subnet '"
                        + old + "' -> '" + sid + "').");
            }
            return;
        }
        if (sid.isEmpty()) return;
        ArmId sa = ArmId.parse(sid);
        Res vnet = sa == null || !sa.typeLower().equals(NetworkProvider.SUBNETS) ? null : network.vnetOf(sa);
        JsonNode subnet = vnet == null ? null : NetworkProvider.findSubnet(vnet, sa.name());
        if (subnet == null) throw Answer.fail(400, "SubnetNotFound", "The delegated subnet '" + sid + "' does not exist.");
        if (!"Succeeded".equals(vnet.state)) {
            throw Answer.fail(409, "AnotherOperationInProgress", "The virtual network of subnet '" + sid + "' is still being provisioned.");
        }
        boolean delegated = false;
        for (JsonNode d : subnet.path("properties").path("delegations")) {
            if (d.path("properties").path("serviceName").asText().equalsIgnoreCase("Microsoft.DBforPostgreSQL/flexibleServers")) delegated = true;
        }
        if (!delegated) {
            throw Answer.fail(400, "SubnetNotDelegated", "The subnet '" + sid + "' must be delegated to 'Microsoft.DBforPostgreSQL/flexibleServers'.");
        }
        String user = core.subnetUser(vnet.id + "/subnets/" + subnet.path("name").asText(), SERVERS);
        if (user != null) {
            throw Answer.fail(400, "SubnetUsedByOtherResource", "The subnet '" + sid + "' is already used by '" + user
                    + "'; a subnet delegated to PostgreSQL flexible servers must hold nothing else.");
        }
        String zid = net.path("privateDnsZoneArmResourceId").asText("");
        if (zid.isEmpty()) {
            throw Answer.fail(400, "PrivateDnsZoneRequired", "A private DNS zone (properties.network.privateDnsZoneArmResourceId) is required with a delegated subnet.");
        }
        Res zone = core.get(zid);
        if (zone == null || !zone.typeLower().equals(PrivateDnsProvider.ZONES)) {
            throw Answer.fail(400, "PrivateDnsZoneNotFound", "The private DNS zone '" + zid + "' does not exist.");
        }
        if (!zone.name().toLowerCase(Locale.ROOT).endsWith(".postgres.database.azure.com")) {
            throw Answer.fail(400, "InvalidPrivateDnsZoneName", "The private DNS zone name '" + zone.name() + "' must end with '.postgres.database.azure.com'.");
        }
        if (!dns.linked(zone, vnet)) {
            throw Answer.fail(400, "PrivateDnsZoneNotLinkedToVnet", "The private DNS zone '" + zone.name() + "' is not linked to virtual network '"
                    + vnet.id + "'. Link the zone to the virtual network before creating the server.");
        }
    }

    private static void checkPassword(String pw) {
        int classes = 0;
        if (pw.matches(".*[a-z].*")) classes++;
        if (pw.matches(".*[A-Z].*")) classes++;
        if (pw.matches(".*[0-9].*")) classes++;
        if (pw.matches(".*[^a-zA-Z0-9].*")) classes++;
        if (pw.length() < 8 || pw.length() > 128 || classes < 3) {
            throw Answer.fail(400, "PasswordNotComplex", "The password does not meet policy requirements: 8-128 characters from at least three of"
                    + " uppercase letters, lowercase letters, digits and non-alphanumeric characters.");
        }
    }

    @Override public void written(Req q, ArmId a, Res r, boolean created) {
        if (!r.typeLower().equals(SERVERS)) return;
        JsonNode pw = r.props().remove(PASSWORD);
        if (pw != null) r.secrets.set(PASSWORD, pw);
        ObjectNode gp = r.gen.with("properties");
        gp.put("fullyQualifiedDomainName", r.name() + ".postgres.database.azure.com");
        boolean priv = !r.props().path("network").path("delegatedSubnetResourceId").asText("").isEmpty();
        gp.with("network").put("publicNetworkAccess", priv ? "Disabled" : r.props().path("network").path("publicNetworkAccess").asText("Enabled"));
    }

    @Override public Answer patch(Req q, ArmId a, Res r, ObjectNode body) {
        if (!r.typeLower().equals(SERVERS)) return null;
        // As Azure: the new admin password is validated, kept write-only, and the update is long-running (202 + polls).
        JsonNode pw = body.path("properties").get(PASSWORD);
        if (pw != null) {
            checkPassword(pw.asText(""));
            ((ObjectNode) body.get("properties")).remove(PASSWORD);
        }
        ArmCore.merge(r, body);
        Answer accepted = core.respond(q, a, r.spec, r, false, null);
        if (pw != null) r.secrets.set(PENDING_PASSWORD, pw);
        return accepted;
    }

    @Override public void started(Res r, Operations.Op op, boolean created) {
        if (r.typeLower().equals(SERVERS)) r.gen.with("properties").put("state", created ? "Provisioning" : "Updating");
    }

    @Override public void succeeded(Res r) {
        if (!r.typeLower().equals(SERVERS)) return;
        JsonNode pending = r.secrets.remove(PENDING_PASSWORD);
        if (pending != null) r.secrets.set(PASSWORD, pending);
        r.gen.with("properties").put("state", "Ready");
    }

    @Override public Answer missing(ArmId a, TypeSpec t) {
        if (!a.typeLower().equals(CONFIGURATIONS)) return null;
        if (CONFIG_DEFAULTS.containsKey(a.name().toLowerCase(Locale.ROOT))) return Answer.json(200, serverDefault(a.path()));
        return Answer.error(404, "ConfigurationNotExists", "The configuration '" + a.name() + "' does not exist for server version.");
    }

    @Override public Answer children(ArmId a, TypeSpec t, String parentId) {
        if (!a.typeLower().equals(CONFIGURATIONS)) return null;
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (String name : CONFIG_DEFAULTS.keySet()) {
            Res c = core.get(a.path() + "/" + name);
            v.add(c != null ? core.render(c) : serverDefault(parentId + "/configurations/" + name));
        }
        return Answer.json(200, out);
    }

    /** A parameter's default on its server: max_connections follows the server's compute size. */
    private ObjectNode serverDefault(String id) {
        ObjectNode b = defaultConfiguration(id);
        if (b.path("name").asText().equalsIgnoreCase("max_connections")) {
            Res server = core.get(id.substring(0, id.toLowerCase(Locale.ROOT).lastIndexOf("/configurations/")));
            String sku = server == null ? "" : core.render(server).path("sku").path("name").asText("");
            String def = MAX_CONNECTIONS.get(sku);
            if (def != null) ((ObjectNode) b.get("properties")).put("value", def).put("defaultValue", def);
        }
        return b;
    }

    private static ObjectNode defaultConfiguration(String id) {
        String name = id.substring(id.lastIndexOf('/') + 1);
        ObjectNode b = Answer.M.createObjectNode();
        b.put("id", id);
        b.put("name", name);
        b.put("type", "Microsoft.DBforPostgreSQL/flexibleServers/configurations");
        ObjectNode p = b.putObject("properties");
        String def = CONFIG_DEFAULTS.get(name.toLowerCase(Locale.ROOT));
        p.put("value", def);
        p.put("defaultValue", def);
        p.put("source", "system-default");
        p.put("dataType", name.equalsIgnoreCase("require_secure_transport") ? "Boolean" : "String");
        p.put("isDynamicConfig", true);
        return b;
    }

    @Override public void defaults(Res r, ObjectNode p) {
        switch (r.typeLower()) {
            case SERVERS -> {
                p.putObject("storage").put("storageSizeGB", 32);
                ObjectNode bk = p.putObject("backup");
                bk.put("backupRetentionDays", 7);
                bk.put("geoRedundantBackup", "Disabled");
                p.putObject("highAvailability").put("mode", "Disabled");
                ObjectNode ac = p.putObject("authConfig");
                ac.put("activeDirectoryAuth", "Disabled");
                ac.put("passwordAuth", "Enabled");
            }
            case "microsoft.dbforpostgresql/flexibleservers/databases" -> {
                p.put("charset", "UTF8");
                p.put("collation", "en_US.utf8");
            }
            default -> { }
        }
    }

    @Override public void render(Res r, ObjectNode body, ObjectNode props) {
        if (r.typeLower().equals(SERVERS)) props.remove(PASSWORD);
    }

    @Override public String subnetOf(Res r) {
        return r.typeLower().equals(SERVERS) ? r.props().path("network").path("delegatedSubnetResourceId").asText("") : null;
    }
}
