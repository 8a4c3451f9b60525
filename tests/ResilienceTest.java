import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import fake.AzureFake;
import fake.Fault;
import fake.ScriptRun;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** provision.java fails early on what can be known, recovers from what is transient, and resumes after anything. */
class ResilienceTest {
    @TempDir Path home;

    ScriptRun.Result provision(AzureFake fake, String... args) {
        return ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), args);
    }

    static long puts(AzureFake fake, String pathEnd) {
        return fake.writes().stream().filter(r -> r.method().equals("PUT") && r.path().endsWith(pathEnd)).count();
    }

    // --- pre-flight: each failure stops before the first write, with exit code 5 -------------------------------

    void assertStopsBeforeWriting(AzureFake fake, ScriptRun.Result r, String... expected) {
        assertEquals(5, r.code, r.out + r.err);
        for (String e : expected) assertTrue(r.err.contains(e), "missing '" + e + "' in: " + r.err);
        assertTrue(r.err.contains("Nothing was written"), r.err);
        assertTrue(fake.writes().isEmpty(), "wrote " + fake.writes());
    }

    @Test
    void restrictedVmSizeIsReportedWithAlternatives() {
        AzureFake fake = new AzureFake().restrictSku("Standard_D4s_v5", "eastus");
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertStopsBeforeWriting(fake, r, "Standard_D4s_v5 (--worker-vm-size) is not available to this subscription", "e.g. Standard_");
    }

    @Test
    void missingQuotaNamesLimitUsageAndNeed() {
        AzureFake fake = new AzureFake().quota("standardDSv5Family", 4);
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--workers-min", "2", "--yes");
        // system pool 1 x 2 vCPUs + workers 2 x 4 vCPUs, both Dsv5
        assertStopsBeforeWriting(fake, r, "standarddsv5family", "limit 4", "in use 0", "needs 10 more");
    }

    @Test
    void globallyTakenNamesAreFoundBeforeAnythingExists() {
        AzureFake fake = new AzureFake().takeGlobalName("Microsoft.Storage/storageAccounts", "stacmemfdefault")
                .takeGlobalName("Microsoft.DBforPostgreSQL/flexibleServers", "psql-acme-metaflow-default");
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertStopsBeforeWriting(fake, r, "storage account name stacmemfdefault is taken", "PostgreSQL server name psql-acme-metaflow-default is taken",
                "--prefix or --env");
    }

    @Test
    void missingRoleAssignmentPermissionIsReported() {
        AzureFake fake = new AzureFake().callerActions(List.of("*"), List.of("Microsoft.Authorization/*/write"));
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertStopsBeforeWriting(fake, r, "Microsoft.Authorization/roleAssignments/write", "User Access Administrator");
    }

    @Test
    void directoryThatForbidsAppRegistrationIsReportedBeforeAnyApplicationExists() {
        AzureFake fake = new AzureFake().denyDirectoryWrites();
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--service-principal", "--yes");
        assertStopsBeforeWriting(fake, r, "register applications", "Application Developer");
        assertTrue(fake.applications().isEmpty());
    }

    @Test
    void unavailableVersionsAndRegionsAreReported() {
        AzureFake fake = new AzureFake().offerPostgres(List.of("15", "16"), List.of("Standard_B2s"));
        assertStopsBeforeWriting(fake, provision(fake, "--prefix", "acme", "--kubernetes-version", "1.20", "--yes"),
                "Kubernetes 1.20 is not offered", "1.34, 1.34.9, 1.35");
        assertStopsBeforeWriting(fake, provision(fake, "--prefix", "acme", "--postgres-version", "17", "--yes"),
                "PostgreSQL 17 is not offered", "15, 16");
        assertStopsBeforeWriting(fake, provision(fake, "--prefix", "acme", "--postgres-sku", "Standard_D4ds_v5", "--yes"),
                "Standard_D4ds_v5 is not offered");
        assertStopsBeforeWriting(fake, provision(fake, "--prefix", "acme", "--location", "japaneast", "--yes"),
                "japaneast does not offer AKS");
    }

    @Test
    void dryRunShowsTheCheckResults() {
        AzureFake fake = new AzureFake().quota("standardDSv5Family", 2);
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("Pre-flight checks:"), r.out);
        assertTrue(r.out.contains("ok   names"), r.out);
        assertTrue(r.out.contains("FAIL quota"), r.out);
        assertTrue(r.out.contains("A real run would stop before writing anything."), r.out);
        ScriptRun.Result json = provision(fake, "--prefix", "acme", "--dry-run", "--output", "json");
        JsonNode checks = Json.parse(json.out).get("preflight");
        assertTrue(checks.size() >= 6);
        assertTrue(fake.writes().isEmpty());
    }

    // --- hard failures stop cleanly; a re-run continues ------------------------------------------------------------

    @Test
    void quotaExceededFromTheClusterCreateStopsWithAdviceAndARerunContinues() {
        AzureFake fake = new AzureFake().quota("standardDSv5Family", 6);
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--workers-min", "2", "--skip-preflight", "--yes");
        assertEquals(1, r.code, r.out + r.err);
        assertTrue(r.err.contains("QuotaExceeded"), r.err);
        assertTrue(r.err.contains("has no vCPU quota left") && r.err.contains("re-run"), r.err);
        assertTrue(fake.resource(ProvisionTest.RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-acme-metaflow-default").isPresent(),
                "what was created stays");
        fake.quota("standardDSv5Family", 100);
        long pgPuts = puts(fake, "/flexibleServers/psql-acme-metaflow-default");
        ScriptRun.Result again = provision(fake, "--prefix", "acme", "--workers-min", "2", "--yes");
        assertEquals(0, again.code, again.err);
        assertEquals(pgPuts, puts(fake, "/flexibleServers/psql-acme-metaflow-default"), "the re-run rewrote finished work");
    }

    @Test
    void allocationFailedStopsWithTheSameAdvice() {
        AzureFake fake = new AzureFake().inject(Fault.of("PUT", "/managedClusters/aks-acme-metaflow-default$").failOperation("AllocationFailed",
                "Allocation failed. We do not have sufficient capacity for the requested VM size in this region."));
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("AllocationFailed") && r.err.contains("has no capacity for it") && r.err.contains("--worker-vm-size"), r.err);
    }

    // --- transient faults are absorbed ------------------------------------------------------------------------------

    @Test
    void throttlingHonoursRetryAfter() {
        AzureFake fake = new AzureFake().inject(Fault.of("PUT", "/storageAccounts/stacmemfdefault$").status(429).header("Retry-After", "1").times(2));
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.err);
        List<AzureFake.Recorded> attempts = fake.requests().stream()
                .filter(x -> x.method().equals("PUT") && x.path().endsWith("/storageAccounts/stacmemfdefault")).toList();
        assertEquals(3, attempts.size());
        assertEquals(429, attempts.get(0).status());
        assertTrue(attempts.get(1).startNanos() - attempts.get(0).endNanos() >= 900_000_000L, "did not wait for Retry-After");
    }

    @Test
    void postgresInternalServerErrorIsRetriedVisibly() {
        AzureFake fake = new AzureFake().inject(Fault.of("PUT", "/flexibleServers/psql-acme-metaflow-default$")
                .failOperation("InternalServerError", "An unexpected error occured while processing the request."));
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes", "--retry-wait", "1");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("after InternalServerError: retrying in 1.0s, attempt 2 of 4"), r.out);
        assertEquals(2, puts(fake, "/flexibleServers/psql-acme-metaflow-default"));
        assertTrue(fake.resource(ProvisionTest.RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-acme-metaflow-default/databases/metaflow").isPresent());
    }

    @Test
    void principalNotFoundRightAfterTheIdentityIsCreatedIsWaitedOut() {
        AzureFake fake = new AzureFake().principalReplicationMs(1500).principalTypeShortcut(false);
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes", "--retry-wait", "6");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("after PrincipalNotFound: retrying in"), r.out);
        assertTrue(fake.requests().stream().anyMatch(x -> x.path().contains("/roleAssignments/") && x.status() == 400));
    }

    @Test
    void aDroppedConnectionWhilePollingKeepsPollingTheSameOperation() {
        AzureFake fake = new AzureFake().latency("microsoft.containerservice/managedclusters", 1500, null)
                .inject(Fault.of("GET", "/operations/").dropConnection().times(6));
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.err);
        assertTrue(fake.requests().stream().filter(x -> x.status() == -1).count() >= 6, "no connection was dropped");
        assertEquals(1, puts(fake, "/managedClusters/aks-acme-metaflow-default"), "a second create was sent");
    }

    // --- Ctrl-C and resume after anything ---------------------------------------------------------------------------

    @Test
    void interruptStopsWaitingAndSaysWhatIsStillInFlight() throws Exception {
        AzureFake fake = new AzureFake().latency("microsoft.containerservice/managedclusters", 60_000, null);
        AtomicReference<ScriptRun.Result> result = new AtomicReference<>();
        Thread t = new Thread(() -> result.set(provision(fake, "--prefix", "acme", "--yes")));
        t.start();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (puts(fake, "/managedClusters/aks-acme-metaflow-default") == 0 && System.nanoTime() < deadline) Thread.sleep(50);
        Thread.sleep(300);
        t.interrupt();
        t.join(10_000);
        assertFalse(t.isAlive(), "the run did not stop waiting");
        ScriptRun.Result r = result.get();
        assertEquals(130, r.code, r.err);
        assertTrue(r.err.contains("Still in progress on Azure's side") && r.err.contains("aks-acme-metaflow-default"), r.err);
        assertTrue(r.err.contains("Run the same command again"), r.err);
    }

    @Test
    void aRunKilledAtAnyRequestConvergesOnRerun() {
        int[] total = new int[2];
        Map<String, JsonNode> cleanWi = cleanState(false, total, 0);
        Map<String, JsonNode> cleanSp = cleanState(true, total, 1);
        int seeds = 20;
        AtomicInteger requestsCovered = new AtomicInteger();
        for (int seed = 1; seed <= seeds; seed++) {
            boolean sp = seed % 4 == 0;
            AzureFake fake = profiled(new AzureFake());
            // a request of a clean run, at random; the last few finish the run and so cannot kill it
            int crashAt = 1 + new Random(seed).nextInt(total[sp ? 1 : 0] - 3);
            fake.crashAfter(crashAt);
            String[] args = sp ? new String[] {"--prefix", "acme", "--service-principal", "--yes"} : new String[] {"--prefix", "acme", "--yes"};
            ScriptRun.Result crashed = provision(fake, args);
            assertNotEquals(0, crashed.code, "seed " + seed + ": the run should have died at request " + crashAt);
            fake.resetFaults();
            ScriptRun.Result resumed = provision(fake, args);
            assertEquals(0, resumed.code, "seed " + seed + " (crash at " + crashAt + "): " + resumed.err);
            assertEquals("", difference(sp ? cleanSp : cleanWi, fake.canonicalState()), "seed " + seed + " (crash at " + crashAt + ") diverged");
            if (sp) {
                assertEquals(1, fake.applications().size(), "seed " + seed + ": second application");
                assertEquals(1, fake.servicePrincipals().size(), "seed " + seed + ": second service principal");
            }
            requestsCovered.addAndGet(crashAt);
        }
        System.out.println("crash test: " + seeds + " seeds, clean runs of " + total[0] + "/" + total[1] + " requests, crash points summing to " + requestsCovered.get());
    }

    /** The first resource that differs between two canonical states, or "" when they are equal. */
    static String difference(Map<String, JsonNode> expected, Map<String, JsonNode> actual) {
        for (String id : expected.keySet()) {
            if (!actual.containsKey(id)) return "missing " + id;
            if (!expected.get(id).equals(actual.get(id))) return id + "\n expected " + expected.get(id) + "\n actual   " + actual.get(id);
        }
        for (String id : actual.keySet()) if (!expected.containsKey(id)) return "extra " + id;
        return "";
    }

    static AzureFake profiled(AzureFake f) {
        return f.latency("microsoft.containerservice/managedclusters", 300, null)
                .latency("microsoft.containerservice/managedclusters/agentpools", 200, null)
                .latency("microsoft.dbforpostgresql/flexibleservers", 250, null)
                .latency("microsoft.network/virtualnetworks", 100, null);
    }

    Map<String, JsonNode> cleanState(boolean sp, int[] total, int slot) {
        AzureFake fake = profiled(new AzureFake());
        ScriptRun.Result r = sp ? provision(fake, "--prefix", "acme", "--service-principal", "--yes") : provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.err);
        total[slot] = fake.requests().size();
        return fake.canonicalState();
    }
}
