package fake;

import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpHeaders;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.BinaryData;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** An in-memory HTTP answer of {@link AzureFake}: status, headers, body bytes. */
final class FakeHttpResponse extends HttpResponse {
    private final int status;
    private final HttpHeaders headers;
    private final byte[] body;

    FakeHttpResponse(HttpRequest request, int status, Map<String, String> headers, byte[] body) {
        super(request);
        this.status = status;
        this.headers = new HttpHeaders();
        headers.forEach((k, v) -> this.headers.set(HttpHeaderName.fromString(k), v));
        this.body = body == null ? new byte[0] : body;
        this.headers.set(HttpHeaderName.CONTENT_LENGTH, Integer.toString(this.body.length));
    }

    @Override public int getStatusCode() { return status; }
    @Override @Deprecated public String getHeaderValue(String name) { return headers.getValue(name); }
    @Override public String getHeaderValue(HttpHeaderName name) { return headers.getValue(name); }
    @Override public HttpHeaders getHeaders() { return headers; }
    @Override public Flux<ByteBuffer> getBody() {
        return body.length == 0 ? Flux.empty() : Flux.defer(() -> Flux.just(ByteBuffer.wrap(body.clone())));
    }
    @Override public Mono<byte[]> getBodyAsByteArray() { return Mono.fromSupplier(body::clone); }
    @Override public Mono<String> getBodyAsString() { return Mono.fromSupplier(() -> new String(body, StandardCharsets.UTF_8)); }
    @Override public Mono<String> getBodyAsString(Charset charset) { return Mono.fromSupplier(() -> new String(body, charset)); }
    @Override public BinaryData getBodyAsBinaryData() { return BinaryData.fromBytes(body.clone()); }
    @Override public Mono<InputStream> getBodyAsInputStream() { return Mono.fromSupplier(() -> new ByteArrayInputStream(body)); }
    @Override public HttpResponse buffer() { return this; }
    @Override public void close() { }
}
