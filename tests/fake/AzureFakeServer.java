package fake;

import azure.AzureLogin;
import com.azure.core.http.HttpHeaders;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.Context;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

/**
 * {@link AzureFake} served to another process over loopback, through the seams a user of a custom cloud has:
 * Resource Manager and Graph on an https:// endpoint ({@code --arm-endpoint}, a certificate the JVM is told to trust
 * with {@code -Djavax.net.ssl.trustStore}), and a managed-identity token endpoint as App Service offers one
 * ({@code IDENTITY_ENDPOINT} + {@code IDENTITY_HEADER}, plain http on 127.0.0.1), which DefaultAzureCredential uses.
 */
public final class AzureFakeServer implements AutoCloseable {
    private final AzureFake fake;
    private final HttpsServer arm;
    private final HttpServer identity;
    private final Path trustStore;
    private final String identityHeader = UUID.randomUUID().toString();
    private volatile FakeCredential signedIn;
    static final String STORE_PASSWORD = "changeit";

    public AzureFakeServer(AzureFake fake, Path dir) throws Exception {
        this.fake = fake;
        Files.createDirectories(dir);
        Path keyStore = dir.resolve("server.p12");
        Path cert = dir.resolve("server.crt");
        trustStore = dir.resolve("trust.p12");
        keytool("-genkeypair", "-alias", "fake", "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "2",
                "-dname", "CN=127.0.0.1", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-keystore", keyStore.toString(),
                "-storetype", "PKCS12", "-storepass", STORE_PASSWORD);
        keytool("-exportcert", "-alias", "fake", "-keystore", keyStore.toString(), "-storepass", STORE_PASSWORD, "-file", cert.toString());
        // The JDK's own CAs as well: JAVA_TOOL_OPTIONS reaches JBang's JVM too, which on a first run with an empty Maven
        // cache downloads the scripts' libraries from Maven Central, as it does for any user.
        keytool("-importkeystore", "-noprompt", "-srckeystore", Path.of(System.getProperty("java.home"), "lib", "security", "cacerts").toString(),
                "-srcstorepass", "changeit", "-destkeystore", trustStore.toString(), "-deststoretype", "PKCS12", "-deststorepass", STORE_PASSWORD);
        keytool("-importcert", "-noprompt", "-alias", "fake", "-file", cert.toString(), "-keystore", trustStore.toString(),
                "-storetype", "PKCS12", "-storepass", STORE_PASSWORD);

        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keyStore)) {
            ks.load(in, STORE_PASSWORD.toCharArray());
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, STORE_PASSWORD.toCharArray());
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(kmf.getKeyManagers(), null, null);

        InetAddress loopback = InetAddress.getLoopbackAddress();
        arm = HttpsServer.create(new InetSocketAddress(loopback, 0), 0);
        arm.setHttpsConfigurator(new HttpsConfigurator(ssl));
        arm.createContext("/", this::relay);
        arm.setExecutor(Executors.newFixedThreadPool(8));
        arm.start();

        identity = HttpServer.create(new InetSocketAddress(loopback, 0), 0);
        identity.createContext("/msi/token", this::token);
        identity.start();
    }

    private static void keytool(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new IllegalStateException("keytool " + args[0] + ": " + out);
    }

    /** --arm-endpoint for the scripts. */
    public String armEndpoint() {
        return "https://127.0.0.1:" + arm.getAddress().getPort();
    }

    /** JVM options that make the scripts trust this server's certificate (e.g. in {@code JAVA_TOOL_OPTIONS}). */
    public List<String> trustOptions() {
        return List.of("-Djavax.net.ssl.trustStore=" + trustStore, "-Djavax.net.ssl.trustStorePassword=" + STORE_PASSWORD,
                "-Djavax.net.ssl.trustStoreType=PKCS12");
    }

    /** The environment of a machine signed in through a managed identity at this server, using this cloud. */
    public Map<String, String> signedInEnv() {
        return Map.of("IDENTITY_ENDPOINT", "http://127.0.0.1:" + identity.getAddress().getPort() + "/msi/token",
                "IDENTITY_HEADER", identityHeader,
                AzureLogin.ARM_ENDPOINT_ENV, armEndpoint());
    }

    /**
     * The principal the managed-identity endpoint hands tokens for (default: the fake's signed-in user, upn
     * admin@example.test), e.g. a grantee's credential, or one whose tokens expire soon.
     */
    public AzureFakeServer signedInAs(FakeCredential credential) {
        this.signedIn = credential;
        return this;
    }

    /** The App Service managed-identity protocol: GET ?resource=...&api-version=2019-08-01 with X-IDENTITY-HEADER. */
    private void token(HttpExchange ex) throws IOException {
        try (ex) {
            if (!identityHeader.equals(ex.getRequestHeaders().getFirst("X-IDENTITY-HEADER"))) {
                send(ex, 401, "{\"error\":\"missing or wrong X-IDENTITY-HEADER\"}");
                return;
            }
            String query = ex.getRequestURI().getRawQuery() == null ? "" : ex.getRequestURI().getRawQuery();
            String resource = "";
            for (String kv : query.split("&")) {
                if (kv.startsWith("resource=")) resource = java.net.URLDecoder.decode(kv.substring(9), StandardCharsets.UTF_8);
            }
            // The token's audience is the resource asked for (e.g. 6dae42f8-... for the AKS server application).
            FakeCredential who = signedIn != null ? signedIn : FakeCredential.user(fake.userObjectId(), fake.tenantId(), "admin@example.test");
            FakeCredential.Issued t = who.issue(List.of(resource.endsWith("/") ? resource.substring(0, resource.length() - 1) : resource));
            long expires = t.expiresAt().toEpochSecond();
            String body = "{\"access_token\":\"" + t.token()
                    + "\",\"expires_on\":\"" + expires + "\",\"resource\":\"" + resource + "\",\"token_type\":\"Bearer\","
                    + "\"client_id\":\"" + UUID.randomUUID() + "\"}";
            send(ex, 200, body);
        }
    }

    private static void send(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
    }

    /** Hands the request to the fake as the in-process tests do, and its answer back over the wire. */
    private void relay(HttpExchange ex) throws IOException {
        try (ex) {
            URI uri = ex.getRequestURI();
            HttpHeaders headers = new HttpHeaders();
            ex.getRequestHeaders().forEach((k, v) -> headers.set(k, v.get(0)));
            byte[] body = ex.getRequestBody().readAllBytes();
            HttpRequest request = new HttpRequest(HttpMethod.valueOf(ex.getRequestMethod()), new java.net.URL(armEndpoint() + uri.getRawPath()
                    + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery())), headers);
            if (body.length > 0) request.setBody(body);
            HttpResponse response;
            try {
                response = fake.sendSync(request, Context.NONE);
            } catch (RuntimeException e) {
                // A dropped connection (Fault) or a simulated crash: the client sees the connection close.
                ex.sendResponseHeaders(500, -1);
                return;
            }
            byte[] out = response.getBodyAsBinaryData().toBytes();
            response.getHeaders().forEach(h -> {
                if (!h.getName().equalsIgnoreCase("Content-Length")) ex.getResponseHeaders().set(h.getName(), h.getValue());
            });
            ex.sendResponseHeaders(response.getStatusCode(), out.length == 0 ? -1 : out.length);
            if (out.length > 0) ex.getResponseBody().write(out);
        }
    }

    @Override
    public void close() {
        arm.stop(0);
        identity.stop(0);
        ((java.util.concurrent.ExecutorService) arm.getExecutor()).shutdownNow();
    }
}
