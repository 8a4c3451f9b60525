import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpHeaders;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** A tiny in-process Resource Manager for services.java tests: seeded resources, tag discovery, AKS credentials, password PATCH. */
public final class MiniArm implements HttpClient {
    public static final String SUB = "00000000-0000-0000-0000-000000000001";
    public static final String TENANT = "tenant-1";
    public final Map<String, JsonNode> resources = new ConcurrentHashMap<>();
    public final List<String> requests = new CopyOnWriteArrayList<>();
    /** The last admin password PATCHed onto a PostgreSQL server (what Azure would now hold). */
    public volatile String dbPassword;
    public volatile String kubeconfig;

    /** A provisioned workload-identity stack whose AKS user kubeconfig is the given text. */
    public static MiniArm withStack(String prefix, String env, String location, String kubeconfig) {
        MiniArm a = new MiniArm();
        a.kubeconfig = kubeconfig;
        a.seedStack(prefix, env, location);
        return a;
    }

    public void seedStack(String prefix, String env, String location) {
        Stack s = Stack.of(prefix, env, location, Stack.Settings.defaults(), Clouds.PUBLIC);
        Desired.Caller c = new Desired.Caller(SUB, "me", "User");
        ObjectNode g = Json.obj().put("name", s.resourceGroup()).put("location", location);
        g.set("tags", Json.tags(s.tags()));
        resources.put(Desired.groupId(s, c), g);
        ObjectNode pg = Json.obj().put("name", s.postgresServer());
        pg.putObject("properties").put("fullyQualifiedDomainName", s.postgresServer() + ".postgres.database.azure.com");
        resources.put(Desired.postgresId(s, c), pg);
        ObjectNode st = Json.obj().put("name", s.storageAccount());
        st.putObject("properties").putObject("primaryEndpoints").put("blob", "https://" + s.storageAccount() + ".blob.core.windows.net/");
        resources.put(Desired.storageId(s, c), st);
        ObjectNode id = Json.obj().put("name", s.identity());
        id.putObject("properties").put("clientId", "11111111-2222-3333-4444-555555555555").put("tenantId", TENANT);
        resources.put(Desired.identityId(s, c), id);
        resources.put(Desired.aksId(s, c), Json.obj().put("name", s.aks()));
    }

    public AzureLogin.Transport transport() {
        String claims = Base64.getUrlEncoder().withoutPadding().encodeToString(
                ("{\"tid\":\"" + TENANT + "\",\"oid\":\"me\",\"upn\":\"me@example.com\"}").getBytes(StandardCharsets.UTF_8));
        TokenCredential cred = ctx -> Mono.just(new AccessToken("h." + claims + ".s", OffsetDateTime.now().plusHours(1)));
        return new AzureLogin.Transport(this, cred, null);
    }

    @Override
    public Mono<HttpResponse> send(HttpRequest request) {
        String url = request.getUrl().toString();
        String path = request.getUrl().getPath();
        String method = request.getHttpMethod().name();
        requests.add(method + " " + url);
        String body = request.getBodyAsBinaryData() == null ? "" : request.getBodyAsBinaryData().toString();
        if (method.equals("GET") && path.equals("/subscriptions")) {
            return reply(request, 200, "{\"value\":[{\"subscriptionId\":\"" + SUB + "\",\"displayName\":\"Test\",\"tenantId\":\"" + TENANT + "\"}]}");
        }
        if (method.equals("GET") && path.equalsIgnoreCase("/subscriptions/" + SUB + "/resourcegroups")) {
            var list = Json.arr();
            resources.forEach((k, v) -> { if (k.matches("/subscriptions/[^/]+/resourceGroups/[^/]+")) list.add(v); });
            return reply(request, 200, Json.obj().set("value", list).toString());
        }
        if (method.equals("POST") && path.endsWith("/listClusterUserCredential")) {
            String aks = path.substring(0, path.length() - "/listClusterUserCredential".length());
            if (!resources.containsKey(aks)) return reply(request, 404, "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"no " + aks + "\"}}");
            String b64 = Base64.getEncoder().encodeToString(kubeconfig.getBytes(StandardCharsets.UTF_8));
            return reply(request, 200, "{\"kubeconfigs\":[{\"name\":\"clusterUser\",\"value\":\"" + b64 + "\"}]}");
        }
        JsonNode r = resources.get(path);
        if (method.equals("PATCH") && r != null && path.contains("/flexibleServers/")) {
            dbPassword = Json.parse(body).path("properties").path("administratorLoginPassword").asText();
            return reply(request, 200, r.toString());
        }
        if (method.equals("GET")) {
            return r == null ? reply(request, 404, "{\"error\":{\"code\":\"ResourceNotFound\",\"message\":\"not found\"}}")
                    : reply(request, 200, r.toString());
        }
        return reply(request, 400, "{\"error\":{\"code\":\"Unsupported\",\"message\":\"" + method + " " + path + "\"}}");
    }

    private static Mono<HttpResponse> reply(HttpRequest req, int status, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        HttpHeaders headers = new HttpHeaders().set(HttpHeaderName.CONTENT_TYPE, "application/json");
        return Mono.just(new HttpResponse(req) {
            @Override public int getStatusCode() { return status; }
            @Override public String getHeaderValue(String name) { return headers.getValue(HttpHeaderName.fromString(name)); }
            @Override public HttpHeaders getHeaders() { return headers; }
            @Override public Flux<ByteBuffer> getBody() { return Flux.just(ByteBuffer.wrap(bytes)); }
            @Override public Mono<byte[]> getBodyAsByteArray() { return Mono.just(bytes); }
            @Override public Mono<String> getBodyAsString() { return Mono.just(body); }
            @Override public Mono<String> getBodyAsString(Charset charset) { return Mono.just(new String(bytes, charset)); }
        });
    }
}
