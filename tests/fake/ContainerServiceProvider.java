package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Microsoft.ContainerService managed clusters and agent pools. A cluster's {@code agentPoolProfiles} become agent pool
 * resources (and are answered from them); pools need a known, unrestricted VM size, a subnet that is not delegated and
 * big enough, and regional vCPU quota (a shortfall fails the operation, as AKS does). On creation a cluster gets its
 * node resource group, kubelet identity, FQDN, network profile and, if asked, OIDC issuer and system identity.
 */
final class ContainerServiceProvider extends ArmProvider {
    static final String CLUSTERS = "microsoft.containerservice/managedclusters";
    static final String POOLS = "microsoft.containerservice/managedclusters/agentpools";
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?");
    private static final Pattern DNS_PREFIX = Pattern.compile("[a-zA-Z0-9]([a-zA-Z0-9-]{0,52}[a-zA-Z0-9])?");
    private static final Pattern POOL_NAME = Pattern.compile("[a-z][a-z0-9]{0,11}");

    /** The AKS Microsoft Entra server application: the audience of tokens for the Kubernetes API (AKS docs "kubelogin"). */
    static final String AKS_SERVER_APP = "6dae42f8-4368-4678-94ff-3960e28e3630";
    /** The AKS Microsoft Entra client application kubelogin signs people in with (AKS docs "kubelogin"). */
    static final String KUBELOGIN_CLIENT = "80faf920-1908-4b52-b5ef-a8e7bedfc67a";
    private static final String ROTATING = "RotatingClusterCertificates";
    private static final String GENERATION = "certificateGeneration";
    private static final Pattern GUID = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    /** A local-account credential handed out: the cluster, the certificate generation it was signed in, user or admin. */
    record LocalCredential(String clusterKey, long generation, String kind) { }

    private final ComputeProvider compute;
    private final NetworkProvider network;
    /**
     * A minor version as the kubernetesVersions answer lists it (azure-rest-api-specs aks/stable/2024-09-01
     * examples/KubernetesVersions_List.json: version, isDefault, isPreview, capabilities.supportPlan, patchVersions).
     */
    record KVersion(String minor, String patch, boolean ltsOnly, boolean preview, boolean isDefault) {}

    /**
     * As AKS lists them in late 2026 (Azure/AKS CHANGELOG 2026-07-17: patches 1.36.2, 1.35.6, 1.34.9, 1.33.13; 1.33 only under
     * Long-Term Support). Which one is the default, and the preview 1.37, are this fake's choices.
     */
    List<KVersion> kubernetesVersions = List.of(new KVersion("1.33", "1.33.13", true, false, false),
            new KVersion("1.34", "1.34.9", false, false, false), new KVersion("1.35", "1.35.6", false, false, true),
            new KVersion("1.36", "1.36.2", false, false, false), new KVersion("1.37", "1.37.0", false, true, false));

    private KVersion defaultVersion() {
        return kubernetesVersions.stream().filter(KVersion::isDefault).findFirst().orElse(kubernetesVersions.get(kubernetesVersions.size() - 1));
    }
    String clusterApiServer;
    /** Every local-account token handed out by listClusterUserCredential / listClusterAdminCredential. */
    final Map<String, LocalCredential> localCredentials = new LinkedHashMap<>();

