package cli;

import engine.Elapsed;
import engine.Executor;
import engine.Messages;
import engine.Plan;
import java.io.File;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * Progress a person can follow: a line when each resource starts and finishes, with elapsed time, and for
 * anything still waiting a status line (redrawn each second in a terminal, printed every 30 s in a log).
 */
public final class Console implements Executor.Listener, AutoCloseable {
    private final PrintStream out;
    private final boolean terminal;
    private final long heartbeatMillis;
    private final long start = System.nanoTime();
    private final Map<Plan.Item, Long> inFlight = new ConcurrentHashMap<>();
    private final IntSupplier columns;
    private final Thread ticker;
    private volatile boolean statusShown;
    private boolean closed;

    public Console(PrintStream out, boolean terminal, Duration heartbeat) {
        this(out, terminal, heartbeat, Console::terminalColumns);
    }

    /** columns: the terminal's width, asked before each redraw so that a resized window is followed. */
    public Console(PrintStream out, boolean terminal, Duration heartbeat, IntSupplier columns) {
        this.out = out;
        this.terminal = terminal;
        this.columns = columns;
        this.heartbeatMillis = terminal ? 1000 : heartbeat.toMillis();
        this.ticker = new Thread(this::tick, "console-heartbeat");
        ticker.setDaemon(true);
        ticker.start();
    }

    /**
     * The width of the terminal this process writes to, as the terminal driver has it ({@code stty size} on
     * /dev/tty, which is how picocli sizes --help too): unlike $COLUMNS, which shells keep without exporting,
     * it is always there and follows a resize. Else $COLUMNS, else 80.
     */
    public static int terminalColumns() {
        try {
            Process p = new ProcessBuilder("stty", "size").redirectInput(new File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String answer = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).trim();
            if (p.waitFor(2, TimeUnit.SECONDS) && p.exitValue() == 0 && answer.matches("\\d+ [1-9]\\d*")) {
                return Integer.parseInt(answer.substring(answer.indexOf(' ') + 1));
            }
        } catch (Exception e) {
            // no terminal or no stty: fall through
        }
        try {
            int c = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", ""));
            if (c > 0) return c;
        } catch (NumberFormatException e) {
            // not a number
        }
        return 80;
    }

    /**
     * text cut to fit one row of a terminal this wide, "..." marking the cut. One column stays free: a character in
     * the last column leaves some terminals wrapped, and the next carriage return would then not reach this row.
     */
    public static String fit(String text, int columns) {
        int room = Math.max(columns - 1, 4);
        if (text.length() <= room) return text;
        return text.substring(0, room - 3) + "...";
    }

    private synchronized void line(String text) {
        if (statusShown) {
            out.print("\r\033[K");
            statusShown = false;
        }
        out.println(text);
        out.flush();
    }

    private static String label(Plan.Item item) {
        return item.kind() + " " + item.name();
    }

    public void started(Plan.Item item, Plan.Action action) {
        inFlight.put(item, System.nanoTime());
        line("  " + (action == Plan.Action.CREATE ? "creating " : action == Plan.Action.DELETE ? "deleting " : "updating ") + label(item) + " ...");
    }

    public void finished(Plan.Item item, Executor.Status status, long millis) {
        inFlight.remove(item);
        String verb = switch (status) {
            case CREATED -> "created  ";
            case UPDATED -> "updated  ";
            case DELETED -> "deleted  ";
            default -> "unchanged";
        };
        line("  " + verb + " " + label(item) + " (" + Elapsed.text(millis) + ")");
    }

    public void failed(Plan.Item item, RuntimeException e) {
        inFlight.remove(item);
        line("  FAILED    " + label(item) + ": " + Messages.firstLine(e.getMessage()));
    }

    public void skipped(Plan.Item item, String because) {
        line("  skipped   " + label(item) + " (waits for " + because + ")");
    }

    public void retrying(Plan.Item item, String code, Duration wait, int attempt, int max) {
        line("  retrying  " + label(item) + " after " + code + ": retrying in " + Elapsed.text(wait.toMillis())
                + ", attempt " + attempt + " of " + max);
    }

    /** Items still waiting on Azure, with how long each has been going. */
    public List<String> inFlight() {
        List<String> out = new ArrayList<>();
        long now = System.nanoTime();
        inFlight.forEach((item, t) -> out.add(label(item) + " (" + Elapsed.text((now - t) / 1_000_000) + ")"));
        return out;
    }

    private void tick() {
        long lastPrint = System.nanoTime();
        while (true) {
            try {
                Thread.sleep(terminal ? 1000 : Math.min(1000, heartbeatMillis));
            } catch (InterruptedException e) {
                return;
            }
            List<String> waiting = inFlight();
            if (waiting.isEmpty()) continue;
            if (terminal) {
                int width = columns.getAsInt();
                synchronized (this) {
                    if (closed) return;
                    waiting = inFlight();   // again: what finished while the width was read is gone already
                    if (waiting.isEmpty()) continue;
                    String status = "  waiting on Azure (" + Elapsed.text((System.nanoTime() - start) / 1_000_000) + "): " + String.join(", ", waiting);
                    // Written over the old one, then the rest of the row cleared: no blank flash between the two.
                    out.print("\r" + fit(status, width) + "\033[K");
                    out.flush();
                    statusShown = true;
                }
            } else if ((System.nanoTime() - lastPrint) / 1_000_000 >= heartbeatMillis) {
                lastPrint = System.nanoTime();
                line("  still waiting (" + Elapsed.text((System.nanoTime() - start) / 1_000_000) + "): " + String.join(", ", waiting));
            }
        }
    }

    @Override
    public void close() {
        ticker.interrupt();
        synchronized (this) {
            closed = true;
            if (statusShown) {
                out.print("\r\033[K");
                out.flush();
                statusShown = false;
            }
        }
    }
}
