package azure;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the services need to know about a provisioned stack, read from Resource Manager (and Graph). registryLogin is the
 * login server of the stack's container registry, null for a stack provisioned before it had one (provision.java adds it).
 */
public record StackFacts(String dbHost, String dbUser, String dbName, String blobEndpoint, String sysroot,
                         String clientId, String tenantId, boolean servicePrincipal, String applicationObjectId, Limits.Pools dbPools,
                         String registryLogin) {

    /** The services' pools when the server's connection limit is not known (dry run without Azure, a user's own cluster). */
    public static final Limits.Pools DEFAULT_POOLS = new Limits.Pools(1, Limits.DEFAULT_POOL_MAX);

    /** Reads the facts; a missing piece means the stack is not (fully) provisioned. */
    public static StackFacts read(Arm arm, Arm graph, Stack s, Desired.Caller c, String tenantId) {
        JsonNode pg = need(arm, s.postgresId(c.subscriptionId()), Desired.API_POSTGRES, "PostgreSQL server " + s.postgresServer());
        JsonNode st = need(arm, s.storageId(c.subscriptionId()), Desired.API_STORAGE, "storage account " + s.storageAccount());
        String host = pg.path("properties").path("fullyQualifiedDomainName").asText("");
        String blob = st.path("properties").path("primaryEndpoints").path("blob").asText("");
        Limits.Pools pools = pools(arm, s, c);
        String registry = registryLogin(arm, s, c);
        var identity = arm.get(s.identityId(c.subscriptionId()), Desired.API_IDENTITY);
        if (identity.isPresent()) {
            return new StackFacts(host, s.postgresAdmin(), s.database(), blob, s.container() + "/" + s.sysrootPath(),
                    identity.get().path("properties").path("clientId").asText(""),
                    identity.get().path("properties").path("tenantId").asText(tenantId), false, null, pools, registry);
        }
        List<JsonNode> apps = graph == null ? List.of() : Graph.findApplications(graph, s.applicationName(), s.name());
        if (apps.size() != 1) {
            throw new Arm.AzureException(404, "StackIncomplete", "stack " + s.name() + " has neither managed identity " + s.identity()
                    + " nor (exactly one) application " + s.applicationName() + "; run provision.java " + "--prefix " + s.prefix()
                    + " --env " + s.env() + " first", s.identity());
        }
        return new StackFacts(host, s.postgresAdmin(), s.database(), blob, s.container() + "/" + s.sysrootPath(),
                apps.get(0).path("appId").asText(), tenantId, true, apps.get(0).path("id").asText(), pools, registry);
    }

    /** What the facts will be, derived from names alone (dry run without Azure). */
    public static StackFacts predicted(Stack s, Clouds.Cloud cloud, boolean servicePrincipal) {
        return new StackFacts(s.postgresServer() + "." + s.postgresSuffix(), s.postgresAdmin(), s.database(),
                "https://" + s.storageAccount() + ".blob." + cloud.storageSuffix() + "/", s.container() + "/" + s.sysrootPath(),
                servicePrincipal ? "<appId of " + s.applicationName() + ">" : "<clientId of " + s.identity() + ">",
                "<tenant id>", servicePrincipal, null, DEFAULT_POOLS, "<login server of " + s.registry() + ">");
    }

    /**
     * The registry's login server as Resource Manager gives it (properties.loginServer: its suffix depends on the cloud, so
     * it is read, never made up); null when the stack has no registry yet.
     */
    static String registryLogin(Arm arm, Stack s, Desired.Caller c) {
        return arm.get(s.registryId(c.subscriptionId()), Registry.API)
                .map(r -> r.path("properties").path("loginServer").asText(""))
                .filter(login -> !login.isEmpty()).orElse(null);
    }

    /**
     * Pool sizes the server can hold: its max_connections (the server parameter, so a value changed by hand counts) less
     * what Azure and the spare keep, shared by every pool of both services through a rolling update (Limits.poolsFor).
     */
    static Limits.Pools pools(Arm arm, Stack s, Desired.Caller c) {
        String id = s.postgresId(c.subscriptionId()) + "/configurations/max_connections";
        int max = need(arm, id, Desired.API_POSTGRES, "server parameter max_connections of " + s.postgresServer())
                .path("properties").path("value").asInt(0);
        Limits.Pools pools = Limits.poolsFor(max);
        if (pools == null) {
            throw new Arm.AzureException(409, "TooFewConnections", "PostgreSQL server " + s.postgresServer() + " allows " + max
                    + " connections, " + Limits.POSTGRES_RESERVED_CONNECTIONS + " of them kept by Azure; the metadata service and UI backend "
                    + "need at least " + Limits.leastConnections() + ". Raise max_connections or choose a larger --postgres-sku "
                    + "(provision.java), then deploy again", s.postgresServer());
        }
        return pools;
    }

    private static JsonNode need(Arm arm, String id, String api, String what) {
        return arm.get(id, api).orElseThrow(() -> new Arm.AzureException(404, "StackIncomplete", what
                + " does not exist; run provision.java for this stack first", id));
    }

    /** The AKS cluster's user kubeconfig (what az aks get-credentials fetches). */
    public static String userKubeconfig(Arm arm, Stack s, Desired.Caller c) {
        JsonNode r = arm.post(s.aksId(c.subscriptionId()) + "/listClusterUserCredential", Desired.API_AKS, null);
        JsonNode first = r.path("kubeconfigs").path(0).path("value");
        if (first.isMissingNode() || first.asText().isEmpty()) {
            throw new Arm.AzureException(404, "NoKubeconfig", "AKS cluster " + s.aks() + " returned no user kubeconfig", s.aks());
        }
        return new String(Base64.getDecoder().decode(first.asText()), StandardCharsets.UTF_8);
    }

    /** Sets the server's admin password (a long-running update); the cluster Secret is written only after this succeeds. */
    public static void setDbPassword(Arm arm, Stack s, Desired.Caller c, String password) {
        var body = Json.obj();
        body.putObject("properties").put("administratorLoginPassword", password);
        arm.patch(s.postgresId(c.subscriptionId()), Desired.API_POSTGRES, body, Arm.Watcher.NONE);
    }

    /** Adds a client secret to the application (service-principal mode); Graph returns the secret only now. */
    public static String addClientSecret(Arm graph, String applicationObjectId, String stackName) {
        var body = Json.obj();
        body.putObject("passwordCredential").put("displayName", "metaflow-services " + stackName);
        JsonNode r = graph.postUrl(graph.endpoint() + "/v1.0/applications/" + applicationObjectId + "/addPassword", body);
        String secret = r.path("secretText").asText("");
        if (secret.isEmpty()) throw new Arm.AzureException(500, "NoSecret", "Graph returned no secretText", applicationObjectId);
        return secret;
    }

    /** The placeholder values the templates use; jetStreamVersion is null without Argo. */
    public Map<String, String> values(Stack s, String metadataImage, String uiImage, String uiBackendUrl, String jetStreamVersion) {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("NAMESPACE", s.kubeNamespace());
        v.put("SERVICES_NAMESPACE", s.servicesNamespace());
        v.put("SERVICE_ACCOUNT", s.kubeServiceAccount());
        v.put("EVENTS_NAMESPACE", s.argoEventsNamespace());
        v.put("CLIENT_ID", clientId);
        v.put("TENANT_ID", tenantId);
        v.put("DB_HOST", dbHost);
        v.put("DB_USER", dbUser);
        v.put("DB_NAME", dbName);
        v.put("DB_POOL_MIN", String.valueOf(dbPools.min()));
        v.put("DB_POOL_MAX", String.valueOf(dbPools.max()));
        v.put("SYSROOT", sysroot);
        v.put("BLOB_ENDPOINT", blobEndpoint);
        v.put("METADATA_IMAGE", metadataImage);
        v.put("UI_IMAGE", uiImage);
        v.put("UI_BACKEND_URL", uiBackendUrl);
        if (jetStreamVersion != null) v.put("JETSTREAM_VERSION", jetStreamVersion);
        return v;
    }
}
