package cluster;

import azure.Clouds;
import azure.Stack;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Messages;
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
import java.util.Map;
import java.util.Set;

/** Argo Workflows and Argo Events from their official release manifests, pinned and checked before use. */
public final class Argo {
    private Argo() {}

    public static final String RELEASES = "https://github.com/argoproj";
    public static final String WORKFLOWS_NAMESPACE = "argo";
    /** Where the Argo Events release manifest puts its controller (and Stack.argoEventsNamespace() says the same). */
    public static final String EVENTS_NAMESPACE = "argo-events";
    public static final String EVENTS_PROJECT = "argo-events";
    /** The Argo Events controller's ConfigMap, and its key holding the controller's YAML configuration. */
    public static final String EVENTS_CONFIG_MAP = "argo-events-controller-config";
    public static final String EVENTS_CONFIG_KEY = "controller-config.yaml";

    /** The Argo Workflows controller's ConfigMap (in its namespace) and the key of its defaults for every Workflow. */
    public static final String WORKFLOWS_CONFIG_MAP = "workflow-controller-configmap";
    public static final String WORKFLOW_DEFAULTS_KEY = "workflowDefaults";

    /**
     * The controller's workflowDefaults for the pods Metaflow's Argo plugin makes without the task labels and node
     * selector (the error-capture exit hook, the heartbeat daemon, lifecycle hooks): the task labels (the workload-identity
     * label) as workflow-level podMetadata, and the task node selector as the workflow-level nodeSelector. Both come from
     * the client config, so that unlabelled pods follow whatever task pods get by default. How they reach a pod
     * (argoproj/argo-workflows v4.1.2): workflow/util/merge.go MergeTo joins the defaults under the Workflow by strategic
     * merge, the Workflow winning (podMetadata.labels is a map: Metaflow's own run labels are kept beside ours);
     * workflow/controller/workflowpod.go addMetadata copies workflow-level podMetadata, then the template's; and
     * addSchedulingConstraints takes the template's nodeSelector if it has one, else the workflow's, so step pods keep
     * theirs (a GPU pool's, say). No serviceAccountName: the defaults hold for every namespace the controller watches,
     * and every template of Metaflow's that makes a pod names the task account itself. Null when there is nothing to add.
     */
    public static ObjectNode workflowDefaults(Map<String, String> taskLabels, Map<String, String> nodeSelector) {
        if (taskLabels.isEmpty() && nodeSelector.isEmpty()) return null;
        ObjectNode wf = Json.obj();
        ObjectNode spec = wf.putObject("spec");
        if (!taskLabels.isEmpty()) {
            ObjectNode l = spec.putObject("podMetadata").putObject("labels");
            taskLabels.forEach(l::put);
        }
        if (!nodeSelector.isEmpty()) {
            ObjectNode ns = spec.putObject("nodeSelector");
            nodeSelector.forEach(ns::put);
        }
        return wf;
    }

