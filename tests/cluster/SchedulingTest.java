package cluster;

import static org.junit.jupiter.api.Assertions.*;

import azure.ArmResource;
import azure.Clouds;
import azure.Desired;
import azure.Pools;
import azure.Settings;
import azure.Stack;
import azure.StackFacts;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import fake.KubeFake;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Where Metaflow's own pods land, given the profile services.java writes and the pools provision.java builds: the pod
 * specs are shaped as Netflix/metaflow (2.19.32 to 2.19.38) builds them, and the Kubernetes fake places them as the API
 * server's admission, the scheduler and the cluster autoscaler would.
 *
 * <p>metaflow/plugins/kubernetes/kubernetes_decorator.py: node_selector defaults to KUBERNETES_NODE_SELECTOR (split on
 * commas into key=value pairs), tolerations to json.loads(KUBERNETES_TOLERATIONS); kubernetes_job.py: the container's
 * limits get {"nvidia.com/gpu": str(gpu)} only when gpu is set ("%s.com/gpu" % gpu_vendor, vendor nvidia by default),
 * nodeSelector and tolerations go on the pod spec; argo/argo_workflows.py: the template's nodeSelector and tolerations,
 * the same limits on template.container.
 */
class SchedulingTest {
    static final Stack ACME = Stack.of("acme", "default", "eastus", Clouds.PUBLIC);
    static final String T4 = "Standard_NC4as_T4_v3";
    final KubeFake kube = new KubeFake();

    @AfterEach
    void close() {
        kube.close();
    }

    static Settings settings(String gpuPool, boolean spot) {
        return new Settings("Standard_D2s_v5", 1, 3, "Standard_D4s_v5", 1, 10, null, "16", "Standard_B2s", 32, false,
                Settings.DEFAULT_DB_SUBNET, Settings.DEFAULT_K8S_SUBNET, Settings.DEFAULT_POD_CIDR, gpuPool, 0, 2, spot).checked();
    }

    /** A pool as provision.java's plan would write it (the agentPools body of the item), as the autoscaler knows it. */
    static KubeFake.NodePool pool(Settings o, String key, String name, int gpus) {
        Plan.Item item = Desired.items(ACME, o, new Desired.Caller("sub", null, "User")).stream().filter(i -> i.key().equals(key)).findFirst().orElseThrow();
        JsonNode body = ((ArmResource) item.handler()).body().apply(Plan.outputs(Map.of()));
        return KubeFake.NodePool.of(name, body, gpus);
    }

    /** The pools of a stack: system, then (so that the autoscaler would try it first) the GPU pool, then the task pool. */
    void stack(Settings o) {
        kube.pools.clear();
        kube.pools.add(new KubeFake.NodePool(ACME.systemPool(), Map.of(), List.of(), 0));
        if (o.gpu()) kube.pools.add(pool(o, Desired.GPU, ACME.gpuPool(), 1));
        kube.pools.add(pool(o, Desired.WORKERS, ACME.workerPool(), 0));
    }

    static ObjectNode profile(boolean spot, boolean gpu) {
        return MetaflowConfig.of(ACME, StackFacts.predicted(ACME, Clouds.PUBLIC, false), true, 0,
                new Pools.Facts(true, spot, gpu ? ACME.gpuPool() : null, gpu ? T4 : null));
    }

    /** The decorator's defaults from the profile, as kubernetes_decorator.py's init() takes them. */
    static Map<String, String> nodeSelector(JsonNode profile) {
        return Check.pairs(profile.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText(""));
    }

    /** The pod spec of a @kubernetes step as kubernetes_job.py builds it; gpu null: no GPU limit at all. */
    static ObjectNode kubernetesJobPod(JsonNode profile, Integer gpu) {
        ObjectNode spec = Json.obj().put("restartPolicy", "Never")
                .put("serviceAccountName", profile.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText()).put("terminationGracePeriodSeconds", 0);
        ObjectNode c = spec.putArray("containers").addObject().put("name", "train").put("image", "python:3.11");
        ObjectNode res = c.putObject("resources");
        res.putObject("requests").put("cpu", "1").put("memory", "4096M").put("ephemeral-storage", "10240M");
        ObjectNode limits = res.putObject("limits");
        if (gpu != null) limits.put("nvidia.com/gpu", String.valueOf(gpu));
        ObjectNode ns = spec.putObject("nodeSelector");
        nodeSelector(profile).forEach(ns::put);
        spec.set("tolerations", DevicePlugin.tolerations(profile));
        return spec;
    }

