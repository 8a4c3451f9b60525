import static org.junit.jupiter.api.Assertions.*;

import fake.ScriptProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ./jbang's fast path (issue 16): an unchanged script runs from the kept java command without JBang; any change to
 * the script's sources, bundled files or Java goes through JBang again, so stale code never runs. "Without JBang" is
 * shown by taking JBang away (its wrapper folder moved, Maven unable to fetch it again): a run that still works did
 * not need it, and a run that must rebuild fails instead of running what was kept.
 */
class FastPathTest {
    static final Path repo = Path.of(System.getProperty("user.dir"));
    static final Path JDK17 = Path.of("/usr/lib/jvm/java-17-openjdk-amd64");
    @TempDir Path tmp;

    Path app() throws Exception {
        Path app = Files.createDirectories(tmp.resolve("app"));
        Files.createDirectories(app.resolve("lib"));
        Files.createDirectories(app.resolve("data"));
        Files.writeString(app.resolve("hello.java"), """
                ///usr/bin/env jbang "$0" "$@" ; exit $?
                //JAVA 17+
                //SOURCES lib/Greeting.java
                //FILES data/msg.txt=data/msg.txt
                public class hello {
                    public static void main(String[] args) throws Exception {
                        if (args.length == 1 && args[0].equals("exit3")) System.exit(3);
                        String msg = new String(hello.class.getResourceAsStream("/data/msg.txt").readAllBytes()).trim();
                        System.out.println(Greeting.text() + " " + msg + " java=" + System.getProperty("java.specification.version")
                                + " args=" + String.join("|", args));
                    }
                }
                """);
        greeting("v1");
        Files.writeString(app.resolve("data/msg.txt"), "m1\n");
        return app;
    }

    void greeting(String v) throws Exception {
        Files.writeString(tmp.resolve("app/lib/Greeting.java"), "class Greeting { static String text() { return \"" + v + "\"; } }\n");
    }

    /** ./jbang hello.java ARGS with HOME and JBANG_DIR of the test's own, the given JDK and the Maven of tmp/bin first on PATH. */
    ScriptProcess.Result run(Path javaHome, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(repo.resolve("jbang").toString(), tmp.resolve("app/hello.java").toString()));
        cmd.addAll(List.of(args));
        // A Maven that cannot fetch anything (tmp/bin, once JBang is taken away): nothing can bring JBang back.
        Map<String, String> env = Map.of("HOME", tmp.resolve("home").toString(), "JBANG_DIR", tmp.resolve("jbang").toString(),
                "JBANG_WRAPPER_NO_PATH", "1", "JAVA_HOME", javaHome.toString(),
                "PATH", tmp.resolve("bin") + ":" + javaHome.resolve("bin") + ":" + System.getenv("PATH"));
        ScriptProcess.Result r = ScriptProcess.exec(cmd, env, null, tmp, Duration.ofMinutes(5));
        return new ScriptProcess.Result(r.code(), r.out().trim(), r.err());
    }

    Path wrapper() throws Exception {
        try (var dirs = Files.list(tmp.resolve("jbang/wrapper"))) {
            return dirs.filter(d -> Files.exists(d.resolve("lib/.complete"))).findFirst().orElseThrow();
        }
    }

    void takeJBangAway() throws Exception {
        Path w = wrapper();
        Files.move(w, w.resolveSibling(w.getFileName() + ".away"));
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path mvn = bin.resolve("mvn");
        Files.writeString(mvn, "#!/bin/sh\necho 'no network' >&2\nexit 1\n");
        Files.setPosixFilePermissions(mvn, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    void giveJBangBack() throws Exception {
        try (var dirs = Files.list(tmp.resolve("jbang/wrapper"))) {
            Path away = dirs.filter(d -> d.getFileName().toString().endsWith(".away")).findFirst().orElseThrow();
            Files.move(away, away.resolveSibling(away.getFileName().toString().replace(".away", "")));
        }
        Files.deleteIfExists(tmp.resolve("bin/mvn"));
    }

    @Test
    void unchangedRunsWithoutJBangAndEveryChangeIsSeenOnTheNextRun() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(JDK17.resolve("bin/java")));
        app();
        ScriptProcess.Result first = run(JDK17, "a b", "it's");
        assertEquals(0, first.code(), first.err());
        assertEquals("v1 m1 java=17 args=a b|it's", first.out());

        takeJBangAway();
        ScriptProcess.Result fast = run(JDK17, "x y", "$HOME", "*");
        assertEquals(0, fast.code(), "an unchanged script runs without JBang: " + fast.err());
        assertEquals("v1 m1 java=17 args=x y|$HOME|*", fast.out(), "arguments reach the script untouched");
        assertEquals(3, run(JDK17, "exit3").code(), "the script's exit code passes through");

        greeting("v2");  // a file the script sources
        ScriptProcess.Result stale = run(JDK17);
        assertNotEquals(0, stale.code(), "a changed source must go through JBang, not run the kept command: " + stale.out());
        assertFalse(stale.out().contains("v1"), stale.out());
        giveJBangBack();
        assertEquals("v2 m1 java=17 args=", run(JDK17).out());

        takeJBangAway();
        Files.writeString(tmp.resolve("app/data/msg.txt"), "m2\n");  // a file the script bundles
        ScriptProcess.Result staleFile = run(JDK17);
        assertNotEquals(0, staleFile.code(), staleFile.out());
        giveJBangBack();
        assertEquals("v2 m2 java=17 args=", run(JDK17).out());

        Path newest = Path.of("/usr/lib/jvm/temurin-25-jdk-amd64");
        if (Files.isExecutable(newest.resolve("bin/java"))) {
            takeJBangAway();
            ScriptProcess.Result otherJava = run(newest);
            assertNotEquals(0, otherJava.code(), "another Java must go through JBang: " + otherJava.out());
            giveJBangBack();
            ScriptProcess.Result on25 = run(newest);
            assertEquals("v2 m2 java=25 args=", on25.out(), on25.err());
        }
        try (var files = Files.walk(tmp)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("hs_err_pid")).toList());
        }
    }
}
