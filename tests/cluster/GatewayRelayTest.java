package cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's relay script (ConfigMap metaflow-gateway in manifests/45-gateway.yaml), run with this machine's python3
 * against loopback stand-ins for the services; and the gateway Deployment's safety settings. In the pod it runs on the
 * metadata service image's Python 3.11 (python:3.11.6-slim-bookworm); the script uses the standard library only.
 */
class GatewayRelayTest {
    @TempDir Path tmp;
    final List<ServerSocket> upstreams = new ArrayList<>();
    Process relay;
    final StringBuffer relayOut = new StringBuffer();

    static List<ObjectNode> gatewayObjects() {
        Map<String, String> values = new HashMap<>(Map.of("NAMESPACE", "metaflow", "SERVICES_NAMESPACE", "metaflow-services",
                "METADATA_IMAGE", Pins.METADATA_IMAGE));
        Manifests.Template t = Manifests.templates(null).stream().filter(x -> x.name().equals(Catalog.GATEWAY.manifest())).findFirst().orElseThrow();
        return Manifests.parse(t.name(), Manifests.fill(t, values));
    }

    static ObjectNode find(String kind, String name) {
        return gatewayObjects().stream().filter(o -> o.path("kind").asText().equals(kind) && o.path("metadata").path("name").asText().equals(name))
                .findFirst().orElseThrow();
    }

    @BeforeEach
    void script() throws IOException {
        Files.writeString(tmp.resolve("relay.py"), find("ConfigMap", Catalog.GATEWAY_NAME).path("data").path("relay.py").asText());
    }

    @AfterEach
    void stop() throws Exception {
        if (relay != null && relay.isAlive()) relay.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        for (ServerSocket s : upstreams) s.close();
    }

