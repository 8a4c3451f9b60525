import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One Metaflow stack: what the user chose, and every name and tag derived from it. Pure: no I/O.
 *
 * <p>Naming scheme. The prefix is 1-12 and the env 1-8 lowercase letters or digits, starting with a letter,
 * so that the tightest name, the storage account {@code st<prefix>mf<env>} (3-24 chars, no hyphens),
 * is at most 2+12+2+8 = 24 characters. Every other name has room to spare under its own limit.
 */
public record Stack(String prefix, String env, String location, Settings settings, String postgresSuffix) {

    public static final String DEFAULT_ENV = "default";
    public static final String DEFAULT_LOCATION = "eastus";
    public static final int PREFIX_MAX = 12;
    public static final int ENV_MAX = 8;

    /** Everything besides the identity of the stack. */
    public record Settings(
            String systemVmSize, int systemMin, int systemMax,
            String workerVmSize, int workersMin, int workersMax,
            String kubernetesVersion,
            String postgresVersion, String postgresSku, int postgresStorageGb,
            boolean servicePrincipal,
            String dbSubnetCidr, String k8sSubnetCidr, String podCidr) {

        public static Settings defaults() {
            return new Settings("Standard_D2s_v5", 1, 3, "Standard_D4s_v5", 1, 10, null,
                    "16", "Standard_B2s", 32, false, DEFAULT_DB_SUBNET, DEFAULT_K8S_SUBNET, DEFAULT_POD_CIDR);
        }

        public Settings withK8sSubnet(String cidr) {
            return new Settings(systemVmSize, systemMin, systemMax, workerVmSize, workersMin, workersMax, kubernetesVersion,
                    postgresVersion, postgresSku, postgresStorageGb, servicePrincipal, dbSubnetCidr, cidr, podCidr);
        }

        /** Node addresses the AKS subnet must hold: every node both pools may scale to, plus one surge node per pool. */
        public int nodesNeeded() {
            return systemMax + workersMax + 2;
        }

        public String postgresTier() {
            String family = postgresSku.substring("Standard_".length(), "Standard_".length() + 1);
            return switch (family) {
                case "B" -> "Burstable";
                case "D" -> "GeneralPurpose";
                case "E" -> "MemoryOptimized";
                default -> throw new IllegalStateException("validated earlier: " + postgresSku);
            };
        }
    }

    /** A value the user gave that breaks a rule: the option, the rule, and a value that works. */
    public static final class InputException extends RuntimeException {
        public final String option;

        public InputException(String option, String rule, String example) {
            super(option + ": " + rule + (example == null ? "" : " (example: " + option + " " + example + ")"));
            this.option = option;
        }
    }

    // --- names -------------------------------------------------------------------------------------

    public String name() { return prefix + "-" + env; }
    public String resourceGroup() { return "rg-" + prefix + "-metaflow-" + env + "-" + location; }
    public String vnet() { return "vnet-" + prefix + "-metaflow-" + env; }
    public String dbSubnet() { return "snet-db"; }
    public String k8sSubnet() { return "snet-k8s"; }
    public String dnsZone() { return "metaflow." + postgresSuffix; }
    public String dnsLink() { return "link-" + vnet(); }
    public String postgresServer() { return "psql-" + prefix + "-metaflow-" + env; }
    public String database() { return "metaflow"; }
    public String postgresAdmin() { return "metaflow"; }
    public String storageAccount() { return "st" + prefix + "mf" + env; }
    public String container() { return "metaflow-storage-container"; }
    public String sysrootPath() { return "metaflow"; }
    public String aks() { return "aks-" + prefix + "-metaflow-" + env; }
    public String aksDnsPrefix() { return prefix + "-" + env + "-metaflow"; }
    public String systemPool() { return "system"; }
    public String workerPool() { return "taskworkers"; }
    public String identity() { return "id-" + prefix + "-metaflow-" + env; }
    public String applicationName() { return "app-" + prefix + "-metaflow-" + env; }

    /** Kubernetes namespace the Metaflow services and task pods run in. */
    public String kubeNamespace() { return "metaflow"; }
    /** Service account the services and tasks run as; its token is federated with the identity. */
    public String kubeServiceAccount() { return "metaflow"; }
    /** Namespace Argo Workflows runs its workflow pods in for Metaflow (same as the tasks). */
    public String argoEventsNamespace() { return "argo-events"; }

