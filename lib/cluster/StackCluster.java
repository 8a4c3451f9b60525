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
    public record Target(Stack stack, StackFacts facts, AzureLogin.Session session, Desired.Caller caller, azure.Pools.Facts pools) {}

    /**
     * The stack's AKS through its user credential: on an Entra cluster as the signed-in person (their Entra token), on a
     * cluster still with local accounts through the kubeconfig's own credential (saying so). Unless noKubeconfig, its
     * context is merged into the user's kubeconfig, signing in without a prompt ({@link EntraSignIn#pluginFor}).
     */
    public static KubernetesClient ofStack(Target t, boolean noKubeconfig, AzureLogin.Host host, PrintStream out, long pollMillis) {
        String kc = StackFacts.userKubeconfig(t.session().arm(), t.stack(), t.caller());
        KubernetesClient client = connect(kc, t.stack(), t.session(), noKubeconfig, host, out);
        if (EntraSignIn.usesEntra(kc)) awaitAdminRole(client, t.stack(), out, ROLE_WAIT_MILLIS, pollMillis);
        return client;
    }

    /**
     * How long a just-made admin role may take to act: Azure propagates role assignments in up to 5 minutes, and AKS's
     * authorizer keeps a refusal cached for up to 8 more (Grants.TAKES_EFFECT).
     */
    static final long ROLE_WAIT_MILLIS = 15 * 60_000;

    /**
     * Waits, saying so, until the admin's Azure Kubernetes Service RBAC Cluster Admin role (made by provision.java) lets
     * the signed-in person read the cluster's namespaces; gives up after maxMillis naming the role.
     */
    static void awaitAdminRole(KubernetesClient client, Stack stack, PrintStream out, long maxMillis, long pollMillis) {
        long start = System.nanoTime();
        boolean said = false;
        while (true) {
            try {
                client.namespaces().withName("kube-system").get();
                if (said) out.println("Your role on " + stack.aks() + " is in effect (" + engine.Elapsed.text((System.nanoTime() - start) / 1_000_000) + ").");
                return;
            } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                if (e.getCode() != 403) throw e;
                long waited = (System.nanoTime() - start) / 1_000_000;
                if (waited >= maxMillis) {
                    throw new Kube.KubeException("the cluster " + stack.aks() + " still refuses you after " + engine.Elapsed.text(waited)
                            + ": you need Azure Kubernetes Service RBAC Cluster Admin on it (provision.java gives it to whoever runs it; "
                            + "run 'jbang provision.java " + stack.args() + "' as the stack's admin)");
                }
                if (!said) {
                    out.println("Waiting for your role on " + stack.aks() + " to take effect (Azure RBAC for Kubernetes: up to 13 minutes "
                            + "after provision.java granted it) ...");
                    said = true;
                }
                try {
                    Thread.sleep(pollMillis);
                } catch (InterruptedException stop) {
                    Thread.currentThread().interrupt();
                    throw new Kube.KubeException("interrupted while waiting for your role on " + stack.aks());
                }
            }
        }
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
