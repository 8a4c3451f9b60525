import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Version;
import fake.NoNetwork;
import fake.ScriptRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** provision.java as a user meets it without an Azure sign-in: help, the dry-run plan, and refusals of bad input. */
class ProvisionCliTest {
    @TempDir Path home;

    /** A run with what it tried to send: the transport refuses and records every request. */
    record Run(int code, String out, String err, List<String> requests) {}

    Run run(Map<String, String> env, String... args) {
        NoNetwork net = new NoNetwork();
        ScriptRun.Result r = ScriptRun.run(provision::run, new AzureLogin.Host(env, home), new AzureLogin.Transport(net, null, null), args);
        return new Run(r.code, r.out, r.err, net.attempted);
    }

    Run run(String... args) { return run(Map.of(), args); }

    @Test
    void dryRunWithoutSignInShowsTheWholeCreationPlanAndSendsNothing() {
        Run r = run("--prefix", "acme", "--dry-run");
        assertEquals(0, r.code, r.err);
        assertTrue(r.requests.isEmpty(), "sent " + r.requests);
        assertTrue(r.out.contains("No Azure sign-in found"), r.out);
        assertTrue(r.out.contains("Nothing was changed"), r.out);
        for (String name : List.of("rg-acme-metaflow-default-eastus", "vnet-acme-metaflow-default", "psql-acme-metaflow-default",
                "stacmemfdefault", "aks-acme-metaflow-default", "taskworkers", "id-acme-metaflow-default",
                "metaflow.postgres.database.azure.com", "metaflow-storage-container")) {
            assertTrue(r.out.contains(name), "plan lacks " + name);
        }
        String flat = r.out.replaceAll("[ \t]+", " ");
        for (String setting : List.of("Standard_B2s (Burstable)", "version: 16", "autoscale: 1-10", "172.17.0.0/22", "Azure CNI Overlay", "pods 10.244.0.0/16",
                "TLS 1.2 minimum", "OIDC issuer and workload identity on", "delegated to PostgreSQL")) {
            assertTrue(flat.contains(setting), "plan lacks " + setting);
        }
        assertTrue(r.out.contains("Plan: " + StackCount.of("acme") + " to create, 0 to change, 0 unchanged."), r.out);
        // dependency order: the server comes after the DNS link, which comes after the zone and the network
        assertTrue(r.out.indexOf("+ private DNS zone link") < r.out.indexOf("+ PostgreSQL flexible server"));
        assertTrue(r.out.indexOf("+ AKS cluster") < r.out.indexOf("+ AKS node pool"));
    }

    @Test
    void jsonPlanIsOneDocumentWithEveryResourceInDependencyOrder() {
        Run r = run("--prefix", "acme", "--env", "dev", "--location", "westeurope", "--dry-run", "--output", "json",
                "--workers-max", "20");
        assertEquals(0, r.code, r.err);
        JsonNode plan = Json.parse(r.out);
        assertFalse(plan.get("signedIn").asBoolean());
        JsonNode resources = plan.get("resources");
        assertEquals(StackCount.of("acme", "dev", "westeurope"), resources.size());
        Set<String> seen = new HashSet<>();
        for (JsonNode res : resources) {
            assertFalse(res.get("name").asText().isEmpty());
            assertFalse(res.get("kind").asText().isEmpty());
            assertEquals("create", res.get("action").asText());
            for (JsonNode dep : res.get("dependsOn")) assertTrue(seen.contains(dep.asText()), res.get("key") + " before " + dep);
            seen.add(res.get("key").asText());
        }
        assertEquals("1-20", find(resources, "workers").at("/settings/autoscale").asText());
        assertTrue(find(resources, "group").get("id").asText().endsWith("/resourceGroups/rg-acme-metaflow-dev-westeurope"));
        assertEquals(StackCount.of("acme", "dev", "westeurope"), plan.at("/summary/create").asInt());
    }

    @Test
    void servicePrincipalModePlansTheApplicationAndItsRoles() {
        Run r = run("--prefix", "acme", "--dry-run", "--output", "json", "--service-principal");
        JsonNode resources = Json.parse(r.out).get("resources");
        assertNotNull(find(resources, "application"));
        assertNotNull(find(resources, "principal"));
        assertNotNull(find(resources, "role-aks-contrib"));
        assertNotNull(find(resources, "role-aks-user"));
        assertNull(find(resources, "identity"));
    }

    static JsonNode find(JsonNode resources, String key) {
        for (JsonNode r : resources) if (r.get("key").asText().equals(key)) return r;
        return null;
    }

    @Test
    void helpAndVersion() {
        Run help = run("--help");
        assertEquals(0, help.code);
        for (String option : List.of("--prefix", "--env", "--location", "--subscription", "--cloud", "--arm-endpoint",
                "--service-principal", "--system-vm-size", "--worker-vm-size", "--workers-min", "--workers-max",
                "--kubernetes-version", "--postgres-version", "--postgres-sku", "--dry-run", "--yes", "--output")) {
            assertTrue(help.out.contains(option), "help lacks " + option);
        }
        assertTrue(help.out.replaceAll("\\s+", " ").contains("Default: eastus"), help.out);
        Run version = run("--version");
        assertEquals(0, version.code);
        assertTrue(version.out.contains(Version.VERSION));
    }

