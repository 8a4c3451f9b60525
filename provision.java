///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//SOURCES lib/Toolkit.java
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xlog:cds=off
// class-data training run: --prefix cdstrain --dry-run

import azure.Arm;
import azure.ArmRecovery;
import azure.AcrTasks;
import azure.AzureLogin;
import azure.CacheRules;
import azure.Clients;
import azure.CertificateRotation;
import azure.Clouds;
import azure.Desired;
import azure.Grants;
import azure.Kept;
import azure.KeyVault;
import azure.Pools;
import azure.Preflight;
import azure.Registry;
import azure.Settings;
import azure.Stack;
import azure.TaskImages;
import cli.Apply;
import cli.Cli;
import cli.Options;
import cli.PlanView;
import cli.Script;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Elapsed;
import engine.Executor;
import engine.Json;
import engine.Messages;
import engine.Plan;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** Creates (or brings up to date) the Azure side of a Metaflow stack. */
@Command(name = "provision.java", mixinStandardHelpOptions = true, versionProvider = Script.ShowVersion.class, sortOptions = false,
        usageHelpAutoWidth = true, showDefaultValues = false,
        description = {"Creates the Azure side of a Metaflow stack: resource group, network, private DNS, PostgreSQL, storage, "
                + "AKS with a worker pool, and the identity Metaflow's pods use. Re-running changes only what differs.",
                "Example: provision.java --prefix acme --dry-run"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done (or nothing to do)", "1:failed (the message says what to do; re-running continues)",
                "2:bad input (nothing was touched)", "3:the stack's names are taken by something that is not this stack",
                "4:changes need confirmation: run in a terminal or pass --yes",
                "5:a pre-flight check failed (nothing was written; the message says what to change)",
                "130:interrupted (Ctrl-C); work already started on Azure carries on, re-run to continue"})
public class provision extends Script {

    @Spec CommandSpec spec;

    @Option(names = "--service-principal", description = "Give Metaflow an AAD application + service principal (with a client "
            + "secret) instead of a managed identity with workload identity federation.")
    boolean servicePrincipal;

    @Option(names = "--system-vm-size", paramLabel = "SIZE", defaultValue = "Standard_D2s_v5",
            description = "VM size of the AKS system pool. Default: ${DEFAULT-VALUE}.")
    String systemVmSize;

    @Option(names = "--system-min", paramLabel = "N", defaultValue = "1", description = "System pool autoscale minimum. Default: ${DEFAULT-VALUE}.")
    int systemMin;

    @Option(names = "--system-max", paramLabel = "N", defaultValue = "3", description = "System pool autoscale maximum. Default: ${DEFAULT-VALUE}.")
    int systemMax;

    @Option(names = "--worker-vm-size", paramLabel = "SIZE", defaultValue = "Standard_D4s_v5",
            description = "VM size of the taskworkers pool that runs Metaflow tasks. Default: ${DEFAULT-VALUE}.")
    String workerVmSize;

    @Option(names = "--workers-min", paramLabel = "N", defaultValue = "1", description = "Worker pool autoscale minimum (0 allowed). Default: ${DEFAULT-VALUE}.")
    int workersMin;

    @Option(names = "--workers-max", paramLabel = "N", defaultValue = "10", description = "Worker pool autoscale maximum. Default: ${DEFAULT-VALUE}.")
    int workersMax;

    @Option(names = "--worker-priority", paramLabel = "PRIORITY", defaultValue = "regular", description = "regular or spot: Spot VMs "
            + "for the taskworkers pool cost less but Azure may evict them at any time (flows should use @retry); fixed once the pool "
            + "exists. Default: ${DEFAULT-VALUE}.")
    String workerPriority;

    @Option(names = "--gpu-pool", paramLabel = "SIZE", description = "Add an autoscaling pool of this GPU VM size (e.g. Standard_NC4as_T4_v3) "
            + "for steps with @kubernetes(gpu=N); CPU steps never run there. Leaving it out later deletes the pool (once it has no node).")
    String gpuPool;

