import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import cluster.Argo;
import cluster.Pins;
import com.sun.net.httpserver.HttpServer;
import fake.ArgoFixture;
import fake.ScriptRun;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Argo release manifests are downloaded once and kept under $HOME (issue 16): later runs and dry runs use the kept copy,
 * a copy that no longer matches its recorded SHA-256 is not used, a download that fails the release check is not kept,
 * and with neither network nor copy a dry run still renders the Metaflow part and says what it left out.
 * The "releases" are served from a loopback mirror (--argo-release-url); "no network" is that mirror stopped.
 */
class ArgoKeptTest {
    @TempDir Path home;
    @TempDir Path fixture;
    HttpServer mirror;
    String mirrorUrl;
    final List<String> downloads = new CopyOnWriteArrayList<>();

    @BeforeEach
    void serve() throws Exception {
        ArgoFixture.writeTo(fixture);
        mirror = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        mirror.createContext("/", ex -> {
            downloads.add(ex.getRequestURI().getPath());
            String project = ex.getRequestURI().getPath().split("/")[1];
            Path f = fixture.resolve(project + "-install.yaml");
            byte[] body = Files.exists(f) ? Files.readAllBytes(f) : new byte[0];
            ex.sendResponseHeaders(body.length == 0 ? 404 : 200, body.length == 0 ? -1 : body.length);
            if (body.length > 0) ex.getResponseBody().write(body);
            ex.close();
        });
        mirror.start();
        mirrorUrl = "http://127.0.0.1:" + mirror.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        mirror.stop(0);
    }

    ScriptRun.Result services(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--argo-release-url";
        all[1] = mirrorUrl;
        System.arraycopy(args, 0, all, 2, args.length);
        return ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home), null, all);
    }

    Path kept(String project, String tag) {
        return Argo.keptDir(home).resolve(project).resolve(tag).resolve("install.yaml");
    }

    @Test
    void theFirstRunKeepsEachReleaseAndLaterDryRunsNeedNoNetwork() throws Exception {
        ScriptRun.Result first = services("--prefix", "acme", "--dry-run");
        assertEquals(0, first.code, first.err);
        assertEquals(2, downloads.size(), downloads.toString());
        assertTrue(first.out.contains("name: workflow-controller") && first.out.contains("name: controller-manager"), first.out);
        for (String[] r : List.of(new String[] {"argo-workflows", Pins.ARGO_WORKFLOWS}, new String[] {"argo-events", Pins.ARGO_EVENTS})) {
            assertEquals(Files.readString(fixture.resolve(r[0] + "-install.yaml")), Files.readString(kept(r[0], r[1])));
            assertTrue(Files.exists(kept(r[0], r[1]).resolveSibling("install.yaml.sha256")));
        }

        mirror.stop(0);  // no network from here on
        ScriptRun.Result offline = services("--prefix", "acme", "--dry-run");
        assertEquals(0, offline.code, offline.err);
        assertEquals(first.out, offline.out, "the kept copies render exactly what the downloads did");
        assertEquals(2, downloads.size(), "nothing was downloaded again");
        assertFalse(offline.err.contains("note:"), offline.err);
    }

    @Test
    void aKeptCopyThatChangedIsNotUsed() throws Exception {
        assertEquals(0, services("--prefix", "acme", "--dry-run").code);
        Path copy = kept("argo-workflows", Pins.ARGO_WORKFLOWS);
        Files.writeString(copy, Files.readString(copy).replace("quay.io/argoproj/workflow-controller", "evil.example/workflow-controller"));

        ScriptRun.Result again = services("--prefix", "acme", "--dry-run");
        assertEquals(0, again.code, again.err);
        assertEquals(3, downloads.size(), "the changed copy was replaced by a fresh download: " + downloads);
        assertFalse(again.out.contains("evil.example"), again.out);
        assertFalse(Files.readString(copy).contains("evil.example"));
    }

    @Test
    void withNeitherNetworkNorCopyADryRunRendersTheMetaflowPartAndSaysWhatIsMissing() throws Exception {
        mirror.stop(0);
        ScriptRun.Result r = services("--prefix", "acme", "--dry-run");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.contains("name: metadata-service"), "the Metaflow part is rendered: " + r.out);
        // The release's controller is not there (the controller's ConfigMap with the toolkit's workflowDefaults is).
        assertFalse(r.out.contains("name: workflow-controller\n"), r.out);
        assertTrue(r.out.contains("name: workflow-controller-configmap"), r.out);
        for (String release : List.of("argo-workflows " + Pins.ARGO_WORKFLOWS, "argo-events " + Pins.ARGO_EVENTS)) {
            assertTrue(r.err.contains("the " + release + " release is not in this output"), r.err);
        }
        assertTrue(r.err.contains("--argo-manifests"), "says how to supply it: " + r.err);

        ScriptRun.Result deploy = services("--prefix", "acme");
        assertEquals(1, deploy.code, "a deploy cannot go on without the release: " + deploy.all());
        assertTrue(deploy.err.contains("--argo-manifests"), deploy.err);
        assertFalse(Files.exists(Argo.keptDir(home).resolve("argo-workflows")), "nothing is kept from a failed download");
    }

    @Test
    void aDownloadThatFailsTheReleaseCheckIsNotKept() throws Exception {
        Path f = fixture.resolve("argo-workflows-install.yaml");
        Files.writeString(f, Files.readString(f, StandardCharsets.UTF_8).replace(":" + Pins.ARGO_WORKFLOWS, ":v0.0.1"));
        ScriptRun.Result r = services("--prefix", "acme", "--dry-run");
        assertEquals(2, r.code, r.all());
        assertFalse(Files.exists(kept("argo-workflows", Pins.ARGO_WORKFLOWS)), "a refused release is not kept");
    }
}