    ContainerServiceProvider(ArmCore core, ComputeProvider compute, NetworkProvider network) {
        super(core, "Microsoft.ContainerService", List.of("2024-09-01", "2024-10-01", "2025-01-01", "2025-02-01", "2025-03-01",
                "2025-05-01", "2025-07-01", "2025-08-01", "2025-09-01"));
        this.compute = compute;
        this.network = network;
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.ContainerService/managedClusters", TypeSpec.Lro.BODY, true),
                new TypeSpec("Microsoft.ContainerService/managedClusters/agentPools", TypeSpec.Lro.BODY, false, TypeSpec.Trait.KEEPS_LOCATION));
    }

    private List<Res> poolsOf(Res cluster) {
        List<Res> out = core.all(POOLS, cluster.key() + "/agentpools/");
        out.sort(Comparator.comparing(x -> x.name().toLowerCase(Locale.ROOT)));
        return out;
    }

    private boolean isSystem(Res pool) {
        return "System".equalsIgnoreCase(core.render(pool).path("properties").path("mode").asText());
    }

    private int systemPools(Res cluster, String excludeKey) {
        int n = 0;
        for (Res p : poolsOf(cluster)) if (!p.key().equals(excludeKey) && isSystem(p)) n++;
        return n;
    }

    @Override public Answer action(Req q, ArmId a) {
        List<String> t = a.typeSegs().stream().map(s -> s.toLowerCase(Locale.ROOT)).toList();
        if (a.scope().equalsIgnoreCase("/subscriptions/" + a.sub()) && t.equals(List.of("locations", "kubernetesversions"))) {
            q.requireGet();
            ObjectNode out = Answer.M.createObjectNode();
            ArrayNode v = out.putArray("values");
            for (KVersion ver : kubernetesVersions) {
                ObjectNode k = v.addObject();
                k.put("version", ver.minor());
                if (ver.isDefault()) k.put("isDefault", true);
                if (ver.preview()) k.put("isPreview", true);
                var plans = k.putObject("capabilities").putArray("supportPlan");
                if (!ver.ltsOnly()) plans.add("KubernetesOfficial");
                plans.add("AKSLongTermSupport");
                k.putObject("patchVersions").putObject(ver.patch()).putArray("upgrades");
            }
            return Answer.json(200, out);
        }
        if (t.size() != 2 || !t.get(0).equals("managedclusters")) return null;
        String verb = t.get(1);
        if (!List.of("listclusterusercredential", "listclusteradmincredential", "rotateclustercertificates").contains(verb)) return null;
        q.requirePost();
        Answer noRg = core.rgMissing(a);
        if (noRg != null) return noRg;
        Res c = core.get(a.path().substring(0, a.path().lastIndexOf('/')));
        if (c == null) return ArmCore.notFound(a, core.type(CLUSTERS));
        return switch (verb) {
            case "rotateclustercertificates" -> rotateCertificates(q, a, c);
            case "listclusteradmincredential" -> adminCredential(a, c);
            default -> userCredential(q, a, c);
        };
    }

    private static boolean entra(Res c) {
        return c.props().path("aadProfile").path("managed").asBoolean(false);
    }

    private static boolean localAccountsDisabled(Res c) {
        return c.props().path("disableLocalAccounts").asBoolean(false);
    }

    private static long generation(Res c) {
        return c.secrets.path(GENERATION).asLong(0);
    }

    /** The refusal of a static (local-account) credential (AKS docs "Manage local accounts", az aks get-credentials --admin). */
    private static Answer staticCredentialRefused() {
        return Answer.error(400, "BadRequest", "Getting static credential isn't allowed because this cluster is set to disable local accounts.");
    }

    private String server(Res c) {
        String fqdn = core.render(c).path("properties").path("fqdn").asText();
        return clusterApiServer != null ? clusterApiServer : "https://" + fqdn + ":443";
    }

    private String localToken(Res c, String kind) {
        String token = "aks-local-" + kind + "-" + java.util.UUID.randomUUID().toString().replace("-", "");
        localCredentials.put(token, new LocalCredential(c.key(), generation(c), kind));
        return token;
    }

    /** The local account a token stands for ("clusterUser" or "clusterAdmin"), while the certificates it came with are current; else null. */
    String localAccount(String clusterId, String token) {
        LocalCredential l = localCredentials.get(token);
        Res c = core.get(clusterId);
        if (l == null || c == null || !l.clusterKey().equals(c.key()) || l.generation() != generation(c)) return null;
        return l.kind();
    }

    private static String kubeconfig(String clusterName, String server, String user, String userBody) {
        String ca = server.startsWith("https:") ? "    certificate-authority-data: ZmFrZQ==\n" : "";
        return "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n" + ca + "    server: " + server + "\n  name: " + clusterName
                + "\ncontexts:\n- context:\n    cluster: " + clusterName + "\n    user: " + user + "\n  name: " + clusterName
                + "\ncurrent-context: " + clusterName + "\nusers:\n- name: " + user + "\n  user:\n" + userBody;
    }

    private static Answer credentials(String name, String kubeconfig) {
        ObjectNode out = Answer.M.createObjectNode();
        ObjectNode k = out.putArray("kubeconfigs").addObject();
        k.put("name", name);
        k.put("value", Base64.getEncoder().encodeToString(kubeconfig.getBytes(StandardCharsets.UTF_8)));
        return Answer.json(200, out);
    }

    /**
     * listClusterUserCredential (managedClusters.json 2024-09-01, query parameter {@code format}: "azure" or "exec", "only
     * apply to AAD clusters"): an Entra cluster's user kubeconfig signs in through kubelogin (exec, the default since
     * Kubernetes 1.24 per AKS docs "Microsoft Entra integration") or the legacy azure auth-provider; any other cluster's is
     * a local account's static credential, refused once local accounts are disabled.
     */
    private Answer userCredential(Req q, ArmId a, Res c) {
        String user = "clusterUser_" + a.rg() + "_" + c.name();
        String format = q.q("format");
        if (format != null && !format.equalsIgnoreCase("azure") && !format.equalsIgnoreCase("exec")) {
            return Answer.error(400, "InvalidParameter", "The value '" + format + "' of parameter 'format' is invalid: use 'azure' or 'exec'.");
        }
        if (!entra(c)) {
            if (localAccountsDisabled(c)) return staticCredentialRefused();
            return credentials("clusterUser", kubeconfig(c.name(), server(c), user, "    token: " + localToken(c, "clusterUser") + "\n"));
        }
        String tenant = core.render(c).path("properties").path("aadProfile").path("tenantID").asText(AzureFake.TENANT_ID);
        String body;
        if (format != null && format.equalsIgnoreCase("azure")) {
            body = "    auth-provider:\n      config:\n        apiserver-id: " + AKS_SERVER_APP + "\n        client-id: " + KUBELOGIN_CLIENT
                    + "\n        config-mode: '1'\n        environment: AzurePublicCloud\n        tenant-id: " + tenant + "\n      name: azure\n";
        } else {
            body = "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      args:\n      - get-token\n      - --environment\n"
                    + "      - AzurePublicCloud\n      - --server-id\n      - " + AKS_SERVER_APP + "\n      - --client-id\n      - " + KUBELOGIN_CLIENT
                    + "\n      - --tenant-id\n      - " + tenant + "\n      - --login\n      - devicecode\n      command: kubelogin\n      env: null\n"
                    + "      installHint: |2\n\n        kubelogin is not installed which is required to connect to AAD enabled cluster.\n\n"
                    + "        To learn more, please go to https://aka.ms/aks/kubelogin\n      provideClusterInfo: false\n";
        }
        return credentials("clusterUser", kubeconfig(c.name(), server(c), user, body));
    }

    /** listClusterAdminCredential: the local admin account's static credential, refused once local accounts are disabled. */
    private Answer adminCredential(ArmId a, Res c) {
        if (localAccountsDisabled(c)) return staticCredentialRefused();
        String user = "clusterAdmin_" + a.rg() + "_" + c.name();
        return credentials("clusterAdmin", kubeconfig(c.name() + "-admin", server(c), user, "    token: " + localToken(c, "clusterAdmin") + "\n"));
    }

    /**
     * rotateClusterCertificates: a long-running operation (202, Azure-AsyncOperation and Location) during which the
     * cluster reports provisioningState RotatingClusterCertificates (Azure/azure-service-operator
     * v2/api/containerservice/customizations/managed_cluster_extensions.go lists it among the blocking states; AKS docs
     * "Rotate certificates": it recreates the nodes, up to 30 minutes). Once done, every certificate handed out before
     * is signed by a CA the cluster no longer trusts.
     */
    private Answer rotateCertificates(Req q, ArmId a, Res c) {
        if (c.busy()) return ArmCore.anotherOp(c);
        core.checkAllowed("Microsoft.ContainerService/managedClusters/rotateClusterCertificates/action", c.id);
        Operations.Op op = core.ops.start(q, c, false, a.sub(), "Microsoft.ContainerService", c.location(), null, null);
        c.state = ROTATING;
        c.secrets.put(ROTATING, true);
        return Answer.empty(202, Operations.headers(q, op, true, true));
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        ObjectNode props = body.with("properties");
        if (a.typeLower().equals(CLUSTERS)) return validateCluster(a, existing, body, props);
        Res cluster = core.get(core.parentKey(a));
        validatePool(a.name(), props, cluster.location(), false);
        if (existing != null) samePriority(a.name(), core.render(existing).path("properties"), props);
        if (!props.has("mode")) props.put("mode", "User");
        if (props.path("mode").asText().equalsIgnoreCase("User") && existing != null && isSystem(existing)
                && systemPools(cluster, existing.key()) == 0) {
            throw Answer.fail(400, "OperationNotAllowed", "A cluster must have at least one System mode agent pool.");
        }
        ObjectNode prof = props.deepCopy();
        prof.put("name", a.name());
        checkNetwork(cluster, cluster.props().deepCopy(), List.of(prof));
        return compute.quotaCheck(cluster.location(), List.of(prof), Set.of(a.path().toLowerCase(Locale.ROOT)));
    }

    private void validatePool(String name, ObjectNode p, String location, boolean inline) {
        if (!POOL_NAME.matcher(name).matches()) {
            throw Answer.fail(400, "InvalidAgentPoolName", "The agent pool name '" + name + "' is invalid: Linux agent pool names must be lowercase"
                    + " alphanumeric characters, start with a lowercase letter and be at most 12 characters long.");
        }
        String size = p.path("vmSize").asText("");
        ComputeProvider.Sku sku = compute.sku(size);
        if (sku == null) throw Answer.fail(400, "VMSizeNotSupported", "The VM size '" + size + "' of agent pool '" + name + "' is not supported.");
        if (compute.restricted(sku, location)) {
            throw Answer.fail(400, "SkuNotAvailable", "The VM size '" + size + "' is currently not available to this subscription in location '"
                    + location + "'. Please try another size or deploy to a different location.");
        }
        String mode = p.path("mode").asText(inline ? "System" : "User");
        if (!mode.equalsIgnoreCase("System") && !mode.equalsIgnoreCase("User")) {
            throw Answer.fail(400, "InvalidParameter", "Agent pool mode '" + mode + "' is invalid: use System or User.");
        }
        if (p.path("enableAutoScaling").asBoolean(false)) {
            if (!p.has("minCount") || !p.has("maxCount")) {
                throw Answer.fail(400, "InvalidParameter", "minCount and maxCount are required when autoscaling is enabled on agent pool '" + name + "'.");
            }
            int min = p.path("minCount").asInt();
            int max = p.path("maxCount").asInt();
            if (min > max || min < 0) {
                throw Answer.fail(400, "InvalidMinMaxCount", "Agent pool '" + name + "': minCount " + min + " must be less than or equal to maxCount " + max + ".");
            }
            if (p.has("count") && (p.path("count").asInt() < min || p.path("count").asInt() > max)) {
                throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': count must be between minCount and maxCount.");
            }
        } else if (p.has("minCount") || p.has("maxCount")) {
            throw Answer.fail(400, "InvalidParameter", "minCount and maxCount may only be set when autoscaling is enabled on agent pool '" + name + "'.");
        }
        spotRules(name, p, mode);
        String sid = p.path("vnetSubnetID").asText("");
        if (!sid.isEmpty()) {
            ArmId sa = ArmId.parse(sid);
            Res vnet = network.vnetOf(sa);
            JsonNode subnet = vnet == null ? null : NetworkProvider.findSubnet(vnet, sa.name());
            if (subnet == null) throw Answer.fail(400, "InvalidParameter", "The subnet '" + sid + "' of agent pool '" + name + "' does not exist.");
            if (subnet.path("properties").path("delegations").size() > 0) {
                throw Answer.fail(400, "SubnetIsDelegated", "The subnet '" + sid + "' is delegated to another service and cannot host agent pool '" + name + "'.");
            }
        }
    }

    /**
     * Spot fields as managedClusters.json (2024-09-01, ManagedClusterAgentPoolProfileProperties) defines them:
     * scaleSetPriority Spot or Regular; scaleSetEvictionPolicy (Delete or Deallocate) and spotMaxPrice only with Spot;
     * spotMaxPrice above 0 or -1. A Spot pool cannot be a System pool nor set upgradeSettings.maxSurge (AKS docs, "Add an
     * Azure Spot node pool", limitations). AKS gives a Spot pool its taint and label, which its GET then shows.
     */
    private static void spotRules(String name, ObjectNode p, String mode) {
        String priority = p.path("scaleSetPriority").asText("Regular");
        if (!priority.equals("Spot") && !priority.equals("Regular")) {
            throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': scaleSetPriority '" + priority + "' is invalid: use Spot or Regular.");
        }
        boolean spot = priority.equals("Spot");
        if (!spot && (p.has("scaleSetEvictionPolicy") || p.has("spotMaxPrice"))) {
            throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': scaleSetEvictionPolicy and spotMaxPrice may only be set when "
                    + "scaleSetPriority is Spot.");
        }
        if (!spot) return;
        if (mode.equalsIgnoreCase("System")) {
            throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': a Spot agent pool cannot be a System mode pool.");
        }
        if (!p.path("upgradeSettings").path("maxSurge").asText("").isEmpty()) {
            throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': maxSurge cannot be set on a Spot agent pool.");
        }
        String eviction = p.path("scaleSetEvictionPolicy").asText("Delete");
        if (!eviction.equals("Delete") && !eviction.equals("Deallocate")) {
            throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': scaleSetEvictionPolicy '" + eviction + "' is invalid: use Delete or Deallocate.");
        }
        double price = p.path("spotMaxPrice").asDouble(-1);
        if (price != -1 && price <= 0) {
            throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': spotMaxPrice must be -1 or a price above 0, got " + price + ".");
        }
        p.put("scaleSetEvictionPolicy", eviction);
        p.put("spotMaxPrice", price);
        p.with("nodeLabels").put("kubernetes.azure.com/scalesetpriority", "spot");
        var taints = p.withArray("nodeTaints");
        boolean tainted = false;
        for (JsonNode t : taints) if (t.asText().equals("kubernetes.azure.com/scalesetpriority=spot:NoSchedule")) tainted = true;
        if (!tainted) taints.add("kubernetes.azure.com/scalesetpriority=spot:NoSchedule");
    }

    /**
     * A pool's priority is fixed when it is created: any other value is refused, and so is "Regular" sent to a pool
     * created without scaleSetPriority (the issue tracker's known case; the field is then absent, not "Regular").
     */
    private static void samePriority(String name, JsonNode was, ObjectNode p) {
        String before = was.path("scaleSetPriority").asText(null);
        String now = p.path("scaleSetPriority").asText(null);
        if (java.util.Objects.equals(before, now) || (now == null && "Regular".equals(before))) return;
        throw Answer.fail(400, "InvalidParameter", "Agent pool '" + name + "': changing property 'scaleSetPriority' from '"
                + (before == null ? "" : before) + "' to '" + (now == null ? "" : now) + "' is not allowed.");
    }

    /** AKS's answer to a version it does not offer, or offers only with Long-Term Support (Premium tier and that plan). */
    private void checkVersion(ArmId a, ObjectNode body, ObjectNode props) {
        String asked = props.path("kubernetesVersion").asText("");
        if (asked.isEmpty()) return;
        KVersion found = null;
        for (KVersion k : kubernetesVersions) if (asked.equals(k.minor()) || asked.equals(k.patch())) found = k;
        String patch = found == null ? asked : asked.equals(found.minor()) ? found.patch() : asked;
        if (found == null) {
            throw Answer.fail(400, "K8sVersionNotSupported", "Managed cluster " + a.name() + " is on version " + patch + " which is not supported in "
                    + "this region. Please use [az aks get-versions] command to get the supported version list in this region. For more "
                    + "information, please check https://aka.ms/supported-version-list");
        }
        boolean lts = body.path("sku").path("tier").asText("Free").equalsIgnoreCase("Premium")
                && props.path("supportPlan").asText("KubernetesOfficial").equals("AKSLongTermSupport");
        if (found.ltsOnly() && !lts) {
            throw Answer.fail(400, "K8sVersionNotSupported", "Managed cluster " + a.name() + " is on version " + patch + ", which is only available "
                    + "for Long-Term Support (LTS). If you intend to onboard to LTS, please ensure the cluster is in Premium tier and LTS support "
                    + "plan (see https://aka.ms/aks/enable-lts). Otherwise, use [az aks get-versions] command to get the supported version list "
                    + "in this region. For more information, please check https://aka.ms/supported-version-list");
        }
    }

    private String[] validateCluster(ArmId a, Res existing, ObjectNode body, ObjectNode props) {
        if (!NAME.matcher(a.name()).matches()) {
            throw Answer.fail(400, "InvalidParameter", "The managed cluster name '" + a.name() + "' is invalid: 1-63 letters, digits, '-' and '_', starting and ending with a letter or digit.");
        }
        String dns = props.path("dnsPrefix").asText(null);
        if (dns != null && !DNS_PREFIX.matcher(dns).matches()) {
            throw Answer.fail(400, "InvalidDnsPrefix", "The dnsPrefix '" + dns + "' is invalid: 1-54 alphanumeric characters and hyphens, starting and ending with an alphanumeric character.");
        }
        if (props.path("securityProfile").path("workloadIdentity").path("enabled").asBoolean(false)
                && !props.path("oidcIssuerProfile").path("enabled").asBoolean(false)) {
            throw Answer.fail(400, "InvalidParameter", "Enabling workload identity requires the OIDC issuer to be enabled (oidcIssuerProfile.enabled).");
        }
        checkEntra(existing, props);
        checkVersion(a, body, props);
        JsonNode pools = props.path("agentPoolProfiles");
        if (existing == null && (!pools.isArray() || pools.size() == 0)) {
            throw Answer.fail(400, "InvalidParameter", "A managed cluster needs at least one agent pool in agentPoolProfiles.");
        }
        Set<String> exclude = new LinkedHashSet<>();
        List<ObjectNode> profs = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        int system = 0;
        for (JsonNode p : pools) {
            ObjectNode prof = (ObjectNode) p;
            String name = prof.path("name").asText("");
            validatePool(name, prof, body.path("location").asText(), true);
            if (!names.add(name)) throw Answer.fail(400, "InvalidParameter", "Duplicate agent pool name '" + name + "'.");
            if (prof.path("mode").asText("System").equalsIgnoreCase("System")) system++;
            exclude.add(a.path().toLowerCase(Locale.ROOT) + "/agentpools/" + name);
            Res was = existing == null ? null : core.get(a.path() + "/agentPools/" + name);
            if (was != null) samePriority(name, core.render(was).path("properties"), prof);
            profs.add(prof);
        }
        if (existing != null) {
            for (Res p : poolsOf(existing)) if (!exclude.contains(p.key()) && isSystem(p)) system++;
        }
        if (system == 0) throw Answer.fail(400, "MustDefineAtLeastOneSystemPool", "Must define at least one system pool.");
        if (existing != null && pools.isArray()) {
            // agentPoolProfiles describes every pool: a PUT that leaves one out is not taken as "keep it".
            for (Res p : poolsOf(existing)) {
                if (!exclude.contains(p.key())) {
                    throw Answer.fail(400, "AgentPoolProfilesMissingPool", "Agent pool '" + p.name() + "' exists but is missing from agentPoolProfiles; "
                            + "send every pool, or change pools through the agentPools API.");
                }
            }
        }
        checkNetwork(existing, props, profs);
        return compute.quotaCheck(body.path("location").asText(), profs, exclude);
    }

    /**
     * Microsoft Entra integration and local accounts (managedClusters.json 2024-09-01: ManagedClusterAADProfile managed,
     * enableAzureRBAC, adminGroupObjectIDs, tenantID; ManagedClusterProperties.disableLocalAccounts). What AKS refuses, on
     * create and on update alike: disabling local accounts without Entra integration (the message AKS answers, as
     * Azure/azure-sdk-for-java's AKS tests and users' reports quote it); Azure RBAC without managed Entra integration;
     * turning managed Entra integration off again (AKS docs "Microsoft Entra integration", Limitations: "can't be disabled
     * after it's enabled"). The wording of the last two messages is the fake's own.
     */
    private static void checkEntra(Res existing, ObjectNode props) {
        JsonNode aad = props.path("aadProfile");
        boolean managed = aad.path("managed").asBoolean(false);
        boolean wasManaged = existing != null && existing.props().path("aadProfile").path("managed").asBoolean(false);
        if (wasManaged && !managed) {
            throw Answer.fail(400, "BadRequest", "Managed Microsoft Entra integration (aadProfile.managed) cannot be disabled once it is enabled on a cluster.");
        }
        if (aad.path("enableAzureRBAC").asBoolean(false) && !managed) {
            throw Answer.fail(400, "BadRequest", "Azure RBAC for Kubernetes authorization (aadProfile.enableAzureRBAC) requires managed Microsoft Entra integration (aadProfile.managed).");
        }
        if (props.path("disableLocalAccounts").asBoolean(false) && !managed) {
            throw Answer.fail(400, "BadRequest", "Since kubernetes version 1.25, disableLocalAccounts can only be set on Azure AD integration enabled cluster."
                    + " Please integrate your cluster with AAD.");
        }
        for (JsonNode g : aad.path("adminGroupObjectIDs")) {
            if (!GUID.matcher(g.asText()).matches()) {
                throw Answer.fail(400, "InvalidParameter", "aadProfile.adminGroupObjectIDs: '" + g.asText() + "' is not a valid object id.");
            }
        }
        String tenant = aad.path("tenantID").asText("");
        if (!tenant.isEmpty() && !tenant.equalsIgnoreCase(AzureFake.TENANT_ID)) {
            // AKS docs "Use Microsoft Entra ID authorization": the Entra tenant must be the subscription's.
            throw Answer.fail(400, "InvalidParameter", "aadProfile.tenantID '" + tenant + "' is not the tenant of the subscription.");
        }
    }

    /**
     * AKS network rules (specification/containerservice/.../aks/stable/2024-09-01/managedClusters.json,
     * ContainerServiceNetworkProfile; AKS docs on Azure CNI Overlay): overlay needs networkPlugin azure; a pod range
     * is for overlay (or kubenet) only and must not overlap the cluster's vnet or the service range; the only mode
     * change AKS takes is the one-way migration to overlay, and an overlay cluster's pod range stays. The node subnet
     * must hold every node the pools may scale to plus one surge node each (overlay), or one address per pod slot
     * (flat Azure CNI: maxPods, default 30, + 1 per node), beside the 5 addresses Azure reserves in a subnet.
     */
    private void checkNetwork(Res existing, ObjectNode props, List<ObjectNode> profs) {
        JsonNode net = props.path("networkProfile");
        JsonNode was = existing == null ? null : existing.props().path("networkProfile");
        String plugin = net.path("networkPlugin").asText(was == null ? "kubenet" : was.path("networkPlugin").asText("kubenet"));
        // A PUT describes the cluster: a mode left out is no mode (flat), not "as before".
        String mode = net.path("networkPluginMode").asText("");
        boolean overlay = mode.equalsIgnoreCase("overlay");
        if (!mode.isEmpty() && !overlay) throw Answer.fail(400, "InvalidParameter", "networkPluginMode '" + mode + "' is not valid; the only value is 'overlay'.");
        if (overlay && !plugin.equalsIgnoreCase("azure")) {
            throw Answer.fail(400, "InvalidParameter", "networkPluginMode 'overlay' requires networkPlugin 'azure'.");
        }
        String podCidr = net.path("podCidr").asText(null);
        if (podCidr != null && plugin.equalsIgnoreCase("azure") && !overlay) {
            throw Answer.fail(400, "InvalidParameter", "podCidr may only be set with networkPluginMode 'overlay' (or networkPlugin 'kubenet').");
        }
        if (was != null) {
            String wasPlugin = was.path("networkPlugin").asText("kubenet");
            boolean wasOverlay = was.path("networkPluginMode").asText("").equalsIgnoreCase("overlay");
            if (wasOverlay && !overlay) {
                throw Answer.fail(400, "NetworkPluginModeChangeNotAllowed", "The cluster uses Azure CNI Overlay; migrating away from overlay is not supported.");
            }
            if (!wasPlugin.equalsIgnoreCase(plugin) && !(overlay && !wasOverlay)) {
                throw Answer.fail(400, "NetworkPluginChangeNotAllowed", "Changing networkPlugin from '" + wasPlugin + "' to '" + plugin + "' is not supported.");
            }
            String wasPod = was.path("podCidr").asText(null);
            if (wasOverlay && podCidr != null && wasPod != null && !cidrEquals(wasPod, podCidr)) {
                throw Answer.fail(400, "PodCidrChangeNotAllowed", "The pod CIDR of an overlay cluster cannot be changed (" + wasPod + " -> " + podCidr + ").");
            }
        }
        String svc = net.path("serviceCidr").asText("10.0.0.0/16");
        Map<String, Integer> nodes = new LinkedHashMap<>();
        Map<String, Integer> slots = new LinkedHashMap<>();
        List<JsonNode> all = new ArrayList<>(profs);
        if (existing != null) {
            Set<String> named = new LinkedHashSet<>();
            for (ObjectNode p : profs) named.add(p.path("name").asText().toLowerCase(Locale.ROOT));
            for (Res p : poolsOf(existing)) if (!named.contains(p.name().toLowerCase(Locale.ROOT))) all.add(p.props());
        }
        for (JsonNode p : all) {
            String sid = p.path("vnetSubnetID").asText("");
            if (sid.isEmpty()) continue;
            int max = p.path("enableAutoScaling").asBoolean(false) ? p.path("maxCount").asInt(1) : p.path("count").asInt(1);
            nodes.merge(sid.toLowerCase(Locale.ROOT), max + 1, Integer::sum);
            slots.merge(sid.toLowerCase(Locale.ROOT), (max + 1) * (p.path("maxPods").asInt(30) + 1), Integer::sum);
        }
        for (String sid : nodes.keySet()) {
            ArmId sa = ArmId.parse(sid);
            Res vnet = network.vnetOf(sa);
            JsonNode subnet = vnet == null ? null : NetworkProvider.findSubnet(vnet, sa.name());
            if (subnet == null) continue;
            long[] r = NetworkProvider.cidr(subnet.path("properties").path("addressPrefix").asText());
            long usable = r[1] - r[0] + 1 - 5;
            int need = overlay || !plugin.equalsIgnoreCase("azure") ? nodes.get(sid) : slots.get(sid);
            if (usable < need) {
                throw Answer.fail(400, "InsufficientSubnetSize", "Pre-allocated IPs " + need + " exceeds IPs available " + usable + " in subnet '"
                        + sa.name() + "' (" + subnet.path("properties").path("addressPrefix").asText() + ").");
            }
            if (podCidr != null) {
                long[] pr = NetworkProvider.cidr(podCidr);
                for (JsonNode sp : vnet.props().path("addressSpace").path("addressPrefixes")) {
                    long[] v = NetworkProvider.cidr(sp.asText());
                    if (pr[0] <= v[1] && v[0] <= pr[1]) {
                        throw Answer.fail(400, "InvalidParameter", "The pod CIDR " + podCidr + " overlaps the address space " + sp.asText()
                                + " of virtual network '" + vnet.name() + "'.");
                    }
                }
                long[] sr = NetworkProvider.cidr(svc);
                if (pr[0] <= sr[1] && sr[0] <= pr[1]) {
                    throw Answer.fail(400, "InvalidParameter", "The pod CIDR " + podCidr + " overlaps the service CIDR " + svc + ".");
                }
            }
        }
    }

    private static boolean cidrEquals(String a, String b) {
        long[] x = NetworkProvider.cidr(a);
        long[] y = NetworkProvider.cidr(b);
        return x[0] == y[0] && x[1] == y[1];
    }

    @Override public void written(Req q, ArmId a, Res r, boolean created) {
        if (!r.typeLower().equals(CLUSTERS)) return;
        explodeInlinePools(r);
        ObjectNode gp = r.gen.with("properties");
        ObjectNode up = r.props();
        if (created) created(a, r, gp, up);
        if (up.path("oidcIssuerProfile").path("enabled").asBoolean(false)) {
            if (!gp.path("oidcIssuerProfile").has("issuerURL")) {
                gp.with("oidcIssuerProfile").put("issuerURL", "https://" + r.location() + ".oic.prod-aks.azure.com/" + AzureFake.TENANT_ID + "/"
                        + core.newGuid(r.id, "oidcIssuer") + "/");
            }
        } else {
            gp.remove("oidcIssuerProfile");
        }
        if (up.path("aadProfile").path("managed").asBoolean(false) && !up.path("aadProfile").has("tenantID")) {
            gp.with("aadProfile").put("tenantID", AzureFake.TENANT_ID);
        } else if (!up.path("aadProfile").path("managed").asBoolean(false)) {
            gp.remove("aadProfile");
        }
        gp.put("currentKubernetesVersion", up.path("kubernetesVersion").asText(defaultVersion().patch()));
        gp.put("azurePortalFQDN", gp.path("fqdn").asText().replace(".hcp.", ".portal.hcp."));
    }

    /** What AKS generates once, when it creates a cluster. */
    private void created(ArmId a, Res r, ObjectNode gp, ObjectNode up) {
        String dns = up.path("dnsPrefix").asText(null);
        if (dns == null) {
            dns = (r.name() + "-dns").replaceAll("[^a-zA-Z0-9-]", "");
            if (dns.length() > 54) dns = dns.substring(0, 54);
            gp.put("dnsPrefix", dns);
        }
        gp.put("fqdn", dns + "-" + String.format("%08x", r.key().hashCode()) + ".hcp." + r.location() + ".azmk8s.io");
        String nodeRg = up.path("nodeResourceGroup").asText("MC_" + a.rg() + "_" + r.name() + "_" + r.location());
        gp.put("nodeResourceGroup", nodeRg);
        String nodeRgId = "/subscriptions/" + a.sub() + "/resourceGroups/" + nodeRg;
        Res g = core.ensureGroup(nodeRgId, r.location());
        if (g != null) g.gen.put("managedBy", r.id);
        String kubeletId = nodeRgId + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + r.name() + "-agentpool";
        Res kubelet = new Res(kubeletId, core.type(ManagedIdentityProvider.IDENTITIES));
        kubelet.user.put("location", r.location());
        ManagedIdentityProvider.generate(core, kubelet);
        core.resources.put(kubelet.key(), kubelet);
        ObjectNode ki = gp.with("identityProfile").with("kubeletidentity");
        ki.put("resourceId", kubeletId);
        ki.put("clientId", kubelet.gen.path("properties").path("clientId").asText());
        ki.put("objectId", kubelet.gen.path("properties").path("principalId").asText());
        if (r.user.path("identity").path("type").asText("").equalsIgnoreCase("SystemAssigned")) {
            String pid = core.newGuid(r.id, "identity.principalId");
            r.gen.with("identity").put("principalId", pid);
            r.gen.with("identity").put("tenantId", AzureFake.TENANT_ID);
            core.addPrincipal(pid, "ServicePrincipal", System.nanoTime());
        }
        gp.with("powerState").put("code", "Running");
        // What AKS fills in a network profile (effectiveOutboundIPs is readOnly in managedClusters.json).
        ObjectNode np = gp.with("networkProfile");
        JsonNode un = up.path("networkProfile");
        np.put("outboundType", un.path("outboundType").asText("loadBalancer"));
        np.putArray("serviceCidrs").add(un.path("serviceCidr").asText("10.0.0.0/16"));
        np.putArray("ipFamilies").add("IPv4");
        if (un.path("networkPluginMode").asText("").equalsIgnoreCase("overlay")) {
            np.putArray("podCidrs").add(un.path("podCidr").asText("10.244.0.0/16"));
        }
        ObjectNode lb = np.with("loadBalancerProfile");
        lb.with("managedOutboundIPs").put("count", 1);
        lb.putArray("effectiveOutboundIPs").addObject().put("id", nodeRgId + "/providers/Microsoft.Network/publicIPAddresses/"
                + core.newGuid(r.id, "outboundIP"));
    }

    /** The cluster's agentPoolProfiles become (or overwrite) its agent pool resources. */
    private void explodeInlinePools(Res cluster) {
        JsonNode pools = cluster.props().remove("agentPoolProfiles");
        if (pools == null) return;
        for (JsonNode p : pools) {
            ObjectNode prof = ((ObjectNode) p).deepCopy();
            String name = prof.remove("name").asText();
            if (!prof.has("mode")) prof.put("mode", "System");
            String id = cluster.id + "/agentPools/" + name;
            Res pool = core.get(id);
            if (pool == null) {
                pool = new Res(id, core.type(POOLS));
                core.resources.put(pool.key(), pool);
            }
            pool.user = Answer.M.createObjectNode();
            pool.user.set("properties", prof);
            pool.state = cluster.state;
        }
    }

    @Override public void seeded(Res r) {
        if (r.typeLower().equals(CLUSTERS)) explodeInlinePools(r);
    }

    @Override public void started(Res r, Operations.Op op, boolean created) {
        if (!r.typeLower().equals(CLUSTERS)) return;
        for (Res p : poolsOf(r)) {
            p.op = op;
            p.state = r.state;
            op.linked.add(p.key());
        }
    }

    @Override public void succeeded(Res r) {
        if (!r.typeLower().equals(CLUSTERS)) return;
        r.gen.with("properties").with("powerState").put("code", "Running");
        if (r.secrets.remove(ROTATING) != null) r.secrets.put(GENERATION, generation(r) + 1);
    }

    @Override public Answer deleting(ArmId a, Res r) {
        if (!r.typeLower().equals(POOLS) || !isSystem(r) || systemPools(core.get(core.parentKey(a)), r.key()) != 0) return null;
        return Answer.error(400, "OperationNotAllowed", "The agent pool '" + a.name() + "' is the last System mode pool of the cluster;"
                + " a cluster must have at least one System mode agent pool.");
    }

    @Override public void removed(Res r) {
        if (!r.typeLower().equals(CLUSTERS)) return;
        String nodeRg = r.gen.path("properties").path("nodeResourceGroup").asText(null);
        if (nodeRg != null) core.removeTree(("/subscriptions/" + ArmId.parse(r.id).sub() + "/resourcegroups/" + nodeRg).toLowerCase(Locale.ROOT));
    }

    @Override public void defaults(Res r, ObjectNode p) {
        if (r.typeLower().equals(CLUSTERS)) {
            p.put("kubernetesVersion", defaultVersion().patch());
        } else {
            p.put("mode", "User");
            p.put("osType", "Linux");
            p.put("type", "VirtualMachineScaleSets");
            p.put("enableAutoScaling", false);
        }
    }

    @Override public void render(Res r, ObjectNode body, ObjectNode props) {
        if (!r.typeLower().equals(CLUSTERS)) return;
        ArrayNode pools = props.putArray("agentPoolProfiles");
        for (Res p : poolsOf(r)) {
            ObjectNode prof = pools.addObject();
            prof.put("name", p.name());
            core.render(p).path("properties").fields().forEachRemaining(e -> prof.set(e.getKey(), e.getValue()));
        }
    }

    @Override public String subnetOf(Res r) {
        return r.typeLower().equals(POOLS) ? r.props().path("vnetSubnetID").asText("") : null;
    }
}
