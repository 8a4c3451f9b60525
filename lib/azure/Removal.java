package azure;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Plan;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A stack's teardown as a plan of deletions, for the same executor and plan view as provision. The order is in the
 * dependencies: role assignments outside the group first (they are found through the stack's identities, which go
 * with the group), then the group in one operation, then directory objects (found by name and tag, so a re-run still
 * finds them) and their deleted-items entries, and the files on this machine last, once everything in Azure is gone.
 */
public final class Removal {
    private Removal() {}

    /** What exists (as discovery found it), what goes with it, and how it is deleted. */
    public record Deletion(String section, JsonNode found, List<String> inside, Function<Plan.Ctx, JsonNode> delete) implements Plan.Handler {
        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return Optional.of(found); }
        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) { return delete.apply(ctx); }
        @Override public boolean removal() { return true; }
    }

    /** The files on this machine the toolkit wrote for the stack, as found (empty with --keep-local). */
    public record Local(AzureLogin.Host host, Optional<LocalFiles.KubeEntry> kube, List<LocalFiles.Profile> profiles, boolean keep) {}

    /** The preview's sections, in the order it shows them. */
    public static final List<String> SECTIONS = List.of("Azure resource group (one deletion; everything in it goes with it):",
            "Directory objects (service-principal mode):", "Role assignments outside the resource group:",
            "Custom role (a directory-wide definition, not in the group):", "On this machine:");

    public static final String GROUP_DELETING = "already being deleted: waiting for it";

    /** The api-version of Azure Monitor's metrics read (monitor/resource-manager/Microsoft.Insights/stable/2023-10-01). */
    static final String API_METRICS = "2023-10-01";

    /**
     * What the datastore holds, for the plan: blob count and bytes from the storage account's Azure Monitor capacity
     * metrics, read through Resource Manager with the same sign-in (no data-plane role, no listing of every blob). Azure
     * computes them a few times a day, so the line names the hour they are from; null when the stack has no account.
     */
    public static String datastoreSize(Arm arm, Stack stack, Discovery.Found f) {
        String id = null;
        for (JsonNode r : f.groupResources()) {
            if (r.path("type").asText().equalsIgnoreCase("Microsoft.Storage/storageAccounts") && r.path("name").asText().equals(stack.storageAccount())) {
                id = r.path("id").asText();
            }
        }
        if (id == null) return null;
        String what = "container " + stack.container() + " in " + stack.storageAccount();
        JsonNode m;
        try {
            java.time.Instant now = java.time.Instant.now();
            m = arm.getUrl(arm.url(id + "/providers/Microsoft.Insights/metrics", API_METRICS)
                    + "&metricnamespace=Microsoft.Storage/storageAccounts/blobServices&metricnames=BlobCount,BlobCapacity&aggregation=Average"
                    + "&interval=PT1H&timespan=" + now.minus(java.time.Duration.ofHours(48)).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                    + "/" + now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
        } catch (Arm.AzureException e) {
            return what + ": size unknown (Azure Monitor: " + e.code + "); everything in it is deleted with the stack";
        }
        long[] count = latest(m, "BlobCount");
        long[] bytes = latest(m, "BlobCapacity");
        if (count == null || bytes == null) {
            return what + ": size not measured yet (Azure Monitor computes it a few times a day); everything in it is deleted with the stack";
        }
        return what + " holds " + String.format(java.util.Locale.ROOT, "%,d", count[0]) + " blob(s), " + bytesText(bytes[0])
                + " (Azure Monitor, as of " + java.time.Instant.ofEpochMilli(Math.min(count[1], bytes[1])).toString().replace("T", " ")
                .replace(":00Z", " UTC") + "; computed a few times a day, so newer writes may be missing); all of it is deleted with the "
                + "stack, and soft delete cannot bring it back once the account is gone";
    }

    /** The latest hourly value of a metric and its time (epoch millis), or null when it has none. */
    private static long[] latest(JsonNode metrics, String name) {
        for (JsonNode m : metrics.path("value")) {
            if (!m.path("name").path("value").asText().equals(name)) continue;
            long[] best = null;
            for (JsonNode series : m.path("timeseries")) {
                for (JsonNode p : series.path("data")) {
                    if (!p.has("average")) continue;
                    long at = java.time.Instant.parse(p.path("timeStamp").asText()).toEpochMilli();
                    if (best == null || at >= best[1]) best = new long[] {p.path("average").asLong(), at};
                }
            }
            return best;
        }
        return null;
    }

    static String bytesText(long b) {
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = b;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? b + " bytes" : String.format(java.util.Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** The group's step with the datastore's size among its settings, so plan and JSON both carry it. */
    public static List<Plan.Step> withDatastoreSize(List<Plan.Step> steps, String size) {
        if (size == null) return steps;
        List<Plan.Step> out = new ArrayList<>();
        for (Plan.Step st : steps) {
            if (st.item().key().equals(Desired.GROUP)) {
                Map<String, String> settings = new java.util.LinkedHashMap<>(st.item().settings());
                settings.put("data", size);
                Plan.Item i = st.item();
                st = new Plan.Step(new Plan.Item(i.key(), i.kind(), i.name(), i.parent(), i.dependsOn(), settings, i.handler()),
                        st.action(), st.current(), st.changes());
            }
            out.add(st);
        }
        return out;
    }

    /** The deletion steps, in an order the executor accepts (what a step waits for comes before it). */
    public static List<Plan.Step> steps(Stack stack, Discovery.Found f, Local local, boolean noWait) {
        List<Plan.Item> items = new ArrayList<>();
        List<String> azure = new ArrayList<>();
        int n = 0;
        for (Discovery.Assignment a : f.assignments()) {
            String key = "outside-role-" + (++n);
            items.add(item(key, "role assignment", a.role() + " on " + a.scope(), List.of(), settings("held by", a.principalLabel()),
                    deletion(2, ctx -> Clients.of(ctx).arm().delete(a.id(), Desired.API_ROLES, Arm.Watcher.NONE))));
            azure.add(key);
        }
        if (f.group() != null) {
            List<String> inside = new ArrayList<>();
            for (JsonNode r : f.groupResources()) inside.add(Desired.kindOf(r.path("type").asText()) + " " + r.path("name").asText());
            if (f.groupResources().isEmpty()) inside.add("(empty: a half-built stack)");
            if (!f.grantees().isEmpty()) inside.add("role assignments of the access granted to: " + String.join(", ", f.grantees()));
            Map<String, String> s = settings("region", f.group().path("location").asText());
            if (f.groupDeleting()) s.put("state", GROUP_DELETING);
            if (f.nodeGroupExists()) s.put("AKS node resource group", f.nodeGroup() + " (Azure deletes it with the cluster)");
            // With --no-wait the step ends when Azure has accepted the deletion; its name says so, since the console will say "deleted".
            String name = stack.resourceGroup() + (noWait ? " (started only: Azure finishes deleting it in the background)" : "");
            items.add(item(Desired.GROUP, "resource group", name, List.copyOf(azure), s, new Deletion(SECTIONS.get(0), f.group(), inside, ctx -> {
                if (noWait) Clients.of(ctx).arm().deleteNoWait(f.groupId(), Desired.API_GROUPS);
                else Clients.of(ctx).arm().delete(f.groupId(), Desired.API_GROUPS, Arm.Watcher.NONE);
                return Json.obj().put("waited", !noWait);
            })));
            azure.add(Desired.GROUP);
            boolean vault = f.groupResources().stream().anyMatch(r -> r.path("type").asText().equalsIgnoreCase("Microsoft.KeyVault/vaults")
                    && r.path("name").asText().equalsIgnoreCase(stack.vault()));
            if (vault && noWait) {
                s.put("key vault", stack.vault() + " stays soft-deleted for 7 days (not waited for, so not purged): a re-provision recovers it, "
                        + "or run: az keyvault purge --name " + stack.vault());
            }
            if (vault && !noWait) {
                // A deleted vault is only soft-deleted and keeps its global name; purged so that nothing of the stack is left.
                String sub = f.groupId().split("/")[2];
                items.add(item("purge:vault", "deleted key vault", stack.vault(), List.of(Desired.GROUP),
                        settings("where", "Key Vault's soft-deleted vaults: purged for good (it holds the Docker Hub login)"),
                        deletion(0, ctx -> KeyVault.purge(Clients.of(ctx).arm(), sub, stack.location(), stack.vault()))));
                azure.add("purge:vault");
            }
        }
        List<String> afterGroup = f.group() != null ? List.of(Desired.GROUP) : List.copyOf(azure);
        List<String> principals = directory(items, "service principal", f.principals(), "/v1.0/servicePrincipals/", afterGroup, "object id", "id");
        List<String> afterPrincipals = new ArrayList<>(afterGroup);
        afterPrincipals.addAll(principals);
        List<String> purgeAfter = directory(items, "AAD application", f.applications(), "/v1.0/applications/", afterPrincipals, "appId", "appId");
        List<Discovery.DirectoryObject> purge = new ArrayList<>();
        // Deleted directory objects stay restorable for 30 days; they are removed for good, so that nothing is left behind.
        purge.addAll(f.deletedObjects());
        f.principals().forEach(sp -> purge.add(Discovery.DirectoryObject.of("service principal", sp)));
        f.applications().forEach(app -> purge.add(Discovery.DirectoryObject.of("AAD application", app)));
        List<String> beforePurge = new ArrayList<>(afterPrincipals);
        beforePurge.addAll(purgeAfter);
        // Service principals first: a deleted one is found through its application's appId, so the application goes last.
        purge.sort(java.util.Comparator.comparing(o -> o.kind().equals("service principal") ? 0 : 1));
        List<String> principalPurges = new ArrayList<>();
        for (Discovery.DirectoryObject o : purge) {
            String key = "purge:" + o.id();
            List<String> after = new ArrayList<>(beforePurge);
            if (o.kind().equals("service principal")) principalPurges.add(key);
            else after.addAll(principalPurges);
            items.add(item(key, "deleted " + o.kind(), o.displayName(), after,
                    settings("appId", o.appId(), "where", "the directory's deleted items: removed for good"),
                    deletion(1, ctx -> graphDelete(ctx, "/v1.0/directory/deletedItems/" + o.id()))));
            azure.add(key);
        }
        azure.addAll(principals);
        azure.addAll(purgeAfter);
        if (f.customRole() != null) {
            // Deleting the group removes the role's assignments (they are in it) but not the definition: it goes once they are gone.
            String id = f.customRole().path("id").asText();
            items.add(item("custom-role", "custom role", f.customRole().path("properties").path("roleName").asText(), List.copyOf(afterGroup),
                    settings("assignable in", stack.resourceGroup()),
                    deletion(3, ctx -> Clients.of(ctx).arm().delete(id, Desired.API_ROLES, Arm.Watcher.NONE))));
            azure.add("custom-role");
        }
        if (!local.keep()) {
            local.kube().ifPresent(k -> items.add(item("local:kubeconfig", "kubeconfig context", k.context(), List.copyOf(azure),
                    settings("in", k.file() + " (with its cluster and user entries)"),
                    deletion(4, ctx -> LocalFiles.removeContext(local.host(), stack)))));
            for (LocalFiles.Profile p : local.profiles()) {
                if (!p.goes()) continue;
                items.add(item("local:profile:" + p.file(), "Metaflow profile", p.file().toString(), List.copyOf(azure),
                        p.shown() ? Map.of() : settings("state", "the file is gone; its record goes"),
                        deletion(4, ctx -> LocalFiles.deleteProfile(p, stack))));
            }
        }
        return items.stream().map(i -> new Plan.Step(i, Plan.Action.DELETE, Optional.of(((Deletion) i.handler()).found()), List.<String>of())).toList();
    }

    /** What stays, and why: files the user changed or that the toolkit did not write, and what could not be looked for. */
    public static List<String[]> kept(Discovery.Found f, Local local) {
        List<String[]> kept = new ArrayList<>();
        if (local.keep()) {
            local.kube().ifPresent(k -> kept.add(new String[] {"kubeconfig context", k.context() + " in " + k.file(), "--keep-local"}));
            for (LocalFiles.Profile p : local.profiles()) {
                if (p.shown()) kept.add(new String[] {"Metaflow profile", p.file().toString(), "--keep-local"});
            }
        } else {
            for (LocalFiles.Profile p : local.profiles()) {
                if (p.state() == LocalFiles.ProfileState.CHANGED) {
                    kept.add(new String[] {"Metaflow profile", p.file().toString(), "changed since the toolkit wrote it; delete it yourself if you no longer need it"});
                } else if (p.state() == LocalFiles.ProfileState.NO_DIGEST) {
                    kept.add(new String[] {"Metaflow profile", p.file().toString(), "no record that the toolkit wrote it; delete it yourself if you no longer need it"});
                }
            }
        }
        if (f.directoryNote() != null) kept.add(new String[] {"directory objects", "", f.directoryNote()});
        return kept;
    }

    /** One deletion per directory object (Graph {@code path + id}), after {@code after}; their keys. */
    private static List<String> directory(List<Plan.Item> items, String kind, List<JsonNode> objects, String path, List<String> after,
                                          String shown, String field) {
        List<String> keys = new ArrayList<>();
        for (JsonNode o : objects) {
            String id = o.path("id").asText();
            String key = kind + ":" + id;
            items.add(item(key, kind, o.path("displayName").asText(), after, settings(shown, o.path(field).asText()),
                    deletion(1, ctx -> graphDelete(ctx, path + id))));
            keys.add(key);
        }
        return keys;
    }

    private static void graphDelete(Plan.Ctx ctx, String path) {
        Arm graph = Clients.of(ctx).graph();
        graph.deleteUrl(graph.endpoint() + path);
    }

    private static Deletion deletion(int section, Consumer<Plan.Ctx> delete) {
        return new Deletion(SECTIONS.get(section), Json.obj(), List.of(), ctx -> {
            delete.accept(ctx);
            return Json.obj();
        });
    }

    private static Plan.Item item(String key, String kind, String name, List<String> after, Map<String, String> settings, Plan.Handler h) {
        return new Plan.Item(key, kind, name, null, after, settings, h);
    }

    private static Map<String, String> settings(String... kv) {
        return Desired.settings(kv);
    }
}
