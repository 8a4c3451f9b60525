import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import azure.Roles;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import fake.AzureFake;
import fake.ScriptRun;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stack's container registry on the Azure side (issue 24 parts 1 and 2): the registry, its pull and push roles, its
 * static cache rules, the Docker Hub login in a Key Vault, the pre-flight name checks and teardown.
 */
class RegistryTest {
    @TempDir Path home;

    static final String RG = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION + "/resourceGroups/rg-acme-metaflow-default-eastus";
    static final String REGISTRY = RG + "/providers/Microsoft.ContainerRegistry/registries/cracmemfdefault";
    static final String AKS = RG + "/providers/Microsoft.ContainerService/managedClusters/aks-acme-metaflow-default";
    static final String VAULT = RG + "/providers/Microsoft.KeyVault/vaults/kvacmemfdefault";
    static final String LOGIN = "cracmemfdefault.azurecr.io";
    /** Looks like a Docker Hub personal access token; must appear nowhere but in the Key Vault secret. */
    static final String TOKEN = "dckr_pat_Zq8vN3xYt5LmR2wK7pQe1HsJdUa";

    ScriptRun.Result provision(AzureFake fake, Map<String, String> env, String... args) {
        return ScriptRun.run(provision::run, new AzureLogin.Host(env, home), ScriptRun.signedIn(fake), args);
    }

    ScriptRun.Result provision(AzureFake fake, String... args) {
        return provision(fake, Map.of(), args);
    }

    static List<JsonNode> ofType(AzureFake fake, String type) {
        return fake.snapshot().values().stream().filter(r -> r.path("type").asText().equalsIgnoreCase(type)).toList();
    }

    static JsonNode rule(AzureFake fake, String name) {
        return fake.resource(REGISTRY + "/cacheRules/" + name).orElseThrow(() -> new AssertionError("no cache rule " + name));
    }

    @Test
    void thePlanShowsTheRegistryItsRulesAndRolesAndTheClusterPullsThroughThem() {
        AzureFake fake = new AzureFake();
        // DOCKERHUB_TOKEN alone (set for other tools) asks for nothing: without --dockerhub-user it is not read.
        ScriptRun.Result dry = provision(fake, Map.of("DOCKERHUB_TOKEN", TOKEN), "--prefix", "acme", "--dry-run");
        assertEquals(0, dry.code, dry.all());
        for (String s : List.of("container registry", "cracmemfdefault", "sku: Basic", "anonymous pull: off", "cache rule", "library-python",
                "public.ecr.aws/docker/library/python", "stack-curl-curl", "quay.io/curl/curl", "AcrPull for aks-acme-metaflow-default's kubelet identity",
                "AcrPush for you on cracmemfdefault")) {
            assertTrue(dry.out.replaceAll(" +", " ").contains(s), s + " not in\n" + dry.out);
        }
        assertFalse(dry.out.contains("key vault"), "no vault without a Docker Hub login\n" + dry.out);

        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes", "--registry-sku", "Standard");
        assertEquals(0, r.code, r.all());
        JsonNode reg = fake.resource(REGISTRY).orElseThrow();
        assertEquals("Standard", reg.at("/sku/name").asText());
        assertFalse(reg.at("/properties/adminUserEnabled").asBoolean(true));
        assertFalse(reg.at("/properties/anonymousPullEnabled").asBoolean(true));
        assertEquals("acme-default", reg.at("/tags/metaflow-stack").asText());
        assertEquals("library/python", rule(fake, "library-python").at("/properties/targetRepository").asText());
        assertEquals("public.ecr.aws/docker/library/python", rule(fake, "library-python").at("/properties/sourceRepository").asText());
        assertEquals("quay.io/curl/curl", rule(fake, "stack-curl-curl").at("/properties/sourceRepository").asText());
        assertEquals(2, ofType(fake, "Microsoft.ContainerRegistry/registries/cacheRules").size());

        // The nodes pull what a rule serves and what was pushed; anything else is not found.
        assertNull(fake.imagePullRefusal(AKS, LOGIN + "/library/python:3.12-slim"));
        assertNull(fake.imagePullRefusal(AKS, LOGIN + "/stack/curl/curl:8.11.1"));
        // The task image was pushed by its ACR Tasks build; a tag nobody built or cached is not found.
        assertNull(fake.imagePullRefusal(AKS, LOGIN + "/metaflow/python:3.12"));
        assertTrue(fake.imagePullRefusal(AKS, LOGIN + "/metaflow/python:3.14").endsWith(": not found"));
        assertTrue(fake.imagePullRefusal(AKS, LOGIN + "/team/train:1").endsWith(": not found"));
        fake.pushImage(LOGIN, "team/train", "1");
        assertNull(fake.imagePullRefusal(AKS, LOGIN + "/team/train:1"));

        // Re-run: up to date, no write.
        int before = fake.writes().size();
        ScriptRun.Result again = provision(fake, "--prefix", "acme", "--yes", "--registry-sku", "Standard");
        assertEquals(0, again.code, again.all());
        assertTrue(again.out.contains("up to date"), again.out);
        assertEquals(before, fake.writes().size(), fake.writes().subList(before, fake.writes().size()).toString());

        // Without the kubelet identity's AcrPull the nodes get the registry's 401, as containerd reports it.
        JsonNode pull = ofType(fake, "Microsoft.Authorization/roleAssignments").stream()
                .filter(a -> a.at("/properties/roleDefinitionId").asText().endsWith(Roles.ACR_PULL)).findFirst().orElseThrow();
        fake.editResource(pull.path("id").asText(), b -> ((com.fasterxml.jackson.databind.node.ObjectNode) b.path("properties"))
                .put("principalId", "00000000-0000-0000-0000-00000000dead"));
        String refusal = fake.imagePullRefusal(AKS, LOGIN + "/library/python:3.12-slim");
        assertNotNull(refusal);
        assertTrue(refusal.contains("failed to authorize: failed to fetch anonymous token") && refusal.contains("401 Unauthorized"), refusal);
    }

