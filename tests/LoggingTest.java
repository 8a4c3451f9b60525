import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpServer;
import fake.ScriptProcess;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libraries' logging (azure-core, azure-identity, msal4j, fabric8 through slf4j) stays off the terminal unless
 * --verbose asks for it. Each script runs in a JVM of its own with the classpath JBang resolves for it, so that a
 * missing or mismatched slf4j binding shows as it would to a user. The sign-in is a managed identity on loopback
 * that refuses: the signed-in path up to its first request, with no request leaving the machine.
 */
class LoggingTest {
    @TempDir Path home;
    HttpServer identity;
    final AtomicInteger tokenRequests = new AtomicInteger();

    @BeforeEach
    void refusingManagedIdentity() throws Exception {
        identity = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        identity.createContext("/", exchange -> {
            tokenRequests.incrementAndGet();
            byte[] body = "{\"error\":\"invalid_request\",\"error_description\":\"refused by the test\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(400, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        identity.start();
    }

    @AfterEach
    void stop() {
        identity.stop(0);
    }

    ScriptProcess.Result signInAttempt(String script, String... args) throws Exception {
        Map<String, String> env = Map.of("HOME", home.toString(),
                "IDENTITY_ENDPOINT", "http://localhost:" + identity.getAddress().getPort() + "/token", "IDENTITY_HEADER", "test");
        return ScriptProcess.java(ScriptProcess.classpath(script + ".java"), List.of(), env, script, args);
    }

    void assertOnlyOurError(ScriptProcess.Result r) {
        assertEquals(1, r.code(), r.all());
        assertTrue(tokenRequests.get() > 0, "the run did not get as far as signing in: " + r.all());
        List<String> lines = r.err().lines().toList();
        assertFalse(r.err().contains("SLF4J"), r.err());
        assertEquals(2, lines.size(), "stderr holds our two lines and nothing of the libraries': " + r.err());
        assertTrue(lines.get(0).startsWith("error: could not sign in to Azure"), r.err());
    }

    @Test
    void provisionSignsInWithoutLibraryNoise() throws Exception {
        assertOnlyOurError(signInAttempt("provision", "--prefix", "acme", "--dry-run"));
    }

    @Test
    void teardownSignsInWithoutLibraryNoise() throws Exception {
        assertOnlyOurError(signInAttempt("teardown", "--prefix", "acme", "--dry-run"));
    }

    @Test
    void servicesSignsInWithoutLibraryNoise() throws Exception {
        // --no-argo: the Argo releases are read before sign-in, and this test must not reach for github.com.
        assertOnlyOurError(signInAttempt("services", "--prefix", "acme", "--no-argo"));
    }

    @Test
    void verboseShowsTheLibrariesWarningsOneLineEach() throws Exception {
        ScriptProcess.Result r = signInAttempt("provision", "--prefix", "acme", "--dry-run", "--verbose");
        assertEquals(1, r.code(), r.all());
        assertFalse(r.err().contains("SLF4J"), r.err());
        assertTrue(r.err().lines().anyMatch(l -> l.startsWith("  library: ")), r.err());
        assertTrue(r.err().lines().filter(l -> !l.startsWith("  ")).allMatch(l -> l.startsWith("error: ") || l.startsWith("Run ")), r.err());
    }
}
