package cluster;

import azure.Stack;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.api.model.DeletionPropagation;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Moving the Metaflow services out of the flows' namespace, where deploys before their own namespace existed put them
 * (with the database Secret, which any pod of the flows' namespace could mount). Only what the toolkit made there
 * under the names it used is removed, and only after its replacement in the services' namespace is ready; a user's
 * object of such a name is left alone, and one the new objects would overwrite stops the deploy before its first write.
 */
final class Relocation {
    private Relocation() {}

    /** Kind and name of an object earlier deploys made in the flows' namespace and deploys now make in the services'. */
    record Old(String kind, String name) {
        String id(String ns) { return kind + " " + ns + "/" + name; }
    }

    static final List<Old> OLD = List.of(
            new Old("Deployment", Catalog.METADATA.deployment()), new Old("Deployment", Catalog.UI_BACKEND.deployment()),
            new Old("Deployment", Catalog.UI.deployment()), new Old("Service", Catalog.METADATA.service()),
            new Old("Service", Catalog.UI_BACKEND.service()), new Old("Service", Catalog.UI.service()),
            new Old("Secret", ServiceObjects.DB_SECRET), new Old("ConfigMap", "metaflow-db"));

    /**
     * What is in the flows' namespace: the toolkit's old objects to remove, with the old DB Secret's data (base64, to carry
     * the password over unchanged; null when there is none), and objects of a user's in the way of the new ones.
     */
    record Found(String namespace, List<Old> old, Map<String, String> dbSecretData, List<String> inTheWay) {
    }

    /** Looks (reads only) at the flows' namespace; desired: every object this deploy applies, which is never old. */
    static Found find(KubernetesClient client, Stack stack, List<ObjectNode> desired) {
        String ns = stack.kubeNamespace();
        List<Old> old = new ArrayList<>();
        List<String> inTheWay = new ArrayList<>();
        Map<String, String> dbData = null;
        for (Old o : OLD) {
            HasMetadata current = read(client, ns, o);
            if (current == null) continue;
            ObjectNode want = desired.stream().filter(d -> d.path("kind").asText().equals(o.kind())
                    && d.path("metadata").path("namespace").asText().equals(ns) && d.path("metadata").path("name").asText().equals(o.name()))
                    .findFirst().orElse(null);
            boolean toolkits = madeByToolkit(current);
            if (want != null && o.kind().equals("Service")) {
                // The alias takes this name: the toolkit's old Service goes first, a user's Service stops the deploy.
                if (!toolkits) {
                    inTheWay.add(o.id(ns) + " (not made by this toolkit; this deploy puts " + (isAlias(want)
                            ? "an alias of " + stack.servicesNamespace() + "/" + o.name() : "a Service of its own") + " under that name)");
                } else if (!isExternalName(current) && isAlias(want)) {
                    old.add(o);
                }
            } else if (want == null && toolkits) {
                old.add(o);
                if (o.kind().equals("Secret")) dbData = ((io.fabric8.kubernetes.api.model.Secret) current).getData();
            }
        }
        return new Found(ns, old, dbData, inTheWay);
    }

    static HasMetadata read(KubernetesClient client, String ns, Old o) {
        return switch (o.kind()) {
            case "Deployment" -> client.apps().deployments().inNamespace(ns).withName(o.name()).get();
            case "Service" -> client.services().inNamespace(ns).withName(o.name()).get();
            case "Secret" -> client.secrets().inNamespace(ns).withName(o.name()).get();
            case "ConfigMap" -> client.configMaps().inNamespace(ns).withName(o.name()).get();
            default -> throw new IllegalArgumentException(o.kind());
        };
    }

    /**
     * Whether the toolkit made it: its managed-by label, or (the Services of earlier deploys carried none) the API
     * server's record that the toolkit's field manager applied it.
     */
    static boolean madeByToolkit(HasMetadata o) {
        Map<String, String> labels = o.getMetadata().getLabels();
        if (labels != null && Kube.FIELD_MANAGER.equals(labels.get(Probes.MANAGED_BY))) return true;
        if (o.getMetadata().getManagedFields() == null) return false;
        return o.getMetadata().getManagedFields().stream()
                .anyMatch(m -> Kube.FIELD_MANAGER.equals(m.getManager()) && "Apply".equals(m.getOperation()));
    }

    static boolean isAlias(ObjectNode desired) {
        return desired.path("spec").path("type").asText().equals("ExternalName");
    }

    static boolean isExternalName(HasMetadata o) {
        return o instanceof io.fabric8.kubernetes.api.model.Service s && s.getSpec() != null && "ExternalName".equals(s.getSpec().getType());
    }

    /** The objects to apply only once the old ones of their names are gone (the aliases taking the old Services' names). */
    static List<ObjectNode> deferred(Found found, List<ObjectNode> objects) {
        return objects.stream().filter(d -> d.path("metadata").path("namespace").asText().equals(found.namespace())
                && found.old().contains(new Old(d.path("kind").asText(), d.path("metadata").path("name").asText()))).toList();
    }

    /** The old DB Secret's data in the services' namespace: the password moves unchanged (the server keeps it). */
    static ObjectNode dbSecretMoved(Stack stack, Map<String, String> data) {
        return ServiceObjects.secretOfData(stack.servicesNamespace(), ServiceObjects.DB_SECRET, data);
    }

    /** Removes the old objects, saying so (Deployments with their pods, in the background as kubectl does). */
    static void remove(KubernetesClient client, Stack stack, Found found, PrintStream out) {
        String ns = found.namespace();
        out.println("Removing what earlier deploys put in " + ns + " (now in " + stack.servicesNamespace() + "; the old names in " + ns
                + " stay as aliases) ...");
        for (Old o : found.old()) {
            switch (o.kind()) {
                case "Deployment" -> client.apps().deployments().inNamespace(ns).withName(o.name()).withPropagationPolicy(DeletionPropagation.BACKGROUND).delete();
                case "Service" -> client.services().inNamespace(ns).withName(o.name()).delete();
                case "Secret" -> client.secrets().inNamespace(ns).withName(o.name()).delete();
                case "ConfigMap" -> client.configMaps().inNamespace(ns).withName(o.name()).delete();
                default -> throw new IllegalArgumentException(o.kind());
            }
            out.println("  " + o.id(ns) + " removed" + (o.kind().equals("Secret") ? " (the database password now lives only in "
                    + stack.servicesNamespace() + "/" + o.name() + ")" : ""));
        }
    }
}
