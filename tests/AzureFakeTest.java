import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenCredential;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaders;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.http.policy.ExponentialBackoffOptions;
import com.azure.core.http.policy.RetryOptions;
import com.azure.core.http.policy.RetryPolicy;
import com.azure.core.management.AzureEnvironment;
import com.azure.core.management.Region;
import com.azure.core.management.profile.AzureProfile;
import com.azure.core.util.Context;
import com.azure.resourcemanager.AzureResourceManager;
import com.azure.resourcemanager.resources.fluentcore.utils.ResourceManagerUtils;
import com.azure.resourcemanager.storage.models.StorageAccount;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import fake.AzureFake;
import fake.FakeCrash;
import fake.Fault;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/** Drives {@link AzureFake} through a real azure-core pipeline (and once through the fluent SDK), as the product would. */
public class AzureFakeTest {

    static final ObjectMapper M = new ObjectMapper();
    static final String S = AzureFake.DEFAULT_SUBSCRIPTION;
    static final String ARM = "https://management.azure.com";
    static final String GRAPH = "https://graph.microsoft.com/v1.0";
    static final String NET = "2024-05-01";
    static final String DNS = "2024-06-01";
    static final String AKS = "2024-09-01";
    static final String MSI = "2023-01-31";
    static final String PG = "2024-08-01";
    static final String ST = "2023-05-01";
    static final String RES = "2022-09-01";
    static final String AUTH = "2022-04-01";
    static final String BLOB_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe";

    AzureFake fake;
    HttpPipeline pipe;

    @BeforeEach
    void setUp() {
        fake = new AzureFake();
        pipe = pipeline(fake);
    }

    static HttpPipeline pipeline(HttpClient client) {
        return new HttpPipelineBuilder().httpClient(client)
                .policies(new RetryPolicy(new RetryOptions(new ExponentialBackoffOptions().setBaseDelay(Duration.ofMillis(10)).setMaxDelay(Duration.ofSeconds(2)))))
                .build();
    }