    /** The pod the Argo executor runs for a step template as argo_workflows.py writes it (nodeSelector, tolerations, container). */
    static ObjectNode argoStepPod(JsonNode profile, Integer gpu) {
        ObjectNode template = Json.obj().put("name", "train");
        ObjectNode ns = template.putObject("nodeSelector");
        nodeSelector(profile).forEach(ns::put);
        template.set("tolerations", DevicePlugin.tolerations(profile));
        ObjectNode limits = template.putObject("container").put("image", "python:3.11").putObject("resources").putObject("limits")
                .put("cpu", "1").put("memory", "4096M");
        if (gpu != null) limits.put("nvidia.com/gpu", String.valueOf(gpu));
        ObjectNode pod = Json.obj();
        pod.set("nodeSelector", template.get("nodeSelector"));
        pod.set("tolerations", template.get("tolerations"));
        ArrayNode containers = pod.putArray("containers");
        containers.addObject().put("name", "main").setAll((ObjectNode) template.get("container"));
        return pod;
    }

    void devicePlugin() {
        kube.create("/apis/apps/v1/namespaces/kube-system/daemonsets", DevicePlugin.daemonSet(ACME));
    }

    @Test
    void aGpuStepLandsOnTheGpuPoolWithTheDecoratorAlone() {
        stack(settings(T4, false));
        devicePlugin();
        JsonNode profile = profile(false, true);
        for (ObjectNode pod : List.of(kubernetesJobPod(profile, 1), argoStepPod(profile, 1))) {
            assertFalse(pod.has("tolerations") && pod.get("tolerations").size() > 0, "the step itself carries no toleration: " + pod);
            KubeFake.Placement p = kube.schedule(pod);
            assertEquals(new KubeFake.Placement(ACME.gpuPool(), true, null), p);
        }
        // Two GPUs on a one-GPU size: no pool fits, and the autoscaler says so.
        KubeFake.Placement two = kube.schedule(kubernetesJobPod(profile, 2));
        assertNull(two.pool());
        assertTrue(two.reason().contains("gpuworkers: Insufficient nvidia.com/gpu"), two.reason());
    }

    @Test
    void aCpuStepNeverLandsOnTheGpuPoolNorTheSystemPool() {
        stack(settings(T4, false));
        devicePlugin();
        JsonNode profile = profile(false, true);
        for (ObjectNode pod : List.of(kubernetesJobPod(profile, null), argoStepPod(profile, null))) {
            assertEquals(new KubeFake.Placement(ACME.workerPool(), true, null), kube.schedule(pod));
        }
        // Were the task pool full or gone, a CPU step would wait rather than take (or make the autoscaler add) a GPU node.
        kube.pools.removeIf(p -> p.name().equals(ACME.workerPool()));
        KubeFake.Placement p = kube.schedule(kubernetesJobPod(profile, null));
        assertNull(p.pool());
        assertTrue(p.reason().contains("gpuworkers: had untolerated taint {nvidia.com/gpu: present}"), p.reason());
        assertTrue(p.reason().contains("system: didn't match Pod's node affinity/selector"), p.reason());
    }

    @Test
    void withoutTheDevicePluginAGpuStepScalesThePoolButWaitsForever() {
        stack(settings(T4, false));
        KubeFake.Placement p = kube.schedule(kubernetesJobPod(profile(false, true), 1));
        assertEquals(ACME.gpuPool(), p.pool());
        assertFalse(p.runs());
        assertTrue(p.reason().contains("Insufficient nvidia.com/gpu"), p.reason());
    }

