package cluster;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;

/**
 * What the stack check's probes are made of: the storage probe's Job and script, the Workflow (a step and an exit
 * handler shaped like Metaflow's), the labels that mark every probe object as the toolkit's, and the probe event. Check runs them; ProbeRuns waits for them and says
 * what went wrong.
 */
public final class Probes {
    private Probes() {}

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

    // --- 1. task identity -> blob storage ----------------------------------------------------------------

    /**
     * The probe's script (busybox sh, curl, sed in the pinned curl image). The container is BLOB_URL, or, as Metaflow's
     * own containers find it, METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT and METAFLOW_DATASTORE_SYSROOT_AZURE. It gets a token for Azure Storage as the task
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
            if [ -z "${BLOB_URL:-}" ]; then
              [ -n "${METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT:-}" ] || { say "fail datastore 0 no METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT in the pod"; exit 1; }
              BLOB_URL="${METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT%/}/${METAFLOW_DATASTORE_SYSROOT_AZURE:-}"
            fi
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
    static ObjectNode storageJob(Check.Settings s, String id, String name) {
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
        ObjectNode c = pod.putArray("containers").addObject().put("name", "probe").put("image", s.probeImage());
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

    static ObjectNode ref(String apiVersion, String kind, String ns, String name) {
        ObjectNode o = Json.obj().put("apiVersion", apiVersion).put("kind", kind);
        o.putObject("metadata").put("name", name).put("namespace", ns);
        return o;
    }

    // --- 3. Argo Workflows ----------------------------------------------------------------------------

    /** The template of the Workflow probe that plays Metaflow's exit hook. */
    static final String HOOK_TEMPLATE = "hook";

    /**
     * The Workflow: a step shaped like Metaflow's step templates (task labels and node selector of its own), and an exit
     * handler shaped like Metaflow's error-capture hook (Netflix/metaflow 2.19.38 argo_workflows.py
     * _error_msg_capture_hook_templates): the task service account named on the template, a container "main" given the
     * Secrets of METAFLOW_KUBERNETES_SECRETS and METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS and no datastore variables, no
     * labels and no node selector. The hook runs the storage script, so it reaches blob storage as the task identity only
     * if the controller's workflowDefaults give it the task labels and the datastore Secret gives it the endpoint.
     */
    static ObjectNode workflow(Check.Settings s, String id, String name) {
        ObjectNode wf = Json.obj().put("apiVersion", Argo.EVENTS_API).put("kind", "Workflow");
        ObjectNode meta = wf.putObject("metadata").put("name", name).put("namespace", s.namespace());
        labels(meta.putObject("labels"), "argo-workflows", id);
        ObjectNode spec = wf.putObject("spec").put("entrypoint", "probe").put("onExit", HOOK_TEMPLATE)
                .put("serviceAccountName", s.serviceAccount())
                .put("activeDeadlineSeconds", s.bounds().workflowMillis() / 1000 + 30);
        spec.putObject("ttlStrategy").put("secondsAfterCompletion", 600);
        ArrayNode templates = spec.putArray("templates");
        ObjectNode t = templates.addObject().put("name", "probe");
        ObjectNode tl = t.putObject("metadata").putObject("labels");
        s.taskLabels().forEach(tl::put);
        labels(tl, "argo-workflows", id);
        if (!s.nodeSelector().isEmpty()) {
            ObjectNode ns = t.putObject("nodeSelector");
            s.nodeSelector().forEach(ns::put);
        }
        ObjectNode c = t.putObject("container").put("image", s.probeImage());
        c.putArray("command").add("/bin/sh").add("-c").add("echo metaflow-azure-toolkit check " + id);
        c.putObject("resources").putObject("requests").put("cpu", "10m").put("memory", "16Mi");

        ObjectNode hook = templates.addObject().put("name", HOOK_TEMPLATE).put("serviceAccountName", s.serviceAccount());
        ObjectNode h = hook.putObject("container").put("name", "main").put("image", s.probeImage());
        h.putArray("command").add("/bin/sh").add("-c").add(STORAGE_SCRIPT);
        ArrayNode env = h.putArray("env");
        env.addObject().put("name", "PROBE_BLOB").put("value", BLOB_FOLDER + "/" + id + "-hook");
        env.addObject().put("name", "PROBE_ID").put("value", "metaflow-azure-toolkit check " + id + " exit hook");
        env.addObject().put("name", "BLOB_API_VERSION").put("value", BLOB_API_VERSION);
        if (!s.secret().isEmpty()) env.addObject().put("name", "AZURE_AUTHORITY_HOST").put("value", s.authorityHost());
        ArrayNode from = h.putArray("envFrom");
        for (String secret : s.hookSecrets()) from.addObject().putObject("secretRef").put("name", secret);
        h.putObject("resources").putObject("requests").put("cpu", "10m").put("memory", "16Mi");
        return wf;
    }

    /** The probe event's body: a name no flow triggers on, and the check's id. */
    static String eventBody(String id) {
        return Json.obj().put("name", EVENT_NAME).put("check", id).toString();
    }
}