    @Test
    void aTakenRegistryNameIsRefusedBeforeAnyWrite() {
        AzureFake fake = new AzureFake().takeGlobalName("Microsoft.ContainerRegistry/registries", "cracmemfdefault");
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(5, r.code, r.all());
        assertTrue(r.err.contains("container registry name cracmemfdefault is taken outside this stack (AlreadyExists)"), r.err);
        assertTrue(r.err.contains("choose another --prefix or --env"), r.err);
        assertEquals(List.of(), fake.writes());
    }

    @Test
    void aNamespacedCacheImageWithoutADockerHubLoginIsBadInputTouchingNothing() {
        AzureFake fake = new AzureFake();
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes", "--cache-image", "pytorch/pytorch");
        assertEquals(2, r.code, r.all());
        assertTrue(r.err.contains("--cache-image") && r.err.contains("--dockerhub-user") && r.err.contains("DOCKERHUB_TOKEN"), r.err);
        assertEquals(List.of(), fake.requests());
        for (String bad : List.of("Ubuntu", "ubuntu:22.04", "ghcr.io/foo/bar", "python")) {
            ScriptRun.Result b = provision(fake, "--prefix", "acme", "--yes", "--cache-image", bad);
            assertEquals(2, b.code, bad + ": " + b.all());
        }
        assertEquals(2, provision(fake, "--prefix", "acme", "--yes", "--registry-sku", "Classic").code);
        assertEquals(List.of(), fake.requests());
    }

    @Test
    void anOfficialCacheImageUsesTheMirrorAndADroppedOneLosesItsRule() {
        AzureFake fake = new AzureFake();
        assertEquals(0, provision(fake, "--prefix", "acme", "--yes", "--cache-image", "ubuntu").code);
        assertEquals("public.ecr.aws/docker/library/ubuntu", rule(fake, "metaflow-ubuntu").at("/properties/sourceRepository").asText());
        assertEquals("metaflow/ubuntu", rule(fake, "metaflow-ubuntu").at("/properties/targetRepository").asText());
        assertNull(fake.imagePullRefusal(AKS, LOGIN + "/metaflow/ubuntu:24.04"));

        ScriptRun.Result dry = provision(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, dry.code, dry.all());
        assertTrue(dry.out.contains("--cache-image ubuntu is no longer given"), dry.out);
        assertTrue(dry.out.contains("already cached ones stay in repository metaflow/ubuntu"), dry.out);
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(fake.resource(REGISTRY + "/cacheRules/metaflow-ubuntu").isEmpty());
        assertTrue(fake.resource(REGISTRY + "/cacheRules/library-python").isPresent(), "the stack's own rules stay");
    }

