import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.Fault;
import fake.KubeFake;
import fake.ScriptProcess;
import fake.ScriptRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local files follow $HOME, as kubectl, the az CLI and Metaflow do, and not Java's user.home (the password database's),
 * which differs in containers, on CI runners, under sudo -E, and for a user without a password entry.
 */
class HomeTest {
    @TempDir Path home;
    /** What the password database says (Java's user.home): must stay empty. */
    @TempDir Path passwdHome;

    static final String OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000b2";

    @Test
    void homeIsHomeAndUserHomeOnlyWhenHomeIsUnsetOrEmpty() {
        assertEquals(Path.of("/home/ci"), AzureLogin.Host.of(Map.of("HOME", "/home/ci"), "/root").home());
        assertEquals(Path.of("/root"), AzureLogin.Host.of(Map.of("HOME", ""), "/root").home());
        assertEquals(Path.of("/root"), AzureLogin.Host.of(Map.of(), "/root").home());
    }

    @Test
    void theScriptsOwnEntryTakesHomeFromTheEnvironment() throws Exception {
        // A kubeconfig teardown cannot read makes it name the file it looked at, before any sign-in or network.
        Files.createDirectories(home.resolve(".kube"));
        Files.writeString(home.resolve(".kube/config"), "clusters: [unclosed");
        ScriptProcess.Result r = ScriptProcess.java(System.getProperty("java.class.path"), List.of("-Duser.home=" + passwdHome),
                Map.of("HOME", home.toString()), "teardown", "--prefix", "acme", "--dry-run");
        assertEquals(1, r.code(), r.all());
        assertTrue(r.err().contains("cannot read the kubeconfig " + home.resolve(".kube/config")), r.err());
        assertEquals(List.of(), filesUnder(passwdHome));
    }

    @Test
    void everyLocalFileOfASignedInRunIsUnderHome() throws Exception {
        AzureLogin.Host host = AzureLogin.Host.of(Map.of("HOME", home.toString()), passwdHome.toString());
        // The az CLI's login and default subscription, where az keeps them under $HOME.
        Files.createDirectories(home.resolve(".azure"));
        Files.writeString(home.resolve(".azure/msal_token_cache.json"), "{}");
        Files.writeString(home.resolve(".azure/azureProfile.json"), "{\"subscriptions\": [{\"id\": \"" + AzureFake.DEFAULT_SUBSCRIPTION
                + "\", \"isDefault\": true}, {\"id\": \"" + OTHER_SUBSCRIPTION + "\", \"isDefault\": false}]}");
        assertTrue(AzureLogin.hasSignInMaterial(host));
        assertFalse(AzureLogin.hasSignInMaterial(AzureLogin.Host.of(Map.of(), passwdHome.toString())));

        try (KubeFake kube = new KubeFake()) {
            // Two subscriptions: only the az CLI default under $HOME/.azure says which one.
            AzureFake azure = new AzureFake().clusterApiServer(kube.url()).addSubscription(OTHER_SUBSCRIPTION, "Other")
                    .inject(Fault.of("PUT", "/managedClusters/aks-acme-metaflow-default$").failOperation("AllocationFailed", "no capacity"));
            ScriptRun.Result failed = ScriptRun.run(provision::run, host, ScriptRun.signedIn(azure), "--prefix", "acme", "--yes");
            assertEquals(1, failed.code, failed.all());
            assertTrue(failed.err.contains("Request log: " + home.resolve(".metaflow-azure/logs")), failed.err);
            azure.resetFaults();
            ScriptRun.Result provisioned = ScriptRun.run(provision::run, host, ScriptRun.signedIn(azure), "--prefix", "acme", "--yes");
            assertEquals(0, provisioned.code, provisioned.all());

            Path argo = ArgoFixture.writeTo(Files.createTempDirectory("argo"));
            try (AutoCloseable rollouts = kube.rollOutDeployments(java.util.Set.of())) {
                ScriptRun.Result deployed = ScriptRun.run(services::run, host, ScriptRun.signedIn(azure),
                        "--argo-manifests", argo.toString(), "--timeout", "20");
                assertEquals(0, deployed.code, deployed.all());
            }
            ScriptRun.Result preview = ScriptRun.run(teardown::run, host, ScriptRun.signedIn(azure), "--prefix", "acme", "--dry-run");
            assertEquals(0, preview.code, preview.all());
            assertTrue(preview.out.contains(home.resolve(".metaflowconfig/config_acme-default.json").toString()), preview.out);
        }
        List<String> files = filesUnder(home);
        assertTrue(files.contains(".kube/config"), files.toString());
        assertTrue(files.contains(".metaflowconfig/config_acme-default.json"), files.toString());
        assertTrue(files.stream().anyMatch(f -> f.matches("\\.metaflow-azure/logs/provision-acme-default-.*\\.log")), files.toString());
        assertEquals(List.of(), filesUnder(passwdHome));
    }

    static List<String> filesUnder(Path dir) throws Exception {
        List<String> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.filter(Files::isRegularFile).forEach(f -> out.add(dir.relativize(f).toString()));
        }
        return out;
    }
}
