import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The stack check: every link of the data path a Metaflow flow uses, exercised on the cluster with the identities flows
 * use. Each probe makes only short-lived objects labelled as the toolkit's and removes them (and its blob) whatever the
 * outcome. Task settings (service account, labels, node selector, secrets, storage) are read from the Metaflow client
 * config MetaflowConfig.of makes, so the probes run exactly as task pods would.
 */
public final class Check {
    private Check() {}

    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String PROBE_LABEL = "metaflow-azure-toolkit/probe";
    public static final String RUN_LABEL = "metaflow-azure-toolkit/check";
    /** Where under the sysroot the probe blob goes; a name no Metaflow flow writes. */
    public static final String BLOB_FOLDER = ".metaflow-azure-check";
    /** The name of the probe event: no flow triggers on it. */
    public static final String EVENT_NAME = "metaflow-azure-toolkit.check";
    /**
     * Blob REST version sent with each request: Azure/azure-rest-api-specs
     * specification/storage/data-plane/Microsoft.BlobStorage/stable/2021-12-02/blob.json (info.version; its OAuth2 scope
     * is https://storage.azure.com/.default, which the token request below asks for).
     */
    public static final String BLOB_API_VERSION = "2021-12-02";

    /** Bounds of the waits, each also capped by the caller's timeout. */
    public record Bounds(long podMillis, long roleWaitMillis, long roleRetryMillis, long workflowMillis, long pollMillis) {
        public static Bounds of(long timeoutMillis, long pollMillis) {
            return new Bounds(Math.min(90_000, timeoutMillis), Math.min(300_000, timeoutMillis), 5_000,
                    Math.min(120_000, timeoutMillis), pollMillis);
        }
    }

    /**
     * What the probes need: the namespace, the Metaflow client config (whose task keys they follow), whether Argo is
     * installed, the sign-in authority for the service-principal mode, and the wait bounds.
     */
    public record Settings(String namespace, JsonNode config, boolean argo, String authorityHost, Bounds bounds) {
        String serviceAccount() { return config.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText(); }
        Map<String, String> taskLabels() { return pairs(config.path("METAFLOW_KUBERNETES_LABELS").asText("")); }
        Map<String, String> nodeSelector() { return pairs(config.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText("")); }
        String secret() { return config.path("METAFLOW_KUBERNETES_SECRETS").asText(""); }
        String blobUrl() {
            return Clouds.trimSlash(config.path("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT").asText()) + "/"
                    + config.path("METAFLOW_DATASTORE_SYSROOT_AZURE").asText();
        }
    }

    /** One probe's result: ✓/✗, how long it took, what it found and, when it failed, what to do. */
    public record Outcome(String probe, boolean ok, long millis, String detail, String todo) {}