    @Option(names = "--gpu-min", paramLabel = "N", description = "GPU pool autoscale minimum (0: no GPU node, and no cost, until a "
            + "GPU step asks for one). Default: " + Settings.DEFAULT_GPU_MIN + ".")
    Integer gpuMin;

    @Option(names = "--gpu-max", paramLabel = "N", description = "GPU pool autoscale maximum; the VM family's vCPU quota must hold "
            + "this many nodes. Default: " + Settings.DEFAULT_GPU_MAX + ".")
    Integer gpuMax;

    @Option(names = "--kubernetes-version", paramLabel = "X.Y", description = "Kubernetes version, e.g. " + Settings.EXAMPLE_K8S_VERSION
            + ": one AKS offers in the region without Long-Term Support or preview (the cluster is Free tier). Default: the region's "
            + "default, named in the plan.")
    String kubernetesVersion;

    @Option(names = "--postgres-version", paramLabel = "N", defaultValue = "16", description = "PostgreSQL major version: 15, 16 or 17 for a new server (13 and 14 are out of Azure's standard support). "
            + "Default: ${DEFAULT-VALUE}.")
    String postgresVersion;

    @Option(names = "--postgres-sku", paramLabel = "SKU", defaultValue = "Standard_B2s",
            description = "PostgreSQL compute size; the tier follows from it (B: Burstable, D: General Purpose, E: Memory Optimized). Default: ${DEFAULT-VALUE}.")
    String postgresSku;

    @Option(names = "--postgres-storage-gb", paramLabel = "GIB", defaultValue = "32", description = "PostgreSQL storage size: one of "
            + "32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767; it can grow, never shrink. Default: ${DEFAULT-VALUE}.")
    int postgresStorageGb;

    @Option(names = "--db-subnet", paramLabel = "CIDR", defaultValue = "172.16.0.0/24",
            description = "Address range of the PostgreSQL subnet. Default: ${DEFAULT-VALUE}.")
    String dbSubnet;

    @Option(names = "--k8s-subnet", paramLabel = "CIDR", defaultValue = Settings.DEFAULT_K8S_SUBNET,
            description = "Address range of the AKS subnet: node addresses only (pods use --pod-cidr); it must hold --system-max + "
                    + "--workers-max + 2 surge nodes, plus the 5 addresses Azure reserves. Default: ${DEFAULT-VALUE}.")
    String k8sSubnet;

    @Option(names = "--pod-cidr", paramLabel = "CIDR", defaultValue = Settings.DEFAULT_POD_CIDR,
            description = "Pod address range of a new cluster (Azure CNI Overlay; outside the vnet and the service range "
                    + Settings.SERVICE_CIDR + " and the ranges AKS reserves, 169.254.0.0/16, 172.30.0.0/16, 172.31.0.0/16 and 192.0.2.0/24; "
                    + "a /24 per node). An existing cluster keeps its network. Default: ${DEFAULT-VALUE}.")
    String podCidr;

    @Option(names = "--registry-sku", paramLabel = "SKU", defaultValue = Registry.DEFAULT_SKU, description = "Tier of the stack's container "
            + "registry: Basic, Standard or Premium (more storage and throughput). Default: ${DEFAULT-VALUE}.")
    String registrySku;

    @Option(names = "--cache-image", paramLabel = "NAME", description = "Cache this Docker Hub image in the stack's registry so that a step's "
            + "@kubernetes(image=\"NAME:TAG\") pulls it from there (repository only, e.g. ubuntu or pytorch/pytorch); repeatable. An official "
            + "image needs nothing more; any other needs the Docker Hub login (--dockerhub-user). Leaving a name out later deletes its rule.")
    List<String> cacheImage = new java.util.ArrayList<>();

    @Option(names = "--dockerhub-user", paramLabel = "NAME", description = "Pull Docker Hub images into the registry's cache with this "
            + "Docker Hub account (instead of the credential-free mirror of the official images); the access token is read from the "
            + "environment variable DOCKERHUB_TOKEN or --dockerhub-token-file, stored in the stack's key vault and never shown. "
            + "Later runs keep the stored token when none is given; leaving the option out later deletes the login (vault purged).")
    String dockerhubUser;

