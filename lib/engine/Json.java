package engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** JSON trees (Jackson) and the two operations the plan needs: "what differs" and "overlay desired on actual". */
public final class Json {
    private Json() {}

    public static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static ObjectNode obj() { return MAPPER.createObjectNode(); }
    public static ArrayNode arr() { return MAPPER.createArrayNode(); }

    public static JsonNode parse(String text) {
        try {
            return text == null || text.isBlank() ? MAPPER.nullNode() : MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("not JSON: " + text.substring(0, Math.min(200, text.length())), e);
        }
    }

    public static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    public static String compact(JsonNode node) {
        return node.toString();
    }

    public static ObjectNode tags(Map<String, String> tags) {
        ObjectNode n = obj();
        tags.forEach(n::put);
        return n;
    }

    /** A resource's tags as a map (empty when it has none). */
    public static Map<String, String> tagsOf(JsonNode resource) {
        JsonNode t = resource.path("tags");
        return t.isObject() ? MAPPER.convertValue(t, new com.fasterxml.jackson.core.type.TypeReference<Map<String, String>>() {}) : Map.of();
    }

    /**
     * Paths (JSON pointers) where {@code desired} is not matched by {@code actual}. Only what the desired document
     * says is compared: fields Azure adds are ignored; arrays of named objects are matched by name, other arrays
     * element by element; strings compare case-insensitively when they look like resource ids or enum values
     * (Azure echoes these with its own casing). {@code ignore} holds pointers of write-only fields.
     */
    public static List<String> differences(JsonNode desired, JsonNode actual, Set<String> ignore) {
        List<String> out = new ArrayList<>();
        diff("", desired, actual, ignore, out);
        return out;
    }

    private static void diff(String path, JsonNode d, JsonNode a, Set<String> ignore, List<String> out) {
        if (ignore.contains(path)) return;
        if (a == null || a.isMissingNode() || a.isNull()) {
            if (!(d.isNull() || (d.isArray() && d.isEmpty()))) out.add(path.isEmpty() ? "/" : path);
            return;
        }
        if (d.isObject()) {
            if (!a.isObject()) { out.add(path); return; }
            for (Iterator<Map.Entry<String, JsonNode>> it = d.fields(); it.hasNext(); ) {
                var e = it.next();
                diff(path + "/" + e.getKey(), e.getValue(), field(a, e.getKey()), ignore, out);
            }
        } else if (d.isArray()) {
            if (!a.isArray()) { out.add(path); return; }
            if (named(d)) {
                for (JsonNode de : d) {
                    String name = de.get("name").asText();
                    diff(path + "/" + name, de, byName(a, name), ignore, out);
                }
            } else if (d.size() != a.size()) {
                out.add(path);
            } else {
                for (int i = 0; i < d.size(); i++) diff(path + "/" + i, d.get(i), a.get(i), ignore, out);
            }
        } else if (d.isTextual() && a.isTextual()) {
            if (!d.asText().equalsIgnoreCase(a.asText())) out.add(path);
        } else if (d.isNumber() && a.isNumber()) {
            if (d.decimalValue().compareTo(a.decimalValue()) != 0) out.add(path);
        } else if (!d.equals(a)) {
            if (!d.asText().equalsIgnoreCase(a.asText())) out.add(path);
        }
    }

    /** ARM field names are case-insensitive on the way back; match them that way. */
    private static JsonNode field(JsonNode obj, String name) {
        JsonNode v = obj.get(name);
        if (v != null) return v;
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (f.equalsIgnoreCase(name)) return obj.get(f);
        }
        return null;
    }

    private static boolean named(JsonNode array) {
        if (array.isEmpty()) return false;
        for (JsonNode e : array) if (!e.isObject() || !e.hasNonNull("name")) return false;
        return true;
    }

    private static JsonNode byName(JsonNode array, String name) {
        for (JsonNode e : array) if (e.path("name").asText().equalsIgnoreCase(name)) return e;
        return null;
    }

    /** The node at a JSON pointer whose segments may name array elements by their {@code name}; null when absent. */
    public static JsonNode at(JsonNode root, String pointer) {
        JsonNode n = root;
        if (pointer.isEmpty()) return n;
        for (String seg : pointer.substring(1).split("/")) {
            if (n == null) return null;
            n = n.isArray() ? byName(n, seg) : n.isObject() ? field(n, seg) : null;
        }
        return n == null || n.isNull() || n.isMissingNode() ? null : n;
    }

    /**
     * Puts the value {@code current} holds at {@code pointer} (without the keys in {@code readOnly}, at any depth) into
     * {@code body}, with what {@code body} already has there laid over it. Nothing happens when current has no value
     * there or body lacks the parent.
     */
    public static void keep(ObjectNode body, JsonNode current, String pointer, Set<String> readOnly) {
        JsonNode cur = at(current, pointer);
        if (cur == null) return;
        int slash = pointer.lastIndexOf('/');
        JsonNode parent = at(body, pointer.substring(0, slash));
        String last = pointer.substring(slash + 1);
        JsonNode kept = without(cur.deepCopy(), readOnly);
        if (parent instanceof ObjectNode o) {
            JsonNode mine = field(o, last);
            o.set(last, mine == null ? kept : overlay(kept, mine));
        } else if (parent instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                if (a.get(i).path("name").asText().equalsIgnoreCase(last)) {
                    a.set(i, overlay(kept, a.get(i)));
                    return;
                }
            }
            a.add(kept);
        }
    }

    private static JsonNode without(JsonNode n, Set<String> keys) {
        if (n instanceof ObjectNode o) {
            o.remove(keys);
            o.forEach(v -> without(v, keys));
        } else if (n instanceof ArrayNode a) {
            a.forEach(v -> without(v, keys));
        }
        return n;
    }

    /** {@code desired} laid over {@code actual}: objects merge, arrays of named objects merge by name, anything else is replaced. */
    public static JsonNode overlay(JsonNode actual, JsonNode desired) {
        if (actual == null || actual.isNull() || actual.isMissingNode()) return desired.deepCopy();
        if (desired.isObject() && actual.isObject()) {
            ObjectNode out = ((ObjectNode) actual).deepCopy();
            for (Iterator<Map.Entry<String, JsonNode>> it = desired.fields(); it.hasNext(); ) {
                var e = it.next();
                String key = e.getKey();
                JsonNode existing = field(out, key);
                if (existing != null && !out.has(key)) {
                    for (Iterator<String> names = out.fieldNames(); names.hasNext(); ) {
                        String f = names.next();
                        if (f.equalsIgnoreCase(key)) { out.remove(f); break; }
                    }
                }
                out.set(key, overlay(existing, e.getValue()));
            }
            return out;
        }
        if (desired.isArray() && actual.isArray() && named(desired)) {
            ArrayNode out = arr();
            for (JsonNode ae : actual) {
                JsonNode de = byName(desired, ae.path("name").asText());
                out.add(de == null ? ae.deepCopy() : overlay(ae, de));
            }
            for (JsonNode de : desired) {
                if (byName(actual, de.get("name").asText()) == null) out.add(de.deepCopy());
            }
            return out;
        }
        return desired.deepCopy();
    }
}
