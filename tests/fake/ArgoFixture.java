import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A small stand-in for the Argo Workflows and Argo Events release manifests, in the file names
 * {@code services.java --argo-manifests DIR} reads: CRDs, controllers at the pinned tags, the argo-server Service.
 */
public final class ArgoFixture {
    private ArgoFixture() {}

    static final String WORKFLOWS = """
            apiVersion: apiextensions.k8s.io/v1
            kind: CustomResourceDefinition
            metadata:
              name: workflows.argoproj.io
            spec:
              group: argoproj.io
              names: {kind: Workflow, listKind: WorkflowList, plural: workflows, singular: workflow}
              scope: Namespaced
              versions:
              - name: v1alpha1
                served: true
                storage: true
                schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
            ---
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: argo
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: workflow-controller
            spec:
              selector: {matchLabels: {app: workflow-controller}}
              template:
                metadata: {labels: {app: workflow-controller}}
                spec:
                  containers:
                  - name: workflow-controller
                    image: quay.io/argoproj/workflow-controller:v4.1.0
            ---
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: argo-server
            spec:
              selector: {matchLabels: {app: argo-server}}
              template:
                metadata: {labels: {app: argo-server}}
                spec:
                  containers:
                  - name: argo-server
                    image: quay.io/argoproj/argocli:v4.1.0
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: argo-server
            spec:
              selector: {app: argo-server}
              ports: [{port: 2746, targetPort: 2746}]
            """;

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

    static final String EVENTS = crd("eventbus", "EventBus") + crd("eventsources", "EventSource") + crd("sensors", "Sensor") + """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: controller-manager
              namespace: argo-events
            spec:
              selector: {matchLabels: {app: controller-manager}}
              template:
                metadata: {labels: {app: controller-manager}}
                spec:
                  containers:
                  - name: controller-manager
                    image: quay.io/argoproj/argo-events:v1.9.6
            """;

    /** Writes both install files into {@code dir} (created if needed) and returns it. */
    public static Path writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("argo-workflows-install.yaml"), WORKFLOWS);
        Files.writeString(dir.resolve("argo-events-install.yaml"), EVENTS);
        return dir;
    }
}
