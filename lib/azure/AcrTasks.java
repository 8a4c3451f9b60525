package azure;

import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.policy.BearerTokenAuthenticationPolicy;
import com.azure.core.http.policy.HttpPipelinePolicy;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Executor;
import engine.Json;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * ACR Tasks over Resource Manager, as {@code az acr build} does it: ask for an upload URL, upload the build context
 * there, schedule a Docker build run, wait for it, and read its log when it fails.
 *
 * <p>Shapes: azure-rest-api-specs specification/containerregistry/resource-manager/Microsoft.ContainerRegistry/preview/
 * 2025-03-01-preview/containerregistry_build.json (Registries_GetBuildSourceUploadUrl and Registries_ScheduleRun are
 * POST actions on the registry; Runs_Get, Runs_List with $filter and nextLink; Runs_GetLogSasUrl is a POST on the run;
 * DockerBuildRequest requires dockerFilePath and platform, timeout 300..28800 s; RunStatus Queued, Started, Running,
 * Succeeded, Failed, Canceled, Error, Timeout).
 *
 * <p>The upload URL and the log link are shared-access-signature URLs of a storage account ACR owns: they carry their
 * own authorization, so they are sent through the same HTTP client and policies (proxy, retries, request log) but never
 * with the Resource Manager bearer token.
 */
public final class AcrTasks {

    /** GET /subscriptions/{id} with subscriptionPolicies.quotaId (resources/.../subscriptions/stable/2022-12-01/subscriptions.json). */
    public static final String API_SUBSCRIPTIONS = "2022-12-01";

    /** The error scheduleRun answers when ACR Tasks is not permitted for the subscription. */
    public static final String REFUSED = "TasksOperationsNotAllowed";

    /**
     * Offers (subscriptionPolicies.quotaId) whose subscriptions ACR Tasks refuses. ACR docs (container-registry-tasks-overview):
     * "task runs are temporarily paused from Azure free credits". Confirmed by users for Free Trial (FreeTrial_2014-09-01:
     * Azure-Samples/azure-search-openai-demo#2592, MicrosoftDocs/azure-aks-docs#112, MicrosoftLearning/AZ-204...#855). The
     * other credit-only offers without a payment method are taken as refused too (not confirmed): Azure for Students,
     * Students Starter and Azure Pass. Quota ids: Cost Management docs "Understand Cost Management data", supported offers.
     * An offer not listed that is refused anyway is reported by scheduleRun's answer (see TaskImages).
     */
    public static final Set<String> REFUSED_QUOTA_IDS = Set.of("FreeTrial_2014-09-01", "AzureForStudents_2018-01-01",
            "DreamSpark_2015-02-01", "AzurePass_2014-09-01");

    /** Run statuses after which nothing changes any more. */
    static final Set<String> TERMINAL = Set.of("succeeded", "failed", "canceled", "error", "timeout");

    /** Blob REST version sent with the upload (Put Blob: x-ms-blob-type is required; learn.microsoft.com/rest/api/storageservices/put-blob). */
    static final String BLOB_API = "2021-08-06";

    private final Arm arm;
    private final String registryId;
    private final HttpPipeline sas;

    public AcrTasks(Arm arm, String registryId) {
        this.arm = arm;
        this.registryId = registryId;
        this.sas = withoutToken(arm.pipeline());
    }

    /** The subscription's offer (quotaId), or null when Azure does not say. */
    public static String quotaId(Arm arm, String subscriptionId) {
        return arm.get("/subscriptions/" + subscriptionId, API_SUBSCRIPTIONS)
                .map(s -> s.path("subscriptionPolicies").path("quotaId").asText(null)).orElse(null);
    }

    /** Whether ACR Tasks is known to refuse subscriptions of this offer. */
    public static boolean refused(String quotaId) {
        return quotaId != null && REFUSED_QUOTA_IDS.stream().anyMatch(q -> q.equalsIgnoreCase(quotaId));
    }

    /** Where a build context goes: the SAS URL to upload to, and the path scheduleRun names it by. */
    public record Upload(String uploadUrl, String relativePath) {}

    public Upload uploadUrl() {
        JsonNode r = arm.post(registryId + "/listBuildSourceUploadUrl", Registry.API_TASKS, null);
        return new Upload(r.path("uploadUrl").asText(), r.path("relativePath").asText());
    }

    /** Puts the context (a tar.gz) at the upload URL as a block blob. */
    public void upload(String uploadUrl, byte[] context) {
        HttpRequest req = new HttpRequest(HttpMethod.PUT, uploadUrl);
        req.setHeader(HttpHeaderName.fromString("x-ms-blob-type"), "BlockBlob");
        req.setHeader(HttpHeaderName.fromString("x-ms-version"), BLOB_API);
        req.setHeader(HttpHeaderName.CONTENT_TYPE, "application/octet-stream");
        req.setBody(context);
        try (HttpResponse resp = sas.sendSync(req, Context.NONE)) {
            if (resp.getStatusCode() >= 300) {
                String body = resp.getBodyAsBinaryData() == null ? "" : resp.getBodyAsBinaryData().toString();
                throw new Arm.AzureException(resp.getStatusCode(), storageCode(body, resp.getStatusCode()),
                        "the build context could not be uploaded (HTTP " + resp.getStatusCode() + ")", "build source upload");
            }
        }
    }