    @Test
    void applyingWithoutSignInSaysHowToSignIn() {
        Run r = run("--prefix", "acme", "--yes");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("az login"), r.err);
        assertTrue(r.out.isEmpty());
        assertTrue(r.requests.isEmpty());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--prefix Acme --dry-run|--prefix",
            "--prefix acme-corp --dry-run|--prefix",
            "--prefix abcdefghijklm --dry-run|--prefix",
            "--dry-run|--prefix",
            "--prefix acme --env Production --dry-run|--env",
            "--prefix acme --location mars --dry-run|--location",
            "--prefix acme --workers-min 5 --workers-max 2 --dry-run|--workers-max",
            "--prefix acme --workers-max 0 --dry-run|--workers-max",
            "--prefix acme --workers-min -1 --dry-run|--workers-min",
            "--prefix acme --worker-vm-size big --dry-run|--worker-vm-size",
            "--prefix acme --system-vm-size Standard_ --dry-run|--system-vm-size",
            "--prefix acme --postgres-version 11 --dry-run|--postgres-version",
            "--prefix acme --postgres-sku Basic --dry-run|--postgres-sku",
            "--prefix acme --kubernetes-version v1.30 --dry-run|--kubernetes-version",
            "--prefix acme --cloud mars --dry-run|--cloud",
            "--prefix acme --arm-endpoint http://127.0.0.1:1 --dry-run|--arm-endpoint",
            "--prefix acme --output yaml --dry-run|--output",
            "--prefix acme --db-subnet 172.16.0.0/30 --dry-run|--db-subnet",
            "--prefix acme --k8s-subnet 172.16.0.0/16 --dry-run|--k8s-subnet",
            "--prefix acme --workers-max many --dry-run|--workers-max",
            "--prefix acme --frobnicate --dry-run|--frobnicate",
            "--prefix acme --location chinaeast2 --dry-run|--location",
            "--prefix acme --postgres-storage-gb 8 --dry-run|--postgres-storage-gb",
            "--prefix acme --postgres-storage-gb 100 --dry-run|--postgres-storage-gb",
            "--prefix acme --postgres-storage-gb 32768 --dry-run|--postgres-storage-gb",
            "--prefix acme --k8s-subnet 172.17.0.0/28 --dry-run|--k8s-subnet",
            "--prefix acme --k8s-subnet 172.17.0.0/24 --workers-max 300 --dry-run|--k8s-subnet",
            "--prefix acme --pod-cidr 172.17.0.0/16 --dry-run|--pod-cidr",
            "--prefix acme --pod-cidr 10.0.0.0/8 --dry-run|--pod-cidr",
            "--prefix acme --pod-cidr 192.168.0.0/24 --dry-run|--pod-cidr",
            "--prefix acme --pod-cidr 10.244.0.0 --dry-run|--pod-cidr"})
    void badInputExitsTwoNamesTheOptionAndSendsNothing(String args, String option) {
        Run r = run(Map.of("AZURE_CLIENT_ID", "x", "AZURE_CLIENT_SECRET", "y", "AZURE_TENANT_ID", "z"), args.split(" "));
        assertEquals(2, r.code, r.err);
        assertTrue(r.err.contains(option), r.err);
        assertTrue(r.err.strip().lines().count() <= 2, r.err);
        assertEquals("", r.out, "nothing a script could mistake for a plan");
        assertTrue(r.requests.isEmpty(), "sent " + r.requests);
    }

    @Test
    void refusalsOfSizesAndSubnetsSayTheNumbers() {
        Map<String, String> signedIn = Map.of("AZURE_CLIENT_ID", "x", "AZURE_CLIENT_SECRET", "y", "AZURE_TENANT_ID", "z");
        Run storage = run(signedIn, "--prefix", "acme", "--postgres-storage-gb", "100", "--yes");
        assertEquals(2, storage.code);
        assertTrue(storage.err.contains("32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767"), storage.err);
        Run subnet = run(signedIn, "--prefix", "acme", "--k8s-subnet", "172.17.0.0/28", "--yes");
        assertEquals(2, subnet.code);
        assertTrue(subnet.err.contains("holds 11 node addresses (16 minus the 5 Azure reserves), but the pools need 15 (--system-max 3 "
                + "+ --workers-max 10 + 1 surge node per pool)"), subnet.err);
        assertTrue(subnet.err.contains("172.17.0.0/27"), "an example that fits: " + subnet.err);
        assertTrue(subnet.requests.isEmpty() && storage.requests.isEmpty());
        // a /27 holds 27 nodes (32 - 5): 3 + 22 + 2 fits, 3 + 23 + 2 does not
        assertEquals(0, run("--prefix", "acme", "--k8s-subnet", "172.17.0.0/27", "--workers-max", "22", "--dry-run").code);
        assertEquals(2, run(signedIn, "--prefix", "acme", "--k8s-subnet", "172.17.0.0/27", "--workers-max", "23", "--dry-run").code);
    }

    @Test
    void signInDetectionReadsOnlyEnvironmentAndFiles() throws Exception {
        assertFalse(AzureLogin.hasSignInMaterial(new AzureLogin.Host(Map.of(), home)));
        assertFalse(AzureLogin.hasSignInMaterial(new AzureLogin.Host(Map.of("AZURE_CLIENT_ID", "x"), home)));
        assertTrue(AzureLogin.hasSignInMaterial(new AzureLogin.Host(Map.of("AZURE_CLIENT_ID", "x", "AZURE_CLIENT_SECRET", "s"), home)));
        assertTrue(AzureLogin.hasSignInMaterial(new AzureLogin.Host(Map.of("IDENTITY_ENDPOINT", "http://x"), home)));
        Files.createDirectories(home.resolve(".azure"));
        Files.writeString(home.resolve(".azure/msal_token_cache.json"), "{}");
        assertTrue(AzureLogin.hasSignInMaterial(new AzureLogin.Host(Map.of(), home)));
    }
}
