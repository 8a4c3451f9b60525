package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Executor;
import engine.Json;
import engine.Plan;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.GZIPOutputStream;

/**
 * The task images: for each Python version a team may run, {@code metaflow/python:X.Y} with Metaflow's Azure packages
 * installed and the variable set that makes Metaflow skip its own install at task start. Built in Azure by ACR Tasks
 * (see {@link AcrTasks}), from the official {@code python:X.Y-slim} pulled through the registry's own cache rule
 * ({@code library/python}), so a build never pulls Docker Hub anonymously.
 *
 * <p>What the image must hold, read from Netflix/metaflow 2.19.38: metaflow/metaflow_environment.py
 * {@code _get_install_dependencies_cmd} installs, for datastore azure, azure-identity, azure-storage-blob,
 * azure-keyvault-secrets, simple-azure-blob-downloader and requests, unless {@code METAFLOW_SKIP_INSTALL_DEPENDENCIES} is
 * set and non-empty ({@code if [ -z $METAFLOW_SKIP_INSTALL_DEPENDENCIES ]}); nothing in Metaflow sets or unsets it (its
 * only use in the tree). The rest of the task's command needs bash, date, tar and {@code download-azure-blob} (from
 * simple-azure-blob-downloader), which the Debian-based slim images have or the install brings.
 *
 * <p>What exists is learned through Resource Manager from the registry's succeeded runs (their outputImages): an image
 * is there when a run produced the tag {@code X.Y-<recipe hash>}, out of date when a run produced {@code X.Y} under another
 * hash. The registry's data plane is never spoken.
 */
public final class TaskImages {
    private TaskImages() {}

    /** Metaflow's install for datastore azure, in its order (metaflow_environment.py, 2.19.38). */
    public static final List<String> PACKAGES = List.of("azure-identity", "azure-storage-blob", "azure-keyvault-secrets",
            "simple-azure-blob-downloader", "requests");
    /** The variable Metaflow checks before installing (any non-empty value skips). */
    public static final String SKIP_INSTALL = "METAFLOW_SKIP_INSTALL_DEPENDENCIES";
    /** How long a build may take (DockerBuildRequest.timeout: 300..28800 s). */
    public static final int BUILD_TIMEOUT_SECONDS = 1800;
    static final String DOCKERFILE = "Dockerfile";
    /** Where the registry's login server goes in the Dockerfile: known only once the registry exists. */
    static final String REGISTRY_PLACEHOLDER = "{registry}";
    /** How many log lines a failed build shows. */
    static final int LOG_LINES = 25;

    /** A plan item's key for the image of a Python version. */
    public static String key(String python) {
        return "task-image-" + python;
    }

    /** What one image is made of; its hash names it, so a change of any part is a new image. */
    public record Recipe(String python, List<String> packages) {
        public String base() {
            return "python:" + python + "-slim";
        }

        /** The Dockerfile, with {@link #REGISTRY_PLACEHOLDER} for the login server. */
        public String dockerfileTemplate() {
            return "FROM " + REGISTRY_PLACEHOLDER + "/" + Registry.BASE_REPOSITORY + ":" + python + "-slim\n"
                    + "RUN python -m pip install --no-cache-dir --no-compile --disable-pip-version-check " + String.join(" ", packages) + "\n"
                    + "ENV " + SKIP_INSTALL + "=1\n";
        }

        public String dockerfile(String loginServer) {
            return dockerfileTemplate().replace(REGISTRY_PLACEHOLDER, loginServer);
        }

