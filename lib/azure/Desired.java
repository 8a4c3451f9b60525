package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import engine.Secrets;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;

/** Every resource a stack consists of, with its body, in dependency order. Pure: no I/O. */
public final class Desired {
    private Desired() {}

    public static final String API_GROUPS = "2022-09-01";
    public static final String API_NETWORK = "2024-05-01";
    public static final String API_DNS = "2024-06-01";
    public static final String API_POSTGRES = "2024-08-01";
    public static final String API_STORAGE = "2023-05-01";
    public static final String API_AKS = "2024-09-01";
    public static final String API_IDENTITY = "2023-01-31";
    public static final String API_ROLES = "2022-04-01";

    // The items' keys: what plans, outcomes and dependencies name them by.
    public static final String GROUP = "group";
    public static final String VNET = "vnet";
    public static final String DNS_ZONE = "dnszone";
    public static final String DNS_LINK = "dnslink";
    public static final String POSTGRES = "postgres";
    public static final String POSTGRES_TLS = "pgtls";
    public static final String DATABASE = "database";
    public static final String STORAGE = "storage";
    public static final String CONTAINER = "container";
    public static final String BLOB_SERVICE = "blobservice";
    public static final String AKS = "aks";
    public static final String WORKERS = "workers";
    public static final String GPU = "gpu";
    public static final String GPU_REMOVAL = "gpu-removal";
    public static final String ROLE_AKS_NETWORK = "role-aks-network";
    public static final String IDENTITY = "identity";
    public static final String APPLICATION = "application";
    public static final String PRINCIPAL = "principal";
    public static final String ROLE_BLOB = "role-blob";
    public static final String ROLE_AKS_CONTRIB = "role-aks-contrib";
    public static final String ROLE_AKS_USER = "role-aks-user";
    public static final String ADMIN_BLOB = "admin-blob";
    public static final String ADMIN_AKS = "admin-aks";
    public static final String ADMIN_AKS_RBAC = "admin-aks-rbac";
    public static final String FLOW_RUNNER = "role-flow-runner";
    public static final String CERTIFICATES = "aks-certificates";
    public static final String REGISTRY = "registry";
    public static final String ROLE_KUBELET_PULL = "role-kubelet-acrpull";
    public static final String ADMIN_ACR = "admin-acrpush";
    public static final String VAULT = "keyvault";
    public static final String SECRET_USER = "secret-dockerhub-user";
    public static final String SECRET_TOKEN = "secret-dockerhub-token";
    public static final String CREDENTIAL_SET = "credentialset";
    public static final String CREDENTIAL_SET_REMOVAL = "credentialset-removal";
    public static final String VAULT_REMOVAL = "keyvault-removal";
    public static final String ROLE_CREDENTIAL_SET = "role-credentialset-secrets";
    /** Prefix of a cache rule's key; the rest is the rule's name. */
    public static final String CACHE_RULE = "cacherule:";
    public static final String API_KEY_VAULT = "2024-11-01";

    /**
     * The Microsoft Entra application of the AKS API server: tokens for the Kubernetes API are asked for this
     * resource (AKS doc "Use Microsoft Entra ID authorization for the Kubernetes API in AKS"; kubelogin's --server-id).
     */
    public static final String AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630";

    /** What the resources in a stack's group are called, by their Resource Manager type (lowercase). */
    static final Map<String, String> KINDS = Map.ofEntries(
            Map.entry("microsoft.network/virtualnetworks", "virtual network"),
            Map.entry("microsoft.network/privatednszones", "private DNS zone"),
            Map.entry("microsoft.network/privatednszones/virtualnetworklinks", "private DNS zone link"),
            Map.entry("microsoft.dbforpostgresql/flexibleservers", "PostgreSQL flexible server"),
            Map.entry("microsoft.storage/storageaccounts", "storage account"),
            Map.entry("microsoft.containerservice/managedclusters", "AKS cluster"),
            Map.entry("microsoft.managedidentity/userassignedidentities", "managed identity"),
            Map.entry("microsoft.containerregistry/registries", "container registry"),
            Map.entry("microsoft.containerregistry/registries/cacherules", "cache rule"),
            Map.entry("microsoft.containerregistry/registries/credentialsets", "credential set"),
            Map.entry("microsoft.keyvault/vaults", "key vault"),
            Map.entry("microsoft.keyvault/vaults/secrets", "key vault secret"));

