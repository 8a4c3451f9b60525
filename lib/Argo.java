import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Argo Workflows and Argo Events from their official release manifests, pinned and checked before use. */
public final class Argo {
    private Argo() {}

    public static final String WORKFLOWS_VERSION = "v4.1.0";
    public static final String EVENTS_VERSION = "v1.9.6";
    public static final String JETSTREAM_VERSION = "2.10.29";
    public static final String RELEASES = "https://github.com/argoproj";
    public static final String WORKFLOWS_NAMESPACE = "argo";

    /** One release: which project, the tag, and the namespace its namespaced objects go to. */
    public record Release(String project, String version, String namespace) {
        public String fileName() { return project + "-install.yaml"; }
        public String url(String base) { return Clouds.trimSlash(base) + "/" + project + "/releases/download/" + version + "/install.yaml"; }
    }

    /** Kinds a release manifest may hold; anything else is refused. */
    static final Set<String> KINDS = Set.of("CustomResourceDefinition", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
            "ClusterRoleBinding", "ConfigMap", "Secret", "Service", "Deployment", "PriorityClass");

    /** The release's text: from DIR/<project>-install.yaml when dir is given, else downloaded from base. */
    public static String fetch(Release r, String base, Path dir) {
        if (dir != null) {
            Path f = dir.resolve(r.fileName());
            try {
                return Files.readString(f, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new Manifests.ManifestException("cannot read " + f + " (--argo-manifests expects " + r.fileName()
                        + ", the " + r.version() + " release's install.yaml): " + e.getMessage());
            }
        }
        String url = r.url(base);
        try {
            HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(20)).build();
            HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (resp.statusCode() != 200) {
                throw new Manifests.ManifestException("downloading " + url + " answered HTTP " + resp.statusCode()
                        + " (is " + r.version() + " a release of " + r.project() + "?)");
            }
            return resp.body();
        } catch (IOException e) {
            throw new Manifests.ManifestException("cannot download " + url + ": " + e + "; without internet access, save it as "
                    + r.fileName() + " in a directory and pass --argo-manifests DIR");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Manifests.ManifestException("interrupted while downloading " + url);
        }
    }

    /** Parses and checks a release: only expected kinds, every argoproj image at the pinned tag; fills in namespaces. */
    public static List<ObjectNode> objects(Release r, String text) {
        List<ObjectNode> out = new ArrayList<>();
        for (ObjectNode o : Manifests.parse(r.fileName(), text)) {
            String kind = o.path("kind").asText();
            if (!KINDS.contains(kind)) {
                throw new Manifests.ManifestException(r.fileName() + ": unexpected " + Manifests.id(o) + " in the " + r.project()
                        + " " + r.version() + " release manifest; refusing to apply it");
            }
            List<String> images = new ArrayList<>();
            collectImages(o, images);
            for (String image : images) {
                if (image.startsWith("quay.io/argoproj/") && !image.endsWith(":" + r.version())) {
                    throw new Manifests.ManifestException(r.fileName() + ": " + Manifests.id(o) + " uses image " + image
                            + ", not the pinned " + r.version() + "; the manifest is not the " + r.project() + " " + r.version() + " release");
                }
            }
            if (Manifests.namespaced(o) && o.path("metadata").path("namespace").asText("").isEmpty()) {
                ((ObjectNode) o.get("metadata")).put("namespace", r.namespace());
            }
            out.add(o);
        }
        if (out.stream().noneMatch(o -> o.path("kind").asText().equals("Deployment"))) {
            throw new Manifests.ManifestException(r.fileName() + ": holds no Deployment; not an " + r.project() + " install manifest");
        }
        return out;
    }

    static void collectImages(JsonNode n, List<String> out) {
        if (n.isObject()) {
            for (var it = n.fields(); it.hasNext(); ) {
                var e = it.next();
                if (e.getKey().equals("image") && e.getValue().isTextual()) out.add(e.getValue().asText());
                else collectImages(e.getValue(), out);
            }
        } else if (n.isArray()) {
            for (JsonNode c : n) collectImages(c, out);
        }
    }
}