    record Resp(int status, HttpHeaders headers, String body) {
        JsonNode json() {
            try {
                return body.isEmpty() ? M.createObjectNode() : M.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
        String h(String name) { return headers.getValue(name); }
        String code() { return json().path("error").path("code").asText(null); }
        String state() { return json().path("properties").path("provisioningState").asText(null); }
    }

    Resp send(HttpPipeline p, String method, String url, String body) {
        HttpRequest r = new HttpRequest(HttpMethod.valueOf(method), url);
        if (body != null) {
            r.setHeader(com.azure.core.http.HttpHeaderName.CONTENT_TYPE, "application/json");
            r.setBody(body);
        }
        try (HttpResponse res = p.sendSync(r, Context.NONE)) {
            return new Resp(res.getStatusCode(), res.getHeaders(), res.getBodyAsBinaryData().toString());
        }
    }

    Resp send(String method, String url, String body) { return send(pipe, method, url, body); }
    Resp put(String path, String api, String body) { return send("PUT", ARM + path + "?api-version=" + api, body); }
    Resp get(String path, String api) { return send("GET", ARM + path + "?api-version=" + api, null); }
    Resp del(String path, String api) { return send("DELETE", ARM + path + "?api-version=" + api, null); }
    Resp post(String path, String api, String body) { return send("POST", ARM + path + "?api-version=" + api, body); }

    /** Polls an operation URL until it is no longer in progress (202 or status InProgress). */
    Resp poll(String url) {
        long end = System.nanoTime() + 10_000_000_000L;
        while (true) {
            Resp r = send("GET", url, null);
            boolean running = r.status() == 202 || "InProgress".equals(r.json().path("status").asText());
            if (!running) return r;
            if (System.nanoTime() > end) fail("operation never finished: " + url);
            sleep(20);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            throw new RuntimeException(e);
        }
    }

    static String rg(String name) { return "/subscriptions/" + S + "/resourceGroups/" + name; }
    static String vnet(String g) { return rg(g) + "/providers/Microsoft.Network/virtualNetworks/vnet1"; }
    static String zone(String g) { return rg(g) + "/providers/Microsoft.Network/privateDnsZones/metaflow.postgres.database.azure.com"; }
    static String cluster(String g) { return rg(g) + "/providers/Microsoft.ContainerService/managedClusters/aks1"; }
    static String server(String g, String n) { return rg(g) + "/providers/Microsoft.DBforPostgreSQL/flexibleServers/" + n; }

    static final String VNET_BODY = """
            {"location":"eastus","properties":{"addressSpace":{"addressPrefixes":["172.16.0.0/24","172.17.0.0/16"]},
             "subnets":[{"name":"db","properties":{"addressPrefix":"172.16.0.0/24",
                 "delegations":[{"name":"pg","properties":{"serviceName":"Microsoft.DBforPostgreSQL/flexibleServers"}}],
                 "serviceEndpoints":[{"service":"Microsoft.Storage"}]}},
               {"name":"k8s","properties":{"addressPrefix":"172.17.0.0/16"}}]}}""";

    static String pgBody(String g) {
        return """
            {"location":"eastus","sku":{"name":"Standard_B2s","tier":"Burstable"},
             "properties":{"version":"16","administratorLogin":"metaflow","administratorLoginPassword":"S3cret!pass-word",
              "storage":{"storageSizeGB":32},
              "network":{"delegatedSubnetResourceId":"%s/subnets/db","privateDnsZoneArmResourceId":"%s"}}}"""
                .formatted(vnet(g), zone(g));
    }

    static String clusterBody(String g, String extraPool) {
        return """
            {"location":"eastus","identity":{"type":"SystemAssigned"},
             "properties":{"dnsPrefix":"aks1","oidcIssuerProfile":{"enabled":true},
              "securityProfile":{"workloadIdentity":{"enabled":true}},
              "agentPoolProfiles":[{"name":"system","mode":"System","vmSize":"Standard_D4s_v5","count":1,
                 "vnetSubnetID":"%s/subnets/k8s"}%s]}}""".formatted(vnet(g), extraPool);
    }

    void group(String g) {
        assertEquals(201, put(rg(g), RES, "{\"location\":\"eastus\",\"tags\":{\"metaflow-stack\":\"" + g + "\"}}").status());
    }

    /** Resource group + vnet + zone + completed vnet link, zero latency. */
    void network(String g) {
        group(g);
        assertEquals(201, put(vnet(g), NET, VNET_BODY).status());
        assertEquals(201, put(zone(g), DNS, "{\"location\":\"global\"}").status());
        Resp link = put(zone(g) + "/virtualNetworkLinks/link1", DNS,
                "{\"location\":\"global\",\"properties\":{\"registrationEnabled\":false,\"virtualNetwork\":{\"id\":\"" + vnet(g) + "\"}}}");
        assertEquals(201, link.status());
        assertEquals("Succeeded", poll(link.h("Azure-AsyncOperation")).json().path("status").asText());
    }

    static String ra(String principal, String type) {
        return "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/"
                + BLOB_CONTRIBUTOR + "\",\"principalId\":\"" + principal + "\"" + (type == null ? "" : ",\"principalType\":\"" + type + "\"") + "}}";
    }

    // ---------------------------------------------------------------------------------------------------------------

    @Test
    void resourceGroupIsSynchronousCreateOrUpdateAndIdsAreCaseInsensitive() {
        Resp c = put(rg("Rg-One"), RES, "{\"location\":\"East US\",\"tags\":{\"a\":\"1\"}}");
        assertEquals(201, c.status());
        assertNull(c.h("Azure-AsyncOperation"));
        assertEquals("Succeeded", c.state());
        assertEquals("eastus", c.json().path("location").asText());
        Resp u = put(rg("rg-one"), RES, "{\"location\":\"eastus\"}");
        assertEquals(200, u.status());
        Resp g = get("/SUBSCRIPTIONS/" + S + "/RESOURCEGROUPS/RG-ONE", RES);
        assertEquals(200, g.status());
        assertEquals(rg("Rg-One"), g.json().path("id").asText(), "id as first written");
        assertTrue(g.json().path("tags").isMissingNode() || g.json().path("tags").isEmpty(), "PUT replaces the whole body: tags gone");
        assertEquals("InvalidResourceGroupLocation", put(rg("rg-one"), RES, "{\"location\":\"westus2\"}").code());
        assertEquals("InvalidResourceGroupName", put(rg("x".repeat(91)), RES, "{\"location\":\"eastus\"}").code());
        assertEquals(201, put(rg("x".repeat(90)), RES, "{\"location\":\"eastus\"}").status());
    }

    @Test
    void notFoundCodesAndUnsupportedRoutes() {
        assertEquals("ResourceGroupNotFound", get(rg("nope"), RES).code());
        assertEquals(404, get(rg("nope"), RES).status());
        group("rg1");
        Resp missing = get(vnet("rg1"), NET);
        assertEquals(404, missing.status());
        assertEquals("ResourceNotFound", missing.code());
        Resp orphan = put(cluster("rg1") + "/agentPools/work", AKS, "{\"properties\":{\"vmSize\":\"Standard_D4s_v5\",\"count\":1}}");
        assertEquals(404, orphan.status());
        assertEquals("ParentResourceNotFound", orphan.code());
        assertEquals("ParentResourceNotFound", get(cluster("rg1") + "/agentPools/work", AKS).code());
        Resp sub = get("/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/x", RES);
        assertEquals(404, sub.status());
        assertEquals("SubscriptionNotFound", sub.code());
        assertEquals("NoRegisteredProviderFound", put(vnet("rg1"), "2015-01-01", VNET_BODY).code());
        assertEquals("MissingApiVersionParameter", send("GET", ARM + vnet("rg1"), null).code());
        Resp unknown = put(rg("rg1") + "/providers/Microsoft.Network/loadBalancers/lb", NET, "{\"location\":\"eastus\"}");
        assertEquals(400, unknown.status());
        assertEquals("InvalidResourceType", unknown.code());
        assertEquals(400, post(rg("rg1") + "/providers/Microsoft.Storage/storageAccounts/x/listKeys", ST, "{}").status());
        assertEquals(204, del(vnet("rg1"), NET).status(), "delete of an absent resource");
        assertEquals("ResourceGroupNotFound", del(rg("nope"), RES).code());
        assertTrue(fake.resourceIds().stream().noneMatch(id -> id.contains("agentPools")), "nothing silently created");
    }

    @Test
    void networkLroAnswersBodyWithAsyncOperationAndMovesToSucceeded() {
        fake.latency("microsoft.network/virtualnetworks", 300, 2);
        group("rg1");
        Resp c = put(vnet("rg1"), NET, VNET_BODY);
        assertEquals(201, c.status());
        assertEquals("Creating", c.state());
        String op = c.h("Azure-AsyncOperation");
        assertNotNull(op);
        assertTrue(op.startsWith("https://management.azure.com/subscriptions/" + S + "/providers/Microsoft.Network/locations/eastus/operations/"), op);
        assertNull(c.h("Location"));
        assertEquals("2", c.h("Retry-After"));
        assertEquals("Creating", get(vnet("rg1"), NET).state());
        Resp p = send("GET", op, null);
        assertEquals(200, p.status());
        assertEquals("InProgress", p.json().path("status").asText());
        assertEquals("2", p.h("Retry-After"));
        assertEquals("AnotherOperationInProgress", put(vnet("rg1"), NET, VNET_BODY).code());
        assertEquals("Succeeded", poll(op).json().path("status").asText());
        Resp g = get(vnet("rg1"), NET);
        assertEquals("Succeeded", g.state());
        JsonNode db = g.json().path("properties").path("subnets").get(0);
        assertEquals(vnet("rg1") + "/subnets/db", db.path("id").asText());
        assertEquals("Microsoft.DBforPostgreSQL/flexibleServers", db.path("properties").path("delegations").get(0).path("properties").path("serviceName").asText());
        assertEquals("Microsoft.Storage", db.path("properties").path("serviceEndpoints").get(0).path("service").asText());
        assertEquals(vnet("rg1") + "/subnets/k8s", get(vnet("rg1") + "/subnets/k8s", NET).json().path("id").asText());
        Resp u = put(vnet("rg1"), NET, VNET_BODY);
        assertEquals(200, u.status());
        assertEquals("Updating", u.state());
    }

    @Test
    void retryAfterIsAbsentUnlessTheProfileSaysSo() {
        group("rg1");
        fake.latency("microsoft.network/virtualnetworks", 200, null);
        Resp c = put(vnet("rg1"), NET, VNET_BODY);
        assertNull(c.h("Retry-After"));
        assertNull(send("GET", c.h("Azure-AsyncOperation"), null).h("Retry-After"));
        fake.latency("microsoft.storage/storageaccounts", 200, 1);
        Resp s = put(rg("rg1") + "/providers/Microsoft.Storage/storageAccounts/stmf1", ST,
                "{\"location\":\"eastus\",\"kind\":\"StorageV2\",\"sku\":{\"name\":\"Standard_LRS\"}}");
        assertEquals("1", s.h("Retry-After"));
        Resp p = send("GET", s.h("Location"), null);
        assertEquals(202, p.status());
        assertEquals("1", p.h("Retry-After"));
    }

    @Test
    void postgresCreateAnswers202WithBothHeadersAndNeverReturnsThePassword() {
        network("rg1");
        fake.latency("microsoft.dbforpostgresql/flexibleservers", 250, null);
        Resp c = put(server("rg1", "psql-mf"), PG, pgBody("rg1"));
        assertEquals(202, c.status());
        assertEquals("", c.body());
        assertTrue(c.h("Azure-AsyncOperation").contains("/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/"));
        assertTrue(c.h("Location").contains("/providers/Microsoft.DBforPostgreSQL/locations/eastus/operationResults/"));
        assertEquals(202, send("GET", c.h("Location"), null).status());
        assertEquals("InProgress", send("GET", c.h("Azure-AsyncOperation"), null).json().path("status").asText());
        Resp done = poll(c.h("Location"));
        assertEquals(200, done.status());
        assertEquals("psql-mf.postgres.database.azure.com", done.json().path("properties").path("fullyQualifiedDomainName").asText());
        Resp g = get(server("rg1", "psql-mf"), PG);
        assertFalse(g.body().contains("S3cret"), g.body());
        assertFalse(g.json().path("properties").has("administratorLoginPassword"));
        assertEquals("Disabled", g.json().path("properties").path("network").path("publicNetworkAccess").asText());
        assertEquals("Ready", g.json().path("properties").path("state").asText());
        // update: 202 again
        Resp u = put(server("rg1", "psql-mf"), PG, pgBody("rg1"));
        assertEquals(202, u.status());
        poll(u.h("Azure-AsyncOperation"));
        // databases and configurations are 202 too; configuration defaults
        Resp db = put(server("rg1", "psql-mf") + "/databases/metaflow", PG, "{\"properties\":{\"charset\":\"UTF8\",\"collation\":\"en_US.utf8\"}}");
        assertEquals(202, db.status());
        assertEquals("Succeeded", poll(db.h("Azure-AsyncOperation")).json().path("status").asText());
        Resp def = get(server("rg1", "psql-mf") + "/configurations/require_secure_transport", PG);
        assertEquals("on", def.json().path("properties").path("value").asText());
        Resp cfg = put(server("rg1", "psql-mf") + "/configurations/require_secure_transport", PG,
                "{\"properties\":{\"value\":\"off\",\"source\":\"user-override\"}}");
        assertEquals(202, cfg.status());
        poll(cfg.h("Location"));
        assertEquals("off", get(server("rg1", "psql-mf") + "/configurations/require_secure_transport", PG).json().path("properties").path("value").asText());
        assertEquals("UnsupportedServerVersion", put(server("rg1", "psql-old"), PG, pgBody("rg1").replace("\"16\"", "\"12\"")).code());
        assertEquals("InvalidSkuName", put(server("rg1", "psql-x"), PG, pgBody("rg1").replace("Burstable", "GeneralPurpose")).code());
        assertEquals("PasswordNotComplex", put(server("rg1", "psql-x"), PG, pgBody("rg1").replace("S3cret!pass-word", "short")).code());
    }

    @Test
    void storageCreateIs202LocationThen200AndContainersAreSynchronous() {
        group("rg1");
        String acct = rg("rg1") + "/providers/Microsoft.Storage/storageAccounts/stmfdev";
        String body = "{\"location\":\"eastus\",\"kind\":\"StorageV2\",\"sku\":{\"name\":\"Standard_LRS\"},"
                + "\"properties\":{\"supportsHttpsTrafficOnly\":true,\"minimumTlsVersion\":\"TLS1_2\",\"allowBlobPublicAccess\":false}}";
        Resp c = put(acct, ST, body);
        assertEquals(202, c.status());
        assertEquals("", c.body());
        assertNotNull(c.h("Location"));
        assertNull(c.h("Azure-AsyncOperation"));
        Resp done = poll(c.h("Location"));
        assertEquals(200, done.status());
        assertEquals("https://stmfdev.blob.core.windows.net/", done.json().path("properties").path("primaryEndpoints").path("blob").asText());
        Resp again = put(acct, ST, body);
        assertEquals(200, again.status());
        assertEquals("TLS1_2", again.json().path("properties").path("minimumTlsVersion").asText());
        assertEquals("StorageV2", again.json().path("kind").asText());
        assertEquals("Standard_LRS", again.json().path("sku").path("name").asText());
        Resp cont = put(acct + "/blobServices/default/containers/metaflow", ST, "{\"properties\":{\"publicAccess\":\"None\"}}");
        assertEquals(201, cont.status());
        assertEquals("Succeeded", cont.state());
        assertEquals(200, put(acct + "/blobServices/default/containers/metaflow", ST, "{\"properties\":{}}").status());
        assertEquals("ParentResourceNotFound",
                put(rg("rg1") + "/providers/Microsoft.Storage/storageAccounts/stnone/blobServices/default/containers/c", ST, "{}").code());
    }

    @Test
    void throttlingWith429AndRetryAfterIsRetriedByAzureCoreRetryPolicy() {
        fake.inject(Fault.of("PUT", "/resourceGroups/rg1$").status(429).header("Retry-After", "1"));
        fake.inject(Fault.of("GET", "/resourceGroups/rg1$").status(503).times(2));
        long t0 = System.nanoTime();
        assertEquals(201, put(rg("rg1"), RES, "{\"location\":\"eastus\"}").status());
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ms >= 900, "Retry-After: 1 honoured, took " + ms + " ms");
        List<AzureFake.Recorded> puts = fake.writes();
        assertEquals(2, puts.size());
        assertEquals(429, puts.get(0).status());
        assertEquals(201, puts.get(1).status());
        assertEquals(200, get(rg("rg1"), RES).status());
        assertEquals(3, fake.reads().size(), "two 503s then success");
        // without a retry policy the 429 is visible as such
        fake.inject(Fault.of("GET", "/resourceGroups/rg1$").status(429).header("Retry-After", "7"));
        Resp raw = send(new HttpPipelineBuilder().httpClient(fake).build(), "GET", ARM + rg("rg1") + "?api-version=" + RES, null);
        assertEquals(429, raw.status());
        assertEquals("7", raw.h("Retry-After"));
        assertEquals("TooManyRequests", raw.code());
    }