        /** Ten hex digits of SHA-256 over the base tag, the package list and the Dockerfile. */
        public String hash() {
            try {
                MessageDigest d = MessageDigest.getInstance("SHA-256");
                d.update((base() + "\n" + String.join(" ", packages) + "\n" + dockerfileTemplate()).getBytes(StandardCharsets.UTF_8));
                return HexFormat.of().formatHex(d.digest()).substring(0, 10);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The moving tag Metaflow's default naming asks for. */
        public String tag() {
            return python;
        }

        /** The tag that names this recipe. */
        public String recipeTag() {
            return python + "-" + hash();
        }

        public List<String> imageNames() {
            return List.of(Registry.TASK_REPOSITORY + ":" + tag(), Registry.TASK_REPOSITORY + ":" + recipeTag());
        }
    }

    public static Recipe recipe(String python) {
        return new Recipe(python, PACKAGES);
    }

    /**
     * One plan item per Python version: built once the registry and its {@code library/python} cache rule exist
     * ({@code after}), in parallel with the rest of the stack.
     */
    public static List<Plan.Item> items(Stack s, Desired.Caller c, String registryKey, List<Plan.Item> registryItems) {
        // The base comes through the registry's library/python cache rule: built only once that rule exists.
        List<String> after = registryItems.stream().filter(i -> registryKey.equals(i.parent())
                && i.name().equals(Registry.ruleName(Registry.BASE_REPOSITORY))).map(Plan.Item::key).toList();
        List<Plan.Item> items = new ArrayList<>();
        Runs runs = new Runs(s.registryId(c.subscriptionId()));
        for (String python : Registry.PYTHON_VERSIONS) {
            Recipe r = recipe(python);
            Map<String, String> settings = new LinkedHashMap<>();
            settings.put("base", r.base() + ", pulled through the registry's cache (" + Registry.BASE_REPOSITORY + ")");
            settings.put("packages", String.join(", ", r.packages()) + " (Metaflow's install for Azure, done once here)");
            settings.put("environment", SKIP_INSTALL + "=1 (tasks install nothing at start)");
            settings.put("tags", r.tag() + ", " + r.recipeTag() + " (recipe " + r.hash() + ")");
            settings.put("built by", "ACR Tasks in Azure, linux/amd64");
            List<String> deps = new ArrayList<>();
            deps.add(registryKey);
            deps.addAll(after);
            items.add(new Plan.Item(key(python), "task image", Registry.TASK_REPOSITORY + ":" + python, registryKey, deps, settings,
                    new Build(r, registryKey, runs)));
        }
        return items;
    }

    /** The registry's succeeded runs, listed once per plan for all the images. */
    static final class Runs {
        final String registryId;
        private List<JsonNode> succeeded;

        Runs(String registryId) {
            this.registryId = registryId;
        }

        synchronized List<JsonNode> succeeded(Arm arm) {
            if (succeeded == null) succeeded = new AcrTasks(arm, registryId).succeededRuns();
            return succeeded;
        }
    }

    /** A build run that failed: the log's last lines go with it. */
    public static final class BuildFailed extends Executor.Failure {
        public final List<String> logTail;
        public final String runId;

        BuildFailed(String code, String message, String runId, List<String> logTail) {
            super(code, message);
            this.runId = runId;
            this.logTail = logTail;
        }
    }

    /**
     * Reads an image from the runs that produced it; writes it by a build. State: {@code {recipe, run, image}} of the
     * run that produced the image's tags.
     */
    record Build(Recipe recipe, String registryKey, Runs runs) implements Plan.Handler {

        @Override
        public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode registry) {
            JsonNode found = null;
            String foundHash = null;
            for (JsonNode run : runs.succeeded(Clients.of(ctx).arm())) {
                List<String> tags = new ArrayList<>();
                for (JsonNode img : run.path("properties").path("outputImages")) {
                    if (img.path("repository").asText().equals(Registry.TASK_REPOSITORY)) tags.add(img.path("tag").asText());
                }
                if (tags.contains(recipe.recipeTag())) return Optional.of(state(recipe.hash(), run));
                if (tags.contains(recipe.tag()) && newer(run, found)) {
                    found = run;
                    foundHash = tags.stream().filter(t -> t.startsWith(recipe.python() + "-")).map(t -> t.substring(recipe.python().length() + 1))
                            .findFirst().orElse("unknown");
                }
            }
            return found == null ? Optional.empty() : Optional.of(state(foundHash, found));
        }

        private static boolean newer(JsonNode run, JsonNode than) {
            return than == null || run.path("properties").path("finishTime").asText("").compareTo(than.path("properties").path("finishTime").asText("")) > 0;
        }

        private ObjectNode state(String hash, JsonNode run) {
            ObjectNode s = Json.obj();
            s.put("recipe", hash);
            s.put("run", run.path("properties").path("runId").asText(run.path("name").asText()));
            s.put("image", Registry.TASK_REPOSITORY + ":" + recipe.python() + "-" + hash);
            return s;
        }

        @Override
        public List<String> differences(JsonNode current, Plan.Outputs outputs) {
            String had = current.path("recipe").asText();
            return had.equals(recipe.hash()) ? List.of() : List.of("recipe " + had + " -> " + recipe.hash());
        }

        @Override
        public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            String login = outputs.get(registryKey, "/properties/loginServer");
            if (login.equals(Plan.UNKNOWN)) throw new IllegalStateException("the registry's login server is not known");
            AcrTasks tasks = new AcrTasks(Clients.of(ctx).arm(), runs.registryId);
            AcrTasks.Upload upload = tasks.uploadUrl();
            tasks.upload(upload.uploadUrl(), context(DOCKERFILE, recipe.dockerfile(login)));
            JsonNode scheduled = tasks.schedule(AcrTasks.dockerBuild(upload.relativePath(), DOCKERFILE, recipe.imageNames(), BUILD_TIMEOUT_SECONDS));
            String runId = scheduled.path("properties").path("runId").asText(scheduled.path("name").asText());
            JsonNode run = tasks.await(runId, status -> { });
            String status = AcrTasks.status(run);
            if (!status.equalsIgnoreCase("Succeeded")) {
                String why = run.path("properties").path("runErrorMessage").asText("");
                throw new BuildFailed("Build" + status, "build run " + runId + " of " + Registry.TASK_REPOSITORY + ":" + recipe.python()
                        + " ended " + status + (why.isEmpty() ? "" : ": " + why), runId, tasks.logTail(runId, LOG_LINES));
            }
            return state(recipe.hash(), run);
        }
    }