    public static final String TAG_STACK = "metaflow-stack";
    public static final String TAG_MANAGED_BY = "managed-by";
    public static final String MANAGED_BY = "metaflow-azure-toolkit";

    /** The tags that mark a resource as this stack's; teardown and discovery rely on them. */
    public Map<String, String> tags() {
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put(TAG_STACK, name());
        tags.put("metaflow-prefix", prefix);
        tags.put("metaflow-env", env);
        tags.put(TAG_MANAGED_BY, MANAGED_BY);
        return tags;
    }

    public boolean ownsTags(Map<String, String> tags) {
        return tags != null && name().equals(tags.get(TAG_STACK)) && MANAGED_BY.equals(tags.get(TAG_MANAGED_BY));
    }

    // --- validation -----------------------------------------------------------------------------------

    private static final Pattern LABEL = Pattern.compile("[a-z][a-z0-9]*");
    private static final Pattern VM_SIZE = Pattern.compile("Standard_[A-Za-z0-9]+(_[A-Za-z0-9]+)*");
    private static final Pattern PG_SKU = Pattern.compile("Standard_[BDE][A-Za-z0-9]+(_v[0-9]+)?");
    private static final Pattern K8S_VERSION = Pattern.compile("[1-9][0-9]*\\.[0-9]+(\\.[0-9]+)?");
    private static final Pattern CIDR = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})/(\\d{1,2})");
    public static final Set<String> POSTGRES_VERSIONS = Set.of("13", "14", "15", "16", "17");
    /**
     * The sizes (GiB) Flexible Server's Premium SSD storage takes (stack.md §5 item 12; the SDK's and the REST spec's
     * storageSizeGB is a plain int, so only the service enforces this list).
     */
    public static final List<Integer> POSTGRES_STORAGE_SIZES = List.of(32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767);
    public static final String DEFAULT_DB_SUBNET = "172.16.0.0/24";
    /**
     * With Azure CNI Overlay the subnet holds node addresses only: a /22 gives 1019 (1024 minus the 5 Azure reserves),
     * enough for the default system pool with the largest --workers-max accepted (3 + 1000 + 2 surge).
     */
    public static final String DEFAULT_K8S_SUBNET = "172.17.0.0/22";
    /** Overlay pod range: outside the vnet; each node takes a /24 of it (a /16 holds 256 nodes). */
    public static final String DEFAULT_POD_CIDR = "10.244.0.0/16";
    /** Azure keeps the first four and the last address of every subnet (Azure Virtual Network FAQ). */
    public static final int AZURE_RESERVED_PER_SUBNET = 5;

    /** Validates every input and returns the stack; throws {@link InputException} on the first bad value. */
    public static Stack of(String prefix, String env, String location, Settings s, Clouds.Cloud cloud) {
        checkLabel("--prefix", prefix, PREFIX_MAX, "acme");
        checkLabel("--env", env, ENV_MAX, "dev");
        if (location == null || location.isEmpty()) {
            throw new InputException("--location", "a region is required", DEFAULT_LOCATION);
        }
        String loc = location.toLowerCase(Locale.ROOT).replace(" ", "");
        if (!cloud.regions().isEmpty() && !cloud.regions().contains(loc)) {
            throw new InputException("--location", "'" + location + "' is not a region of the " + cloud.name()
                    + " cloud", cloud.regions().iterator().next());
        }
        if (cloud.regions().isEmpty() && !LABEL.matcher(loc).matches()) {
            throw new InputException("--location", "'" + location + "' is not a region name (lowercase letters and digits)", "local");
        }
        checkVmSize("--system-vm-size", s.systemVmSize());
        checkVmSize("--worker-vm-size", s.workerVmSize());
        checkBounds("--system-min", "--system-max", s.systemMin(), s.systemMax(), 1, 100);
        checkBounds("--workers-min", "--workers-max", s.workersMin(), s.workersMax(), 0, 1000);
        if (s.kubernetesVersion() != null && !K8S_VERSION.matcher(s.kubernetesVersion()).matches()) {
            throw new InputException("--kubernetes-version", "'" + s.kubernetesVersion()
                    + "' is not a Kubernetes version (major.minor or major.minor.patch)", "1.33");
        }
        if (!POSTGRES_VERSIONS.contains(s.postgresVersion())) {
            throw new InputException("--postgres-version", "'" + s.postgresVersion() + "' is not a PostgreSQL major version "
                    + "Flexible Server offers (13-17)", "16");
        }
        if (s.postgresSku() == null || !PG_SKU.matcher(s.postgresSku()).matches()) {
            throw new InputException("--postgres-sku", "'" + s.postgresSku() + "' is not a Flexible Server SKU "
                    + "(Standard_B* Burstable, Standard_D* General Purpose, Standard_E* Memory Optimized)", "Standard_B2s");
        }
        if (!POSTGRES_STORAGE_SIZES.contains(s.postgresStorageGb())) {
            throw new InputException("--postgres-storage-gb", s.postgresStorageGb() + " is not a size Flexible Server storage takes; "
                    + "use one of " + POSTGRES_STORAGE_SIZES.toString().replaceAll("[\\[\\]]", ""), "64");
        }
        long[] db = checkCidr("--db-subnet", s.dbSubnetCidr(), 28, DEFAULT_DB_SUBNET);
        // Azure's smallest subnet is a /29; whether it holds the pools is checked below, with the numbers.
        long[] k8s = checkCidr("--k8s-subnet", s.k8sSubnetCidr(), 29, DEFAULT_K8S_SUBNET);
        if (db[0] <= k8s[1] && k8s[0] <= db[1]) {
            throw new InputException("--k8s-subnet", s.k8sSubnetCidr() + " overlaps --db-subnet " + s.dbSubnetCidr(), DEFAULT_K8S_SUBNET);
        }
        long[] svc = range(SERVICE_CIDR);
        for (var r : List.of(Map.entry("--db-subnet", db), Map.entry("--k8s-subnet", k8s))) {
            if (r.getValue()[0] <= svc[1] && svc[0] <= r.getValue()[1]) {
                throw new InputException(r.getKey(), "overlaps the Kubernetes service range " + SERVICE_CIDR, DEFAULT_K8S_SUBNET);
            }
        }
        long usable = k8s[1] - k8s[0] + 1 - AZURE_RESERVED_PER_SUBNET;
        if (usable < s.nodesNeeded()) {
            throw new InputException("--k8s-subnet", s.k8sSubnetCidr() + " holds " + usable + " node addresses (" + (k8s[1] - k8s[0] + 1)
                    + " minus the " + AZURE_RESERVED_PER_SUBNET + " Azure reserves), but the pools need " + s.nodesNeeded() + " (--system-max "
                    + s.systemMax() + " + --workers-max " + s.workersMax() + " + 1 surge node per pool)", smallestHolding(k8s[0], s.nodesNeeded()));
        }
        // Overlay: pods take addresses from a range of their own, which must not be reachable inside the vnet.
        long[] pod = checkCidr("--pod-cidr", s.podCidr(), 24, DEFAULT_POD_CIDR);
        for (var r : List.of(Map.entry("--db-subnet " + s.dbSubnetCidr(), db), Map.entry("--k8s-subnet " + s.k8sSubnetCidr(), k8s),
                Map.entry("the Kubernetes service range " + SERVICE_CIDR, svc))) {
            if (r.getValue()[0] <= pod[1] && pod[0] <= r.getValue()[1]) {
                throw new InputException("--pod-cidr", s.podCidr() + " overlaps " + r.getKey(), DEFAULT_POD_CIDR);
            }
        }
        long podNodes = (pod[1] - pod[0] + 1) / 256;
        if (podNodes < s.nodesNeeded()) {
            throw new InputException("--pod-cidr", s.podCidr() + " holds " + podNodes + " node ranges (each node takes a /24), but the pools need "
                    + s.nodesNeeded(), DEFAULT_POD_CIDR);
        }
        return new Stack(prefix, env, loc, s, cloud.postgresSuffix());
    }

    /** Cluster-internal service range; must not overlap the subnets. */
    public static final String SERVICE_CIDR = "10.0.0.0/16";
    public static final String DNS_SERVICE_IP = "10.0.0.10";

    private static void checkLabel(String option, String value, int max, String example) {
        if (value == null || value.isEmpty()) {
            throw new InputException(option, "a value is required: 1-" + max + " lowercase letters or digits, starting with a letter", example);
        }
        if (value.length() > max) {
            throw new InputException(option, "'" + value + "' is " + value.length() + " characters; at most " + max
                    + " (it becomes part of the storage account name, which Azure limits to 24)", example);
        }
        if (!LABEL.matcher(value).matches()) {
            throw new InputException(option, "'" + value + "' may only hold lowercase letters a-z and digits, starting with a letter "
                    + "(no hyphens, capitals or other characters: the storage account name allows nothing else)", example);
        }
    }

    private static void checkVmSize(String option, String value) {
        if (value == null || !VM_SIZE.matcher(value).matches()) {
            throw new InputException(option, "'" + value + "' is not an Azure VM size name (Standard_<size>)", "Standard_D4s_v5");
        }
    }

    private static void checkBounds(String minOpt, String maxOpt, int min, int max, int floor, int ceiling) {
        if (min < floor || min > ceiling) {
            throw new InputException(minOpt, "must be between " + floor + " and " + ceiling + ", got " + min, String.valueOf(Math.max(floor, 1)));
        }
        if (max < 1 || max > ceiling) {
            throw new InputException(maxOpt, "must be between 1 and " + ceiling + ", got " + max, "10");
        }
        if (min > max) {
            throw new InputException(maxOpt, "must not be below " + minOpt + " (" + min + " > " + max + ")", String.valueOf(Math.max(min, 10)));
        }
    }

    private static long[] checkCidr(String option, String value, int smallestPrefix, String example) {
        var m = value == null ? null : CIDR.matcher(value);
        if (m == null || !m.matches()) {
            throw new InputException(option, "'" + value + "' is not an IPv4 CIDR range (a.b.c.d/n)", example);
        }
        long addr = 0;
        for (int i = 1; i <= 4; i++) {
            int octet = Integer.parseInt(m.group(i));
            if (octet > 255) throw new InputException(option, "'" + value + "' has an octet above 255", example);
            addr = (addr << 8) | octet;
        }
        int bits = Integer.parseInt(m.group(5));
        if (bits < 8 || bits > smallestPrefix) {
            throw new InputException(option, "'" + value + "' must be between /8 and /" + smallestPrefix, example);
        }
        long size = 1L << (32 - bits);
        if (addr % size != 0) {
            throw new InputException(option, "'" + value + "' has host bits set; the range starts at "
                    + toIp(addr - addr % size) + "/" + bits, toIp(addr - addr % size) + "/" + bits);
        }
        return new long[] {addr, addr + size - 1};
    }

    static long[] range(String cidr) {
        String[] parts = cidr.split("/");
        long addr = 0;
        for (String o : parts[0].split("\\.")) addr = (addr << 8) | Integer.parseInt(o);
        return new long[] {addr, addr + (1L << (32 - Integer.parseInt(parts[1]))) - 1};
    }

    /** The smallest range starting at {@code start} with room for {@code nodes} node addresses, as an example. */
    private static String smallestHolding(long start, int nodes) {
        int bits = 29;
        while (bits > 8 && (1L << (32 - bits)) - AZURE_RESERVED_PER_SUBNET < nodes) bits--;
        long size = 1L << (32 - bits);
        return toIp(start - start % size) + "/" + bits;
    }

    private static String toIp(long a) {
        return ((a >> 24) & 255) + "." + ((a >> 16) & 255) + "." + ((a >> 8) & 255) + "." + (a & 255);
    }

    /** All names, for display and for tests that check every name against Azure's rules. */
    public Map<String, String> names() {
        Map<String, String> n = new LinkedHashMap<>();
        n.put("resource group", resourceGroup());
        n.put("virtual network", vnet());
        n.put("private DNS zone", dnsZone());
        n.put("PostgreSQL server", postgresServer());
        n.put("storage account", storageAccount());
        n.put("AKS cluster", aks());
        n.put("AKS DNS prefix", aksDnsPrefix());
        n.put("system node pool", systemPool());
        n.put("worker node pool", workerPool());
        n.put("managed identity", identity());
        n.put("AAD application", applicationName());
        return n;
    }
}
