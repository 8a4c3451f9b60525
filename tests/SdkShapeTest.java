import static org.junit.jupiter.api.Assertions.*;

import azure.ArmResource;
import azure.AzureLogin;
import azure.Clouds;
import azure.Desired;
import azure.Settings;
import azure.Stack;
import com.azure.core.management.serializer.SerializerFactory;
import com.azure.core.util.serializer.SerializerAdapter;
import com.azure.core.util.serializer.SerializerEncoding;
import com.azure.resourcemanager.authorization.models.RoleAssignmentCreateParameters;
import com.azure.resourcemanager.containerservice.fluent.models.AgentPoolInner;
import com.azure.resourcemanager.containerservice.fluent.models.ManagedClusterInner;
import com.azure.resourcemanager.msi.fluent.models.FederatedIdentityCredentialInner;
import com.azure.resourcemanager.msi.fluent.models.IdentityInner;
import com.azure.resourcemanager.network.fluent.models.VirtualNetworkInner;
import com.azure.resourcemanager.postgresqlflexibleserver.fluent.models.ConfigurationInner;
import com.azure.resourcemanager.postgresqlflexibleserver.fluent.models.DatabaseInner;
import com.azure.resourcemanager.postgresqlflexibleserver.fluent.models.ServerInner;
import com.azure.resourcemanager.privatedns.fluent.models.PrivateZoneInner;
import com.azure.resourcemanager.privatedns.fluent.models.VirtualNetworkLinkInner;
import com.azure.resourcemanager.resources.fluent.models.ResourceGroupInner;
import com.azure.resourcemanager.storage.fluent.models.BlobContainerInner;
import com.azure.resourcemanager.storage.fluent.models.BlobServicePropertiesInner;
import com.azure.resourcemanager.storage.models.StorageAccountCreateParameters;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Plan;
import fake.AzureFake;
import fake.ScriptRun;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Azure SDK's typed models as the reference for the shape of every body the toolkit sends: each create and
 * update body goes into the model of its resource and back to JSON; a property the model does not know (misspelt,
 * misplaced) or treats as read-only (a field sent back from a GET) is lost on the way, and the test names it.
 * PostgreSQL's models come from azure-resourcemanager-postgresqlflexibleserver 1.2.0-beta.1 (tests/run.java): 1.0.0, the
 * only GA release, speaks API 2022-12-01, where network.publicNetworkAccess is still read-only; the 2024-08-01 the
 * toolkit pins takes it on a create, as 1.2.0-beta.1's model does.
 */
class SdkShapeTest {
    @TempDir Path home;

    static final SerializerAdapter ADAPTER = SerializerFactory.createDefaultManagementSerializerAdapter();

    /** The model a PUT body of each resource type is written from (lower-cased type, as in ids). */
    static final Map<String, Class<?>> MODELS = new LinkedHashMap<>();
    static {
        MODELS.put("microsoft.resources/resourcegroups", ResourceGroupInner.class);
        MODELS.put("microsoft.network/virtualnetworks", VirtualNetworkInner.class);
        MODELS.put("microsoft.network/privatednszones", PrivateZoneInner.class);
        MODELS.put("microsoft.network/privatednszones/virtualnetworklinks", VirtualNetworkLinkInner.class);
        MODELS.put("microsoft.dbforpostgresql/flexibleservers", ServerInner.class);
        MODELS.put("microsoft.dbforpostgresql/flexibleservers/configurations", ConfigurationInner.class);
        MODELS.put("microsoft.dbforpostgresql/flexibleservers/databases", DatabaseInner.class);
        MODELS.put("microsoft.storage/storageaccounts", StorageAccountCreateParameters.class);
        MODELS.put("microsoft.storage/storageaccounts/blobservices", BlobServicePropertiesInner.class);
        MODELS.put("microsoft.storage/storageaccounts/blobservices/containers", BlobContainerInner.class);
        MODELS.put("microsoft.containerservice/managedclusters", ManagedClusterInner.class);
        MODELS.put("microsoft.containerservice/managedclusters/agentpools", AgentPoolInner.class);
        MODELS.put("microsoft.managedidentity/userassignedidentities", IdentityInner.class);
        MODELS.put("microsoft.managedidentity/userassignedidentities/federatedidentitycredentials", FederatedIdentityCredentialInner.class);
        MODELS.put("microsoft.authorization/roleassignments", RoleAssignmentCreateParameters.class);
        MODELS.put("microsoft.containerregistry/registries", com.azure.resourcemanager.containerregistry.fluent.models.RegistryInner.class);
        MODELS.put("microsoft.containerregistry/registries/cacherules", com.azure.resourcemanager.containerregistry.fluent.models.CacheRuleInner.class);
        MODELS.put("microsoft.containerregistry/registries/credentialsets", com.azure.resourcemanager.containerregistry.fluent.models.CredentialSetInner.class);
        MODELS.put("microsoft.keyvault/vaults", com.azure.resourcemanager.keyvault.models.VaultCreateOrUpdateParameters.class);
        MODELS.put("microsoft.keyvault/vaults/secrets", com.azure.resourcemanager.keyvault.models.SecretCreateOrUpdateParameters.class);
        MODELS.put("microsoft.authorization/roledefinitions", com.azure.resourcemanager.authorization.fluent.models.RoleDefinitionInner.class);
    }

