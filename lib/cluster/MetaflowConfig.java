package cluster;

import azure.Clouds;
import azure.LocalFiles;
import azure.Pools;
import azure.Registry;
import azure.Stack;
import azure.StackFacts;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.PrivateFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The Metaflow client configuration handed to data scientists: ~/.metaflowconfig/config_<profile>.json. */
final class MetaflowConfig {
    private MetaflowConfig() {}

    /** The node label AKS puts on every node of a pool, valued with the pool's name (Azure/AgentBaker GetKubeletNodeLabels). */
    public static final String AKS_POOL_LABEL = "agentpool";

    /** The events webhook as pods reach it, through its Service. */
    public static String internalWebhookUrl(Stack s) {
        return "http://" + Catalog.WEBHOOK.service() + "." + Catalog.WEBHOOK.namespace(s) + ":" + Catalog.WEBHOOK.port() + Catalog.WEBHOOK_PATH;
    }

    /**
     * Every key of the client config for this stack, identity mode and Argo choice. Local URLs are those of
     * {@code services.java forward --port-offset portOffset}; with pools (the stack's AKS, not a cluster of the user's),
     * task pods are placed on the stack's task pools (see {@link Pools}).
     * s null: a cluster of the user's without a stack (the names every stack uses in the cluster; no task pools).
     */
    public static ObjectNode of(Stack s, StackFacts f, boolean argo, int portOffset, Pools.Facts pools) {
        String ns = Catalog.Home.METAFLOW.in(s);
        ObjectNode c = Json.obj();
        c.put("METAFLOW_DEFAULT_DATASTORE", "azure");
        c.put("METAFLOW_DATASTORE_SYSROOT_AZURE", f.sysroot());
        c.put("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", f.blobEndpoint());
        c.put("METAFLOW_DEFAULT_METADATA", "service");
        c.put("METAFLOW_SERVICE_URL", serviceUrl(portOffset));
        // The alias in the flows' namespace (an ExternalName of the Service in the services'): the name every WorkflowTemplate
        // deployed before the move carries, so that old and new templates alike depend on one name, which therefore stays.
        c.put("METAFLOW_SERVICE_INTERNAL_URL", "http://" + Catalog.METADATA.service() + "." + ns + ":" + Catalog.METADATA.port() + "/");
        c.put("METAFLOW_KUBERNETES_NAMESPACE", ns);
        c.put("METAFLOW_KUBERNETES_SERVICE_ACCOUNT", Catalog.serviceAccount(s));
        if (f.servicePrincipal()) {
            c.put("METAFLOW_KUBERNETES_SECRETS", ServiceObjects.AZURE_SECRET);
        } else {
            c.put("METAFLOW_KUBERNETES_LABELS", "azure.workload.identity/use=true");
        }
        // Metaflow reads it as comma-separated key=value pairs (or a @kubernetes(node_selector=...) per step overrides it).
        // The task label is on the task pool and the GPU pool alike; the GPU pool's taint keeps CPU steps off it. A stack
        // whose pool predates the label keeps the old selector until provision.java labels it.
        if (pools != null) {
            c.put("METAFLOW_KUBERNETES_NODE_SELECTOR", pools.taskLabel() ? Pools.TASK_LABEL + "=" + Pools.TASK_LABEL_VALUE
                    : AKS_POOL_LABEL + "=" + s.workerPool());
            // A JSON list of V1Toleration keyword arguments (Metaflow builds client.V1Toleration(**t) from each; Argo takes them as is).
            if (pools.spot()) c.put("METAFLOW_KUBERNETES_TOLERATIONS", Json.write(Json.arr().add(Json.obj().put("key", Pools.SPOT_KEY)
                    .put("operator", "Equal").put("value", "spot").put("effect", "NoSchedule"))));
        }
        // Metaflow puts this in front of every image named without a registry, its default python:X.Y included, so a step
        // without an image runs the stack's task image for the laptop's Python (Registry). No ..._CONTAINER_IMAGE: it would
        // be one image for every Python version. Only on the stack's AKS (pools): its kubelet identity has AcrPull, a
        // cluster of the user's has not.
        if (pools != null && f.registryLogin() != null) {
            c.put("METAFLOW_KUBERNETES_CONTAINER_REGISTRY", Registry.metaflowRegistry(f.registryLogin()));
        }
        if (argo) {
            c.put("METAFLOW_ARGO_EVENTS_EVENT_BUS", Catalog.EVENT_BUS);
            c.put("METAFLOW_ARGO_EVENTS_EVENT_SOURCE", Catalog.EVENT_SOURCE);
            c.put("METAFLOW_ARGO_EVENTS_EVENT", "metaflow-event");
            c.put("METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT", "operate-workflow-sa");
            // Where publish() runs: on the laptop through forward; Metaflow hands pods the internal one instead.
            c.put("METAFLOW_ARGO_EVENTS_WEBHOOK_URL", webhookUrl(portOffset));
            c.put("METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL", internalWebhookUrl(s));
            c.put("METAFLOW_ARGO_WORKFLOWS_USE_SCHEDULES", "true");
            // The exit hook and the heartbeat daemon get these Secrets but not the datastore variables (ServiceObjects.datastoreSecret).
            c.put("METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS", ServiceObjects.DATASTORE_SECRET);
        }
        return c;
    }

