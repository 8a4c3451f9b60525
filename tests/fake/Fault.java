package fake;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A fault to inject into {@link AzureFake}: matches requests by HTTP method and a regular expression searched
 * (case-insensitively, {@code find()}) in the decoded request path, and applies to the next {@link #times(int)} matches.
 *
 * <p>Kinds: an error answer ({@link #status(int)}, e.g. 429 with {@code Retry-After}, 500, 503), a dropped connection
 * ({@link #dropConnection()}, before the fake sees the request, or with {@link #afterApply()} after it has applied it),
 * or a failing long-running operation ({@link #failOperation(String, String)}: the request itself is accepted, the
 * operation it starts ends {@code Failed} with that code).
 */
public final class Fault {
    final String method;
    final Pattern pattern;
    int status;
    final Map<String, String> headers = new LinkedHashMap<>();
    String code;
    String message;
    boolean drop;
    boolean afterApply;
    String failCode;
    String failMessage;
    int remaining = 1;

    private Fault(String method, String pathRegex) {
        this.method = method == null || method.equals("*") ? null : method.toUpperCase(Locale.ROOT);
        this.pattern = Pattern.compile(pathRegex, Pattern.CASE_INSENSITIVE);
    }

    /** A fault for requests with this method ({@code "*"} or null for any) whose decoded path contains a match of the regex. */
    public static Fault of(String method, String pathRegex) {
        return new Fault(method, pathRegex);
    }

    /** Answer with this HTTP status and an ARM error body (code defaults from the status: TooManyRequests, InternalServerError...). */
    public Fault status(int status) {
        this.status = status;
        return this;
    }

    /** Add a response header to the error answer (e.g. {@code Retry-After: 1}). */
    public Fault header(String name, String value) {
        headers.put(name, value);
        return this;
    }

    /** Error code and message of the error answer's body. */
    public Fault error(String code, String message) {
        this.code = code;
        this.message = message;
        return this;
    }

    /** Apply to the next n matching requests (default 1). */
    public Fault times(int n) {
        this.remaining = n;
        return this;
    }

    /** Throw an IOException-caused error instead of answering, as a dropped connection would. */
    public Fault dropConnection() {
        this.drop = true;
        return this;
    }

    /** With {@link #dropConnection()}: the fake applies the request first (Azure accepted it), then the answer is lost. */
    public Fault afterApply() {
        this.afterApply = true;
        return this;
    }

    /** The next long-running operation started by a matching request ends {@code Failed} with this error. */
    public Fault failOperation(String code, String message) {
        this.failCode = code;
        this.failMessage = message;
        return this;
    }

    boolean matches(String m, String path) {
        return remaining > 0 && (method == null || method.equals(m)) && pattern.matcher(path).find();
    }

    boolean isOperationFault() {
        return failCode != null;
    }

    @Override
    public String toString() {
        return "Fault[" + method + " " + pattern + " status=" + status + " drop=" + drop + " fail=" + failCode
                + " remaining=" + remaining + "]";
    }
}
