package cluster;

import azure.AzureLogin;
import azure.LocalFiles;
import azure.Stack;
import engine.Messages;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * services.java status: one screen of the stack's health (the deployments of the catalog, Argo Events, the metadata
 * service's database check, the config profile); 1 when anything is wrong.
 */
public final class StatusView {
    private StatusView() {}

    /** stack null: a cluster of the user's kubeconfig and no --prefix (every stack's namespaces are the same). */
    public static int show(KubernetesClient client, Stack stack, boolean argo, String profile, AzureLogin.Host host, PrintStream out,
                           azure.Pools.Facts pools) {
        String ns = Catalog.Home.METAFLOW.in(stack);
        out.println("Cluster " + Kube.server(client));
        boolean healthy = deployments(client, stack, argo, out);
        if (argo) healthy &= events(client, ns, out);
        healthy &= databaseCheck(client, Catalog.METADATA.namespace(stack), out);
        healthy &= devicePlugin(client, pools, out);
        String active = host.env("METAFLOW_PROFILE");
        String prof = profile != null ? profile : stack != null ? stack.name() : active;
        if (prof != null) {
            Path file = MetaflowConfig.path(LocalFiles.metaflowHome(host), prof);
            boolean exists = Files.exists(file);
            line(out, exists ? "ok" : "warn", "config profile " + prof, (exists ? file : file + " missing")
                    + (prof.equals(active) ? " (METAFLOW_PROFILE)" : active == null ? " (METAFLOW_PROFILE not set)" : " (METAFLOW_PROFILE=" + active + ")"));
        }
        out.println(healthy ? "Healthy." : "Unhealthy: see FAIL lines above.");
        return healthy ? 0 : 1;
    }

    /** The NVIDIA device plugin: required with a GPU pool; shown where it runs anyway (a cluster of the user's). */
    static boolean devicePlugin(KubernetesClient client, azure.Pools.Facts pools, PrintStream out) {
        boolean wanted = pools != null && pools.gpu();
        DevicePlugin.State s = DevicePlugin.state(client);
        if (!wanted && !s.exists()) return true;
        String what = DevicePlugin.NAMESPACE + "/" + DevicePlugin.NAME + (wanted ? " (GPU pool " + pools.gpuPool() + ", " + pools.gpuVmSize() + ")" : "");
        boolean ok = s.serving() || (!wanted && s.exists());
        line(out, ok ? "ok" : "FAIL", what, s.text() + (s.exists() ? "" : ": run services.java to install it"));
        return ok;
    }

    static void line(PrintStream out, String mark, String what, Object text) {
        out.printf("  %-4s %-45s %s%n", mark, what, text);
    }

    /** Each deployment of the catalog, with the pod problems of an unhealthy one. */
    static boolean deployments(KubernetesClient client, Stack stack, boolean argo, PrintStream out) {
        boolean healthy = true;
        for (Catalog.Service svc : Catalog.deployments(argo)) {
            Rollout.Target t = new Rollout.Target(svc.namespace(stack), svc.deployment());
            Rollout.State s = Rollout.state(client, t);
            boolean ok = s.exists() && s.rolledOut() && s.ready() > 0;
            healthy &= ok;
            line(out, ok ? "ok" : "FAIL", t.id(), s.text());
            if (!ok) {
                for (Rollout.Problem p : Rollout.problems(client, t)) {
                    out.println("         " + p.summary());
                    for (String l : p.details()) out.println("         | " + l);
                }
            }
        }
        return healthy;
    }

    /** The event bus and event source (with what to do when not ready), and the webhook's Service. */
    static boolean events(KubernetesClient client, String ns, PrintStream out) {
        boolean healthy = true;
        boolean busReady = true;
        for (Catalog.EventsObject o : Catalog.EVENTS_OBJECTS) {
            Argo.EventsState st = Argo.eventsState(client, o.kind(), ns, o.name());
            healthy &= st.ready();
            line(out, st.ready() ? "ok" : "FAIL", st.id(), st.text());
            if (o.kind().equals("EventBus")) {
                busReady = st.ready();
                if (!st.ready()) out.println("         " + Argo.busAdvice(st));
            } else if (!st.ready() && busReady) {
                out.println("         kubectl -n " + ns + " describe eventsource " + o.name());
            }
        }
        boolean service = client.services().inNamespace(ns).withName(Catalog.WEBHOOK.service()).get() != null;
        line(out, service ? "ok" : "FAIL", ns + "/" + Catalog.WEBHOOK.service() + " (Service)",
                service ? "exists" : "missing (the controller makes it once the event source is deployed)");
        return healthy && service;
    }

    /** The metadata service's database check, through the API server's service proxy. */
    static boolean databaseCheck(KubernetesClient client, String ns, PrintStream out) {
        String check;
        boolean dbOk;
        try {
            check = client.raw(Catalog.METADATA.proxyPath(ns, Catalog.DB_CHECK_PATH));
            dbOk = check != null;
            if (check == null) check = "no answer";
        } catch (RuntimeException e) {
            check = Messages.firstLine(e.getMessage());
            dbOk = false;
        }
        line(out, dbOk ? "ok" : "FAIL", "database check (" + Catalog.DB_CHECK_PATH + ")", check.strip());
        return dbOk;
    }
}
