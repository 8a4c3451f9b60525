package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.UUID;

/** What {@link AzureFake} answers to one request: status, headers, body bytes; with the ARM and Graph error shapes. */
record Answer(int status, Map<String, String> headers, byte[] body) {

    static final ObjectMapper M = new ObjectMapper();

    /** A refusal thrown from deep inside a handler; the fake answers it as it is. */
    static final class BadRequest extends RuntimeException {
        final Answer answer;

        BadRequest(Answer a) {
            super(null, null, false, false);
            this.answer = a;
        }
    }

    static Answer json(int status, JsonNode body) {
        return json(status, body, Map.of());
    }

    static Answer json(int status, JsonNode body, Map<String, String> headers) {
        try {
            return new Answer(status, headers, body == null ? new byte[0] : M.writeValueAsBytes(body));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Answer empty(int status, Map<String, String> headers) {
        return new Answer(status, headers, new byte[0]);
    }

    /** An ARM error: {@code {"error":{"code","message"}}}. */
    static Answer error(int status, String code, String message) {
        ObjectNode e = M.createObjectNode();
        ObjectNode in = e.putObject("error");
        in.put("code", code);
        in.put("message", message);
        return json(status, e);
    }

    static BadRequest fail(int status, String code, String message) {
        return new BadRequest(error(status, code, message));
    }

    /** A Microsoft Graph error, which also carries an innerError with a request id. */
    static Answer graphError(int status, String code, String message) {
        ObjectNode e = M.createObjectNode();
        ObjectNode in = e.putObject("error");
        in.put("code", code);
        in.put("message", message);
        ObjectNode inner = in.putObject("innerError");
        inner.put("request-id", UUID.randomUUID().toString());
        return json(status, e);
    }
}
