package fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/** What every {@link Provider} declares once: its namespace and api versions, and the core it works on. */
abstract class ArmProvider implements Provider {
    final ArmCore core;
    private final String namespace;
    private final List<String> apiVersions;

    ArmProvider(ArmCore core, String namespace, List<String> apiVersions) {
        this.core = core;
        this.namespace = namespace;
        this.apiVersions = apiVersions;
    }

    @Override public final String namespace() { return namespace; }

    @Override public final List<String> apiVersions() { return apiVersions; }

    /** A checkNameAvailability answer: available (reason null), or the reason; a null message is left out. */
    static ObjectNode nameAvailability(String reason, String message) {
        ObjectNode out = Answer.M.createObjectNode();
        out.put("nameAvailable", reason == null);
        if (reason != null) out.put("reason", reason);
        if (message != null) out.put("message", message);
        return out;
    }
}
