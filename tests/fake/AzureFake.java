import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.BinaryData;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import reactor.core.publisher.Mono;

/**
 * An in-process fake of Azure Resource Manager and the slice of Microsoft Graph the toolkit uses, as an azure-core
 * {@link HttpClient}. No socket is ever opened. It keeps resources by id (case-insensitively, answering with the id as
 * first written), runs long-running operations on a real wall clock (a per-type latency profile, default 0 ms), and
 * reproduces the provider-specific answer shapes, name rules, conflicts, quotas and replication delays that the
 * Java SDK and the toolkit must survive (see stack.md §5). Every request is recorded. Thread-safe.
 */
public final class AzureFake implements HttpClient {

    /** The default subscription id. */
    public static final String DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000a1";
    /** The tenant id of every subscription, identity and token. */
    public static final String TENANT_ID = "00000000-0000-0000-0000-0000000000b1";

    /** One request as the fake saw it: status -1 = dropped connection. Times from {@link System#nanoTime()}. */
    public record Recorded(String method, String url, String path, int status, long startNanos, long endNanos, String body) { }

    static final ObjectMapper M = new ObjectMapper();

    // ------------------------------------------------------------------------------------------------------------
    // type model

    enum Lro { SYNC, BODY, ACCEPTED, STORAGE, NONE }

    record TypeSpec(String type, Lro lro, boolean tracked) {
        String lower() { return type.toLowerCase(Locale.ROOT); }
        String ns() { return type.substring(0, type.indexOf('/')); }
    }

    static final Map<String, TypeSpec> TYPES = new LinkedHashMap<>();
    static {
        for (TypeSpec t : List.of(
                new TypeSpec("Microsoft.Resources/resourceGroups", Lro.SYNC, true),
                new TypeSpec("Microsoft.Network/virtualNetworks", Lro.BODY, true),
                new TypeSpec("Microsoft.Network/virtualNetworks/subnets", Lro.BODY, false),
                new TypeSpec("Microsoft.Network/privateDnsZones", Lro.BODY, true),
                new TypeSpec("Microsoft.Network/privateDnsZones/virtualNetworkLinks", Lro.BODY, true),
                new TypeSpec("Microsoft.ContainerService/managedClusters", Lro.BODY, true),
                new TypeSpec("Microsoft.ContainerService/managedClusters/agentPools", Lro.BODY, false),
                new TypeSpec("Microsoft.ManagedIdentity/userAssignedIdentities", Lro.SYNC, true),
                new TypeSpec("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", Lro.SYNC, false),
                new TypeSpec("Microsoft.DBforPostgreSQL/flexibleServers", Lro.ACCEPTED, true),
                new TypeSpec("Microsoft.DBforPostgreSQL/flexibleServers/databases", Lro.ACCEPTED, false),
                new TypeSpec("Microsoft.DBforPostgreSQL/flexibleServers/configurations", Lro.ACCEPTED, false),
                new TypeSpec("Microsoft.Storage/storageAccounts", Lro.STORAGE, true),
                new TypeSpec("Microsoft.Storage/storageAccounts/blobServices", Lro.SYNC, false),
                new TypeSpec("Microsoft.Storage/storageAccounts/blobServices/containers", Lro.SYNC, false),
                new TypeSpec("Microsoft.Authorization/roleAssignments", Lro.SYNC, false),
                new TypeSpec("Microsoft.Authorization/roleDefinitions", Lro.NONE, false))) {
            TYPES.put(t.lower(), t);
        }
    }

    static final Map<String, Set<String>> API_VERSIONS = new HashMap<>();
    static {
        api("microsoft.resources", "2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01",
                "2025-03-01", "2025-04-01");
        api("subscriptions", "2016-06-01", "2020-01-01", "2021-01-01", "2022-12-01");
        api("microsoft.network", "2023-09-01", "2023-11-01", "2024-01-01", "2024-03-01", "2024-05-01", "2024-07-01",
                "2024-10-01", "2025-01-01", "2025-03-01", "2018-09-01", "2020-06-01", "2024-06-01");
        api("microsoft.containerservice", "2024-09-01", "2024-10-01", "2025-01-01", "2025-02-01", "2025-03-01",
                "2025-05-01", "2025-07-01", "2025-08-01", "2025-09-01");
        api("microsoft.managedidentity", "2023-01-31", "2024-11-30");
        api("microsoft.dbforpostgresql", "2022-12-01", "2024-08-01", "2025-01-01-preview", "2025-08-01");
        api("microsoft.storage", "2023-01-01", "2023-05-01", "2024-01-01", "2025-01-01", "2025-06-01");
        api("microsoft.authorization", "2022-04-01", "2015-07-01", "2018-01-01-preview", "2022-05-01-preview");
        api("microsoft.compute", "2021-07-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01");
    }

    private static void api(String ns, String... versions) {
        API_VERSIONS.put(ns, new LinkedHashSet<>(List.of(versions)));
    }

    /** VM sizes the fake knows: family and vCPUs. */
    record Sku(String name, String family, int vcpus) { }

    private final Map<String, Sku> skus = new LinkedHashMap<>();

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

    /** Defaults of PostgreSQL server parameters answered for configurations never set. */
    static final Map<String, String> PG_CONFIG_DEFAULTS = new LinkedHashMap<>();
    static {
        PG_CONFIG_DEFAULTS.put("require_secure_transport", "on");
        PG_CONFIG_DEFAULTS.put("ssl_min_protocol_version", "TLSv1.2");
        PG_CONFIG_DEFAULTS.put("azure.extensions", "");
        PG_CONFIG_DEFAULTS.put("max_connections", "50");
        PG_CONFIG_DEFAULTS.put("log_min_duration_statement", "-1");
        PG_CONFIG_DEFAULTS.put("timezone", "UTC");
    }

    // ------------------------------------------------------------------------------------------------------------
    // state

    static final class Res {
        final String id;
        final TypeSpec spec;
        final long createdNanos;
        ObjectNode user = M.createObjectNode();
        ObjectNode gen = M.createObjectNode();
        ObjectNode secrets = M.createObjectNode();
        /** A PATCHed admin password, in force once its update operation has succeeded. */
        JsonNode pendingPassword;
        String state = "Succeeded";
        Op op;

        Res(String id, TypeSpec spec) {
            this.id = id;
            this.spec = spec;
            this.createdNanos = System.nanoTime();
        }

        String key() { return id.toLowerCase(Locale.ROOT); }
        String name() { return id.substring(id.lastIndexOf('/') + 1); }
        String typeLower() { return spec.lower(); }
        String location() { return user.path("location").asText(gen.path("location").asText(null)); }
        ObjectNode props() {
            if (!user.has("properties") || !user.get("properties").isObject()) user.set("properties", M.createObjectNode());
            return (ObjectNode) user.get("properties");
        }
        boolean busy() { return op != null && !op.done; }
    }

    static final class Op {
        final String guid = UUID.randomUUID().toString();
        final String key;
        final boolean delete;
        final long doneAt;
        final Integer retryAfter;
        final String sub;
        final String ns;
        final String location;
        final String apiVersion;
        final List<String> linked = new ArrayList<>();
        String failCode;
        String failMessage;
        boolean done;
        String status = "InProgress";

        Op(String key, boolean delete, long doneAt, Integer retryAfter, String sub, String ns, String location, String apiVersion) {
            this.key = key;
            this.delete = delete;
            this.doneAt = doneAt;
            this.retryAfter = retryAfter;
            this.sub = sub;
            this.ns = ns;
            this.location = location;
            this.apiVersion = apiVersion;
        }
    }

    record Latency(long millis, Integer retryAfterSeconds) { }

    record Principal(String id, String type, long createdNanos) { }

    private final Object lock = new Object();
    private final Map<String, Res> resources = new LinkedHashMap<>();
    private final Map<String, Op> ops = new LinkedHashMap<>();
    private final Map<String, String> subscriptionNames = new LinkedHashMap<>();
    private final Map<String, String> subscriptionIds = new LinkedHashMap<>();
    private final Map<String, Latency> latencies = new HashMap<>();
    private final List<Recorded> recorded = new ArrayList<>();
    private final List<Fault> faults = new ArrayList<>();
    private final Map<String, Set<String>> takenNames = new HashMap<>();
    private final Map<String, Integer> quotas = new LinkedHashMap<>();
    private final Map<String, Set<String>> restrictedSkus = new HashMap<>();
    private final Map<String, Principal> principals = new LinkedHashMap<>();
    private final Set<String> unregisteredProviders = new LinkedHashSet<>();
    private final Map<String, String> generated = new LinkedHashMap<>();
    private final Map<String, ObjectNode> apps = new LinkedHashMap<>();
    private final Map<String, ObjectNode> servicePrincipals = new LinkedHashMap<>();
    private final String userObjectId = "00000000-0000-0000-0000-0000000000c1";
    private final Map<String, ObjectNode> users = new LinkedHashMap<>();
    private final Map<String, ObjectNode> groups = new LinkedHashMap<>();
    private final Map<String, Set<String>> members = new LinkedHashMap<>();
    /** The object id in the request's bearer token (null without one). */
    private final ThreadLocal<String> caller = new ThreadLocal<>();
    private final AtomicLong requestCount = new AtomicLong();
    private volatile long crashAfter = -1;
    private long principalReplicationMs;
    private boolean principalTypeShortcut = true;
    private String clusterApiServer;
    private boolean denyDirectoryWrites;
    private List<String> kubernetesVersions = List.of("1.31", "1.32", "1.33");
    private List<String> postgresVersions = List.of("13", "14", "15", "16", "17");
    private List<String> postgresSkus = List.of("Standard_B1ms", "Standard_B2s", "Standard_B2ms", "Standard_D2ds_v5",
            "Standard_D4ds_v5", "Standard_E2ds_v5");
    private List<String> callerActions = List.of("*");
    private List<String> callerNotActions = List.of();

