import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.azure.core.credential.TokenRequestContext;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpMethod;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.FakeCredential;
import fake.KubeFake;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The fakes of issue 21: Entra tokens per caller and audience, what AKS accepts and refuses for Microsoft Entra
 * integration and local accounts, the Entra-format user kubeconfig, certificate rotation, custom roles with their
 * assignable scopes, and the Kubernetes fake's Entra mode (401 for a token it must not take, 403 for what the caller's
 * Azure role assignments do not allow, as AKS answers).
 */
class EntraFakeTest {
    static final ObjectMapper M = new ObjectMapper();
    static final String S = AzureFake.DEFAULT_SUBSCRIPTION;
    static final String ARM = "https://management.azure.com";
    static final String AKS_API = "2024-09-01";
    static final String AUTH = "2022-04-01";
    static final String RG = "/subscriptions/" + S + "/resourceGroups/rg1";
    static final String AKS = RG + "/providers/Microsoft.ContainerService/managedClusters/aks1";
    static final String NS_SCOPE = AKS + "/namespaces/metaflow";
    static final String RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b";
    static final String RBAC_READER = "7f6c6a51-bcf8-42ba-9220-52d62157d7db";
    static final String MC = "Microsoft.ContainerService/managedClusters/";

    final AzureFake fake = new AzureFake();
    final HttpPipeline pipe = new HttpPipelineBuilder().httpClient(fake).build();
    final KubeFake kube = new KubeFake();
    final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void close() {
        kube.close();
    }