    /**
     * A build context: a gzip'd tar holding one file. POSIX ustar (IEEE Std 1003.1, pax "ustar Interchange Format"):
     * a 512-byte header (name, mode, uid, gid, size and mtime in octal, checksum over the header with the checksum field
     * as spaces, typeflag '0', magic "ustar\0" version "00"), the data padded to 512 bytes, two zero blocks at the end.
     * mtime is 0, so the same Dockerfile always gives the same bytes.
     */
    public static byte[] context(String name, String content) {
        byte[] data = content.getBytes(StandardCharsets.UTF_8);
        byte[] header = new byte[512];
        put(header, 0, name, 100);
        put(header, 100, "0000644", 8);
        put(header, 108, "0000000", 8);
        put(header, 116, "0000000", 8);
        put(header, 124, String.format("%011o", data.length), 12);
        put(header, 136, String.format("%011o", 0), 12);
        for (int i = 148; i < 156; i++) header[i] = ' ';
        header[156] = '0';
        put(header, 257, "ustar", 6);
        header[263] = '0';
        header[264] = '0';
        int sum = 0;
        for (byte b : header) sum += b & 0xff;
        put(header, 148, String.format("%06o", sum), 6);
        header[154] = 0;
        header[155] = ' ';
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(header);
            gz.write(data);
            gz.write(new byte[(512 - data.length % 512) % 512]);
            gz.write(new byte[1024]);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** ASCII text into a NUL-padded header field. */
    private static void put(byte[] header, int offset, String text, int width) {
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        if (b.length > width) throw new IllegalArgumentException(text + " does not fit a tar header field of " + width);
        System.arraycopy(b, 0, header, offset, b.length);
    }

    /**
     * The line under the plan when no task images are built, or null: why, and what steps without an image get instead.
     */
    public static String note(boolean optedOut, String offer) {
        String instead = "steps without an image pull python:X.Y through the registry's cache (" + Registry.TASK_REPOSITORY
                + ") and Metaflow installs its packages at each task's start.";
        if (optedOut) return "Task images: not built (--no-task-images); " + instead;
        if (AcrTasks.refused(offer)) {
            return "Task images: not built. ACR Tasks is refused on this subscription's offer (" + offer + ": Azure's free credits); "
                    + instead + " A pay-as-you-go subscription gets them.";
        }
        return null;
    }

    /** Under a failed run: each failed build's log tail and what to do. */
    public static void printFailures(java.io.PrintStream err, Executor.Result result) {
        boolean refused = result.outcomes().values().stream()
                .anyMatch(o -> o != null && o.error() instanceof Arm.AzureException ae && ae.code.equals(AcrTasks.REFUSED));
        if (refused) {
            err.println("  ACR Tasks refused to build on this subscription although its offer is not one known to refuse it. The rest of "
                    + "the stack is in place; re-run with --no-task-images and steps without an image pull python:X.Y through the "
                    + "registry's cache instead (Metaflow then installs its packages at each task's start).");
        }
        result.outcomes().forEach((key, o) -> {
            if (o == null || !(o.error() instanceof BuildFailed f)) return;
            err.println("  Last lines of the build log of " + key + " (run " + f.runId + "):");
            for (String line : f.logTail) err.println("    | " + line);
            err.println("  A failing build is usually a package index or base image that could not be reached. Run the same command "
                    + "again to build it again; what was built and the rest of the stack are kept.");
        });
    }
}
