import static org.junit.jupiter.api.Assertions.*;

import cli.Console;
import fake.ScriptProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live status line as a person sees it: provision.java runs in a real pseudo-terminal 80 columns wide (util-linux
 * 'script', on every Debian), against an Azure fake whose operations take seconds; what it wrote is replayed on a
 * model of that terminal (wrapping at 80 columns, carriage return, erase-line), and the scrollback is read.
 */
class TerminalTest {
    @TempDir Path home;

    @Test
    void statusLineFitsEightyColumnsAndLeavesNoResidue() throws Exception {
        Path script = Path.of("/usr/bin/script");
        Assumptions.assumeTrue(Files.isExecutable(script), "no util-linux 'script' for a pseudo-terminal");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cmd = "stty cols 80 rows 24; exec " + quote(java) + " -cp " + quote(System.getProperty("java.class.path"))
                + " SlowProvision " + quote(home.toString()) + " --prefix acme --yes --skip-preflight";
        ScriptProcess.Result r = ScriptProcess.exec(List.of(script.toString(), "-qfec", cmd, "/dev/null"), Map.of(), Path.of("/dev/null"));
        assertEquals(0, r.code(), r.all());
        assertTrue(r.out().contains("waiting on Azure ("), "the run showed no status line: " + r.out());

        Terminal t = new Terminal(80);
        t.write(r.out());
        // Rows a long event line wrapped onto are joined back to it: those wrap in any terminal and stay put.
        List<String> rows = t.lines();
        String screen = String.join("\n", rows);
        assertTrue(rows.stream().noneMatch(l -> l.contains("waiting on Azure")), "a status line was left behind:\n" + screen);
        List<String> created = rows.stream().filter(l -> l.startsWith("  created ")).toList();
        assertTrue(created.size() >= 5, screen);
        for (String c : created) {
            String what = c.replaceAll(" \\(\\d.*\\)$", "");
            assertEquals(1, rows.stream().filter(l -> l.startsWith(what + " (")).count(), "'" + what + "' more than once:\n" + screen);
        }
        for (String slow : List.of("AKS cluster aks-acme-metaflow-default (", "PostgreSQL flexible server psql-acme-metaflow-default (",
                "storage account stacmemfdefault (")) {
            assertEquals(1, rows.stream().filter(l -> l.startsWith("  created   " + slow)).count(), slow + "\n" + screen);
        }
        assertTrue(rows.stream().anyMatch(l -> l.startsWith("Done in ")), screen);
        // The status line itself: cut to the width with "...", never longer.
        List<String> statuses = statusLines(r.out());
        assertTrue(statuses.size() >= 3, "too few redraws to judge: " + statuses);
        assertTrue(statuses.stream().allMatch(s -> s.length() <= 79), statuses.toString());
        assertTrue(statuses.stream().anyMatch(s -> s.endsWith("...")), "no status line was long enough to be cut: " + statuses);
    }

    @Test
    void fitCutsWithAnEllipsisAndLeavesTheLastColumnFree() {
        assertEquals("short", Console.fit("short", 80));
        String cut = Console.fit("x".repeat(200), 80);
        assertEquals(79, cut.length());
        assertTrue(cut.endsWith("..."));
        assertEquals("x".repeat(79), Console.fit("x".repeat(79), 80));
    }

    /** Each status line as drawn: the text between a carriage return and the erase-line that ends it. */
    static List<String> statusLines(String raw) {
        List<String> out = new ArrayList<>();
        var m = java.util.regex.Pattern.compile("\r(  waiting on Azure [^\r\n\033]*)\033\\[K").matcher(raw);
        while (m.find()) out.add(m.group(1));
        return out;
    }

    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** Enough of a VT100 for this: printable text with autowrap, CR, LF, and erase-in-line (CSI K, 1K, 2K). */
    static final class Terminal {
        final int width;
        final List<StringBuilder> rows = new ArrayList<>(List.of(new StringBuilder()));
        /** Rows begun by autowrap rather than a line feed. */
        final java.util.Set<Integer> continued = new java.util.HashSet<>();
        int row;
        int col;
        boolean pendingWrap;

        Terminal(int width) { this.width = width; }

        void write(String s) {
            for (int i = 0; i < s.length(); ) {
                int cp = s.codePointAt(i);
                i += Character.charCount(cp);
                if (cp == '\r') {
                    col = 0;
                    pendingWrap = false;
                } else if (cp == '\n') {
                    newRow();
                    pendingWrap = false;
                } else if (cp == 033 && i < s.length() && s.charAt(i) == '[') {
                    int end = i + 1;
                    while (end < s.length() && (Character.isDigit(s.charAt(end)) || s.charAt(end) == ';' || s.charAt(end) == '?')) end++;
                    String param = s.substring(i + 1, end);
                    char fin = s.charAt(end);
                    i = end + 1;
                    if (fin == 'K') erase(param);
                } else if (cp >= ' ') {
                    if (pendingWrap) {
                        newRow();
                        continued.add(row);
                        col = 0;
                        pendingWrap = false;
                    }
                    StringBuilder r = rows.get(row);
                    while (r.length() < col) r.append(' ');
                    String ch = new String(Character.toChars(cp));
                    if (col < r.length()) r.replace(col, col + 1, ch); else r.append(ch);
                    if (col == width - 1) pendingWrap = true; else col++;
                }
            }
        }

        void newRow() {
            row++;
            if (row == rows.size()) rows.add(new StringBuilder());
        }

        void erase(String param) {
            StringBuilder r = rows.get(row);
            switch (param) {
                case "", "0" -> { if (col < r.length()) r.setLength(col); }
                case "1" -> { for (int k = 0; k <= col && k < r.length(); k++) r.setCharAt(k, ' '); }
                case "2" -> r.setLength(0);
                default -> { }
            }
            pendingWrap = false;
        }

        /** The scrollback as lines: each row, with the rows it wrapped onto appended. */
        List<String> lines() {
            List<String> out = new ArrayList<>();
            for (int k = 0; k < rows.size(); k++) {
                String text = rows.get(k).toString();
                if (continued.contains(k) && !out.isEmpty()) out.set(out.size() - 1, out.get(out.size() - 1) + text);
                else out.add(text);
            }
            out.replaceAll(String::stripTrailing);
            while (!out.isEmpty() && out.get(out.size() - 1).isEmpty()) out.remove(out.size() - 1);
            return out;
        }
    }
}
