import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import azure.CertificateRotation;
import azure.Clouds;
import azure.Stack;
import cluster.Forward;
import azure.Desired;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.KubeFake;
import fake.ScriptRun;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Access per person on a stack's cluster, end to end against the fakes with the Kubernetes fake authenticating Entra
 * tokens and authorizing each request from the Azure role assignments as AKS's guard does: the admin deploys and checks
 * through an Entra token, a grantee does what Metaflow does and nothing more, a revocation takes it all away, and a
 * stack built with local accounts moves on its next provision run, its certificates rotated.
 */
class EntraAccessTest {
    @TempDir Path home;
    @TempDir Path aliceHome;
    KubeFake kube;
    AzureFake azure;
    Path argoDir;
    AutoCloseable rollouts;
    String alice;

    static final String RG = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION + "/resourceGroups/rg-acme-metaflow-default-eastus";
    static final String AKS = RG + "/providers/Microsoft.ContainerService/managedClusters/aks-acme-metaflow-default";

    @BeforeEach
    void setUp() throws Exception {
        kube = new KubeFake();
        azure = new AzureFake().clusterApiServer(kube.url());
        alice = azure.addUser("alice@contoso.com", "Alice");
        argoDir = ArgoFixture.writeTo(home.resolve("argo"));
        rollouts = kube.rollOutDeployments(java.util.Set.of());
    }

    @AfterEach
    void tearDown() throws Exception {
        rollouts.close();
        kube.close();
    }

