package azure;

import com.azure.core.http.HttpPipelineCallContext;
import com.azure.core.http.HttpPipelineNextPolicy;
import com.azure.core.http.HttpPipelineNextSyncPolicy;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.policy.HttpPipelinePolicy;
import engine.PrivateFile;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import reactor.core.publisher.Mono;

/**
 * One line per Azure request (method, resource, status, duration): printed with --verbose, and kept so a failed
 * run can leave it in a log file. Only the path is kept, never headers or bodies, so no secret can reach it.
 */
public final class RequestLog implements HttpPipelinePolicy {
    public record Entry(String method, String path, int status, long millis, String error) {
        public String line() {
            return String.format("%-6s %s -> %s (%d ms)", method, path, error != null ? error : String.valueOf(status), millis);
        }
    }

    private final List<Entry> entries = new ArrayList<>();
    private final PrintStream verbose;

    public RequestLog(PrintStream verboseOrNull) {
        this.verbose = verboseOrNull;
    }

    public synchronized List<Entry> entries() { return List.copyOf(entries); }

    @Override
    public HttpResponse processSync(HttpPipelineCallContext context, HttpPipelineNextSyncPolicy next) {
        long start = System.nanoTime();
        try {
            HttpResponse r = next.processSync();
            record(context, r.getStatusCode(), null, start);
            return r;
        } catch (RuntimeException e) {
            record(context, 0, e.getClass().getSimpleName(), start);
            throw e;
        }
    }

    @Override
    public Mono<HttpResponse> process(HttpPipelineCallContext context, HttpPipelineNextPolicy next) {
        long start = System.nanoTime();
        return next.process().doOnNext(r -> record(context, r.getStatusCode(), null, start))
                .doOnError(e -> record(context, 0, e.getClass().getSimpleName(), start));
    }

    private void record(HttpPipelineCallContext context, int status, String error, long start) {
        var url = context.getHttpRequest().getUrl();
        String path = url.getPath();
        Entry e = new Entry(context.getHttpRequest().getHttpMethod().name(), path, status, (System.nanoTime() - start) / 1_000_000, error);
        synchronized (this) {
            entries.add(e);
        }
        if (verbose != null) verbose.println("  azure: " + e.line());
    }

    /** Writes the request log next to the user's other toolkit files, readable by the owner only. */
    public Path writeTo(Path dir, String name) throws IOException {
        Path file = dir.resolve(name);
        StringBuilder text = new StringBuilder();
        for (Entry e : entries()) text.append(e.line()).append('\n');
        PrivateFile.write(file, text.toString());
        return file;
    }
}
