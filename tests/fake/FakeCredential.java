package fake;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import reactor.core.publisher.Mono;

/**
 * A credential of one principal (a user, or an application) that hands out an unsigned Microsoft Entra access token per
 * request, carrying the claims the toolkit and the fakes read: {@code aud} (the requested scope without {@code /.default},
 * or the resource of the managed-identity protocol), {@code iat}/{@code nbf}/{@code exp} (epoch seconds), {@code oid},
 * {@code tid}, and {@code upn} for a user or {@code appid} + {@code idtyp=app} for an application, plus {@code groups}
 * when given. These are the claims of Entra access tokens (Microsoft identity platform "Access token claims reference")
 * that AKS's authenticator reads: upn as the user name, else oid (Azure/guard auth/providers/azure/azure.go, getUserInfo).
 * Every token issued is recorded ({@link #issued()}), so a test can tell a refresh from a cached token.
 */
public final class FakeCredential implements TokenCredential {
    /** One token handed out: the scope asked for, the token and when it expires. */
    public record Issued(String scope, String token, OffsetDateTime expiresAt) { }

    private final String objectId;
    private final String tenantId;
    private final boolean application;
    private final String upn;
    private final List<String> groups;
    private final Duration lifetime;
    private final List<Issued> issued = new CopyOnWriteArrayList<>();

    /** A user (upn admin@example.test) or an application; tokens live an hour. */
    public FakeCredential(String objectId, String tenantId, boolean application) {
        this(objectId, tenantId, application, application ? null : "admin@example.test", List.of(), Duration.ofHours(1));
    }

    private FakeCredential(String objectId, String tenantId, boolean application, String upn, List<String> groups, Duration lifetime) {
        this.objectId = objectId;
        this.tenantId = tenantId;
        this.application = application;
        this.upn = upn;
        this.groups = List.copyOf(groups);
        this.lifetime = lifetime;
    }

    /** A user's credential: its own object id and user principal name (e.g. a grantee made with {@link AzureFake#addUser}). */
    public static FakeCredential user(String objectId, String tenantId, String userPrincipalName) {
        return new FakeCredential(objectId, tenantId, false, userPrincipalName, List.of(), Duration.ofHours(1));
    }

    /** An application's (service principal's or managed identity's) credential. */
    public static FakeCredential application(String objectId, String tenantId) {
        return new FakeCredential(objectId, tenantId, true, null, List.of(), Duration.ofHours(1));
    }

    /** The same principal, its tokens naming these groups (object ids) in the {@code groups} claim. */
    public FakeCredential withGroups(String... groupIds) {
        return new FakeCredential(objectId, tenantId, application, upn, List.of(groupIds), lifetime);
    }

    /** The same principal, its tokens expiring this long after they are issued (e.g. seconds, to exercise a refresh). */
    public FakeCredential expiringIn(Duration tokenLifetime) {
        return new FakeCredential(objectId, tenantId, application, upn, groups, tokenLifetime);
    }

    public String objectId() { return objectId; }

    /** The user principal name, or null for an application. */
    public String userPrincipalName() { return upn; }

    /** Every token handed out so far, oldest first. */
    public List<Issued> issued() { return List.copyOf(issued); }

    /** A token for an audience (e.g. {@code 6dae42f8-4368-4678-94ff-3960e28e3630}), as a test would hand it to a fake. */
    public String tokenFor(String audience) {
        return jwt(claims(audience, Instant.now(), lifetime));
    }

    /** A token for the audience that expired {@code ago} ago (its exp in the past), for tests of refusals. */
    public String expiredTokenFor(String audience, Duration ago) {
        return jwt(claims(audience, Instant.now().minus(lifetime).minus(ago), lifetime));
    }

    /** The unsigned token of the admin kind the fakes have always used, e.g. for a managed-identity endpoint. */
    public static String jwt(String objectId, String tenantId, boolean application) {
        return new FakeCredential(objectId, tenantId, application).tokenFor("https://management.azure.com");
    }

    /** An unsigned JWT ({"alg":"none"} header) with these claims. */
    static String jwt(ObjectNode claims) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(claims.toString().getBytes(StandardCharsets.UTF_8)) + ".sig";
    }

    /** The claims of a token, or null when the text is not a JWT. */
    static ObjectNode claims(String token) {
        String[] parts = token.split("\\.");
        if (parts.length != 3) return null;
        try {
            var n = Answer.M.readTree(Base64.getUrlDecoder().decode(parts[1]));
            return n != null && n.isObject() ? (ObjectNode) n : null;
        } catch (java.io.IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private ObjectNode claims(String audience, Instant issuedAt, Duration life) {
        ObjectNode c = Answer.M.createObjectNode();
        c.put("aud", audience);
        c.put("iss", "https://sts.windows.net/" + tenantId + "/");
        c.put("iat", issuedAt.getEpochSecond());
        c.put("nbf", issuedAt.getEpochSecond());
        c.put("exp", issuedAt.plus(life).getEpochSecond());
        c.put("oid", objectId);
        c.put("tid", tenantId);
        if (application) {
            c.put("appid", objectId);
            c.put("idtyp", "app");
        } else {
            c.put("upn", upn);
            c.put("idtyp", "user");
        }
        if (!groups.isEmpty()) {
            ArrayNode g = c.putArray("groups");
            groups.forEach(g::add);
        }
        return c;
    }

    /** The audience of a scope: {@code <resource>/.default} names the resource (Microsoft identity platform scopes). */
    static String audienceOf(List<String> scopes) {
        String s = scopes == null || scopes.isEmpty() ? "https://management.azure.com/.default" : scopes.get(0);
        return s.endsWith("/.default") ? s.substring(0, s.length() - "/.default".length()) : s;
    }

    @Override
    public Mono<AccessToken> getToken(TokenRequestContext request) {
        return Mono.fromCallable(() -> getTokenSync(request));
    }

    @Override
    public AccessToken getTokenSync(TokenRequestContext request) {
        Issued t = issue(request.getScopes() == null ? List.of() : request.getScopes());
        return new AccessToken(t.token(), t.expiresAt());
    }

    /** Hands out (and records) a fresh token for these scopes, as {@link #getTokenSync} does. */
    public Issued issue(List<String> scopes) {
        Instant now = Instant.now();
        String token = jwt(claims(audienceOf(scopes), now, lifetime));
        Issued t = new Issued(String.join(" ", scopes), token, OffsetDateTime.ofInstant(now.plus(lifetime), ZoneOffset.UTC));
        issued.add(t);
        return t;
    }
}
