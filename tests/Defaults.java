import azure.Settings;
import picocli.CommandLine;

/** provision.java's default settings, as its options give them: read from the command, never written out again. */
public final class Defaults {
    private Defaults() {}

    public static Settings settings(String... options) {
        provision p = new provision();
        String[] args = new String[options.length + 2];
        args[0] = "--prefix";
        args[1] = "acme";
        System.arraycopy(options, 0, args, 2, options.length);
        new CommandLine(p).parseArgs(args);
        return p.settings();
    }
}