    record Resp(int status, com.azure.core.http.HttpHeaders headers, String body) {
        JsonNode json() {
            try {
                return body.isEmpty() ? M.createObjectNode() : M.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
        String code() { return json().path("error").path("code").asText(null); }
        String message() { return json().path("error").path("message").asText(""); }
    }

    Resp send(String method, String path, String api, String body) {
        HttpRequest r = new HttpRequest(HttpMethod.valueOf(method), ARM + path + (path.contains("?") ? "&" : "?") + "api-version=" + api);
        if (body != null) {
            r.setHeader(HttpHeaderName.CONTENT_TYPE, "application/json");
            r.setBody(body);
        }
        try (HttpResponse res = pipe.sendSync(r, Context.NONE)) {
            return new Resp(res.getStatusCode(), res.getHeaders(), res.getBodyAsBinaryData() == null ? "" : res.getBodyAsBinaryData().toString());
        }
    }

    static String clusterBody(String extra) {
        return "{\"location\":\"eastus\",\"properties\":{\"dnsPrefix\":\"aks1\",\"agentPoolProfiles\":[{\"name\":\"system\",\"mode\":\"System\","
                + "\"vmSize\":\"Standard_D4s_v5\",\"count\":1}]" + extra + "}}";
    }

    static final String ENTRA = ",\"aadProfile\":{\"managed\":true,\"enableAzureRBAC\":true},\"disableLocalAccounts\":true";

    void group() {
        assertEquals(201, send("PUT", RG, "2022-09-01", "{\"location\":\"eastus\"}").status());
    }

    void cluster(String extra) {
        group();
        Resp r = send("PUT", AKS, AKS_API, clusterBody(extra));
        assertEquals(201, r.status(), r.body());
    }

    static String decode(String base64) {
        return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
    }

    static JsonNode claims(String jwt) throws IOException {
        return M.readTree(Base64.getUrlDecoder().decode(jwt.split("\\.")[1]));
    }

    String assign(String principal, String roleGuid, String scope, String condition) {
        String name = UUID.randomUUID().toString();
        String body = "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/" + roleGuid
                + "\",\"principalId\":\"" + principal + "\",\"principalType\":\"User\""
                + (condition == null ? "" : ",\"condition\":" + M.valueToTree(condition) + ",\"conditionVersion\":\"2.0\"") + "}}";
        Resp r = send("PUT", scope + "/providers/Microsoft.Authorization/roleAssignments/" + name, AUTH, body);
        assertEquals(201, r.status(), r.body());
        return scope + "/providers/Microsoft.Authorization/roleAssignments/" + name;
    }

    /** The flow runner role of the design: assignable in the resource group, assigned at the namespace. */
    static String flowRunnerRole(String name, String assignableScope) {
        return "{\"properties\":{\"roleName\":\"" + name + "\",\"type\":\"CustomRole\",\"description\":\"runs flows\","
                + "\"permissions\":[{\"actions\":[],\"notActions\":[],\"dataActions\":[\"" + MC + "batch/jobs/*\",\"" + MC + "pods/read\",\""
                + MC + "pods/write\",\"" + MC + "pods/delete\",\"" + MC + "events/read\",\"" + MC + "configmaps/read\",\"" + MC
                + "services/read\",\"" + MC + "customresources/*\"],\"notDataActions\":[]}],\"assignableScopes\":[\"" + assignableScope + "\"]}}";
    }

    String defineRole(String body) {
        String guid = UUID.randomUUID().toString();
        Resp r = send("PUT", RG + "/providers/Microsoft.Authorization/roleDefinitions/" + guid, AUTH, body);
        assertEquals(201, r.status(), r.body());
        return guid;
    }

    // --- tokens -------------------------------------------------------------------------------------------------

    @Test
    void tokensNameTheirCallerAudienceAndExpiry() throws Exception {
        String grantee = fake.addUser("ds@example.test", "Data Scientist");
        FakeCredential cred = fake.credentialFor(grantee);
        long before = System.currentTimeMillis() / 1000;
        String token = cred.getTokenSync(new TokenRequestContext().addScopes(AzureFake.AKS_SERVER_APP + "/.default")).getToken();
        JsonNode c = claims(token);
        assertEquals(AzureFake.AKS_SERVER_APP, c.path("aud").asText());
        assertEquals(grantee, c.path("oid").asText());
        assertEquals("ds@example.test", c.path("upn").asText());
        assertEquals(AzureFake.TENANT_ID, c.path("tid").asText());
        assertTrue(c.path("exp").asLong() >= before + 3599 && c.path("iat").asLong() >= before, c.toString());
        assertEquals("https://management.azure.com", claims(cred.getTokenSync(new TokenRequestContext()
                .addScopes("https://management.azure.com/.default")).getToken()).path("aud").asText());
        assertEquals(2, cred.issued().size(), "each request gets its own token");

        JsonNode shortLived = claims(cred.expiringIn(Duration.ofSeconds(2)).getTokenSync(new TokenRequestContext().addScopes("x/.default")).getToken());
        assertTrue(shortLived.path("exp").asLong() <= System.currentTimeMillis() / 1000 + 2, shortLived.toString());
        JsonNode app = claims(FakeCredential.application("11111111-0000-0000-0000-000000000001", AzureFake.TENANT_ID).tokenFor("x"));
        assertEquals("app", app.path("idtyp").asText());
        assertEquals("11111111-0000-0000-0000-000000000001", app.path("appid").asText());
        assertFalse(app.has("upn"));
        assertEquals(List.of("g1"), List.of(claims(cred.withGroups("g1").tokenFor("x")).path("groups").path(0).asText()));
    }

    // --- AKS: Entra integration and local accounts ----------------------------------------------------------------

    @Test
    void localAccountsCanOnlyBeDisabledWithManagedEntraIntegrationWhichStays() {
        group();
        Resp noEntra = send("PUT", AKS, AKS_API, clusterBody(",\"disableLocalAccounts\":true"));
        assertEquals(400, noEntra.status());
        assertTrue(noEntra.message().contains("disableLocalAccounts can only be set on Azure AD integration enabled cluster"), noEntra.body());
        assertEquals(400, send("PUT", AKS, AKS_API, clusterBody(",\"aadProfile\":{\"enableAzureRBAC\":true}")).status(),
                "Azure RBAC needs managed Entra integration");
        assertTrue(fake.resource(AKS).isEmpty(), "nothing was created");

        assertEquals(201, send("PUT", AKS, AKS_API, clusterBody("")).status());
        Resp update = send("PUT", AKS, AKS_API, clusterBody(",\"disableLocalAccounts\":true"));
        assertEquals(400, update.status(), "refused on update as on create");

        assertEquals(200, send("PUT", AKS, AKS_API, clusterBody(ENTRA)).status());
        JsonNode aad = fake.resource(AKS).orElseThrow().path("properties").path("aadProfile");
        assertEquals(AzureFake.TENANT_ID, aad.path("tenantID").asText(), "AKS fills in the subscription's tenant");
        assertTrue(aad.path("enableAzureRBAC").asBoolean());
        Resp off = send("PUT", AKS, AKS_API, clusterBody(""));
        assertEquals(400, off.status(), "managed Entra integration cannot be turned off again");
        assertEquals(400, send("PUT", AKS, AKS_API, clusterBody(",\"aadProfile\":{\"managed\":true,\"adminGroupObjectIDs\":[\"not-a-guid\"]}")).status());
    }

    @Test
    void anEntraClusterHandsOutAKubeloginKubeconfigAndNoStaticCredential() {
        cluster(ENTRA);
        Resp user = send("POST", AKS + "/listClusterUserCredential", AKS_API, null);
        assertEquals(200, user.status(), user.body());
        String exec = decode(user.json().path("kubeconfigs").path(0).path("value").asText());
        assertTrue(exec.contains("command: kubelogin") && exec.contains("- get-token") && exec.contains("- --server-id\n      - " + AzureFake.AKS_SERVER_APP)
                && exec.contains("- --tenant-id\n      - " + AzureFake.TENANT_ID), exec);
        assertFalse(exec.contains("token:"), "no static token");
        String azure = decode(send("POST", AKS + "/listClusterUserCredential?format=azure", AKS_API, null).json().path("kubeconfigs").path(0).path("value").asText());
        assertTrue(azure.contains("name: azure") && azure.contains("apiserver-id: " + AzureFake.AKS_SERVER_APP), azure);
        assertEquals(400, send("POST", AKS + "/listClusterUserCredential?format=yaml", AKS_API, null).status());

        Resp admin = send("POST", AKS + "/listClusterAdminCredential", AKS_API, null);
        assertEquals(400, admin.status());
        assertEquals("Getting static credential isn't allowed because this cluster is set to disable local accounts.", admin.message());
    }

    @Test
    void rotatingCertificatesIsALongRunningOperationThatRevokesLocalCredentials() throws Exception {
        cluster(",\"aadProfile\":{\"managed\":true,\"enableAzureRBAC\":true}");
        kube.entra(fake, AKS);
        String adminToken = decode(send("POST", AKS + "/listClusterAdminCredential", AKS_API, null).json().path("kubeconfigs").path(0).path("value")
                .asText()).replaceAll("(?s).*token: (\\S+).*", "$1");
        assertEquals(200, get("/api/v1/nodes", adminToken).statusCode(), "a local admin credential works while local accounts are on");

        assertEquals(200, send("PUT", AKS, AKS_API, clusterBody(ENTRA)).status());
        assertEquals(200, get("/api/v1/nodes", adminToken).statusCode(), "disabling local accounts does not revoke what was handed out");

        fake.latency("microsoft.containerservice/managedclusters", 400, 1);
        Resp rotate = send("POST", AKS + "/rotateClusterCertificates", AKS_API, null);
        assertEquals(202, rotate.status(), rotate.body());
        assertNotNull(rotate.headers().getValue(HttpHeaderName.fromString("Azure-AsyncOperation")));
        assertNotNull(rotate.headers().getValue(HttpHeaderName.LOCATION));
        assertEquals("RotatingClusterCertificates", fake.resource(AKS).orElseThrow().path("properties").path("provisioningState").asText());
        assertEquals(409, send("PUT", AKS, AKS_API, clusterBody(ENTRA)).status(), "the cluster is busy while rotating");
        long deadline = System.currentTimeMillis() + 10000;
        while (!"Succeeded".equals(fake.resource(AKS).orElseThrow().path("properties").path("provisioningState").asText())) {
            if (System.currentTimeMillis() > deadline) fail("rotation never finished");
            Thread.sleep(50);
        }
        var refused = get("/api/v1/nodes", adminToken);
        assertEquals(401, refused.statusCode(), "the old certificate is signed by a CA the cluster no longer trusts");
        assertEquals("Unauthorized", M.readTree(refused.body()).path("reason").asText());
    }

    // --- Azure RBAC: custom roles and their assignable scopes ------------------------------------------------------

    @Test
    void aCustomRoleIsAssignableOnlyWithinItsAssignableScopes() {
        cluster(ENTRA);
        String grantee = fake.addUser("ds@example.test", "DS");
        assertEquals("InvalidAssignableScopes", send("PUT", RG + "/providers/Microsoft.Authorization/roleDefinitions/" + UUID.randomUUID(), AUTH,
                flowRunnerRole("r0", AKS)).code(), "a resource is no assignable scope");
        assertEquals("InvalidAssignableScopes", send("PUT", RG + "/providers/Microsoft.Authorization/roleDefinitions/" + UUID.randomUUID(), AUTH,
                flowRunnerRole("r0", "/")).code());
        String role = defineRole(flowRunnerRole("Metaflow flow runner (s1)", RG));
        assertEquals("RoleDefinitionWithSameNameExists", send("PUT", RG + "/providers/Microsoft.Authorization/roleDefinitions/" + UUID.randomUUID(), AUTH,
                flowRunnerRole("metaflow FLOW runner (s1)", RG)).code());
        assertEquals(200, send("PUT", RG + "/providers/Microsoft.Authorization/roleDefinitions/" + role, AUTH,
                flowRunnerRole("Metaflow flow runner (s1)", RG)).status(), "an update keeps its name");
        assertEquals("Metaflow flow runner (s1)", send("GET", "/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/" + role, AUTH, null)
                .json().path("properties").path("roleName").asText());

        String at = assign(grantee, role, NS_SCOPE, null);
        JsonNode listed = send("GET", NS_SCOPE + "/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()", AUTH, null).json();
        assertEquals(1, listed.path("value").size(), listed.toString());
        assertEquals(NS_SCOPE, listed.path("value").path(0).path("properties").path("scope").asText());

        send("PUT", "/subscriptions/" + S + "/resourceGroups/rg2", "2022-09-01", "{\"location\":\"eastus\"}");
        Resp outside = send("PUT", "/subscriptions/" + S + "/resourceGroups/rg2/providers/Microsoft.Authorization/roleAssignments/" + UUID.randomUUID(), AUTH,
                "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/" + role
                        + "\",\"principalId\":\"" + grantee + "\",\"principalType\":\"User\"}}");
        assertEquals(400, outside.status());
        assertEquals("The role Metaflow flow runner (s1) is not available for assignment at the requested scope.", outside.message());
        assertEquals(404, send("PUT", AKS + "x/namespaces/metaflow/providers/Microsoft.Authorization/roleAssignments/" + UUID.randomUUID(), AUTH,
                "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/" + role
                        + "\",\"principalId\":\"" + grantee + "\",\"principalType\":\"User\"}}").status(), "no namespace scope without its cluster");

        assertEquals("RoleDefinitionHasAssignments", send("DELETE", RG + "/providers/Microsoft.Authorization/roleDefinitions/" + role, AUTH, null).code());
        assertEquals(200, send("DELETE", at, AUTH, null).status());
        assertEquals(200, send("DELETE", RG + "/providers/Microsoft.Authorization/roleDefinitions/" + role, AUTH, null).status());
        assertTrue(fake.customRoleDefinitions().isEmpty());
    }

    @Test
    void theBuiltInAksRolesCarryTheirDataActions() {
        JsonNode writer = send("GET", "/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb",
                AUTH, null).json().path("properties");
        assertEquals("Azure Kubernetes Service RBAC Writer", writer.path("roleName").asText());
        assertTrue(writer.path("permissions").path(0).path("dataActions").toString().contains(MC + "secrets/*"), "Writer may read Secrets");
        JsonNode admin = send("GET", "/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/3498e952-d568-435e-9b2c-8d77e338d7f7",
                AUTH, null).json().path("properties").path("permissions").path(0);
        assertTrue(admin.path("notDataActions").toString().contains(MC + "namespaces/write"), admin.toString());
    }

    // --- the Kubernetes fake in Entra mode ------------------------------------------------------------------------

    java.net.http.HttpResponse<String> call(String method, String path, String token, String body, String type) throws Exception {
        var b = java.net.http.HttpRequest.newBuilder(URI.create(kube.url() + path))
                .method(method, body == null ? java.net.http.HttpRequest.BodyPublishers.noBody() : java.net.http.HttpRequest.BodyPublishers.ofString(body));
        if (token != null) b.header("Authorization", "Bearer " + token);
        if (type != null) b.header("Content-Type", type);
        return http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    java.net.http.HttpResponse<String> get(String path, String token) throws Exception {
        return call("GET", path, token, null, null);
    }

    static final String JOB = "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\",\"namespace\":\"metaflow\"},"
            + "\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}";
    static final String WORKFLOW = "{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Workflow\",\"metadata\":{\"name\":\"w\",\"namespace\":\"metaflow\"},"
            + "\"spec\":{\"entrypoint\":\"main\",\"templates\":[{\"name\":\"main\",\"container\":{\"image\":\"x\"}}]}}";

    /** An Entra cluster in Entra mode with namespaces metaflow and other, a Secret and the Workflow CRD. */
    void entraCluster() throws Exception {
        cluster(ENTRA);
        kube.entra(fake, AKS);
        for (String ns : List.of("metaflow", "other")) {
            kube.create("/api/v1/namespaces", M.readTree("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"" + ns + "\"}}"));
        }
        kube.create("/api/v1/namespaces/metaflow/secrets", M.readTree("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\","
                + "\"namespace\":\"metaflow\"},\"data\":{\"password\":\"c2VjcmV0\"}}"));
        kube.create("/api/v1/namespaces/metaflow/pods", M.readTree("{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\","
                + "\"namespace\":\"metaflow\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}"));
        kube.logs.put("p", "hello\n");
        kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                new com.fasterxml.jackson.dataformat.yaml.YAMLMapper().readTree(ArgoFixture.crd("workflows", "Workflow").replace("---\n", "")));
    }

    @Test
    void aTokenTheClusterMustNotTakeIsUnauthorized() throws Exception {
        entraCluster();
        String grantee = fake.addUser("ds@example.test", "DS");
        FakeCredential cred = fake.credentialFor(grantee);
        var none = get("/api/v1/namespaces/metaflow/pods", null);
        assertEquals(401, none.statusCode());
        JsonNode st = M.readTree(none.body());
        assertEquals("Status", st.path("kind").asText());
        assertEquals("Unauthorized", st.path("message").asText());
        assertEquals(401, get("/api/v1/namespaces/metaflow/pods", cred.tokenFor("https://management.azure.com")).statusCode(), "wrong audience");
        assertEquals(401, get("/api/v1/namespaces/metaflow/pods", cred.expiredTokenFor(AzureFake.AKS_SERVER_APP, Duration.ofSeconds(5))).statusCode(),
                "expired");
        assertEquals(401, get("/api/v1/namespaces/metaflow/pods", "not-a.jwt").statusCode(), "malformed");
        assertEquals(401, get("/api/v1/namespaces/metaflow/pods", FakeCredential.user(grantee, "00000000-0000-0000-0000-00000000dead", "x@y")
                .tokenFor(AzureFake.AKS_SERVER_APP)).statusCode(), "another tenant");
        assertEquals(5, kube.refused.stream().filter(r -> r.startsWith("401 ")).count(), kube.refused.toString());

        String valid = cred.tokenFor(AzureFake.AKS_SERVER_APP);
        assertEquals(200, get("/version", valid).statusCode(), "discovery needs no role");
        assertEquals(403, get("/api/v1/namespaces/metaflow/pods", valid).statusCode(), "signed in, but no role yet");
    }

    @Test
    void theFlowRunnerRoleAtTheNamespaceAllowsFlowsAndNothingElse() throws Exception {
        entraCluster();
        String grantee = fake.addUser("ds@example.test", "DS");
        String role = defineRole(flowRunnerRole("Metaflow flow runner (s1)", RG));
        assign(grantee, role, NS_SCOPE, null);
        String token = fake.credentialFor(grantee).tokenFor(AzureFake.AKS_SERVER_APP);

        assertEquals(201, call("POST", "/apis/batch/v1/namespaces/metaflow/jobs", token, JOB, "application/json").statusCode());
        assertEquals(201, call("POST", "/apis/argoproj.io/v1alpha1/namespaces/metaflow/workflows", token, WORKFLOW, "application/json").statusCode(),
                "custom resources through customresources/write");
        assertEquals(200, get("/api/v1/namespaces/metaflow/pods/p/log", token).statusCode(), "logs are pods/read");
        assertEquals(200, get("/apis/batch/v1/namespaces/metaflow/jobs?watch=false", token).statusCode());
        assertTrue(kube.refused.isEmpty(), kube.refused.toString());

        var secret = get("/api/v1/namespaces/metaflow/secrets/db", token);
        assertEquals(403, secret.statusCode());
        JsonNode st = M.readTree(secret.body());
        assertEquals("Forbidden", st.path("reason").asText());
        assertEquals("secrets \"db\" is forbidden: User \"ds@example.test\" cannot get resource \"secrets\" in API group \"\" in the namespace \"metaflow\":"
                + " User does not have access to the resource in Azure. Update role assignment to allow access.", st.path("message").asText());
        var nodes = get("/api/v1/nodes", token);
        assertEquals(403, nodes.statusCode());
        assertTrue(M.readTree(nodes.body()).path("message").asText().contains("cannot list resource \"nodes\" in API group \"\" at the cluster scope"), nodes.body());
        assertEquals(403, get("/api/v1/namespaces/other/pods", token).statusCode(), "another namespace");
        assertEquals(403, call("POST", "/apis/batch/v1/namespaces/other/jobs", token, JOB.replace("metaflow", "other"), "application/json").statusCode());
        assertEquals(403, call("DELETE", "/api/v1/namespaces/metaflow/services/metaflow-metadata", token, null, null).statusCode(), "services are read-only");
        assertEquals(403, call("PATCH", "/apis/apps/v1/namespaces/metaflow/deployments/d?fieldManager=t", token,
                "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\",\"namespace\":\"metaflow\"}}",
                "application/apply-patch+yaml").statusCode(), "server-side apply is a patch: apps/deployments/write");
        assertEquals(403, get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", token).statusCode());
        assertEquals(7, kube.refusedFor("ds@example.test").size(), kube.refused.toString());
        assertTrue(kube.refused.get(0).endsWith(MC + "secrets/read " + NS_SCOPE), kube.refused.get(0));
    }

    @Test
    void portForwardNeedsPodsWriteAndExecItsOwnAction() throws Exception {
        entraCluster();
        String grantee = fake.addUser("ds@example.test", "DS");
        assign(grantee, RBAC_READER, NS_SCOPE, null);
        String token = fake.credentialFor(grantee).tokenFor(AzureFake.AKS_SERVER_APP);
        assertEquals(200, get("/api/v1/namespaces/metaflow/pods/p/log", token).statusCode(), "RBAC Reader reads logs");
        var pf = get("/api/v1/namespaces/metaflow/pods/p/portforward?ports=8080", token);
        assertEquals(403, pf.statusCode());
        assertTrue(M.readTree(pf.body()).path("message").asText().contains("cannot create resource \"pods/portforward\""), pf.body());
        assertEquals(403, call("POST", "/api/v1/namespaces/metaflow/pods/p/exec?command=sh", token, "", null).statusCode());
        assertTrue(kube.refused.get(1).contains(MC + "pods/exec/action"), kube.refused.toString());
        // Authorized (services/read); the fake's service proxy then answers 404, as there is no such Service.
        assertEquals(404, get("/api/v1/namespaces/metaflow/services/metaflow-metadata:8080/proxy/healthcheck", token).statusCode(),
                "RBAC Reader reads services, so the service proxy GET (services/read) is allowed");
    }

    /** One exchange through a fabric8 port-forward (websocket, bearer token on the upgrade), as services forward makes it. */
    static String exchange(io.fabric8.kubernetes.client.KubernetesClient client, String pod) throws Exception {
        try (io.fabric8.kubernetes.client.LocalPortForward f = client.pods().inNamespace("metaflow").withName(pod).portForward(8080);
             java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), f.getLocalPort())) {
            s.setSoTimeout(3000);
            s.getOutputStream().write("ping".getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            byte[] buf = new byte[64];
            int n = s.getInputStream().read(buf);
            return n <= 0 ? "" : new String(buf, 0, n, StandardCharsets.UTF_8);
        } catch (java.net.SocketTimeoutException | java.net.SocketException e) {
            return "";
        }
    }

    @Test
    void aGranteesPortForwardThroughFabric8PassesAndAReadersDoesNot() throws Exception {
        entraCluster();
        kube.podPorts.put("p:8080", in -> ("pong " + new String(in, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
        String grantee = fake.addUser("ds@example.test", "DS");
        assign(grantee, defineRole(flowRunnerRole("Metaflow flow runner (s1)", RG)), NS_SCOPE, null);
        try (var client = kube.client(fake.credentialFor(grantee).tokenFor(AzureFake.AKS_SERVER_APP))) {
            assertEquals("pong ping", exchange(client, "p"));
        }
        assertTrue(kube.refused.isEmpty(), kube.refused.toString());

        String reader = fake.addUser("reader@example.test", "Reader");
        assign(reader, RBAC_READER, NS_SCOPE, null);
        try (var client = kube.client(fake.credentialFor(reader).tokenFor(AzureFake.AKS_SERVER_APP))) {
            assertEquals("", exchange(client, "p"));
        }
        assertTrue(kube.refusedFor("reader@example.test").stream().anyMatch(r -> r.contains("/portforward") && r.contains(MC + "pods/write")),
                kube.refused.toString());
    }

    @Test
    void clusterAdminMayDoAnythingUntilTheAssignmentIsRevoked() throws Exception {
        entraCluster();
        String admin = fake.userObjectId();
        String at = assign(admin, RBAC_CLUSTER_ADMIN, AKS, null);
        String token = fake.credential().tokenFor(AzureFake.AKS_SERVER_APP);
        assertEquals(200, get("/api/v1/nodes", token).statusCode());
        assertEquals(200, get("/api/v1/namespaces/metaflow/secrets/db", token).statusCode());
        assertEquals(201, call("POST", "/api/v1/namespaces", token, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"n2\"}}",
                "application/json").statusCode());
        assertTrue(kube.refused.isEmpty(), kube.refused.toString());

        assertEquals(200, send("DELETE", at, AUTH, null).status());
        assertEquals(403, get("/api/v1/nodes", token).statusCode(), "revoked");
    }

    @Test
    void aGroupsAssignmentCountsForItsMembers() throws Exception {
        entraCluster();
        String grantee = fake.addUser("ds@example.test", "DS");
        String team = fake.addGroup("team", grantee);
        send("PUT", NS_SCOPE + "/providers/Microsoft.Authorization/roleAssignments/" + UUID.randomUUID(), AUTH,
                "{\"properties\":{\"roleDefinitionId\":\"/subscriptions/" + S + "/providers/Microsoft.Authorization/roleDefinitions/" + RBAC_READER
                        + "\",\"principalId\":\"" + team + "\",\"principalType\":\"Group\"}}");
        String token = fake.credentialFor(grantee).tokenFor(AzureFake.AKS_SERVER_APP);
        assertEquals(200, get("/api/v1/namespaces/metaflow/pods", token).statusCode());
        assertEquals(403, get("/api/v1/namespaces/metaflow/secrets", token).statusCode(), "RBAC Reader reads no Secrets");
    }

    @Test
    void anAbacConditionNarrowsCustomResourcesToAGroup() throws Exception {
        entraCluster();
        kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", new com.fasterxml.jackson.dataformat.yaml.YAMLMapper()
                .readTree(ArgoFixture.crd("workflows", "Workflow").replace("---\n", "").replace("argoproj.io", "example.com")));
        String grantee = fake.addUser("ds@example.test", "DS");
        String role = defineRole(flowRunnerRole("Metaflow flow runner (s1)", RG));
        String condition = "((!(ActionMatches{'" + MC + "customresources/write'}) AND !(ActionMatches{'" + MC + "customresources/read'}))"
                + " OR (@Request[" + MC + "customResources:group] StringEqualsIgnoreCase 'argoproj.io'))";
        assign(grantee, role, NS_SCOPE, condition);
        String token = fake.credentialFor(grantee).tokenFor(AzureFake.AKS_SERVER_APP);
        assertEquals(201, call("POST", "/apis/argoproj.io/v1alpha1/namespaces/metaflow/workflows", token, WORKFLOW, "application/json").statusCode());
        assertEquals(403, call("POST", "/apis/example.com/v1alpha1/namespaces/metaflow/workflows", token,
                WORKFLOW.replace("argoproj.io", "example.com"), "application/json").statusCode(), "the condition names argoproj.io only");
        assertEquals(201, call("POST", "/apis/batch/v1/namespaces/metaflow/jobs", token, JOB, "application/json").statusCode(),
                "the condition leaves other actions alone");
    }

    @Test
    void whatTheClusterResourceSaysCounts() throws Exception {
        group();
        assertEquals(201, send("PUT", AKS, AKS_API, clusterBody("")).status());
        kube.entra(fake, AKS);
        String token = fake.credential().tokenFor(AzureFake.AKS_SERVER_APP);
        assertEquals(401, get("/api/v1/nodes", token).statusCode(), "no Entra integration, no Entra sign-in");

        String admins = fake.addGroup("aks-admins", fake.userObjectId());
        assertEquals(200, send("PUT", AKS, AKS_API, clusterBody(",\"aadProfile\":{\"managed\":true,\"adminGroupObjectIDs\":[\"" + admins + "\"]}")).status());
        assertEquals(200, get("/api/v1/nodes", token).statusCode(), "an admin group's member is cluster admin");
        String grantee = fake.addUser("ds@example.test", "DS");
        assign(grantee, RBAC_READER, NS_SCOPE, null);
        var k8sRbacOnly = get("/api/v1/namespaces/metaflow/pods", fake.credentialFor(grantee).tokenFor(AzureFake.AKS_SERVER_APP));
        assertEquals(403, k8sRbacOnly.statusCode(), "without enableAzureRBAC the Azure role assignment does not count");
        assertFalse(k8sRbacOnly.body().contains("in Azure"), k8sRbacOnly.body());
    }

    @Test
    void aCachedDecisionOutlivesTheRevocationUntilItExpires() throws Exception {
        entraCluster();
        kube.decisionCache = Duration.ofMillis(600);
        String at = assign(fake.userObjectId(), RBAC_CLUSTER_ADMIN, AKS, null);
        String token = fake.credential().tokenFor(AzureFake.AKS_SERVER_APP);
        assertEquals(200, get("/api/v1/nodes", token).statusCode());
        assertEquals(200, send("DELETE", at, AUTH, null).status());
        assertEquals(200, get("/api/v1/nodes", token).statusCode(), "still cached");
        Thread.sleep(700);
        assertEquals(403, get("/api/v1/nodes", token).statusCode(), "the cache expired");
    }

    @Test
    void withoutEntraModeTheFakeTakesAnyRequestAsBefore() throws Exception {
        kube.create("/api/v1/namespaces", M.readTree("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"metaflow\"}}"));
        assertEquals(200, get("/api/v1/namespaces/metaflow/pods", null).statusCode());
        assertTrue(kube.refused.isEmpty());
    }
}
