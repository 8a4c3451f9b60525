package azure;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Plan;
import java.util.Optional;

/**
 * A Resource Manager resource the plan deletes (a revoked grant's role assignment, a dropped GPU pool): present means
 * DELETE, absent means nothing left to do.
 */
public record ArmRemoval(String id, String apiVersion) implements Plan.Handler {
    @Override
    public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) {
        return Clients.of(ctx).arm().get(id, apiVersion);
    }

    @Override
    public boolean removal() { return true; }

    @Override
    public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
        Clients.of(ctx).arm().delete(id, apiVersion, Arm.Watcher.NONE);
        return Json.obj().put("id", id).put("deleted", true);
    }
}
