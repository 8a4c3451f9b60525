import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import azure.Grants;
import azure.Roles;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.KubeFake;
import fake.ScriptRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A stack for a team: provision.java --grant/--revoke (principals resolved through the Graph fake, role assignments
 * kept across runs), and services.java connect run as a grantee whose role assignments the Azure fake enforces.
 */
class GrantTest {
    @TempDir Path home;
    @TempDir Path aliceHome;
    KubeFake kube;
    AzureFake azure;
    Path argoDir;
    AutoCloseable rollouts;
    String alice;
    String bob;
    String mlTeam;

    static final String RG = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION + "/resourceGroups/rg-acme-metaflow-default-eastus";
    static final String CONTAINER = RG + "/providers/Microsoft.Storage/storageAccounts/stacmemfdefault/blobServices/default/containers/metaflow-storage-container";
    static final String AKS = RG + "/providers/Microsoft.ContainerService/managedClusters/aks-acme-metaflow-default";
    static final String REGISTRY = RG + "/providers/Microsoft.ContainerRegistry/registries/cracmemfdefault";
    static final String LOGIN = "cracmemfdefault.azurecr.io";

    @BeforeEach
    void setUp() throws Exception {
        kube = new KubeFake();
        azure = new AzureFake().clusterApiServer(kube.url());
        alice = azure.addUser("alice@contoso.com", "Alice");
        bob = azure.addUser("bob@contoso.com", "Bob");
        mlTeam = azure.addGroup("ml-team", bob);
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

    ScriptRun.Result servicesAs(Path home, AzureLogin.Transport t, String... args) {
        return ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home), t, args);
    }

    /** The toolkit's grants as they are in Azure: principal id to the scopes it holds a grant on. */
    List<JsonNode> grants() {
        return azure.snapshot().values().stream()
                .filter(r -> r.path("type").asText().equals("Microsoft.Authorization/roleAssignments"))
                .filter(r -> r.at("/properties/description").asText("").startsWith(Grants.MARK)).toList();
    }

    long grantsOf(String principalId) {
        return grants().stream().filter(g -> g.at("/properties/principalId").asText().equals(principalId)).count();
    }

    @Test
    void grantAUserAndAGroupKeepThemOnReRunsAndRevokeOne() {
        ScriptRun.Result r = provision("--prefix", "acme", "--yes", "--grant", "alice@contoso.com", "--grant", "ml-team");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.contains("access: you, alice@contoso.com, group ml-team"), r.out);
        assertTrue(r.out.contains("the role Metaflow flow runner in namespace metaflow") && r.out.contains("No Secret"), r.out);
        assertTrue(r.out.contains("within about 13 minutes"), r.out);
        assertEquals(4, grantsOf(alice));
        assertEquals(4, grantsOf(mlTeam));
        // AcrPush on the registry: a grantee (a group's member too) may push the team's images.
        assertNull(azure.pushRefusal(alice, LOGIN), "alice cannot push");
        assertNull(azure.pushRefusal(bob, LOGIN), "bob (in ml-team) cannot push");
        String flowRunner = azure.customRoleDefinitions().stream().filter(d -> d.at("/properties/roleName").asText().startsWith("Metaflow flow runner"))
                .findFirst().orElseThrow().path("id").asText();
        for (JsonNode g : grants()) {
            String scope = g.at("/properties/scope").asText();
            String role = g.at("/properties/roleDefinitionId").asText();
            boolean namespaced = scope.equals(AKS + "/namespaces/metaflow") && role.equalsIgnoreCase(flowRunner);
            assertTrue(scope.equals(CONTAINER) && role.endsWith(Roles.BLOB_DATA_CONTRIBUTOR)
                    || scope.equals(AKS) && role.endsWith(Roles.AKS_CLUSTER_USER) || namespaced
                    || scope.equals(REGISTRY) && role.endsWith(Roles.ACR_PUSH), g.toString());
            // The namespace role is narrowed to Metaflow's Argo kinds by a condition; the others carry none.
            assertEquals(namespaced, g.at("/properties/condition").asText("").contains("argoproj.io"), g.toString());
            if (namespaced) assertEquals("2.0", g.at("/properties/conditionVersion").asText());
            // Deterministic names: scope, role and the principal's object id.
            assertEquals(Roles.name(scope, role.substring(role.lastIndexOf('/') + 1), g.at("/properties/principalId").asText()),
                    g.path("name").asText());
        }
        assertEquals("Group", grants().stream().filter(g -> g.at("/properties/principalId").asText().equals(mlTeam)).findFirst()
                .orElseThrow().at("/properties/principalType").asText());

        // A re-run without --grant keeps everyone and writes nothing.
        int before = azure.writes().size();
        ScriptRun.Result again = provision("--prefix", "acme", "--yes");
        assertEquals(0, again.code, again.all());
        assertEquals(before, azure.writes().size(), azure.writes().subList(before, azure.writes().size()).toString());
        assertTrue(again.out.contains("up to date"), again.out);
        assertTrue(again.out.contains("access: you, alice@contoso.com, group ml-team"), again.out);

        // --revoke removes exactly that principal's grants, and the plan says so.
        ScriptRun.Result dry = provision("--prefix", "acme", "--dry-run", "--revoke", "ml-team");
        assertEquals(0, dry.code, dry.all());
        assertTrue(dry.out.contains("- role assignment"), dry.out);
        assertTrue(dry.out.contains("4 to delete"), dry.out);
        assertTrue(dry.out.contains("AcrPush for group ml-team on cracmemfdefault"), dry.out);
        assertTrue(dry.out.contains("Metaflow flow runner for group ml-team on namespace metaflow of aks-acme-metaflow-default"), dry.out);
        assertTrue(dry.out.contains("access: you, alice@contoso.com"), dry.out);
        assertFalse(dry.out.contains("access: you, alice@contoso.com, group ml-team"), dry.out);
        ScriptRun.Result revoke = provision("--prefix", "acme", "--yes", "--revoke", "ml-team");
        assertEquals(0, revoke.code, revoke.all());
        assertEquals(0, grantsOf(mlTeam));
        assertEquals(4, grantsOf(alice));
        assertEquals(4, azure.writes().stream().filter(w -> w.method().equals("DELETE")).count());
        assertTrue(revoke.out.contains("4 deleted"), revoke.out);
        assertNotNull(azure.pushRefusal(bob, LOGIN), "bob may still push after ml-team's revocation");
        assertNull(azure.pushRefusal(alice, LOGIN));

        // Teardown lists the grantees whose assignments go with the group.
        ScriptRun.Result td = ScriptRun.run(teardown::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(azure),
                "--prefix", "acme", "--dry-run");
        assertEquals(0, td.code, td.all());
        assertTrue(td.out.contains("access granted to: alice@contoso.com"), td.out);
    }

    @Test
    void aGrantToAnUnknownNameIsBadInputWithNoWrite() {
        ScriptRun.Result r = provision("--prefix", "acme", "--yes", "--grant", "carol@contoso.com");
        assertEquals(2, r.code, r.all());
        assertTrue(r.err.contains("no user 'carol@contoso.com'"), r.err);
        ScriptRun.Result g = provision("--prefix", "acme", "--yes", "--grant", "no-such-team");
        assertEquals(2, g.code, g.all());
        assertTrue(g.err.contains("no group named 'no-such-team'"), g.err);
        assertEquals(List.of(), azure.writes());
    }

    @Test
    void anAmbiguousGroupNameIsBadInputNamingTheCandidates() {
        String other = azure.addGroup("ml-team");
        ScriptRun.Result r = provision("--prefix", "acme", "--yes", "--grant", "ml-team");
        assertEquals(2, r.code, r.all());
        assertTrue(r.err.contains("2 groups are named 'ml-team'"), r.err);
        assertTrue(r.err.contains(mlTeam) && r.err.contains(other), r.err);
        assertEquals(List.of(), azure.writes());
        // The object id picks one.
        ScriptRun.Result ok = provision("--prefix", "acme", "--yes", "--grant", other);
        assertEquals(0, ok.code, ok.all());
        assertEquals(4, grantsOf(other));
        assertEquals(0, grantsOf(mlTeam));
    }

    @Test
    void aGranteeConnectsWithOnlyTheGrantedRolesAndGetsTheAdminsProfile() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--yes", "--grant", "ml-team").code);
        AzureLogin.Transport asBob = ScriptRun.signedInAs(azure, bob);

        // Before the services are deployed: says so, and who deploys them.
        ScriptRun.Result early = servicesAs(aliceHome, asBob, "connect", "--prefix", "acme");
        assertEquals(1, early.code, early.all());
        assertTrue(early.err.contains("not deployed on aks-acme-metaflow-default yet"), early.err);
        assertTrue(early.err.contains("jbang services.java --prefix acme"), early.err);

        ScriptRun.Result deploy = servicesAs(home, ScriptRun.signedIn(azure), "--argo-manifests", argoDir.toString(), "--timeout", "20");
        assertEquals(0, deploy.code, deploy.all());
        byte[] adminProfile = Files.readAllBytes(home.resolve(".metaflowconfig/config_acme-default.json"));

        int azureWrites = azure.writes().size();
        int kubeWrites = kube.writes().size();
        int denied = (int) azure.requests().stream().filter(q -> q.status() == 403).count();
        ScriptRun.Result r = servicesAs(aliceHome, asBob, "connect", "--prefix", "acme");
        assertEquals(0, r.code, r.all());
        assertArrayEquals(adminProfile, Files.readAllBytes(aliceHome.resolve(".metaflowconfig/config_acme-default.json")));
        assertTrue(Files.readString(aliceHome.resolve(".kube/config")).contains("aks-acme-metaflow-default"));
        assertTrue(r.out.contains("export METAFLOW_PROFILE=acme-default"), r.out);
        assertEquals(azureWrites, azure.writes().size(), "connect wrote to Azure");
        assertEquals(kubeWrites, kube.writes().size(), "connect wrote to the cluster");
        assertEquals(denied, azure.requests().stream().filter(q -> q.status() == 403).count(), "connect asked for something not granted");

        // Another offset changes the local URLs only; connect needs the stack's names.
        Path other = Files.createTempDirectory(aliceHome, "offset");
        ScriptRun.Result shifted = servicesAs(other, asBob, "connect", "--prefix", "acme", "--port-offset", "10000", "--no-kubeconfig");
        assertEquals(0, shifted.code, shifted.all());
        JsonNode admin = Json.parse(new String(adminProfile, java.nio.charset.StandardCharsets.UTF_8));
        JsonNode mine = Json.parse(Files.readString(other.resolve(".metaflowconfig/config_acme-default.json")));
        assertEquals("http://127.0.0.1:18080/", mine.path("METAFLOW_SERVICE_URL").asText());
        assertEquals("http://127.0.0.1:22000/metaflow-event", mine.path("METAFLOW_ARGO_EVENTS_WEBHOOK_URL").asText());
        var rest = ((com.fasterxml.jackson.databind.node.ObjectNode) mine.deepCopy());
        var adminRest = ((com.fasterxml.jackson.databind.node.ObjectNode) admin.deepCopy());
        for (String k : List.of("METAFLOW_SERVICE_URL", "METAFLOW_ARGO_EVENTS_WEBHOOK_URL")) {
            rest.remove(k);
            adminRest.remove(k);
        }
        assertEquals(adminRest, rest);
        assertFalse(Files.exists(other.resolve(".kube/config")));
        assertEquals(2, servicesAs(other, asBob, "connect").code);

        // Without the grant the same command is refused by Azure, and says whom to ask.
        String carol = azure.addUser("carol@contoso.com", "Carol");
        ScriptRun.Result none = servicesAs(aliceHome, ScriptRun.signedInAs(azure, carol), "connect", "--prefix", "acme",
                "--subscription", AzureFake.DEFAULT_SUBSCRIPTION);
        assertNotEquals(0, none.code, none.all());
    }

    @Test
    void aGranteesProvisionStopsAtThePermissionCheckWithNoWrite() {
        assertEquals(0, provision("--prefix", "acme", "--yes", "--grant", "alice@contoso.com").code);
        int writes = azure.writes().size();
        ScriptRun.Result r = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), aliceHome), ScriptRun.signedInAs(azure, alice),
                "--prefix", "acme", "--yes", "--workers-max", "20");
        assertEquals(5, r.code, r.all());
        assertTrue(r.err.contains("pre-flight check 'permissions' failed"), r.err);
        assertTrue(r.err.contains("AuthorizationFailed"), r.err);
        assertEquals(writes, azure.writes().size());
    }

    @Test
    void planShowsGrantsAndYouCannotRevokeYourself() {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        ScriptRun.Result dry = provision("--prefix", "acme", "--dry-run", "--grant", alice, "--grant", azure.userObjectId());
        assertEquals(0, dry.code, dry.all());
        assertTrue(dry.out.contains("+ role assignment"), dry.out);
        assertTrue(dry.out.contains("Storage Blob Data Contributor for alice@contoso.com on metaflow-storage-container"), dry.out);
        assertTrue(dry.out.contains("note: "), dry.out);
        assertTrue(dry.out.contains("access: you, alice@contoso.com"), dry.out);
        ScriptRun.Result json = provision("--prefix", "acme", "--dry-run", "--output", "json", "--grant", "alice@contoso.com");
        assertEquals(0, json.code, json.all());
        assertEquals(alice, Json.parse(json.out).at("/access/1/objectId").asText());
        ScriptRun.Result self = provision("--prefix", "acme", "--yes", "--revoke", azure.userObjectId());
        assertEquals(2, self.code, self.all());
        assertTrue(self.err.contains("is you"), self.err);
        ScriptRun.Result asAlice = servicesAs(aliceHome, ScriptRun.signedInAs(azure, alice), "connect", "--prefix", "acme");
        assertEquals(1, asAlice.code, asAlice.all());
        assertTrue(asAlice.err.contains("--grant <your UPN"), asAlice.err);
    }
}
