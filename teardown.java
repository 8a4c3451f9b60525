///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//SOURCES lib/Toolkit.java
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xlog:cds=off
// class-data training run: --prefix cdstrain --dry-run

import azure.ArmRecovery;
import azure.AzureLogin;
import azure.Clients;
import azure.Clouds;
import azure.Discovery;
import azure.LocalFiles;
import azure.Removal;
import azure.Stack;
import cli.Apply;
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
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Removes a Metaflow stack completely: its Azure resources, its directory objects and the local files written for it. */
@Command(name = "teardown.java", mixinStandardHelpOptions = true, versionProvider = Script.ShowVersion.class, sortOptions = false,
        usageHelpAutoWidth = true, showDefaultValues = false,
        description = {"Removes a stack completely, and nothing else: the resource group and everything in it (one Azure "
                + "operation), the AAD application and service principal (service-principal mode), role assignments the stack's "
                + "identities hold outside the group, and, on this machine, the kubeconfig context and the Metaflow profile "
                + "the toolkit wrote. Only what carries this stack's tags is touched. Re-running finishes an interrupted teardown.",
                "Example: teardown.java --prefix acme --dry-run"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done, or no stack found (nothing to do)", "1:failed (the message says what to do; re-running continues)",
                "2:bad input (nothing was touched)",
                "3:refused: something with the stack's names is not this stack's (nothing was deleted)",
                "4:deletion needs confirmation: run in a terminal or pass --yes (nothing was deleted)",
                "130:interrupted (Ctrl-C); a deletion Azure has started carries on, re-run to finish"})
public class teardown extends Script {

    @Mixin Options.DryRun dry = new Options.DryRun();
    @Mixin Options.Confirm confirm = new Options.Confirm();

    @Option(names = "--no-wait", description = "Return once Azure has started deleting the resource group (it takes "
            + "several minutes); prints how to check on it.")
    boolean noWait;

    @Option(names = "--keep-local", description = "Keep the kubeconfig context and the Metaflow profile on this machine.")
    boolean keepLocal;

    public static void main(String[] args) {
        System.exit(run(args, AzureLogin.Host.current(), null, System.out, System.err));
    }

