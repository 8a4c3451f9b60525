package cluster;

import azure.Clouds;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Elapsed;
import engine.Messages;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Each probe of the stack check run on the cluster: it makes its objects (Probes), waits for them, reads the result,
 * removes them whatever the outcome, and when something failed says why and what to do.
 */
final class ProbeRuns {
    private ProbeRuns() {}

    static Check.Outcome storage(KubernetesClient client, Check.Settings s, String id, Check.Log log) {
        long start = System.currentTimeMillis();
        String where = s.blobUrl() + "/" + Probes.BLOB_FOLDER + "/" + id;
        for (int attempt = 1; ; attempt++) {
            String name = "metaflow-check-storage-" + id + "-" + attempt;
            ObjectNode job = Probes.storageJob(s, id, name);
            PodRun run;
            try {
                client.resource(Kube.generic(client, job)).create();
                run = awaitJob(client, s, name, log);
            } finally {
                delete(client, job);
            }
            if (run.result() != null && run.result().equals("ok")) {
                return new Check.Outcome("storage", true, 0, "the task identity wrote, read back and deleted a blob under " + s.blobUrl(), null);
            }
            if (run.result() == null) return new Check.Outcome("storage", false, 0, run.problem(), run.todo());
            String[] f = run.result().split(" ", 4);  // fail STEP STATUS DETAIL
            String step = f.length > 1 ? f[1] : "?";
            String status = f.length > 2 ? f[2] : "?";
            String detail = f.length > 3 ? f[3] : "";
            long waited = System.currentTimeMillis() - start;
            if (status.equals("403") && waited + s.bounds().roleRetryMillis() < s.bounds().roleWaitMillis()) {
                log.line("storage", "waiting for the role assignment to take effect (" + Elapsed.text(waited) + ")");
                Kube.sleep(s.bounds().roleRetryMillis());
                continue;
            }
            return storageFailure(s, step, status, detail, where, waited);
        }
    }

