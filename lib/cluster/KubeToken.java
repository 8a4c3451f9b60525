package cluster;

import azure.LocalFiles;
import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.PrivateFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * services.java token: the toolkit as kubectl's and Metaflow's credential plugin for an Entra cluster, so a data scientist
 * needs nothing but Java. It prints a client.authentication.k8s.io/v1 ExecCredential holding a token of the AKS server
 * application from the same Azure sign-in the toolkit uses, and never prompts: Metaflow's Python client runs plugins
 * without a TTY (kubernetes-client/python, kubernetes/base/config/exec_provider.py: stdin is None when not interactive)
 * and keeps no cache of its own, so the token is kept in a private file until shortly before it expires and each later
 * call answers from it.
 */
public final class KubeToken {
    private KubeToken() {}

    public static final String API_VERSION = "client.authentication.k8s.io/v1";
    /** A cached token is used while it has more than this left (kubectl refreshes when the expiry has passed). */
    static final long MARGIN_SECONDS = 300;

    /** Where tokens are kept: next to kubelogin's (~/.kube/cache/kubelogin), one file per tenant and sign-in authority. */
    public static Path cacheDir(Path home) {
        return home.resolve(".kube").resolve("cache").resolve("metaflow-azure");
    }

    /** The ExecCredential for tenant, from the cache while it holds a token with time left, else from the credential. */
    public static String execCredential(TokenCredential credential, Path cacheDir, String tenant, String authority, Instant now) {
        Path file = cacheDir.resolve(LocalFiles.sha256((tenant + "|" + authority + "|" + EntraSignIn.SCOPE).getBytes(StandardCharsets.UTF_8)) + ".json");
        String token = null;
        long expires = 0;
        try {
            if (Files.exists(file)) {
                JsonNode cached = Json.parse(Files.readString(file, StandardCharsets.UTF_8));
                if (cached.path("expiresOn").asLong(0) - now.getEpochSecond() > MARGIN_SECONDS) {
                    token = cached.path("token").asText(null);
                    expires = cached.path("expiresOn").asLong();
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            token = null;   // a damaged cache is only a cache: ask for a new token
        }
        if (token == null) {
            AccessToken t = credential.getTokenSync(new TokenRequestContext().addScopes(EntraSignIn.SCOPE).setTenantId(tenant));
            token = t.getToken();
            expires = t.getExpiresAt().toEpochSecond();
            try {
                PrivateFile.write(file, Json.write(Json.obj().put("token", token).put("expiresOn", expires)));
            } catch (IOException e) {
                // Not fatal: the next call asks again.
            }
        }
        ObjectNode out = Json.obj().put("apiVersion", API_VERSION).put("kind", "ExecCredential");
        out.putObject("status").put("token", token).put("expirationTimestamp", Instant.ofEpochSecond(expires).toString());
        return Json.write(out);
    }

    /**
     * This toolkit as the plugin: the Java runtime and class path running now (JBang's cached build of services.java),
     * so each call starts in well under the time JBang's own launch would take.
     */
    public static EntraSignIn.Plugin toolkit(String tenant, String authority) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return new EntraSignIn.Plugin(java, List.of("-cp", System.getProperty("java.class.path"), "services", "token", "--tenant", tenant,
                "--authority", authority), "services.java connect (run it again if JBang's cache was cleared)");
    }
}
