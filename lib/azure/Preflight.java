package azure;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Messages;
import engine.Plan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Checks made before the first write, concurrently and read-only, for the failures the old templates met half-way
 * through an apply: a region without the service, VM sizes not offered or without quota, names taken elsewhere,
 * missing permission for role assignments or application registration, unavailable versions.
 */
public final class Preflight {
    private Preflight() {}

    public enum Status { OK, FAIL, WARN }

    /** One check's result: what was found and, when it failed, what to do. */
    public record Check(String name, Status status, String message, String hint) {
        static Check ok(String name, String message) { return new Check(name, Status.OK, message, null); }
        static Check fail(String name, String message, String hint) { return new Check(name, Status.FAIL, message, hint); }
    }

    public static boolean passed(List<Check> checks) {
        return checks.stream().noneMatch(c -> c.status() == Status.FAIL);
    }

    public static List<Check> run(Stack stack, Settings settings, Desired.Caller caller, AzureLogin.Session session, List<Plan.Step> steps) {
        Map<String, Plan.Step> byKey = new LinkedHashMap<>();
        for (Plan.Step s : steps) byKey.put(s.item().key(), s);
        Arm arm = session.arm();
        String sub = "/subscriptions/" + session.subscriptionId();
        ExecutorService pool = Executors.newFixedThreadPool(6, Plan.daemon("preflight"));
        try {
            // Compute SKUs and usages feed two checks; read them once.
            CompletableFuture<JsonNode> skus = CompletableFuture.supplyAsync(() -> readSkus(arm, sub, stack.location()), pool);
            CompletableFuture<JsonNode> usages = CompletableFuture.supplyAsync(() -> readUsages(arm, sub, stack.location()), pool);
            List<CompletableFuture<List<Check>>> checks = new ArrayList<>();
            checks.add(async(pool, "region", () -> List.of(region(arm, sub, stack))));
            checks.add(async(pool, "vm sizes", () -> vmSizesAndQuota(stack, settings, byKey, skus.join(), usages.join())));
            checks.add(async(pool, "names", () -> names(arm, sub, stack, byKey)));
            checks.add(async(pool, "permissions", () -> List.of(permissions(arm, sub, stack, caller, byKey))));
            checks.add(async(pool, "versions", () -> versions(arm, sub, stack, settings, byKey)));
            if (settings.servicePrincipal()) {
                checks.add(async(pool, "directory", () -> List.of(directory(session, byKey))));
            }
            List<Check> out = new ArrayList<>();
            for (var c : checks) out.addAll(c.join());
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private static CompletableFuture<List<Check>> async(ExecutorService pool, String name, Supplier<List<Check>> check) {
        return CompletableFuture.supplyAsync(check, pool).exceptionally(e -> {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return List.of(new Check(name, Status.WARN, "could not be checked: " + Messages.firstLine(cause.getMessage()), null));
        });
    }

    private static String norm(String location) {
        return location.toLowerCase(Locale.ROOT).replace(" ", "");
    }

    // --- region ---------------------------------------------------------------------------------------------

    static Check region(Arm arm, String sub, Stack stack) {
        List<String> missing = new ArrayList<>();
        for (String[] t : new String[][] {{"Microsoft.ContainerService", "managedClusters", "AKS"},
                {"Microsoft.DBforPostgreSQL", "flexibleServers", "PostgreSQL flexible server"}}) {
            JsonNode provider = arm.getUrl(arm.url(sub + "/providers/" + t[0], "2022-09-01"));
            boolean offered = false;
            for (JsonNode rt : provider.path("resourceTypes")) {
                if (!rt.path("resourceType").asText().equalsIgnoreCase(t[1])) continue;
                for (JsonNode l : rt.path("locations")) if (norm(l.asText()).equals(stack.location())) offered = true;
            }
            if (!offered) missing.add(t[2]);
        }
        if (!missing.isEmpty()) {
            return Check.fail("region", "region " + stack.location() + " does not offer " + String.join(" or ", missing)
                    + " to this subscription", "Choose another --location (e.g. eastus, westeurope, northeurope).");
        }
        return Check.ok("region", stack.location() + " offers AKS and PostgreSQL flexible servers");
    }

    // --- VM sizes and quota -----------------------------------------------------------------------------------

    /** A VM size as the resource SKUs API shows it: family (its quota's name, in other case), vCPUs, GPUs, restricted here. */
    record Size(String name, String family, int vcpus, int gpus, boolean restricted) {}

    static Map<String, Size> sizes(JsonNode skus, String location) {
        Map<String, Size> out = new LinkedHashMap<>();
        for (JsonNode k : skus.path("value")) {
            if (!k.path("resourceType").asText().equals("virtualMachines")) continue;
            int vcpus = 0;
            int gpus = 0;
            for (JsonNode c : k.path("capabilities")) {
                if (c.path("name").asText().equals("vCPUs")) vcpus = c.path("value").asInt();
                if (c.path("name").asText().equals("GPUs")) gpus = c.path("value").asInt();
            }
            boolean restricted = false;
            for (JsonNode r : k.path("restrictions")) {
                for (JsonNode l : r.path("restrictionInfo").path("locations")) if (norm(l.asText()).equals(location)) restricted = true;
                if (r.path("type").asText().equals("Location") && r.path("restrictionInfo").path("locations").isEmpty()) restricted = true;
            }
            out.put(k.path("name").asText().toLowerCase(Locale.ROOT), new Size(k.path("name").asText(), k.path("family").asText(), vcpus, gpus, restricted));
        }
        return out;
    }

    /** Limit and use per quota name, keyed in lower case: the SKUs API and the usages API spell family names in different case. */
    static Map<String, int[]> quota(JsonNode usages) {
        Map<String, int[]> out = new LinkedHashMap<>();
        for (JsonNode u : usages.path("value")) {
            out.put(u.path("name").path("value").asText().toLowerCase(Locale.ROOT), new int[] {u.path("currentValue").asInt(), u.path("limit").asInt()});
        }
        return out;
    }

    static List<Check> vmSizesAndQuota(Stack stack, Settings o, Map<String, Plan.Step> steps, JsonNode skus, JsonNode usages) {
        Map<String, Size> offered = sizes(skus, stack.location());
        Map<String, int[]> quota = quota(usages);
        List<Check> out = new ArrayList<>();
        Map<String, Integer> need = new LinkedHashMap<>();
        int needTotal = 0;
        boolean sizesOk = true;
        int needSpot = 0;
        List<String[]> pools = new ArrayList<>(List.of(new String[] {"--system-vm-size", o.systemVmSize(), Desired.AKS, String.valueOf(o.systemMin())},
                new String[] {"--worker-vm-size", o.workerVmSize(), Desired.WORKERS, String.valueOf(o.workersMin())}));
        if (o.gpu()) pools.add(new String[] {"--gpu-pool", o.gpuVmSize(), Desired.GPU, String.valueOf(o.gpuMax())});
        for (String[] pool : pools) {
            Size size = offered.get(pool[1].toLowerCase(Locale.ROOT));
            if (size == null || size.restricted()) {
                sizesOk = false;
                out.add(Check.fail("vm sizes", pool[1] + " (" + pool[0] + ") is " + (size == null ? "not offered" : "not available to this subscription")
                        + " in " + stack.location(), "Pass " + pool[0] + " with a size offered there, e.g. "
                        + alternatives(offered, quota, size == null ? 4 : size.vcpus(), Integer.parseInt(pool[3])) + "."));
                continue;
            }
            if (pool[2].equals(Desired.GPU) && size.gpus() == 0) {
                sizesOk = false;
                out.add(Check.fail("vm sizes", pool[1] + " (--gpu-pool) has no GPU (the resource SKUs API lists no GPUs capability for it)",
                        "Pass --gpu-pool with a GPU size offered in " + stack.location() + ", e.g. " + gpuSizes(offered) + "."));
                continue;
            }
            Plan.Step step = steps.get(pool[2]);
            if (step != null && step.action() == Plan.Action.CREATE) {
                int n = Integer.parseInt(pool[3]) * size.vcpus();
                if (pool[2].equals(Desired.GPU)) {
                    out.addAll(gpuQuota(stack, o, size, quota, n));
                } else if (pool[2].equals(Desired.WORKERS) && o.spot()) {
                    needSpot += n;   // Spot VMs count against the region's low-priority vCPUs, not their family's
                    continue;
                } else {
                    need.merge(size.family().toLowerCase(Locale.ROOT), n, Integer::sum);
                }
                needTotal += n;
            }
        }
        if (sizesOk) out.add(Check.ok("vm sizes", String.join(", ", pools.stream().map(p -> p[1]).toList()) + " are offered in " + stack.location()
                + (o.gpu() ? " (" + o.gpuVmSize() + " with GPUs)" : "")));
        int[] low = quota.get(LOW_PRIORITY);
        if (needSpot > 0 && low != null && low[1] - low[0] < needSpot) {
            out.add(Check.fail("quota", "Spot (low-priority) vCPU quota in " + stack.location() + ": limit " + low[1] + ", in use " + low[0]
                    + ", --workers-min " + o.workersMin() + " x " + o.workerVmSize() + " needs " + needSpot + " more",
                    "Request a low-priority (Spot) vCPU quota increase for " + stack.location() + " (usages name lowPriorityCores; portal: Quotas > Compute), "
                            + "or lower --workers-min (0 is allowed)."));
        }
        boolean quotaOk = true;
        for (var e : need.entrySet()) {
            int[] q = quota.get(e.getKey());
            if (q != null && q[1] - q[0] < e.getValue()) {
                quotaOk = false;
                out.add(Check.fail("quota", "vCPU quota for " + e.getKey() + " in " + stack.location() + ": limit " + q[1] + ", in use "
                        + q[0] + ", this stack needs " + e.getValue() + " more for the pools' minimum node counts",
                        "Request a quota increase for " + e.getKey() + " (portal: Subscriptions > Usage + quotas), or choose sizes "
                                + "from another family, e.g. " + alternatives(offered, quota, 2, 1) + "."));
            }
        }
        int[] cores = quota.get("cores");
        if (cores != null && cores[1] - cores[0] < needTotal) {
            quotaOk = false;
            out.add(Check.fail("quota", "total regional vCPU quota in " + stack.location() + ": limit " + cores[1] + ", in use " + cores[0]
                    + ", this stack needs " + needTotal + " more", "Request a regional vCPU quota increase, or lower --system-min/--workers-min."));
        }
        quotaOk &= out.stream().noneMatch(c -> c.name().equals("quota") && c.status() == Status.FAIL);
        if (quotaOk && sizesOk) out.add(Check.ok("quota", "vCPU quota covers the pools' minimum nodes" + (o.gpu() ? " and the GPU pool's maximum" : "")
                + " (" + needTotal + " vCPUs)" + (needSpot > 0 ? " and their Spot vCPUs (" + needSpot + ")" : "")));
        return out;
    }

    /** The usages API's name for the region's Spot (low-priority) vCPU quota. */
    static final String LOW_PRIORITY = "lowprioritycores";

    /** The GPU pool must fit its family's quota at --gpu-max: scaling up is the autoscaler's, long after this run. */
    static List<Check> gpuQuota(Stack stack, Settings o, Size size, Map<String, int[]> quota, int need) {
        int[] q = quota.get(size.family().toLowerCase(Locale.ROOT));
        if (q == null || q[1] - q[0] >= need) return List.of();
        return List.of(Check.fail("quota", "GPU quota: family " + size.family() + " in " + stack.location() + " has a limit of " + q[1]
                + " vCPUs with " + q[0] + " in use, but --gpu-max " + o.gpuMax() + " x " + size.name() + " (" + size.vcpus() + " vCPUs each) needs "
                + need, "Ask for a limit of at least " + (q[0] + need) + " for " + size.family() + " in " + stack.location()
                + " (portal: Quotas > Compute, or a support request; new subscriptions start GPU families at 0), or lower --gpu-max."));
    }

    /** A few GPU sizes offered (unrestricted) in the region, for advice. */
    static String gpuSizes(Map<String, Size> offered) {
        List<String> names = offered.values().stream().filter(s -> s.gpus() > 0 && !s.restricted()).map(Size::name).limit(4).toList();
        return names.isEmpty() ? "(none is offered to this subscription there; try another --location)" : String.join(", ", names);
    }

    /** A few unrestricted sizes with roughly the wanted vCPUs whose family still has quota for {@code nodes} nodes. */
    static String alternatives(Map<String, Size> offered, Map<String, int[]> quota, int vcpus, int nodes) {
        List<String> names = new ArrayList<>();
        for (Size s : offered.values()) {
            if (s.restricted() || s.gpus() > 0 || s.vcpus() < Math.max(2, vcpus / 2) || s.vcpus() > vcpus * 2) continue;
            int[] q = quota.get(s.family().toLowerCase(Locale.ROOT));
            if (q != null && q[1] - q[0] < s.vcpus() * Math.max(1, nodes)) continue;
            names.add(s.name());
            if (names.size() == 4) break;
        }
        return names.isEmpty() ? "(no size with quota left found; request a quota increase)" : String.join(", ", names);
    }

    /** Sizes offered in the stack's region with quota left for one node (for advice after a failure). */
    public static String suggestSizes(Arm arm, String subscriptionId, Stack stack, Settings settings) {
        String sub = "/subscriptions/" + subscriptionId;
        return alternatives(sizes(readSkus(arm, sub, stack.location()), stack.location()), quota(readUsages(arm, sub, stack.location())),
                4, Math.max(1, settings.workersMin()));
    }

    /** The region's VM sizes with their families, vCPUs and restrictions for this subscription. */
    static JsonNode readSkus(Arm arm, String sub, String location) {
        return arm.getUrl(arm.url(sub + "/providers/Microsoft.Compute/skus", "2021-07-01") + "&$filter=" + Arm.odata("location eq '" + location + "'"));
    }

    /** The region's vCPU usage and limits, per family and in total. */
    static JsonNode readUsages(Arm arm, String sub, String location) {
        return arm.getUrl(arm.url(sub + "/providers/Microsoft.Compute/locations/" + location + "/usages", "2024-07-01"));
    }

    // --- names ------------------------------------------------------------------------------------------------

    /** One provider's checkNameAvailability for a globally unique name: a refusal in {@code out}, or the name in {@code free}. */
    private static void checkName(Arm arm, String url, String api, String name, String type, String kind, String names,
                                  List<Check> out, List<String> free) {
        JsonNode r = arm.post(url, api, Json.obj().put("name", name).put("type", type));
        if (!r.path("nameAvailable").asBoolean()) {
            out.add(Check.fail("names", kind + " name " + name + " is taken outside this stack (" + r.path("reason").asText() + ")",
                    names + " are global: choose another --prefix or --env."));
        } else {
            free.add(name);
        }
    }

    static List<Check> names(Arm arm, String sub, Stack stack, Map<String, Plan.Step> steps) {
        List<Check> out = new ArrayList<>();
        List<String> free = new ArrayList<>();
        if (steps.get(Desired.STORAGE).action() == Plan.Action.CREATE) {
            checkName(arm, sub + "/providers/Microsoft.Storage/checkNameAvailability", "2023-05-01", stack.storageAccount(),
                    "Microsoft.Storage/storageAccounts", "storage account", "Storage account names", out, free);
        }
        if (steps.get(Desired.POSTGRES).action() == Plan.Action.CREATE) {
            checkName(arm, sub + "/providers/Microsoft.DBforPostgreSQL/locations/" + stack.location() + "/checkNameAvailability", "2024-08-01",
                    stack.postgresServer(), "Microsoft.DBforPostgreSQL/flexibleServers", "PostgreSQL server", "Server names", out, free);
        }
        if (steps.get(Desired.REGISTRY).action() == Plan.Action.CREATE) {
            // RegistryNameCheckRequest (containerregistry.json): name and type; the answer's reason is AlreadyExists or Invalid.
            checkName(arm, sub + "/providers/Microsoft.ContainerRegistry/checkNameAvailability", Registry.API, stack.registry(),
                    "Microsoft.ContainerRegistry/registries", "container registry", "Registry names", out, free);
        }
        Plan.Step vault = steps.get(Desired.VAULT);
        if (vault != null && vault.action() == Plan.Action.CREATE) {
            JsonNode r = arm.post(sub + "/providers/Microsoft.KeyVault/checkNameAvailability", Desired.API_KEY_VAULT,
                    Json.obj().put("name", stack.vault()).put("type", "Microsoft.KeyVault/vaults"));
            if (r.path("nameAvailable").asBoolean()) {
                free.add(stack.vault());
            } else if (!KeyVault.ours(arm.get(KeyVault.deletedVaultId(sub.substring("/subscriptions/".length()), stack.location(), stack.vault()),
                    Desired.API_KEY_VAULT).orElse(null), stack)) {
                // A soft-deleted vault of this stack holds the name too: that one is recovered, anything else is someone else's.
                out.add(Check.fail("names", "key vault name " + stack.vault() + " is taken outside this stack (" + r.path("reason").asText()
                        + ")", "Key vault names are global (and a deleted vault keeps its name until purged): choose another --prefix or --env."));
            }
        }
        if (out.isEmpty()) {
            out.add(Check.ok("names", free.isEmpty() ? "the global names already belong to this stack" : String.join(", ", free) + " are free"));
        }
        return out;
    }

    // --- permissions ----------------------------------------------------------------------------------------------

    static Check permissions(Arm arm, String sub, Stack stack, Desired.Caller caller, Map<String, Plan.Step> steps) {
        boolean groupExists = steps.get(Desired.GROUP).action() != Plan.Action.CREATE;
        String scope = groupExists ? stack.groupId(caller.subscriptionId()) : sub;
        JsonNode perms = arm.getUrl(arm.url(scope + "/providers/Microsoft.Authorization/permissions", "2022-04-01"));
        List<String> needed = new ArrayList<>(List.of("Microsoft.Authorization/roleAssignments/write"));
        if (!groupExists) needed.add("Microsoft.Resources/subscriptions/resourceGroups/write");
        if (steps.values().stream().anyMatch(st -> st.action() == Plan.Action.DELETE)) needed.add("Microsoft.Authorization/roleAssignments/delete");
        List<String> denied = new ArrayList<>();
        for (String action : needed) if (!allowed(perms, action)) denied.add(action);
        if (!denied.isEmpty()) {
            return Check.fail("permissions", "you may not " + String.join(" or ", denied) + " at " + (groupExists ? "the stack's resource group" : "subscription")
                    + " scope", "Ask for Owner or User Access Administrator (plus Contributor) on the subscription, or run as someone who has it.");
        }
        return Check.ok("permissions", "you may create the resource group and its role assignments");
    }

    static boolean allowed(JsonNode permissions, String action) {
        for (JsonNode p : permissions.path("value")) {
            boolean yes = false;
            for (JsonNode a : p.path("actions")) if (matches(a.asText(), action)) yes = true;
            for (JsonNode n : p.path("notActions")) if (matches(n.asText(), action)) yes = false;
            if (yes) return true;
        }
        return false;
    }

    static boolean matches(String pattern, String action) {
        String regex = Pattern.quote(pattern).replace("*", "\\E.*\\Q");
        return Pattern.compile(regex, Pattern.CASE_INSENSITIVE).matcher(action).matches();
    }

    // --- versions ---------------------------------------------------------------------------------------------

    static List<Check> versions(Arm arm, String sub, Stack stack, Settings o, Map<String, Plan.Step> steps) {
        List<Check> out = new ArrayList<>();
        KubernetesVersions k8s = kubernetesVersions(arm, sub, stack.location());
        String k8sFailure = k8s.refusal(o.kubernetesVersion());
        if (k8sFailure != null) {
            out.add(Check.fail("versions", "Kubernetes " + o.kubernetesVersion() + " " + k8sFailure + " in " + stack.location(),
                    "Pass --kubernetes-version with one of: " + String.join(", ", k8s.creatable()) + " (or leave it out for the region's default"
                            + (k8s.defaultVersion() == null ? "" : ", " + k8s.defaultVersion()) + ")."));
        }
        JsonNode caps = arm.getUrl(arm.url(sub + "/providers/Microsoft.DBforPostgreSQL/locations/" + stack.location() + "/capabilities", "2024-08-01"));
        Set<String> versions = new LinkedHashSet<>();
        Set<String> skus = new LinkedHashSet<>();
        collect(caps, "supportedServerVersions", versions);
        collect(caps, "supportedServerSkus", skus);
        if (!versions.isEmpty() && !versions.contains(o.postgresVersion())) {
            out.add(Check.fail("versions", "PostgreSQL " + o.postgresVersion() + " is not offered in " + stack.location(),
                    "Pass --postgres-version with one of: " + String.join(", ", versions) + "."));
        }
        if (!skus.isEmpty() && skus.stream().noneMatch(s -> s.equalsIgnoreCase(o.postgresSku()))) {
            out.add(Check.fail("versions", "PostgreSQL size " + o.postgresSku() + " is not offered in " + stack.location(),
                    "Pass --postgres-sku with one of: " + String.join(", ", skus.stream().limit(8).toList()) + "."));
        }
        if (out.isEmpty()) {
            out.add(Check.ok("versions", "Kubernetes " + (o.kubernetesVersion() != null ? o.kubernetesVersion()
                    : (k8s.defaultVersion() == null ? "" : k8s.defaultVersion() + " ") + "(region default)")
                    + ", PostgreSQL " + o.postgresVersion() + " on " + o.postgresSku() + " are offered"));
        }
        return out;
    }

    /**
     * What AKS offers in a region, read from its kubernetesVersions answer: the minor versions (and their patches) a
     * cluster of the stack's tier may be created with, why each other one may not, and the region's default.
     */
    public record KubernetesVersions(List<String> creatable, Map<String, String> refused, String defaultVersion) {

        /** Why {@code version} cannot be created ("is only offered with ..."), or null when it can (or none is given). */
        public String refusal(String version) {
            if (version == null || creatable.contains(version)) return null;
            return refused.getOrDefault(version, "is not offered by AKS");
        }
    }

    /** The region's Kubernetes versions as this stack's tier (Free: support plan KubernetesOfficial) may use them. */
    public static KubernetesVersions kubernetesVersions(Arm arm, String sub, String location) {
        return kubernetesVersions(arm.getUrl(arm.url(sub + "/providers/Microsoft.ContainerService/locations/" + location
                + "/kubernetesVersions", Desired.API_AKS)));
    }

    static KubernetesVersions kubernetesVersions(JsonNode answer) {
        List<String> creatable = new ArrayList<>();
        Map<String, String> refused = new LinkedHashMap<>();
        String def = null;
        for (JsonNode k : answer.path("values")) {
            String minor = k.path("version").asText();
            List<String> names = new ArrayList<>(List.of(minor));
            k.path("patchVersions").fieldNames().forEachRemaining(names::add);
            boolean official = false;
            for (JsonNode plan : k.path("capabilities").path("supportPlan")) official |= plan.asText().equals(Limits.AKS_SUPPORT_PLAN);
            String why = k.path("isPreview").asBoolean(false) ? "is a preview version"
                    : !official ? "is only offered with Long-Term Support (Premium tier, support plan AKSLongTermSupport)" : null;
            for (String n : names) {
                if (why == null) creatable.add(n);
                else refused.put(n, why);
            }
            if (k.path("isDefault").asBoolean(false)) def = minor;
        }
        return new KubernetesVersions(creatable, refused, def);
    }

    private static void collect(JsonNode node, String field, Set<String> into) {
        if (node.isObject()) {
            node.fields().forEachRemaining(e -> {
                if (e.getKey().equals(field) && e.getValue().isArray()) {
                    for (JsonNode x : e.getValue()) if (x.hasNonNull("name")) into.add(x.get("name").asText());
                }
                collect(e.getValue(), field, into);
            });
        } else if (node.isArray()) {
            for (JsonNode x : node) collect(x, field, into);
        }
    }

    // --- directory (service-principal mode) ---------------------------------------------------------------------

    /** Directory roles whose holders may register applications even where users may not. */
    static final Set<String> APP_ROLES = Set.of(
            "62e90394-69f5-4237-9190-012177145e10",   // Global Administrator
            "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",   // Application Administrator
            "158c047a-c907-4556-b7ef-446551a6b5f7",   // Cloud Application Administrator
            "cf1c38e5-3621-4004-a7cb-879624dced7c");  // Application Developer

    static Check directory(AzureLogin.Session session, Map<String, Plan.Step> steps) {
        if (steps.get(Desired.APPLICATION).action() != Plan.Action.CREATE) {
            return Check.ok("directory", "the stack's AAD application already exists");
        }
        if (!"User".equals(session.callerType())) {
            return new Check("directory", Status.WARN, "signed in as an application: whether it may register applications "
                    + "(Application.ReadWrite.OwnedBy) cannot be read beforehand", null);
        }
        Arm graph = session.graph();
        JsonNode policy = graph.getUrl(graph.endpoint() + "/v1.0/policies/authorizationPolicy");
        if (policy.path("defaultUserRolePermissions").path("allowedToCreateApps").asBoolean(true)) {
            return Check.ok("directory", "users may register applications in this directory");
        }
        JsonNode roles = graph.getUrl(graph.endpoint() + "/v1.0/me/memberOf");
        for (JsonNode r : roles.path("value")) {
            if (APP_ROLES.contains(r.path("roleTemplateId").asText())) {
                return Check.ok("directory", "your directory role may register applications");
            }
        }
        return Check.fail("directory", "this directory does not let you register applications (the 403 Authorization_RequestDenied "
                + "the old templates hit)", "Ask a directory admin for the Application Developer role, or drop --service-principal "
                + "to use a managed identity (no directory permission needed).");
    }
}
