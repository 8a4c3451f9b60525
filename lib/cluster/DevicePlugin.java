package cluster;

import azure.Pools;
import azure.Stack;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.List;

/**
 * NVIDIA's Kubernetes device plugin, for a stack with a GPU pool. AKS installs the NVIDIA driver on a GPU node but not
 * the device plugin, and without it no node advertises {@code nvidia.com/gpu}: a GPU step would stay Pending for good.
 *
 * <p>The DaemonSet is built from the facts of the pinned release's static manifest (NVIDIA/k8s-device-plugin, tag
 * {@link Pins#DEVICE_PLUGIN_IMAGE}'s v0.20.0, deployments/static/nvidia-device-plugin.yml: namespace kube-system, the
 * toleration for nvidia.com/gpu, priorityClassName system-node-critical, no privilege escalation and no capabilities,
 * the kubelet's device-plugins directory mounted from the host), plus what only this stack knows: it runs on the GPU
 * pool's nodes alone. The release publishes Helm charts, not manifests, as release assets, so there is nothing to
 * download and check; the image tag is the pin.
 */
public final class DevicePlugin {
    private DevicePlugin() {}

    public static final String NAMESPACE = "kube-system";
    public static final String NAME = "nvidia-device-plugin-daemonset";
    static final String POD_LABEL = "nvidia-device-plugin-ds";
    static final String DEVICE_PLUGINS_DIR = "/var/lib/kubelet/device-plugins";

    /** The DaemonSet for the stack's GPU pool. */
    public static ObjectNode daemonSet(Stack stack) {
        ObjectNode d = Json.obj().put("apiVersion", "apps/v1").put("kind", "DaemonSet");
        d.putObject("metadata").put("name", NAME).put("namespace", NAMESPACE).putObject("labels")
                .put("app.kubernetes.io/part-of", "metaflow").put("app.kubernetes.io/managed-by", Kube.FIELD_MANAGER);
        ObjectNode spec = d.putObject("spec");
        spec.putObject("selector").putObject("matchLabels").put("name", POD_LABEL);
        spec.putObject("updateStrategy").put("type", "RollingUpdate");
        ObjectNode template = spec.putObject("template");
        template.putObject("metadata").putObject("labels").put("name", POD_LABEL);
        ObjectNode pod = template.putObject("spec");
        pod.putObject("nodeSelector").put(MetaflowConfig.AKS_POOL_LABEL, stack.gpuPool());
        pod.putArray("tolerations").addObject().put("key", Pools.GPU_RESOURCE).put("operator", "Exists").put("effect", "NoSchedule");
        pod.put("priorityClassName", "system-node-critical");
        ObjectNode c = pod.putArray("containers").addObject().put("name", "nvidia-device-plugin-ctr").put("image", Pins.DEVICE_PLUGIN_IMAGE);
        ObjectNode sc = c.putObject("securityContext").put("allowPrivilegeEscalation", false);
        sc.putObject("capabilities").putArray("drop").add("ALL");
        c.putArray("volumeMounts").addObject().put("name", "kubelet-device-plugins-dir").put("mountPath", DEVICE_PLUGINS_DIR);
        pod.putArray("volumes").addObject().put("name", "kubelet-device-plugins-dir").putObject("hostPath")
                .put("path", DEVICE_PLUGINS_DIR).put("type", "Directory");
        return d;
    }

    /** The DaemonSet as it stands: present, nodes it should run on, nodes where it is ready. */
    public record State(boolean exists, int desired, int ready, String image) {
        public boolean serving() {
            return exists && ready == desired;
        }

        public String text() {
            if (!exists) return "missing";
            return image + ": ready on " + ready + " of " + desired + " GPU node(s)"
                    + (desired == 0 ? " (the pool is at zero nodes; the plugin starts with the first)" : "");
        }
    }

    public static State state(KubernetesClient client) {
        JsonNode d = Kube.read(client, Probes.ref("apps/v1", "DaemonSet", NAMESPACE, NAME));
        if (d == null) return new State(false, 0, 0, null);
        JsonNode st = d.path("status");
        return new State(true, st.path("desiredNumberScheduled").asInt(0), st.path("numberReady").asInt(0),
                d.path("spec").path("template").path("spec").path("containers").path(0).path("image").asText());
    }

