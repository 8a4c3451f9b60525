package fake;

/**
 * Thrown by {@link AzureFake} for every request after {@link AzureFake#crashAfter(int)} was reached: it stands for the
 * client process dying mid-run. It is an {@link Error} so that retry policies and ordinary {@code catch (Exception)}
 * blocks do not swallow it. The fake keeps everything Azure had already accepted; running operations keep completing.
 */
public final class FakeCrash extends Error {
    /** @param requestNumber the 1-based number of the request that hit the crash */
    public FakeCrash(long requestNumber) {
        super("simulated client crash at request #" + requestNumber);
    }
}
