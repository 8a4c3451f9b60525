package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A Resource Manager resource written with PUT. {@code writeOnly} lists pointers Azure never returns (sent on create
 * only). An update sends what we set, plus the values at the {@code keep} pointers as they stand in Azure (an
 * autoscaler's node count, a pool managed through its own resource): set elsewhere, and a PUT replaces the whole
 * resource. Pointers name array elements by their {@code name}. {@code inParentArray}, when set, is where the
 * parent's create body holds this resource (an AKS pool in {@code agentPoolProfiles}): it comes up with the parent.
 */
public record ArmResource(String id, String apiVersion, Function<Plan.Outputs, JsonNode> body, Set<String> writeOnly,
                          Set<String> keep, String inParentArray) implements Plan.Handler {

    /**
     * Read-only keys a kept value may carry: ARM's common ones, an AKS pool profile's and a kept network profile's
     * (readOnly in managedClusters.json at Desired.API_AKS; the SDK's models leave the same ones out when writing).
     */
    static final Set<String> READ_ONLY = Set.of("etag", "eTag", "systemData", "provisioningState",
            "currentOrchestratorVersion", "nodeImageVersion", "effectiveOutboundIPs");

    public ArmResource(String id, String apiVersion, Function<Plan.Outputs, JsonNode> body, Set<String> writeOnly) {
        this(id, apiVersion, body, writeOnly, Set.of("/tags"), null);
    }

    @Override
    public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) {
        return Clients.of(ctx).arm().get(id, apiVersion);
    }

    @Override
    public List<String> differences(JsonNode current, Plan.Outputs outputs) {
        return Json.differences(body.apply(outputs), current, writeOnly);
    }

    @Override
    public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
        JsonNode desired = body.apply(outputs);
        return Clients.of(ctx).arm().put(id, apiVersion, current.map(c -> updateBody(c, desired)).orElse(desired), Arm.Watcher.NONE);
    }

    /** Left mid-operation, failed or canceled by an earlier run: waited for, or written again. */
    @Override
    public String unfinished(JsonNode current) {
        String state = provisioningState(current);
        return Arm.inProgress(state) || state.equalsIgnoreCase("Failed") || state.equalsIgnoreCase("Canceled")
                ? "/properties/provisioningState (" + state + ")" : null;
    }

    @Override
    public boolean inFlight(JsonNode current) {
        return Arm.inProgress(provisioningState(current));
    }

    /** An earlier (interrupted) run started an operation here: wait for it instead of sending a second write. */
    @Override
    public Optional<JsonNode> awaitSettled(Plan.Ctx ctx) {
        Arm arm = Clients.of(ctx).arm();
        try {
            return Optional.ofNullable(arm.awaitSettled(id, apiVersion, Arm.Watcher.NONE));
        } catch (Arm.AzureException failed) {
            return arm.get(id, apiVersion);
        }
    }

    private static String provisioningState(JsonNode resource) {
        return resource.path("properties").path("provisioningState").asText("");
    }

    /** What an update sends: our fields, without write-only ones (a re-sent generated password would reset the real one), plus the kept values. */
    public JsonNode updateBody(JsonNode current, JsonNode desired) {
        ObjectNode out = (ObjectNode) desired.deepCopy();
        for (String pointer : writeOnly) {
            int slash = pointer.lastIndexOf('/');
            if (Json.at(out, pointer.substring(0, slash)) instanceof ObjectNode parent) parent.remove(pointer.substring(slash + 1));
        }
        for (String pointer : keep) Json.keep(out, current, pointer, READ_ONLY);
        return out;
    }

    /** This resource as its parent's state shows it, when the parent's create made it too. */
    @Override
    public Optional<JsonNode> madeByParent(JsonNode parentState) {
        if (inParentArray == null || parentState == null) return Optional.empty();
        String name = id.substring(id.lastIndexOf('/') + 1);
        for (JsonNode e : parentState.at(inParentArray)) {
            if (!e.path("name").asText().equalsIgnoreCase(name)) continue;
            ObjectNode props = ((ObjectNode) e).deepCopy();
            props.remove("name");
            ObjectNode res = Json.obj().put("id", id).put("name", name);
            res.set("properties", props);
            return Optional.of(res);
        }
        return Optional.empty();
    }
}
