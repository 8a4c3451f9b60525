package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The stack's Key Vault, which holds the Docker Hub login the registry's cache pulls with, and its two secrets.
 *
 * <p>Soft delete. A deleted vault stays, soft-deleted, for its retention (7 days here, Key Vault's least) and keeps its
 * globally unique name. Teardown purges it after the group is gone ({@link #purge}); a provision that finds this stack's
 * vault soft-deleted (a group deleted another way, a teardown --no-wait) recovers it with {@code createMode: recover}
 * instead of failing on the name (VaultProperties.createMode, Microsoft.KeyVault 2024-11-01).
 */
public final class KeyVault {
    private KeyVault() {}

    /** The tag a secret carries to show which value it holds without holding it: a salted SHA-256 prefix (a token is long and random). */
    public static final String VALUE_TAG = "value-sha256";

    /** The deleted vault of this name in this region, as Key Vault keeps it (404: none). */
    static String deletedVaultId(String subscriptionId, String location, String name) {
        return "/subscriptions/" + subscriptionId + "/providers/Microsoft.KeyVault/locations/" + location + "/deletedVaults/" + name;
    }

    /** Whether a soft-deleted vault was this stack's (DeletedVaultProperties.tags keep the vault's tags). */
    static boolean ours(JsonNode deleted, Stack s) {
        return deleted != null && s.ownsTags(Json.tagsOf(Json.obj().set("tags", deleted.path("properties").path("tags"))));
    }

    /** The vault: written like any resource, except that a soft-deleted vault of this stack is recovered rather than created. */
    public record Vault(ArmResource resource, String location, String name) implements Plan.Handler {
        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return resource.read(ctx, parent); }

        @Override public List<String> differences(JsonNode current, Plan.Outputs outputs) { return resource.differences(current, outputs); }

        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            if (current.isPresent()) return resource.apply(ctx, current, outputs);
            Arm arm = Clients.of(ctx).arm();
            String sub = resource.id().split("/")[2];
            Optional<JsonNode> deleted = arm.get(deletedVaultId(sub, location, name), Desired.API_KEY_VAULT);
            ObjectNode body = (ObjectNode) resource.body().apply(outputs);
            if (deleted.isPresent()) ((ObjectNode) body.get("properties")).put("createMode", "recover");
            return arm.put(resource.id(), resource.apiVersion(), body, Arm.Watcher.NONE);
        }

        @Override public String unfinished(JsonNode current) { return resource.unfinished(current); }

        @Override public boolean inFlight(JsonNode current) { return resource.inFlight(current); }

        @Override public Optional<JsonNode> awaitSettled(Plan.Ctx ctx) { return resource.awaitSettled(ctx); }
    }

    /**
     * A secret written through Resource Manager (Microsoft.KeyVault/vaults/secrets: the value is write-only, never returned).
     * Its tag {@link #VALUE_TAG} tells a re-run whether the value changed. With no value (a re-run that was not given the
     * token) the body is empty: what is stored is kept, and a secret that does not exist yet is refused by provision before
     * any write ({@link #missingValue}).
     */
    static Plan.Item secret(String key, String vaultId, String name, String value, Stack s, String what) {
        String id = vaultId + "/secrets/" + name;
        return new Plan.Item(key, "key vault secret", name, Desired.VAULT, List.of(Desired.VAULT),
                Desired.settings("value", what), new Secret(new ArmResource(id, Desired.API_KEY_VAULT, out -> {
                    ObjectNode b = Json.obj();
                    if (value == null) return b;
                    ObjectNode tags = Json.tags(s.tags());
                    tags.put(VALUE_TAG, fingerprint(id, value));
                    b.set("tags", tags);
                    b.putObject("properties").put("value", value);
                    return b;
                }, Set.of("/properties/value"), Set.of(), null)));
    }

    /** A secret: its value is left out of the comparison (never returned) but, unlike a generated password, sent on every write. */
    record Secret(ArmResource resource) implements Plan.Handler {
        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return resource.read(ctx, parent); }

        @Override public List<String> differences(JsonNode current, Plan.Outputs outputs) { return resource.differences(current, outputs); }

        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            return Clients.of(ctx).arm().put(resource.id(), resource.apiVersion(), resource.body().apply(outputs), Arm.Watcher.NONE);
        }
    }

    /** A short salted SHA-256 of a secret's value: equal for the same value at the same secret, and says nothing of the value. */
    static String fingerprint(String secretId, String value) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(secretId.toLowerCase(java.util.Locale.ROOT).getBytes(StandardCharsets.UTF_8));
            d.update((byte) 0);
            return HexFormat.of().formatHex(d.digest(value.getBytes(StandardCharsets.UTF_8))).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The refusal when the Docker Hub token is to be kept but none is stored yet (the secret would be created empty). */
    public static void missingValue(List<Plan.Step> steps, Registry.Options o) {
        if (!o.dockerHub() || o.dockerHubToken() != null) return;
        for (Plan.Step st : steps) {
            if (st.item().key().equals(Desired.SECRET_TOKEN) && st.action() == Plan.Action.CREATE) {
                throw new Stack.InputException("--dockerhub-user", "the stack has no Docker Hub token stored yet: give it in the environment "
                        + "variable DOCKERHUB_TOKEN or with --dockerhub-token-file PATH (it is stored in the stack's key vault, never shown)",
                        o.dockerHubUser() + " --dockerhub-token-file ~/.dockerhub-token");
            }
        }
    }

    /** The vault of a Docker Hub login no longer given: deleted, then purged, so that no token is left behind. */
    public record Removal(String id, String location, String name) implements Plan.Handler {
        @Override public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) { return Clients.of(ctx).arm().get(id, Desired.API_KEY_VAULT); }

        @Override public boolean removal() { return true; }

        @Override public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            Arm arm = Clients.of(ctx).arm();
            arm.delete(id, Desired.API_KEY_VAULT, Arm.Watcher.NONE);
            purge(arm, id.split("/")[2], location, name);
            return Json.obj().put("id", id).put("deleted", true);
        }
    }

    /** Teardown: the purge of the stack's vault once its group is deleted (it would otherwise keep its name for 7 days). */
    public static void purge(Arm arm, String subscriptionId, String location, String name) {
        String id = deletedVaultId(subscriptionId, location, name);
        if (arm.get(id, Desired.API_KEY_VAULT).isEmpty()) return;
        arm.postAndWait(id + "/purge", Desired.API_KEY_VAULT, Arm.Watcher.NONE);
    }
}
