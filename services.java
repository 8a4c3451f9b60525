///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//SOURCES lib/Toolkit.java
// Listed one by one: a script run from a URL drops globs.
//FILES manifests/00-namespaces.yaml=manifests/00-namespaces.yaml
//FILES manifests/05-argo-namespaces.yaml=manifests/05-argo-namespaces.yaml
//FILES manifests/10-service-account.yaml=manifests/10-service-account.yaml
//FILES manifests/15-db-config.yaml=manifests/15-db-config.yaml
//FILES manifests/20-metadata-service.yaml=manifests/20-metadata-service.yaml
//FILES manifests/30-ui-backend.yaml=manifests/30-ui-backend.yaml
//FILES manifests/40-ui.yaml=manifests/40-ui.yaml
//FILES manifests/50-argo-metaflow.yaml=manifests/50-argo-metaflow.yaml
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xlog:cds=off
// class-data training run: --prefix cdstrain --dry-run --no-argo

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Deploys the Metaflow services onto a stack's AKS cluster and hands over a working client config. */
@Command(name = "services.java", mixinStandardHelpOptions = true, versionProvider = Script.ShowVersion.class, sortOptions = false,
        usageHelpAutoWidth = true, showDefaultValues = false,
        description = {"Deploys Metaflow's metadata service, UI backend and UI (and Argo Workflows + Argo Events) onto the stack's "
                + "AKS cluster, waits until they work, writes the Metaflow client config and prints the next steps. "
                + "Re-running changes only what differs.",
                "Every deploy ends with the stack check (probes on the cluster: task identity to blob storage, metadata service to "
                        + "database, a one-step Argo Workflow, an event through the Argo Events webhook); --check runs it alone.",
                "Examples: services.java    services.java --prefix acme --dry-run    services.java --forward    services.java --status"
                        + "    services.java --check --output json"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done (or healthy, for --status)", "1:failed or unhealthy (the message says what to do)",
                "2:bad input (nothing was touched)"})
public class services implements Callable<Integer> {

    @Mixin Options.StackOptions stackOptions = new Options.StackOptions();
    @Mixin Options.AzureOptions azureOptions = new Options.AzureOptions();

    @Option(names = "--kubeconfig", paramLabel = "FILE", description = "Use this kubeconfig instead of fetching the stack's AKS "
            + "credentials (bring your own cluster). Default with --context: KUBECONFIG, else ~/.kube/config.")
    Path kubeconfig;

    @Option(names = "--context", paramLabel = "NAME", description = "Kubeconfig context to use (with --kubeconfig or the default kubeconfig).")
    String context;

    @Option(names = "--no-kubeconfig", description = "Do not merge the AKS context into ~/.kube/config.")
    boolean noKubeconfig;

    @Option(names = "--profile", paramLabel = "NAME", description = "Metaflow config profile: writes ~/.metaflowconfig/config_<NAME>.json. "
            + "Default: the stack's name (<prefix>-<env>).")
    String profile;

    @Option(names = "--force", description = "Overwrite an existing, different Metaflow config file of the profile.")
    boolean force;

    // Every pinned default comes from lib/Pins.java, where each is cited to the upstream place it was checked in.
    @Option(names = "--metadata-image", paramLabel = "IMAGE", defaultValue = Pins.METADATA_IMAGE,
            description = "Image of the metadata service, its migrations and the UI backend. Default (pinned): ${DEFAULT-VALUE}.")
    String metadataImage;

    @Option(names = "--ui-image", paramLabel = "IMAGE", defaultValue = Pins.UI_IMAGE,
            description = "Image of the Metaflow UI. Default (pinned): ${DEFAULT-VALUE}.")
    String uiImage;

    @Option(names = "--ui-backend-url", paramLabel = "URL", defaultValue = "http://localhost:8083/api",
            description = "The UI backend as the user's browser reaches it (injected into the UI). Default: ${DEFAULT-VALUE} (--forward).")
    String uiBackendUrl;

    @Option(names = "--argo-workflows-version", paramLabel = "TAG", defaultValue = Pins.ARGO_WORKFLOWS,
            description = "Argo Workflows release to install (4.x). Default (pinned): ${DEFAULT-VALUE}.")
    String workflowsVersion;

    @Option(names = "--argo-events-version", paramLabel = "TAG", defaultValue = Pins.ARGO_EVENTS,
            description = "Argo Events release to install (1.9.x). Default (pinned): ${DEFAULT-VALUE}.")
    String eventsVersion;

    @Option(names = "--jetstream-version", paramLabel = "VERSION", description = "JetStream version of the Argo Events event bus; "
            + "must be one the Argo Events release lists in its ConfigMap argo-events-controller-config (its controller refuses any other). "
            + "Default: the newest numbered version that release lists.")
    String jetStreamVersion;

    @Option(names = "--argo-manifests", paramLabel = "DIR", description = "Read argo-workflows-install.yaml and argo-events-install.yaml "
            + "(the releases' install.yaml) from DIR instead of downloading them (machines without internet).")
    Path argoManifests;

    @Option(names = "--argo-release-url", paramLabel = "URL", defaultValue = Argo.RELEASES, description = "Where the Argo releases are "
            + "downloaded from: <URL>/<project>/releases/download/<tag>/install.yaml (a mirror). Default: ${DEFAULT-VALUE}.")
    String argoReleaseUrl;

