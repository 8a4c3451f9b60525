import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import azure.AzureLogin;
import azure.Settings;
import com.fasterxml.jackson.databind.JsonNode;
import fake.AzureFake;
import fake.ScriptRun;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Limits Azure enforces today (issue 22, part 2): provision refuses before its first write what AKS and Flexible Server
 * would refuse or are retiring, the datastore keeps deleted data for a few days, and teardown says how much data goes.
 */
class LimitsTest {
    @TempDir Path home;

    static final String RG = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION + "/resourceGroups/rg-acme-metaflow-default-eastus";
    static final String PG = RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-acme-metaflow-default";
    static final String STORAGE = RG + "/providers/Microsoft.Storage/storageAccounts/stacmemfdefault";

    ScriptRun.Result provision(AzureFake fake, String... args) {
        return ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), args);
    }

    ScriptRun.Result teardown(AzureFake fake, String... args) {
        return ScriptRun.run(teardown::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), args);
    }

    // --- Kubernetes version ------------------------------------------------------------------------------------

    @Test
    void ltsOnlyAndPreviewVersionsAreRefusedBeforeAnyWrite() {
        for (String[] c : new String[][] {{"1.33", "is only offered with Long-Term Support"}, {"1.33.13", "is only offered with Long-Term Support"},
                {"1.37", "is a preview version"}}) {
            AzureFake fake = new AzureFake();
            ScriptRun.Result r = provision(fake, "--prefix", "acme", "--kubernetes-version", c[0], "--yes");
            assertEquals(5, r.code, r.all());
            assertTrue(r.err.contains("Kubernetes " + c[0] + " " + c[1]), r.err);
            assertTrue(r.err.contains("one of: 1.34, 1.34.9, 1.35, 1.35.6, 1.36, 1.36.2 (or leave it out for the region's default, 1.35)"), r.err);
            assertTrue(fake.writes().isEmpty(), "wrote " + fake.writes());
        }
    }

    @Test
    void theFakeRefusesAnLtsOnlyVersionOnTheFreeTierAsAksDoes() {
        AzureFake fake = new AzureFake();
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--kubernetes-version", "1.33", "--skip-preflight", "--yes");
        assertEquals(1, r.code, r.all());
        assertTrue(r.err.contains("only available for Long-Term Support"), r.err);
    }

    @Test
    void thePlanNamesTheRegionDefaultAndTheHelpExampleIsAVersionThatWorks() {
        AzureFake fake = new AzureFake();
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.contains("kubernetes:      1.35 (the region's default)"), r.out);
        assertTrue(r.out.contains("Kubernetes 1.35 (region default)"), r.out);

        ScriptRun.Result help = provision(fake, "--help");
        assertTrue(help.out.replaceAll("\\s+", " ").contains("Kubernetes version, e.g. " + Settings.EXAMPLE_K8S_VERSION), help.out);
        ScriptRun.Result example = provision(fake, "--prefix", "acme", "--kubernetes-version", Settings.EXAMPLE_K8S_VERSION, "--yes");
        assertEquals(0, example.code, example.all());
        assertEquals(Settings.EXAMPLE_K8S_VERSION, fake.resource(RG + "/providers/Microsoft.ContainerService/managedClusters/aks-acme-metaflow-default")
                .orElseThrow().path("properties").path("kubernetesVersion").asText());
    }

    // --- PostgreSQL version ------------------------------------------------------------------------------------

    @Test
    void aNewServerOnPostgres13Or14IsBadInputWithWhatToChoose() {
        for (String v : new String[] {"13", "14"}) {
            AzureFake fake = new AzureFake();
            ScriptRun.Result r = provision(fake, "--prefix", "acme", "--postgres-version", v, "--yes");
            assertEquals(2, r.code, r.all());
            assertTrue(r.err.contains("--postgres-version: PostgreSQL " + v + " is out of Azure's standard support"), r.err);
            assertTrue(r.err.contains("a new server must use 15, 16 or 17 (example: --postgres-version 17)"), r.err);
            assertTrue(fake.writes().isEmpty(), "wrote " + fake.writes());
        }
    }

    @Test
    void anExistingServerOnPostgres14IsNamedOutOfSupportButNotRefused() {
        AzureFake fake = new AzureFake();
        assertEquals(0, provision(fake, "--prefix", "acme", "--yes").code);
        fake.editResource(PG, b -> b.with("properties").put("version", "14"));
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--postgres-version", "14", "--dry-run");
        assertEquals(0, r.code, r.all());
        assertTrue(r.err.contains("warning: PostgreSQL server psql-acme-metaflow-default runs PostgreSQL 14, out of Azure's standard support"), r.err);
        assertTrue(r.err.contains("upgrade --version 17"), r.err);
    }

    // --- pod range ---------------------------------------------------------------------------------------------

    @Test
    void aPodRangeOverlappingWhatAksReservesIsBadInputAndNothingIsSent() {
        for (String cidr : new String[] {"172.30.0.0/16", "172.31.128.0/17", "169.254.0.0/16", "192.0.0.0/22"}) {
            AzureFake fake = new AzureFake();
            ScriptRun.Result r = provision(fake, "--prefix", "acme", "--pod-cidr", cidr, "--dry-run");
            assertEquals(2, r.code, r.all());
            assertTrue(r.err.contains("--pod-cidr: " + cidr + " overlaps"), r.err);
            assertTrue(r.err.contains("a range AKS reserves"), r.err);
            assertTrue(fake.requests().isEmpty(), "sent " + fake.requests());
        }
    }

    // --- datastore safety ----------------------------------------------------------------------------------------

    @Test
    void theDatastoreKeepsDeletedBlobsAndContainersForAWeekAndTheDryRunSaysSo() {
        AzureFake fake = new AzureFake();
        ScriptRun.Result dry = provision(fake, "--prefix", "acme", "--dry-run");
        assertTrue(dry.out.matches("(?s).*\\+ blob service +default\n.*"), dry.out);
        assertTrue(dry.out.contains("soft delete:     on: deleted blobs and containers can be restored for 7 days"), dry.out);

        assertEquals(0, provision(fake, "--prefix", "acme", "--yes").code);
        JsonNode p = fake.resource(STORAGE + "/blobServices/default").orElseThrow().path("properties");
        for (String policy : new String[] {"deleteRetentionPolicy", "containerDeleteRetentionPolicy"}) {
            assertTrue(p.path(policy).path("enabled").asBoolean(), p.toString());
            assertEquals(7, p.path(policy).path("days").asInt(), p.toString());
        }
        int before = fake.writes().size();
        assertEquals(0, provision(fake, "--prefix", "acme", "--yes").code);
        assertTrue(fake.writes().subList(before, fake.writes().size()).stream().noneMatch(w -> w.path().endsWith("/blobServices/default")),
                "a second run leaves the blob service alone");
    }

    @Test
    void theTeardownPlanSaysHowMuchDataTheContainerHoldsAndAsOfWhen() {
        AzureFake fake = new AzureFake();
        assertEquals(0, provision(fake, "--prefix", "acme", "--yes").code);
        ScriptRun.Result fresh = teardown(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, fresh.code, fresh.all());
        assertTrue(fresh.out.contains("data: container metaflow-storage-container in stacmemfdefault: size not measured yet"), fresh.out);

        Instant asOf = Instant.now().minus(Duration.ofHours(3));
        fake.blobUsage(STORAGE, 12345, 5L * 1024 * 1024 * 1024 + 1, asOf);
        ScriptRun.Result r = teardown(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, r.code, r.all());
        String hour = asOf.truncatedTo(java.time.temporal.ChronoUnit.HOURS).toString().replace("T", " ").replace(":00Z", " UTC");
        assertTrue(r.out.contains("data: container metaflow-storage-container in stacmemfdefault holds 12,345 blob(s), 5.0 GiB (Azure Monitor, as of " + hour), r.out);
        assertTrue(r.out.contains("all of it is deleted with the stack"), r.out);
        assertTrue(fake.writes().stream().noneMatch(w -> w.path().contains("Insights")), "metrics are read, never written");
        ScriptRun.Result json = teardown(fake, "--prefix", "acme", "--dry-run", "--output", "json");
        assertTrue(json.out.contains("holds 12,345 blob(s)"), json.out);
        assertFalse(fake.writes().stream().anyMatch(w -> w.method().equals("DELETE")), "a dry run deletes nothing");
    }
}