    /** Removes the DaemonSet this toolkit deployed when the stack no longer has a GPU pool; true if it was there. */
    public static boolean removeIfOurs(KubernetesClient client) {
        JsonNode d = Kube.read(client, Probes.ref("apps/v1", "DaemonSet", NAMESPACE, NAME));
        if (d == null || !Kube.FIELD_MANAGER.equals(d.path("metadata").path("labels").path("app.kubernetes.io/managed-by").asText())) return false;
        try {
            client.resource(Kube.generic(client, Probes.ref("apps/v1", "DaemonSet", NAMESPACE, NAME))).delete();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) throw e;
        }
        return true;
    }

    // --- the check's probes ----------------------------------------------------------------------------------

    /** The plain check's GPU probe: the device plugin is deployed and ready on every GPU node there is. */
    static Check.Outcome ready(KubernetesClient client) {
        State s = state(client);
        if (s.serving()) return new Check.Outcome("gpu-plugin", true, 0, "NVIDIA device plugin " + s.text(), null);
        return new Check.Outcome("gpu-plugin", false, 0, "NVIDIA device plugin " + NAMESPACE + "/" + NAME + " " + s.text(),
                s.exists() ? "Look at its pods: kubectl -n " + NAMESPACE + " get pods -l name=" + POD_LABEL + " -o wide"
                        : "Run services.java (the deploy installs it when the stack has a GPU pool).");
    }

    /** What the GPU probe's container prints when a kernel ran on the GPU (the sample's own last line). */
    static final String PASSED = "Test PASSED";

    /**
     * The GPU probe's Job: a pod shaped as Metaflow shapes a step with {@code @kubernetes(gpu=1)} (the profile's service
     * account, labels, node selector and tolerations; limits {@code nvidia.com/gpu: "1"} and nothing else for the GPU, as
     * metaflow/plugins/kubernetes/kubernetes_job.py sets it), running NVIDIA's CUDA vector-add sample.
     */
    static ObjectNode gpuJob(Check.Settings s, String id, String name) {
        ObjectNode job = Json.obj().put("apiVersion", "batch/v1").put("kind", "Job");
        ObjectNode meta = job.putObject("metadata").put("name", name).put("namespace", s.namespace());
        Probes.labels(meta.putObject("labels"), "gpu", id);
        ObjectNode spec = job.putObject("spec").put("backoffLimit", 0)
                .put("activeDeadlineSeconds", s.bounds().gpuMillis() / 1000 + 30).put("ttlSecondsAfterFinished", 600);
        ObjectNode tl = spec.putObject("template").putObject("metadata").putObject("labels");
        s.taskLabels().forEach(tl::put);
        Probes.labels(tl, "gpu", id);
        ObjectNode pod = ((ObjectNode) spec.get("template")).putObject("spec").put("serviceAccountName", s.serviceAccount())
                .put("restartPolicy", "Never");
        if (!s.nodeSelector().isEmpty()) {
            ObjectNode ns = pod.putObject("nodeSelector");
            s.nodeSelector().forEach(ns::put);
        }
        JsonNode tolerations = s.tolerations();
        if (tolerations.size() > 0) pod.set("tolerations", tolerations.deepCopy());
        ObjectNode c = pod.putArray("containers").addObject().put("name", "probe").put("image", Pins.GPU_PROBE_IMAGE);
        c.putObject("resources").putObject("limits").put(Pools.GPU_RESOURCE, "1");
        return job;
    }

    /** check --gpu: one GPU step's worth, from the pool at zero to a kernel run on the GPU; minutes, and a GPU node's cost. */
    static Check.Outcome probe(KubernetesClient client, Check.Settings s, String id, Check.Log log) {
        String name = "metaflow-check-gpu-" + id;
        ObjectNode job = gpuJob(s, id, name);
        long deadline = System.currentTimeMillis() + s.bounds().gpuMillis();
        String shown = null;
        try {
            client.resource(Kube.generic(client, job)).create();
            while (true) {
                JsonNode j = Kube.read(client, Probes.ref("batch/v1", "Job", s.namespace(), name));
                List<Pod> pods = client.pods().inNamespace(s.namespace()).withLabel("job-name", name).list().getItems();
                if (j != null && (j.path("status").path("succeeded").asInt(0) > 0 || j.path("status").path("failed").asInt(0) > 0)) {
                    for (Pod p : pods) {
                        String logText = podLog(client, s.namespace(), p.getMetadata().getName());
                        if (logText.contains(PASSED)) {
                            return new Check.Outcome("gpu", true, 0, "a pod asking for nvidia.com/gpu: 1 ran a CUDA kernel on node "
                                    + (p.getSpec() == null ? "?" : p.getSpec().getNodeName()), null);
                        }
                    }
                    return new Check.Outcome("gpu", false, 0, "the GPU probe ran but its CUDA sample did not pass",
                            "Look at the pod's log while it runs: kubectl -n " + s.namespace() + " logs job/" + name + " (the driver or device plugin may be broken).");
                }
                ProbeRuns.PodProblem p = ProbeRuns.podProblem(client, s, pods);
                if (p != null && !p.text().equals(shown)) {
                    log.line("gpu", p.text());
                    shown = p.text();
                }
                if (p != null && p.fatal()) return new Check.Outcome("gpu", false, 0, p.text(), p.todo());
                if (System.currentTimeMillis() > deadline) {
                    return new Check.Outcome("gpu", false, 0, (p != null ? p.text() : "the GPU probe did not finish") + " after "
                            + s.bounds().gpuMillis() / 1000 + " s", "A GPU node takes minutes to start: check the pool "
                            + "(kubectl get nodes -l " + Pools.TASK_LABEL + "), the autoscaler's events (kubectl -n " + s.namespace()
                            + " describe pod -l job-name=" + name + ") and services.java status (device plugin).");
                }
                Kube.sleep(s.bounds().pollMillis());
            }
        } finally {
            ProbeRuns.delete(client, job);
        }
    }

    private static String podLog(KubernetesClient client, String ns, String pod) {
        try {
            String log = client.pods().inNamespace(ns).withName(pod).getLog();
            return log == null ? "" : log;
        } catch (KubernetesClientException e) {
            return "";
        }
    }

    /** Tolerations as Metaflow reads them from METAFLOW_KUBERNETES_TOLERATIONS (a JSON list), empty when unset. */
    static ArrayNode tolerations(JsonNode config) {
        String text = config.path("METAFLOW_KUBERNETES_TOLERATIONS").asText("");
        if (text.isEmpty()) return Json.arr();
        JsonNode parsed = Json.parse(text);
        return parsed.isArray() ? (ArrayNode) parsed : Json.arr();
    }
}
