package fake;

import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.Context;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import reactor.core.publisher.Mono;

/** An HTTP client that refuses every request and remembers it: for asserting that nothing was sent. */
public final class NoNetwork implements HttpClient {
    public final List<String> attempted = new CopyOnWriteArrayList<>();

    @Override
    public Mono<HttpResponse> send(HttpRequest request) {
        return Mono.fromCallable(() -> sendSync(request, Context.NONE));
    }

    @Override
    public HttpResponse sendSync(HttpRequest request, Context context) {
        attempted.add(request.getHttpMethod() + " " + request.getUrl());
        throw new IllegalStateException("no network in this test: " + request.getUrl());
    }
}