    /** A fake with one subscription ({@link #DEFAULT_SUBSCRIPTION}, "Fake Subscription"), a signed-in user, zero latency. */
    public AzureFake() {
        addSubscription(DEFAULT_SUBSCRIPTION, "Fake Subscription");
        principals.put(userObjectId, new Principal(userObjectId, "User", System.nanoTime() - 3_600_000_000_000L));
        ObjectNode me = M.createObjectNode();
        me.put("id", userObjectId).put("displayName", "Fake User").put("userPrincipalName", "fake.user@fake.onmicrosoft.com");
        users.put(userObjectId, me);
        for (Sku s : List.of(
                new Sku("Standard_D2s_v5", "standardDSv5Family", 2), new Sku("Standard_D4s_v5", "standardDSv5Family", 4),
                new Sku("Standard_D8s_v5", "standardDSv5Family", 8), new Sku("Standard_D16s_v5", "standardDSv5Family", 16),
                new Sku("Standard_D2_v5", "standardDv5Family", 2), new Sku("Standard_D4_v5", "standardDv5Family", 4),
                new Sku("Standard_D8_v5", "standardDv5Family", 8), new Sku("Standard_D16_v5", "standardDv5Family", 16),
                new Sku("Standard_D2ds_v5", "standardDDSv5Family", 2), new Sku("Standard_D4ds_v5", "standardDDSv5Family", 4),
                new Sku("Standard_D2as_v5", "standardDASv5Family", 2), new Sku("Standard_D4as_v5", "standardDASv5Family", 4),
                new Sku("Standard_D2_v2", "standardDv2Family", 2), new Sku("Standard_D3_v2", "standardDv2Family", 4),
                new Sku("Standard_D4_v2", "standardDv2Family", 8), new Sku("Standard_DS2_v2", "standardDSv2Family", 2),
                new Sku("Standard_B2s", "standardBSFamily", 2), new Sku("Standard_B2ms", "standardBSFamily", 2),
                new Sku("Standard_B4ms", "standardBSFamily", 4), new Sku("Standard_E2s_v5", "standardESv5Family", 2),
                new Sku("Standard_E4s_v5", "standardESv5Family", 4))) {
            skus.put(s.name().toLowerCase(Locale.ROOT), s);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // test support API

    /** Object id of the signed-in user (answered by Graph {@code /me}; a known principal for role assignments). */
    public String userObjectId() { return userObjectId; }

    /** The tenant id. */
    public String tenantId() { return TENANT_ID; }

    /** Adds a subscription (visible in {@code GET /subscriptions}); requests for unknown ones get 404 SubscriptionNotFound. */
    public AzureFake addSubscription(String id, String displayName) {
        synchronized (lock) {
            subscriptionNames.put(id.toLowerCase(Locale.ROOT), displayName);
            subscriptionIds.put(id.toLowerCase(Locale.ROOT), id);
        }
        return this;
    }

    /**
     * Long-running operations on resources of this type (lower-case, e.g. {@code microsoft.dbforpostgresql/flexibleservers})
     * take this many wall-clock milliseconds; polls answer {@code Retry-After: retryAfterSeconds}, or no Retry-After if null.
     */
    public AzureFake latency(String resourceTypeLowercase, long millis, Integer retryAfterSeconds) {
        synchronized (lock) {
            latencies.put(resourceTypeLowercase.toLowerCase(Locale.ROOT), new Latency(millis, retryAfterSeconds));
        }
        return this;
    }

    /** All requests seen so far, in arrival order (immutable copy). */
    public List<Recorded> requests() {
        synchronized (lock) {
            return List.copyOf(recorded);
        }
    }

    /** Requests that change state: PUT, PATCH, DELETE and POSTs other than read-only actions; polls excluded. */
    public List<Recorded> writes() {
        return requests().stream().filter(r -> !isPoll(r.path()) && isWrite(r.method(), r.path())).toList();
    }

    /** Requests that only read (GET and read-only POSTs such as checkNameAvailability); polls excluded. */
    public List<Recorded> reads() {
        return requests().stream().filter(r -> !isPoll(r.path()) && !isWrite(r.method(), r.path())).toList();
    }

    /** Requests to long-running-operation URLs (Azure-AsyncOperation and Location polls). */
    public List<Recorded> polls() {
        return requests().stream().filter(r -> isPoll(r.path())).toList();
    }

    /** The resource as a GET would answer it now, if it exists (ids are case-insensitive). */
    public Optional<JsonNode> resource(String id) {
        synchronized (lock) {
            advance();
            Res r = resources.get(id.toLowerCase(Locale.ROOT));
            return r == null ? Optional.empty() : Optional.of(render(r));
        }
    }

    /** Changes a resource's stored state as if done outside the toolkit (the body is what its writers sent). */
    public void editResource(String id, java.util.function.Consumer<ObjectNode> edit) {
        synchronized (lock) {
            Res r = resources.get(id.toLowerCase(Locale.ROOT));
            if (r == null) throw new IllegalArgumentException("no resource " + id);
            edit.accept(r.user);
        }
    }

    /** Ids (as first written) of every existing resource, resource groups included, sorted case-insensitively. */
    public List<String> resourceIds() {
        synchronized (lock) {
            advance();
            List<String> ids = new ArrayList<>();
            for (Res r : resources.values()) ids.add(r.id);
            ids.sort(String.CASE_INSENSITIVE_ORDER);
            return ids;
        }
    }

    /** Map of lower-cased id to GET body, sorted, without volatile fields (etag, systemData, timestamps). */
    public Map<String, JsonNode> snapshot() {
        synchronized (lock) {
            advance();
            Map<String, JsonNode> out = new TreeMap<>();
            for (Res r : resources.values()) out.put(r.key(), stripVolatile(render(r)));
            return Collections.unmodifiableMap(out);
        }
    }

    /**
     * {@link #snapshot()} plus Graph applications and service principals (keyed {@code graph:application:<displayName>#n}),
     * with every value the fake generated (principal ids, client ids, app ids, secrets ids...) replaced by a placeholder
     * derived from the owning resource's id, so two runs doing the same things compare equal.
     */
    public Map<String, JsonNode> canonicalState() {
        synchronized (lock) {
            advance();
            Map<String, JsonNode> out = new TreeMap<>();
            for (Res r : resources.values()) out.put(r.key(), canonical(stripVolatile(render(r))));
            Map<String, Integer> seen = new HashMap<>();
            for (ObjectNode app : apps.values()) {
                String dn = app.path("displayName").asText();
                int n = seen.merge("a:" + dn, 1, Integer::sum);
                out.put("graph:application:" + dn + "#" + n, canonical(stripVolatile(app)));
            }
            for (ObjectNode sp : servicePrincipals.values()) {
                String dn = sp.path("displayName").asText();
                int n = seen.merge("s:" + dn, 1, Integer::sum);
                out.put("graph:servicePrincipal:" + dn + "#" + n, canonical(stripVolatile(sp)));
            }
            return Collections.unmodifiableMap(out);
        }
    }

    /**
     * Pre-creates a resource as if someone else made it (no validation, provisioningState Succeeded unless the body says
     * otherwise). The body may be a full GET body or just {@code {location, tags, properties}}. A missing resource group
     * is created too (location of the body, else eastus).
     */
    public AzureFake seed(String id, JsonNode body) {
        synchronized (lock) {
            ArmId a = ArmId.parse(id);
            TypeSpec spec = a == null ? null : TYPES.get(a.typeLower);
            if (spec == null) throw new IllegalArgumentException("unsupported resource type in id " + id);
            if (a.rg != null && !spec.lower().equals("microsoft.resources/resourcegroups")) {
                String rgId = "/subscriptions/" + a.sub + "/resourceGroups/" + a.rg;
                if (!resources.containsKey(rgId.toLowerCase(Locale.ROOT))) {
                    Res rg = new Res(rgId, TYPES.get("microsoft.resources/resourcegroups"));
                    rg.user.put("location", body.path("location").asText("eastus"));
                    resources.put(rg.key(), rg);
                }
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
            if (spec.lower().equals("microsoft.managedidentity/userassignedidentities")) identityGenerated(r);
            resources.put(r.key(), r);
            if (spec.lower().equals("microsoft.containerservice/managedclusters")) explodeInlinePools(r, null);
        }
        return this;
    }

    /** Marks a globally unique name (type e.g. {@code Microsoft.Storage/storageAccounts}) as taken by someone else. */
    public AzureFake takeGlobalName(String type, String name) {
        synchronized (lock) {
            takenNames.computeIfAbsent(type.toLowerCase(Locale.ROOT), k -> new LinkedHashSet<>()).add(name.toLowerCase(Locale.ROOT));
        }
        return this;
    }

    /**
     * Sets the regional vCPU quota (same in every location) of a VM family (e.g. {@code standardDSv5Family}) or of
     * {@code cores} (all families). Unset families default to 100 vCPUs, {@code cores} to 350. Usage is the node count
     * ({@code count}, else {@code minCount}) times the size's vCPUs over every non-failed agent pool in the location.
     */
    public AzureFake quota(String family, int limit) {
        synchronized (lock) {
            quotas.put(family, limit);
        }
        return this;
    }

    /** Teaches the fake another VM size. */
    public AzureFake addSku(String size, String family, int vcpus) {
        synchronized (lock) {
            skus.put(size.toLowerCase(Locale.ROOT), new Sku(size, family, vcpus));
        }
        return this;
    }

    /** The VM size is not available to this subscription in that location (resource SKUs show a restriction). */
    public AzureFake restrictSku(String size, String location) {
        synchronized (lock) {
            restrictedSkus.computeIfAbsent(size.toLowerCase(Locale.ROOT), k -> new LinkedHashSet<>()).add(location.toLowerCase(Locale.ROOT));
        }
        return this;
    }

    /** Adds a fault; faults are consulted in the order added. */
    public AzureFake inject(Fault fault) {
        synchronized (lock) {
            faults.add(fault);
        }
        return this;
    }

    /** Every request after the n-th (counted from now on) throws {@link FakeCrash}; negative disables. */
    public AzureFake crashAfter(int n) {
        requestCount.set(0);
        crashAfter = n;
        return this;
    }

    /** Removes every injected fault and the crash point. */
    public AzureFake resetFaults() {
        synchronized (lock) {
            faults.clear();
        }
        crashAfter = -1;
        return this;
    }

    /** A principal created less than this long ago is not yet visible to role assignments (PrincipalNotFound). */
    public AzureFake principalReplicationMs(long millis) {
        synchronized (lock) {
            principalReplicationMs = millis;
        }
        return this;
    }

    /** Whether a role assignment that names its principalType skips the replication lookup (default true, as documented). */
    public AzureFake principalTypeShortcut(boolean on) {
        synchronized (lock) {
            principalTypeShortcut = on;
        }
        return this;
    }

    /** Registers a directory principal (User, ServicePrincipal, Group) created now. */
    public AzureFake addPrincipal(String objectId, String principalType) {
        synchronized (lock) {
            principals.put(objectId.toLowerCase(Locale.ROOT), new Principal(objectId, principalType, System.nanoTime()));
        }
        return this;
    }

    /**
     * A directory user (Graph {@code /users/{id|upn}}, {@code /directoryObjects/{id}}), known to role assignments; returns
     * its object id. A request whose token carries this object id runs as this user: only what its role assignments (and
     * its groups') allow, as {@link #ROLE_ACTIONS} lists, and anything else is 403 AuthorizationFailed.
     */
    public String addUser(String userPrincipalName, String displayName) {
        synchronized (lock) {
            String id = UUID.randomUUID().toString();
            ObjectNode u = M.createObjectNode();
            u.put("id", id).put("displayName", displayName).put("userPrincipalName", userPrincipalName);
            users.put(id, u);
            principals.put(id, new Principal(id, "User", System.nanoTime() - 3_600_000_000_000L));
            return id;
        }
    }

    /** A security group with these direct members (object ids); returns its object id. Display names need not be unique. */
    public String addGroup(String displayName, String... memberIds) {
        synchronized (lock) {
            String id = UUID.randomUUID().toString();
            ObjectNode g = M.createObjectNode();
            g.put("id", id).put("displayName", displayName).put("securityEnabled", true).put("mailEnabled", false);
            groups.put(id, g);
            members.put(id, new LinkedHashSet<>(List.of(memberIds)));
            principals.put(id, new Principal(id, "Group", System.nanoTime() - 3_600_000_000_000L));
            return id;
        }
    }

    /** Graph writes (application and service principal creation, changes, deletion) answer 403 Authorization_RequestDenied. */
    /** Kubernetes minor versions AKS offers in every region (default 1.31-1.33, the last the default). */
    public AzureFake offerKubernetesVersions(String... versions) {
        synchronized (this) {
            kubernetesVersions = List.of(versions);
        }
        return this;
    }

    /** PostgreSQL major versions and server SKUs Flexible Server offers in every region. */
    public AzureFake offerPostgres(List<String> versions, List<String> skus) {
        synchronized (this) {
            postgresVersions = List.copyOf(versions);
            postgresSkus = List.copyOf(skus);
        }
        return this;
    }

    public AzureFake denyDirectoryWrites() {
        synchronized (lock) {
            denyDirectoryWrites = true;
        }
        return this;
    }

    /** The caller's ARM permissions (answered by .../permissions and enforced on writes); wildcards allowed. */
    public AzureFake callerActions(List<String> actions) {
        return callerActions(actions, List.of());
    }

    /** The caller's ARM permissions with notActions. */
    public AzureFake callerActions(List<String> actions, List<String> notActions) {
        synchronized (lock) {
            callerActions = List.copyOf(actions);
            callerNotActions = List.copyOf(notActions);
        }
        return this;
    }

    /** Marks a resource provider namespace (e.g. Microsoft.ContainerService) unregistered: writes get MissingSubscriptionRegistration. */
    public AzureFake unregisterProvider(String namespace) {
        synchronized (lock) {
            unregisteredProviders.add(namespace.toLowerCase(Locale.ROOT));
        }
        return this;
    }

    /**
     * The API server URL that the AKS user kubeconfigs ({@code listClusterUserCredential}) point at, instead of
     * {@code https://<fqdn>:443}: e.g. a Kubernetes API fake on loopback (a plain http URL gets no CA data).
     */
    public AzureFake clusterApiServer(String url) {
        synchronized (lock) {
            clusterApiServer = url;
        }
        return this;
    }

    /** The admin password a PostgreSQL flexible server holds now (set by a PUT, or a PATCH once its operation succeeded). */
    public Optional<String> postgresAdminPassword(String serverId) {
        synchronized (lock) {
            advance();
            Res r = resources.get(serverId.toLowerCase(Locale.ROOT));
            if (r == null || !r.secrets.has("administratorLoginPassword")) return Optional.empty();
            return Optional.of(r.secrets.get("administratorLoginPassword").asText());
        }
    }

    /** Graph applications as Graph would list them. */
    public List<JsonNode> applications() {
        synchronized (lock) {
            return apps.values().stream().map(a -> (JsonNode) a.deepCopy()).toList();
        }
    }

    /** Graph service principals. */
    public List<JsonNode> servicePrincipals() {
        synchronized (lock) {
            return servicePrincipals.values().stream().map(a -> (JsonNode) a.deepCopy()).toList();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // HttpClient

    @Override
    public Mono<HttpResponse> send(HttpRequest request) {
        return send(request, Context.NONE);
    }

    @Override
    public Mono<HttpResponse> send(HttpRequest request, Context context) {
        return Mono.defer(() -> {
            try {
                return Mono.just(sendSync(request, context));
            } catch (UncheckedIOException e) {
                return Mono.error(e.getCause());
            }
        });
    }

    @Override
    public HttpResponse sendSync(HttpRequest request, Context context) {
        long n = requestCount.incrementAndGet();
        long crash = crashAfter;
        if (crash >= 0 && n > crash) throw new FakeCrash(n);
        long start = System.nanoTime();
        URL url = request.getUrl();
        String method = request.getHttpMethod().name();
        String path = decode(url.getPath());
        path = path.replaceAll("/{2,}", "/");
        while (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
        byte[] body = readBody(request);
        String bodyText = new String(body, StandardCharsets.UTF_8);
        // The authority keeps a port, so that operation and metadata URLs lead back to a loopback server (AzureFakeServer).
        Req q = new Req(method, url.getAuthority(), path, parseQuery(url.getQuery()), body);
        Answer a;
        boolean drop = false;
        synchronized (lock) {
            advance();
            Fault f = null;
            for (Fault x : faults) {
                if (!x.isOperationFault() && x.matches(method, path)) {
                    f = x;
                    break;
                }
            }
            if (f != null) f.remaining--;
            if (f != null && f.drop && !f.afterApply) {
                a = null;
                drop = true;
            } else if (f != null && !f.drop) {
                a = faultAnswer(f);
            } else {
                requestFilter.set(q.q("$filter"));
                caller.set(tokenObjectId(request.getHeaders().getValue(com.azure.core.http.HttpHeaderName.AUTHORIZATION)));
                try {
                    a = route(q);
                } catch (BadRequest e) {
                    a = e.answer;
                } catch (RuntimeException e) {
                    a = error(500, "InternalServerError", "fake failure: " + e);
                }
                drop = f != null;
            }
            recorded.add(new Recorded(method, url.toString(), path, drop ? -1 : a.status, start, System.nanoTime(), bodyText));
        }
        if (drop) {
            throw new UncheckedIOException(new IOException("Connection reset by peer (simulated drop of " + method + " " + path + ")"));
        }
        Map<String, String> headers = new LinkedHashMap<>(a.headers);
        headers.putIfAbsent("x-ms-request-id", UUID.randomUUID().toString());
        if (a.body.length > 0) headers.putIfAbsent("Content-Type", "application/json; charset=utf-8");
        return new FakeHttpResponse(request, a.status, headers, a.body);
    }

    private static byte[] readBody(HttpRequest request) {
        BinaryData d = request.getBodyAsBinaryData();
        if (d == null) return new byte[0];
        byte[] b = d.toBytes();
        return b == null ? new byte[0] : b;
    }

    // ------------------------------------------------------------------------------------------------------------
    // plumbing

    record Req(String method, String host, String path, Map<String, String> query, byte[] body) {
        String q(String k) {
            for (Map.Entry<String, String> e : query.entrySet()) if (e.getKey().equalsIgnoreCase(k)) return e.getValue();
            return null;
        }
        String apiVersion() { return q("api-version"); }
        String base() { return "https://" + host; }
    }

    record Answer(int status, Map<String, String> headers, byte[] body) { }

    static final class BadRequest extends RuntimeException {
        final Answer answer;
        BadRequest(Answer a) {
            super(null, null, false, false);
            this.answer = a;
        }
    }

    static Answer json(int status, JsonNode body) {
        return json(status, body, Map.of());
    }

    static Answer json(int status, JsonNode body, Map<String, String> headers) {
        try {
            return new Answer(status, headers, body == null ? new byte[0] : M.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Answer empty(int status, Map<String, String> headers) {
        return new Answer(status, headers, new byte[0]);
    }

    static Answer error(int status, String code, String message) {
        ObjectNode e = M.createObjectNode();
        ObjectNode in = e.putObject("error");
        in.put("code", code);
        in.put("message", message);
        return json(status, e);
    }

    static BadRequest fail(int status, String code, String message) {
        return new BadRequest(error(status, code, message));
    }

    private Answer faultAnswer(Fault f) {
        String code = f.code != null ? f.code : switch (f.status) {
            case 429 -> "TooManyRequests";
            case 500 -> "InternalServerError";
            case 502 -> "BadGateway";
            case 503 -> "ServiceUnavailable";
            case 504 -> "GatewayTimeout";
            case 409 -> "Conflict";
            default -> "Fault" + f.status;
        };
        String msg = f.message != null ? f.message : "Injected fault " + f.status + ".";
        Answer e = error(f.status, code, msg);
        return new Answer(f.status, new LinkedHashMap<>(f.headers), e.body);
    }

    static String decode(String s) {
        if (s == null || s.indexOf('%') < 0) return s == null ? "" : s;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static Map<String, String> parseQuery(String q) {
        Map<String, String> m = new LinkedHashMap<>();
        if (q == null || q.isEmpty()) return m;
        for (String part : q.split("&")) {
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            m.put(decode(k.replace('+', ' ')), decode(v.replace('+', ' ')));
        }
        return m;
    }

    private static boolean isPoll(String path) {
        return POLL.matcher(path).find();
    }

    private static final Pattern POLL = Pattern.compile(
            "/(operations|operationresults|azureasyncoperation)/[0-9a-f-]{36}$", Pattern.CASE_INSENSITIVE);
    private static final Pattern READ_ONLY_POST = Pattern.compile(
            "/(checknameavailability|listclusterusercredential|listclusteradmincredential|listkeys|/token|getmembergroups)$|/oauth2/",
            Pattern.CASE_INSENSITIVE);

    private static boolean isWrite(String method, String path) {
        return switch (method) {
            case "PUT", "PATCH", "DELETE" -> true;
            case "POST" -> !READ_ONLY_POST.matcher(path).find();
            default -> false;
        };
    }

    private Latency latencyOf(String typeLower) {
        return latencies.getOrDefault(typeLower, new Latency(0, null));
    }

    private String newGuid(String owner, String field) {
        String g = UUID.randomUUID().toString();
        generated.put(g, "{generated:" + owner.toLowerCase(Locale.ROOT) + "#" + field + "}");
        return g;
    }

    private JsonNode canonical(JsonNode n) {
        if (n.isTextual()) {
            String s = n.asText();
            for (Map.Entry<String, String> e : generated.entrySet()) {
                if (s.contains(e.getKey())) s = s.replace(e.getKey(), e.getValue());
            }
            return M.getNodeFactory().textNode(s);
        }
        if (n.isObject()) {
            ObjectNode o = M.createObjectNode();
            List<String> names = new ArrayList<>();
            n.fieldNames().forEachRemaining(names::add);
            Collections.sort(names);
            for (String k : names) o.set(k, canonical(n.get(k)));
            return o;
        }
        if (n.isArray()) {
            ArrayNode a = M.createArrayNode();
            for (JsonNode x : n) a.add(canonical(x));
            return a;
        }
        return n;
    }

    private static JsonNode stripVolatile(JsonNode n) {
        JsonNode c = n.deepCopy();
        strip(c);
        return c;
    }

    private static void strip(JsonNode n) {
        if (n.isObject()) {
            ObjectNode o = (ObjectNode) n;
            o.remove(List.of("etag", "systemData", "hint", "createdDateTime", "startDateTime", "endDateTime", "createdOn", "updatedOn"));
            o.forEach(AzureFake::strip);
        } else if (n.isArray()) {
            n.forEach(AzureFake::strip);
        }
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

    private static ObjectNode parseBody(Req q) {
        if (q.body().length == 0) throw fail(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: empty body.");
        try {
            JsonNode n = M.readTree(q.body());
            if (n == null || !n.isObject()) throw fail(400, "InvalidRequestContent", "The request content must be a JSON object.");
            return (ObjectNode) n;
        } catch (IOException e) {
            throw fail(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: " + e.getMessage());
        }
    }

    /** A parsed ARM path: scope, provider namespace, resource type segments and names. */
    record ArmId(String sub, String rg, String scope, String ns, List<String> typeSegs, List<String> names,
                 String typeLower, boolean collection, String path) {
        static ArmId parse(String path) {
            String[] segs = split(path);
            if (segs.length < 2 || !segs[0].equalsIgnoreCase("subscriptions")) return null;
            String sub = segs[1];
            String rg = segs.length >= 4 && segs[2].equalsIgnoreCase("resourceGroups") ? segs[3] : null;
            if (segs.length == 4 && rg != null) {
                return new ArmId(sub, rg, "/subscriptions/" + sub, "Microsoft.Resources", List.of("resourceGroups"),
                        List.of(rg), "microsoft.resources/resourcegroups", false, path);
            }
            int p = -1;
            for (int i = segs.length - 2; i >= 2; i--) {
                if (segs[i].equalsIgnoreCase("providers")) {
                    p = i;
                    break;
                }
            }
            if (p < 0 || p + 2 >= segs.length) return null;
            String ns = segs[p + 1];
            List<String> types = new ArrayList<>();
            List<String> names = new ArrayList<>();
            for (int i = p + 2; i < segs.length; i++) {
                if ((i - p) % 2 == 0) types.add(segs[i]); else names.add(segs[i]);
            }
            StringBuilder scope = new StringBuilder();
            for (int i = 0; i < p; i++) scope.append('/').append(segs[i]);
            String tl = (ns + "/" + String.join("/", types)).toLowerCase(Locale.ROOT);
            return new ArmId(sub, rg, scope.toString(), ns, types, names, tl, types.size() > names.size(), path);
        }

        String parentId() {
            int cut = path.lastIndexOf('/');
            cut = path.lastIndexOf('/', cut - 1);
            return path.substring(0, cut);
        }

        String name() { return names.isEmpty() ? null : names.get(names.size() - 1); }
    }

    static final Map<String, String> CANONICAL_SEGMENTS = new HashMap<>();
    static {
        for (String k : List.of("subscriptions", "resourceGroups", "providers")) CANONICAL_SEGMENTS.put(k.toLowerCase(Locale.ROOT), k);
        for (TypeSpec t : TYPES.values()) {
            for (String seg : t.type().split("/")) CANONICAL_SEGMENTS.putIfAbsent(seg.toLowerCase(Locale.ROOT), seg);
        }
    }

    /** The id Azure would answer: keywords, namespaces and type segments in canonical casing, names as written. */
    static String canonicalId(String path) {
        String[] segs = split(path);
        StringBuilder b = new StringBuilder();
        int p = -1;
        for (int i = 0; i < segs.length; i++) {
            String seg = segs[i];
            boolean canon;
            boolean providersHere = seg.equalsIgnoreCase("providers") && (p < 0 ? i == 2 || i == 4 : (i - p) % 2 == 0);
            if (providersHere) {
                p = i;
                canon = true;
            } else if (p < 0) {
                canon = i == 0 || i == 2;
            } else {
                canon = i == p + 1 || (i - p) % 2 == 0;
            }
            String c = canon ? CANONICAL_SEGMENTS.get(seg.toLowerCase(Locale.ROOT)) : null;
            b.append('/').append(c != null ? c : seg);
        }
        return b.toString();
    }

    static String[] split(String path) {
        List<String> out = new ArrayList<>();
        for (String s : path.split("/")) if (!s.isEmpty()) out.add(s);
        return out.toArray(new String[0]);
    }

    private void checkApiVersion(Req q, String nsLower) {
        String v = q.apiVersion();
        if (v == null || v.isEmpty()) {
            throw fail(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.");
        }
        Set<String> ok = API_VERSIONS.get(nsLower);
        if (ok != null && !ok.contains(v)) {
            throw fail(400, "NoRegisteredProviderFound", "No registered resource provider found for location and API version '" + v
                    + "' and type in namespace '" + nsLower + "'. The supported api-versions are '" + String.join(", ", ok) + "'.");
        }
    }

    private Answer route(Req q) {
        String path = q.path();
        String lower = path.toLowerCase(Locale.ROOT);
        if (lower.endsWith("/metadata/endpoints")) return metadata(q);
        if (lower.contains("/oauth2/") && lower.endsWith("/token")) {
            ObjectNode t = M.createObjectNode();
            t.put("token_type", "Bearer");
            t.put("expires_in", 3600);
            t.put("ext_expires_in", 3600);
            t.put("access_token", "fake-token");
            return json(200, t);
        }
        if (q.host().toLowerCase(Locale.ROOT).startsWith("graph.") || lower.startsWith("/v1.0/") || lower.startsWith("/graph/v1.0/")) {
            String rest = lower.startsWith("/graph/") ? path.substring("/graph".length()) : path;
            if (!rest.toLowerCase(Locale.ROOT).startsWith("/v1.0/")) {
                return graphError(400, "BadRequest", "Invalid version.");
            }
            return graph(q, rest.substring("/v1.0".length()));
        }
        String who = caller.get();
        if (who != null && !who.equalsIgnoreCase(userObjectId)) {
            Answer limited = asCaller(q, who);
            if (limited != null) return limited;
        }
        String[] segs = split(path);
        if (segs.length == 0 || !segs[0].equalsIgnoreCase("subscriptions")) {
            if (segs.length == 1 && segs[0].equalsIgnoreCase("tenants") && q.method().equals("GET")) {
                ObjectNode t = M.createObjectNode();
                ObjectNode one = t.putArray("value").addObject();
                one.put("id", "/tenants/" + TENANT_ID);
                one.put("tenantId", TENANT_ID);
                one.put("displayName", "Fake Tenant");
                return json(200, t);
            }
            return error(400, "InvalidResourceType", "The resource type could not be found for path '" + path + "'.");
        }
        if (segs.length == 1) {
            requireGet(q);
            checkApiVersion(q, "subscriptions");
            ObjectNode out = M.createObjectNode();
            ArrayNode v = out.putArray("value");
            for (String s : subscriptionNames.keySet()) v.add(subscriptionBody(s));
            return json(200, out);
        }
        String sub = segs[1];
        if (!subscriptionNames.containsKey(sub.toLowerCase(Locale.ROOT))) {
            return error(404, "SubscriptionNotFound", "The subscription '" + sub + "' could not be found.");
        }
        if (segs.length == 2) {
            requireGet(q);
            checkApiVersion(q, "subscriptions");
            return json(200, subscriptionBody(sub.toLowerCase(Locale.ROOT)));
        }
        if (isPoll(path)) return poll(q, segs);
        String s2 = segs[2].toLowerCase(Locale.ROOT);
        if (segs.length == 3) {
            switch (s2) {
                case "locations" -> {
                    requireGet(q);
                    checkApiVersion(q, "subscriptions");
                    return locations(sub);
                }
                case "resourcegroups" -> {
                    requireGet(q);
                    checkApiVersion(q, "microsoft.resources");
                    return listResourceGroups(sub, q.q("$filter"));
                }
                case "resources" -> {
                    requireGet(q);
                    checkApiVersion(q, "microsoft.resources");
                    return listResources("/subscriptions/" + sub + "/", q.q("$filter"));
                }
                case "providers" -> {
                    requireGet(q);
                    checkApiVersion(q, "microsoft.resources");
                    ObjectNode out = M.createObjectNode();
                    ArrayNode v = out.putArray("value");
                    Set<String> nss = new LinkedHashSet<>();
                    for (TypeSpec t : TYPES.values()) nss.add(t.ns());
                    nss.add("Microsoft.Compute");
                    for (String ns : nss) v.add(providerBody(sub, ns));
                    return json(200, out);
                }
                default -> {
                    return error(400, "InvalidResourceType", "The resource type '" + segs[2] + "' could not be found.");
                }
            }
        }
        if (segs.length == 4 && s2.equals("providers")) {
            requireGet(q);
            checkApiVersion(q, "microsoft.resources");
            return json(200, providerBody(sub, segs[3]));
        }
        if (segs.length == 5 && s2.equals("providers") && segs[4].equalsIgnoreCase("register")) {
            if (!q.method().equals("POST")) throw fail(405, "MethodNotAllowed", "Use POST.");
            checkApiVersion(q, "microsoft.resources");
            unregisteredProviders.remove(segs[3].toLowerCase(Locale.ROOT));
            return json(200, providerBody(sub, segs[3]));
        }
        if (segs.length == 5 && s2.equals("resourcegroups") && segs[4].equalsIgnoreCase("resources")) {
            requireGet(q);
            checkApiVersion(q, "microsoft.resources");
            Res rg = resources.get(("/subscriptions/" + sub + "/resourcegroups/" + segs[3]).toLowerCase(Locale.ROOT));
            if (rg == null) return rgNotFound(segs[3]);
            return listResources(rg.key() + "/", q.q("$filter"));
        }
        ArmId a = ArmId.parse(path);
        if (a == null) return error(400, "InvalidResourceType", "The resource type could not be found for path '" + path + "'.");
        String nsl = a.ns().toLowerCase(Locale.ROOT);
        checkApiVersion(q, nsl);
        Answer special = specialRoutes(q, a, nsl);
        if (special != null) return special;
        TypeSpec spec = TYPES.get(a.typeLower());
        if (spec == null) {
            if (!API_VERSIONS.containsKey(nsl)) {
                return error(400, "NoRegisteredProviderFound", "No registered resource provider found for namespace '" + a.ns() + "'.");
            }
            return error(400, "InvalidResourceType", "The resource type '" + a.typeLower() + "' could not be found in the namespace '"
                    + a.ns() + "' for api version '" + q.apiVersion() + "'.");
        }
        if (!spec.lower().equals("microsoft.authorization/roleassignments") && !spec.lower().equals("microsoft.authorization/roledefinitions")
                && !spec.lower().equals("microsoft.resources/resourcegroups")) {
            // non-extension types live directly under a subscription or resource group scope
            String expectScope = "/subscriptions/" + a.sub() + (a.rg() == null ? "" : "/resourceGroups/" + a.rg());
            if (!a.scope().equalsIgnoreCase(expectScope)) {
                return error(400, "InvalidResourceType", "The resource type '" + a.typeLower() + "' cannot be nested under '" + a.scope() + "'.");
            }
            if (a.rg() == null && !a.collection()) {
                return error(400, "InvalidResourceType", "The resource type '" + a.typeLower() + "' needs a resource group.");
            }
        }
        if (a.collection()) {
            requireGet(q);
            return listCollection(a, spec);
        }
        return switch (q.method()) {
            case "GET" -> getResource(a, spec);
            case "HEAD" -> {
                Answer g = getResource(a, spec);
                yield empty(g.status() == 200 ? 204 : g.status(), Map.of());
            }
            case "PUT" -> put(q, a, spec);
            case "DELETE" -> delete(q, a, spec);
            case "PATCH" -> patch(q, a, spec);
            default -> error(405, "MethodNotAllowed", "The requested method " + q.method() + " is not allowed for " + spec.type() + ".");
        };
    }

    private static void requireGet(Req q) {
        if (!q.method().equals("GET")) throw fail(405, "MethodNotAllowed", "The requested method " + q.method() + " is not allowed.");
    }

    private Answer rgNotFound(String rg) {
        return error(404, "ResourceGroupNotFound", "Resource group '" + rg + "' could not be found.");
    }

    private ObjectNode subscriptionBody(String subLower) {
        ObjectNode s = M.createObjectNode();
        String id = subscriptionIds.get(subLower);
        s.put("id", "/subscriptions/" + id);
        s.put("subscriptionId", id);
        s.put("tenantId", TENANT_ID);
        s.put("displayName", subscriptionNames.get(subLower));
        s.put("state", "Enabled");
        s.put("authorizationSource", "RoleBased");
        ObjectNode pol = s.putObject("subscriptionPolicies");
        pol.put("locationPlacementId", "Public_2014-09-01");
        pol.put("quotaId", "PayAsYouGo_2014-09-01");
        pol.put("spendingLimit", "Off");
        return s;
    }

    private Answer locations(String sub) {
        ObjectNode out = M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Map.Entry<String, String> e : LOCATIONS.entrySet()) {
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
        return json(200, out);
    }

    private ObjectNode providerBody(String sub, String ns) {
        String nsl = ns.toLowerCase(Locale.ROOT);
        String canonical = null;
        ObjectNode p = M.createObjectNode();
        ArrayNode rts = M.createArrayNode();
        for (TypeSpec t : TYPES.values()) {
            if (!t.ns().equalsIgnoreCase(ns)) continue;
            canonical = t.ns();
            ObjectNode rt = rts.addObject();
            rt.put("resourceType", t.type().substring(t.ns().length() + 1));
            ArrayNode locs = rt.putArray("locations");
            if (t.lower().startsWith("microsoft.network/privatednszones")) locs.add("global");
            else for (String d : LOCATIONS.values()) locs.add(d);
            ArrayNode av = rt.putArray("apiVersions");
            for (String v : API_VERSIONS.getOrDefault(nsl, Set.of())) av.add(v);
        }
        if (nsl.equals("microsoft.compute")) {
            canonical = "Microsoft.Compute";
            for (String t : List.of("virtualMachines", "locations/usages", "skus")) {
                ObjectNode rt = rts.addObject();
                rt.put("resourceType", t);
                ArrayNode locs = rt.putArray("locations");
                for (String d : LOCATIONS.values()) locs.add(d);
                ArrayNode av = rt.putArray("apiVersions");
                for (String v : API_VERSIONS.get("microsoft.compute")) av.add(v);
            }
        }
        if (canonical == null) throw fail(404, "InvalidResourceNamespace", "The resource namespace '" + ns + "' is invalid.");
        p.put("id", "/subscriptions/" + sub + "/providers/" + canonical);
        p.put("namespace", canonical);
        p.put("registrationState", unregisteredProviders.contains(nsl) ? "NotRegistered" : "Registered");
        p.put("registrationPolicy", "RegistrationRequired");
        p.set("resourceTypes", rts);
        return p;
    }

    private Answer metadata(Req q) {
        String b = q.base();
        ArrayNode arr = M.createArrayNode();
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
        return json(200, arr);
    }

    // ------------------------------------------------------------------------------------------------------------
    // long-running operations

    /** Completes every operation whose time has come, in deadline order. */
    private void advance() {
        long now = System.nanoTime();
        List<Op> due = new ArrayList<>();
        for (Op o : ops.values()) if (!o.done && o.doneAt - now <= 0) due.add(o);
        due.sort(Comparator.comparingLong(o -> o.doneAt));
        for (Op o : due) complete(o);
    }

    private Op startOp(Req q, Res r, boolean delete, String sub, String ns, String location, String failCode, String failMessage) {
        Latency l = latencyOf(r.typeLower());
        Op op = new Op(r.key(), delete, System.nanoTime() + l.millis() * 1_000_000L, l.retryAfterSeconds(), sub, ns,
                location == null || location.isEmpty() ? "global" : location.toLowerCase(Locale.ROOT).replace(" ", ""), q.apiVersion());
        for (Fault f : faults) {
            if (f.isOperationFault() && f.matches(q.method(), q.path())) {
                f.remaining--;
                op.failCode = f.failCode;
                op.failMessage = f.failMessage;
                break;
            }
        }
        if (op.failCode == null && failCode != null) {
            op.failCode = failCode;
            op.failMessage = failMessage;
        }
        r.op = op;
        ops.put(op.guid, op);
        return op;
    }

    private void complete(Op op) {
        op.done = true;
        Res r = resources.get(op.key);
        if (op.failCode != null) {
            op.status = "Failed";
            if (r != null && r.op == op) r.state = "Failed";
            for (String k : op.linked) {
                Res x = resources.get(k);
                if (x != null && x.op == op) x.state = "Failed";
            }
            return;
        }
        op.status = "Succeeded";
        if (op.delete) {
            if (r != null) removeTree(r.key());
            return;
        }
        if (r != null && r.op == op && !"Deleting".equals(r.state)) {
            r.state = "Succeeded";
            if (r.pendingPassword != null) {
                r.secrets.set("administratorLoginPassword", r.pendingPassword);
                r.pendingPassword = null;
            }
            onSucceeded(r);
        }
        for (String k : op.linked) {
            Res x = resources.get(k);
            if (x != null && x.op == op && !"Deleting".equals(x.state)) x.state = "Succeeded";
        }
    }

    private void onSucceeded(Res r) {
        if (r.typeLower().equals("microsoft.dbforpostgresql/flexibleservers")) r.gen.with("properties").put("state", "Ready");
        if (r.typeLower().equals("microsoft.containerservice/managedclusters")) {
            r.gen.with("properties").with("powerState").put("code", "Running");
        }
    }

    private void removeTree(String key) {
        List<String> gone = new ArrayList<>();
        for (String k : resources.keySet()) if (k.equals(key) || k.startsWith(key + "/")) gone.add(k);
        for (String k : gone) {
            Res x = resources.remove(k);
            if (x == null) continue;
            if (x.typeLower().equals("microsoft.containerservice/managedclusters")) {
                String nodeRg = x.gen.path("properties").path("nodeResourceGroup").asText(null);
                if (nodeRg != null) removeTree(("/subscriptions/" + ArmId.parse(x.id).sub() + "/resourcegroups/" + nodeRg).toLowerCase(Locale.ROOT));
            }
            String pid = x.gen.path("properties").path("principalId").asText(null);
            if (pid != null) principals.remove(pid.toLowerCase(Locale.ROOT));
            pid = x.gen.path("identity").path("principalId").asText(null);
            if (pid != null) principals.remove(pid.toLowerCase(Locale.ROOT));
        }
    }

    private String opUrl(Req q, Op op, boolean location) {
        String seg;
        if (op.ns.equalsIgnoreCase("Microsoft.Resources")) {
            return q.base() + "/subscriptions/" + op.sub + "/operationresults/" + op.guid + "?api-version=" + op.apiVersion;
        }
        if (location) seg = "operationResults";
        else seg = op.ns.equalsIgnoreCase("Microsoft.DBforPostgreSQL") ? "azureAsyncOperation" : "operations";
        return q.base() + "/subscriptions/" + op.sub + "/providers/" + op.ns + "/locations/" + op.location + "/" + seg + "/"
                + op.guid + "?api-version=" + op.apiVersion;
    }

    private Map<String, String> opHeaders(Req q, Op op, boolean async, boolean location) {
        Map<String, String> h = new LinkedHashMap<>();
        if (async) h.put("Azure-AsyncOperation", opUrl(q, op, false));
        if (location) h.put("Location", opUrl(q, op, true));
        if (op.retryAfter != null) h.put("Retry-After", Integer.toString(op.retryAfter));
        return h;
    }

    private Answer poll(Req q, String[] segs) {
        requireGet(q);
        String kind = segs[segs.length - 2].toLowerCase(Locale.ROOT);
        Op op = ops.get(segs[segs.length - 1].toLowerCase(Locale.ROOT));
        if (op == null) return error(404, "OperationNotFound", "The operation '" + segs[segs.length - 1] + "' was not found.");
        Map<String, String> h = new LinkedHashMap<>();
        if (!op.done && op.retryAfter != null) h.put("Retry-After", Integer.toString(op.retryAfter));
        if (!kind.equals("operationresults")) {
            ObjectNode s = M.createObjectNode();
            s.put("id", q.path());
            s.put("name", op.guid);
            s.put("status", op.status);
            if (op.failCode != null && op.done) {
                ObjectNode e = s.putObject("error");
                e.put("code", op.failCode);
                e.put("message", op.failMessage == null ? op.failCode : op.failMessage);
            }
            return json(200, s, h);
        }
        if (!op.done) {
            h.put("Location", q.base() + q.path() + "?api-version=" + op.apiVersion);
            return empty(202, h);
        }
        if (op.failCode != null) {
            int st = op.failCode.equals("InternalServerError") ? 500 : op.failCode.equals("Conflict") ? 409 : 400;
            return error(st, op.failCode, op.failMessage == null ? op.failCode : op.failMessage);
        }
        if (op.delete) return op.ns.equalsIgnoreCase("Microsoft.Resources") ? empty(200, h) : empty(204, h);
        Res r = resources.get(op.key);
        if (r == null) return empty(204, h);
        return json(200, render(r), h);
    }

    // ------------------------------------------------------------------------------------------------------------
    // rendering

    private ObjectNode render(Res r) {
        String tl = r.typeLower();
        ObjectNode b = M.createObjectNode();
        b.put("id", r.id);
        b.put("name", r.name());
        b.put("type", r.spec.type());
        deepMerge(b, defaults(r));
        deepMerge(b, r.user);
        deepMerge(b, r.gen);
        b.put("id", r.id);
        b.put("name", r.name());
        b.put("type", r.spec.type());
        ObjectNode props = b.with("properties");
        if (!tl.equals("microsoft.authorization/roleassignments") && !tl.equals("microsoft.storage/storageaccounts/blobservices")) {
            props.put("provisioningState", r.state);
        }
        switch (tl) {
            case "microsoft.dbforpostgresql/flexibleservers" -> props.remove("administratorLoginPassword");
            case "microsoft.network/virtualnetworks" -> {
                JsonNode subnets = props.get("subnets");
                if (subnets != null && subnets.isArray()) {
                    for (JsonNode s : subnets) decorateSubnet(r, (ObjectNode) s);
                }
            }
            case "microsoft.containerservice/managedclusters" -> {
                ArrayNode pools = props.putArray("agentPoolProfiles");
                for (Res p : poolsOf(r)) {
                    ObjectNode prof = pools.addObject();
                    prof.put("name", p.name());
                    ObjectNode rp = render(p);
                    rp.path("properties").fields().forEachRemaining(e -> prof.set(e.getKey(), e.getValue()));
                }
            }
            default -> { }
        }
        return b;
    }

    private void decorateSubnet(Res vnet, ObjectNode s) {
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

    private ObjectNode defaults(Res r) {
        ObjectNode d = M.createObjectNode();
        ObjectNode p = d.putObject("properties");
        switch (r.typeLower()) {
            case "microsoft.storage/storageaccounts" -> {
                p.put("supportsHttpsTrafficOnly", true);
                p.put("minimumTlsVersion", "TLS1_0");
                p.put("allowBlobPublicAccess", false);
                p.put("accessTier", "Hot");
            }
            case "microsoft.storage/storageaccounts/blobservices/containers" -> p.put("publicAccess", "None");
            case "microsoft.dbforpostgresql/flexibleservers" -> {
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
            case "microsoft.containerservice/managedclusters" -> p.put("kubernetesVersion", "1.33.2");
            case "microsoft.containerservice/managedclusters/agentpools" -> {
                p.put("mode", "User");
                p.put("osType", "Linux");
                p.put("type", "VirtualMachineScaleSets");
                p.put("enableAutoScaling", false);
            }
            default -> { }
        }
        return d;
    }

    private List<Res> poolsOf(Res cluster) {
        List<Res> out = new ArrayList<>();
        String prefix = cluster.key() + "/agentpools/";
        for (Res x : resources.values()) {
            if (x.key().startsWith(prefix) && x.typeLower().equals("microsoft.containerservice/managedclusters/agentpools")) out.add(x);
        }
        out.sort(Comparator.comparing(x -> x.name().toLowerCase(Locale.ROOT)));
        return out;
    }

    // ------------------------------------------------------------------------------------------------------------
    // generic resource verbs

    private static String rgKey(ArmId a) {
        return ("/subscriptions/" + a.sub() + "/resourcegroups/" + a.rg()).toLowerCase(Locale.ROOT);
    }

    private String parentKey(ArmId a) {
        String pid = a.parentId();
        ArmId p = ArmId.parse(pid);
        if (p != null && p.typeLower().equals("microsoft.storage/storageaccounts/blobservices")
                && !resources.containsKey(pid.toLowerCase(Locale.ROOT))) {
            return p.parentId().toLowerCase(Locale.ROOT);
        }
        return pid.toLowerCase(Locale.ROOT);
    }

    private Answer notFound(ArmId a, TypeSpec spec) {
        return error(404, "ResourceNotFound", "The Resource '" + spec.type().substring(0, spec.type().indexOf('/') + 1)
                + String.join("/", interleave(a)) + "' under resource group '" + a.rg() + "' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");
    }

    private static List<String> interleave(ArmId a) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < a.typeSegs().size(); i++) {
            out.add(a.typeSegs().get(i));
            if (i < a.names().size()) out.add(a.names().get(i));
        }
        return out;
    }

    private Answer getResource(ArmId a, TypeSpec spec) {
        String tl = spec.lower();
        if (tl.equals("microsoft.authorization/roledefinitions")) return roleDefinition(a);
        String key = a.path().toLowerCase(Locale.ROOT);
        if (tl.equals("microsoft.resources/resourcegroups")) {
            Res rg = resources.get(key);
            return rg == null ? rgNotFound(a.rg()) : json(200, render(rg));
        }
        if (a.rg() != null && !resources.containsKey(rgKey(a))) return rgNotFound(a.rg());
        if (tl.equals("microsoft.authorization/roleassignments")) {
            Res r = resources.get(key);
            return r == null ? error(404, "RoleAssignmentNotFound", "The role assignment '" + a.name() + "' is not found.") : json(200, render(r));
        }
        if (a.typeSegs().size() > 1 && !resources.containsKey(parentKey(a))) {
            return error(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '"
                    + a.parentId().substring(a.parentId().lastIndexOf('/') + 1) + "' not found.");
        }
        Res r = resources.get(key);
        if (r != null) return json(200, render(r));
        switch (tl) {
            case "microsoft.network/virtualnetworks/subnets" -> {
                Res vnet = resources.get(parentKey(a));
                for (JsonNode s : render(vnet).path("properties").path("subnets")) {
                    if (s.path("name").asText().equalsIgnoreCase(a.name())) return json(200, s);
                }
                return error(404, "NotFound", "Resource " + a.path() + " not found.");
            }
            case "microsoft.dbforpostgresql/flexibleservers/configurations" -> {
                if (PG_CONFIG_DEFAULTS.containsKey(a.name().toLowerCase(Locale.ROOT))) return json(200, defaultConfiguration(a.path()));
                return error(404, "ConfigurationNotExists", "The configuration '" + a.name() + "' does not exist for server version.");
            }
            case "microsoft.storage/storageaccounts/blobservices" -> {
                if (a.name().equals("default")) {
                    ObjectNode b = M.createObjectNode();
                    b.put("id", a.path());
                    b.put("name", "default");
                    b.put("type", spec.type());
                    b.putObject("properties");
                    return json(200, b);
                }
            }
            default -> { }
        }
        return notFound(a, spec);
    }

    private ObjectNode defaultConfiguration(String id) {
        String name = id.substring(id.lastIndexOf('/') + 1);
        ObjectNode b = M.createObjectNode();
        b.put("id", id);
        b.put("name", name);
        b.put("type", "Microsoft.DBforPostgreSQL/flexibleServers/configurations");
        ObjectNode p = b.putObject("properties");
        String def = PG_CONFIG_DEFAULTS.get(name.toLowerCase(Locale.ROOT));
        p.put("value", def);
        p.put("defaultValue", def);
        p.put("source", "system-default");
        p.put("dataType", name.equalsIgnoreCase("require_secure_transport") ? "Boolean" : "String");
        p.put("isDynamicConfig", true);
        return b;
    }

    private Answer listCollection(ArmId a, TypeSpec spec) {
        String tl = spec.lower();
        ObjectNode out = M.createObjectNode();
        ArrayNode v = out.putArray("value");
        if (tl.equals("microsoft.authorization/roleassignments")) return listRoleAssignments(a);
        if (tl.equals("microsoft.authorization/roledefinitions")) return listRoleDefinitions(a);
        if (a.rg() != null && !resources.containsKey(rgKey(a))) return rgNotFound(a.rg());
        String prefix = a.path().toLowerCase(Locale.ROOT) + "/";
        if (a.typeSegs().size() > 1) {
            String parent = a.path().substring(0, a.path().lastIndexOf('/'));
            ArmId pa = ArmId.parse(parent);
            if (!resources.containsKey(parent.toLowerCase(Locale.ROOT))
                    && !(pa != null && pa.typeLower().equals("microsoft.storage/storageaccounts/blobservices")
                         && resources.containsKey(pa.parentId().toLowerCase(Locale.ROOT)))) {
                return error(404, "ParentResourceNotFound", "Parent resource '" + parent + "' not found.");
            }
            if (tl.equals("microsoft.network/virtualnetworks/subnets")) {
                for (JsonNode s : render(resources.get(parent.toLowerCase(Locale.ROOT))).path("properties").path("subnets")) v.add(s);
                return json(200, out);
            }
            if (tl.equals("microsoft.dbforpostgresql/flexibleservers/configurations")) {
                for (String name : PG_CONFIG_DEFAULTS.keySet()) {
                    Res c = resources.get(prefix + name);
                    v.add(c != null ? render(c) : defaultConfiguration(parent + "/configurations/" + name));
                }
                return json(200, out);
            }
        }
        String subPrefix = "/subscriptions/" + a.sub().toLowerCase(Locale.ROOT) + "/";
        for (Res r : resources.values()) {
            if (!r.typeLower().equals(tl)) continue;
            boolean match = a.rg() == null ? r.key().startsWith(subPrefix)
                    : r.key().startsWith(prefix) && r.key().indexOf('/', prefix.length()) < 0;
            if (match) v.add(render(r));
        }
        return json(200, out);
    }

    static Map<String, String> filterTerms(String filter) {
        Map<String, String> m = new LinkedHashMap<>();
        if (filter == null) return m;
        Matcher x = Pattern.compile("(\\w+)\\s+eq\\s+'((?:[^']|'')*)'", Pattern.CASE_INSENSITIVE).matcher(filter);
        while (x.find()) m.put(x.group(1).toLowerCase(Locale.ROOT), x.group(2).replace("''", "'"));
        return m;
    }

    private static boolean tagMatch(JsonNode body, Map<String, String> terms) {
        String tn = terms.get("tagname");
        if (tn == null) return true;
        JsonNode tags = body.path("tags");
        Iterator<Map.Entry<String, JsonNode>> it = tags.fields();
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
        Map<String, String> terms = filterTerms(filter);
        ObjectNode out = M.createObjectNode();
        ArrayNode v = out.putArray("value");
        String prefix = ("/subscriptions/" + sub + "/resourcegroups/").toLowerCase(Locale.ROOT);
        for (Res r : resources.values()) {
            if (r.typeLower().equals("microsoft.resources/resourcegroups") && r.key().startsWith(prefix)) {
                ObjectNode b = render(r);
                if (tagMatch(b, terms)) v.add(b);
            }
        }
        return json(200, out);
    }

    private Answer listResources(String prefixLower, String filter) {
        Map<String, String> terms = filterTerms(filter);
        ObjectNode out = M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Res r : resources.values()) {
            String tl = r.typeLower();
            if (!r.key().startsWith(prefixLower.toLowerCase(Locale.ROOT)) || tl.equals("microsoft.resources/resourcegroups")) continue;
            if (!r.spec.tracked() || tl.chars().filter(c -> c == '/').count() != 1) continue;
            String rt = terms.get("resourcetype");
            if (rt != null && !rt.equalsIgnoreCase(r.spec.type())) continue;
            ObjectNode full = render(r);
            if (!tagMatch(full, terms)) continue;
            ObjectNode b = M.createObjectNode();
            for (String f : List.of("id", "name", "type", "location", "tags", "sku", "kind", "identity", "managedBy")) {
                if (full.has(f)) b.set(f, full.get(f));
            }
            v.add(b);
        }
        return json(200, out);
    }

    private void checkAllowed(String action, String scope) {
        if (!allowed(action)) {
            throw fail(403, "AuthorizationFailed", "The client '" + userObjectId + "' with object id '" + userObjectId
                    + "' does not have authorization to perform action '" + action + "' over scope '" + scope
                    + "' or the scope is invalid. If access was recently granted, please refresh your credentials.");
        }
    }

    private boolean allowed(String action) {
        boolean ok = false;
        for (String a : callerActions) if (glob(a, action)) ok = true;
        for (String a : callerNotActions) if (glob(a, action)) ok = false;
        return ok;
    }

    private static boolean glob(String pattern, String s) {
        String re = Pattern.quote(pattern).replace("*", "\\E.*\\Q");
        return Pattern.compile(re, Pattern.CASE_INSENSITIVE).matcher(s).matches();
    }

    private static String normLocation(String l) {
        return l == null ? null : l.toLowerCase(Locale.ROOT).replace(" ", "");
    }

    private Answer put(Req q, ArmId a, TypeSpec spec) {
        String tl = spec.lower();
        if (tl.equals("microsoft.authorization/roledefinitions")) {
            return error(400, "UnsupportedByFake", "Custom role definitions are not modelled by the fake.");
        }
        if (tl.equals("microsoft.authorization/roleassignments")) return putRoleAssignment(q, a);
        String key = a.path().toLowerCase(Locale.ROOT);
        boolean isRg = tl.equals("microsoft.resources/resourcegroups");
        Res rg = resources.get(rgKey(a));
        if (!isRg && rg == null) return rgNotFound(a.rg());
        if (rg != null && rg.busy() && rg.op.delete) {
            return error(409, "ResourceGroupBeingDeleted", "The resource group '" + a.rg() + "' is in deprovisioning state and cannot perform this operation.");
        }
        if (unregisteredProviders.contains(spec.ns().toLowerCase(Locale.ROOT))) {
            return error(409, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace '" + spec.ns() + "'.");
        }
        checkAllowed(spec.type() + "/write", a.path());
        if (isRg && (a.rg().length() > 90 || !a.rg().matches("[-\\w._()]+") || a.rg().endsWith("."))) {
            return error(400, "InvalidResourceGroupName", "Resource group names only allow up to 90 characters and can only include"
                    + " alphanumeric, underscore, parentheses, hyphen, period (except at end), and Unicode characters that match the allowed characters.");
        }
        if (a.typeSegs().size() > 1) {
            Res parent = resources.get(parentKey(a));
            if (parent == null) {
                return error(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. Parent resource '"
                        + a.parentId().substring(a.parentId().lastIndexOf('/') + 1) + "' not found.");
            }
            if (parent.busy()) return anotherOp(parent);
        }
        Res existing = resources.get(key);
        if (existing != null && existing.busy()) return anotherOp(existing);
        ObjectNode body = parseBody(q);
        String location = null;
        if (spec.tracked()) {
            location = normLocation(body.path("location").asText(null));
            if (location == null || location.isEmpty()) {
                return error(400, "LocationRequired", "The location property is required for this definition.");
            }
            boolean global = tl.startsWith("microsoft.network/privatednszones");
            if (global ? !location.equals("global") : !LOCATIONS.containsKey(location)) {
                return error(400, "LocationNotAvailableForResourceType", "The provided location '" + location
                        + "' is not available for resource type '" + spec.type() + "'. List of available regions for the resource type is '"
                        + (global ? "global" : String.join(",", LOCATIONS.keySet())) + "'.");
            }
            if (existing != null && !location.equalsIgnoreCase(normLocation(existing.location()))) {
                if (isRg) {
                    return error(409, "InvalidResourceGroupLocation", "Invalid resource group location '" + location + "'. The Resource group already exists in location '"
                            + existing.location() + "'.");
                }
                return error(409, "InvalidResourceLocation", "The resource '" + a.name() + "' already exists in location '" + existing.location()
                        + "' in resource group '" + a.rg() + "'. A resource with the same name cannot be created in location '" + location
                        + "'. Please select a new resource name.");
            }
            body.put("location", location);
        } else if (body.has("location") && !tl.equals("microsoft.containerservice/managedclusters/agentpools")) {
            body.remove("location");
        }
        body.remove(List.of("id", "name", "type"));
        if (tl.equals("microsoft.network/virtualnetworks/subnets")) return putSubnet(q, a, body);
        String[] failOp = validate(q, a, spec, existing, body);
        boolean created = existing == null;
        Res r = created ? new Res(canonicalId(a.path()), spec) : existing;
        if (tl.equals("microsoft.dbforpostgresql/flexibleservers")) {
            JsonNode pw = body.path("properties").get("administratorLoginPassword");
            if (pw != null) {
                r.secrets.set("administratorLoginPassword", pw);
                ((ObjectNode) body.get("properties")).remove("administratorLoginPassword");
            }
        }
        r.user = body;
        if (created) resources.put(key, r);
        afterWrite(q, a, r, created);
        return respond(q, a, spec, r, created, failOp);
    }

    private Answer anotherOp(Res busy) {
        return error(409, "AnotherOperationInProgress", "Operation on resource '" + busy.id + "' is not allowed because another operation ("
                + (busy.op.delete ? "delete" : "create or update") + ") is in progress. Please retry after it completes.");
    }

    private Answer respond(Req q, ArmId a, TypeSpec spec, Res r, boolean created, String[] failOp) {
        String fc = failOp == null ? null : failOp[0];
        String fm = failOp == null ? null : failOp[1];
        switch (spec.lro()) {
            case BODY -> {
                Op op = startOp(q, r, false, a.sub(), spec.ns(), r.location() == null ? locationOfAncestor(r) : r.location(), fc, fm);
                r.state = created ? "Creating" : "Updating";
                linkPools(r, op);
                return json(created ? 201 : 200, render(r), opHeaders(q, op, true, false));
            }
            case ACCEPTED -> {
                Op op = startOp(q, r, false, a.sub(), spec.ns(), r.location() == null ? locationOfAncestor(r) : r.location(), fc, fm);
                r.state = created ? "Creating" : "Updating";
                if (r.typeLower().equals("microsoft.dbforpostgresql/flexibleservers")) {
                    r.gen.with("properties").put("state", created ? "Provisioning" : "Updating");
                }
                return empty(202, opHeaders(q, op, true, true));
            }
            case STORAGE -> {
                if (created) {
                    Op op = startOp(q, r, false, a.sub(), spec.ns(), r.location(), fc, fm);
                    r.state = "Creating";
                    return empty(202, opHeaders(q, op, false, true));
                }
                return json(200, render(r));
            }
            default -> {
                return json(created ? 201 : 200, render(r));
            }
        }
    }

    private String locationOfAncestor(Res r) {
        ArmId a = ArmId.parse(r.id);
        String id = r.id;
        while (a != null && a.typeSegs().size() > 1) {
            id = a.parentId();
            Res p = resources.get(id.toLowerCase(Locale.ROOT));
            if (p != null && p.location() != null) return p.location();
            a = ArmId.parse(id);
        }
        Res rg = a == null || a.rg() == null ? null : resources.get(rgKey(a));
        return rg == null ? "global" : rg.location();
    }

    private Answer patch(Req q, ArmId a, TypeSpec spec) {
        String key = a.path().toLowerCase(Locale.ROOT);
        if (a.rg() != null && !resources.containsKey(rgKey(a))) return rgNotFound(a.rg());
        Res r = resources.get(key);
        if (r == null) return notFound(a, spec);
        if (r.busy()) return anotherOp(r);
        checkAllowed(spec.type() + "/write", a.path());
        ObjectNode body = parseBody(q);
        for (String f : List.of("id", "name", "type", "location")) body.remove(f);
        if (spec.lower().equals("microsoft.dbforpostgresql/flexibleservers")) {
            // As Azure: the new admin password is validated, kept write-only, and the update is long-running (202 + polls).
            JsonNode pw = body.path("properties").get("administratorLoginPassword");
            if (pw != null) {
                checkPassword(pw.asText(""));
                ((ObjectNode) body.get("properties")).remove("administratorLoginPassword");
            }
            if (body.has("tags")) r.user.set("tags", body.remove("tags"));
            deepMerge(r.user, body);
            Answer a202 = respond(q, a, spec, r, false, null);
            if (pw != null) r.pendingPassword = pw;
            return a202;
        }
        if (body.has("tags")) r.user.set("tags", body.remove("tags"));
        deepMerge(r.user, body);
        return json(200, render(r));
    }

    private Answer delete(Req q, ArmId a, TypeSpec spec) {
        String tl = spec.lower();
        String key = a.path().toLowerCase(Locale.ROOT);
        boolean isRg = tl.equals("microsoft.resources/resourcegroups");
        if (tl.equals("microsoft.authorization/roledefinitions")) return error(400, "UnsupportedByFake", "Role definitions are read-only here.");
        Res rg = resources.get(rgKey(a));
        if (a.rg() != null && rg == null) return rgNotFound(a.rg());
        if (tl.equals("microsoft.authorization/roleassignments")) {
            Res r = resources.get(key);
            if (r == null) return empty(204, Map.of());
            checkAllowed("Microsoft.Authorization/roleAssignments/delete", a.scope());
            ObjectNode b = render(r);
            resources.remove(key);
            return json(200, b);
        }
        if (tl.equals("microsoft.network/virtualnetworks/subnets")) return deleteSubnet(q, a);
        Res r = resources.get(key);
        if (r == null) return empty(204, Map.of());
        if (r.busy()) {
            if (r.op.delete) return empty(202, opHeaders(q, r.op, !isRg && spec.lro() != Lro.STORAGE, true));
            if (!isRg) return anotherOp(r);
        }
        checkAllowed(spec.type() + "/delete", a.path());
        switch (tl) {
            case "microsoft.containerservice/managedclusters/agentpools" -> {
                Res cluster = resources.get(parentKey(a));
                if ("System".equalsIgnoreCase(render(r).path("properties").path("mode").asText())
                        && systemPools(cluster, r.key()) == 0) {
                    return error(400, "OperationNotAllowed", "The agent pool '" + a.name() + "' is the last System mode pool of the cluster;"
                            + " a cluster must have at least one System mode agent pool.");
                }
            }
            case "microsoft.network/virtualnetworks" -> {
                for (JsonNode s : r.props().path("subnets")) {
                    String user = subnetUser(r.id + "/subnets/" + s.path("name").asText(), null);
                    if (user != null) {
                        return error(400, "InUseSubnetCannotBeDeleted", "Subnet " + s.path("name").asText() + " is in use by " + user
                                + " and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet.");
                    }
                }
            }
            default -> { }
        }
        if (!isRg && (spec.lro() == Lro.SYNC || spec.lro() == Lro.STORAGE)) {
            removeTree(key);
            return empty(200, Map.of());
        }
        Op op = startOp(q, r, true, a.sub(), isRg ? "Microsoft.Resources" : spec.ns(),
                r.location() == null ? locationOfAncestor(r) : r.location(), null, null);
        r.state = "Deleting";
        for (Res x : resources.values()) {
            if (x.key().startsWith(key + "/") && !x.typeLower().equals("microsoft.authorization/roleassignments")) x.state = "Deleting";
        }
        return empty(202, opHeaders(q, op, !isRg, true));
    }

    // ------------------------------------------------------------------------------------------------------------
    // per-type validation and server-generated fields

    private static final Pattern STORAGE_NAME = Pattern.compile("[a-z0-9]{3,24}");
    private static final Pattern PG_NAME = Pattern.compile("[a-z0-9][a-z0-9-]{1,61}[a-z0-9]");
    private static final Pattern AKS_NAME = Pattern.compile("[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?");
    private static final Pattern DNS_PREFIX = Pattern.compile("[a-zA-Z0-9]([a-zA-Z0-9-]{0,52}[a-zA-Z0-9])?");
    private static final Pattern POOL_NAME = Pattern.compile("[a-z][a-z0-9]{0,11}");
    private static final Set<String> PG_RESERVED_LOGINS = Set.of("azure_superuser", "azure_pg_admin", "admin", "administrator",
            "root", "guest", "public");

    private String[] validate(Req q, ArmId a, TypeSpec spec, Res existing, ObjectNode body) {
        ObjectNode props = body.with("properties");
        switch (spec.lower()) {
            case "microsoft.storage/storageaccounts" -> {
                if (!STORAGE_NAME.matcher(a.name()).matches()) {
                    throw fail(400, "AccountNameInvalid", a.name() + " is not a valid storage account name. Storage account name must be"
                            + " between 3 and 24 characters in length and use numbers and lower-case letters only.");
                }
                if (existing == null && globalNameTaken("microsoft.storage/storageaccounts", a.name(), a.path())) {
                    throw fail(409, "StorageAccountAlreadyTaken", "The storage account named " + a.name() + " is already taken.");
                }
                if (body.path("sku").path("name").asText("").isEmpty()) {
                    throw fail(400, "InvalidRequestContent", "The request content was invalid: sku.name is required.");
                }
                if (body.path("kind").asText("").isEmpty()) {
                    throw fail(400, "InvalidRequestContent", "The request content was invalid: kind is required.");
                }
            }
            case "microsoft.dbforpostgresql/flexibleservers" -> validatePostgres(a, existing, body, props);
            case "microsoft.dbforpostgresql/flexibleservers/configurations" -> {
                String n = a.name().toLowerCase(Locale.ROOT);
                if (!PG_CONFIG_DEFAULTS.containsKey(n)) {
                    throw fail(400, "ConfigurationNotExists", "The configuration '" + a.name() + "' does not exist for this server version.");
                }
                String v = props.path("value").asText(null);
                if (v == null) throw fail(400, "InvalidParameterValue", "properties.value is required.");
                if (n.equals("require_secure_transport") && !Set.of("on", "off").contains(v.toLowerCase(Locale.ROOT))) {
                    throw fail(400, "InvalidParameterValue", "Invalid value given for parameter require_secure_transport. Specify a valid parameter value.");
                }
                if (!props.has("source")) props.put("source", "user-override");
            }
            case "microsoft.network/virtualnetworks" -> validateVnet(a, existing, props);
            case "microsoft.network/privatednszones/virtualnetworklinks" -> {
                String vid = props.path("virtualNetwork").path("id").asText("");
                Res vnet = resources.get(vid.toLowerCase(Locale.ROOT));
                if (vnet == null || !vnet.typeLower().equals("microsoft.network/virtualnetworks")) {
                    throw fail(400, "BadRequest", "Virtual network resource not found: '" + vid + "'.");
                }
                String zoneKey = a.parentId().toLowerCase(Locale.ROOT);
                for (Res x : resources.values()) {
                    if (x.key().startsWith(zoneKey + "/virtualnetworklinks/") && !x.key().equals(a.path().toLowerCase(Locale.ROOT))
                            && x.props().path("virtualNetwork").path("id").asText("").equalsIgnoreCase(vid)) {
                        throw fail(409, "Conflict", "A virtual network cannot be linked to the same zone more than once. Link '"
                                + x.name() + "' already links it.");
                    }
                }
                if (!props.has("registrationEnabled")) props.put("registrationEnabled", false);
            }
            case "microsoft.containerservice/managedclusters" -> {
                return validateCluster(a, existing, body, props);
            }
            case "microsoft.containerservice/managedclusters/agentpools" -> {
                Res cluster = resources.get(parentKey(a));
                validatePool(a.name(), props, cluster.location(), false);
                if (!props.has("mode")) props.put("mode", "User");
                if (props.path("mode").asText().equalsIgnoreCase("User") && existing != null
                        && "System".equalsIgnoreCase(render(existing).path("properties").path("mode").asText())
                        && systemPools(cluster, existing.key()) == 0) {
                    throw fail(400, "OperationNotAllowed", "A cluster must have at least one System mode agent pool.");
                }
                ObjectNode prof = props.deepCopy();
                prof.put("name", a.name());
                validateClusterNetwork(cluster, cluster.props().deepCopy(), List.of(prof));
                return quotaCheck(cluster.location(), List.of(prof), Set.of(a.path().toLowerCase(Locale.ROOT)));
            }
            case "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials" -> {
                String issuer = props.path("issuer").asText("");
                if (!issuer.startsWith("https://") || issuer.length() <= "https://".length()) {
                    throw fail(400, "BadRequest", "Invalid issuer '" + issuer + "': the issuer must be a valid https URL.");
                }
                if (props.path("subject").asText("").isEmpty()) throw fail(400, "BadRequest", "The subject is required.");
                if (!props.has("audiences")) props.putArray("audiences").add("api://AzureADTokenExchange");
                String idKey = a.parentId().toLowerCase(Locale.ROOT);
                int count = 0;
                for (Res x : resources.values()) {
                    if (!x.key().startsWith(idKey + "/federatedidentitycredentials/") || x.key().equals(a.path().toLowerCase(Locale.ROOT))) continue;
                    count++;
                    if (x.props().path("issuer").asText().equals(issuer) && x.props().path("subject").asText().equals(props.path("subject").asText())) {
                        throw fail(409, "Conflict", "A federated identity credential with the same issuer and subject already exists: '" + x.name() + "'.");
                    }
                }
                if (existing == null && count >= 20) {
                    throw fail(400, "BadRequest", "Too many federated identity credentials: an identity can have at most 20.");
                }
            }
            default -> { }
        }
        return null;
    }

    private boolean globalNameTaken(String typeLower, String name, String selfId) {
        if (takenNames.getOrDefault(typeLower, Set.of()).contains(name.toLowerCase(Locale.ROOT))) return true;
        for (Res r : resources.values()) {
            if (r.typeLower().equals(typeLower) && r.name().equalsIgnoreCase(name) && !r.id.equalsIgnoreCase(selfId)) return true;
        }
        return false;
    }

    private void validatePostgres(ArmId a, Res existing, ObjectNode body, ObjectNode props) {
        if (!PG_NAME.matcher(a.name()).matches()) {
            throw fail(400, "InvalidServerName", "Server name '" + a.name() + "' is invalid: it must be 3 to 63 characters of lowercase"
                    + " letters, digits and hyphens, and must not start or end with a hyphen.");
        }
        if (existing == null && globalNameTaken("microsoft.dbforpostgresql/flexibleservers", a.name(), a.path())) {
            throw fail(409, "ServerNameAlreadyExists", "Specified server name '" + a.name() + "' is already used. Please use a different name and try again.");
        }
        JsonNode sku = body.path("sku");
        if (existing == null || body.has("sku")) {
            String sn = sku.path("name").asText("");
            String tier = sku.path("tier").asText("");
            String want = sn.startsWith("Standard_B") ? "Burstable" : sn.startsWith("Standard_D") ? "GeneralPurpose"
                    : sn.startsWith("Standard_E") ? "MemoryOptimized" : null;
            if (want == null || !want.equalsIgnoreCase(tier)) {
                throw fail(400, "InvalidSkuName", "The sku '" + sn + "' is not valid for tier '" + tier
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
            throw fail(400, "UnsupportedServerVersion", "The server version '" + version + "' is not supported; supported major versions are 13, 14, 15, 16, 17.");
        }
        if (existing != null) {
            int old = existing.props().path("version").asInt(v);
            if (v < old) throw fail(400, "InvalidServerVersion", "Downgrading the server version from " + old + " to " + v + " is not allowed.");
        }
        JsonNode size = props.path("storage").path("storageSizeGB");
        if (!size.isMissingNode() && !Set.of(32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767).contains(size.asInt())) {
            throw fail(400, "InvalidStorageSize", "The storage size " + size.asText() + " GB is not valid.");
        }
        if (existing != null && !size.isMissingNode()) {
            int was = existing.props().path("storage").path("storageSizeGB").asInt(32);
            // Flexible Server storage can grow, never shrink (stack.md §5 item 12); the code is the fake's own name.
            if (size.asInt() < was) {
                throw fail(400, "StorageSizeDecreaseNotSupported", "Decreasing the storage size of a server is not supported (from "
                        + was + " GB to " + size.asInt() + " GB).");
            }
        }
        boolean passwordAuth = !props.path("authConfig").path("passwordAuth").asText("Enabled").equalsIgnoreCase("Disabled");
        if (existing == null && passwordAuth) {
            String login = props.path("administratorLogin").asText("");
            if (login.isEmpty() || PG_RESERVED_LOGINS.contains(login.toLowerCase(Locale.ROOT)) || login.toLowerCase(Locale.ROOT).startsWith("pg_")
                    || !login.matches("[a-zA-Z_][a-zA-Z0-9_]{0,62}")) {
                throw fail(400, "InvalidAdministratorLogin", "The administrator login '" + login + "' is invalid or reserved.");
            }
            checkPassword(props.path("administratorLoginPassword").asText(""));
        } else if (props.has("administratorLoginPassword")) {
            checkPassword(props.path("administratorLoginPassword").asText(""));
        }
        JsonNode net = props.path("network");
        String sid = net.path("delegatedSubnetResourceId").asText("");
        if (existing != null) {
            String old = existing.props().path("network").path("delegatedSubnetResourceId").asText("");
            if (!old.equalsIgnoreCase(sid)) {
                throw fail(400, "NetworkChangeNotAllowed", "The network settings of an existing server cannot be changed (delegated subnet '"
                        + old + "' -> '" + sid + "').");
            }
            return;
        }
        if (sid.isEmpty()) return;
        ArmId sa = ArmId.parse(sid);
        Res vnet = sa == null || !sa.typeLower().equals("microsoft.network/virtualnetworks/subnets") ? null
                : resources.get(sa.parentId().toLowerCase(Locale.ROOT));
        JsonNode subnet = vnet == null ? null : findSubnet(vnet, sa.name());
        if (subnet == null) throw fail(400, "SubnetNotFound", "The delegated subnet '" + sid + "' does not exist.");
        if (!"Succeeded".equals(vnet.state)) {
            throw fail(409, "AnotherOperationInProgress", "The virtual network of subnet '" + sid + "' is still being provisioned.");
        }
        boolean delegated = false;
        for (JsonNode d : subnet.path("properties").path("delegations")) {
            if (d.path("properties").path("serviceName").asText().equalsIgnoreCase("Microsoft.DBforPostgreSQL/flexibleServers")) delegated = true;
        }
        if (!delegated) {
            throw fail(400, "SubnetNotDelegated", "The subnet '" + sid + "' must be delegated to 'Microsoft.DBforPostgreSQL/flexibleServers'.");
        }
        String user = subnetUser(vnet.id + "/subnets/" + subnet.path("name").asText(), "microsoft.dbforpostgresql/flexibleservers");
        if (user != null) {
            throw fail(400, "SubnetUsedByOtherResource", "The subnet '" + sid + "' is already used by '" + user
                    + "'; a subnet delegated to PostgreSQL flexible servers must hold nothing else.");
        }
        String zid = net.path("privateDnsZoneArmResourceId").asText("");
        if (zid.isEmpty()) {
            throw fail(400, "PrivateDnsZoneRequired", "A private DNS zone (properties.network.privateDnsZoneArmResourceId) is required with a delegated subnet.");
        }
        Res zone = resources.get(zid.toLowerCase(Locale.ROOT));
        if (zone == null || !zone.typeLower().equals("microsoft.network/privatednszones")) {
            throw fail(400, "PrivateDnsZoneNotFound", "The private DNS zone '" + zid + "' does not exist.");
        }
        if (!zone.name().toLowerCase(Locale.ROOT).endsWith(".postgres.database.azure.com")) {
            throw fail(400, "InvalidPrivateDnsZoneName", "The private DNS zone name '" + zone.name() + "' must end with '.postgres.database.azure.com'.");
        }
        boolean linked = false;
        for (Res x : resources.values()) {
            if (x.key().startsWith(zone.key() + "/virtualnetworklinks/") && "Succeeded".equals(x.state)
                    && x.props().path("virtualNetwork").path("id").asText("").equalsIgnoreCase(vnet.id)) linked = true;
        }
        if (!linked) {
            throw fail(400, "PrivateDnsZoneNotLinkedToVnet", "The private DNS zone '" + zone.name() + "' is not linked to virtual network '"
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
            throw fail(400, "PasswordNotComplex", "The password does not meet policy requirements: 8-128 characters from at least three of"
                    + " uppercase letters, lowercase letters, digits and non-alphanumeric characters.");
        }
    }

    private static JsonNode findSubnet(Res vnet, String name) {
        for (JsonNode s : vnet.props().path("subnets")) if (s.path("name").asText().equalsIgnoreCase(name)) return s;
        return null;
    }

    /** Who uses a subnet (other than resources of type ignoreTypeLower), or null. */
    private String subnetUser(String subnetId, String ignoreTypeLower) {
        for (Res r : resources.values()) {
            if (r.typeLower().equals(ignoreTypeLower)) continue;
            if (r.typeLower().equals("microsoft.dbforpostgresql/flexibleservers")
                    && r.props().path("network").path("delegatedSubnetResourceId").asText("").equalsIgnoreCase(subnetId)) return r.id;
            if (r.typeLower().equals("microsoft.containerservice/managedclusters/agentpools")
                    && r.props().path("vnetSubnetID").asText("").equalsIgnoreCase(subnetId)) return r.id;
        }
        return null;
    }

    static long[] cidr(String s) {
        Matcher m = Pattern.compile("(\\d+)\\.(\\d+)\\.(\\d+)\\.(\\d+)/(\\d+)").matcher(s == null ? "" : s.trim());
        if (!m.matches()) throw fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' is not a valid CIDR block.");
        long ip = 0;
        for (int i = 1; i <= 4; i++) {
            int o = Integer.parseInt(m.group(i));
            if (o > 255) throw fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' is not a valid CIDR block.");
            ip = (ip << 8) | o;
        }
        int bits = Integer.parseInt(m.group(5));
        if (bits > 32) throw fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' is not a valid CIDR block.");
        long size = 1L << (32 - bits);
        long start = ip & ~(size - 1) & 0xffffffffL;
        if (start != ip) throw fail(400, "InvalidAddressPrefixFormat", "Address prefix '" + s + "' has host bits set; use " + start + "/" + bits + ".");
        return new long[] {start, start + size - 1};
    }

    private void validateVnet(ArmId a, Res existing, ObjectNode props) {
        List<long[]> spaces = new ArrayList<>();
        for (JsonNode p : props.path("addressSpace").path("addressPrefixes")) spaces.add(cidr(p.asText()));
        if (spaces.isEmpty()) throw fail(400, "InvalidRequestFormat", "properties.addressSpace.addressPrefixes must contain at least one prefix.");
        List<long[]> seen = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (JsonNode s : props.path("subnets")) {
            String name = s.path("name").asText("");
            String pfx = s.path("properties").path("addressPrefix").asText(null);
            if (name.isEmpty() || pfx == null) throw fail(400, "InvalidRequestFormat", "Each subnet needs a name and properties.addressPrefix.");
            long[] r = cidr(pfx);
            boolean inside = false;
            for (long[] sp : spaces) if (r[0] >= sp[0] && r[1] <= sp[1]) inside = true;
            if (!inside) {
                throw fail(400, "NetcfgSubnetRangeOutsideVnet", "Subnet '" + name + "' is not valid because its IP address range is outside the IP address range of virtual network '" + a.name() + "'.");
            }
            for (int i = 0; i < seen.size(); i++) {
                if (r[0] <= seen.get(i)[1] && seen.get(i)[0] <= r[1]) {
                    throw fail(400, "NetcfgSubnetRangesOverlap", "Subnet '" + name + "' is not valid because its IP address range overlaps with that of subnet '" + names.get(i) + "'.");
                }
            }
            seen.add(r);
            names.add(name);
        }
        if (existing != null) {
            for (JsonNode s : existing.props().path("subnets")) {
                String name = s.path("name").asText();
                JsonNode now = null;
                for (JsonNode n : props.path("subnets")) if (n.path("name").asText().equalsIgnoreCase(name)) now = n;
                String user = subnetUser(existing.id + "/subnets/" + name, null);
                if (user == null) continue;
                if (now == null) {
                    throw fail(400, "InUseSubnetCannotBeDeleted", "Subnet " + name + " is in use by " + user
                            + " and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet.");
                }
                if (!now.path("properties").path("delegations").equals(s.path("properties").path("delegations"))
                        && user.toLowerCase(Locale.ROOT).contains("/microsoft.dbforpostgresql/")) {
                    throw fail(400, "SubnetMissingRequiredDelegation", "Subnet " + name + " is in use by " + user + " and its delegation cannot be changed.");
                }
            }
        }
    }

    private Answer putSubnet(Req q, ArmId a, ObjectNode body) {
        Res vnet = resources.get(parentKey(a));
        ObjectNode vprops = vnet.user.deepCopy().with("properties");
        ArrayNode subnets = vprops.withArray("subnets");
        ObjectNode sn = M.createObjectNode();
        sn.put("name", a.name());
        sn.set("properties", body.path("properties").isObject() ? body.get("properties") : M.createObjectNode());
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
        Op op = startOp(q, vnet, false, a.sub(), "Microsoft.Network", vnet.location(), null, null);
        vnet.state = "Updating";
        JsonNode out = null;
        for (JsonNode s : render(vnet).path("properties").path("subnets")) if (s.path("name").asText().equalsIgnoreCase(a.name())) out = s;
        return json(found ? 200 : 201, out, opHeaders(q, op, true, false));
    }

    private Answer deleteSubnet(Req q, ArmId a) {
        Res vnet = resources.get(parentKey(a));
        if (vnet == null) return empty(204, Map.of());
        if (findSubnet(vnet, a.name()) == null) return empty(204, Map.of());
        String user = subnetUser(vnet.id + "/subnets/" + a.name(), null);
        if (user != null) {
            return error(400, "InUseSubnetCannotBeDeleted", "Subnet " + a.name() + " is in use by " + user + " and cannot be deleted.");
        }
        if (vnet.busy()) return anotherOp(vnet);
        ArrayNode subnets = vnet.props().withArray("subnets");
        for (int i = subnets.size() - 1; i >= 0; i--) if (subnets.get(i).path("name").asText().equalsIgnoreCase(a.name())) subnets.remove(i);
        return empty(200, Map.of());
    }

    private void validatePool(String name, ObjectNode p, String location, boolean inline) {
        if (!POOL_NAME.matcher(name).matches()) {
            throw fail(400, "InvalidAgentPoolName", "The agent pool name '" + name + "' is invalid: Linux agent pool names must be lowercase"
                    + " alphanumeric characters, start with a lowercase letter and be at most 12 characters long.");
        }
        String size = p.path("vmSize").asText("");
        Sku sku = skus.get(size.toLowerCase(Locale.ROOT));
        if (sku == null) throw fail(400, "VMSizeNotSupported", "The VM size '" + size + "' of agent pool '" + name + "' is not supported.");
        if (restrictedSkus.getOrDefault(sku.name().toLowerCase(Locale.ROOT), Set.of()).contains(normLocation(location))) {
            throw fail(400, "SkuNotAvailable", "The VM size '" + size + "' is currently not available to this subscription in location '"
                    + location + "'. Please try another size or deploy to a different location.");
        }
        String mode = p.path("mode").asText(inline ? "System" : "User");
        if (!mode.equalsIgnoreCase("System") && !mode.equalsIgnoreCase("User")) {
            throw fail(400, "InvalidParameter", "Agent pool mode '" + mode + "' is invalid: use System or User.");
        }
        if (p.path("enableAutoScaling").asBoolean(false)) {
            if (!p.has("minCount") || !p.has("maxCount")) {
                throw fail(400, "InvalidParameter", "minCount and maxCount are required when autoscaling is enabled on agent pool '" + name + "'.");
            }
            int min = p.path("minCount").asInt();
            int max = p.path("maxCount").asInt();
            if (min > max || min < 0) {
                throw fail(400, "InvalidMinMaxCount", "Agent pool '" + name + "': minCount " + min + " must be less than or equal to maxCount " + max + ".");
            }
            if (p.has("count") && (p.path("count").asInt() < min || p.path("count").asInt() > max)) {
                throw fail(400, "InvalidParameter", "Agent pool '" + name + "': count must be between minCount and maxCount.");
            }
        } else if (p.has("minCount") || p.has("maxCount")) {
            throw fail(400, "InvalidParameter", "minCount and maxCount may only be set when autoscaling is enabled on agent pool '" + name + "'.");
        }
        String sid = p.path("vnetSubnetID").asText("");
        if (!sid.isEmpty()) {
            ArmId sa = ArmId.parse(sid);
            Res vnet = sa == null ? null : resources.get(sa.parentId().toLowerCase(Locale.ROOT));
            JsonNode subnet = vnet == null ? null : findSubnet(vnet, sa.name());
            if (subnet == null) throw fail(400, "InvalidParameter", "The subnet '" + sid + "' of agent pool '" + name + "' does not exist.");
            if (subnet.path("properties").path("delegations").size() > 0) {
                throw fail(400, "SubnetIsDelegated", "The subnet '" + sid + "' is delegated to another service and cannot host agent pool '" + name + "'.");
            }
        }
    }

    private String[] validateCluster(ArmId a, Res existing, ObjectNode body, ObjectNode props) {
        if (!AKS_NAME.matcher(a.name()).matches()) {
            throw fail(400, "InvalidParameter", "The managed cluster name '" + a.name() + "' is invalid: 1-63 letters, digits, '-' and '_', starting and ending with a letter or digit.");
        }
        String dns = props.path("dnsPrefix").asText(null);
        if (dns != null && !DNS_PREFIX.matcher(dns).matches()) {
            throw fail(400, "InvalidDnsPrefix", "The dnsPrefix '" + dns + "' is invalid: 1-54 alphanumeric characters and hyphens, starting and ending with an alphanumeric character.");
        }
        if (props.path("securityProfile").path("workloadIdentity").path("enabled").asBoolean(false)
                && !props.path("oidcIssuerProfile").path("enabled").asBoolean(false)) {
            throw fail(400, "InvalidParameter", "Enabling workload identity requires the OIDC issuer to be enabled (oidcIssuerProfile.enabled).");
        }
        JsonNode pools = props.path("agentPoolProfiles");
        if (existing == null && (!pools.isArray() || pools.size() == 0)) {
            throw fail(400, "InvalidParameter", "A managed cluster needs at least one agent pool in agentPoolProfiles.");
        }
        Set<String> exclude = new LinkedHashSet<>();
        List<ObjectNode> profs = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        int system = 0;
        for (JsonNode p : pools) {
            ObjectNode prof = (ObjectNode) p;
            String name = prof.path("name").asText("");
            validatePool(name, prof, body.path("location").asText(), true);
            if (!names.add(name)) throw fail(400, "InvalidParameter", "Duplicate agent pool name '" + name + "'.");
            if (prof.path("mode").asText("System").equalsIgnoreCase("System")) system++;
            exclude.add(a.path().toLowerCase(Locale.ROOT) + "/agentpools/" + name);
            profs.add(prof);
        }
        if (existing != null) {
            for (Res p : poolsOf(existing)) {
                if (!exclude.contains(p.key()) && "System".equalsIgnoreCase(render(p).path("properties").path("mode").asText())) system++;
            }
        }
        if (system == 0) {
            throw fail(400, "MustDefineAtLeastOneSystemPool", "Must define at least one system pool.");
        }
        if (existing != null && pools.isArray()) {
            // agentPoolProfiles describes every pool: a PUT that leaves one out is not taken as "keep it".
            for (Res p : poolsOf(existing)) {
                if (!exclude.contains(p.key())) {
                    throw fail(400, "AgentPoolProfilesMissingPool", "Agent pool '" + p.name() + "' exists but is missing from agentPoolProfiles; "
                            + "send every pool, or change pools through the agentPools API.");
                }
            }
        }
        validateClusterNetwork(existing, props, profs);
        return quotaCheck(body.path("location").asText(), profs, exclude);
    }

    /**
     * AKS network rules (specification/containerservice/.../aks/stable/2024-09-01/managedClusters.json,
     * ContainerServiceNetworkProfile; AKS docs on Azure CNI Overlay): overlay needs networkPlugin azure; a pod range
     * is for overlay (or kubenet) only and must not overlap the cluster's vnet or the service range; the only mode
     * change AKS takes is the one-way migration to overlay, and an overlay cluster's pod range stays. The node subnet
     * must hold every node the pools may scale to plus one surge node each (overlay), or one address per pod slot
     * (flat Azure CNI: maxPods, default 30, + 1 per node), beside the 5 addresses Azure reserves in a subnet.
     */
    private void validateClusterNetwork(Res existing, ObjectNode props, List<ObjectNode> profs) {
        JsonNode net = props.path("networkProfile");
        JsonNode was = existing == null ? null : existing.props().path("networkProfile");
        String plugin = net.path("networkPlugin").asText(was == null ? "kubenet" : was.path("networkPlugin").asText("kubenet"));
        // A PUT describes the cluster: a mode left out is no mode (flat), not "as before".
        String mode = net.path("networkPluginMode").asText("");
        boolean overlay = mode.equalsIgnoreCase("overlay");
        if (!mode.isEmpty() && !overlay) throw fail(400, "InvalidParameter", "networkPluginMode '" + mode + "' is not valid; the only value is 'overlay'.");
        if (overlay && !plugin.equalsIgnoreCase("azure")) {
            throw fail(400, "InvalidParameter", "networkPluginMode 'overlay' requires networkPlugin 'azure'.");
        }
        String podCidr = net.path("podCidr").asText(null);
        if (podCidr != null && plugin.equalsIgnoreCase("azure") && !overlay) {
            throw fail(400, "InvalidParameter", "podCidr may only be set with networkPluginMode 'overlay' (or networkPlugin 'kubenet').");
        }
        if (was != null) {
            String wasPlugin = was.path("networkPlugin").asText("kubenet");
            boolean wasOverlay = was.path("networkPluginMode").asText("").equalsIgnoreCase("overlay");
            if (wasOverlay && !overlay) {
                throw fail(400, "NetworkPluginModeChangeNotAllowed", "The cluster uses Azure CNI Overlay; migrating away from overlay is not supported.");
            }
            if (!wasPlugin.equalsIgnoreCase(plugin) && !(overlay && !wasOverlay)) {
                throw fail(400, "NetworkPluginChangeNotAllowed", "Changing networkPlugin from '" + wasPlugin + "' to '" + plugin + "' is not supported.");
            }
            String wasPod = was.path("podCidr").asText(null);
            if (wasOverlay && podCidr != null && wasPod != null && !cidrEquals(wasPod, podCidr)) {
                throw fail(400, "PodCidrChangeNotAllowed", "The pod CIDR of an overlay cluster cannot be changed (" + wasPod + " -> " + podCidr + ").");
            }
        }
        String svc = net.path("serviceCidr").asText("10.0.0.0/16");
        Map<String, Integer> nodes = new LinkedHashMap<>();
        Map<String, Integer> slots = new LinkedHashMap<>();
        List<JsonNode> all = new ArrayList<>(profs);
        if (existing != null) {
            Set<String> named = new LinkedHashSet<>();
            for (ObjectNode p : profs) named.add(p.path("name").asText().toLowerCase(Locale.ROOT));
            for (Res p : poolsOf(existing)) if (!named.contains(p.name().toLowerCase(Locale.ROOT))) all.add(p.props());
        }
        for (JsonNode p : all) {
            String sid = p.path("vnetSubnetID").asText("");
            if (sid.isEmpty()) continue;
            int max = p.path("enableAutoScaling").asBoolean(false) ? p.path("maxCount").asInt(1) : p.path("count").asInt(1);
            nodes.merge(sid.toLowerCase(Locale.ROOT), max + 1, Integer::sum);
            slots.merge(sid.toLowerCase(Locale.ROOT), (max + 1) * (p.path("maxPods").asInt(30) + 1), Integer::sum);
        }
        for (String sid : nodes.keySet()) {
            ArmId sa = ArmId.parse(sid);
            Res vnet = sa == null ? null : resources.get(sa.parentId().toLowerCase(Locale.ROOT));
            JsonNode subnet = vnet == null ? null : findSubnet(vnet, sa.name());
            if (subnet == null) continue;
            long[] r = cidr(subnet.path("properties").path("addressPrefix").asText());
            long usable = r[1] - r[0] + 1 - 5;
            int need = overlay || !plugin.equalsIgnoreCase("azure") ? nodes.get(sid) : slots.get(sid);
            if (usable < need) {
                throw fail(400, "InsufficientSubnetSize", "Pre-allocated IPs " + need + " exceeds IPs available " + usable + " in subnet '"
                        + sa.name() + "' (" + subnet.path("properties").path("addressPrefix").asText() + ").");
            }
            if (podCidr != null) {
                long[] pr = cidr(podCidr);
                for (JsonNode sp : vnet.props().path("addressSpace").path("addressPrefixes")) {
                    long[] v = cidr(sp.asText());
                    if (pr[0] <= v[1] && v[0] <= pr[1]) {
                        throw fail(400, "InvalidParameter", "The pod CIDR " + podCidr + " overlaps the address space " + sp.asText()
                                + " of virtual network '" + vnet.name() + "'.");
                    }
                }
                long[] sr = cidr(svc);
                if (pr[0] <= sr[1] && sr[0] <= pr[1]) {
                    throw fail(400, "InvalidParameter", "The pod CIDR " + podCidr + " overlaps the service CIDR " + svc + ".");
                }
            }
        }
    }

    private static boolean cidrEquals(String a, String b) {
        long[] x = cidr(a);
        long[] y = cidr(b);
        return x[0] == y[0] && x[1] == y[1];
    }

    private static int poolNodes(JsonNode p) {
        if (p.has("count")) return p.path("count").asInt();
        if (p.has("minCount")) return p.path("minCount").asInt();
        return 1;
    }

    private int quotaLimit(String family) {
        return quotas.getOrDefault(family, family.equals("cores") ? 350 : 100);
    }

    private Map<String, Integer> usage(String location, Set<String> excludeKeys) {
        Map<String, Integer> u = new TreeMap<>();
        for (Res p : resources.values()) {
            if (!p.typeLower().equals("microsoft.containerservice/managedclusters/agentpools") || excludeKeys.contains(p.key())) continue;
            if ("Failed".equals(p.state)) continue;
            Res cluster = resources.get(p.key().substring(0, p.key().lastIndexOf("/agentpools/")));
            if (cluster == null || "Failed".equals(cluster.state) || !normLocation(cluster.location()).equals(normLocation(location))) continue;
            Sku sku = skus.get(p.props().path("vmSize").asText("").toLowerCase(Locale.ROOT));
            if (sku == null) continue;
            int v = poolNodes(p.props()) * sku.vcpus();
            u.merge(sku.family(), v, Integer::sum);
            u.merge("cores", v, Integer::sum);
        }
        return u;
    }

    private String[] quotaCheck(String location, List<ObjectNode> pools, Set<String> excludeKeys) {
        Map<String, Integer> use = usage(location, excludeKeys);
        Map<String, Integer> need = new LinkedHashMap<>();
        for (ObjectNode p : pools) {
            Sku sku = skus.get(p.path("vmSize").asText("").toLowerCase(Locale.ROOT));
            int v = poolNodes(p) * sku.vcpus();
            need.merge(sku.family(), v, Integer::sum);
            need.merge("cores", v, Integer::sum);
        }
        for (Map.Entry<String, Integer> e : need.entrySet()) {
            int limit = quotaLimit(e.getKey());
            int current = use.getOrDefault(e.getKey(), 0);
            if (current + e.getValue() > limit) {
                String what = e.getKey().equals("cores") ? "Total Regional Cores" : e.getKey() + " Cores";
                return new String[] {"QuotaExceeded", "Operation could not be completed as it results in exceeding approved " + what
                        + " quota. Additional details - Deployment Model: Resource Manager, Location: " + location + ", Current Limit: " + limit
                        + ", Current Usage: " + current + ", Additional Required: " + e.getValue() + ", (Minimum) New Limit Required: "
                        + (current + e.getValue()) + ". Submit a request for Quota increase."};
            }
        }
        return null;
    }

    private int systemPools(Res cluster, String excludeKey) {
        int n = 0;
        for (Res p : poolsOf(cluster)) {
            if (!p.key().equals(excludeKey) && "System".equalsIgnoreCase(render(p).path("properties").path("mode").asText())) n++;
        }
        return n;
    }

    private void identityGenerated(Res r) {
        ObjectNode gp = r.gen.with("properties");
        if (!gp.has("principalId")) {
            gp.put("principalId", newGuid(r.id, "principalId"));
            gp.put("clientId", newGuid(r.id, "clientId"));
            gp.put("tenantId", TENANT_ID);
        }
        String pid = gp.path("principalId").asText();
        principals.put(pid.toLowerCase(Locale.ROOT), new Principal(pid, "ServicePrincipal", r.createdNanos));
    }

    private void afterWrite(Req q, ArmId a, Res r, boolean created) {
        switch (r.typeLower()) {
            case "microsoft.managedidentity/userassignedidentities" -> {
                if (created) identityGenerated(r);
            }
            case "microsoft.storage/storageaccounts" -> {
                ObjectNode gp = r.gen.with("properties");
                ObjectNode ep = gp.putObject("primaryEndpoints");
                for (String s : List.of("blob", "dfs", "file", "queue", "table", "web")) {
                    ep.put(s, "https://" + r.name() + "." + s + ".core.windows.net/");
                }
                gp.put("primaryLocation", r.location());
                gp.put("statusOfPrimary", "available");
            }
            case "microsoft.dbforpostgresql/flexibleservers" -> {
                ObjectNode gp = r.gen.with("properties");
                gp.put("fullyQualifiedDomainName", r.name() + ".postgres.database.azure.com");
                boolean priv = !r.props().path("network").path("delegatedSubnetResourceId").asText("").isEmpty();
                gp.with("network").put("publicNetworkAccess", priv ? "Disabled"
                        : r.props().path("network").path("publicNetworkAccess").asText("Enabled"));
            }
            case "microsoft.containerservice/managedclusters" -> clusterGenerated(a, r, created);
            default -> { }
        }
    }

    private void clusterGenerated(ArmId a, Res r, boolean created) {
        explodeInlinePools(r, null);
        ObjectNode gp = r.gen.with("properties");
        ObjectNode up = r.props();
        if (created) {
            String dns = up.path("dnsPrefix").asText(null);
            if (dns == null) {
                dns = (r.name() + "-dns").replaceAll("[^a-zA-Z0-9-]", "");
                if (dns.length() > 54) dns = dns.substring(0, 54);
                gp.put("dnsPrefix", dns);
            }
            gp.put("fqdn", dns + "-" + String.format("%08x", r.key().hashCode()) + ".hcp." + r.location() + ".azmk8s.io");
            String nodeRg = up.path("nodeResourceGroup").asText("MC_" + a.rg() + "_" + r.name() + "_" + r.location());
            gp.put("nodeResourceGroup", nodeRg);
            String nodeRgId = "/subscriptions/" + a.sub() + "/resourceGroups/" + nodeRg;
            if (!resources.containsKey(nodeRgId.toLowerCase(Locale.ROOT))) {
                Res g = new Res(nodeRgId, TYPES.get("microsoft.resources/resourcegroups"));
                g.user.put("location", r.location());
                g.gen.put("managedBy", r.id);
                resources.put(g.key(), g);
            }
            String kubeletId = nodeRgId + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + r.name() + "-agentpool";
            Res kubelet = new Res(kubeletId, TYPES.get("microsoft.managedidentity/userassignedidentities"));
            kubelet.user.put("location", r.location());
            identityGenerated(kubelet);
            resources.put(kubelet.key(), kubelet);
            ObjectNode ki = gp.with("identityProfile").with("kubeletidentity");
            ki.put("resourceId", kubeletId);
            ki.put("clientId", kubelet.gen.path("properties").path("clientId").asText());
            ki.put("objectId", kubelet.gen.path("properties").path("principalId").asText());
            if (r.user.path("identity").path("type").asText("").equalsIgnoreCase("SystemAssigned")) {
                String pid = newGuid(r.id, "identity.principalId");
                r.gen.with("identity").put("principalId", pid);
                r.gen.with("identity").put("tenantId", TENANT_ID);
                principals.put(pid.toLowerCase(Locale.ROOT), new Principal(pid, "ServicePrincipal", System.nanoTime()));
            }
            gp.with("powerState").put("code", "Running");
            // What AKS fills in a network profile (effectiveOutboundIPs is readOnly in managedClusters.json).
            ObjectNode np = gp.with("networkProfile");
            JsonNode un = up.path("networkProfile");
            np.put("outboundType", un.path("outboundType").asText("loadBalancer"));
            np.putArray("serviceCidrs").add(un.path("serviceCidr").asText("10.0.0.0/16"));
            np.putArray("ipFamilies").add("IPv4");
            if (un.path("networkPluginMode").asText("").equalsIgnoreCase("overlay")) {
                np.putArray("podCidrs").add(un.path("podCidr").asText("10.244.0.0/16"));
            }
            ObjectNode lb = np.with("loadBalancerProfile");
            lb.with("managedOutboundIPs").put("count", 1);
            lb.putArray("effectiveOutboundIPs").addObject().put("id", nodeRgId + "/providers/Microsoft.Network/publicIPAddresses/"
                    + newGuid(r.id, "outboundIP"));
        }
        if (up.path("oidcIssuerProfile").path("enabled").asBoolean(false)) {
            if (!gp.path("oidcIssuerProfile").has("issuerURL")) {
                gp.with("oidcIssuerProfile").put("issuerURL", "https://" + r.location() + ".oic.prod-aks.azure.com/" + TENANT_ID + "/"
                        + newGuid(r.id, "oidcIssuer") + "/");
            }
        } else {
            gp.remove("oidcIssuerProfile");
        }
        gp.put("currentKubernetesVersion", up.path("kubernetesVersion").asText("1.33.2"));
        gp.put("azurePortalFQDN", gp.path("fqdn").asText().replace(".hcp.", ".portal.hcp."));
    }

    private void explodeInlinePools(Res cluster, Op op) {
        JsonNode pools = cluster.props().remove("agentPoolProfiles");
        if (pools == null) return;
        for (JsonNode p : pools) {
            ObjectNode prof = ((ObjectNode) p).deepCopy();
            String name = prof.remove("name").asText();
            if (!prof.has("mode")) prof.put("mode", "System");
            String id = cluster.id + "/agentPools/" + name;
            Res pool = resources.get(id.toLowerCase(Locale.ROOT));
            if (pool == null) {
                pool = new Res(id, TYPES.get("microsoft.containerservice/managedclusters/agentpools"));
                resources.put(pool.key(), pool);
            }
            pool.user = M.createObjectNode();
            pool.user.set("properties", prof);
            pool.state = cluster.state;
        }
    }

    private void linkPools(Res r, Op op) {
        if (!r.typeLower().equals("microsoft.containerservice/managedclusters")) return;
        for (Res p : poolsOf(r)) {
            p.op = op;
            p.state = r.state;
            op.linked.add(p.key());
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // actions and read-only provider endpoints

    private Answer specialRoutes(Req q, ArmId a, String nsl) {
        List<String> t = a.typeSegs().stream().map(s -> s.toLowerCase(Locale.ROOT)).toList();
        boolean subScope = a.scope().equalsIgnoreCase("/subscriptions/" + a.sub());
        if (nsl.equals("microsoft.storage") && subScope && t.equals(List.of("checknameavailability"))) {
            if (!q.method().equals("POST")) throw fail(405, "MethodNotAllowed", "Use POST.");
            ObjectNode b = parseBody(q);
            String name = b.path("name").asText("");
            ObjectNode out = M.createObjectNode();
            if (!STORAGE_NAME.matcher(name).matches()) {
                out.put("nameAvailable", false);
                out.put("reason", "AccountNameInvalid");
                out.put("message", name + " is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.");
            } else if (globalNameTaken("microsoft.storage/storageaccounts", name, "")) {
                out.put("nameAvailable", false);
                out.put("reason", "AlreadyExists");
                out.put("message", "The storage account named " + name + " is already taken.");
            } else {
                out.put("nameAvailable", true);
            }
            return json(200, out);
        }
        if (nsl.equals("microsoft.dbforpostgresql") && subScope && t.equals(List.of("locations", "checknameavailability"))) {
            if (!q.method().equals("POST")) throw fail(405, "MethodNotAllowed", "Use POST.");
            ObjectNode b = parseBody(q);
            String name = b.path("name").asText("");
            ObjectNode out = M.createObjectNode();
            if (!PG_NAME.matcher(name).matches()) {
                out.put("nameAvailable", false);
                out.put("reason", "Invalid");
                out.put("message", "Server name '" + name + "' is invalid: 3-63 lowercase letters, digits and hyphens, not starting or ending with a hyphen.");
            } else if (globalNameTaken("microsoft.dbforpostgresql/flexibleservers", name, "")) {
                out.put("nameAvailable", false);
                out.put("reason", "AlreadyExists");
                out.put("message", "Specified server name is already used.");
            } else {
                out.put("nameAvailable", true);
                out.put("message", "");
            }
            out.put("name", name);
            out.put("type", "Microsoft.DBforPostgreSQL/flexibleServers");
            return json(200, out);
        }
        if (nsl.equals("microsoft.containerservice") && subScope && t.equals(List.of("locations", "kubernetesversions"))) {
            requireGet(q);
            ObjectNode out = M.createObjectNode();
            ArrayNode v = out.putArray("values");
            for (String ver : kubernetesVersions) {
                ObjectNode k = v.addObject();
                k.put("version", ver);
                k.put("isDefault", ver.equals(kubernetesVersions.get(kubernetesVersions.size() - 1)));
                k.putObject("patchVersions").putObject(ver + ".2");
            }
            return json(200, out);
        }
        if (nsl.equals("microsoft.dbforpostgresql") && subScope && t.equals(List.of("locations", "capabilities"))) {
            requireGet(q);
            ObjectNode out = M.createObjectNode();
            ObjectNode cap = out.putArray("value").addObject();
            cap.put("name", "FlexibleServerCapabilities");
            ArrayNode editions = cap.putArray("supportedServerEditions");
            for (String tier : List.of("Burstable", "GeneralPurpose", "MemoryOptimized")) {
                ObjectNode e = editions.addObject();
                e.put("name", tier);
                ArrayNode skuList = e.putArray("supportedServerSkus");
                String letter = tier.equals("Burstable") ? "Standard_B" : tier.equals("GeneralPurpose") ? "Standard_D" : "Standard_E";
                for (String sku : postgresSkus) if (sku.startsWith(letter)) skuList.addObject().put("name", sku);
            }
            ArrayNode versions = cap.putArray("supportedServerVersions");
            for (String ver : postgresVersions) versions.addObject().put("name", ver);
            return json(200, out);
        }
        if (nsl.equals("microsoft.compute") && subScope && t.equals(List.of("locations", "usages"))) {
            requireGet(q);
            String loc = normLocation(a.names().get(0));
            Map<String, Integer> use = usage(loc, Set.of());
            Set<String> families = new LinkedHashSet<>();
            families.add("cores");
            for (Sku s : skus.values()) families.add(s.family());
            families.addAll(quotas.keySet());
            ObjectNode out = M.createObjectNode();
            ArrayNode v = out.putArray("value");
            for (String f : families) {
                ObjectNode u = v.addObject();
                ObjectNode n = u.putObject("name");
                n.put("value", f);
                n.put("localizedValue", f.equals("cores") ? "Total Regional vCPUs" : f.replace("standard", "Standard ").replace("Family", " Family vCPUs"));
                u.put("currentValue", use.getOrDefault(f, 0));
                u.put("limit", quotaLimit(f));
                u.put("unit", "Count");
            }
            return json(200, out);
        }
        if (nsl.equals("microsoft.compute") && subScope && t.equals(List.of("skus"))) {
            requireGet(q);
            String loc = filterTerms(q.q("$filter")).get("location");
            List<String> locs = loc == null ? new ArrayList<>(LOCATIONS.keySet()) : List.of(normLocation(loc));
            ObjectNode out = M.createObjectNode();
            ArrayNode v = out.putArray("value");
            for (Sku s : skus.values()) {
                for (String l : locs) {
                    ObjectNode k = v.addObject();
                    k.put("resourceType", "virtualMachines");
                    k.put("name", s.name());
                    k.put("tier", "Standard");
                    k.put("size", s.name().substring("Standard_".length()));
                    k.put("family", s.family());
                    k.putArray("locations").add(l);
                    ObjectNode li = k.putArray("locationInfo").addObject();
                    li.put("location", l);
                    li.putArray("zones");
                    ArrayNode caps = k.putArray("capabilities");
                    ObjectNode c = caps.addObject();
                    c.put("name", "vCPUs");
                    c.put("value", Integer.toString(s.vcpus()));
                    c = caps.addObject();
                    c.put("name", "MemoryGB");
                    c.put("value", Integer.toString(s.vcpus() * 4));
                    ArrayNode rs = k.putArray("restrictions");
                    if (restrictedSkus.getOrDefault(s.name().toLowerCase(Locale.ROOT), Set.of()).contains(l)) {
                        ObjectNode r = rs.addObject();
                        r.put("type", "Location");
                        r.putArray("values").add(l);
                        r.putObject("restrictionInfo").putArray("locations").add(l);
                        r.put("reasonCode", "NotAvailableForSubscription");
                    }
                }
            }
            return json(200, out);
        }
        if (nsl.equals("microsoft.containerservice") && t.equals(List.of("managedclusters", "listclusterusercredential"))) {
            if (!q.method().equals("POST")) throw fail(405, "MethodNotAllowed", "Use POST.");
            if (a.rg() != null && !resources.containsKey(rgKey(a))) return rgNotFound(a.rg());
            Res c = resources.get(a.path().substring(0, a.path().lastIndexOf('/')).toLowerCase(Locale.ROOT));
            if (c == null) return notFound(a, TYPES.get("microsoft.containerservice/managedclusters"));
            String fqdn = render(c).path("properties").path("fqdn").asText();
            String server = clusterApiServer != null ? clusterApiServer : "https://" + fqdn + ":443";
            String ca = server.startsWith("https:") ? "    certificate-authority-data: ZmFrZQ==\n" : "";
            String kubeconfig = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n" + ca + "    server: "
                    + server + "\n  name: " + c.name() + "\ncontexts:\n- context:\n    cluster: " + c.name() + "\n    user: clusterUser_"
                    + a.rg() + "_" + c.name() + "\n  name: " + c.name() + "\ncurrent-context: " + c.name() + "\nusers:\n- name: clusterUser_"
                    + a.rg() + "_" + c.name() + "\n  user:\n    token: fake-token\n";
            ObjectNode out = M.createObjectNode();
            ObjectNode k = out.putArray("kubeconfigs").addObject();
            k.put("name", "clusterUser");
            k.put("value", Base64.getEncoder().encodeToString(kubeconfig.getBytes(StandardCharsets.UTF_8)));
            return json(200, out);
        }
        if (nsl.equals("microsoft.authorization") && t.equals(List.of("permissions"))) {
            requireGet(q);
            if (a.rg() != null && !resources.containsKey(rgKey(a))) return rgNotFound(a.rg());
            ObjectNode out = M.createObjectNode();
            ObjectNode p = out.putArray("value").addObject();
            ArrayNode acts = p.putArray("actions");
            callerActions.forEach(acts::add);
            ArrayNode nacts = p.putArray("notActions");
            callerNotActions.forEach(nacts::add);
            p.putArray("dataActions");
            p.putArray("notDataActions");
            return json(200, out);
        }
        return null;
    }

    // ------------------------------------------------------------------------------------------------------------
    // role assignments

    private static final Pattern GUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private boolean scopeExists(String scope) {
        String k = scope.toLowerCase(Locale.ROOT);
        if (resources.containsKey(k)) return true;
        ArmId s = ArmId.parse(scope);
        if (s == null) return split(scope).length == 2;
        if (s.typeLower().equals("microsoft.network/virtualnetworks/subnets")) {
            Res vnet = resources.get(s.parentId().toLowerCase(Locale.ROOT));
            return vnet != null && findSubnet(vnet, s.name()) != null;
        }
        return s.typeLower().equals("microsoft.storage/storageaccounts/blobservices") && resources.containsKey(s.parentId().toLowerCase(Locale.ROOT));
    }

    private Answer putRoleAssignment(Req q, ArmId a) {
        if (!GUID.matcher(a.name()).matches()) {
            return error(400, "InvalidRoleAssignmentId", "The role assignment ID '" + a.name() + "' is not valid. The role assignment ID must be a GUID.");
        }
        if (a.rg() != null && !resources.containsKey(rgKey(a))) return rgNotFound(a.rg());
        if (!scopeExists(a.scope())) {
            return error(404, "ResourceNotFound", "The scope '" + a.scope() + "' of the role assignment does not exist.");
        }
        checkAllowed("Microsoft.Authorization/roleAssignments/write", a.scope());
        ObjectNode body = parseBody(q);
        JsonNode p = body.path("properties");
        String roleDef = p.path("roleDefinitionId").asText("");
        String principalId = p.path("principalId").asText("");
        String givenType = p.path("principalType").asText(null);
        String roleGuid = roleDef.substring(roleDef.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        if (!roleDef.toLowerCase(Locale.ROOT).contains("/providers/microsoft.authorization/roledefinitions/") || !BUILTIN_ROLES.containsKey(roleGuid)) {
            return error(400, "RoleDefinitionDoesNotExist", "The specified role definition with ID '" + roleGuid + "' does not exist.");
        }
        Principal pr = principals.get(principalId.toLowerCase(Locale.ROOT));
        String notFound = "Principal " + principalId.replace("-", "") + " does not exist in the directory " + TENANT_ID
                + ". Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role,"
                + " this error might be related to a replication delay. In this case, set the role assignment principalType property to a value,"
                + " such as ServicePrincipal, User, or Group. See https://aka.ms/docs-principaltype";
        if (pr == null) return error(400, "PrincipalNotFound", notFound);
        if (givenType != null && !givenType.equalsIgnoreCase(pr.type())) {
            return error(400, "UnmatchedPrincipalType", "The PrincipalId '" + principalId.replace("-", "") + "' has type '" + pr.type()
                    + "', which is different from specified PrincipalType '" + givenType + "'.");
        }
        boolean young = System.nanoTime() - pr.createdNanos() < principalReplicationMs * 1_000_000L;
        if (young && !(givenType != null && principalTypeShortcut)) return error(400, "PrincipalNotFound", notFound);
        String key = a.path().toLowerCase(Locale.ROOT);
        Res existing = resources.get(key);
        if (existing != null) {
            JsonNode ep = existing.props();
            if (ep.path("principalId").asText().equalsIgnoreCase(principalId)
                    && ep.path("roleDefinitionId").asText().toLowerCase(Locale.ROOT).endsWith(roleGuid)
                    && ep.path("scope").asText().equalsIgnoreCase(a.scope())) {
                return json(201, render(existing));
            }
            return error(409, "RoleAssignmentUpdateNotPermitted", "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.");
        }
        for (Res x : resources.values()) {
            if (!x.typeLower().equals("microsoft.authorization/roleassignments")) continue;
            JsonNode xp = x.props();
            if (xp.path("principalId").asText().equalsIgnoreCase(principalId) && xp.path("scope").asText().equalsIgnoreCase(a.scope())
                    && xp.path("roleDefinitionId").asText().toLowerCase(Locale.ROOT).endsWith(roleGuid)) {
                return error(409, "RoleAssignmentExists", "The role assignment already exists. The ID of the existing role assignment is "
                        + x.name().replace("-", "") + ".");
            }
        }
        Res r = new Res(canonicalId(a.path()), TYPES.get("microsoft.authorization/roleassignments"));
        ObjectNode rp = r.user.putObject("properties");
        rp.put("roleDefinitionId", roleDef);
        rp.put("principalId", principalId);
        rp.put("principalType", givenType != null ? givenType : pr.type());
        rp.put("scope", canonicalId(a.scope()));
        if (p.has("description")) rp.set("description", p.get("description"));
        if (p.has("condition")) rp.set("condition", p.get("condition"));
        rp.put("createdBy", userObjectId);
        resources.put(key, r);
        return json(201, render(r));
    }

    private Answer listRoleAssignments(ArmId a) {
        if (a.rg() != null && !resources.containsKey(rgKey(a))) return rgNotFound(a.rg());
        Map<String, String> terms = filterTerms(requestFilter.get());
        boolean atScope = requestFilter.get() != null && requestFilter.get().toLowerCase(Locale.ROOT).contains("atscope()");
        String scope = a.scope().toLowerCase(Locale.ROOT);
        ObjectNode out = M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Res x : resources.values()) {
            if (!x.typeLower().equals("microsoft.authorization/roleassignments")) continue;
            String xs = x.props().path("scope").asText().toLowerCase(Locale.ROOT);
            boolean above = scope.equals(xs) || scope.startsWith(xs + "/");
            boolean below = xs.startsWith(scope + "/");
            if (!(above || (!atScope && below))) continue;
            String pid = terms.get("principalid");
            if (pid != null && !pid.equalsIgnoreCase(x.props().path("principalId").asText())) continue;
            v.add(render(x));
        }
        return json(200, out);
    }

    private final ThreadLocal<String> requestFilter = new ThreadLocal<>();

    private ObjectNode roleDefinitionBody(String scope, String guid) {
        ObjectNode b = M.createObjectNode();
        b.put("id", scope + "/providers/Microsoft.Authorization/roleDefinitions/" + guid);
        b.put("name", guid);
        b.put("type", "Microsoft.Authorization/roleDefinitions");
        ObjectNode p = b.putObject("properties");
        p.put("roleName", BUILTIN_ROLES.get(guid));
        p.put("type", "BuiltInRole");
        p.putArray("assignableScopes").add("/");
        return b;
    }

    private Answer roleDefinition(ArmId a) {
        String guid = a.name().toLowerCase(Locale.ROOT);
        if (!BUILTIN_ROLES.containsKey(guid)) {
            return error(404, "RoleDefinitionDoesNotExist", "The specified role definition with ID '" + a.name() + "' does not exist.");
        }
        return json(200, roleDefinitionBody(a.scope(), guid));
    }

    private Answer listRoleDefinitions(ArmId a) {
        String want = filterTerms(requestFilter.get()).get("rolename");
        ObjectNode out = M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Map.Entry<String, String> e : BUILTIN_ROLES.entrySet()) {
            if (want == null || want.equalsIgnoreCase(e.getValue())) v.add(roleDefinitionBody(a.scope(), e.getKey()));
        }
        return json(200, out);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Microsoft Graph

    // --- callers other than the admin: what their role assignments allow ------------------------------------------------

    static String tokenObjectId(String authorization) {
        if (authorization == null || !authorization.startsWith("Bearer ")) return null;
        String[] parts = authorization.substring(7).split("\\.");
        if (parts.length < 2) return null;
        try {
            return M.readTree(Base64.getUrlDecoder().decode(parts[1])).path("oid").asText(null);
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    /** The caller and the groups it is a direct member of. */
    private Set<String> identities(String oid) {
        Set<String> ids = new LinkedHashSet<>();
        ids.add(oid.toLowerCase(Locale.ROOT));
        members.forEach((g, m) -> {
            if (m.stream().anyMatch(x -> x.equalsIgnoreCase(oid))) ids.add(g.toLowerCase(Locale.ROOT));
        });
        return ids;
    }

    /** Actions the caller's role assignments grant at this scope (assignments at the scope or above it). */
    private List<String> actionsAt(String oid, String scope) {
        Set<String> ids = identities(oid);
        String s = scope.toLowerCase(Locale.ROOT);
        List<String> out = new ArrayList<>();
        for (Res r : resources.values()) {
            if (!r.typeLower().equals("microsoft.authorization/roleassignments")) continue;
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
    static String actionOf(Req q) {
        String[] segs = split(q.path());
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
        TypeSpec spec = TYPES.get(type.toLowerCase(Locale.ROOT));
        if (spec != null) type = spec.type();
        return action != null ? type + "/" + action + "/action" : type + "/" + verb;
    }

    /** A request of a caller other than the admin: null to go on, or the answer (a filtered list, their permissions, 403). */
    private Answer asCaller(Req q, String oid) {
        String[] segs = split(q.path());
        if (segs.length == 1 && segs[0].equalsIgnoreCase("subscriptions") && q.method().equals("GET")) {
            // Subscriptions in which the caller holds any role assignment.
            ObjectNode out = M.createObjectNode();
            ArrayNode v = out.putArray("value");
            Set<String> ids = identities(oid);
            for (String sub : subscriptionNames.keySet()) {
                boolean any = resources.values().stream().anyMatch(r -> r.typeLower().equals("microsoft.authorization/roleassignments")
                        && ids.contains(r.props().path("principalId").asText().toLowerCase(Locale.ROOT))
                        && r.props().path("scope").asText().toLowerCase(Locale.ROOT).startsWith("/subscriptions/" + sub));
                if (any) v.add(subscriptionBody(sub));
            }
            return json(200, out);
        }
        if (segs.length == 0 || !segs[0].equalsIgnoreCase("subscriptions") || isPoll(q.path())) return null;
        String lower = q.path().toLowerCase(Locale.ROOT);
        if (lower.endsWith("/providers/microsoft.authorization/permissions")) {
            ObjectNode out = M.createObjectNode();
            ObjectNode p = out.putArray("value").addObject();
            ArrayNode acts = p.putArray("actions");
            actionsAt(oid, q.path().substring(0, q.path().length() - "/providers/Microsoft.Authorization/permissions".length())).forEach(acts::add);
            p.putArray("notActions");
            p.putArray("dataActions");
            p.putArray("notDataActions");
            return json(200, out);
        }
        String action = actionOf(q);
        for (String a : actionsAt(oid, q.path())) if (glob(a, action)) return null;
        ObjectNode u = users.get(oid);
        String name = u == null ? oid : u.path("userPrincipalName").asText(oid);
        return error(403, "AuthorizationFailed", "The client '" + name + "' with object id '" + oid + "' does not have authorization to perform "
                + "action '" + action + "' over scope '" + q.path() + "' or the scope is invalid. If access was recently granted, please refresh your credentials.");
    }

    /** Graph reads of users, groups and directory objects (v1.0 shapes: user-get, group-list, directoryobject-get). */
    private Answer directoryRead(Req q, String[] segs) {
        if (!q.method().equals("GET")) return null;
        String head = segs[0].toLowerCase(Locale.ROOT);
        if (head.equals("users") && segs.length == 2) {
            for (ObjectNode u : users.values()) {
                if (u.path("id").asText().equalsIgnoreCase(segs[1]) || u.path("userPrincipalName").asText().equalsIgnoreCase(segs[1])) {
                    return json(200, u.deepCopy());
                }
            }
            return notInDirectory(segs[1]);
        }
        if (head.equals("groups") && segs.length == 1) {
            String filter = q.q("$filter");
            Map<String, String> terms = filterTerms(filter);
            if (filter != null && (terms.isEmpty() || !Set.of("displayname", "id").containsAll(terms.keySet()))) {
                return graphError(400, "Request_UnsupportedQuery", "Unsupported query (the fake knows \"displayName eq\", \"id eq\"): " + filter);
            }
            ObjectNode out = M.createObjectNode();
            ArrayNode v = out.putArray("value");
            for (ObjectNode g : groups.values()) {
                String dn = terms.get("displayname");
                String id = terms.get("id");
                if ((dn == null || g.path("displayName").asText().equalsIgnoreCase(dn)) && (id == null || g.path("id").asText().equalsIgnoreCase(id))) {
                    v.add(g.deepCopy());
                }
            }
            return json(200, out);
        }
        if (head.equals("groups") && segs.length == 2) {
            ObjectNode g = groups.get(segs[1].toLowerCase(Locale.ROOT));
            return g == null ? notInDirectory(segs[1]) : json(200, g.deepCopy());
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
            ObjectNode out = M.createObjectNode();
            out.put("@odata.type", type);
            out.setAll(o.deepCopy());
            return json(200, out);
        }
        return null;
    }

    private static Answer notInDirectory(String id) {
        return graphError(404, "Request_ResourceNotFound", "Resource '" + id + "' does not exist or one of its queried reference-property "
                + "objects are not present.");
    }

    static Answer graphError(int status, String code, String message) {
        ObjectNode e = M.createObjectNode();
        ObjectNode in = e.putObject("error");
        in.put("code", code);
        in.put("message", message);
        ObjectNode inner = in.putObject("innerError");
        inner.put("request-id", UUID.randomUUID().toString());
        return json(status, e);
    }

    // --- teardown branch: Graph's deleted items (a deleted application stays there until removed for good) ---------

    private final Map<String, ObjectNode> deletedObjects = Collections.synchronizedMap(new LinkedHashMap<>());

    /** Applications and service principals deleted so far and not yet removed for good. */
    public List<JsonNode> deletedItems() {
        synchronized (deletedObjects) {
            return deletedObjects.values().stream().map(o -> (JsonNode) o.deepCopy()).toList();
        }
    }

    /**
     * {@code GET /directory/deletedItems/microsoft.graph.application?$filter=displayName eq '...'} (or
     * {@code microsoft.graph.servicePrincipal?$filter=appId eq '...'}) lists deleted objects; {@code DELETE /directory/deletedItems/{id}}: 204 for an object deleted earlier (once), else 404.
     */
    private Answer deletedItems(Req q, String[] segs) {
        if (segs.length != 3 || !segs[1].equalsIgnoreCase("deletedItems")) {
            return graphError(400, "BadRequest", "Resource not found for the segment '" + segs[0] + "'.");
        }
        if (q.method().equals("GET") && (segs[2].equalsIgnoreCase("microsoft.graph.application")
                || segs[2].equalsIgnoreCase("microsoft.graph.servicePrincipal"))) {
            String type = "#" + segs[2].toLowerCase(Locale.ROOT);
            Map<String, String> terms = filterTerms(q.q("$filter"));
            ObjectNode out = M.createObjectNode();
            ArrayNode v = out.putArray("value");
            synchronized (deletedObjects) {
                for (ObjectNode o : deletedObjects.values()) {
                    if (!o.path("@odata.type").asText().equalsIgnoreCase(type)) continue;
                    if (terms.containsKey("displayname") && !o.path("displayName").asText().equals(terms.get("displayname"))) continue;
                    if (terms.containsKey("appid") && !o.path("appId").asText().equalsIgnoreCase(terms.get("appid"))) continue;
                    v.add(o.deepCopy());
                }
            }
            return json(200, out);
        }
        if (!q.method().equals("DELETE")) return graphError(405, "Request_BadRequest", "Method not allowed.");
        if (denyDirectoryWrites) return graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
        if (deletedObjects.remove(segs[2].toLowerCase(Locale.ROOT)) == null) {
            return graphError(404, "Request_ResourceNotFound", "Resource '" + segs[2] + "' does not exist.");
        }
        return empty(204, Map.of());
    }

    private Answer graph(Req q, String rest) {
        String[] segs = split(rest);
        if (segs.length == 0) return graphError(400, "BadRequest", "Resource not found for the segment ''.");
        String head = segs[0];
        String hl = head.toLowerCase(Locale.ROOT);
        String m = q.method();
        boolean write = !m.equals("GET");
        if (hl.equals("me") && segs.length == 1 && m.equals("GET")) {
            ObjectNode me = M.createObjectNode();
            me.put("id", userObjectId);
            me.put("displayName", "Fake User");
            me.put("userPrincipalName", "fake.user@fake.onmicrosoft.com");
            return json(200, me);
        }
        if (hl.equals("me") && segs.length == 2 && segs[1].equalsIgnoreCase("memberOf") && m.equals("GET")) {
            ObjectNode out = M.createObjectNode();
            out.putArray("value");
            return json(200, out);
        }
        if (hl.equals("policies") && segs.length == 2 && segs[1].equalsIgnoreCase("authorizationPolicy") && m.equals("GET")) {
            ObjectNode out = M.createObjectNode();
            out.put("id", "authorizationPolicy");
            out.putObject("defaultUserRolePermissions").put("allowedToCreateApps", !denyDirectoryWrites);
            return json(200, out);
        }
        if (hl.equals("organization") && m.equals("GET")) {
            ObjectNode out = M.createObjectNode();
            ObjectNode o = out.putArray("value").addObject();
            o.put("id", TENANT_ID);
            o.put("displayName", "Fake Tenant");
            return json(200, out);
        }
        Answer directory = directoryRead(q, segs);
        if (directory != null) return directory;
        Matcher alt = Pattern.compile("(applications|serviceprincipals)\\(appid='([^']*)'\\)").matcher(hl);
        String coll;
        String objectId = segs.length > 1 ? segs[1] : null;
        if (alt.matches()) {
            coll = alt.group(1);
            String appId = alt.group(2);
            Map<String, ObjectNode> src = coll.equals("applications") ? apps : servicePrincipals;
            objectId = src.values().stream().filter(x -> x.path("appId").asText().equalsIgnoreCase(appId))
                    .map(x -> x.path("id").asText()).findFirst().orElse("missing-" + appId);
            String[] shifted = new String[segs.length + 1];
            shifted[0] = coll;
            shifted[1] = objectId;
            System.arraycopy(segs, 1, shifted, 2, segs.length - 1);
            segs = shifted;
        } else {
            coll = hl;
        }
        if (hl.equals("directory")) return deletedItems(q, segs);
        if (!coll.equals("applications") && !coll.equals("serviceprincipals")) {
            return graphError(400, "BadRequest", "Resource not found for the segment '" + head + "'.");
        }
        if (write && denyDirectoryWrites) {
            return graphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.");
        }
        Map<String, ObjectNode> store = coll.equals("applications") ? apps : servicePrincipals;
        if (segs.length == 1) {
            if (m.equals("GET")) {
                String filter = q.q("$filter");
                Map<String, String> terms = filterTerms(filter);
                if (filter != null && (terms.isEmpty() || !Set.of("displayname", "appid", "id").containsAll(terms.keySet())
                        || filter.toLowerCase(Locale.ROOT).contains(" or "))) {
                    return graphError(400, "Request_UnsupportedQuery", "Unsupported query (the fake knows \"displayName eq\", \"appId eq\", \"id eq\"): " + filter);
                }
                ObjectNode out = M.createObjectNode();
                ArrayNode v = out.putArray("value");
                for (ObjectNode o : store.values()) {
                    boolean ok = true;
                    for (Map.Entry<String, String> t : terms.entrySet()) {
                        String field = t.getKey().equals("displayname") ? "displayName" : t.getKey().equals("appid") ? "appId" : t.getKey();
                        if (!o.path(field).asText().equals(t.getValue())) ok = false;
                    }
                    if (ok) v.add(o.deepCopy());
                }
                return json(200, out);
            }
            if (m.equals("POST")) return coll.equals("applications") ? createApp(q) : createSp(q);
            return graphError(405, "Request_BadRequest", "Method not allowed.");
        }
        ObjectNode obj = store.get(segs[1].toLowerCase(Locale.ROOT));
        if (obj == null) {
            return graphError(404, "Request_ResourceNotFound", "Resource '" + segs[1] + "' does not exist or one of its queried reference-property objects are not present.");
        }
        if (segs.length == 2) {
            switch (m) {
                case "GET" -> {
                    return json(200, obj);
                }
                case "PATCH" -> {
                    ObjectNode b = parseGraphBody(q);
                    b.remove(List.of("id", "appId"));
                    obj.setAll(b);
                    return empty(204, Map.of());
                }
                case "DELETE" -> {
                    store.remove(segs[1].toLowerCase(Locale.ROOT));
                    deletedObjects.put(segs[1].toLowerCase(Locale.ROOT), obj.deepCopy().put("@odata.type",
                            coll.equals("applications") ? "#microsoft.graph.application" : "#microsoft.graph.servicePrincipal"));
                    if (coll.equals("applications")) {
                        String appId = obj.path("appId").asText();
                        servicePrincipals.values().removeIf(sp -> {
                            boolean gone = sp.path("appId").asText().equalsIgnoreCase(appId);
                            if (gone) principals.remove(sp.path("id").asText().toLowerCase(Locale.ROOT));
                            return gone;
                        });
                    } else {
                        principals.remove(obj.path("id").asText().toLowerCase(Locale.ROOT));
                    }
                    return empty(204, Map.of());
                }
                default -> {
                    return graphError(405, "Request_BadRequest", "Method not allowed.");
                }
            }
        }
        if (segs.length == 3 && coll.equals("applications") && m.equals("POST")) {
            String action = segs[2].toLowerCase(Locale.ROOT);
            if (action.equals("addpassword")) {
                ObjectNode b = q.body().length == 0 ? M.createObjectNode() : parseGraphBody(q);
                JsonNode pc = b.path("passwordCredential");
                String owner = "graph:application:" + obj.path("displayName").asText() + "#" + ordinal(obj);
                ObjectNode cred = M.createObjectNode();
                cred.putNull("customKeyIdentifier");
                cred.put("displayName", pc.path("displayName").asText(null));
                cred.put("endDateTime", pc.path("endDateTime").asText("2099-01-01T00:00:00Z"));
                cred.put("keyId", newGuid(owner, "keyId" + obj.withArray("passwordCredentials").size()));
                cred.put("startDateTime", java.time.Instant.now().toString());
                String secret = newGuid(owner, "secret" + obj.withArray("passwordCredentials").size()).replace("-", "") + "~Fk";
                generated.put(secret, "{generated:" + owner + "#secret" + obj.withArray("passwordCredentials").size() + "}");
                cred.put("hint", secret.substring(0, 3));
                obj.withArray("passwordCredentials").add(cred.deepCopy());
                cred.put("secretText", secret);
                return json(200, cred);
            }
            if (action.equals("removepassword")) {
                String keyId = parseGraphBody(q).path("keyId").asText("");
                ArrayNode pcs = obj.withArray("passwordCredentials");
                boolean found = false;
                for (int i = pcs.size() - 1; i >= 0; i--) {
                    if (pcs.get(i).path("keyId").asText().equalsIgnoreCase(keyId)) {
                        pcs.remove(i);
                        found = true;
                    }
                }
                return found ? empty(204, Map.of()) : graphError(400, "Request_BadRequest", "No password credential with keyId '" + keyId + "'.");
            }
        }
        return graphError(400, "BadRequest", "Resource not found for the segment '" + segs[segs.length - 1] + "'.");
    }

    private int ordinal(ObjectNode app) {
        int n = 0;
        for (ObjectNode o : apps.values()) {
            if (o.path("displayName").asText().equals(app.path("displayName").asText())) n++;
            if (o == app) return n;
        }
        return n + 1;
    }

    private static ObjectNode parseGraphBody(Req q) {
        try {
            JsonNode n = M.readTree(q.body());
            if (n == null || !n.isObject()) throw new BadRequest(graphError(400, "Request_BadRequest", "Invalid request body."));
            return (ObjectNode) n;
        } catch (IOException e) {
            throw new BadRequest(graphError(400, "Request_BadRequest", "Invalid JSON: " + e.getMessage()));
        }
    }

    private Answer createApp(Req q) {
        ObjectNode b = parseGraphBody(q);
        String dn = b.path("displayName").asText("");
        if (dn.isEmpty()) return graphError(400, "Request_BadRequest", "A value is required for property 'displayName' of resource 'Application'.");
        int n = 1;
        for (ObjectNode o : apps.values()) if (o.path("displayName").asText().equals(dn)) n++;
        String owner = "graph:application:" + dn + "#" + n;
        ObjectNode app = M.createObjectNode();
        app.put("id", newGuid(owner, "id"));
        app.put("appId", newGuid(owner, "appId"));
        app.put("displayName", dn);
        app.put("signInAudience", "AzureADMyOrg");
        app.put("createdDateTime", java.time.Instant.now().toString());
        app.putArray("passwordCredentials");
        app.putArray("keyCredentials");
        b.remove(List.of("id", "appId", "passwordCredentials"));
        app.setAll(b);
        apps.put(app.path("id").asText().toLowerCase(Locale.ROOT), app);
        return json(201, app, Map.of("Location", q.base() + "/v1.0/applications/" + app.path("id").asText()));
    }

    private Answer createSp(Req q) {
        ObjectNode b = parseGraphBody(q);
        String appId = b.path("appId").asText("");
        ObjectNode app = apps.values().stream().filter(x -> x.path("appId").asText().equalsIgnoreCase(appId)).findFirst().orElse(null);
        if (app == null) {
            return graphError(400, "Request_BadRequest", "The appId '" + appId + "' of the service principal does not reference a valid application object.");
        }
        for (ObjectNode sp : servicePrincipals.values()) {
            if (sp.path("appId").asText().equalsIgnoreCase(appId)) {
                return graphError(409, "Request_MultipleObjectsWithSameKeyValue",
                        "Another object with the same value for property servicePrincipalNames already exists.");
            }
        }
        String owner = "graph:servicePrincipal:" + app.path("displayName").asText() + "#" + ordinal(app);
        ObjectNode sp = M.createObjectNode();
        sp.put("id", newGuid(owner, "id"));
        sp.put("appId", app.path("appId").asText());
        sp.put("displayName", app.path("displayName").asText());
        sp.put("servicePrincipalType", "Application");
        sp.put("accountEnabled", true);
        sp.putArray("servicePrincipalNames").add(app.path("appId").asText());
        servicePrincipals.put(sp.path("id").asText().toLowerCase(Locale.ROOT), sp);
        String pid = sp.path("id").asText();
        principals.put(pid.toLowerCase(Locale.ROOT), new Principal(pid, "ServicePrincipal", System.nanoTime()));
        return json(201, sp);
    }
}
