package cluster;

import azure.Stack;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Messages;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * services.java check --as-grantee: what a person granted the stack (provision.java --grant) may and may not do in the
 * cluster, tried with their own Entra sign-in. Allowed: submitting a Workflow in the flows' namespace (sent as a
 * server-side dry run, so nothing is made, but authorization is decided exactly as for a real one), creating a Job there
 * (dry run too), listing pods and reading the client-config ConfigMap. Refused: reading a Secret there, listing nodes,
 * listing pods of another namespace.
 */
public final class GranteeCheck {
    private GranteeCheck() {}

    /** One expectation: what is tried, whether it must be allowed, and the request. */
    record Expectation(String what, boolean allowed, Consumer<KubernetesClient> request) {}

    static List<Expectation> expectations(Stack s) {
        String ns = Catalog.Home.METAFLOW.in(s);
        return List.of(
                new Expectation("submit an Argo Workflow in " + ns, true, c -> c.resource(Kube.generic(c, workflow(ns))).dryRun().create()),
                new Expectation("create a Job in " + ns, true, c -> c.resource(Kube.generic(c, job(ns))).dryRun().create()),
                new Expectation("list pods in " + ns + " (logs, port-forward)", true, c -> c.pods().inNamespace(ns).list()),
                new Expectation("read the client config " + ns + "/" + Connect.CONFIG_MAP, true,
                        c -> c.configMaps().inNamespace(ns).withName(Connect.CONFIG_MAP).get()),
                new Expectation("read Secrets in " + ns, false, c -> c.secrets().inNamespace(ns).list()),
                new Expectation("list the cluster's nodes", false, c -> c.nodes().list()),
                new Expectation("list pods in kube-system", false, c -> c.pods().inNamespace("kube-system").list()));
    }

    static ObjectNode workflow(String ns) {
        ObjectNode w = Json.obj().put("apiVersion", "argoproj.io/v1alpha1").put("kind", "Workflow");
        w.putObject("metadata").put("generateName", "metaflow-grantee-check-").put("namespace", ns);
        ObjectNode spec = w.putObject("spec").put("entrypoint", "main");
        spec.putArray("templates").addObject().put("name", "main").putObject("container").put("image", Pins.PROBE_IMAGE)
                .putArray("command").add("true");
        return w;
    }

    static ObjectNode job(String ns) {
        ObjectNode j = Json.obj().put("apiVersion", "batch/v1").put("kind", "Job");
        j.putObject("metadata").put("generateName", "metaflow-grantee-check-").put("namespace", ns);
        ObjectNode pod = j.putObject("spec").putObject("template").putObject("spec").put("restartPolicy", "Never");
        pod.putArray("containers").addObject().put("name", "check").put("image", Pins.PROBE_IMAGE).putArray("command").add("true");
        return j;
    }

    /** Tries each expectation; 0 when every allowed one went through and every refused one was refused (403), else 1. s null: no --prefix. */
    public static int run(KubernetesClient client, Stack s, PrintStream out, PrintStream err) {
        out.println("Access check as you (a grantee of " + (s == null ? "the stack" : "stack " + s.name()) + "), on " + Kube.server(client) + ":");
        List<String> wrong = new ArrayList<>();
        for (Expectation e : expectations(s)) {
            int status;
            try {
                e.request().accept(client);
                status = 200;
            } catch (KubernetesClientException x) {
                status = x.getCode();
                if (status != 403 && status != 401 && !(e.allowed() && status == 404)) {
                    throw new Kube.KubeException("could not try '" + e.what() + "': HTTP " + status + " " + Messages.firstLine(x.getMessage()));
                }
            }
            boolean allowed = status != 403 && status != 401;
            String verdict = allowed == e.allowed() ? "ok" : "WRONG";
            out.println("  " + verdict + "  " + e.what() + ": " + (allowed ? "allowed" : "refused (" + status + ")")
                    + (allowed == e.allowed() ? "" : e.allowed() ? " but running flows needs it" : " but a grantee must not"));
            if (allowed != e.allowed()) wrong.add(e.what());
        }
        if (wrong.isEmpty()) {
            out.println("Your access is what running flows needs, and no more.");
            return 0;
        }
        err.println("error: your access to the cluster is not what a grant gives: " + String.join("; ", wrong));
        err.println("If you are the stack's admin, this check is for a grantee's sign-in; otherwise ask the admin to run "
                + "'jbang provision.java " + (s == null ? "--prefix <name>" : s.args()) + "' (it repairs the grants) and wait up to 13 minutes for role changes to act.");
        return 1;
    }
}
