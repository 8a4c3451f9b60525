package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import java.util.List;
import java.util.Optional;

/**
 * The task pools' scheduling contract, shared by provision (which labels and taints the pools) and services (which
 * writes the Metaflow profile that matches them), plus the GPU pool's removal.
 *
 * <p>Every pool that runs Metaflow tasks carries {@link #TASK_LABEL}; the profile's node selector is that label, so a
 * task never lands on the system pool. The GPU pool is tainted {@code nvidia.com/gpu}: AKS enables Kubernetes'
 * ExtendedResourceToleration admission plugin, which gives a pod that requests {@code nvidia.com/gpu} the toleration
 * for that taint, so {@code @kubernetes(gpu=1)} lands there with nothing more, and a CPU step (no such request, no
 * toleration) can neither land there nor make the autoscaler add a GPU node. A Spot pool is tainted by AKS itself
 * ({@link #SPOT_TAINT}); the profile gives every task its toleration.
 *
 * <p>Fields: azure-rest-api-specs, specification/containerservice/resource-manager/Microsoft.ContainerService/aks/
 * stable/2024-09-01/managedClusters.json, ManagedClusterAgentPoolProfileProperties (scaleSetPriority, default
 * Regular; scaleSetEvictionPolicy only with Spot, default Delete; spotMaxPrice, -1 = up to the on-demand price;
 * nodeLabels; nodeTaints as key=value:Effect). AKS docs "Add an Azure Spot node pool" (the Spot taint and label).
 */
public final class Pools {
    private Pools() {}

    /** The label every task pool carries, and the profile's node selector. */
    public static final String TASK_LABEL = "metaflow-azure/tasks";
    public static final String TASK_LABEL_VALUE = "true";
    /** The GPU pool's taint: the key the ExtendedResourceToleration plugin tolerates for a pod requesting nvidia.com/gpu. */
    public static final String GPU_RESOURCE = "nvidia.com/gpu";
    public static final String GPU_TAINT = GPU_RESOURCE + "=present:NoSchedule";
    /** The taint and label AKS gives every Spot node (AKS docs, "Add an Azure Spot node pool", and the pool's GET shows them). */
    public static final String SPOT_KEY = "kubernetes.azure.com/scalesetpriority";
    public static final String SPOT_TAINT = SPOT_KEY + "=spot:NoSchedule";
    /** -1: pay up to the pay-as-you-go price, so nodes are evicted for capacity only, never for price. */
    public static final int SPOT_MAX_PRICE = -1;
    public static final String SPOT_EVICTION = "Delete";

    /** The task pool's properties (its agentPools resource, and its entry in the cluster's create). */
    static ObjectNode workerProfile(Stack s, Settings o, String subnetId) {
        ObjectNode p = taskPool(o.workerVmSize(), o.workersMin(), o.workersMax(), subnetId);
        // Regular is the default and is never sent: AKS refuses scaleSetPriority "Regular" on a pool created without it.
        if (o.spot()) {
            p.put("scaleSetPriority", "Spot").put("scaleSetEvictionPolicy", SPOT_EVICTION).put("spotMaxPrice", SPOT_MAX_PRICE);
            // AKS adds this taint itself; sent so that the pool as it stands matches the pool as wanted.
            p.putArray("nodeTaints").add(SPOT_TAINT);
        }
        p.set("tags", Json.tags(s.tags()));
        return p;
    }

    /** What every task pool is: an autoscaling Linux user pool on the node subnet, labelled for Metaflow's selector. */
    private static ObjectNode taskPool(String vmSize, int min, int max, String subnetId) {
        ObjectNode p = Json.obj();
        p.put("mode", "User").put("vmSize", vmSize).put("osType", "Linux")
                .put("type", "VirtualMachineScaleSets").put("enableAutoScaling", true)
                .put("minCount", min).put("maxCount", max).put("vnetSubnetID", subnetId);
        if (min > 0) p.put("count", min);
        p.putObject("nodeLabels").put(TASK_LABEL, TASK_LABEL_VALUE);
        return p;
    }

    /** The GPU pool's properties: its own agentPools resource, created after the cluster. */
    static ObjectNode gpuProfile(Stack s, Settings o, String subnetId) {
        ObjectNode p = taskPool(o.gpuVmSize(), o.gpuMin(), o.gpuMax(), subnetId);
        p.putArray("nodeTaints").add(GPU_TAINT);
        p.set("tags", Json.tags(s.tags()));
        return p;
    }