    @Test
    void droppedConnectionAfterApplyLeavesTheWriteDone() {
        HttpPipeline noRetry = new HttpPipelineBuilder().httpClient(fake).build();
        fake.inject(Fault.of("PUT", "/resourceGroups/rg1$").dropConnection().afterApply());
        RuntimeException e = assertThrows(RuntimeException.class,
                () -> send(noRetry, "PUT", ARM + rg("rg1") + "?api-version=" + RES, "{\"location\":\"eastus\"}"));
        Throwable t = e;
        while (t != null && !(t instanceof IOException)) t = t.getCause();
        assertNotNull(t, "an IOException underneath: " + e);
        assertTrue(fake.resource(rg("rg1")).isPresent(), "Azure accepted the write");
        assertEquals(200, put(rg("rg1"), RES, "{\"location\":\"eastus\"}").status(), "the retry is an update");
        fake.inject(Fault.of("PUT", "/resourceGroups/rg2$").dropConnection());
        assertThrows(RuntimeException.class, () -> send(noRetry, "PUT", ARM + rg("rg2") + "?api-version=" + RES, "{\"location\":\"eastus\"}"));
        assertTrue(fake.resource(rg("rg2")).isEmpty());
        fake.inject(Fault.of("PUT", "/resourceGroups/rg2$").dropConnection());
        assertEquals(201, put(rg("rg2"), RES, "{\"location\":\"eastus\"}").status(), "RetryPolicy retries the IOException");
        assertEquals(-1, fake.requests().stream().filter(r -> r.path().endsWith("rg2")).findFirst().orElseThrow().status());
    }

    @Test
    void patchingAServersAdminPasswordIsALongRunningUpdate() {
        network("rg1");
        Resp c = put(server("rg1", "psql-mf"), PG, pgBody("rg1"));
        poll(c.h("Azure-AsyncOperation"));
        assertEquals("S3cret!pass-word", fake.postgresAdminPassword(server("rg1", "psql-mf")).orElseThrow());
        fake.latency("microsoft.dbforpostgresql/flexibleservers", 200, null);
        String patch = "{\"properties\":{\"administratorLoginPassword\":\"N3w!pass-word-0123\"}}";
        Resp p = send("PATCH", ARM + server("rg1", "psql-mf") + "?api-version=" + PG, patch);
        assertEquals(202, p.status());
        assertNotNull(p.h("Azure-AsyncOperation"));
        assertEquals("Updating", get(server("rg1", "psql-mf"), PG).state());
        assertEquals("S3cret!pass-word", fake.postgresAdminPassword(server("rg1", "psql-mf")).orElseThrow(), "not in force before it finished");
        assertEquals("Succeeded", poll(p.h("Azure-AsyncOperation")).json().path("status").asText());
        assertEquals("N3w!pass-word-0123", fake.postgresAdminPassword(server("rg1", "psql-mf")).orElseThrow());
        assertFalse(get(server("rg1", "psql-mf"), PG).body().contains("N3w!"), "write-only");
        String weak = "{\"properties\":{\"administratorLoginPassword\":\"short\"}}";
        assertEquals(400, send("PATCH", ARM + server("rg1", "psql-mf") + "?api-version=" + PG, weak).status());
    }

    @Test
    void failedOperationsReportTheServiceErrorOnBothPollingUrls() {
        network("rg1");
        fake.inject(Fault.of("PUT", "/flexibleServers/psql-mf$").failOperation("InternalServerError", "An unexpected error occured while processing the request."));
        Resp c = put(server("rg1", "psql-mf"), PG, pgBody("rg1"));
        assertEquals(202, c.status());
        JsonNode st = poll(c.h("Azure-AsyncOperation")).json();
        assertEquals("Failed", st.path("status").asText());
        assertEquals("InternalServerError", st.path("error").path("code").asText());
        Resp loc = send(new HttpPipelineBuilder().httpClient(fake).build(), "GET", c.h("Location"), null);
        assertEquals(500, loc.status());
        assertEquals("InternalServerError", loc.code());
        assertEquals("Failed", get(server("rg1", "psql-mf"), PG).state());
        Resp retry = put(server("rg1", "psql-mf"), PG, pgBody("rg1"));
        assertEquals(202, retry.status());
        assertEquals("Succeeded", poll(retry.h("Azure-AsyncOperation")).json().path("status").asText(), "trying again resolves it");
    }

    @Test
    void nameRulesAnswer400WithAzureCodes() {
        network("rg1");
        String st = rg("rg1") + "/providers/Microsoft.Storage/storageAccounts/";
        String sb = "{\"location\":\"eastus\",\"kind\":\"StorageV2\",\"sku\":{\"name\":\"Standard_LRS\"}}";
        for (String bad : List.of("ab", "UpperCase1", "has-hyphen", "a".repeat(25))) {
            Resp r = put(st + bad, ST, sb);
            assertEquals(400, r.status(), bad);
            assertEquals("AccountNameInvalid", r.code(), bad);
        }
        assertEquals(202, put(st + "a".repeat(24), ST, sb).status());
        for (String bad : List.of("-psql", "psql-", "Psql", "ps", "p".repeat(64), "ps_ql")) {
            assertEquals("InvalidServerName", put(server("rg1", bad), PG, pgBody("rg1")).code(), bad);
        }
        String c = clusterBody("rg1", "");
        assertEquals("InvalidDnsPrefix", put(cluster("rg1"), AKS, c.replace("\"dnsPrefix\":\"aks1\"", "\"dnsPrefix\":\"" + "d".repeat(55) + "\"")).code());
        assertEquals("InvalidDnsPrefix", put(cluster("rg1"), AKS, c.replace("\"dnsPrefix\":\"aks1\"", "\"dnsPrefix\":\"-bad\"")).code());
        assertEquals("InvalidParameter", put(rg("rg1") + "/providers/Microsoft.ContainerService/managedClusters/" + "k".repeat(64), AKS, c).code());
        for (String bad : List.of("Work", "1work", "workerpool123", "work-1")) {
            assertEquals("InvalidAgentPoolName", put(cluster("rg1"), AKS, c.replace("\"name\":\"system\"", "\"name\":\"" + bad + "\"")).code(), bad);
        }
        assertEquals("InvalidMinMaxCount", put(cluster("rg1"), AKS, c.replace("\"count\":1,", "\"enableAutoScaling\":true,\"minCount\":5,\"maxCount\":2,")).code());
        assertEquals("MustDefineAtLeastOneSystemPool", put(cluster("rg1"), AKS, c.replace("\"mode\":\"System\"", "\"mode\":\"User\"")).code());
        assertEquals("InvalidParameter", put(cluster("rg1"), AKS, c.replace("\"oidcIssuerProfile\":{\"enabled\":true}", "\"oidcIssuerProfile\":{\"enabled\":false}")).code(),
                "workload identity needs the OIDC issuer");
        assertEquals("SubnetIsDelegated", put(cluster("rg1"), AKS, c.replace("/subnets/k8s", "/subnets/db")).code());
        assertEquals(201, put(cluster("rg1"), AKS, c).status());
        assertTrue(fake.resourceIds().stream().noneMatch(id -> id.toLowerCase().contains("agentpools/work")));
    }

