import static org.junit.jupiter.api.Assertions.*;

import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import fake.AzureFake;
import org.junit.jupiter.api.Test;

/** The Azure fake's container registries and key vaults refuse what the REST specs and docs say the services refuse. */
class RegistryFakeTest {
    static final String S = AzureFake.DEFAULT_SUBSCRIPTION;
    static final String ARM = "https://management.azure.com";
    static final String RG = "/subscriptions/" + S + "/resourceGroups/rg1";
    static final String REG = RG + "/providers/Microsoft.ContainerRegistry/registries/crtest1";
    static final String API = "2025-04-01";

    final AzureFake fake = new AzureFake();
    final HttpPipeline pipe = new HttpPipelineBuilder().httpClient(fake).build();

    record Resp(int status, JsonNode json) {
        String code() { return json.path("error").path("code").asText(null); }
    }

    Resp send(String method, String path, String api, String body) {
        HttpRequest r = new HttpRequest(HttpMethod.valueOf(method), ARM + path + "?api-version=" + api);
        if (body != null) {
            r.setHeader(com.azure.core.http.HttpHeaderName.CONTENT_TYPE, "application/json");
            r.setBody(body);
        }
        try (HttpResponse res = pipe.sendSync(r, Context.NONE)) {
            String text = res.getBodyAsBinaryData().toString();
            return new Resp(res.getStatusCode(), text == null || text.isEmpty() ? Json.obj() : Json.parse(text));
        }
    }

    void registry() {
        assertTrue(send("PUT", RG, "2022-09-01", "{\"location\":\"eastus\"}").status() < 300);
        Resp r = send("PUT", REG, API, "{\"location\":\"eastus\",\"sku\":{\"name\":\"Basic\"},\"properties\":{\"anonymousPullEnabled\":false}}");
        assertTrue(r.status() < 300, r.json().toString());
    }

    @Test
    void registryNamesSkusAndTheApiVersionOfAnonymousPull() {
        assertTrue(send("PUT", RG, "2022-09-01", "{\"location\":\"eastus\"}").status() < 300);
        assertEquals(400, send("PUT", RG + "/providers/Microsoft.ContainerRegistry/registries/cr-bad", API,
                "{\"location\":\"eastus\",\"sku\":{\"name\":\"Basic\"}}").status());
        assertEquals("InvalidSku", send("PUT", REG, API, "{\"location\":\"eastus\",\"sku\":{\"name\":\"Gold\"}}").code());
        // anonymousPullEnabled is not a property at 2023-07-01 (bicep-types-az containerregistry 2023-07-01 types.md).
        assertEquals(400, send("PUT", REG, "2023-07-01", "{\"location\":\"eastus\",\"sku\":{\"name\":\"Basic\"},\"properties\":{\"anonymousPullEnabled\":false}}").status());
        registry();
        assertEquals("crtest1.azurecr.io", fake.resource(REG).orElseThrow().at("/properties/loginServer").asText());
        Resp check = send("POST", "/subscriptions/" + S + "/providers/Microsoft.ContainerRegistry/checkNameAvailability", API,
                "{\"name\":\"crtest1\",\"type\":\"Microsoft.ContainerRegistry/registries\"}");
        assertFalse(check.json().path("nameAvailable").asBoolean(true));
        assertEquals("AlreadyExists", check.json().path("reason").asText());
        // Global: the same name in another group is taken.
        assertTrue(send("PUT", "/subscriptions/" + S + "/resourceGroups/rg2", "2022-09-01", "{\"location\":\"eastus\"}").status() < 300);
        assertEquals(409, send("PUT", "/subscriptions/" + S + "/resourceGroups/rg2/providers/Microsoft.ContainerRegistry/registries/crtest1", API,
                "{\"location\":\"eastus\",\"sku\":{\"name\":\"Basic\"}}").status());
    }

