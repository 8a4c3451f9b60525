import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine;

/**
 * The docs hold to the scripts' --help. An option table is a markdown table whose header's first cell is "option"; each
 * of its rows names its options in backticks in its first cell. Every option a script's --help shows (its subcommands'
 * included) is in exactly one option table: on the script's page in docs/, or, when several scripts share it, in
 * docs/options.md; every option in those tables exists. README.md stays at most 200 lines and links every page of
 * docs/, and every link between the pages points at a file, and a heading, that exist.
 */
class DocsTest {
    static final Path ROOT = root();
    static final String SHARED = "docs/options.md";
    static final int README_MAX_LINES = 200;

    /** A script and the page that documents its own options. */
    record Script(String name, String page, Object command) {}

    static List<Script> scripts() {
        return List.of(new Script("provision.java", "docs/provision.md", new provision()),
                new Script("services.java", "docs/services.md", new services()),
                new Script("teardown.java", "docs/teardown.md", new teardown()));
    }

    /** One row of an option table: where it is, and the options its first cell names. */
    record Row(String page, int line, List<String> options) {
        String where() { return page + ":" + line; }
    }

    static final Pattern CODE = Pattern.compile("`([^`]+)`");
    static final Pattern OPTION = Pattern.compile("--?[A-Za-z0-9][A-Za-z0-9-]*");
    static final Pattern LINK = Pattern.compile("\\]\\(([^)\\s]+)\\)");
    static final Pattern HEADING = Pattern.compile("#{1,6}\\s+(.*?)\\s*#*\\s*");

    @Test
    void everyOptionOfEachScriptsHelpIsInAnOptionTableOfItsPage() {
        List<String> missing = new ArrayList<>();
        for (Script s : scripts()) {
            Set<String> documented = new TreeSet<>();
            for (String page : List.of(s.page(), SHARED)) {
                optionRows(page).forEach(r -> documented.addAll(r.options()));
            }
            for (String option : helpOptions(s.command())) {
                if (!documented.contains(option)) {
                    missing.add(s.name() + " --help has " + option + ", but no option table in " + s.page() + " or " + SHARED
                            + " documents it (add a row whose first cell holds `" + option + "`)");
                }
            }
        }
        if (!missing.isEmpty()) fail(String.join("\n", missing));
    }

    @Test
    void everyOptionInTheOptionTablesExistsInHelp() {
        Map<String, Set<String>> help = new LinkedHashMap<>();
        for (Script s : scripts()) help.put(s.name(), helpOptions(s.command()));
        List<String> wrong = new ArrayList<>();
        for (Script s : scripts()) {
            for (Row r : optionRows(s.page())) {
                for (String option : r.options()) {
                    if (!help.get(s.name()).contains(option)) {
                        wrong.add(r.where() + " documents " + option + ", but " + s.name() + " --help has no such option");
                    }
                }
            }
        }
        for (Row r : optionRows(SHARED)) {
            for (String option : r.options()) {
                List<String> having = help.entrySet().stream().filter(e -> e.getValue().contains(option)).map(Map.Entry::getKey).toList();
                if (having.size() < 2) {
                    wrong.add(r.where() + " documents " + option + " as shared by the scripts, but "
                            + (having.isEmpty() ? "no script's --help has it" : "only " + having.get(0) + " has it: document it on that script's page"));
                }
            }
        }
        Set<String> pages = scripts().stream().map(Script::page).collect(Collectors.toSet());
        pages.add(SHARED);
        Set<String> any = help.values().stream().flatMap(Set::stream).collect(Collectors.toSet());
        for (String page : markdownPages()) {
            if (pages.contains(page)) continue;
            for (Row r : optionRows(page)) {
                for (String option : r.options()) {
                    if (!any.contains(option)) wrong.add(r.where() + " documents " + option + ", but no script's --help has it");
                }
            }
        }
        if (!wrong.isEmpty()) fail(String.join("\n", wrong));
    }

    @Test
    void everyOptionIsDocumentedOnce() {
        Map<String, List<String>> where = new TreeMap<>();
        List<String> empty = new ArrayList<>();
        for (String page : markdownPages()) {
            for (Row r : optionRows(page)) {
                if (r.options().isEmpty()) empty.add(r.where() + ": a row of an option table names no option in backticks in its first cell");
                for (String option : r.options()) where.computeIfAbsent(option, k -> new ArrayList<>()).add(r.where());
            }
        }
        List<String> twice = where.entrySet().stream().filter(e -> e.getValue().size() > 1)
                .map(e -> e.getKey() + " is documented in more than one option table: " + String.join(", ", e.getValue())).toList();
        List<String> all = new ArrayList<>(empty);
        all.addAll(twice);
        if (!all.isEmpty()) fail(String.join("\n", all));
    }

    @Test
    void theOptionTablesAreFound() {
        // Guards the parser: a page whose table header changed would otherwise document nothing and fail the others obscurely.
        for (Script s : scripts()) {
            assertFalse(optionRows(s.page()).isEmpty(), s.page() + " has no option table (a table whose header's first cell is 'option')");
        }
        assertFalse(optionRows(SHARED).isEmpty(), SHARED + " has no option table (a table whose header's first cell is 'option')");
    }

    @Test
    void readmeIsShortAndLinksEveryDocsPage() {
        List<String> readme = lines("README.md");
        List<String> problems = new ArrayList<>();
        if (readme.size() > README_MAX_LINES) {
            problems.add("README.md has " + readme.size() + " lines, at most " + README_MAX_LINES
                    + " are allowed: move the detail into a page of docs/ and link it");
        }
        Set<String> linked = new TreeSet<>();
        for (String target : links(readme)) linked.add(Path.of(target.replaceAll("#.*", "")).normalize().toString());
        markdownPages().stream().filter(p -> p.startsWith("docs/") && !linked.contains(p))
                .forEach(p -> problems.add(p + " is not linked from README.md (add it to the map of the docs)"));
        if (!problems.isEmpty()) fail(String.join("\n", problems));
    }

