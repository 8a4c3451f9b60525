package cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import engine.Messages;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The Kubernetes objects the toolkit applies: templates with ${NAME} placeholders, rendered, checked and ordered. */
public final class Manifests {
    private Manifests() {}

    public static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS));

    /** The bundled template files, in the order they are listed (the order is re-derived from kinds anyway). */
    public static final List<String> BUNDLED = List.of("00-namespaces.yaml", "05-argo-namespaces.yaml", "10-service-account.yaml",
            "15-db-config.yaml", "20-metadata-service.yaml", "30-ui-backend.yaml", "40-ui.yaml", "45-gateway.yaml", "50-argo-metaflow.yaml");

    /** A template file: its name and text. Files whose name holds "-argo-" are applied only with Argo. */
    public record Template(String name, String text) {
        public boolean argo() { return name.contains("-argo-"); }
    }

    /** A template or document that is not what it must be; the message names the file and the problem. */
    public static final class ManifestException extends RuntimeException {
        public ManifestException(String message) { super(message); }
    }

    /** Templates from a directory (every *.yaml / *.yml, by name), or the bundled ones when dir is null. */
    public static List<Template> templates(Path dir) {
        List<Template> out = new ArrayList<>();
        if (dir != null) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : files.filter(f -> f.toString().endsWith(".yaml") || f.toString().endsWith(".yml")).sorted().toList()) {
                    out.add(new Template(p.getFileName().toString(), Files.readString(p, StandardCharsets.UTF_8)));
                }
            } catch (IOException e) {
                throw new ManifestException("cannot read manifests from " + dir + ": " + e.getMessage());
            }
            if (out.isEmpty()) throw new ManifestException(dir + " holds no *.yaml manifests");
            return out;
        }
        Path repo = Path.of("manifests");
        for (String name : BUNDLED) {
            // Bundled into the jar by //FILES; from a checkout, the repository's directory works too.
            try (InputStream in = Manifests.class.getClassLoader().getResourceAsStream("manifests/" + name)) {
                if (in != null) {
                    out.add(new Template(name, new String(in.readAllBytes(), StandardCharsets.UTF_8)));
                } else if (Files.exists(repo.resolve(name))) {
                    out.add(new Template(name, Files.readString(repo.resolve(name), StandardCharsets.UTF_8)));
                } else {
                    throw new ManifestException("bundled manifest " + name + " is missing from this build");
                }
            } catch (IOException e) {
                throw new ManifestException("cannot read bundled manifest " + name + ": " + e.getMessage());
            }
        }
        return out;
    }

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z0-9_]+)}");

    /** Fills every ${NAME}; a name without a value (or with an empty one) is an error naming it, never an empty string. */
    public static String fill(Template t, Map<String, String> values) {
        Matcher m = PLACEHOLDER.matcher(t.text());
        StringBuilder sb = new StringBuilder();
        Set<String> missing = new TreeSet<>();
        while (m.find()) {
            String v = values.get(m.group(1));
            if (v == null || v.isEmpty()) {
                missing.add(m.group(1));
                v = "";
            }
            m.appendReplacement(sb, Matcher.quoteReplacement(v));
        }
        m.appendTail(sb);
        if (!missing.isEmpty()) {
            throw new ManifestException(t.name() + ": no value for placeholder " + String.join(", ", missing.stream().map(n -> "${" + n + "}").toList())
                    + " (known: " + String.join(", ", new TreeSet<>(values.keySet())) + ")");
        }
        return sb.toString();
    }

    /** The documents of a multi-document YAML text, each checked to be a well-formed Kubernetes object. */
    public static List<ObjectNode> parse(String source, String yaml) {
        List<ObjectNode> out = new ArrayList<>();
        try (var parser = YAML.getFactory().createParser(yaml)) {
            var it = YAML.readValues(parser, JsonNode.class);
            while (it.hasNext()) {
                JsonNode doc = it.next();
                if (doc == null || doc.isNull() || doc.isMissingNode() || doc.isEmpty()) continue;
                if (!doc.isObject()) throw new ManifestException(source + ": a document is not a mapping");
                out.add(check(source, (ObjectNode) doc));
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ManifestException me) throw me;
            throw new ManifestException(source + ": not valid YAML: " + Messages.firstLine(e.getMessage()));
        }
        return out;
    }

    static ObjectNode check(String source, ObjectNode o) {
        for (String field : List.of("apiVersion", "kind")) {
            if (o.path(field).asText("").isEmpty()) throw new ManifestException(source + ": a document has no " + field);
        }
        if (o.path("metadata").path("name").asText("").isEmpty()) {
            throw new ManifestException(source + ": a " + o.path("kind").asText() + " has no metadata.name");
        }
        return o;
    }

    /** Renders the templates with the values: every object, Argo's included or not. */
    public static List<ObjectNode> render(List<Template> templates, Map<String, String> values, boolean argo) {
        List<ObjectNode> out = new ArrayList<>();
        for (Template t : templates) {
            if (t.argo() && !argo) continue;
            out.addAll(parse(t.name(), fill(t, values)));
        }
        annotateConfigHashes(out);
        return out;
    }

    public static final String CONFIG_HASH = "metaflow-azure-toolkit/config-hash";

    /**
     * Marks each Deployment's pod template with a hash of the ConfigMaps among the objects that its pods mount. A process
     * reads a mounted script once at start, so a changed ConfigMap alone would leave the running pods on the old one; a
     * changed hash changes the template, and the Deployment rolls.
     */
    static void annotateConfigHashes(List<ObjectNode> objects) {
        for (ObjectNode d : objects) {
            if (!d.path("kind").asText().equals("Deployment")) continue;
            String ns = d.path("metadata").path("namespace").asText();
            StringBuilder mounted = new StringBuilder();
            for (JsonNode v : d.path("spec").path("template").path("spec").path("volumes")) {
                String name = v.path("configMap").path("name").asText("");
                if (name.isEmpty()) continue;
                objects.stream().filter(o -> o.path("kind").asText().equals("ConfigMap") && o.path("metadata").path("name").asText().equals(name)
                                && o.path("metadata").path("namespace").asText().equals(ns))
                        .forEach(cm -> mounted.append(name).append('\n').append(cm.path("data").toString()).append('\n'));
            }
            if (mounted.length() == 0) continue;
            try {
                byte[] sum = java.security.MessageDigest.getInstance("SHA-256").digest(mounted.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                ((ObjectNode) d.path("spec").path("template")).with("metadata").with("annotations")
                        .put(CONFIG_HASH, java.util.HexFormat.of().formatHex(sum, 0, 8));
            } catch (java.security.NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    static final Set<String> CLUSTER_SCOPED = Set.of("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
            "PriorityClass", "StorageClass", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService");

    public static boolean namespaced(JsonNode o) {
        return !CLUSTER_SCOPED.contains(o.path("kind").asText());
    }

    /** Apply order: definitions and namespaces first, then what pods need, then workloads, then custom resources. */
    static int rank(JsonNode o) {
        return switch (o.path("kind").asText()) {
            case "CustomResourceDefinition" -> 0;
            case "Namespace" -> 1;
            case "PriorityClass", "ServiceAccount", "ClusterRole", "Role", "ConfigMap", "Secret" -> 2;
            case "ClusterRoleBinding", "RoleBinding" -> 3;
            case "Service" -> 4;
            case "Deployment", "StatefulSet", "DaemonSet", "Job" -> 5;
            default -> o.path("apiVersion").asText().contains(".") && !o.path("apiVersion").asText().contains("k8s.io") ? 7 : 6;
        };
    }

    public static List<ObjectNode> ordered(List<ObjectNode> objects) {
        List<ObjectNode> out = new ArrayList<>(objects);
        out.sort(Comparator.comparingInt(Manifests::rank));
        return out;
    }

    /** Checks that each Service selects the pods of some Deployment among the objects (the baseline's UI Service selected none). */
    public static void checkSelectors(List<ObjectNode> objects) {
        for (ObjectNode svc : objects) {
            if (!svc.path("kind").asText().equals("Service") || !svc.path("spec").has("selector")) continue;
            JsonNode selector = svc.path("spec").path("selector");
            String ns = svc.path("metadata").path("namespace").asText();
            boolean matched = objects.stream().filter(o -> o.path("kind").asText().equals("Deployment")
                            && o.path("metadata").path("namespace").asText().equals(ns))
                    .anyMatch(d -> matches(selector, d.path("spec").path("template").path("metadata").path("labels")));
            boolean argoOwned = svc.path("metadata").path("namespace").asText().startsWith("argo");
            if (!matched && !argoOwned) {
                throw new ManifestException("Service " + ns + "/" + svc.path("metadata").path("name").asText()
                        + " selects " + selector + ", which no Deployment's pods carry");
            }
        }
    }

    public static boolean matches(JsonNode selector, JsonNode labels) {
        for (var it = selector.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) return false;
        }
        return true;
    }

    /** Multi-document YAML of the objects. */
    public static String toYaml(List<? extends JsonNode> objects) {
        StringBuilder sb = new StringBuilder();
        for (JsonNode o : objects) {
            try {
                sb.append("---\n").append(YAML.writeValueAsString(o));
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return sb.toString();
    }

    public static String id(JsonNode o) {
        String ns = o.path("metadata").path("namespace").asText("");
        return o.path("kind").asText() + " " + (ns.isEmpty() ? "" : ns + "/") + o.path("metadata").path("name").asText();
    }
}
