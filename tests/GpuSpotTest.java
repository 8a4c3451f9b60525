import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import azure.Pools;
import cluster.DevicePlugin;
import cluster.Pins;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.KubeFake;
import fake.ScriptRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * --gpu-pool and --worker-priority spot end to end: provision.java plans and builds the pools against the Azure fake (its
 * GPU SKUs, per-family quota, Spot rules), services.java deploys NVIDIA's device plugin only with a GPU pool, and the
 * Kubernetes fake schedules a GPU probe shaped as Metaflow's GPU step onto the GPU pool.
 */
class GpuSpotTest {
    static final String T4 = "Standard_NC4as_T4_v3";
    /** The T4 family as the resource SKUs API spells it (the usages API spells it with a capital S). */
    static final String T4_FAMILY = "standardNCASv3_T4Family";
    static final String AKS = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION
            + "/resourceGroups/rg-acme-metaflow-default-eastus/providers/Microsoft.ContainerService/managedClusters/aks-acme-metaflow-default";

    @TempDir Path home;
    KubeFake kube;
    AzureFake azure;
    AutoCloseable rollouts;

    @BeforeEach
    void setUp() {
        kube = new KubeFake();
        azure = new AzureFake().clusterApiServer(kube.url());
        rollouts = kube.rollOutDeployments(java.util.Set.of());
    }

    @AfterEach
    void tearDown() throws Exception {
        rollouts.close();
        kube.close();
    }

