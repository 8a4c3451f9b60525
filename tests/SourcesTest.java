import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * lib/Toolkit.java is the one list of the scripts' sources and libraries: it names every file under lib/ once, and the
 * scripts, the test runner and the benchmark source it instead of keeping lists of their own that could drift.
 */
class SourcesTest {
    static final Path repo = Path.of(System.getProperty("user.dir"));

    static List<String> directives(Path file, String directive) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(file)) {
            if (line.startsWith(directive + " ")) out.addAll(List.of(line.substring(directive.length() + 1).trim().split("\\s+")));
        }
        return out;
    }

    @Test
    void toolkitListsEveryLibFileOnce() throws IOException {
        List<String> listed = directives(repo.resolve("lib/Toolkit.java"), "//SOURCES");
        List<String> files;
        Path lib = repo.resolve("lib");
        try (Stream<Path> s = Files.walk(lib)) {
            files = s.map(p -> lib.relativize(p).toString()).filter(n -> n.endsWith(".java") && !n.equals("Toolkit.java")).sorted().toList();
        }
        assertEquals(files, listed.stream().sorted().toList(), "lib/Toolkit.java's //SOURCES against the files in lib/");
        assertEquals(listed.size(), listed.stream().distinct().count(), "a file listed twice");
    }

    @Test
    void scriptsAndRunnersSourceTheListAndNothingElseFromLib() throws IOException {
        for (String script : List.of("provision.java", "services.java", "teardown.java", "tests/run.java", "tests/bench/Bench.java")) {
            Path file = repo.resolve(script);
            List<String> lib = directives(file, "//SOURCES").stream().filter(s -> s.contains("lib/")).toList();
            assertEquals(1, lib.size(), script + " sources " + lib);
            assertTrue(lib.get(0).endsWith("lib/Toolkit.java"), script + " sources " + lib);
            if (!script.startsWith("tests/")) assertEquals(List.of(), directives(file, "//DEPS"), script + " declares libraries of its own");
        }
    }
}