    /** A loopback service that reads until the client half-closes, then answers with what it got and closes. */
    int upstream(String name) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        upstreams.add(server);
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket c = server.accept();
                    new Thread(() -> {
                        try (c) {
                            byte[] got = c.getInputStream().readAllBytes();
                            c.getOutputStream().write((name + " got " + got.length + " bytes: "
                                    + new String(got, 0, Math.min(got.length, 20), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                        } catch (IOException ignored) {
                            // the client went away
                        }
                    }).start();
                } catch (IOException closed) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return server.getLocalPort();
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts the relay on loopback with these routes (listen port to target port on localhost) and waits until it listens. */
    void startRelay(Map<Integer, Integer> routes) throws Exception {
        StringBuilder r = new StringBuilder();
        routes.forEach((listen, target) -> r.append(listen).append("=localhost:").append(target).append(' '));
        ProcessBuilder pb = new ProcessBuilder("python3", tmp.resolve("relay.py").toString()).redirectErrorStream(true);
        pb.environment().put("GATEWAY_ROUTES", r.toString().trim());
        pb.environment().put("GATEWAY_ADDRESS", "127.0.0.1");
        pb.environment().put("PYTHONDONTWRITEBYTECODE", "1");
        relay = pb.start();
        Thread reader = new Thread(() -> {
            try (InputStream in = relay.getInputStream()) {
                byte[] buf = new byte[1024];
                int n;
                while ((n = in.read(buf)) > 0) relayOut.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the relay ended
            }
        });
        reader.setDaemon(true);
        reader.start();
        long deadline = System.currentTimeMillis() + 15_000;
        while (relayOut.toString().split("relaying ", -1).length <= routes.size()) {
            if (!relay.isAlive() || System.currentTimeMillis() > deadline) throw new AssertionError("the relay did not start: " + relayOut);
            Thread.sleep(50);
        }
    }

    /** Sends the bytes, half-closes, and reads the whole answer until the peer closes. */
    static String exchange(int port, byte[] body) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(15_000);
            CompletableFuture<Void> send = CompletableFuture.runAsync(() -> {
                try {
                    s.getOutputStream().write(body);
                    s.shutdownOutput();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            s.getInputStream().transferTo(got);
            send.join();
            return got.toString(StandardCharsets.UTF_8);
        }
    }

    @Test
    void relaysEachPortToItsServiceBothWaysAndKeepsTheHalfClose() throws Exception {
        int md = upstream("metadata");
        int ui = upstream("ui");
        int mdPort = freePort();
        int uiPort = freePort();
        startRelay(Map.of(mdPort, md, uiPort, ui));
        assertEquals("metadata got 9 bytes: GET /ping", exchange(mdPort, "GET /ping".getBytes(StandardCharsets.UTF_8)));
        assertEquals("ui got 5 bytes: GET /", exchange(uiPort, "GET /".getBytes(StandardCharsets.UTF_8)));
        // A large body goes through whole (the answer comes only after the relay passed the client's end of input on).
        byte[] big = new byte[8 * 1024 * 1024];
        java.util.Arrays.fill(big, (byte) 'x');
        assertTrue(exchange(mdPort, big).startsWith("metadata got " + big.length + " bytes"));
    }

    @Test
    void manyClientsAtOnceEachGetTheirOwnAnswer() throws Exception {
        int md = upstream("metadata");
        int port = freePort();
        startRelay(Map.of(port, md));
        List<CompletableFuture<String>> calls = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String body = "request-" + i;
            calls.add(CompletableFuture.supplyAsync(() -> {
                try {
                    return exchange(port, body.getBytes(StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }));
        }
        for (int i = 0; i < 40; i++) {
            String body = "request-" + i;
            assertEquals("metadata got " + body.length() + " bytes: " + body, calls.get(i).get(20, TimeUnit.SECONDS),
                    "the relay said: " + relayOut);
        }
    }

    @Test
    void aServiceThatIsDownClosesTheClientSaysWhyAndTheRelayServesOn() throws Exception {
        int down = freePort();  // nothing listens there
        int md = upstream("metadata");
        int downPort = freePort();
        int mdPort = freePort();
        startRelay(Map.of(downPort, down, mdPort, md));
        assertEquals("", exchange(downPort, "GET /".getBytes(StandardCharsets.UTF_8)));
        long deadline = System.currentTimeMillis() + 5000;
        while (!relayOut.toString().contains("cannot reach localhost:" + down) && System.currentTimeMillis() < deadline) Thread.sleep(50);
        assertTrue(relayOut.toString().contains("cannot reach localhost:" + down), relayOut.toString());
        assertEquals("metadata got 5 bytes: GET /", exchange(mdPort, "GET /".getBytes(StandardCharsets.UTF_8)));
        assertTrue(relay.isAlive());
    }

    @Test
    void endsCleanlyOnSigtermAsKubernetesStopsIt() throws Exception {
        int md = upstream("metadata");
        startRelay(Map.of(freePort(), md));
        relay.destroy();  // SIGTERM
        assertTrue(relay.waitFor(10, TimeUnit.SECONDS), relayOut.toString());
        assertEquals(0, relay.exitValue(), relayOut.toString());
    }

    @Test
    void aPortAlreadyTakenFailsTheRelayAtOnce() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            ProcessBuilder pb = new ProcessBuilder("python3", tmp.resolve("relay.py").toString()).redirectErrorStream(true);
            pb.environment().put("GATEWAY_ROUTES", taken.getLocalPort() + "=localhost:1");
            pb.environment().put("GATEWAY_ADDRESS", "127.0.0.1");
            Process p = pb.start();
            assertTrue(p.waitFor(15, TimeUnit.SECONDS));
            assertTrue(p.exitValue() != 0, "a relay that cannot listen must crash (the pod's restarts then show it)");
            assertTrue(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).contains("address already in use"));
        }
    }

    @Test
    void theGatewayRunsLockedDownOnTheImageTheServicesAlreadyUse() {
        ObjectNode d = find("Deployment", Catalog.GATEWAY.deployment());
        JsonNode pod = d.path("spec").path("template").path("spec");
        assertFalse(pod.path("automountServiceAccountToken").asBoolean(true), "the relay needs no Kubernetes API access");
        assertTrue(pod.path("securityContext").path("runAsNonRoot").asBoolean());
        assertEquals(65534, pod.path("securityContext").path("runAsUser").asInt());
        JsonNode c = pod.path("containers").path(0);
        assertEquals(Pins.METADATA_IMAGE, c.path("image").asText(), "no image beyond those the stack pulls already");
        assertFalse(c.path("securityContext").path("allowPrivilegeEscalation").asBoolean(true));
        assertTrue(c.path("securityContext").path("readOnlyRootFilesystem").asBoolean());
        assertEquals("ALL", c.path("securityContext").path("capabilities").path("drop").path(0).asText());
        assertFalse(c.path("resources").path("requests").path("cpu").asText().isEmpty());
        assertFalse(c.path("resources").path("limits").path("memory").asText().isEmpty());
        assertEquals(8080, c.path("readinessProbe").path("tcpSocket").path("port").asInt());
        assertEquals(8080, c.path("livenessProbe").path("tcpSocket").path("port").asInt());
        // The script it runs is the ConfigMap's, mounted read-only where the command names it.
        assertEquals("/etc/metaflow-gateway/relay.py", c.path("command").path(1).asText());
        assertEquals(Catalog.GATEWAY_NAME, pod.path("volumes").path(0).path("configMap").path("name").asText());
    }
}
