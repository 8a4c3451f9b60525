///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS com.azure:azure-core:1.57.0
//DEPS com.fasterxml.jackson.core:jackson-databind:2.18.4
//DEPS com.azure:azure-identity:1.18.2
//DEPS com.fasterxml.jackson.dataformat:jackson-dataformat-yaml:2.18.4
//DEPS org.slf4j:slf4j-api:2.0.17 org.slf4j:slf4j-jdk14:2.0.17
//SOURCES lib/Arm.java lib/AzureLogin.java lib/Clouds.java lib/Console.java lib/Desired.java lib/Executor.java
//SOURCES lib/Graph.java lib/Json.java lib/Options.java lib/Plan.java lib/PlanView.java lib/RequestLog.java
//SOURCES lib/Secrets.java lib/Stack.java lib/Version.java lib/Cli.java lib/LocalFiles.java lib/Preflight.java lib/PrivateFile.java lib/Grants.java
//JAVA_OPTIONS -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Xlog:cds=off
// class-data training run: --prefix cdstrain --dry-run

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Removes a Metaflow stack completely: its Azure resources, its directory objects and the local files written for it. */
@Command(name = "teardown.java", mixinStandardHelpOptions = true, versionProvider = teardown.V.class, sortOptions = false,
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
                "4:deletion needs confirmation: run in a terminal or pass --yes (nothing was deleted)"})
public class teardown implements Callable<Integer> {

    @Mixin Options.StackOptions stackOptions = new Options.StackOptions();
    @Mixin Options.AzureOptions azureOptions = new Options.AzureOptions();

    @Option(names = {"-y", "--yes"}, description = "Delete without asking to type the stack's name.")
    boolean yes;

    @Option(names = "--dry-run", description = "Show what would be deleted and kept, and delete nothing.")
    boolean dryRun;

    @Option(names = "--no-wait", description = "Return once Azure has started deleting the resource group (it takes "
            + "several minutes); prints how to check on it.")
    boolean noWait;

    @Option(names = "--keep-local", description = "Keep the kubeconfig context and the Metaflow profile on this machine.")
    boolean keepLocal;

    @Option(names = "--output", paramLabel = "FORMAT", defaultValue = "text", description = "text or json. Default: ${DEFAULT-VALUE}.")
    String output;

    @Option(names = {"-v", "--verbose"}, description = "Print each Azure request (method, resource, status, duration), and the libraries' warnings.")
    boolean verbose;

    // Where the process's streams and Azure are: main() uses the real ones, tests pass their own.
    AzureLogin.Host host = AzureLogin.Host.current();
    AzureLogin.Transport transport;
    PrintStream out = System.out;
    PrintStream err = System.err;
    boolean interactive = System.console() != null;

    public static void main(String[] args) {
        System.exit(run(args, AzureLogin.Host.current(), null, System.out, System.err));
    }

