package fake;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.Base64;
import reactor.core.publisher.Mono;

/** A credential that hands out an unsigned token carrying the claims the toolkit reads (oid, tid, idtyp). */
public final class FakeCredential implements TokenCredential {
    private final String token;

    public FakeCredential(String objectId, String tenantId, boolean application) {
        this.token = jwt(objectId, tenantId, application);
    }

    /** The unsigned token itself, e.g. for a managed-identity endpoint served to another process. */
    public static String jwt(String objectId, String tenantId, boolean application) {
        String payload = "{\"oid\":\"" + objectId + "\",\"tid\":\"" + tenantId + "\""
                + (application ? ",\"idtyp\":\"app\",\"appid\":\"" + objectId + "\"" : ",\"upn\":\"admin@example.test\"") + "}";
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString("{\"alg\":\"none\"}".getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + ".sig";
    }

    @Override
    public Mono<AccessToken> getToken(TokenRequestContext request) {
        return Mono.just(getTokenSync(request));
    }

    @Override
    public AccessToken getTokenSync(TokenRequestContext request) {
        return new AccessToken(token, OffsetDateTime.now().plusHours(1));
    }
}