    /**
     * The registry's login server a config names (METAFLOW_KUBERNETES_CONTAINER_REGISTRY is {@code <login>/metaflow}); null
     * without the key (a stack without a registry, a cluster of the user's).
     */
    static String registryLogin(JsonNode config) {
        String r = Clouds.trimSlash(config.path("METAFLOW_KUBERNETES_CONTAINER_REGISTRY").asText(""));
        String tail = "/" + Registry.METAFLOW_NAMESPACE;
        return r.endsWith(tail) && r.length() > tail.length() ? r.substring(0, r.length() - tail.length()) : null;
    }

    /** The metadata service as this machine reaches it, through services.java forward --port-offset portOffset. */
    static String serviceUrl(int portOffset) {
        return "http://127.0.0.1:" + (Catalog.METADATA.port() + portOffset) + "/";
    }

    /** The events webhook as this machine reaches it (where publish() runs), through forward. */
    static String webhookUrl(int portOffset) {
        return "http://127.0.0.1:" + (Catalog.WEBHOOK.port() + portOffset) + Catalog.WEBHOOK_PATH;
    }

    /** A config made for port offset 0 (the published one) with this machine's offset: the local URLs only, in place. */
    public static ObjectNode withPortOffset(ObjectNode config, int portOffset) {
        ObjectNode c = config.deepCopy();
        if (c.has("METAFLOW_SERVICE_URL")) c.put("METAFLOW_SERVICE_URL", serviceUrl(portOffset));
        if (c.has("METAFLOW_ARGO_EVENTS_WEBHOOK_URL")) c.put("METAFLOW_ARGO_EVENTS_WEBHOOK_URL", webhookUrl(portOffset));
        return c;
    }

    /** The profile's file in the Metaflow config directory ($METAFLOW_HOME or ~/.metaflowconfig, see LocalFiles). */
    public static Path path(Path metaflowHome, String profile) {
        return metaflowHome.resolve("config_" + profile + ".json");
    }

    enum Written { CREATED, UPDATED, UNCHANGED, KEPT }

    /**
     * Writes the file (0600) and, next to it, the SHA-256 of the bytes written and the stack's name (the LocalFiles
     * convention); an existing different file is kept unless force (its digest is then left alone, so teardown keeps it too).
     */
    public static Written write(Path file, JsonNode config, boolean force, Stack stack) {
        try {
            String text = Json.write(config) + "\n";
            if (Files.exists(file)) {
                JsonNode existing;
                try {
                    existing = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
                } catch (IllegalStateException notJson) {
                    existing = null;
                }
                if (config.equals(existing)) {
                    // Same settings; the digest vouches only for the exact bytes this toolkit writes.
                    if (Files.readString(file, StandardCharsets.UTF_8).equals(text)) LocalFiles.recordWritten(file, stack);
                    return Written.UNCHANGED;
                }
                if (!force) return Written.KEPT;
                PrivateFile.write(file, text);
                LocalFiles.recordWritten(file, stack);
                return Written.UPDATED;
            }
            PrivateFile.write(file, text);
            LocalFiles.recordWritten(file, stack);
            return Written.CREATED;
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new Kube.KubeException("cannot write " + file + ": " + e.getMessage());
        }
    }
}
