import azure.Pools;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import azure.Arm;
import azure.AzureLogin;
import azure.Clouds;
import azure.Desired;
import azure.Registry;
import azure.Stack;
import com.azure.core.http.HttpPipelineBuilder;
import cluster.Pins;
import cluster.Probes;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.KubeFake;
import fake.ScriptRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The stack check (services.java, after a deploy and as services.java check) against the Kubernetes fake's Job and Workflow controllers. */
class CheckTest {
    @TempDir Path home;
    KubeFake kube;
    AzureFake azure;
    Path argoDir;
    final Set<String> broken = java.util.concurrent.ConcurrentHashMap.newKeySet();
    AutoCloseable rollouts;

    @BeforeEach
    void setUp() throws Exception {
        kube = new KubeFake();
        azure = new AzureFake().clusterApiServer(kube.url());
        ScriptRun.Result p = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure), "--prefix", "acme", "--yes");
        assertEquals(0, p.code, p.all());
        argoDir = ArgoFixture.writeTo(home.resolve("argo"));
        // The nodes pull as the stack's AKS kubelet identity may: what the registry's role assignments and cache rules allow.
        kube.imagePulls(image -> azure.imagePullRefusal(ACME.aksId(SUB), image));
        rollouts = kube.rollOutDeployments(broken);
    }

    @AfterEach
    void tearDown() throws Exception {
        rollouts.close();
        kube.close();
    }

    ScriptRun.Result run(AzureFake azure, String... args) {
        return ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home), azure == null ? null : ScriptRun.signedIn(azure), args);
    }

    ScriptRun.Result deploy(String... extra) {
        List<String> args = new ArrayList<>(List.of("--argo-manifests", argoDir.toString(), "--timeout", "20"));
        args.addAll(List.of(extra));
        return run(azure, args.toArray(String[]::new));
    }

    /** Deploys without the check, then runs check on the user's kubeconfig (no Azure) with the given extra options. */
    ScriptRun.Result deployThenCheck(String... extra) throws Exception {
        ScriptRun.Result d = deploy("--no-check");
        assertEquals(0, d.code, d.all());
        kube.requests.clear();
        Path kc = kube.kubeconfigFile(home);
        List<String> args = new ArrayList<>(List.of("check", "--kubeconfig", kc.toString()));
        args.addAll(List.of(extra));
        return run(null, args.toArray(String[]::new));
    }

    static final Stack ACME = Stack.of("acme", "default", Stack.DEFAULT_LOCATION, Clouds.PUBLIC);
    static final String SUB = AzureFake.DEFAULT_SUBSCRIPTION;

    /** The stack registry's login server, as Resource Manager gives it. */
    String login() {
        return azure.resource(ACME.registryId(SUB)).orElseThrow().path("properties").path("loginServer").asText();
    }

    /** Resource Manager as the admin's tools reach it (the role assignment and cache rule removals a user might make). */
    Arm arm() {
        return new Arm(new HttpPipelineBuilder().httpClient(azure).build(), "https://management.azure.com");
    }

    /** The table line of a probe. */
    static String line(ScriptRun.Result r, String probe) {
        for (String l : r.out.split("\n")) if (l.matches("\\s+[✓✗]\\s+" + probe + "\\s.*")) return l;
        throw new AssertionError("no table line for " + probe + " in:\n" + r.out);
    }

    /** Nothing of the check is left: no Job, Workflow or pod of a probe, no probe blob. */
    void nothingLeftBehind() {
        for (String kind : List.of("Job", "Workflow", "Pod")) {
            for (ObjectNode o : kube.all(kind)) {
                assertFalse(o.path("metadata").path("labels").has(Probes.PROBE_LABEL) || o.path("metadata").path("name").asText().startsWith("metaflow-check-"),
                        "left behind: " + kind + " " + o.path("metadata").path("name").asText());
            }
        }
        assertEquals(Map.of(), kube.blobs, "probe blob left behind");
    }

    @Test
    void everyDeployEndsWithTheCheckAndItsProbesRunAsTaskPods() throws Exception {
        ScriptRun.Result r = deploy();
        assertEquals(0, r.code, r.all());
        for (String probe : List.of("storage", "metadata", "argo-workflows", "argo-events")) {
            assertTrue(line(r, probe).contains("✓"), line(r, probe));
        }
        assertTrue(r.out.contains("The stack works"), r.out);
        // The storage probe ran as the task pods Metaflow starts: the config's service account, labels and node selector.
        JsonNode config = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_acme-default.json")));
        ObjectNode pod = kube.podsMade.stream().filter(p -> p.path("metadata").path("labels").path(Probes.PROBE_LABEL).asText().equals("storage"))
                .findFirst().orElseThrow();
        assertEquals(config.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText(), pod.path("spec").path("serviceAccountName").asText());
        assertEquals("true", pod.path("metadata").path("labels").path("azure.workload.identity/use").asText());
        assertEquals("metaflow-azure-toolkit", pod.path("metadata").path("labels").path("app.kubernetes.io/managed-by").asText());
        assertEquals(Pools.TASK_LABEL + "=" + Pools.TASK_LABEL_VALUE, config.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText());
        assertEquals(Map.of(Pools.TASK_LABEL, Pools.TASK_LABEL_VALUE), Json.MAPPER.convertValue(pod.path("spec").path("nodeSelector"), Map.class));
        // ... and pulled its image from the stack's registry, as task pods do.
        assertEquals(Pins.probeImage(login()), pod.path("spec").path("containers").path(0).path("image").asText());
        // It wrote, read and deleted one blob under the sysroot.
        String sysroot = config.path("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT").asText() + config.path("METAFLOW_DATASTORE_SYSROOT_AZURE").asText()
                + "/" + Probes.BLOB_FOLDER + "/";
        List<String> probeBlob = kube.blobRequests.stream().filter(b -> !b.contains("-hook ")).toList();
        assertEquals(3, probeBlob.size(), kube.blobRequests.toString());
        assertTrue(kube.blobRequests.get(0).matches("PUT " + java.util.regex.Pattern.quote(sysroot) + "\\S+ 201"), kube.blobRequests.toString());
        assertTrue(probeBlob.get(2).startsWith("DELETE "), kube.blobRequests.toString());
        // The workflow ran as the account Metaflow's Argo workflows use; the webhook got one probe event.
        ObjectNode wfPod = kube.podsMade.stream().filter(p -> p.path("metadata").path("labels").has("workflows.argoproj.io/workflow")).findFirst().orElseThrow();
        assertEquals(config.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText(), wfPod.path("spec").path("serviceAccountName").asText());
        // Its exit handler, shaped like Metaflow's exit hooks (no labels, no node selector of its own), got the identity
        // label and the worker pool from the controller's workflowDefaults, and wrote, read and deleted its blob.
        ObjectNode hookPod = kube.podsMade.stream().filter(p -> p.path("metadata").path("name").asText().endsWith("-hook-2")).findFirst().orElseThrow();
        assertEquals("true", hookPod.path("metadata").path("labels").path("azure.workload.identity/use").asText(), hookPod.toString());
        StringBuilder hookSelector = new StringBuilder();
        hookPod.path("spec").path("nodeSelector").fields().forEachRemaining(e -> hookSelector.append(hookSelector.length() == 0 ? "" : ",")
                .append(e.getKey()).append('=').append(e.getValue().asText()));
        assertEquals(config.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText(), hookSelector.toString());
        assertEquals(config.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText(), hookPod.path("spec").path("serviceAccountName").asText());
        assertEquals(3, kube.blobRequests.stream().filter(b -> b.contains("-hook ")).count(), kube.blobRequests.toString());
        assertTrue(line(r, "argo-workflows").contains("exit handler"), line(r, "argo-workflows"));
        assertEquals(1, kube.events.size());
        assertTrue(kube.events.get(0).contains(Probes.EVENT_NAME), kube.events.toString());
        nothingLeftBehind();
    }

    @Test
    void checkAloneSendsNoWriteButItsProbesAndASecondRunLeavesNothing() throws Exception {
        ScriptRun.Result r = deployThenCheck();
        assertEquals(0, r.code, r.all());
        for (String w : kube.writes()) {
            assertTrue(w.matches("POST /apis/batch/v1/namespaces/metaflow/jobs.*|DELETE /apis/batch/v1/namespaces/metaflow/jobs/metaflow-check-storage-.*"
                    + "|POST /apis/argoproj.io/v1alpha1/namespaces/metaflow/workflows.*|DELETE /apis/argoproj.io/v1alpha1/namespaces/metaflow/workflows/metaflow-check-argo-.*"
                    + "|POST /api/v1/namespaces/metaflow/services/argo-events-webhook-eventsource-svc:12000/proxy/metaflow-event"), "not a probe's write: " + w);
        }
        assertEquals(5, kube.writes().size(), kube.writes().toString());
        nothingLeftBehind();
        Path kc = home.resolve("fake.yaml");
        ScriptRun.Result again = run(null, "check", "--kubeconfig", kc.toString());
        assertEquals(0, again.code, again.all());
        nothingLeftBehind();
    }

    @Test
    void checkThroughAzureFindsTheStackAndWritesNothingElse() throws Exception {
        assertEquals(0, deploy("--no-check").code);
        kube.requests.clear();
        int azureWrites = azure.writes().size();
        ScriptRun.Result r = run(azure, "check");
        assertEquals(0, r.code, r.all());
        assertEquals(azureWrites, azure.writes().size(), "no Azure write");
        assertTrue(kube.writes().stream().allMatch(w -> w.contains("metaflow-check-") || w.contains("/jobs") || w.contains("/workflows")
                || w.contains("/proxy/metaflow-event")), kube.writes().toString());
        nothingLeftBehind();
    }

    @Test
    void noCheckSkipsItAfterADeploy() {
        ScriptRun.Result r = deploy("--no-check");
        assertEquals(0, r.code, r.all());
        assertFalse(r.out.contains("Checking the stack"), r.out);
        assertTrue(kube.podsMade.isEmpty());
        assertTrue(kube.requests.stream().noneMatch(q -> q.contains("/jobs")));
    }

    @Test
    void jsonOutputHasEveryProbeOnStdoutAndProgressOnStderr() throws Exception {
        ScriptRun.Result r = deployThenCheck("--output", "json");
        assertEquals(0, r.code, r.all());
        JsonNode doc = Json.parse(r.out);
        assertTrue(doc.path("healthy").asBoolean(), r.out);
        assertEquals(4, doc.path("probes").size());
        for (JsonNode p : doc.path("probes")) {
            assertTrue(p.path("ok").asBoolean(), p.toString());
            assertTrue(p.has("seconds") && p.has("detail"), p.toString());
        }
        assertTrue(r.err.contains("Checking the stack"), r.err);
        ScriptRun.Result bad = run(null, "status", "--output", "json");
        assertEquals(2, bad.code, bad.all());
        ScriptRun.Result both = run(null, "check", "--no-check");
        assertEquals(2, both.code, both.all());
    }

    @Test
    void aFreshRoleAssignmentIsWaitedFor() throws Exception {
        kube.forbiddenWrites.set(1);
        ScriptRun.Result r = deployThenCheck();
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.matches("(?s).*storage: waiting for the role assignment to take effect \\([0-9.]+s\\).*"), r.out);
        assertTrue(line(r, "storage").contains("✓"), r.out);
        nothingLeftBehind();
    }

    @Test
    void aRoleThatNeverTakesEffectIsReportedWithWhatToCheck() throws Exception {
        kube.forbiddenWrites.set(1000);
        ScriptRun.Result r = deployThenCheck("--timeout", "12");
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "storage").contains("✗"), r.out);
        assertTrue(r.out.contains("HTTP 403, AuthorizationPermissionMismatch"), r.out);
        assertTrue(r.out.contains("Storage Blob Data Contributor on the container"), r.out);
        assertTrue(r.out.contains("waiting for the role assignment"), r.out);
        // The exit handler writes as the same identity, so it is refused the same way.
        assertTrue(r.err.contains("the stack check failed (2 of 4 probes): storage, argo-workflows"), r.err);
        nothingLeftBehind();
    }

    @Test
    void aControllerWithoutWorkflowDefaultsFailsTheCheck() throws Exception {
        ScriptRun.Result d = deploy("--no-check");
        assertEquals(0, d.code, d.all());
        // Someone's controller configuration without our defaults: the exit hooks Metaflow adds would get no identity.
        kube.edit("/api/v1/namespaces/argo/configmaps/workflow-controller-configmap", cm -> ((ObjectNode) cm.path("data")).remove("workflowDefaults"));
        ScriptRun.Result r = run(null, "check", "--kubeconfig", kube.kubeconfigFile(home).toString());
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "argo-workflows").contains("✗"), r.out);
        assertTrue(line(r, "argo-workflows").contains("the exit handler (shaped like Metaflow's exit hooks: no task labels, no node selector of its own) got no workload identity"), r.out);
        assertTrue(r.out.contains("kubectl -n argo get configmap workflow-controller-configmap -o yaml: spec.podMetadata.labels with azure.workload.identity/use"), r.out);
        assertTrue(line(r, "storage").contains("✓"), r.out);
        nothingLeftBehind();
    }

    @Test
    void anExitHookWithoutTheDatastoreEndpointFailsTheCheck() throws Exception {
        ScriptRun.Result d = deploy("--no-check");
        assertEquals(0, d.code, d.all());
        // The Secret that tells Metaflow's exit hooks where the datastore is, emptied.
        kube.edit("/api/v1/namespaces/metaflow/secrets/metaflow-datastore", s -> s.putObject("data"));
        ScriptRun.Result r = run(null, "check", "--kubeconfig", kube.kubeconfigFile(home).toString());
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "argo-workflows").contains("was not told where the datastore is: no METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT in the pod"), r.out);
        assertTrue(r.out.contains("Secret metaflow/metaflow-datastore must hold the endpoint"), r.out);
        nothingLeftBehind();
    }

    @Test
    void aFederationThatDoesNotMatchNamesSubjectAndIssuer() throws Exception {
        kube.tokenRefusal = "AADSTS70021: No matching federated identity record found for presented assertion.";
        ScriptRun.Result r = deployThenCheck();
        assertEquals(1, r.code, r.all());
        assertTrue(r.out.contains("AADSTS70021"), r.out);
        assertTrue(r.out.contains("its subject must be system:serviceaccount:metaflow:metaflow"), r.out);
        assertTrue(r.out.contains("OIDC issuer"), r.out);
        nothingLeftBehind();
    }

    @Test
    void aPodWithoutWorkloadIdentityIsReported() throws Exception {
        assertEquals(0, deploy("--no-check").code);
        kube.edit("/api/v1/namespaces/metaflow/serviceaccounts/metaflow", o -> ((ObjectNode) o.get("metadata")).remove("annotations"));
        Path kc = kube.kubeconfigFile(home);
        ScriptRun.Result r = run(null, "check", "--kubeconfig", kc.toString());
        assertEquals(1, r.code, r.all());
        assertTrue(r.out.contains("no AZURE_FEDERATED_TOKEN_FILE"), r.out);
        assertTrue(r.out.contains("workload identity webhook"), r.out);
    }

    @Test
    void aFailedReadBackStillRemovesTheBlob() throws Exception {
        kube.blobReadStatus = 503;
        ScriptRun.Result r = deployThenCheck();
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "storage").contains("read back") || r.out.contains("get the probe blob"), r.out);
        assertTrue(r.out.contains("HTTP 503"), r.out);
        nothingLeftBehind();
    }

    @Test
    void servicePrincipalModeProbesWithTheTaskSecret() throws Exception {
        ScriptRun.Result p = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure),
                "--prefix", "beta", "--service-principal", "--yes");
        assertEquals(0, p.code, p.all());
        // This fake cluster now plays beta's AKS: its kubelet identity pulls from beta's registry.
        kube.imagePulls(image -> azure.imagePullRefusal(Stack.of("beta", "default", Stack.DEFAULT_LOCATION, Clouds.PUBLIC).aksId(SUB), image));
        ScriptRun.Result r = deploy("--prefix", "beta");
        assertEquals(0, r.code, r.all());
        assertTrue(line(r, "storage").contains("✓"), r.out);
        ObjectNode pod = kube.podsMade.stream().filter(x -> x.path("metadata").path("labels").path(Probes.PROBE_LABEL).asText().equals("storage"))
                .findFirst().orElseThrow();
        JsonNode c = pod.path("spec").path("containers").path(0);
        assertEquals("metaflow-azure", c.path("envFrom").path(0).path("secretRef").path("name").asText());
        assertTrue(c.path("env").toString().contains("https://login.microsoftonline.com/"), c.toString());
        assertFalse(pod.path("metadata").path("labels").has("azure.workload.identity/use"));
        nothingLeftBehind();
    }

    @Test
    void probesThatCannotBeScheduledAreDiagnosed() throws Exception {
        kube.nodes.clear();
        kube.nodes.add(Map.of("agentpool", "system"));  // the worker pool has no node
        assertEquals(0, deploy("--no-check").code);
        // Through Azure: the stack's AKS, whose config places task pods on the worker pool (a --kubeconfig deploy does not).
        ScriptRun.Result r = run(azure, "check", "--timeout", "3");
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "storage").contains("cannot be scheduled"), r.out);
        assertTrue(r.out.contains("didn't match Pod's node affinity/selector"), r.out);
        assertTrue(line(r, "argo-workflows").contains("✗"), r.out);
        nothingLeftBehind();
    }

    @Test
    void anImageThatCannotBePulledIsDiagnosed() throws Exception {
        kube.unpullable.add(Pins.probeImage(login()));
        ScriptRun.Result r = deployThenCheck();
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "storage").contains("ImagePullBackOff for image " + Pins.probeImage(login())), r.out);
        assertTrue(line(r, "argo-workflows").contains("ImagePullBackOff"), r.out);
        assertTrue(r.out.contains("egress to the registry"), r.out);
        nothingLeftBehind();
    }

    @Test
    void theProbesPullFromTheStacksRegistryAndPassWhenTheClusterMayPull() throws Exception {
        ScriptRun.Result r = deploy();
        assertEquals(0, r.code, r.all());
        String image = Pins.probeImage(login());
        assertEquals(login() + "/stack/curl/curl:" + Pins.PROBE_TAG, image);
        assertTrue(Pins.PROBE_IMAGE.endsWith(":" + Pins.PROBE_TAG), "the same release as the pinned Docker Hub image");
        List<String> images = kube.podsMade.stream().map(p -> p.path("spec").path("containers").path(0).path("image").asText()).distinct().toList();
        assertEquals(List.of(image), images, "every probe pod (storage Job, Workflow step and exit handler) pulls from the registry");
        assertEquals(3, kube.podsMade.size());
        nothingLeftBehind();
    }

    @Test
    void aKubeletIdentityWithoutAcrPullFailsTheCheckAndSaysSo() throws Exception {
        assertEquals(0, deploy("--no-check").code);
        // The kubelet identity's AcrPull on the registry is gone (removed by hand, or a registry made anew).
        String kubelet = azure.resource(ACME.aksId(SUB)).orElseThrow().at("/properties/identityProfile/kubeletidentity/objectId").asText();
        for (String id : azure.resourceIds()) {
            if (!id.toLowerCase().startsWith(ACME.registryId(SUB).toLowerCase() + "/providers/microsoft.authorization/roleassignments/")) continue;
            JsonNode a = azure.resource(id).orElseThrow().path("properties");
            if (a.path("principalId").asText().equals(kubelet)) arm().deleteNoWait(id, Desired.API_ROLES);
        }
        ScriptRun.Result r = run(azure, "check", "--timeout", "3");
        assertEquals(1, r.code, r.all());
        for (String probe : List.of("storage", "argo-workflows")) {
            assertTrue(line(r, probe).contains("✗") && line(r, probe).contains("401 Unauthorized"), line(r, probe));
        }
        assertTrue(r.out.contains("The cluster's kubelet identity may not pull from the stack's registry cracmemfdefault: it needs the role AcrPull"),
                r.out);
        assertTrue(r.out.contains("Run 'jbang provision.java --prefix acme' to restore it"), r.out);
        assertFalse(r.out.contains("cache rule"), r.out);
        nothingLeftBehind();
    }

    @Test
    void aMissingCacheRuleIsNamedAsSuch() throws Exception {
        assertEquals(0, deploy("--no-check").code);
        String rule = ACME.registryId(SUB) + "/cacheRules/" + Registry.ruleName(Registry.PROBE_REPOSITORY);
        assertTrue(azure.resource(rule).isPresent(), rule);
        arm().deleteNoWait(rule, Registry.API);
        ScriptRun.Result r = run(azure, "check", "--timeout", "3");
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "storage").contains(": not found"), line(r, "storage"));
        assertTrue(r.out.contains("The stack's registry cracmemfdefault has no " + Registry.PROBE_REPOSITORY + ":"), r.out);
        assertTrue(r.out.contains("the cache rule of " + Registry.PROBE_REPOSITORY + " is missing"), r.out);
        assertFalse(r.out.contains("AcrPull"), r.out);
        nothingLeftBehind();
    }

    @Test
    void aStackWithoutARegistryProbesWithThePinnedImageAndIsToldProvisionAddsIt() throws Exception {
        // A stack provisioned before it had a registry.
        arm().deleteNoWait(ACME.registryId(SUB), Registry.API);
        assertTrue(azure.resource(ACME.registryId(SUB)).isEmpty());
        ScriptRun.Result r = deploy();
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.contains("has no container registry yet"), r.out);
        assertTrue(r.out.contains("'jbang provision.java --prefix acme' adds it"), r.out);
        JsonNode config = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_acme-default.json")));
        assertFalse(config.has("METAFLOW_KUBERNETES_CONTAINER_REGISTRY"), config.toString());
        assertEquals(List.of(Pins.PROBE_IMAGE), kube.podsMade.stream().map(p -> p.path("spec").path("containers").path(0).path("image").asText())
                .distinct().toList());
        nothingLeftBehind();
    }

    @Test
    void theCheckOnAUsersKubeconfigFindsTheRegistryInThePublishedConfig() throws Exception {
        ScriptRun.Result r = deployThenCheck();
        assertEquals(0, r.code, r.all());
        assertEquals(List.of(Pins.probeImage(login())), kube.podsMade.stream()
                .map(p -> p.path("spec").path("containers").path(0).path("image").asText()).distinct().toList());
    }

    @Test
    void aDeployToAClusterOfTheUsersLeavesTheRegistryOut() throws Exception {
        // services.java --kubeconfig: that cluster's kubelet identity has no AcrPull on the stack's registry.
        kube.imagePulls(image -> image.startsWith(login() + "/") ? "failed to authorize: ... 401 Unauthorized" : null);
        ScriptRun.Result r = deploy("--kubeconfig", kube.kubeconfigFile(home).toString());
        assertEquals(0, r.code, r.all());
        JsonNode config = Json.parse(Files.readString(home.resolve(".metaflowconfig/config_acme-default.json")));
        assertFalse(config.has("METAFLOW_KUBERNETES_CONTAINER_REGISTRY"), config.toString());
        assertEquals(List.of(Pins.PROBE_IMAGE), kube.podsMade.stream().map(p -> p.path("spec").path("containers").path(0).path("image").asText())
                .distinct().toList());
    }

    @Test
    void executorWithoutItsRoleIsDiagnosedAsForbidden() throws Exception {
        assertEquals(0, deploy("--no-check").code);
        kube.delete("/apis/rbac.authorization.k8s.io/v1/namespaces/metaflow/rolebindings/metaflow-argo-executor");
        Path kc = kube.kubeconfigFile(home);
        ScriptRun.Result r = run(null, "check", "--kubeconfig", kc.toString());
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "argo-workflows").contains("workflowtaskresults.argoproj.io is forbidden"), r.out);
        assertTrue(r.out.contains("Role metaflow-argo-executor"), r.out);
        assertTrue(line(r, "storage").contains("✓"), r.out);
        nothingLeftBehind();
    }

    @Test
    void aFailedWorkflowShowsItsMessages() throws Exception {
        kube.workflowFailure = "Error (exit code 137): the container was OOMKilled";
        ScriptRun.Result r = deployThenCheck();
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "argo-workflows").contains("the Workflow Failed: child"), r.out);
        assertTrue(line(r, "argo-workflows").contains("OOMKilled"), r.out);
        nothingLeftBehind();
    }

    @Test
    void aWorkflowControllerThatIsNotRunningIsNamed() throws Exception {
        assertEquals(0, deploy("--no-check").code);
        broken.add("workflow-controller");
        kube.edit("/apis/apps/v1/namespaces/argo/deployments/workflow-controller", o -> ((ObjectNode) o.get("status")).put("readyReplicas", 0));
        Path kc = kube.kubeconfigFile(home);
        ScriptRun.Result r = run(null, "check", "--kubeconfig", kc.toString(), "--timeout", "3");
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "argo-workflows").contains("the Argo Workflows controller is not running"), r.out);
        nothingLeftBehind();
    }

    @Test
    void eventsProbeNeedsTheBusAndAWebhookThatAccepts() throws Exception {
        kube.webhookStatus = 400;  // the event source could not hand the event to the bus
        ScriptRun.Result r = deployThenCheck();
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "argo-events").contains("refused the probe event: HTTP 400"), r.out);

        kube.webhookStatus = 200;
        kube.delete("/apis/argoproj.io/v1alpha1/namespaces/metaflow/eventbus/default");
        ScriptRun.Result noBus = run(null, "check", "--kubeconfig", home.resolve("fake.yaml").toString());
        assertEquals(1, noBus.code, noBus.all());
        assertTrue(line(noBus, "argo-events").contains("metaflow/default (EventBus) is missing"), noBus.out);
    }

    @Test
    void metadataProbeReportsAFailingHealthcheck() throws Exception {
        kube.healthStatus = 503;
        ScriptRun.Result r = deployThenCheck("--output", "json");
        assertEquals(1, r.code, r.all());
        JsonNode doc = Json.parse(r.out);
        assertFalse(doc.path("healthy").asBoolean());
        JsonNode md = null;
        for (JsonNode p : doc.path("probes")) if (p.path("probe").asText().equals("metadata")) md = p;
        assertFalse(md.path("ok").asBoolean(), r.out);
        assertTrue(md.path("todo").asText().contains("kubectl -n metaflow-services logs deploy/metadata-service"), md.toString());
    }

    @Test
    void metadataProbeGoesThroughTheGatewayAndNamesItWhenOnlyTheGatewayIsDown() throws Exception {
        ScriptRun.Result ok = deployThenCheck();
        assertEquals(0, ok.code, ok.all());
        assertTrue(line(ok, "metadata").contains("/healthcheck through metaflow/metaflow-gateway"), ok.out);
        assertTrue(kube.requests.stream().anyMatch(q -> q.startsWith("GET /api/v1/namespaces/metaflow/services/metaflow-gateway:8080/proxy/healthcheck")),
                kube.requests.toString());

        // The gateway's pods are gone (no endpoints): the service itself still answers, so the check names the gateway.
        broken.add("metaflow-gateway");
        kube.edit("/apis/apps/v1/namespaces/metaflow/deployments/metaflow-gateway", o -> ((ObjectNode) o.get("status")).put("readyReplicas", 0));
        ScriptRun.Result r = run(null, "check", "--kubeconfig", home.resolve("fake.yaml").toString());
        assertEquals(1, r.code, r.all());
        assertTrue(line(r, "metadata").contains("the metadata service answers, but not through metaflow/metaflow-gateway"), r.out);
        assertTrue(r.out.contains("kubectl -n metaflow logs deploy/metaflow-gateway"), r.out);
    }
}