    static Check.Outcome storageFailure(Check.Settings s, String step, String status, String detail, String where, long waited) {
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
            todo = "Still refused after " + Elapsed.text(waited) + ": check that the task identity has Storage Blob Data Contributor "
                    + "on the container (az role assignment list --assignee <client id> --all), and the storage account's network rules; "
                    + "run provision.java again to restore the role, then the check.";
        } else if (status.equals("000")) {
            todo = "The pod cannot reach the storage endpoint: check DNS and egress from the worker pool (network policies, firewall).";
        } else {
            todo = "Check the storage account and container exist (run provision.java again) and run the check again.";
        }
        return new Check.Outcome("storage", false, 0, what, todo);
    }

    /** How a probe pod ended: the result line of its script, or a problem that kept it from running. */
    record PodRun(String result, String problem, String todo) {}

    static PodRun awaitJob(KubernetesClient client, Check.Settings s, String name, Check.Log log) {
        long deadline = System.currentTimeMillis() + s.bounds().podMillis();
        String shown = null;
        while (true) {
            JsonNode job = Kube.read(client, Probes.ref("batch/v1", "Job", s.namespace(), name));
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
            PodProblem p = podProblem(client, s, pods);
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

    static PodProblem podProblem(KubernetesClient client, Check.Settings s, List<Pod> pods) {
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
                        return pullProblem(client, s, p, cs.getImage(), reason, w.getMessage());
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

    /**
     * A pull the nodes failed. The back-off's message names no cause (kubernetes/kubernetes pkg/kubelet/images/image_manager.go:
     * "Back-off pulling image"), so the cause is the kubelet's last "Failed to pull image" event of the pod. From the stack's
     * registry the runtime's words tell the cause apart (MicrosoftDocs/SupportArticles-docs, azure-kubernetes/connectivity/
     * cannot-pull-image-from-acr-to-aks-cluster.md): "401 Unauthorized", the kubelet identity may not pull (AcrPull);
     * "not found", no such repository or tag (here: a missing cache rule); "403 Forbidden", the registry's network rules.
     * A refused pull waits out the pod's bound (a fresh AcrPull assignment takes a while to act, and the kubelet retries);
     * a missing image does not come by waiting.
     */
    static PodProblem pullProblem(KubernetesClient client, Check.Settings s, Pod p, String image, String reason, String message) {
        String pod = p.getMetadata().getName();
        String cause = message == null || message.startsWith("Back-off pulling image") ? lastPullError(client, p) : message;
        String text = "pod " + pod + ": " + reason + " for image " + image + (cause != null ? " (" + cause + ")"
                : message == null ? "" : " (" + message + ")");
        boolean backOff = reason.equals("ImagePullBackOff") || reason.equals("InvalidImageName");
        String registry = s.registry();
        if (registry == null || !image.startsWith(registry + "/") || cause == null) {
            return new PodProblem(text, "The nodes cannot pull " + image + ": check egress to the registry (firewall, proxy) or "
                    + "mirror the image.", backOff);
        }
        String name = registry.substring(0, registry.indexOf('.') < 0 ? registry.length() : registry.indexOf('.'));
        String repository = image.substring(registry.length() + 1);
        String provision = "'jbang provision.java " + s.repairArgs() + "'";
        if (cause.contains("401 Unauthorized") || cause.contains("unauthorized:")) {
            return new PodProblem(text, "The cluster's kubelet identity may not pull from the stack's registry " + name + ": it needs the role "
                    + "AcrPull on the registry (what az aks update --attach-acr grants; check: az role assignment list --scope <registry id> "
                    + "--role AcrPull). Run " + provision + " to restore it, then services.java check again.", false);
        }
        if (cause.contains("not found") || cause.contains("manifest unknown")) {
            return new PodProblem(text, "The stack's registry " + name + " has no " + repository + ": the cache rule of "
                    + repository.replaceFirst("[:@].*$", "") + " is missing (or its upstream lacks the tag). Run " + provision
                    + " to restore the registry's cache rules, then services.java check again.", true);
        }
        if (cause.contains("403 Forbidden")) {
            return new PodProblem(text, "The stack's registry " + name + " refused the nodes' network: check its network rules "
                    + "(az acr show -n " + name + " --query networkRuleSet) and, with a private endpoint, its DNS zone's link to the cluster's "
                    + "virtual network.", backOff);
        }
        return new PodProblem(text, "The nodes cannot pull " + image + " from the stack's registry: check egress to " + registry
                + " (firewall, proxy).", backOff);
    }

    /** The kubelet's last "Failed to pull image ...: ERROR" event of the pod: ERROR, or null (none, or events not readable). */
    static String lastPullError(KubernetesClient client, Pod p) {
        String pod = p.getMetadata().getName();
        String cause = null;
        try {
            for (var e : client.v1().events().inNamespace(p.getMetadata().getNamespace()).list().getItems()) {
                if (e.getInvolvedObject() == null || !pod.equals(e.getInvolvedObject().getName())) continue;
                String m = e.getMessage();
                if ("Failed".equals(e.getReason()) && m != null && m.startsWith("Failed to pull image ")) {
                    int colon = m.indexOf("\": ");
                    cause = colon < 0 ? m : m.substring(colon + 3);
                }
            }
        } catch (KubernetesClientException e) {
            return null;
        }
        return cause;
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

    /** Deletes a probe object and, through the garbage collector, its pods (a Job's default would orphan them). */
    static void delete(KubernetesClient client, JsonNode o) {
        try {
            client.resource(Kube.generic(client, Probes.ref(o.path("apiVersion").asText(), o.path("kind").asText(),
                    o.path("metadata").path("namespace").asText(), o.path("metadata").path("name").asText())))
                    .withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
        } catch (KubernetesClientException e) {
            if (e.getCode() != 404) throw e;
        }
    }

    // --- 2. metadata service -> database ----------------------------------------------------------------

    /**
     * The metadata service's database check through the gateway, the path forward uses; when that fails, directly, to
     * name the broken link.
     */
    static Check.Outcome metadata(KubernetesClient client, Check.Settings s) {
        String gateway = s.namespace() + "/" + Catalog.GATEWAY.service();
        String answer = raw(client, Catalog.METADATA.gatewayProxyPath(s.namespace(), Catalog.DB_CHECK_PATH));
        if (answer != null) {
            return new Check.Outcome("metadata", true, 0, Catalog.DB_CHECK_PATH + " through " + gateway
                    + " (the service ran SELECT 1 on the database): " + answer.strip(), null);
        }
        if (raw(client, Catalog.METADATA.proxyPath(s.servicesNamespace(), Catalog.DB_CHECK_PATH)) != null) {
            return new Check.Outcome("metadata", false, 0, "the metadata service answers, but not through " + gateway + " (what forward uses)",
                    "Check the gateway: kubectl -n " + s.namespace() + " logs deploy/" + Catalog.GATEWAY.deployment()
                            + "; services.java status shows the deployments.");
        }
        return new Check.Outcome("metadata", false, 0, "the metadata service's " + Catalog.DB_CHECK_PATH + " failed (no answer, or not 200)",
                "Check the service and its database: kubectl -n " + s.servicesNamespace() + " logs deploy/" + Catalog.METADATA.deployment()
                        + " (a password or firewall problem shows there); services.java status shows the deployments.");
    }

    /** A GET through the API server (a service proxy path); null when it failed or did not answer 200. */
    static String raw(KubernetesClient client, String path) {
        try {
            return client.raw(path);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /** The Workflow probe; run again while its exit handler is refused (403) by a role assignment not yet in effect, as the storage probe waits. */
    static Check.Outcome workflow(KubernetesClient client, Check.Settings s, String id, Check.Log log) {
        long start = System.currentTimeMillis();
        for (int attempt = 1; ; attempt++) {
            Check.Outcome o = workflowOnce(client, s, id, "metaflow-check-argo-" + id + (attempt == 1 ? "" : "-" + attempt), log);
            long waited = System.currentTimeMillis() - start;
            if (o.ok() || !o.detail().contains("(HTTP 403") || waited + s.bounds().roleRetryMillis() >= s.bounds().roleWaitMillis()) return o;
            log.line("argo-workflows", "waiting for the role assignment to take effect (" + Elapsed.text(waited) + ")");
            Kube.sleep(s.bounds().roleRetryMillis());
        }
    }

    static Check.Outcome workflowOnce(KubernetesClient client, Check.Settings s, String id, String name, Check.Log log) {
        ObjectNode wf = Probes.workflow(s, id, name);
        try {
            client.resource(Kube.generic(client, wf)).create();
            long deadline = System.currentTimeMillis() + s.bounds().workflowMillis();
            String shown = null;
            while (true) {
                JsonNode now = Kube.read(client, wf);
                String phase = now == null ? "" : now.path("status").path("phase").asText("");
                List<Pod> pods = client.pods().inNamespace(s.namespace()).withLabel("workflows.argoproj.io/workflow", name).list().getItems();
                if (phase.equals("Succeeded") || phase.equals("Failed") || phase.equals("Error")) {
                    String hook = null;
                    for (Pod p : pods) {
                        String r = resultLine(client, s.namespace(), p.getMetadata().getName());
                        if (r != null) hook = r;
                    }
                    if (hook != null && !hook.equals("ok")) return hookFailure(s, hook, id);
                    if (!phase.equals("Succeeded")) return workflowFailure(client, s, now, pods);
                    if (hook == null) {
                        return new Check.Outcome("argo-workflows", false, 0, "the Workflow succeeded but its exit handler left no result",
                                "kubectl -n " + s.namespace() + " get workflow " + name + " -o yaml while the check runs (did the exit handler run?).");
                    }
                    return new Check.Outcome("argo-workflows", true, 0, "a Workflow ran as " + s.serviceAccount() + "; its exit handler, "
                            + "without task labels or node selector like Metaflow's exit hooks, reached blob storage as the task identity", null);
                }
                PodProblem p = podProblem(client, s, pods);
                if (p != null && !p.text().equals(shown)) {
                    log.line("argo-workflows", p.text());
                    shown = p.text();
                }
                if (p != null && p.fatal()) return new Check.Outcome("argo-workflows", false, 0, p.text(), p.todo());
                if (System.currentTimeMillis() > deadline) {
                    if (phase.isEmpty()) {
                        Catalog.Service wc = Catalog.WORKFLOW_CONTROLLER;
                        Rollout.State ctl = Rollout.state(client, new Rollout.Target(wc.namespace(null), wc.deployment()));
                        boolean running = ctl.exists() && ctl.ready() > 0;
                        return new Check.Outcome("argo-workflows", false, 0, "the Workflow was not picked up within "
                                + s.bounds().workflowMillis() / 1000 + " s: the Argo Workflows controller is "
                                + (running ? "running but did not act on it" : "not running (" + ctl.text() + ")"),
                                "Check the controller: kubectl -n " + wc.namespace(null) + " logs deploy/" + wc.deployment()
                                        + (running ? " (it may watch other namespaces only)" : "; services.java status shows why it is not ready."));
                    }
                    if (p != null) return new Check.Outcome("argo-workflows", false, 0, p.text(), p.todo());
                    return new Check.Outcome("argo-workflows", false, 0, "the Workflow is still " + phase + " after " + s.bounds().workflowMillis() / 1000 + " s",
                            "kubectl -n " + s.namespace() + " get workflow " + name + " -o yaml while the check runs.");
                }
                Kube.sleep(s.bounds().pollMillis());
            }
        } finally {
            delete(client, wf);
        }
    }

    /**
     * The exit handler's storage script failed: the pods Metaflow makes without the task labels (its exit hooks) would
     * fail the same way, so say which default is missing.
     */
    static Check.Outcome hookFailure(Check.Settings s, String result, String id) {
        String[] f = result.split(" ", 4);  // fail STEP STATUS DETAIL
        String step = f.length > 1 ? f[1] : "?";
        String status = f.length > 2 ? f[2] : "?";
        String detail = f.length > 3 ? f[3] : "";
        String what = "the exit handler (shaped like Metaflow's exit hooks: no task labels, no node selector of its own) ";
        String cm = "kubectl -n " + Argo.WORKFLOWS_NAMESPACE + " get configmap " + Argo.WORKFLOWS_CONFIG_MAP + " -o yaml";
        if (step.equals("identity") && s.secret().isEmpty()) {
            return new Check.Outcome("argo-workflows", false, 0, what + "got no workload identity: " + detail,
                    "The Argo Workflows controller's " + Argo.WORKFLOW_DEFAULTS_KEY + " must give unlabelled pods the task labels ("
                            + cm + ": spec.podMetadata.labels with " + String.join(", ", s.taskLabels().keySet())
                            + "); Metaflow's exit hooks fail the same way. Run services.java again to restore them.");
        }
        if (step.equals("datastore")) {
            return new Check.Outcome("argo-workflows", false, 0, what + "was not told where the datastore is: " + detail,
                    "Metaflow gives its exit hooks only the Secrets of METAFLOW_KUBERNETES_SECRETS and METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS: "
                            + "Secret " + s.namespace() + "/" + ServiceObjects.DATASTORE_SECRET + " must hold the endpoint and the config name it. "
                            + "Run services.java again.");
        }
        Check.Outcome o = storageFailure(s, step, status, detail, s.blobUrl() + "/" + Probes.BLOB_FOLDER + "/" + id + "-hook", 0);
        String todo = status.equals("403") ? "Check that the task identity has Storage Blob Data Contributor on the container (az role assignment "
                + "list --assignee <client id> --all), and the storage account's network rules; run provision.java again to restore the role."
                : o.todo();
        return new Check.Outcome("argo-workflows", false, 0, what + "failed: " + o.detail(), todo);
    }

    static Check.Outcome workflowFailure(KubernetesClient client, Check.Settings s, JsonNode wf, List<Pod> pods) {
        List<String> messages = new ArrayList<>();
        String top = wf.path("status").path("message").asText("");
        if (!top.isEmpty()) messages.add(top);
        for (JsonNode n : wf.path("status").path("nodes")) {
            String m = n.path("message").asText("");
            if (!m.isEmpty() && !messages.contains(m)) messages.add(m);
        }
        PodProblem p = podProblem(client, s, pods);
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
                    + " while the check runs, and the controller's log (kubectl -n " + Catalog.WORKFLOW_CONTROLLER.namespace(null) + " logs deploy/"
                    + Catalog.WORKFLOW_CONTROLLER.deployment() + ").";
        }
        return new Check.Outcome("argo-workflows", false, 0, "the Workflow " + wf.path("status").path("phase").asText() + ": "
                + (all.isEmpty() ? "(no message)" : all), todo);
    }

    // --- 4. Argo Events -----------------------------------------------------------------------------------

    static Check.Outcome events(KubernetesClient client, Check.Settings s, String id) {
        Argo.EventsState bus = Argo.eventsState(client, "EventBus", s.namespace(), Catalog.EVENT_BUS);
        if (!bus.ready()) return new Check.Outcome("argo-events", false, 0, bus.id() + " is " + bus.text(), Argo.busAdvice(bus));
        Argo.EventsState source = Argo.eventsState(client, "EventSource", s.namespace(), Catalog.EVENT_SOURCE);
        if (!source.ready()) {
            return new Check.Outcome("argo-events", false, 0, source.id() + " is " + source.text(),
                    "kubectl -n " + s.namespace() + " describe eventsource " + Catalog.EVENT_SOURCE + "; run services.java again.");
        }
        String path = Catalog.WEBHOOK.proxyPath(s.namespace(), Catalog.WEBHOOK_PATH);
        String body = Probes.eventBody(id);
        var http = client.getHttpClient();
        var req = http.newHttpRequestBuilder().uri(Clouds.trimSlash(Kube.server(client)) + path).post("application/json", body).build();
        int code;
        String answer;
        try {
            var r = http.sendAsync(req, String.class).get(30, TimeUnit.SECONDS);
            code = r.code();
            answer = r.body() == null ? "" : Messages.firstLine(r.body());
        } catch (Exception e) {
            code = 0;
            answer = Messages.firstLine(String.valueOf(e.getMessage()));
        }
        if (code == 200) {
            return new Check.Outcome("argo-events", true, 0, "event bus and event source ready; the webhook accepted a probe event ("
                    + Probes.EVENT_NAME + ")", null);
        }
        return new Check.Outcome("argo-events", false, 0, "the webhook " + Catalog.WEBHOOK.service() + ":" + Catalog.WEBHOOK.port() + Catalog.WEBHOOK_PATH
                + " refused the probe event: HTTP " + code + (answer.isEmpty() ? "" : " " + answer),
                "Check the event source's pod: kubectl -n " + s.namespace() + " logs -l eventsource-name=" + Catalog.EVENT_SOURCE + ".");
    }
}
