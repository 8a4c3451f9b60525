import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import azure.Clouds;
import azure.Stack;
import azure.StackFacts;
import cluster.Argo;
import cluster.Catalog;
import cluster.Manifests;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The catalog of services (lib/Catalog.java) against what it stands for: the bundled manifests (Deployment and Service
 * names and namespaces, container ports, readiness paths, the webhook's EventSource), the //FILES lines of services.java
 * and Manifests.BUNDLED. Each check is a function of those sides that returns what disagrees, so the test also shows
 * that each kind of drift, made on a copy, is caught.
 */
class CatalogTest {
    static final Path REPO = Path.of(System.getProperty("user.dir"));
    static final Stack STACK = ServicesTest.ACME;

    static List<Manifests.Template> bundled() {
        return Manifests.templates(REPO.resolve("manifests"));
    }

    static String script() throws Exception {
        return Files.readString(REPO.resolve("services.java"), StandardCharsets.UTF_8);
    }

    static List<String> manifestFiles() throws Exception {
        try (Stream<Path> files = Files.list(REPO.resolve("manifests"))) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".yaml")).sorted().toList();
        }
    }

    static List<ObjectNode> rendered(Manifests.Template t) {
        Map<String, String> values = StackFacts.predicted(STACK, Clouds.PUBLIC, false).values(STACK, "registry.example/metadata:1",
                "registry.example/ui:1", Catalog.LOCAL_UI_BACKEND_URL, "2.10.29");
        return Manifests.render(List.of(t), values, true);
    }

    static ObjectNode find(List<ObjectNode> objects, String kind, String name) {
        return objects.stream().filter(o -> o.path("kind").asText().equals(kind) && o.path("metadata").path("name").asText().equals(name))
                .findFirst().orElse(null);
    }

    /** What in the catalog disagrees with the manifests: names, namespaces, ports, readiness paths, the Argo choice. */
    static List<String> catalogVsManifests(List<Catalog.Service> catalog, List<Manifests.Template> templates) {
        List<String> problems = new ArrayList<>();
        for (Catalog.Service s : catalog) {
            if (s.manifest() == null) continue;  // an Argo release's install.yaml
            Manifests.Template t = templates.stream().filter(x -> x.name().equals(s.manifest())).findFirst().orElse(null);
            if (t == null) {
                problems.add(s.manifest() + " is not a bundled manifest");
                continue;
            }
            if (t.argo() != s.argo()) problems.add(s.manifest() + ": applied " + (t.argo() ? "only with Argo" : "always") + ", catalog argo=" + s.argo());
            List<ObjectNode> objects = rendered(t);
            String ns = s.namespace(STACK);
            if (s == Catalog.GATEWAY) gateway(problems, catalog, objects);
            else if (s.deployment() != null) deployment(problems, s, ns, find(objects, "Deployment", s.deployment()));
            if (s.service() != null && s != Catalog.WEBHOOK && s != Catalog.GATEWAY) service(problems, s, ns, find(objects, "Service", s.service()));
            if (s == Catalog.WEBHOOK) webhook(problems, s, ns, objects);
        }
        // The other way round: every Deployment and Service the manifests make is in the catalog.
        for (Manifests.Template t : templates) {
            for (ObjectNode o : rendered(t)) {
                String kind = o.path("kind").asText();
                String name = o.path("metadata").path("name").asText();
                boolean alias = kind.equals("Service") && o.path("spec").path("type").asText().equals("ExternalName")
                        && t.name().equals(Catalog.GATEWAY.manifest()) && catalog.stream().anyMatch(s -> s.relayed() && name.equals(s.service()));
                boolean listed = alias || catalog.stream().anyMatch(s -> t.name().equals(s.manifest())
                        && (kind.equals("Deployment") && name.equals(s.deployment()) || kind.equals("Service") && name.equals(s.service())));
                if ((kind.equals("Deployment") || kind.equals("Service")) && !listed) problems.add(t.name() + ": " + kind + " " + name + " is not in the catalog");
            }
        }
        return problems;
    }

    static void deployment(List<String> problems, Catalog.Service s, String ns, ObjectNode d) {
        if (d == null) {
            problems.add(s.manifest() + ": no Deployment " + s.deployment());
            return;
        }
        if (!d.path("metadata").path("namespace").asText().equals(ns)) problems.add("Deployment " + s.deployment() + " is not in " + ns);
        JsonNode serving = null;
        for (JsonNode c : d.path("spec").path("template").path("spec").path("containers")) {
            for (JsonNode p : c.path("ports")) if (p.path("containerPort").asInt() == s.port()) serving = c;
        }
        if (serving == null) {
            problems.add("Deployment " + s.deployment() + ": no container serves port " + s.port());
            return;
        }
        JsonNode ready = serving.path("readinessProbe").path("httpGet");
        if (!ready.path("path").asText().equals(s.healthPath()) || ready.path("port").asInt() != s.port()) {
            problems.add("Deployment " + s.deployment() + ": readiness probe " + ready + ", catalog " + s.healthPath() + " on " + s.port());
        }
    }

    static void service(List<String> problems, Catalog.Service s, String ns, ObjectNode svc) {
        if (svc == null) {
            problems.add(s.manifest() + ": no Service " + s.service());
            return;
        }
        if (!svc.path("metadata").path("namespace").asText().equals(ns)) problems.add("Service " + s.service() + " is not in " + ns);
        boolean port = false;
        for (JsonNode p : svc.path("spec").path("ports")) port |= p.path("port").asInt() == s.port() && p.path("targetPort").asInt() == s.port();
        if (!port) problems.add("Service " + s.service() + ": no port " + s.port() + " to target port " + s.port());
    }

    /**
     * The gateway in the flows' namespace: a route, a container port and a Service port for each relayed service (to its
     * Service in the services' namespace), and under each relayed service's name an alias (ExternalName) of that Service.
     */
    static void gateway(List<String> problems, List<Catalog.Service> catalog, List<ObjectNode> objects) {
        String flows = Catalog.GATEWAY.namespace(STACK);
        ObjectNode d = find(objects, "Deployment", Catalog.GATEWAY.deployment());
        ObjectNode svc = find(objects, "Service", Catalog.GATEWAY.service());
        if (d == null || svc == null) {
            problems.add(Catalog.GATEWAY.manifest() + ": no Deployment or Service " + Catalog.GATEWAY.deployment());
            return;
        }
        if (!d.path("metadata").path("namespace").asText().equals(flows)) problems.add("Deployment " + Catalog.GATEWAY.deployment() + " is not in " + flows);
        JsonNode relay = d.path("spec").path("template").path("spec").path("containers").path(0);
        String routes = "";
        for (JsonNode e : relay.path("env")) if (e.path("name").asText().equals("GATEWAY_ROUTES")) routes = e.path("value").asText();
        List<String> listed = List.of(routes.split("\\s+"));
        for (Catalog.Service s : catalog) {
            if (!s.relayed()) continue;
            String route = s.port() + "=" + s.host(STACK) + ":" + s.port();
            if (!listed.contains(route)) problems.add("gateway: no route " + route + " in GATEWAY_ROUTES " + routes);
            boolean container = false;
            for (JsonNode p : relay.path("ports")) container |= p.path("containerPort").asInt() == s.port();
            if (!container) problems.add("gateway: its container declares no port " + s.port());
            boolean port = false;
            for (JsonNode p : svc.path("spec").path("ports")) port |= p.path("port").asInt() == s.port() && p.path("targetPort").asInt() == s.port();
            if (!port) problems.add("gateway: Service " + Catalog.GATEWAY.service() + " has no port " + s.port());
            ObjectNode alias = objects.stream().filter(o -> o.path("kind").asText().equals("Service") && o.path("metadata").path("name").asText().equals(s.service())
                    && o.path("metadata").path("namespace").asText().equals(flows)).findFirst().orElse(null);
            if (alias == null || !alias.path("spec").path("type").asText().equals("ExternalName") || !alias.path("spec").path("externalName").asText().equals(s.host(STACK))) {
                problems.add("no alias " + flows + "/" + s.service() + " (ExternalName " + s.host(STACK) + "): " + alias);
            }
        }
    }

    /** The webhook's Service is made by the Argo Events controller from the EventSource: its name, port and path. */
    static void webhook(List<String> problems, Catalog.Service s, String ns, List<ObjectNode> objects) {
        if (find(objects, "EventBus", Catalog.EVENT_BUS) == null) problems.add(s.manifest() + ": no EventBus " + Catalog.EVENT_BUS);
        ObjectNode source = find(objects, "EventSource", Catalog.EVENT_SOURCE);
        if (source == null) {
            problems.add(s.manifest() + ": no EventSource " + Catalog.EVENT_SOURCE);
            return;
        }
        if (!s.service().equals(Catalog.EVENT_SOURCE + "-eventsource-svc")) problems.add("webhook Service " + s.service() + " is not the controller's name");
        if (!source.path("metadata").path("namespace").asText().equals(ns)) problems.add("EventSource " + Catalog.EVENT_SOURCE + " is not in " + ns);
        boolean port = false;
        for (JsonNode p : source.path("spec").path("service").path("ports")) port |= p.path("port").asInt() == s.port() && p.path("targetPort").asInt() == s.port();
        if (!port) problems.add("EventSource " + Catalog.EVENT_SOURCE + ": its Service has no port " + s.port());
        JsonNode hook = source.path("spec").path("webhook").elements().hasNext() ? source.path("spec").path("webhook").elements().next() : null;
        if (hook == null || !hook.path("endpoint").asText().equals(Catalog.WEBHOOK_PATH) || hook.path("port").asInt() != s.port()) {
            problems.add("EventSource " + Catalog.EVENT_SOURCE + ": webhook " + hook + ", catalog " + Catalog.WEBHOOK_PATH + " on " + s.port());
        }
    }

    /** What disagrees among the //FILES lines of the script, Manifests.BUNDLED, the files in manifests/ and the catalog's manifests. */
    static List<String> bundling(String script, List<String> bundled, List<String> files, List<Catalog.Service> catalog) {
        List<String> problems = new ArrayList<>();
        List<String> lines = script.lines().filter(l -> l.startsWith("//FILES manifests/")).toList();
        List<String> listed = new ArrayList<>();
        for (String l : lines) {
            String name = l.substring("//FILES manifests/".length()).split("=")[0];
            if (!l.equals("//FILES manifests/" + name + "=manifests/" + name)) problems.add("//FILES line not of the form name=name: " + l);
            listed.add(name);
        }
        if (!listed.equals(bundled)) problems.add("//FILES lists " + listed + ", Manifests.BUNDLED " + bundled);
        if (!files.equals(bundled.stream().sorted().toList())) problems.add("manifests/ holds " + files + ", Manifests.BUNDLED " + bundled);
        for (Catalog.Service s : catalog) {
            if (s.manifest() != null && !bundled.contains(s.manifest())) problems.add(s.manifest() + " of the catalog is not in Manifests.BUNDLED");
        }
        return problems;
    }

    @Test
    void catalogAgreesWithTheManifests() {
        assertEquals(List.of(), catalogVsManifests(Catalog.ALL, bundled()));
    }

    @Test
    void filesLinesBundledListAndManifestsDirectoryAgree() throws Exception {
        assertEquals(List.of(), bundling(script(), Manifests.BUNDLED, manifestFiles(), Catalog.ALL));
    }

    @Test
    void namespacesWithoutAStackAreEveryStacksOwn() {
        assertEquals(STACK.kubeNamespace(), Catalog.Home.METAFLOW.in(null));
        assertEquals(STACK.servicesNamespace(), Catalog.Home.SERVICES.in(null));
        assertEquals(STACK.argoEventsNamespace(), Catalog.Home.ARGO_EVENTS.in(null));
        assertEquals(Argo.WORKFLOWS_NAMESPACE, Catalog.Home.ARGO_WORKFLOWS.in(STACK));
    }

    @Test
    void forwardAndPortOffsetHelpNameTheCatalogsPorts() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        assertEquals(0, services.run(new String[] {"forward", "--help"}, new AzureLogin.Host(Map.of(), REPO), null, ps, ps));
        String forward = out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ");
        for (Catalog.Service s : Catalog.forwarded(true)) assertTrue(forward.contains("(" + s.port() + ")"), s + " in " + forward);
        assertTrue(forward.contains("metadata on " + (10000 + Catalog.METADATA.port()) + ", UI on " + (10000 + Catalog.UI.port())), forward);
        out.reset();
        assertEquals(0, services.run(new String[] {"--help"}, new AzureLogin.Host(Map.of(), REPO), null, ps, ps));
        String help = out.toString(StandardCharsets.UTF_8).replaceAll("\\s+", " ");
        assertTrue(help.contains("metadata on " + (10000 + Catalog.METADATA.port()) + ", UI on " + (10000 + Catalog.UI.port())), help);
        assertTrue(help.contains("Default: " + Catalog.LOCAL_UI_BACKEND_URL.replace("http:", "http: ")) || help.contains(Catalog.LOCAL_UI_BACKEND_URL), help);
    }

    /** A copy of the bundled templates with one edit in one file. */
    static List<Manifests.Template> edited(String file, UnaryOperator<String> edit) {
        List<Manifests.Template> out = new ArrayList<>();
        for (Manifests.Template t : bundled()) {
            String text = t.name().equals(file) ? edit.apply(t.text()) : t.text();
            if (t.name().equals(file)) assertNotEquals(t.text(), text, "the edit changes " + file);
            out.add(new Manifests.Template(t.name(), text));
        }
        return out;
    }

    static void caught(List<String> problems, String expected) {
        assertFalse(problems.isEmpty(), "the drift is caught");
        assertTrue(problems.stream().anyMatch(p -> p.contains(expected)), expected + " in " + problems);
    }

    @Test
    void eachDriftOfTheManifestsIsCaught() {
        caught(catalogVsManifests(Catalog.ALL, edited("30-ui-backend.yaml", t -> t.replace("containerPort: 8083", "containerPort: 8084"))),
                "no container serves port 8083");
        caught(catalogVsManifests(Catalog.ALL, edited("20-metadata-service.yaml", t -> t.replace("path: /ping, port: 8080}\n            periodSeconds: 10",
                "path: /ready, port: 8080}\n            periodSeconds: 10"))), "readiness probe");
        caught(catalogVsManifests(Catalog.ALL, edited("40-ui.yaml", t -> t.replace("name: metaflow-ui-static-service\n  namespace: ${SERVICES_NAMESPACE}\n  labels:\n"
                + "    app.kubernetes.io/name: metaflow-ui-static-service\n    app.kubernetes.io/part-of: metaflow\n    app.kubernetes.io/managed-by",
                "name: metaflow-ui\n  namespace: ${SERVICES_NAMESPACE}\n  labels:\n    app.kubernetes.io/name: metaflow-ui-static-service\n"
                        + "    app.kubernetes.io/part-of: metaflow\n    app.kubernetes.io/managed-by"))), "no Deployment metaflow-ui-static-service");
        caught(catalogVsManifests(Catalog.ALL, edited("20-metadata-service.yaml", t -> t.replace("      port: 8080\n      targetPort: 8080",
                "      port: 80\n      targetPort: 8080"))), "Service metadata-service: no port 8080");
        caught(catalogVsManifests(Catalog.ALL, edited("30-ui-backend.yaml", t -> t.replace("  namespace: ${SERVICES_NAMESPACE}", "  namespace: metaflow-ui"))),
                "is not in metaflow-services");
        caught(catalogVsManifests(Catalog.ALL, edited("45-gateway.yaml", t -> t.replace(" 8083=metaflow-ui-backend-service", " 8084=metaflow-ui-backend-service"))),
                "gateway: no route 8083=metaflow-ui-backend-service.metaflow-services.svc.cluster.local:8083");
        caught(catalogVsManifests(Catalog.ALL, edited("45-gateway.yaml", t -> t.replace("externalName: metadata-service.${SERVICES_NAMESPACE}",
                "externalName: metadata-service.${NAMESPACE}"))), "no alias metaflow/metadata-service");
        caught(catalogVsManifests(Catalog.ALL, edited("45-gateway.yaml", t -> t.replace("    - {name: ui, port: 3000, targetPort: 3000}\n", ""))),
                "gateway: Service metaflow-gateway has no port 3000");
        caught(catalogVsManifests(Catalog.ALL, edited("50-argo-metaflow.yaml", t -> t.replace("endpoint: /metaflow-event", "endpoint: /event"))),
                "webhook");
        caught(catalogVsManifests(Catalog.ALL, edited("50-argo-metaflow.yaml", t -> t.replace("name: argo-events-webhook\n", "name: webhook\n"))),
                "no EventSource argo-events-webhook");
        caught(catalogVsManifests(Catalog.ALL, edited("50-argo-metaflow.yaml", t -> t.replace("      - port: 12000", "      - port: 12001"))),
                "its Service has no port 12000");
        caught(catalogVsManifests(Catalog.ALL, edited("40-ui.yaml", t -> t + "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ui-extra\n"
                + "  namespace: ${NAMESPACE}\nspec:\n  selector:\n    app.kubernetes.io/name: metaflow-ui-static-service\n  ports:\n    - port: 80\n")),
                "Service ui-extra is not in the catalog");
    }

    @Test
    void eachDriftOfTheCatalogIsCaught() {
        List<Catalog.Service> moved = new ArrayList<>(Catalog.ALL);
        moved.set(moved.indexOf(Catalog.UI), new Catalog.Service(Catalog.Home.SERVICES, Catalog.UI.deployment(), Catalog.UI.service(), 3001,
                Catalog.UI.healthPath(), false, Catalog.UI.manifest()));
        caught(catalogVsManifests(moved, bundled()), "no container serves port 3001");
        List<Catalog.Service> elsewhere = new ArrayList<>(Catalog.ALL);
        elsewhere.set(elsewhere.indexOf(Catalog.METADATA), new Catalog.Service(Catalog.Home.ARGO_WORKFLOWS, Catalog.METADATA.deployment(),
                Catalog.METADATA.service(), Catalog.METADATA.port(), Catalog.METADATA.healthPath(), false, Catalog.METADATA.manifest()));
        caught(catalogVsManifests(elsewhere, bundled()), "Deployment metadata-service is not in argo");
        List<Catalog.Service> argo = new ArrayList<>(Catalog.ALL);
        argo.set(argo.indexOf(Catalog.UI_BACKEND), new Catalog.Service(Catalog.Home.SERVICES, Catalog.UI_BACKEND.deployment(),
                Catalog.UI_BACKEND.service(), Catalog.UI_BACKEND.port(), Catalog.UI_BACKEND.healthPath(), true, Catalog.UI_BACKEND.manifest()));
        caught(catalogVsManifests(argo, bundled()), "30-ui-backend.yaml: applied always, catalog argo=true");
        List<Catalog.Service> missing = new ArrayList<>(Catalog.ALL);
        missing.remove(Catalog.UI_BACKEND);
        caught(catalogVsManifests(missing, bundled()), "Deployment metaflow-ui-backend-service is not in the catalog");
        List<Catalog.Service> renamed = new ArrayList<>(Catalog.ALL);
        renamed.set(renamed.indexOf(Catalog.UI), new Catalog.Service(Catalog.Home.SERVICES, Catalog.UI.deployment(), Catalog.UI.service(),
                Catalog.UI.port(), Catalog.UI.healthPath(), false, "45-ui.yaml"));
        caught(catalogVsManifests(renamed, bundled()), "45-ui.yaml is not a bundled manifest");
        caught(bundling("", Manifests.BUNDLED, Manifests.BUNDLED.stream().sorted().toList(), renamed), "45-ui.yaml of the catalog is not in Manifests.BUNDLED");
    }

    @Test
    void eachDriftOfTheBundlingIsCaught() throws Exception {
        String script = script();
        List<String> files = manifestFiles();
        caught(bundling(script.replace("//FILES manifests/40-ui.yaml=manifests/40-ui.yaml\n", ""), Manifests.BUNDLED, files, Catalog.ALL),
                "//FILES lists");
        caught(bundling(script.replace("//FILES manifests/40-ui.yaml=manifests/40-ui.yaml", "//FILES manifests/40-ui.yaml=manifests/41-ui.yaml"),
                Manifests.BUNDLED, files, Catalog.ALL), "not of the form");
        List<String> fewer = new ArrayList<>(Manifests.BUNDLED);
        fewer.remove("15-db-config.yaml");
        caught(bundling(script, fewer, files, Catalog.ALL), "Manifests.BUNDLED");
        List<String> more = new ArrayList<>(files);
        more.add("60-extra.yaml");
        caught(bundling(script, Manifests.BUNDLED, more, Catalog.ALL), "manifests/ holds");
    }
}
