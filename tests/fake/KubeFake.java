package fake;

import cluster.Kube;
import cluster.Manifests;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.dsl.HttpMethod;
import io.fabric8.mockwebserver.http.Buffer;
import io.fabric8.mockwebserver.http.Headers;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * fabric8's CRUD mock API server, taught what a real API server does and the stock CRUD mode does not:
 * server-side apply (PATCH application/apply-patch+yaml: create when absent, merge the applied fields otherwise,
 * no write when nothing changes), CRDs becoming Established, pod logs, the service proxy (for /healthcheck) and
 * pod port-forwards (the websocket channel protocol, relaying to {@link #podPorts}).
 * It records every request, so tests can tell reads from writes. With {@link #entra} it also signs callers in and
 * authorizes them as an AKS cluster with Microsoft Entra ID and Azure RBAC does.
 */
public final class KubeFake implements AutoCloseable {
    public final List<String> requests = new CopyOnWriteArrayList<>();
    public final Map<String, String> logs = new ConcurrentHashMap<>();
    /**
     * What a pod's port answers through a port-forward, keyed "pod:port": each chunk of bytes a client sends gets
     * the function's bytes back. A pod port not listed refuses the connection (an error on the forward's error channel).
     */
    public final Map<String, java.util.function.UnaryOperator<byte[]>> podPorts = new ConcurrentHashMap<>();
    /** Answer of the metadata service's /healthcheck through the service proxy: status code and body. */
    public volatile int healthStatus = 200;
    public volatile String healthBody = "{\"status\": \"UP\"}";

    // --- what the probe pods of the stack check meet (played by the Job and Workflow controllers below) ---------------
    /**
     * Labels of the cluster's nodes that are up, one set per node pool (as AKS labels them: agentpool=<pool>, plus the
     * pool's nodeLabels: the task pool's as provision.java sets them).
     */
    public final List<Map<String, String>> nodes = new CopyOnWriteArrayList<>(List.of(Map.of("agentpool", "system"),
            Map.of("agentpool", "taskworkers", azure.Pools.TASK_LABEL, azure.Pools.TASK_LABEL_VALUE)));
    /**
     * The node pools the cluster autoscaler may scale (each from its template: labels, taints, GPUs per node), in the
     * order its expander tries them. {@link #schedule} places a pod by them.
     */
    public final List<NodePool> pools = new CopyOnWriteArrayList<>(List.of(
            new NodePool("system", Map.of(), List.of(), 0),
            new NodePool("taskworkers", Map.of(azure.Pools.TASK_LABEL, azure.Pools.TASK_LABEL_VALUE), List.of(), 0)));
    /** Images the nodes cannot pull (their pods wait in ImagePullBackOff). */
    public final java.util.Set<String> unpullable = ConcurrentHashMap.newKeySet();
    /** The container runtime's refusal of an image pull (see {@link #imagePulls}); by default every pull succeeds. */
    private volatile java.util.function.Function<String, String> pullRefusal = image -> null;
    /** Pods whose pull failed once (ErrImagePull), by API path, with their image: the kubelet's next pass backs off. */
    private final Map<String, String> pullFailed = new ConcurrentHashMap<>();
    /** The blobs of the storage account as the probe pods see it: URL to content. */
    public final Map<String, String> blobs = new ConcurrentHashMap<>();
    /** Every blob request the probe pods made, as "METHOD url status". */
    public final List<String> blobRequests = new CopyOnWriteArrayList<>();
    /** How many more blob writes Azure refuses with 403 (a fresh role assignment not yet in effect). */
    public final java.util.concurrent.atomic.AtomicInteger forbiddenWrites = new java.util.concurrent.atomic.AtomicInteger();
    /** Microsoft Entra's answer to the token request, when it refuses it (e.g. AADSTS70021 for a federation that does not match). */
    public volatile String tokenRefusal;
    /** Status a blob read answers after a successful write (0: the blob, 200). */
    public volatile int blobReadStatus;
    /** When set, a Workflow's pod fails with this message (as the executor reports it). */
    public volatile String workflowFailure;
    /** Status the events webhook answers an accepted event with, and the events it accepted. */
    public volatile int webhookStatus = 200;
    public final List<String> events = new CopyOnWriteArrayList<>();
    /** Every pod the Job and Workflow controllers made, as made (they are deleted with their owners). */
    public final List<ObjectNode> podsMade = new CopyOnWriteArrayList<>();

    // --- Microsoft Entra ID sign-in and Azure RBAC authorization, as an AKS cluster with aadProfile.managed and
    // enableAzureRBAC answers (opt in with entra(...); without it every request is allowed, as before) ---------------
    /** Every request the Entra mode refused, as "STATUS METHOD path user dataAction scope" (user and action "-" on a 401). */
    public final List<String> refused = new CopyOnWriteArrayList<>();
    private volatile AzureFake entraAzure;
    private volatile String entraCluster;
    /**
     * How long the authorizer keeps a decision (allow or deny) for a user, data action and scope: AKS's guard caches
     * them, so a revoked assignment keeps working that long (and a new one is refused). Default zero: no cache.
     */
    public volatile java.time.Duration decisionCache = java.time.Duration.ZERO;
    private final Map<String, long[]> decisions = new ConcurrentHashMap<>();

    private final Dispatcher dispatcher = new Dispatcher();
    private final KubernetesMockServer server;

    public KubeFake() {
        server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
        server.init();
        // What every cluster has before anyone applies anything (the device plugin goes to kube-system).
        for (String ns : List.of("default", "kube-system")) {
            dispatcher.quietly(request(HttpMethod.POST, "/api/v1/namespaces", "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + ns + "\"}}",
                    "application/json"));
        }
    }

    public String url() { return "http://localhost:" + server.getPort(); }

    /** A kubeconfig pointing at this server (what a user's ~/.kube/config would hold). */
    public String kubeconfig(String name) {
        return "apiVersion: v1\nkind: Config\nclusters:\n- name: " + name + "\n  cluster:\n    server: " + url()
                + "\ncontexts:\n- name: " + name + "\n  context:\n    cluster: " + name + "\n    user: " + name
                + "\nusers:\n- name: " + name + "\n  user:\n    token: test-token\ncurrent-context: " + name + "\n";
    }

    /** The kubeconfig of context "fake" written to dir/fake.yaml: what a user's own kubeconfig for this cluster would be. */
    public java.nio.file.Path kubeconfigFile(java.nio.file.Path dir) throws java.io.IOException {
        return java.nio.file.Files.writeString(dir.resolve("fake.yaml"), kubeconfig("fake"));
    }

    public io.fabric8.kubernetes.client.KubernetesClient client() {
        return Kube.client(kubeconfig("fake"), null, "fake");
    }

    /** A kubeconfig pointing at this server whose user sends this bearer token (an Entra token, or a local account's). */
    public String kubeconfig(String name, String token) {
        return kubeconfig(name).replace("token: test-token", "token: " + token);
    }

    /** A client that sends this bearer token. */
    public io.fabric8.kubernetes.client.KubernetesClient client(String token) {
        return Kube.client(kubeconfig("fake", token), null, "fake");
    }

    /**
     * Turns on what AKS does for a cluster with managed Microsoft Entra integration and Azure RBAC for Kubernetes
     * authorization: every request must carry {@code Authorization: Bearer <token>}, where the token is either an Entra
     * access token for the AKS server application ({@link AzureFake#AKS_SERVER_APP}, issued to the cluster's tenant, not
     * expired) or a local account's static token of that cluster ({@code listClusterUserCredential}/{@code
     * listClusterAdminCredential}), valid until the cluster's certificates are rotated; anything else is 401. An Entra
     * caller is then authorized per request from the Azure role assignments at the cluster's scope and at
     * {@code <clusterId>/namespaces/<ns>} ({@link #dataAction}), else 403 with AKS's message. What the cluster resource
     * says counts, read on each request: no managed Entra integration, no Entra sign-in (401); members of its
     * {@code adminGroupObjectIDs} are cluster admins; without {@code enableAzureRBAC} every Entra caller outside those
     * groups is refused (the fake holds no Kubernetes RBAC bindings for people). Requests the fake makes for itself
     * (controllers, {@link #create}, {@link #delete}) are not checked. See also {@link #decisionCache}.
     */
    public KubeFake entra(AzureFake azure, String clusterId) {
        this.entraAzure = azure;
        this.entraCluster = clusterId;
        return this;
    }

    /**
     * What the nodes' container runtime answers a pull: the function gets a pod's image and returns null when the pull
     * succeeds, else the runtime's error (e.g. containerd's "failed to pull and unpack image ...: 401 Unauthorized" for a
     * registry the kubelet identity may not pull from). A refused pod never starts; as the kubelet does
     * (kubernetes/kubernetes pkg/kubelet/images/image_manager.go EnsureImageExists): its container waits with reason
     * ErrImagePull and the runtime's error as message, with a Warning event "Failed" ("Failed to pull image \"IMAGE\": ERROR")
     * and "Error: ErrImagePull"; on the next pass the back-off: reason ImagePullBackOff, message "Back-off pulling image
     * \"IMAGE\"" (which names no cause), events "BackOff" and "Error: ImagePullBackOff".
     */
    public KubeFake imagePulls(java.util.function.Function<String, String> refusal) {
        this.pullRefusal = refusal == null ? image -> null : refusal;
        return this;
    }

    /** The refusals so far of one user (upn, else object id), e.g. to assert what a grantee was denied. */
    public List<String> refusedFor(String user) {
        return refused.stream().filter(r -> r.split(" ").length > 3 && r.split(" ")[3].equals(user)).toList();
    }

    /** Requests that change something (anything but GET), as "METHOD path". */
    public List<String> writes() {
        return requests.stream().filter(r -> !r.startsWith("GET ")).toList();
    }

    /** The stored object at an API path (e.g. /apis/apps/v1/namespaces/ns/deployments/name), or null. */
    public ObjectNode stored(String path) {
        synchronized (dispatcher) {  // the store is a plain map that requests change
            var e = dispatcher.findResource(dispatcher.getKey(path));
            return e == null ? null : (ObjectNode) Json.parse(e.getValue());
        }
    }

    /** Edits a stored object in place, as a controller would (not through the API, so not recorded). */
    public void edit(String path, Consumer<ObjectNode> change) {
        synchronized (dispatcher) {
            var e = dispatcher.findResource(dispatcher.getKey(path));
            if (e == null) throw new IllegalStateException("nothing stored at " + path);
            ObjectNode o = (ObjectNode) Json.parse(e.getValue());
            change.accept(o);
            dispatcher.store().put(e.getKey(), o.toString());
        }
    }

    /** Creates an object through the API (as kubectl create would); recorded like any request. */
    public void create(String collectionPath, JsonNode body) {
        MockResponse r = dispatcher.dispatch(request(HttpMethod.POST, collectionPath, body.toString(), "application/json"));
        if (r.code() >= 300) throw new IllegalStateException("create " + collectionPath + ": " + r.code() + " " + r.getBody().readUtf8());
    }

    public void delete(String path) {
        dispatcher.dispatch(request(HttpMethod.DELETE, path, "", "application/json"));
    }

    /** Paths of every stored object. */
    public List<String> keys() {
        List<String> out = new ArrayList<>();
        List<String> values;
        synchronized (dispatcher) {
            values = new ArrayList<>(dispatcher.store().values());
        }
        values.forEach(v -> {
            JsonNode o = Json.parse(v);
            out.add(o.path("kind").asText() + " " + o.path("metadata").path("namespace").asText("") + "/" + o.path("metadata").path("name").asText());
        });
        return out;
    }

    /** Every stored object of a kind. */
    public List<ObjectNode> all(String kind) {
        List<ObjectNode> out = new ArrayList<>();
        List<String> values;
        synchronized (dispatcher) {
            values = new ArrayList<>(dispatcher.store().values());
        }
        values.forEach(v -> {
            ObjectNode o = (ObjectNode) Json.parse(v);
            if (o.path("kind").asText().equals(kind)) out.add(o);
        });
        return out;
    }

    /**
     * Plays the deployment controller until closed: every 50 ms marks each deployment whose generation changed as
     * rolled out (all replicas updated and ready), except those named in {@code unready} (a set the caller may change).
     * Once the Argo Events controller-manager is rolled out, it also plays that controller ({@link #reconcileArgoEvents}).
     */
    public AutoCloseable rollOutDeployments(java.util.Set<String> unready) {
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread controller = new Thread(() -> {
            while (!stop.get()) {
                try {
                    controllerPass(unready);
                } catch (RuntimeException e) {
                    // e.g. an object deleted between read and edit: a controller tries again on its next pass
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "kube-fake-deployment-controller");
        controller.setDaemon(true);
        controller.start();
        return () -> {
            stop.set(true);
            controller.join(2000);
        };
    }

    private void controllerPass(java.util.Set<String> unready) {
        for (ObjectNode d : all("Deployment")) {
            String ns = d.path("metadata").path("namespace").asText();
            String name = d.path("metadata").path("name").asText();
            if (unready.contains(name)) continue;
            long gen = d.path("metadata").path("generation").asLong(1);
            if (d.path("status").path("observedGeneration").asLong(-1) == gen) continue;
            int replicas = d.path("spec").path("replicas").asInt(1);
            edit("/apis/apps/v1/namespaces/" + ns + "/deployments/" + name, o -> o.putObject("status")
                    .put("observedGeneration", gen).put("replicas", replicas).put("readyReplicas", replicas)
                    .put("updatedReplicas", replicas).put("availableReplicas", replicas));
        }
        reconcileArgoEvents(unready);
        reconcileDaemonSets();
        backOffPulls();
        runJobs();
        ObjectNode wfc = stored("/apis/apps/v1/namespaces/argo/deployments/workflow-controller");
        if (wfc != null && !unready.contains("workflow-controller") && wfc.path("status").path("readyReplicas").asInt(0) > 0) runWorkflows();
    }

    // --- the Job controller and the kubelet, for the stack check's probe pods ------------------------------------

    /**
     * One pass of the Job controller: each new Job gets a pod (labels job-name and batch.kubernetes.io/job-name, owned by
     * the Job), which the scheduler places only on a node whose labels hold its nodeSelector, and the kubelet runs only if
     * its image can be pulled. A pod that runs plays the storage probe's script ({@link #storageScript}) when it carries
     * its variables; the Job then counts it succeeded or failed, as backoffLimit 0 says.
     */
    void runJobs() {
        for (ObjectNode job : all("Job")) {
            if (job.path("status").has("startTime")) continue;
            String ns = job.path("metadata").path("namespace").asText();
            String name = job.path("metadata").path("name").asText();
            ObjectNode pod = podFor(job, "Job", name + "-" + Long.toString(System.nanoTime() % 1_000_000, 36), Map.of("job-name", name,
                    "batch.kubernetes.io/job-name", name));
            String path = "/apis/batch/v1/namespaces/" + ns + "/jobs/" + name;
            ObjectNode status = Json.obj().put("startTime", "2026-01-01T00:00:00Z");
            Run run = start(pod);
            if (run == null) {
                status.put("active", 1);
            } else {
                logs.put(pod.path("metadata").path("name").asText(), run.log());
                finish(pod, run);
                status.put(run.exit() == 0 ? "succeeded" : "failed", 1).putArray("conditions").addObject()
                        .put("type", run.exit() == 0 ? "Complete" : "Failed").put("status", "True")
                        .put("reason", run.exit() == 0 ? "" : "BackoffLimitExceeded").put("message", run.exit() == 0 ? "" : "Job has reached the specified backoff limit");
            }
            edit(path, o -> o.set("status", status));
        }
    }

    /** A process's end: its exit code and what it wrote. */
    record Run(int exit, String log) {}

    /** Creates the pod of a Job or Workflow as its controller would (quietly: not API traffic of the client). */
    ObjectNode podFor(ObjectNode owner, String kind, String podName, Map<String, String> extraLabels) {
        String ns = owner.path("metadata").path("namespace").asText();
        JsonNode template = owner.path("spec").path("template");
        ObjectNode pod = Json.obj().put("apiVersion", "v1").put("kind", "Pod");
        ObjectNode meta = pod.putObject("metadata").put("name", podName).put("namespace", ns);
        ObjectNode labels = meta.putObject("labels");
        template.path("metadata").path("labels").fields().forEachRemaining(e -> labels.set(e.getKey(), e.getValue()));
        extraLabels.forEach(labels::put);
        meta.putArray("ownerReferences").addObject().put("apiVersion", owner.path("apiVersion").asText()).put("kind", kind)
                .put("name", owner.path("metadata").path("name").asText()).put("uid", owner.path("metadata").path("uid").asText(""));
        ObjectNode spec = (ObjectNode) template.path("spec").deepCopy();
        pod.set("spec", spec);
        podsMade.add(pod.deepCopy());
        dispatcher.quietly(request(HttpMethod.POST, "/api/v1/namespaces/" + ns + "/pods", pod.toString(), "application/json"));
        return pod;
    }

    /** Schedules and starts the pod; null when it cannot run (its status then says why, as the scheduler or kubelet writes it). */
    Run start(ObjectNode pod) {
        String path = "/api/v1/namespaces/" + pod.path("metadata").path("namespace").asText() + "/pods/" + pod.path("metadata").path("name").asText();
        if (gpuRequest(pod.path("spec")) > 0) {
            // A GPU pod: placed by the pools (autoscaler, taints, device plugin); once it runs, NVIDIA's CUDA sample passes.
            Placement where = schedule(pod.path("spec"));
            if (!where.runs()) {
                edit(path, o -> o.putObject("status").put("phase", "Pending").putArray("conditions").addObject().put("type", "PodScheduled")
                        .put("status", "False").put("reason", "Unschedulable").put("message", where.reason()));
                return null;
            }
            edit(path, o -> o.with("spec").put("nodeName", "aks-" + where.pool() + "-00000000-vmss000000"));
            return new Run(0, "[Vector addition of 50000 elements]\nTest PASSED\nDone\n");
        }
        Map<String, String> selector = new HashMap<>();
        pod.path("spec").path("nodeSelector").fields().forEachRemaining(e -> selector.put(e.getKey(), e.getValue().asText()));
        boolean fits = nodes.stream().anyMatch(n -> n.entrySet().containsAll(selector.entrySet()));
        if (!fits) {
            edit(path, o -> o.putObject("status").put("phase", "Pending").putArray("conditions").addObject().put("type", "PodScheduled")
                    .put("status", "False").put("reason", "Unschedulable").put("message", "0/" + nodes.size()
                            + " nodes are available: " + nodes.size() + " node(s) didn't match Pod's node affinity/selector."));
            return null;
        }
        String image = pod.path("spec").path("containers").path(0).path("image").asText();
        if (unpullable.contains(image)) {
            edit(path, o -> {
                ObjectNode cs = o.putObject("status").put("phase", "Pending").putArray("containerStatuses").addObject()
                        .put("name", "probe").put("image", image).put("ready", false).put("restartCount", 0);
                cs.putObject("state").putObject("waiting").put("reason", "ImagePullBackOff")
                        .put("message", "Back-off pulling image \"" + image + "\"");
            });
            return null;
        }
        String refused = pullRefusal.apply(image);
        if (refused != null) {
            waiting(pod, path, image, "ErrImagePull", refused);
            kubeletEvent(pod, "Warning", "Failed", "Failed to pull image \"" + image + "\": " + refused);
            kubeletEvent(pod, "Warning", "Failed", "Error: ErrImagePull");
            pullFailed.put(path, image);
            return null;
        }
        return storageScript(pod);
    }

    /** The pod's first container waits (phase Pending) with this reason and message, as the kubelet reports it. */
    void waiting(ObjectNode pod, String path, String image, String reason, String message) {
        String container = pod.path("spec").path("containers").path(0).path("name").asText("main");
        edit(path, o -> {
            ObjectNode cs = o.putObject("status").put("phase", "Pending").putArray("containerStatuses").addObject()
                    .put("name", container).put("image", image).put("imageID", "").put("ready", false).put("restartCount", 0)
                    .put("started", false);
            cs.putObject("state").putObject("waiting").put("reason", reason).put("message", message);
        });
    }

    /** A core/v1 Event of the kubelet about the pod's first container (quietly: not API traffic of the client). */
    void kubeletEvent(ObjectNode pod, String type, String reason, String message) {
        String ns = pod.path("metadata").path("namespace").asText();
        String name = pod.path("metadata").path("name").asText();
        ObjectNode e = Json.obj().put("apiVersion", "v1").put("kind", "Event");
        e.putObject("metadata").put("name", name + "." + Long.toHexString(System.nanoTime())).put("namespace", ns);
        e.putObject("involvedObject").put("apiVersion", "v1").put("kind", "Pod").put("name", name).put("namespace", ns)
                .put("fieldPath", "spec.containers{" + pod.path("spec").path("containers").path(0).path("name").asText("main") + "}");
        e.put("type", type).put("reason", reason).put("message", message).put("count", 1)
                .put("firstTimestamp", java.time.Instant.now().toString()).put("lastTimestamp", java.time.Instant.now().toString());
        e.putObject("source").put("component", "kubelet");
        dispatcher.quietly(request(HttpMethod.POST, "/api/v1/namespaces/" + ns + "/events", e.toString(), "application/json"));
    }

    /** The kubelet's next pass over pods whose pull failed: it backs off (a pod deleted meanwhile is forgotten). */
    void backOffPulls() {
        for (var e : pullFailed.entrySet()) {
            pullFailed.remove(e.getKey());
            ObjectNode pod = stored(e.getKey());
            if (pod == null) continue;
            waiting(pod, e.getKey(), e.getValue(), "ImagePullBackOff", "Back-off pulling image \"" + e.getValue() + "\"");
            kubeletEvent(pod, "Normal", "BackOff", "Back-off pulling image \"" + e.getValue() + "\"");
            kubeletEvent(pod, "Warning", "Failed", "Error: ImagePullBackOff");
        }
    }

    void finish(ObjectNode pod, Run run) {
        String path = "/api/v1/namespaces/" + pod.path("metadata").path("namespace").asText() + "/pods/" + pod.path("metadata").path("name").asText();
        edit(path, o -> {
            ObjectNode cs = o.putObject("status").put("phase", run.exit() == 0 ? "Succeeded" : "Failed").putArray("containerStatuses")
                    .addObject().put("name", "probe").put("ready", false).put("restartCount", 0);
            cs.putObject("state").putObject("terminated").put("exitCode", run.exit()).put("reason", run.exit() == 0 ? "Completed" : "Error");
        });
    }

    /**
     * What the storage probe's script does in the pod, step by step, with this fake's Azure: the identity (workload
     * identity only when the AKS webhook would inject it: pod label azure.workload.identity/use=true and a service account
     * annotated with a client id; or the client secret from the pod's Secret), the token, then put, read back and delete
     * the blob (the script's trap deletes it after a failed read). Its log ends with the script's result line.
     */
    Run storageScript(ObjectNode pod) {
        Map<String, String> env = new HashMap<>();
        JsonNode c = pod.path("spec").path("containers").path(0);
        String ns = pod.path("metadata").path("namespace").asText();
        // The kubelet: the Secrets' keys first, the container's own env over them.
        for (JsonNode from : c.path("envFrom")) {
            ObjectNode s = stored("/api/v1/namespaces/" + ns + "/secrets/" + from.path("secretRef").path("name").asText());
            if (s == null) return new Run(1, "");  // CreateContainerConfigError in life; the probes never meet it here
            s.path("data").fields().forEachRemaining(e -> env.put(e.getKey(),
                    new String(java.util.Base64.getDecoder().decode(e.getValue().asText()), StandardCharsets.UTF_8)));
        }
        for (JsonNode e : c.path("env")) env.put(e.path("name").asText(), e.path("value").asText());
        if (!env.containsKey("PROBE_BLOB")) return new Run(0, "");
        boolean secret = env.containsKey("AZURE_CLIENT_SECRET");
        ObjectNode sa = stored("/api/v1/namespaces/" + ns + "/serviceaccounts/" + pod.path("spec").path("serviceAccountName").asText("default"));
        boolean injected = pod.path("metadata").path("labels").path("azure.workload.identity/use").asText().equals("true")
                && sa != null && !sa.path("metadata").path("annotations").path("azure.workload.identity/client-id").asText("").isEmpty();
        StringBuilder log = new StringBuilder();
        String blobUrl = env.get("BLOB_URL");
        if (blobUrl == null) {  // the script's fallback, as Metaflow's own containers find the datastore
            String endpoint = env.get("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT");
            if (endpoint == null) return result(log, 1, "fail datastore 0 no METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT in the pod");
            blobUrl = endpoint.replaceAll("/$", "") + "/" + env.getOrDefault("METAFLOW_DATASTORE_SYSROOT_AZURE", "");
        }
        if (!secret && !injected) return result(log, 1, "fail identity 0 no AZURE_FEDERATED_TOKEN_FILE and no AZURE_CLIENT_SECRET in the pod");
        if (tokenRefusal != null) return result(log, 1, "fail token 400 " + tokenRefusal);
        String url = blobUrl + "/" + env.get("PROBE_BLOB");
        if (forbiddenWrites.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            blobRequests.add("PUT " + url + " 403");
            return result(log, 1, "fail put 403 AuthorizationPermissionMismatch");
        }
        blobs.put(url, env.get("PROBE_ID"));
        blobRequests.add("PUT " + url + " 201");
        int read = blobReadStatus == 0 ? 200 : blobReadStatus;
        blobRequests.add("GET " + url + " " + read);
        if (read != 200) {
            blobs.remove(url);  // the script's trap
            blobRequests.add("DELETE " + url + " 202");
            return result(log, 1, "fail get " + read + " ServerBusy");
        }
        blobs.remove(url);
        blobRequests.add("DELETE " + url + " 202");
        return result(log, 0, "ok");
    }

    static Run result(StringBuilder log, int exit, String line) {
        return new Run(exit, log.append("probe-result: ").append(line).append("\n").toString());
    }

    // --- the scheduler, the cluster autoscaler and the device plugin, for task pods ------------------------------

    /** A node taint (key=value:Effect, as AKS's nodeTaints spell it). */
    public record Taint(String key, String value, String effect) {
        public static Taint parse(String text) {
            int colon = text.lastIndexOf(':');
            String kv = text.substring(0, colon);
            int eq = kv.indexOf('=');
            return new Taint(eq < 0 ? kv : kv.substring(0, eq), eq < 0 ? "" : kv.substring(eq + 1), text.substring(colon + 1));
        }
    }

    /** A node pool as the autoscaler knows it: its nodes' labels (agentpool=name among them), taints and GPUs per node. */
    public record NodePool(String name, Map<String, String> nodeLabels, List<Taint> taints, int gpusPerNode) {
        public Map<String, String> labels() {
            Map<String, String> l = new HashMap<>(nodeLabels);
            l.put("agentpool", name);
            return l;
        }

        /**
         * The pool as an AKS agentPools resource describes it (nodeLabels, nodeTaints), with the GPUs per node its VM size has
         * (the resource SKUs' GPUs capability): what the pool's nodes will carry.
         */
        public static NodePool of(String name, JsonNode agentPool, int gpusPerNode) {
            JsonNode p = agentPool.has("properties") ? agentPool.path("properties") : agentPool;
            Map<String, String> labels = new HashMap<>();
            p.path("nodeLabels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
            List<Taint> taints = new ArrayList<>();
            for (JsonNode t : p.path("nodeTaints")) taints.add(Taint.parse(t.asText()));
            return new NodePool(name, labels, taints, gpusPerNode);
        }
    }

    /** Where a pod goes: the pool the autoscaler picks (null: none fits), whether it then runs, and the scheduler's words if not. */
    public record Placement(String pool, boolean runs, String reason) {}

    /** The extended resource of an NVIDIA GPU, as the device plugin advertises it. */
    public static final String GPU = "nvidia.com/gpu";

    /**
     * Schedules a pod spec (after admission) by the pools: a pool fits when its labels hold the pod's nodeSelector, the pod
     * tolerates every NoSchedule/NoExecute taint of it, and its nodes have the extended resources the pod asks for. The
     * autoscaler scales the first pool that fits; a GPU pod runs there only if the NVIDIA device plugin (a DaemonSet that
     * tolerates the pool's taints and selects its nodes) advertises nvidia.com/gpu on them, else it stays Pending.
     */
    public Placement schedule(JsonNode podSpec) {
        ObjectNode spec = admit(podSpec);
        int gpus = gpuRequest(spec);
        Map<String, String> selector = new HashMap<>();
        spec.path("nodeSelector").fields().forEachRemaining(e -> selector.put(e.getKey(), e.getValue().asText()));
        List<String> why = new ArrayList<>();
        for (NodePool p : pools) {
            if (!p.labels().entrySet().containsAll(selector.entrySet())) { why.add(p.name() + ": didn't match Pod's node affinity/selector"); continue; }
            Taint untolerated = p.taints().stream().filter(t -> !t.effect().equals("PreferNoSchedule") && !tolerated(spec.path("tolerations"), t))
                    .findFirst().orElse(null);
            if (untolerated != null) {
                why.add(p.name() + ": had untolerated taint {" + untolerated.key() + ": " + untolerated.value() + "}");
                continue;
            }
            if (gpus > p.gpusPerNode()) { why.add(p.name() + ": Insufficient " + GPU); continue; }
            if (gpus > 0 && !pluginServes(p)) {
                return new Placement(p.name(), false, "0/1 nodes are available: 1 Insufficient " + GPU + " (no device plugin advertises it on pool "
                        + p.name() + ")");
            }
            return new Placement(p.name(), true, null);
        }
        return new Placement(null, false, "pod didn't trigger scale-up: " + String.join("; ", why));
    }

    /**
     * What the API server does to a new pod: defaulting first (a container's requests default to its limits, which is
     * how Metaflow's limits-only nvidia.com/gpu becomes a request), then Kubernetes' ExtendedResourceToleration admission
     * plugin (enabled on AKS; kubernetes/kubernetes plugin/pkg/admission/extendedresourcetoleration/admission.go): for each
     * extended resource (a name with a domain outside kubernetes.io) a container or init container requests, a
     * toleration {key: name, operator: Exists, effect: NoSchedule}.
     */
    public static ObjectNode admit(JsonNode podSpec) {
        ObjectNode spec = podSpec.deepCopy();
        java.util.Set<String> extended = new java.util.TreeSet<>();
        for (String list : List.of("containers", "initContainers")) {
            for (JsonNode c : spec.path(list)) {
                ObjectNode res = ((ObjectNode) c).with("resources");
                ObjectNode requests = res.with("requests");
                res.path("limits").fields().forEachRemaining(e -> { if (!requests.has(e.getKey())) requests.set(e.getKey(), e.getValue()); });
                requests.fieldNames().forEachRemaining(n -> {
                    if (n.contains("/") && !n.contains("kubernetes.io/")) extended.add(n);
                });
            }
        }
        for (String n : extended) {
            boolean has = false;
            for (JsonNode t : spec.path("tolerations")) if (t.path("key").asText().equals(n) && t.path("operator").asText().equals("Exists")) has = true;
            if (!has) spec.withArray("tolerations").addObject().put("key", n).put("operator", "Exists").put("effect", "NoSchedule");
        }
        return spec;
    }

    /** GPUs the pod asks for: limits (Kubernetes takes an extended resource's request from its limit) or requests. */
    static int gpuRequest(JsonNode spec) {
        int n = 0;
        for (JsonNode c : spec.path("containers")) {
            JsonNode r = c.path("resources");
            n += r.path("limits").has(GPU) ? r.path("limits").path(GPU).asInt() : r.path("requests").path(GPU).asInt(0);
        }
        return n;
    }

    /** Kubernetes' toleration matching: same key (or empty key with Exists), Exists or Equal value, same effect or none. */
    static boolean tolerated(JsonNode tolerations, Taint t) {
        for (JsonNode tol : tolerations) {
            String key = tol.path("key").asText("");
            String op = tol.path("operator").asText("Equal");
            String effect = tol.path("effect").asText("");
            if (!effect.isEmpty() && !effect.equals(t.effect())) continue;
            if (key.isEmpty() && op.equals("Exists")) return true;
            if (!key.equals(t.key())) continue;
            if (op.equals("Exists") || tol.path("value").asText("").equals(t.value())) return true;
        }
        return false;
    }

    /** Whether an NVIDIA device plugin DaemonSet runs on the pool's nodes (selects them and tolerates their taints). */
    boolean pluginServes(NodePool p) {
        for (ObjectNode ds : all("DaemonSet")) {
            JsonNode pod = ds.path("spec").path("template").path("spec");
            if (!pod.path("containers").path(0).path("image").asText().contains("k8s-device-plugin")) continue;
            Map<String, String> sel = new HashMap<>();
            pod.path("nodeSelector").fields().forEachRemaining(e -> sel.put(e.getKey(), e.getValue().asText()));
            if (!p.labels().entrySet().containsAll(sel.entrySet())) continue;
            if (p.taints().stream().allMatch(t -> t.effect().equals("PreferNoSchedule") || tolerated(pod.path("tolerations"), t))) return true;
        }
        return false;
    }

    /** The DaemonSet controller's status: nodes up that the DaemonSet selects, all of them ready. */
    void reconcileDaemonSets() {
        for (ObjectNode ds : all("DaemonSet")) {
            String ns = ds.path("metadata").path("namespace").asText();
            String name = ds.path("metadata").path("name").asText();
            long gen = ds.path("metadata").path("generation").asLong(1);
            if (ds.path("status").path("observedGeneration").asLong(-1) == gen) continue;
            Map<String, String> sel = new HashMap<>();
            ds.path("spec").path("template").path("spec").path("nodeSelector").fields().forEachRemaining(e -> sel.put(e.getKey(), e.getValue().asText()));
            int n = (int) nodes.stream().filter(l -> l.entrySet().containsAll(sel.entrySet())).count();
            edit("/apis/apps/v1/namespaces/" + ns + "/daemonsets/" + name, o -> o.putObject("status").put("observedGeneration", gen)
                    .put("desiredNumberScheduled", n).put("currentNumberScheduled", n).put("numberReady", n).put("numberAvailable", n));
        }
    }

    // --- the Argo Workflows controller (v4), for the stack check's Workflow ------------------------------------------

    /**
     * One pass: each new Workflow is joined with the controller's workflowDefaults ({@link #workflowDefaults}, as
     * argoproj/argo-workflows v4.1.2 workflow/util/merge.go MergeTo does: strategic merge, the Workflow winning), then its
     * entrypoint's container template and its onExit template (the exit handler runs whatever the entrypoint did) each get
     * a pod (label workflows.argoproj.io/workflow, owned by the Workflow) made as workflow/controller/workflowpod.go makes
     * it: labels of the joined podMetadata then the template's (addMetadata); the template's nodeSelector, else the
     * joined one (addSchedulingConstraints); the template's serviceAccountName, else the joined one (setupServiceAccount).
     * A pod that cannot run leaves the Workflow Running; one that runs plays the storage script when it carries it, and
     * otherwise succeeds unless {@link #workflowFailure} is set or its service account lacks what the executor needs:
     * create on workflowtaskresults in the namespace (through a RoleBinding), which the executor reports as the API
     * server's "forbidden". A failed exit handler fails the Workflow with its message (operator.go, onExitNode).
     */
    void runWorkflows() {
        for (ObjectNode wf : all("Workflow")) {
            if (wf.path("status").has("phase")) continue;
            String ns = wf.path("metadata").path("namespace").asText();
            String name = wf.path("metadata").path("name").asText();
            JsonNode spec = joined(workflowDefaults(), wf.path("spec"));
            String path = "/apis/argoproj.io/v1alpha1/namespaces/" + ns + "/workflows/" + name;
            ObjectNode status = Json.obj();
            ObjectNode nodes = status.putObject("nodes");
            String phase = "Succeeded";
            String message = null;
            List<String[]> steps = new ArrayList<>();
            steps.add(new String[] {name, spec.path("entrypoint").asText(), "-probe-1"});
            if (spec.hasNonNull("onExit")) steps.add(new String[] {name + ".onExit", spec.path("onExit").asText(), "-hook-2"});
            for (String[] step : steps) {
                JsonNode template = null;
                for (JsonNode t : spec.path("templates")) if (t.path("name").asText().equals(step[1])) template = t;
                if (template == null || !template.has("container")) continue;
                ObjectNode pod = workflowPod(wf, spec, template, name + step[2]);
                ObjectNode node = nodes.putObject(step[0]).put("name", step[0]).put("type", "Pod");
                Run run = start(pod);
                if (run == null) {
                    phase = "Running";
                    node.put("phase", "Pending");
                    break;
                }
                String sa = pod.path("spec").path("serviceAccountName").asText();
                String failure = run.exit() != 0 ? "Error (exit code " + run.exit() + ")" : workflowFailure != null ? workflowFailure
                        : canCreateTaskResults(ns, sa) ? null
                        : "workflowtaskresults.argoproj.io is forbidden: User \"system:serviceaccount:" + ns + ":" + sa
                        + "\" cannot create resource \"workflowtaskresults\" in API group \"argoproj.io\" in the namespace \"" + ns + "\"";
                logs.put(pod.path("metadata").path("name").asText(), run.log());
                finish(pod, new Run(failure == null ? 0 : 1, run.log()));
                node.put("phase", failure == null ? "Succeeded" : "Error");
                if (failure != null) {
                    node.put("message", failure);
                    phase = "Failed";
                    if (message == null) message = step[0].endsWith(".onExit") ? failure : "child '" + name + "' failed";
                }
            }
            status.put("phase", phase);
            if (message != null) status.put("message", message);
            edit(path, o -> o.set("status", status));
        }
    }

    /**
     * The controller's workflowDefaults from its ConfigMap argo/workflow-controller-configmap, read as
     * argoproj/argo-workflows v4.1.2 config/controller.go parseConfigMap reads it: a key "config" holding the whole
     * configuration (then the only key), else each key a top-level field of it. Null when none.
     */
    JsonNode workflowDefaults() {
        ObjectNode cm = stored("/api/v1/namespaces/argo/configmaps/workflow-controller-configmap");
        if (cm == null) return null;
        JsonNode data = cm.path("data");
        try {
            if (data.has("config")) return Manifests.YAML.readTree(data.path("config").asText()).path("workflowDefaults");
            return data.has("workflowDefaults") ? Manifests.YAML.readTree(data.path("workflowDefaults").asText()) : null;
        } catch (java.io.IOException e) {
            throw new IllegalStateException("the workflow controller cannot parse its ConfigMap: " + e.getMessage());
        }
    }

    /** The Workflow's spec over the defaults' spec: maps merged, the Workflow's scalars and lists winning, templates merged by name. */
    static JsonNode joined(JsonNode defaults, JsonNode spec) {
        if (defaults == null || !defaults.path("spec").isObject()) return spec;
        return merge(defaults.path("spec"), spec, "");
    }

    static JsonNode merge(JsonNode base, JsonNode over, String field) {
        if (base == null || base.isMissingNode() || base.isNull()) return over.deepCopy();
        if (over.isObject() && base.isObject()) {
            ObjectNode out = (ObjectNode) base.deepCopy();
            over.fields().forEachRemaining(e -> out.set(e.getKey(), merge(base.get(e.getKey()), e.getValue(), e.getKey())));
            return out;
        }
        if (over.isArray() && base.isArray() && field.equals("templates")) {  // patchStrategy merge, patchMergeKey name
            com.fasterxml.jackson.databind.node.ArrayNode out = Json.MAPPER.createArrayNode();
            Map<String, JsonNode> byName = new java.util.LinkedHashMap<>();
            for (JsonNode t : base) byName.put(t.path("name").asText(), t);
            for (JsonNode t : over) byName.merge(t.path("name").asText(), t, (b, o) -> merge(b, o, ""));
            byName.values().forEach(out::add);
            return out;
        }
        return over.deepCopy();
    }

    /** A Workflow template's pod, as the controller makes it (quietly: not API traffic of the client). */
    ObjectNode workflowPod(ObjectNode wf, JsonNode spec, JsonNode template, String podName) {
        String ns = wf.path("metadata").path("namespace").asText();
        String name = wf.path("metadata").path("name").asText();
        ObjectNode pod = Json.obj().put("apiVersion", "v1").put("kind", "Pod");
        ObjectNode meta = pod.putObject("metadata").put("name", podName).put("namespace", ns);
        ObjectNode labels = meta.putObject("labels");
        spec.path("podMetadata").path("labels").fields().forEachRemaining(e -> labels.set(e.getKey(), e.getValue()));
        template.path("metadata").path("labels").fields().forEachRemaining(e -> labels.set(e.getKey(), e.getValue()));
        labels.put("workflows.argoproj.io/workflow", name);
        meta.putArray("ownerReferences").addObject().put("apiVersion", wf.path("apiVersion").asText()).put("kind", "Workflow")
                .put("name", name).put("uid", wf.path("metadata").path("uid").asText(""));
        ObjectNode podSpec = pod.putObject("spec").put("serviceAccountName", !template.path("serviceAccountName").asText("").isEmpty()
                ? template.path("serviceAccountName").asText() : spec.path("serviceAccountName").asText("default"));
        JsonNode selector = template.path("nodeSelector").size() > 0 ? template.path("nodeSelector") : spec.path("nodeSelector");
        if (selector.size() > 0) podSpec.set("nodeSelector", selector.deepCopy());
        ObjectNode main = template.path("container").deepCopy();
        main.put("name", "main");
        podSpec.putArray("containers").add(main);
        podsMade.add(pod.deepCopy());
        dispatcher.quietly(request(HttpMethod.POST, "/api/v1/namespaces/" + ns + "/pods", pod.toString(), "application/json"));
        return pod;
    }

    boolean canCreateTaskResults(String ns, String sa) {
        for (ObjectNode rb : all("RoleBinding")) {
            if (!rb.path("metadata").path("namespace").asText().equals(ns)) continue;
            boolean bound = false;
            for (JsonNode sub : rb.path("subjects")) {
                bound |= sub.path("kind").asText().equals("ServiceAccount") && sub.path("name").asText().equals(sa);
            }
            if (!bound) continue;
            ObjectNode role = stored("/apis/rbac.authorization.k8s.io/v1/namespaces/" + ns + "/roles/" + rb.path("roleRef").path("name").asText());
            if (role == null) continue;
            for (JsonNode rule : role.path("rules")) {
                if (rule.path("resources").toString().contains("\"workflowtaskresults\"") && rule.path("verbs").toString().contains("\"create\"")) return true;
            }
        }
        return false;
    }

    /**
     * One pass of the Argo Events controller (v1.9.x, pkg/reconciler/eventbus and pkg/reconciler/eventsource), run only while
     * its Deployment controller-manager is rolled out. It reads its configuration from the ConfigMap
     * argo-events-controller-config (as the real one does from the mounted file). An EventBus gets Configured=True and
     * Deployed=True when its spec.jetstream.version is among eventBus.jetstream.versions there, otherwise Deployed=False with
     * reason JetStreamStatefulSetFailed and the message the controller writes (its config.go GetJetStreamVersion wrapped by
     * installer/jetstream.go createStatefulSet). An EventSource gets SourcesProvided=True and Deployed=True only when its
     * bus (spec.eventBusName, default "default") exists and has all conditions True, else Deployed=False with
     * EventBusNotFound / EventBusNotReady; once deployed, its Service {@code <name>-eventsource-svc} is made when the spec asks
     * for one. Status is written as a controller writes it (not through the recorded API), and only when it changes.
     */
    void reconcileArgoEvents(java.util.Set<String> unready) {
        ObjectNode cm = all("ConfigMap").stream().filter(c -> c.path("metadata").path("name").asText().equals("argo-events-controller-config"))
                .findFirst().orElse(null);
        if (cm == null) return;
        String controllerNs = cm.path("metadata").path("namespace").asText();
        ObjectNode ctrl = stored("/apis/apps/v1/namespaces/" + controllerNs + "/deployments/controller-manager");
        if (ctrl == null || unready.contains("controller-manager") || ctrl.path("status").path("readyReplicas").asInt(0) < 1) return;
        List<String> listed = new ArrayList<>();
        try {
            JsonNode config = Manifests.YAML.readTree(cm.path("data").path("controller-config.yaml").asText(""));
            if (config != null) for (JsonNode v : config.path("eventBus").path("jetstream").path("versions")) listed.add(v.path("version").asText());
        } catch (Exception e) {
            return;  // the real controller does not start on an unreadable config
        }
        for (ObjectNode bus : all("EventBus")) {
            String version = bus.path("spec").path("jetstream").path("version").asText();
            ObjectNode status = Json.obj();
            var conditions = status.putArray("conditions");
            conditions.addObject().put("type", "Configured").put("status", "True");
            if (listed.contains(version)) {
                conditions.addObject().put("type", "Deployed").put("status", "True").put("reason", "Succeeded").put("message", "JetStream is deployed");
            } else {
                conditions.addObject().put("type", "Deployed").put("status", "False").put("reason", "JetStreamStatefulSetFailed")
                        .put("message", "failed to get jetstream version, err: unsupported version \"" + version + "\", supported versions: \""
                                + String.join(",", listed) + "\"");
            }
            setStatus(bus, "eventbus", status);
        }
        for (ObjectNode source : all("EventSource")) {
            String ns = source.path("metadata").path("namespace").asText();
            String name = source.path("metadata").path("name").asText();
            String busName = source.path("spec").path("eventBusName").asText("");
            ObjectNode bus = stored("/apis/argoproj.io/v1alpha1/namespaces/" + ns + "/eventbus/" + (busName.isEmpty() ? "default" : busName));
            ObjectNode status = Json.obj();
            var conditions = status.putArray("conditions");
            ObjectNode deployed = Json.obj().put("type", "Deployed");
            if (bus == null) {
                deployed.put("status", "False").put("reason", "EventBusNotFound").put("message", "EventBus not found.");
            } else if (!allTrue(bus)) {
                deployed.put("status", "False").put("reason", "EventBusNotReady").put("message", "EventBus not ready.");
            } else {
                deployed.put("status", "True");
                JsonNode ports = source.path("spec").path("service").path("ports");
                String svcPath = "/api/v1/namespaces/" + ns + "/services/" + name + "-eventsource-svc";
                if (!ports.isMissingNode() && stored(svcPath) == null) {
                    ObjectNode svc = Json.obj().put("apiVersion", "v1").put("kind", "Service");
                    svc.putObject("metadata").put("name", name + "-eventsource-svc").put("namespace", ns)
                            .putObject("labels").put("eventsource-name", name);
                    svc.putObject("spec").put("type", "ClusterIP").set("ports", ports.deepCopy());
                    ((ObjectNode) svc.get("spec")).putObject("selector").put("eventsource-name", name);
                    dispatcher.quietly(request(HttpMethod.POST, "/api/v1/namespaces/" + ns + "/services", svc.toString(), "application/json"));
                }
            }
            conditions.add(deployed);
            conditions.addObject().put("type", "SourcesProvided").put("status", "True");
            setStatus(source, "eventsources", status);
        }
    }

    static boolean allTrue(JsonNode o) {
        JsonNode conditions = o.path("status").path("conditions");
        if (conditions.size() == 0) return false;
        for (JsonNode c : conditions) if (!c.path("status").asText().equals("True")) return false;
        return true;
    }

    private void setStatus(ObjectNode o, String plural, ObjectNode status) {
        if (status.equals(o.path("status"))) return;
        String path = "/apis/argoproj.io/v1alpha1/namespaces/" + o.path("metadata").path("namespace").asText() + "/" + plural + "/"
                + o.path("metadata").path("name").asText();
        edit(path, x -> x.set("status", status));
    }

    // --- Entra mode: authentication and authorization of each request -------------------------------------------

    /** API groups the API server itself serves (built-in); any other group is a custom resource's. */
    private static final java.util.Set<String> BUILT_IN_GROUPS = java.util.Set.of("", "apps", "batch", "autoscaling", "policy", "extensions",
            "networking.k8s.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "storage.k8s.io",
            "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io", "scheduling.k8s.io", "node.k8s.io", "admissionregistration.k8s.io",
            "certificates.k8s.io", "authentication.k8s.io", "authorization.k8s.io", "flowcontrol.apiserver.k8s.io", "metrics.k8s.io",
            "resource.k8s.io");
    private static final String ACCESS_NOT_ALLOWED = "User does not have access to the resource in Azure. Update role assignment to allow access.";

    /**
     * What the API server makes of a request path and method (k8s.io/apiserver pkg/endpoints/request/requestinfo.go):
     * resource requests under /api/v1 and /apis/group/version, with namespace, resource, name, subresource and verb;
     * anything else (discovery, /version, /openapi) is a non-resource request (resource null).
     */
    record RequestInfo(String verb, String group, String namespace, String resource, String name, String subresource, String path) {
        static RequestInfo of(String method, String fullPath) {
            String path = fullPath.contains("?") ? fullPath.substring(0, fullPath.indexOf('?')) : fullPath;
            String query = fullPath.contains("?") ? fullPath.substring(fullPath.indexOf('?') + 1) : "";
            List<String> parts = new ArrayList<>();
            for (String x : path.split("/")) if (!x.isEmpty()) parts.add(x);
            String nonResourceVerb = method.toLowerCase(java.util.Locale.ROOT).equals("post") ? "create" : method.toLowerCase(java.util.Locale.ROOT);
            int prefix = !parts.isEmpty() && parts.get(0).equals("api") ? 2 : !parts.isEmpty() && parts.get(0).equals("apis") ? 3 : -1;
            if (prefix < 0 || parts.size() <= prefix) return new RequestInfo(nonResourceVerb, null, null, null, null, null, path);
            String group = prefix == 2 ? "" : parts.get(1);
            List<String> rest = new ArrayList<>(parts.subList(prefix, parts.size()));
            boolean watchPath = rest.get(0).equals("watch");
            if (watchPath) rest.remove(0);
            String namespace = "";
            if (rest.get(0).equals("namespaces") && rest.size() > 1) {
                namespace = rest.get(1);
                if (rest.size() > 2 && !List.of("status", "finalize").contains(rest.get(2))) rest = rest.subList(2, rest.size());
            }
            String resource = rest.get(0);
            String name = rest.size() > 1 ? rest.get(1) : "";
            String sub = rest.size() > 2 ? rest.get(2) : "";
            boolean watch = watchPath || query.matches("(.*&)?watch=(true|1)(&.*)?");
            String verb = switch (method) {
                case "POST" -> "create";
                case "GET", "HEAD" -> watch ? "watch" : name.isEmpty() ? "list" : "get";
                case "PUT" -> "update";
                case "PATCH" -> "patch";
                case "DELETE" -> name.isEmpty() ? "deletecollection" : "delete";
                default -> method.toLowerCase(java.util.Locale.ROOT);
            };
            return new RequestInfo(verb, group, namespace, resource, name, sub, path);
        }
    }

    /**
     * The data action AKS's authorizer asks Azure about (Azure/guard authz/providers/azure/rbac/checkaccessreqhelper.go,
     * getDataActions / getResourceAndAction / getActionName, commit a7de234, v0.16.29): Microsoft.ContainerService/managedClusters/
     * + the API group (none for the core group) + the resource + read (get, list, watch), write (create, update, patch) or
     * delete (delete, deletecollection); a subresource counts as its resource (pods/log is pods/read), except pods/exec,
     * which is pods/exec/action; a resource of a group the API server does not serve itself is a custom resource:
     * customresources/read|write|delete. Non-resource paths name the path.
     */
    static String dataAction(RequestInfo ri, String verb) {
        String base = "Microsoft.ContainerService/managedClusters/";
        String act = switch (verb) {
            case "get", "list", "watch" -> "read";
            case "create", "update", "patch" -> "write";
            case "delete", "deletecollection" -> "delete";
            default -> verb + "/action";
        };
        if (ri.resource() == null) return base + ri.path().replaceAll("^/+", "") + "/" + act;
        if (ri.resource().equals("pods") && ri.subresource().equals("exec")) return base + "pods/exec/action";
        if (!BUILT_IN_GROUPS.contains(ri.group())) return base + "customresources/" + act;
        return base + (ri.group().isEmpty() ? "" : ri.group() + "/") + ri.resource() + "/" + act;
    }

    /** The verbs the API server authorizes a request as: exec, attach and port-forward also need create (KEP-4006, 1.35+). */
    private static List<String> verbsOf(RequestInfo ri) {
        if (ri.resource() != null && ri.resource().equals("pods") && List.of("exec", "attach", "portforward").contains(ri.subresource())
                && ri.verb().equals("get")) {
            return List.of("get", "create");
        }
        return List.of(ri.verb());
    }

    private static MockResponse statusAnswer(int code, String reason, String message, ObjectNode details) {
        ObjectNode st = Json.obj().put("kind", "Status").put("apiVersion", "v1");
        st.putObject("metadata");
        st.put("status", "Failure").put("message", message).put("reason", reason);
        if (details != null) st.set("details", details);
        st.put("code", code);
        return new MockResponse().setResponseCode(code).setBody(st.toString());
    }

    private MockResponse unauthorized(RecordedRequest request, String why) {
        refused.add("401 " + request.getMethod() + " " + request.getPath() + " - - " + why);
        return statusAnswer(401, "Unauthorized", "Unauthorized", null);
    }

    /** Null when the request may go on; else the API server's 401 or 403 answer. */
    private MockResponse guard(RecordedRequest request) {
        AzureFake azure = entraAzure;
        if (azure == null || request.getHeader(INTERNAL) != null) return null;
        String auth = request.getHeader("Authorization");
        if (auth == null || !auth.startsWith("Bearer ") || auth.length() <= 7) return unauthorized(request, "no-bearer-token");
        String token = auth.substring(7).trim();
        ObjectNode claims = FakeCredential.claims(token);
        if (claims == null) {
            // A local account's static credential: AKS's authenticator skips Azure RBAC for it (not an Entra user), and
            // the local accounts are cluster admins, until the certificates they came with are rotated away.
            return azure.localAccount(entraCluster, token) != null ? null : unauthorized(request, "unknown-or-revoked-local-credential");
        }
        long now = System.currentTimeMillis() / 1000;
        if (!AzureFake.AKS_SERVER_APP.equals(claims.path("aud").asText())) return unauthorized(request, "audience " + claims.path("aud").asText());
        if (!claims.has("exp") || claims.path("exp").asLong() <= now) return unauthorized(request, "expired");
        if (claims.path("nbf").asLong(0) > now) return unauthorized(request, "not-yet-valid");
        if (!azure.tenantId().equalsIgnoreCase(claims.path("tid").asText())) return unauthorized(request, "tenant");
        String oid = claims.path("oid").asText("");
        if (oid.isEmpty()) return unauthorized(request, "no-oid");
        String user = claims.path("upn").asText(oid);
        List<String> groups = new ArrayList<>();
        claims.path("groups").forEach(g -> groups.add(g.asText()));
        JsonNode aad = azure.cluster(entraCluster) == null ? null : azure.cluster(entraCluster).path("properties").path("aadProfile");
        if (aad == null || !aad.path("managed").asBoolean(false)) return unauthorized(request, "cluster-without-entra-integration");
        // Members of the cluster's Entra admin groups are cluster-admin through Kubernetes RBAC (AKS docs "Manage local accounts").
        java.util.Set<String> memberOf = new java.util.HashSet<>(azure.groupsOf(oid));
        groups.forEach(g -> memberOf.add(g.toLowerCase(java.util.Locale.ROOT)));
        for (JsonNode admins : aad.path("adminGroupObjectIDs")) if (memberOf.contains(admins.asText().toLowerCase(java.util.Locale.ROOT))) return null;
        boolean azureRbac = aad.path("enableAzureRBAC").asBoolean(false);

        RequestInfo ri = RequestInfo.of(request.getMethod(), request.getPath());
        if (ri.resource() == null) {
            // guard's --azure.allow-nonres-discovery-path-access (default true): discovery paths for every signed-in user.
            if (ri.verb().equals("get") && List.of("/api", "/openapi", "/version", "/healthz").stream().anyMatch(ri.path()::startsWith)) return null;
        }
        String scope = ri.namespace() == null || ri.namespace().isEmpty() ? entraCluster : entraCluster + "/namespaces/" + ri.namespace();
        java.util.Map<String, String> attributes = new java.util.HashMap<>();
        if (ri.resource() != null && !BUILT_IN_GROUPS.contains(ri.group())) {
            attributes.put("Microsoft.ContainerService/managedClusters/customResources:group", ri.group());
            attributes.put("Microsoft.ContainerService/managedClusters/customResources:kind", ri.resource());
        }
        for (String verb : verbsOf(ri)) {
            String action = dataAction(ri, verb);
            // Without Azure RBAC only Kubernetes RBAC decides, and the fake holds no Kubernetes RBAC bindings for people.
            if (azureRbac && decide(oid + " " + groups + " " + action + " " + scope + " " + attributes,
                    () -> azure.dataActionAllowed(oid, groups, action, scope, attributes))) continue;
            refused.add("403 " + request.getMethod() + " " + request.getPath() + " " + user + " " + action + " " + scope);
            return forbidden(ri, verb, user, azureRbac);
        }
        return null;
    }

    /** A decision, from the cache while it is fresh ({@link #decisionCache}). */
    private boolean decide(String key, java.util.function.BooleanSupplier ask) {
        long ttl = decisionCache.toMillis();
        long now = System.currentTimeMillis();
        long[] cached = decisions.get(key);
        if (ttl > 0 && cached != null && cached[1] > now) return cached[0] == 1;
        boolean allowed = ask.getAsBoolean();
        if (ttl > 0) decisions.put(key, new long[] {allowed ? 1 : 0, now + ttl});
        return allowed;
    }

    /** The API server's Forbidden Status (k8s.io/apiserver endpoints/handlers/responsewriters forbiddenMessage) with guard's reason. */
    private static MockResponse forbidden(RequestInfo ri, String verb, String user, boolean azureRbac) {
        String why;
        ObjectNode details = null;
        if (ri.resource() == null) {
            why = "forbidden: User \"" + user + "\" cannot " + verb + " path \"" + ri.path() + "\"";
        } else {
            String res = ri.subresource().isEmpty() ? ri.resource() : ri.resource() + "/" + ri.subresource();
            String where = ri.namespace().isEmpty() ? "at the cluster scope" : "in the namespace \"" + ri.namespace() + "\"";
            String gr = ri.group().isEmpty() ? ri.resource() : ri.resource() + "." + ri.group();
            why = gr + (ri.name().isEmpty() ? "" : " \"" + ri.name() + "\"") + " is forbidden: User \"" + user + "\" cannot " + verb
                    + " resource \"" + res + "\" in API group \"" + ri.group() + "\" " + where;
            details = Json.obj();
            if (!ri.name().isEmpty()) details.put("name", ri.name());
            if (!ri.group().isEmpty()) details.put("group", ri.group());
            details.put("kind", ri.resource());
        }
        return statusAnswer(403, "Forbidden", azureRbac ? why + ": " + ACCESS_NOT_ALLOWED : why, details);
    }

    /** Marks requests the fake makes for itself (controllers, test set-up): never authenticated or authorized. */
    private static final String INTERNAL = "X-KubeFake-Internal";

    static RecordedRequest request(HttpMethod method, String path, String body, String contentType) {
        Headers headers = Headers.builder().add("Content-Type", contentType).add(INTERNAL, "1").build();
        return new RecordedRequest("HTTP/1.1", method, path, headers, new Buffer(body.getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public void close() {
        server.destroy();
    }

    final class Dispatcher extends KubernetesCrudDispatcher {
        Map<io.fabric8.mockwebserver.crud.AttributeSet, String> store() { return map; }

        /** A request made by a controller inside the cluster: handled, not recorded as API traffic. */
        synchronized MockResponse quietly(RecordedRequest request) { return super.dispatch(request); }

        @Override
        public synchronized MockResponse dispatch(RecordedRequest request) {
            String path = request.getPath();
            requests.add(request.getMethod() + " " + path);
            MockResponse denied = guard(request);
            if (denied != null) return denied;
            String bare = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
            if (request.getMethod().equals("GET") && bare.matches("/api/v1/namespaces/[^/]+/pods/[^/]+/log")) {
                String pod = bare.split("/")[6];
                String log = logs.get(pod);
                return log == null ? new MockResponse().setResponseCode(404).setBody("{}") : new MockResponse().setResponseCode(200).setBody(log);
            }
            if (request.getMethod().equals("GET") && bare.matches("/api/v1/namespaces/[^/]+/pods/[^/]+/portforward")) {
                return portForward(bare.split("/")[6], path.replaceAll(".*[?&]ports=([0-9]+).*", "$1"));
            }
            if (bare.contains("/proxy/healthcheck")) {
                MockResponse unreachable = endpoints(bare);
                return unreachable != null ? unreachable : new MockResponse().setResponseCode(healthStatus).setBody(healthBody);
            }
            if (request.getMethod().equals("POST") && bare.matches("/api/v1/namespaces/[^/]+/services/[^/]+:12000/proxy/.*")) {
                return webhook(bare, request.getUtf8Body());
            }
            if (request.getMethod().equals("POST") && bare.matches("/apis/[^/]+/[^/]+/namespaces/[^/]+/[^/]+")) {
                String[] seg = bare.split("/");
                if (!List.of("apps", "batch", "rbac.authorization.k8s.io", "apiextensions.k8s.io").contains(seg[2]) && !definedKind(seg[2], seg[6])) {
                    return status(404, "NotFound", "the server could not find the requested resource");
                }
            }
            if (request.getMethod().equals("DELETE")) {
                MockResponse r = super.dispatch(request);
                if (r.code() < 300) collectGarbage(bare, path, request.getUtf8Body());
                return r;
            }
            String type = request.getHeader("Content-Type");
            if (request.getMethod().equals("PATCH") && type != null && type.startsWith("application/apply-patch")) {
                if (!path.matches(".*[?&]fieldManager=[^&]+.*")) {
                    return status(400, "BadRequest", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch");
                }
                return apply(bare, request.getUtf8Body(), path.replaceAll(".*[?&]fieldManager=([^&]+).*", "$1"));
            }
            return super.dispatch(request);
        }

        /**
         * The API server's port-forward websocket (channel protocol): it first sends the port on the data channel (0)
         * and the error channel (1), then relays data-channel bytes to and from the pod's port.
         */
        private MockResponse portForward(String pod, String portText) {
            int port = Integer.parseInt(portText);
            byte lo = (byte) (port & 0xff);
            byte hi = (byte) ((port >> 8) & 0xff);
            return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
                @Override public void onOpen(WebSocket ws, io.fabric8.mockwebserver.http.Response response) {
                    ws.send(new byte[] {0, lo, hi});
                    ws.send(new byte[] {1, lo, hi});
                }

                @Override public void onMessage(WebSocket ws, byte[] bytes) {
                    if (bytes.length < 1 || bytes[0] != 0) return;
                    var app = podPorts.get(pod + ":" + port);
                    if (app == null) {
                        byte[] msg = ("error forwarding port " + port + " to pod " + pod + ": connection refused").getBytes(StandardCharsets.UTF_8);
                        byte[] out = new byte[msg.length + 1];
                        out[0] = 1;
                        System.arraycopy(msg, 0, out, 1, msg.length);
                        ws.send(out);
                        return;
                    }
                    if (bytes.length == 1) return;
                    byte[] answer = app.apply(java.util.Arrays.copyOfRange(bytes, 1, bytes.length));
                    byte[] out = new byte[answer.length + 1];
                    System.arraycopy(answer, 0, out, 1, answer.length);
                    ws.send(out);
                }
            });
        }

        /**
         * What the API server's service proxy answers when it cannot reach the Service's pods: 404 without the Service,
         * 503 when no ready pod of a Deployment carries its selector's labels (no endpoints); null when it can.
         */
        private MockResponse endpoints(String proxyPath) {
            String[] seg = proxyPath.split("/");
            String ns = seg[4];
            String svc = seg[6].contains(":") ? seg[6].substring(0, seg[6].indexOf(':')) : seg[6];
            var stored = findResource(getKey("/api/v1/namespaces/" + ns + "/services/" + svc));
            if (stored == null) return status(404, "NotFound", "services \"" + svc + "\" not found");
            JsonNode selector = Json.parse(stored.getValue()).path("spec").path("selector");
            if (selector.isMissingNode() || selector.isEmpty()) return null;
            for (String v : new ArrayList<>(map.values())) {
                JsonNode d = Json.parse(v);
                if (d.path("kind").asText().equals("Deployment") && d.path("metadata").path("namespace").asText().equals(ns)
                        && d.path("status").path("readyReplicas").asInt(0) > 0
                        && Manifests.matches(selector, d.path("spec").path("template").path("metadata").path("labels"))) return null;
            }
            return status(503, "ServiceUnavailable", "no endpoints available for service \"" + svc + "\"");
        }

        /** A Kubernetes Status answer, as the API server sends for refusals. */
        private MockResponse status(int code, String reason, String message) {
            ObjectNode st = Json.obj().put("kind", "Status").put("apiVersion", "v1").put("status", "Failure")
                    .put("message", message).put("reason", reason).put("code", code);
            return new MockResponse().setResponseCode(code).setBody(st.toString());
        }

        private MockResponse apply(String path, String body, String manager) {
            ObjectNode applied = (ObjectNode) parseYamlOrJson(body);
            // The API server records who applied an object (metadata.managedFields; the fields themselves are left out here).
            ObjectNode entry = Json.obj().put("manager", manager).put("operation", "Apply")
                    .put("apiVersion", applied.path("apiVersion").asText());
            // What the API server refuses before applying: a body naming another object, a namespace that does not
            // exist, and a custom resource whose definition is not there.
            String[] seg = path.split("/");
            String name = seg[seg.length - 1];
            if (!name.equals(applied.path("metadata").path("name").asText())) {
                return status(400, "BadRequest", "the name of the object (" + applied.path("metadata").path("name").asText()
                        + ") does not match the name on the URL (" + name + ")");
            }
            int ns = java.util.Arrays.asList(seg).indexOf("namespaces");
            if (ns > 0 && ns + 2 < seg.length && findResource(getKey("/api/v1/namespaces/" + seg[ns + 1])) == null) {
                return status(404, "NotFound", "namespaces \"" + seg[ns + 1] + "\" not found");
            }
            if (path.startsWith("/apis/") && !path.startsWith("/apis/apps/") && !path.startsWith("/apis/rbac.authorization.k8s.io/")
                    && !path.startsWith("/apis/apiextensions.k8s.io/") && !definedKind(seg[2], seg[ns > 0 ? ns + 2 : 4])) {
                return status(404, "NotFound", "the server could not find the requested resource");
            }
            var existing = findResource(getKey(path));
            boolean crd = applied.path("kind").asText().equals("CustomResourceDefinition");
            if (existing == null) {
                if (applied.path("metadata").isObject()) ((ObjectNode) applied.get("metadata")).putArray("managedFields").add(entry);
                String collection = path.substring(0, path.lastIndexOf('/'));
                MockResponse r = super.dispatch(request(HttpMethod.POST, collection, applied.toString(), "application/json"));
                if (crd && r.code() < 300) markEstablished(path);
                return r.code() == 201 ? r.setResponseCode(201) : r;
            }
            ObjectNode current = (ObjectNode) Json.parse(existing.getValue());
            ObjectNode merged = current.deepCopy();
            for (var it = applied.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals("status")) continue;
                if (e.getKey().equals("metadata")) {
                    ObjectNode m = (ObjectNode) merged.get("metadata");
                    for (String f : List.of("labels", "annotations")) {
                        if (e.getValue().has(f)) {
                            ObjectNode into = m.has(f) ? (ObjectNode) m.get(f) : m.putObject(f);
                            into.setAll((ObjectNode) e.getValue().get(f));
                        }
                    }
                } else {
                    merged.set(e.getKey(), e.getValue());
                }
            }
            ObjectNode mm = (ObjectNode) merged.get("metadata");
            var managers = mm.has("managedFields") ? (com.fasterxml.jackson.databind.node.ArrayNode) mm.get("managedFields") : mm.putArray("managedFields");
            boolean recorded = false;
            for (JsonNode m : managers) recorded |= m.path("manager").asText().equals(manager) && m.path("operation").asText().equals("Apply");
            if (!recorded) managers.add(entry);
            if (merged.equals(current)) return new MockResponse().setResponseCode(200).setBody(current.toString());
            MockResponse r = super.dispatch(request(HttpMethod.PUT, path, merged.toString(), "application/json"));
            if (crd) markEstablished(path);
            return r;
        }

        /**
         * The Argo Events webhook (v1.9.11 pkg/eventsources/common/webhook/webhook.go): reached through the service proxy, it
         * answers 200 "success" once it handed the event to the bus (400 when it could not: {@link #webhookStatus}); before
         * its EventSource is deployed the API server finds no endpoints for the Service.
         */
        private MockResponse webhook(String path, String body) {
            String[] seg = path.split("/");
            String ns = seg[4];
            String svc = seg[6].substring(0, seg[6].indexOf(':'));
            ObjectNode source = svc.endsWith("-eventsource-svc") ? stored("/apis/argoproj.io/v1alpha1/namespaces/" + ns + "/eventsources/"
                    + svc.substring(0, svc.length() - "-eventsource-svc".length())) : null;
            if (findResource(getKey("/api/v1/namespaces/" + ns + "/services/" + svc)) == null) {
                return status(404, "NotFound", "services \"" + svc + "\" not found");
            }
            if (source == null || !allTrue(source)) {
                return status(503, "ServiceUnavailable", "no endpoints available for service \"" + svc + "\"");
            }
            if (webhookStatus == 200) events.add(body);
            return new MockResponse().setResponseCode(webhookStatus).setBody(webhookStatus == 200 ? "success" : "failed to dispatch the event to the event bus");
        }

        /**
         * The garbage collector: deleting an owner with propagationPolicy Background or Foreground deletes the pods it owns;
         * without one, batch/v1 Jobs orphan their pods (the API's default for them) and other kinds take Background.
         */
        private void collectGarbage(String bare, String path, String body) {
            String policy = body != null && body.contains("propagationPolicy") ? body.replaceAll("(?s).*\"propagationPolicy\"\\s*:\\s*\"([A-Za-z]+)\".*", "$1")
                    : path.contains("propagationPolicy=") ? path.replaceAll(".*propagationPolicy=([A-Za-z]+).*", "$1") : null;
            String[] seg = bare.split("/");
            if (seg.length < 2) return;
            String owner = seg[seg.length - 1];
            boolean job = bare.startsWith("/apis/batch/");
            if (policy == null) policy = job ? "Orphan" : "Background";
            if (policy.equals("Orphan")) return;
            for (String v : new ArrayList<>(map.values())) {
                JsonNode o = Json.parse(v);
                if (!o.path("kind").asText().equals("Pod")) continue;
                for (JsonNode ref : o.path("metadata").path("ownerReferences")) {
                    if (ref.path("name").asText().equals(owner)) {
                        super.dispatch(request(HttpMethod.DELETE, "/api/v1/namespaces/" + o.path("metadata").path("namespace").asText()
                                + "/pods/" + o.path("metadata").path("name").asText(), "", "application/json"));
                    }
                }
            }
        }

        /** Whether a CustomResourceDefinition for this group and plural exists. */
        private boolean definedKind(String group, String plural) {
            return findResource(getKey("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + plural + "." + group)) != null;
        }

        private void markEstablished(String path) {
            var e = findResource(getKey(path));
            ObjectNode o = (ObjectNode) Json.parse(e.getValue());
            o.putObject("status").putArray("conditions").addObject().put("type", "Established").put("status", "True");
            map.put(e.getKey(), o.toString());
        }
    }

    static JsonNode parseYamlOrJson(String text) {
        try {
            return Manifests.YAML.readTree(text);
        } catch (Exception e) {
            throw new IllegalStateException("apply body is neither YAML nor JSON: " + e.getMessage());
        }
    }
}
