package azure;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Plan;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The registry's cache rules as Resource Manager resources: a rule whose source must change is replaced (a rule's
 * source and target cannot be updated: CacheRuleUpdateProperties holds credentialSetResourceId alone), and a rule the
 * stack no longer declares ({@code --cache-image} dropped) is deleted. Images it cached stay in its repository.
 */
public final class CacheRules {
    private CacheRules() {}

    /** A cache rule: created, updated (its credential set), or deleted and created again when its source changes. */
    public record Resource(ArmResource rule) implements Plan.Handler {
        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return rule.read(ctx, parent); }

        @Override public List<String> differences(JsonNode current, Plan.Outputs outputs) {
            if (replaced(current, outputs)) return List.of("/properties/sourceRepository (a rule's source cannot change: deleted and made again)");
            return rule.differences(current, outputs);
        }

        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            if (current.isPresent() && replaced(current.get(), outputs)) {
                Clients.of(ctx).arm().delete(rule.id(), rule.apiVersion(), Arm.Watcher.NONE);
                return rule.apply(ctx, Optional.empty(), outputs);
            }
            return rule.apply(ctx, current, outputs);
        }

        private boolean replaced(JsonNode current, Plan.Outputs outputs) {
            JsonNode want = rule.body().apply(outputs).path("properties");
            JsonNode have = current.path("properties");
            return !want.path("sourceRepository").asText().equals(have.path("sourceRepository").asText())
                    || !want.path("targetRepository").asText().equals(have.path("targetRepository").asText());
        }

        @Override public String unfinished(JsonNode current) { return rule.unfinished(current); }

        @Override public boolean inFlight(JsonNode current) { return rule.inFlight(current); }

        @Override public Optional<JsonNode> awaitSettled(Plan.Ctx ctx) { return rule.awaitSettled(ctx); }
    }

    /**
     * Deletions of the rules this stack made for {@code --cache-image} names no longer given (targets under the Metaflow
     * namespace, named as {@link Registry#ruleName} names them, that the desired rules do not hold). Read only when the
     * registry exists.
     */
    public static List<Plan.Item> removals(Arm arm, Stack s, Desired.Caller c, Registry.Options o) {
        String registryId = s.registryId(c.subscriptionId());
        if (arm.get(registryId, Registry.API).isEmpty()) return List.of();
        Set<String> wanted = new HashSet<>();
        for (Registry.CacheRule r : Registry.cacheRules(o)) wanted.add(r.name().toLowerCase(java.util.Locale.ROOT));
        List<Plan.Item> items = new ArrayList<>();
        for (JsonNode rule : arm.listAll(arm.url(registryId + "/cacheRules", Registry.API))) {
            String name = rule.path("name").asText();
            String target = rule.path("properties").path("targetRepository").asText();
            if (wanted.contains(name.toLowerCase(java.util.Locale.ROOT)) || !target.startsWith(Registry.METAFLOW_NAMESPACE + "/")
                    || !Registry.ruleName(target).equals(name)) continue;
            items.add(new Plan.Item("cacherule-removal:" + name, "cache rule", name, null, List.of(Desired.REGISTRY),
                    Desired.settings("why", "--cache-image " + target.substring(Registry.METAFLOW_NAMESPACE.length() + 1) + " is no longer given",
                            "images", "already cached ones stay in repository " + target + " until deleted (az acr repository delete)"),
                    new ArmRemoval(rule.path("id").asText(), Registry.API)));
        }
        return items;
    }
}
