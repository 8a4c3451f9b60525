package cluster;

import azure.AzureLogin;
import azure.LocalFiles;
import azure.Stack;
import azure.StackFacts;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Secrets;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A deploy of services.java: applies the objects (Secrets minted where they are stored), waits until the deployments,
 * the event bus and the webhook work, writes the Metaflow client config and prints the next steps.
 */
public final class Deploy {
    private Deploy() {}

    /**
     * The deploy's own options: --timeout (seconds), how often to look, --profile (null: the stack's name), --force,
     * --port-offset, and whether --prefix was given (the next steps repeat it).
     */
    public record Settings(int timeout, long pollMillis, String profile, boolean force, int portOffset, boolean prefixGiven) {}

    /** Deploys; 0 when everything is ready and the config is written, else 1 with what to do on err. */
    public static int run(KubernetesClient client, StackCluster.Target t, List<Manifests.Template> templates, ServiceObjects render,
                   Settings s, AzureLogin.Host host, PrintStream out, PrintStream err) {
        Stack stack = t.stack();
        StackFacts facts = t.facts();
        boolean argo = render.argo() != null;
        // Render and check everything before the first write.
        List<ObjectNode> objects = render.render(stack, facts, templates);
        if (argo) out.println(render.argo().note() + ".");
        out.println("Cluster " + Kube.server(client) + ": applying " + objects.size() + " objects (server-side, field manager "
                + Kube.FIELD_MANAGER + ") ...");

        // Stacks deployed before the services had a namespace of their own: what is in the way stops us before any write.
        Relocation.Found moving = Relocation.find(client, stack, objects);
        if (!moving.inTheWay().isEmpty()) {
            err.println("error: " + String.join("; ", moving.inTheWay()));
            err.println("Rename or remove it (kubectl -n " + moving.namespace() + " get service -o yaml shows it), then run the same command again; nothing was changed.");
            return 1;
        }

        // Secrets are minted where they are stored: on Azure first, then in the cluster Secret; never anywhere else.
        String ns = stack.kubeNamespace();
        String servicesNs = stack.servicesNamespace();
        if (client.secrets().inNamespace(servicesNs).withName(ServiceObjects.DB_SECRET).get() == null) {
            if (moving.dbSecretData() != null) {
                out.println("  moving the PostgreSQL admin password from Secret " + ns + "/" + ServiceObjects.DB_SECRET + " to "
                        + servicesNs + "/" + ServiceObjects.DB_SECRET + " (unchanged) ...");
                objects.add(Relocation.dbSecretMoved(stack, moving.dbSecretData()));
            } else {
                String password = Secrets.password();
                out.println("  setting a new PostgreSQL admin password on " + stack.postgresServer() + " (kept only there and in Secret "
                        + servicesNs + "/" + ServiceObjects.DB_SECRET + ") ...");
                StackFacts.setDbPassword(t.session().arm(), stack, t.caller(), password);
                objects.add(ServiceObjects.dbSecret(stack, password));
            }
        }
        if (facts.servicePrincipal()) objects.addAll(spSecrets(client, t));
        List<ObjectNode> deferred = Relocation.deferred(moving, objects);
        List<ObjectNode> now = new ArrayList<>(objects);
        now.removeAll(deferred);
        List<Kube.Applied> applied = Kube.apply(client, Manifests.ordered(now), out, s.timeout() * 1000L);
        if (render.pools() != null && !render.gpu() && DevicePlugin.removeIfOurs(client)) {
            out.println("Removed the NVIDIA device plugin " + DevicePlugin.NAMESPACE + "/" + DevicePlugin.NAME + ": the stack has no GPU pool any more.");
        }
        long changed = applied.stream().filter(a -> a.outcome() != Kube.Outcome.UNCHANGED).count();
        out.println("  " + changed + " changed, " + (applied.size() - changed) + " unchanged.");

        // Wait until it works.
        List<Rollout.Target> targets = deployments(objects);
        out.println("Waiting for " + targets.size() + " deployments (up to " + s.timeout() + " s) ...");
        Rollout.Result r = Rollout.await(client, targets, s.timeout() * 1000L, s.pollMillis(), out);
        if (!r.ok()) {
            err.println("error: the services did not become ready:");
            Rollout.report(err, r.problems());
            err.println("Fix the cause named above (kubectl -n " + r.problems().stream().map(p -> p.target().namespace()).findFirst().orElse(servicesNs)
                    + " describe pod <pod>), then run the same command again.");
            return 1;
        }
        // Only now that their replacements serve: the old services go, and their names become aliases.
        if (!moving.old().isEmpty()) {
            Relocation.remove(client, stack, moving, out);
            Kube.apply(client, Manifests.ordered(deferred), out, s.timeout() * 1000L);
        }
        if (argo && !awaitEvents(client, ns, s.timeout() * 1000L, s.pollMillis(), out, err)) return 1;
        handOver(stack, facts, render, s, host, out, err);
        return 0;
    }

