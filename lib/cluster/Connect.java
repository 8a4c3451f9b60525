package cluster;

import azure.Arm;
import azure.AzureLogin;
import azure.Clouds;
import azure.Desired;
import azure.LocalFiles;
import azure.Stack;
import azure.StackFacts;
import com.azure.core.http.HttpMethod;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * services.java connect: a data scientist's machine joins a stack someone else runs, with only what a grant gives
 * (provision.java --grant: Storage Blob Data Contributor on the container, AKS Cluster User on the cluster).
 *
 * <p>Discovery without Reader: a grantee cannot list resource groups, read the storage account or the identity, so the
 * stack is not searched for. Its names follow from --prefix/--env/--location, and the one Azure resource a grantee may
 * read is the cluster (AKS Cluster User has managedClusters/read and listClusterUserCredential/action). The values the
 * client config needs beyond names (blob endpoint, identity mode, whether Argo is installed) are published by the
 * admin's deploy in the ConfigMap {@link #CONFIG_MAP} (no secrets), which the cluster credential may read. Nothing is
 * written to Azure or to the cluster.
 */
public final class Connect {
    private Connect() {}

    /** The client config as the admin's deploy wrote it (port offset 0), published for grantees. */
    public static final String CONFIG_MAP = "metaflow-client-config";
    public static final String KEY = "config.json";

    /** The ConfigMap the deploy applies: the Metaflow client config, made for port offset 0; it holds no secret. */
    public static ObjectNode configMap(Stack s, ObjectNode clientConfig) {
        ObjectNode cm = Json.obj().put("apiVersion", "v1").put("kind", "ConfigMap");
        cm.putObject("metadata").put("name", CONFIG_MAP).put("namespace", s.kubeNamespace()).putObject("labels")
                .put("app.kubernetes.io/part-of", "metaflow").put("app.kubernetes.io/managed-by", "metaflow-azure-toolkit");
        cm.putObject("data").put(KEY, Json.write(clientConfig) + "\n");
        return cm;
    }

    /** What connect was given. */
    public record Request(Stack stack, String subscription, Clouds.Cloud cloud, boolean noKubeconfig, String profile, boolean force,
                          int portOffset) {}

    /** What to do when sign-in fails, after the sign-in's own advice. */
    public static final String SIGN_IN_OTHERWISE = " (in Azure Cloud Shell you are signed in already), then run the same command again.";

    /** A sign-in that sees no subscription: most likely nobody granted it this stack yet, so the advice says whom to ask. */
    public static AzureLogin.LoginException notGranted(AzureLogin.LoginException e, Stack stack) {
        return new AzureLogin.LoginException(e.getMessage(), e.hint + " If you were to use stack " + stack.name()
                + ", ask its admin to run 'jbang provision.java " + stack.args() + " --grant <your UPN or a group of yours>'.");
    }

