package azure;

import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Executor;
import engine.Json;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Resource Manager (and Microsoft Graph) over an azure-core pipeline: GET, create-or-update PUT, DELETE and POST
 * actions, with long-running operations polled here rather than by the SDK, so that the poll pace follows the
 * operation (see {@link #nextPoll}) and a failed operation is always an exception.
 */
public final class Arm {
    private final HttpPipeline pipeline;
    private final String endpoint;

    public Arm(HttpPipeline pipeline, String endpoint) {
        this.pipeline = pipeline;
        this.endpoint = Clouds.trimSlash(endpoint);
    }

    public String endpoint() { return endpoint; }

    /** The pipeline calls go through (client, proxy, retries, token, request log). */
    public HttpPipeline pipeline() { return pipeline; }

    /** An error answer from Azure: HTTP status, Azure's error code and message. */
    public static final class AzureException extends Executor.Failure {
        public final int status;
        public final String target;

        public AzureException(int status, String code, String message, String target) {
            super(code, code + ": " + message);
            this.status = status;
            this.target = target;
        }

        public String azureMessage() {
            return getMessage().substring(code.length() + 2);
        }
    }

    public record Response(int status, HttpHeadersView headers, JsonNode body) {}

    /** The few response headers the toolkit reads. */
    record HttpHeadersView(String asyncOperation, String location, String retryAfter) {}

    // --- plain calls -----------------------------------------------------------------------------------

    public Optional<JsonNode> get(String id, String apiVersion) {
        Response r = send(HttpMethod.GET, url(id, apiVersion), null);
        if (r.status == 404) return Optional.empty();
        check(r, id);
        return Optional.of(r.body);
    }

    /** GET of a full URL (list calls, next links); errors throw. */
    public JsonNode getUrl(String url) {
        Response r = send(HttpMethod.GET, url, null);
        check(r, url);
        return r.body;
    }

    /** Every item of a list answer, following nextLink across pages. */
    public java.util.List<JsonNode> listAll(String url) {
        java.util.List<JsonNode> items = new java.util.ArrayList<>();
        for (String next = url; next != null && !next.isEmpty(); ) {
            JsonNode page = getUrl(next);
            page.path("value").forEach(items::add);
            next = page.path("nextLink").asText(null);
        }
        return items;
    }

    public JsonNode post(String id, String apiVersion, JsonNode body) {
        Response r = send(HttpMethod.POST, url(id, apiVersion), body == null ? null : Json.compact(body));
        check(r, id);
        return r.body;
    }

    /** A long-running action (e.g. managedClusters/rotateClusterCertificates): started, then waited for to the end. */
    public void postAndWait(String id, String apiVersion, Watcher watcher) {
        Response r = send(HttpMethod.POST, url(id, apiVersion), null);
        check(r, id);
        if (r.status == 202 || r.headers.asyncOperation() != null || r.headers.location() != null) await(r, watcher, id);
    }

    public JsonNode postUrl(String url, JsonNode body) {
        Response r = send(HttpMethod.POST, url, body == null ? null : Json.compact(body));
        check(r, url);
        return r.body;
    }

    public void deleteUrl(String url) {
        Response r = send(HttpMethod.DELETE, url, null);
        if (r.status == 404) return;
        check(r, url);
    }

    // --- long-running writes ----------------------------------------------------------------------------

    /** Hooks for a long-running operation: where it is being polled, and the waits between polls. */
    interface Watcher {
        default void started(String operationUrl) {}
        default void waiting(Duration next) {}
        Watcher NONE = new Watcher() {};
    }

    /** Create-or-update; returns the resource as Azure has it once the operation has finished. */
    public JsonNode put(String id, String apiVersion, JsonNode body, Watcher watcher) {
        Response r = send(HttpMethod.PUT, url(id, apiVersion), Json.compact(body));
        check(r, id);
        return finish(id, apiVersion, r, watcher);
    }

    /** Partial update (e.g. a server's admin password); long-running like {@link #put}, polled the same way. */
    public JsonNode patch(String id, String apiVersion, JsonNode body, Watcher watcher) {
        Response r = send(HttpMethod.PATCH, url(id, apiVersion), Json.compact(body));
        check(r, id);
        return finish(id, apiVersion, r, watcher);
    }

    /**
     * Continues an operation started earlier (by this run before a dropped connection, or by an interrupted run):
     * waits for the resource's provisioningState to settle, without sending a second create.
     */
    public JsonNode awaitSettled(String id, String apiVersion, Watcher watcher) {
        long start = System.nanoTime();
        int attempt = 0;
        while (true) {
            Optional<JsonNode> now = get(id, apiVersion);
            if (now.isEmpty()) return null;
            String state = now.get().path("properties").path("provisioningState").asText("Succeeded");
            if (!inProgress(state)) {
                if (state.equalsIgnoreCase("Failed") || state.equalsIgnoreCase("Canceled")) {
                    throw new AzureException(409, "ProvisioningState" + state, id + " is in state " + state, id);
                }
                return now.get();
            }
            sleep(nextPoll(null, start, attempt++), watcher);
        }
    }

    public void delete(String id, String apiVersion, Watcher watcher) {
        Response r = send(HttpMethod.DELETE, url(id, apiVersion), null);
        if (r.status == 404 || r.status == 204) return;
        check(r, id);
        if (r.status == 202 || r.headers.asyncOperation() != null) {
            await(r, watcher, id);
        }
    }

    /** Starts a delete and returns without waiting; true if something was there to delete. */
    public boolean deleteNoWait(String id, String apiVersion) {
        Response r = send(HttpMethod.DELETE, url(id, apiVersion), null);
        if (r.status == 404 || r.status == 204) return false;
        check(r, id);
        return true;
    }

    private JsonNode finish(String id, String apiVersion, Response r, Watcher watcher) {
        boolean async = r.headers.asyncOperation() != null || r.headers.location() != null || r.status == 202;
        String state = r.body.path("properties").path("provisioningState").asText("");
        if (!async && !inProgress(state) && r.body.isObject()) {
            if (state.equalsIgnoreCase("Failed")) throw new AzureException(200, "ProvisioningFailed", id + " failed", id);
            return r.body;
        }
        if (async) {
            await(r, watcher, id);
        }
        JsonNode done = awaitSettled(id, apiVersion, watcher);
        if (done == null) throw new AzureException(404, "ResourceNotFound", id + " is gone after its operation finished", id);
        return done;
    }

    /** Polls Azure-AsyncOperation (preferred) or Location until the operation is over; failure throws. */
    private void await(Response first, Watcher watcher, String id) {
        String opUrl = first.headers.asyncOperation() != null ? first.headers.asyncOperation() : first.headers.location();
        if (opUrl == null) return;
        boolean asyncOp = first.headers.asyncOperation() != null;
        watcher.started(opUrl);
        long start = System.nanoTime();
        String retryAfter = first.headers.retryAfter();
        int attempt = 0;
        int dropped = 0;
        while (true) {
            sleep(nextPoll(retryAfter, start, attempt++), watcher);
            Response p;
            try {
                p = send(HttpMethod.GET, opUrl, null);
            } catch (RuntimeException e) {
                if (!isConnectionProblem(e) || ++dropped > 20) throw e;
                retryAfter = null;   // keep polling the same operation; never start a second one
                continue;
            }
            retryAfter = p.headers.retryAfter();
            if (asyncOp) {
                if (p.status >= 400) { check(p, id); }
                String status = p.body.path("status").asText("InProgress");
                if (status.equalsIgnoreCase("Succeeded")) return;
                if (status.equalsIgnoreCase("Failed") || status.equalsIgnoreCase("Canceled")) {
                    JsonNode err = p.body.path("error");
                    throw new AzureException(200, err.path("code").asText("OperationFailed"),
                            err.path("message").asText("the operation ended " + status), id);
                }
            } else {
                if (p.status == 202) continue;
                if (p.status >= 400) check(p, id);
                return;
            }
        }
    }

    /**
     * When to poll next: as the service asks (Retry-After), else every fortieth of the time spent so far, between
     * 0.1 s and 10 s. An operation's end is so noticed at most 2.5 % (or 0.1 s, and never more than 10 s) late, so two
     * long operations in a row (a cluster, then its node pool) still finish within 5 % of Azure's own time; the
     * number of polls grows only with the logarithm of the duration (about 220 for a 6-minute cluster).
     */
    static Duration nextPoll(String retryAfter, long startNanos, int attempt) {
        if (retryAfter != null) {
            try {
                return Duration.ofSeconds(Long.parseLong(retryAfter.trim()));
            } catch (NumberFormatException ignored) {
                // an HTTP date: fall through to our own pace
            }
        }
        long elapsed = Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
        return Duration.ofMillis(Math.max(100, Math.min(10000, elapsed / 40)));
    }

    private static void sleep(Duration d, Watcher watcher) {
        watcher.waiting(d);
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Executor.Interrupted();  // the operation goes on in Azure
        }
    }

    static boolean inProgress(String state) {
        String s = state.toLowerCase(Locale.ROOT);
        return !(s.isEmpty() || s.equals("succeeded") || s.equals("failed") || s.equals("canceled"));
    }

    private static boolean isConnectionProblem(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.io.IOException) return true;
        }
        return false;
    }

    // --- transport ------------------------------------------------------------------------------------

    /** An OData query value ($filter) encoded for a URL: spaces as %20, as Resource Manager and Graph expect. */
    public static String odata(String expression) {
        return java.net.URLEncoder.encode(expression, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
    }

    public String url(String id, String apiVersion) {
        return endpoint + id + (id.contains("?") ? "&" : "?") + "api-version=" + apiVersion;
    }

    public Response send(HttpMethod method, String url, String body) {
        if (Thread.currentThread().isInterrupted()) throw new Executor.Interrupted();  // the operation goes on in Azure
        HttpRequest req = new HttpRequest(method, url);
        if (body != null) {
            req.setHeader(HttpHeaderName.CONTENT_TYPE, "application/json");
            req.setBody(body);
        }
        try (HttpResponse resp = pipeline.sendSync(req, Context.NONE)) {
            String text = resp.getBodyAsBinaryData() == null ? "" : resp.getBodyAsBinaryData().toString();
            JsonNode json;
            try {
                json = text.isBlank() ? Json.MAPPER.nullNode() : Json.parse(text);
            } catch (IllegalStateException notJson) {
                json = Json.obj().put("raw", text);
            }
            return new Response(resp.getStatusCode(), new HttpHeadersView(
                    resp.getHeaderValue(HttpHeaderName.fromString("Azure-AsyncOperation")),
                    resp.getHeaderValue(HttpHeaderName.LOCATION),
                    resp.getHeaderValue(HttpHeaderName.RETRY_AFTER)), json);
        }
    }

    private static void check(Response r, String target) {
        if (r.status < 400) return;
        JsonNode err = r.body.has("error") ? r.body.get("error") : r.body;
        String code = err.path("code").asText("HttpStatus" + r.status);
        String message = err.path("message").asText(r.body.toString());
        throw new AzureException(r.status, code, message, target);
    }
}