    /** How plans and teardown name a resource of this type; the type itself when it is not one of the stack's. */
    public static String kindOf(String armType) {
        return KINDS.getOrDefault(armType.toLowerCase(java.util.Locale.ROOT), armType);
    }

    /** Who runs the toolkit: needed for the admin's own role assignments. */
    public record Caller(String subscriptionId, String objectId, String principalType, String tenantId) {
        public Caller(String subscriptionId, String objectId, String principalType) {
            this(subscriptionId, objectId, principalType, null);
        }

        public static Caller unknown() {
            return new Caller("<subscription>", null, "User");
        }
    }

    /** The Kubernetes service account subjects federated with the identity (services and task pods). */
    public static List<String> federatedSubjects(Stack s) {
        return List.of("system:serviceaccount:" + s.kubeNamespace() + ":" + s.kubeServiceAccount(),
                "system:serviceaccount:" + s.servicesNamespace() + ":" + s.kubeServiceAccount());
    }

    public static List<Plan.Item> items(Stack s, Settings o, Caller c) {
        List<Plan.Item> items = new ArrayList<>();
        String rg = s.groupId(c.subscriptionId());
        String vnetId = rg + "/providers/Microsoft.Network/virtualNetworks/" + s.vnet();
        String dbSubnetId = vnetId + "/subnets/" + s.dbSubnet();
        String k8sSubnetId = vnetId + "/subnets/" + s.k8sSubnet();
        String zoneId = rg + "/providers/Microsoft.Network/privateDnsZones/" + s.dnsZone();
        String pgId = s.postgresId(c.subscriptionId());
        String storageId = s.storageId(c.subscriptionId());
        String containerId = s.containerId(c.subscriptionId());
        String aksId = s.aksId(c.subscriptionId());
        String identityId = s.identityId(c.subscriptionId());

        items.add(arm(GROUP, "resource group", s.resourceGroup(), null, List.of(),
                settings("region", s.location(), "tags", s.tags().toString()),
                rg, API_GROUPS, out -> located(s, s.location())));

        items.add(new Plan.Item(VNET, kindOf("Microsoft.Network/virtualNetworks"), s.vnet(), GROUP, List.of(GROUP),
                settings("address space", o.dbSubnetCidr() + ", " + o.k8sSubnetCidr(),
                        "db subnet", s.dbSubnet() + " " + o.dbSubnetCidr() + " (delegated to PostgreSQL flexible servers)",
                        "aks subnet", s.k8sSubnet() + " " + o.k8sSubnetCidr() + " (node addresses only: the pools need up to " + o.nodesNeeded() + ")"),
                new ArmResource(vnetId, API_NETWORK, out -> {
                    ObjectNode b = located(s, s.location());
                    ObjectNode p = b.putObject("properties");
                    p.putObject("addressSpace").putArray("addressPrefixes").add(o.dbSubnetCidr()).add(o.k8sSubnetCidr());
                    var subnets = p.putArray("subnets");
                    ObjectNode db = subnets.addObject().put("name", s.dbSubnet());
                    ObjectNode dbp = db.putObject("properties").put("addressPrefix", o.dbSubnetCidr());
                    dbp.putArray("serviceEndpoints").addObject().put("service", "Microsoft.Storage");
                    dbp.putArray("delegations").addObject().put("name", "postgres")
                            .putObject("properties").put("serviceName", "Microsoft.DBforPostgreSQL/flexibleServers");
                    subnets.addObject().put("name", s.k8sSubnet()).putObject("properties").put("addressPrefix", o.k8sSubnetCidr());
                    return b;
                }, Set.of(), keptSubnetLinks(s), null)));

        items.add(arm(DNS_ZONE, kindOf("Microsoft.Network/privateDnsZones"), s.dnsZone(), GROUP, List.of(GROUP),
                settings("scope", "private, for the PostgreSQL server's address"),
                zoneId, API_DNS, out -> located(s, "global")));

        items.add(arm(DNS_LINK, kindOf("Microsoft.Network/privateDnsZones/virtualNetworkLinks"), s.dnsLink(), DNS_ZONE, List.of(DNS_ZONE, VNET),
                settings("network", s.vnet(), "auto-registration", "off"),
                zoneId + "/virtualNetworkLinks/" + s.dnsLink(), API_DNS, out -> {
                    ObjectNode b = located(s, "global");
                    b.putObject("properties").put("registrationEnabled", false).putObject("virtualNetwork").put("id", vnetId);
                    return b;
                }));

        items.add(new Plan.Item(POSTGRES, kindOf("Microsoft.DBforPostgreSQL/flexibleServers"), s.postgresServer(), GROUP, List.of(DNS_LINK, VNET),
                settings("version", o.postgresVersion(), "sku", o.postgresSku() + " (" + o.postgresTier() + ")",
                        "storage", o.postgresStorageGb() + " GiB", "network", "private access only, subnet " + s.dbSubnet(),
                        "admin password", "generated, never shown or stored locally"),
                new ArmResource(pgId, API_POSTGRES, out -> {
                    ObjectNode b = located(s, s.location());
                    b.putObject("sku").put("name", o.postgresSku()).put("tier", o.postgresTier());
                    ObjectNode p = b.putObject("properties");
                    p.put("version", o.postgresVersion());
                    p.put("administratorLogin", s.postgresAdmin());
                    p.put("administratorLoginPassword", Secrets.password());
                    p.putObject("storage").put("storageSizeGB", o.postgresStorageGb());
                    p.putObject("network").put("delegatedSubnetResourceId", dbSubnetId)
                            .put("privateDnsZoneArmResourceId", zoneId).put("publicNetworkAccess", "Disabled");
                    p.putObject("backup").put("backupRetentionDays", 7).put("geoRedundantBackup", "Disabled");
                    p.putObject("highAvailability").put("mode", "Disabled");
                    return b;
                }, Set.of("/properties/administratorLoginPassword"))));

        // A server setting is a value, not a document: send just the value (the GET adds read-only metadata).
        items.add(new Plan.Item(POSTGRES_TLS, "PostgreSQL setting", "require_secure_transport", POSTGRES, List.of(POSTGRES),
                settings("value", "on (TLS required)"),
                new ArmResource(pgId + "/configurations/require_secure_transport", API_POSTGRES, out -> {
                    ObjectNode b = Json.obj();
                    b.putObject("properties").put("value", "on").put("source", "user-override");
                    return b;
                }, Set.of(), Set.of(), null)));

        items.add(arm(DATABASE, "PostgreSQL database", s.database(), POSTGRES, List.of(POSTGRES),
                settings("charset", "UTF8", "collation", "en_US.utf8"),
                pgId + "/databases/" + s.database(), API_POSTGRES, out -> {
                    ObjectNode b = Json.obj();
                    b.putObject("properties").put("charset", "UTF8").put("collation", "en_US.utf8");
                    return b;
                }));

        items.add(arm(STORAGE, kindOf("Microsoft.Storage/storageAccounts"), s.storageAccount(), GROUP, List.of(GROUP),
                settings("sku", "Standard_LRS, StorageV2", "security", "HTTPS only, TLS 1.2 minimum, no public blob access"),
                storageId, API_STORAGE, out -> {
                    ObjectNode b = located(s, s.location());
                    b.put("kind", "StorageV2");
                    b.putObject("sku").put("name", "Standard_LRS");
                    b.putObject("properties").put("supportsHttpsTrafficOnly", true).put("minimumTlsVersion", "TLS1_2")
                            .put("allowBlobPublicAccess", false);
                    return b;
                }));

        items.add(arm(CONTAINER, "blob container", s.container(), STORAGE, List.of(STORAGE),
                settings("access", "private", "sysroot", s.container() + "/" + s.sysrootPath()),
                containerId, API_STORAGE, out -> {
                    ObjectNode b = Json.obj();
                    b.putObject("properties").put("publicAccess", "None");
                    return b;
                }));

        // Soft delete: a blob or container deleted by a flow or a person stays restorable for a few days. It does not
        // outlive the account, so a teardown still removes everything (its plan says how much).
        // Fields: azure-rest-api-specs storage/resource-manager/Microsoft.Storage/stable/2023-05-01 blob.json
        // (BlobServiceProperties: deleteRetentionPolicy, containerDeleteRetentionPolicy; DeleteRetentionPolicy.days 1-365).
        items.add(arm(BLOB_SERVICE, "blob service", "default", STORAGE, List.of(STORAGE),
                settings("soft delete", "on: deleted blobs and containers can be restored for " + Limits.SOFT_DELETE_DAYS + " days"),
                storageId + "/blobServices/default", API_STORAGE, out -> {
                    ObjectNode b = Json.obj();
                    ObjectNode p = b.putObject("properties");
                    p.putObject("deleteRetentionPolicy").put("enabled", true).put("days", Limits.SOFT_DELETE_DAYS);
                    p.putObject("containerDeleteRetentionPolicy").put("enabled", true).put("days", Limits.SOFT_DELETE_DAYS);
                    return b;
                }));

        // Both pools in the cluster's own create: they come up in one operation. Later the worker pool is changed through
        // its agentPools resource only, and a cluster update sends its profile as it stands (AKS's agentPoolProfiles
        // describes every pool; the fake refuses a cluster PUT that leaves one out).
        // Fields: azure-rest-api-specs, specification/containerservice/resource-manager/Microsoft.ContainerService/aks/
        // stable/2024-09-01/managedClusters.json (ManagedClusterProperties, ContainerServiceNetworkProfile: networkPlugin,
        // networkPluginMode "overlay", podCidr; ManagedClusterAgentPoolProfile; identity.principalId and fqdn readOnly).
        items.add(new Plan.Item(AKS, kindOf("Microsoft.ContainerService/managedClusters"), s.aks(), GROUP, List.of(GROUP, VNET),
                settings("kubernetes", o.kubernetesVersion() == null ? "region default" : o.kubernetesVersion(),
                        "system pool", s.systemPool() + " " + o.systemVmSize() + ", autoscale " + o.systemMin() + "-" + o.systemMax(),
                        "worker pool", s.workerPool() + (o.spot() ? ", created after the cluster (a Spot pool cannot be in its create)"
                                : ", created in the same operation"),
                        "network", networkSetting(s, o),
                        "identity", "system-assigned, Network Contributor on " + s.k8sSubnet() + "; OIDC issuer and workload identity on",
                        "sign-in", "Microsoft Entra ID, authorized by Azure RBAC; local accounts off (no static kubeconfig works)",
                        "upgrades", "auto-upgrade channel stable"),
                new ArmResource(aksId, API_AKS, out -> {
                    boolean exists = !out.get(AKS, "/id").equals(Plan.UNKNOWN);
                    ObjectNode b = located(s, s.location());
                    b.putObject("identity").put("type", "SystemAssigned");
                    b.putObject("sku").put("name", "Base").put("tier", "Free");
                    ObjectNode p = b.putObject("properties");
                    if (o.kubernetesVersion() != null) p.put("kubernetesVersion", o.kubernetesVersion());
                    p.put("dnsPrefix", s.aksDnsPrefix());
                    p.put("enableRBAC", true);
                    // People sign in with Entra ID and are authorized by Azure RBAC role assignments; no static credential.
                    p.putObject("aadProfile").put("managed", true).put("enableAzureRBAC", true);
                    p.put("disableLocalAccounts", true);
                    if (exists && !"true".equals(out.get(AKS, "/properties/disableLocalAccounts"))) {
                        // Certificates handed out while local accounts were on stay valid until rotated: owed (CertificateRotation).
                        ((ObjectNode) b.get("tags")).put(CertificateRotation.TAG, CertificateRotation.PENDING);
                    }
                    var pools = p.putArray("agentPoolProfiles");
                    pools.addObject().put("name", s.systemPool()).put("mode", "System").put("vmSize", o.systemVmSize())
                            .put("osType", "Linux").put("type", "VirtualMachineScaleSets").put("enableAutoScaling", true)
                            .put("minCount", o.systemMin()).put("maxCount", o.systemMax()).put("vnetSubnetID", k8sSubnetId);
                    if (!exists && !o.spot()) pools.addObject().put("name", s.workerPool()).setAll(Pools.workerProfile(s, o, k8sSubnetId));
                    ObjectNode net = p.putObject("networkProfile");
                    // An existing cluster keeps the network it was built with (kept from its state on an update): no silent migration.
                    if (!exists) net.put("networkPlugin", "azure").put("networkPluginMode", "overlay").put("podCidr", o.podCidr());
                    net.put("serviceCidr", Settings.SERVICE_CIDR).put("dnsServiceIP", Settings.DNS_SERVICE_IP).put("loadBalancerSku", "standard");
                    p.putObject("autoUpgradeProfile").put("upgradeChannel", "stable");
                    p.putObject("oidcIssuerProfile").put("enabled", true);
                    p.putObject("securityProfile").putObject("workloadIdentity").put("enabled", true);
                    return b;
                }, Set.of(), Set.of("/tags", "/properties/agentPoolProfiles/" + s.systemPool() + "/count",
                        "/properties/agentPoolProfiles/" + s.workerPool(), "/properties/agentPoolProfiles/" + s.gpuPool(),
                        "/properties/networkProfile"), null)));

        items.add(new Plan.Item(WORKERS, "AKS node pool", s.workerPool(), AKS, List.of(AKS),
                settings("vm size", o.workerVmSize(), "priority", Pools.priority(o.spot()), "autoscale", o.workersMin() + "-" + o.workersMax(),
                        "mode", "User", "runs", "Metaflow tasks (node label " + Pools.TASK_LABEL + "=" + Pools.TASK_LABEL_VALUE + ")",
                        "created", o.spot() ? "through its own agentPools resource, after the cluster"
                                : "inside the AKS cluster's create; later changes through its own agentPools resource"),
                new ArmResource(aksId + "/agentPools/" + s.workerPool(), API_AKS, out -> {
                    ObjectNode b = Json.obj();
                    b.set("properties", Pools.workerProfile(s, o, k8sSubnetId));
                    return b;
                }, Set.of("/properties/count"), Set.of("/properties/count", "/properties/tags"), o.spot() ? null : "/properties/agentPoolProfiles")));

        // The GPU pool has its own agentPools resource; dropping --gpu-pool deletes it (Pools.refuseBusyGpuRemoval guards that).
        if (o.gpu()) {
            items.add(new Plan.Item(GPU, "AKS node pool", s.gpuPool(), AKS, List.of(AKS, WORKERS),
                    settings("vm size", o.gpuVmSize() + " (GPU)", "priority", Pools.priority(false), "autoscale", o.gpuMin() + "-" + o.gpuMax()
                                    + (o.gpuMin() == 0 ? " (no node, no cost, until a GPU step asks for one)" : ""), "mode", "User",
                            "runs", "steps with @kubernetes(gpu=N) only (taint " + Pools.GPU_TAINT + ")"),
                    new ArmResource(aksId + "/agentPools/" + s.gpuPool(), API_AKS, out -> {
                        ObjectNode b = Json.obj();
                        b.set("properties", Pools.gpuProfile(s, o, k8sSubnetId));
                        return b;
                    }, Set.of("/properties/count"), Set.of("/properties/count", "/properties/tags"), null)));
        } else {
            items.add(new Plan.Item(GPU_REMOVAL, "AKS node pool", s.gpuPool(), AKS, List.of(AKS, WORKERS),
                    settings("why", "--gpu-pool is no longer given"), new ArmRemoval(aksId + "/agentPools/" + s.gpuPool(), API_AKS)));
        }

        items.add(role(ROLE_AKS_NETWORK, k8sSubnetId, VNET, Roles.NETWORK_CONTRIBUTOR, AKS, "/identity/principalId",
                "ServicePrincipal", s.aks() + "'s identity", s.k8sSubnet(), c));

        String principalKey;
        String principalType;
        if (!o.servicePrincipal()) {
            items.add(arm(IDENTITY, kindOf("Microsoft.ManagedIdentity/userAssignedIdentities"), s.identity(), GROUP, List.of(GROUP),
                    settings("used by", "Metaflow services and task pods (workload identity)"),
                    identityId, API_IDENTITY, out -> located(s, s.location())));
            int i = 0;
            String previous = null;
            for (String subject : federatedSubjects(s)) {
                String name = "k8s-" + subject.substring(subject.lastIndexOf(':', subject.lastIndexOf(':') - 1) + 1).replace(':', '-');
                String key = i++ == 0 ? "federation" : "federation" + i;
                // One at a time: Azure refuses concurrent writes of credentials under one identity with 409 (Entra docs,
                // "Important considerations and restrictions for federated identity credentials").
                List<String> after = previous == null ? List.of(IDENTITY, AKS) : List.of(IDENTITY, AKS, previous);
                previous = key;
                items.add(arm(key, "federated credential", name, IDENTITY, after,
                        settings("subject", subject, "issuer", "the AKS cluster's OIDC issuer"),
                        identityId + "/federatedIdentityCredentials/" + name, API_IDENTITY, out -> {
                            ObjectNode b = Json.obj();
                            ObjectNode p = b.putObject("properties");
                            p.put("issuer", out.get(AKS, "/properties/oidcIssuerProfile/issuerURL"));
                            p.put("subject", subject);
                            p.putArray("audiences").add("api://AzureADTokenExchange");
                            return b;
                        }));
            }
            principalKey = IDENTITY;
            principalType = "ServicePrincipal";
        } else {
            items.add(new Plan.Item(APPLICATION, "AAD application", s.applicationName(), null, List.of(),
                    settings("credential", "client secret minted by services.java and stored only in the cluster"),
                    new Graph.Application(s.applicationName(), s.name())));
            items.add(new Plan.Item(PRINCIPAL, "service principal", s.applicationName(), APPLICATION, List.of(APPLICATION),
                    settings("for", s.applicationName()), new Graph.ServicePrincipal(APPLICATION)));
            principalKey = PRINCIPAL;
            principalType = "ServicePrincipal";
        }
        String principalPointer = principalKey.equals(IDENTITY) ? "/properties/principalId" : "/id";
        String principalLabel = principalKey.equals(IDENTITY) ? s.identity() : s.applicationName();
        items.add(role(ROLE_BLOB, containerId, CONTAINER, Roles.BLOB_DATA_CONTRIBUTOR, principalKey, principalPointer,
                principalType, principalLabel, s.container(), c));
        if (o.servicePrincipal()) {
            items.add(role(ROLE_AKS_CONTRIB, aksId, AKS, Roles.AKS_CONTRIBUTOR, principalKey, principalPointer,
                    principalType, principalLabel, s.aks(), c));
            items.add(role(ROLE_AKS_USER, aksId, AKS, Roles.AKS_CLUSTER_USER, principalKey, principalPointer,
                    principalType, principalLabel, s.aks(), c));
        }
        {
            items.add(adminRole(ADMIN_BLOB, containerId, CONTAINER, Roles.BLOB_DATA_CONTRIBUTOR, c, s.container()));
            items.add(adminRole(ADMIN_AKS, aksId, AKS, Roles.AKS_CLUSTER_USER, c, s.aks()));
            items.add(adminRole(ADMIN_AKS_RBAC, aksId, AKS, Roles.AKS_RBAC_CLUSTER_ADMIN, c, s.aks()));
        }
        items.addAll(registry(s, o.registry(), c));
        String registryId = s.registryId(c.subscriptionId());
        items.add(role(ROLE_KUBELET_PULL, registryId, REGISTRY, Roles.ACR_PULL, AKS, "/properties/identityProfile/kubeletidentity/objectId",
                "ServicePrincipal", s.aks() + "'s kubelet identity", s.registry(), c));
        items.add(adminRole(ADMIN_ACR, registryId, REGISTRY, Roles.ACR_PUSH, c, s.registry()));
        items.add(FlowRunner.definition(s, c));
        // No parent: read directly, so a cluster this run creates (with local accounts off from the start) owes nothing.
        items.add(new Plan.Item(CERTIFICATES, "AKS certificates", s.aks(), null, List.of(AKS),
                settings("rotation", "only when the cluster had local accounts: revokes every kubeconfig handed out before; "
                        + "the cluster's components restart and it takes a while"),
                new CertificateRotation(aksId)));
        return items;
    }

