package cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import azure.Clouds;
import azure.Pools;
import azure.Registry;
import azure.Stack;
import azure.StackFacts;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What image a Metaflow step runs on a stack, by Metaflow's own rule applied to the profile the toolkit writes, and what
 * its pod's start command then installs. The rule is Netflix/metaflow 2.19.38's, re-expressed here (not imported: the
 * test runs without Python): metaflow/plugins/kubernetes/kubernetes_decorator.py step_init (the image: the decorator's,
 * else METAFLOW_KUBERNETES_CONTAINER_IMAGE, else "python:X.Y" of the launching interpreter; then, when the image names no
 * registry, METAFLOW_KUBERNETES_CONTAINER_REGISTRY with its trailing "/" stripped, a "/" and the image) and
 * metaflow/plugins/aws/aws_utils.py get_docker_registry (a registry is a leading part that holds a "." or ":" and ends in
 * "/"). Argo Workflows templates take the image from the same decorator attributes (argo_workflows.py: resources =
 * the @kubernetes decorator's attributes, image=resources["image"], for steps, exit hooks and the heartbeat daemon).
 */
class TaskImageTest {
    static final Stack ACME = Stack.of("acme", "default", "westeurope", Clouds.PUBLIC);
    static final String LOGIN = "cracmemfdefault.azurecr.io";
    /** The stack's own AKS (its pools known): the profile deploy writes for it. */
    static final Pools.Facts AKS_POOLS = new Pools.Facts(true, false, null, null);

    /** get_docker_registry: the registry part of an image reference, or null when it names none. */
    static String dockerRegistry(String image) {
        // GROUP 1 registry (at least one character, then "." or ":" and more, then "/"), optional; then repository, tag or digest.
        Matcher m = Pattern.compile("^(.+?(?:[:.].+?)/)?(.*?)(?:[@:])?((?<=[@:]).*)?$").matcher(image);
        if (!m.matches() || m.group(1) == null) return null;
        return m.group(1).replaceAll("/+$", "");
    }

    /** step_init's image for a step: decorator image (null: none), the profile's keys, the laptop's Python major.minor. */
    static String stepImage(String decoratorImage, JsonNode profile, String laptopPython) {
        String image = decoratorImage;
        if (image == null || image.isEmpty()) {
            String configured = profile.path("METAFLOW_KUBERNETES_CONTAINER_IMAGE").asText("");
            image = configured.isEmpty() ? "python:" + laptopPython : configured;
        }
        String registry = profile.path("METAFLOW_KUBERNETES_CONTAINER_REGISTRY").asText("");
        if (dockerRegistry(image) == null && !registry.isEmpty()) image = registry.replaceAll("/+$", "") + "/" + image;
        return image;
    }

    static StackFacts facts(String registryLogin) {
        StackFacts p = StackFacts.predicted(ACME, Clouds.PUBLIC, false);
        return new StackFacts(p.dbHost(), p.dbUser(), p.dbName(), p.blobEndpoint(), p.sysroot(), p.clientId(), p.tenantId(),
                p.servicePrincipal(), p.applicationObjectId(), p.dbPools(), registryLogin);
    }

    @Test
    void theReExpressedRuleAgreesWithTheExamplesMetaflowDocumentsForIt() {
        // get_docker_registry's docstring examples (aws_utils.py, 2.19.38).
        assertNull(dockerRegistry("image"));
        assertNull(dockerRegistry("example/image"));
        assertNull(dockerRegistry("example/image:tag"));
        assertEquals("example.domain.com", dockerRegistry("example.domain.com/example/image:tag"));
        assertEquals("123.123.123.123:123", dockerRegistry("123.123.123.123:123/example/image:tag"));
        assertEquals("example.domain.com", dockerRegistry("example.domain.com/example/image@sha256:45b23dee0"));
    }

    @Test
    void aStepWithoutAnImageRunsTheStacksTaskImageForTheLaptopsPython() {
        JsonNode profile = MetaflowConfig.of(ACME, facts(LOGIN), true, 0, AKS_POOLS);
        assertEquals(LOGIN + "/metaflow", profile.path("METAFLOW_KUBERNETES_CONTAINER_REGISTRY").asText());
        // One image for every Python version would be wrong: the key stays unset and Metaflow picks python:X.Y itself.
        assertFalse(profile.has("METAFLOW_KUBERNETES_CONTAINER_IMAGE"), profile.toString());
        for (String python : Registry.PYTHON_VERSIONS) {
            assertEquals(LOGIN + "/metaflow/python:" + python, stepImage(null, profile, python));
            assertEquals(Registry.taskImage(LOGIN, python), stepImage(null, profile, python));
        }
    }

    @Test
    void aPlainDockerHubNameGoesThroughTheRegistryAndAFullNameIsLeftAlone() {
        JsonNode profile = MetaflowConfig.of(ACME, facts(LOGIN), true, 0, AKS_POOLS);
        assertEquals(LOGIN + "/metaflow/pytorch/pytorch:2.5", stepImage("pytorch/pytorch:2.5", profile, "3.12"));
        assertEquals(LOGIN + "/metaflow/ubuntu:24.04", stepImage("ubuntu:24.04", profile, "3.12"));
        for (String full : List.of("docker.io/pytorch/pytorch:2.5", "nvcr.io/nvidia/pytorch:24.12-py3", LOGIN + "/team/train:1",
                "localhost:5000/team/train:1")) {
            assertEquals(full, stepImage(full, profile, "3.12"));
        }
    }

    @Test
    void aStackWithoutARegistryKeepsMetaflowsDefault() {
        JsonNode profile = MetaflowConfig.of(ACME, facts(null), true, 0, AKS_POOLS);
        assertFalse(profile.has("METAFLOW_KUBERNETES_CONTAINER_REGISTRY"), profile.toString());
        assertEquals("python:3.12", stepImage(null, profile, "3.12"));
        assertEquals("pytorch/pytorch:2.5", stepImage("pytorch/pytorch:2.5", profile, "3.12"));
    }

    @Test
    void aClusterOfTheUsersGetsNoRegistryItsNodesCouldNotPullFrom() {
        // services.java --kubeconfig: no pools; that cluster's kubelet has no AcrPull on the stack's registry.
        JsonNode profile = MetaflowConfig.of(ACME, facts(LOGIN), true, 0, null);
        assertFalse(profile.has("METAFLOW_KUBERNETES_CONTAINER_REGISTRY"), profile.toString());
        assertEquals("python:3.12", stepImage(null, profile, "3.12"));
    }

    @Test
    void theConfigNamesItsRegistryBack() {
        assertEquals(LOGIN, MetaflowConfig.registryLogin(MetaflowConfig.of(ACME, facts(LOGIN), false, 0, AKS_POOLS)));
        assertNull(MetaflowConfig.registryLogin(MetaflowConfig.of(ACME, facts(null), false, 0, AKS_POOLS)));
    }

    // --- what the pod's start command installs -----------------------------------------------------------------

    /**
     * Metaflow's install step for the azure datastore as its pod runs it (metaflow_environment.py 2.19.38,
     * _get_install_dependencies_cmd: "{python} -m pip install -qqq --no-compile --no-cache-dir --disable-pip-version-check"
     * and the azure packages plus requests, inside "if [ -z $METAFLOW_SKIP_INSTALL_DEPENDENCIES ]; then ...; fi"; the pod's
     * commands are joined with " && " and run by bash -c, kubernetes.py Kubernetes._command).
     */
    static final String INSTALL = "if [ -z $METAFLOW_SKIP_INSTALL_DEPENDENCIES ]; then python -m pip install -qqq --no-compile --no-cache-dir "
            + "--disable-pip-version-check azure-identity azure-storage-blob azure-keyvault-secrets simple-azure-blob-downloader requests; fi";

    /** Runs the install step, then a marker, in bash with a stub python on PATH that records its arguments; returns the record. */
    static String runInstall(Path dir, Map<String, String> env) throws Exception {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path record = dir.resolve("pip-calls");
        Files.deleteIfExists(record);
        Path python = bin.resolve("python");
        Files.writeString(python, "#!/bin/sh\necho \"$@\" >> \"" + record + "\"\n");
        assertTrue(python.toFile().setExecutable(true));
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", INSTALL + " && mkdir metaflow && echo task-started");
        pb.directory(dir.toFile());
        pb.environment().remove("METAFLOW_SKIP_INSTALL_DEPENDENCIES");
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().putAll(env);
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("task-started"), out);
        Files.delete(dir.resolve("metaflow"));
        return Files.exists(record) ? Files.readString(record) : "";
    }

    @Test
    void theInstallStepRunsPipWithoutTheVariableAndNothingWhenTheImageSetsIt(@TempDir Path dir) throws Exception {
        String plain = runInstall(dir, Map.of());
        assertTrue(plain.startsWith("-m pip install"), plain);
        assertTrue(plain.contains("azure-identity azure-storage-blob azure-keyvault-secrets simple-azure-blob-downloader requests"), plain);
        // The task image's ENV lines (from the recipe the build sends) reach the container's environment: the step goes on
        // without pip. And what the skipped step would have installed is exactly what the image already has.
        for (String python : Registry.PYTHON_VERSIONS) {
            azure.TaskImages.Recipe recipe = azure.TaskImages.recipe(python);
            Map<String, String> imageEnv = new java.util.LinkedHashMap<>();
            Matcher env = Pattern.compile("(?m)^ENV (\\S+)=(\\S+)$").matcher(recipe.dockerfile("cracmemfdefault.azurecr.io"));
            while (env.find()) imageEnv.put(env.group(1), env.group(2));
            assertEquals("", runInstall(dir, imageEnv), "the " + python + " image still installs at start: " + imageEnv);
            assertTrue(INSTALL.endsWith(String.join(" ", recipe.packages()) + "; fi"), recipe.packages() + " vs " + INSTALL);
        }
    }
}
