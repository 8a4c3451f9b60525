package cluster;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/** {@link Manifests}: templates found, filled, parsed, checked and ordered for applying. */
class ManifestsTest {

    // --- the one place that knows how templates and values are made ---------------------------------------------

    static Manifests.Template template(String name, String text) {
        return new Manifests.Template(name, text);
    }

    /** A value for every placeholder the templates use: "v-" and the name, lower case (the namespace a fixed one). */
    static Map<String, String> valuesFor(List<Manifests.Template> templates) {
        Map<String, String> values = new TreeMap<>();
        Matcher m = Pattern.compile("\\$\\{([A-Za-z0-9_]+)}").matcher(String.join("\n", templates.stream().map(Manifests.Template::text).toList()));
        while (m.find()) values.put(m.group(1), "v-" + m.group(1).toLowerCase().replace('_', '-'));
        values.put("NAMESPACE", "metaflow");
        return values;
    }

    static List<ObjectNode> bundled(boolean argo) {
        List<Manifests.Template> templates = Manifests.templates(null);
        return Manifests.render(templates, valuesFor(templates), argo);
    }

    static List<ObjectNode> parse(String yaml) {
        return Manifests.parse("test.yaml", yaml);
    }

    static String refusal(Executable e) {
        return assertThrows(Manifests.ManifestException.class, e).getMessage();
    }

    static ObjectNode object(String kind, String namespace, String name) {
        ObjectNode o = Json.obj().put("apiVersion", kind.equals("EventBus") ? "argoproj.io/v1alpha1" : "v1").put("kind", kind);
        ObjectNode meta = o.putObject("metadata").put("name", name);
        if (namespace != null) meta.put("namespace", namespace);
        return o;
    }

    static ObjectNode service(String namespace, String name, Map<String, String> selector) {
        ObjectNode s = object("Service", namespace, name);
        s.putObject("spec").set("selector", Json.tags(selector));
        return s;
    }

    static ObjectNode deployment(String namespace, String name, Map<String, String> podLabels) {
        ObjectNode d = object("Deployment", namespace, name);
        d.putObject("spec").putObject("template").putObject("metadata").set("labels", Json.tags(podLabels));
        return d;
    }

    // --- templates ----------------------------------------------------------------------------------------------

    @Test
    void theBundledTemplatesAreAllThereInTheirListedOrder() {
        List<Manifests.Template> templates = Manifests.templates(null);
        assertEquals(Manifests.BUNDLED, templates.stream().map(Manifests.Template::name).toList());
        assertTrue(templates.stream().allMatch(t -> t.text().contains("kind:")));
    }

    @Test
    void aTemplateIsArgosWhenItsNameSaysArgo() {
        assertTrue(template("05-argo-namespaces.yaml", "").argo());
        assertFalse(template("20-metadata-service.yaml", "").argo());
    }

