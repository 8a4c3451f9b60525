package cluster;

import azure.Pools;
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
 * without Argo), the client config published for grantees, the Secrets, and NVIDIA's device plugin when the stack has
 * a GPU pool. pools: the stack's node pools, where task pods go (null on a cluster of the user's kubeconfig).
 */
public record ServiceObjects(String metadataImage, String uiImage, String uiBackendUrl, Pools.Facts pools, ArgoInstall argo) {

    /** The same objects for the pools as Resource Manager shows them. */
    public ServiceObjects withPools(Pools.Facts found) {
        return new ServiceObjects(metadataImage, uiImage, uiBackendUrl, found, argo);
    }

    /** Whether the deploy installs the device plugin. */
    public boolean gpu() {
        return pools != null && pools.gpu();
    }

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
        if (gpu()) objects.add(DevicePlugin.daemonSet(stack));
        Manifests.checkSelectors(objects);
        stampConfigDigests(objects);
        ObjectNode config = MetaflowConfig.of(stack, facts, withArgo, 0, pools);
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

    /** The database password, in the services' namespace: no pod of the flows' namespace can mount it. */
    static ObjectNode dbSecret(Stack stack, String password) {
        return secret(stack.servicesNamespace(), DB_SECRET, Map.of("MF_METADATA_DB_PSWD", password));
    }

    /** A Secret with data as the cluster returns it (base64 values), e.g. to carry a Secret into another namespace. */
    static ObjectNode secretOfData(String ns, String name, Map<String, String> base64Data) {
        ObjectNode s = secret(ns, name, Map.of());
        ObjectNode data = (ObjectNode) s.get("data");
        base64Data.forEach(data::put);
        return s;
    }

    static final String CONFIG_DIGEST = "metaflow-azure-toolkit/config-sha256";

    /**
     * Stamps each Deployment's pod template with the SHA-256 of the ConfigMaps among the objects that its pods read
     * (volumes, envFrom): pods read them only when they start, so a changed ConfigMap must roll the Deployment.
     */
    static void stampConfigDigests(List<ObjectNode> objects) {
        for (ObjectNode d : objects) {
            if (!d.path("kind").asText().equals("Deployment")) continue;
            String ns = d.path("metadata").path("namespace").asText();
            java.util.SortedSet<String> used = new java.util.TreeSet<>();
            com.fasterxml.jackson.databind.JsonNode pod = d.path("spec").path("template").path("spec");
            for (var v : pod.path("volumes")) if (v.has("configMap")) used.add(v.path("configMap").path("name").asText());
            for (String list : List.of("containers", "initContainers")) {
                for (var c : pod.path(list)) for (var e : c.path("envFrom")) if (e.has("configMapRef")) used.add(e.path("configMapRef").path("name").asText());
            }
            StringBuilder text = new StringBuilder();
            for (String name : used) {
                objects.stream().filter(o -> o.path("kind").asText().equals("ConfigMap") && o.path("metadata").path("name").asText().equals(name)
                        && o.path("metadata").path("namespace").asText().equals(ns))
                        .findFirst().ifPresent(cm -> text.append(name).append('\n').append(cm.path("data").toString()).append('\n'));
            }
            if (text.isEmpty()) continue;
            ObjectNode meta = (ObjectNode) d.path("spec").path("template").path("metadata");
            ObjectNode annotations = meta.has("annotations") ? (ObjectNode) meta.get("annotations") : meta.putObject("annotations");
            annotations.put(CONFIG_DIGEST, sha256(text.toString()));
        }
    }

    static String sha256(String text) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