    @Option(names = "--dockerhub-token-file", paramLabel = "PATH", description = "File holding the Docker Hub access token for "
            + "--dockerhub-user (instead of DOCKERHUB_TOKEN).")
    Path dockerhubTokenFile;

    @Option(names = "--grant", paramLabel = "WHO", description = "Give WHO (a user's UPN or object id, a group's display name or "
            + "object id, a service principal's app id) Storage Blob Data Contributor on the container, AKS Cluster User on the "
            + "cluster, the custom role Metaflow flow runner in namespace metaflow and AcrPush on the registry; repeatable. Grants are kept by "
            + "later runs until revoked.")
    List<String> grant = new java.util.ArrayList<>();

    @Option(names = "--revoke", paramLabel = "WHO", description = "Remove the grants of WHO (as for --grant, or as the plan's access line "
            + "shows it); repeatable.")
    List<String> revoke = new java.util.ArrayList<>();

    @Option(names = "--no-task-images", description = "Build no task images: steps without an image then pull python:X.Y through "
            + "the registry's cache and Metaflow installs its packages at each task's start. For a subscription on which ACR Tasks "
            + "is refused although its offer is not known to be (free-credit offers are found out by themselves).")
    boolean noTaskImages;

    @Mixin Options.DryRun dry = new Options.DryRun();
    @Mixin Options.Confirm confirm = new Options.Confirm();

    @Option(names = "--skip-preflight", description = "Skip the read-only checks made before the first write (region, VM sizes, "
            + "quota, global names, permissions, versions). For the rare case a check is wrong.")
    boolean skipPreflight;

    @Option(names = "--retry-wait", paramLabel = "SECONDS", defaultValue = "120",
            description = "Base wait before retrying a failure Azure documents as transient (PostgreSQL InternalServerError waits "
                    + "1x, 2x, 4x this). Default: ${DEFAULT-VALUE}.")
    int retryWait;

    public static void main(String[] args) {
        System.exit(run(args, AzureLogin.Host.current(), null, System.out, System.err));
    }

