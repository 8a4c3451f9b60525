package cli;

import engine.Executor;
import engine.Plan;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;

/**
 * The part of provision and teardown that changes things: ask first, then run the plan's steps as a dependency
 * graph with progress on the console, retries, and Ctrl-C handled the same way in both.
 */
public final class Apply {
    private Apply() {}

    /**
     * Asks on the terminal (unless --yes) and says whether to go ahead. Without a terminal it prints why nothing
     * happened and what to pass instead; the caller exits 4.
     */
    public static boolean confirmed(Script s, boolean yes, String unconfirmed, String rerun, String question, String expected) {
        if (yes) return true;
        if (!s.interactive) {
            s.err.println("error: " + unconfirmed);
            s.err.println(rerun);
            return false;
        }
        s.out.print(question);
        s.out.flush();
        String answer = System.console().readLine();
        return answer != null && answer.trim().equalsIgnoreCase(expected);
    }

    /**
     * Runs the steps. Ctrl-C interrupts the run: it stops waiting, says what Azure is still doing for us, and returns
     * null (exit 130); what Azure accepted carries on, and the same command continues from there.
     */
    public static Executor.Result run(Script s, List<Plan.Step> steps, Plan.Ctx ctx, PrintStream progress, boolean json,
                                      Executor.Recovery recovery) {
        Console console = new Console(progress, s.interactive && !json, Duration.ofSeconds(30));
        Thread main = Thread.currentThread();
        Thread hook = new Thread(() -> {
            main.interrupt();
            try {
                main.join(5000);
            } catch (InterruptedException ignored) {
                // exiting anyway
            }
        });
        Runtime.getRuntime().addShutdownHook(hook);
        Executor.Result result;
        List<String> inFlight;
        try (console) {
            result = Executor.run(steps, ctx, console, recovery);
            inFlight = console.inFlight();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running and waits for us
            }
        }
        if (Thread.interrupted() || result.outcomes().values().stream().anyMatch(o -> o != null && o.status() == Executor.Status.INTERRUPTED)) {
            s.err.println("Interrupted." + (inFlight.isEmpty() ? "" : " Still in progress on Azure's side (it carries on without us): "
                    + String.join(", ", inFlight) + "."));
            s.err.println("Run the same command again to continue from where it stopped; nothing is started twice.");
            return null;
        }
        return result;
    }

    /** How many steps ended with {@code status}. */
    public static long count(Executor.Result result, Executor.Status status) {
        return result.outcomes().values().stream().filter(o -> o != null && o.status() == status).count();
    }
}
