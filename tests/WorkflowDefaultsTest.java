import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import azure.AzureLogin;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.KubeFake;
import fake.ScriptRun;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pods Metaflow's Argo plugin makes without the task labels (its error-capture exit hook): after a deploy, the
 * controller configuration the deploy left and a Workflow shaped like Metaflow's (Netflix/metaflow 2.19.38
 * metaflow/plugins/argo/argo_workflows.py: workflow-level podMetadata with its own labels, step templates with labels
 * and node selector, the hook template with only a service account and the Secrets) give the pods the fake controller
 * makes the identity label, the worker pool and the datastore endpoint.
 */
class WorkflowDefaultsTest {
    @TempDir Path home;
    KubeFake kube;
    AzureFake azure;
    AutoCloseable rollouts;

    @BeforeEach
    void setUp() throws Exception {
        kube = new KubeFake();
        azure = new AzureFake().clusterApiServer(kube.url());
        ScriptRun.Result p = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure), "--prefix", "acme", "--yes");
        assertEquals(0, p.code, p.all());
        rollouts = kube.rollOutDeployments(Set.of());
        Path argo = ArgoFixture.writeTo(home.resolve("argo"));
        ScriptRun.Result d = ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure),
                "--argo-manifests", argo.toString(), "--timeout", "20", "--no-check");
        assertEquals(0, d.code, d.all());
    }

    @AfterEach
    void tearDown() throws Exception {
        rollouts.close();
        kube.close();
    }

    /** A Workflow as Metaflow's `argo-workflows create` + trigger makes it, from the profile the deploy wrote. */
    static ObjectNode metaflowWorkflow(JsonNode config, Map<String, String> stepSelector) {
        String ns = config.path("METAFLOW_KUBERNETES_NAMESPACE").asText();
        String sa = config.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText();
        ObjectNode wf = Json.obj().put("apiVersion", "argoproj.io/v1alpha1").put("kind", "Workflow");
        wf.putObject("metadata").put("name", "helloflow-abc12").put("namespace", ns);
        ObjectNode spec = wf.putObject("spec").put("entrypoint", "start").put("onExit", "error-msg-capture-hook");
        spec.putObject("podMetadata").putObject("labels").put("app.kubernetes.io/name", "metaflow-task").put("app.kubernetes.io/part-of", "metaflow");
        ArrayNode templates = spec.putArray("templates");
        ObjectNode step = templates.addObject().put("name", "start").put("serviceAccountName", sa);
        ObjectNode labels = step.putObject("metadata").putObject("labels");
        for (String kv : config.path("METAFLOW_KUBERNETES_LABELS").asText("").split(",")) if (kv.contains("=")) labels.put(kv.split("=")[0], kv.split("=")[1]);
        ObjectNode sel = step.putObject("nodeSelector");
        stepSelector.forEach(sel::put);
        step.putObject("container").put("name", "main").put("image", "python:3.12").putArray("command").add("bash").add("-c").add("true");
        ObjectNode hook = templates.addObject().put("name", "error-msg-capture-hook").put("serviceAccountName", sa);
        ObjectNode c = hook.putObject("container").put("name", "main").put("image", "python:3.12");
        c.putArray("command").add("bash").add("-c").add("true");
        c.putArray("env").addObject().put("name", "METAFLOW_DEFAULT_DATASTORE").put("value", "azure");
        ArrayNode from = c.putArray("envFrom");
        for (String key : new String[] {"METAFLOW_KUBERNETES_SECRETS", "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS"}) {
            for (String n : config.path(key).asText("").split(",")) if (!n.isBlank()) from.addObject().putObject("secretRef").put("name", n);
        }
        return wf;
    }

    ObjectNode pod(String suffix) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            for (ObjectNode p : kube.podsMade) if (p.path("metadata").path("name").asText().endsWith(suffix)) return p;
            Thread.sleep(50);
        }
        throw new AssertionError("no pod " + suffix + " made: " + kube.podsMade);
    }

    @Test
    void theExitHookGetsTheIdentityTheWorkerPoolAndTheDatastoreWhileStepsKeepTheirOwnPool() throws Exception {
        JsonNode config = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_acme-default.json")));
        // The controller configuration the deploy left: workflowDefaults from the task labels and node selector.
        ObjectNode cm = kube.stored("/api/v1/namespaces/argo/configmaps/workflow-controller-configmap");
        JsonNode defaults = cluster.Manifests.YAML.readTree(cm.path("data").path("workflowDefaults").asText());
        assertEquals("true", defaults.path("spec").path("podMetadata").path("labels").path("azure.workload.identity/use").asText(), cm.toString());
        assertFalse(defaults.path("spec").has("serviceAccountName"), "no cluster-wide service account: " + defaults);

        kube.nodes.add(Map.of("agentpool", "gpu"));
        try (KubernetesClient client = kube.client()) {
            create(client, metaflowWorkflow(config, Map.of("agentpool", "gpu")));
        }
        ObjectNode step = pod("-probe-1");
        ObjectNode hook = pod("-hook-2");
        // The step keeps its own node selector and labels, and gets the workflow's podMetadata labels beside them.
        assertEquals("gpu", step.path("spec").path("nodeSelector").path("agentpool").asText(), step.toString());
        assertEquals("metaflow-task", step.path("metadata").path("labels").path("app.kubernetes.io/name").asText());
        // The hook, with no labels or node selector of its own: the identity label beside Metaflow's own, the worker pool.
        JsonNode hl = hook.path("metadata").path("labels");
        assertEquals("true", hl.path("azure.workload.identity/use").asText(), hook.toString());
        assertEquals("metaflow-task", hl.path("app.kubernetes.io/name").asText(), hook.toString());
        StringBuilder hookSelector = new StringBuilder();
        hook.path("spec").path("nodeSelector").fields().forEachRemaining(e -> hookSelector.append(hookSelector.length() == 0 ? "" : ",")
                .append(e.getKey()).append('=').append(e.getValue().asText()));
        assertEquals(config.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText(), hookSelector.toString());
        assertEquals(config.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText(), hook.path("spec").path("serviceAccountName").asText());
        // ... and the datastore endpoint through the Secret the config names for Argo's containers.
        String secret = hook.path("spec").path("containers").path(0).path("envFrom").findValuesAsText("name").stream()
                .filter(n -> n.equals(config.path("METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS").asText())).findFirst().orElseThrow();
        ObjectNode s = kube.stored("/api/v1/namespaces/metaflow/secrets/" + secret);
        assertEquals(config.path("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT").asText(), new String(Base64.getDecoder()
                .decode(s.path("data").path("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT").asText()), StandardCharsets.UTF_8));
        assertEquals(config.path("METAFLOW_DATASTORE_SYSROOT_AZURE").asText(), new String(Base64.getDecoder()
                .decode(s.path("data").path("METAFLOW_DATASTORE_SYSROOT_AZURE").asText()), StandardCharsets.UTF_8));
    }

    @Test
    void withoutTheDefaultsTheHookHasNoIdentityLabelAndNoPool() throws Exception {
        JsonNode config = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_acme-default.json")));
        kube.edit("/api/v1/namespaces/argo/configmaps/workflow-controller-configmap", cm -> cm.remove("data"));
        try (KubernetesClient client = kube.client()) {
            create(client, metaflowWorkflow(config, Map.of("agentpool", "taskworkers")));
        }
        ObjectNode hook = pod("-hook-2");
        assertFalse(hook.path("metadata").path("labels").has("azure.workload.identity/use"), hook.toString());
        assertFalse(hook.path("spec").has("nodeSelector"), hook.toString());
    }

    static void create(KubernetesClient client, ObjectNode o) {
        client.resource(io.fabric8.kubernetes.client.utils.Serialization.unmarshal(o.toString(),
                io.fabric8.kubernetes.api.model.GenericKubernetesResource.class)).create();
    }
}
