import static org.junit.jupiter.api.Assertions.*;

import azure.Arm;
import azure.ArmResource;
import azure.Clients;
import azure.Desired;
import com.azure.core.http.HttpPipelineBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import fake.AzureFake;
import fake.Fault;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** {@link Plan#compute}: what exists is read (from {@link AzureFake}, in process) and each item gets its action. */
class PlanTest {
    static final String SUB = "/subscriptions/" + AzureFake.DEFAULT_SUBSCRIPTION;
    static final String RG = SUB + "/resourceGroups/rg-plan";
    static final String IDENTITY = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-plan";
    static final String PG = RG + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-plan";

    final AzureFake fake = new AzureFake();

    // --- the one place that knows how items are built and a plan is made ------------------------------------

    Plan.Ctx ctx() {
        Arm arm = new Arm(new HttpPipelineBuilder().httpClient(fake).build(), "https://management.azure.com");
        return new Clients(arm, arm);
    }

    static Plan.Item item(String key, String parent, Plan.Handler handler) {
        return new Plan.Item(key, "test resource", key, parent, List.of(), Map.of(), handler);
    }

    static Plan.Item arm(String key, String id, String apiVersion, Function<Plan.Outputs, JsonNode> body, String... writeOnly) {
        return item(key, null, new ArmResource(id, apiVersion, body, Set.of(writeOnly)));
    }

    static Plan.Item group(String key, String json) {
        return arm(key, RG, Desired.API_GROUPS, out -> j(json));
    }

    /** A handler with a canned read (given the parent's state) and canned differences; applying is not part of a plan. */
    record Canned(Function<JsonNode, Optional<JsonNode>> reads, List<String> changes, boolean removal) implements Plan.Handler {
        static Canned found(String json, String... changes) {
            return new Canned(parent -> Optional.of(j(json)), List.of(changes), false);
        }
        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return reads.apply(parent); }
        @Override public List<String> differences(JsonNode current, Plan.Outputs outputs) { return changes; }
        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) { throw new UnsupportedOperationException(); }
    }

    List<Plan.Step> plan(Plan.Item... items) {
        return Plan.compute(List.of(items), ctx(), true);
    }

    Plan.Step only(Plan.Item item) {
        return plan(item).get(0);
    }

    static JsonNode j(String text) {
        return Json.parse(text.replace('\'', '"'));
    }

    static void assertUpdate(Plan.Step step, String... changes) {
        assertEquals(Plan.Action.UPDATE, step.action());
        assertEquals(List.of(changes), step.changes());
    }

    void seed(String id, String json) {
        fake.seed(id, j(json));
    }

    // --- create, update, unchanged, delete ---------------------------------------------------------------------

    @Test
    void aResourceThatDoesNotExistIsCreated() {
        Plan.Step s = only(group("rg", "{'location':'eastus'}"));
        assertEquals(Plan.Action.CREATE, s.action());
        assertTrue(s.current().isEmpty());
        assertEquals(List.of(), s.changes());
    }

    @Test
    void aResourceThatMatchesIsLeftAlone() {
        seed(RG, "{'location':'eastus','tags':{'env':'prod'}}");
        Plan.Step s = only(group("rg", "{'location':'eastus','tags':{'env':'prod'}}"));
        assertEquals(Plan.Action.NOOP, s.action());
        assertEquals(RG, s.current().orElseThrow().path("id").asText(), "the step carries what was read");
    }

    @Test
    void aResourceThatDiffersIsUpdatedAndTheChangesNameWhatDiffers() {
        seed(RG, "{'location':'eastus','tags':{'env':'test','owner':'ops'}}");
        assertUpdate(only(group("rg", "{'location':'eastus','tags':{'env':'prod'}}")), "/tags/env");
    }

    @Test
    void aWriteOnlyFieldAzureNeverReturnsIsNotAChange() {
        seed(PG, "{'location':'eastus','properties':{'version':'16','administratorLogin':'metaflow'}}");
        Function<Plan.Outputs, JsonNode> body = out -> j("{'location':'eastus','properties':{'version':'16','administratorLogin':'metaflow',"
                + "'administratorLoginPassword':'generated-each-run'}}");
        assertEquals(Plan.Action.NOOP, only(arm("pg", PG, Desired.API_POSTGRES, body, "/properties/administratorLoginPassword")).action());
        Plan.Step notDeclared = only(arm("pg", PG, Desired.API_POSTGRES, body));
        assertEquals(List.of("/properties/administratorLoginPassword"), notDeclared.changes(), "only because it is declared write-only");
    }

    @Test
    void aRemovalFoundIsADeleteAndOneNotFoundIsNothingToDo() {
        Plan.Handler present = new Canned(parent -> Optional.of(j("{'id':'/grant'}")), List.of(), true);
        Plan.Handler absent = new Canned(parent -> Optional.empty(), List.of(), true);
        List<Plan.Step> steps = plan(item("revoke-a", null, present), item("revoke-b", null, absent));
        assertEquals(Plan.Action.DELETE, steps.get(0).action());
        assertEquals(Plan.Action.NOOP, steps.get(1).action());
    }

    @Test
    void aResourceLeftFailedOrUnfinishedIsAnUpdateWithItsStateAsTheFirstChange() {
        seed(RG, "{'location':'eastus','properties':{'provisioningState':'Failed'}}");
        assertUpdate(only(group("rg", "{'location':'eastus'}")), "/properties/provisioningState (Failed)");

        seed(IDENTITY, "{'location':'eastus','properties':{'provisioningState':'Updating'}}");
        assertUpdate(only(arm("id", IDENTITY, Desired.API_IDENTITY, out -> j("{'location':'eastus','tags':{'team':'ml'}}"))),
                "/properties/provisioningState (Updating)", "/tags");
        seed(IDENTITY, "{'location':'eastus','properties':{'provisioningState':'Succeeded'}}");
        assertEquals(Plan.Action.NOOP, only(arm("id", IDENTITY, Desired.API_IDENTITY, out -> j("{'location':'eastus'}"))).action());
    }

    // --- reading --------------------------------------------------------------------------------------------------

    @Test
    void withoutReadingAzureEveryItemIsACreateAndNothingIsSent() {
        seed(RG, "{'location':'eastus'}");
        List<Plan.Step> steps = Plan.compute(List.of(group("rg", "{'location':'eastus'}")), ctx(), false);
        assertEquals(Plan.Action.CREATE, steps.get(0).action());
        assertEquals(List.of(), fake.requests());
    }

    @Test
    void aChildIsReadWithItsParentsState() {
        seed(RG, "{'location':'westeurope'}");
        Plan.Handler child = new Canned(parent -> Optional.of(Json.obj().put("parentLocation", parent.path("location").asText())), List.of(), false);
        List<Plan.Step> steps = plan(group("rg", "{'location':'westeurope'}"), item("child", "rg", child));
        assertEquals("westeurope", steps.get(1).current().orElseThrow().path("parentLocation").asText());
    }

    @Test
    void aChildOfAnAbsentParentIsNotReadAndIsCreated() {
        AtomicInteger reads = new AtomicInteger();
        Plan.Handler child = new Canned(parent -> { reads.incrementAndGet(); return Optional.of(Json.obj()); }, List.of(), false);
        List<Plan.Step> steps = plan(group("rg", "{'location':'eastus'}"), item("child", "rg", child));
        assertEquals(0, reads.get());
        assertEquals(Plan.Action.CREATE, steps.get(1).action());
    }

    @Test
    void aChildListedBeforeItsParentIsRefused() {
        Plan.Item child = item("child", "rg", Canned.found("{}"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> plan(child, group("rg", "{'location':'eastus'}")));
        assertEquals("child listed before its parent rg", e.getMessage());
    }

    @Test
    void aFailedReadFailsThePlanWithAzuresOwnError() {
        fake.inject(Fault.of("GET", "/resourceGroups/rg-plan$").status(403).error("AuthorizationFailed", "no read access"));
        Arm.AzureException e = assertThrows(Arm.AzureException.class, () -> plan(group("rg", "{'location':'eastus'}")));
        assertEquals("AuthorizationFailed", e.code);
    }

    // --- outputs: values one body takes from another resource's state --------------------------------------------

    @Test
    void outputsAreTheTextAtAPointerOrUnknownUntilThereIsOne() {
        Plan.Outputs out = Plan.outputs(Map.of("id", j("{'properties':{'principalId':'p-1','clientId':null}}")));
        assertEquals("p-1", out.get("id", "/properties/principalId"));
        assertEquals(Plan.UNKNOWN, out.get("id", "/properties/clientId"));
        assertEquals(Plan.UNKNOWN, out.get("id", "/properties/tenantId"));
        assertEquals(Plan.UNKNOWN, out.get("other", "/properties/principalId"));
    }

    /** The identity, and the group tagged with the identity's principal id (an output of the identity). */
    List<Plan.Step> identityAndTaggedGroup() {
        Function<Plan.Outputs, JsonNode> tagged = out -> {
            ObjectNode b = (ObjectNode) j("{'location':'eastus'}");
            b.putObject("tags").put("principal", out.get("identity", "/properties/principalId"));
            return b;
        };
        return plan(arm("identity", IDENTITY, Desired.API_IDENTITY, out -> j("{'location':'eastus'}")),
                arm("group", RG, Desired.API_GROUPS, tagged));
    }

    @Test
    void aBodyUsesTheOutputsOfOtherResourcesAsRead() {
        seed(IDENTITY, "{'location':'eastus'}");
        String principal = fake.resource(IDENTITY).orElseThrow().at("/properties/principalId").asText();
        seed(RG, "{'location':'eastus','tags':{'principal':'" + principal + "'}}");
        assertEquals(List.of(Plan.Action.NOOP, Plan.Action.NOOP), identityAndTaggedGroup().stream().map(Plan.Step::action).toList());
    }

    @Test
    void aBodyUsingAnOutputOfAResourceStillToBeCreatedIsAChange() {
        seed(RG, "{'location':'eastus','tags':{'principal':'old'}}");
        List<Plan.Step> steps = identityAndTaggedGroup();
        assertEquals(Plan.Action.CREATE, steps.get(0).action());
        assertUpdate(steps.get(1), "/tags/principal");
    }

    // --- what an update sends ----------------------------------------------------------------------------------------

    @Test
    void anUpdateKeepsTagsSetInAzureAndLeavesOutWriteOnlyFieldsWhichACreateSends() {
        Function<Plan.Outputs, JsonNode> body = out -> j("{'location':'eastus','tags':{'env':'prod'},'properties':{'secret':'s3'}}");
        Plan.Handler group = new ArmResource(RG, Desired.API_GROUPS, body, Set.of("/properties/secret"));
        group.apply(ctx(), Optional.empty(), Plan.outputs(Map.of()));
        JsonNode created = j(fake.writes().get(0).body());
        assertEquals("s3", created.at("/properties/secret").asText(), "a create sends the write-only field");

        fake.editResource(RG, r -> r.with("tags").put("owner", "ops"));
        group.apply(ctx(), fake.resource(RG), Plan.outputs(Map.of()));
        JsonNode updated = j(fake.writes().get(1).body());
        assertEquals(j("{'env':'prod','owner':'ops'}"), updated.get("tags"));
        assertTrue(updated.at("/properties/secret").isMissingNode(), "an update leaves it out: " + updated);
    }
}
