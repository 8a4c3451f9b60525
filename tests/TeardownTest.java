import static org.junit.jupiter.api.Assertions.*;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.Map;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

class TeardownTest {
    @TempDir Path home;
    AzureFake fake = new AzureFake();

    record Run(int code, String out, String err) {}

    TokenCredential credential() {
        String payload = "{\"oid\":\"" + fake.userObjectId() + "\",\"tid\":\"" + fake.tenantId() + "\",\"upn\":\"u@x\",\"scp\":\"x\"}";
        String jwt = "e30." + Base64.getUrlEncoder().withoutPadding().encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + ".sig";
        return ctx -> Mono.just(new AccessToken(jwt, OffsetDateTime.now().plusHours(1)));
    }

    Run provision(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = provision.run(args, new AzureLogin.Host(Map.of(), home), new AzureLogin.Transport(fake, credential(), null),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    Run teardown(String... args) {
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        int code = teardown.run(args, new AzureLogin.Host(Map.of(), home), new AzureLogin.Transport(fake, credential(), null),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void provisionWorks() {
        Run p = provision("--prefix", "acme", "--yes");
        System.out.println(p.out + "\n---\n" + p.err);
        fake.resourceIds().forEach(System.out::println);
        Run t = teardown("--prefix", "acme", "--yes");
        System.out.println(t.out + "\n---\n" + t.err);
        fake.resourceIds().forEach(System.out::println);
    }
}