    /**
     * Service-principal mode: the client secret in both namespaces (tasks in the flows', the UI backend in the services'),
     * minted once on Azure when neither has it, else carried from the one that has it.
     */
    static List<ObjectNode> spSecrets(KubernetesClient client, StackCluster.Target t) {
        Stack stack = t.stack();
        StackFacts facts = t.facts();
        List<String> namespaces = List.of(stack.kubeNamespace(), stack.servicesNamespace());
        Map<String, String> data = null;
        List<String> missing = new ArrayList<>();
        for (String n : namespaces) {
            var secret = client.secrets().inNamespace(n).withName(ServiceObjects.AZURE_SECRET).get();
            if (secret == null) missing.add(n);
            else if (data == null) data = secret.getData();
        }
        List<ObjectNode> out = new ArrayList<>();
        if (missing.isEmpty()) return out;
        if (data == null) {
            String secret = StackFacts.addClientSecret(t.session().graph(), facts.applicationObjectId(), stack.name());
            for (String n : missing) out.add(ServiceObjects.secret(n, ServiceObjects.AZURE_SECRET, Map.of("AZURE_CLIENT_ID", facts.clientId(),
                    "AZURE_TENANT_ID", facts.tenantId(), "AZURE_CLIENT_SECRET", secret)));
        } else {
            for (String n : missing) out.add(ServiceObjects.secretOfData(n, ServiceObjects.AZURE_SECRET, data));
        }
        return out;
    }

    /** Every Deployment among the objects (the Argo releases' too), which the deploy waits for. */
    static List<Rollout.Target> deployments(List<ObjectNode> objects) {
        return objects.stream().filter(o -> o.path("kind").asText().equals("Deployment"))
                .map(o -> new Rollout.Target(o.path("metadata").path("namespace").asText(), o.path("metadata").path("name").asText())).toList();
    }

    /**
     * Waits until the event bus and the webhook event source are ready and the webhook's Service exists: deployments that
     * are ready say nothing about them (a bus the controller refuses leaves every pod healthy). A bus refused for its
     * JetStream version ends the wait at once, since the controller will not change its mind.
     */
    static boolean awaitEvents(KubernetesClient client, String ns, long timeoutMillis, long pollMillis, PrintStream out, PrintStream err) {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        Map<String, String> shown = new HashMap<>();
        out.println("Waiting for the Argo Events event bus and webhook event source (up to " + timeoutMillis / 1000 + " s) ...");
        while (true) {
            List<Argo.EventsState> states = new ArrayList<>();
            for (Catalog.EventsObject o : Catalog.EVENTS_OBJECTS) states.add(Argo.eventsState(client, o.kind(), ns, o.name()));
            boolean service = client.services().inNamespace(ns).withName(Catalog.WEBHOOK.service()).get() != null;
            for (Argo.EventsState st : states) {
                if (!st.text().equals(shown.get(st.id()))) {
                    out.println("  " + st.id() + ": " + st.text());
                    shown.put(st.id(), st.text());
                }
            }
            if (states.stream().allMatch(Argo.EventsState::ready) && service) {
                out.println("  " + ns + "/" + Catalog.WEBHOOK.service() + " (Service): exists");
                return true;
            }
            Argo.EventsState bus = states.get(0);
            if (bus.unsupportedVersion() || System.currentTimeMillis() > deadline) {
                err.println("error: Argo Events is not working: " + eventsProblem(states, service));
                err.println(bus.ready() ? "Check the event source: kubectl -n " + ns + " describe eventsource " + Catalog.EVENT_SOURCE
                        + ", then run the same command again." : Argo.busAdvice(bus));
                return false;
            }
            Kube.sleep(pollMillis);
        }
    }

    /** The first thing wrong, the bus first: an event source waits for its bus. */
    static String eventsProblem(List<Argo.EventsState> states, boolean service) {
        for (Argo.EventsState st : states) if (!st.ready()) return st.id() + " is " + st.text();
        return "the webhook Service " + Catalog.WEBHOOK.service() + " does not exist (the controller makes it for the event source)";
    }

    /** Writes the Metaflow config profile and prints the next steps. */
    static void handOver(Stack stack, StackFacts facts, ServiceObjects render, Settings s, AzureLogin.Host host, PrintStream out,
                         PrintStream err) {
        boolean argo = render.argo() != null;
        String prof = s.profile() != null ? s.profile() : stack.name();
        Path file = MetaflowConfig.path(LocalFiles.metaflowHome(host), prof);
        MetaflowConfig.Written w = MetaflowConfig.write(file, MetaflowConfig.of(stack, facts, argo, s.portOffset(), render.pools()),
                s.force(), stack);
        switch (w) {
            case CREATED -> out.println("Wrote Metaflow config " + file + ".");
            case UPDATED -> out.println("Updated Metaflow config " + file + " (--force).");
            case UNCHANGED -> out.println("Metaflow config " + file + " is up to date.");
            case KEPT -> err.println("warning: " + file + " exists with different settings and was kept; pass --force to replace it.");
        }
        out.println();
        out.println("The Metaflow services are running. Next steps:");
        out.println("  1. export METAFLOW_PROFILE=" + prof);
        // The config's local URLs carry the port offset; the forward that serves them must carry it too.
        int o = s.portOffset();
        out.println("  2. jbang services.java forward" + (s.prefixGiven() ? " --prefix " + stack.prefix() + " --env " + stack.env() : "")
                + (o == 0 ? "" : " --port-offset " + o) + "     (keep it running: metadata :" + (Catalog.METADATA.port() + o)
                + ", UI http://localhost:" + (Catalog.UI.port() + o) + (argo ? ", Argo UI https://localhost:" + (Catalog.ARGO_SERVER.port() + o) : "") + ")");
        out.println("  3. pip install \"metaflow>=" + Pins.METAFLOW_MIN + "\" kubernetes azure-identity azure-storage-blob"
                + (argo ? "   (older Metaflow cannot schedule flows on Argo Workflows 4)" : ""));
        out.println("  4. python helloworld.py run --with kubernetes" + (argo ? "   (schedule it: python helloworld.py argo-workflows create)" : ""));
        out.println("     (a first flow: https://docs.metaflow.org/getting-started/tutorials/season-1-the-local-experience/episode00)");
    }
}
