package engine;

import java.security.SecureRandom;

/** Generated secrets. They are handed to Azure and the cluster only: never printed, logged or written to disk. */
public final class Secrets {
    private Secrets() {}

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String LOWER = "abcdefghijkmnopqrstuvwxyz";
    private static final String UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ";
    private static final String DIGITS = "23456789";
    private static final String SYMBOLS = "-_.~";

    /**
     * A 32-character password with all four character classes (PostgreSQL Flexible Server requires three of
     * them), using only URL- and shell-safe symbols so it survives connection strings and env files.
     */
    public static String password() {
        String all = LOWER + UPPER + DIGITS + SYMBOLS;
        char[] out = new char[32];
        out[0] = LOWER.charAt(RANDOM.nextInt(LOWER.length()));
        out[1] = UPPER.charAt(RANDOM.nextInt(UPPER.length()));
        out[2] = DIGITS.charAt(RANDOM.nextInt(DIGITS.length()));
        out[3] = SYMBOLS.charAt(RANDOM.nextInt(SYMBOLS.length()));
        for (int i = 4; i < out.length; i++) out[i] = all.charAt(RANDOM.nextInt(all.length()));
        for (int i = out.length - 1; i > 0; i--) {
            int j = RANDOM.nextInt(i + 1);
            char t = out[i];
            out[i] = out[j];
            out[j] = t;
        }
        return new String(out);
    }
}
