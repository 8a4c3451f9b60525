import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServicesTest {
    @TempDir Path home;
    KubeFake kube;
    MiniArm arm;
    Path argoDir;
    /** Deployments the fake "controller" leaves unready. */
    final Set<String> broken = java.util.concurrent.ConcurrentHashMap.newKeySet();
    final AtomicBoolean stopController = new AtomicBoolean();
    Thread controller;

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

    @BeforeEach
    void setUp() throws Exception {
        kube = new KubeFake();
        arm = MiniArm.withStack("acme", "default", "eastus", kube.kubeconfig("aks-acme-metaflow-default"));
        argoDir = Files.createDirectories(home.resolve("argo"));
        Files.writeString(argoDir.resolve("argo-workflows-install.yaml"), WORKFLOWS);
        Files.writeString(argoDir.resolve("argo-events-install.yaml"), EVENTS);
        // Plays the deployment controller: marks each deployment rolled out, unless the test broke it.
        controller = new Thread(() -> {
            while (!stopController.get()) {
                for (ObjectNode d : kube.all("Deployment")) {
                    String ns = d.path("metadata").path("namespace").asText();
                    String name = d.path("metadata").path("name").asText();
                    if (broken.contains(name)) continue;
                    long gen = d.path("metadata").path("generation").asLong(1);
                    if (d.path("status").path("observedGeneration").asLong(-1) == gen) continue;
                    int replicas = d.path("spec").path("replicas").asInt(1);
                    kube.edit("/apis/apps/v1/namespaces/" + ns + "/deployments/" + name, o -> o.putObject("status")
                            .put("observedGeneration", gen).put("replicas", replicas).put("readyReplicas", replicas)
                            .put("updatedReplicas", replicas).put("availableReplicas", replicas));
                }
                try { Thread.sleep(50); } catch (InterruptedException e) { return; }
            }
        });
        controller.setDaemon(true);
        controller.start();
    }

    @AfterEach
    void tearDown() throws Exception {
        stopController.set(true);
        controller.join(2000);
        kube.close();
    }

    record Run(int code, String out, String err) {}

    Run run(MiniArm azure, String... args) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        int code = services.run(args, new AzureLogin.Host(Map.of(), home), azure == null ? null : azure.transport(),
                new PrintStream(o, true, StandardCharsets.UTF_8), new PrintStream(e, true, StandardCharsets.UTF_8));
        return new Run(code, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    }

    Run deploy(String... extra) {
        List<String> args = new ArrayList<>(List.of("--argo-manifests", argoDir.toString(), "--timeout", "20"));
        args.addAll(List.of(extra));
        return run(arm, args.toArray(String[]::new));
    }

    static String decode(JsonNode secret, String key) {
        return new String(Base64.getDecoder().decode(secret.path("data").path(key).asText()), StandardCharsets.UTF_8);
    }

    @Test
    void firstDeployAppliesEverythingMintsThePasswordAndMergesKubeconfig() throws Exception {
        Path kc = home.resolve(".kube/config");
        Files.createDirectories(kc.getParent());
        Files.writeString(kc, "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: 'https://other:443'}\n"
                + "contexts:\n- name: other\n  context: {cluster: other, user: other}\nusers:\n- name: other\n  user: {token: t}\ncurrent-context: other\n");
        Run r = deploy();
        assertEquals(0, r.code, r.err + r.out);
        for (String d : List.of("metaflow/metadata-service", "metaflow/metaflow-ui-backend-service", "metaflow/metaflow-ui-static-service",
                "argo/workflow-controller", "argo/argo-server", "argo-events/controller-manager")) {
            assertTrue(kube.keys().contains("Deployment " + d), d + " in " + kube.keys());
        }
        assertTrue(kube.keys().contains("EventBus metaflow/default"), kube.keys().toString());
        assertTrue(kube.keys().contains("EventSource metaflow/argo-events-webhook"));
        ObjectNode sa = kube.stored("/api/v1/namespaces/metaflow/serviceaccounts/metaflow");
        assertEquals("11111111-2222-3333-4444-555555555555", sa.path("metadata").path("annotations").path("azure.workload.identity/client-id").asText());
        // The password is set on Azure first and stored in the Secret; it appears nowhere else.
        assertNotNull(arm.dbPassword);
        ObjectNode secret = kube.stored("/api/v1/namespaces/metaflow/secrets/metaflow-db");
        assertEquals(arm.dbPassword, decode(secret, "MF_METADATA_DB_PSWD"));
        assertFalse(r.out.contains(arm.dbPassword) || r.err.contains(arm.dbPassword));
        // Applied server-side, under one field manager.
        assertTrue(kube.requests.stream().anyMatch(q -> q.startsWith("PATCH ") && q.contains("fieldManager=metaflow-azure-toolkit")), kube.requests.toString());
        // The kubeconfig keeps the other entries and gains the AKS one, readable by the owner only.
        String merged = Files.readString(kc);
        assertTrue(merged.contains("name: other") && merged.contains("aks-acme-metaflow-default"), merged);
        assertTrue(merged.contains("current-context: aks-acme-metaflow-default"), merged);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kc)));
        assertFalse(merged.contains(arm.dbPassword));
        assertTrue(r.out.contains("export METAFLOW_PROFILE=acme-default"), r.out);
        assertTrue(r.out.contains("services.java --forward"), r.out);
    }

    @Test
    void configFileHoldsEveryKeyAndIsKeptUnlessForced() throws Exception {
        Run r = deploy();
        assertEquals(0, r.code, r.err);
        Path file = home.resolve(".metaflowconfig/config_acme-default.json");
        JsonNode c = Json.parse(Files.readString(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertEquals("azure", c.path("METAFLOW_DEFAULT_DATASTORE").asText());
        assertEquals("metaflow-storage-container/metaflow", c.path("METAFLOW_DATASTORE_SYSROOT_AZURE").asText());
        assertEquals("https://stacmemfdefault.blob.core.windows.net/", c.path("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT").asText());
        assertEquals("service", c.path("METAFLOW_DEFAULT_METADATA").asText());
        assertEquals("http://127.0.0.1:8080/", c.path("METAFLOW_SERVICE_URL").asText());
        assertEquals("http://metadata-service.metaflow:8080/", c.path("METAFLOW_SERVICE_INTERNAL_URL").asText());
        assertEquals("metaflow", c.path("METAFLOW_KUBERNETES_NAMESPACE").asText());
        assertEquals("metaflow", c.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText());
        assertEquals("azure.workload.identity/use=true", c.path("METAFLOW_KUBERNETES_LABELS").asText());
        assertEquals("default", c.path("METAFLOW_ARGO_EVENTS_EVENT_BUS").asText());
        assertEquals("argo-events-webhook", c.path("METAFLOW_ARGO_EVENTS_EVENT_SOURCE").asText());
        assertEquals("metaflow-event", c.path("METAFLOW_ARGO_EVENTS_EVENT").asText());
        assertEquals("operate-workflow-sa", c.path("METAFLOW_ARGO_EVENTS_SERVICE_ACCOUNT").asText());
        assertEquals("http://argo-events-webhook-eventsource-svc.metaflow:12000/metaflow-event", c.path("METAFLOW_ARGO_EVENTS_WEBHOOK_URL").asText());
        assertEquals("true", c.path("METAFLOW_ARGO_WORKFLOWS_USE_SCHEDULES").asText());
        assertFalse(Files.readString(file).contains(arm.dbPassword));

        Files.writeString(file, "{\"METAFLOW_DEFAULT_DATASTORE\": \"local\"}");
        Run kept = deploy();
        assertEquals(0, kept.code);
        assertTrue(kept.err.contains("--force"), kept.err);
        assertTrue(Files.readString(file).contains("local"));
        Run forced = deploy("--force");
        assertEquals(0, forced.code);
        assertEquals("azure", Json.parse(Files.readString(file)).path("METAFLOW_DEFAULT_DATASTORE").asText());
    }

    @Test
    void unchangedRerunOnlyReads() {
        assertEquals(0, deploy().code);
        String password = arm.dbPassword;
        kube.requests.clear();
        arm.requests.clear();
        Run again = deploy();
        assertEquals(0, again.code, again.err);
        assertEquals(List.of(), kube.writes());
        assertTrue(arm.requests.stream().noneMatch(q -> q.startsWith("PATCH")), arm.requests.toString());
        assertEquals(password, arm.dbPassword);
        assertTrue(again.out.contains("0 changed"), again.out);
    }

    @Test
    void newImageTagRollsTheDeploymentsThatUseIt() {
        assertEquals(0, deploy().code);
        String path = "/apis/apps/v1/namespaces/metaflow/deployments/metadata-service";
        long before = kube.stored(path).path("metadata").path("generation").asLong();
        kube.requests.clear();
        Run r = deploy("--metadata-image", "public.ecr.aws/outerbounds/metaflow_metadata_service:2.5.1");
        assertEquals(0, r.code, r.err);
        ObjectNode d = kube.stored(path);
        assertTrue(d.path("metadata").path("generation").asLong() > before);
        assertEquals("public.ecr.aws/outerbounds/metaflow_metadata_service:2.5.1",
                d.path("spec").path("template").path("spec").path("containers").path(0).path("image").asText());
        List<String> writes = kube.writes();
        assertEquals(2, writes.size(), writes.toString());
        assertTrue(writes.stream().allMatch(w -> w.contains("/deployments/metadata-service") || w.contains("/deployments/metaflow-ui-backend-service")));
        assertEquals(0, kube.stored("/apis/apps/v1/namespaces/metaflow/deployments/metaflow-ui-static-service").path("metadata").path("generation").asLong() - 1);
    }

    @Test
    void crashLoopingPodIsDiagnosedWithItsLastLogLines() {
        broken.add("metadata-service");
        ObjectNode pod = Json.obj().put("apiVersion", "v1").put("kind", "Pod");
        pod.putObject("metadata").put("name", "metadata-service-abc").put("namespace", "metaflow").putObject("labels")
                .put("app.kubernetes.io/name", "metadata-service");
        pod.putObject("spec").putArray("containers").addObject().put("name", "metadata-service").put("image", "x");
        ObjectNode cs = pod.putObject("status").put("phase", "Running").putArray("containerStatuses").addObject()
                .put("name", "metadata-service").put("image", "x").put("restartCount", 4).put("ready", false);
        cs.putObject("state").putObject("waiting").put("reason", "CrashLoopBackOff");
        kube.create("/api/v1/namespaces/metaflow/pods", pod);
        kube.logs.put("metadata-service-abc", "starting\npsycopg2.OperationalError: could not connect to server\n");
        Run r = deploy();
        assertEquals(1, r.code, r.out);
        assertTrue(r.err.contains("CrashLoopBackOff") || r.err.contains("crash-looping"), r.err);
        assertTrue(r.err.contains("could not connect to server"), r.err);
        assertTrue(r.err.contains("metadata-service-abc"), r.err);
    }

    @Test
    void missingPlaceholderIsAnErrorNamingIt() throws Exception {
        Path dir = Files.createDirectories(home.resolve("mine"));
        Files.writeString(dir.resolve("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: ${NAMESPACE}\n"
                + "data:\n  a: \"${NOT_A_FACT}\"\n");
        Run r = run(null, "--prefix", "acme", "--dry-run", "--no-argo", "--manifests", dir.toString());
        assertEquals(2, r.code, r.out + r.err);
        assertTrue(r.err.contains("${NOT_A_FACT}"), r.err);
        assertFalse(r.out.contains("kind: ConfigMap"));
        Run deployRun = deploy("--manifests", dir.toString());
        assertEquals(2, deployRun.code, deployRun.err);
        assertEquals(List.of(), kube.writes());
    }

    @Test
    void bringYourOwnClusterUsesTheGivenKubeconfig() throws Exception {
        arm.kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\n";  // the stack's AKS must not be used
        Path mine = home.resolve("my-cluster.yaml");
        Files.writeString(mine, kube.kubeconfig("byo") + "\n");
        Run r = deploy("--kubeconfig", mine.toString(), "--context", "byo");
        assertEquals(0, r.code, r.err + r.out);
        assertTrue(kube.keys().contains("Deployment metaflow/metadata-service"));
        assertTrue(arm.requests.stream().noneMatch(q -> q.contains("listClusterUserCredential")), arm.requests.toString());
        assertFalse(Files.exists(home.resolve(".kube/config")));
    }

    @Test
    void dryRunRendersValidKubernetesYamlWithoutAzureOrCluster() throws Exception {
        Run r = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString());
        assertEquals(0, r.code, r.err);
        List<ObjectNode> docs = Manifests.parse("stdout", r.out);
        assertTrue(docs.size() > 20, "" + docs.size());
        for (ObjectNode d : docs) {
            assertFalse(d.path("apiVersion").asText().isEmpty());
            assertFalse(d.path("kind").asText().isEmpty());
            assertFalse(d.path("metadata").path("name").asText().isEmpty());
        }
        int services = 0;
        for (ObjectNode s : docs) {
            if (!s.path("kind").asText().equals("Service")) continue;
            services++;
            assertTrue(docs.stream().anyMatch(d -> d.path("kind").asText().equals("Deployment")
                    && d.path("metadata").path("namespace").asText().equals(s.path("metadata").path("namespace").asText())
                    && Manifests.matches(s.path("spec").path("selector"), d.path("spec").path("template").path("metadata").path("labels"))),
                    "selector of " + Manifests.id(s));
        }
        assertEquals(4, services);
        for (ObjectNode d : docs) {
            if (!d.path("kind").asText().equals("Deployment")) continue;
            assertTrue(Manifests.matches(d.path("spec").path("selector").path("matchLabels"), d.path("spec").path("template").path("metadata").path("labels")));
        }
        assertTrue(r.out.contains("MF_METADATA_DB_SSL_MODE: require"));
        assertEquals(List.of(), kube.requests);
        assertTrue(arm.requests.isEmpty());
    }

    @Test
    void argoManifestWithUnexpectedImageIsRefused() throws Exception {
        Files.writeString(argoDir.resolve("argo-workflows-install.yaml"), WORKFLOWS.replace("argocli:v4.1.0", "argocli:latest"));
        Run r = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString());
        assertEquals(2, r.code);
        assertTrue(r.err.contains("argocli:latest"), r.err);
    }

    Path ownKubeconfig() throws Exception {
        Path mine = home.resolve("fake.yaml");
        Files.writeString(mine, kube.kubeconfig("fake"));
        return mine;
    }

    @Test
    void statusOnAHealthyStack() throws Exception {
        assertEquals(0, deploy().code);
        Run r = run(null, "--status", "--kubeconfig", ownKubeconfig().toString(), "--prefix", "acme");
        assertEquals(0, r.code, r.out + r.err);
        assertTrue(r.out.contains("Healthy."), r.out);
        assertTrue(r.out.contains("database check"), r.out);
        assertTrue(r.out.contains("argo/workflow-controller"), r.out);
        assertTrue(r.out.contains("config profile acme-default"), r.out);
    }

    @Test
    void statusOnABrokenStack() throws Exception {
        assertEquals(0, deploy().code);
        kube.healthStatus = 503;
        kube.healthBody = "{\"status\": \"DOWN\", \"db\": \"connection refused\"}";
        broken.add("argo-server");
        kube.edit("/apis/apps/v1/namespaces/argo/deployments/argo-server", o -> ((ObjectNode) o.get("status")).put("readyReplicas", 0));
        Run r = run(null, "--status", "--kubeconfig", ownKubeconfig().toString(), "--prefix", "acme");
        assertEquals(1, r.code, r.out);
        assertTrue(r.out.matches("(?s).*FAIL +database check.*"), r.out);
        assertTrue(r.out.matches("(?s).*FAIL +argo/argo-server +0/1.*"), r.out);
    }

    @Test
    void forwardFollowsAReplacedPod() throws Exception {
        assertEquals(0, deploy("--no-argo").code);
        for (String[] p : List.of(new String[] {"md-1", "metadata-service"}, new String[] {"be-1", "metaflow-ui-backend-service"},
                new String[] {"ui-1", "metaflow-ui-static-service"})) {
            kube.create("/api/v1/namespaces/metaflow/pods", runningPod(p[0], p[1]));
        }
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(o, true, StandardCharsets.UTF_8);
        AtomicBoolean stop = new AtomicBoolean();
        Path kc = ownKubeconfig();
        int[] code = {-1};
        Thread t = new Thread(() -> code[0] = services.run(new String[] {"--forward", "--no-argo", "--kubeconfig", kc.toString()},
                new AzureLogin.Host(Map.of(), home), null, out, out, stop));
        t.start();
        try {
            await(() -> o.toString().contains("(pod md-1)"), o);
            kube.delete("/api/v1/namespaces/metaflow/pods/md-1");
            kube.create("/api/v1/namespaces/metaflow/pods", runningPod("md-2", "metadata-service"));
            await(() -> o.toString().contains("(pod md-2)"), o);
        } finally {
            stop.set(true);
            t.join(10000);
        }
        assertEquals(0, code[0], o.toString());
    }

    static ObjectNode runningPod(String name, String app) {
        ObjectNode pod = Json.obj().put("apiVersion", "v1").put("kind", "Pod");
        pod.putObject("metadata").put("name", name).put("namespace", "metaflow").putObject("labels").put("app.kubernetes.io/name", app);
        pod.putObject("spec").putArray("containers").addObject().put("name", "c").put("image", "x");
        pod.putObject("status").put("phase", "Running");
        return pod;
    }

    static void await(java.util.function.BooleanSupplier cond, ByteArrayOutputStream o) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 15000;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new AssertionError("timed out; output so far:\n" + o);
            Thread.sleep(100);
        }
    }
}
