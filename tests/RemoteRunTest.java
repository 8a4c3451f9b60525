import static org.junit.jupiter.api.Assertions.*;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Cloud Shell one-liner: the repository served over loopback HTTP and the script run by URL and by catalog
 * alias through the repository's ./jbang launcher, as a user without a clone would.
 */
class RemoteRunTest {
    static HttpServer server;
    static final List<String> served = new CopyOnWriteArrayList<>();
    static final Path repo = Path.of(System.getProperty("user.dir"));
    @TempDir static Path home;

    @BeforeAll
    static void serve() throws IOException {
        assertTrue(Files.exists(repo.resolve("provision.java")), "run the tests from the repository root");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            Path file = repo.resolve(exchange.getRequestURI().getPath().substring(1)).normalize();
            served.add(exchange.getRequestURI().getPath());
            if (!file.startsWith(repo) || !Files.isRegularFile(file)) {
                exchange.sendResponseHeaders(404, -1);
            } else {
                byte[] body = Files.readAllBytes(file);
                exchange.sendResponseHeaders(200, body.length);
                exchange.getResponseBody().write(body);
            }
            exchange.close();
        });
        server.start();
    }

    @AfterAll
    static void stop() {
        server.stop(0);
    }

    static String base() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/";
    }

    record Result(int code, String out) {}

    static Result jbang(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(repo.resolve("jbang").toString());
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("AZURE_") || k.startsWith("JBANG") || k.equals("IDENTITY_ENDPOINT") || k.equals("MSI_ENDPOINT"));
        env.put("HOME", home.toString());
        env.put("JBANG_DIR", home.resolve(".jbang").toString());
        env.put("JBANG_WRAPPER_NO_PATH", "1");
        Process p = pb.directory(home.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES));
        return new Result(p.exitValue(), out);
    }

    @Test
    void scriptAndAliasRunFromAUrl() throws Exception {
        assertEquals(0, jbang("trust", "add", base()).code);
        Result help = jbang(base() + "provision.java", "--help");
        assertEquals(0, help.code, help.out);
        assertTrue(help.out.contains("--prefix"), help.out);
        assertTrue(served.contains("/lib/Toolkit.java") && served.contains("/lib/azure/Stack.java"), "the list, then the lib files one by one: " + served);

        Result plan = jbang("provision@" + base() + "jbang-catalog.json", "--prefix", "acme", "--dry-run");
        assertEquals(0, plan.code, plan.out);
        assertTrue(plan.out.contains("No Azure sign-in found"), plan.out);
        assertTrue(plan.out.contains("Plan: " + StackCount.of("acme") + " to create"), plan.out);
        assertTrue(served.contains("/jbang-catalog.json"));

        Result bad = jbang(base() + "provision.java", "--prefix", "Bad-Name", "--dry-run");
        assertEquals(2, bad.code, "exit codes pass through the launcher: " + bad.out);
    }

    @Test
    void servicesAndTeardownCompileOnTheirOwnAndRunFromAUrl() throws Exception {
        assertEquals(0, jbang("trust", "add", base()).code);
        Result yaml = jbang("services@" + base() + "jbang-catalog.json", "--prefix", "acme", "--dry-run", "--no-argo");
        assertEquals(0, yaml.code, yaml.out);
        assertTrue(yaml.out.contains("kind: Deployment") && yaml.out.contains("name: metadata-service"),
                "the manifests bundled into the script were not found: " + yaml.out);
        assertTrue(served.contains("/manifests/20-metadata-service.yaml"), served.toString());
        Result help = jbang("teardown@" + base() + "jbang-catalog.json", "--help");
        assertEquals(0, help.code, help.out);
        assertTrue(help.out.contains("--keep-local"), help.out);
    }
}