    @Test
    void cacheRulesNeedASupportedUpstreamAnExistingCredentialSetAndAFreeTarget() {
        registry();
        assertEquals(400, send("PUT", REG + "/cacheRules/myrule", API,
                "{\"properties\":{\"sourceRepository\":\"example.com/foo\",\"targetRepository\":\"foo\"}}").status());
        assertEquals("CredentialSetNotFound", send("PUT", REG + "/cacheRules/myrule", API,
                "{\"properties\":{\"sourceRepository\":\"docker.io/library/ubuntu\",\"targetRepository\":\"ubuntu\",\"credentialSetResourceId\":\""
                        + REG + "/credentialSets/nothere\"}}").code());
        fake.pushImage("crtest1.azurecr.io", "mine/app", "1.0");
        assertEquals("TargetRepositoryPrefixMatchesExistingRegistries", send("PUT", REG + "/cacheRules/myapp", API,
                "{\"properties\":{\"sourceRepository\":\"quay.io/mine/app\",\"targetRepository\":\"mine/app\"}}").code());
        assertTrue(send("PUT", REG + "/cacheRules/curl1", API,
                "{\"properties\":{\"sourceRepository\":\"quay.io/curl/curl\",\"targetRepository\":\"curl\"}}").status() < 300);
        // A rule's target takes no pushes (Azure/acr#845); a rule's source cannot change.
        assertThrows(IllegalStateException.class, () -> fake.pushImage("crtest1.azurecr.io", "curl", "8"));
        assertEquals(400, send("PUT", REG + "/cacheRules/curl1", API,
                "{\"properties\":{\"sourceRepository\":\"quay.io/other/curl\",\"targetRepository\":\"curl\"}}").status());
    }

    @Test
    void aDeletedVaultStaysSoftDeletedUntilPurgedOrRecovered() {
        assertTrue(send("PUT", RG, "2022-09-01", "{\"location\":\"eastus\"}").status() < 300);
        String vault = RG + "/providers/Microsoft.KeyVault/vaults/kvtest1";
        String body = "{\"location\":\"eastus\",\"properties\":{\"tenantId\":\"" + AzureFake.TENANT_ID
                + "\",\"sku\":{\"family\":\"A\",\"name\":\"standard\"},\"enableRbacAuthorization\":true}}";
        assertTrue(send("PUT", vault, "2024-11-01", body).status() < 300);
        assertEquals(400, send("PUT", vault + "/secrets/s1", "2024-11-01", "{\"properties\":{}}").status(), "a secret needs a value");
        assertTrue(send("PUT", vault + "/secrets/s1", "2024-11-01", "{\"properties\":{\"value\":\"hunter2\"}}").status() < 300);
        assertFalse(send("GET", vault + "/secrets/s1", "2024-11-01", null).json().toString().contains("hunter2"));
        assertEquals("hunter2", fake.keyVaultSecret(vault + "/secrets/s1").orElseThrow());

        send("DELETE", vault, "2024-11-01", null);
        assertEquals(java.util.List.of("kvtest1"), fake.deletedVaults());
        assertEquals("ConflictError", send("PUT", vault, "2024-11-01", body).code());
        String deleted = "/subscriptions/" + S + "/providers/Microsoft.KeyVault/locations/eastus/deletedVaults/kvtest1";
        assertEquals(200, send("GET", deleted, "2024-11-01", null).status());
        assertTrue(send("PUT", vault, "2024-11-01", body.replace("\"enableRbacAuthorization\":true", "\"createMode\":\"recover\"")).status() < 300);
        assertEquals(java.util.List.of(), fake.deletedVaults());
        send("DELETE", vault, "2024-11-01", null);
        assertEquals(200, send("POST", deleted + "/purge", "2024-11-01", null).status());
        assertEquals(404, send("GET", deleted, "2024-11-01", null).status());
        assertTrue(send("PUT", vault, "2024-11-01", body).status() < 300, "the name is free once purged");
    }
}
