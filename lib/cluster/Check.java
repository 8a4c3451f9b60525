package cluster;

import azure.Clouds;
import azure.Pools;
import azure.Stack;
import azure.StackFacts;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Elapsed;
import engine.Json;
import engine.Messages;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiFunction;

/**
 * The stack check: every link of the data path a Metaflow flow uses, exercised on the cluster with the identities flows
 * use. Each probe makes only short-lived objects labelled as the toolkit's and removes them (and its blob) whatever the
 * outcome. Task settings (service account, labels, node selector, secrets, storage) are read from the Metaflow client
 * config MetaflowConfig.of makes, so the probes run exactly as task pods would.
 */
public final class Check {
    private Check() {}

    /** Bounds of the waits, each also capped by the caller's timeout. */
    public record Bounds(long podMillis, long roleWaitMillis, long roleRetryMillis, long workflowMillis, long pollMillis, long gpuMillis) {
        /** gpuMillis: the whole --timeout, since a GPU node scaled up from zero takes minutes to join and pull the image. */
        public static Bounds of(long timeoutMillis, long pollMillis) {
            return new Bounds(Math.min(90_000, timeoutMillis), Math.min(300_000, timeoutMillis), 5_000,
                    Math.min(120_000, timeoutMillis), pollMillis, timeoutMillis);
        }
    }

    /**
     * What the probes need: the flows' namespace (where probes run) and the services', the Metaflow client config (whose task keys they follow), whether Argo is
     * installed, the sign-in authority for the service-principal mode, and the wait bounds.
     */
    public record Settings(String namespace, String servicesNamespace, JsonNode config, boolean argo, String authorityHost, Bounds bounds,
                           boolean gpuPool, boolean gpuProbe, String repairArgs, String registry) {
        /** These settings with the opt-in GPU probe (check --gpu). */
        public Settings withGpuProbe() {
            return new Settings(namespace, servicesNamespace, config, argo, authorityHost, bounds, gpuPool, true, repairArgs, registry);
        }
        /** These settings for a cluster that pulls from the stack's registry (login server). */
        Settings withRegistry(String login) {
            return new Settings(namespace, servicesNamespace, config, argo, authorityHost, bounds, gpuPool, gpuProbe, repairArgs, login);
        }
        /** The probes' image: from the stack's registry, as task pods pull theirs, when the cluster pulls from one. */
        String probeImage() { return registry() == null ? Pins.PROBE_IMAGE : Pins.probeImage(registry()); }
        JsonNode tolerations() { return DevicePlugin.tolerations(config); }
        String serviceAccount() { return config.path("METAFLOW_KUBERNETES_SERVICE_ACCOUNT").asText(); }
        Map<String, String> taskLabels() { return pairs(config.path("METAFLOW_KUBERNETES_LABELS").asText("")); }
        Map<String, String> nodeSelector() { return pairs(config.path("METAFLOW_KUBERNETES_NODE_SELECTOR").asText("")); }
        String secret() { return config.path("METAFLOW_KUBERNETES_SECRETS").asText(""); }
        /** The Secrets Metaflow's Argo plugin hands every container of a workflow, its exit hook's too. */
        List<String> hookSecrets() {
            List<String> out = new ArrayList<>();
            for (String key : List.of("METAFLOW_KUBERNETES_SECRETS", "METAFLOW_ARGO_WORKFLOWS_KUBERNETES_SECRETS")) {
                for (String n : config.path(key).asText("").split(",")) if (!n.isBlank() && !out.contains(n.trim())) out.add(n.trim());
            }
            return out;
        }
        String blobUrl() {
            return Clouds.trimSlash(config.path("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT").asText()) + "/"
                    + config.path("METAFLOW_DATASTORE_SYSROOT_AZURE").asText();
        }
    }

    /**
     * The probes' settings: task settings from the very config deploy writes for this stack, so the two cannot drift
     * (the registry too: the config names it only for the stack's own AKS, whose kubelet identity may pull from it).
     * stack null: a cluster of the user's without --prefix (the names every stack uses in the cluster).
     */
    public static Settings settings(Stack stack, StackFacts facts, boolean argo, int portOffset, Pools.Facts pools, Clouds.Cloud cloud,
                                    Bounds bounds) {
        JsonNode config = MetaflowConfig.of(stack, facts, argo, portOffset, pools);
        return new Settings(Catalog.Home.METAFLOW.in(stack), Catalog.Home.SERVICES.in(stack), config, argo,
                Clouds.trimSlash(cloud.loginEndpoint()) + "/", bounds, pools != null && pools.gpu(), false,
                stack == null ? "--prefix <name>" : stack.args(), MetaflowConfig.registryLogin(config));
    }