    /** Runs the command with the given environment, Azure transport (null: the real one) and streams. */
    public static int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err) {
        teardown t = new teardown();
        t.host = host;
        t.transport = transport;
        t.out = out;
        t.err = err;
        return Cli.commandLine(t, out, err).execute(args);
    }

    static final class V implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {"metaflow-azure-toolkit teardown " + Version.VERSION}; }
    }

    /** An application or service principal of the stack in the directory. */
    record DirectoryObject(String kind, String id, String displayName, String appId) {
        static DirectoryObject of(String kind, JsonNode o) {
            return new DirectoryObject(kind, o.path("id").asText(), o.path("displayName").asText(), o.path("appId").asText());
        }
    }

    /** A role assignment held by one of the stack's identities on a scope outside its resource group. */
    record Assignment(String id, String scope, String role, String principalId, String principalLabel) {}

    /** Everything of the stack that exists now, and what is kept. */
    record Found(String where, String groupId, JsonNode group, List<JsonNode> groupResources, String nodeGroup,
                 boolean nodeGroupExists, List<JsonNode> applications, List<JsonNode> principals, List<DirectoryObject> deletedObjects,
                 List<Assignment> assignments, List<String> grantees,
                 Optional<LocalFiles.KubeEntry> kube, List<LocalFiles.Profile> profiles, List<String> elsewhere, String directoryNote) {

        boolean azureEmpty() {
            return group == null && applications.isEmpty() && principals.isEmpty() && deletedObjects.isEmpty() && assignments.isEmpty();
        }

        boolean groupDeleting() {
            return group != null && group.path("properties").path("provisioningState").asText().equalsIgnoreCase("Deleting");
        }
    }

    @Override
    public Integer call() {
        // 1. Validate everything before any network traffic.
        if (stackOptions.prefix == null) {
            throw new Stack.InputException("--prefix", "is required: the short name of the stack to remove", "acme");
        }
        if (!output.equals("text") && !output.equals("json")) {
            throw new Stack.InputException("--output", "'" + output + "' is not text or json", "json");
        }
        if (dryRun && noWait) throw new Stack.InputException("--no-wait", "has no meaning with --dry-run (nothing is deleted)", null);
        Clouds.Cloud cloud = AzureLogin.chooseCloud(azureOptions.cloud, azureOptions.armEndpoint, host);
        Stack input = Stack.of(stackOptions.prefix, stackOptions.env, stackOptions.location, Stack.Settings.defaults(), cloud);
        if (!keepLocal) {
            try {
                LocalFiles.findContext(host, input);
            } catch (java.io.UncheckedIOException e) {
                err.println("error: cannot read the kubeconfig " + LocalFiles.kubeconfig(host) + " ("
                        + AzureLogin.firstLine(e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + "); nothing was deleted.");
                err.println("Fix or move that file and run again, or pass --keep-local to leave the files on this machine alone.");
                return 1;
            }
        }
        boolean json = output.equals("json");
        PrintStream progress = json ? err : out;

        // 2. Sign in: finding the stack needs Azure, even for a dry run.
        RequestLog log = new RequestLog(verbose ? err : null);
        boolean signedIn = AzureLogin.canSignIn(host, transport);
        if (!signedIn) {
            err.println("error: no Azure sign-in found (no az CLI login, no AZURE_* credential variables, no managed identity); nothing was deleted.");
            err.println("Run 'az login' (or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET), then run teardown again.");
            return 1;
        }
        Cli.libraryLogging(verbose, err);
        AzureLogin.Session session = AzureLogin.connect(cloud, azureOptions.subscription, host,
                AzureLogin.Transport.logged(transport, log));
        Stack stack = Stack.of(input.prefix(), input.env(), input.location(), input.settings(), session.cloud());

        // 3. Find the stack by its names, and check its tags.
        Found found = find(stack, session);
        if (found.group() != null && !stack.ownsTags(Json.tagsOf(found.group()))) {
            err.println("error: resource group " + stack.resourceGroup() + " exists but does not carry this stack's tags ("
                    + Stack.TAG_STACK + "=" + stack.name() + ", " + Stack.TAG_MANAGED_BY + "=" + Stack.MANAGED_BY
                    + "); it is not this toolkit's, so nothing was deleted.");
            err.println("Check --prefix, --env, --location and --subscription; if that group is yours, delete it yourself (az group delete).");
            return 3;
        }
        List<JsonNode> foreign = found.groupResources().stream().filter(r -> !stack.ownsTags(Json.tagsOf(r))).toList();
        if (!foreign.isEmpty()) {
            List<String> names = foreign.stream().map(r -> r.path("name").asText() + " (" + r.path("type").asText() + ")").toList();
            err.println("error: resource group " + stack.resourceGroup() + " holds " + foreign.size() + " resource(s) that are not "
                    + "this stack's: " + String.join(", ", names) + "; deleting the group would delete them, so nothing was deleted.");
            err.println("Move them to another resource group (az resource move) or delete them yourself, then run teardown again.");
            return 3;
        }
        boolean localLeft = !keepLocal && (found.kube().isPresent() || found.profiles().stream().anyMatch(LocalFiles.Profile::goes));
        if (found.azureEmpty() && !localLeft) {
            if (json) {
                out.println(Json.write(view(stack, found, dryRun ? "dry run" : "nothing to do")));
            } else {
                out.println("No stack " + stack.name() + " found in " + found.where() + ": no resource group "
                        + stack.resourceGroup() + (found.directoryNote() == null ? ", no directory objects" : "")
                        + (keepLocal ? "" : ", no local files") + ". Nothing to do.");
                for (String other : found.elsewhere()) {
                    out.println("Note: resource group " + other + " carries this stack's tags; it is in another region: "
                            + "pass its --location to remove it.");
                }
                printKept(out, stack, found);
            }
            return 0;
        }

        // 4. Show what goes.
        if (!json) preview(out, stack, found);
        if (dryRun) {
            if (json) out.println(Json.write(view(stack, found, "dry run")));
            else out.println("Dry run: nothing was deleted.");
            return 0;
        }

        // 5. Confirm.
        if (!yes) {
            if (!interactive) {
                if (json) out.println(Json.write(view(stack, found, "needs confirmation")));
                err.println("error: deleting stack " + stack.name() + " needs confirmation and there is no terminal to ask in; nothing was deleted.");
                err.println("Re-run with --yes to delete what is listed, or with --dry-run to only look.");
                return 4;
            }
            out.print("This cannot be undone. Type the stack's name (" + stack.name() + ") to delete it: ");
            out.flush();
            String answer = System.console().readLine();
            if (answer == null || !answer.trim().equals(stack.name())) {
                out.println("That is not " + stack.name() + "; nothing was deleted.");
                return 4;
            }
        }

        // 6. Delete: role assignments outside the group first (they are found through the stack's identities, which go
        //    with the group), then the group in one operation, then directory objects (found by name and tag, so a
        //    re-run still finds them), local files last.
        long start = System.nanoTime();
        Thread hook = new Thread(() -> {
            err.println();
            err.println("Interrupted. Azure carries on with a resource group deletion that has started. "
                    + "Run the same command again to finish the teardown.");
        });
        Runtime.getRuntime().addShutdownHook(hook);
        boolean groupDone;
        try {
            progress.println("Deleting stack " + stack.name() + " ...");
            for (Assignment a : found.assignments()) {
                long t = System.nanoTime();
                session.arm().delete(a.id(), Desired.API_ROLES, Arm.Watcher.NONE);
                progress.println("  deleted   role assignment " + a.role() + " on " + a.scope() + " (" + since(t) + ")");
            }
            groupDone = found.group() == null;
            if (found.group() != null) {
                long t = System.nanoTime();
                if (noWait) {
                    session.arm().deleteNoWait(found.groupId(), Desired.API_GROUPS);
                    progress.println("  deleting  resource group " + stack.resourceGroup() + " (started; Azure finishes it in the background, "
                            + "usually within 10-20 minutes)");
                } else {
                    progress.println("  deleting  resource group " + stack.resourceGroup() + " and the " + found.groupResources().size()
                            + " resource(s) in it" + (found.groupDeleting() ? " (already being deleted: waiting for it)" : "") + " ...");
                    session.arm().delete(found.groupId(), Desired.API_GROUPS, heartbeat(progress, "resource group " + stack.resourceGroup(), t));
                    progress.println("  deleted   resource group " + stack.resourceGroup() + " (" + since(t) + ")");
                    groupDone = true;
                }
            }
            Arm graph = session.graph();
            for (JsonNode sp : found.principals()) {
                long t = System.nanoTime();
                graph.deleteUrl(graph.endpoint() + "/v1.0/servicePrincipals/" + sp.path("id").asText());
                progress.println("  deleted   service principal " + sp.path("displayName").asText() + " (" + since(t) + ")");
            }
            for (JsonNode app : found.applications()) {
                long t = System.nanoTime();
                graph.deleteUrl(graph.endpoint() + "/v1.0/applications/" + app.path("id").asText());
                progress.println("  deleted   AAD application " + app.path("displayName").asText() + " (" + since(t) + ")");
            }
            // Deleted directory objects stay restorable for 30 days; remove them for good, so that nothing is left behind.
            List<DirectoryObject> purge = new ArrayList<>(found.deletedObjects());
            found.principals().forEach(sp -> purge.add(DirectoryObject.of("service principal", sp)));
            found.applications().forEach(app -> purge.add(DirectoryObject.of("AAD application", app)));
            for (DirectoryObject o : purge) {
                long t = System.nanoTime();
                graph.deleteUrl(graph.endpoint() + "/v1.0/directory/deletedItems/" + o.id());
                progress.println("  removed   " + o.kind() + " " + o.displayName() + " from the directory's deleted items (" + since(t) + ")");
            }
        } catch (Arm.Interrupted e) {
            err.println("Interrupted; run the same command again to finish the teardown.");
            return 1;
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running and says what to do
            }
        }
        List<String> localRemoved = new ArrayList<>();
        if (!keepLocal) {
            if (found.kube().isPresent() && LocalFiles.removeContext(host, stack)) {
                localRemoved.add("kubeconfig context " + LocalFiles.kubeContext(stack));
                progress.println("  removed   kubeconfig context " + LocalFiles.kubeContext(stack) + " from " + found.kube().get().file());
            }
            for (LocalFiles.Profile p : found.profiles()) {
                if (p.goes() && LocalFiles.deleteProfile(p, stack)) {
                    localRemoved.add("Metaflow profile " + p.file());
                    progress.println("  removed   Metaflow profile " + p.file());
                }
            }
        }

        // 7. Summarise.
        if (json) {
            ObjectNode v = view(stack, found, groupDone ? "done" : "deleting");
            v.put("millis", (System.nanoTime() - start) / 1_000_000);
            out.println(Json.write(v));
        }
        if (groupDone) {
            progress.println("Done in " + since(start) + ": stack " + stack.name() + " is gone.");
        } else {
            progress.println("Started in " + since(start) + ". Azure is deleting resource group " + stack.resourceGroup() + ".");
            progress.println("Check on it: jbang teardown.java " + stackArgs(stack) + " --dry-run   (or: az group show --name "
                    + stack.resourceGroup() + "); running teardown again without --no-wait waits for it to finish.");
        }
        if (!json) printKept(progress, stack, found);
        return 0;
    }

    // --- finding ------------------------------------------------------------------------------------------

    Found find(Stack stack, AzureLogin.Session session) {
        Arm arm = session.arm();
        String sub = "/subscriptions/" + session.subscriptionId();
        String groupId = sub + "/resourceGroups/" + stack.resourceGroup();
        String where = "subscription " + session.subscriptionName() + " (" + session.subscriptionId() + ")";
        JsonNode group = arm.get(groupId, Desired.API_GROUPS).orElse(null);
        List<JsonNode> resources = new ArrayList<>();
        String nodeGroup = null;
        boolean nodeGroupExists = false;
        Set<String> principalIds = new LinkedHashSet<>();
        Map<String, String> principalLabels = new LinkedHashMap<>();
        boolean ours = group != null && stack.ownsTags(Json.tagsOf(group));
        if (ours) {
            for (JsonNode r : arm.listAll(arm.url(groupId + "/resources", Desired.API_GROUPS))) resources.add(r);
            Desired.Caller caller = new Desired.Caller(session.subscriptionId(), session.callerObjectId(), session.callerType());
            JsonNode aks = arm.get(Desired.aksId(stack, caller), Desired.API_AKS).orElse(null);
            nodeGroup = aks != null ? aks.path("properties").path("nodeResourceGroup").asText(null) : null;
            if (nodeGroup == null) nodeGroup = "MC_" + stack.resourceGroup() + "_" + stack.aks() + "_" + stack.location();
            nodeGroupExists = arm.get(sub + "/resourceGroups/" + nodeGroup, Desired.API_GROUPS).isPresent();
            if (aks != null && aks.path("identity").hasNonNull("principalId")) {
                String id = aks.path("identity").path("principalId").asText();
                principalIds.add(id);
                principalLabels.put(id, "AKS cluster " + stack.aks());
            }
            JsonNode identity = arm.get(Desired.identityId(stack, caller), Desired.API_IDENTITY).orElse(null);
            if (identity != null && identity.path("properties").hasNonNull("principalId")) {
                String id = identity.path("properties").path("principalId").asText();
                principalIds.add(id);
                principalLabels.put(id, "managed identity " + stack.identity());
            }
        }
        List<String> elsewhere = new ArrayList<>();
        if (group == null) {
            for (JsonNode g : arm.listAll(arm.url(sub + "/resourcegroups?$filter=" + Arm.odata("tagName eq '" + Stack.TAG_STACK
                    + "' and tagValue eq '" + stack.name() + "'"), Desired.API_GROUPS))) {
                if (stack.ownsTags(Json.tagsOf(g)) && !g.path("name").asText().equalsIgnoreCase(stack.resourceGroup())) {
                    elsewhere.add(g.path("name").asText() + " (" + g.path("location").asText() + ")");
                }
            }
        }
        List<JsonNode> apps = new ArrayList<>();
        List<JsonNode> sps = new ArrayList<>();
        List<DirectoryObject> deletedApps = new ArrayList<>();
        String directoryNote = null;
        if (session.graph() == null) {
            directoryNote = "this cloud has no Microsoft Graph endpoint; directory objects were not looked for";
        } else {
            apps.addAll(Graph.findApplications(session.graph(), stack.applicationName(), stack.name()));
            deletedApps.addAll(findDeleted(session.graph(), "application", "displayName", stack.applicationName(), stack));
            for (JsonNode app : apps) {
                Graph.findServicePrincipal(session.graph(), app.path("appId").asText()).ifPresent(sp -> {
                    sps.add(sp);
                    principalIds.add(sp.path("id").asText());
                    principalLabels.put(sp.path("id").asText(), "service principal " + stack.applicationName());
                });
            }
        }
        List<DirectoryObject> deletedSps = new ArrayList<>();
        if (session.graph() != null) {
            List<String> appIds = new ArrayList<>();
            apps.forEach(a -> appIds.add(a.path("appId").asText()));
            deletedApps.forEach(a -> appIds.add(a.appId()));
            for (String appId : appIds) deletedSps.addAll(findDeleted(session.graph(), "servicePrincipal", "appId", appId, stack));
        }
        List<Assignment> assignments = new ArrayList<>();
        for (String pid : principalIds) {
            String url = arm.url(sub + "/providers/Microsoft.Authorization/roleAssignments?$filter=" + Arm.odata("principalId eq '" + pid + "'"),
                    Desired.API_ROLES);
            for (JsonNode ra : arm.listAll(url)) {
                String scope = ra.path("properties").path("scope").asText();
                if (!ra.path("properties").path("principalId").asText().equalsIgnoreCase(pid)) continue;
                String lower = scope.toLowerCase(Locale.ROOT);
                String g = groupId.toLowerCase(Locale.ROOT);
                if (lower.equals(g) || lower.startsWith(g + "/")) continue;   // goes with the group
                String roleDef = ra.path("properties").path("roleDefinitionId").asText();
                String roleGuid = roleDef.substring(roleDef.lastIndexOf('/') + 1);
                assignments.add(new Assignment(ra.path("id").asText(), scope, roleName(arm, roleDef, roleGuid), pid, principalLabels.get(pid)));
            }
        }
        // provision.java --grant's role assignments live in the group and go with it; listed so that nobody is surprised.
        List<String> grantees = new ArrayList<>();
        if (ours) {
            Desired.Caller caller = new Desired.Caller(session.subscriptionId(), session.callerObjectId(), session.callerType());
            Grants.existing(arm, stack, caller).stream().map(e -> e.principal().label()).distinct().forEach(grantees::add);
        }
        Optional<LocalFiles.KubeEntry> kube = keepLocal ? Optional.empty() : LocalFiles.findContext(host, stack);
        if (kube.isPresent() && !stack.aks().equals(kube.get().cluster())) kube = Optional.empty();   // same name, another cluster
        List<DirectoryObject> deleted = new ArrayList<>(deletedApps);
        deleted.addAll(deletedSps);
        return new Found(where, groupId, group, resources, nodeGroup, nodeGroupExists, apps, sps, deleted, assignments, grantees, kube,
                LocalFiles.profiles(host, stack), elsewhere, directoryNote);
    }

    /**
     * This stack's objects in the directory's deleted items: what an interrupted teardown left between deleting an
     * object and removing it for good. Applications are matched by name and tag, service principals by their appId.
     */
    static List<DirectoryObject> findDeleted(Arm graph, String type, String field, String value, Stack stack) {
        JsonNode found = graph.getUrl(graph.endpoint() + "/v1.0/directory/deletedItems/microsoft.graph." + type + "?$filter="
                + Arm.odata(field + " eq '" + value + "'"));
        List<DirectoryObject> ours = new ArrayList<>();
        for (JsonNode o : found.path("value")) {
            if (type.equals("servicePrincipal")) {
                ours.add(DirectoryObject.of("service principal", o));
                continue;
            }
            for (JsonNode t : o.path("tags")) {
                if (t.asText().equals(Graph.stackTag(stack.name()))) ours.add(DirectoryObject.of("AAD application", o));
            }
        }
        return ours;
    }

    /** The role's display name: known ones without a request, others from their definition (the id if unreadable). */
    static String roleName(Arm arm, String roleDefinitionId, String guid) {
        String known = Desired.ROLE_NAMES.get(guid);
        if (known != null) return known;
        try {
            return arm.get(roleDefinitionId, Desired.API_ROLES).map(d -> d.path("properties").path("roleName").asText(null))
                    .filter(n -> n != null && !n.isEmpty()).orElse("role " + guid);
        } catch (Arm.AzureException e) {
            return "role " + guid;
        }
    }

    // --- showing --------------------------------------------------------------------------------------------

    void preview(PrintStream o, Stack stack, Found f) {
        o.println("Stack " + stack.name() + " in " + f.where() + ". To be deleted:");
        if (f.group() != null) {
            o.println("  Azure resource group (one deletion; everything in it goes with it):");
            o.println("    - resource group " + stack.resourceGroup() + " (" + f.group().path("location").asText()
                    + (f.groupDeleting() ? ", already being deleted" : "") + ")");
            for (JsonNode r : f.groupResources()) {
                o.println("        " + shortType(r.path("type").asText()) + " " + r.path("name").asText());
            }
            if (f.groupResources().isEmpty()) o.println("        (empty: a half-built stack)");
            if (!f.grantees().isEmpty()) {
                o.println("        role assignments of the access granted to: " + String.join(", ", f.grantees()));
            }
            if (f.nodeGroupExists()) {
                o.println("    - AKS node resource group " + f.nodeGroup() + " (Azure deletes it with the cluster)");
            }
        }
        if (!f.applications().isEmpty() || !f.principals().isEmpty() || !f.deletedObjects().isEmpty()) {
            o.println("  Directory objects (service-principal mode):");
            for (JsonNode a : f.applications()) {
                o.println("    - AAD application " + a.path("displayName").asText() + " (appId " + a.path("appId").asText() + ")");
            }
            for (DirectoryObject d : f.deletedObjects()) {
                o.println("    - " + d.kind() + " " + d.displayName() + " (appId " + d.appId() + ", in the directory's deleted items: removed for good)");
            }
            for (JsonNode p : f.principals()) {
                o.println("    - service principal " + p.path("displayName").asText() + " (object id " + p.path("id").asText() + ")");
            }
        }
        if (!f.assignments().isEmpty()) {
            o.println("  Role assignments outside the resource group:");
            for (Assignment a : f.assignments()) {
                o.println("    - " + a.role() + " on " + a.scope() + " to " + a.principalLabel());
            }
        }
        List<LocalFiles.Profile> profilesGoing = f.profiles().stream()
                .filter(p -> p.state() == LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT).toList();
        if (!keepLocal && (f.kube().isPresent() || !profilesGoing.isEmpty())) {
            o.println("  On this machine:");
            f.kube().ifPresent(k -> o.println("    - kubeconfig context " + k.context() + " (with its cluster and user entries) in " + k.file()));
            for (LocalFiles.Profile p : profilesGoing) o.println("    - Metaflow profile " + p.file());
        }
        if (f.group() == null) {
            o.println("  (no resource group " + stack.resourceGroup() + ": already deleted, or never created)");
        }
        printKept(o, stack, f);
    }

    void printKept(PrintStream o, Stack stack, Found f) {
        List<String> kept = new ArrayList<>();
        if (keepLocal) {
            f.kube().ifPresent(k -> kept.add("kubeconfig context " + k.context() + " in " + k.file() + " (--keep-local)"));
            for (LocalFiles.Profile p : f.profiles()) {
                if (p.shown()) kept.add("Metaflow profile " + p.file() + " (--keep-local)");
            }
        } else {
            for (LocalFiles.Profile p : f.profiles()) {
                if (p.state() == LocalFiles.ProfileState.CHANGED) {
                    kept.add("Metaflow profile " + p.file() + " (changed since the toolkit wrote it; delete it yourself if you no longer need it)");
                } else if (p.state() == LocalFiles.ProfileState.NO_DIGEST) {
                    kept.add("Metaflow profile " + p.file() + " (no record that the toolkit wrote it; delete it yourself if you no longer need it)");
                }
            }
        }
        if (f.directoryNote() != null) kept.add("directory objects: " + f.directoryNote());
        if (kept.isEmpty()) return;
        o.println("Kept:");
        for (String k : kept) o.println("    - " + k);
    }

    ObjectNode view(Stack stack, Found f, String status) {
        ObjectNode v = Json.obj();
        v.put("stack", stack.name());
        v.put("where", f.where());
        v.put("status", status);
        ArrayNode del = v.putArray("delete");
        if (f.group() != null) {
            ObjectNode g = del.addObject().put("kind", "resource group").put("name", stack.resourceGroup()).put("id", f.groupId());
            ArrayNode inside = g.putArray("resources");
            for (JsonNode r : f.groupResources()) {
                inside.addObject().put("type", r.path("type").asText()).put("name", r.path("name").asText()).put("id", r.path("id").asText());
            }
            if (f.nodeGroupExists()) g.put("nodeResourceGroup", f.nodeGroup());
            ArrayNode grantees = g.putArray("grantees");
            f.grantees().forEach(grantees::add);
        }
        for (JsonNode a : f.applications()) {
            del.addObject().put("kind", "AAD application").put("name", a.path("displayName").asText()).put("id", a.path("id").asText());
        }
        for (DirectoryObject d : f.deletedObjects()) {
            del.addObject().put("kind", "deleted " + d.kind()).put("name", d.displayName()).put("id", d.id());
        }
        for (JsonNode p : f.principals()) {
            del.addObject().put("kind", "service principal").put("name", p.path("displayName").asText()).put("id", p.path("id").asText());
        }
        for (Assignment a : f.assignments()) {
            del.addObject().put("kind", "role assignment").put("name", a.role()).put("id", a.id()).put("scope", a.scope());
        }
        ArrayNode kept = v.putArray("keep");
        for (LocalFiles.Profile p : f.profiles()) {
            if (keepLocal ? p.shown() : p.state() == LocalFiles.ProfileState.CHANGED || p.state() == LocalFiles.ProfileState.NO_DIGEST) {
                kept.addObject().put("kind", "Metaflow profile").put("file", p.file().toString()).put("why", keepLocal ? "--keep-local"
                        : p.state() == LocalFiles.ProfileState.CHANGED ? "changed since the toolkit wrote it" : "no record that the toolkit wrote it");
            }
        }
        if (!keepLocal) {
            f.kube().ifPresent(k -> del.addObject().put("kind", "kubeconfig context").put("name", k.context()).put("file", k.file().toString()));
            for (LocalFiles.Profile p : f.profiles()) {
                if (p.state() == LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT) {
                    del.addObject().put("kind", "Metaflow profile").put("file", p.file().toString());
                }
            }
        }
        return v;
    }

    static String shortType(String type) {
        return switch (type.toLowerCase(Locale.ROOT)) {
            case "microsoft.network/virtualnetworks" -> "virtual network";
            case "microsoft.network/privatednszones" -> "private DNS zone";
            case "microsoft.network/privatednszones/virtualnetworklinks" -> "private DNS zone link";
            case "microsoft.dbforpostgresql/flexibleservers" -> "PostgreSQL flexible server";
            case "microsoft.storage/storageaccounts" -> "storage account";
            case "microsoft.containerservice/managedclusters" -> "AKS cluster";
            case "microsoft.managedidentity/userassignedidentities" -> "managed identity";
            default -> type;
        };
    }

    static String stackArgs(Stack s) {
        return "--prefix " + s.prefix() + (s.env().equals(Stack.DEFAULT_ENV) ? "" : " --env " + s.env())
                + (s.location().equals(Stack.DEFAULT_LOCATION) ? "" : " --location " + s.location());
    }

    static String since(long startNanos) {
        return Console.elapsed((System.nanoTime() - startNanos) / 1_000_000);
    }

    /** Prints how long a deletion has been going, every 30 seconds, while Arm polls it. */
    static Arm.Watcher heartbeat(PrintStream progress, String what, long startNanos) {
        return new Arm.Watcher() {
            long last = System.nanoTime();

            @Override public void waiting(Duration next) {
                if (System.nanoTime() - last >= 30_000_000_000L) {
                    last = System.nanoTime();
                    progress.println("  still deleting " + what + " (" + since(startNanos) + ")");
                }
            }
        };
    }
}
