package cluster;

import azure.AzureLogin;
import azure.Clouds;
import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import engine.Json;
import engine.Messages;
import engine.PrivateFile;
import java.io.IOException;
import java.io.PrintStream;
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

    /** The token's file: one per tenant and sign-in authority (JDK only: main's fast path loads no library). */
    static Path cacheFile(Path cacheDir, String tenant, String authority) {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                    .digest((tenant + "|" + authority + "|" + EntraSignIn.SCOPE).getBytes(StandardCharsets.UTF_8));
            return cacheDir.resolve(java.util.HexFormat.of().formatHex(d) + ".json");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The ExecCredential for tenant, from the cache while it holds a token with time left, else from the credential. */
    public static String execCredential(TokenCredential credential, Path cacheDir, String tenant, String authority, Instant now) {
        Path file = cacheFile(cacheDir, tenant, authority);
        Cached cached = cached(file, now);
        if (cached == null) {
            AccessToken t = credential.getTokenSync(new TokenRequestContext().addScopes(EntraSignIn.SCOPE).setTenantId(tenant));
            cached = new Cached(t.getToken(), t.getExpiresAt().toEpochSecond());
            try {
                PrivateFile.write(file, Json.write(Json.obj().put("token", cached.token()).put("expiresOn", cached.expiresOn())));
            } catch (IOException e) {
                // Not fatal: the next call asks again.
            }
        }
        return cached.execCredential();
    }

    /** A token as the cache holds it. */
    record Cached(String token, long expiresOn) {
        /** The client.authentication.k8s.io/v1 ExecCredential holding it (a JWT needs no JSON escaping). */
        String execCredential() {
            return "{\"apiVersion\":\"" + API_VERSION + "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"" + token
                    + "\",\"expirationTimestamp\":\"" + Instant.ofEpochSecond(expiresOn) + "\"}}";
        }
    }

    private static final java.util.regex.Pattern CACHED = java.util.regex.Pattern.compile(
            "\\{\\s*\"token\"\\s*:\\s*\"([^\"]+)\"\\s*,\\s*\"expiresOn\"\\s*:\\s*([0-9]+)\\s*}\\s*");

    /**
     * The cached token with more than the margin left, or null (none, expired, or a damaged cache, which is only a cache).
     * JDK only, so that main's answer from the cache loads no library.
     */
    static Cached cached(Path file, Instant now) {
        try {
            var m = CACHED.matcher(Files.readString(file, StandardCharsets.UTF_8));
            if (!m.matches()) return null;
            long expires = Long.parseLong(m.group(2));
            return expires - now.getEpochSecond() > MARGIN_SECONDS ? new Cached(m.group(1), expires) : null;
        } catch (IOException | RuntimeException notCached) {
            return null;
        }
    }

    /**
     * Prints the ExecCredential from this machine's Azure sign-in (services.java token, and the plugin on a cache miss):
     * 0, or 1 with one line of why and one of what to do when there is no token.
     */
    public static int print(String tenant, String authority, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out,
                            PrintStream err) {
        Clouds.Cloud cloud = authority == null ? Clouds.PUBLIC : Clouds.signingInAt(authority);
        try {
            out.println(execCredential(AzureLogin.credential(cloud, host, transport, tenant), cacheDir(host.home()), tenant,
                    cloud.loginEndpoint(), Instant.now()));
            return 0;
        } catch (RuntimeException e) {
            err.println("error: no Microsoft Entra token for the cluster: " + Messages.firstLine(e.getMessage()));
            err.println("Sign in to Azure (az login, or the AZURE_* variables) in tenant " + tenant + ", then run the command again.");
            return 1;
        }
    }

    /**
     * This toolkit as the plugin: the Java runtime and class path running now (JBang's cached build of services.java)
     * with this class as the entry point, so each call starts in well under the time JBang's own launch would take.
     */
    public static EntraSignIn.Plugin toolkit(String tenant, String authority) {
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        return new EntraSignIn.Plugin(java, List.of("-cp", System.getProperty("java.class.path"), KubeToken.class.getName(), "--tenant", tenant,
                "--authority", authority), "services.java connect (run it again if JBang's cache was cleared)");
    }

    /**
     * The plugin's entry point (what the kubeconfig runs): {@code --tenant ID [--authority URL]}. A cached token with
     * time left is answered with the JDK alone, before any library is loaded (kubectl and Metaflow run this per call);
     * otherwise the toolkit's sign-in is asked. Exit 1 with one line of why and one of what to do when there is no token.
     */
    public static void main(String[] args) {
        String tenant = null;
        String authority = "https://login.microsoftonline.com";
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (args[i].equals("--tenant")) tenant = args[i + 1];
            else if (args[i].equals("--authority")) authority = args[i + 1];
        }
        if (tenant == null) {
            System.err.println("error: --tenant is required");
            System.err.println("Run 'jbang services.java connect' again to rewrite the kubeconfig.");
            System.exit(2);
        }
        String home = System.getenv("HOME") == null || System.getenv("HOME").isBlank() ? System.getProperty("user.home") : System.getenv("HOME");
        Cached cached = cached(cacheFile(cacheDir(Path.of(home)), tenant, authority), Instant.now());
        if (cached != null) {
            System.out.println(cached.execCredential());
            return;
        }
        int code = print(tenant, authority, AzureLogin.Host.current(), null, System.out, System.err);
        if (code != 0) System.exit(code);
    }
}