    public static int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err) {
        return Script.run(new provision(), args, host, transport, out, err);
    }

    /** The settings the options give (their defaults included), validated. */
    Settings settings() {
        if (!workerPriority.equals("regular") && !workerPriority.equals("spot")) {
            throw new Stack.InputException("--worker-priority", "'" + workerPriority + "' is not regular or spot", "spot");
        }
        if (gpuPool == null && (gpuMin != null || gpuMax != null)) {
            throw new Stack.InputException(gpuMin != null ? "--gpu-min" : "--gpu-max", "only goes with --gpu-pool SIZE", "2 --gpu-pool Standard_NC4as_T4_v3");
        }
        return new Settings(systemVmSize, systemMin, systemMax, workerVmSize, workersMin, workersMax, kubernetesVersion,
                postgresVersion, postgresSku, postgresStorageGb, servicePrincipal, dbSubnet, k8sSubnet, podCidr, gpuPool,
                gpuMin == null ? Settings.DEFAULT_GPU_MIN : gpuMin, gpuMax == null ? Settings.DEFAULT_GPU_MAX : gpuMax,
                workerPriority.equals("spot"), registryOptions()).checked();
    }

    /** The registry's options: the Docker Hub token from a file or the environment, never from the command line. */
    Registry.Options registryOptions() {
        String token = null;
        if (dockerhubTokenFile != null) {
            try {
                token = java.nio.file.Files.readString(dockerhubTokenFile).strip();
            } catch (java.io.IOException | RuntimeException e) {
                throw new Stack.InputException("--dockerhub-token-file", "cannot read " + dockerhubTokenFile + " ("
                        + Messages.firstLine(e.getMessage()) + ")", "~/.dockerhub-token");
            }
            if (dockerhubUser == null) {
                throw new Stack.InputException("--dockerhub-token-file", "goes with --dockerhub-user: name the Docker Hub account the token "
                        + "belongs to", "~/.dockerhub-token --dockerhub-user myteam");
            }
        } else if (dockerhubUser != null && host.env(DOCKERHUB_TOKEN) != null && !host.env(DOCKERHUB_TOKEN).isBlank()) {
            // Read only with --dockerhub-user: the variable may be set for other tools, and alone it asks for nothing.
            token = host.env(DOCKERHUB_TOKEN).strip();
        }
        return new Registry.Options(registrySku, cacheImage, dockerhubUser, token == null ? null : new Registry.Token(token), true);
    }

    /** The environment variable the Docker Hub access token is read from. */
    static final String DOCKERHUB_TOKEN = "DOCKERHUB_TOKEN";

    @Override
    public Integer call() {
        // 1. Validate everything before any network traffic.
        if (stackOptions.prefix == null) {
            throw new Stack.InputException("--prefix", "is required: the short name of the stack", "acme");
        }
        boolean json = common.json();
        if (retryWait < 1) throw new Stack.InputException("--retry-wait", "must be at least 1 second", "120");
        Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
        Stack stack = Stack.of(stackOptions.prefix, stackOptions.env, stackOptions.location, cloud);
        Settings settings = settings();
        PrintStream progress = json ? err : out;

        // 2. Sign in. Without a sign-in a dry run shows the plan for an empty subscription; --grant/--revoke need the directory.
        if (!canSignIn() && dry.dryRun && grant.isEmpty() && revoke.isEmpty()) {
            List<Plan.Step> steps = Pools.withoutIdleRemoval(Plan.compute(Desired.items(stack, settings, Desired.Caller.unknown()),
                    new Clients(null, null), false));
            Kept.postgresSupport(steps, settings);
            String note = "No Azure sign-in found (az login, AZURE_* variables or a managed identity); showing the plan for an "
                    + "empty subscription. Nothing was changed.";
            if (json) out.println(Json.write(PlanView.json(stack, null, steps, note)));
            else PlanView.print(out, stack, null, steps, note);
            return 0;
        }
        AzureLogin.Session session = signIn(cloud, azureOptions.subscription, grant.isEmpty() && revoke.isEmpty()
                ? ", or add --dry-run to see the plan." : "; --grant and --revoke look the names up in the directory.");
        stack = stack.in(session.cloud());
        Desired.Caller caller = session.caller();
        Clients ctx = new Clients(session.arm(), session.graph());
        // ACR Tasks builds the task images unless the subscription's offer is one it refuses: known before any write.
        String offer = offer(session);
        settings = settings.withRegistry(settings.registry().withTaskImagesPossible(!noTaskImages && !AcrTasks.refused(offer)));
        String imagesNote = TaskImages.note(noTaskImages, offer);

        // 3. Read what exists and compare.
        List<Plan.Step> steps;
        try {
            steps = plan(stack, settings, caller, ctx, session);
            KeyVault.missingValue(steps, settings.registry());
            String builtWith = Kept.existingK8sSubnet(steps, stack, settings);
            if (builtWith != null && !spec.commandLine().getParseResult().hasMatchedOption("--k8s-subnet")) {
                // A stack built under an older default keeps its AKS subnet unless --k8s-subnet says otherwise.
                settings = settings.withK8sSubnet(builtWith).checked();
                steps = plan(stack, settings, caller, ctx, session);
            }
        } catch (Arm.AzureException e) {
            if (e.status != 403) throw e;
            // A grantee (or anyone without rights on the group) stops here, before any write: the same check, found earlier.
            err.println("error: pre-flight check 'permissions' failed: you may not read " + e.target + " (" + e.code + ").");
            err.println("  Changing the stack needs Owner or User Access Administrator (plus Contributor); a grantee uses it with "
                    + "'jbang services.java connect " + stack.args() + "'.");
            err.println("Nothing was written.");
            return 5;
        }
        Grants.Change access = this.access;
        Kept.refuseStorageShrink(stack, settings, steps);
        Pools.refusePriorityChange(stack, settings, steps);
        Pools.refuseBusyGpuRemoval(stack, steps);
        String pgWarning = Kept.postgresSupport(steps, settings);
        if (pgWarning != null) err.println("warning: " + pgWarning);
        steps = Kept.showKubernetesVersion(steps, settings, settings.kubernetesVersion() == null ? regionDefault(steps, stack, session) : null);
        Plan.Step group = steps.get(0);
        if (group.current().isPresent() && !stack.ownsTags(Json.tagsOf(group.current().get()))) {
            err.println("error: resource group " + stack.resourceGroup() + " exists but does not carry this stack's tags ("
                    + Stack.TAG_STACK + "=" + stack.name() + "); it is not this toolkit's, so nothing was changed.");
            err.println("Choose another --prefix or --env, or delete or rename that group if it is a leftover you own.");
            return 3;
        }
        String where = session.where();
        long changes = steps.stream().filter(s -> s.action() != Plan.Action.NOOP).count();

        // 4. Pre-flight checks: everything knowable before the first write.
        List<Preflight.Check> checks = changes == 0 || skipPreflight ? List.of() : Preflight.run(stack, settings, caller, session, steps);
        if (dry.dryRun) {
            if (json) {
                ObjectNode doc = PlanView.json(stack, where, steps, "Dry run: nothing was changed.");
                if (imagesNote != null) doc.put("taskImages", imagesNote);
                PlanView.addChecks(doc, checks);
                Grants.addJson(doc, access);
                out.println(Json.write(doc));
            } else {
                PlanView.print(out, stack, where, steps, "Dry run: nothing was changed.");
                printNote(imagesNote);
                printMove(steps);
                Grants.print(out, access);
                PlanView.printChecks(out, checks);
            }
            return 0;
        }
        if (!Preflight.passed(checks)) {
            for (Preflight.Check c : checks) {
                if (c.status() != Preflight.Status.FAIL) continue;
                err.println("error: pre-flight check '" + c.name() + "' failed: " + c.message() + ".");
                err.println("  " + c.hint());
            }
            err.println("Nothing was written. Change what is named above and run again (--skip-preflight if a check is wrong).");
            return 5;
        }
        if (changes == 0) {
            if (json) {
                ObjectNode doc = PlanView.result(stack, where, steps, null, "up to date");
                Grants.addJson(doc, access);
                out.println(Json.write(doc));
            } else {
                out.println("Stack " + stack.name() + " in " + where + " is up to date (" + steps.size() + " resources); nothing to do.");
                if (imagesNote != null) out.println(imagesNote);
                out.println(Grants.accessLine(access));
                access.notes().forEach(n -> out.println("  note: " + n));
                out.println("Next: jbang services.java " + stack.args());
            }
            return 0;
        }

        // 5. Show the plan and confirm.
        if (!json) {
            PlanView.print(out, stack, where, steps, null);
            printNote(imagesNote);
            printMove(steps);
            Grants.print(out, access);
        }
        if (!Apply.confirmed(this, confirm.yes, changes + " change(s) planned but not confirmed (no terminal to ask in); nothing was changed.",
                "Re-run with --yes to apply them, or with --dry-run to only look.", "Apply these changes? Type 'yes' to go ahead: ", "yes")) {
            if (interactive) out.println("Nothing was changed.");
            return 4;
        }

        // 6. Apply as a dependency graph.
        progress.println("Applying " + changes + " change(s) to stack " + stack.name() + " ...");
        Executor.Result result = Apply.run(this, steps, ctx, progress, json, new ArmRecovery(Duration.ofSeconds(retryWait)));
        if (result == null) return 130;

        // 7. Summarise.
        if (json) {
            ObjectNode doc = PlanView.result(stack, where, steps, result, result.ok() ? "done" : "failed");
            Grants.addJson(doc, access);
            out.println(Json.write(doc));
        }
        long created = Apply.count(result, Executor.Status.CREATED);
        long updated = Apply.count(result, Executor.Status.UPDATED);
        long deleted = Apply.count(result, Executor.Status.DELETED);
        if (!result.ok()) {
            PlanView.failures(err, result);
            TaskImages.printFailures(err, result);
            capacityAdvice(result, stack, settings, session);
            Path logFile = null;
            try {
                logFile = Cli.requestLog(this).writeTo(host.home().resolve(".metaflow-azure").resolve("logs"), "provision-" + stack.name() + "-"
                        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")) + ".log");
            } catch (Exception e) {
                // the failure message above is what matters
            }
            err.println("What was created stays; re-running the same command continues from there."
                    + (logFile != null ? " Request log: " + logFile : ""));
            return 1;
        }
        progress.println("Done in " + Elapsed.text(result.millis()) + ": " + created + " created, " + updated + " updated, "
                + (deleted == 0 ? "" : deleted + " deleted, ") + (steps.size() - created - updated - deleted) + " unchanged.");
        if (!json) progress.println(Grants.accessLine(access));
        progress.println("Next: jbang services.java " + stack.args());
        return 0;
    }

    /** The subscription's offer (quotaId), or null when it cannot be read: then ACR Tasks is tried, and a refusal is reported. */
    static String offer(AzureLogin.Session session) {
        try {
            return AcrTasks.quotaId(session.arm(), session.subscriptionId());
        } catch (Arm.AzureException e) {
            return null;
        }
    }

    /** A line under the plan (blank line before), when there is one. */
    void printNote(String note) {
        if (note == null) return;
        out.println();
        out.println(note);
    }

    /** Under the plan: what moving the cluster off local accounts means for everyone, when this plan does it. */
    void printMove(List<Plan.Step> steps) {
        String note = CertificateRotation.moveNote(steps);
        if (note != null) {
            out.println();
            out.println(note);
        }
    }

    /** A node pool without capacity or quota gets the same advice as the pre-flight check: sizes that would fit. */
    void capacityAdvice(Executor.Result result, Stack stack, Settings settings, AzureLogin.Session session) {
        for (Executor.Outcome o : result.outcomes().values()) {
            if (o == null || !(o.error() instanceof Arm.AzureException ae)) continue;
            if (!ae.code.equals("QuotaExceeded") && !ae.code.equals("AllocationFailed")) continue;
            String why = ae.code.equals("QuotaExceeded") ? "has no vCPU quota left for it" : "has no capacity for it right now";
            String sizes;
            try {
                sizes = Preflight.suggestSizes(session.arm(), session.subscriptionId(), stack, settings);
            } catch (RuntimeException e) {
                sizes = "(could not list sizes: " + Messages.firstLine(e.getMessage()) + ")";
            }
            err.println("  The region " + stack.location() + " " + why + ". Choose another --worker-vm-size/--system-vm-size, e.g. "
                    + sizes + ", or request a quota increase; then re-run: everything created so far is kept.");
        }
    }

    /** The Kubernetes version a new cluster gets when none is asked for, as AKS says for the region (null when unknown). */
    static String regionDefault(List<Plan.Step> steps, Stack stack, AzureLogin.Session session) {
        if (steps.stream().noneMatch(st -> st.item().key().equals(Desired.AKS) && st.current().isEmpty())) return null;
        try {
            return Preflight.kubernetesVersions(session.arm(), "/subscriptions/" + session.subscriptionId(), stack.location()).defaultVersion();
        } catch (Arm.AzureException e) {
            return null;   // the plan then says "region default"; the pre-flight check reports what went wrong
        }
    }

    /** Who has access, and the grants as they were found (read once, on the first plan). */
    Grants.Change access;
    List<Grants.Existing> granted;

    /**
     * The stack's resources, then the grants' role assignments (to keep or create, and to delete). The grants are read only
     * once the group exists: a new stack has none, and its first run sends no request for them.
     */
    List<Plan.Step> plan(Stack stack, Settings settings, Desired.Caller caller, Plan.Ctx ctx, AzureLogin.Session session) {
        List<Plan.Step> steps = new java.util.ArrayList<>(Pools.withoutIdleRemoval(Kept.showKeptNetwork(
                Plan.compute(Desired.items(stack, settings, caller), ctx, true))));
        if (access == null) {
            granted = steps.get(0).current().isPresent() ? Grants.existing(session.arm(), stack, caller) : List.of();
            access = Grants.decide(granted, grant, revoke, session.graph(), caller);
        }
        steps.addAll(Plan.compute(Grants.items(stack, caller, access, granted), ctx, true));
        if (steps.get(0).current().isPresent()) {
            steps.addAll(Plan.compute(CacheRules.removals(session.arm(), stack, caller, settings.registry()), ctx, true));
        }
        return steps;
    }
}
