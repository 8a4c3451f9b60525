import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import azure.AzureLogin;
import cluster.Pins;
import com.sun.net.httpserver.HttpServer;
import fake.ArgoFixture;
import fake.ConnectProxy;
import fake.FakeCredential;
import fake.KubeFake;
import fake.ScriptRun;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user behind a proxy or on a bad network meets: an endpoint that cannot be reached is named with the cause in
 * words and what to check (not reported as a bug), and every outbound client honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY,
 * shown through a loopback proxy ({@link ConnectProxy}).
 */
class NetworkTest {
    @TempDir Path home;

    /** Signed in (a credential that needs no network), but the toolkit's own HTTP client: requests really leave. */
    static AzureLogin.Transport ownClient() {
        return new AzureLogin.Transport(null, new FakeCredential("00000000-0000-0000-0000-0000000000aa", "00000000-0000-0000-0000-0000000000bb", false), null);
    }

    ScriptRun.Result provision(Map<String, String> env, String armEndpoint) {
        return ScriptRun.run(provision::run, new AzureLogin.Host(env, home), ownClient(), "--prefix", "acme", "--arm-endpoint", armEndpoint, "--yes");
    }

    static int closedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A loopback server that answers anything with plain text: a TLS client fails its handshake there. */
    static ServerSocket notTls() throws Exception {
        ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!s.isClosed()) {
                try (Socket c = s.accept()) {
                    OutputStream o = c.getOutputStream();
                    o.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    o.flush();
                } catch (Exception e) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return s;
    }

    static void notABug(ScriptRun.Result r) {
        assertEquals(1, r.code, r.all());
        assertFalse(r.err.contains("looks like a bug"), r.err);
        assertFalse(r.err.contains("Exception"), r.err);
        assertTrue(r.err.contains("HTTPS_PROXY") && r.err.contains("NO_PROXY") && r.err.contains("--arm-endpoint"), r.err);
    }

    @Test
    void nothingListeningIsNamedAsARefusedConnection() throws Exception {
        int port = closedPort();
        ScriptRun.Result r = provision(Map.of(), "https://127.0.0.1:" + port + "/");
        notABug(r);
        assertTrue(r.err.contains("error: cannot reach https://127.0.0.1:" + port + ": the connection was refused"), r.err);
    }

    @Test
    void anUnknownHostIsNamed() {
        ScriptRun.Result r = provision(Map.of(), "https://management.nothing.invalid/");
        notABug(r);
        assertTrue(r.err.contains("error: cannot reach https://management.nothing.invalid: the host name does not resolve"), r.err);
    }

    @Test
    void aFailedTlsHandshakeIsNamed() throws Exception {
        try (ServerSocket plain = notTls()) {
            ScriptRun.Result r = provision(Map.of(), "https://127.0.0.1:" + plain.getLocalPort() + "/");
            notABug(r);
            assertTrue(r.err.contains("error: cannot reach https://127.0.0.1:" + plain.getLocalPort() + ": the TLS handshake failed"), r.err);
        }
    }

    @Test
    void azureRequestsGoThroughHttpsProxyAndLoopbackGoesDirectUnlessNoProxySaysOtherwise() throws Exception {
        try (ConnectProxy proxy = new ConnectProxy(); ServerSocket plain = notTls()) {
            String arm = "https://127.0.0.1:" + plain.getLocalPort() + "/";
            // NO_PROXY set (to another host): the request to the loopback endpoint is tunnelled through the proxy, TLS end to end.
            ScriptRun.Result r = provision(Map.of("HTTPS_PROXY", proxy.url(), "NO_PROXY", "nothing.invalid"), arm);
            assertTrue(proxy.requests.contains("CONNECT 127.0.0.1:" + plain.getLocalPort() + " HTTP/1.1"), proxy.requests + "\n" + r.all());
            assertTrue(r.err.contains("the TLS handshake failed"), r.err);
            // Lower-case names as curl reads them.
            proxy.requests.clear();
            provision(Map.of("https_proxy", proxy.url(), "no_proxy", "nothing.invalid"), arm);
            assertTrue(proxy.requests.contains("CONNECT 127.0.0.1:" + plain.getLocalPort() + " HTTP/1.1"), proxy.requests.toString());
            // NO_PROXY unset: loopback is reached directly (Java's own default), so local endpoints never depend on the proxy.
            proxy.requests.clear();
            provision(Map.of("HTTPS_PROXY", proxy.url()), arm);
            assertEquals(java.util.List.of(), proxy.requests);
            // NO_PROXY naming the host: direct.
            provision(Map.of("HTTPS_PROXY", proxy.url(), "NO_PROXY", "localhost,127.0.0.1"), arm);
            assertEquals(java.util.List.of(), proxy.requests);
        }
    }

    @Test
    void releaseDownloadsGoThroughTheProxy() throws Exception {
        HttpServer releases = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        Path dir = ArgoFixture.writeTo(home.resolve("fixture"));
        releases.createContext("/", x -> {
            String file = x.getRequestURI().getPath().contains("/argo-events/") ? "argo-events-install.yaml" : "argo-workflows-install.yaml";
            byte[] body = java.nio.file.Files.readAllBytes(dir.resolve(file));
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        releases.start();
        try (ConnectProxy proxy = new ConnectProxy()) {
            String base = "http://127.0.0.1:" + releases.getAddress().getPort();
            ScriptRun.Result r = ScriptRun.run(services::run, new AzureLogin.Host(Map.of("HTTP_PROXY", proxy.url(), "NO_PROXY", "nothing.invalid"), home),
                    null, "--prefix", "acme", "--dry-run", "--argo-release-url", base);
            assertEquals(0, r.code, r.all());
            assertTrue(proxy.requests.contains("GET " + base + "/argo-workflows/releases/download/" + Pins.ARGO_WORKFLOWS + "/install.yaml HTTP/1.1"),
                    proxy.requests.toString());
            assertTrue(proxy.requests.contains("GET " + base + "/argo-events/releases/download/" + Pins.ARGO_EVENTS + "/install.yaml HTTP/1.1"),
                    proxy.requests.toString());
        } finally {
            releases.stop(0);
        }
    }

    @Test
    void kubernetesRequestsGoThroughTheProxyFabric8Reads() throws Exception {
        // fabric8 reads HTTP_PROXY/HTTPS_PROXY/NO_PROXY from the environment, or the same settings from its system
        // properties http.proxy/https.proxy/no.proxy (Config.configFromSysPropsOrEnvVars); a test cannot set this JVM's
        // environment, so it sets the properties.
        try (KubeFake kube = new KubeFake(); ConnectProxy proxy = new ConnectProxy()) {
            Path kc = kube.kubeconfigFile(home);
            System.setProperty("http.proxy", proxy.url());
            System.setProperty("no.proxy", "nothing.invalid");
            try {
                ScriptRun.Result r = ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home), null, "status", "--kubeconfig", kc.toString(), "--no-argo");
                assertTrue(proxy.requests.stream().anyMatch(l -> l.startsWith("GET " + kube.url() + "/")), proxy.requests + "\n" + r.all());
            } finally {
                System.clearProperty("http.proxy");
                System.clearProperty("no.proxy");
            }
        }
    }
}