    @Test
    void globallyUniqueNamesAndNameAvailability() {
        fake.addSubscription("00000000-0000-0000-0000-0000000000a2", "Other");
        network("rg1");
        fake.takeGlobalName("Microsoft.Storage/storageAccounts", "stfamous");
        String sb = "{\"location\":\"eastus\",\"kind\":\"StorageV2\",\"sku\":{\"name\":\"Standard_LRS\"}}";
        Resp taken = put(rg("rg1") + "/providers/Microsoft.Storage/storageAccounts/stfamous", ST, sb);
        assertEquals(409, taken.status());
        assertEquals("StorageAccountAlreadyTaken", taken.code());
        String check = "/subscriptions/" + S + "/providers/Microsoft.Storage/checkNameAvailability";
        JsonNode a = post(check, ST, "{\"name\":\"stfamous\",\"type\":\"Microsoft.Storage/storageAccounts\"}").json();
        assertFalse(a.path("nameAvailable").asBoolean());
        assertEquals("AlreadyExists", a.path("reason").asText());
        assertEquals("AccountNameInvalid", post(check, ST, "{\"name\":\"Bad-Name\",\"type\":\"Microsoft.Storage/storageAccounts\"}").json().path("reason").asText());
        assertTrue(post(check, ST, "{\"name\":\"stfree\",\"type\":\"Microsoft.Storage/storageAccounts\"}").json().path("nameAvailable").asBoolean());
        // a name held in this fake by another subscription is taken too
        String other = "/subscriptions/00000000-0000-0000-0000-0000000000a2/resourceGroups/o";
        assertEquals(201, send("PUT", ARM + other + "?api-version=" + RES, "{\"location\":\"eastus\"}").status());
        assertEquals(202, send("PUT", ARM + other + "/providers/Microsoft.Storage/storageAccounts/stmine?api-version=" + ST, sb).status());
        assertEquals("StorageAccountAlreadyTaken", put(rg("rg1") + "/providers/Microsoft.Storage/storageAccounts/stmine", ST, sb).code());
        assertFalse(post(check, ST, "{\"name\":\"stmine\",\"type\":\"Microsoft.Storage/storageAccounts\"}").json().path("nameAvailable").asBoolean());
        // PostgreSQL
        fake.takeGlobalName("Microsoft.DBforPostgreSQL/flexibleServers", "psql-taken");
        Resp pg = put(server("rg1", "psql-taken"), PG, pgBody("rg1"));
        assertEquals(409, pg.status());
        assertEquals("ServerNameAlreadyExists", pg.code());
        String pcheck = "/subscriptions/" + S + "/providers/Microsoft.DBforPostgreSQL/locations/eastus/checkNameAvailability";
        JsonNode p = post(pcheck, PG, "{\"name\":\"psql-taken\",\"type\":\"Microsoft.DBforPostgreSQL/flexibleServers\"}").json();
        assertFalse(p.path("nameAvailable").asBoolean());
        assertEquals("AlreadyExists", p.path("reason").asText());
        assertTrue(post(pcheck, PG, "{\"name\":\"psql-new\",\"type\":\"Microsoft.DBforPostgreSQL/flexibleServers\"}").json().path("nameAvailable").asBoolean());
        assertEquals(2, fake.reads().stream().filter(r -> r.method().equals("POST")).count() - 4, "checkNameAvailability counts as a read");
    }

    @Test
    void postgresPrivateAccessNeedsDelegatedSubnetAndACompletedZoneLinkFirst() {
        group("rg1");
        String plainVnet = VNET_BODY.replace("\"delegations\":[{\"name\":\"pg\",\"properties\":{\"serviceName\":\"Microsoft.DBforPostgreSQL/flexibleServers\"}}],", "");
        assertEquals(201, put(vnet("rg1"), NET, plainVnet).status());
        assertEquals("SubnetNotDelegated", put(server("rg1", "psql-mf"), PG, pgBody("rg1")).code());
        assertEquals(200, put(vnet("rg1"), NET, VNET_BODY).status());
        assertEquals("PrivateDnsZoneNotFound", put(server("rg1", "psql-mf"), PG, pgBody("rg1")).code());
        assertEquals(201, put(zone("rg1"), DNS, "{\"location\":\"global\"}").status());
        Resp early = put(server("rg1", "psql-mf"), PG, pgBody("rg1"));
        assertEquals(400, early.status());
        assertEquals("PrivateDnsZoneNotLinkedToVnet", early.code());
        fake.latency("microsoft.network/privatednszones/virtualnetworklinks", 300, null);
        Resp link = put(zone("rg1") + "/virtualNetworkLinks/link1", DNS,
                "{\"location\":\"global\",\"properties\":{\"registrationEnabled\":false,\"virtualNetwork\":{\"id\":\"" + vnet("rg1") + "\"}}}");
        assertEquals(201, link.status());
        assertEquals("PrivateDnsZoneNotLinkedToVnet", put(server("rg1", "psql-mf"), PG, pgBody("rg1")).code(), "link still in progress");
        poll(link.h("Azure-AsyncOperation"));
        assertEquals(202, put(server("rg1", "psql-mf"), PG, pgBody("rg1")).status());
        // wrong zone name
        assertEquals(201, put(rg("rg1") + "/providers/Microsoft.Network/privateDnsZones/metaflow.internal", DNS, "{\"location\":\"global\"}").status());
        assertEquals("InvalidPrivateDnsZoneName", put(server("rg1", "psql-two"), PG,
                pgBody("rg1").replace("metaflow.postgres.database.azure.com", "metaflow.internal")).code());
        // the subnet holds the server: re-PUT of the vnet without it, and deleting the vnet, are refused
        assertEquals("InUseSubnetCannotBeDeleted", put(vnet("rg1"), NET, VNET_BODY.replaceAll(
                "(?s)\\{\"name\":\"db\".*?\\]\\}\\},", "")).code());
        assertEquals("InUseSubnetCannotBeDeleted", del(vnet("rg1"), NET).code());
        assertEquals("NetcfgSubnetRangeOutsideVnet", put(vnet("rg1"), NET, VNET_BODY.replace("172.17.0.0/16\"}}]", "10.0.0.0/16\"}}]")).code());
    }