    /**
     * For check on a cluster of the user's kubeconfig, without Azure: the stack's facts as the deploy left them, the
     * storage settings read back from the UI backend Deployment (deploy rendered them from the facts), the mode from the
     * task Secret's presence; null when the services are not deployed there.
     */
    public static StackFacts deployedFacts(KubernetesClient client, Stack stack) {
        String ns = Catalog.Home.METAFLOW.in(stack);
        var backend = client.apps().deployments().inNamespace(Catalog.UI_BACKEND.namespace(stack)).withName(Catalog.UI_BACKEND.deployment()).get();
        Map<String, String> env = new java.util.HashMap<>();
        if (backend != null) {
            for (var c : backend.getSpec().getTemplate().getSpec().getContainers()) {
                if (c.getEnv() != null) for (var e : c.getEnv()) if (e.getValue() != null) env.put(e.getName(), e.getValue());
            }
        }
        String blob = env.get("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT");
        String sysroot = env.get("METAFLOW_DATASTORE_SYSROOT_AZURE");
        if (blob == null || sysroot == null) return null;
        boolean sp = client.secrets().inNamespace(ns).withName(ServiceObjects.AZURE_SECRET).get() != null;
        var sa = client.serviceAccounts().inNamespace(ns).withName(Catalog.serviceAccount(stack)).get();
        Map<String, String> notes = sa == null || sa.getMetadata().getAnnotations() == null ? Map.of() : sa.getMetadata().getAnnotations();
        // The database's names as the deploy gave them to the services (ConfigMap metaflow-db); the check needs only storage.
        var db = client.configMaps().inNamespace(Catalog.Home.SERVICES.in(stack)).withName("metaflow-db").get();
        Map<String, String> dbEnv = db == null || db.getData() == null ? Map.of() : db.getData();
        // The registry as the deploy put it in the published client config (none there: a stack without one).
        var published = client.configMaps().inNamespace(ns).withName(Connect.CONFIG_MAP).get();
        String config = published == null || published.getData() == null ? null : published.getData().get(Connect.KEY);
        String registry = null;
        try {
            if (config != null) registry = MetaflowConfig.registryLogin(Json.parse(config));
        } catch (IllegalStateException notJson) {
            // a ConfigMap edited by hand: the probes then pull as a stack without a registry would
        }
        return new StackFacts("", dbEnv.getOrDefault("MF_METADATA_DB_USER", ""), dbEnv.getOrDefault("MF_METADATA_DB_NAME", ""), blob, sysroot,
                notes.getOrDefault("azure.workload.identity/client-id", ""), notes.getOrDefault("azure.workload.identity/tenant-id", ""), sp, null,
                StackFacts.DEFAULT_POOLS, registry);
    }

    /** Whether Argo Workflows runs in the cluster: its controller's Deployment exists. */
    public static boolean argoInstalled(KubernetesClient client) {
        Catalog.Service controller = Catalog.WORKFLOW_CONTROLLER;
        return client.apps().deployments().inNamespace(controller.namespace(null)).withName(controller.deployment()).get() != null;
    }

    /**
     * check on a cluster of the user's kubeconfig, without Azure (stack null without --prefix: no stack is made up, the
     * cluster-side names are those every stack uses): the facts are read back from the cluster (deployedFacts),
     * the Argo probes run only where Argo Workflows is installed; settings makes the probes' settings from the facts and Argo.
     */
    public static int onUserCluster(KubernetesClient client, Stack stack, boolean argo, BiFunction<StackFacts, Boolean, Settings> settings,
                                    PrintStream out, PrintStream err, PrintStream result) {
        StackFacts facts = deployedFacts(client, stack);
        if (facts == null) {
            err.println("error: the Metaflow services are not deployed in " + Kube.server(client) + " (no Deployment " + Catalog.UI_BACKEND.namespace(stack)
                    + "/" + Catalog.UI_BACKEND.deployment() + " with the storage settings)");
            err.println("Deploy them first: services.java (then services.java check).");
            return 1;
        }
        boolean withArgo = argo && argoInstalled(client);
        if (argo && !withArgo) out.println("Argo Workflows is not installed in this cluster: its probes are left out (--no-argo says so).");
        Settings s = settings.apply(facts, withArgo);
        // The published config names the registry only when the deploy was to the stack's AKS: this cluster pulls from it.
        return report(client, facts.registryLogin() == null ? s : s.withRegistry(facts.registryLogin()), out, err, result);
    }

    /** One probe's result: ✓/✗, how long it took, what it found and, when it failed, what to do. */
    public record Outcome(String probe, boolean ok, long millis, String detail, String todo) {}