    @Option(names = "--no-argo", description = "Do not install Argo Workflows and Argo Events (no scheduled or event-triggered flows).")
    boolean noArgo;

    @Option(names = "--manifests", paramLabel = "DIR", description = "Use the *.yaml templates in DIR instead of the bundled ones.")
    Path manifests;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600",
            description = "How long to wait for the deployments to become ready, and then for the event bus and event source; also caps "
                    + "each wait of the stack check. Default: ${DEFAULT-VALUE}.")
    int timeout;

    @Option(names = "--dry-run", description = "Print every object that would be applied, as YAML; needs no cluster and no Azure sign-in.")
    boolean dryRun;

    @Option(names = "--render-to", paramLabel = "DIR", description = "With --dry-run: write the objects to DIR/<nn>-<kind>-<name>.yaml instead of stdout.")
    Path renderTo;

    @Option(names = "--forward", description = "Hold port-forwards to the metadata service (8080), UI backend (8083), UI (3000), "
            + "Argo server (2746) and events webhook (12000), following pod replacements, until Ctrl-C.")
    boolean forward;

    @Option(names = "--port-offset", paramLabel = "N", defaultValue = "0",
            description = "With --forward: add N to every local port (e.g. 10000: metadata on 18080, UI on 13000), for machines "
                    + "where the usual ports are taken. Deploy with a matching --ui-backend-url. Default: ${DEFAULT-VALUE}.")
    int portOffset;

    @Option(names = "--status", description = "Show the stack's health (deployments, database check, Argo, config profile); exit 1 if unhealthy.")
    boolean status;

    @Option(names = "--connect", description = "For a data scientist granted access (provision.java --grant): fetch the cluster's user "
            + "kubeconfig and merge it, write the Metaflow config profile the admin's deploy published; writes nothing to Azure or the "
            + "cluster. Needs --prefix (and --env/--location when not the defaults).")
    boolean connect;

    @Option(names = "--check", description = "Run only the stack check against the deployed stack: short-lived probes (a Job as the task "
            + "identity writing, reading and deleting a blob; /healthcheck; a one-step Argo Workflow; a webhook event; probe image (pinned): " + Pins.PROBE_IMAGE + "), removed "
            + "afterwards; exit 1 if any fails.")
    boolean check;

    @Option(names = "--no-check", description = "Do not run the stack check after a deploy.")
    boolean noCheck;

    @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "text",
            description = "text or json (with a deploy or --check: progress to stderr, the check's result as JSON on stdout). Default: ${DEFAULT-VALUE}.")
    String output;

    @Option(names = {"-v", "--verbose"}, description = "Print each Azure request (method, resource, status, duration), and the libraries' warnings.")
    boolean verbose;

    AzureLogin.Host host = AzureLogin.Host.current();
    AzureLogin.Transport transport;
    PrintStream out = System.out;
    PrintStream err = System.err;
    /** Where --output json prints the check's result (stdout; progress then goes to err). */
    PrintStream result;
    /** Set to stop --forward (Ctrl-C sets it through a shutdown hook). */
    AtomicBoolean stop = new AtomicBoolean();
    long pollMillis = 1000;

    public static void main(String[] args) {
        System.exit(run(args, AzureLogin.Host.current(), null, System.out, System.err));
    }

    /** Runs the command with the given environment, Azure transport (null: the real one) and streams. */
    public static int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err) {
        return run(args, host, transport, out, err, new AtomicBoolean());
    }

    /** As above, with the flag that ends --forward (what Ctrl-C does). */
    public static int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err,
                          AtomicBoolean stop) {
        services s = new services();
        s.host = host;
        s.transport = transport;
        s.out = out;
        s.err = err;
        s.stop = stop;
        return Cli.commandLine(s, out, err).execute(args);
    }

    static final Pattern PROFILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    static final Pattern IMAGE = Pattern.compile("[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})");

    /** Everything the steps share once the stack and cluster are known. */
    record Target(Stack stack, StackFacts facts, AzureLogin.Session session, Desired.Caller caller) {}

    @Override
    public Integer call() {
        // 1. Validate everything before any network traffic.
        int modes = (dryRun ? 1 : 0) + (forward ? 1 : 0) + (status ? 1 : 0) + (connect ? 1 : 0) + (check ? 1 : 0);
        if (modes > 1) throw new Stack.InputException("--dry-run/--forward/--status/--connect/--check", "choose one of them", "--status");
        if (connect && stackOptions.prefix == null) {
            throw new Stack.InputException("--prefix", "is required with --connect (a grantee cannot list the subscription's stacks)", "acme");
        }
        if (connect && (kubeconfig != null || context != null)) {
            throw new Stack.InputException("--connect", "fetches the stack's own cluster credential; leave out --kubeconfig/--context", null);
        }
        if (noCheck && modes > 0) throw new Stack.InputException("--no-check", "only goes with a deploy", "--no-check");
        if (!output.equals("text") && !output.equals("json")) throw new Stack.InputException("--output", "'" + output + "' is not text or json", "json");
        boolean json = output.equals("json");
        if (json && (dryRun || forward || status || connect || noCheck)) {
            throw new Stack.InputException("--output", "json goes only with a deploy or --check (it prints the check's result)", "--check --output json");
        }
        if (portOffset < 0 || portOffset + MetaflowConfig.WEBHOOK_PORT > 65535) {
            throw new Stack.InputException("--port-offset", "must be between 0 and " + (65535 - MetaflowConfig.WEBHOOK_PORT), "10000");
        }
        if (renderTo != null && !dryRun) throw new Stack.InputException("--render-to", "only goes with --dry-run", "--dry-run --render-to out");
        if (timeout < 1) throw new Stack.InputException("--timeout", "must be at least 1 second", "600");
        if (profile != null && !PROFILE.matcher(profile).matches()) {
            throw new Stack.InputException("--profile", "'" + profile + "' must be letters, digits, '.', '_' or '-'", "acme-default");
        }
        for (var img : List.of(new String[] {"--metadata-image", metadataImage}, new String[] {"--ui-image", uiImage})) {
            if (!IMAGE.matcher(img[1]).matches()) {
                throw new Stack.InputException(img[0], "'" + img[1] + "' is not an image reference with a tag (registry/repo:tag)",
                        Pins.UI_IMAGE);
            }
        }
        if (!workflowsVersion.matches("v4\\.[0-9]+\\.[0-9]+")) {
            throw new Stack.InputException("--argo-workflows-version", "'" + workflowsVersion + "' is not an Argo Workflows 4.x release tag", Pins.ARGO_WORKFLOWS);
        }
        if (!eventsVersion.matches("v1\\.9\\.[0-9]+")) {
            throw new Stack.InputException("--argo-events-version", "'" + eventsVersion + "' is not an Argo Events 1.9.x release tag", Pins.ARGO_EVENTS);
        }
        if (jetStreamVersion != null && !jetStreamVersion.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
            throw new Stack.InputException("--jetstream-version", "'" + jetStreamVersion + "' is not a version", "2.10.29");
        }
        if (jetStreamVersion != null && (noArgo || forward || status || check || connect)) {
            throw new Stack.InputException("--jetstream-version", "only goes with a deploy or --dry-run that installs Argo", "2.10.29");
        }
        if (argoManifests != null && !Files.isDirectory(argoManifests)) {
            throw new Stack.InputException("--argo-manifests", argoManifests + " is not a directory", "./argo");
        }
        if (manifests != null && !Files.isDirectory(manifests)) {
            throw new Stack.InputException("--manifests", manifests + " is not a directory", "./manifests");
        }
        if (kubeconfig != null && !Files.isReadable(kubeconfig)) {
            throw new Stack.InputException("--kubeconfig", kubeconfig + " is not a readable file", "~/.kube/config");
        }
        if (!uiBackendUrl.matches("https?://.+")) throw new Stack.InputException("--ui-backend-url", "must be an http(s) URL", "http://localhost:8083/api");
        Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
        if (stackOptions.prefix != null) Stack.of(stackOptions.prefix, stackOptions.env, stackOptions.location, cloud);
        boolean argo = !noArgo;
        List<Manifests.Template> templates;
        try {
            templates = Manifests.templates(manifests);
        } catch (Manifests.ManifestException e) {
            return fail(e.getMessage(), "Check the --manifests directory.", 2);
        }

        try {
            if (connect) {
                return Connect.run(new Connect.Request(stackOptions.prefix, stackOptions.env, stackOptions.location,
                        azureOptions.subscription, cloud, noKubeconfig, profile, force, portOffset, verbose), host, transport, out, err);
            }
            // The Argo releases are read (and checked, the JetStream choice included) before any Azure or cluster request.
            if (argo && !forward && !status && !check) loadArgo();

            // 2. A dry run renders from names alone: no Azure, no cluster.
            if (dryRun) return dryRun(cloud, templates, argo);
            Cli.libraryLogging(verbose, err);   // from here on the Azure SDK and fabric8 may log
            // With --output json, stdout carries the check's JSON only; everything else goes to stderr.
            if (json) {
                result = out;
                out = err;
            }

            // 3. --forward, --status and --check with a kubeconfig of the user's need no Azure at all.
            if ((forward || status || check) && (kubeconfig != null || context != null)) {
                try (KubernetesClient client = userCluster()) {
                    if (check) return checkOnly(client, cloud, argo);
                    return forward ? holdForwards(client, argo) : showStatus(client, stackOptions.prefix == null ? null
                            : Stack.of(stackOptions.prefix, stackOptions.env, stackOptions.location, cloud), argo);
                }
            }

            // 4. Sign in and find the stack by its tags.
            Target target = findStack(cloud);
            if (target == null) return 2;
            Stack stack = target.stack();

            // 5. Reach the cluster: the stack's AKS (merging its context into ~/.kube/config) or the one given.
            try (KubernetesClient client = kubeconfig != null || context != null ? userCluster() : stackCluster(target)) {
                if (forward) return holdForwards(client, argo);
                if (status) return showStatus(client, stack, argo);
                if (check) return runCheck(client, checkSettings(stack, target.facts(), argo, target.session().cloud()));
                int deployed = deploy(client, target, templates, argo);
                // 6. Every deploy ends with the stack check: ready deployments do not prove that a flow will run.
                if (deployed != 0 || noCheck) return deployed;
                return runCheck(client, checkSettings(stack, target.facts(), argo, target.session().cloud()));
            }
        } catch (Argo.DownloadException e) {
            return fail(e.getMessage(), "Run once with internet access (the release is then kept in " + Argo.keptDir(host.home())
                    + "), or pass --argo-manifests DIR; nothing was applied.", 1);
        } catch (Manifests.ManifestException e) {
            return fail(e.getMessage(), "Fix the manifest (or the option that supplies it) and run again; nothing was applied.", 2);
        } catch (Kube.KubeException e) {
            return fail(e.getMessage(), "Check that the cluster is reachable (kubectl get ns) and run the same command again.", 1);
        } catch (KubernetesClientException e) {
            return fail("the cluster refused a request: HTTP " + e.getCode() + " " + Manifests.firstLine(e.getMessage()),
                    "Check your access to the cluster (kubectl auth can-i '*' '*') and run again.", 1);
        }
    }

    int fail(String what, String todo, int code) {
        err.println("error: " + what);
        err.println(todo);
        return code;
    }

    // --- dry run --------------------------------------------------------------------------------------

    int dryRun(Clouds.Cloud cloud, List<Manifests.Template> templates, boolean argo) {
        if (stackOptions.prefix == null) {
            throw new Stack.InputException("--prefix", "is required with --dry-run (finding the stack by its tags needs Azure)", "acme");
        }
        Stack stack = Stack.of(stackOptions.prefix, stackOptions.env, stackOptions.location, cloud);
        StackFacts facts = StackFacts.predicted(stack, cloud, false);
        List<ObjectNode> objects = objects(stack, facts, templates, argo);
        if (argo && !jetStreamListed.isEmpty()) err.println(jetStreamNote() + ".");  // stdout stays pure YAML
        objects.add(dbSecret(stack, "<generated on deploy; stored only on the server and in this Secret>"));
        objects = Manifests.ordered(objects);
        if (renderTo == null) {
            out.print(Manifests.toYaml(objects));
            return 0;
        }
        try {
            Files.createDirectories(renderTo);
            int i = 0;
            for (ObjectNode o : objects) {
                String file = String.format("%03d-%s-%s.yaml", i++, o.path("kind").asText().toLowerCase(),
                        o.path("metadata").path("name").asText().replaceAll("[^A-Za-z0-9_.-]", "_"));
                Files.writeString(renderTo.resolve(file), Manifests.toYaml(List.of(o)), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            return fail("cannot write to " + renderTo + ": " + e.getMessage(), "Choose a writable --render-to directory.", 1);
        }
        out.println("Wrote " + objects.size() + " objects to " + renderTo + "; nothing was applied.");
        return 0;
    }

    /** Every object from the templates and the Argo releases (Secrets excepted), rendered and checked. */
    List<ObjectNode> objects(Stack stack, StackFacts facts, List<Manifests.Template> templates, boolean argo) {
        List<ObjectNode> objects = new ArrayList<>(Manifests.render(templates,
                facts.values(stack, metadataImage, uiImage, uiBackendUrl, argo ? jetStream : null), argo));
        if (argo) {
            for (List<ObjectNode> release : argoReleases) for (ObjectNode o : release) objects.add(o.deepCopy());
        }
        Manifests.checkSelectors(objects);
        // Published for grantees (services.java --connect), who cannot read the storage account or the identity.
        objects.add(Connect.configMap(stack, MetaflowConfig.of(stack, facts, argo, 0, kubeconfig == null && context == null)));
        return objects;
    }

    List<Argo.Release> releases() {
        return List.of(new Argo.Release("argo-workflows", workflowsVersion, Argo.WORKFLOWS_NAMESPACE),
                new Argo.Release(Argo.EVENTS_PROJECT, eventsVersion, Argo.EVENTS_NAMESPACE));
    }

    /** The objects of each Argo release, as read by loadArgo(). */
    List<List<ObjectNode>> argoReleases = List.of();
    /** The JetStream version the event bus asks for, and what the Argo Events release lists. */
    String jetStream;
    List<String> jetStreamListed = List.of();

    /** Reads and checks the Argo releases, and chooses the JetStream version from the Argo Events release's own list. */
    void loadArgo() {
        List<List<ObjectNode>> loaded = new ArrayList<>();
        for (Argo.Release r : releases()) {
            List<ObjectNode> objects;
            try {
                objects = Argo.load(r, argoReleaseUrl, argoManifests, Argo.keptDir(host.home()));
            } catch (Argo.DownloadException e) {
                if (!dryRun) throw e;
                // A dry run without network or kept copy still shows the Metaflow part, and says what it left out.
                err.println("note: the " + r.project() + " " + r.version() + " release is not in this output: " + e.getMessage()
                        + " (a run with internet access keeps it in " + Argo.keptDir(host.home()) + ")");
                if (r.project().equals(Argo.EVENTS_PROJECT)) {
                    jetStream = jetStreamVersion != null ? jetStreamVersion : "<newest listed by " + r.project() + " " + r.version() + ">";
                }
                continue;
            }
            if (r.project().equals(Argo.EVENTS_PROJECT)) {
                jetStreamListed = Argo.jetStreamVersions(r, objects);
                jetStream = Argo.chooseJetStream(r, jetStreamListed, jetStreamVersion);
            }
            loaded.add(objects);
        }
        argoReleases = loaded;
    }

    String jetStreamNote() {
        return "Argo Events " + eventsVersion + ": event bus JetStream " + jetStream + " (" + (jetStreamVersion != null ? "--jetstream-version"
                : "the newest this release lists") + "; it lists " + String.join(", ", jetStreamListed) + ")";
    }

    static final String DB_SECRET = "metaflow-db";
    static final String AZURE_SECRET = "metaflow-azure";

    static ObjectNode secret(String ns, String name, java.util.Map<String, String> values) {
        ObjectNode s = Json.obj().put("apiVersion", "v1").put("kind", "Secret");
        s.putObject("metadata").put("name", name).put("namespace", ns).putObject("labels")
                .put("app.kubernetes.io/part-of", "metaflow").put("app.kubernetes.io/managed-by", "metaflow-azure-toolkit");
        s.put("type", "Opaque");
        ObjectNode data = s.putObject("data");
        values.forEach((k, v) -> data.put(k, Base64.getEncoder().encodeToString(v.getBytes(StandardCharsets.UTF_8))));
        return s;
    }

    static ObjectNode dbSecret(Stack stack, String password) {
        return secret(stack.kubeNamespace(), DB_SECRET, java.util.Map.of("MF_METADATA_DB_PSWD", password));
    }

    // --- Azure: the stack and its cluster ------------------------------------------------------------

    Target findStack(Clouds.Cloud cloud) {
        RequestLog log = new RequestLog(verbose ? err : null);
        boolean signedIn = AzureLogin.canSignIn(host, transport);
        if (!signedIn) {
            throw new AzureLogin.LoginException("no Azure sign-in found (no az CLI login, no AZURE_* credential variables, no managed identity)",
                    "Run 'az login', or use --dry-run (no sign-in needed), or --kubeconfig with --status/--forward.");
        }
        AzureLogin.Session session = AzureLogin.connect(cloud, azureOptions.subscription, host, AzureLogin.Transport.logged(transport, log));
        List<StackFacts.Found> found = StackFacts.discover(session.arm(), session.subscriptionId());
        List<StackFacts.Found> matching = found.stream().filter(f -> stackOptions.prefix == null
                || f.prefix().equals(stackOptions.prefix) && f.env().equals(stackOptions.env)).toList();
        String where = "subscription " + session.subscriptionName() + " (" + session.subscriptionId() + ")";
        if (matching.isEmpty()) {
            err.println("error: " + (stackOptions.prefix == null ? "no Metaflow stack" : "no stack " + stackOptions.prefix + "-" + stackOptions.env)
                    + " found in " + where + " (resource groups tagged " + Stack.TAG_MANAGED_BY + "=" + Stack.MANAGED_BY + ")"
                    + (found.isEmpty() ? "" : "; stacks there: " + String.join(", ", found.stream().map(StackFacts.Found::name).toList())));
            err.println("Run 'jbang provision.java --prefix <name>' first, or pass --subscription, or --prefix/--env of an existing stack.");
            return null;
        }
        if (matching.size() > 1) {
            err.println("error: " + matching.size() + " stacks in " + where + "; say which one:");
            for (StackFacts.Found f : matching) {
                err.println("  --prefix " + f.prefix() + " --env " + f.env() + "   (" + f.resourceGroup() + ", " + f.location() + ")");
            }
            return null;
        }
        StackFacts.Found f = matching.get(0);
        Stack stack = Stack.of(f.prefix(), f.env(), f.location(), session.cloud());
        Desired.Caller caller = new Desired.Caller(session.subscriptionId(), session.callerObjectId(), session.callerType());
        StackFacts facts = StackFacts.read(session.arm(), session.graph(), stack, caller, session.tenantId());
        out.println("Stack " + stack.name() + " in " + where + ", " + (facts.servicePrincipal() ? "service-principal" : "workload-identity") + " mode.");
        return new Target(stack, facts, session, caller);
    }

    KubernetesClient stackCluster(Target t) {
        String kc = StackFacts.userKubeconfig(t.session().arm(), t.stack(), t.caller());
        if (!noKubeconfig) {
            Path config = kubeconfigPath();
            Kube.merge(config, kc);
            out.println("Merged context " + t.stack().aks() + " into " + config + ".");
        }
        return Kube.client(kc, null, "AKS " + t.stack().aks());
    }

    /** $KUBECONFIG's first entry, else ~/.kube/config: where kubectl and teardown.java look (LocalFiles). */
    Path kubeconfigPath() {
        return LocalFiles.kubeconfig(host);
    }

    KubernetesClient userCluster() {
        Path file = kubeconfig != null ? kubeconfig : kubeconfigPath();
        try {
            return Kube.client(Files.readString(file, StandardCharsets.UTF_8), context, file.toString());
        } catch (IOException e) {
            throw new Kube.KubeException("cannot read kubeconfig " + file + ": " + e.getMessage());
        }
    }

    // --- deploy ----------------------------------------------------------------------------------------

    int deploy(KubernetesClient client, Target t, List<Manifests.Template> templates, boolean argo) {
        Stack stack = t.stack();
        StackFacts facts = t.facts();
        // Render and check everything before the first write.
        List<ObjectNode> objects = objects(stack, facts, templates, argo);
        if (argo) out.println(jetStreamNote() + ".");
        out.println("Cluster " + Kube.server(client) + ": applying " + objects.size() + " objects (server-side, field manager "
                + Kube.FIELD_MANAGER + ") ...");

        // Secrets are minted where they are stored: on Azure first, then in the cluster Secret; never anywhere else.
        String ns = stack.kubeNamespace();
        if (client.secrets().inNamespace(ns).withName(DB_SECRET).get() == null) {
            String password = Secrets.password();
            out.println("  setting a new PostgreSQL admin password on " + stack.postgresServer() + " (kept only there and in Secret "
                    + ns + "/" + DB_SECRET + ") ...");
            StackFacts.setDbPassword(t.session().arm(), stack, t.caller(), password);
            objects.add(dbSecret(stack, password));
        }
        if (facts.servicePrincipal() && client.secrets().inNamespace(ns).withName(AZURE_SECRET).get() == null) {
            String secret = StackFacts.addClientSecret(t.session().graph(), facts.applicationObjectId(), stack.name());
            objects.add(secret(ns, AZURE_SECRET, java.util.Map.of("AZURE_CLIENT_ID", facts.clientId(),
                    "AZURE_TENANT_ID", facts.tenantId(), "AZURE_CLIENT_SECRET", secret)));
        }
        List<Kube.Applied> applied = Kube.apply(client, Manifests.ordered(objects), out, timeout * 1000L);
        long changed = applied.stream().filter(a -> a.outcome() != Kube.Outcome.UNCHANGED).count();
        out.println("  " + changed + " changed, " + (applied.size() - changed) + " unchanged.");

        // Wait until it works.
        List<Rollout.Target> targets = deployments(objects);
        out.println("Waiting for " + targets.size() + " deployments (up to " + timeout + " s) ...");
        Rollout.Result r = Rollout.await(client, targets, timeout * 1000L, pollMillis, out);
        if (!r.ok()) {
            err.println("error: the services did not become ready:");
            Rollout.report(err, r.problems());
            err.println("Fix the cause named above (kubectl -n " + ns + " describe pod <pod>), then run the same command again.");
            return 1;
        }
        if (argo && !awaitEvents(client, ns, timeout * 1000L)) return 1;

        // Hand over.
        String prof = profile != null ? profile : stack.name();
        Path file = MetaflowConfig.path(LocalFiles.metaflowHome(host), prof);
        MetaflowConfig.Written w = MetaflowConfig.write(file, MetaflowConfig.of(stack, facts, argo, portOffset,
                kubeconfig == null && context == null), force, stack);
        switch (w) {
            case CREATED -> out.println("Wrote Metaflow config " + file + ".");
            case UPDATED -> out.println("Updated Metaflow config " + file + " (--force).");
            case UNCHANGED -> out.println("Metaflow config " + file + " is up to date.");
            case KEPT -> err.println("warning: " + file + " exists with different settings and was kept; pass --force to replace it.");
        }
        out.println();
        out.println("The Metaflow services are running. Next steps:");
        out.println("  1. export METAFLOW_PROFILE=" + prof);
        out.println("  2. jbang services.java --forward" + (stackOptions.prefix == null ? "" : " --prefix " + stack.prefix() + " --env " + stack.env())
                + "     (keep it running: metadata :8080, UI http://localhost:3000" + (argo ? ", Argo UI https://localhost:2746" : "") + ")");
        out.println("  3. pip install \"metaflow>=" + Pins.METAFLOW_MIN + "\" kubernetes azure-identity azure-storage-blob"
                + (argo ? "   (older Metaflow cannot schedule flows on Argo Workflows 4)" : ""));
        out.println("  4. python helloworld.py run --with kubernetes" + (argo ? "   (schedule it: python helloworld.py argo-workflows create)" : ""));
        out.println("     (a first flow: https://docs.metaflow.org/getting-started/tutorials/season-1-the-local-experience/episode00)");
        return 0;
    }

    /** Kind and name of the webhook's event bus and event source (both in the Metaflow namespace). */
    static List<String[]> eventsObjects() {
        return List.of(new String[] {"EventBus", "default"}, new String[] {"EventSource", MetaflowConfig.EVENT_SOURCE});
    }

    /**
     * Waits until the event bus and the webhook event source are ready and the webhook's Service exists: deployments that
     * are ready say nothing about them (a bus the controller refuses leaves every pod healthy). A bus refused for its
     * JetStream version ends the wait at once, since the controller will not change its mind.
     */
    boolean awaitEvents(KubernetesClient client, String ns, long timeoutMillis) {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        java.util.Map<String, String> shown = new java.util.HashMap<>();
        out.println("Waiting for the Argo Events event bus and webhook event source (up to " + timeoutMillis / 1000 + " s) ...");
        while (true) {
            List<Argo.EventsState> states = new ArrayList<>();
            for (String[] o : eventsObjects()) states.add(Argo.eventsState(client, o[0], ns, o[1]));
            boolean service = client.services().inNamespace(ns).withName(MetaflowConfig.WEBHOOK_SERVICE).get() != null;
            for (Argo.EventsState st : states) {
                if (!st.text().equals(shown.get(st.id()))) {
                    out.println("  " + st.id() + ": " + st.text());
                    shown.put(st.id(), st.text());
                }
            }
            if (states.stream().allMatch(Argo.EventsState::ready) && service) {
                out.println("  " + ns + "/" + MetaflowConfig.WEBHOOK_SERVICE + " (Service): exists");
                return true;
            }
            Argo.EventsState bus = states.get(0);
            if (bus.unsupportedVersion() || System.currentTimeMillis() > deadline) {
                err.println("error: Argo Events is not working: " + eventsProblem(states, service));
                err.println(bus.ready() ? "Check the event source: kubectl -n " + ns + " describe eventsource " + MetaflowConfig.EVENT_SOURCE
                        + ", then run the same command again." : Argo.busAdvice(bus));
                return false;
            }
            Kube.sleep(pollMillis);
        }
    }

    /** The first thing wrong, the bus first: an event source waits for its bus. */
    static String eventsProblem(List<Argo.EventsState> states, boolean service) {
        for (Argo.EventsState st : states) if (!st.ready()) return st.id() + " is " + st.text();
        return "the webhook Service " + MetaflowConfig.WEBHOOK_SERVICE + " does not exist (the controller makes it for the event source)";
    }

    List<Rollout.Target> deployments(List<ObjectNode> objects) {
        return objects.stream().filter(o -> o.path("kind").asText().equals("Deployment"))
                .map(o -> new Rollout.Target(o.path("metadata").path("namespace").asText(), o.path("metadata").path("name").asText())).toList();
    }

    // --- --forward ---------------------------------------------------------------------------------

    int holdForwards(KubernetesClient client, boolean argo) {
        String ns = "metaflow";  // Stack.kubeNamespace() is the same for every stack
        int o = portOffset;
        List<Forward.Target> targets = new ArrayList<>(List.of(
                new Forward.Target(ns, "metadata-service", MetaflowConfig.METADATA_PORT, MetaflowConfig.METADATA_PORT + o),
                new Forward.Target(ns, "metaflow-ui-backend-service", MetaflowConfig.UI_BACKEND_PORT, MetaflowConfig.UI_BACKEND_PORT + o),
                new Forward.Target(ns, "metaflow-ui-static-service", MetaflowConfig.UI_PORT, MetaflowConfig.UI_PORT + o)));
        if (argo) {
            targets.add(new Forward.Target(Argo.WORKFLOWS_NAMESPACE, "argo-server", MetaflowConfig.ARGO_SERVER_PORT, MetaflowConfig.ARGO_SERVER_PORT + o));
            targets.add(new Forward.Target(ns, MetaflowConfig.WEBHOOK_SERVICE, MetaflowConfig.WEBHOOK_PORT, MetaflowConfig.WEBHOOK_PORT + o));
        }
        Thread hook = new Thread(() -> stop.set(true));
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return 1;
        }
        out.println("Port-forwarding until Ctrl-C; the UI is at http://localhost:" + (MetaflowConfig.UI_PORT + portOffset) + ".");
        try {
            Forward.hold(client, targets, out, stop, pollMillis);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook ran
            }
        }
        return 0;
    }

    // --- the stack check ----------------------------------------------------------------------------

    /** The probes' settings: task settings from the very config deploy writes for this stack, so the two cannot drift. */
    Check.Settings checkSettings(Stack stack, StackFacts facts, boolean argo, Clouds.Cloud cloud) {
        JsonNode config = MetaflowConfig.of(stack, facts, argo, portOffset, kubeconfig == null && context == null);
        return new Check.Settings(stack.kubeNamespace(), config, argo, Clouds.trimSlash(cloud.loginEndpoint()) + "/",
                Check.Bounds.of(timeout * 1000L, pollMillis));
    }

    /**
     * --check on a cluster of the user's kubeconfig, without Azure: the storage settings are read back from the UI backend
     * Deployment (deploy rendered them from the stack's facts), the mode from the task Secret's presence.
     */
    int checkOnly(KubernetesClient client, Clouds.Cloud cloud, boolean argo) {
        Stack stack = Stack.of(stackOptions.prefix != null ? stackOptions.prefix : "cluster", stackOptions.env, stackOptions.location, cloud);  // only its cluster-side names are used, and those do not depend on the prefix
        String ns = stack.kubeNamespace();
        var backend = client.apps().deployments().inNamespace(ns).withName("metaflow-ui-backend-service").get();
        java.util.Map<String, String> env = new java.util.HashMap<>();
        if (backend != null) {
            for (var c : backend.getSpec().getTemplate().getSpec().getContainers()) {
                if (c.getEnv() != null) for (var e : c.getEnv()) if (e.getValue() != null) env.put(e.getName(), e.getValue());
            }
        }
        String blob = env.get("METAFLOW_AZURE_STORAGE_BLOB_SERVICE_ENDPOINT");
        String sysroot = env.get("METAFLOW_DATASTORE_SYSROOT_AZURE");
        if (blob == null || sysroot == null) {
            return fail("the Metaflow services are not deployed in " + Kube.server(client) + " (no Deployment " + ns
                    + "/metaflow-ui-backend-service with the storage settings)", "Deploy them first: services.java (then --check).", 1);
        }
        boolean sp = client.secrets().inNamespace(ns).withName(AZURE_SECRET).get() != null;
        var sa = client.serviceAccounts().inNamespace(ns).withName(stack.kubeServiceAccount()).get();
        java.util.Map<String, String> notes = sa == null || sa.getMetadata().getAnnotations() == null ? java.util.Map.of()
                : sa.getMetadata().getAnnotations();
        StackFacts facts = new StackFacts("", stack.postgresAdmin(), stack.database(), blob, sysroot,
                notes.getOrDefault("azure.workload.identity/client-id", ""), notes.getOrDefault("azure.workload.identity/tenant-id", ""), sp, null);
        boolean withArgo = argo && client.apps().deployments().inNamespace(Argo.WORKFLOWS_NAMESPACE).withName("workflow-controller").get() != null;
        if (argo && !withArgo) out.println("Argo Workflows is not installed in this cluster: its probes are left out (--no-argo says so).");
        return runCheck(client, checkSettings(stack, facts, withArgo, cloud));
    }

    /** Runs the probes and shows the table (or the JSON); 1 when any failed. */
    int runCheck(KubernetesClient client, Check.Settings settings) {
        out.println();
        out.println("Checking the stack on " + Kube.server(client) + " (probes in namespace " + settings.namespace()
                + ", labelled " + Check.MANAGED_BY + "=" + Kube.FIELD_MANAGER + ", removed afterwards; up to "
                + Console.elapsed(Math.max(settings.bounds().roleWaitMillis(), settings.bounds().workflowMillis())) + ") ...");
        List<Check.Outcome> outcomes = Check.run(client, settings, out);
        Check.table(out, outcomes);
        if (result != null) result.println(Json.write(Check.json(outcomes)));
        if (Check.healthy(outcomes)) {
            out.println("The stack works: every probe passed.");
            return 0;
        }
        long failed = outcomes.stream().filter(o -> !o.ok()).count();
        err.println("error: the stack check failed (" + failed + " of " + outcomes.size() + " probes): "
                + String.join(", ", outcomes.stream().filter(o -> !o.ok()).map(Check.Outcome::probe).toList()));
        err.println("Do what the ✗ lines above say, then run services.java --check again.");
        return 1;
    }

    // --- --status ----------------------------------------------------------------------------------

    int showStatus(KubernetesClient client, Stack stack, boolean argo) {
        String ns = stack == null ? "metaflow" : stack.kubeNamespace();
        String eventsNs = stack == null ? "argo-events" : stack.argoEventsNamespace();
        boolean healthy = true;
        out.println("Cluster " + Kube.server(client));
        List<Rollout.Target> targets = new ArrayList<>(List.of(new Rollout.Target(ns, "metadata-service"),
                new Rollout.Target(ns, "metaflow-ui-backend-service"), new Rollout.Target(ns, "metaflow-ui-static-service")));
        if (argo) {
            targets.add(new Rollout.Target(Argo.WORKFLOWS_NAMESPACE, "workflow-controller"));
            targets.add(new Rollout.Target(Argo.WORKFLOWS_NAMESPACE, "argo-server"));
            targets.add(new Rollout.Target(eventsNs, "controller-manager"));
        }
        for (Rollout.Target t : targets) {
            Rollout.State s = Rollout.state(client, t);
            boolean ok = s.exists() && s.rolledOut() && s.ready() > 0;
            healthy &= ok;
            out.printf("  %-4s %-45s %s%n", ok ? "ok" : "FAIL", t.id(), s.text());
            if (!ok) {
                for (Rollout.Problem p : Rollout.problems(client, t)) {
                    out.println("         " + p.summary());
                    for (String line : p.details()) out.println("         | " + line);
                }
            }
        }
        if (argo) {
            boolean busReady = true;
            for (String[] o : eventsObjects()) {
                Argo.EventsState st = Argo.eventsState(client, o[0], ns, o[1]);
                healthy &= st.ready();
                out.printf("  %-4s %-45s %s%n", st.ready() ? "ok" : "FAIL", st.id(), st.text());
                if (o[0].equals("EventBus")) {
                    busReady = st.ready();
                    if (!st.ready()) out.println("         " + Argo.busAdvice(st));
                } else if (!st.ready() && busReady) {
                    out.println("         kubectl -n " + ns + " describe eventsource " + o[1]);
                }
            }
            boolean service = client.services().inNamespace(ns).withName(MetaflowConfig.WEBHOOK_SERVICE).get() != null;
            healthy &= service;
            out.printf("  %-4s %-45s %s%n", service ? "ok" : "FAIL", ns + "/" + MetaflowConfig.WEBHOOK_SERVICE + " (Service)",
                    service ? "exists" : "missing (the controller makes it once the event source is deployed)");
        }
        String check;
        boolean dbOk;
        try {
            check = client.raw("/api/v1/namespaces/" + ns + "/services/metadata-service:" + MetaflowConfig.METADATA_PORT + "/proxy/healthcheck");
            dbOk = check != null;
            if (check == null) check = "no answer";
        } catch (RuntimeException e) {
            check = Manifests.firstLine(e.getMessage());
            dbOk = false;
        }
        healthy &= dbOk;
        out.printf("  %-4s %-45s %s%n", dbOk ? "ok" : "FAIL", "database check (/healthcheck)", check.strip());
        String active = host.env("METAFLOW_PROFILE");
        String prof = profile != null ? profile : stack != null ? stack.name() : active;
        if (prof != null) {
            Path file = MetaflowConfig.path(LocalFiles.metaflowHome(host), prof);
            boolean exists = Files.exists(file);
            out.printf("  %-4s %-45s %s%n", exists ? "ok" : "warn", "config profile " + prof, (exists ? file : file + " missing")
                    + (prof.equals(active) ? " (METAFLOW_PROFILE)" : active == null ? " (METAFLOW_PROFILE not set)" : " (METAFLOW_PROFILE=" + active + ")"));
        }
        out.println(healthy ? "Healthy." : "Unhealthy: see FAIL lines above.");
        return healthy ? 0 : 1;
    }
}
