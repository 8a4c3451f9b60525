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
//FILES manifests/45-gateway.yaml=manifests/45-gateway.yaml
//FILES manifests/50-argo-metaflow.yaml=manifests/50-argo-metaflow.yaml
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xlog:cds=off
// class-data training run: --prefix cdstrain --dry-run --no-argo

import azure.AzureLogin;
import azure.Clouds;
import azure.Desired;
import azure.Discovery;
import azure.Grants;
import azure.Pools;
import azure.Proxies;
import azure.Registry;
import azure.Stack;
import azure.StackFacts;
import cli.Cli;
import cli.Options;
import cli.Script;
import cluster.Argo;
import cluster.ArgoInstall;
import cluster.Catalog;
import cluster.Check;
import cluster.Connect;
import cluster.Deploy;
import cluster.DryRun;
import cluster.Forward;
import cluster.GranteeCheck;
import cluster.Kube;
import cluster.KubeToken;
import cluster.Manifests;
import cluster.Pins;
import cluster.ServiceObjects;
import cluster.StackCluster;
import cluster.StatusView;
import engine.Messages;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * Deploys the Metaflow services onto a stack's AKS cluster and hands over a working client config; its subcommands
 * (status, forward, check, connect) work with what a deploy left there.
 */
@Command(name = "services.java", mixinStandardHelpOptions = true, versionProvider = Script.ShowVersion.class, sortOptions = false,
        usageHelpAutoWidth = true, showDefaultValues = false,
        subcommands = {services.StatusCommand.class, services.ForwardCommand.class, services.CheckCommand.class, services.ConnectCommand.class,
                services.TokenCommand.class},
        description = {"Deploys Metaflow's metadata service, UI backend and UI (and Argo Workflows + Argo Events) onto the stack's "
                + "AKS cluster, waits until they work, writes the Metaflow client config and prints the next steps. "
                + "Re-running changes only what differs.",
                "Every deploy ends with the stack check (probes on the cluster: task identity to blob storage, metadata service to "
                        + "database, a one-step Argo Workflow, an event through the Argo Events webhook); 'services.java check' runs it alone.",
                "Examples:%n  services.java%n  services.java --prefix acme --dry-run%n  services.java forward%n  services.java status"
                        + "%n  services.java check --output json%n  services.java connect --prefix acme",
                "A subcommand takes its own options, after its name: services.java <command> --help lists them."},
        commandListHeading = "%nCommands (without one: the deploy):%n",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:failed (the message says what to do)", "2:bad input (nothing was touched)"})
public class services extends Script {

    @Mixin UserCluster cluster = new UserCluster();
    @Mixin NoKubeconfig merge = new NoKubeconfig();
    @Mixin Profile profile = new Profile();
    @Mixin Force force = new Force();

    // Every pinned default comes from lib/Pins.java, where each is cited to the upstream place it was checked in.
    static final String PINNED = " Default (pinned): ${DEFAULT-VALUE}.";

    @Option(names = "--metadata-image", paramLabel = "IMAGE", defaultValue = Pins.METADATA_IMAGE,
            description = "Image of the metadata service, its migrations and the UI backend." + PINNED)
    String metadataImage;

    @Option(names = "--ui-image", paramLabel = "IMAGE", defaultValue = Pins.UI_IMAGE, description = "Image of the Metaflow UI." + PINNED)
    String uiImage;

    @Option(names = "--ui-backend-url", paramLabel = "URL", defaultValue = Catalog.LOCAL_UI_BACKEND_URL,
            description = "The UI backend as the user's browser reaches it (injected into the UI). Default: ${DEFAULT-VALUE} (through forward).")
    String uiBackendUrl;

    @Option(names = "--argo-workflows-version", paramLabel = "TAG", defaultValue = Pins.ARGO_WORKFLOWS, description = "Argo Workflows release to install (4.x)." + PINNED)
    String workflowsVersion;

    @Option(names = "--argo-events-version", paramLabel = "TAG", defaultValue = Pins.ARGO_EVENTS, description = "Argo Events release to install (1.9.x)." + PINNED)
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

    @Mixin NoArgo argo = new NoArgo();

    @Option(names = "--manifests", paramLabel = "DIR",
            description = "Use the *.yaml templates in DIR instead of the bundled ones.")
    Path manifests;

    @Mixin Timeout timeout = new Timeout();

    @Mixin Options.DryRun dry = new Options.DryRun();

    @Option(names = "--render-to", paramLabel = "DIR", description = "With --dry-run: write the objects to DIR/<nn>-<kind>-<name>.yaml instead of stdout.")
    Path renderTo;

    @Mixin PortOffset ports = new PortOffset();

    @Option(names = "--no-check", description = "Do not run the stack check after a deploy.")
    boolean noCheck;

    /** The modes that were flags before they became subcommands: refused, naming the subcommand (data scientists have old instructions). */
    @Option(names = {"--status", "--forward", "--check", "--connect"}, hidden = true)
    boolean[] oldModes;

    @Spec CommandSpec spec;

    /** Where --output json prints the check's result (stdout; progress then goes to err). */
    PrintStream result;
    /** Set to stop forward (Ctrl-C sets it through a shutdown hook). */
    AtomicBoolean stop = new AtomicBoolean();
    long pollMillis = 1000;

    public static void main(String[] args) {
        System.exit(run(args, AzureLogin.Host.current(), null, System.out, System.err));
    }

    /** Runs the command with the given environment, Azure transport (null: the real one) and streams. */
    public static int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err) {
        return run(args, host, transport, out, err, new AtomicBoolean());
    }

    /** As above, with the flag that ends forward (what Ctrl-C does). */
    public static int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err,
                          AtomicBoolean stop) {
        services s = new services();
        s.stop = stop;
        return Script.run(s, args, host, transport, out, err);
    }

    static final Pattern PROFILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    static final Pattern IMAGE = Pattern.compile("[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})");

    /** The deploy (or, with --dry-run, its objects as YAML). */
    @Override
    public Integer call() {
        if (oldModes != null) return oldModeFlag();
        // 1. Validate everything before any network traffic.
        boolean json = validate();
        Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
        // The stack the options name (checked even where Azure finds the stack by its tags); null without --prefix.
        Stack named = named(this, cloud);
        List<Manifests.Template> templates;
        try {
            templates = Manifests.templates(manifests);
        } catch (Manifests.ManifestException e) {
            return fail(e.getMessage(), "Check the --manifests directory.", 2);
        }

        return onCluster(this, () -> {
            try {
                // The Argo releases are read (and checked, the JetStream choice included) before any Azure or cluster request.
                ArgoInstall argoInstall = argo.wanted() ? ArgoInstall.load(new ArgoInstall.Request(workflowsVersion, eventsVersion,
                        jetStreamVersion, argoReleaseUrl, argoManifests, Argo.keptDir(host.home()), Proxies.of(host.env()).selector()), dry.dryRun, err) : null;
                // A dry run cannot read the pools: it shows a stack as provision builds it, without a GPU pool.
                ServiceObjects render = new ServiceObjects(metadataImage, uiImage, uiBackendUrl, cluster.given() ? null : Pools.Facts.predicted(named),
                        argoInstall);

                // 2. A dry run renders from names alone: no Azure, no cluster.
                if (dry.dryRun) {
                    if (named == null) {
                        throw new Stack.InputException("--prefix", "is required with --dry-run (finding the stack by its tags needs Azure)", "acme");
                    }
                    return DryRun.print(named, cloud, render, templates, renderTo, out, err);
                }
                Cli.libraryLogging(common.verbose, err);   // from here on the Azure SDK and fabric8 may log
                // With --output json, stdout carries the check's JSON only; everything else goes to stderr.
                if (json) {
                    result = out;
                    out = err;
                }

                // 3. Sign in and find the stack by its tags.
                StackCluster.Target target = findStack(this, cloud, ", or use --dry-run (no sign-in needed), or status/forward/check "
                        + "with --kubeconfig.");
                if (target == null) return 2;
                Stack stack = target.stack();
                if (!cluster.given()) render = render.withPools(target.pools());

                // 4. Reach the cluster: the stack's AKS (merging its context into ~/.kube/config) or the one given.
                try (KubernetesClient client = cluster.given() ? cluster.client(host, out) : StackCluster.ofStack(target, merge.noKubeconfig, host, out, pollMillis)) {
                    int deployed = Deploy.run(client, target, templates, render, new Deploy.Settings(timeout.seconds, pollMillis, profile.name,
                            force.force, ports.offset, stackOptions.prefix != null), host, out, err);
                    // 5. Every deploy ends with the stack check: ready deployments do not prove that a flow will run.
                    if (deployed != 0 || noCheck) return deployed;
                    Check.Settings probes = Check.settings(stack, target.facts(), argo.wanted(), ports.offset, render.pools(),
                            target.session().cloud(), timeout.bounds(pollMillis));
                    return Check.report(client, probes, out, err, result);
                }
            } catch (Argo.DownloadException e) {
                return fail(e.getMessage(), "Run once with internet access (the release is then kept in " + Argo.keptDir(host.home())
                        + "), or pass --argo-manifests DIR; nothing was applied.", 1);
            } catch (Manifests.ManifestException e) {
                return fail(e.getMessage(), "Fix the manifest (or the option that supplies it) and run again; nothing was applied.", 2);
            }
        });
    }

    /** Checks every option alone and with the others (exit 2, nothing touched); true for --output json. */
    boolean validate() {
        if (noCheck && dry.dryRun) throw new Stack.InputException("--no-check", "only goes with a deploy", "--no-check");
        boolean json = common.json();
        if (json && (dry.dryRun || noCheck)) {
            throw new Stack.InputException("--output", "json goes only with a deploy that runs the stack check, or with "
                    + "'services.java check' (it prints the check's result)", "json");
        }
        ports.validate();
        if (renderTo != null && !dry.dryRun) throw new Stack.InputException("--render-to", "only goes with --dry-run", "--dry-run --render-to out");
        timeout.validate();
        profile.validate();
        // Each value given against its form: option, value, form, what it is not, an example.
        String[][] forms = {
                {"--metadata-image", metadataImage, IMAGE.pattern(), "is not an image reference with a tag (registry/repo:tag)", Pins.METADATA_IMAGE},
                {"--ui-image", uiImage, IMAGE.pattern(), "is not an image reference with a tag (registry/repo:tag)", Pins.UI_IMAGE},
                {"--argo-workflows-version", workflowsVersion, "v4\\.[0-9]+\\.[0-9]+", "is not an Argo Workflows 4.x release tag", Pins.ARGO_WORKFLOWS},
                {"--argo-events-version", eventsVersion, "v1\\.9\\.[0-9]+", "is not an Argo Events 1.9.x release tag", Pins.ARGO_EVENTS},
                {"--jetstream-version", jetStreamVersion, "[A-Za-z0-9][A-Za-z0-9._-]{0,62}", "is not a version", "2.10.29"}};
        for (String[] f : forms) {
            if (f[1] != null && !f[1].matches(f[2])) throw new Stack.InputException(f[0], "'" + f[1] + "' " + f[3], f[4]);
        }
        if (jetStreamVersion != null && !argo.wanted()) {
            throw new Stack.InputException("--jetstream-version", "only goes with a deploy or --dry-run that installs Argo", "2.10.29");
        }
        if (argoManifests != null && !Files.isDirectory(argoManifests)) {
            throw new Stack.InputException("--argo-manifests", argoManifests + " is not a directory", "./argo");
        }
        if (manifests != null && !Files.isDirectory(manifests)) {
            throw new Stack.InputException("--manifests", manifests + " is not a directory", "./manifests");
        }
        cluster.validate();
        if (!uiBackendUrl.matches("https?://.+")) throw new Stack.InputException("--ui-backend-url", "must be an http(s) URL", Catalog.LOCAL_UI_BACKEND_URL);
        return json;
    }

    /** --status, --forward, --check or --connect, as old instructions have them: exit 2, nothing touched, naming the subcommand. */
    int oldModeFlag() {
        List<String> flags = List.of(spec.findOption("--status").names());
        List<String> given = spec.commandLine().getParseResult().originalArgs();
        String flag = given.stream().filter(flags::contains).findFirst().orElse(flags.get(0));
        return fail(flag + " is now a subcommand: " + commandLine(flag.substring(2), given.stream().filter(a -> !flags.contains(a)).toList()),
                "Run that instead (services.java --help lists the subcommands); nothing was touched.", 2);
    }

    /** services.java with the subcommand first and then the other arguments as given, quoted for a shell where needed. */
    static String commandLine(String subcommand, List<String> args) {
        StringBuilder b = new StringBuilder("services.java ").append(subcommand);
        for (String a : args) b.append(' ').append(a.matches("[A-Za-z0-9_./:=@,+%-]+") ? a : "'" + a.replace("'", "'\\''") + "'");
        return b.toString();
    }

    // --- What every mode shares ------------------------------------------------------------------------

    /** The stack the options name (checked even where Azure finds the stack by its tags); null without --prefix. */
    static Stack named(Script s, Clouds.Cloud cloud) {
        Options.StackOptions o = s.stackOptions;
        return o.prefix == null ? null : Stack.of(o.prefix, o.env, o.location, cloud);
    }

    /** Runs work, which reaches the cluster: a cluster that fails or refuses is one line of what and one of what to do (exit 1). */
    static int onCluster(Script s, IntSupplier work) {
        try {
            return work.getAsInt();
        } catch (Kube.KubeException e) {
            return s.fail(e.getMessage(), "Check that the cluster is reachable (kubectl get ns) and run the same command again.", 1);
        } catch (KubernetesClientException e) {
            String cause = engine.Network.cause(e);
            if (cause != null) {
                return s.fail("cannot reach the cluster's API server: " + cause + " (" + Messages.firstLine(e.getMessage()) + ")",
                        engine.Network.todo("the kubeconfig's server address (kubectl get ns tries the same)"), 1);
            }
            return s.fail("the cluster refused a request: HTTP " + e.getCode() + " " + Messages.firstLine(e.getMessage()),
                    "Check your access to the cluster (kubectl auth can-i '*' '*') and run again.", 1);
        }
    }

    /** Signs in and finds the stack by its tags (and --prefix/--env); null after saying on err what there is instead. */
    static StackCluster.Target findStack(Script s, Clouds.Cloud cloud, String otherwise) {
        AzureLogin.Session session = s.signIn(cloud, s.azureOptions.subscription, otherwise);
        String where = session.where();
        Discovery.Listed f = StackCluster.choose(Discovery.stacks(session.arm(), session.subscriptionId()), s.stackOptions.prefix,
                s.stackOptions.env, where, s.err);
        if (f == null) return null;
        Stack stack = Stack.of(f.prefix(), f.env(), f.location(), session.cloud());
        Desired.Caller caller = session.caller();
        StackFacts facts = StackFacts.read(session.arm(), session.graph(), stack, caller, session.tenantId());
        s.out.println("Stack " + stack.name() + " in " + where + ", " + (facts.servicePrincipal() ? "service-principal" : "workload-identity") + " mode.");
        if (facts.registryLogin() == null) {
            s.out.println("Stack " + stack.name() + " has no container registry yet (provisioned before it had one): task pods pull python:X.Y "
                    + "from Docker Hub and install Metaflow's packages at every start. 'jbang provision.java " + stack.args() + "' adds it.");
        }
        return new StackCluster.Target(stack, facts, session, caller, Pools.read(session.arm(), stack, caller));
    }

    // --- Options more than one mode takes, each declared once ---------------------------------------------

    /** --kubeconfig/--context: the services on a cluster of the user's instead of the stack's AKS (deploy, status, forward, check). */
    static final class UserCluster {
        @Option(names = "--kubeconfig", paramLabel = "FILE", description = "Use this kubeconfig instead of fetching the stack's AKS "
                + "credentials (bring your own cluster). Default with --context: KUBECONFIG, else ~/.kube/config.")
        Path kubeconfig;

        @Option(names = "--context", paramLabel = "NAME", description = "Kubeconfig context to use (with --kubeconfig or the default kubeconfig).")
        String context;

        boolean given() {
            return kubeconfig != null || context != null;
        }

        /** The cluster of the user's kubeconfig, saying which and with what credential (Entra ID does not apply: no Azure sign-in). */
        KubernetesClient client(AzureLogin.Host host, PrintStream out) {
            KubernetesClient client = StackCluster.ofUser(kubeconfig, context, host);
            out.println("Cluster " + Kube.server(client) + " of " + (kubeconfig != null ? kubeconfig : "your kubeconfig")
                    + (context != null ? " (context " + context + ")" : "") + ", with the credential that kubeconfig holds (the toolkit's "
                    + "Microsoft Entra sign-in is for the stack's own AKS).");
            return client;
        }

        void validate() {
            if (kubeconfig != null && !Files.isReadable(kubeconfig)) {
                throw new Stack.InputException("--kubeconfig", kubeconfig + " is not a readable file", "~/.kube/config");
            }
        }
    }

    /** --no-kubeconfig: every mode that fetches the stack's AKS credential. */
    static final class NoKubeconfig {
        @Option(names = "--no-kubeconfig", description = "Do not merge the AKS context into ~/.kube/config.")
        boolean noKubeconfig;
    }

    /** --no-argo: deploy, status, forward, check. */
    static final class NoArgo {
        @Option(names = "--no-argo", description = "Without Argo Workflows and Argo Events (no scheduled or event-triggered flows): "
                + "a deploy does not install them; status, forward and check leave them out.")
        boolean noArgo;

        boolean wanted() {
            return !noArgo;
        }
    }

    /** --profile: deploy and connect write it, status looks at it. */
    static final class Profile {
        @Option(names = "--profile", paramLabel = "NAME", description = "Metaflow config profile: ~/.metaflowconfig/config_<NAME>.json. "
                + "Default: the stack's name (<prefix>-<env>).")
        String name;

        void validate() {
            if (name != null && !PROFILE.matcher(name).matches()) {
                throw new Stack.InputException("--profile", "'" + name + "' must be letters, digits, '.', '_' or '-'", "acme-default");
            }
        }
    }

    /** --force: deploy and connect. */
    static final class Force {
        @Option(names = "--force", description = "Overwrite an existing, different Metaflow config file of the profile.")
        boolean force;
    }

    /** --port-offset: forward listens on the shifted ports, deploy and connect write them into the config. */
    static final class PortOffset {
        @Option(names = "--port-offset", paramLabel = "N", defaultValue = "0",
                description = "Add N to every local port (e.g. 10000: metadata on " + (10000 + Catalog.METADATA_PORT) + ", UI on "
                        + (10000 + Catalog.UI_PORT) + "), for machines where the usual ports are taken: forward listens there, and the "
                        + "Metaflow config (deploy, connect) points there. Deploy with a matching --ui-backend-url. Default: ${DEFAULT-VALUE}.")
        int offset;

        void validate() {
            if (offset < 0 || offset + Catalog.highestPort() > 65535) {
                throw new Stack.InputException("--port-offset", "must be between 0 and " + (65535 - Catalog.highestPort()), "10000");
            }
        }
    }

    /** --timeout: deploy and check. */
    static final class Timeout {
        @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600",
                description = "How long to wait for the deployments to become ready, and then for the event bus and event source; also caps "
                        + "each wait of the stack check. Default: ${DEFAULT-VALUE}.")
        int seconds;

        void validate() {
            if (seconds < 1) throw new Stack.InputException("--timeout", "must be at least 1 second", "600");
        }

        Check.Bounds bounds(long pollMillis) {
            return Check.Bounds.of(seconds * 1000L, pollMillis);
        }
    }

    /** Leaves --output (of the common options) out of a subcommand that prints no result to format. */
    public static final class NoOutput implements CommandLine.IModelTransformer {
        @Override public CommandSpec transform(CommandSpec spec) {
            spec.remove(spec.findOption("--output"));
            return spec;
        }
    }

    // --- The subcommands -----------------------------------------------------------------------------

    /**
     * A subcommand: a Script of its own (the stack, Azure and common options after its name), run with the streams and
     * Azure services.java was given.
     */
    abstract static class Subcommand extends Script {
        @ParentCommand services parent;
        @Spec CommandSpec spec;

        @Option(names = {"-h", "--help"}, usageHelp = true, order = Integer.MAX_VALUE, description = "Show this help message and exit.")
        boolean help;

        @Override
        public final Integer call() {
            host = parent.host;
            transport = parent.transport;
            out = parent.out;
            err = parent.err;
            interactive = parent.interactive;
            // Options before the subcommand's name are services.java's own (the deploy's): refused, not silently ignored.
            List<String> before = parent.spec.commandLine().getParseResult().matchedOptions().stream().map(o -> o.longestName()).toList();
            if (!before.isEmpty()) {
                List<String> given = new java.util.ArrayList<>(parent.spec.commandLine().getParseResult().originalArgs());
                given.remove(spec.name());
                return fail(String.join(", ", before) + " goes after the subcommand: " + commandLine(spec.name(), given),
                        "Run that instead (services.java " + spec.name() + " --help lists its options); nothing was touched.", 2);
            }
            return run();
        }

        abstract int run();
    }

    /** status, forward and check: the deployed services on the stack's AKS (found through Azure) or on a cluster of the user's (no Azure). */
    abstract static class ClusterSubcommand extends Subcommand {
        @Mixin UserCluster cluster = new UserCluster();
        @Mixin NoKubeconfig merge = new NoKubeconfig();
        @Mixin NoArgo argo = new NoArgo();

        /** Checks the subcommand's own options (exit 2, nothing touched) and sets up where it prints. */
        abstract void prepare();

        /** The subcommand on the cluster; target null on a cluster of the user's, and stack then null without --prefix. */
        abstract int on(KubernetesClient client, Stack stack, StackCluster.Target target, Clouds.Cloud cloud);

        @Override
        int run() {
            prepare();
            cluster.validate();
            Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
            Stack named = named(this, cloud);
            return onCluster(this, () -> {
                Cli.libraryLogging(common.verbose, err);   // from here on the Azure SDK and fabric8 may log
                // A cluster of the user's kubeconfig needs no Azure at all.
                if (cluster.given()) {
                    try (KubernetesClient client = cluster.client(host, out)) {
                        return on(client, named, null, cloud);
                    }
                }
                StackCluster.Target target = findStack(this, cloud, ", or pass --kubeconfig/--context: a cluster of your kubeconfig needs "
                        + "no sign-in.");
                if (target == null) return 2;
                try (KubernetesClient client = StackCluster.ofStack(target, merge.noKubeconfig, host, out, parent.pollMillis)) {
                    return on(client, target.stack(), target, cloud);
                }
            });
        }
    }

    @Command(name = "status", modelTransformer = NoOutput.class, sortOptions = false, usageHelpAutoWidth = true, showDefaultValues = false,
            description = {"Shows the stack's health; exit 1 if unhealthy.",
                    "Deployments, Argo Events, the metadata service's database check and the Metaflow config profile."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:healthy", "1:unhealthy or failed (the message says what to do)", "2:bad input (nothing was touched)"})
    static final class StatusCommand extends ClusterSubcommand {
        @Mixin Profile profile = new Profile();

        @Override void prepare() {
            profile.validate();
        }

        @Override int on(KubernetesClient client, Stack stack, StackCluster.Target target, Clouds.Cloud cloud) {
            return StatusView.show(client, stack, argo.wanted(), profile.name, host, out, target == null ? null : target.pools());
        }
    }

    @Command(name = "forward", modelTransformer = NoOutput.class, sortOptions = false, usageHelpAutoWidth = true, showDefaultValues = false,
            description = {"Holds port-forwards to the services, following pod replacements, until Ctrl-C.",
                    "The metadata service (" + Catalog.METADATA_PORT + "), UI backend (" + Catalog.UI_BACKEND_PORT + "), UI ("
                            + Catalog.UI_PORT + "), Argo server (" + Catalog.ARGO_SERVER_PORT + ") and events webhook ("
                            + Catalog.WEBHOOK_PORT + ") on those local ports plus --port-offset."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:stopped (Ctrl-C)", "1:failed (the message says what to do)", "2:bad input (nothing was touched)"})
    static final class ForwardCommand extends ClusterSubcommand {
        @Mixin PortOffset ports = new PortOffset();

        @Override void prepare() {
            ports.validate();
        }

        @Override int on(KubernetesClient client, Stack stack, StackCluster.Target target, Clouds.Cloud cloud) {
            return Forward.untilStopped(client, stack, argo.wanted(), ports.offset, out, parent.stop, parent.pollMillis);
        }
    }

    @Command(name = "check", sortOptions = false, usageHelpAutoWidth = true, showDefaultValues = false,
            description = {"Runs only the stack check against the deployed stack; exit 1 if any probe fails.",
                    "Short-lived probes (a Job as the task identity writing, reading and deleting a blob; " + Catalog.DB_CHECK_PATH
                            + "; a one-step Argo Workflow; a webhook event; probe image: the stack registry's " + Registry.PROBE_REPOSITORY
                            + ":" + Pins.PROBE_TAG + ", or " + Pins.PROBE_IMAGE
                            + " for a stack without a registry), removed "
                            + "afterwards; with --kubeconfig/--context no Azure sign-in is needed."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:the stack works", "1:a probe failed, or the check could not run (the message says what to do)",
                    "2:bad input (nothing was touched)"})
    static final class CheckCommand extends ClusterSubcommand {
        @Mixin Timeout timeout = new Timeout();

        @Option(names = "--gpu", description = "Also run a GPU probe: a pod shaped as Metaflow's @kubernetes(gpu=1) step runs NVIDIA's CUDA "
                + "sample (" + Pins.GPU_PROBE_IMAGE + "). Opt-in: it scales the GPU pool up from zero, which takes minutes and costs a GPU "
                + "node's time; the plain check only verifies that the device plugin is ready.")
        boolean gpu;

        @Option(names = "--as-grantee", order = 30, description = {"Check your own access as a person granted the stack (provision.java "
                + "--grant): a Workflow and a Job may be submitted in its namespace, Secrets, nodes and other namespaces are refused. "
                + "Needs --prefix (a grantee cannot search the subscription)."})
        boolean asGrantee;

        @Override int run() {
            if (!asGrantee || cluster.given()) return super.run();
            if (stackOptions.prefix == null) {
                throw new Stack.InputException("--prefix", "is required with --as-grantee (a grantee cannot list the subscription's stacks)", "acme");
            }
            if (common.json()) throw new Stack.InputException("--output", "json does not go with --as-grantee", "text");
            Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
            return onCluster(this, () -> {
                Cli.libraryLogging(common.verbose, err);
                AzureLogin.Session session = signIn(cloud, azureOptions.subscription, Connect.SIGN_IN_OTHERWISE);
                Stack s = named(this, session.cloud());
                String kc = StackFacts.userKubeconfig(session.arm(), s, session.caller());
                try (KubernetesClient client = StackCluster.connect(kc, s, session, true, host, out)) {
                    return GranteeCheck.run(client, s, out, err);
                }
            });
        }

        /** Where --output json prints the check's result (stdout; progress then goes to err). */
        PrintStream result;

        @Override void prepare() {
            timeout.validate();
            // With --output json, stdout carries the check's JSON only; everything else goes to stderr.
            if (common.json()) {
                result = out;
                out = err;
            }
        }

        @Override int on(KubernetesClient client, Stack stack, StackCluster.Target target, Clouds.Cloud cloud) {
            if (asGrantee) return GranteeCheck.run(client, stack, out, err);
            if (target != null) return Check.report(client, probes(target.stack(), target.facts(), argo.wanted(), target.pools(), target.session().cloud()), out, err, result);
            // A cluster of the user's: stack is the one --prefix names, or null (the cluster-side names every stack uses).
            return Check.onUserCluster(client, stack, argo.wanted(), (facts, withArgo) -> probes(stack, facts, withArgo, null, cloud), out, err, result);
        }

        /** The probes' settings: task settings from the very config deploy writes for this stack, so the two cannot drift. */
        Check.Settings probes(Stack stack, StackFacts facts, boolean withArgo, Pools.Facts pools, Clouds.Cloud cloud) {
            Check.Settings s = Check.settings(stack, facts, withArgo, 0, pools, cloud, timeout.bounds(parent.pollMillis));
            return gpu ? s.withGpuProbe() : s;
        }
    }

    @Command(name = "connect", modelTransformer = NoOutput.class, sortOptions = false, usageHelpAutoWidth = true, showDefaultValues = false,
            description = {"Joins a stack as a data scientist granted access (provision.java --grant): kubeconfig and Metaflow profile.",
                    "Fetches the cluster's user kubeconfig and merges it, writes the Metaflow config profile the admin's deploy published; "
                            + "writes nothing to Azure or the cluster. Needs --prefix (and --env/--location when not the defaults)."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:connected", "1:no access, or the services are not deployed yet (the message says what to do)",
                    "2:bad input, or no such stack (nothing was written)", "3:the cluster of the stack's name is not this toolkit's"})
    static final class ConnectCommand extends Subcommand {
        @Mixin NoKubeconfig merge = new NoKubeconfig();
        @Mixin Profile profile = new Profile();
        @Mixin Force force = new Force();
        @Mixin PortOffset ports = new PortOffset();

        @Override int run() {
            if (stackOptions.prefix == null) {
                throw new Stack.InputException("--prefix", "is required with connect (a grantee cannot list the subscription's stacks)", "acme");
            }
            profile.validate();
            ports.validate();
            Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
            Stack named = named(this, cloud);
            return onCluster(this, () -> {
                AzureLogin.Session session;
                try {
                    session = signIn(cloud, azureOptions.subscription, Connect.SIGN_IN_OTHERWISE);
                } catch (AzureLogin.LoginException e) {
                    throw canSignIn() ? Connect.notGranted(e, named) : e;
                }
                return Connect.run(new Connect.Request(named, azureOptions.subscription, cloud, merge.noKubeconfig, profile.name,
                        force.force, ports.offset), session, host, out, err);
            });
        }
    }

    @Command(name = "token", sortOptions = false, usageHelpAutoWidth = true, showDefaultValues = false,
            description = {"Prints a Kubernetes exec credential for an Entra ID cluster (what the kubeconfig connect writes runs).",
                    "A token of the AKS server application from your Azure sign-in, kept in ~/.kube/cache/metaflow-azure "
                            + "until shortly before it expires; never prompts."},
            exitCodeListHeading = "%nExit codes:%n",
            exitCodeList = {"0:printed", "1:no token (sign in: az login), the message says why", "2:bad input"})
    static final class TokenCommand implements java.util.concurrent.Callable<Integer> {
        @ParentCommand services parent;

        @Option(names = "--tenant", required = true, paramLabel = "ID", description = "Microsoft Entra tenant of the cluster.")
        String tenant;

        @Option(names = "--authority", paramLabel = "URL", description = "Sign-in endpoint of the cloud (default: Azure public cloud's).")
        String authority;

        @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
        boolean help;

        @Override public Integer call() {
            if (!Grants.GUID.matcher(tenant).matches()) {
                parent.err.println("error: --tenant: '" + tenant + "' is not a tenant id (a GUID)");
                parent.err.println("Run 'jbang services.java connect' again to rewrite the kubeconfig.");
                return 2;
            }
            return KubeToken.print(tenant, authority, parent.host, parent.transport, parent.out, parent.err);
        }
    }
}
