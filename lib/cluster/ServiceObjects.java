package cluster;

import azure.Stack;
import azure.StackFacts;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * What a deploy applies and a dry run prints: the templates rendered for the stack, the Argo releases (argo null:
 * without Argo), the client config published for grantees, and the Secrets. workerPool: task pods go to the stack's
 * worker pool (not on a cluster of the user's kubeconfig).
 */
public record ServiceObjects(String metadataImage, String uiImage, String uiBackendUrl, boolean workerPool, ArgoInstall argo) {
    public static final String DB_SECRET = "metaflow-db";
    public static final String AZURE_SECRET = "metaflow-azure";
    public static final String DATASTORE_SECRET = "metaflow-datastore";

    /**
     * Every object from the templates and the Argo releases, rendered and checked; with Argo, the controller's
     * workflowDefaults and the datastore Secret (nothing secret in it). The minted Secrets are Deploy's.
     */
    public List<ObjectNode> render(Stack stack, StackFacts facts, List<Manifests.Template> templates) {
        boolean withArgo = argo != null;
        List<ObjectNode> objects = new ArrayList<>(Manifests.render(templates,
                facts.values(stack, metadataImage, uiImage, uiBackendUrl, withArgo ? argo.jetStream() : null), withArgo));
        if (withArgo) {
            for (List<ObjectNode> release : argo.releases()) for (ObjectNode o : release) objects.add(o.deepCopy());
        }
        Manifests.checkSelectors(objects);
        ObjectNode config = MetaflowConfig.of(stack, facts, withArgo, 0, workerPool);
        if (withArgo) {
            // Pods Metaflow's Argo plugin makes without the task labels and node selector get them from the controller.
            ObjectNode defaults = Argo.workflowDefaults(Check.pairs(config.path("METAFLOW_KUBERNETES_LABELS").asText("")),
                    Check.pairs(config.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText("")));
            if (defaults != null) Argo.withWorkflowDefaults(objects, defaults);
            objects.add(datastoreSecret(stack, facts));
        }
        // Published for grantees (services.java connect), who cannot read the storage account or the identity.
        objects.add(Connect.configMap(stack, config));
        return objects;
    }

    /**
     * Where the datastore is, for the containers Metaflow's Argo plugin gives only the Secrets of
     * METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS and not the datastore variables (the error-capture exit hook downloads
     * the code package from ${METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT%/}: Netflix/metaflow 2.19.38
     * metaflow/metaflow_environment.py, argo_workflows.py _error_msg_capture_hook_templates). Nothing secret in it; a
     * Secret because that is what Metaflow hands such containers.
     */
    static ObjectNode datastoreSecret(Stack stack, StackFacts facts) {
        return secret(stack.kubeNamespace(), DATASTORE_SECRET, Map.of("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", facts.blobEndpoint(),
                "METAFLOW_DATASTORE_SYSROOT_AZURE", facts.sysroot()));
    }

    static ObjectNode secret(String ns, String name, Map<String, String> values) {
        ObjectNode s = Json.obj().put("apiVersion", "v1").put("kind", "Secret");
        s.putObject("metadata").put("name", name).put("namespace", ns).putObject("labels")
                .put("app.kubernetes.io/part-of", "metaflow").put("app.kubernetes.io/managed-by", "metaflow-azure-toolkit");
        s.put("type", "Opaque");
        ObjectNode data = s.putObject("data");
        values.forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
        return s;
    }

    static ObjectNode dbSecret(Stack stack, String password) {
        return secret(stack.kubeNamespace(), DB_SECRET, Map.of("MF_METADATA_DB_PSWD", password));
    }
}