    public static int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err) {
        return Script.run(new teardown(), args, host, transport, out, err);
    }

    @Override
    public Integer call() {
        // 1. Validate everything before any network traffic, the kubeconfig this run may edit included.
        if (stackOptions.prefix == null) {
            throw new Stack.InputException("--prefix", "is required: the short name of the stack to remove", "acme");
        }
        boolean json = common.json();
        if (dry.dryRun && noWait) throw new Stack.InputException("--no-wait", "has no meaning with --dry-run (nothing is deleted)", null);
        Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
        Stack stack = Stack.of(stackOptions.prefix, stackOptions.env, stackOptions.location, cloud);
        Optional<LocalFiles.KubeEntry> kube;
        try {
            kube = keepLocal ? Optional.empty() : LocalFiles.findContext(host, stack);
        } catch (java.io.UncheckedIOException e) {
            return fail("cannot read the kubeconfig " + LocalFiles.kubeconfig(host) + " (" + Messages.firstLine(e.getCause() != null
                    ? e.getCause().getMessage() : e.getMessage()) + "); nothing was deleted.",
                    "Fix or move that file and run again, or pass --keep-local to leave the files on this machine alone.", 1);
        }
        PrintStream progress = json ? err : out;

        // 2. Sign in: finding the stack needs Azure, even for a dry run.
        AzureLogin.Session session = signIn(cloud, azureOptions.subscription, ", then run teardown again.");
        stack = stack.in(session.cloud());

        // 3. Find what exists of the stack, and refuse if its names hold anything that is not its own.
        Discovery.Found found = Discovery.read(session, stack);
        if (found.groupForeign(stack)) {
            return fail("resource group " + stack.resourceGroup() + " exists but does not carry this stack's tags (" + Stack.TAG_STACK + "="
                    + stack.name() + ", " + Stack.TAG_MANAGED_BY + "=" + Stack.MANAGED_BY + "); it is not this toolkit's, so nothing was deleted.",
                    "Check --prefix, --env, --location and --subscription; if that group is yours, delete it yourself (az group delete).", 3);
        }
        List<String> foreign = found.foreignResources(stack).stream().map(r -> r.path("name").asText() + " (" + r.path("type").asText() + ")").toList();
        if (!foreign.isEmpty()) {
            return fail("resource group " + stack.resourceGroup() + " holds " + foreign.size() + " resource(s) that are not this stack's: "
                    + String.join(", ", foreign) + "; deleting the group would delete them, so nothing was deleted.",
                    "Move them to another resource group (az resource move) or delete them yourself, then run teardown again.", 3);
        }
        if (kube.isPresent() && !stack.aks().equals(kube.get().cluster())) kube = Optional.empty();   // same name, another cluster
        Removal.Local local = new Removal.Local(host, kube, LocalFiles.profiles(host, stack), keepLocal);
        List<Plan.Step> steps = Removal.steps(stack, found, local, noWait);
        if (!found.groupDeleting()) steps = Removal.withDatastoreSize(steps, Removal.datastoreSize(session.arm(), stack, found));
        List<String[]> kept = Removal.kept(found, local);

        // 4. Show what goes, and what stays.
        if (steps.isEmpty()) {
            if (json) {
                out.println(Json.write(document(stack, found, steps, kept, dry.dryRun ? "dry run" : "nothing to do", null)));
                return 0;
            }
            out.println("No stack " + stack.name() + " found in " + found.where() + ": no resource group " + stack.resourceGroup()
                    + (found.directoryNote() == null ? ", no directory objects" : "") + (keepLocal ? "" : ", no local files") + ". Nothing to do.");
            for (String other : found.elsewhere()) {
                out.println("Note: resource group " + other + " carries this stack's tags; it is in another region: pass its --location to remove it.");
            }
            PlanView.printKept(out, kept);
            return 0;
        }
        if (!json) {
            PlanView.printRemoval(out, stack, found.where(), steps, kept);
            if (found.group() == null) out.println("  (no resource group " + stack.resourceGroup() + ": already deleted, or never created)");
        }
        if (dry.dryRun) {
            if (json) out.println(Json.write(document(stack, found, steps, kept, "dry run", null)));
            else out.println("Dry run: nothing was deleted.");
            return 0;
        }

        // 5. Confirm: by typing the stack's name.
        if (!Apply.confirmed(this, confirm.yes, "deleting stack " + stack.name() + " needs confirmation and there is no terminal to ask in; "
                + "nothing was deleted.", "Re-run with --yes to delete what is listed, or with --dry-run to only look.",
                "This cannot be undone. Type the stack's name (" + stack.name() + ") to delete it: ", stack.name())) {
            if (json) out.println(Json.write(document(stack, found, steps, kept, "needs confirmation", null)));
            if (interactive) out.println("That is not " + stack.name() + "; nothing was deleted.");
            return 4;
        }

        // 6. Delete, as a plan run by the executor (the order is in the steps' dependencies).
        progress.println("Deleting stack " + stack.name() + " ..." + (found.groupDeleting() ? " (resource group " + stack.resourceGroup()
                + " is " + Removal.GROUP_DELETING + ")" : ""));
        Executor.Result result = Apply.run(this, steps, new Clients(session.arm(), session.graph()), progress, json,
                new ArmRecovery(Duration.ofSeconds(120)));
        if (result == null) return 130;

        // 7. Summarise.
        boolean groupDone = found.group() == null || !noWait;
        if (json) {
            out.println(Json.write(document(stack, found, steps, kept, !result.ok() ? "failed" : groupDone ? "done" : "deleting", result)));
        }
        if (!result.ok()) {
            PlanView.failures(err, result);
            err.println("What is deleted stays deleted; fix what is named above and run the same command again to finish the teardown.");
            return 1;
        }
        if (groupDone) {
            progress.println("Done in " + Elapsed.text(result.millis()) + ": stack " + stack.name() + " is gone.");
        } else {
            progress.println("Started in " + Elapsed.text(result.millis()) + ". Azure is deleting resource group " + stack.resourceGroup()
                    + " (usually within 10-20 minutes).");
            progress.println("Check on it: jbang teardown.java " + stack.args() + " --dry-run   (or: az group show --name "
                    + stack.resourceGroup() + "); running teardown again without --no-wait waits for it to finish.");
        }
        if (!json) PlanView.printKept(progress, kept);
        return 0;
    }

    static ObjectNode document(Stack stack, Discovery.Found found, List<Plan.Step> steps, List<String[]> kept, String status, Executor.Result result) {
        ObjectNode doc = PlanView.result(stack, found.where(), steps, result, status);
        PlanView.addKept(doc, kept);
        return doc;
    }
}
