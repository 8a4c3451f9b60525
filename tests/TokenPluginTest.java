import static org.junit.jupiter.api.Assertions.*;

import cluster.EntraSignIn;
import cluster.KubeToken;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import fake.AzureFake;
import fake.AzureFakeServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The credential plugin the kubeconfig of an Entra cluster names, run the way kubectl and Metaflow's Python client run it
 * (kubernetes-client/python exec_provider.py: a child process, no stdin, KUBERNETES_EXEC_INFO in its environment),
 * signed in through a managed-identity endpoint on loopback: it answers with an ExecCredential, twice from one token.
 */
class TokenPluginTest {

    @Test
    void thePluginTheKubeconfigNamesPrintsAnExecCredentialWithoutAPrompt(@TempDir Path dir) throws Exception {
        AzureFake azure = new AzureFake();
        try (AzureFakeServer server = new AzureFakeServer(azure, dir.resolve("tls"))) {
            Path home = Files.createDirectories(dir.resolve("home"));
            EntraSignIn.Plugin plugin = KubeToken.toolkit(azure.tenantId(), "https://login.microsoftonline.com");
            for (int run = 1; run <= 2; run++) {
                List<String> cmd = new ArrayList<>();
                cmd.add(plugin.command());
                cmd.addAll(plugin.args());
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
                pb.environment().keySet().removeIf(k -> k.startsWith("AZURE_") || k.startsWith("IDENTITY_") || k.startsWith("MSI_"));
                pb.environment().putAll(server.signedInEnv());
                pb.environment().put("HOME", home.toString());
                pb.environment().put("KUBERNETES_EXEC_INFO", "{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                        + "\"spec\":{\"interactive\":false}}");
                Process p = pb.start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(120, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), "stderr: " + err);
                JsonNode cred = Json.parse(out.trim());
                assertEquals(KubeToken.API_VERSION, cred.path("apiVersion").asText(), "Metaflow's client refuses a response of another version");
                assertEquals("ExecCredential", cred.path("kind").asText());
                assertFalse(cred.path("status").path("token").asText().isEmpty());
                assertFalse(cred.path("status").path("expirationTimestamp").asText().isEmpty());
            }
            try (var files = Files.list(KubeToken.cacheDir(home))) {
                assertEquals(1, files.count(), "one cached token for the tenant");
            }
        }
    }
}