    /** Connects this machine to the stack as the signed-in person (session); writes nothing to Azure or the cluster. */
    public static int run(Request q, AzureLogin.Session session, AzureLogin.Host host, PrintStream out, PrintStream err) {
        Stack s = q.stack().in(session.cloud());
        Desired.Caller c = session.caller();
        String where = session.where();

        // The cluster is the one resource a grantee may read: it says whether the stack exists and is this toolkit's.
        Arm arm = session.arm();
        String aksUrl = arm.url(s.aksId(c.subscriptionId()), Desired.API_AKS);
        Arm.Response aks = arm.send(HttpMethod.GET, aksUrl, null);
        if (aks.status() == 403) return noAccess(err, s, s.args(), aks.body());
        if (aks.status() == 404) {
            err.println("error: no stack " + s.name() + " in " + where + ": there is no AKS cluster " + s.aks() + " in resource group "
                    + s.resourceGroup() + "; nothing was written.");
            err.println("Ask the stack's admin for its --prefix, --env and --location (and --subscription), and run again with them.");
            return 2;
        }
        if (aks.status() >= 400) {
            throw new Arm.AzureException(aks.status(), aks.body().path("error").path("code").asText("HttpStatus" + aks.status()),
                    aks.body().path("error").path("message").asText(""), aksUrl);
        }
        if (!s.ownsTags(Json.tagsOf(aks.body()))) {
            err.println("error: AKS cluster " + s.aks() + " in " + s.resourceGroup() + " does not carry stack " + s.name()
                    + "'s tags; it is not this toolkit's, so nothing was written.");
            err.println("Check --prefix, --env, --location and --subscription with the stack's admin.");
            return 3;
        }
        String kc;
        try {
            kc = StackFacts.userKubeconfig(arm, s, c);
        } catch (Arm.AzureException e) {
            if (e.status == 403) return noAccess(err, s, s.args(), Json.obj());
            throw e;
        }
        out.println("Stack " + s.name() + " in " + where + ": cluster " + s.aks() + ".");

        ObjectNode published;
        try (KubernetesClient client = StackCluster.connect(kc, s, session, true, host, out)) {
            ConfigMap cm = client.configMaps().inNamespace(s.kubeNamespace()).withName(CONFIG_MAP).get();
            String text = cm == null || cm.getData() == null ? null : cm.getData().get(KEY);
            if (text == null) {
                err.println("error: the Metaflow services are not deployed on " + s.aks() + " yet (no ConfigMap " + s.kubeNamespace() + "/"
                        + CONFIG_MAP + "); nothing was written.");
                err.println("The stack's admin (Contributor on resource group " + s.resourceGroup() + ", e.g. whoever ran provision.java) "
                        + "deploys them with 'jbang services.java " + s.args() + "'; then run this again.");
                return 1;
            }
            JsonNode parsed = Json.parse(text);
            if (!(parsed instanceof ObjectNode o)) {
                throw new Kube.KubeException("ConfigMap " + s.kubeNamespace() + "/" + CONFIG_MAP + " does not hold a JSON object in " + KEY);
            }
            published = o;
        }
        if (!q.noKubeconfig()) StackCluster.mergeContext(kc, s, session, host, out);
        String prof = q.profile() != null ? q.profile() : s.name();
        Path file = MetaflowConfig.path(LocalFiles.metaflowHome(host), prof);
        switch (MetaflowConfig.write(file, MetaflowConfig.withPortOffset(published, q.portOffset()), q.force(), s)) {
            case CREATED -> out.println("Wrote Metaflow config " + file + ".");
            case UPDATED -> out.println("Updated Metaflow config " + file + " (--force).");
            case UNCHANGED -> out.println("Metaflow config " + file + " is up to date.");
            case KEPT -> err.println("warning: " + file + " exists with different settings and was kept; pass --force to replace it.");
        }
        boolean argo = published.has("METAFLOW_ARGO_EVENTS_EVENT_BUS");
        out.println();
        out.println("Connected to stack " + s.name() + ". Next steps:");
        out.println("  1. export METAFLOW_PROFILE=" + prof);
        // forward with the merged context needs no Azure (a grantee could not find the stack by its tags anyway).
        out.println("  2. jbang services.java forward --context " + s.aks() + (q.portOffset() == 0 ? "" : " --port-offset " + q.portOffset())
                + "     (keep it running: metadata :" + (Catalog.METADATA.port() + q.portOffset()) + ", UI http://localhost:"
                + (Catalog.UI.port() + q.portOffset()) + ")");
        out.println("  3. pip install \"metaflow>=" + Pins.METAFLOW_MIN + "\" kubernetes azure-identity azure-storage-blob");
        out.println("  4. python helloworld.py run --with kubernetes" + (argo ? "   (schedule it: python helloworld.py argo-workflows create)" : ""));
        if (MetaflowConfig.registryLogin(published) != null) {
            // Metaflow names the default image after the Python that launches the flow; the stack builds only these.
            out.println("Steps without an image run the stack's task image for your Python (" + String.join(", ", azure.Registry.PYTHON_VERSIONS)
                    + "); with another Python, use one of these or give @kubernetes(image=...).");
        }
        out.println(EntraSignIn.usesEntra(kc)
                ? "Your access is a grant on this stack: the datastore container, and in the cluster what running flows needs in "
                        + "namespace " + s.kubeNamespace() + " (you sign in as yourself with Microsoft Entra ID)."
                : "Your access is a grant on this stack: the datastore container and the cluster's user credential, which on this "
                        + "cluster (still with local accounts) is cluster-admin.");
        return 0;
    }

    private static int noAccess(PrintStream err, Stack s, String args, JsonNode body) {
        err.println("error: you have no access to stack " + s.name() + "'s cluster " + s.aks() + " ("
                + body.path("error").path("code").asText("AuthorizationFailed") + "); nothing was written.");
        err.println("Ask the stack's admin to run 'jbang provision.java " + args + " --grant <your UPN or a group of yours>', then run this again.");
        return 1;
    }
}