    /**
     * The controller's ConfigMap with the workflow defaults under their own key (the controller reads each key of the
     * ConfigMap as a top-level field of its configuration: config/controller.go parseConfigMap). Taken from the release
     * (it ships the ConfigMap empty) or made; applied server-side, so keys someone else set stay theirs.
     */
    static ObjectNode withWorkflowDefaults(List<ObjectNode> objects, ObjectNode defaults) {
        ObjectNode cm = objects.stream().filter(o -> o.path("kind").asText().equals("ConfigMap")
                && o.path("metadata").path("name").asText().equals(WORKFLOWS_CONFIG_MAP)).findFirst().orElse(null);
        if (cm == null) {
            cm = Json.obj().put("apiVersion", "v1").put("kind", "ConfigMap");
            cm.putObject("metadata").put("name", WORKFLOWS_CONFIG_MAP).put("namespace", WORKFLOWS_NAMESPACE);
            objects.add(cm);
        }
        ObjectNode data = cm.has("data") && cm.get("data").isObject() ? (ObjectNode) cm.get("data") : cm.putObject("data");
        try {
            data.put(WORKFLOW_DEFAULTS_KEY, Manifests.YAML.writeValueAsString(defaults));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return cm;
    }

    /** One release: which project, the tag, and the namespace its namespaced objects go to. */
    record Release(String project, String version, String namespace) {
        public String fileName() { return project + "-install.yaml"; }
        public String url(String base) { return Clouds.trimSlash(base) + "/" + project + "/releases/download/" + version + "/install.yaml"; }
    }

    /** Kinds a release manifest may hold; anything else is refused. */
    static final Set<String> KINDS = Set.of("CustomResourceDefinition", "ServiceAccount", "Role", "ClusterRole", "RoleBinding",
            "ClusterRoleBinding", "ConfigMap", "Secret", "Service", "Deployment", "PriorityClass");

    /** A release that could not be downloaded (as opposed to one that was read and refused). */
    public static final class DownloadException extends RuntimeException {
        public DownloadException(String message) { super(message); }
    }

    /** Where downloaded releases are kept: one folder per project and tag under the toolkit's folder in $HOME. */
    public static Path keptDir(Path home) {
        return home.resolve(".metaflow-azure").resolve("argo");
    }

    /**
     * The release's objects, checked as {@link #objects} checks every release (kinds, images at the pinned tag): read from
     * DIR/<project>-install.yaml when dir is given; else from the copy kept from an earlier download, if it still has the
     * SHA-256 recorded beside it; else downloaded from base and, once it passed the check, kept. The one place a release
     * manifest is loaded.
     */
    public static List<ObjectNode> load(Release r, String base, Path dir, Path kept, java.net.ProxySelector proxy) {
        if (dir != null) {
            Path f = dir.resolve(r.fileName());
            try {
                return objects(r, Files.readString(f, StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new Manifests.ManifestException("cannot read " + f + " (--argo-manifests expects " + r.fileName()
                        + ", the " + r.version() + " release's install.yaml): " + e.getMessage());
            }
        }
        Path copy = kept == null ? null : kept.resolve(r.project()).resolve(r.version()).resolve("install.yaml");
        String text = copy == null ? null : readKept(copy);
        if (text != null) return objects(r, text);
        text = download(r, base, proxy);
        List<ObjectNode> objects = objects(r, text);
        if (copy != null) keep(copy, text);
        return objects;
    }

    /** The kept copy if it is whole (its SHA-256 as recorded when it was downloaded); null otherwise. */
    static String readKept(Path copy) {
        try {
            if (!Files.isRegularFile(copy) || !Files.isRegularFile(sumFile(copy))) return null;
            byte[] bytes = Files.readAllBytes(copy);
            if (!sha256(bytes).equals(Files.readString(sumFile(copy), StandardCharsets.UTF_8).trim())) return null;
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
    }

    /** Writes the copy and its SHA-256 through temporary files, so that a run stopped half-way leaves no partial copy. */
    static void keep(Path copy, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        try {
            Files.createDirectories(copy.getParent());
            Path tmp = Files.createTempFile(copy.getParent(), "install", ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, copy, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            Path sumTmp = Files.createTempFile(copy.getParent(), "install", ".tmp");
            Files.writeString(sumTmp, sha256(bytes) + "\n", StandardCharsets.UTF_8);
            Files.move(sumTmp, sumFile(copy), java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // Not keeping a copy only costs the next run a download.
        }
    }

    static Path sumFile(Path copy) {
        return copy.resolveSibling(copy.getFileName() + ".sha256");
    }

    static String sha256(byte[] bytes) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String download(Release r, String base, java.net.ProxySelector proxy) {
        String url = r.url(base);
        try {
            HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).connectTimeout(Duration.ofSeconds(20))
                    .proxy(proxy).build();
            HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(120)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (resp.statusCode() != 200) {
                throw new Manifests.ManifestException("downloading " + url + " answered HTTP " + resp.statusCode()
                        + " (is " + r.version() + " a release of " + r.project() + "?)");
            }
            return resp.body();
        } catch (IOException e) {
            String cause = engine.Network.cause(e);
            throw new DownloadException("cannot download " + url + ": " + (cause != null ? cause : e.toString())
                    + " (behind a proxy, set HTTPS_PROXY; NO_PROXY lists the hosts reached without it); without internet access, save it as "
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

    // --- the JetStream versions an Argo Events release accepts ------------------------------------------

    /**
     * The JetStream versions the release's controller accepts, in the order listed: the {@code version} of each entry of
     * {@code eventBus.jetstream.versions} in the YAML under {@code controller-config.yaml} of its ConfigMap
     * {@code argo-events-controller-config}. The controller refuses an EventBus asking for any other.
     */
    public static List<String> jetStreamVersions(Release r, List<ObjectNode> objects) {
        ObjectNode cm = objects.stream().filter(o -> o.path("kind").asText().equals("ConfigMap")
                && o.path("metadata").path("name").asText().equals(EVENTS_CONFIG_MAP)).findFirst().orElse(null);
        String where = r.fileName() + " (" + r.project() + " " + r.version() + ")";
        if (cm == null) {
            throw new Manifests.ManifestException(where + " holds no ConfigMap " + EVENTS_CONFIG_MAP
                    + ", where the controller lists the JetStream versions it accepts; not an Argo Events 1.9 install manifest");
        }
        JsonNode config;
        try {
            config = Manifests.YAML.readTree(cm.path("data").path(EVENTS_CONFIG_KEY).asText(""));
        } catch (IOException e) {
            throw new Manifests.ManifestException(where + ": ConfigMap " + EVENTS_CONFIG_MAP + " key " + EVENTS_CONFIG_KEY
                    + " is not YAML: " + Messages.firstLine(e.getMessage()));
        }
        List<String> out = new ArrayList<>();
        if (config != null) {
            for (JsonNode v : config.path("eventBus").path("jetstream").path("versions")) {
                if (!v.path("version").asText("").isEmpty()) out.add(v.path("version").asText());
            }
        }
        if (out.isEmpty()) {
            throw new Manifests.ManifestException(where + ": ConfigMap " + EVENTS_CONFIG_MAP + " lists no eventBus.jetstream.versions"
                    + " in " + EVENTS_CONFIG_KEY + "; the controller would accept no JetStream event bus");
        }
        return out;
    }

    private static final java.util.regex.Pattern NUMBERED = java.util.regex.Pattern.compile("([0-9]+(?:\\.[0-9]+)*)(-.+)?");

    /**
     * The newest numbered version of the list (e.g. 2.10.29 over 2.9.16: numbers compared part by part, not as text;
     * a plain build over a suffixed one such as -alpine of the same number), or null if none is numbered ("latest" is not).
     */
    public static String newestNumbered(List<String> versions) {
        String best = null;
        for (String v : versions) {
            if (!NUMBERED.matcher(v).matches()) continue;
            if (best == null || compareNumbered(v, best) > 0) best = v;
        }
        return best;
    }

    static int compareNumbered(String a, String b) {
        var ma = NUMBERED.matcher(a);
        var mb = NUMBERED.matcher(b);
        ma.matches();
        mb.matches();
        String[] pa = ma.group(1).split("\\.");
        String[] pb = mb.group(1).split("\\.");
        for (int i = 0; i < Math.max(pa.length, pb.length); i++) {
            int c = new java.math.BigInteger(i < pa.length ? pa[i] : "0").compareTo(new java.math.BigInteger(i < pb.length ? pb[i] : "0"));
            if (c != 0) return c;
        }
        if ((ma.group(2) == null) != (mb.group(2) == null)) return ma.group(2) == null ? 1 : -1;
        return 0;
    }

    /**
     * The JetStream version the event bus asks for: the one requested (null: none), which must be listed, else the newest
     * numbered one the release lists. A version the release does not list is bad input, refused before anything is written.
     */
    public static String chooseJetStream(Release r, List<String> listed, String requested) {
        if (requested != null) {
            if (listed.contains(requested)) return requested;
            throw new Stack.InputException("--jetstream-version", "Argo Events " + r.version() + " does not list JetStream '" + requested
                    + "'; it accepts only " + String.join(", ", listed), newestOr(listed));
        }
        String newest = newestNumbered(listed);
        if (newest == null) {
            throw new Manifests.ManifestException(r.fileName() + " (" + r.project() + " " + r.version() + "): no numbered JetStream version in "
                    + EVENTS_CONFIG_MAP + " (only " + String.join(", ", listed) + "); choose one with --jetstream-version");
        }
        return newest;
    }

    private static String newestOr(List<String> listed) {
        String n = newestNumbered(listed);
        return n != null ? n : listed.get(0);
    }

    // --- event bus and event source health, as the Argo Events controller reports it -------------------------

    public static final String EVENTS_API = "argoproj.io/v1alpha1";

    /**
     * One Argo Events object's state. The controller writes status conditions (EventBus: Configured, Deployed; EventSource:
     * SourcesProvided, Deployed) and counts an object ready only when it has conditions and every one is True; the first
     * condition that is not True gives the reason and message.
     */
    record EventsState(String kind, String namespace, String name, boolean exists, boolean ready, String condition,
                              String reason, String message, JsonNode object) {
        public String id() { return namespace + "/" + name + " (" + kind + ")"; }

        /**
         * Whether the controller refused the version the bus asks for now. The message names the version it refused, so a
         * refusal of the spec before a re-apply (status not yet reconciled) does not count.
         */
        public boolean unsupportedVersion() {
            String asked = object == null ? "" : object.path("spec").path("jetstream").path("version").asText("");
            return message != null && message.contains("unsupported version \"" + asked + "\"");
        }

        public String text() {
            if (!exists) return "missing";
            if (ready) return "ready";
            if (condition == null) return "no status yet (the Argo Events controller has not reconciled it)";
            return condition + (reason == null || reason.isEmpty() ? "" : " (" + reason + ")")
                    + (message == null || message.isEmpty() ? "" : ": " + message);
        }
    }

    public static EventsState eventsState(io.fabric8.kubernetes.client.KubernetesClient client, String kind, String ns, String name) {
        ObjectNode ref = Json.obj().put("apiVersion", EVENTS_API).put("kind", kind);
        ref.putObject("metadata").put("name", name).put("namespace", ns);
        JsonNode o;
        try {
            o = Kube.read(client, ref);
        } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
            if (e.getCode() == 404) o = null;  // the CRD itself is not there
            else throw e;
        }
        if (o == null) return new EventsState(kind, ns, name, false, false, null, null, null, null);
        JsonNode conditions = o.path("status").path("conditions");
        for (JsonNode c : conditions) {
            if (!c.path("status").asText().equals("True")) {
                return new EventsState(kind, ns, name, true, false, c.path("type").asText() + "=" + c.path("status").asText(),
                        c.path("reason").asText(null), c.path("message").asText(null), o);
            }
        }
        return new EventsState(kind, ns, name, true, conditions.size() > 0, null, null, null, o);
    }

    /** What to do about an event bus that is not ready, from what its controller said. */
    public static String busAdvice(EventsState bus) {
        if (bus.unsupportedVersion()) {
            return "The Argo Events controller in the cluster does not accept the JetStream version the EventBus asks for (its message "
                    + "lists those it does): run services.java again without --jetstream-version (it takes the newest its release lists) "
                    + "or with one of the listed versions, or with the --argo-events-version the cluster runs.";
        }
        if (!bus.exists()) return "Run services.java (without --no-argo) to create it.";
        return "Check the Argo Events controller: kubectl -n " + EVENTS_NAMESPACE + " logs deploy/" + Catalog.EVENTS_CONTROLLER.deployment()
                + "; and the bus: kubectl -n " + bus.namespace() + " describe eventbus " + bus.name() + ".";
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
