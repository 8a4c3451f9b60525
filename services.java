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

import azure.AzureLogin;
import azure.Clouds;
import azure.Desired;
import azure.Discovery;
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
import cluster.Kube;
import cluster.Manifests;
import cluster.Pins;
import cluster.ServiceObjects;
import cluster.StackCluster;
import cluster.StatusView;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
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
public class services extends Script {


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
    static final String PINNED = " Default (pinned): ${DEFAULT-VALUE}.";

    @Option(names = "--metadata-image", paramLabel = "IMAGE", defaultValue = Pins.METADATA_IMAGE,
            description = "Image of the metadata service, its migrations and the UI backend." + PINNED)
    String metadataImage;

    @Option(names = "--ui-image", paramLabel = "IMAGE", defaultValue = Pins.UI_IMAGE, description = "Image of the Metaflow UI." + PINNED)
    String uiImage;

    @Option(names = "--ui-backend-url", paramLabel = "URL", defaultValue = Catalog.LOCAL_UI_BACKEND_URL,
            description = "The UI backend as the user's browser reaches it (injected into the UI). Default: ${DEFAULT-VALUE} (--forward).")
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

    @Option(names = "--no-argo", description = "Do not install Argo Workflows and Argo Events (no scheduled or event-triggered flows).")
    boolean noArgo;

