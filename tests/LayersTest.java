import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * lib/ shows its plan: every source lives in the folder of its layer and declares that package, and dependencies point
 * one way, cli → cluster → azure → engine. A file may use its own layer and those below it, never one above.
 */
class LayersTest {
    static final Path LIB = Path.of(System.getProperty("user.dir"), "lib");
    /** Lowest first. */
    static final List<String> LAYERS = List.of("engine", "azure", "cluster", "cli");
    static final Pattern PACKAGE = Pattern.compile("(?m)^package (\\w+);");
    /** An import of a lib class, or a name qualified with a lib package anywhere in the code. */
    static final Pattern USE = Pattern.compile("(?<![\\w.])(engine|azure|cluster|cli)\\.([A-Z]\\w*|\\*)");

    record Source(Path file, String folder, String text) {}

    static List<Source> sources() throws IOException {
        List<Source> out = new ArrayList<>();
        try (Stream<Path> s = Files.walk(LIB)) {
            for (Path p : s.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                Path rel = LIB.relativize(p);
                out.add(new Source(rel, rel.getNameCount() > 1 ? rel.getName(0).toString() : "", Files.readString(p)));
            }
        }
        return out;
    }

    /** The code without comments and string literals, which may name anything. */
    static String code(String text) {
        return text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("\"(?:[^\"\\\\\\n]|\\\\.)*\"", "\"\"").replaceAll("//[^\\n]*", " ");
    }

    @Test
    void everySourceIsInTheFolderOfItsLayerAndDeclaresThatPackage() throws IOException {
        List<String> wrong = new ArrayList<>();
        for (Source s : sources()) {
            if (s.file().toString().equals("Toolkit.java")) continue;    // the list of sources, nothing else
            Matcher m = PACKAGE.matcher(s.text());
            String declared = m.find() ? m.group(1) : "(none)";
            if (!LAYERS.contains(s.folder()) || !declared.equals(s.folder())) {
                wrong.add(s.file() + " declares package " + declared + " in folder " + (s.folder().isEmpty() ? "lib/" : s.folder()));
            }
        }
        assertEquals(List.of(), wrong, "each lib source belongs in lib/<layer>/ with package <layer>; layers: " + LAYERS);
    }

    @Test
    void noSourceUsesALayerAboveItsOwn() throws IOException {
        List<String> upward = new ArrayList<>();
        for (Source s : sources()) {
            int own = LAYERS.indexOf(s.folder());
            if (own < 0) continue;
            Matcher m = USE.matcher(code(s.text()));
            while (m.find()) {
                if (LAYERS.indexOf(m.group(1)) > own) upward.add(s.file() + " uses " + m.group());
            }
        }
        assertEquals(List.of(), upward, "dependencies point one way: " + "cli → cluster → azure → engine");
    }

    @Test
    void theRuleCatchesAnUpwardUse() {
        String engineFile = "package engine;\nimport azure.Arm;\n// cli.Script in a comment is no use\nclass X { String s = \"cluster.Kube\"; }\n";
        Matcher m = USE.matcher(code(engineFile));
        List<String> found = new ArrayList<>();
        while (m.find()) found.add(m.group());
        assertEquals(List.of("azure.Arm"), found);
    }
}