    /** Metaflow's k=v,k=v form (METAFLOW_KUBERNETES_LABELS, METAFLOW_KUBERNETES_NODE_SELECTOR). */
    static Map<String, String> pairs(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String p : text.split(",")) {
            int eq = p.indexOf('=');
            if (eq > 0) out.put(p.substring(0, eq).trim(), p.substring(eq + 1).trim());
        }
        return out;
    }

    /** Runs every probe (in parallel) and returns their outcomes in a fixed order. */
    public static List<Outcome> run(KubernetesClient client, Settings s, PrintStream progress) {
        String id = Long.toString(System.currentTimeMillis(), 36) + Integer.toString((int) (Math.random() * 1296), 36);
        Log log = new Log(progress);
        List<java.util.concurrent.Callable<Outcome>> probes = new ArrayList<>();
        probes.add(() -> timed("storage", s.namespace(), () -> ProbeRuns.storage(client, s, id, log)));
        probes.add(() -> timed("metadata", s.namespace(), () -> ProbeRuns.metadata(client, s)));
        if (s.argo()) {
            probes.add(() -> timed("argo-workflows", s.namespace(), () -> ProbeRuns.workflow(client, s, id, log)));
            probes.add(() -> timed("argo-events", s.namespace(), () -> ProbeRuns.events(client, s, id)));
        }
        if (s.gpuPool()) probes.add(() -> timed("gpu-plugin", DevicePlugin.NAMESPACE, () -> DevicePlugin.ready(client)));
        if (s.gpuProbe()) probes.add(() -> timed("gpu", s.namespace(), () -> DevicePlugin.probe(client, s, id, log)));
        ExecutorService pool = Executors.newFixedThreadPool(probes.size());
        try {
            List<Future<Outcome>> futures = new ArrayList<>();
            for (var p : probes) futures.add(pool.submit(p));
            List<Outcome> out = new ArrayList<>();
            for (Future<Outcome> f : futures) {
                try {
                    out.add(f.get());
                } catch (java.util.concurrent.ExecutionException e) {
                    throw new IllegalStateException(e.getCause());
                }
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Kube.KubeException("interrupted during the stack check");
        } finally {
            pool.shutdownNow();
        }
    }

    /** Progress lines from several probes at once, whole lines only. */
    static final class Log {
        final PrintStream out;
        Log(PrintStream out) { this.out = out; }
        synchronized void line(String probe, String text) { out.println("  " + probe + ": " + text); }
    }

    interface Body { Outcome run(); }

    /** Runs a probe, timing it; an unexpected refusal of the cluster becomes a ✗ of that probe, not of the whole check. */
    static Outcome timed(String name, String namespace, Body body) {
        long t0 = System.nanoTime();
        Outcome o;
        try {
            o = body.run();
        } catch (KubernetesClientException e) {
            o = new Outcome(name, false, 0, "the cluster refused a request: HTTP " + e.getCode() + " " + Messages.firstLine(e.getMessage()),
                    "Check your access to the namespace (kubectl auth can-i create jobs,workflows -n " + namespace + ") and run the check again.");
        } catch (RuntimeException e) {
            o = new Outcome(name, false, 0, Messages.firstLine(String.valueOf(e.getMessage())), "Run the check again with --verbose.");
        }
        return new Outcome(name, o.ok(), (System.nanoTime() - t0) / 1_000_000, o.detail(), o.todo());
    }

    // --- the result ---------------------------------------------------------------------------------------

    /** Runs the probes and shows the table (and the JSON on result, when not null); 1 when any failed. */
    public static int report(KubernetesClient client, Settings settings, PrintStream out, PrintStream err, PrintStream result) {
        out.println();
        out.println("Checking the stack on " + Kube.server(client) + " (probes in namespace " + settings.namespace()
                + ", labelled " + Probes.MANAGED_BY + "=" + Kube.FIELD_MANAGER + ", removed afterwards; up to "
                + Elapsed.text(settings.gpuProbe() ? settings.bounds().gpuMillis()
                        : Math.max(settings.bounds().roleWaitMillis(), settings.bounds().workflowMillis())) + ") ...");
        List<Outcome> outcomes = run(client, settings, out);
        table(out, outcomes);
        if (result != null) result.println(Json.write(json(outcomes)));
        if (healthy(outcomes)) {
            out.println("The stack works: every probe passed.");
            return 0;
        }
        long failed = outcomes.stream().filter(o -> !o.ok()).count();
        err.println("error: the stack check failed (" + failed + " of " + outcomes.size() + " probes): "
                + String.join(", ", outcomes.stream().filter(o -> !o.ok()).map(Outcome::probe).toList()));
        err.println("Do what the ✗ lines above say, then run services.java check again.");
        return 1;
    }

    public static boolean healthy(List<Outcome> outcomes) {
        return outcomes.stream().allMatch(Outcome::ok);
    }

    public static void table(PrintStream out, List<Outcome> outcomes) {
        out.printf("  %-2s %-15s %7s  %s%n", "", "probe", "time", "result");
        for (Outcome o : outcomes) {
            out.printf("  %-2s %-15s %7s  %s%n", o.ok() ? "✓" : "✗", o.probe(), Elapsed.text(o.millis()), o.detail());
            if (!o.ok() && o.todo() != null) out.printf("  %-2s %-15s %7s  → %s%n", "", "", "", o.todo());
        }
    }

    public static ObjectNode json(List<Outcome> outcomes) {
        ObjectNode doc = Json.obj().put("healthy", healthy(outcomes));
        ArrayNode list = doc.putArray("probes");
        for (Outcome o : outcomes) {
            ObjectNode p = list.addObject().put("probe", o.probe()).put("ok", o.ok()).put("seconds", o.millis() / 1000.0).put("detail", o.detail());
            if (o.todo() != null) p.put("todo", o.todo());
        }
        return doc;
    }
}
