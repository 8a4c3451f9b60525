package cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Messages;
import engine.PrivateFile;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** The cluster side: connecting, kubeconfig files, server-side apply that writes only what differs. */
public final class Kube {
    private Kube() {}

    public static final String FIELD_MANAGER = "metaflow-azure-toolkit";

    /** A cluster could not be reached or refused; the message says which and why. */
    public static final class KubeException extends RuntimeException {
        public KubeException(String message) { super(message); }
    }

    /** A client for a kubeconfig's text (context null: its current context), always on the JDK HTTP client. */
    @SuppressWarnings("removal")   // still in fabric8 7.4; its removal is the next upgrade's to handle
    public static KubernetesClient client(String kubeconfigText, String context, String source) {
        return client(kubeconfigText, context, source, null);
    }

    /** The same, signing every request with the bearer token {@code token} gives (asked again for each request; null: the kubeconfig's own credential). */
    @SuppressWarnings("removal")
    public static KubernetesClient client(String kubeconfigText, String context, String source, java.util.function.Supplier<String> token) {
        Config config;
        try {
            config = Config.fromKubeconfig(context, kubeconfigText, null);
        } catch (RuntimeException e) {
            throw new KubeException("cannot use kubeconfig " + source + (context == null ? "" : " context " + context) + ": "
                    + Messages.firstLine(e.getMessage()));
        }
        if (token != null) config.setOauthTokenProvider(token::get);
        // fabric8 7 chooses between Vert.x and the JDK client at random when both are present: pick one.
        return new KubernetesClientBuilder().withConfig(config).withHttpClientFactory(new JdkHttpClientFactory()).build();
    }

    /** Which cluster a kubeconfig points at (for messages): the server URL of the context. */
    public static String server(KubernetesClient client) {
        return client.getConfiguration().getMasterUrl();
    }

    // --- ~/.kube/config ------------------------------------------------------------------------------

    /**
     * Merges a kubeconfig's clusters, users and contexts into target as az aks get-credentials does: entries of
     * the same name are replaced, all others kept; the current context becomes the new one. Written 0600.
     */
    public static void merge(Path target, String incoming) {
        try {
            JsonNode in = Manifests.YAML.readTree(incoming);
            ObjectNode base = Files.exists(target) && Files.size(target) > 0
                    ? (ObjectNode) Manifests.YAML.readTree(Files.readString(target, StandardCharsets.UTF_8))
                    : Json.obj().put("apiVersion", "v1").put("kind", "Config");
            for (String section : List.of("clusters", "users", "contexts")) {
                ArrayNode merged = base.has(section) && base.get(section).isArray() ? (ArrayNode) base.get(section) : Json.arr();
                for (JsonNode entry : in.path(section)) {
                    String name = entry.path("name").asText();
                    for (Iterator<JsonNode> it = merged.iterator(); it.hasNext(); ) {
                        if (it.next().path("name").asText().equals(name)) it.remove();
                    }
                    merged.add(entry);
                }
                base.set(section, merged);
            }
            if (in.hasNonNull("current-context")) base.put("current-context", in.get("current-context").asText());
            if (!base.has("preferences")) base.putObject("preferences");
            PrivateFile.write(target, Manifests.YAML.writeValueAsString(base));
        } catch (IOException e) {
            throw new KubeException("cannot update " + target + ": " + e.getMessage());
        }
    }

    // --- apply -------------------------------------------------------------------------------------------

    public enum Outcome { CREATED, CONFIGURED, UNCHANGED }

    record Applied(String id, Outcome outcome) {}

    static GenericKubernetesResource generic(KubernetesClient client, JsonNode o) {
        return client.getKubernetesSerialization().convertValue(o, GenericKubernetesResource.class);
    }

    static JsonNode tree(KubernetesClient client, Object o) {
        return Json.MAPPER.valueToTree(client.getKubernetesSerialization().convertValue(o, Map.class));
    }

    /** The object as the cluster has it, or null. */
    public static JsonNode read(KubernetesClient client, JsonNode o) {
        try {
            HasMetadata current = client.resource(generic(client, o)).get();
            return current == null ? null : tree(client, current);
        } catch (KubernetesClientException e) {
            if (e.getCode() == 404) return null;
            throw e;
        }
    }

