package fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Long-running operations on a real wall clock: each ends after its type's latency, succeeds or fails (an injected
 * {@link Fault#failOperation} or a provider's verdict such as quota), and is polled through Azure-AsyncOperation
 * ({@code .../operations/{id}}, {@code azureAsyncOperation} for PostgreSQL) or Location ({@code operationResults}) URLs
 * that answer Retry-After while it runs.
 */
final class Operations {

    static final class Op {
        final String guid = UUID.randomUUID().toString();
        final String key;
        final boolean delete;
        final long doneAt;
        final Integer retryAfter;
        final String sub;
        final String ns;
        final String location;
        final String apiVersion;
        final List<String> linked = new ArrayList<>();
        String failCode;
        String failMessage;
        boolean done;
        String status = "InProgress";

        Op(String key, boolean delete, long doneAt, Integer retryAfter, String sub, String ns, String location, String apiVersion) {
            this.key = key;
            this.delete = delete;
            this.doneAt = doneAt;
            this.retryAfter = retryAfter;
            this.sub = sub;
            this.ns = ns;
            this.location = location;
            this.apiVersion = apiVersion;
        }
    }

    record Latency(long millis, Integer retryAfterSeconds) { }

    private final ArmCore core;
    private final Map<String, Op> ops = new LinkedHashMap<>();
    private final Map<String, Latency> latencies = new HashMap<>();

    Operations(ArmCore core) {
        this.core = core;
    }

    void latency(String typeLower, long millis, Integer retryAfterSeconds) {
        latencies.put(typeLower.toLowerCase(Locale.ROOT), new Latency(millis, retryAfterSeconds));
    }

    /** Completes every operation whose time has come, in deadline order. */
    void advance() {
        long now = System.nanoTime();
        List<Op> due = new ArrayList<>();
        for (Op o : ops.values()) if (!o.done && o.doneAt - now <= 0) due.add(o);
        due.sort(Comparator.comparingLong(o -> o.doneAt));
        for (Op o : due) complete(o);
    }

    Op start(Req q, Res r, boolean delete, String sub, String ns, String location, String failCode, String failMessage) {
        Latency l = latencies.getOrDefault(r.typeLower(), new Latency(0, null));
        Op op = new Op(r.key(), delete, System.nanoTime() + l.millis() * 1_000_000L, l.retryAfterSeconds(), sub, ns,
                location == null || location.isEmpty() ? "global" : location.toLowerCase(Locale.ROOT).replace(" ", ""), q.apiVersion());
        for (Fault f : core.faults) {
            if (f.isOperationFault() && f.matches(q.method(), q.path())) {
                f.remaining--;
                op.failCode = f.failCode;
                op.failMessage = f.failMessage;
                break;
            }
        }
        if (op.failCode == null && failCode != null) {
            op.failCode = failCode;
            op.failMessage = failMessage;
        }
        r.op = op;
        ops.put(op.guid, op);
        return op;
    }

    private void complete(Op op) {
        op.done = true;
        Res r = core.resources.get(op.key);
        if (op.failCode != null) {
            op.status = "Failed";
            if (r != null && r.op == op) r.state = "Failed";
            for (String k : op.linked) {
                Res x = core.resources.get(k);
                if (x != null && x.op == op) x.state = "Failed";
            }
            return;
        }
        op.status = "Succeeded";
        if (op.delete) {
            if (r != null) core.removeTree(r.key());
            return;
        }
        if (r != null && r.op == op && !"Deleting".equals(r.state)) {
            r.state = "Succeeded";
            core.provider(r.spec).succeeded(r);
        }
        for (String k : op.linked) {
            Res x = core.resources.get(k);
            if (x != null && x.op == op && !"Deleting".equals(x.state)) x.state = "Succeeded";
        }
    }

    private static String url(Req q, Op op, boolean location) {
        if (op.ns.equalsIgnoreCase("Microsoft.Resources")) {
            return q.base() + "/subscriptions/" + op.sub + "/operationresults/" + op.guid + "?api-version=" + op.apiVersion;
        }
        String seg = location ? "operationResults" : op.ns.equalsIgnoreCase("Microsoft.DBforPostgreSQL") ? "azureAsyncOperation" : "operations";
        return q.base() + "/subscriptions/" + op.sub + "/providers/" + op.ns + "/locations/" + op.location + "/" + seg + "/"
                + op.guid + "?api-version=" + op.apiVersion;
    }

    static Map<String, String> headers(Req q, Op op, boolean async, boolean location) {
        Map<String, String> h = new LinkedHashMap<>();
        if (async) h.put("Azure-AsyncOperation", url(q, op, false));
        if (location) h.put("Location", url(q, op, true));
        if (op.retryAfter != null) h.put("Retry-After", Integer.toString(op.retryAfter));
        return h;
    }

    Answer poll(Req q, String[] segs) {
        q.requireGet();
        String kind = segs[segs.length - 2].toLowerCase(Locale.ROOT);
        Op op = ops.get(segs[segs.length - 1].toLowerCase(Locale.ROOT));
        if (op == null) return Answer.error(404, "OperationNotFound", "The operation '" + segs[segs.length - 1] + "' was not found.");
        Map<String, String> h = new LinkedHashMap<>();
        if (!op.done && op.retryAfter != null) h.put("Retry-After", Integer.toString(op.retryAfter));
        if (!kind.equals("operationresults")) {
            ObjectNode s = Answer.M.createObjectNode();
            s.put("id", q.path());
            s.put("name", op.guid);
            s.put("status", op.status);
            if (op.failCode != null && op.done) {
                ObjectNode e = s.putObject("error");
                e.put("code", op.failCode);
                e.put("message", op.failMessage == null ? op.failCode : op.failMessage);
            }
            return Answer.json(200, s, h);
        }
        if (!op.done) {
            h.put("Location", q.base() + q.path() + "?api-version=" + op.apiVersion);
            return Answer.empty(202, h);
        }
        if (op.failCode != null) {
            int st = op.failCode.equals("InternalServerError") ? 500 : op.failCode.equals("Conflict") ? 409 : 400;
            return Answer.error(st, op.failCode, op.failMessage == null ? op.failCode : op.failMessage);
        }
        if (op.delete) return op.ns.equalsIgnoreCase("Microsoft.Resources") ? Answer.empty(200, h) : Answer.empty(204, h);
        Res r = core.resources.get(op.key);
        if (r == null) return Answer.empty(204, h);
        return Answer.json(200, core.render(r), h);
    }
}
