import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** The cluster the services go to: the stack's AKS (its context merged into the user's kubeconfig) or one the user names. */
public final class StackCluster {
    private StackCluster() {}

    /** Everything the steps share once the stack and cluster are known. */
    public record Target(Stack stack, StackFacts facts, AzureLogin.Session session, Desired.Caller caller) {}

    /** The stack's AKS through its user credential; unless noKubeconfig, its context is merged into the user's kubeconfig. */
    public static KubernetesClient ofStack(Target t, boolean noKubeconfig, AzureLogin.Host host, PrintStream out) {
        String kc = StackFacts.userKubeconfig(t.session().arm(), t.stack(), t.caller());
        if (!noKubeconfig) {
            Path config = LocalFiles.kubeconfig(host);  // $KUBECONFIG's first entry, else ~/.kube/config: where kubectl looks
            Kube.merge(config, kc);
            out.println("Merged context " + t.stack().aks() + " into " + config + ".");
        }
        return Kube.client(kc, null, "AKS " + t.stack().aks());
    }

    /** The cluster of this kubeconfig (null: the default one) and context (null: its current one). */
    public static KubernetesClient ofUser(Path kubeconfig, String context, AzureLogin.Host host) {
        Path file = kubeconfig != null ? kubeconfig : LocalFiles.kubeconfig(host);
        try {
            return Kube.client(Files.readString(file, StandardCharsets.UTF_8), context, file.toString());
        } catch (IOException e) {
            throw new Kube.KubeException("cannot read kubeconfig " + file + ": " + e.getMessage());
        }
    }
}