    @Option(names = "--manifests", paramLabel = "DIR",
            description = "Use the *.yaml templates in DIR instead of the bundled ones.")
    Path manifests;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "600",
            description = "How long to wait for the deployments to become ready, and then for the event bus and event source; also caps "
                    + "each wait of the stack check. Default: ${DEFAULT-VALUE}.")
    int timeout;

    @Mixin Options.DryRun dry = new Options.DryRun();

    @Option(names = "--render-to", paramLabel = "DIR", description = "With --dry-run: write the objects to DIR/<nn>-<kind>-<name>.yaml instead of stdout.")
    Path renderTo;

    @Option(names = "--forward", description = "Hold port-forwards to the metadata service (" + Catalog.METADATA_PORT + "), UI backend ("
            + Catalog.UI_BACKEND_PORT + "), UI (" + Catalog.UI_PORT + "), Argo server (" + Catalog.ARGO_SERVER_PORT + ") and events webhook ("
            + Catalog.WEBHOOK_PORT + "), following pod replacements, until Ctrl-C.")
    boolean forward;

    @Option(names = "--port-offset", paramLabel = "N", defaultValue = "0",
            description = "With --forward: add N to every local port (e.g. 10000: metadata on " + (10000 + Catalog.METADATA_PORT) + ", UI on "
                    + (10000 + Catalog.UI_PORT) + "), for machines "
                    + "where the usual ports are taken. Deploy with a matching --ui-backend-url. Default: ${DEFAULT-VALUE}.")
    int portOffset;

    @Option(names = "--status", description = "Show the stack's health (deployments, database check, Argo, config profile); exit 1 if unhealthy.")
    boolean status;

    @Option(names = "--connect", description = "For a data scientist granted access (provision.java --grant): fetch the cluster's user "
            + "kubeconfig and merge it, write the Metaflow config profile the admin's deploy published; writes nothing to Azure or the "
            + "cluster. Needs --prefix (and --env/--location when not the defaults).")
    boolean connect;

    @Option(names = "--check", description = "Run only the stack check against the deployed stack: short-lived probes (a Job as the task "
            + "identity writing, reading and deleting a blob; " + Catalog.DB_CHECK_PATH + "; a one-step Argo Workflow; a webhook event; probe image (pinned): " + Pins.PROBE_IMAGE + "), removed "
            + "afterwards; exit 1 if any fails.")
    boolean check;

    @Option(names = "--no-check", description = "Do not run the stack check after a deploy.")
    boolean noCheck;

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
        s.stop = stop;
        return Script.run(s, args, host, transport, out, err);
    }

    static final Pattern PROFILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}");
    static final Pattern IMAGE = Pattern.compile("[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})");

    @Override
    public Integer call() {
        // 1. Validate everything before any network traffic.
        boolean json = validate();
        Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
        // The stack the options name (checked even where Azure finds the stack by its tags); null without --prefix.
        Stack named = stackOptions.prefix == null ? null : Stack.of(stackOptions.prefix, stackOptions.env, stackOptions.location, cloud);
        boolean argo = !noArgo;
        List<Manifests.Template> templates;
        try {
            templates = Manifests.templates(manifests);
        } catch (Manifests.ManifestException e) {
            return fail(e.getMessage(), "Check the --manifests directory.", 2);
        }

        try {
            if (connect) {
                AzureLogin.Session session;
                try {
                    session = signIn(cloud, azureOptions.subscription, Connect.SIGN_IN_OTHERWISE);
                } catch (AzureLogin.LoginException e) {
                    throw canSignIn() ? Connect.notGranted(e, named) : e;
                }
                return Connect.run(new Connect.Request(named, azureOptions.subscription, cloud, noKubeconfig, profile, force, portOffset),
                        session, host, out, err);
            }
            // The Argo releases are read (and checked, the JetStream choice included) before any Azure or cluster request.
            ArgoInstall argoInstall = argo && !forward && !status && !check ? ArgoInstall.load(new ArgoInstall.Request(workflowsVersion,
                    eventsVersion, jetStreamVersion, argoReleaseUrl, argoManifests, Argo.keptDir(host.home())), dry.dryRun, err) : null;
            ServiceObjects render = new ServiceObjects(metadataImage, uiImage, uiBackendUrl, !userCluster(), argoInstall);

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

            // 3. --forward, --status and --check with a kubeconfig of the user's need no Azure at all.
            if ((forward || status || check) && userCluster()) {
                try (KubernetesClient client = StackCluster.ofUser(kubeconfig, context, host)) {
                    if (check) return checkOnly(client, cloud, argo);
                    return forwardOrStatus(client, named, argo);
                }
            }

            // 4. Sign in and find the stack by its tags.
            StackCluster.Target target = findStack(cloud);
            if (target == null) return 2;
            Stack stack = target.stack();

            // 5. Reach the cluster: the stack's AKS (merging its context into ~/.kube/config) or the one given.
            try (KubernetesClient client = userCluster() ? StackCluster.ofUser(kubeconfig, context, host)
                    : StackCluster.ofStack(target, noKubeconfig, host, out)) {
                if (forward || status) return forwardOrStatus(client, stack, argo);
                if (check) return Check.report(client, checkSettings(stack, target.facts(), argo, target.session().cloud()), out, err, result);
                int deployed = Deploy.run(client, target, templates, render, new Deploy.Settings(timeout, pollMillis, profile, force,
                        portOffset, stackOptions.prefix != null), host, out, err);
                // 6. Every deploy ends with the stack check: ready deployments do not prove that a flow will run.
                if (deployed != 0 || noCheck) return deployed;
                return Check.report(client, checkSettings(stack, target.facts(), argo, target.session().cloud()), out, err, result);
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

    /** Checks every option alone and with the others (exit 2, nothing touched); true for --output json. */
    boolean validate() {
        int modes = (dry.dryRun ? 1 : 0) + (forward ? 1 : 0) + (status ? 1 : 0) + (connect ? 1 : 0) + (check ? 1 : 0);
        if (modes > 1) throw new Stack.InputException("--dry-run/--forward/--status/--connect/--check", "choose one of them", "--status");
        if (connect && stackOptions.prefix == null) {
            throw new Stack.InputException("--prefix", "is required with --connect (a grantee cannot list the subscription's stacks)", "acme");
        }
        if (connect && (kubeconfig != null || context != null)) {
            throw new Stack.InputException("--connect", "fetches the stack's own cluster credential; leave out --kubeconfig/--context", null);
        }
        if (noCheck && modes > 0) throw new Stack.InputException("--no-check", "only goes with a deploy", "--no-check");
        boolean json = common.json();
        if (json && (dry.dryRun || forward || status || connect || noCheck)) {
            throw new Stack.InputException("--output", "json goes only with a deploy or --check (it prints the check's result)", "--check --output json");
        }
        if (portOffset < 0 || portOffset + Catalog.highestPort() > 65535) {
            throw new Stack.InputException("--port-offset", "must be between 0 and " + (65535 - Catalog.highestPort()), "10000");
        }
        if (renderTo != null && !dry.dryRun) throw new Stack.InputException("--render-to", "only goes with --dry-run", "--dry-run --render-to out");
        if (timeout < 1) throw new Stack.InputException("--timeout", "must be at least 1 second", "600");
        // Each value given against its form: option, value, form, what it is not, an example.
        String[][] forms = {
                {"--profile", profile, PROFILE.pattern(), "must be letters, digits, '.', '_' or '-'", "acme-default"},
                {"--metadata-image", metadataImage, IMAGE.pattern(), "is not an image reference with a tag (registry/repo:tag)", Pins.METADATA_IMAGE},
                {"--ui-image", uiImage, IMAGE.pattern(), "is not an image reference with a tag (registry/repo:tag)", Pins.UI_IMAGE},
                {"--argo-workflows-version", workflowsVersion, "v4\\.[0-9]+\\.[0-9]+", "is not an Argo Workflows 4.x release tag", Pins.ARGO_WORKFLOWS},
                {"--argo-events-version", eventsVersion, "v1\\.9\\.[0-9]+", "is not an Argo Events 1.9.x release tag", Pins.ARGO_EVENTS},
                {"--jetstream-version", jetStreamVersion, "[A-Za-z0-9][A-Za-z0-9._-]{0,62}", "is not a version", "2.10.29"}};
        for (String[] f : forms) {
            if (f[1] != null && !f[1].matches(f[2])) throw new Stack.InputException(f[0], "'" + f[1] + "' " + f[3], f[4]);
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
        if (!uiBackendUrl.matches("https?://.+")) throw new Stack.InputException("--ui-backend-url", "must be an http(s) URL", Catalog.LOCAL_UI_BACKEND_URL);
        return json;
    }

    /** With --kubeconfig or --context the services go to a cluster of the user's, else to the stack's AKS. */
    boolean userCluster() {
        return kubeconfig != null || context != null;
    }

    /** --forward or --status on the cluster; stack null: a cluster of the user's kubeconfig and no --prefix. */
    int forwardOrStatus(KubernetesClient client, Stack stack, boolean argo) {
        return forward ? Forward.untilStopped(client, stack, argo, portOffset, out, stop, pollMillis) : StatusView.show(client, stack, argo, profile, host, out);
    }

    /** The probes' settings: task settings from the very config deploy writes for this stack, so the two cannot drift. */
    Check.Settings checkSettings(Stack stack, StackFacts facts, boolean argo, Clouds.Cloud cloud) {
        return Check.settings(stack, facts, argo, portOffset, !userCluster(), cloud, Check.Bounds.of(timeout * 1000L, pollMillis));
    }

    /** --check on a cluster of the user's kubeconfig, without Azure; only the stack's cluster-side names are used (not the prefix's). */
    int checkOnly(KubernetesClient client, Clouds.Cloud cloud, boolean argo) {
        Stack stack = Stack.of(stackOptions.prefix != null ? stackOptions.prefix : "cluster", stackOptions.env, stackOptions.location, cloud);
        return Check.onUserCluster(client, stack, argo, (facts, withArgo) -> checkSettings(stack, facts, withArgo, cloud), out, err, result);
    }

    // --- Azure: the stack ------------------------------------------------------------------------------

    StackCluster.Target findStack(Clouds.Cloud cloud) {
        AzureLogin.Session session = signIn(cloud, azureOptions.subscription, ", or use --dry-run (no sign-in needed), or --kubeconfig "
                + "with --status/--forward.");
        String where = session.where();
        Discovery.Listed f = StackCluster.choose(Discovery.stacks(session.arm(), session.subscriptionId()), stackOptions.prefix,
                stackOptions.env, where, err);
        if (f == null) return null;
        Stack stack = Stack.of(f.prefix(), f.env(), f.location(), session.cloud());
        Desired.Caller caller = session.caller();
        StackFacts facts = StackFacts.read(session.arm(), session.graph(), stack, caller, session.tenantId());
        out.println("Stack " + stack.name() + " in " + where + ", " + (facts.servicePrincipal() ? "service-principal" : "workload-identity") + " mode.");
        return new StackCluster.Target(stack, facts, session, caller);
    }
}
