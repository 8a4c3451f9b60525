package cli;

import azure.AzureLogin;
import azure.Clouds;
import engine.Version;
import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/**
 * What every script shares around its own steps: its streams and where Azure is (main() uses the real ones, tests
 * pass their own through {@link #run}), the options naming the stack and where in Azure it is, --output/--verbose,
 * and the one way of signing in.
 */
public abstract class Script implements Callable<Integer> {

    @Mixin public Options.StackOptions stackOptions = new Options.StackOptions();
    @Mixin public Options.AzureOptions azureOptions = new Options.AzureOptions();
    @Mixin public Options.Common common = new Options.Common();

    public AzureLogin.Host host = AzureLogin.Host.current();
    public AzureLogin.Transport transport;
    public PrintStream out = System.out;
    public PrintStream err = System.err;
    public boolean interactive = System.console() != null;
    // Typed Object, and reached through Cli.requestLog(script), on purpose: picocli reads this class's fields and methods,
    // and a RequestLog in their types would load azure-core, a signed jar whose verification costs --help about 0.1 s.
    Object requestLog;

    /** --version: the toolkit's version, with the script's name. */
    public static final class ShowVersion implements CommandLine.IVersionProvider {
        @Spec CommandSpec spec;

        @Override public String[] getVersion() {
            return new String[] {"metaflow-azure-toolkit " + spec.name().replace(".java", "") + " " + Version.VERSION};
        }
    }

    /** Runs {@code script} with the given environment, Azure transport (null: the real one) and streams. */
    public static int run(Script script, String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err) {
        script.host = host;
        script.transport = transport;
        script.out = out;
        script.err = err;
        return Cli.commandLine(script, out, err).execute(args);
    }

    /** Whether there is a sign-in to use (az CLI login, AZURE_* variables, a managed identity); sends no request. */
    public boolean canSignIn() {
        return AzureLogin.canSignIn(host, transport);
    }

    public static final String NO_SIGN_IN = "no Azure sign-in found (no az CLI login, no AZURE_* credential variables, no managed identity)";
    public static final String SIGN_IN_HINT = "Run 'az login' (or set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET)";

    /**
     * Signs in and chooses the subscription. The no-sign-in policy, the same in every script: a dry run goes on with what
     * names alone tell (the caller asks {@link #canSignIn} first); anything else stops here, before any request, with
     * {@code otherwise} naming what the user can do instead.
     */
    public AzureLogin.Session signIn(Clouds.Cloud cloud, String subscription, String otherwise) {
        if (!canSignIn()) throw new AzureLogin.LoginException(NO_SIGN_IN + "; nothing was touched", SIGN_IN_HINT + otherwise);
        Cli.libraryLogging(common.verbose, err);   // from here on the Azure SDK (and later fabric8) may log
        return AzureLogin.connect(cloud, subscription, host, AzureLogin.Transport.logged(transport, Cli.requestLog(this)));
    }

    /** Prints what went wrong and what to do, and returns the exit code. */
    public int fail(String what, String todo, int code) {
        err.println("error: " + what);
        err.println(todo);
        return code;
    }
}
