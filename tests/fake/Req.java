package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One request to {@link AzureFake}: decoded path, query, body, the object id in its bearer token (null without one) and
 * its headers (names lower-cased).
 */
record Req(String method, String host, String path, Map<String, String> query, byte[] body, String caller, Map<String, String> headers) {

    Req(String method, String host, String path, Map<String, String> query, byte[] body, String caller) {
        this(method, host, path, query, body, caller, Map.of());
    }

    /** A request header, or null. */
    String header(String name) {
        return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }

    private static final Pattern FILTER_TERM = Pattern.compile("(\\w+)\\s+eq\\s+'((?:[^']|'')*)'", Pattern.CASE_INSENSITIVE);

    String q(String k) {
        for (Map.Entry<String, String> e : query.entrySet()) if (e.getKey().equalsIgnoreCase(k)) return e.getValue();
        return null;
    }

    String apiVersion() { return q("api-version"); }

    String base() { return "https://" + host; }

    void requireGet() {
        if (!method.equals("GET")) throw Answer.fail(405, "MethodNotAllowed", "The requested method " + method + " is not allowed.");
    }

    void requirePost() {
        if (!method.equals("POST")) throw Answer.fail(405, "MethodNotAllowed", "Use POST.");
    }

    /** The body as an ARM JSON object, or a 400 InvalidRequestContent. */
    ObjectNode json() {
        if (body.length == 0) throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: empty body.");
        try {
            JsonNode n = Answer.M.readTree(body);
            if (n == null || !n.isObject()) throw Answer.fail(400, "InvalidRequestContent", "The request content must be a JSON object.");
            return (ObjectNode) n;
        } catch (IOException e) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: " + e.getMessage());
        }
    }

    /** The terms {@code name eq 'value'} of an OData filter, names lower-cased. */
    static Map<String, String> filterTerms(String filter) {
        Map<String, String> m = new LinkedHashMap<>();
        if (filter == null) return m;
        Matcher x = FILTER_TERM.matcher(filter);
        while (x.find()) m.put(x.group(1).toLowerCase(java.util.Locale.ROOT), x.group(2).replace("''", "'"));
        return m;
    }
}