    @Test
    void aDockerHubLoginGoesToTheVaultTheRulesUseItAndTheTokenIsShownNowhere() throws IOException {
        AzureFake fake = new AzureFake();
        Map<String, String> env = Map.of("DOCKERHUB_TOKEN", TOKEN);
        List<String> seen = new ArrayList<>();
        ScriptRun.Result dry = provision(fake, env, "--prefix", "acme", "--dry-run", "--dockerhub-user", "acmeml", "--cache-image", "pytorch/pytorch");
        assertEquals(0, dry.code, dry.all());
        assertTrue(dry.out.contains("key vault") && dry.out.contains("kvacmemfdefault") && dry.out.contains("credential set"), dry.out);
        assertTrue(dry.out.contains("docker.io/pytorch/pytorch (with the Docker Hub login)"), dry.out);
        seen.add(dry.all());
        ScriptRun.Result json = provision(fake, env, "--prefix", "acme", "--dry-run", "--json", "--dockerhub-user", "acmeml", "--cache-image", "pytorch/pytorch");
        seen.add(json.all());
        ScriptRun.Result r = provision(fake, env, "--prefix", "acme", "--yes", "--verbose", "--dockerhub-user", "acmeml", "--cache-image", "pytorch/pytorch");
        assertEquals(0, r.code, r.all());
        seen.add(r.all());

        String credentialSet = REGISTRY + "/credentialSets/dockerhub";
        JsonNode cs = fake.resource(credentialSet).orElseThrow();
        assertEquals("docker.io", cs.at("/properties/loginServer").asText());
        assertEquals("https://kvacmemfdefault.vault.azure.net/secrets/dockerhub-token", cs.at("/properties/authCredentials/0/passwordSecretIdentifier").asText());
        for (String name : List.of("library-python", "metaflow-pytorch-pytorch")) {
            assertEquals(credentialSet, rule(fake, name).at("/properties/credentialSetResourceId").asText(), name);
        }
        assertEquals("docker.io/library/python", rule(fake, "library-python").at("/properties/sourceRepository").asText());
        assertEquals("docker.io/pytorch/pytorch", rule(fake, "metaflow-pytorch-pytorch").at("/properties/sourceRepository").asText());
        assertEquals("quay.io/curl/curl", rule(fake, "stack-curl-curl").at("/properties/sourceRepository").asText());
        assertFalse(rule(fake, "stack-curl-curl").at("/properties").has("credentialSetResourceId"));
        // The credential set's identity reads the secrets; the vault answers to Azure RBAC only.
        JsonNode vault = fake.resource(VAULT).orElseThrow();
        assertTrue(vault.at("/properties/enableRbacAuthorization").asBoolean());
        assertEquals(AzureFake.TENANT_ID, vault.at("/properties/tenantId").asText());
        String csPrincipal = cs.at("/identity/principalId").asText();
        assertTrue(ofType(fake, "Microsoft.Authorization/roleAssignments").stream().anyMatch(a -> a.at("/properties/principalId").asText().equals(csPrincipal)
                && a.at("/properties/roleDefinitionId").asText().endsWith(Roles.KEY_VAULT_SECRETS_USER)
                && a.at("/properties/scope").asText().equalsIgnoreCase(VAULT)));
        assertEquals(TOKEN, fake.keyVaultSecret(VAULT + "/secrets/dockerhub-token").orElseThrow());
        assertEquals("acmeml", fake.keyVaultSecret(VAULT + "/secrets/dockerhub-user").orElseThrow());
        assertFalse(Json.write(fake.resource(VAULT + "/secrets/dockerhub-token").orElseThrow()).contains(TOKEN), "a GET returned the value");

        // A re-run with the same token, and one with none, change nothing; a new token rewrites just that secret.
        int before = fake.writes().size();
        ScriptRun.Result same = provision(fake, env, "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml", "--cache-image", "pytorch/pytorch");
        assertEquals(0, same.code, same.all());
        assertTrue(same.out.contains("up to date"), same.out);
        seen.add(same.all());
        ScriptRun.Result kept = provision(fake, "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml", "--cache-image", "pytorch/pytorch");
        assertEquals(0, kept.code, kept.all());
        assertTrue(kept.out.contains("up to date"), kept.out);
        assertEquals(before, fake.writes().size(), fake.writes().subList(before, fake.writes().size()).toString());
        Path tokenFile = home.resolve("token");
        Files.writeString(tokenFile, "dckr_pat_another0000000000000000\n");
        ScriptRun.Result rotated = provision(fake, "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml", "--cache-image", "pytorch/pytorch",
                "--dockerhub-token-file", tokenFile.toString());
        assertEquals(0, rotated.code, rotated.all());
        List<String> writes = fake.writes().subList(before, fake.writes().size()).stream().map(w -> w.method() + " " + w.path()).toList();
        assertEquals(List.of("PUT " + VAULT + "/secrets/dockerhub-token"), writes);
        assertEquals("dckr_pat_another0000000000000000", fake.keyVaultSecret(VAULT + "/secrets/dockerhub-token").orElseThrow());

        // The token is in no output, no request log line and no file the runs wrote.
        for (String text : seen) assertFalse(text.contains(TOKEN), "the token was printed:\n" + text);
        assertFalse(rotated.all().contains("dckr_pat_another"), rotated.all());
        try (Stream<Path> files = Files.walk(home)) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.equals(tokenFile)).toList()) {
                assertFalse(Files.readString(f).contains("dckr_pat_"), "token written to " + f);
            }
        }
    }

    @Test
    void droppingTheDockerHubLoginMovesTheRulesBackToTheMirrorAndRemovesTheLoginForGood() {
        AzureFake fake = new AzureFake();
        assertEquals(0, provision(fake, Map.of("DOCKERHUB_TOKEN", TOKEN), "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml").code);
        assertEquals("docker.io/library/python", rule(fake, "library-python").at("/properties/sourceRepository").asText());
        ScriptRun.Result dry = provision(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, dry.code, dry.all());
        assertTrue(dry.out.contains("--dockerhub-user is no longer given: the vault and its Docker Hub secrets are deleted and purged"), dry.out);
        assertTrue(dry.out.contains("a rule's source cannot change"), dry.out);
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertEquals("public.ecr.aws/docker/library/python", rule(fake, "library-python").at("/properties/sourceRepository").asText());
        assertFalse(rule(fake, "library-python").at("/properties").has("credentialSetResourceId"));
        assertTrue(fake.resource(REGISTRY + "/credentialSets/dockerhub").isEmpty());
        assertTrue(fake.resource(VAULT).isEmpty());
        assertEquals(List.of(), fake.deletedVaults(), "the token was left in a soft-deleted vault");
        ScriptRun.Result again = provision(fake, "--prefix", "acme", "--yes");
        assertTrue(again.out.contains("up to date"), again.all());
    }

    @Test
    void aDockerHubUserWithoutAStoredTokenIsBadInput() {
        AzureFake fake = new AzureFake();
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml");
        assertEquals(2, r.code, r.all());
        assertTrue(r.err.contains("no Docker Hub token stored yet") && r.err.contains("DOCKERHUB_TOKEN"), r.err);
        assertEquals(List.of(), fake.writes());
    }

    @Test
    void teardownLeavesNothingAndAReProvisionRecoversASoftDeletedVault() {
        AzureFake fake = new AzureFake();
        Map<String, String> env = Map.of("DOCKERHUB_TOKEN", TOKEN);
        assertEquals(0, provision(fake, env, "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml").code);
        ScriptRun.Result dry = ScriptRun.run(teardown::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), "--prefix", "acme", "--dry-run");
        assertEquals(0, dry.code, dry.all());
        assertTrue(dry.out.contains("container registry cracmemfdefault") && dry.out.contains("deleted key vault"), dry.out);
        ScriptRun.Result td = ScriptRun.run(teardown::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), "--prefix", "acme", "--yes");
        assertEquals(0, td.code, td.all());
        assertTrue(fake.resourceIds().stream().noneMatch(id -> id.toLowerCase().startsWith(RG.toLowerCase())), fake.resourceIds().toString());
        assertEquals(List.of(), fake.deletedVaults(), "the vault was left soft-deleted");

        // A group deleted another way (here: teardown --no-wait) leaves the vault soft-deleted: provision recovers it.
        assertEquals(0, provision(fake, env, "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml").code);
        ScriptRun.Result noWait = ScriptRun.run(teardown::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake),
                "--prefix", "acme", "--yes", "--no-wait");
        assertEquals(0, noWait.code, noWait.all());
        assertTrue(noWait.out.contains("az keyvault purge --name kvacmemfdefault"), noWait.out);
        assertTrue(fake.resource(RG).isEmpty());
        assertEquals(List.of("kvacmemfdefault"), fake.deletedVaults());
        ScriptRun.Result again = provision(fake, env, "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml");
        assertEquals(0, again.code, again.all());
        assertTrue(fake.resource(VAULT).isPresent());
        assertEquals(List.of(), fake.deletedVaults());
        assertTrue(fake.writes().stream().anyMatch(w -> w.path().equalsIgnoreCase(VAULT) && w.body().contains("\"createMode\":\"recover\"")));
    }

    @Test
    void aVaultNameTakenElsewhereIsRefusedInPreflight() {
        AzureFake fake = new AzureFake().takeGlobalName("Microsoft.KeyVault/vaults", "kvacmemfdefault");
        ScriptRun.Result r = provision(fake, Map.of("DOCKERHUB_TOKEN", TOKEN), "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml");
        assertEquals(5, r.code, r.all());
        assertTrue(r.err.contains("key vault name kvacmemfdefault is taken outside this stack"), r.err);
        assertEquals(List.of(), fake.writes());
    }
}
