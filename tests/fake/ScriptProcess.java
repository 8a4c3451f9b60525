package fake;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs a script in a JVM of its own, as a user's shell would: with the classpath JBang resolves for that script
 * (not the test runner's), the environment given, and no Azure or Kubernetes variables of the machine it runs on.
 */
public final class ScriptProcess {
    private ScriptProcess() {}

    public static final Path REPO = Path.of(System.getProperty("user.dir"));
    private static final Map<String, String> CLASSPATHS = new ConcurrentHashMap<>();

    public record Result(int code, String out, String err) {
        public String all() { return out + "\n" + err; }
    }

    /** The classpath JBang runs the script with (its own jar first), built first if need be. */
    public static String classpath(String script) {
        return CLASSPATHS.computeIfAbsent(script, s -> {
            try {
                Result built = exec(List.of(REPO.resolve("jbang").toString(), "build", s), Map.of(), null);
                if (built.code() != 0) throw new IllegalStateException("jbang build " + s + " failed: " + built.err());
                Result info = exec(List.of(REPO.resolve("jbang").toString(), "info", "classpath", s), Map.of(), null);
                if (info.code() != 0) throw new IllegalStateException("jbang info classpath " + s + " failed: " + info.err());
                return info.out().strip();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** java [jvmOptions] -cp classpath mainClass args, in the repository, with env on top of a cleaned environment. */
    public static Result java(String classpath, List<String> jvmOptions, Map<String, String> env, String mainClass, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", classpath, mainClass));
        cmd.addAll(List.of(args));
        return exec(cmd, env, null);
    }

    /** Runs cmd in the repository with env on top of the machine's environment less its Azure, Kubernetes and Metaflow settings. */
    public static Result exec(List<String> cmd, Map<String, String> env, Path stdin) throws Exception {
        return exec(cmd, env, stdin, REPO, Duration.ofMinutes(3));
    }

    /**
     * Runs cmd in dir, with env on top of the machine's environment less what would make the run the machine's rather
     * than the one described: Azure, Kubernetes and Metaflow settings, JBang's variables, JVM option variables.
     * Standard input is the given file, or closed when null.
     */
    public static Result exec(List<String> cmd, Map<String, String> env, Path stdin, Path dir, Duration timeout) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("AZURE_") || k.startsWith("IDENTITY_") || k.startsWith("MSI_")
                || k.startsWith("METAFLOW_") || k.equals("KUBECONFIG") || k.startsWith("JBANG")
                || k.equals("JAVA_TOOL_OPTIONS") || k.equals("JDK_JAVA_OPTIONS"));
        pb.environment().putAll(env);
        Path errFile = Files.createTempFile("script-stderr", ".txt");
        pb.redirectError(errFile.toFile());
        if (stdin != null) pb.redirectInput(stdin.toFile());
        Process p = pb.start();
        if (stdin == null) p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("still running after " + timeout + ": " + cmd);
        }
        String err = Files.readString(errFile);
        Files.delete(errFile);
        return new Result(p.exitValue(), out, err);
    }
}
