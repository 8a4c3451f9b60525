package fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;

/**
 * One stored resource: what its writers sent ({@code user}), what the service generated ({@code gen}), write-only values
 * ({@code secrets}), its provisioning state and its latest long-running operation.
 */
final class Res {
    final String id;
    final TypeSpec spec;
    final long createdNanos;
    ObjectNode user = Answer.M.createObjectNode();
    ObjectNode gen = Answer.M.createObjectNode();
    ObjectNode secrets = Answer.M.createObjectNode();
    String state = "Succeeded";
    Operations.Op op;

    Res(String id, TypeSpec spec) {
        this.id = id;
        this.spec = spec;
        this.createdNanos = System.nanoTime();
    }

    String key() { return id.toLowerCase(Locale.ROOT); }

    String name() { return id.substring(id.lastIndexOf('/') + 1); }

    String typeLower() { return spec.lower(); }

    String location() { return user.path("location").asText(gen.path("location").asText(null)); }

    ObjectNode props() {
        if (!user.has("properties") || !user.get("properties").isObject()) user.set("properties", Answer.M.createObjectNode());
        return (ObjectNode) user.get("properties");
    }

    boolean busy() { return op != null && !op.done; }
}