    /**
     * The stack's container registry (admin user and anonymous pull off: every pull is a signed-in one), its cache rules
     * and, with a Docker Hub login, the Key Vault and credential set the rules pull Docker Hub with.
     */
    static List<Plan.Item> registry(Stack s, Registry.Options r, Caller c) {
        List<Plan.Item> items = new ArrayList<>();
        String registryId = s.registryId(c.subscriptionId());
        items.add(arm(REGISTRY, kindOf("Microsoft.ContainerRegistry/registries"), s.registry(), GROUP, List.of(GROUP),
                settings("sku", r.sku(), "admin user", "off", "anonymous pull", "off (the cluster pulls with its kubelet identity's AcrPull)",
                        "login server", s.registry() + ".<the cloud's registry suffix, e.g. azurecr.io>"),
                registryId, Registry.API, out -> {
                    ObjectNode b = located(s, s.location());
                    b.putObject("sku").put("name", r.sku());
                    b.putObject("properties").put("adminUserEnabled", false).put("anonymousPullEnabled", false);
                    return b;
                }));
        String credentialSetId = registryId + "/credentialSets/" + Registry.CREDENTIAL_SET;
        if (r.dockerHub()) {
            String vaultId = s.vaultId(c.subscriptionId());
            // RBAC authorization (no access policies); soft delete keeps a deleted vault 7 days (the least Key Vault takes):
            // teardown purges it, and a provision finding this stack's vault soft-deleted recovers it (KeyVault.Vault).
            items.add(new Plan.Item(VAULT, kindOf("Microsoft.KeyVault/vaults"), s.vault(), GROUP, List.of(GROUP),
                    settings("holds", "the Docker Hub login of the registry's cache (secrets " + Registry.SECRET_USER + ", " + Registry.SECRET_TOKEN + ")",
                            "authorization", "Azure RBAC (no access policies)", "soft delete", "7 days; teardown purges the vault, "
                                    + "and a re-provision recovers this stack's vault if it is still soft-deleted"),
                    new KeyVault.Vault(new ArmResource(s.vaultId(c.subscriptionId()), API_KEY_VAULT, out -> {
                        ObjectNode b = located(s, s.location());
                        ObjectNode p = b.putObject("properties");
                        p.put("tenantId", c.tenantId() == null ? Plan.UNKNOWN : c.tenantId());
                        p.putObject("sku").put("family", "A").put("name", "standard");
                        p.put("enableRbacAuthorization", true).put("softDeleteRetentionInDays", 7);
                        p.putArray("accessPolicies");
                        return b;
                    }, Set.of(), Set.of("/tags"), null), s.location(), s.vault())));
            items.add(KeyVault.secret(SECRET_USER, vaultId, Registry.SECRET_USER, r.dockerHubUser(), s, "the Docker Hub user name"));
            items.add(KeyVault.secret(SECRET_TOKEN, vaultId, Registry.SECRET_TOKEN, r.dockerHubToken() == null ? null : r.dockerHubToken().value(), s,
                    r.dockerHubToken() == null ? "the Docker Hub token stored by an earlier run (kept: none given now)"
                            : "the Docker Hub token (from DOCKERHUB_TOKEN or --dockerhub-token-file; never shown)"));
            items.add(new Plan.Item(CREDENTIAL_SET, kindOf("Microsoft.ContainerRegistry/registries/credentialSets"), Registry.CREDENTIAL_SET,
                    REGISTRY, List.of(REGISTRY, VAULT),
                    settings("login server", Registry.DOCKER_HUB, "login", "user " + r.dockerHubUser() + ", token in key vault " + s.vault(),
                            "identity", "system-assigned (reads the two secrets)"),
                    new ArmResource(credentialSetId, Registry.API, out -> {
                        ObjectNode b = Json.obj();
                        b.putObject("identity").put("type", "SystemAssigned");
                        ObjectNode p = b.putObject("properties").put("loginServer", Registry.DOCKER_HUB);
                        String vaultUri = out.get(VAULT, "/properties/vaultUri");
                        String base = vaultUri.endsWith("/") ? vaultUri : vaultUri + "/";
                        p.putArray("authCredentials").addObject().put("name", "Credential1")
                                .put("usernameSecretIdentifier", base + "secrets/" + Registry.SECRET_USER)
                                .put("passwordSecretIdentifier", base + "secrets/" + Registry.SECRET_TOKEN);
                        return b;
                    }, Set.of())));
            items.add(role(ROLE_CREDENTIAL_SET, vaultId, VAULT, Roles.KEY_VAULT_SECRETS_USER, CREDENTIAL_SET, "/identity/principalId",
                    "ServicePrincipal", "credential set " + Registry.CREDENTIAL_SET, s.vault(), c));
        }
        for (Registry.CacheRule rule : Registry.cacheRules(r)) {
            List<String> after = rule.credential() ? List.of(REGISTRY, CREDENTIAL_SET, ROLE_CREDENTIAL_SET) : List.of(REGISTRY);
            items.add(new Plan.Item(CACHE_RULE + rule.name(), kindOf("Microsoft.ContainerRegistry/registries/cacheRules"), rule.name(), REGISTRY, after,
                    settings("pulls of", rule.target(), "come from", rule.source() + (rule.credential() ? " (with the Docker Hub login)" : ""),
                            "for", rule.why()),
                    new CacheRules.Resource(new ArmResource(registryId + "/cacheRules/" + rule.name(), Registry.API, out -> {
                        ObjectNode b = Json.obj();
                        ObjectNode p = b.putObject("properties").put("sourceRepository", rule.source()).put("targetRepository", rule.target());
                        if (rule.credential()) p.put("credentialSetResourceId", credentialSetId);
                        return b;
                    }, Set.of()))));
        }
        if (!r.dockerHub()) {
            // --dockerhub-user no longer given: the rules went back to the mirror above; then the login is removed for good.
            List<String> rulesFirst = new ArrayList<>(List.of(REGISTRY));
            for (Registry.CacheRule rule : Registry.cacheRules(r)) rulesFirst.add(CACHE_RULE + rule.name());
            items.add(new Plan.Item(CREDENTIAL_SET_REMOVAL, kindOf("Microsoft.ContainerRegistry/registries/credentialSets"), Registry.CREDENTIAL_SET,
                    REGISTRY, rulesFirst, settings("why", "--dockerhub-user is no longer given"), new ArmRemoval(credentialSetId, Registry.API)));
            items.add(new Plan.Item(VAULT_REMOVAL, kindOf("Microsoft.KeyVault/vaults"), s.vault(), GROUP, List.of(CREDENTIAL_SET_REMOVAL),
                    settings("why", "--dockerhub-user is no longer given: the vault and its Docker Hub secrets are deleted and purged"),
                    new KeyVault.Removal(s.vaultId(c.subscriptionId()), s.location(), s.vault())));
        }
        return items;
    }