    /** Metaflow's k=v,k=v form (METAFLOW_KUBERNETES_LABELS, METAFLOW_KUBERNETES_NODE_SELECTOR). */
    static Map<String, String> pairs(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String p : text.split(",")) {
            int eq = p.indexOf('=');
            if (eq > 0) out.put(p.substring(0, eq).trim(), p.substring(eq + 1).trim());
        }
        return out;
    }

    /** Runs every probe (in parallel) and returns their outcomes in a fixed order. */
    public static List<Outcome> run(KubernetesClient client, Settings s, PrintStream progress) {
        String id = Long.toString(System.currentTimeMillis(), 36) + Integer.toString((int) (Math.random() * 1296), 36);
        Log log = new Log(progress);
        List<java.util.concurrent.Callable<Outcome>> probes = new ArrayList<>();
        probes.add(() -> timed("storage", () -> storage(client, s, id, log)));
        probes.add(() -> timed("metadata", () -> metadata(client, s)));
        if (s.argo()) {
            probes.add(() -> timed("argo-workflows", () -> workflow(client, s, id, log)));
            probes.add(() -> timed("argo-events", () -> events(client, s, id)));
        }
        ExecutorService pool = Executors.newFixedThreadPool(probes.size());
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (var p : probes) futures.add(pool.submit(p));
            List<Outcome> out = new ArrayList<>();
            for (Future<Outcome> f : futures) {
                try {
                    out.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                }
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Kube.KubeException("interrupted during the stack check");
        } finally {
            pool.shutdownNow();
        }
    }

    /** Progress lines from several probes at once, whole lines only. */
    static final class Log {
        final PrintStream out;
        Log(PrintStream out) { this.out = out; }
        synchronized void line(String probe, String text) { out.println("  " + probe + ": " + text); }
    }

    interface Body { Outcome run(); }

    /** Runs a probe, timing it; an unexpected refusal of the cluster becomes a ✗ of that probe, not of the whole check. */
    static Outcome timed(String name, Body body) {
        long t0 = System.nanoTime();
        Outcome o;
        try {
            o = body.run();
        } catch (KubernetesClientException e) {
            o = new Outcome(name, false, 0, "the cluster refused a request: HTTP " + e.getCode() + " " + Manifests.firstLine(e.getMessage()),
                    "Check your access to the namespace (kubectl auth can-i create jobs,workflows -n metaflow) and run the check again.");
        } catch (RuntimeException e) {
            o = new Outcome(name, false, 0, Manifests.firstLine(String.valueOf(e.getMessage())), "Run the check again with --verbose.");
        }
        return new Outcome(name, o.ok(), (System.nanoTime() - t0) / 1_000_000, o.detail(), o.todo());
    }

    // --- 1. task identity -> blob storage ----------------------------------------------------------------

    /**
     * The probe's script (busybox sh, curl, sed in the pinned curl image). It gets a token for Azure Storage as the task
     * identity: in workload-identity mode from the federated service-account token the AKS webhook mounts
     * (Azure/azure-workload-identity v1.6.0 pkg/webhook/consts.go: AZURE_CLIENT_ID, AZURE_TENANT_ID,
     * AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST), in service-principal mode from the client secret in the task
     * Secret; then puts, reads back and deletes one blob. It ends with one line "probe-result: ok" or
     * "probe-result: fail STEP HTTP-STATUS DETAIL" that the toolkit reads from the pod's log; the trap deletes the blob
     * whatever happens after the put (Kubernetes sends TERM before killing a pod at its deadline; each request is bounded
     * to 20 s, so the trap gets its turn within the grace period). Its files live in a folder of its own (mktemp -d), so
     * that nothing of another user's or an earlier run's in /tmp can get in its way.
     */
    static final String STORAGE_SCRIPT = """
            set -u
            say() { echo "probe-result: $*"; }
            w=$(mktemp -d) || { say "fail setup 0 cannot make a temporary folder"; exit 1; }
            trap 'rm -rf "$w"' EXIT
            scope='https://storage.azure.com/.default'
            if [ -n "${AZURE_CLIENT_SECRET:-}" ]; then
              code=$(curl -sS --max-time 20 -o "$w/token" -w '%{http_code}' "${AZURE_AUTHORITY_HOST%/}/${AZURE_TENANT_ID}/oauth2/v2.0/token" \\
                --data-urlencode grant_type=client_credentials --data-urlencode "client_id=${AZURE_CLIENT_ID}" \\
                --data-urlencode "client_secret=${AZURE_CLIENT_SECRET}" --data-urlencode "scope=$scope" 2>"$w/err")
            elif [ -n "${AZURE_FEDERATED_TOKEN_FILE:-}" ]; then
              code=$(curl -sS --max-time 20 -o "$w/token" -w '%{http_code}' "${AZURE_AUTHORITY_HOST%/}/${AZURE_TENANT_ID}/oauth2/v2.0/token" \\
                --data-urlencode grant_type=client_credentials --data-urlencode "client_id=${AZURE_CLIENT_ID}" \\
                --data-urlencode client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\
                --data-urlencode "client_assertion=$(cat "$AZURE_FEDERATED_TOKEN_FILE")" --data-urlencode "scope=$scope" 2>"$w/err")
            else
              say "fail identity 0 no AZURE_FEDERATED_TOKEN_FILE and no AZURE_CLIENT_SECRET in the pod"; exit 1
            fi
            token=$(sed -n 's/.*"access_token" *: *"\\([^"]*\\)".*/\\1/p' "$w/token")
            if [ -z "$token" ]; then
              say "fail token $code $(sed -n 's/.*"error_description" *: *"\\([^"]*\\)".*/\\1/p' "$w/token" | cut -c1-300)$(head -c 300 "$w/err")"; exit 1
            fi
            blob() {
              curl -sS --max-time 20 -o "$w/body" -w '%{http_code}' -H "Authorization: Bearer $token" -H "x-ms-version: $BLOB_API_VERSION" "$@" 2>"$w/err"
            }
            detail() { echo "$(sed -n 's/.*<Code>\\(.*\\)<\\/Code>.*/\\1/p' "$w/body")$(head -c 300 "$w/err")"; }
            url="$BLOB_URL/$PROBE_BLOB"
            code=$(blob -X PUT -H 'x-ms-blob-type: BlockBlob' -H 'Content-Type: text/plain' --data-binary "$PROBE_ID" "$url")
            [ "$code" = 201 ] || { say "fail put $code $(detail)"; exit 1; }
            trap 'blob -X DELETE "$url" >/dev/null; rm -rf "$w"' EXIT
            trap 'exit 143' INT TERM
            code=$(blob "$url")
            [ "$code" = 200 ] || { say "fail get $code $(detail)"; exit 1; }
            [ "$(cat "$w/body")" = "$PROBE_ID" ] || { say "fail get 200 read back other content than written"; exit 1; }
            trap 'rm -rf "$w"' EXIT
            code=$(blob -X DELETE "$url")
            [ "$code" = 202 ] || { say "fail delete $code $(detail)"; exit 1; }
            say ok
            """;

    /**
     * The Job: task service account, task labels and node selector, task Secret (service-principal mode). Its deadline
     * lies past the toolkit's own bound, so that the toolkit sees and reports a stuck pod before the Job controller removes it.
     */
    static ObjectNode storageJob(Settings s, String id, String name) {
        ObjectNode job = Json.obj().put("apiVersion", "batch/v1").put("kind", "Job");
        ObjectNode meta = job.putObject("metadata").put("name", name).put("namespace", s.namespace());
        labels(meta.putObject("labels"), "storage", id);
        ObjectNode spec = job.putObject("spec").put("backoffLimit", 0)
                .put("activeDeadlineSeconds", s.bounds().podMillis() / 1000 + 30).put("ttlSecondsAfterFinished", 600);
        ObjectNode tmeta = spec.putObject("template").putObject("metadata");
        ObjectNode tl = tmeta.putObject("labels");
        s.taskLabels().forEach(tl::put);
        labels(tl, "storage", id);
        ObjectNode pod = ((ObjectNode) spec.get("template")).putObject("spec").put("serviceAccountName", s.serviceAccount())
                .put("restartPolicy", "Never").put("terminationGracePeriodSeconds", 30);
        if (!s.nodeSelector().isEmpty()) {
            ObjectNode ns = pod.putObject("nodeSelector");
            s.nodeSelector().forEach(ns::put);
        }
        ObjectNode c = pod.putArray("containers").addObject().put("name", "probe").put("image", Pins.PROBE_IMAGE);
        c.putArray("command").add("/bin/sh").add("-c").add(STORAGE_SCRIPT);
        ArrayNode env = c.putArray("env");
        env.addObject().put("name", "BLOB_URL").put("value", s.blobUrl());
        env.addObject().put("name", "PROBE_BLOB").put("value", BLOB_FOLDER + "/" + id);
        env.addObject().put("name", "PROBE_ID").put("value", "metaflow-azure-toolkit check " + id);
        env.addObject().put("name", "BLOB_API_VERSION").put("value", BLOB_API_VERSION);
        if (!s.secret().isEmpty()) {
            // Service-principal mode: the workload-identity webhook injects nothing, so the authority is ours to give.
            env.addObject().put("name", "AZURE_AUTHORITY_HOST").put("value", s.authorityHost());
            c.putArray("envFrom").addObject().putObject("secretRef").put("name", s.secret());
        }
        c.putObject("resources").putObject("requests").put("cpu", "10m").put("memory", "16Mi");
        return job;
    }

    static void labels(ObjectNode l, String probe, String id) {
        l.put(MANAGED_BY, Kube.FIELD_MANAGER).put(PROBE_LABEL, probe).put(RUN_LABEL, id);
    }

    static Outcome storage(KubernetesClient client, Settings s, String id, Log log) {
        long start = System.currentTimeMillis();
        String where = s.blobUrl() + "/" + BLOB_FOLDER + "/" + id;
        for (int attempt = 1; ; attempt++) {
            String name = "metaflow-check-storage-" + id + "-" + attempt;
            ObjectNode job = storageJob(s, id, name);
            PodRun run;
            try {
                client.resource(Kube.generic(client, job)).create();
                run = awaitJob(client, s, name, log);
            } finally {
                delete(client, job);
            }
            if (run.result() != null && run.result().equals("ok")) {
                return new Outcome("storage", true, 0, "the task identity wrote, read back and deleted a blob under " + s.blobUrl(), null);
            }
            if (run.result() == null) return new Outcome("storage", false, 0, run.problem(), run.todo());
            String[] f = run.result().split(" ", 4);  // fail STEP STATUS DETAIL
            String step = f.length > 1 ? f[1] : "?";
            String status = f.length > 2 ? f[2] : "?";
            String detail = f.length > 3 ? f[3] : "";
            long waited = System.currentTimeMillis() - start;
            if (status.equals("403") && waited + s.bounds().roleRetryMillis() < s.bounds().roleWaitMillis()) {
                log.line("storage", "waiting for the role assignment to take effect (" + Console.elapsed(waited) + ")");
                Kube.sleep(s.bounds().roleRetryMillis());
                continue;
            }
            return storageFailure(s, step, status, detail, where, waited);
        }
    }

    static Outcome storageFailure(Settings s, String step, String status, String detail, String where, long waited) {
        String sa = "system:serviceaccount:" + s.namespace() + ":" + s.serviceAccount();
        boolean sp = !s.secret().isEmpty();
        String what = "the task identity could not " + switch (step) {
            case "identity" -> "sign in: " + detail;
            case "token" -> "get a token for Azure Storage (HTTP " + status + "): " + detail;
            default -> step + " the probe blob " + where + " (HTTP " + status + (detail.isEmpty() ? "" : ", " + detail) + ")";
        };
        String todo;
        if (step.equals("identity")) {
            todo = "Check that the AKS workload identity webhook runs (the cluster needs --enable-workload-identity) and that task pods "
                    + "get the label azure.workload.identity/use=true (METAFLOW_KUBERNETES_LABELS).";
        } else if (step.equals("token")) {
            todo = sp ? "Check the client secret in Secret " + s.secret() + " (expired or deleted? delete the Secret and run services.java "
                    + "again to mint a new one)."
                    : "Check the managed identity's federated credential: its subject must be " + sa + " and its issuer the cluster's "
                    + "OIDC issuer (az aks show --query oidcIssuerProfile.issuerUrl); run provision.java again to repair it.";
        } else if (status.equals("403")) {
            todo = "Still refused after " + Console.elapsed(waited) + ": check that the task identity has Storage Blob Data Contributor "
                    + "on the container (az role assignment list --assignee <client id> --all), and the storage account's network rules; "
                    + "run provision.java again to restore the role, then the check.";
        } else if (status.equals("000")) {
            todo = "The pod cannot reach the storage endpoint: check DNS and egress from the worker pool (network policies, firewall).";
        } else {
            todo = "Check the storage account and container exist (run provision.java again) and run the check again.";
        }
        return new Outcome("storage", false, 0, what, todo);
    }

    /** How a probe pod ended: the result line of its script, or a problem that kept it from running. */
    record PodRun(String result, String problem, String todo) {}

    static PodRun awaitJob(KubernetesClient client, Settings s, String name, Log log) {
        long deadline = System.currentTimeMillis() + s.bounds().podMillis();
        String shown = null;
        while (true) {
            JsonNode job = Kube.read(client, ref("batch/v1", "Job", s.namespace(), name));
            List<Pod> pods = client.pods().inNamespace(s.namespace()).withLabel("job-name", name).list().getItems();
            boolean done = job != null && (job.path("status").path("succeeded").asInt(0) > 0 || job.path("status").path("failed").asInt(0) > 0);
            if (done) {
                for (Pod p : pods) {
                    String result = resultLine(client, s.namespace(), p.getMetadata().getName());
                    if (result != null) return new PodRun(result, null, null);
                }
                String why = job.path("status").path("conditions").path(0).path("message").asText("");
                return new PodRun(null, "the probe pod ended without a result" + (why.isEmpty() ? "" : ": " + why),
                        "Look at the pod: kubectl -n " + s.namespace() + " describe job " + name + " (it is deleted after the check; run "
                                + "the check again and look while it runs).");
            }
            PodProblem p = podProblem(pods);
            if (p != null && !p.text().equals(shown)) {
                log.line("storage", p.text());
                shown = p.text();
            }
            if (p != null && p.fatal()) return new PodRun(null, p.text(), p.todo());
            if (System.currentTimeMillis() > deadline) {
                if (p != null) return new PodRun(null, p.text() + " (still, after " + s.bounds().podMillis() / 1000 + " s)", p.todo());
                return new PodRun(null, "the probe Job did not finish within " + s.bounds().podMillis() / 1000 + " s",
                        "Check the worker pool's nodes (kubectl get nodes -l " + String.join(",", s.nodeSelector().entrySet().stream()
                                .map(e -> e.getKey() + "=" + e.getValue()).toList()) + ") and run the check again.");
            }
            Kube.sleep(s.bounds().pollMillis());
        }
    }

    /** Why a probe's pod is not running: the scheduler's or the kubelet's words, and what to do. */
    record PodProblem(String text, String todo, boolean fatal) {}

    static PodProblem podProblem(List<Pod> pods) {
        for (Pod p : pods) {
            var st = p.getStatus();
            if (st == null) continue;
            String pod = p.getMetadata().getName();
            if (st.getConditions() != null) {
                for (var c : st.getConditions()) {
                    if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason())) {
                        return new PodProblem("pod " + pod + " cannot be scheduled: " + c.getMessage(),
                                "Check that the worker pool has nodes with the node selector's label, or room (kubectl get nodes "
                                        + "--show-labels; the autoscaler may still be adding one).", false);
                    }
                }
            }
            if (st.getContainerStatuses() != null) {
                for (var cs : st.getContainerStatuses()) {
                    var w = cs.getState() == null ? null : cs.getState().getWaiting();
                    if (w == null || w.getReason() == null) continue;
                    String reason = w.getReason();
                    if (reason.equals("ImagePullBackOff") || reason.equals("ErrImagePull") || reason.equals("InvalidImageName")) {
                        return new PodProblem("pod " + pod + ": " + reason + " for image " + cs.getImage()
                                + (w.getMessage() == null ? "" : " (" + w.getMessage() + ")"),
                                "The nodes cannot pull " + cs.getImage() + ": check egress to the registry (firewall, proxy) or "
                                        + "mirror the image.", reason.equals("ImagePullBackOff") || reason.equals("InvalidImageName"));
                    }
                    if (reason.equals("CreateContainerConfigError")) {
                        return new PodProblem("pod " + pod + ": " + reason + (w.getMessage() == null ? "" : ": " + w.getMessage()),
                                "A Secret or ConfigMap the task pods need is missing: run services.java again.", true);
                    }
                }
            }
        }
        return null;
    }

    static String resultLine(KubernetesClient client, String ns, String pod) {
        String log;
        try {
            log = client.pods().inNamespace(ns).withName(pod).getLog();
        } catch (KubernetesClientException e) {
            return null;
        }
        if (log == null) return null;
        String result = null;
        for (String line : log.split("\n")) if (line.startsWith("probe-result: ")) result = line.substring(14).strip();
        return result;
    }

    static ObjectNode ref(String apiVersion, String kind, String ns, String name) {
        ObjectNode o = Json.obj().put("apiVersion", apiVersion).put("kind", kind);
        o.putObject("metadata").put("name", name).put("namespace", ns);
        return o;
    }

    /** Deletes a probe object and, through the garbage collector, its pods (a Job's default would orphan them). */
    static void delete(KubernetesClient client, JsonNode o) {
        try {
            client.resource(Kube.generic(client, ref(o.path("apiVersion").asText(), o.path("kind").asText(),
                    o.path("metadata").path("namespace").asText(), o.path("metadata").path("name").asText())))
                    .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) throw e;
        }
    }

    // --- 2. metadata service -> database ----------------------------------------------------------------

    static Outcome metadata(KubernetesClient client, Settings s) {
        String answer;
        try {
            answer = client.raw("/api/v1/namespaces/" + s.namespace() + "/services/metadata-service:" + MetaflowConfig.METADATA_PORT
                    + "/proxy/healthcheck");
        } catch (RuntimeException e) {
            answer = null;
        }
        if (answer != null) return new Outcome("metadata", true, 0, "/healthcheck (the service ran SELECT 1 on the database): " + answer.strip(), null);
        return new Outcome("metadata", false, 0, "the metadata service's /healthcheck failed (no answer, or not 200)",
                "Check the service and its database: kubectl -n " + s.namespace() + " logs deploy/metadata-service (a password or "
                        + "firewall problem shows there); services.java --status shows the deployments.");
    }

    // --- 3. Argo Workflows ----------------------------------------------------------------------------

    static ObjectNode workflow(Settings s, String id, String name) {
        ObjectNode wf = Json.obj().put("apiVersion", Argo.EVENTS_API).put("kind", "Workflow");
        ObjectNode meta = wf.putObject("metadata").put("name", name).put("namespace", s.namespace());
        labels(meta.putObject("labels"), "argo-workflows", id);
        ObjectNode spec = wf.putObject("spec").put("entrypoint", "probe").put("serviceAccountName", s.serviceAccount())
                .put("activeDeadlineSeconds", s.bounds().workflowMillis() / 1000 + 30);
        spec.putObject("ttlStrategy").put("secondsAfterCompletion", 600);
        ObjectNode t = spec.putArray("templates").addObject().put("name", "probe");
        ObjectNode tl = t.putObject("metadata").putObject("labels");
        s.taskLabels().forEach(tl::put);
        labels(tl, "argo-workflows", id);
        if (!s.nodeSelector().isEmpty()) {
            ObjectNode ns = t.putObject("nodeSelector");
            s.nodeSelector().forEach(ns::put);
        }
        ObjectNode c = t.putObject("container").put("image", Pins.PROBE_IMAGE);
        c.putArray("command").add("/bin/sh").add("-c").add("echo metaflow-azure-toolkit check " + id);
        c.putObject("resources").putObject("requests").put("cpu", "10m").put("memory", "16Mi");
        return wf;
    }

    static Outcome workflow(KubernetesClient client, Settings s, String id, Log log) {
        String name = "metaflow-check-argo-" + id;
        ObjectNode wf = workflow(s, id, name);
        try {
            client.resource(Kube.generic(client, wf)).create();
            long deadline = System.currentTimeMillis() + s.bounds().workflowMillis();
            String shown = null;
            while (true) {
                JsonNode now = Kube.read(client, wf);
                String phase = now == null ? "" : now.path("status").path("phase").asText("");
                if (phase.equals("Succeeded")) {
                    return new Outcome("argo-workflows", true, 0, "a one-step Workflow ran as " + s.serviceAccount() + " and succeeded", null);
                }
                List<Pod> pods = client.pods().inNamespace(s.namespace()).withLabel("workflows.argoproj.io/workflow", name).list().getItems();
                if (phase.equals("Failed") || phase.equals("Error")) return workflowFailure(s, now, pods);
                PodProblem p = podProblem(pods);
                if (p != null && !p.text().equals(shown)) {
                    log.line("argo-workflows", p.text());
                    shown = p.text();
                }
                if (p != null && p.fatal()) return new Outcome("argo-workflows", false, 0, p.text(), p.todo());
                if (System.currentTimeMillis() > deadline) {
                    if (phase.isEmpty()) {
                        Rollout.State ctl = Rollout.state(client, new Rollout.Target(Argo.WORKFLOWS_NAMESPACE, "workflow-controller"));
                        boolean running = ctl.exists() && ctl.ready() > 0;
                        return new Outcome("argo-workflows", false, 0, "the Workflow was not picked up within "
                                + s.bounds().workflowMillis() / 1000 + " s: the Argo Workflows controller is "
                                + (running ? "running but did not act on it" : "not running (" + ctl.text() + ")"),
                                "Check the controller: kubectl -n " + Argo.WORKFLOWS_NAMESPACE + " logs deploy/workflow-controller"
                                        + (running ? " (it may watch other namespaces only)" : "; services.java --status shows why it is not ready."));
                    }
                    if (p != null) return new Outcome("argo-workflows", false, 0, p.text(), p.todo());
                    return new Outcome("argo-workflows", false, 0, "the Workflow is still " + phase + " after " + s.bounds().workflowMillis() / 1000 + " s",
                            "kubectl -n " + s.namespace() + " get workflow " + name + " -o yaml while the check runs.");
                }
                Kube.sleep(s.bounds().pollMillis());
            }
        } finally {
            delete(client, wf);
        }
    }

    static Outcome workflowFailure(Settings s, JsonNode wf, List<Pod> pods) {
        List<String> messages = new ArrayList<>();
        String top = wf.path("status").path("message").asText("");
        if (!top.isEmpty()) messages.add(top);
        for (JsonNode n : wf.path("status").path("nodes")) {
            String m = n.path("message").asText("");
            if (!m.isEmpty() && !messages.contains(m)) messages.add(m);
        }
        PodProblem p = podProblem(pods);
        if (p != null) messages.add(p.text());
        String all = String.join("; ", messages);
        String todo;
        if (all.contains("forbidden")) {
            todo = "The workflow's service account " + s.serviceAccount() + " lacks the executor's permissions (Role metaflow-argo-executor: "
                    + "workflowtaskresults create/patch, bound to it): run services.java again to restore them.";
        } else if (p != null) {
            todo = p.todo();
        } else {
            todo = "kubectl -n " + s.namespace() + " logs -l workflows.argoproj.io/workflow=" + wf.path("metadata").path("name").asText()
                    + " while the check runs, and the controller's log (kubectl -n argo logs deploy/workflow-controller).";
        }
        return new Outcome("argo-workflows", false, 0, "the Workflow " + wf.path("status").path("phase").asText() + ": "
                + (all.isEmpty() ? "(no message)" : all), todo);
    }

    // --- 4. Argo Events -----------------------------------------------------------------------------------

    static Outcome events(KubernetesClient client, Settings s, String id) {
        Argo.EventsState bus = Argo.eventsState(client, "EventBus", s.namespace(), "default");
        if (!bus.ready()) return new Outcome("argo-events", false, 0, bus.id() + " is " + bus.text(), Argo.busAdvice(bus));
        Argo.EventsState source = Argo.eventsState(client, "EventSource", s.namespace(), MetaflowConfig.EVENT_SOURCE);
        if (!source.ready()) {
            return new Outcome("argo-events", false, 0, source.id() + " is " + source.text(),
                    "kubectl -n " + s.namespace() + " describe eventsource " + MetaflowConfig.EVENT_SOURCE + "; run services.java again.");
        }
        String path = "/api/v1/namespaces/" + s.namespace() + "/services/" + MetaflowConfig.WEBHOOK_SERVICE + ":" + MetaflowConfig.WEBHOOK_PORT
                + "/proxy" + MetaflowConfig.WEBHOOK_PATH;
        String body = Json.obj().put("name", EVENT_NAME).put("check", id).toString();
        var http = client.getHttpClient();
        var req = http.newHttpRequestBuilder().uri(Clouds.trimSlash(Kube.server(client)) + path).post("application/json", body).build();
        int code;
        String answer;
        try {
            var r = http.sendAsync(req, String.class).get(30, TimeUnit.SECONDS);
            code = r.code();
            answer = r.body() == null ? "" : Manifests.firstLine(r.body());
        } catch (Exception e) {
            code = 0;
            answer = Manifests.firstLine(String.valueOf(e.getMessage()));
        }
        if (code == 200) {
            return new Outcome("argo-events", true, 0, "event bus and event source ready; the webhook accepted a probe event ("
                    + EVENT_NAME + ")", null);
        }
        return new Outcome("argo-events", false, 0, "the webhook " + MetaflowConfig.WEBHOOK_SERVICE + ":" + MetaflowConfig.WEBHOOK_PORT + MetaflowConfig.WEBHOOK_PATH
                + " refused the probe event: HTTP " + code + (answer.isEmpty() ? "" : " " + answer),
                "Check the event source's pod: kubectl -n " + s.namespace() + " logs -l eventsource-name=" + MetaflowConfig.EVENT_SOURCE + ".");
    }

    // --- the result ---------------------------------------------------------------------------------------

    public static boolean healthy(List<Outcome> outcomes) {
        return outcomes.stream().allMatch(Outcome::ok);
    }

    public static void table(PrintStream out, List<Outcome> outcomes) {
        out.printf("  %-2s %-15s %7s  %s%n", "", "probe", "time", "result");
        for (Outcome o : outcomes) {
            out.printf("  %-2s %-15s %7s  %s%n", o.ok() ? "✓" : "✗", o.probe(), Console.elapsed(o.millis()), o.detail());
            if (!o.ok() && o.todo() != null) out.printf("  %-2s %-15s %7s  → %s%n", "", "", "", o.todo());
        }
    }

    public static ObjectNode json(List<Outcome> outcomes) {
        ObjectNode doc = Json.obj().put("healthy", healthy(outcomes));
        ArrayNode list = doc.putArray("probes");
        for (Outcome o : outcomes) {
            ObjectNode p = list.addObject().put("probe", o.probe()).put("ok", o.ok()).put("seconds", o.millis() / 1000.0).put("detail", o.detail());
            if (o.todo() != null) p.put("todo", o.todo());
        }
        return doc;
    }
}