    /**
     * Applies each object (already ordered) with server-side apply under one field manager, but only when the
     * cluster's copy differs from it: an unchanged re-run sends reads only, so nothing restarts.
     * CustomResourceDefinitions are waited for until established, so their custom resources can follow.
     */
    public static List<Applied> apply(KubernetesClient client, List<ObjectNode> objects, PrintStream out, long crdTimeoutMillis) {
        List<Applied> done = new ArrayList<>();
        for (ObjectNode o : objects) {
            String id = Manifests.id(o);
            JsonNode current = read(client, o);
            Outcome outcome;
            if (current != null && contains(current, o)) {
                outcome = Outcome.UNCHANGED;
            } else {
                try {
                    client.resource(generic(client, o)).fieldManager(FIELD_MANAGER).forceConflicts().serverSideApply();
                } catch (KubernetesClientException e) {
                    throw new KubeException("applying " + id + " failed: HTTP " + e.getCode() + " " + Messages.firstLine(e.getMessage()));
                }
                outcome = current == null ? Outcome.CREATED : Outcome.CONFIGURED;
            }
            if (outcome != Outcome.UNCHANGED) out.println("  " + id + " " + outcome.name().toLowerCase());
            if (o.path("kind").asText().equals("CustomResourceDefinition")) awaitEstablished(client, o, crdTimeoutMillis);
            done.add(new Applied(id, outcome));
        }
        return done;
    }

    static void awaitEstablished(KubernetesClient client, JsonNode crd, long timeoutMillis) {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        while (true) {
            JsonNode now = read(client, crd);
            if (now != null) {
                for (JsonNode c : now.path("status").path("conditions")) {
                    if (c.path("type").asText().equals("Established") && c.path("status").asText().equals("True")) return;
                }
            }
            if (System.currentTimeMillis() > deadline) {
                throw new KubeException("CustomResourceDefinition " + crd.path("metadata").path("name").asText()
                        + " was not established within " + timeoutMillis / 1000 + " s");
            }
            sleep(250);
        }
    }

    /**
     * Whether actual already holds everything desired says (fields the server adds are ignored; lists compare
     * element by element). A Secret's values compare as the bytes they stand for: the server keeps {@code stringData}
     * in {@code data} and returns {@code data} base64-encoded in its own canonical form, so two encodings of the same
     * bytes (padding, line breaks) are the same value.
     */
    public static boolean contains(JsonNode actual, JsonNode desired) {
        if (desired != null && desired.path("kind").asText().equals("Secret") && actual != null && (desired.has("data") || desired.has("stringData"))) {
            ObjectNode rest = ((ObjectNode) desired).deepCopy();
            rest.remove("data");
            rest.remove("stringData");
            if (!contains(actual, rest)) return false;
            java.util.Map<String, String> want = new java.util.TreeMap<>();
            desired.path("data").fields().forEachRemaining(e -> want.put(e.getKey(), decoded(e.getValue().asText())));
            desired.path("stringData").fields().forEachRemaining(e -> want.put(e.getKey(), e.getValue().asText()));
            for (var e : want.entrySet()) {
                JsonNode have = actual.path("data").get(e.getKey());
                if (have == null || !e.getValue().equals(decoded(have.asText()))) return false;
            }
            return true;
        }
        if (desired == null || desired.isNull()) return true;
        if (actual == null || actual.isNull() || actual.isMissingNode()) {
            return desired.isObject() && desired.isEmpty() || desired.isArray() && desired.isEmpty();
        }
        if (desired.isObject()) {
            if (!actual.isObject()) return false;
            for (var it = desired.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!contains(actual.get(e.getKey()), e.getValue())) return false;
            }
            return true;
        }
        if (desired.isArray()) {
            if (!actual.isArray() || actual.size() != desired.size()) return false;
            for (int i = 0; i < desired.size(); i++) if (!contains(actual.get(i), desired.get(i))) return false;
            return true;
        }
        return desired.asText().equals(actual.asText());
    }

    /** A Secret value's bytes (as ISO-8859-1 text, so any bytes compare), or the text itself when it is not base64. */
    static String decoded(String base64) {
        try {
            return new String(java.util.Base64.getMimeDecoder().decode(base64), java.nio.charset.StandardCharsets.ISO_8859_1);
        } catch (IllegalArgumentException e) {
            return "\u0000not base64:" + base64;
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KubeException("interrupted");
        }
    }
}
