package cluster;

import azure.AzureLogin;
import azure.Desired;
import azure.Discovery;
import azure.LocalFiles;
import azure.Stack;
import azure.StackFacts;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The cluster the services go to: the stack's AKS (its context merged into the user's kubeconfig) or one the user names. */
public final class StackCluster {
    private StackCluster() {}

    /** Everything the steps share once the stack and cluster are known. */
    public record Target(Stack stack, StackFacts facts, AzureLogin.Session session, Desired.Caller caller) {}

    /**
     * The stack's AKS through its user credential: on an Entra cluster as the signed-in person (their Entra token), on a
     * cluster still with local accounts through the kubeconfig's own credential (saying so). Unless noKubeconfig, its
     * context is merged into the user's kubeconfig, signing in without a prompt ({@link EntraSignIn#pluginFor}).
     */
    public static KubernetesClient ofStack(Target t, boolean noKubeconfig, AzureLogin.Host host, PrintStream out) {
        String kc = StackFacts.userKubeconfig(t.session().arm(), t.stack(), t.caller());
        return connect(kc, t.stack(), t.session(), noKubeconfig, host, out);
    }

    /** A client of the stack's cluster from its user kubeconfig kc (see ofStack); unless noKubeconfig, its context merged first. */
    public static KubernetesClient connect(String kc, Stack stack, AzureLogin.Session session, boolean noKubeconfig,
                                           AzureLogin.Host host, PrintStream out) {
        if (!noKubeconfig) mergeContext(kc, stack, session, host, out);
        if (!EntraSignIn.usesEntra(kc)) {
            out.println("Note: cluster " + stack.aks() + " still has local accounts (a cluster-admin credential for everyone granted); "
                    + "run 'jbang provision.java " + stack.args() + "' to move it to Microsoft Entra ID.");
            return Kube.client(kc, null, "AKS " + stack.aks());
        }
        return EntraSignIn.client(kc, "AKS " + stack.aks(), session.credential());
    }

    /** Merges the cluster's context into the user's kubeconfig, where kubectl looks; on an Entra cluster signing in without a prompt. */
    public static void mergeContext(String kc, Stack stack, AzureLogin.Session session, AzureLogin.Host host, PrintStream out) {
        boolean entra = EntraSignIn.usesEntra(kc);
        Path config = LocalFiles.kubeconfig(host);  // $KUBECONFIG's first entry, else ~/.kube/config: where kubectl looks
        EntraSignIn.Plugin plugin = entra ? EntraSignIn.pluginFor(host, session.tenantId(), session.cloud().loginEndpoint()) : null;
        Kube.merge(config, entra ? EntraSignIn.forTools(kc, plugin) : kc);
        out.println("Merged context " + stack.aks() + " into " + config + (entra ? " (signs in with Microsoft Entra ID through "
                + (plugin.command().endsWith("kubelogin") ? "kubelogin and the az CLI" : "this toolkit") + ")." : "."));
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

    /** The one stack found that --prefix/--env name (any, without --prefix); null after saying on err what there is instead. */
    public static Discovery.Listed choose(List<Discovery.Listed> found, String prefix, String env, String where, PrintStream err) {
        List<Discovery.Listed> matching = found.stream().filter(f -> prefix == null
                || f.prefix().equals(prefix) && f.env().equals(env)).toList();
        if (matching.isEmpty()) {
            err.println("error: " + (prefix == null ? "no Metaflow stack" : "no stack " + prefix + "-" + env)
                    + " found in " + where + " (resource groups tagged " + Stack.TAG_MANAGED_BY + "=" + Stack.MANAGED_BY + ")"
                    + (found.isEmpty() ? "" : "; stacks there: " + String.join(", ", found.stream().map(Discovery.Listed::name).toList())));
            err.println("Run 'jbang provision.java --prefix <name>' first, or pass --subscription, or --prefix/--env of an existing stack.");
            return null;
        }
        if (matching.size() > 1) {
            err.println("error: " + matching.size() + " stacks in " + where + "; say which one:");
            for (Discovery.Listed f : matching) {
                err.println("  --prefix " + f.prefix() + " --env " + f.env() + "   (" + f.resourceGroup() + ", " + f.location() + ")");
            }
            return null;
        }
        return matching.get(0);
    }
}
