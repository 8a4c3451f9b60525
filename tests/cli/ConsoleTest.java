package cli;

import static org.junit.jupiter.api.Assertions.*;

import engine.Elapsed;
import engine.Executor;
import engine.Plan;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Progress as a log reader sees it: a line per start and finish, and a heartbeat for whatever is still waiting. */
class ConsoleTest {
    static Plan.Item item(String kind, String name) {
        return new Plan.Item(kind, kind, name, null, List.of(), Map.of(), null);
    }

    @Test
    void logModePrintsAHeartbeatForWhatIsStillWaitingAndNoControlCharacters() throws Exception {
        var bytes = new ByteArrayOutputStream();
        Plan.Item aks = item("AKS cluster", "aks-acme");
        try (Console c = new Console(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, Duration.ofMillis(300))) {
            c.started(aks, Plan.Action.CREATE);
            Thread.sleep(1600);
            c.finished(aks, Executor.Status.CREATED, 1600);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("  creating AKS cluster aks-acme ..."), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("  still waiting (") && l.contains("AKS cluster aks-acme (")), out);
        assertTrue(out.contains("created   AKS cluster aks-acme (1.6s)"), out);
        assertFalse(out.contains("\r") || out.contains("\033"), "a log must not get terminal control sequences");
    }

    @Test
    void terminalModeRedrawsOneStatusLine() throws Exception {
        var bytes = new ByteArrayOutputStream();
        Plan.Item pg = item("PostgreSQL flexible server", "psql-acme");
        try (Console c = new Console(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, Duration.ofSeconds(30))) {
            c.started(pg, Plan.Action.CREATE);
            Thread.sleep(1300);
            c.finished(pg, Executor.Status.CREATED, 1300);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("\r  waiting on Azure ("), out);
        assertTrue(out.contains("created   PostgreSQL flexible server psql-acme"), out);
    }

    @Test
    void elapsedTimesReadLikeAPersonWouldWriteThem() {
        assertEquals("0.3s", Elapsed.text(250));
        assertEquals("42s", Elapsed.text(42_000));
        assertEquals("4m05s", Elapsed.text(245_000));
    }
}