    @Test
    void roleAssignmentConflicts() {
        group("rg1");
        Resp id = put(rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf", MSI, "{\"location\":\"eastus\"}");
        assertEquals(201, id.status());
        String pid = id.json().path("properties").path("principalId").asText();
        String scope = rg("rg1");
        String n1 = UUID.randomUUID().toString();
        String path = scope + "/providers/Microsoft.Authorization/roleAssignments/";
        Resp first = put(path + n1, AUTH, ra(pid, "ServicePrincipal"));
        assertEquals(201, first.status());
        assertEquals(scope, first.json().path("properties").path("scope").asText());
        assertEquals(201, put(path + n1, AUTH, ra(pid, "ServicePrincipal")).status(), "identical re-PUT is fine");
        Resp changed = put(path + n1, AUTH, ra(fake.userObjectId(), "User"));
        assertEquals(409, changed.status());
        assertEquals("RoleAssignmentUpdateNotPermitted", changed.code());
        Resp dup = put(path + UUID.randomUUID(), AUTH, ra(pid, "ServicePrincipal"));
        assertEquals(409, dup.status());
        assertEquals("RoleAssignmentExists", dup.code());
        assertEquals("UnmatchedPrincipalType", put(path + UUID.randomUUID(), AUTH, ra(pid, "User")).code());
        assertEquals("InvalidRoleAssignmentId", put(path + "not-a-guid", AUTH, ra(pid, null)).code());
        JsonNode list = get(scope + "/providers/Microsoft.Authorization/roleAssignments", AUTH + "&$filter=atScope()").json();
        assertEquals(1, list.path("value").size());
        // at subscription scope it is below, so atScope() does not list it
        assertEquals(0, get("/subscriptions/" + S + "/providers/Microsoft.Authorization/roleAssignments", AUTH + "&$filter=atScope()").json().path("value").size());
        assertEquals(1, get("/subscriptions/" + S + "/providers/Microsoft.Authorization/roleAssignments", AUTH).json().path("value").size());
        assertEquals(200, del(path + n1, AUTH).status());
        assertEquals(204, del(path + n1, AUTH).status());
    }

    @Test
    void principalNotFoundDuringReplicationUnlessPrincipalTypeIsGiven() {
        fake.principalReplicationMs(400);
        group("rg1");
        Resp id = put(rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf", MSI, "{\"location\":\"eastus\"}");
        String pid = id.json().path("properties").path("principalId").asText();
        String path = rg("rg1") + "/providers/Microsoft.Authorization/roleAssignments/";
        Resp early = put(path + UUID.randomUUID(), AUTH, ra(pid, null));
        assertEquals(400, early.status());
        assertEquals("PrincipalNotFound", early.code());
        fake.principalTypeShortcut(false);
        assertEquals("PrincipalNotFound", put(path + UUID.randomUUID(), AUTH, ra(pid, "ServicePrincipal")).code());
        fake.principalTypeShortcut(true);
        String name = UUID.randomUUID().toString();
        assertEquals(201, put(path + name, AUTH, ra(pid, "ServicePrincipal")).status());
        assertEquals(200, del(path + name, AUTH).status());
        sleep(450);
        assertEquals(201, put(path + UUID.randomUUID(), AUTH, ra(pid, null)).status(), "replicated by now");
        Resp unknown = put(path + UUID.randomUUID(), AUTH, ra(UUID.randomUUID().toString(), "ServicePrincipal"));
        assertEquals("PrincipalNotFound", unknown.code(), "an unknown principal never works");
        assertEquals(201, put(path + UUID.randomUUID(), AUTH, ra(fake.userObjectId(), null)).status(), "the signed-in user is old");
    }

    @Test
    void agentPoolQuotaExceededFailsTheOperationAndUsagesShowIt() {
        fake.quota("standardDSv5Family", 8);
        network("rg1");
        Resp c = put(cluster("rg1"), AKS, clusterBody("rg1", ""));
        assertEquals(201, c.status());
        assertEquals("Succeeded", poll(c.h("Azure-AsyncOperation")).json().path("status").asText());
        String usages = "/subscriptions/" + S + "/providers/Microsoft.Compute/locations/eastus/usages";
        JsonNode u = get(usages, "2024-07-01").json();
        JsonNode fam = null;
        for (JsonNode x : u.path("value")) if (x.path("name").path("value").asText().equals("standardDSv5Family")) fam = x;
        assertNotNull(fam);
        assertEquals(4, fam.path("currentValue").asInt());
        assertEquals(8, fam.path("limit").asInt());
        Resp pool = put(cluster("rg1") + "/agentPools/workers", AKS,
                "{\"properties\":{\"vmSize\":\"Standard_D4s_v5\",\"count\":2,\"mode\":\"User\",\"enableAutoScaling\":true,\"minCount\":2,\"maxCount\":10,"
                        + "\"vnetSubnetID\":\"" + vnet("rg1") + "/subnets/k8s\"}}");
        assertEquals(201, pool.status());
        assertEquals("Creating", pool.state());
        JsonNode st = poll(pool.h("Azure-AsyncOperation")).json();
        assertEquals("Failed", st.path("status").asText());
        assertEquals("QuotaExceeded", st.path("error").path("code").asText());
        String msg = st.path("error").path("message").asText();
        assertTrue(msg.contains("standardDSv5Family") && msg.contains("Current Limit: 8") && msg.contains("Current Usage: 4")
                && msg.contains("Additional Required: 8"), msg);
        assertEquals("Failed", get(cluster("rg1") + "/agentPools/workers", AKS).state());
        JsonNode profiles = get(cluster("rg1"), AKS).json().path("properties").path("agentPoolProfiles");
        assertEquals(2, profiles.size(), "child pools appear in the cluster");
        assertEquals(4, get(usages, "2024-07-01").json().path("value").findParents("name").stream()
                .filter(x -> x.path("name").path("value").asText().equals("standardDSv5Family")).findFirst().orElseThrow().path("currentValue").asInt(),
                "a failed pool holds no quota");
        Resp ok = put(cluster("rg1") + "/agentPools/workers", AKS,
                "{\"properties\":{\"vmSize\":\"Standard_D4s_v5\",\"count\":1,\"mode\":\"User\",\"vnetSubnetID\":\"" + vnet("rg1") + "/subnets/k8s\"}}");
        assertEquals(200, ok.status());
        assertEquals("Succeeded", poll(ok.h("Azure-AsyncOperation")).json().path("status").asText());
        fake.restrictSku("Standard_D8s_v5", "eastus");
        JsonNode skus = get("/subscriptions/" + S + "/providers/Microsoft.Compute/skus", "2021-07-01&$filter=location%20eq%20'eastus'").json();
        JsonNode d8 = null;
        for (JsonNode s : skus.path("value")) if (s.path("name").asText().equals("Standard_D8s_v5")) d8 = s;
        assertEquals("NotAvailableForSubscription", d8.path("restrictions").get(0).path("reasonCode").asText());
        assertEquals("8", d8.path("capabilities").get(0).path("value").asText());
        assertEquals("SkuNotAvailable", put(cluster("rg1") + "/agentPools/big", AKS,
                "{\"properties\":{\"vmSize\":\"Standard_D8s_v5\",\"count\":1,\"mode\":\"User\"}}").code());
        assertEquals("OperationNotAllowed", del(cluster("rg1") + "/agentPools/system", AKS).code(), "last System pool");
    }

    @Test
    void kubernetesVersionsAnswerHasTheRealShapeAndLtsOnlyVersionsAreRefusedOnTheFreeTier() {
        JsonNode v = get("/subscriptions/" + S + "/providers/Microsoft.ContainerService/locations/eastus/kubernetesVersions", AKS).json();
        Map<String, JsonNode> byVersion = new LinkedHashMap<>();
        for (JsonNode k : v.path("values")) byVersion.put(k.path("version").asText(), k);
        assertEquals("[\"AKSLongTermSupport\"]", byVersion.get("1.33").path("capabilities").path("supportPlan").toString());
        assertEquals("[\"KubernetesOfficial\",\"AKSLongTermSupport\"]", byVersion.get("1.35").path("capabilities").path("supportPlan").toString());
        assertTrue(byVersion.get("1.35").path("isDefault").asBoolean());
        assertTrue(byVersion.get("1.37").path("isPreview").asBoolean());
        assertTrue(byVersion.get("1.34").path("patchVersions").has("1.34.9"));
        network("rg1");
        Resp lts = put(cluster("rg1"), AKS, clusterBody("rg1", "").replace("\"dnsPrefix\"", "\"kubernetesVersion\":\"1.33\",\"dnsPrefix\""));
        assertEquals(400, lts.status());
        assertEquals("K8sVersionNotSupported", lts.code());
        assertTrue(lts.json().path("error").path("message").asText().contains("only available for Long-Term Support"), lts.json().toString());
        Resp unknown = put(cluster("rg1"), AKS, clusterBody("rg1", "").replace("\"dnsPrefix\"", "\"kubernetesVersion\":\"1.20\",\"dnsPrefix\""));
        assertEquals("K8sVersionNotSupported", unknown.code());
        assertEquals(201, put(cluster("rg1"), AKS, clusterBody("rg1", "").replace("\"dnsPrefix\"", "\"kubernetesVersion\":\"1.36\",\"dnsPrefix\"")).status());
    }

    @Test
    void aksClusterShowsGeneratedFieldsAndGivesCredentials() {
        network("rg1");
        fake.latency("microsoft.containerservice/managedclusters", 200, null);
        Resp c = put(cluster("rg1"), AKS, clusterBody("rg1", ""));
        assertEquals(201, c.status());
        assertEquals("Creating", c.state());
        assertEquals("Creating", c.json().path("properties").path("agentPoolProfiles").get(0).path("provisioningState").asText());
        assertEquals("AnotherOperationInProgress", put(cluster("rg1") + "/agentPools/workers", AKS,
                "{\"properties\":{\"vmSize\":\"Standard_D4s_v5\",\"count\":1}}").code());
        poll(c.h("Azure-AsyncOperation"));
        JsonNode g = get(cluster("rg1"), AKS).json();
        JsonNode p = g.path("properties");
        assertEquals("Succeeded", p.path("provisioningState").asText());
        assertTrue(p.path("oidcIssuerProfile").path("issuerURL").asText().startsWith("https://eastus.oic.prod-aks.azure.com/"));
        assertTrue(p.path("fqdn").asText().endsWith(".hcp.eastus.azmk8s.io"));
        assertEquals("MC_rg1_aks1_eastus", p.path("nodeResourceGroup").asText());
        assertEquals("1.35.6", p.path("kubernetesVersion").asText(), "the region default's latest patch");
        assertFalse(g.path("identity").path("principalId").asText().isEmpty());
        assertEquals(AzureFake.TENANT_ID, g.path("identity").path("tenantId").asText());
        assertFalse(p.path("identityProfile").path("kubeletidentity").path("objectId").asText().isEmpty());
        JsonNode nodeRg = get(rg("MC_rg1_aks1_eastus"), RES).json();
        assertTrue(nodeRg.path("tags").isMissingNode() || nodeRg.path("tags").isEmpty());
        assertEquals(cluster("rg1"), nodeRg.path("managedBy").asText());
        Resp pool = put(cluster("rg1") + "/agentPools/workers", AKS,
                "{\"properties\":{\"vmSize\":\"Standard_D4_v5\",\"count\":1,\"mode\":\"User\",\"enableAutoScaling\":true,\"minCount\":1,\"maxCount\":50}}");
        poll(pool.h("Azure-AsyncOperation"));
        List<String> names = new ArrayList<>();
        get(cluster("rg1"), AKS).json().path("properties").path("agentPoolProfiles").forEach(x -> names.add(x.path("name").asText()));
        assertEquals(List.of("system", "workers"), names);
        assertEquals(2, get(cluster("rg1") + "/agentPools", AKS).json().path("value").size());
        JsonNode cred = post(cluster("rg1") + "/listClusterUserCredential", AKS, null).json();
        String kube = new String(Base64.getDecoder().decode(cred.path("kubeconfigs").get(0).path("value").asText()), StandardCharsets.UTF_8);
        assertTrue(kube.contains("server: https://" + p.path("fqdn").asText()), kube);
        assertTrue(fake.writes().stream().noneMatch(r -> r.path().endsWith("listClusterUserCredential")), "listing credentials is a read");
        // the system identity is a principal role assignments can use
        assertEquals(201, put(rg("rg1") + "/providers/Microsoft.Authorization/roleAssignments/" + UUID.randomUUID(), AUTH,
                ra(g.path("identity").path("principalId").asText(), null)).status());
    }

    @Test
    void deletingAGroupCascadesAsOneOperationIncludingTheNodeGroup() {
        network("rg1");
        fake.seed(rg("other") + "/providers/Microsoft.Storage/storageAccounts/stforeign",
                M.createObjectNode().put("location", "eastus").put("kind", "StorageV2"));
        assertEquals(201, put(cluster("rg1"), AKS, clusterBody("rg1", "")).status());
        Resp id = put(rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf", MSI, "{\"location\":\"eastus\"}");
        assertEquals(201, put(rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf/federatedIdentityCredentials/fic", MSI,
                "{\"properties\":{\"issuer\":\"https://issuer.example/\",\"subject\":\"system:serviceaccount:default:mf\",\"audiences\":[\"api://AzureADTokenExchange\"]}}").status());
        assertTrue(fake.resourceIds().contains(rg("MC_rg1_aks1_eastus")));
        fake.latency("microsoft.resources/resourcegroups", 200, null);
        Resp d = del(rg("rg1"), RES);
        assertEquals(202, d.status());
        assertNotNull(d.h("Location"));
        assertEquals("Deleting", get(rg("rg1"), RES).state());
        assertEquals("Deleting", get(vnet("rg1"), NET).state());
        assertEquals("ResourceGroupBeingDeleted", put(vnet("rg1"), NET, VNET_BODY).code());
        Resp done = poll(d.h("Location"));
        assertEquals(200, done.status());
        assertEquals(404, get(rg("rg1"), RES).status());
        assertEquals(404, get(rg("MC_rg1_aks1_eastus"), RES).status());
        List<String> left = fake.resourceIds();
        assertEquals(List.of(rg("other"), rg("other") + "/providers/Microsoft.Storage/storageAccounts/stforeign"), left);
        assertEquals(1, fake.writes().stream().filter(r -> r.method().equals("DELETE")).count());
        assertNotNull(id);
    }

    @Test
    void graphApplicationPostTwiceMakesTwoAppsAndDeletesCascadeToServicePrincipals() {
        Resp a1 = send("POST", GRAPH + "/applications", "{\"displayName\":\"metaflow-dev\"}");
        Resp a2 = send("POST", GRAPH + "/applications", "{\"displayName\":\"metaflow-dev\"}");
        assertEquals(201, a1.status());
        assertEquals(201, a2.status());
        assertNotEquals(a1.json().path("id").asText(), a2.json().path("id").asText());
        JsonNode found = send("GET", GRAPH + "/applications?$filter=" + "displayName%20eq%20'metaflow-dev'", null).json();
        assertEquals(2, found.path("value").size());
        assertEquals(400, send("GET", GRAPH + "/applications?$filter=startswith(displayName,'metaflow')", null).status(), "never silently ignore a filter");
        String appId = a1.json().path("appId").asText();
        Resp sp = send("POST", GRAPH + "/servicePrincipals", "{\"appId\":\"" + appId + "\"}");
        assertEquals(201, sp.status());
        assertEquals(409, send("POST", GRAPH + "/servicePrincipals", "{\"appId\":\"" + appId + "\"}").status());
        assertEquals(1, send("GET", GRAPH + "/servicePrincipals?$filter=appId%20eq%20'" + appId + "'", null).json().path("value").size());
        JsonNode pw = send("POST", GRAPH + "/applications/" + a1.json().path("id").asText() + "/addPassword",
                "{\"passwordCredential\":{\"displayName\":\"mf\"}}").json();
        assertFalse(pw.path("secretText").asText().isEmpty());
        assertFalse(send("GET", GRAPH + "/applications/" + a1.json().path("id").asText(), null).body().contains(pw.path("secretText").asText()));
        assertEquals(fake.userObjectId(), send("GET", GRAPH + "/me", null).json().path("id").asText());
        assertEquals(204, send("DELETE", GRAPH + "/applications/" + a1.json().path("id").asText(), null).status());
        assertEquals(0, send("GET", GRAPH + "/servicePrincipals?$filter=appId%20eq%20'" + appId + "'", null).json().path("value").size());
        assertEquals(404, send("GET", GRAPH + "/applications/" + a1.json().path("id").asText(), null).status());
    }

    @Test
    void deniedDirectoryWritesAnswer403() {
        fake.denyDirectoryWrites();
        Resp r = send("POST", GRAPH + "/applications", "{\"displayName\":\"metaflow-dev\"}");
        assertEquals(403, r.status());
        assertEquals("Authorization_RequestDenied", r.code());
        assertEquals("Insufficient privileges to complete the operation.", r.json().path("error").path("message").asText());
        assertEquals(200, send("GET", GRAPH + "/applications?$filter=displayName%20eq%20'x'", null).status(), "reads still work");
        assertTrue(fake.applications().isEmpty());
    }

    @Test
    void crashAfterStopsTheClientButOperationsCompleteOnTheirOwnClock() {
        network("rg1");
        fake.latency("microsoft.containerservice/managedclusters", 250, null);
        fake.crashAfter(1);
        Resp c = put(cluster("rg1"), AKS, clusterBody("rg1", ""));
        assertEquals(201, c.status());
        Throwable t = assertThrows(Throwable.class, () -> get(cluster("rg1"), AKS));
        while (t != null && !(t instanceof FakeCrash)) t = t.getCause();
        assertNotNull(t, "FakeCrash surfaces");
        int seen = fake.requests().size();
        assertThrows(Throwable.class, () -> send("GET", c.h("Azure-AsyncOperation"), null));
        assertEquals(seen, fake.requests().size(), "requests after the crash never reach Azure");
        sleep(300);
        assertEquals("Succeeded", fake.resource(cluster("rg1")).orElseThrow().path("properties").path("provisioningState").asText());
        fake.resetFaults();
        assertEquals("Succeeded", get(cluster("rg1"), AKS).state(), "a restarted client sees the finished cluster");
    }

    /** One deterministic run of a small stack against the given fake. */
    void scenario(AzureFake f) {
        HttpPipeline p = pipeline(f);
        send(p, "PUT", ARM + rg("rg1") + "?api-version=" + RES, "{\"location\":\"eastus\",\"tags\":{\"k\":\"v\"}}");
        send(p, "PUT", ARM + vnet("rg1") + "?api-version=" + NET, VNET_BODY);
        Resp id = send(p, "PUT", ARM + rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf?api-version=" + MSI, "{\"location\":\"eastus\"}");
        String pid = id.json().path("properties").path("principalId").asText();
        send(p, "PUT", ARM + rg("rg1") + "/providers/Microsoft.Authorization/roleAssignments/11111111-2222-3333-4444-555555555555?api-version=" + AUTH,
                ra(pid, "ServicePrincipal"));
        Resp c = send(p, "PUT", ARM + cluster("rg1") + "?api-version=" + AKS, clusterBody("rg1", ""));
        poll(c.h("Azure-AsyncOperation"));
        String issuer = send(p, "GET", ARM + cluster("rg1") + "?api-version=" + AKS, null).json().path("properties").path("oidcIssuerProfile").path("issuerURL").asText();
        send(p, "PUT", ARM + rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf/federatedIdentityCredentials/fic?api-version=" + MSI,
                "{\"properties\":{\"issuer\":\"" + issuer + "\",\"subject\":\"system:serviceaccount:default:mf\"}}");
        Resp app = send(p, "POST", GRAPH + "/applications", "{\"displayName\":\"metaflow-rg1\"}");
        send(p, "POST", GRAPH + "/servicePrincipals", "{\"appId\":\"" + app.json().path("appId").asText() + "\"}");
        send(p, "POST", GRAPH + "/applications/" + app.json().path("id").asText() + "/addPassword", "{}");
    }

    @Test
    void canonicalStateOfTwoIdenticalRunsIsEqual() {
        AzureFake a = new AzureFake();
        AzureFake b = new AzureFake();
        scenario(a);
        scenario(b);
        assertNotEquals(a.snapshot(), b.snapshot(), "generated GUIDs differ between runs");
        Map<String, JsonNode> ca = a.canonicalState();
        assertEquals(ca, b.canonicalState());
        assertTrue(ca.keySet().stream().anyMatch(k -> k.startsWith("graph:application:metaflow-rg1")));
        assertFalse(ca.toString().matches("(?s).*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}.*".replace("[0-9a-f]{8}", "(?!00000000|11111111|ba92f5b4)[0-9a-f]{8}")),
                "no generated GUID left: " + ca);
        // a different run is not equal
        AzureFake c = new AzureFake();
        scenario(c);
        pipeline(c);
        send(pipeline(c), "PUT", ARM + rg("rg2") + "?api-version=" + RES, "{\"location\":\"eastus\"}");
        assertNotEquals(ca, c.canonicalState());
    }

    @Test
    void theFluentSdkAcceptsTheShapes() {
        ResourceManagerUtils.InternalRuntimeContext.setDelayProvider(d -> Duration.ofMillis(10));
        TokenCredential cred = ctx -> Mono.just(new AccessToken("fake", OffsetDateTime.now().plusHours(1)));
        AzureResourceManager azure = AzureResourceManager.configure().withHttpClient(fake)
                .authenticate(cred, new AzureProfile(AzureFake.TENANT_ID, S, AzureEnvironment.AZURE)).withSubscription(S);
        azure.resourceGroups().define("rg-sdk").withRegion(Region.US_EAST).withTag("metaflow", "yes").create();
        fake.latency("microsoft.storage/storageaccounts", 100, null);
        StorageAccount st = azure.storageAccounts().define("stsdk01").withRegion(Region.US_EAST).withExistingResourceGroup("rg-sdk")
                .withOnlyHttpsTraffic().withMinimumTlsVersion(com.azure.resourcemanager.storage.models.MinimumTlsVersion.TLS1_2).create();
        assertEquals("https://stsdk01.blob.core.windows.net/", st.endPoints().primary().blob());
        assertTrue(azure.resourceGroups().contain("rg-sdk"));
        fake.latency("microsoft.network/virtualnetworks", 50, null);
        var net = azure.networks().define("vnet1").withRegion(Region.US_EAST).withExistingResourceGroup("rg-sdk")
                .withAddressSpace("172.16.0.0/24").withAddressSpace("172.17.0.0/16")
                .defineSubnet("db").withAddressPrefix("172.16.0.0/24").withDelegation("Microsoft.DBforPostgreSQL/flexibleServers").attach()
                .withSubnet("k8s", "172.17.0.0/16").create();
        var zone = azure.privateDnsZones().define("metaflow.postgres.database.azure.com").withExistingResourceGroup("rg-sdk")
                .defineVirtualNetworkLink("link1").disableAutoRegistration().withVirtualNetworkId(net.id()).attach().create();
        var id = azure.identities().define("mf").withRegion(Region.US_EAST).withExistingResourceGroup("rg-sdk").create();
        azure.accessManagement().roleAssignments().define(UUID.randomUUID().toString()).forObjectId(id.principalId())
                .withBuiltInRole(com.azure.resourcemanager.authorization.models.BuiltInRole.STORAGE_BLOB_DATA_CONTRIBUTOR)
                .withScope(st.id()).create();
        var aks = azure.kubernetesClusters().define("aks1").withRegion(Region.US_EAST).withExistingResourceGroup("rg-sdk")
                .withDefaultVersion().withSystemAssignedManagedServiceIdentity()
                .defineAgentPool("system").withVirtualMachineSize(com.azure.resourcemanager.containerservice.models.ContainerServiceVMSizeTypes.fromString("Standard_D4s_v5"))
                .withAgentPoolVirtualMachineCount(1).withAgentPoolMode(com.azure.resourcemanager.containerservice.models.AgentPoolMode.SYSTEM)
                .withVirtualNetwork(net.id(), "k8s").attach()
                .withDnsPrefix("aks1").create();
        assertEquals("MC_rg-sdk_aks1_eastus", aks.nodeResourceGroup());
        // PostgreSQL through a generic resource at a GA api-version (stack.md §6); the SDK accepts 202 + Azure-AsyncOperation
        Map<String, Object> props = new java.util.HashMap<>(Map.of("version", "16", "administratorLogin", "metaflow",
                "administratorLoginPassword", "Abc!12345xyz", "network", Map.of("delegatedSubnetResourceId", net.id() + "/subnets/db",
                        "privateDnsZoneArmResourceId", zone.id())));
        var pg = azure.genericResources().define("psql-sdk").withRegion(Region.US_EAST).withExistingResourceGroup("rg-sdk")
                .withResourceType("flexibleServers").withProviderNamespace("Microsoft.DBforPostgreSQL").withoutPlan().withApiVersion(PG)
                .withSku(new com.azure.resourcemanager.resources.models.Sku().withName("Standard_B2s").withTier("Burstable"))
                .withProperties(props).create();
        assertEquals(server("rg-sdk", "psql-sdk"), pg.id(), "ids are canonical even though the SDK sends '//'");
        fake.inject(Fault.of("PUT", "/managedClusters/aks1/agentPools/workers$").failOperation("AllocationFailed", "no capacity"));
        var ex = assertThrows(com.azure.core.management.exception.ManagementException.class, () -> aks.update().defineAgentPool("workers")
                .withVirtualMachineSize(com.azure.resourcemanager.containerservice.models.ContainerServiceVMSizeTypes.fromString("Standard_D4_v5"))
                .withAgentPoolVirtualMachineCount(1).attach().apply());
        assertEquals("AllocationFailed", ex.getValue().getCode());
        fake.latency("microsoft.resources/resourcegroups", 100, null);
        azure.resourceGroups().deleteByName("rg-sdk");
        assertFalse(azure.resourceGroups().contain("rg-sdk"));
        assertTrue(fake.polls().size() >= 2, "the SDK polled the operation URLs");
    }

    @Test
    void subscriptionsProvidersTagFiltersAndPermissions() {
        JsonNode subs = send("GET", ARM + "/subscriptions?api-version=2022-12-01", null).json();
        assertEquals(S, subs.path("value").get(0).path("subscriptionId").asText());
        assertEquals("Fake Subscription", subs.path("value").get(0).path("displayName").asText());
        assertTrue(get("/subscriptions/" + S + "/locations", "2022-12-01").body().contains("\"East US\""));
        JsonNode prov = get("/subscriptions/" + S + "/providers/Microsoft.ContainerService", RES).json();
        assertEquals("Registered", prov.path("registrationState").asText());
        assertTrue(prov.path("resourceTypes").get(0).path("locations").toString().contains("East US"));
        group("rg-a");
        put(rg("rg-b"), RES, "{\"location\":\"eastus\",\"tags\":{\"metaflow-stack\":\"other\"}}");
        JsonNode tagged = get("/subscriptions/" + S + "/resourcegroups", RES + "&$filter=tagName%20eq%20'metaflow-stack'%20and%20tagValue%20eq%20'rg-a'").json();
        assertEquals(1, tagged.path("value").size());
        assertEquals("rg-a", tagged.path("value").get(0).path("name").asText());
        put(rg("rg-a") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf", MSI, "{\"location\":\"eastus\",\"tags\":{\"x\":\"1\"}}");
        assertEquals(1, get(rg("rg-a") + "/resources", RES).json().path("value").size());
        assertEquals(1, get("/subscriptions/" + S + "/resources", RES + "&$filter=tagName%20eq%20'x'").json().path("value").size());
        // permissions
        JsonNode perms = get("/subscriptions/" + S + "/providers/Microsoft.Authorization/permissions", AUTH).json();
        assertEquals("*", perms.path("value").get(0).path("actions").get(0).asText());
        fake.callerActions(List.of("*"), List.of("Microsoft.Authorization/*/write"));
        assertEquals("Microsoft.Authorization/*/write",
                get(rg("rg-a") + "/providers/Microsoft.Authorization/permissions", AUTH).json().path("value").get(0).path("notActions").get(0).asText());
        Resp denied = put(rg("rg-a") + "/providers/Microsoft.Authorization/roleAssignments/" + UUID.randomUUID(), AUTH, ra(fake.userObjectId(), "User"));
        assertEquals(403, denied.status());
        assertEquals("AuthorizationFailed", denied.code());
        // custom cloud metadata points back at its host
        JsonNode md = send("GET", "https://arm.fake.cloud/metadata/endpoints?api-version=2022-09-01", null).json();
        assertEquals("https://arm.fake.cloud/", md.get(0).path("resourceManager").asText());
        assertEquals("https://arm.fake.cloud/graph/", md.get(0).path("microsoftGraphResourceId").asText());
        assertEquals(201, send("POST", "https://arm.fake.cloud/graph/v1.0/applications", "{\"displayName\":\"x\"}").status());
        assertEquals(404, send("GET", ARM + "/subscriptions/99999999-0000-0000-0000-000000000000/resourcegroups?api-version=" + RES, null).status());
    }

    @Test
    void identitiesAndFederatedCredentials() {
        group("rg1");
        String idPath = rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mf";
        Resp c = put(idPath, MSI, "{\"location\":\"eastus\"}");
        assertEquals(201, c.status());
        assertNull(c.h("Azure-AsyncOperation"));
        Resp u = put(idPath, MSI, "{\"location\":\"eastus\",\"tags\":{\"a\":\"b\"}}");
        assertEquals(200, u.status());
        assertEquals(c.json().path("properties").path("principalId"), u.json().path("properties").path("principalId"), "stable across updates");
        assertEquals(c.json().path("properties").path("clientId"), u.json().path("properties").path("clientId"));
        assertEquals("BadRequest", put(idPath + "/federatedIdentityCredentials/bad", MSI,
                "{\"properties\":{\"issuer\":\"http://plain\",\"subject\":\"s\",\"audiences\":[\"api://AzureADTokenExchange\"]}}").code());
        for (int i = 0; i < 20; i++) {
            assertEquals(201, put(idPath + "/federatedIdentityCredentials/f" + i, MSI,
                    "{\"properties\":{\"issuer\":\"https://iss/\",\"subject\":\"s" + i + "\",\"audiences\":[\"api://AzureADTokenExchange\"]}}").status());
        }
        assertEquals(400, put(idPath + "/federatedIdentityCredentials/f20", MSI,
                "{\"properties\":{\"issuer\":\"https://iss/\",\"subject\":\"s20\",\"audiences\":[\"api://AzureADTokenExchange\"]}}").status());
        assertEquals(20, get(idPath + "/federatedIdentityCredentials", MSI).json().path("value").size());
    }

    @Test
    void concurrentRequestsFromManyThreads() throws Exception {
        group("rg1");
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Integer>> fs = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int n = i;
            fs.add(pool.submit(() -> put(rg("rg1") + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id" + n, MSI,
                    "{\"location\":\"eastus\"}").status()));
        }
        for (Future<Integer> f : fs) assertEquals(201, f.get());
        pool.shutdown();
        assertEquals(41, fake.resourceIds().size());
        assertEquals(41, fake.writes().size());
    }

    @Test
    void clusterDeleteIsLongRunningAndRemovesItsNodeGroupAndSubnetsCanBeWrittenAlone() {
        network("rg1");
        Resp c = put(cluster("rg1"), AKS, clusterBody("rg1", ""));
        poll(c.h("Azure-AsyncOperation"));
        fake.latency("microsoft.containerservice/managedclusters", 200, 1);
        Resp d = del(cluster("rg1"), AKS);
        assertEquals(202, d.status());
        assertNotNull(d.h("Azure-AsyncOperation"));
        assertNotNull(d.h("Location"));
        assertEquals("1", d.h("Retry-After"));
        assertEquals("Deleting", get(cluster("rg1"), AKS).state());
        assertEquals(202, send("GET", d.h("Location"), null).status());
        assertEquals(204, poll(d.h("Location")).status());
        assertEquals(404, get(cluster("rg1"), AKS).status());
        assertEquals(404, get(rg("MC_rg1_aks1_eastus"), RES).status());
        Resp sn = put(vnet("rg1") + "/subnets/extra", NET, "{\"properties\":{\"addressPrefix\":\"172.16.0.0/25\"}}");
        assertEquals("NetcfgSubnetRangesOverlap", sn.code());
        fake.seed(rg("rg1") + "/providers/Microsoft.Network/virtualNetworks/vnet2",
                M.createObjectNode().put("location", "eastus").set("properties", M.createObjectNode().set("addressSpace",
                        M.createObjectNode().set("addressPrefixes", M.createArrayNode().add("10.1.0.0/16")))));
        Resp sn2 = put(rg("rg1") + "/providers/Microsoft.Network/virtualNetworks/vnet2/subnets/extra", NET,
                "{\"properties\":{\"addressPrefix\":\"10.1.1.0/24\"}}");
        assertEquals(201, sn2.status());
        assertNotNull(sn2.h("Azure-AsyncOperation"));
        assertEquals("10.1.1.0/24", fake.resource(rg("rg1") + "/providers/Microsoft.Network/virtualNetworks/VNET2").orElseThrow()
                .path("properties").path("subnets").get(0).path("properties").path("addressPrefix").asText());
    }

    // --- issue 12: AKS networking, pools in one create, storage sizes ------------------------------------------------

    static String overlayClusterBody(String g, String pools) {
        return """
            {"location":"eastus","identity":{"type":"SystemAssigned"},
             "properties":{"dnsPrefix":"aks1","networkProfile":{"networkPlugin":"azure","networkPluginMode":"overlay",
               "podCidr":"10.244.0.0/16","serviceCidr":"10.0.0.0/16","dnsServiceIP":"10.0.0.10"},
              "agentPoolProfiles":[%s]}}""".formatted(pools);
    }

    static String pool(String g, String name, String mode, int max) {
        return "{\"name\":\"" + name + "\",\"mode\":\"" + mode + "\",\"vmSize\":\"Standard_D2s_v5\",\"enableAutoScaling\":true,"
                + "\"minCount\":1,\"maxCount\":" + max + ",\"vnetSubnetID\":\"" + vnet(g) + "/subnets/k8s\"}";
    }

    @Test
    void poolsInAClusterCreateFinishWithItAndAClusterPutMustNameEveryPool() {
        fake.latency("microsoft.containerservice/managedclusters", 300, null);
        network("rg1");
        Resp c = put(cluster("rg1"), AKS, overlayClusterBody("rg1", pool("rg1", "system", "System", 3) + "," + pool("rg1", "workers", "User", 10)));
        assertEquals(201, c.status(), c.body());
        assertEquals("Creating", get(cluster("rg1") + "/agentPools/workers", AKS).state());
        assertEquals("Succeeded", poll(c.h("Azure-AsyncOperation")).json().path("status").asText());
        assertEquals("Succeeded", get(cluster("rg1") + "/agentPools/workers", AKS).state(), "the pool finished with the cluster's operation");
        Resp dropped = put(cluster("rg1"), AKS, overlayClusterBody("rg1", pool("rg1", "system", "System", 4)));
        assertEquals("AgentPoolProfilesMissingPool", dropped.code(), dropped.body());
        assertEquals(200, put(cluster("rg1"), AKS, overlayClusterBody("rg1", pool("rg1", "system", "System", 4) + ","
                + pool("rg1", "workers", "User", 10))).status());
    }

    @Test
    void overlayIsOneWayAndItsPodRangeStays() {
        network("rg1");
        assertEquals(201, put(cluster("rg1"), AKS, overlayClusterBody("rg1", pool("rg1", "system", "System", 3))).status());
        String flat = overlayClusterBody("rg1", pool("rg1", "system", "System", 3)).replace("\"networkPluginMode\":\"overlay\",", "")
                .replace("\"podCidr\":\"10.244.0.0/16\",", "");
        assertEquals("NetworkPluginModeChangeNotAllowed", put(cluster("rg1"), AKS, flat).code());
        assertEquals("PodCidrChangeNotAllowed", put(cluster("rg1"), AKS,
                overlayClusterBody("rg1", pool("rg1", "system", "System", 3)).replace("10.244.0.0/16", "10.245.0.0/16")).code());
        // the pod range must stay off the vnet; flat Azure CNI takes no pod range
        assertEquals("InvalidParameter", put(rg("rg1") + "/providers/Microsoft.ContainerService/managedClusters/aks2", AKS,
                overlayClusterBody("rg1", pool("rg1", "system", "System", 3)).replace("10.244.0.0/16", "172.17.128.0/17")).code());
        assertEquals("InvalidParameter", put(rg("rg1") + "/providers/Microsoft.ContainerService/managedClusters/aks2", AKS,
                overlayClusterBody("rg1", pool("rg1", "system", "System", 3)).replace("\"networkPluginMode\":\"overlay\",", "")).code());
    }

    @Test
    void theNodeSubnetMustHoldEveryNodePlusSurgeAndFlatCniNeedsAnAddressPerPodSlot() {
        group("rg1");
        String small = VNET_BODY.replace("172.17.0.0/16\"}}", "172.17.0.0/28\"}}");
        assertEquals(201, put(vnet("rg1"), NET, small).status());
        // a /28 holds 11 nodes: 3 + 6 + 2 surge fit, 3 + 7 + 2 do not
        assertEquals("InsufficientSubnetSize", put(cluster("rg1"), AKS, overlayClusterBody("rg1", pool("rg1", "system", "System", 3)
                + "," + pool("rg1", "workers", "User", 7))).code());
        assertEquals(201, put(cluster("rg1"), AKS, overlayClusterBody("rg1", pool("rg1", "system", "System", 3)
                + "," + pool("rg1", "workers", "User", 6))).status());
        String flat = overlayClusterBody("rg1", pool("rg1", "system", "System", 3)).replace("\"networkPluginMode\":\"overlay\",", "")
                .replace("\"podCidr\":\"10.244.0.0/16\",", "");
        assertEquals("InsufficientSubnetSize", put(rg("rg1") + "/providers/Microsoft.ContainerService/managedClusters/aks2", AKS, flat).code());
    }

    @Test
    void postgresStorageTakesListedSizesAndNeverShrinks() {
        network("rg1");
        Resp c = put(server("rg1", "pg1"), PG, pgBody("rg1").replace("\"storageSizeGB\":32", "\"storageSizeGB\":128"));
        assertEquals(202, c.status(), c.body());
        poll(c.h("Azure-AsyncOperation"));
        assertEquals("InvalidStorageSize", put(server("rg1", "pg1"), PG, "{\"location\":\"eastus\",\"properties\":{\"storage\":{\"storageSizeGB\":100}}}").code());
        assertEquals("StorageSizeDecreaseNotSupported", put(server("rg1", "pg1"), PG,
                "{\"location\":\"eastus\",\"properties\":{\"storage\":{\"storageSizeGB\":64}}}").code());
    }
}
