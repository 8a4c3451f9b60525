package cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage probe's own script (Probes.STORAGE_SCRIPT), run with this machine's sh, curl and sed against a loopback
 * stand-in for Microsoft Entra's token endpoint and the Blob service: the requests it sends and the result line the
 * toolkit reads. (In the pod it runs on the pinned curl image's busybox; the script sticks to POSIX sh and sed.)
 */
class ProbeScriptTest {
    @TempDir Path tmp;
    HttpServer server;
    final Map<String, String> blobs = new ConcurrentHashMap<>();
    final List<String> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger forbidden = new AtomicInteger();
    volatile String tokenForm;
    volatile boolean readsFail;

    @BeforeEach
    void start() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    String base() { return "http://127.0.0.1:" + server.getAddress().getPort(); }

    void handle(HttpExchange x) throws java.io.IOException {
        String path = x.getRequestURI().getPath();
        byte[] in = x.getRequestBody().readAllBytes();
        requests.add(x.getRequestMethod() + " " + path + " " + x.getRequestHeaders().getFirst("x-ms-version") + " "
                + x.getRequestHeaders().getFirst("x-ms-blob-type"));
        int code;
        String body = "";
        if (path.endsWith("/oauth2/v2.0/token")) {
            tokenForm = new String(in, StandardCharsets.UTF_8);
            code = 200;
            body = "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"tok123\"}";
        } else if (!"Bearer tok123".equals(x.getRequestHeaders().getFirst("Authorization"))) {
            code = 401;
        } else if (x.getRequestMethod().equals("PUT")) {
            if (forbidden.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                code = 403;
                body = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthorizationPermissionMismatch</Code><Message>no</Message></Error>";
            } else {
                blobs.put(path, new String(in, StandardCharsets.UTF_8));
                code = 201;
            }
        } else if (x.getRequestMethod().equals("GET")) {
            code = readsFail ? 503 : blobs.containsKey(path) ? 200 : 404;
            body = readsFail ? "<Error><Code>ServerBusy</Code></Error>" : blobs.getOrDefault(path, "");
        } else {
            code = blobs.remove(path) != null ? 202 : 404;
        }
        byte[] out = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(code, out.length == 0 ? -1 : out.length);
        if (out.length > 0) x.getResponseBody().write(out);
        x.close();
    }

    /** Runs the script as the pod would, with the env the Job and the workload-identity webhook give it. */
    String[] runScript(Map<String, String> extra) throws Exception {
        Path token = tmp.resolve("azure-identity-token");
        Files.writeString(token, "eyJ.federated.token");
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", Probes.STORAGE_SCRIPT).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().putAll(Map.of("BLOB_URL", base() + "/metaflow-storage-container/metaflow", "PROBE_BLOB", ".metaflow-azure-check/abc",
                "PROBE_ID", "metaflow-azure-toolkit check abc", "BLOB_API_VERSION", Probes.BLOB_API_VERSION,
                "AZURE_CLIENT_ID", "cid", "AZURE_TENANT_ID", "tid", "AZURE_AUTHORITY_HOST", base() + "/"));
        pb.environment().putAll(extra);
        pb.environment().values().removeIf(String::isEmpty);  // "" in extra: the variable is not set
        // Its own scratch folder: a fixed /tmp path broke the script for a second user of the machine (Permission denied).
        Path scratch = Files.createDirectories(tmp.resolve("scratch"));
        pb.environment().put("TMPDIR", scratch.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        try (var left = Files.list(scratch)) {
            assertEquals(List.of(), left.toList(), "the script removes its own files\n" + out);
        }
        assertFalse(Probes.STORAGE_SCRIPT.contains("/tmp/"), "no fixed path in /tmp");
        return new String[] {String.valueOf(p.exitValue()), out};
    }

    @Test
    void inAMetaflowShapedContainerTheBlobUrlComesFromTheDatastoreVariables() throws Exception {
        String[] r = runScript(Map.of("AZURE_FEDERATED_TOKEN_FILE", tmp.resolve("azure-identity-token").toString(), "BLOB_URL", "",
                "METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT", base() + "/", "METAFLOW_DATASTORE_SYSROOT_AZURE", "metaflow-storage-container/metaflow"));
        assertEquals("0", r[0], r[1]);
        assertTrue(requests.contains("PUT /metaflow-storage-container/metaflow/.metaflow-azure-check/abc 2021-12-02 BlockBlob"), requests.toString());
        String[] none = runScript(Map.of("AZURE_FEDERATED_TOKEN_FILE", tmp.resolve("azure-identity-token").toString(), "BLOB_URL", ""));
        assertEquals("1", none[0], none[1]);
        assertTrue(none[1].strip().endsWith("probe-result: fail datastore 0 no METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT in the pod"), none[1]);
    }

    @Test
    void workloadIdentityTokenThenPutReadDelete() throws Exception {
        String[] r = runScript(Map.of("AZURE_FEDERATED_TOKEN_FILE", tmp.resolve("azure-identity-token").toString()));
        assertEquals("0", r[0], r[1]);
        assertTrue(r[1].strip().endsWith("probe-result: ok"), r[1]);
        assertTrue(tokenForm.contains("client_assertion=eyJ.federated.token"), tokenForm);
        assertTrue(tokenForm.contains("client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"), tokenForm);
        assertTrue(tokenForm.contains("scope=https%3A%2F%2Fstorage.azure.com%2F.default"), tokenForm);
        String blob = "/metaflow-storage-container/metaflow/.metaflow-azure-check/abc";
        assertEquals(List.of("POST /tid/oauth2/v2.0/token null null", "PUT " + blob + " 2021-12-02 BlockBlob", "GET " + blob + " 2021-12-02 null",
                "DELETE " + blob + " 2021-12-02 null"), requests);
        assertEquals(Map.of(), blobs);
    }

    @Test
    void servicePrincipalSecretIsUsedWhenPresent() throws Exception {
        String[] r = runScript(Map.of("AZURE_CLIENT_SECRET", "s3cr~t&x"));
        assertEquals("0", r[0], r[1]);
        assertTrue(tokenForm.contains("client_secret=s3cr%7Et%26x") || tokenForm.contains("client_secret=s3cr~t%26x"), tokenForm);
    }

    @Test
    void a403IsReportedWithTheStorageErrorCode() throws Exception {
        forbidden.set(1);
        String[] r = runScript(Map.of("AZURE_FEDERATED_TOKEN_FILE", tmp.resolve("azure-identity-token").toString()));
        assertEquals("1", r[0], r[1]);
        assertTrue(r[1].contains("probe-result: fail put 403 AuthorizationPermissionMismatch"), r[1]);
    }

    @Test
    void noIdentityIsSaidSo() throws Exception {
        String[] r = runScript(Map.of());
        assertEquals("1", r[0], r[1]);
        assertTrue(r[1].contains("probe-result: fail identity 0 no AZURE_FEDERATED_TOKEN_FILE"), r[1]);
        assertEquals(List.of(), requests);
    }

    @Test
    void aFailedReadStillDeletesTheBlob() throws Exception {
        readsFail = true;
        String[] r = runScript(Map.of("AZURE_FEDERATED_TOKEN_FILE", tmp.resolve("azure-identity-token").toString()));
        assertEquals("1", r[0], r[1]);
        assertTrue(r[1].contains("probe-result: fail get 503 ServerBusy"), r[1]);
        assertEquals(Map.of(), blobs, "the trap deleted the probe blob");
        assertTrue(requests.get(requests.size() - 1).startsWith("DELETE "), requests.toString());
    }
}
