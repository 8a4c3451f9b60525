package cluster;

import azure.AzureLogin;
import azure.Desired;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.azure.core.credential.SimpleTokenCache;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.util.List;

/**
 * Signing in to an AKS cluster with Microsoft Entra ID, without kubelogin or the az CLI: the toolkit asks the Azure
 * credential it already signed in with for a token of the AKS server application ({@link Desired#AKS_SERVER_APP}) and
 * sends it as a bearer token; azure-core's SimpleTokenCache hands out the same token until shortly before it expires,
 * then a fresh one (so a long forward or stack check keeps working).
 *
 * <p>The kubeconfig listClusterUserCredential returns for such a cluster names an exec plugin (kubelogin) in its user
 * entry. fabric8 would run that plugin while loading the config, so the toolkit's own client drops it and brings its
 * token instead; for kubectl and Metaflow the entry is rewritten to a plugin that needs no prompt ({@link #forTools}).
 */
public final class EntraSignIn {
    private EntraSignIn() {}

    public static final String SCOPE = Desired.AKS_SERVER_APP + "/.default";

    /** Whether the kubeconfig signs in through Entra ID (an exec plugin or the legacy azure auth-provider) rather than a local account. */
    public static boolean usesEntra(String kubeconfig) {
        for (JsonNode u : read(kubeconfig).path("users")) {
            JsonNode user = u.path("user");
            if (user.has("exec") || user.has("auth-provider")) return true;
        }
        return false;
    }

    /** A client of the kubeconfig's cluster that signs every request with an Entra token of the credential. */
    public static KubernetesClient client(String kubeconfig, String source, TokenCredential credential) {
        ObjectNode k = read(kubeconfig);
        for (JsonNode u : k.path("users")) {
            if (u.path("user") instanceof ObjectNode user) {
                user.remove(List.of("exec", "auth-provider", "token", "client-certificate-data", "client-key-data"));
            }
        }
        SimpleTokenCache tokens = new SimpleTokenCache(() -> credential.getToken(new TokenRequestContext().addScopes(SCOPE)));
        return Kube.client(Json.write(k), null, source, () -> tokens.getToken().block().getToken());
    }

    /** How kubectl and Metaflow's Python client get a token: the command and arguments of a client.authentication.k8s.io/v1 exec plugin. */
    public record Plugin(String command, List<String> args, String installHint) {}

    /**
     * kubelogin with the Azure CLI's sign-in (what Azure Cloud Shell has; never a device-code prompt, which a notebook
     * or CI job could not answer), when both are on the PATH.
     */
    public static Plugin kubelogin(String kubeloginPath, String tenantId) {
        return new Plugin(kubeloginPath, List.of("get-token", "--login", "azurecli", "--server-id", Desired.AKS_SERVER_APP,
                "--tenant-id", tenantId), "kubelogin and the Azure CLI (az login)");
    }

    /**
     * The plugin this machine's kubeconfig gets: kubelogin with the az CLI's sign-in where both are on the PATH (Azure
     * Cloud Shell), else this toolkit itself.
     */
    public static Plugin pluginFor(AzureLogin.Host host, String tenant, String authority) {
        java.nio.file.Path kubelogin = onPath(host, "kubelogin");
        if (kubelogin != null && onPath(host, "az") != null) return kubelogin(kubelogin.toString(), tenant);
        return KubeToken.toolkit(tenant, authority);
    }

    /** An executable of this name in a directory of $PATH, or null. */
    static java.nio.file.Path onPath(AzureLogin.Host host, String name) {
        String path = host.env().get("PATH");
        if (path == null) return null;
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (dir.isEmpty()) continue;
            for (String candidate : List.of(name, name + ".exe")) {
                java.nio.file.Path p = java.nio.file.Path.of(dir, candidate);
                if (java.nio.file.Files.isRegularFile(p) && java.nio.file.Files.isExecutable(p)) return p;
            }
        }
        return null;
    }

    /**
     * The kubeconfig text with every user entry signing in through the plugin: an exec credential of API version
     * client.authentication.k8s.io/v1 that never asks anything (interactiveMode Never).
     */
    public static String forTools(String kubeconfig, Plugin plugin) {
        ObjectNode k = read(kubeconfig);
        for (JsonNode u : k.path("users")) {
            if (!(u instanceof ObjectNode entry)) continue;
            ObjectNode exec = Json.obj().put("apiVersion", "client.authentication.k8s.io/v1").put("command", plugin.command());
            ArrayNode args = exec.putArray("args");
            plugin.args().forEach(args::add);
            exec.putNull("env");
            exec.put("interactiveMode", "Never").put("provideClusterInfo", false).put("installHint", plugin.installHint());
            entry.putObject("user").set("exec", exec);
        }
        return Json.write(k);
    }

    private static ObjectNode read(String kubeconfig) {
        try {
            JsonNode n = Manifests.YAML.readTree(kubeconfig);
            if (n instanceof ObjectNode o) return o;
        } catch (IOException e) {
            throw new Kube.KubeException("the cluster's kubeconfig is not YAML: " + e.getMessage());
        }
        throw new Kube.KubeException("the cluster's kubeconfig is empty");
    }
}