    @Test
    void aDirectorysYamlFilesAreTheTemplatesInNameOrder(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("b.yml"), "kind: B");
        Files.writeString(dir.resolve("a.yaml"), "kind: A");
        Files.writeString(dir.resolve("notes.txt"), "not a manifest");
        List<Manifests.Template> templates = Manifests.templates(dir);
        assertEquals(List.of("a.yaml", "b.yml"), templates.stream().map(Manifests.Template::name).toList());
        assertEquals("kind: A", templates.get(0).text());
    }

    @Test
    void aDirectoryWithoutYamlFilesIsRefused(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("readme.md"), "#");
        assertEquals(dir + " holds no *.yaml manifests", refusal(() -> Manifests.templates(dir)));
        assertTrue(refusal(() -> Manifests.templates(dir.resolve("absent"))).startsWith("cannot read manifests from " + dir.resolve("absent")));
    }

    // --- fill -----------------------------------------------------------------------------------------------------

    @Test
    void everyPlaceholderIsFilledLiterally() {
        Manifests.Template t = template("t.yaml", "name: ${NAME}\nurl: ${URL}/${NAME}\nplain: $NAME");
        assertEquals("name: ui\nurl: http://x/$1\\n/ui\nplain: $NAME", Manifests.fill(t, Map.of("NAME", "ui", "URL", "http://x/$1\\n")));
    }

    @Test
    void placeholdersWithoutAValueAreAnErrorNamingEachAndTheKnownNames() {
        Manifests.Template t = template("t.yaml", "a: ${B_MISSING}\nb: ${EMPTY}\nc: ${A_MISSING}\nd: ${KNOWN}");
        assertEquals("t.yaml: no value for placeholder ${A_MISSING}, ${B_MISSING}, ${EMPTY} (known: EMPTY, KNOWN)",
                refusal(() -> Manifests.fill(t, Map.of("KNOWN", "k", "EMPTY", ""))));
    }

    // --- parse ----------------------------------------------------------------------------------------------------

    @Test
    void everyDocumentIsAnObjectAndEmptyDocumentsAreSkipped() {
        List<ObjectNode> objects = parse("---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n"
                + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: a}\ndata: {port: '5432'}\n");
        assertEquals(List.of("Namespace a", "ConfigMap a/b"), objects.stream().map(Manifests::id).toList());
        assertEquals("5432", objects.get(1).at("/data/port").asText());
    }

    @Test
    void aDocumentWithoutApiVersionKindOrNameIsRefusedNamingTheFile() {
        assertEquals("test.yaml: a document has no apiVersion", refusal(() -> parse("kind: Namespace\nmetadata: {name: a}\n")));
        assertEquals("test.yaml: a document has no kind", refusal(() -> parse("apiVersion: v1\nmetadata: {name: a}\n")));
        assertEquals("test.yaml: a Service has no metadata.name", refusal(() -> parse("apiVersion: v1\nkind: Service\nmetadata: {}\n")));
    }

    @Test
    void aDocumentThatIsNoMappingOrNoYamlIsRefused() {
        assertEquals("test.yaml: a document is not a mapping", refusal(() -> parse("- a\n- b\n")));
        assertTrue(refusal(() -> parse("kind: [unclosed\n")).startsWith("test.yaml: not valid YAML: "));
    }

    // --- render -----------------------------------------------------------------------------------------------------

    @Test
    void renderingFillsTheBundledTemplatesWithTheValues() {
        List<ObjectNode> objects = bundled(true);
        assertTrue(objects.stream().noneMatch(o -> Manifests.toYaml(List.of(o)).contains("${")), "no placeholder left");
        ObjectNode account = objects.stream().filter(o -> o.path("kind").asText().equals("ServiceAccount")
                && o.at("/metadata/name").asText().equals("v-service-account")).findFirst().orElseThrow();
        assertEquals("metaflow", account.at("/metadata/namespace").asText());
        assertEquals("v-client-id", account.at("/metadata/annotations").path("azure.workload.identity/client-id").asText());
    }

    @Test
    void renderingWithoutArgoLeavesOutEveryObjectOfTheArgoTemplates() {
        List<ObjectNode> with = bundled(true);
        List<ObjectNode> without = bundled(false);
        List<Manifests.Template> argo = Manifests.templates(null).stream().filter(Manifests.Template::argo).toList();
        Map<String, String> values = valuesFor(Manifests.templates(null));
        List<String> argoIds = argo.stream().flatMap(t -> Manifests.parse(t.name(), Manifests.fill(t, values)).stream()).map(Manifests::id).toList();
        assertTrue(argoIds.contains("Namespace argo") && argoIds.contains("EventBus metaflow/default"), argoIds.toString());
        assertEquals(with.size() - argoIds.size(), without.size());
        assertTrue(without.stream().map(Manifests::id).noneMatch(argoIds::contains));
    }

    @Test
    void renderingNamesTheTemplateAndThePlaceholderLackingAValue() {
        List<Manifests.Template> templates = Manifests.templates(null);
        Map<String, String> values = new TreeMap<>(valuesFor(templates));
        values.remove("UI_IMAGE");
        assertTrue(refusal(() -> Manifests.render(templates, values, false)).startsWith("40-ui.yaml: no value for placeholder ${UI_IMAGE} (known: "));
    }

    @Test
    void anArgoOnlyPlaceholderIsNotNeededWithoutArgo() {
        List<Manifests.Template> templates = Manifests.templates(null);
        Map<String, String> values = new TreeMap<>(valuesFor(templates));
        values.remove("JETSTREAM_VERSION");
        assertFalse(Manifests.render(templates, values, false).isEmpty());
        assertTrue(refusal(() -> Manifests.render(templates, values, true)).contains("${JETSTREAM_VERSION}"));
    }

    // --- order and scope ----------------------------------------------------------------------------------------------

    @Test
    void definitionsAndNamespacesComeFirstThenWhatPodsNeedThenWorkloadsThenCustomResources() {
        ObjectNode crd = object("CustomResourceDefinition", null, "eventbus.argoproj.io");
        crd.put("apiVersion", "apiextensions.k8s.io/v1");
        List<ObjectNode> shuffled = List.of(object("EventBus", "m", "default"), deployment("m", "ui", Map.of()), service("m", "ui", Map.of()),
                object("RoleBinding", "m", "rb"), object("ConfigMap", "m", "cm"), object("Namespace", null, "m"), crd,
                object("PodDisruptionBudget", "m", "pdb"));
        assertEquals(List.of("CustomResourceDefinition eventbus.argoproj.io", "Namespace m", "ConfigMap m/cm", "RoleBinding m/rb",
                        "Service m/ui", "Deployment m/ui", "PodDisruptionBudget m/pdb", "EventBus m/default"),
                Manifests.ordered(shuffled).stream().map(Manifests::id).toList());
    }

    @Test
    void orderingKeepsTheGivenOrderWithinAKind() {
        List<ObjectNode> maps = List.of(object("ConfigMap", "m", "z"), object("Secret", "m", "s"), object("ConfigMap", "m", "a"));
        assertEquals(List.of("ConfigMap m/z", "Secret m/s", "ConfigMap m/a"), Manifests.ordered(maps).stream().map(Manifests::id).toList());
    }

    @Test
    void theBundledNamespacesComeBeforeAnythingInThem() {
        List<String> ids = Manifests.ordered(bundled(true)).stream().map(Manifests::id).toList();
        assertEquals(List.of("Namespace metaflow", "Namespace v-services-namespace", "Namespace argo", "Namespace v-events-namespace"),
                ids.subList(0, 4));
    }

    @Test
    void clusterWideKindsAreNotNamespaced() {
        for (String kind : List.of("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding")) {
            assertFalse(Manifests.namespaced(object(kind, null, "x")), kind);
        }
        for (String kind : List.of("Deployment", "Service", "ConfigMap", "Role", "EventBus")) {
            assertTrue(Manifests.namespaced(object(kind, "m", "x")), kind);
        }
    }

    @Test
    void anIdIsTheKindAndTheNamespacedName() {
        assertEquals("Deployment m/ui", Manifests.id(object("Deployment", "m", "ui")));
        assertEquals("Namespace m", Manifests.id(object("Namespace", null, "m")));
    }

    // --- selectors ----------------------------------------------------------------------------------------------------

    @Test
    void aSelectorMatchesLabelsHoldingAllOfItsPairs() {
        JsonNode labels = Json.tags(Map.of("app", "ui", "tier", "web"));
        assertTrue(Manifests.matches(Json.tags(Map.of("app", "ui")), labels));
        assertTrue(Manifests.matches(Json.tags(Map.of("app", "ui", "tier", "web")), labels));
        assertFalse(Manifests.matches(Json.tags(Map.of("app", "ui", "tier", "db")), labels));
        assertFalse(Manifests.matches(Json.tags(Map.of("other", "ui")), labels));
    }

    @Test
    void theBundledServicesEachSelectADeploymentsPods() {
        assertDoesNotThrow(() -> Manifests.checkSelectors(bundled(true)));
    }

    @Test
    void aServiceSelectingNoPodTemplateIsRefused() {
        List<ObjectNode> objects = List.of(deployment("m", "ui", Map.of("app", "ui-static")), service("m", "ui", Map.of("app", "ui")));
        assertEquals("Service m/ui selects {\"app\":\"ui\"}, which no Deployment's pods carry", refusal(() -> Manifests.checkSelectors(objects)));
    }

    @Test
    void aDeploymentInAnotherNamespaceDoesNotSatisfyAService() {
        List<ObjectNode> objects = List.of(deployment("other", "ui", Map.of("app", "ui")), service("m", "ui", Map.of("app", "ui")));
        assertThrows(Manifests.ManifestException.class, () -> Manifests.checkSelectors(objects));
        assertDoesNotThrow(() -> Manifests.checkSelectors(List.of(deployment("m", "ui", Map.of("app", "ui", "x", "y")), service("m", "ui", Map.of("app", "ui")))));
    }

    @Test
    void servicesInArgoNamespacesAndServicesWithoutSelectorAreNotChecked() {
        ObjectNode noSelector = object("Service", "m", "external");
        noSelector.putObject("spec").put("type", "ExternalName");
        assertDoesNotThrow(() -> Manifests.checkSelectors(List.of(service("argo-events", "webhook", Map.of("app", "x")), noSelector)));
    }

    @Test
    void theUiBackendWhichIgnoresSigtermIsGivenAShortGracePeriod() {
        // metaflow-service v2.5.1 ui_server.py only logs SIGTERM: a rollout would wait the default 30 s per pod.
        ObjectNode backend = bundled(false).stream().filter(o -> o.path("kind").asText().equals("Deployment")
                && o.at("/metadata/name").asText().equals(Catalog.UI_BACKEND.deployment())).findFirst().orElseThrow();
        int grace = backend.at("/spec/template/spec/terminationGracePeriodSeconds").asInt(30);
        assertTrue(grace > 0 && grace <= 10, "terminationGracePeriodSeconds " + grace);
    }

    @Test
    void workflowDefaultsCarryTheTaskLabelsAndNodeSelectorIntoTheControllersConfigMap() throws Exception {
        List<ObjectNode> release = new java.util.ArrayList<>(parse("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: workflow-controller-configmap, namespace: argo}\n"));
        ObjectNode defaults = Argo.workflowDefaults(Map.of("azure.workload.identity/use", "true"), Map.of("agentpool", "taskworkers"));
        ObjectNode cm = Argo.withWorkflowDefaults(release, defaults);
        assertEquals(1, release.size(), "the release's ConfigMap is the one changed");
        // The controller reads each key as a top-level field of its configuration (config/controller.go parseConfigMap).
        var parsed = Manifests.YAML.readTree(cm.at("/data/workflowDefaults").asText());
        assertTrue(parsed.at("/spec/podMetadata/labels/azure.workload.identity~1use").isTextual(), "a string, as a label value must be: " + parsed);
        assertEquals("true", parsed.at("/spec/podMetadata/labels/azure.workload.identity~1use").asText());
        assertEquals("taskworkers", parsed.at("/spec/nodeSelector/agentpool").asText());
        assertFalse(parsed.path("spec").has("serviceAccountName"));
        assertEquals(null, Argo.workflowDefaults(Map.of(), Map.of()));
        // Without the release's ConfigMap, one is made in the controller's namespace.
        List<ObjectNode> none = new java.util.ArrayList<>();
        Argo.withWorkflowDefaults(none, defaults);
        assertEquals("argo", none.get(0).at("/metadata/namespace").asText());
    }

    @Test
    void aRefusedProbeSaysToCheckAccessToItsOwnNamespace() {
        Check.Outcome o = Check.timed("storage", "flows", () -> {
            throw new io.fabric8.kubernetes.client.KubernetesClientException("jobs.batch is forbidden", 403, null);
        });
        assertFalse(o.ok());
        assertTrue(o.todo().contains("kubectl auth can-i create jobs,workflows -n flows"), o.todo());
    }

    @Test
    void aDeploymentRollsWhenAConfigMapItsPodsMountChanges() {
        String yaml = """
                apiVersion: v1
                kind: ConfigMap
                metadata: {name: script, namespace: ns}
                data: {run.py: "${SCRIPT}"}
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: runner, namespace: ns}
                spec:
                  selector: {matchLabels: {app: runner}}
                  template:
                    metadata: {labels: {app: runner}}
                    spec:
                      containers: [{name: main, image: x}]
                      volumes: [{name: s, configMap: {name: script}}]
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: plain, namespace: ns}
                spec:
                  selector: {matchLabels: {app: plain}}
                  template:
                    metadata: {labels: {app: plain}}
                    spec: {containers: [{name: main, image: x}]}
                """;
        List<Manifests.Template> t = List.of(new Manifests.Template("10-x.yaml", yaml));
        java.util.function.Function<String, JsonNode> hashOf = script -> Manifests.render(t, Map.of("SCRIPT", script), false).stream()
                .filter(o -> o.at("/metadata/name").asText().equals("runner")).findFirst().orElseThrow()
                .at("/spec/template/metadata/annotations").path(Manifests.CONFIG_HASH);
        assertFalse(hashOf.apply("print(1)").asText().isEmpty());
        assertEquals(hashOf.apply("print(1)"), hashOf.apply("print(1)"), "the same script, the same template: no roll");
        assertNotEquals(hashOf.apply("print(1)"), hashOf.apply("print(2)"), "a changed script changes the template: the pods restart on it");
        JsonNode plain = Manifests.render(t, Map.of("SCRIPT", "print(1)"), false).stream()
                .filter(o -> o.at("/metadata/name").asText().equals("plain")).findFirst().orElseThrow();
        assertTrue(plain.at("/spec/template/metadata/annotations").isMissingNode(), plain.toString());
        // The gateway, the one Deployment that runs a script from a ConfigMap, carries it.
        assertTrue(bundled(true).stream().filter(o -> o.at("/metadata/name").asText().equals("metaflow-gateway") && o.at("/kind").asText().equals("Deployment"))
                .map(d -> d.at("/spec/template/metadata/annotations").path(Manifests.CONFIG_HASH).asText()).allMatch(h -> h.length() == 16));
        assertEquals(1, bundled(true).stream().filter(o -> o.at("/metadata/name").asText().equals("metaflow-gateway")
                && o.at("/kind").asText().equals("Deployment")).count());
    }
}
