package azure;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which Metaflow stack: its prefix, env and region, and every name, tag and Azure id derived from them. All three
 * scripts use this one value; what provision decides besides (sizes, versions, ranges) is {@link Settings}. Pure: no I/O.
 *
 * <p>Naming scheme. The prefix is 1-12 and the env 1-8 lowercase letters or digits, starting with a letter,
 * so that the tightest name, the storage account {@code st<prefix>mf<env>} (3-24 chars, no hyphens),
 * is at most 2+12+2+8 = 24 characters. Every other name has room to spare under its own limit.
 */
public record Stack(String prefix, String env, String location, String postgresSuffix) {

    public static final String DEFAULT_ENV = "default";
    public static final String DEFAULT_LOCATION = "eastus";
    public static final int PREFIX_MAX = 12;
    public static final int ENV_MAX = 8;

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
    /** The GPU pool (--gpu-pool): 12 characters at most, as AKS pool names are. */
    public String gpuPool() { return "gpuworkers"; }
    public String identity() { return "id-" + prefix + "-metaflow-" + env; }
    /** The container registry: globally unique, 5-50 letters and digits ({@code cr<prefix>mf<env>}, at most 24). */
    public String registry() { return "cr" + prefix + "mf" + env; }
    /** The Key Vault of the Docker Hub login: globally unique, 3-24 letters, digits and hyphens ({@code kv<prefix>mf<env>}, at most 24). */
    public String vault() { return "kv" + prefix + "mf" + env; }
    public String applicationName() { return "app-" + prefix + "-metaflow-" + env; }
    /** The group AKS makes for the cluster's nodes when none is named: MC_{group}_{cluster}_{region} (AKS FAQ). */
    public String nodeResourceGroup() { return "MC_" + resourceGroup() + "_" + aks() + "_" + location; }

    /** Kubernetes namespace flows run in: Metaflow's task pods and Argo objects, everything a grantee works with. */
    public String kubeNamespace() { return "metaflow"; }
    /**
     * Kubernetes namespace of the Metaflow services and their database Secret: apart from the flows, because whoever may
     * create pods in a namespace may mount every Secret there.
     */
    public String servicesNamespace() { return "metaflow-services"; }
    /** Service account the services (in their namespace) and tasks (in theirs) run as; both tokens are federated with the identity. */
    public String kubeServiceAccount() { return "metaflow"; }
    /** Namespace Argo Events' event bus and webhook source live in. */
    public String argoEventsNamespace() { return "argo-events"; }

    // --- Azure ids (in subscription {@code sub}) -----------------------------------------------------

    public String groupId(String sub) { return "/subscriptions/" + sub + "/resourceGroups/" + resourceGroup(); }
    public String nodeGroupId(String sub, String nodeGroup) { return "/subscriptions/" + sub + "/resourceGroups/" + nodeGroup; }
    public String aksId(String sub) { return groupId(sub) + "/providers/Microsoft.ContainerService/managedClusters/" + aks(); }
    public String postgresId(String sub) { return groupId(sub) + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + postgresServer(); }
    public String storageId(String sub) { return groupId(sub) + "/providers/Microsoft.Storage/storageAccounts/" + storageAccount(); }
    public String identityId(String sub) { return groupId(sub) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + identity(); }
    public String registryId(String sub) { return groupId(sub) + "/providers/Microsoft.ContainerRegistry/registries/" + registry(); }
    public String vaultId(String sub) { return groupId(sub) + "/providers/Microsoft.KeyVault/vaults/" + vault(); }
    public String containerId(String sub) { return storageId(sub) + "/blobServices/default/containers/" + container(); }

    // --- tags ----------------------------------------------------------------------------------------

    public static final String TAG_STACK = "metaflow-stack";
    public static final String TAG_PREFIX = "metaflow-prefix";
    public static final String TAG_ENV = "metaflow-env";
    public static final String TAG_MANAGED_BY = "managed-by";
    public static final String MANAGED_BY = "metaflow-azure-toolkit";

    /** The tags that mark a resource as this stack's; teardown and discovery rely on them. */
    public Map<String, String> tags() {
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put(TAG_STACK, name());
        tags.put(TAG_PREFIX, prefix);
        tags.put(TAG_ENV, env);
        tags.put(TAG_MANAGED_BY, MANAGED_BY);
        return tags;
    }

    public boolean ownsTags(Map<String, String> tags) {
        return tags != null && name().equals(tags.get(TAG_STACK)) && MANAGED_BY.equals(tags.get(TAG_MANAGED_BY));
    }

    /** The arguments that name this stack on a command line (defaults left out). */
    public String args() {
        return "--prefix " + prefix + (env.equals(DEFAULT_ENV) ? "" : " --env " + env)
                + (location.equals(DEFAULT_LOCATION) ? "" : " --location " + location);
    }

    // --- validation -----------------------------------------------------------------------------------

    static final Pattern LABEL = Pattern.compile("[a-z][a-z0-9]*");

    /** Validates the stack's names and returns it; throws {@link InputException} on the first bad value. */
    public static Stack of(String prefix, String env, String location, Clouds.Cloud cloud) {
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
        return new Stack(prefix, env, loc, cloud.postgresSuffix());
    }

    /** The same stack, with the names a cloud found after sign-in gives it (the PostgreSQL DNS suffix). */
    public Stack in(Clouds.Cloud cloud) {
        return of(prefix, env, location, cloud);
    }

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
        n.put("container registry", registry());
        n.put("key vault", vault());
        n.put("AAD application", applicationName());
        return n;
    }
}
