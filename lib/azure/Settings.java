package azure;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What provision decides about a stack besides its names: node pools, versions, PostgreSQL size and the network
 * ranges. Only provision has these; services and teardown work from {@link Stack} and what exists in Azure.
 */
public record Settings(
        String systemVmSize, int systemMin, int systemMax,
        String workerVmSize, int workersMin, int workersMax,
        String kubernetesVersion,
        String postgresVersion, String postgresSku, int postgresStorageGb,
        boolean servicePrincipal,
        String dbSubnetCidr, String k8sSubnetCidr, String podCidr,
        String gpuVmSize, int gpuMin, int gpuMax, boolean spot,
        Registry.Options registry) {

    /** The GPU pool's autoscale range when --gpu-min/--gpu-max are not given. */
    public static final int DEFAULT_GPU_MIN = 0;
    public static final int DEFAULT_GPU_MAX = 2;

    /** Settings without a GPU pool, on regular VMs (the options' defaults for those). */
    public Settings(String systemVmSize, int systemMin, int systemMax, String workerVmSize, int workersMin, int workersMax,
                    String kubernetesVersion, String postgresVersion, String postgresSku, int postgresStorageGb, boolean servicePrincipal,
                    String dbSubnetCidr, String k8sSubnetCidr, String podCidr) {
        this(systemVmSize, systemMin, systemMax, workerVmSize, workersMin, workersMax, kubernetesVersion, postgresVersion, postgresSku,
                postgresStorageGb, servicePrincipal, dbSubnetCidr, k8sSubnetCidr, podCidr, null, DEFAULT_GPU_MIN, DEFAULT_GPU_MAX, false);
    }

    /** Settings with the registry's defaults ({@link Registry.Options#DEFAULT}). */
    public Settings(String systemVmSize, int systemMin, int systemMax, String workerVmSize, int workersMin, int workersMax,
                    String kubernetesVersion, String postgresVersion, String postgresSku, int postgresStorageGb, boolean servicePrincipal,
                    String dbSubnetCidr, String k8sSubnetCidr, String podCidr, String gpuVmSize, int gpuMin, int gpuMax, boolean spot) {
        this(systemVmSize, systemMin, systemMax, workerVmSize, workersMin, workersMax, kubernetesVersion, postgresVersion, postgresSku,
                postgresStorageGb, servicePrincipal, dbSubnetCidr, k8sSubnetCidr, podCidr, gpuVmSize, gpuMin, gpuMax, spot, Registry.Options.DEFAULT);
    }

    public Settings withK8sSubnet(String cidr) {
        return new Settings(systemVmSize, systemMin, systemMax, workerVmSize, workersMin, workersMax, kubernetesVersion,
                postgresVersion, postgresSku, postgresStorageGb, servicePrincipal, dbSubnetCidr, cidr, podCidr, gpuVmSize, gpuMin, gpuMax, spot, registry);
    }

    /** The same settings with these registry options. */
    public Settings withRegistry(Registry.Options r) {
        return new Settings(systemVmSize, systemMin, systemMax, workerVmSize, workersMin, workersMax, kubernetesVersion,
                postgresVersion, postgresSku, postgresStorageGb, servicePrincipal, dbSubnetCidr, k8sSubnetCidr, podCidr, gpuVmSize, gpuMin, gpuMax, spot, r);
    }

    /** Whether the stack has a GPU pool (--gpu-pool). */
    public boolean gpu() {
        return gpuVmSize != null;
    }

    /** Node addresses the AKS subnet must hold: every node the pools may scale to, plus one surge node per pool. */
    public int nodesNeeded() {
        return systemMax + workersMax + 2 + (gpu() ? gpuMax + 1 : 0);
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

    private static final Pattern VM_SIZE = Pattern.compile("Standard_[A-Za-z0-9]+(_[A-Za-z0-9]+)*");
    private static final Pattern PG_SKU = Pattern.compile("Standard_[BDE][A-Za-z0-9]+(_v[0-9]+)?");
    private static final Pattern K8S_VERSION = Pattern.compile("[1-9][0-9]*\\.[0-9]+(\\.[0-9]+)?");
    private static final Pattern CIDR = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})/(\\d{1,2})");
    /** A version AKS offers a Free-tier cluster today (Azure/AKS CHANGELOG 2026-07-17: 1.34-1.36 standard, 1.33 LTS only). */
    public static final String EXAMPLE_K8S_VERSION = "1.35";
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

    /** Validates every setting and returns them; throws {@link Stack.InputException} on the first bad value. */
    public Settings checked() {
        checkVmSize("--system-vm-size", systemVmSize());
        checkVmSize("--worker-vm-size", workerVmSize());
        checkBounds("--system-min", "--system-max", systemMin(), systemMax(), 1, 100);
        checkBounds("--workers-min", "--workers-max", workersMin(), workersMax(), 0, 1000);
        if (gpu()) {
            checkVmSize("--gpu-pool", gpuVmSize());
            checkBounds("--gpu-min", "--gpu-max", gpuMin(), gpuMax(), 0, 100);
        }
        if (kubernetesVersion() != null && !K8S_VERSION.matcher(kubernetesVersion()).matches()) {
            throw new Stack.InputException("--kubernetes-version", "'" + kubernetesVersion()
                    + "' is not a Kubernetes version (major.minor or major.minor.patch)", EXAMPLE_K8S_VERSION);
        }
        if (!POSTGRES_VERSIONS.contains(postgresVersion())) {
            throw new Stack.InputException("--postgres-version", "'" + postgresVersion() + "' is not a PostgreSQL major version "
                    + "Flexible Server offers (13-17)", "16");
        }
        if (postgresSku() == null || !PG_SKU.matcher(postgresSku()).matches()) {
            throw new Stack.InputException("--postgres-sku", "'" + postgresSku() + "' is not a Flexible Server SKU "
                    + "(Standard_B* Burstable, Standard_D* General Purpose, Standard_E* Memory Optimized)", "Standard_B2s");
        }
        if (!POSTGRES_STORAGE_SIZES.contains(postgresStorageGb())) {
            throw new Stack.InputException("--postgres-storage-gb", postgresStorageGb() + " is not a size Flexible Server storage takes; "
                    + "use one of " + POSTGRES_STORAGE_SIZES.toString().replaceAll("[\\[\\]]", ""), "64");
        }
        long[] db = checkCidr("--db-subnet", dbSubnetCidr(), 28, DEFAULT_DB_SUBNET);
        // Azure's smallest subnet is a /29; whether it holds the pools is checked below, with the numbers.
        long[] k8s = checkCidr("--k8s-subnet", k8sSubnetCidr(), 29, DEFAULT_K8S_SUBNET);
        if (db[0] <= k8s[1] && k8s[0] <= db[1]) {
            throw new Stack.InputException("--k8s-subnet", k8sSubnetCidr() + " overlaps --db-subnet " + dbSubnetCidr(), DEFAULT_K8S_SUBNET);
        }
        long[] svc = range(SERVICE_CIDR);
        for (var r : List.of(Map.entry("--db-subnet", db), Map.entry("--k8s-subnet", k8s))) {
            if (r.getValue()[0] <= svc[1] && svc[0] <= r.getValue()[1]) {
                throw new Stack.InputException(r.getKey(), "overlaps the Kubernetes service range " + SERVICE_CIDR, DEFAULT_K8S_SUBNET);
            }
        }
        long usable = k8s[1] - k8s[0] + 1 - AZURE_RESERVED_PER_SUBNET;
        if (usable < nodesNeeded()) {
            throw new Stack.InputException("--k8s-subnet", k8sSubnetCidr() + " holds " + usable + " node addresses (" + (k8s[1] - k8s[0] + 1)
                    + " minus the " + AZURE_RESERVED_PER_SUBNET + " Azure reserves), but the pools need " + nodesNeeded() + " (--system-max "
                    + systemMax() + " + --workers-max " + workersMax() + (gpu() ? " + --gpu-max " + gpuMax() : "") + " + 1 surge node per pool)", smallestHolding(k8s[0], nodesNeeded()));
        }
        // Overlay: pods take addresses from a range of their own, which must not be reachable inside the vnet.
        long[] pod = checkCidr("--pod-cidr", podCidr(), 24, DEFAULT_POD_CIDR);
        for (var r : List.of(Map.entry("--db-subnet " + dbSubnetCidr(), db), Map.entry("--k8s-subnet " + k8sSubnetCidr(), k8s),
                Map.entry("the Kubernetes service range " + SERVICE_CIDR, svc))) {
            if (r.getValue()[0] <= pod[1] && pod[0] <= r.getValue()[1]) {
                throw new Stack.InputException("--pod-cidr", podCidr() + " overlaps " + r.getKey(), DEFAULT_POD_CIDR);
            }
        }
        // AKS refuses these in a pod CIDR at create (Limits.AKS_RESERVED_RANGES): say so now, not after minutes of work.
        for (String reserved : Limits.AKS_RESERVED_RANGES) {
            long[] r = range(reserved);
            if (r[0] <= pod[1] && pod[0] <= r[1]) {
                throw new Stack.InputException("--pod-cidr", podCidr() + " overlaps " + reserved + ", a range AKS reserves (it refuses "
                        + "such a pod range); choose a private range outside " + String.join(", ", Limits.AKS_RESERVED_RANGES), DEFAULT_POD_CIDR);
            }
        }
        long podNodes = (pod[1] - pod[0] + 1) / 256;
        if (podNodes < nodesNeeded()) {
            throw new Stack.InputException("--pod-cidr", podCidr() + " holds " + podNodes + " node ranges (each node takes a /24), but the pools need "
                    + nodesNeeded(), DEFAULT_POD_CIDR);
        }
        registry.checked();
        return this;
    }

    /** Cluster-internal service range; must not overlap the subnets. */
    public static final String SERVICE_CIDR = "10.0.0.0/16";
    public static final String DNS_SERVICE_IP = "10.0.0.10";

    private static void checkVmSize(String option, String value) {
        if (value == null || !VM_SIZE.matcher(value).matches()) {
            throw new Stack.InputException(option, "'" + value + "' is not an Azure VM size name (Standard_<size>)", "Standard_D4s_v5");
        }
    }

    private static void checkBounds(String minOpt, String maxOpt, int min, int max, int floor, int ceiling) {
        if (min < floor || min > ceiling) {
            throw new Stack.InputException(minOpt, "must be between " + floor + " and " + ceiling + ", got " + min, String.valueOf(Math.max(floor, 1)));
        }
        if (max < 1 || max > ceiling) {
            throw new Stack.InputException(maxOpt, "must be between 1 and " + ceiling + ", got " + max, "10");
        }
        if (min > max) {
            throw new Stack.InputException(maxOpt, "must not be below " + minOpt + " (" + min + " > " + max + ")", String.valueOf(Math.max(min, 10)));
        }
    }

    private static long[] checkCidr(String option, String value, int smallestPrefix, String example) {
        var m = value == null ? null : CIDR.matcher(value);
        if (m == null || !m.matches()) {
            throw new Stack.InputException(option, "'" + value + "' is not an IPv4 CIDR range (a.b.c.d/n)", example);
        }
        long addr = 0;
        for (int i = 1; i <= 4; i++) {
            int octet = Integer.parseInt(m.group(i));
            if (octet > 255) throw new Stack.InputException(option, "'" + value + "' has an octet above 255", example);
            addr = (addr << 8) | octet;
        }
        int bits = Integer.parseInt(m.group(5));
        if (bits < 8 || bits > smallestPrefix) {
            throw new Stack.InputException(option, "'" + value + "' must be between /8 and /" + smallestPrefix, example);
        }
        long size = 1L << (32 - bits);
        if (addr % size != 0) {
            throw new Stack.InputException(option, "'" + value + "' has host bits set; the range starts at "
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
}
