import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import azure.AzureLogin;
import azure.Clouds;
import azure.LocalFiles;
import azure.Stack;
import cluster.Manifests;
import cluster.Pins;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.KubeFake;
import fake.ScriptRun;
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
    /** A second admin's machine: another home directory, same Azure and cluster. */
    @TempDir Path otherHome;
    KubeFake kube;
    /** Azure with a provisioned workload-identity stack acme-default whose AKS kubeconfig points at the kube fake. */
    AzureFake azure;
    Path argoDir;

    static final String RG = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION + "/resourceGroups/rg-acme-metaflow-default-eastus";
    static final String PG = RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-acme-metaflow-default";
    static final Stack ACME = Stack.of("acme", "default", "eastus", Clouds.PUBLIC);
    /** Deployments the fake deployment controller leaves unready. */
    final Set<String> broken = java.util.concurrent.ConcurrentHashMap.newKeySet();
    AutoCloseable rollouts;

    @BeforeEach
    void setUp() throws Exception {
        kube = new KubeFake();
        azure = new AzureFake().clusterApiServer(kube.url());
        provision("--prefix", "acme", "--yes");
        argoDir = ArgoFixture.writeTo(home.resolve("argo"));
        // The nodes pull as acme's kubelet identity may (its registry's AcrPull and cache rules).
        pullAs("acme");
        // Every deployment rolls out at once, unless the test broke it.
        rollouts = kube.rollOutDeployments(broken);
    }

    @AfterEach
    void tearDown() throws Exception {
        rollouts.close();
        kube.close();
    }

    /** The fake cluster pulls as this stack's AKS kubelet identity may (its registry's AcrPull and cache rules): it is that AKS now. */
    void pullAs(String prefix) {
        String aks = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION + "/resourceGroups/rg-" + prefix + "-metaflow-default-eastus"
                + "/providers/Microsoft.ContainerService/managedClusters/aks-" + prefix + "-metaflow-default";
        kube.imagePulls(image -> azure.imagePullRefusal(aks, image));
    }

    /** Provisions a stack in the Azure fake, as an admin would before services.java. */
    void provision(String... args) {
        ScriptRun.Result r = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure), args);
        assertEquals(0, r.code, r.all());
    }

    /** services.java on a machine with this home directory, against this Azure (null: no Azure sign-in at all). */
    ScriptRun.Result run(Path home, AzureFake azure, String... args) {
        return ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home), azure == null ? null : ScriptRun.signedIn(azure), args);
    }

    ScriptRun.Result run(AzureFake azure, String... args) { return run(home, azure, args); }

    ScriptRun.Result deployFrom(Path home, String... extra) {
        List<String> args = new ArrayList<>(List.of("--argo-manifests", argoDir.toString()));
        if (!List.of(extra).contains("--timeout")) args.addAll(List.of("--timeout", "20"));
        args.addAll(List.of(extra));
        return run(home, azure, args.toArray(String[]::new));
    }

    ScriptRun.Result deploy(String... extra) { return deployFrom(home, extra); }

    /** The admin password the stack's PostgreSQL server holds now. */
    String serverPassword() {
        return azure.postgresAdminPassword(PG).orElseThrow();
    }

    /** Every file under dir whose text contains needle. */
    static List<Path> filesContaining(Path dir, String needle) throws Exception {
        try (var files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).filter(f -> {
                try {
                    return new String(Files.readAllBytes(f), StandardCharsets.UTF_8).contains(needle);
                } catch (Exception e) {
                    return false;
                }
            }).toList();
        }
    }

    static String decode(JsonNode secret, String key) {
        return new String(Base64.getDecoder().decode(secret.path("data").path(key).asText()), StandardCharsets.UTF_8);
    }

    /** MF_METADATA_DB_POOL_MIN/MAX of a deployment's service container, as deployed. */
    String pools(String deployment) {
        ObjectNode d = kube.stored("/apis/apps/v1/namespaces/metaflow-services/deployments/" + deployment);
        Map<String, String> env = new java.util.TreeMap<>();
        for (JsonNode e : d.path("spec").path("template").path("spec").path("containers").path(0).path("env")) {
            if (e.path("name").asText().startsWith("MF_METADATA_DB_POOL_")) env.put(e.path("name").asText(), e.path("value").asText());
        }
        return env.toString();
    }

    @Test
    void databasePoolsAreSizedToWhatTheServerAllows() {
        // Standard_B2s: 429 connections, 414 for users: the default pools (1-10, six of them, twice in a rollout) fit.
        assertEquals(0, deploy("--prefix", "acme").code);
        assertEquals("{MF_METADATA_DB_POOL_MAX=10, MF_METADATA_DB_POOL_MIN=1}", pools("metadata-service"));
        assertEquals("{MF_METADATA_DB_POOL_MAX=10, MF_METADATA_DB_POOL_MIN=1}", pools("metaflow-ui-backend-service"));
        // Standard_B1ms: 50 connections, 35 for users: 5 spare, 30 left for 12 pools -> 2 each.
        provision("--prefix", "acme", "--postgres-sku", "Standard_B1ms", "--yes");
        ScriptRun.Result r = deploy("--prefix", "acme");
        assertEquals(0, r.code, r.all());
        assertEquals("{MF_METADATA_DB_POOL_MAX=2, MF_METADATA_DB_POOL_MIN=1}", pools("metadata-service"));
        assertEquals("{MF_METADATA_DB_POOL_MAX=2, MF_METADATA_DB_POOL_MIN=1}", pools("metaflow-ui-backend-service"));
        // A server whose max_connections was lowered by hand below what the services need: refused, with what to do.
        azure.seed(PG + "/configurations/max_connections", Json.parse("{\"properties\":{\"value\":\"25\",\"source\":\"user-override\"}}"));
        ScriptRun.Result low = deploy("--prefix", "acme");
        assertEquals(1, low.code, low.all());
        assertTrue(low.err.contains("allows 25 connections"), low.err);
        assertTrue(low.err.contains("choose a larger --postgres-sku"), low.err);
    }

    @Test
    void firstDeployFindsTheOnlyStackAppliesEverythingAndMergesKubeconfig() throws Exception {
        Path kc = home.resolve(".kube/config");
        Files.createDirectories(kc.getParent());
        Files.writeString(kc, "apiVersion: v1\nkind: Config\nclusters:\n- name: other\n  cluster: {server: 'https://other:443'}\n"
                + "contexts:\n- name: other\n  context: {cluster: other, user: other}\nusers:\n- name: other\n  user: {token: t}\ncurrent-context: other\n");
        ScriptRun.Result r = deploy();  // no --prefix: the subscription holds exactly one stack
        assertEquals(0, r.code, r.err + r.out);
        assertTrue(r.out.contains("Stack acme-default in subscription Fake Subscription"), r.out);
        assertTrue(azure.requests().stream().anyMatch(q -> q.path().endsWith("/managedClusters/aks-acme-metaflow-default/listClusterUserCredential")));
        for (String d : List.of("metaflow-services/metadata-service", "metaflow-services/metaflow-ui-backend-service",
                "metaflow-services/metaflow-ui-static-service", "metaflow/metaflow-gateway",
                "argo/workflow-controller", "argo/argo-server", "argo-events/controller-manager")) {
            assertTrue(kube.keys().contains("Deployment " + d), d + " in " + kube.keys());
        }
        assertTrue(kube.keys().contains("EventBus metaflow/default"), kube.keys().toString());
        assertTrue(kube.keys().contains("EventSource metaflow/argo-events-webhook"));
        // The service account carries the client id of the stack's managed identity, as Azure has it.
        String clientId = azure.resource(RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acme-metaflow-default")
                .orElseThrow().at("/properties/clientId").asText();
        assertFalse(clientId.isEmpty());
        // ... in the flows' namespace (task pods) and in the services' (whose pods run as their own account).
        for (String ns : List.of("metaflow", "metaflow-services")) {
            ObjectNode sa = kube.stored("/api/v1/namespaces/" + ns + "/serviceaccounts/metaflow");
            assertEquals(clientId, sa.path("metadata").path("annotations").path("azure.workload.identity/client-id").asText(), ns);
        }
        // The database password is out of reach of the flows' namespace, where grantees may create pods.
        assertNull(kube.stored("/api/v1/namespaces/metaflow/secrets/metaflow-db"));
        assertNotNull(kube.stored("/api/v1/namespaces/metaflow-services/secrets/metaflow-db"));
        // The old names in the flows' namespace lead to the services in theirs.
        for (String svc : List.of("metadata-service", "metaflow-ui-backend-service", "metaflow-ui-static-service")) {
            ObjectNode alias = kube.stored("/api/v1/namespaces/metaflow/services/" + svc);
            assertEquals("ExternalName", alias.path("spec").path("type").asText(), svc);
            assertEquals(svc + ".metaflow-services.svc.cluster.local", alias.path("spec").path("externalName").asText());
        }
        // Applied server-side, under one field manager.
        assertTrue(kube.requests.stream().anyMatch(q -> q.startsWith("PATCH ") && q.contains("fieldManager=metaflow-azure-toolkit")), kube.requests.toString());
        // The kubeconfig keeps the other entries and gains the AKS one (named as az aks get-credentials names it, which
        // is how teardown.java finds it), readable by the owner only.
        String merged = Files.readString(kc);
        assertTrue(merged.contains("name: other") && merged.contains("aks-acme-metaflow-default"), merged);
        assertTrue(merged.contains("current-context: aks-acme-metaflow-default"), merged);
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(kc)));
        AzureLogin.Host host = new AzureLogin.Host(Map.of(), home);
        var entry = LocalFiles.findContext(host, ACME).orElseThrow();
        assertEquals(kube.url(), entry.server());
        assertEquals(LocalFiles.kubeUser(ACME), entry.user());
        // The profile is one teardown.java recognises as written by the toolkit, unchanged.
        assertEquals(LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT, profileState(host, ACME));
        assertTrue(r.out.contains("export METAFLOW_PROFILE=acme-default"), r.out);
        assertTrue(r.out.contains("services.java forward"), r.out);
        assertTrue(r.out.contains("pip install \"metaflow>=2.19.32\""), r.out);
        // Deploy waited until the event bus and the webhook event source worked, as the Argo Events controller reports it.
        assertTrue(r.out.contains("metaflow/default (EventBus): ready"), r.out);
        assertTrue(r.out.contains("metaflow/argo-events-webhook (EventSource): ready"), r.out);
        assertTrue(r.out.contains("metaflow/argo-events-webhook-eventsource-svc (Service): exists"), r.out);
        assertNotNull(kube.stored("/api/v1/namespaces/metaflow/services/argo-events-webhook-eventsource-svc"));
    }

    @Test
    void dbPasswordIsSetOnAzureByAPolledOperationKeptOnlyInTheSecretAndNotResetFromAnotherMachine() throws Exception {
        String provisioned = serverPassword();
        azure.latency("microsoft.dbforpostgresql/flexibleservers", 400, null);  // the update takes a while, as on Azure
        int before = azure.requests().size();
        ScriptRun.Result r = deploy("--verbose");
        assertEquals(0, r.code, r.err + r.out);

        // One PATCH of the server: accepted (202), then its operation polled until it succeeded.
        List<AzureFake.Recorded> since = azure.requests().subList(before, azure.requests().size());
        List<AzureFake.Recorded> patches = since.stream().filter(q -> q.method().equals("PATCH")).toList();
        assertEquals(1, patches.size(), since.stream().map(q -> q.method() + " " + q.path()).toList().toString());
        assertTrue(patches.get(0).path().equalsIgnoreCase(PG), patches.get(0).path());
        assertEquals(202, patches.get(0).status());
        List<AzureFake.Recorded> polls = azure.polls().stream().filter(q -> q.startNanos() > patches.get(0).endNanos()).toList();
        assertFalse(polls.isEmpty(), "the password update was not polled: " + since.stream().map(q -> q.method() + " " + q.path()).toList());
        assertTrue(polls.stream().allMatch(q -> q.url().contains("Microsoft.DBforPostgreSQL")), polls.toString());

        // The password in force on the server is the one sent, and the one in the cluster Secret.
        String sent = Json.parse(patches.get(0).body()).at("/properties/administratorLoginPassword").asText();
        assertTrue(sent.length() >= 24, "weak password");
        assertNotEquals(provisioned, sent);
        assertEquals(sent, serverPassword());
        ObjectNode secret = kube.stored("/api/v1/namespaces/metaflow-services/secrets/metaflow-db");
        assertEquals(sent, decode(secret, "MF_METADATA_DB_PSWD"));
        // ... and nowhere else: not in the output (verbose included), not in any file on the machine.
        assertFalse(r.out.contains(sent) || r.err.contains(sent), "the password reached the output");
        assertEquals(List.of(), filesContaining(home, sent));
        assertTrue(Files.exists(home.resolve(".metaflowconfig/config_acme-default.json")));

        // Another admin, another machine (empty home): the Secret is there, so the password is left alone.
        int mark = azure.requests().size();
        ScriptRun.Result other = deployFrom(otherHome);
        assertEquals(0, other.code, other.err + other.out);
        assertTrue(azure.requests().subList(mark, azure.requests().size()).stream().noneMatch(q -> q.method().equals("PATCH")));
        assertEquals(sent, serverPassword());
        assertEquals(sent, decode(kube.stored("/api/v1/namespaces/metaflow-services/secrets/metaflow-db"), "MF_METADATA_DB_PSWD"));
        assertTrue(Files.exists(otherHome.resolve(".metaflowconfig/config_acme-default.json")), "the other machine got its config");
        assertEquals(List.of(), filesContaining(otherHome, sent));
    }

    @Test
    void servicePrincipalModeMintsOneClientSecretKeptOnlyInTheCluster() throws Exception {
        provision("--prefix", "beta", "--service-principal", "--yes");
        pullAs("beta");
        JsonNode app = azure.applications().stream().filter(a -> a.path("displayName").asText().equals("app-beta-metaflow-default"))
                .findFirst().orElseThrow();
        assertEquals(0, app.path("passwordCredentials").size(), "provision.java made no secret");
        ScriptRun.Result r = deploy("--prefix", "beta");
        assertEquals(0, r.code, r.err + r.out);
        assertTrue(r.out.contains("service-principal mode"), r.out);
        List<AzureFake.Recorded> adds = azure.requests().stream().filter(q -> q.path().endsWith("/addPassword")).toList();
        assertEquals(1, adds.size());
        assertTrue(adds.get(0).path().contains(app.path("id").asText()), adds.get(0).path());

        ObjectNode secret = kube.stored("/api/v1/namespaces/metaflow/secrets/metaflow-azure");
        assertNotNull(secret, kube.keys().toString());
        String clientSecret = decode(secret, "AZURE_CLIENT_SECRET");
        JsonNode creds = azure.applications().stream().filter(a -> a.path("id").equals(app.path("id"))).findFirst().orElseThrow()
                .path("passwordCredentials");
        assertEquals(1, creds.size());
        assertEquals(creds.get(0).path("hint").asText(), clientSecret.substring(0, 3), "the Secret holds the secret Graph minted");
        assertEquals(app.path("appId").asText(), decode(secret, "AZURE_CLIENT_ID"));
        assertEquals(azure.tenantId(), decode(secret, "AZURE_TENANT_ID"));
        // The UI backend, in the services' namespace, reads the same secret from a Secret there: one secret minted, not two.
        assertEquals(secret.path("data"), kube.stored("/api/v1/namespaces/metaflow-services/secrets/metaflow-azure").path("data"));
        assertFalse(r.out.contains(clientSecret) || r.err.contains(clientSecret), "the client secret reached the output");
        assertEquals(List.of(), filesContaining(home, clientSecret));

        // The config of this mode: task pods get the Secret, not the workload-identity label.
        JsonNode c = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_beta-default.json")));
        assertEquals("metaflow-azure", c.path("METAFLOW_KUBERNETES_SECRETS").asText());
        assertFalse(c.has("METAFLOW_KUBERNETES_LABELS"), c.toString());
        assertEquals("metaflow", c.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText());
        assertEquals("https://stbetamfdefault.blob.core.windows.net/", c.path("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT").asText());

        // A re-run (from another machine) adds no second password.
        ScriptRun.Result again = deployFrom(otherHome, "--prefix", "beta");
        assertEquals(0, again.code, again.err + again.out);
        assertEquals(1, azure.requests().stream().filter(q -> q.path().endsWith("/addPassword")).count());
        assertEquals(1, azure.applications().stream().filter(a -> a.path("id").equals(app.path("id"))).findFirst().orElseThrow()
                .path("passwordCredentials").size());
        assertEquals(clientSecret, decode(kube.stored("/api/v1/namespaces/metaflow/secrets/metaflow-azure"), "AZURE_CLIENT_SECRET"));
    }

    @Test
    void twoStacksAreListedAndNeitherIsTouched() {
        provision("--prefix", "beta", "--yes");
        ScriptRun.Result r = deploy();
        assertEquals(2, r.code, r.out + r.err);
        assertTrue(r.err.contains("--prefix acme --env default"), r.err);
        assertTrue(r.err.contains("--prefix beta --env default"), r.err);
        assertEquals(List.of(), kube.writes());
        assertTrue(azure.requests().stream().noneMatch(q -> q.method().equals("PATCH")));
        pullAs("beta");
        ScriptRun.Result chosen = deploy("--prefix", "beta");
        assertEquals(0, chosen.code, chosen.err + chosen.out);
        assertTrue(chosen.out.contains("Stack beta-default"), chosen.out);
    }

    @Test
    void noStackInTheSubscriptionSaysSoAndWhatToRun() {
        azure = new AzureFake().clusterApiServer(kube.url());
        ScriptRun.Result r = deploy();
        assertEquals(2, r.code, r.out + r.err);
        assertTrue(r.err.contains("no Metaflow stack found in subscription Fake Subscription"), r.err);
        assertTrue(r.err.contains("provision.java"), r.err);
        assertEquals(List.of(), kube.requests);
    }

    @Test
    void configFileHoldsEveryKeyAndIsKeptUnlessForced() throws Exception {
        ScriptRun.Result r = deploy();
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
        // Events are published where publish() runs: the laptop through forward, pods through the Service.
        assertEquals("http://127.0.0.1:12000/metaflow-event", c.path("METAFLOW_ARGO_EVENTS_WEBHOOK_URL").asText());
        assertEquals("http://argo-events-webhook-eventsource-svc.metaflow:12000/metaflow-event",
                c.path("METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL").asText());
        // Task pods go to the task pools, by the label provision.java puts on their nodes (not the system pool's); no Spot, no tolerations.
        assertEquals("metaflow-azure/tasks=true", c.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText());
        assertFalse(c.has("METAFLOW_KUBERNETES_TOLERATIONS"));
        assertEquals("true", c.path("METAFLOW_ARGO_WORKFLOWS_USE_SCHEDULES").asText());
        // Images named without a registry (Metaflow's default python:X.Y among them) come from the stack's registry, whose
        // login server is what Resource Manager says; no single image for every Python version.
        String login = azure.resource(RG + "/providers/Microsoft.ContainerRegistry/registries/cracmemfdefault").orElseThrow()
                .path("properties").path("loginServer").asText();
        assertEquals("cracmemfdefault.azurecr.io", login);
        assertEquals(login + "/metaflow", c.path("METAFLOW_KUBERNETES_CONTAINER_REGISTRY").asText());
        assertFalse(c.has("METAFLOW_KUBERNETES_CONTAINER_IMAGE"));
        assertFalse(r.out.contains("no container registry"), r.out);
        assertFalse(Files.readString(file).contains(serverPassword()));

        Files.writeString(file, "{\"METAFLOW_DEFAULT_DATASTORE\": \"local\"}");
        ScriptRun.Result kept = deploy();
        assertEquals(0, kept.code);
        assertTrue(kept.err.contains("--force"), kept.err);
        assertTrue(Files.readString(file).contains("local"));
        AzureLogin.Host host = new AzureLogin.Host(Map.of(), home);
        assertEquals(LocalFiles.ProfileState.CHANGED, profileState(host, ACME), "teardown must keep an edited profile");
        ScriptRun.Result forced = deploy("--force");
        assertEquals(0, forced.code);
        assertEquals("azure", Json.parse(Files.readString(file)).path("METAFLOW_DEFAULT_DATASTORE").asText());
        assertEquals(LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT, profileState(host, ACME));

        // The local URLs follow --port-offset, as forward --port-offset serves them; the in-cluster ones do not move.
        ScriptRun.Result shifted = deploy("--force", "--port-offset", "10000");
        assertEquals(0, shifted.code, shifted.err);
        JsonNode s = Json.parse(Files.readString(file));
        assertEquals("http://127.0.0.1:22000/metaflow-event", s.path("METAFLOW_ARGO_EVENTS_WEBHOOK_URL").asText());
        assertEquals("http://127.0.0.1:18080/", s.path("METAFLOW_SERVICE_URL").asText());
        assertEquals("http://argo-events-webhook-eventsource-svc.metaflow:12000/metaflow-event",
                s.path("METAFLOW_ARGO_EVENTS_INTERNAL_WEBHOOK_URL").asText());
        assertEquals("http://metadata-service.metaflow:8080/", s.path("METAFLOW_SERVICE_INTERNAL_URL").asText());
        // ... and the next steps name the forward that serves those URLs.
        assertTrue(shifted.out.contains("services.java forward --port-offset 10000"), shifted.out);
        assertTrue(shifted.out.contains("metadata :18080, UI http://localhost:13000"), shifted.out);
    }

    @Test
    void localFilesGoWhereKubeconfigAndMetaflowHomeSayAsTeardownExpects() throws Exception {
        Path first = home.resolve("kube/first.yaml");
        Path second = home.resolve("kube/second.yaml");
        Path mfHome = home.resolve("mf");
        Map<String, String> env = Map.of("KUBECONFIG", first + java.io.File.pathSeparator + second, "METAFLOW_HOME", mfHome.toString());
        ScriptRun.Result r = ScriptRun.run(services::run, new AzureLogin.Host(env, home), ScriptRun.signedIn(azure),
                "--argo-manifests", argoDir.toString(), "--timeout", "20");
        assertEquals(0, r.code, r.all());
        assertTrue(Files.exists(first), "the context goes into the first file of KUBECONFIG");
        assertFalse(Files.exists(second));
        assertFalse(Files.exists(home.resolve(".kube/config")));
        assertTrue(Files.exists(mfHome.resolve("config_acme-default.json")));
        assertFalse(Files.exists(home.resolve(".metaflowconfig")));
        AzureLogin.Host host = new AzureLogin.Host(env, home);
        assertTrue(LocalFiles.findContext(host, ACME).isPresent());
        assertEquals(LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT, profileState(host, ACME));
        // What teardown.java then does with them.
        assertTrue(LocalFiles.deleteProfile(LocalFiles.profiles(host, ACME).get(0), ACME));
        assertTrue(LocalFiles.removeContext(host, ACME));
        assertTrue(LocalFiles.findContext(host, ACME).isEmpty());
    }

    @Test
    void unchangedRerunOnlyReads() {
        assertEquals(0, deploy().code);
        String password = serverPassword();
        kube.requests.clear();
        int before = azure.writes().size();
        ScriptRun.Result again = deploy();
        assertEquals(0, again.code, again.err);
        // Nothing but the stack check's probes, each removed again (CheckTest looks at them closely).
        assertEquals(List.of(), kube.writes().stream().filter(w -> !w.matches(".*/jobs(/metaflow-check-.*)?|.*/workflows(/metaflow-check-.*)?"
                + "|POST .*/proxy/metaflow-event")).toList());
        assertEquals(before, azure.writes().size(), azure.writes().stream().map(q -> q.method() + " " + q.path()).toList().toString());
        assertEquals(password, serverPassword());
        assertTrue(again.out.contains("0 changed"), again.out);
    }

    @Test
    void newImageTagRollsTheDeploymentsThatUseIt() {
        assertEquals(0, deploy().code);
        String path = "/apis/apps/v1/namespaces/metaflow-services/deployments/metadata-service";
        long before = kube.stored(path).path("metadata").path("generation").asLong();
        kube.requests.clear();
        ScriptRun.Result r = deploy("--metadata-image", "public.ecr.aws/outerbounds/metaflow_metadata_service:2.5.1", "--no-check");
        assertEquals(0, r.code, r.err);
        ObjectNode d = kube.stored(path);
        assertTrue(d.path("metadata").path("generation").asLong() > before);
        assertEquals("public.ecr.aws/outerbounds/metaflow_metadata_service:2.5.1",
                d.path("spec").path("template").path("spec").path("containers").path(0).path("image").asText());
        List<String> writes = kube.writes();
        assertEquals(3, writes.size(), writes.toString());  // the gateway runs the metadata image's Python too
        assertTrue(writes.stream().allMatch(w -> w.contains("/deployments/metadata-service") || w.contains("/deployments/metaflow-ui-backend-service")
                || w.contains("/deployments/metaflow-gateway")), writes.toString());
        assertEquals(0, kube.stored("/apis/apps/v1/namespaces/metaflow-services/deployments/metaflow-ui-static-service").path("metadata").path("generation").asLong() - 1);
    }

    @Test
    void crashLoopingPodIsDiagnosedWithItsLastLogLines() {
        broken.add("metadata-service");
        ObjectNode pod = Json.obj().put("apiVersion", "v1").put("kind", "Pod");
        pod.putObject("metadata").put("name", "metadata-service-abc").put("namespace", "metaflow-services").putObject("labels")
                .put("app.kubernetes.io/name", "metadata-service");
        pod.putObject("spec").putArray("containers").addObject().put("name", "metadata-service").put("image", "x");
        ObjectNode cs = pod.putObject("status").put("phase", "Running").putArray("containerStatuses").addObject()
                .put("name", "metadata-service").put("image", "x").put("restartCount", 4).put("ready", false);
        cs.putObject("state").putObject("waiting").put("reason", "CrashLoopBackOff");
        kube.create("/api/v1/namespaces/metaflow-services/pods", pod);
        kube.logs.put("metadata-service-abc", "starting\npsycopg2.OperationalError: could not connect to server\n");
        ScriptRun.Result r = deploy();
        assertEquals(1, r.code, r.out);
        assertTrue(r.err.contains("CrashLoopBackOff") || r.err.contains("crash-looping"), r.err);
        assertTrue(r.err.contains("could not connect to server"), r.err);
        assertTrue(r.err.contains("metadata-service-abc"), r.err);
    }

    /** A pod of a deployment (by its app label), with the given status, created as the ReplicaSet controller would. */
    ObjectNode pod(String name, String app, java.util.function.Consumer<ObjectNode> status) {
        ObjectNode pod = Json.obj().put("apiVersion", "v1").put("kind", "Pod");
        pod.putObject("metadata").put("name", name).put("namespace", "metaflow-services").putObject("labels").put("app.kubernetes.io/name", app);
        pod.putObject("spec").putArray("containers").addObject().put("name", app).put("image", "x");
        status.accept(pod.putObject("status"));
        kube.create("/api/v1/namespaces/metaflow-services/pods", pod);
        return pod;
    }

    @Test
    void imagePullBackOffIsDiagnosed() {
        broken.add("metaflow-ui-static-service");
        pod("ui-abc", "metaflow-ui-static-service", st -> {
            ObjectNode cs = st.put("phase", "Pending").putArray("containerStatuses").addObject()
                    .put("name", "metaflow-ui-static-service").put("image", "public.ecr.aws/outerbounds/metaflow_ui:v9.9.9")
                    .put("restartCount", 0).put("ready", false);
            cs.putObject("state").putObject("waiting").put("reason", "ImagePullBackOff")
                    .put("message", "Back-off pulling image \"public.ecr.aws/outerbounds/metaflow_ui:v9.9.9\"");
        });
        ScriptRun.Result r = deploy("--ui-image", "public.ecr.aws/outerbounds/metaflow_ui:v9.9.9");
        assertEquals(1, r.code, r.out + r.err);
        assertTrue(r.err.contains("ImagePullBackOff"), r.err);
        assertTrue(r.err.contains("metaflow_ui:v9.9.9"), r.err);
        assertTrue(r.err.contains("ui-abc"), r.err);
        assertTrue(r.err.contains("describe pod"), r.err);
    }

    @Test
    void unschedulablePodIsDiagnosedWithTheSchedulersReason() {
        broken.add("metadata-service");
        pod("metadata-service-pending", "metadata-service", st -> st.put("phase", "Pending").putArray("conditions").addObject()
                .put("type", "PodScheduled").put("status", "False").put("reason", "Unschedulable")
                .put("message", "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available"));
        ScriptRun.Result r = deploy("--timeout", "2");
        assertEquals(1, r.code, r.out + r.err);
        assertTrue(r.err.contains("metadata-service-pending cannot be scheduled"), r.err);
        assertTrue(r.err.contains("0/2 nodes are available: 2 Insufficient cpu"), r.err);
    }

    @Test
    void failedMigrationIsDiagnosedWithItsLastLogLines() {
        broken.add("metadata-service");
        pod("metadata-service-mig", "metadata-service", st -> {
            st.put("phase", "Pending");
            ObjectNode init = st.putArray("initContainerStatuses").addObject().put("name", "db-migrations")
                    .put("image", "public.ecr.aws/outerbounds/metaflow_metadata_service:2.5.0").put("restartCount", 2).put("ready", false);
            init.putObject("state").putObject("terminated").put("exitCode", 1).put("reason", "Error");
            ObjectNode main = st.putArray("containerStatuses").addObject().put("name", "metadata-service").put("image", "x")
                    .put("restartCount", 0).put("ready", false);
            main.putObject("state").putObject("waiting").put("reason", "PodInitializing");
        });
        kube.logs.put("metadata-service-mig", "goose: running migrations\n"
                + "goose run: ERROR 20210202145952_create_tables.sql: permission denied for schema public\n");
        ScriptRun.Result r = deploy();
        assertEquals(1, r.code, r.out + r.err);
        assertTrue(r.err.contains("database migrations failed"), r.err);
        assertTrue(r.err.contains("db-migrations"), r.err);
        assertTrue(r.err.contains("permission denied for schema public"), r.err);
    }

    @Test
    void renderToWritesTheSameObjectsAsDryRun() throws Exception {
        ScriptRun.Result stdout = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString());
        assertEquals(0, stdout.code, stdout.err);
        List<ObjectNode> expected = Manifests.parse("stdout", stdout.out);
        Path dir = home.resolve("rendered");
        ScriptRun.Result files = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString(), "--render-to", dir.toString());
        assertEquals(0, files.code, files.err);
        assertTrue(files.out.contains("Wrote " + expected.size() + " objects to " + dir), files.out);
        List<Path> written;
        try (var list = Files.list(dir)) {
            written = list.sorted().toList();
        }
        assertEquals(expected.size(), written.size());
        List<ObjectNode> actual = new ArrayList<>();
        for (Path f : written) {
            List<ObjectNode> docs = Manifests.parse(f.toString(), Files.readString(f));  // valid YAML, one object per file
            assertEquals(1, docs.size(), f.toString());
            ObjectNode o = docs.get(0);
            assertTrue(f.getFileName().toString().matches("\\d{3}-" + o.path("kind").asText().toLowerCase() + "-.+\\.yaml"), f.toString());
            actual.add(o);
        }
        assertEquals(expected, actual);
        assertEquals(List.of(), kube.requests);
        ScriptRun.Result without = run(null, "--prefix", "acme", "--render-to", dir.toString());
        assertEquals(2, without.code, without.err);
    }

    @Test
    void missingPlaceholderIsAnErrorNamingIt() throws Exception {
        Path dir = Files.createDirectories(home.resolve("mine"));
        Files.writeString(dir.resolve("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: ${NAMESPACE}\n"
                + "data:\n  a: \"${NOT_A_FACT}\"\n");
        ScriptRun.Result r = run(null, "--prefix", "acme", "--dry-run", "--no-argo", "--manifests", dir.toString());
        assertEquals(2, r.code, r.out + r.err);
        assertTrue(r.err.contains("${NOT_A_FACT}"), r.err);
        assertFalse(r.out.contains("kind: ConfigMap"));
        ScriptRun.Result deployRun = deploy("--manifests", dir.toString());
        assertEquals(2, deployRun.code, deployRun.err);
        assertEquals(List.of(), kube.writes());
    }

    @Test
    void bringYourOwnClusterUsesTheGivenKubeconfig() throws Exception {
        azure.clusterApiServer("http://127.0.0.1:9");  // the stack's AKS must not be used
        Path mine = home.resolve("my-cluster.yaml");
        Files.writeString(mine, kube.kubeconfig("byo") + "\n");
        ScriptRun.Result r = deploy("--kubeconfig", mine.toString(), "--context", "byo");
        assertEquals(0, r.code, r.err + r.out);
        assertTrue(kube.keys().contains("Deployment metaflow-services/metadata-service"));
        assertTrue(azure.requests().stream().noneMatch(q -> q.path().contains("listClusterUserCredential")), azure.requests().toString());
        assertFalse(Files.exists(home.resolve(".kube/config")));
        // Entra ID does not apply to a cluster of one's own: the run says what it used.
        assertTrue(r.out.contains("Cluster " + kube.url() + "/ of " + mine + " (context byo), with the credential that kubeconfig holds"), r.out);
    }

    @Test
    void dryRunRendersValidKubernetesYamlWithoutAzureOrCluster() throws Exception {
        ScriptRun.Result r = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString());
        assertEquals(0, r.code, r.err);
        List<ObjectNode> docs = Manifests.parse("stdout", r.out);
        assertTrue(docs.size() > 20, "" + docs.size());
        for (ObjectNode d : docs) {
            assertFalse(d.path("apiVersion").asText().isEmpty());
            assertFalse(d.path("kind").asText().isEmpty());
            assertFalse(d.path("metadata").path("name").asText().isEmpty());
        }
        int services = 0;
        int aliases = 0;
        for (ObjectNode s : docs) {
            if (!s.path("kind").asText().equals("Service")) continue;
            if (s.path("spec").path("type").asText().equals("ExternalName")) {
                aliases++;
                assertEquals("metaflow", s.path("metadata").path("namespace").asText());
                assertTrue(s.path("spec").path("externalName").asText().endsWith(".metaflow-services.svc.cluster.local"), s.toString());
                continue;
            }
            services++;
            assertTrue(docs.stream().anyMatch(d -> d.path("kind").asText().equals("Deployment")
                    && d.path("metadata").path("namespace").asText().equals(s.path("metadata").path("namespace").asText())
                    && Manifests.matches(s.path("spec").path("selector"), d.path("spec").path("template").path("metadata").path("labels"))),
                    "selector of " + Manifests.id(s));
        }
        assertEquals(5, services);  // the three services, the gateway, the Argo server
        assertEquals(3, aliases);
        // The database password's Secret (a placeholder here) is in the services' namespace only.
        assertEquals(List.of("metaflow-services"), docs.stream().filter(d -> d.path("kind").asText().equals("Secret")
                        && (d.path("data").has("MF_METADATA_DB_PSWD") || d.path("stringData").has("MF_METADATA_DB_PSWD")))
                .map(d -> d.path("metadata").path("namespace").asText()).toList());
        for (ObjectNode d : docs) {
            if (!d.path("kind").asText().equals("Deployment")) continue;
            assertTrue(Manifests.matches(d.path("spec").path("selector").path("matchLabels"), d.path("spec").path("template").path("metadata").path("labels")));
        }
        assertTrue(r.out.contains("MF_METADATA_DB_SSL_MODE: require"));
        assertEquals(List.of(), kube.requests);
    }

    @Test
    void argoManifestWithUnexpectedImageIsRefused() throws Exception {
        Files.writeString(argoDir.resolve("argo-workflows-install.yaml"), ArgoFixture.WORKFLOWS.replace("argocli:" + Pins.ARGO_WORKFLOWS, "argocli:latest"));
        ScriptRun.Result r = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString());
        assertEquals(2, r.code);
        assertTrue(r.err.contains("argocli:latest"), r.err);
    }

    /** The EventBus objects of a dry run's YAML. */
    static List<ObjectNode> eventBuses(String yaml) {
        return Manifests.parse("stdout", yaml).stream().filter(o -> o.path("kind").asText().equals("EventBus")).toList();
    }

    @Test
    void eventBusAsksForAJetStreamVersionTheArgoEventsReleaseLists() throws Exception {
        // A release shaped like v1.9.6: the newest it lists is 2.10.10 (2.10.29 would be refused by its controller).
        ArgoFixture.writeEvents(argoDir, ArgoFixture.events("v1.9.6", ArgoFixture.JETSTREAM_V1_9_6));
        ScriptRun.Result old = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString(), "--argo-events-version", "v1.9.6");
        assertEquals(0, old.code, old.err);
        List<ObjectNode> buses = eventBuses(old.out);
        assertEquals(1, buses.size());
        String asked = buses.get(0).path("spec").path("jetstream").path("version").asText();
        assertEquals("2.10.10", asked);
        assertTrue(ArgoFixture.JETSTREAM_V1_9_6.contains(asked));
        assertTrue(old.err.contains("JetStream 2.10.10"), "the dry run names the chosen version: " + old.err);

        // Shaped like v1.9.11 (the pin): the newest it lists, compared as numbers (2.10.29 over 2.9.16).
        ArgoFixture.writeEvents(argoDir, ArgoFixture.events(Pins.ARGO_EVENTS, ArgoFixture.JETSTREAM_V1_9_11));
        ScriptRun.Result pinned = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString());
        assertEquals(0, pinned.code, pinned.err);
        assertEquals("2.10.29", eventBuses(pinned.out).get(0).path("spec").path("jetstream").path("version").asText());
        assertTrue(pinned.err.contains("JetStream 2.10.29"), pinned.err);

        // --jetstream-version picks another listed one.
        ScriptRun.Result chosen = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString(), "--jetstream-version", "2.9.16");
        assertEquals(0, chosen.code, chosen.err);
        assertEquals("2.9.16", eventBuses(chosen.out).get(0).path("spec").path("jetstream").path("version").asText());
        assertEquals(List.of(), kube.requests);
    }

    @Test
    void unlistedJetStreamVersionIsBadInputBeforeAnyRequest() throws Exception {
        ArgoFixture.writeEvents(argoDir, ArgoFixture.events("v1.9.6", ArgoFixture.JETSTREAM_V1_9_6));
        int azureBefore = azure.requests().size();
        ScriptRun.Result r = deploy("--argo-events-version", "v1.9.6", "--jetstream-version", "2.10.29");
        assertEquals(2, r.code, r.out + r.err);
        assertTrue(r.err.contains("--jetstream-version"), r.err);
        assertTrue(r.err.contains("'2.10.29'"), r.err);
        assertTrue(r.err.contains("latest, 2.8.1, 2.8.1-alpine, 2.8.2, 2.8.2-alpine, 2.9.1, 2.9.12, 2.9.16, 2.10.10"), "names the listed versions: " + r.err);
        assertEquals(2, r.err.strip().split("\n").length, "one line what is wrong, one what to do: " + r.err);
        assertEquals(List.of(), kube.requests, "no cluster request");
        assertEquals(azureBefore, azure.requests().size(), "no Azure request either");
        ScriptRun.Result dry = run(null, "--prefix", "acme", "--dry-run", "--argo-manifests", argoDir.toString(),
                "--argo-events-version", "v1.9.6", "--jetstream-version", "2.10.29");
        assertEquals(2, dry.code, dry.out + dry.err);
        assertEquals("", dry.out);
    }

    @Test
    void eventBusTheControllerRefusesFailsDeployAndStatusWithItsDiagnosis() throws Exception {
        // The old mistake, made by the user's own templates: a bus asking for 2.10.29 on Argo Events v1.9.6.
        ArgoFixture.writeEvents(argoDir, ArgoFixture.events("v1.9.6", ArgoFixture.JETSTREAM_V1_9_6));
        Path mine = Files.createDirectories(home.resolve("my-manifests"));
        for (Manifests.Template t : Manifests.templates(null)) {
            Files.writeString(mine.resolve(t.name()), t.text().replace("${JETSTREAM_VERSION}", "2.10.29"));
        }
        ScriptRun.Result r = deploy("--argo-events-version", "v1.9.6", "--manifests", mine.toString());
        assertEquals(1, r.code, r.out + r.err);
        // Every deployment was ready; the bus was not, and the controller's message says why.
        assertTrue(r.out.contains("argo-events/controller-manager: 1/1 ready"), r.out);
        assertTrue(r.err.contains("metaflow/default (EventBus) is Deployed=False (JetStreamStatefulSetFailed)"), r.err);
        assertTrue(r.err.contains("unsupported version \"2.10.29\", supported versions: \"latest,2.8.1,2.8.1-alpine,2.8.2,2.8.2-alpine,2.9.1,2.9.12,2.9.16,2.10.10\""), r.err);
        assertTrue(r.err.contains("--jetstream-version"), "says what to do: " + r.err);
        assertFalse(Files.exists(home.resolve(".metaflowconfig/config_acme-default.json")), "no config for a stack that does not work");

        ScriptRun.Result st = run(null, "status", "--kubeconfig", ownKubeconfig().toString(), "--prefix", "acme");
        assertEquals(1, st.code, st.out);
        assertTrue(st.out.matches("(?s).*FAIL +metaflow/default \\(EventBus\\) +Deployed=False \\(JetStreamStatefulSetFailed\\).*unsupported version.*"), st.out);
        assertTrue(st.out.matches("(?s).*FAIL +metaflow/argo-events-webhook \\(EventSource\\) +Deployed=False \\(EventBusNotReady\\).*"), st.out);
        assertTrue(st.out.matches("(?s).*FAIL +metaflow/argo-events-webhook-eventsource-svc \\(Service\\) +missing.*"), st.out);
        assertTrue(st.out.contains("--jetstream-version"), st.out);
        assertTrue(st.out.contains("Unhealthy"), st.out);

        // Deploying with the bundled templates again asks for a version the release lists: the bus comes up. The refusal
        // of the old spec stays in the status until the controller gets to the new one (held back here for a moment):
        // the deploy must wait for it rather than fail on the stale refusal.
        broken.add("controller-manager");
        Thread release = new Thread(() -> {
            try {
                Thread.sleep(1500);
            } catch (InterruptedException e) {
                return;
            }
            broken.remove("controller-manager");
        });
        release.start();
        ScriptRun.Result fixed = deploy("--argo-events-version", "v1.9.6");
        release.join();
        assertEquals(0, fixed.code, fixed.out + fixed.err);
        assertEquals(0, run(null, "status", "--kubeconfig", ownKubeconfig().toString(), "--prefix", "acme").code);
    }

    @Test
    void eventSourceWithoutItsBusMakesStatusUnhealthy() throws Exception {
        assertEquals(0, deploy().code);
        String source = "/apis/argoproj.io/v1alpha1/namespaces/metaflow/eventsources/argo-events-webhook";
        kube.delete("/apis/argoproj.io/v1alpha1/namespaces/metaflow/eventbus/default");
        await(() -> kube.stored(source).path("status").toString().contains("EventBusNotFound"), new ByteArrayOutputStream());
        ScriptRun.Result st = run(null, "status", "--kubeconfig", ownKubeconfig().toString(), "--prefix", "acme");
        assertEquals(1, st.code, st.out);
        assertTrue(st.out.matches("(?s).*FAIL +metaflow/default \\(EventBus\\) +missing.*"), st.out);
        assertTrue(st.out.matches("(?s).*FAIL +metaflow/argo-events-webhook \\(EventSource\\) +Deployed=False \\(EventBusNotFound\\).*"), st.out);
    }

    @Test
    void helpShowsThePinnedDefaultsAndUpstreamRecordsEach() throws Exception {
        ScriptRun.Result r = run(null, "--help");
        assertEquals(0, r.code, r.err);
        String upstream = Files.readString(Path.of("UPSTREAM.md"));
        String help = r.out.replaceAll("\\s+", "");  // picocli wraps long values at dots
        for (String pin : List.of(Pins.ARGO_WORKFLOWS, Pins.ARGO_EVENTS, Pins.METADATA_IMAGE, Pins.UI_IMAGE)) {
            assertTrue(help.contains("(pinned):" + pin), pin + " in --help: " + r.out);
            assertTrue(upstream.contains(pin), pin + " is recorded, with where it was checked, in UPSTREAM.md");
        }
        assertTrue(r.out.contains("--jetstream-version"), r.out);
        assertTrue(upstream.contains("metaflow>=" + Pins.METAFLOW_MIN));
        assertTrue(Files.readString(Path.of("README.md")).contains("metaflow>=" + Pins.METAFLOW_MIN));
    }

    Path ownKubeconfig() throws Exception {
        return kube.kubeconfigFile(home);
    }

    @Test
    void statusOnAHealthyStack() throws Exception {
        assertEquals(0, deploy().code);
        ScriptRun.Result r = run(null, "status", "--kubeconfig", ownKubeconfig().toString(), "--prefix", "acme");
        assertEquals(0, r.code, r.out + r.err);
        assertTrue(r.out.contains("Healthy."), r.out);
        assertTrue(r.out.contains("database check"), r.out);
        assertTrue(r.out.contains("argo/workflow-controller"), r.out);
        assertTrue(r.out.matches("(?s).*ok +metaflow-services/metadata-service +1/1 ready.*"), r.out);
        assertTrue(r.out.matches("(?s).*ok +metaflow/metaflow-gateway +1/1 ready.*"), r.out);
        assertTrue(r.out.contains("config profile acme-default"), r.out);
        assertTrue(r.out.matches("(?s).*ok +metaflow/default \\(EventBus\\) +ready.*"), r.out);
        assertTrue(r.out.matches("(?s).*ok +metaflow/argo-events-webhook \\(EventSource\\) +ready.*"), r.out);
        assertTrue(r.out.matches("(?s).*ok +metaflow/argo-events-webhook-eventsource-svc \\(Service\\) +exists.*"), r.out);
    }

    @Test
    void statusOnABrokenStack() throws Exception {
        assertEquals(0, deploy().code);
        kube.healthStatus = 503;
        kube.healthBody = "{\"status\": \"DOWN\", \"db\": \"connection refused\"}";
        broken.add("argo-server");
        kube.edit("/apis/apps/v1/namespaces/argo/deployments/argo-server", o -> ((ObjectNode) o.get("status")).put("readyReplicas", 0));
        ScriptRun.Result r = run(null, "status", "--kubeconfig", ownKubeconfig().toString(), "--prefix", "acme");
        assertEquals(1, r.code, r.out);
        assertTrue(r.out.matches("(?s).*FAIL +database check.*"), r.out);
        assertTrue(r.out.matches("(?s).*FAIL +argo/argo-server +0/1.*"), r.out);
    }

    @Test
    void forwardGoesThroughTheGatewayMovesBytesAndFollowsAReplacedPod() throws Exception {
        assertEquals(0, deploy("--no-argo").code);
        // Pods of the services (in their namespace) and of the gateway (in the flows'); only the gateway's answer.
        for (String pod : List.of("gw-1", "gw-2")) {
            for (int port : new int[] {8080, 8083, 3000}) {
                kube.podPorts.put(pod + ":" + port, in -> (pod + ":" + port + " got " + new String(in, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
            }
        }
        for (String[] p : List.of(new String[] {"md-1", "metadata-service"}, new String[] {"be-1", "metaflow-ui-backend-service"},
                new String[] {"ui-1", "metaflow-ui-static-service"})) {
            ObjectNode pod = runningPod(p[0], p[1]);
            ((ObjectNode) pod.get("metadata")).put("namespace", "metaflow-services");
            kube.create("/api/v1/namespaces/metaflow-services/pods", pod);
        }
        kube.create("/api/v1/namespaces/metaflow/pods", runningPod("gw-1", "metaflow-gateway"));
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(o, true, StandardCharsets.UTF_8);
        AtomicBoolean stop = new AtomicBoolean();
        Path kc = ownKubeconfig();
        int offset = freePortOffset();
        int[] code = {-1};
        Thread t = new Thread(() -> code[0] = services.run(new String[] {"forward", "--no-argo", "--kubeconfig", kc.toString(),
                "--port-offset", String.valueOf(offset)},
                new AzureLogin.Host(Map.of(), home), null, out, out, stop));
        t.start();
        try {
            await(() -> o.toString().split("\\(pod gw-1\\)", -1).length == 4, o);
            assertTrue(o.toString().contains("-> metaflow-services/metadata-service:8080 (through metaflow/metaflow-gateway) (pod gw-1)"), o.toString());
            assertEquals("gw-1:8080 got GET /ping", exchange(8080 + offset, "GET /ping"));
            assertEquals("gw-1:8083 got GET /api/ping", exchange(8083 + offset, "GET /api/ping"));
            assertEquals("gw-1:3000 got GET /", exchange(3000 + offset, "GET /"));
            kube.delete("/api/v1/namespaces/metaflow/pods/gw-1");
            kube.create("/api/v1/namespaces/metaflow/pods", runningPod("gw-2", "metaflow-gateway"));
            // Each of the three forwards follows on its own: wait for all of them, not the first.
            await(() -> o.toString().split("\\(pod gw-2\\)", -1).length == 4, o);
            assertEquals("gw-2:8080 got GET /ping", exchange(8080 + offset, "GET /ping"));
        } finally {
            stop.set(true);
            t.join(10000);
        }
        assertEquals(0, code[0], o.toString());
        // One path for everyone: no port-forward into the services' namespace, where a grantee has no rights.
        assertTrue(kube.requests.stream().filter(q -> q.contains("/portforward")).allMatch(q -> q.contains("/namespaces/metaflow/pods/gw-")),
                kube.requests.stream().filter(q -> q.contains("/portforward")).toList().toString());
    }

    /**
     * What services.java deployed before the services had a namespace of their own: the bundled manifests of then
     * (tests/fixtures/manifests-before-21) applied as it applied them, and its DB Secret in the flows' namespace holding the
     * password it had set on the server. Returns that password.
     */
    String deployedAsBefore21() throws Exception {
        String clientId = azure.resource(RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acme-metaflow-default")
                .orElseThrow().at("/properties/clientId").asText();
        Map<String, String> values = new java.util.HashMap<>(Map.of("NAMESPACE", "metaflow", "SERVICE_ACCOUNT", "metaflow",
                "EVENTS_NAMESPACE", "argo-events", "CLIENT_ID", clientId, "TENANT_ID", azure.tenantId(),
                "DB_HOST", "psql-acme-metaflow-default.postgres.database.azure.com", "DB_USER", "metaflow", "DB_NAME", "metaflow",
                "SYSROOT", "metaflow-storage-container/metaflow", "BLOB_ENDPOINT", "https://stacmemfdefault.blob.core.windows.net/"));
        values.putAll(Map.of("METADATA_IMAGE", Pins.METADATA_IMAGE, "UI_IMAGE", Pins.UI_IMAGE, "UI_BACKEND_URL", "http://localhost:8083/api"));
        List<ObjectNode> objects = new ArrayList<>(Manifests.render(Manifests.templates(Path.of("tests/fixtures/manifests-before-21")), values, false));
        String password = serverPassword();
        ObjectNode secret = Json.obj().put("apiVersion", "v1").put("kind", "Secret").put("type", "Opaque");
        secret.putObject("metadata").put("name", "metaflow-db").put("namespace", "metaflow").putObject("labels")
                .put("app.kubernetes.io/part-of", "metaflow").put("app.kubernetes.io/managed-by", "metaflow-azure-toolkit");
        secret.putObject("data").put("MF_METADATA_DB_PSWD", Base64.getEncoder().encodeToString(password.getBytes(StandardCharsets.UTF_8)));
        objects.add(secret);
        try (var client = kube.client()) {
            cluster.Kube.apply(client, Manifests.ordered(objects), new PrintStream(new ByteArrayOutputStream()), 10_000);
        }
        assertNotNull(kube.stored("/apis/apps/v1/namespaces/metaflow/deployments/metadata-service"));
        assertEquals("ClusterIP", kube.stored("/api/v1/namespaces/metaflow/services/metadata-service").path("spec").path("type").asText());
        return password;
    }

    /** Objects of a user's in the flows' namespace, made with kubectl: never the toolkit's to touch. */
    void usersOwnObjects() {
        ObjectNode cm = Json.obj().put("apiVersion", "v1").put("kind", "ConfigMap");
        cm.putObject("metadata").put("name", "team-notes").put("namespace", "metaflow");
        cm.putObject("data").put("owner", "data science");
        kube.create("/api/v1/namespaces/metaflow/configmaps", cm);
        ObjectNode d = Json.obj().put("apiVersion", "apps/v1").put("kind", "Deployment");
        d.putObject("metadata").put("name", "notebook").put("namespace", "metaflow").putObject("labels").put("app.kubernetes.io/part-of", "metaflow");
        ObjectNode spec = d.putObject("spec");
        spec.putObject("selector").putObject("matchLabels").put("app", "notebook");
        ObjectNode tpl = spec.putObject("template");
        tpl.putObject("metadata").putObject("labels").put("app", "notebook");
        tpl.putObject("spec").putArray("containers").addObject().put("name", "nb").put("image", "jupyter/base-notebook");
        kube.create("/apis/apps/v1/namespaces/metaflow/deployments", d);
    }

    @Test
    void aStackDeployedWithEverythingInTheFlowsNamespaceMovesOnRerun() throws Exception {
        String password = deployedAsBefore21();
        usersOwnObjects();
        String notes = kube.stored("/api/v1/namespaces/metaflow/configmaps/team-notes").path("metadata").path("resourceVersion").asText();
        String notebook = kube.stored("/apis/apps/v1/namespaces/metaflow/deployments/notebook").path("metadata").path("resourceVersion").asText();
        int mark = azure.requests().size();

        ScriptRun.Result r = deploy();
        assertEquals(0, r.code, r.err + r.out);
        // The password moved as it was: the server keeps it, nothing reset it.
        assertTrue(r.out.contains("moving the PostgreSQL admin password from Secret metaflow/metaflow-db to metaflow-services/metaflow-db (unchanged)"), r.out);
        assertTrue(azure.requests().subList(mark, azure.requests().size()).stream().noneMatch(q -> q.method().equals("PATCH")));
        assertEquals(password, serverPassword());
        assertEquals(password, decode(kube.stored("/api/v1/namespaces/metaflow-services/secrets/metaflow-db"), "MF_METADATA_DB_PSWD"));
        assertFalse(r.out.contains(password) || r.err.contains(password), "the password reached the output");
        // The old objects were removed only once their replacements were ready, each named in the output.
        int waited = r.out.indexOf("Waiting for");
        int removing = r.out.indexOf("Removing what earlier deploys put in metaflow");
        assertTrue(waited > 0 && removing > waited, r.out);
        for (String old : List.of("Deployment metaflow/metadata-service", "Deployment metaflow/metaflow-ui-backend-service",
                "Deployment metaflow/metaflow-ui-static-service", "Service metaflow/metadata-service", "Service metaflow/metaflow-ui-backend-service",
                "Service metaflow/metaflow-ui-static-service", "Secret metaflow/metaflow-db", "ConfigMap metaflow/metaflow-db")) {
            assertTrue(r.out.contains("  " + old + " removed"), old + " in " + r.out);
        }
        // No database password is left in the flows' namespace, in any Secret.
        for (ObjectNode secret : kube.all("Secret")) {
            if (secret.path("metadata").path("namespace").asText().equals("metaflow")) {
                assertFalse(secret.path("data").has("MF_METADATA_DB_PSWD"), Manifests.id(secret));
            }
        }
        assertNull(kube.stored("/api/v1/namespaces/metaflow/secrets/metaflow-db"));
        assertNull(kube.stored("/api/v1/namespaces/metaflow/configmaps/metaflow-db"));
        // The services run in their namespace; in the flows' only the gateway and the user's own Deployment.
        List<String> deployments = kube.all("Deployment").stream().map(Manifests::id).sorted().toList();
        for (String d : List.of("metadata-service", "metaflow-ui-backend-service", "metaflow-ui-static-service")) {
            assertTrue(deployments.contains("Deployment metaflow-services/" + d), deployments.toString());
        }
        assertEquals(List.of("Deployment metaflow/metaflow-gateway", "Deployment metaflow/notebook"),
                deployments.stream().filter(d -> d.startsWith("Deployment metaflow/")).toList());
        // The old names now lead to the services' namespace, so pods of WorkflowTemplates deployed before keep their URL.
        ObjectNode alias = kube.stored("/api/v1/namespaces/metaflow/services/metadata-service");
        assertEquals("ExternalName", alias.path("spec").path("type").asText(), alias.toString());
        assertEquals("metadata-service.metaflow-services.svc.cluster.local", alias.path("spec").path("externalName").asText());
        JsonNode config = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_acme-default.json")));
        assertEquals("http://metadata-service.metaflow:8080/", config.path("METAFLOW_SERVICE_INTERNAL_URL").asText());
        // Nothing of the user's was touched.
        assertEquals(notes, kube.stored("/api/v1/namespaces/metaflow/configmaps/team-notes").path("metadata").path("resourceVersion").asText());
        assertEquals(notebook, kube.stored("/apis/apps/v1/namespaces/metaflow/deployments/notebook").path("metadata").path("resourceVersion").asText());
        assertTrue(kube.requests.stream().filter(q -> q.startsWith("DELETE ")).noneMatch(q -> q.contains("team-notes") || q.contains("notebook")));

        // Converged: the next run removes nothing and changes nothing (the stack check, which makes probe objects, left out).
        kube.requests.clear();
        ScriptRun.Result again = deploy("--no-check");
        assertEquals(0, again.code, again.err + again.out);
        assertFalse(again.out.contains("Removing"), again.out);
        assertTrue(again.out.contains("0 changed"), again.out);
        assertEquals(List.of(), kube.writes());
    }

    @Test
    void aUsersServiceUnderAnOldNameStopsTheMoveBeforeAnyWrite() throws Exception {
        deployedAsBefore21();
        // Someone replaced the toolkit's UI Service with their own (kubectl, not the toolkit's field manager or label).
        kube.delete("/api/v1/namespaces/metaflow/services/metaflow-ui-static-service");
        ObjectNode mine = Json.obj().put("apiVersion", "v1").put("kind", "Service");
        mine.putObject("metadata").put("name", "metaflow-ui-static-service").put("namespace", "metaflow");
        mine.putObject("spec").put("type", "ClusterIP").putObject("selector").put("app", "my-ui");
        ((ObjectNode) mine.get("spec")).putArray("ports").addObject().put("port", 3000);
        kube.create("/api/v1/namespaces/metaflow/services", mine);
        kube.requests.clear();
        int mark = azure.requests().size();

        ScriptRun.Result r = deploy();
        assertEquals(1, r.code, r.out + r.err);
        assertTrue(r.err.contains("Service metaflow/metaflow-ui-static-service (not made by this toolkit"), r.err);
        assertTrue(r.err.contains("nothing was changed"), r.err);
        assertEquals(List.of(), kube.writes());
        assertTrue(azure.requests().subList(mark, azure.requests().size()).stream().noneMatch(q -> q.method().equals("PATCH")));
        assertEquals("my-ui", kube.stored("/api/v1/namespaces/metaflow/services/metaflow-ui-static-service").path("spec").path("selector").path("app").asText());
    }

    /** An offset under which the forward's local ports are all free here, so the test never fights other processes for 8080. */
    static int freePortOffset() throws Exception {
        for (int offset = 20000 + new java.util.Random().nextInt(200) * 100; ; offset += 100) {
            boolean free = true;
            for (int port : new int[] {8080, 8083, 3000}) {
                try (java.net.ServerSocket s = new java.net.ServerSocket(port + offset, 1, java.net.InetAddress.getLoopbackAddress())) {
                    // bindable
                } catch (java.io.IOException taken) {
                    free = false;
                }
            }
            if (free) return offset;
        }
    }

    /** Sends text to a local port and reads the answer (the whole of it, up to the peer's pause). */
    static String exchange(int port, String text) throws Exception {
        try (java.net.Socket socket = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
            socket.setSoTimeout(10000);
            socket.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            socket.getOutputStream().flush();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            int n = socket.getInputStream().read(buf);
            while (n > 0) {
                got.write(buf, 0, n);
                socket.setSoTimeout(300);
                try {
                    n = socket.getInputStream().read(buf);
                } catch (java.net.SocketTimeoutException pause) {
                    break;
                }
            }
            return got.toString(StandardCharsets.UTF_8);
        }
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

    /** The state teardown.java sees for the stack's default profile (null when there is none). */
    static LocalFiles.ProfileState profileState(AzureLogin.Host host, Stack stack) {
        return LocalFiles.profiles(host, stack).stream().filter(p -> p.file().equals(LocalFiles.profile(host, stack)))
                .map(LocalFiles.Profile::state).findFirst().orElse(null);
    }
}
