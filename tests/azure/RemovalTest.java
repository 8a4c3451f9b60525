package azure;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Plan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Teardown's plan of deletions (lib/Removal.java) without Azure: which steps there are and what each waits for, so that
 * the executor keeps today's order whatever it runs in parallel.
 */
class RemovalTest {
    static final Stack ACME = Stack.of("acme", Stack.DEFAULT_ENV, Stack.DEFAULT_LOCATION, Clouds.PUBLIC);

    static JsonNode obj(String json) { return Json.parse(json); }

    /** A stack in service-principal mode with one grant outside its group, one leftover deleted application, and local files. */
    static Discovery.Found found() {
        JsonNode group = obj("{\"name\":\"rg\",\"location\":\"eastus\",\"properties\":{\"provisioningState\":\"Succeeded\"}}");
        return new Discovery.Found("subscription S", "/subscriptions/s/resourceGroups/rg", group,
                List.of(obj("{\"type\":\"Microsoft.Storage/storageAccounts\",\"name\":\"stacmemfdefault\"}")), "MC_x", true,
                List.of(obj("{\"id\":\"app1\",\"displayName\":\"app-acme\",\"appId\":\"a1\"}")),
                List.of(obj("{\"id\":\"sp1\",\"displayName\":\"app-acme\",\"appId\":\"a1\"}")),
                List.of(new Discovery.DirectoryObject("AAD application", "old-app", "app-acme", "a0")),
                List.of(new Discovery.Assignment("/subscriptions/s/resourceGroups/other/providers/Microsoft.Authorization/roleAssignments/r1",
                        "/subscriptions/s/resourceGroups/other", "Reader", "p1", "managed identity id-acme")),
                List.of("alice@contoso.com"), List.of(), null,
                obj("{\"id\":\"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/d1\","
                        + "\"properties\":{\"roleName\":\"Metaflow flow runner (rg, subscription s)\"}}"));
    }

    static Removal.Local local(boolean keep) {
        var kube = new LocalFiles.KubeEntry(Path.of("/home/u/.kube/config"), "aks-acme-metaflow-default", "aks-acme-metaflow-default", "u", "https://x", true);
        var profile = new LocalFiles.Profile(Path.of("/home/u/.metaflowconfig/config_acme-default.json"), LocalFiles.ProfileState.WRITTEN_BY_TOOLKIT);
        return new Removal.Local(new AzureLogin.Host(Map.of(), Path.of("/home/u")), Optional.of(kube), List.of(profile), keep);
    }

    /** Every key a step waits for, directly or through others. */
    static Map<String, List<String>> waitsFor(List<Plan.Step> steps) {
        Map<String, List<String>> all = new HashMap<>();
        for (Plan.Step s : steps) {
            List<String> w = new ArrayList<>();
            for (String d : s.item().dependsOn()) {
                assertTrue(all.containsKey(d), s.item().key() + " waits for " + d + ", which is not listed before it");
                w.add(d);
                w.addAll(all.get(d));
            }
            all.put(s.item().key(), w);
        }
        return all;
    }

    static String key(List<Plan.Step> steps, String kind, String name) {
        return steps.stream().filter(s -> s.item().kind().equals(kind) && s.item().name().startsWith(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " " + name)).item().key();
    }

    @Test
    void everythingIsADeletionInTheOrderTeardownPromises() {
        List<Plan.Step> steps = Removal.steps(ACME, found(), local(false), false);
        assertTrue(steps.stream().allMatch(s -> s.action() == Plan.Action.DELETE));
        Map<String, List<String>> waits = waitsFor(steps);
        String outside = key(steps, "role assignment", "Reader on ");
        String group = key(steps, "resource group", ACME.resourceGroup());
        String sp = key(steps, "service principal", "app-acme");
        String app = key(steps, "AAD application", "app-acme");
        String purgeSp = key(steps, "deleted service principal", "app-acme");
        String purgeApp = steps.stream().filter(s -> s.item().kind().equals("deleted AAD application") && s.item().key().endsWith("app1"))
                .findFirst().orElseThrow().item().key();
        String purgeOld = steps.stream().filter(s -> s.item().key().endsWith("old-app")).findFirst().orElseThrow().item().key();
        String kube = key(steps, "kubeconfig context", "aks-acme");
        String profile = key(steps, "Metaflow profile", "/home/u");
        String role = key(steps, "custom role", "Metaflow flow runner");

        // Role assignments outside the group go first: they are found through identities that go with the group.
        assertTrue(waits.get(group).contains(outside));
        // Directory objects after the group; the service principal before its application.
        assertTrue(waits.get(sp).contains(group));
        assertTrue(waits.get(app).containsAll(List.of(group, sp)));
        // Deleted items are purged after both deletions, service principals before applications (found through their appId).
        assertTrue(waits.get(purgeSp).containsAll(List.of(sp, app)));
        assertTrue(waits.get(purgeApp).contains(purgeSp));
        assertTrue(waits.get(purgeOld).contains(purgeSp));
        // The grantees' custom role once the group (and with it every assignment of the role) is gone.
        assertTrue(waits.get(role).contains(group));
        // Files on this machine only once everything in Azure is gone.
        for (String local : List.of(kube, profile)) {
            assertTrue(waits.get(local).containsAll(List.of(outside, group, sp, app, purgeSp, purgeApp, purgeOld, role)), local + " waits for " + waits.get(local));
        }
    }

    @Test
    void theGroupStepShowsWhatGoesWithIt() {
        Plan.Step group = Removal.steps(ACME, found(), local(false), false).stream()
                .filter(s -> s.item().key().equals(Desired.GROUP)).findFirst().orElseThrow();
        Removal.Deletion d = (Removal.Deletion) group.item().handler();
        assertEquals(List.of("storage account stacmemfdefault", "role assignments of the access granted to: alice@contoso.com"), d.inside());
        assertEquals("MC_x (Azure deletes it with the cluster)", group.item().settings().get("AKS node resource group"));
        assertEquals(Removal.SECTIONS.get(0), d.section());
    }

    @Test
    void keepLocalLeavesTheFilesOutAndListsThemAsKept() {
        List<Plan.Step> steps = Removal.steps(ACME, found(), local(true), false);
        assertTrue(steps.stream().noneMatch(s -> s.item().key().startsWith("local:")), steps.toString());
        List<String> kept = Removal.kept(found(), local(true)).stream().map(k -> k[0] + " " + k[2]).toList();
        assertEquals(List.of("kubeconfig context --keep-local", "Metaflow profile --keep-local"), kept);
    }

    @Test
    void nothingFoundIsNothingToDo() {
        var none = new Discovery.Found("subscription S", "/subscriptions/s/resourceGroups/rg", null, List.of(), null, false,
                List.of(), List.of(), List.of(), List.of(), List.of(), List.of(), null, null);
        assertEquals(List.of(), Removal.steps(ACME, none, new Removal.Local(null, Optional.empty(), List.of(), false), false));
    }
}
