import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import azure.Clouds;
import azure.LocalFiles;
import azure.Stack;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import fake.AzureFake;
import fake.FakeCredential;
import fake.NoNetwork;
import fake.ScriptRun;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * teardown.java against the Azure fake, seeded with things that are not the stack: another stack, untagged groups
 * named like the stack's, unrelated role assignments, other kubeconfig entries and profiles.
 */
class TeardownTest {
    static final String SUB = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION;
    static final String RG = SUB + "/resourceGroups/rg-acme-metaflow-default-eastus";
    static final String MC = SUB + "/resourceGroups/MC_rg-acme-metaflow-default-eastus_aks-acme-metaflow-default_eastus";
    static final String OTHER_RG = SUB + "/resourceGroups/rg-other-metaflow-default-eastus";
    static final String LOOKALIKE_RG = SUB + "/resourceGroups/rg-acme-metaflow-dev-eastus";
    static final String USER_READER = SUB + "/providers/Microsoft.Authorization/roleAssignments/11111111-1111-1111-1111-111111111111";
    static final String READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7";

    @TempDir Path home;
    AzureFake fake = new AzureFake();

    ScriptRun.Result exec(ScriptRun.Script script, String... args) {
        return ScriptRun.run(script, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), args);
    }

    ScriptRun.Result provision(String... args) { return exec(provision::run, args); }
    ScriptRun.Result teardown(String... args) { return exec(teardown::run, args); }

    // --- the world around the stack ----------------------------------------------------------------------------

    @BeforeEach
    void seedOthers() {
        assertEquals(0, provision("--prefix", "other", "--yes").code, "another stack");
        ObjectNode untagged = Json.obj().put("location", "eastus");
        fake.seed(LOOKALIKE_RG, untagged);
        fake.seed(LOOKALIKE_RG + "/providers/Microsoft.Network/virtualNetworks/vnet-acme-metaflow-dev", untagged);
        fake.seed(USER_READER, assignment(SUB, READER, fake.userObjectId(), "User"));
    }

    static ObjectNode assignment(String scope, String role, String principal, String type) {
        ObjectNode b = Json.obj();
        b.putObject("properties").put("scope", scope).put("principalId", principal).put("principalType", type)
                .put("roleDefinitionId", SUB + "/providers/Microsoft.Authorization/roleDefinitions/" + role);
        return b;
    }

    static final String KUBECONFIG = """
            apiVersion: v1
            kind: Config
            preferences: {}
            current-context: aks-acme-metaflow-default
            clusters:
            - name: aks-other-metaflow-default
              cluster:
                server: https://other-default-metaflow.hcp.eastus.azmk8s.io:443
                certificate-authority-data: QUJD
            - name: aks-acme-metaflow-default
              cluster:
                server: https://acme-default-metaflow.hcp.eastus.azmk8s.io:443
                certificate-authority-data: REVG
            - name: kind-dev
              cluster:
                server: https://127.0.0.1:6443
            contexts:
            - name: aks-other-metaflow-default
              context:
                cluster: aks-other-metaflow-default
                user: clusterUser_rg-other-metaflow-default-eastus_aks-other-metaflow-default
            - name: aks-acme-metaflow-default
              context:
                cluster: aks-acme-metaflow-default
                user: clusterUser_rg-acme-metaflow-default-eastus_aks-acme-metaflow-default
                namespace: metaflow
            - name: kind-dev
              context:
                cluster: kind-dev
                user: kind-dev
            users:
            - name: clusterUser_rg-other-metaflow-default-eastus_aks-other-metaflow-default
              user:
                token: other-token
            - name: clusterUser_rg-acme-metaflow-default-eastus_aks-acme-metaflow-default
              user:
                token: acme-token
            - name: kind-dev
              user:
                client-certificate-data: R0hJ
            """;

    Stack acme() { return Stack.of("acme", "default", "eastus", Clouds.named("public")); }
    Stack other() { return Stack.of("other", "default", "eastus", Clouds.named("public")); }
    AzureLogin.Host host() { return new AzureLogin.Host(Map.of(), home); }

    void writeLocalFiles() throws Exception {
        Path kube = home.resolve(".kube/config");
        Files.createDirectories(kube.getParent());
        Files.writeString(kube, KUBECONFIG);
        LocalFiles.writeProfile(host(), acme(), "{\"METAFLOW_DEFAULT_DATASTORE\": \"azure\"}\n");
        LocalFiles.writeProfile(host(), other(), "{\"METAFLOW_DEFAULT_DATASTORE\": \"azure\", \"other\": true}\n");
    }

    /** Every resource, application and service principal that is not the acme stack's, as it is now. */
    Map<String, JsonNode> othersState(String... alsoTheStacks) {
        Map<String, JsonNode> m = new HashMap<>();
        List<String> skip = java.util.Arrays.stream(alsoTheStacks).map(x -> x.toLowerCase(Locale.ROOT)).toList();
        fake.snapshot().forEach((k, v) -> {
            if (!isAcme(k) && !skip.contains(k)) m.put(k, v);
        });
        for (JsonNode a : fake.applications()) if (!a.path("displayName").asText().equals("app-acme-metaflow-default")) m.put("app:" + a.path("id").asText(), a);
        for (JsonNode s : fake.servicePrincipals()) if (!s.path("displayName").asText().equals("app-acme-metaflow-default")) m.put("sp:" + s.path("id").asText(), s);
        return m;
    }

    static boolean isAcme(String idOrPath) {
        String l = idOrPath.toLowerCase(Locale.ROOT);
        return l.startsWith(RG.toLowerCase(Locale.ROOT) + "/") || l.equals(RG.toLowerCase(Locale.ROOT))
                || l.startsWith(MC.toLowerCase(Locale.ROOT));
    }

    List<String> acmeIds() {
        return fake.resourceIds().stream().filter(TeardownTest::isAcme).toList();
    }

    /** A grant the acme service principal holds on the subscription (outside its group); returns its id. */
    String seedOutsideGrant() {
        JsonNode app = fake.applications().stream().filter(a -> a.path("displayName").asText().equals("app-acme-metaflow-default"))
                .findFirst().orElseThrow();
        JsonNode sp = fake.servicePrincipals().stream().filter(x -> x.path("appId").asText().equals(app.path("appId").asText()))
                .findFirst().orElseThrow();
        String id = SUB + "/providers/Microsoft.Authorization/roleAssignments/22222222-2222-2222-2222-222222222222";
        fake.seed(id, assignment(SUB, READER, sp.path("id").asText(), "ServicePrincipal"));
        return id;
    }

    String identityPrincipal() {
        return fake.resource(RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-acme-metaflow-default")
                .orElseThrow().at("/properties/principalId").asText();
    }

    /** Write requests (path) that touch something other than the acme stack's group, its Graph objects or the given ids. */
    List<String> foreignWrites(int from, List<String> allowedIds, List<String> graphIds) {
        List<String> bad = new ArrayList<>();
        var writes = fake.writes();
        for (var w : writes.subList(Math.min(from, writes.size()), writes.size())) {
            String p = w.path().toLowerCase(Locale.ROOT);
            if (isAcme(p)) continue;
            if (allowedIds.stream().anyMatch(id -> p.equals(id.toLowerCase(Locale.ROOT)))) continue;
            if (graphIds.stream().anyMatch(id -> p.endsWith("/" + id.toLowerCase(Locale.ROOT)))) continue;
            bad.add(w.method() + " " + w.path());
        }
        return bad;
    }

    // --- tests -------------------------------------------------------------------------------------------------

    @Test
    void fullTeardownRemovesTheStackEverywhereAndWritesNothingElse() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--service-principal", "--yes").code);
        JsonNode app = fake.applications().stream().filter(a -> a.path("displayName").asText().equals("app-acme-metaflow-default"))
                .findFirst().orElseThrow();
        JsonNode sp = fake.servicePrincipals().stream().filter(s -> s.path("appId").asText().equals(app.path("appId").asText()))
                .findFirst().orElseThrow();
        // a grant the stack's principal holds outside its group (on the subscription)
        String outside = SUB + "/providers/Microsoft.Authorization/roleAssignments/22222222-2222-2222-2222-222222222222";
        fake.seed(outside, assignment(SUB, READER, sp.path("id").asText(), "ServicePrincipal"));
        writeLocalFiles();
        assertFalse(acmeIds().isEmpty());
        assertTrue(acmeIds().stream().anyMatch(id -> id.contains("/subnets/snet-k8s/providers/Microsoft.Authorization/roleAssignments/")),
                "the cluster's Network Contributor grant on its subnet, which goes with the group");
        Map<String, JsonNode> before = othersState(outside);
        // The grantees' custom role: a directory-wide definition the group's deletion does not remove.
        String customRole = acmeCustomRole();
        assertTrue(fake.customRoleDefinitions().stream().anyMatch(d -> d.path("id").asText().equalsIgnoreCase(customRole)));
        int writesBefore = fake.writes().size();

        ScriptRun.Result preview = teardown("--prefix", "acme", "--dry-run");
        assertEquals(0, preview.code, preview.all());
        for (String shown : List.of("resource group rg-acme-metaflow-default-eastus", "AKS cluster aks-acme-metaflow-default",
                "PostgreSQL flexible server psql-acme-metaflow-default", "storage account stacmemfdefault",
                "AKS node resource group: MC_rg-acme-metaflow-default-eastus_aks-acme-metaflow-default_eastus",
                "AAD application app-acme-metaflow-default", "service principal app-acme-metaflow-default",
                "Reader on " + SUB, "kubeconfig context aks-acme-metaflow-default", "Metaflow profile",
                "custom role Metaflow flow runner (rg-acme-metaflow-default-eastus")) {
            assertTrue(preview.out.contains(shown), "preview lacks " + shown + ":\n" + preview.out);
        }
        assertTrue(preview.out.indexOf("Azure resource group") < preview.out.indexOf("Directory objects"));
        assertTrue(preview.out.indexOf("Directory objects") < preview.out.indexOf("Role assignments outside"));
        assertTrue(preview.out.indexOf("Role assignments outside") < preview.out.indexOf("On this machine"));
        assertTrue(preview.out.contains("Dry run: nothing was deleted."));
        assertEquals(writesBefore, fake.writes().size(), "a dry run writes nothing");

        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.contains("Done in "), r.out);
        assertTrue(r.out.contains("deleted   resource group rg-acme-metaflow-default-eastus ("), r.out);
        assertEquals(List.of(), acmeIds(), "stack resources left");
        assertTrue(fake.resource(outside).isEmpty(), "outside role assignment left");
        assertTrue(fake.applications().stream().noneMatch(a -> a.path("displayName").asText().equals("app-acme-metaflow-default")));
        assertTrue(fake.servicePrincipals().stream().noneMatch(s -> s.path("appId").asText().equals(app.path("appId").asText())));
        assertEquals(List.of(), fake.deletedItems(), "nothing left in the directory's deleted items");
        assertTrue(fake.customRoleDefinitions().stream().noneMatch(d -> d.path("id").asText().equalsIgnoreCase(customRole)), "the custom role is left: " + customRole + " in " + fake.customRoleDefinitions());
        // the resource group went in one DELETE; nothing inside it was deleted one by one
        List<String> armDeletes = fake.writes().subList(writesBefore, fake.writes().size()).stream()
                .filter(w -> w.method().equals("DELETE") && isAcme(w.path())).map(w -> w.path()).toList();
        assertEquals(List.of(RG), armDeletes);

        assertSame(before, othersState(outside));
        assertEquals(List.of(), foreignWrites(writesBefore, List.of(outside, customRole), List.of(app.path("id").asText(), sp.path("id").asText())));
        assertTrue(fake.resource(USER_READER).isPresent());
        assertTrue(fake.resource(LOOKALIKE_RG).isPresent());

        // local files: only the stack's context (and its cluster and user) and its profile are gone
        JsonNode kube = LocalFiles.parseYaml(Files.readString(home.resolve(".kube/config")));
        assertEquals(List.of("aks-other-metaflow-default", "kind-dev"), names(kube.path("contexts")));
        assertEquals(List.of("aks-other-metaflow-default", "kind-dev"), names(kube.path("clusters")));
        assertEquals(List.of("clusterUser_rg-other-metaflow-default-eastus_aks-other-metaflow-default", "kind-dev"), names(kube.path("users")));
        assertEquals("other-token", kube.at("/users/0/user/token").asText());
        assertEquals("R0hJ", kube.at("/users/1/user/client-certificate-data").asText());
        assertEquals("", kube.path("current-context").asText());
        assertFalse(Files.exists(LocalFiles.profile(host(), acme())));
        assertFalse(Files.exists(LocalFiles.profileDigest(host(), acme())));
        assertEquals(List.of(new LocalFiles.Profile(LocalFiles.profile(host(), other()), LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT)),
                LocalFiles.profiles(host(), other()), "another stack's profile stays");

        ScriptRun.Result again = teardown("--prefix", "acme", "--yes");
        assertEquals(0, again.code, again.all());
        assertTrue(again.out.startsWith("No stack acme-default found"), again.out);
    }

    @Test
    void halfBuiltStackFromAnInterruptedProvisionIsRemoved() {
        fake.crashAfter(18);
        assertNotEquals(0, provision("--prefix", "acme", "--yes").code, "the provision was cut short");
        fake.resetFaults();
        assertTrue(fake.resource(RG).isPresent(), "the interrupted provision made the group");
        Map<String, JsonNode> before = othersState();
        int writesBefore = fake.writes().size();

        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertEquals(List.of(), acmeIds());
        assertSame(before, othersState());
        assertEquals(List.of(), foreignWrites(writesBefore, List.of(acmeCustomRole()), List.of()));
    }

    /** The id of acme's custom role (provision.java --grant's "Metaflow flow runner"), which teardown deletes by itself. */
    static String acmeCustomRole() {
        return azure.FlowRunner.definitionId(azure.Stack.of("acme", azure.Stack.DEFAULT_ENV, azure.Stack.DEFAULT_LOCATION, azure.Clouds.PUBLIC),
                new azure.Desired.Caller(AzureFake.DEFAULT_SUBSCRIPTION, null, "User"));
    }

    @Test
    void aGroupWithTheStacksNameButNotItsTagsIsRefusedAndNothingIsWritten() throws Exception {
        fake.seed(RG, Json.obj().put("location", "eastus").set("tags", Json.obj().put("owner", "someone-else")));
        fake.seed(RG + "/providers/Microsoft.Storage/storageAccounts/theirs", Json.obj().put("location", "eastus"));
        writeLocalFiles();
        Map<String, JsonNode> before = new HashMap<>(fake.snapshot());
        int writesBefore = fake.writes().size();

        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(3, r.code, r.all());
        assertTrue(r.err.contains("does not carry this stack's tags"), r.err);
        assertEquals(2, r.err.strip().lines().count(), "one line what, one line what to do: " + r.err);
        assertEquals(writesBefore, fake.writes().size());
        assertEquals(before, fake.snapshot());
        assertEquals(KUBECONFIG, Files.readString(home.resolve(".kube/config")), "local files are not touched either");
        assertTrue(Files.exists(LocalFiles.profile(host(), acme())));
    }

    @Test
    void aForeignResourceInsideTheStacksGroupStopsTheTeardown() {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        fake.seed(RG + "/providers/Microsoft.Storage/storageAccounts/stsomeoneelse", Json.obj().put("location", "eastus"));
        int writesBefore = fake.writes().size();

        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(3, r.code, r.all());
        assertTrue(r.err.contains("stsomeoneelse"), r.err);
        assertEquals(writesBefore, fake.writes().size());
        assertTrue(fake.resource(RG).isPresent());
    }

    @Test
    void withoutATerminalAndWithoutYesItOnlyPreviewsAndExits4() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        writeLocalFiles();
        int writesBefore = fake.writes().size();

        ScriptRun.Result r = teardown("--prefix", "acme");
        assertEquals(4, r.code, r.all());
        assertTrue(r.out.contains("resource group rg-acme-metaflow-default-eastus"), r.out);
        assertTrue(r.err.contains("needs confirmation"), r.err);
        assertTrue(r.err.contains("--yes"), r.err);
        assertEquals(writesBefore, fake.writes().size());
        assertTrue(fake.resource(RG).isPresent());
        assertEquals(KUBECONFIG, Files.readString(home.resolve(".kube/config")));
    }

    @Test
    void reRunAfterAnInterruptionAtEachWriteFinishesTheJob() {
        // Where the writes of a teardown fall: record one on a twin world.
        List<Integer> crashPoints = new ArrayList<>();
        {
            assertEquals(0, provision("--prefix", "acme", "--service-principal", "--yes").code);
            seedOutsideGrant();
            int start = fake.requests().size();
            assertEquals(0, teardown("--prefix", "acme", "--yes").code);
            var reqs = fake.requests().subList(start, fake.requests().size());
            for (int i = 0; i < reqs.size(); i++) {
                var q = reqs.get(i);
                // crash right after this write was accepted (the next request dies); the last write has no next request
                if (!q.method().equals("GET") && i + 1 < reqs.size()) crashPoints.add(i + 1);
            }
        }
        assertTrue(crashPoints.size() >= 5, "outside grant, group, SP, app, deleted items: " + crashPoints);
        for (int n : crashPoints) {
            fake = new AzureFake();
            seedOthers();
            assertEquals(0, provision("--prefix", "acme", "--service-principal", "--yes").code);
            String outside = seedOutsideGrant();
            Map<String, JsonNode> before = othersState(outside);
            fake.crashAfter(n);
            assertNotEquals(0, teardown("--prefix", "acme", "--yes").code, "crash point " + n);
            fake.resetFaults();
            ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
            assertEquals(0, r.code, "after crash at " + n + ": " + r.all());
            assertEquals(List.of(), acmeIds(), "after crash at " + n);
            assertTrue(fake.applications().stream().noneMatch(a -> a.path("displayName").asText().equals("app-acme-metaflow-default")));
            assertEquals(List.of(), fake.deletedItems(), "after crash at " + n + ": left in the directory's deleted items\n" + r.all());
            assertTrue(fake.resource(outside).isEmpty(), "after crash at " + n + ": the grant outside the group is left");
            assertSame(before, othersState(outside));
            ScriptRun.Result last = teardown("--prefix", "acme", "--yes");
            assertTrue(last.out.startsWith("No stack acme-default found"), last.all());
        }
    }

    @Test
    void noWaitReturnsOnceDeletionStartedAndARerunWaitsForIt() {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        fake.latency("microsoft.resources/resourcegroups", 1500, null);

        ScriptRun.Result r = teardown("--prefix", "acme", "--yes", "--no-wait");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.contains("Check on it: jbang teardown.java --prefix acme --dry-run"), r.out);
        assertTrue(fake.resource(RG).isPresent(), "still being deleted");

        ScriptRun.Result look = teardown("--prefix", "acme", "--dry-run");
        assertEquals(0, look.code, look.all());
        assertTrue(look.out.contains("already being deleted"), look.out);

        ScriptRun.Result finish = teardown("--prefix", "acme", "--yes");
        assertEquals(0, finish.code, finish.all());
        assertTrue(finish.out.contains("Done in"), finish.out);
        assertEquals(List.of(), acmeIds());
    }

    Map<String, JsonNode> acmeCanonical() {
        Map<String, JsonNode> m = new java.util.TreeMap<>();
        fake.canonicalState().forEach((k, v) -> {
            if (isAcme(k) || k.contains("app-acme-metaflow-default")) m.put(k, v);
        });
        return m;
    }

    @Test
    void provisionTeardownProvisionEndsWithACleanWorkingStack() {
        assertEquals(0, provision("--prefix", "acme", "--service-principal", "--yes").code);
        Map<String, JsonNode> first = acmeCanonical();
        assertEquals(0, teardown("--prefix", "acme", "--yes").code);
        assertEquals(Map.of(), acmeCanonical(), "nothing of the stack is left, in ARM or in the directory");
        ScriptRun.Result again = provision("--prefix", "acme", "--service-principal", "--yes");
        assertEquals(0, again.code, again.all());
        ScriptRun.Result check = provision("--prefix", "acme", "--service-principal", "--yes");
        assertEquals(0, check.code, check.all());
        assertTrue(check.out.contains("is up to date"), check.out);
        assertEquals(first.keySet(), acmeCanonical().keySet(), "the same stack again");
        assertEquals(1, fake.applications().stream().filter(a -> a.path("displayName").asText().equals("app-acme-metaflow-default")).count(),
                "no leftover directory object");
        assertEquals(1, fake.servicePrincipals().stream().filter(a -> a.path("displayName").asText().equals("app-acme-metaflow-default")).count());
    }

    @Test
    void aProfileChangedSinceTheToolkitWroteItIsKept() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        writeLocalFiles();
        Files.writeString(LocalFiles.profile(host(), acme()), "{\"METAFLOW_DEFAULT_DATASTORE\": \"azure\", \"mine\": 1}\n");

        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(Files.exists(LocalFiles.profile(host(), acme())));
        assertTrue(r.out.contains("changed since the toolkit wrote it"), r.out);
    }

    @Test
    void aProfileWrittenUnderAnotherNameForTheStackGoesAndAHandWrittenOneStays() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        Path named = LocalFiles.writeProfile(host(), acme(), "team", "{\"METAFLOW_DEFAULT_DATASTORE\": \"azure\"}\n");
        Path mine = LocalFiles.metaflowHome(host()).resolve("config_acme-default.json");
        Files.writeString(mine, "{\"written\": \"by hand\"}\n");   // the stack's profile name, but no record of the toolkit writing it

        ScriptRun.Result preview = teardown("--prefix", "acme", "--dry-run");
        assertTrue(preview.out.contains("Metaflow profile " + named), preview.out);
        assertTrue(preview.out.contains(mine + " (no record that the toolkit wrote it"), preview.out);

        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertFalse(Files.exists(named));
        assertFalse(Files.exists(LocalFiles.digestOf(named)));
        assertEquals("{\"written\": \"by hand\"}\n", Files.readString(mine));
    }

    @Test
    void keepLocalLeavesKubeconfigAndProfileAlone() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        writeLocalFiles();
        ScriptRun.Result r = teardown("--prefix", "acme", "--yes", "--keep-local");
        assertEquals(0, r.code, r.all());
        assertEquals(List.of(), acmeIds());
        assertEquals(KUBECONFIG, Files.readString(home.resolve(".kube/config")));
        assertEquals(List.of(new LocalFiles.Profile(LocalFiles.profile(host(), acme()), LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT)),
                LocalFiles.profiles(host(), acme()));
    }

    @Test
    void onlyLocalLeftoversAreRemovedOnARerun() throws Exception {
        writeLocalFiles();
        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertFalse(Files.exists(LocalFiles.profile(host(), acme())));
        assertEquals(List.of("aks-other-metaflow-default", "kind-dev"),
                names(LocalFiles.parseYaml(Files.readString(home.resolve(".kube/config"))).path("contexts")));
    }

    @Test
    void aStackInAnotherRegionIsPointedToButNotTouched() {
        assertEquals(0, provision("--prefix", "acme", "--location", "westus2", "--yes").code);
        int writesBefore = fake.writes().size();
        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.startsWith("No stack acme-default found"), r.out);
        assertTrue(r.out.contains("rg-acme-metaflow-default-westus2 (westus2)"), r.out);
        assertEquals(writesBefore, fake.writes().size());
    }

    @Test
    void aKubeconfigContextOfTheSameNameForAnotherClusterIsKept() throws Exception {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        Path kube = home.resolve("elsewhere/kubeconfig");
        Files.createDirectories(kube.getParent());
        String text = KUBECONFIG.replace("cluster: aks-acme-metaflow-default", "cluster: kind-dev");
        Files.writeString(kube, text);
        var out = new ByteArrayOutputStream();
        int code = teardown.run(new String[] {"--prefix", "acme", "--yes"}, new AzureLogin.Host(Map.of("KUBECONFIG", kube.toString()), home),
                ScriptRun.signedIn(fake), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream()));
        assertEquals(0, code, out.toString());
        assertEquals(text, Files.readString(kube));
    }

    @Test
    void refusedDirectoryDeletionIsReportedAfterTheGroupIsGone() {
        assertEquals(0, provision("--prefix", "acme", "--service-principal", "--yes").code);
        fake.denyDirectoryWrites();
        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(1, r.code, r.all());
        assertTrue(r.err.contains("Authorization_RequestDenied"), r.err);
        assertTrue(r.err.contains("run the same command again"), r.err);
        assertEquals(List.of(), acmeIds(), "the group went first");
        ScriptRun.Result look = teardown("--prefix", "acme", "--dry-run");
        assertTrue(look.out.contains("AAD application app-acme-metaflow-default"), look.out);
    }

    @Test
    void anUnreadableKubeconfigStopsTheRunBeforeAnyRequest() throws Exception {
        Files.createDirectories(home.resolve(".kube"));
        Files.writeString(home.resolve(".kube/config"), "clusters: [unclosed\n  - : :\n");
        int requestsBefore = fake.requests().size();
        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(1, r.code, r.all());
        assertTrue(r.err.contains("cannot read the kubeconfig"), r.err);
        assertTrue(r.err.contains("--keep-local"), r.err);
        assertEquals(requestsBefore, fake.requests().size());
    }

    @Test
    void theManagedIdentitysGrantOutsideTheGroupGoesAndOthersGrantsStay() {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        String grant = SUB + "/resourceGroups/rg-other-metaflow-default-eastus/providers/Microsoft.Authorization/roleAssignments/"
                + "33333333-3333-3333-3333-333333333333";
        fake.seed(grant, assignment(OTHER_RG, READER, identityPrincipal(), "ServicePrincipal"));
        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.contains("deleted   role assignment Reader on " + OTHER_RG), r.out);
        assertTrue(fake.resource(grant).isEmpty());
        assertTrue(fake.resource(USER_READER).isPresent());
        assertTrue(fake.resource(OTHER_RG).isPresent());
    }

    @Test
    void nothingThereSaysSoAndExits0() {
        int writesBefore = fake.writes().size();
        ScriptRun.Result r = teardown("--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.startsWith("No stack acme-default found in subscription Fake Subscription"), r.out);
        assertEquals(writesBefore, fake.writes().size());
    }

    @Test
    void jsonOutputIsOneDocument() {
        assertEquals(0, provision("--prefix", "acme", "--yes").code);
        ScriptRun.Result r = teardown("--prefix", "acme", "--dry-run", "--output", "json");
        assertEquals(0, r.code, r.all());
        JsonNode doc = Json.parse(r.out);
        assertEquals("acme-default", doc.path("stack").asText());
        assertEquals("resource group", doc.at("/resources/0/kind").asText());
        assertEquals("delete", doc.at("/resources/0/action").asText());
        assertEquals(StackCount.inGroup("acme"), doc.at("/resources/0/contains").size());
        assertTrue(doc.path("keep").isArray());
    }

    @Test
    void badInputIsRefusedBeforeAnyRequest() {
        NoNetwork net = new NoNetwork();
        for (String[] args : List.of(new String[] {}, new String[] {"--prefix", "Acme"}, new String[] {"--prefix", "acme", "--output", "xml"},
                new String[] {"--prefix", "acme", "--dry-run", "--no-wait"})) {
            var err = new ByteArrayOutputStream();
            int code = teardown.run(args, new AzureLogin.Host(Map.of(), home), new AzureLogin.Transport(net, new FakeCredential(fake.userObjectId(), fake.tenantId(), false), null),
                    new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(2, code, String.join(" ", args) + ": " + err);
        }
        assertEquals(List.of(), net.attempted);
    }

    /** Equal maps, or a failure naming the keys that differ (the maps are too big to print). */
    static void assertSame(Map<String, JsonNode> before, Map<String, JsonNode> after) {
        List<String> differ = new ArrayList<>();
        for (String k : before.keySet()) if (!before.get(k).equals(after.get(k))) differ.add(k);
        for (String k : after.keySet()) if (!before.containsKey(k)) differ.add("new " + k);
        assertEquals(List.of(), differ, "something that is not the stack's changed");
    }

    static List<String> names(JsonNode list) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : list) out.add(e.path("name").asText());
        return out;
    }
}