    ScriptRun.Result provision(String... args) {
        List<String> all = new ArrayList<>(List.of("--prefix", "acme"));
        all.addAll(List.of(args));
        return ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure), all.toArray(String[]::new));
    }

    ScriptRun.Result services(String... args) {
        return ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure), args);
    }

    ScriptRun.Result deploy(String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--argo-manifests", ArgoFixture.writeTo(home.resolve("argo")).toString(), "--timeout", "20"));
        args.addAll(List.of(extra));
        return services(args.toArray(String[]::new));
    }

    JsonNode lastPut(String pathPart) {
        List<AzureFake.Recorded> puts = azure.writes().stream().filter(r -> r.method().equals("PUT") && (r.path() + "?").contains(pathPart)).toList();
        assertFalse(puts.isEmpty(), "no PUT of " + pathPart);
        return Json.parse(puts.get(puts.size() - 1).body());
    }

    @Test
    void gpuAndSpotPoolsArePlannedWithWhatTheyCostAndBuiltAsAksTakesThem() {
        azure.quota(T4_FAMILY, 8);
        ScriptRun.Result plan = provision("--gpu-pool", T4, "--worker-priority", "spot", "--dry-run");
        assertEquals(0, plan.code, plan.all());
        // Each pool's VM size, priority and autoscale range are in the plan.
        assertTrue(plan.out.contains("+ AKS node pool                gpuworkers"), plan.out);
        assertTrue(plan.out.contains(T4 + " (GPU)"), plan.out);
        assertTrue(plan.out.contains("0-2 (no node, no cost, until a GPU step asks for one)"), plan.out);
        assertTrue(plan.out.contains("priority:        Spot (evicted when Azure needs the capacity"), plan.out);
        assertTrue(plan.out.contains("priority:        Regular"), plan.out);
        assertTrue(plan.out.contains("vm sizes") && plan.out.contains("(" + T4 + " with GPUs)"), plan.out);

        ScriptRun.Result r = provision("--gpu-pool", T4, "--worker-priority", "spot", "--yes");
        assertEquals(0, r.code, r.all());
        // A Spot pool is not in the cluster's create (it cannot be its default pool); it comes through its own resource.
        JsonNode cluster = lastPut("/managedClusters/aks-acme-metaflow-default?");
        assertEquals(1, cluster.at("/properties/agentPoolProfiles").size(), cluster.toString());
        JsonNode spot = lastPut("/agentPools/taskworkers?").path("properties");
        assertEquals("Spot", spot.path("scaleSetPriority").asText());
        assertEquals("Delete", spot.path("scaleSetEvictionPolicy").asText());
        assertEquals(-1, spot.path("spotMaxPrice").asInt());
        assertFalse(spot.has("upgradeSettings"), "a Spot pool cannot set maxSurge");
        assertEquals(List.of(Pools.SPOT_TAINT), List.of(spot.path("nodeTaints").get(0).asText()));
        assertEquals(Pools.TASK_LABEL_VALUE, spot.path("nodeLabels").path(Pools.TASK_LABEL).asText());
        JsonNode gpu = lastPut("/agentPools/gpuworkers?").path("properties");
        assertEquals(T4, gpu.path("vmSize").asText());
        assertEquals("User", gpu.path("mode").asText());
        assertEquals(0, gpu.path("minCount").asInt());
        assertEquals(2, gpu.path("maxCount").asInt());
        assertEquals(Pools.GPU_TAINT, gpu.path("nodeTaints").get(0).asText());
        assertEquals(Pools.TASK_LABEL_VALUE, gpu.path("nodeLabels").path(Pools.TASK_LABEL).asText());
        assertFalse(gpu.has("scaleSetPriority"), "Regular is never sent: AKS refuses it on a pool created without it");
        // The fake added what AKS adds to a Spot pool, and the next run finds nothing to change.
        assertEquals("spot", azure.resource(AKS + "/agentPools/taskworkers").orElseThrow().at("/properties/nodeLabels/kubernetes.azure.com~1scalesetpriority").asText());
        int writes = azure.writes().size();
        ScriptRun.Result again = provision("--gpu-pool", T4, "--worker-priority", "spot", "--yes");
        assertEquals(0, again.code, again.all());
        assertTrue(again.out.contains("is up to date"), again.out);
        assertEquals(writes, azure.writes().size());
    }

    @Test
    void gpuQuotaIsReadAcrossTheApisCaseAndAShortfallIsRefusedBeforeAnyWrite() {
        // 4 vCPUs of quota: one T4 node, but --gpu-max 2 needs 8. Only a lookup that ignores case finds the usages entry.
        azure.quota(T4_FAMILY, 4);
        ScriptRun.Result r = provision("--gpu-pool", T4, "--gpu-max", "2", "--yes");
        assertEquals(5, r.code, r.all());
        assertTrue(r.err.contains("GPU quota: family " + T4_FAMILY + " in eastus has a limit of 4 vCPUs with 0 in use, but --gpu-max 2 x "
                + T4 + " (4 vCPUs each) needs 8"), r.err);
        assertTrue(r.err.contains("Ask for a limit of at least 8 for " + T4_FAMILY), r.err);
        assertTrue(r.err.contains("Nothing was written."), r.err);
        assertEquals(List.of(), azure.writes());
        // A new subscription's GPU family has no quota at all: refused the same way.
        azure.quota(T4_FAMILY, 0);
        ScriptRun.Result none = provision("--gpu-pool", T4, "--gpu-max", "1", "--yes");
        assertEquals(5, none.code, none.all());
        assertTrue(none.err.contains("has a limit of 0 vCPUs"), none.err);
        assertEquals(List.of(), azure.writes());
    }

    @Test
    void aSizeWithoutGpusIsRefusedBeforeAnyWrite() {
        ScriptRun.Result r = provision("--gpu-pool", "Standard_D4s_v5", "--yes");
        assertEquals(5, r.code, r.all());
        assertTrue(r.err.contains("Standard_D4s_v5 (--gpu-pool) has no GPU"), r.err);
        assertTrue(r.err.contains("e.g. " + T4), r.err);
        assertEquals(List.of(), azure.writes());
        ScriptRun.Result stray = provision("--gpu-max", "3", "--dry-run");
        assertEquals(2, stray.code, stray.all());
        assertTrue(stray.err.contains("--gpu-max: only goes with --gpu-pool SIZE"), stray.err);
    }

    @Test
    void theNodeSubnetMustHoldTheGpuPoolToo() {
        // A /28 holds 11 node addresses: system 3 + workers 5 + 2 surge fit; the GPU pool's 2 + 1 surge do not.
        String[] small = {"--k8s-subnet", "172.17.0.0/28", "--workers-max", "5", "--dry-run"};
        assertEquals(0, provision(small).code);
        List<String> withGpu = new ArrayList<>(List.of(small));
        withGpu.addAll(List.of("--gpu-pool", T4, "--gpu-max", "2"));
        ScriptRun.Result r = provision(withGpu.toArray(String[]::new));
        assertEquals(2, r.code, r.all());
        assertTrue(r.err.contains("172.17.0.0/28 holds 11 node addresses") && r.err.contains("but the pools need 13")
                && r.err.contains("+ --gpu-max 2 + 1 surge node per pool"), r.err);
    }

    @Test
    void spotCountsAgainstLowPriorityQuotaNotTheFamilys() {
        // The system pool's 2 vCPUs fill the DSv5 family's quota; the Spot pool's 4 must come from lowPriorityCores.
        azure.quota("standardDSv5Family", 2).quota("lowPriorityCores", 2);
        ScriptRun.Result short_ = provision("--worker-priority", "spot", "--yes");
        assertEquals(5, short_.code, short_.all());
        assertTrue(short_.err.contains("Spot (low-priority) vCPU quota in eastus: limit 2, in use 0"), short_.err);
        assertFalse(short_.err.contains("standarddsv5family"), "the Spot pool was charged to its family: " + short_.err);
        assertEquals(List.of(), azure.writes());
        azure.quota("lowPriorityCores", 4);
        ScriptRun.Result ok = provision("--worker-priority", "spot", "--yes");
        assertEquals(0, ok.code, ok.all());
    }

    @Test
    void aPoolsPriorityIsNeverChangedAndTheFakeRefusesRegularOnAPoolCreatedWithoutIt() {
        assertEquals(0, provision("--yes").code);
        JsonNode regular = azure.resource(AKS + "/agentPools/taskworkers").orElseThrow();
        assertFalse(regular.path("properties").has("scaleSetPriority"), regular.toString());
        int writes = azure.writes().size();
        ScriptRun.Result r = provision("--worker-priority", "spot", "--yes");
        assertEquals(2, r.code, r.all());
        assertTrue(r.err.contains("pool taskworkers runs Regular VMs and AKS cannot change a pool's priority"), r.err);
        assertEquals(writes, azure.writes().size());
        // What AKS itself refuses, which the product therefore never sends.
        ObjectNode body = Json.obj();
        body.set("properties", regular.path("properties").deepCopy());
        ((ObjectNode) body.get("properties")).put("scaleSetPriority", "Regular");
        var request = new com.azure.core.http.HttpRequest(com.azure.core.http.HttpMethod.PUT, "https://management.azure.com" + AKS
                + "/agentPools/taskworkers?api-version=2024-09-01").setHeader(com.azure.core.http.HttpHeaderName.CONTENT_TYPE, "application/json")
                .setBody(Json.write(body));
        var answer = azure.sendSync(request, com.azure.core.util.Context.NONE);
        String text = answer.getBodyAsString().block();
        assertEquals(400, answer.getStatusCode(), text);
        assertTrue(text.contains("changing property 'scaleSetPriority' from '' to 'Regular' is not allowed"), text);
    }

    @Test
    void droppingTheGpuPoolDeletesItOnceItHasNoNode() {
        azure.quota(T4_FAMILY, 8);
        assertEquals(0, provision("--gpu-pool", T4, "--yes").code);
        String pool = AKS + "/agentPools/gpuworkers";
        // A GPU node is up (a step is running): removing the pool would evict it for good, so it is refused.
        azure.editResource(pool, p -> ((ObjectNode) p.get("properties")).put("count", 1));
        int writes = azure.writes().size();
        ScriptRun.Result busy = provision("--yes");
        assertEquals(2, busy.code, busy.all());
        assertTrue(busy.err.contains("pool gpuworkers has 1 node(s) up"), busy.err);
        assertEquals(writes, azure.writes().size());
        // Scaled to zero: the plan says it goes, and it does.
        azure.editResource(pool, p -> ((ObjectNode) p.get("properties")).put("count", 0));
        ScriptRun.Result plan = provision("--dry-run");
        assertEquals(0, plan.code, plan.all());
        assertTrue(plan.out.contains("- AKS node pool                gpuworkers"), plan.out);
        assertTrue(plan.out.contains("--gpu-pool is no longer given"), plan.out);
        assertTrue(plan.out.contains("1 to delete"), plan.out);
        ScriptRun.Result r = provision("--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(azure.resource(pool).isEmpty(), "the GPU pool is still there");
        assertTrue(azure.writes().stream().anyMatch(w -> w.method().equals("DELETE") && w.path().endsWith("/agentPools/gpuworkers")));
        // And a stack that never had one shows no such line.
        ScriptRun.Result quiet = provision("--dry-run");
        assertFalse(quiet.out.contains("gpuworkers"), quiet.out);
    }

    @Test
    void theDevicePluginIsDeployedOnlyWithAGpuPoolAndTheGpuProbeRunsOnIt() throws Exception {
        assertEquals(0, provision("--yes").code);
        ScriptRun.Result plain = deploy("--no-check");
        assertEquals(0, plain.code, plain.all());
        assertNull(kube.stored("/apis/apps/v1/namespaces/kube-system/daemonsets/" + DevicePlugin.NAME), "device plugin without a GPU pool");

        azure.quota(T4_FAMILY, 8);
        assertEquals(0, provision("--gpu-pool", T4, "--yes").code);
        ScriptRun.Result d = deploy();
        assertEquals(0, d.code, d.all());
        ObjectNode ds = kube.stored("/apis/apps/v1/namespaces/kube-system/daemonsets/" + DevicePlugin.NAME);
        assertNotNull(ds, "no device plugin with a GPU pool");
        JsonNode pod = ds.at("/spec/template/spec");
        assertEquals(Pins.DEVICE_PLUGIN_IMAGE, pod.at("/containers/0/image").asText());
        assertEquals("gpuworkers", pod.at("/nodeSelector/agentpool").asText());
        assertTrue(d.out.contains("gpu-plugin") && CheckTest.line(d, "gpu-plugin").contains("✓"), d.out);
        // status reports it (no GPU node up yet: it starts with the first).
        ScriptRun.Result status = services("status");
        assertEquals(0, status.code, status.all());
        assertTrue(status.out.contains("kube-system/" + DevicePlugin.NAME + " (GPU pool gpuworkers, " + T4 + ")"), status.out);

        // check --gpu: a pod shaped as Metaflow's GPU step, placed by the pools as provision built them.
        kube.pools.add(KubeFake.NodePool.of("gpuworkers", azure.resource(AKS + "/agentPools/gpuworkers").orElseThrow(), 1));
        ScriptRun.Result gpu = services("check", "--gpu");
        assertEquals(0, gpu.code, gpu.all());
        assertTrue(CheckTest.line(gpu, "gpu").contains("ran a CUDA kernel on node aks-gpuworkers-"), gpu.out);
        ObjectNode probe = kube.podsMade.stream().filter(p -> p.at("/metadata/labels/job-name").asText().startsWith("metaflow-check-gpu-"))
                .findFirst().orElseThrow();
        assertEquals("1", probe.at("/spec/containers/0/resources/limits/nvidia.com~1gpu").asText());
        assertEquals(Pins.GPU_PROBE_IMAGE, probe.at("/spec/containers/0/image").asText());
        JsonNode config = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_acme-default.json")));
        assertEquals(config.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText(), Pools.TASK_LABEL + "=" + probe.at("/spec/nodeSelector")
                .path(Pools.TASK_LABEL).asText());

        // The GPU pool dropped (at zero nodes): the next deploy removes the device plugin it installed.
        assertEquals(0, provision("--yes").code);
        ScriptRun.Result after = deploy("--no-check");
        assertEquals(0, after.code, after.all());
        assertTrue(after.out.contains("Removed the NVIDIA device plugin"), after.out);
        assertNull(kube.stored("/apis/apps/v1/namespaces/kube-system/daemonsets/" + DevicePlugin.NAME));
    }
}