    /** A Docker build of the uploaded context: DockerBuildRequest as the spec has it. */
    public static ObjectNode dockerBuild(String relativePath, String dockerfile, List<String> imageNames, int timeoutSeconds) {
        ObjectNode r = Json.obj();
        r.put("type", "DockerBuildRequest");
        r.put("sourceLocation", relativePath);
        r.put("dockerFilePath", dockerfile);
        var names = r.putArray("imageNames");
        imageNames.forEach(names::add);
        r.put("isPushEnabled", true);
        r.put("noCache", false);
        r.putObject("platform").put("os", "Linux").put("architecture", "amd64");
        r.put("timeout", timeoutSeconds);
        return r;
    }

    /** Schedules a run; the answer is the Run (properties.runId, status). */
    public JsonNode schedule(JsonNode request) {
        return arm.post(registryId + "/scheduleRun", Registry.API_TASKS, request);
    }

    public JsonNode run(String runId) {
        return arm.get(registryId + "/runs/" + runId, Registry.API_TASKS)
                .orElseThrow(() -> new Arm.AzureException(404, "RunNotFound", "run " + runId + " is gone", registryId));
    }

    /** Polls the run until it ends; {@code onStatus} hears each status change. The run as it ended. */
    public JsonNode await(String runId, java.util.function.Consumer<String> onStatus) {
        long start = System.nanoTime();
        String last = null;
        for (int attempt = 0; ; attempt++) {
            JsonNode run = run(runId);
            String status = status(run);
            if (!status.equals(last)) {
                onStatus.accept(status);
                last = status;
            }
            if (TERMINAL.contains(status.toLowerCase(java.util.Locale.ROOT))) return run;
            Duration wait = Arm.nextPoll(null, start, attempt);
            try {
                Thread.sleep(wait.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Executor.Interrupted();   // the run goes on in Azure; the next run finds it
            }
        }
    }

    public static String status(JsonNode run) {
        return run.path("properties").path("status").asText("Queued");
    }

    /** The registry's succeeded runs, every page (what exists is learned from them: their outputImages). */
    public List<JsonNode> succeededRuns() {
        return arm.listAll(arm.url(registryId + "/runs?$filter=" + Arm.odata("status eq 'Succeeded'"), Registry.API_TASKS));
    }

    /** The registry's runs that have not ended (a build an interrupted run left going). */
    public List<JsonNode> activeRuns() {
        return arm.listAll(arm.url(registryId + "/runs?$filter=" + Arm.odata("status eq 'Queued' or status eq 'Started' or status eq 'Running'"),
                Registry.API_TASKS));
    }

    /** The last {@code lines} lines of the run's log, or a sentence saying why it could not be read. */
    public List<String> logTail(String runId, int lines) {
        try {
            String link = arm.post(registryId + "/runs/" + runId + "/listLogSasUrl", Registry.API_TASKS, null).path("logLink").asText("");
            if (link.isEmpty()) return List.of("(the run has no log link)");
            try (HttpResponse resp = sas.sendSync(new HttpRequest(HttpMethod.GET, link), Context.NONE)) {
                if (resp.getStatusCode() >= 300) return List.of("(the log could not be read: HTTP " + resp.getStatusCode() + ")");
                String text = resp.getBodyAsBinaryData() == null ? "" : resp.getBodyAsBinaryData().toString();
                List<String> all = Arrays.asList(text.strip().split("\r?\n"));
                return new ArrayList<>(all.subList(Math.max(0, all.size() - lines), all.size()));
            }
        } catch (RuntimeException e) {
            return List.of("(the log could not be read: " + engine.Messages.firstLine(e.getMessage()) + ")");
        }
    }

    /** The pipeline's client and policies without the bearer token: for URLs that carry a shared access signature. */
    static HttpPipeline withoutToken(HttpPipeline p) {
        List<HttpPipelinePolicy> kept = new ArrayList<>();
        for (int i = 0; i < p.getPolicyCount(); i++) {
            if (!(p.getPolicy(i) instanceof BearerTokenAuthenticationPolicy)) kept.add(p.getPolicy(i));
        }
        return new HttpPipelineBuilder().httpClient(p.getHttpClient()).policies(kept.toArray(new HttpPipelinePolicy[0])).build();
    }

    /** Blob REST errors are XML: {@code <Error><Code>...</Code>}. */
    static String storageCode(String body, int status) {
        int a = body.indexOf("<Code>");
        int b = body.indexOf("</Code>");
        return a >= 0 && b > a ? body.substring(a + 6, b) : "HttpStatus" + status;
    }
}
