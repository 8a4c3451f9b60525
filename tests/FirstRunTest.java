import static org.junit.jupiter.api.Assertions.*;

import fake.ArgoFixture;
import fake.AzureFake;
import fake.AzureFakeServer;
import fake.KubeFake;
import fake.ScriptProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each script's very first run, as a user meets it: a JBang cache that has never seen the script, a home of its own,
 * signed in (a managed identity, as in Cloud Shell or App Service) against the Azure fake served over loopback HTTPS,
 * and for services.java the Kubernetes fake. Issue 10: the JVM must not crash at exit, leave an hs_err file or print
 * fatal-error text, and the exit code must be the script's own.
 */
class FirstRunTest {
    static final Path repo = Path.of(System.getProperty("user.dir"));
    @TempDir Path tmp;

    /** ./jbang SCRIPT ARGS with an empty JBANG_DIR, HOME=tmp/home, the working directory tmp/work and the given JDK. */
    ScriptProcess.Result firstRun(Path javaHome, AzureFakeServer azure, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(repo.resolve("jbang").toString(), repo.resolve(script).toString()));
        cmd.addAll(List.of(args));
        Map<String, String> env = new HashMap<>(azure.signedInEnv());
        env.put("HOME", Files.createDirectories(tmp.resolve("home")).toString());
        env.put("JBANG_DIR", tmp.resolve("jbang").toString());
        env.put("JBANG_WRAPPER_NO_PATH", "1");
        env.put("JAVA_HOME", javaHome.toString());
        env.put("PATH", javaHome.resolve("bin") + ":" + System.getenv("PATH"));
        // How a machine behind a TLS-inspecting proxy trusts its certificate; "./jbang SCRIPT" stays the whole command.
        env.put("JAVA_TOOL_OPTIONS", String.join(" ", azure.trustOptions()));
        return ScriptProcess.exec(cmd, env, Path.of("/dev/null"), Files.createDirectories(tmp.resolve("work")), Duration.ofMinutes(10));
    }

    /** No JVM crash: the script's own exit code, no hs_err_pid file anywhere the JVM might write one, no fatal-error text. */
    void assertClean(ScriptProcess.Result r, int expected, String what) throws Exception {
        for (String fatal : List.of("A fatal error has been detected", "SIGSEGV", "hs_err_pid", "# Problematic frame")) {
            assertFalse(r.all().contains(fatal), what + " printed JVM fatal-error text (" + fatal + "):\n" + r.all());
        }
        try (Stream<Path> files = Stream.concat(Files.walk(tmp), Stream.of(repo.toFile().listFiles()).map(java.io.File::toPath))) {
            List<Path> crashes = files.filter(f -> f.getFileName().toString().startsWith("hs_err_pid")).toList();
            assertEquals(List.of(), crashes, what + " left JVM error files");
        }
        assertEquals(expected, r.code(), what + " exit code\n" + r.all());
        assertFalse(r.err().contains("SLF4J"), what + ": library logging reached the terminal\n" + r.err());
    }

    @Test
    void provisionServicesAndTeardownFirstRunsOnJdk17DoNotCrash() throws Exception {
        Path jdk17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
        Assumptions.assumeTrue(Files.isExecutable(jdk17.resolve("bin/java")), "the README's JDK 17 is installed");
        try (KubeFake kube = new KubeFake()) {
            AzureFake fake = new AzureFake().clusterApiServer(kube.url());
            try (AzureFakeServer azure = new AzureFakeServer(fake, tmp.resolve("tls"));
                 AutoCloseable rollouts = kube.rollOutDeployments(Set.of())) {
                ScriptProcess.Result provision = firstRun(jdk17, azure, "provision.java", "--prefix", "acme", "--yes");
                assertClean(provision, 0, "provision.java");
                assertTrue(provision.out().contains("Done") || provision.err().contains("Done"), provision.all());
                assertTrue(fake.resourceIds().stream().anyMatch(id -> id.endsWith("/managedClusters/aks-acme-metaflow-default")),
                        "the run really provisioned through the served fake");
                assertTrue(keptArchive("provision.java"), "the class-data archive was made by its separate step");

                Path argo = ArgoFixture.writeTo(tmp.resolve("argo"));
                ScriptProcess.Result services = firstRun(jdk17, azure, "services.java", "--prefix", "acme", "--argo-manifests", argo.toString(),
                        "--timeout", "60");
                assertClean(services, 0, "services.java");
                assertTrue(kube.keys().contains("Deployment metaflow-services/metadata-service"), kube.keys().toString());

                ScriptProcess.Result teardown = firstRun(jdk17, azure, "teardown.java", "--prefix", "acme", "--yes");
                assertClean(teardown, 0, "teardown.java");
                assertTrue(fake.resourceIds().stream().noneMatch(id -> id.contains("rg-acme-metaflow-default")), fake.resourceIds().toString());
            }
        }
    }

    @Test
    void provisionFirstRunOnTheNewestInstalledJdkDoesNotCrash() throws Exception {
        Path newest;
        try (Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
            newest = jdks.filter(j -> Files.isExecutable(j.resolve("bin/java")) && Files.exists(j.resolve("release")))
                    .max((a, b) -> Integer.compare(major(a), major(b))).orElse(null);
        }
        Assumptions.assumeTrue(newest != null && major(newest) > 17, "a JDK newer than 17 is installed");
        AzureFake fake = new AzureFake();
        try (AzureFakeServer azure = new AzureFakeServer(fake, tmp.resolve("tls"))) {
            ScriptProcess.Result provision = firstRun(newest, azure, "provision.java", "--prefix", "acme", "--yes");
            assertClean(provision, 0, "provision.java on " + newest);
            assertTrue(keptArchive("provision.java"), "the class-data archive was made on " + newest);
            ScriptProcess.Result again = firstRun(newest, azure, "provision.java", "--prefix", "acme", "--yes");
            assertClean(again, 0, "the second provision.java on " + newest);
        }
    }

    /** Whether ./jbang kept a class-data archive for the script (made by its separate, safe step). */
    boolean keptArchive(String script) throws Exception {
        Path fast = tmp.resolve("jbang/wrapper/fast");
        if (!Files.isDirectory(fast)) return false;
        try (Stream<Path> files = Files.list(fast)) {
            return files.anyMatch(f -> f.getFileName().toString().startsWith(script + "@") && f.toString().endsWith(".jsa"));
        }
    }

    static int major(Path jdk) {
        try {
            for (String line : Files.readAllLines(jdk.resolve("release"))) {
                if (line.startsWith("JAVA_VERSION=")) return Integer.parseInt(line.replaceAll("^JAVA_VERSION=\"(\\d+).*", "$1"));
            }
        } catch (Exception e) {
            return 0;
        }
        return 0;
    }
}