    /** A role for one of the stack's own principals, made in this run: its id comes from that item's outputs. */
    private static Plan.Item role(String key, String scope, String scopeKey, String role, String principalKey,
                                  String principalPointer, String principalType, String principalLabel, String scopeLabel, Caller c) {
        return Roles.assignment(key, scopeKey, List.of(scopeKey, principalKey), scope, scopeLabel, role,
                new Roles.Principal(out -> out.get(principalKey, principalPointer), principalKey, principalType, principalLabel, null), c,
                settings("to", principalLabel, "on", scopeLabel));
    }

    /** A role for you, the signed-in caller (unknown without a sign-in). */
    private static Plan.Item adminRole(String key, String scope, String scopeKey, String role, Caller c, String scopeLabel) {
        String principal = c.objectId() == null ? Plan.UNKNOWN : c.objectId();
        return Roles.assignment(key, scopeKey, List.of(scopeKey), scope, scopeLabel, role,
                new Roles.Principal(out -> principal, principal, c.principalType(), "you", null), c,
                settings("to", "you (the signed-in " + (c.principalType().equals("User") ? "user" : "principal") + ")", "on", scopeLabel));
    }

    static String networkSetting(Stack s, Settings o) {
        return "Azure CNI Overlay: nodes in " + s.k8sSubnet() + ", pods " + o.podCidr() + ", services " + Settings.SERVICE_CIDR;
    }

    /** Settings an update may carry from the subnets as they stand: links made outside the toolkit (a policy's NSG). */
    private static Set<String> keptSubnetLinks(Stack s) {
        Set<String> keep = new java.util.LinkedHashSet<>();
        keep.add("/tags");
        for (String subnet : List.of(s.dbSubnet(), s.k8sSubnet())) {
            for (String link : List.of("networkSecurityGroup", "routeTable", "natGateway")) {
                keep.add("/properties/subnets/" + subnet + "/properties/" + link);
            }
        }
        return keep;
    }

    private static Plan.Item arm(String key, String kind, String name, String parent, List<String> deps, Map<String, String> settings,
                                 String id, String api, Function<Plan.Outputs, JsonNode> body) {
        return new Plan.Item(key, kind, name, parent, deps, settings, new ArmResource(id, api, body, Set.of()));
    }

    private static ObjectNode located(Stack s, String location) {
        ObjectNode b = Json.obj();
        b.put("location", location);
        b.set("tags", Json.tags(s.tags()));
        return b;
    }

    static Map<String, String> settings(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return m;
    }
}
