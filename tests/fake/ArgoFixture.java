package fake;

import cluster.Pins;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A small stand-in for the Argo Workflows and Argo Events release manifests, in the file names
 * {@code services.java --argo-manifests DIR} reads: CRDs, controllers at the pinned tags, the argo-server Service, and
 * the Workflows controller's ConfigMap as the release ships it (no data: argoproj/argo-workflows v4.1.2
 * manifests/base/workflow-controller/workflow-controller-configmap.yaml), the Argo Events controller's ConfigMap in the layout of the real install.yaml (our own minimal text, same structure).
 */
public final class ArgoFixture {
    private ArgoFixture() {}

    /** A CustomResourceDefinition of argoproj.io, namespaced, schema left open. */
    public static String crd(String plural, String kind) {
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

    public static final String WORKFLOWS = crd("workflows", "Workflow") + """
            apiVersion: v1
            kind: ServiceAccount
            metadata:
              name: argo
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: workflow-controller-configmap
            ---
            """ + deployment("workflow-controller", null, "quay.io/argoproj/workflow-controller:" + Pins.ARGO_WORKFLOWS)
            + deployment("argo-server", null, "quay.io/argoproj/argocli:" + Pins.ARGO_WORKFLOWS) + """
            apiVersion: v1
            kind: Service
            metadata:
              name: argo-server
            spec:
              selector: {app: argo-server}
              ports: [{port: 2746, targetPort: 2746}]
            """;

    /** The JetStream versions argoproj/argo-events v1.9.6 lists (manifests/install.yaml, ConfigMap argo-events-controller-config). */
    public static final List<String> JETSTREAM_V1_9_6 = List.of("latest", "2.8.1", "2.8.1-alpine", "2.8.2", "2.8.2-alpine", "2.9.1",
            "2.9.12", "2.9.16", "2.10.10");
    /** ... and v1.9.11 (2.10.29 replaced 2.10.10 in v1.9.10). */
    public static final List<String> JETSTREAM_V1_9_11 = List.of("latest", "2.8.1", "2.8.1-alpine", "2.8.2", "2.8.2-alpine", "2.9.1",
            "2.9.12", "2.9.16", "2.10.29");

    /**
     * The controller's ConfigMap: one key, controller-config.yaml, whose YAML has eventBus.nats.versions and
     * eventBus.jetstream.{settings, streamConfig, versions}; each JetStream entry names a version and its images.
     */
    static String controllerConfig(List<String> jetstream) {
        StringBuilder versions = new StringBuilder();
        for (String v : jetstream) {
            String image = v.equals("latest") ? jetstream.get(jetstream.size() - 1) : v;
            versions.append("        - version: " + v + "\n"
                    + "          natsImage: nats:" + image + "\n"
                    + "          metricsExporterImage: natsio/prometheus-nats-exporter:0.14.0\n"
                    + "          configReloaderImage: natsio/nats-server-config-reloader:0.14.0\n"
                    + "          startCommand: %s\n".formatted(v.endsWith("-alpine") ? "nats-server" : "/nats-server"));
        }
        return """
                apiVersion: v1
                kind: ConfigMap
                metadata:
                  name: argo-events-controller-config
                  namespace: argo-events
                data:
                  controller-config.yaml: |
                    eventBus:
                      nats:
                        versions:
                        - version: 0.22.1
                          natsStreamingImage: nats-streaming:0.22.1
                          metricsExporterImage: natsio/prometheus-nats-exporter:0.8.0
                      jetstream:
                        settings: |
                          max_memory_store: -1
                          max_file_store: 1TB
                        streamConfig: |
                          maxMsgs: 50000
                          replicas: 3
                        versions:
                """ + versions + "---\n";
    }

    /** An Argo Events install manifest of release tag, whose controller accepts the given JetStream versions. */
    public static String events(String tag, List<String> jetstream) {
        return crd("eventbus", "EventBus") + crd("eventsources", "EventSource") + crd("sensors", "Sensor") + controllerConfig(jetstream)
                + deployment("controller-manager", "argo-events", "quay.io/argoproj/argo-events:" + tag);
    }

    /** Shaped like the pinned release (v1.9.11). */
    static final String EVENTS = events(Pins.ARGO_EVENTS, JETSTREAM_V1_9_11);

    /** Writes both install files into {@code dir} (created if needed) and returns it. */
    public static Path writeTo(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("argo-workflows-install.yaml"), WORKFLOWS);
        Files.writeString(dir.resolve("argo-events-install.yaml"), EVENTS);
        return dir;
    }

    /** Replaces the Argo Events install file in dir. */
    public static Path writeEvents(Path dir, String text) throws IOException {
        Files.writeString(dir.resolve("argo-events-install.yaml"), text);
        return dir;
    }
}
