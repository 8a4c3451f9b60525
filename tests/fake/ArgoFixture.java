import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A small stand-in for the Argo Workflows and Argo Events release manifests, in the file names
 * {@code services.java --argo-manifests DIR} reads: CRDs, controllers at the pinned tags, the argo-server Service.
 */
public final class ArgoFixture {
    private ArgoFixture() {}

    /** A CustomResourceDefinition of argoproj.io, namespaced, schema left open. */
    static String crd(String plural, String kind) {
        return """
                apiVersion: apiextensions.k8s.io/v1
                kind: CustomResourceDefinition
                metadata:
                  name: %s.argoproj.io
                spec:
                  group: argoproj.io
                  names: {kind: %s, listKind: %sList, plural: %s, singular: %s}
                  scope: Namespaced
                  versions:
                  - name: v1alpha1
                    served: true
                    storage: true
                    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
                ---
                """.formatted(plural, kind, kind, plural, kind.toLowerCase());
    }

    /** A one-container Deployment labelled app=name (namespace as the release manifest gives it, or none). */
    static String deployment(String name, String namespace, String image) {
        return """
                apiVersion: apps/v1
                kind: Deployment
                metadata:
                  name: %s
                %sspec:
                  selector: {matchLabels: {app: %s}}
                  template:
                    metadata: {labels: {app: %s}}
                    spec:
                      containers:
                      - name: %s
                        image: %s
                ---
                """.formatted(name, namespace == null ? "" : "  namespace: " + namespace + "\n", name, name, name, image);
    }

    static final String WORKFLOWS = crd("workflows", "Workflow") + """
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: argo
            ---
            """ + deployment("workflow-controller", null, "quay.io/argoproj/workflow-controller:v4.1.0")
            + deployment("argo-server", null, "quay.io/argoproj/argocli:v4.1.0") + """
            apiVersion: v1
            kind: Service
            metadata:
              name: argo-server
            spec:
              selector: {app: argo-server}
              ports: [{port: 2746, targetPort: 2746}]
            """;

    static final String EVENTS = crd("eventbus", "EventBus") + crd("eventsources", "EventSource") + crd("sensors", "Sensor")
            + deployment("controller-manager", "argo-events", "quay.io/argoproj/argo-events:v1.9.6");

    /** Writes both install files into {@code dir} (created if needed) and returns it. */
    public static Path writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("argo-workflows-install.yaml"), WORKFLOWS);
        Files.writeString(dir.resolve("argo-events-install.yaml"), EVENTS);
        return dir;
    }
}
