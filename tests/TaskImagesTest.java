import static org.junit.jupiter.api.Assertions.*;

import azure.AcrTasks;
import azure.Arm;
import azure.AzureLogin;
import azure.Registry;
import azure.TaskImages;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import fake.AzureFake;
import fake.ScriptRun;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The task images (issue 24 part 3): built by ACR Tasks through Resource Manager, planned like any resource, built once
 * per recipe, with the log on failure; and on a subscription whose offer ACR Tasks refuses, not planned at all.
 */
class TaskImagesTest {
    @TempDir Path home;

    static final String SUB = AzureFake.DEFAULT_SUBSCRIPTION;
    static final String REGISTRY = "/subscriptions/" + SUB + "/resourceGroups/rg-acme-metaflow-default-eastus"
            + "/providers/Microsoft.ContainerRegistry/registries/cracmemfdefault";
    static final String LOGIN = "cracmemfdefault.azurecr.io";

    ScriptRun.Result provision(AzureFake fake, String... args) {
        return ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), args);
    }

    static List<AzureFake.Recorded> posts(AzureFake fake, String action) {
        return fake.requests().stream().filter(r -> r.method().equals("POST") && r.path().endsWith("/" + action)).toList();
    }

    static String hash(String python) {
        return TaskImages.recipe(python).hash();
    }

    @Test
    void thePlanShowsTheFiveImagesWithAndWithoutASignIn() {
        ScriptRun.Result anonymous = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), null,
                "--prefix", "acme", "--dry-run");
        assertEquals(0, anonymous.code, anonymous.all());
        AzureFake fake = new AzureFake();
        ScriptRun.Result signedIn = provision(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, signedIn.code, signedIn.all());
        for (ScriptRun.Result r : List.of(anonymous, signedIn)) {
            for (String v : Registry.PYTHON_VERSIONS) {
                assertTrue(r.out.matches("(?s).*\\n\\+ task image +metaflow/python:" + v.replace(".", "\\.") + "\\n.*"), v + "\n" + r.out);
                assertTrue(r.out.contains(v + ", " + v + "-" + hash(v) + " (recipe " + hash(v) + ")"), r.out);
            }
            assertFalse(r.out.contains("Task images: not built"), r.out);
            // built once the base can be pulled through the registry's cache, not before
            assertTrue(r.out.contains("after:           container registry cracmemfdefault, cache rule library-python\n"), r.out);
        }
        assertTrue(posts(fake, "scheduleRun").isEmpty(), "a dry run builds nothing");
    }

    @Test
    void aFirstRunBuildsEachImageOnceFromTheCachedBaseAndARerunBuildsNothing() {
        AzureFake fake = new AzureFake();
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertEquals(5, posts(fake, "scheduleRun").size(), r.out);
        for (String v : Registry.PYTHON_VERSIONS) {
            String dockerfile = fake.builtDockerfile(LOGIN + "/metaflow/python:" + v);
            assertNotNull(dockerfile, "no image metaflow/python:" + v);
            assertEquals(dockerfile, fake.builtDockerfile(LOGIN + "/metaflow/python:" + v + "-" + hash(v)), "both tags come from one build");
            assertTrue(dockerfile.startsWith("FROM " + LOGIN + "/library/python:" + v + "-slim\n"), dockerfile);
            assertTrue(dockerfile.contains("pip install") && dockerfile.contains(
                    " azure-identity azure-storage-blob azure-keyvault-secrets simple-azure-blob-downloader requests\n"), dockerfile);
            assertTrue(dockerfile.contains("\nENV METAFLOW_SKIP_INSTALL_DEPENDENCIES=1\n"), dockerfile);
        }
        // the scheduled builds as the spec has them
        for (AzureFake.Recorded post : posts(fake, "scheduleRun")) {
            JsonNode body = Json.parse(post.body());
            assertEquals("DockerBuildRequest", body.path("type").asText());
            assertEquals("Linux", body.at("/platform/os").asText());
            assertEquals("amd64", body.at("/platform/architecture").asText());
            assertTrue(body.path("isPushEnabled").asBoolean());
            assertEquals(2, body.path("imageNames").size(), body.toString());
            assertTrue(post.url().contains("api-version=" + Registry.API_TASKS), post.url());
        }
        // the contexts went to the upload URLs, accepted (the fake refuses a bearer token, a bad signature or no blob type)
        List<AzureFake.Recorded> uploads = fake.requests().stream().filter(q -> q.method().equals("PUT") && q.path().startsWith("/acrtasks-source/")).toList();
        assertEquals(5, uploads.size());
        assertTrue(uploads.stream().allMatch(q -> q.status() == 201), uploads.toString());

        int requests = fake.requests().size();
        ScriptRun.Result again = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, again.code, again.all());
        assertTrue(again.out.contains("is up to date"), again.out);
        List<AzureFake.Recorded> later = fake.requests().subList(requests, fake.requests().size());
        assertTrue(later.stream().noneMatch(q -> q.path().endsWith("/scheduleRun") || q.path().endsWith("/listBuildSourceUploadUrl")), later.toString());
        // what exists was read from the runs, through Resource Manager, following nextLink (5 runs, pages of 4)
        assertTrue(later.stream().filter(q -> q.path().endsWith("/runs")).count() >= 2, later.toString());
    }

    @Test
    void aChangedRecipeRebuildsExactlyThatImage() {
        AzureFake fake = new AzureFake();
        assertEquals(0, provision(fake, "--prefix", "acme", "--yes").code);
        // As an older toolkit with another recipe for 3.11 leaves it: the run that made metaflow/python:3.11 tagged another hash.
        fake.retagBuild(REGISTRY, Registry.TASK_REPOSITORY, "3.11-" + hash("3.11"), "3.11-0123456789");

        ScriptRun.Result plan = provision(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, plan.code, plan.all());
        assertTrue(plan.out.contains("~ task image                   metaflow/python:3.11"), plan.out);
        assertTrue(plan.out.contains("recipe 0123456789 -> " + hash("3.11")), plan.out);
        for (String v : List.of("3.9", "3.10", "3.12", "3.13")) {
            assertTrue(plan.out.contains("= task image                   metaflow/python:" + v), plan.out);
        }
        assertTrue(plan.out.contains("0 to create, 1 to change"), plan.out);

        int before = posts(fake, "scheduleRun").size();
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        List<AzureFake.Recorded> builds = posts(fake, "scheduleRun");
        assertEquals(before + 1, builds.size());
        assertTrue(builds.get(builds.size() - 1).body().contains("metaflow/python:3.11-" + hash("3.11")), builds.get(builds.size() - 1).body());
        assertTrue(provision(fake, "--prefix", "acme", "--yes").out.contains("is up to date"));
    }

    @Test
    void aFailingBuildShowsItsLogTailAndWhatToDoAndARerunConverges() {
        AzureFake fake = new AzureFake();
        fake.failBuild("metaflow/python:3.12", "ERROR: Could not find a version that satisfies the requirement azure-identity");
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(1, r.code, r.all());
        assertTrue(r.err.contains("error: task-image-3.12 failed: build run "), r.err);
        assertTrue(r.err.contains("    | ERROR: Could not find a version that satisfies the requirement azure-identity"), r.err);
        assertTrue(r.err.contains("Run the same command again"), r.err);
        assertNull(fake.builtDockerfile(LOGIN + "/metaflow/python:3.12"));
        assertNotNull(fake.builtDockerfile(LOGIN + "/metaflow/python:3.11"), "the other builds went on");
        assertTrue(fake.resource(REGISTRY.replace("/providers/Microsoft.ContainerRegistry/registries/cracmemfdefault",
                "/providers/Microsoft.ContainerService/managedClusters/aks-acme-metaflow-default")).isPresent(), "the rest of the stack is there");

        int before = posts(fake, "scheduleRun").size();
        ScriptRun.Result again = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, again.code, again.all());
        assertEquals(before + 1, posts(fake, "scheduleRun").size(), "only the failed image is built again");
        assertNotNull(fake.builtDockerfile(LOGIN + "/metaflow/python:3.12"));
    }

    @Test
    void onAFreeTrialSubscriptionThePlanSaysSoNoBuildIsScheduledAndPythonIsCached() {
        AzureFake fake = new AzureFake().quotaId(SUB, "FreeTrial_2014-09-01");
        ScriptRun.Result plan = provision(fake, "--prefix", "acme", "--dry-run");
        assertEquals(0, plan.code, plan.all());
        assertFalse(plan.out.matches("(?s).*\\n[-+~=] task image .*"), plan.out);
        assertTrue(plan.out.contains("Task images: not built. ACR Tasks is refused on this subscription's offer (FreeTrial_2014-09-01"), plan.out);

        JsonNode doc = Json.parse(provision(fake, "--prefix", "acme", "--dry-run", "--output", "json").out);
        assertTrue(doc.path("taskImages").asText().contains("FreeTrial_2014-09-01"), doc.toString());

        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(0, r.code, r.all());
        assertTrue(r.out.contains("Task images: not built."), r.out);
        assertTrue(posts(fake, "scheduleRun").isEmpty());
        assertTrue(posts(fake, "listBuildSourceUploadUrl").isEmpty());
        JsonNode rule = fake.resource(REGISTRY + "/cacheRules/" + Registry.ruleName(Registry.TASK_REPOSITORY)).orElse(null);
        assertNotNull(rule, "metaflow/python is served by a cache rule instead");
        assertEquals(Registry.TASK_REPOSITORY, rule.at("/properties/targetRepository").asText());
    }

    @Test
    void anOfferNotKnownToBeRefusedIsReportedAndNoTaskImagesThenConverges() {
        AzureFake fake = new AzureFake().refuseTasks(SUB);
        ScriptRun.Result r = provision(fake, "--prefix", "acme", "--yes");
        assertEquals(1, r.code, r.all());
        assertTrue(r.err.contains("TasksOperationsNotAllowed"), r.err);
        assertTrue(r.err.contains("re-run with --no-task-images"), r.err);
        assertEquals(1, r.err.split("re-run with --no-task-images", -1).length - 1, "said once: " + r.err);

        ScriptRun.Result again = provision(fake, "--prefix", "acme", "--yes", "--no-task-images");
        assertEquals(0, again.code, again.all());
        assertTrue(again.out.contains("Task images: not built (--no-task-images)"), again.out);
        assertTrue(fake.resource(REGISTRY + "/cacheRules/" + Registry.ruleName(Registry.TASK_REPOSITORY)).isPresent());
    }

    // --- the pieces -----------------------------------------------------------------------------------------------

    @Test
    void theContextIsATarGzThatTarReads() throws Exception {
        String dockerfile = TaskImages.recipe("3.12").dockerfile(LOGIN);
        Path file = home.resolve("context.tar.gz");
        Files.write(file, TaskImages.context("Dockerfile", dockerfile));
        Process list = new ProcessBuilder("tar", "-tzvf", file.toString()).redirectErrorStream(true).start();
        String listing = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(list.waitFor(20, TimeUnit.SECONDS));
        assertEquals(0, list.exitValue(), listing);
        assertTrue(listing.strip().endsWith(" Dockerfile") && listing.strip().split("\n").length == 1, listing);
        Process read = new ProcessBuilder("tar", "-xzOf", file.toString(), "Dockerfile").start();
        String content = new String(read.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(read.waitFor(20, TimeUnit.SECONDS));
        assertEquals(dockerfile, content);
        assertArrayEquals(TaskImages.context("Dockerfile", dockerfile), TaskImages.context("Dockerfile", dockerfile), "the same bytes each time");
    }

    @Test
    void theRecipeHashNamesBaseAndPackages() {
        assertEquals(5, Registry.PYTHON_VERSIONS.stream().map(TaskImagesTest::hash).distinct().count());
        assertEquals(hash("3.11"), TaskImages.recipe("3.11").hash(), "stable");
        TaskImages.Recipe more = new TaskImages.Recipe("3.11", List.of("azure-identity", "requests"));
        assertNotEquals(hash("3.11"), more.hash());
        assertTrue(hash("3.11").matches("[0-9a-f]{10}"));
    }

    @Test
    void theOffersKnownToRefuseTasks() {
        assertTrue(AcrTasks.refused("FreeTrial_2014-09-01"));
        assertTrue(AcrTasks.refused("AzureForStudents_2018-01-01"));
        assertFalse(AcrTasks.refused("PayAsYouGo_2014-09-01"));
        assertFalse(AcrTasks.refused("EnterpriseAgreement_2014-09-01"));
        assertFalse(AcrTasks.refused(null));
    }

    @Test
    void theFakeRefusesWhatBlobStorageAndScheduleRunRefuse() {
        AzureFake fake = new AzureFake();
        assertEquals(0, provision(fake, "--prefix", "acme", "--yes", "--no-task-images").code);
        Arm arm = new Arm(new HttpPipelineBuilder().httpClient(fake).build(), "https://management.azure.com");
        AcrTasks tasks = new AcrTasks(arm, REGISTRY);
        AcrTasks.Upload up = tasks.uploadUrl();
        byte[] context = TaskImages.context("Dockerfile", "FROM " + LOGIN + "/library/python:3.12-slim\n");

        assertEquals(400, put(fake, up.uploadUrl(), context, false, null), "no x-ms-blob-type");
        assertEquals(403, put(fake, up.uploadUrl().replaceAll("sig=[^&]+", "sig=forged"), context, true, null), "a forged signature");
        assertEquals(401, put(fake, up.uploadUrl(), context, true, "Bearer " + fake.credential().getTokenSync(
                new com.azure.core.credential.TokenRequestContext().addScopes("https://management.azure.com/.default")).getToken()),
                "a Resource Manager token");
        Arm.AzureException notUploaded = assertThrows(Arm.AzureException.class, () -> tasks.schedule(
                AcrTasks.dockerBuild(up.relativePath(), "Dockerfile", List.of("x:1"), 600)));
        assertEquals(400, notUploaded.status);

        tasks.upload(up.uploadUrl(), context);
        ObjectNode noPlatform = AcrTasks.dockerBuild(up.relativePath(), "Dockerfile", List.of("x:1"), 600);
        noPlatform.remove("platform");
        assertEquals(400, assertThrows(Arm.AzureException.class, () -> tasks.schedule(noPlatform)).status);
        assertEquals(400, assertThrows(Arm.AzureException.class, () -> tasks.schedule(
                AcrTasks.dockerBuild(up.relativePath(), "Dockerfile", List.of("x:1"), 120))).status, "timeout under 300 s");
        JsonNode run = tasks.schedule(AcrTasks.dockerBuild(up.relativePath(), "Dockerfile", List.of("x:1"), 600));
        JsonNode done = tasks.await(run.at("/properties/runId").asText(), s -> { });
        assertEquals("Succeeded", AcrTasks.status(done), done.toString());
        assertEquals("x", done.at("/properties/outputImages/0/repository").asText());
    }

    static int put(AzureFake fake, String url, byte[] body, boolean blobType, String authorization) {
        HttpRequest req = new HttpRequest(HttpMethod.PUT, url);
        if (blobType) req.setHeader(HttpHeaderName.fromString("x-ms-blob-type"), "BlockBlob");
        if (authorization != null) req.setHeader(HttpHeaderName.AUTHORIZATION, authorization);
        req.setBody(body);
        try (HttpResponse resp = fake.sendSync(req, Context.NONE)) {
            return resp.getStatusCode();
        }
    }
}
