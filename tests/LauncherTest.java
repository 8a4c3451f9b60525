import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The repository's ./jbang launcher: what it uses, what it says when it cannot work, and the official protocol. */
class LauncherTest {
    static final Path repo = Path.of(System.getProperty("user.dir"));
    @TempDir Path tmp;

    record Result(int code, String out, String err) {}

    Result launch(Map<String, String> env, String stdin, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(repo.resolve("jbang").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tmp.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("AZURE_") || k.startsWith("JBANG"));
        pb.environment().put("HOME", tmp.toString());
        pb.environment().putAll(env);
        Path errFile = tmp.resolve("stderr.txt");
        pb.redirectError(errFile.toFile());
        Process p = pb.start();
        if (stdin != null) p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES));
        return new Result(p.exitValue(), out, Files.readString(errFile));
    }

    Path executable(Path dir, String name, String body) throws Exception {
        Files.createDirectories(dir);
        Path f = dir.resolve(name);
        Files.writeString(f, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
        return f;
    }

    /** A PATH with the basic tools but neither mvn nor jbang. */
    String pathWithout(String... tools) throws Exception {
        Path bin = tmp.resolve("bin");
        Files.createDirectories(bin);
        for (String tool : List.of("bash", "sh", "dirname", "basename", "readlink", "sed", "head", "cat", "mktemp", "rm", "mv",
                "mkdir", "touch", "tail", "env")) {
            for (String dir : List.of("/usr/bin", "/bin")) {
                Path real = Path.of(dir, tool);
                if (Files.exists(real) && !Files.exists(bin.resolve(tool))) Files.createSymbolicLink(bin.resolve(tool), real);
            }
        }
        return bin.toString();
    }

    @Test
    void aJbangOnThePathIsUsedAsIs() throws Exception {
        Path bin = tmp.resolve("fakebin");
        executable(bin, "jbang", "echo \"path jbang: $*\"; exit 7");
        Result r = launch(Map.of("PATH", bin + ":" + System.getenv("PATH")), null, "run", "x.java");
        assertEquals(7, r.code);
        assertEquals("path jbang: run x.java\n", r.out);
    }

    @Test
    void withoutMavenItSaysWhatToInstallIncludingTheOfficialInstaller() throws Exception {
        Result r = launch(Map.of("PATH", pathWithout(), "JAVA_HOME", System.getProperty("java.home"),
                "JBANG_DIR", tmp.resolve("jb").toString()), null, "--version");
        assertEquals(1, r.code, r.err);
        assertTrue(r.err.contains("Maven (mvn) is not available") && r.err.contains("https://sh.jbang.dev"), r.err);
        assertEquals("", r.out);
    }

    @Test
    void anOldJavaIsRefusedWithWhatToInstall() throws Exception {
        Path jdk = tmp.resolve("jdk11");
        executable(jdk.resolve("bin"), "java", "echo should-not-run; exit 1");
        Files.writeString(jdk.resolve("release"), "JAVA_VERSION=\"11.0.22\"\n");
        Result r = launch(Map.of("JAVA_HOME", jdk.toString(), "JBANG_WRAPPER_NO_PATH", "1"), null, "--version");
        assertEquals(1, r.code);
        assertTrue(r.err.contains("Java 11 found") && r.err.contains("needs Java 17 or newer") && r.err.contains("sh.jbang.dev"), r.err);
    }

    @Test
    void exitCodesStdinAndStdoutPassThroughUntouched() throws Exception {
        Path script = tmp.resolve("echoer.java");
        Files.writeString(script, """
                ///usr/bin/env jbang "$0" "$@" ; exit $?
                public class echoer {
                    public static void main(String[] a) throws Exception {
                        String in = new String(System.in.readAllBytes());
                        System.out.print("args=" + String.join("|", a) + " stdin=" + in);
                        System.exit(42);
                    }
                }
                """);
        // the user's JBang directory keeps the bootstrap warm; the script itself is new
        Result r = launch(Map.of("JBANG_WRAPPER_NO_PATH", "1", "JBANG_DIR", System.getProperty("user.home") + "/.jbang"),
                "line one\nline two\n", script.toString(), "a b", "--c");
        assertEquals(42, r.code, r.err);
        assertEquals("args=a b|--c stdin=line one\nline two\n", r.out);
    }
}
