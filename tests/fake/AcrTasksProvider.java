package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * ACR Tasks, the second provider of namespace Microsoft.ContainerRegistry (registries themselves are
 * {@link ContainerRegistryProvider}'s): quick builds as {@code az acr build} makes them.
 *
 * <p>Shapes and rules from azure-rest-api-specs .../Microsoft.ContainerRegistry/preview/2025-03-01-preview/
 * containerregistry_build.json: listBuildSourceUploadUrl and scheduleRun are POST actions on a registry; a
 * DockerBuildRequest needs dockerFilePath and platform (platform.os), timeout 300..28800; runs are read with GET
 * runs/{runId}, listed with GET runs ($filter, $top, nextLink), their log link comes from POST runs/{runId}/listLogSasUrl.
 * The upload URL is a shared-access-signature blob URL; uploading is Blob REST Put Blob (x-ms-blob-type required,
 * learn.microsoft.com/rest/api/storageservices/put-blob), which refuses a missing header, a bad signature and a token
 * for another audience as Storage does. The upload and log URLs lead back to the fake (see {@link #storage}).
 *
 * <p>A run goes Queued, Running, then ends on the next read (Succeeded, or Failed where {@link #failBuild} says so).
 * The build reads the uploaded tar.gz: its Dockerfile's FROM must be pullable, i.e. name an image of this registry
 * under a cache rule's target repository (the toolkit's {@code library/python}), else the build fails as a pull would.
 * On success each image name is pushed to the registry. ACR Tasks is refused (TasksOperationsNotAllowed, with the
 * message users report: Azure-Samples/azure-search-openai-demo#2592) on Free Trial subscriptions and on any the test
 * marks with {@link AzureFake#refuseTasks}.
 */
final class AcrTasksProvider extends ArmProvider {
    static final List<String> TASK_API_VERSIONS = List.of("2019-04-01", "2019-06-01-preview", "2025-03-01-preview");
    private static final String REGISTRIES = "microsoft.containerregistry/registries";
    private static final Pattern FROM = Pattern.compile("(?m)^FROM\\s+(\\S+)");
    /** How many runs one list page holds (small, so that following nextLink is exercised). */
    static final int PAGE = 4;

    /** The registries' content ({@link ContainerRegistryProvider}'s), as {@link AzureFake} wires it. */
    interface Registries {
        /** Whether the registry can serve this image to a build: a pushed tag, or a repository under a cache rule. */
        boolean pullable(String registryId, String repository, String tag);

        /** Pushes; returns why the registry refused it, or null. */
        String push(String registryId, String repository, String tag);
    }

    record Upload(String registryKey, String relativePath, String sig, byte[] bytes) {}

    static final class Run {
        String id;
        String registryKey;
        String login;
        List<String> imageNames;
        String dockerfile;
        String status = "Queued";
        int reads;
        String failure;
        String log = "";
        String createTime = Instant.now().toString();
        String startTime;
        String finishTime;
        String logSig = UUID.randomUUID().toString().replace("-", "");
        final List<ObjectNode> outputs = new ArrayList<>();
    }

    final Map<String, Upload> uploads = new LinkedHashMap<>();
    final Map<String, Run> runs = new LinkedHashMap<>();
    /** Image name (repository:tag) to the log of its next build, which then fails. */
    final Map<String, String> failures = new LinkedHashMap<>();
    /** Subscriptions (lower-case ids) on which scheduleRun is refused whatever their offer. */
    final Set<String> refused = new java.util.HashSet<>();
    Registries registries;
    private int counter;

    AcrTasksProvider(ArmCore core) {
        super(core, "Microsoft.ContainerRegistry", TASK_API_VERSIONS);
    }

    // --- Resource Manager actions ------------------------------------------------------------------------------

    @Override public Answer action(Req q, ArmId a) {
        String t = a.typeLower();
        if (!t.startsWith(REGISTRIES + "/")) return null;
        String rest = t.substring(REGISTRIES.length() + 1);
        if (!Set.of("listbuildsourceuploadurl", "schedulerun", "runs", "runs/listlogsasurl").contains(rest)) return null;
        if (!TASK_API_VERSIONS.contains(q.apiVersion())) {
            throw Answer.fail(400, "NoRegisteredProviderFound", "No registered resource provider found for location and API version '"
                    + q.apiVersion() + "' and type 'registries/" + a.typeSegs().get(1) + "'. The supported api-versions are '"
                    + String.join(", ", TASK_API_VERSIONS) + "'.");
        }
        String registryId = "/subscriptions/" + a.sub() + "/resourceGroups/" + a.rg() + "/providers/Microsoft.ContainerRegistry/registries/" + a.names().get(0);
        Res registry = core.get(registryId);
        if (registry == null) {
            return Answer.error(404, "ResourceNotFound", "The Resource 'Microsoft.ContainerRegistry/registries/" + a.names().get(0)
                    + "' under resource group '" + a.rg() + "' was not found.");
        }
        return switch (rest) {
            case "listbuildsourceuploadurl" -> uploadUrl(q, registry);
            case "schedulerun" -> schedule(q, a, registry);
            case "runs" -> a.names().size() == 1 ? list(q, registry) : get(q, registry, a.names().get(1));
            default -> logUrl(q, registry, a.names().get(1));
        };
    }

    private Answer uploadUrl(Req q, Res registry) {
        q.requirePost();
        String relative = "source/" + java.time.LocalDate.now().toString().replace("-", "") + "/" + UUID.randomUUID() + ".tar.gz";
        String sig = UUID.randomUUID().toString().replace("-", "");
        String blob = "/acrtasks-source/" + registry.key().hashCode() + "/" + relative;
        uploads.put(blob, new Upload(registry.key(), relative, sig, null));
        ObjectNode out = Answer.M.createObjectNode();
        out.put("uploadUrl", storage(q) + blob + "?sv=2021-08-06&sr=b&sp=cw&se=" + Instant.now().plusSeconds(3600) + "&sig=" + sig);
        out.put("relativePath", relative);
        return Answer.json(200, out);
    }

    private Answer schedule(Req q, ArmId a, Res registry) {
        q.requirePost();
        ObjectNode body = q.json();
        String quota = core.quotaIds.getOrDefault(a.sub().toLowerCase(Locale.ROOT), "PayAsYouGo_2014-09-01");
        if (quota.equals("FreeTrial_2014-09-01") || refused.contains(a.sub().toLowerCase(Locale.ROOT))) {
            ObjectNode e = Answer.M.createObjectNode();
            ObjectNode in = e.putObject("error");
            in.put("code", "TasksOperationsNotAllowed");
            in.put("message", "ACR Tasks requests for the registry " + registry.name() + " and " + a.sub()
                    + " are not permitted. Please file an Azure support request at http://aka.ms/azuresupport for assistance.");
            in.put("target", "request");
            return Answer.json(400, e);
        }
        if (!body.path("type").asText().equals("DockerBuildRequest")) {
            throw Answer.fail(400, "InvalidRequestContent", "The fake knows DockerBuildRequest runs only, not '" + body.path("type").asText() + "'.");
        }
        if (body.path("dockerFilePath").asText("").isEmpty()) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: 'dockerFilePath' is required.");
        }
        if (!body.path("platform").path("os").isTextual()) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: 'platform' with 'os' is required.");
        }
        if (body.has("timeout") && (body.path("timeout").asInt() < 300 || body.path("timeout").asInt() > 28800)) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: 'timeout' must be between 300 and 28800.");
        }
        String location = body.path("sourceLocation").asText("");
        Upload upload = uploads.values().stream()
                .filter(u -> u.registryKey().equals(registry.key()) && u.relativePath().equals(location) && u.bytes() != null)
                .findFirst().orElseThrow(() -> Answer.fail(400, "InvalidRequestContent",
                        "The source location '" + location + "' is not an uploaded build source of this registry."));
        Run run = new Run();
        run.id = "c" + (char) ('a' + counter / 100 % 26) + (++counter);
        run.registryKey = registry.key();
        run.login = core.render(registry).path("properties").path("loginServer").asText(registry.name() + ".azurecr.io");
        run.imageNames = new ArrayList<>();
        body.path("imageNames").forEach(n -> run.imageNames.add(n.asText()));
        run.dockerfile = file(upload.bytes(), body.path("dockerFilePath").asText());
        for (String image : run.imageNames) {
            String log = failures.remove(image);
            if (log != null) run.failure = log;
        }
        runs.put(run.id, run);
        return Answer.json(200, render(registry, run));
    }

    private Answer get(Req q, Res registry, String runId) {
        q.requireGet();
        Run run = runs.get(runId);
        if (run == null || !run.registryKey.equals(registry.key())) {
            return Answer.error(404, "ResourceNotFound", "The run '" + runId + "' was not found in registry " + registry.name() + ".");
        }
        advance(registry, run);
        return Answer.json(200, render(registry, run));
    }

    private Answer list(Req q, Res registry) {
        q.requireGet();
        List<String> wanted = new ArrayList<>();
        Matcher m = Pattern.compile("status\\s+eq\\s+'(\\w+)'", Pattern.CASE_INSENSITIVE).matcher(q.q("$filter") == null ? "" : q.q("$filter"));
        while (m.find()) wanted.add(m.group(1).toLowerCase(Locale.ROOT));
        List<Run> mine = new ArrayList<>();
        for (Run r : runs.values()) {
            if (r.registryKey.equals(registry.key()) && (wanted.isEmpty() || wanted.contains(r.status.toLowerCase(Locale.ROOT)))) mine.add(0, r);
        }
        if (q.q("$top") != null) mine = mine.subList(0, Math.min(mine.size(), Integer.parseInt(q.q("$top"))));
        int skip = q.q("$skipToken") == null ? 0 : Integer.parseInt(q.q("$skipToken"));
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Run r : mine.subList(Math.min(skip, mine.size()), Math.min(skip + PAGE, mine.size()))) v.add(render(registry, r));
        if (skip + PAGE < mine.size()) {
            StringBuilder next = new StringBuilder(q.base() + q.path() + "?api-version=" + q.apiVersion());
            if (q.q("$filter") != null) next.append("&$filter=").append(java.net.URLEncoder.encode(q.q("$filter"), StandardCharsets.UTF_8).replace("+", "%20"));
            next.append("&$skipToken=").append(skip + PAGE);
            out.put("nextLink", next.toString());
        }
        return Answer.json(200, out);
    }

    private Answer logUrl(Req q, Res registry, String runId) {
        q.requirePost();
        Run run = runs.get(runId);
        if (run == null || !run.registryKey.equals(registry.key())) {
            return Answer.error(404, "ResourceNotFound", "The run '" + runId + "' was not found in registry " + registry.name() + ".");
        }
        ObjectNode out = Answer.M.createObjectNode();
        out.put("logLink", storage(q) + "/acrtasks-logs/" + run.id + "/rawtext.log?sv=2021-08-06&sr=b&sp=r&sig=" + run.logSig);
        return Answer.json(200, out);
    }

    /**
     * Where the SAS URLs point: in the public cloud a storage host of their own, as ACR's are (the fake, as the HTTP
     * client, answers any host); anywhere else (a custom cloud's endpoint, or {@link AzureFakeServer} on loopback, the
     * only address another process reaches) the fake's own address, which stands for that whole cloud.
     */
    private static String storage(Req q) {
        return q.host().equalsIgnoreCase("management.azure.com") ? "https://acrtaskbuildsource.blob.core.windows.net" : q.base();
    }

    /** The run moves on by one step per read: Queued, Running, then its end. */
    private void advance(Res registry, Run run) {
        if (run.finishTime != null) return;
        run.reads++;
        if (run.reads == 1) {
            run.status = "Running";
            run.startTime = Instant.now().toString();
            return;
        }
        run.finishTime = Instant.now().toString();
        StringBuilder log = new StringBuilder("2026/01/01 00:00:00 Downloading source code...\n");
        log.append("Step 1/3 : ").append(firstLine(run.dockerfile)).append('\n');
        String why = run.failure != null ? run.failure : pullProblem(registry, run);
        if (why == null) {
            for (String name : run.imageNames) {
                int colon = name.lastIndexOf(':');
                String refusal = registries == null ? null : registries.push(registry.id, name.substring(0, colon), name.substring(colon + 1));
                if (refusal != null) {
                    why = "push of " + name + " refused: " + refusal;
                    break;
                }
            }
        }
        if (why != null) {
            run.status = "Failed";
            run.log = log + why + "\nRun ID: " + run.id + " failed after 1m2s. Error: failed during run, err: exit status 1\n";
            return;
        }
        for (String name : run.imageNames) {
            int colon = name.lastIndexOf(':');
            ObjectNode img = Answer.M.createObjectNode();
            img.put("registry", run.login);
            img.put("repository", name.substring(0, colon));
            img.put("tag", name.substring(colon + 1));
            img.put("digest", "sha256:" + sha256(run.dockerfile));
            run.outputs.add(img);
        }
        run.status = "Succeeded";
        run.log = log + "Successfully pushed " + String.join(", ", run.imageNames) + "\nRun ID: " + run.id + " was successful after 1m2s\n";
    }

    /** Why the Dockerfile's FROM cannot be pulled, or null: only this registry's cached or pushed repositories are reachable here. */
    private String pullProblem(Res registry, Run run) {
        if (run.dockerfile == null) return "unable to prepare context: unable to evaluate symlinks in Dockerfile path: no such file";
        Matcher m = FROM.matcher(run.dockerfile);
        if (!m.find()) return "Dockerfile parse error: no FROM";
        String image = m.group(1);
        String prefix = run.login + "/";
        int colon = image.lastIndexOf(':');
        String repository = image.startsWith(prefix) ? image.substring(prefix.length(), colon > prefix.length() ? colon : image.length()) : null;
        String tag = colon > prefix.length() ? image.substring(colon + 1) : "latest";
        if (repository == null || registries == null || !registries.pullable(registry.id, repository, tag)) {
            return "failed to resolve source metadata for " + image + ": not found (the fake pulls only images of this registry, "
                    + "pushed or under a cache rule)";
        }
        return null;
    }

    private ObjectNode render(Res registry, Run run) {
        ObjectNode o = Answer.M.createObjectNode();
        o.put("id", registry.id + "/runs/" + run.id);
        o.put("name", run.id);
        o.put("type", "Microsoft.ContainerRegistry/registries/runs");
        ObjectNode p = o.putObject("properties");
        p.put("runId", run.id);
        p.put("status", run.status);
        p.put("runType", "QuickBuild");
        p.put("createTime", run.createTime);
        if (run.startTime != null) p.put("startTime", run.startTime);
        if (run.finishTime != null) p.put("finishTime", run.finishTime);
        p.putObject("platform").put("os", "linux").put("architecture", "amd64");
        ArrayNode outs = p.putArray("outputImages");
        run.outputs.forEach(outs::add);
        if (run.status.equals("Failed")) p.put("runErrorMessage", "failed during run, err: exit status 1");
        p.put("provisioningState", "Succeeded");
        return o;
    }

    // --- the storage URLs: source upload and log -------------------------------------------------------------------

    @Override public Answer front(Req q) {
        if (q.path().startsWith("/acrtasks-source/")) return putSource(q);
        if (q.path().startsWith("/acrtasks-logs/")) return getLog(q);
        return null;
    }

    private Answer putSource(Req q) {
        Upload u = uploads.get(q.path());
        if (q.caller() != null) {
            return storageError(401, "InvalidAuthenticationInfo", "Server failed to authenticate the request. Please refer to the "
                    + "information in the www-authenticate header.\nAuthenticationErrorDetail:Audience validation failed.");
        }
        if (u == null || !u.sig().equals(q.q("sig"))) {
            return storageError(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of "
                    + "Authorization header is formed correctly including the signature.");
        }
        if (!q.method().equals("PUT")) return storageError(405, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.");
        if (q.header("x-ms-blob-type") == null) {
            return storageError(400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.");
        }
        if (!q.header("x-ms-blob-type").equals("BlockBlob")) {
            return storageError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format.");
        }
        uploads.put(q.path(), new Upload(u.registryKey(), u.relativePath(), u.sig(), q.body()));
        return Answer.empty(201, Map.of("ETag", "\"0x" + Long.toHexString(System.nanoTime()) + "\""));
    }

    private Answer getLog(Req q) {
        String[] parts = q.path().split("/");
        Run run = parts.length > 2 ? runs.get(parts[2]) : null;
        if (run == null || !run.logSig.equals(q.q("sig")) || q.caller() != null) {
            return storageError(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of "
                    + "Authorization header is formed correctly including the signature.");
        }
        return new Answer(200, Map.of("Content-Type", "text/plain"), run.log.getBytes(StandardCharsets.UTF_8));
    }

    /** Blob REST errors are XML, with x-ms-error-code. */
    private static Answer storageError(int status, String code, String message) {
        String xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>" + code + "</Code><Message>" + message + "</Message></Error>";
        return new Answer(status, Map.of("Content-Type", "application/xml", "x-ms-error-code", code), xml.getBytes(StandardCharsets.UTF_8));
    }

    // --- reading the context -------------------------------------------------------------------------------------

    /** A file of a tar.gz (POSIX ustar), or null when it is not there or the archive is not one. */
    static String file(byte[] targz, String name) {
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(targz))) {
            byte[] all = in.readAllBytes();
            for (int at = 0; at + 512 <= all.length; ) {
                String entry = field(all, at, 100);
                if (entry.isEmpty()) return null;
                long size = Long.parseLong(field(all, at + 124, 12).trim(), 8);
                if (entry.equals(name) || entry.equals("./" + name)) return new String(all, at + 512, (int) size, StandardCharsets.UTF_8);
                at += 512 + (int) ((size + 511) / 512 * 512);
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static String field(byte[] b, int at, int width) {
        int end = at;
        while (end < at + width && b[end] != 0) end++;
        return new String(b, at, end - at, StandardCharsets.US_ASCII);
    }

    private static String firstLine(String s) {
        if (s == null) return "";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String sha256(String s) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(String.valueOf(s).getBytes(StandardCharsets.UTF_8)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The Dockerfile a pushed image was built from (login server/repository:tag), or null. */
    String builtFrom(String image) {
        for (Run r : runs.values()) {
            if (!r.status.equals("Succeeded")) continue;
            for (ObjectNode o : r.outputs) {
                if ((o.path("registry").asText() + "/" + o.path("repository").asText() + ":" + o.path("tag").asText()).equals(image)) return r.dockerfile;
            }
        }
        return null;
    }

    /** Runs of a registry, oldest first, as GET answers them. */
    List<JsonNode> runsOf(String registryId) {
        List<JsonNode> out = new ArrayList<>();
        Res registry = core.get(registryId);
        if (registry == null) return out;
        for (Run r : runs.values()) if (r.registryKey.equals(registry.key())) out.add(render(registry, r));
        return out;
    }

    /** Makes the run that produced an image look as if an older recipe had built it: its hashed tag becomes {@code oldTag}. */
    void retag(String registryId, String repository, String tag, String oldTag) {
        for (Run r : runs.values()) {
            for (ObjectNode o : r.outputs) {
                if (o.path("repository").asText().equals(repository) && o.path("tag").asText().equals(tag)) o.put("tag", oldTag);
            }
        }
    }
}