    static String typeOf(String id) {
        String[] seg = id.split("/");
        if (id.toLowerCase(Locale.ROOT).contains("/providers/microsoft.authorization/roleassignments/")) return "microsoft.authorization/roleassignments";
        if (id.toLowerCase(Locale.ROOT).contains("/providers/microsoft.authorization/roledefinitions/")) return "microsoft.authorization/roledefinitions";
        int p = -1;
        for (int i = 0; i < seg.length; i++) if (seg[i].equalsIgnoreCase("providers")) p = i;
        if (p < 0) return "microsoft.resources/resourcegroups";
        StringBuilder t = new StringBuilder(seg[p + 1]);
        for (int i = p + 2; i < seg.length; i += 2) t.append('/').append(seg[i]);
        return t.toString().toLowerCase(Locale.ROOT);
    }

    /** JSON pointers of the leaves of {@code sent} that {@code back} lacks or holds with another value. */
    static List<String> lost(String path, JsonNode sent, JsonNode back) {
        List<String> out = new ArrayList<>();
        if (back == null || back.isMissingNode() || back.isNull()) {
            if (!sent.isNull()) out.add(path.isEmpty() ? "/" : path);
            return out;
        }
        if (sent.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = sent.fields(); it.hasNext(); ) {
                var e = it.next();
                out.addAll(lost(path + "/" + e.getKey(), e.getValue(), back.get(e.getKey())));
            }
        } else if (sent.isArray()) {
            if (!back.isArray() || back.size() != sent.size()) out.add(path);
            else for (int i = 0; i < sent.size(); i++) out.addAll(lost(path + "/" + i, sent.get(i), back.get(i)));
        } else if (sent.isNumber() && back.isNumber()) {
            if (sent.decimalValue().compareTo(back.decimalValue()) != 0) out.add(path);
        } else if (!sent.asText().equals(back.asText()) || sent.isBoolean() != back.isBoolean()) {
            out.add(path);
        }
        return out;
    }

    static List<String> roundTrip(String id, JsonNode body) throws Exception {
        Class<?> model = MODELS.get(typeOf(id));
        assertNotNull(model, "no SDK model for " + typeOf(id) + " (" + id + ")");
        Object typed = ADAPTER.deserialize(Json.compact(body), model, SerializerEncoding.JSON);
        JsonNode back = Json.parse(ADAPTER.serialize(typed, SerializerEncoding.JSON));
        return lost("", body, back).stream().map(p -> model.getSimpleName() + " lost " + p + " of " + id).toList();
    }

    /** Every body a mode sends: the creates of a first run, and each resource's update body against what then exists. */
    List<String> checkMode(boolean servicePrincipal) throws Exception {
        AzureFake fake = new AzureFake();
        List<String> args = new ArrayList<>(List.of("--prefix", "acme", "--yes"));
        if (servicePrincipal) args.add("--service-principal");
        ScriptRun.Result r = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of(), home), ScriptRun.signedIn(fake), args.toArray(new String[0]));
        assertEquals(0, r.code, r.err);
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (AzureFake.Recorded w : fake.writes()) {
            if (!w.method().equals("PUT") || !w.url().contains("management.azure.com")) continue;
            problems.addAll(roundTrip(w.path(), Json.parse(w.body())));
            checked++;
        }
        assertTrue(checked >= 16, "only " + checked + " creates seen");

        // Update bodies, as the toolkit builds them from what exists (the same code path as a run with a change).
        Stack stack = Stack.of("acme", Stack.DEFAULT_ENV, Stack.DEFAULT_LOCATION, Clouds.PUBLIC);
        Settings settings = servicePrincipal ? Defaults.settings("--service-principal") : Defaults.settings();
        List<Plan.Item> items = Desired.items(stack, settings, new Desired.Caller(AzureFake.DEFAULT_SUBSCRIPTION, fake.userObjectId(), "User"));
        Map<String, JsonNode> states = new LinkedHashMap<>();
        for (Plan.Item i : items) {
            if (!(i.handler() instanceof ArmResource arm)) continue;
            fake.resource(arm.id()).ifPresent(s -> states.put(i.key(), s));
            // A custom role definition is no resource of the group: the fake keeps it apart, as Azure does.
            String guid = arm.id().substring(arm.id().lastIndexOf('/') + 1);
            if (arm.id().toLowerCase(Locale.ROOT).contains("/roledefinitions/")) fake.customRoleDefinitions().stream()
                    .filter(d -> d.path("name").asText().equalsIgnoreCase(guid)).findFirst().ifPresent(s -> states.put(i.key(), s));
        }
        Plan.Outputs outputs = Plan.outputs(states);
        int updates = 0;
        for (Plan.Item i : items) {
            if (!(i.handler() instanceof ArmResource arm) || !states.containsKey(i.key())) continue;
            JsonNode update = arm.updateBody(states.get(i.key()), arm.body().apply(outputs));
            problems.addAll(roundTrip(arm.id(), update).stream().map(p -> "update: " + p).toList());
            updates++;
        }
        assertEquals(items.stream().filter(i -> i.handler() instanceof ArmResource).count(), updates);
        return problems;
    }

    @Test
    void everyBodyOfTheWorkloadIdentityModeSurvivesTheSdkModels() throws Exception {
        List<String> problems = checkMode(false);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void everyBodyOfTheServicePrincipalModeSurvivesTheSdkModels() throws Exception {
        List<String> problems = checkMode(true);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void everyBodyOfTheRegistryWithADockerHubLoginSurvivesTheSdkModels() throws Exception {
        AzureFake fake = new AzureFake();
        ScriptRun.Result r = ScriptRun.run(provision::run, new AzureLogin.Host(Map.of("DOCKERHUB_TOKEN", "dckr_pat_x"), home), ScriptRun.signedIn(fake),
                "--prefix", "acme", "--yes", "--dockerhub-user", "acmeml", "--cache-image", "pytorch/pytorch");
        assertEquals(0, r.code, r.err);
        List<String> problems = new ArrayList<>();
        int checked = 0;
        for (AzureFake.Recorded w : fake.writes()) {
            if (!w.method().equals("PUT") || !w.path().toLowerCase(Locale.ROOT).matches(".*/providers/microsoft\\.(containerregistry|keyvault)/.*")) continue;
            problems.addAll(roundTrip(w.path(), Json.parse(w.body())));
            checked++;
        }
        assertEquals(11, checked, "registry, vault, 2 secrets, credential set, 3 cache rules and the 3 role assignments on them");
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void theCheckCatchesAMisspeltAMisplacedAndAReadOnlyProperty() throws Exception {
        String aks = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c";
        assertEquals(List.of("ManagedClusterInner lost /properties/networkProfile/networkPlugnMode of " + aks),
                roundTrip(aks, Json.parse("{\"location\":\"eastus\",\"properties\":{\"networkProfile\":{\"networkPlugnMode\":\"overlay\"}}}")));
        assertEquals(List.of("ManagedClusterInner lost /properties/podCidr of " + aks),
                roundTrip(aks, Json.parse("{\"location\":\"eastus\",\"properties\":{\"podCidr\":\"10.244.0.0/16\"}}")));
        assertEquals(List.of("ManagedClusterInner lost /properties/fqdn of " + aks),
                roundTrip(aks, Json.parse("{\"location\":\"eastus\",\"properties\":{\"fqdn\":\"x.hcp.eastus.azmk8s.io\"}}")));
        String pg = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/p";
        assertEquals(List.of("ServerInner lost /properties/state of " + pg),
                roundTrip(pg, Json.parse("{\"location\":\"eastus\",\"properties\":{\"state\":\"Ready\"}}")));
    }
}