    @Test
    void theOldPoolSelectorKeptGpuStepsOffEveryGpuNode() {
        // What the profile used to say (agentpool=taskworkers) pins the GPU step to a pool without GPUs.
        stack(settings(T4, false));
        devicePlugin();
        ObjectNode pod = kubernetesJobPod(profile(false, true), 1);
        pod.putObject("nodeSelector").put(MetaflowConfig.AKS_POOL_LABEL, ACME.workerPool());
        assertNull(kube.schedule(pod).pool());
    }

    @Test
    void spotTaskPoolsGetTheirTolerationFromTheProfile() {
        Settings spot = settings(T4, true);
        stack(spot);
        devicePlugin();
        JsonNode profile = profile(true, true);
        // The toleration Metaflow needs, in the form it reads (a JSON list of V1Toleration keyword arguments).
        assertEquals(Json.parse("[{\"key\":\"kubernetes.azure.com/scalesetpriority\",\"operator\":\"Equal\",\"value\":\"spot\",\"effect\":\"NoSchedule\"}]"),
                Json.parse(profile.path("METAFLOW_KUBERNETES_TOLERATIONS").asText()));
        assertEquals(new KubeFake.Placement(ACME.workerPool(), true, null), kube.schedule(kubernetesJobPod(profile, null)));
        assertEquals(new KubeFake.Placement(ACME.workerPool(), true, null), kube.schedule(argoStepPod(profile, null)));
        assertEquals(new KubeFake.Placement(ACME.gpuPool(), true, null), kube.schedule(kubernetesJobPod(profile, 1)));
        // Without it (a regular profile on a Spot pool) no CPU step could run anywhere.
        KubeFake.Placement without = kube.schedule(kubernetesJobPod(profile(false, true), null));
        assertNull(without.pool());
        assertTrue(without.reason().contains("taskworkers: had untolerated taint {kubernetes.azure.com/scalesetpriority: spot}"), without.reason());
    }

    @Test
    void aRegularProfileHasNoTolerationsAndAUserClusterNoPlacement() {
        assertFalse(profile(false, true).has("METAFLOW_KUBERNETES_TOLERATIONS"));
        assertEquals(Pools.TASK_LABEL + "=" + Pools.TASK_LABEL_VALUE, profile(false, false).path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText());
        // A stack whose pool predates the label keeps the pool selector until provision labels it.
        ObjectNode old = MetaflowConfig.of(ACME, StackFacts.predicted(ACME, Clouds.PUBLIC, false), true, 0, new Pools.Facts(false, false, null, null));
        assertEquals("agentpool=taskworkers", old.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText());
        ObjectNode user = MetaflowConfig.of(ACME, StackFacts.predicted(ACME, Clouds.PUBLIC, false), true, 0, null);
        assertFalse(user.has("METAFLOW_KUBERNETES_NODE_SELECTOR"));
    }

    @Test
    void theDevicePluginRunsOnlyOnTheGpuPoolsNodes() {
        Settings o = settings(T4, true);
        stack(o);
        JsonNode ds = DevicePlugin.daemonSet(ACME);
        JsonNode pod = ds.at("/spec/template/spec");
        assertEquals(Map.of("agentpool", ACME.gpuPool()), Json.MAPPER.convertValue(pod.path("nodeSelector"), Map.class));
        assertEquals(Pins.DEVICE_PLUGIN_IMAGE, pod.at("/containers/0/image").asText());
        assertEquals("kube-system", ds.at("/metadata/namespace").asText());
        // Its toleration matches the GPU pool's taint (and so it runs there), and nothing else's.
        devicePlugin();
        assertEquals(new KubeFake.Placement(ACME.gpuPool(), true, null), kube.schedule(kubernetesJobPod(profile(true, true), 1)));
        KubeFake.Placement plugin = kube.schedule(admitted(pod));
        assertEquals(ACME.gpuPool(), plugin.pool());
    }

    static ObjectNode admitted(JsonNode podSpec) {
        return KubeFake.admit(podSpec);
    }
}
