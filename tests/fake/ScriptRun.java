package fake;

import azure.AzureLogin;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs one of the scripts in-process through its {@code run(...)} entry, as a user's command would, capturing what it prints. */
public final class ScriptRun {
    private ScriptRun() {}

    /** The entry every script has: provision::run, services::run, teardown::run. */
    public interface Script {
        int run(String[] args, AzureLogin.Host host, AzureLogin.Transport transport, PrintStream out, PrintStream err);
    }

    /**
     * Exit code (-1 when the process "died" of a {@link FakeCrash}), standard output and error, wall time. Fields rather
     * than a record so that tests read them as {@code r.code}, {@code r.out}, as they would a record of their own.
     */
    public static final class Result {
        public final int code;
        public final String out;
        public final String err;
        public final long millis;

        Result(int code, String out, String err, long millis) {
            this.code = code;
            this.out = out;
            this.err = err;
            this.millis = millis;
        }

        public String all() { return out + "\n" + err; }
    }

    public static Result run(Script script, AzureLogin.Host host, AzureLogin.Transport transport, String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code;
        try {
            code = script.run(args, host, transport, new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
        } catch (FakeCrash crash) {
            code = -1;
        }
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8), (System.nanoTime() - t0) / 1_000_000);
    }

    /** The fake signed in as its user: what an admin after 'az login' gives the scripts. */
    public static AzureLogin.Transport signedIn(AzureFake fake) {
        return new AzureLogin.Transport(fake, fake.credential(), null);
    }

    /** The fake signed in as another user (AzureFake.addUser): only what that user's role assignments allow. */
    public static AzureLogin.Transport signedInAs(AzureFake fake, String objectId) {
        return new AzureLogin.Transport(fake, fake.credentialFor(objectId), null);
    }
}
