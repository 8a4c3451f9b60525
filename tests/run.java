///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS org.junit.jupiter:junit-jupiter:5.14.1
//DEPS org.junit.platform:junit-platform-launcher:1.14.1
//DEPS com.azure.resourcemanager:azure-resourcemanager:2.57.0
//DEPS com.azure.resourcemanager:azure-resourcemanager-postgresqlflexibleserver:1.2.0-beta.1
//SOURCES ../lib/Toolkit.java
//SOURCES ../provision.java
//SOURCES ../services.java
//DEPS io.fabric8:kubernetes-server-mock:7.4.0
//SOURCES ../teardown.java
//SOURCES fake/*.java
//SOURCES Defaults.java StackCount.java SlowProvision.java
//SOURCES *Test.java engine/*Test.java azure/*Test.java cluster/*Test.java cli/*Test.java
//FILES manifests/=../manifests/**
//JAVA_OPTIONS -Xss4m

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectMethod;

import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.platform.engine.DiscoverySelector;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

/**
 * Runs every *Test class bundled into this script's jar with the JUnit Platform.
 * Usage: ./jbang tests/run.java [ClassName | ClassName#method ...]
 * Prints one line per failure and, last, "N passed, N failed[, N skipped]"; exits 1 if anything failed or nothing ran.
 */
public class run {
    /** Held so the settings stay (java.util.logging keeps loggers only weakly). */
    static final List<java.util.logging.Logger> QUIET = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        // The Kubernetes mock API server logs one INFO line per request: keep warnings only.
        for (String name : List.of("io.fabric8.mockwebserver", "okhttp3.mockwebserver")) {
            var logger = java.util.logging.Logger.getLogger(name);
            logger.setLevel(java.util.logging.Level.WARNING);
            QUIET.add(logger);
        }
        List<DiscoverySelector> selectors = new ArrayList<>();
        if (args.length > 0) {
            for (String a : args) {
                selectors.add(a.contains("#") ? selectMethod(a) : selectClass(a));
            }
        } else {
            for (String name : testClassNames()) selectors.add(selectClass(name));
        }
        var request = LauncherDiscoveryRequestBuilder.request().selectors(selectors).build();
        var summary = new SummaryGeneratingListener();
        var progress = new TestExecutionListener() {
            @Override public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                if (!id.isTest()) return;
                if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                    System.out.println("FAILED " + id.getUniqueId().replaceAll(".*class:([^\\]]+)\\].*method:([^(\\]]+).*", "$1#$2")
                            + " : " + result.getThrowable().map(Throwable::toString).orElse(""));
                } else if (System.getenv("TEST_VERBOSE") != null) {
                    System.out.println("ok " + id.getDisplayName());
                }
            }
        };
        LauncherFactory.create().execute(request, summary, progress);
        var s = summary.getSummary();
        if (s.getTotalFailureCount() > 0) {
            s.printFailuresTo(new PrintWriter(System.out), 25);
        }
        long failed = s.getTestsFailedCount() + s.getTestsAbortedCount();
        long skipped = s.getTestsSkippedCount();
        System.out.println(s.getTestsSucceededCount() + " passed, " + failed + " failed"
                + (skipped > 0 ? ", " + skipped + " skipped" : ""));
        System.exit(failed > 0 || s.getTestsSucceededCount() == 0 ? 1 : 0);
    }

    private static List<String> testClassNames() throws Exception {
        URI jar = run.class.getProtectionDomain().getCodeSource().getLocation().toURI();
        List<String> names = new ArrayList<>();
        Path root = Path.of(jar);
        if (Files.isDirectory(root)) return scan(root, names);
        try (var fs = FileSystems.newFileSystem(root, Map.of())) {
            return scan(fs.getPath("/"), names);
        }
    }

    private static List<String> scan(Path root, List<String> names) throws Exception {
        try (Stream<Path> files = Files.walk(root)) {
            files.map(p -> root.relativize(p).toString())
                 .filter(p -> p.endsWith("Test.class") && !p.contains("$"))
                 .map(p -> p.substring(0, p.length() - ".class".length()).replace('/', '.'))
                 .sorted().forEach(names::add);
        }
        return names;
    }
}
