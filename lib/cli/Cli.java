package cli;

import azure.Arm;
import azure.AzureLogin;
import azure.RequestLog;
import azure.Stack;
import engine.Messages;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import picocli.CommandLine;

/** picocli set up the same way for every script: errors as one line of what is wrong and one of what to do. */
public final class Cli {
    private Cli() {}

    public static CommandLine commandLine(Object command, PrintStream out, PrintStream err) {
        CommandLine cl = new CommandLine(command);
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        cl.setParameterExceptionHandler((ex, args) -> {
            err.println("error: " + ex.getMessage());
            err.println("Run '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help' for the options and their allowed values.");
            return 2;
        });
        cl.setExecutionExceptionHandler((ex, line, parsed) -> {
            if (ex instanceof Stack.InputException) {
                err.println("error: " + ex.getMessage());
                err.println("Change that value and run again; nothing was touched.");
                return 2;
            }
            if (ex instanceof AzureLogin.LoginException le) {
                err.println("error: " + le.getMessage());
                err.println(le.hint);
                return 1;
            }
            if (ex instanceof Arm.AzureException ae) {
                err.println("error: Azure refused a request for " + ae.target + ": " + ae.getMessage());
                err.println("Fix what the message names and run the same command again; finished work is kept.");
                return 1;
            }
            if (ex instanceof engine.Network.UnreachableException u) {
                err.println("error: " + u.getMessage());
                err.println(u.todo);
                return 1;
            }
            String cause = engine.Network.cause(ex);
            if (cause != null) {
                // A library's own request (not one of ours, which name their endpoint): its message says where.
                err.println("error: a request got no answer: " + cause + " (" + Messages.firstLine(ex.getMessage()) + ")");
                err.println(engine.Network.todo("the endpoint options (--arm-endpoint, --kubeconfig)"));
                return 1;
            }
            err.println("error: " + ex);
            err.println("This looks like a bug in the toolkit; run again with --verbose and report the output.");
            return 1;
        });
        return cl;
    }

    /** The script's log of every Azure request of this run (printed as it happens with --verbose, written to a file after a failure). */
    public static RequestLog requestLog(Script s) {
        if (s.requestLog == null) s.requestLog = new RequestLog(s.common.verbose ? s.err : null);
        return (RequestLog) s.requestLog;
    }

    /**
     * The libraries' own logging (azure-core, azure-identity, msal4j, fabric8: slf4j, bound by slf4j-jdk14 to
     * java.util.logging): nothing by default, their warnings and errors as one line each on err with --verbose.
     * Called just before the libraries come in (sign-in, a cluster), not earlier: starting java.util.logging
     * costs tens of milliseconds that --help and a dry run without sign-in need not pay.
     */
    public static void libraryLogging(boolean verbose, PrintStream err) {
        Logger root = Logger.getLogger("");
        for (Handler h : root.getHandlers()) root.removeHandler(h);
        root.setLevel(verbose ? Level.WARNING : Level.OFF);
        if (!verbose) return;
        root.addHandler(new Handler() {
            @Override public void publish(LogRecord r) {
                if (!isLoggable(r)) return;
                String message = r.getMessage() == null ? "" : new java.util.logging.SimpleFormatter().formatMessage(r);
                if (r.getThrown() != null && message.isEmpty()) message = r.getThrown().toString();
                err.println("  library: " + r.getLevel() + " " + r.getLoggerName() + ": " + Messages.firstLine(message));
            }
            @Override public void flush() { err.flush(); }
            @Override public void close() {}
        });
    }
}
