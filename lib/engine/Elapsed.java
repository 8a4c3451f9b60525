package engine;

/** How long something took, as progress lines show it: 4.2s, 37s, 12m05s. */
public final class Elapsed {
    private Elapsed() {}

    public static String text(long millis) {
        long s = millis / 1000;
        if (s < 60) return millis < 10_000 ? String.format("%.1fs", millis / 1000.0) : s + "s";
        return (s / 60) + "m" + String.format("%02d", s % 60) + "s";
    }
}
