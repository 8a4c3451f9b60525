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

    /** Every object from the templates and the Argo releases (Secrets excepted), rendered and checked. */
    public List<ObjectNode> render(Stack stack, StackFacts facts, List<Manifests.Template> templates) {
        boolean withArgo = argo != null;
        List<ObjectNode> objects = new ArrayList<>(Manifests.render(templates,
                facts.values(stack, metadataImage, uiImage, uiBackendUrl, withArgo ? argo.jetStream() : null), withArgo));
        if (withArgo) {
            for (List<ObjectNode> release : argo.releases()) for (ObjectNode o : release) objects.add(o.deepCopy());
        }
        if (gpu()) objects.add(DevicePlugin.daemonSet(stack));
        Manifests.checkSelectors(objects);
        // Published for grantees (services.java connect), who cannot read the storage account or the identity.
        objects.add(Connect.configMap(stack, MetaflowConfig.of(stack, facts, withArgo, 0, pools)));
        return objects;
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
