package engine;

/** The toolkit's version, shown by --version and sent in the User-Agent. */
public final class Version {
    private Version() {}

    public static final String VERSION = "0.1.0";
}
