package engine;

/** Error messages as the toolkit reports them: one line of what went wrong. */
public final class Messages {
    private Messages() {}

    /** The first line of a message (libraries' messages go on with details and stack text); "no details" for none. */
    public static String firstLine(String s) {
        if (s == null) return "no details";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