    ScriptRun.Result provision(String... args) {
        return ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure), args);
    }

    ScriptRun.Result services(Path where, AzureLogin.Transport t, String... args) {
        return ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), where), t, args);
    }

    /** A client of the cluster as alice, with the token her own Azure sign-in gives for the AKS server application. */
    KubernetesClient asAlice() {
        return kube.client(azure.credentialFor(alice).tokenFor(Desired.AKS_SERVER_APP));
    }

    static int status(Runnable call) {
        try {
            call.run();
            return 200;
        } catch (KubernetesClientException e) {
            if (e.getCode() <= 0) throw e;
            return e.getCode();
        }
    }

    /** A Sensor as Metaflow's argo_client registers one for an @trigger flow (argoproj.io/v1alpha1 in the flows' namespace). */
    static GenericKubernetesResource sensor(KubernetesClient c, String name) {
        ObjectNode t = Json.obj().put("apiVersion", "argoproj.io/v1alpha1").put("kind", "Sensor");
        t.putObject("metadata").put("name", name).put("namespace", "metaflow");
        t.putObject("spec").put("eventBusName", "default").putArray("dependencies").addObject().put("name", "dep")
                .put("eventSourceName", "argo-events-webhook").put("eventName", "metaflow-event");
        return c.getKubernetesSerialization().convertValue(t, GenericKubernetesResource.class);
    }

    @Test
    void aNewStackIsEntraOnlyTheAdminDeploysThroughATokenAndAGranteeDoesWhatFlowsNeedUntilRevoked() throws Exception {
        ScriptRun.Result made = provision("--prefix", "acme", "--yes", "--grant", "alice@contoso.com");
        assertEquals(0, made.code, made.all());
        JsonNode cluster = azure.resource(AKS).orElseThrow();
        assertTrue(cluster.at("/properties/aadProfile/managed").asBoolean() && cluster.at("/properties/aadProfile/enableAzureRBAC").asBoolean());
        assertTrue(cluster.at("/properties/disableLocalAccounts").asBoolean());
        assertFalse(made.out.contains("rotate"), "a new cluster has no certificates to revoke: " + made.out);
        kube.entra(azure, AKS);

        // The admin: deploy and the stack check, every request with an Entra token of the AKS server application.
        ScriptRun.Result deploy = services(home, ScriptRun.signedIn(azure), "--argo-manifests", argoDir.toString(), "--timeout", "20");
        assertEquals(0, deploy.code, deploy.all());
        assertEquals(List.of(), kube.refused, "the admin was refused something");
        String kubeconfig = Files.readString(home.resolve(".kube/config"));
        assertTrue(kubeconfig.contains("client.authentication.k8s.io/v1") && kubeconfig.contains("interactiveMode: Never"), kubeconfig);
        assertFalse(kubeconfig.contains("devicecode"), "no prompt for kubectl or Metaflow: " + kubeconfig);
        assertFalse(kubeconfig.contains("token:"), "no static credential in the kubeconfig: " + kubeconfig);

        // The grantee joins, and checks her own access.
        ScriptRun.Result connect = services(aliceHome, ScriptRun.signedInAs(azure, alice), "connect", "--prefix", "acme");
        assertEquals(0, connect.code, connect.all());
        assertTrue(connect.out.contains("sign in as yourself with Microsoft Entra ID"), connect.out);
        // Her profile sends steps without an image to the stack's task images, and says for which Pythons they exist.
        String profile = Files.readString(aliceHome.resolve(".metaflowconfig/config_acme-default.json"));
        assertTrue(profile.contains("\"METAFLOW_KUBERNETES_CONTAINER_REGISTRY\" : \"cracmemfdefault.azurecr.io/metaflow\"")
                || profile.contains("\"METAFLOW_KUBERNETES_CONTAINER_REGISTRY\":\"cracmemfdefault.azurecr.io/metaflow\""), profile);
        assertTrue(connect.out.contains("task image for your Python (3.9, 3.10, 3.11, 3.12, 3.13)"), connect.out);
        ScriptRun.Result check = services(aliceHome, ScriptRun.signedInAs(azure, alice), "check", "--as-grantee", "--prefix", "acme");
        assertEquals(0, check.code, check.all());
        assertTrue(check.out.contains("ok  submit an Argo Workflow in metaflow: allowed"), check.out);
        assertTrue(check.out.contains("ok  read Secrets in metaflow: refused (403)"), check.out);
        assertTrue(check.out.contains("ok  list the cluster's nodes: refused (403)"), check.out);

        // What Metaflow's client does, as alice: register a Sensor, submit a Workflow, list pods.
        try (KubernetesClient c = asAlice()) {
            assertEquals(200, status(() -> c.resource(sensor(c, "helloflow")).create()));
            ObjectNode wf = Json.obj().put("apiVersion", "argoproj.io/v1alpha1").put("kind", "Workflow");
            wf.putObject("metadata").put("generateName", "helloflow-").put("namespace", "metaflow");
            wf.putObject("spec").put("entrypoint", "start").putArray("templates").addObject().put("name", "start")
                    .putObject("container").put("image", "python:3.11").putArray("command").add("true");
            assertEquals(200, status(() -> c.resource(c.getKubernetesSerialization().convertValue(wf, GenericKubernetesResource.class)).create()));
            assertEquals(200, status(() -> c.pods().inNamespace("metaflow").list()));
            // Refused: Secrets, the services' namespace with the database password, other namespaces, anything cluster-wide.
            assertEquals(403, status(() -> c.secrets().inNamespace("metaflow").list()));
            assertEquals(403, status(() -> c.secrets().inNamespace("metaflow-services").withName("metaflow-db").get()));
            assertEquals(403, status(() -> c.pods().inNamespace("kube-system").list()));
            assertEquals(403, status(() -> c.nodes().list()));
            assertEquals(403, status(() -> c.namespaces().list()));
            assertEquals(403, status(() -> c.apps().deployments().inNamespace("metaflow-services").withName("metadata-service").delete()));
        }
        assertFalse(kube.refusedFor("alice@contoso.com").isEmpty());

        // forward as alice: the services through the gateway in metaflow; the Argo server (namespace argo) said to be out of reach.
        try (KubernetesClient c = asAlice()) {
            var stop = new java.util.concurrent.atomic.AtomicBoolean();
            var said = new java.io.ByteArrayOutputStream();
            Thread stopper = new Thread(() -> {
                try {
                    Thread.sleep(3000);
                } catch (InterruptedException ignored) {
                }
                stop.set(true);
            });
            stopper.start();
            Forward.untilStopped(c, Stack.of("acme", "default", "eastus", Clouds.PUBLIC), true, 21000,
                    new java.io.PrintStream(said, true), stop, 100);
            stopper.join();
            String text = said.toString();
            // Her access reads the gateway's Service and lists its pods (the fake runs none, so it waits for one) ...
            assertTrue(text.contains("waiting for a running pod behind metaflow/metaflow-gateway"), text);
            assertFalse(text.contains("does not reach namespace metaflow"), text);
            // ... and the Argo server, in namespace argo, is said to be out of her reach instead of waited for.
            assertTrue(text.contains("not forwarding") && text.contains("does not reach namespace argo"), text);
            assertFalse(text.contains("waiting for a running pod behind argo/"), text);
        }

        // Revoked: the same calls are refused (the fake's authorizer caches nothing here; AKS's does, for minutes).
        ScriptRun.Result revoke = provision("--prefix", "acme", "--yes", "--revoke", "alice@contoso.com");
        assertEquals(0, revoke.code, revoke.all());
        assertTrue(revoke.out.contains("within about 13 minutes"), revoke.out);
        try (KubernetesClient c = asAlice()) {
            assertEquals(403, status(() -> c.resource(sensor(c, "after")).create()));
            assertEquals(403, status(() -> c.pods().inNamespace("metaflow").list()));
        }
        ScriptRun.Result again = services(aliceHome, ScriptRun.signedInAs(azure, alice), "connect", "--prefix", "acme");
        assertEquals(1, again.code, again.all());
    }

    @Test
    void aStackWithLocalAccountsMovesOnItsNextRunAndItsOldCredentialStopsWorking() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        // As a stack provisioned before Entra integration: local accounts, no aadProfile.
        azure.editResource(AKS, c -> {
            ObjectNode p = (ObjectNode) c.get("properties");
            p.remove("aadProfile");
            p.put("disableLocalAccounts", false);
        });
        // Its admin fetched the static credential back then (status merges it into ~/.kube/config).
        ScriptRun.Result old = services(home, ScriptRun.signedIn(azure), "status", "--no-argo");
        assertTrue(old.out.contains("still has local accounts"), old.all());
        String oldKubeconfig = Files.readString(home.resolve(".kube/config"));
        String oldToken = Manifests().readTree(oldKubeconfig).at("/users/0/user/token").asText();
        assertTrue(oldToken.startsWith("aks-local-"), oldKubeconfig);
        kube.entra(azure, AKS);
        try (KubernetesClient c = kube.client(oldToken)) {
            assertEquals(200, status(() -> c.namespaces().list()), "before the move the local account works");
        }

        ScriptRun.Result plan = provision("--prefix", "acme", "--dry-run");
        assertEquals(0, plan.code, plan.all());
        assertTrue(plan.out.contains("~ AKS cluster"), plan.out);
        assertTrue(plan.out.contains("disableLocalAccounts"), plan.out);
        assertTrue(plan.out.contains("~ AKS certificates"), plan.out);
        assertTrue(plan.out.contains("moves the cluster off local accounts to Microsoft Entra ID"), plan.out);

        // Interrupted after the update, before the rotation: the rotation fails once.
        azure.inject(fake.Fault.of("POST", "rotateClusterCertificates").status(400).error("BadRequest", "the run stops here"));
        ScriptRun.Result first = provision("--prefix", "acme", "--yes");
        assertNotEquals(0, first.code, first.all());
        JsonNode cluster = azure.resource(AKS).orElseThrow();
        assertTrue(cluster.at("/properties/disableLocalAccounts").asBoolean());
        assertEquals(CertificateRotation.PENDING, cluster.at("/tags/" + CertificateRotation.TAG).asText(), "the rotation is still owed");

        // The re-run rotates, then drops the marker; the old credential no longer works.
        azure.resetFaults();
        ScriptRun.Result second = provision("--prefix", "acme", "--yes");
        assertEquals(0, second.code, second.all());
        assertTrue(azure.writes().stream().anyMatch(w -> w.method().equals("POST") && w.path().endsWith("/rotateClusterCertificates")));
        assertTrue(azure.resource(AKS).orElseThrow().at("/tags/" + CertificateRotation.TAG).isMissingNode());
        try (KubernetesClient c = kube.client(oldToken)) {
            assertEquals(401, status(() -> c.namespaces().list()), "the local credential handed out before was revoked");
        }
        ScriptRun.Result third = provision("--prefix", "acme", "--yes");
        assertEquals(0, third.code, third.all());
        assertTrue(third.out.contains("up to date"), third.out);
    }

    static com.fasterxml.jackson.databind.ObjectMapper Manifests() {
        return cluster.Manifests.YAML;
    }
}