    @Test
    void linksBetweenThePagesPointAtPagesAndHeadingsThatExist() {
        List<String> broken = new ArrayList<>();
        for (String page : markdownPages()) {
            Path dir = ROOT.resolve(page).getParent();
            List<String> text = lines(page);
            for (int i = 0; i < text.size(); i++) {
                for (String target : links(List.of(text.get(i)))) {
                    if (target.matches("[a-z]+:.*")) continue;   // https:, mailto:
                    int hash = target.indexOf('#');
                    String file = hash < 0 ? target : target.substring(0, hash);
                    String anchor = hash < 0 ? null : target.substring(hash + 1);
                    Path to = file.isEmpty() ? ROOT.resolve(page) : dir.resolve(file).normalize();
                    String at = page + ":" + (i + 1) + ": link " + target;
                    if (!Files.exists(to)) {
                        broken.add(at + " points at " + ROOT.relativize(to) + ", which does not exist");
                    } else if (anchor != null && to.toString().endsWith(".md") && !anchors(to).contains(anchor)) {
                        broken.add(at + ": " + ROOT.relativize(to) + " has no heading #" + anchor + " (it has " + anchors(to) + ")");
                    }
                }
            }
        }
        if (!broken.isEmpty()) fail(String.join("\n", broken));
    }

    // --- reading the scripts and the pages

    /** The option names --help shows: of the command and of every subcommand; hidden options left out. */
    static Set<String> helpOptions(Object command) {
        Set<String> names = new TreeSet<>();
        collect(new CommandLine(command), names, Collections.newSetFromMap(new IdentityHashMap<>()));
        return names;
    }

    private static void collect(CommandLine cl, Set<String> names, Set<CommandLine> seen) {
        if (!seen.add(cl)) return;
        for (OptionSpec o : cl.getCommandSpec().options()) {
            if (!o.hidden()) names.addAll(Arrays.asList(o.names()));
        }
        for (CommandLine sub : cl.getSubcommands().values()) collect(sub, names, seen);
    }

    /** The rows of the option tables of a page (outside code blocks). */
    static List<Row> optionRows(String page) {
        List<String> text = lines(page);
        List<Row> rows = new ArrayList<>();
        boolean fence = false, table = false, optionTable = false;
        for (int i = 0; i < text.size(); i++) {
            String l = text.get(i).strip();
            if (l.startsWith("```")) fence = !fence;
            if (fence || !l.startsWith("|")) {
                table = optionTable = false;
                continue;
            }
            List<String> cells = cells(l);
            if (!table) {
                table = true;
                optionTable = !cells.isEmpty() && cells.get(0).equalsIgnoreCase("option");
                continue;
            }
            if (!optionTable || l.matches("\\|[\\s:|-]*")) continue;
            List<String> options = new ArrayList<>();
            Matcher code = CODE.matcher(cells.get(0));
            while (code.find()) {
                Matcher o = OPTION.matcher(code.group(1));
                if (o.lookingAt()) options.add(o.group());
            }
            rows.add(new Row(page, i + 1, options));
        }
        return rows;
    }

    /** The cells of a table row; a pipe escaped as \| stays inside its cell. */
    static List<String> cells(String row) {
        String inner = row.substring(1, row.endsWith("|") && row.length() > 1 ? row.length() - 1 : row.length());
        return Arrays.stream(inner.split("(?<!\\\\)\\|", -1)).map(String::strip).toList();
    }

    /** The targets of the markdown links in these lines (outside inline code). */
    static List<String> links(List<String> text) {
        List<String> targets = new ArrayList<>();
        for (String l : text) {
            Matcher m = LINK.matcher(l.replaceAll("`[^`]*`", "``"));
            while (m.find()) targets.add(m.group(1));
        }
        return targets;
    }

    /** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as '-', repeats numbered. */
    static Set<String> anchors(Path page) {
        Set<String> anchors = new TreeSet<>();
        Map<String, Integer> seen = new TreeMap<>();
        boolean fence = false;
        for (String l : lines(ROOT.relativize(page).toString())) {
            if (l.strip().startsWith("```")) fence = !fence;
            Matcher h = HEADING.matcher(l);
            if (fence || !h.matches()) continue;
            String slug = h.group(1).toLowerCase(Locale.ROOT).replaceAll("[^\\p{L}\\p{N}\\p{M}\\p{Pc} -]", "").replace(' ', '-');
            int n = seen.merge(slug, 1, Integer::sum);
            anchors.add(n == 1 ? slug : slug + "-" + (n - 1));
        }
        return anchors;
    }

    /** README.md, UPSTREAM.md, BENCHMARKS.md and every page under docs/, as paths from the repository root. */
    static List<String> markdownPages() {
        List<String> pages = new ArrayList<>();
        try (Stream<Path> top = Files.list(ROOT); Stream<Path> docs = Files.walk(ROOT.resolve("docs"))) {
            Stream.concat(top, docs).filter(p -> Files.isRegularFile(p) && p.toString().endsWith(".md"))
                    .map(p -> ROOT.relativize(p).toString()).sorted().forEach(pages::add);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return pages;
    }

    static List<String> lines(String page) {
        try {
            return Files.readAllLines(ROOT.resolve(page));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + page, e);
        }
    }

    /** The repository root: where README.md and provision.java are (the tests run from it). */
    static Path root() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p.resolve("README.md")) && Files.exists(p.resolve("provision.java"))) return p;
        }
        throw new IllegalStateException("run the tests from the repository root (no README.md and provision.java found)");
    }
}