    /** What the plan shows of a pool: size, priority, autoscale range. */
    static String priority(boolean spot) {
        return spot ? "Spot (evicted when Azure needs the capacity; max price -1 = up to pay-as-you-go; fixed once the pool exists)"
                : "Regular";
    }

    /** Whether a pool as Resource Manager shows it runs Spot VMs (no scaleSetPriority means Regular). */
    public static boolean isSpot(JsonNode pool) {
        return "Spot".equalsIgnoreCase(props(pool).path("scaleSetPriority").asText(""));
    }

    private static JsonNode props(JsonNode pool) {
        return pool.has("properties") ? pool.path("properties") : pool;
    }

    /**
     * AKS cannot change a pool's priority (and refuses "Regular" sent to a pool created without it): asking the
     * existing task pool for the other one is refused before any write, saying how to get there.
     */
    public static void refusePriorityChange(Stack s, Settings o, List<Plan.Step> steps) {
        for (Plan.Step st : steps) {
            if (!st.item().key().equals(Desired.WORKERS) || st.current().isEmpty()) continue;
            boolean spot = isSpot(st.current().get());
            if (spot != o.spot()) {
                String now = spot ? "spot" : "regular";
                throw new Stack.InputException("--worker-priority", "pool " + s.workerPool() + " runs " + (spot ? "Spot" : "Regular")
                        + " VMs and AKS cannot change a pool's priority; keep --worker-priority " + now + ", or tear the stack down "
                        + "(teardown.java) and provision it again with --worker-priority " + (spot ? "regular" : "spot"), now);
            }
        }
    }

    /**
     * Dropping --gpu-pool deletes the pool only while it has no node: AKS's delete drains the nodes, and a GPU step it
     * evicts could never be scheduled again (there would be no GPU node left), so a pool with nodes up is refused.
     */
    public static void refuseBusyGpuRemoval(Stack s, List<Plan.Step> steps) {
        for (Plan.Step st : steps) {
            if (!st.item().key().equals(Desired.GPU_REMOVAL) || st.current().isEmpty()) continue;
            int nodes = props(st.current().get()).path("count").asInt(0);
            if (nodes > 0) {
                throw new Stack.InputException("--gpu-pool", "pool " + s.gpuPool() + " has " + nodes + " node(s) up, and deleting it would "
                        + "evict the GPU steps on them for good; run again once the autoscaler has scaled it to zero (idle nodes go "
                        + "after about 10 minutes; with --gpu-min above 0, first re-run with --gpu-min 0), or keep it with --gpu-pool",
                        props(st.current().get()).path("vmSize").asText("SIZE"));
            }
        }
    }

    /** The steps without the GPU pool's removal when there is no pool to remove (the plan of a stack that never had one). */
    public static List<Plan.Step> withoutIdleRemoval(List<Plan.Step> steps) {
        return steps.stream().filter(st -> !(st.item().handler().removal() && st.action() == Plan.Action.NOOP)).toList();
    }

    /** What services.java needs to know of the stack's pools to place tasks and to serve GPUs. */
    public record Facts(boolean taskLabel, boolean spot, String gpuPool, String gpuVmSize) {
        /** A stack as provision builds it now, with no GPU pool (a dry run without Azure). */
        public static Facts predicted(Stack s) {
            return new Facts(true, false, null, null);
        }

        public boolean gpu() { return gpuPool != null; }
    }

    /** The pools of the stack's cluster as Resource Manager shows them. */
    public static Facts read(Arm arm, Stack s, Desired.Caller c) {
        String aksId = s.aksId(c.subscriptionId());
        JsonNode workers = arm.get(aksId + "/agentPools/" + s.workerPool(), Desired.API_AKS).orElse(Json.obj());
        Optional<JsonNode> gpu = arm.get(aksId + "/agentPools/" + s.gpuPool(), Desired.API_AKS);
        boolean labelled = TASK_LABEL_VALUE.equals(props(workers).path("nodeLabels").path(TASK_LABEL).asText(""));
        return new Facts(labelled, isSpot(workers), gpu.map(g -> s.gpuPool()).orElse(null),
                gpu.map(g -> props(g).path("vmSize").asText()).orElse(null));
    }
}
