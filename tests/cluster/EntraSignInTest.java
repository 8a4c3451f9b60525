package cluster;

import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import azure.Desired;
import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import engine.Json;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

/** Signing in to an Entra ID cluster: the toolkit's own client, the kubeconfig for kubectl and Metaflow, and the token plugin. */
class EntraSignInTest {

    /** What listClusterUserCredential returns for an Entra cluster (format exec): a kubelogin user entry with a device-code login. */
    static String entraKubeconfig(String server) {
        return "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: " + server + "\n  name: aks\ncontexts:\n- context:\n"
                + "    cluster: aks\n    user: clusterUser_rg_aks\n  name: aks\ncurrent-context: aks\nusers:\n- name: clusterUser_rg_aks\n"
                + "  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubelogin\n      args:\n"
                + "      - get-token\n      - --login\n      - devicecode\n      - --server-id\n      - " + Desired.AKS_SERVER_APP + "\n";
    }

    static final String LOCAL = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://x\n  name: aks\ncontexts:\n"
            + "- context:\n    cluster: aks\n    user: u\n  name: aks\ncurrent-context: aks\nusers:\n- name: u\n  user:\n    token: abc\n";

    /** A credential counting its calls; each token names the scope it was for and expires in minutes. */
    static final class Counting implements TokenCredential {
        final AtomicInteger calls = new AtomicInteger();
        final List<String> scopes = new CopyOnWriteArrayList<>();
        final long minutes;

        Counting(long minutes) { this.minutes = minutes; }

        @Override public Mono<AccessToken> getToken(TokenRequestContext r) { return Mono.fromSupplier(() -> getTokenSync(r)); }

        @Override public AccessToken getTokenSync(TokenRequestContext r) {
            scopes.addAll(r.getScopes());
            return new AccessToken("tok-" + calls.incrementAndGet(), OffsetDateTime.now(ZoneOffset.UTC).plusMinutes(minutes));
        }
    }

    @Test
    void anEntraKubeconfigIsRecognisedAndALocalAccountOneIsNot() {
        assertTrue(EntraSignIn.usesEntra(entraKubeconfig("https://x")));
        assertFalse(EntraSignIn.usesEntra(LOCAL));
    }

    @Test
    void theToolkitsClientSendsAnEntraTokenForTheAksServerAppAndNeverRunsKubelogin() throws Exception {
        List<String> auth = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", x -> {
            auth.add(String.valueOf(x.getRequestHeaders().getFirst("Authorization")));
            byte[] body = "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"metaflow\"}}".getBytes(StandardCharsets.UTF_8);
            x.getResponseHeaders().add("Content-Type", "application/json");
            x.sendResponseHeaders(200, body.length);
            x.getResponseBody().write(body);
            x.close();
        });
        server.start();
        try {
            Counting credential = new Counting(60);
            // kubelogin is not on this machine: had the client run the kubeconfig's plugin, it would have failed here.
            try (var client = EntraSignIn.client(entraKubeconfig("http://127.0.0.1:" + server.getAddress().getPort()), "test", credential)) {
                client.namespaces().withName("metaflow").get();
                client.namespaces().withName("metaflow").get();
            }
            assertEquals(List.of("Bearer tok-1", "Bearer tok-1"), auth, "one token, reused while valid");
            assertEquals(List.of(EntraSignIn.SCOPE), credential.scopes);
            assertEquals("6dae42f8-4368-4678-94ff-3960e28e3630/.default", EntraSignIn.SCOPE);
        } finally {
            server.stop(0);
        }
    }

    @Test
    void kubectlAndMetaflowGetAPluginThatNeverPrompts() {
        EntraSignIn.Plugin plugin = EntraSignIn.kubelogin("/usr/bin/kubelogin", "t-1");
        JsonNode k = Json.parse(Json.write(read(EntraSignIn.forTools(entraKubeconfig("https://x"), plugin))));
        JsonNode exec = k.path("users").path(0).path("user").path("exec");
        assertEquals("client.authentication.k8s.io/v1", exec.path("apiVersion").asText());
        assertEquals("/usr/bin/kubelogin", exec.path("command").asText());
        assertEquals("Never", exec.path("interactiveMode").asText());
        List<String> args = Json.MAPPER.convertValue(exec.path("args"), List.class);
        assertEquals(List.of("get-token", "--login", "azurecli", "--server-id", Desired.AKS_SERVER_APP, "--tenant-id", "t-1"), args);
        assertFalse(args.contains("devicecode"));
        assertEquals("https://x", k.path("clusters").path(0).path("cluster").path("server").asText(), "the cluster entry stays as AKS gave it");
    }

    @Test
    void kubeloginIsUsedOnlyWithTheAzCliBesideIt(@TempDir Path dir) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path kubelogin = Files.writeString(bin.resolve("kubelogin"), "#!/bin/sh\n");
        kubelogin.toFile().setExecutable(true);
        var host = new AzureLogin.Host(Map.of("PATH", bin.toString()), dir);
        assertEquals("cluster.KubeToken", EntraSignIn.pluginFor(host, "t", "https://login.microsoftonline.com").args().get(2),
                "no az beside kubelogin: the toolkit itself");
        Path az = Files.writeString(bin.resolve("az"), "#!/bin/sh\n");
        az.toFile().setExecutable(true);
        assertEquals(kubelogin.toString(), EntraSignIn.pluginFor(host, "t", "https://login.microsoftonline.com").command());
    }

    @Test
    void theTokenPluginAnswersFromItsPrivateCacheUntilShortlyBeforeExpiry(@TempDir Path home) throws Exception {
        Counting credential = new Counting(60);
        Path cache = KubeToken.cacheDir(home);
        Instant now = Instant.now();
        JsonNode first = Json.parse(KubeToken.execCredential(credential, cache, "t-1", "https://login.microsoftonline.com", now));
        assertEquals("client.authentication.k8s.io/v1", first.path("apiVersion").asText());
        assertEquals("ExecCredential", first.path("kind").asText());
        assertEquals("tok-1", first.path("status").path("token").asText());
        Instant expiry = Instant.parse(first.path("status").path("expirationTimestamp").asText());
        assertTrue(expiry.isAfter(now.plusSeconds(50 * 60)));

        JsonNode again = Json.parse(KubeToken.execCredential(credential, cache, "t-1", "https://login.microsoftonline.com", now.plusSeconds(60)));
        assertEquals("tok-1", again.path("status").path("token").asText());
        assertEquals(1, credential.calls.get(), "the second call was answered from the cache");

        // Less than the margin left: a new token.
        JsonNode late = Json.parse(KubeToken.execCredential(credential, cache, "t-1", "https://login.microsoftonline.com", expiry.minusSeconds(60)));
        assertEquals("tok-2", late.path("status").path("token").asText());

        try (var files = Files.list(cache)) {
            for (Path f : files.toList()) {
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)), f + " holds a token");
            }
        }
    }

    @Test
    void aDamagedCacheIsOnlyACacheMiss(@TempDir Path home) throws Exception {
        Counting credential = new Counting(60);
        Path cache = KubeToken.cacheDir(home);
        KubeToken.execCredential(credential, cache, "t-1", "https://login", Instant.now());
        try (var files = Files.list(cache)) {
            for (Path f : files.toList()) Files.writeString(f, "{not json");
        }
        JsonNode out = Json.parse(KubeToken.execCredential(credential, cache, "t-1", "https://login", Instant.now()));
        assertEquals("tok-2", out.path("status").path("token").asText());
    }

    static JsonNode read(String yaml) {
        try {
            return Manifests.YAML.readTree(yaml);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
