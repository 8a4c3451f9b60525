package fake;

import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.BinaryData;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import reactor.core.publisher.Mono;

/**
 * An in-process fake of Azure Resource Manager and the slice of Microsoft Graph the toolkit uses, as an azure-core
 * {@link HttpClient}. No socket is ever opened. It keeps resources by id (case-insensitively, answering with the id as
 * first written), runs long-running operations on a real wall clock (a per-type latency profile, default 0 ms), and
 * reproduces the provider-specific answer shapes, name rules, conflicts, quotas and replication delays that the
 * Java SDK and the toolkit must survive (see stack.md §5). Every request is recorded. Thread-safe.
 *
 * <p>This class is the façade: faults, crashes and recording happen here; {@link ArmRouter} routes, {@link ArmCore}
 * stores and answers the generic verbs, and one {@link Provider} per Azure resource provider (registered in the
 * constructor) adds its types' rules.
 */
public final class AzureFake implements HttpClient {

    /** The default subscription id. */
    public static final String DEFAULT_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000a1";
    /** The tenant id of every subscription, identity and token. */
    public static final String TENANT_ID = "00000000-0000-0000-0000-0000000000b1";
    /**
     * The AKS Microsoft Entra server application id: the audience of every token for a cluster's Kubernetes API (scope
     * {@code <id>/.default}), as AKS docs "kubelogin" state.
     */
    public static final String AKS_SERVER_APP = ContainerServiceProvider.AKS_SERVER_APP;

    /** One request as the fake saw it: status -1 = dropped connection. Times from {@link System#nanoTime()}. */
    public record Recorded(String method, String url, String path, int status, long startNanos, long endNanos, String body) { }

    private static final Pattern READ_ONLY_POST = Pattern.compile(
            "/(checknameavailability|listclusterusercredential|listclusteradmincredential|listkeys|/token|getmembergroups)$|/oauth2/",
            Pattern.CASE_INSENSITIVE);

    private final Object lock = new Object();
    private final ArmCore core = new ArmCore();
    private final ArmRouter router = new ArmRouter(core);
    private final List<Recorded> recorded = new ArrayList<>();
    private final AtomicLong requestCount = new AtomicLong();
    private volatile long crashAfter = -1;
    private final ComputeProvider compute = new ComputeProvider(core);
    private final NetworkProvider network = new NetworkProvider(core);
    private final PrivateDnsProvider dns = new PrivateDnsProvider(core);
    private final ContainerServiceProvider aks = new ContainerServiceProvider(core, compute, network);
    private final PostgresProvider postgres = new PostgresProvider(core, network, dns);
    private final GraphProvider graph = new GraphProvider(core);
    private final AuthorizationProvider rbac = new AuthorizationProvider(core, graph);
    private final InsightsProvider insights = new InsightsProvider(core);
    private final ContainerRegistryProvider acr = new ContainerRegistryProvider(core);
    private final KeyVaultProvider keyVault = new KeyVaultProvider(core);

    /** A fake with one subscription ({@link #DEFAULT_SUBSCRIPTION}, "Fake Subscription"), a signed-in user, zero latency. */
    public AzureFake() {
        // The order is the order of GET /providers and of the api versions a namespace lists.
        core.register(new ResourcesProvider(core));
        core.register(network);
        core.register(dns);
        core.register(aks);
        core.register(new ManagedIdentityProvider(core));
        core.register(postgres);
        core.register(new StorageProvider(core));
        core.register(rbac);
        core.register(compute);
        core.register(graph);
        core.register(insights);
        core.register(acr);
        core.register(keyVault);
        core.rbac = rbac;
        addSubscription(DEFAULT_SUBSCRIPTION, "Fake Subscription");
    }

    // ------------------------------------------------------------------------------------------------------------
    // test support API

    /** Object id of the signed-in user (answered by Graph {@code /me}; a known principal for role assignments). */
    public String userObjectId() { return GraphProvider.ADMIN; }

    /** The tenant id. */
    public String tenantId() { return TENANT_ID; }

    /** Adds a subscription (visible in {@code GET /subscriptions}); requests for unknown ones get 404 SubscriptionNotFound. */
    public AzureFake addSubscription(String id, String displayName) {
        return with(() -> {
            core.subscriptionNames.put(id.toLowerCase(Locale.ROOT), displayName);
            core.subscriptionIds.put(id.toLowerCase(Locale.ROOT), id);
        });
    }

    /**
     * Long-running operations on resources of this type (lower-case, e.g. {@code microsoft.dbforpostgresql/flexibleservers})
     * take this many wall-clock milliseconds; polls answer {@code Retry-After: retryAfterSeconds}, or no Retry-After if null.
     */
    public AzureFake latency(String resourceTypeLowercase, long millis, Integer retryAfterSeconds) {
        return with(() -> core.ops.latency(resourceTypeLowercase, millis, retryAfterSeconds));
    }

    /** All requests seen so far, in arrival order (immutable copy). */
    public List<Recorded> requests() {
        synchronized (lock) {
            return List.copyOf(recorded);
        }
    }

    /** Requests that change state: PUT, PATCH, DELETE and POSTs other than read-only actions; polls excluded. */
    public List<Recorded> writes() {
        return requests().stream().filter(r -> !ArmRouter.isPoll(r.path()) && isWrite(r.method(), r.path())).toList();
    }

    /** Requests that only read (GET and read-only POSTs such as checkNameAvailability); polls excluded. */
    public List<Recorded> reads() {
        return requests().stream().filter(r -> !ArmRouter.isPoll(r.path()) && !isWrite(r.method(), r.path())).toList();
    }

    /** Requests to long-running-operation URLs (Azure-AsyncOperation and Location polls). */
    public List<Recorded> polls() {
        return requests().stream().filter(r -> ArmRouter.isPoll(r.path())).toList();
    }

    private static boolean isWrite(String method, String path) {
        return switch (method) {
            case "PUT", "PATCH", "DELETE" -> true;
            case "POST" -> !READ_ONLY_POST.matcher(path).find();
            default -> false;
        };
    }

    /** The resource as a GET would answer it now, if it exists (ids are case-insensitive). */
    public Optional<JsonNode> resource(String id) {
        synchronized (lock) {
            core.ops.advance();
            Res r = core.get(id);
            return r == null ? Optional.empty() : Optional.of(core.render(r));
        }
    }

    /** Changes a resource's stored state as if done outside the toolkit (the body is what its writers sent). */
    public void editResource(String id, Consumer<ObjectNode> edit) {
        synchronized (lock) {
            Res r = core.get(id);
            if (r == null) throw new IllegalArgumentException("no resource " + id);
            edit.accept(r.user);
        }
    }

    /** Ids (as first written) of every existing resource, resource groups included, sorted case-insensitively. */
    public List<String> resourceIds() {
        synchronized (lock) {
            core.ops.advance();
            List<String> ids = new ArrayList<>();
            for (Res r : core.resources.values()) ids.add(r.id);
            ids.sort(String.CASE_INSENSITIVE_ORDER);
            return ids;
        }
    }

    /** Map of lower-cased id to GET body, sorted, without volatile fields (etag, systemData, timestamps). */
    public Map<String, JsonNode> snapshot() {
        synchronized (lock) {
            core.ops.advance();
            Map<String, JsonNode> out = new TreeMap<>();
            for (Res r : core.resources.values()) out.put(r.key(), ArmCore.stripVolatile(core.render(r)));
            return Collections.unmodifiableMap(out);
        }
    }

    /**
     * {@link #snapshot()} plus Graph applications and service principals (keyed {@code graph:application:<displayName>#n}),
     * with every value the fake generated (principal ids, client ids, app ids, secrets ids...) replaced by a placeholder
     * derived from the owning resource's id, so two runs doing the same things compare equal.
     */
    public Map<String, JsonNode> canonicalState() {
        synchronized (lock) {
            core.ops.advance();
            Map<String, JsonNode> out = new TreeMap<>();
            for (Res r : core.resources.values()) out.put(r.key(), core.canonical(ArmCore.stripVolatile(core.render(r))));
            graph.canonical(out);
            return Collections.unmodifiableMap(out);
        }
    }

    /**
     * Pre-creates a resource as if someone else made it (no validation, provisioningState Succeeded unless the body says
     * otherwise). The body may be a full GET body or just {@code {location, tags, properties}}. A missing resource group
     * is created too (location of the body, else eastus).
     */
    public AzureFake seed(String id, JsonNode body) {
        return with(() -> core.seed(id, body));
    }

    /**
     * Records a push of {@code repository:tag} into the registry with this login server (what an ACR Tasks run's push or
     * a team's {@code docker push} leaves). Refused, as the registry refuses it, into a cache rule's target repository.
     */
    public AzureFake pushImage(String loginServer, String repository, String tag) {
        return with(() -> {
            Res r = acr.byLoginServer(loginServer);
            if (r == null) throw new IllegalArgumentException("no registry with login server " + loginServer);
            acr.push(r, repository, tag);
        });
    }

    /**
     * Why the nodes of this AKS cluster cannot pull {@code image}, as the kubelet reports it (containerd's message, e.g.
     * Azure/AKS#4459), or null when they can: its kubelet identity has pull rights on the registry and the repository
     * is served (pushed, or a cache rule's target). Null for an image in no registry of this fake.
     */
    public String imagePullRefusal(String aksId, String image) {
        synchronized (lock) {
            core.ops.advance();
            int slash = image.indexOf('/');
            if (slash < 0) return null;
            String host = image.substring(0, slash);
            Res registry = acr.byLoginServer(host);
            if (registry == null) return null;
            Res cluster = core.get(aksId);
            if (cluster == null) throw new IllegalArgumentException("no AKS cluster " + aksId);
            String rest = image.substring(slash + 1);
            int at = rest.indexOf('@');
            int colon = rest.lastIndexOf(':');
            String repository = at >= 0 ? rest.substring(0, at) : colon > rest.lastIndexOf('/') ? rest.substring(0, colon) : rest;
            String tag = at >= 0 ? null : colon > rest.lastIndexOf('/') ? rest.substring(colon + 1) : "latest";
            String ref = image.contains("@") || image.substring(slash).contains(":") ? image : image + ":latest";
            String kubelet = core.render(cluster).path("properties").path("identityProfile").path("kubeletidentity").path("objectId").asText("");
            String prefix = "failed to pull and unpack image \"" + ref + "\": failed to resolve reference \"" + ref + "\": ";
            if (kubelet.isEmpty() || !rbac.actionAllowed(kubelet, "Microsoft.ContainerRegistry/registries/pull/read", registry.id)) {
                return prefix + "failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://" + host
                        + "/oauth2/token?scope=repository%3A" + repository.replace("/", "%2F") + "%3Apull&service=" + host + ": 401 Unauthorized";
            }
            Res rule = acr.cacheRuleFor(registry, repository);
            if (rule != null && ContainerRegistryProvider.uncredentialed(rule)) {
                // The fake's own wording: no real message for this case was found (see ContainerRegistryProvider.CREDENTIAL_ONLY).
                return prefix + "unexpected status from upstream " + rule.props().path("sourceRepository").asText() + ": 401 Unauthorized "
                        + "(the cache rule has no credential set, and this upstream takes authenticated pulls only)";
            }
            boolean served = rule != null || (tag != null && acr.hasTag(registry, repository, tag))
                    || (tag == null && acr.pushed.getOrDefault(registry.key(), Map.of()).containsKey(repository));
            return served ? null : prefix + ref + ": not found";
        }
    }

    /** A Key Vault secret's value as the data plane would return it (Resource Manager never does), if the secret exists. */
    public Optional<String> keyVaultSecret(String secretId) {
        synchronized (lock) {
            return Optional.ofNullable(keyVault.value(secretId));
        }
    }

    /** Names (lower-case) of the soft-deleted vaults: deleted, not purged. */
    public List<String> deletedVaults() {
        synchronized (lock) {
            return List.copyOf(keyVault.deleted.keySet());
        }
    }

    /** Why this principal cannot push to the registry with this login server (null when its roles allow it). */
    public String pushRefusal(String objectId, String loginServer) {
        synchronized (lock) {
            Res registry = acr.byLoginServer(loginServer);
            if (registry == null) throw new IllegalArgumentException("no registry with login server " + loginServer);
            return rbac.actionAllowed(objectId, "Microsoft.ContainerRegistry/registries/push/write", registry.id) ? null
                    : "unauthorized: authentication required, visit https://aka.ms/acr/authorization for more information.";
        }
    }

    /** Marks a globally unique name (type e.g. {@code Microsoft.Storage/storageAccounts}) as taken by someone else. */
    public AzureFake takeGlobalName(String type, String name) {
        return with(() -> core.takenNames.computeIfAbsent(type.toLowerCase(Locale.ROOT), k -> new LinkedHashSet<>())
                .add(name.toLowerCase(Locale.ROOT)));
    }

    /**
     * Sets the regional vCPU quota (same in every location) of a VM family (e.g. {@code standardDSv5Family}) or of
     * {@code cores} (all families). Unset families default to 100 vCPUs, {@code cores} to 350. Usage is the node count
     * ({@code count}, else {@code minCount}) times the size's vCPUs over every non-failed agent pool in the location.
     */
    public AzureFake quota(String family, int limit) {
        return with(() -> compute.quota(family, limit));
    }

    /** Teaches the fake another VM size. */
    public AzureFake addSku(String size, String family, int vcpus) {
        return with(() -> compute.addSku(size, family, vcpus));
    }

    /** The VM size is not available to this subscription in that location (resource SKUs show a restriction). */
    public AzureFake restrictSku(String size, String location) {
        return with(() -> compute.restrict(size, location));
    }

    /** Adds a fault; faults are consulted in the order added. */
    public AzureFake inject(Fault fault) {
        return with(() -> core.faults.add(fault));
    }

    /** Every request after the n-th (counted from now on) throws {@link FakeCrash}; negative disables. */
    public AzureFake crashAfter(int n) {
        requestCount.set(0);
        crashAfter = n;
        return this;
    }

    /** Removes every injected fault and the crash point. */
    public AzureFake resetFaults() {
        with(core.faults::clear);
        crashAfter = -1;
        return this;
    }

    /** A principal created less than this long ago is not yet visible to role assignments (PrincipalNotFound). */
    public AzureFake principalReplicationMs(long millis) {
        return with(() -> rbac.principalReplicationMs = millis);
    }

    /** Whether a role assignment that names its principalType skips the replication lookup (default true, as documented). */
    public AzureFake principalTypeShortcut(boolean on) {
        return with(() -> rbac.principalTypeShortcut = on);
    }

    /** Registers a directory principal (User, ServicePrincipal, Group) created now. */
    public AzureFake addPrincipal(String objectId, String principalType) {
        return with(() -> core.addPrincipal(objectId, principalType, System.nanoTime()));
    }

    /**
     * A directory user (Graph {@code /users/{id|upn}}, {@code /directoryObjects/{id}}), known to role assignments; returns
     * its object id. A request whose token carries this object id runs as this user: only what its role assignments (and
     * its groups') allow, as {@link AuthorizationProvider#ROLE_ACTIONS} lists, and anything else is 403 AuthorizationFailed.
     */
    public String addUser(String userPrincipalName, String displayName) {
        synchronized (lock) {
            return graph.addUser(userPrincipalName, displayName);
        }
    }

    /** The signed-in user's credential (object id {@link #userObjectId()}): tokens per scope, an hour long. */
    public FakeCredential credential() {
        return credentialFor(GraphProvider.ADMIN);
    }

    /**
     * The credential of a directory user made with {@link #addUser} (its own object id and user principal name), or of
     * another principal (an application, when the directory has no such user): what that person's sign-in would hand out.
     */
    public FakeCredential credentialFor(String objectId) {
        synchronized (lock) {
            String upn = graph.userPrincipalName(objectId);
            return upn.equals(objectId) ? FakeCredential.application(objectId, TENANT_ID) : FakeCredential.user(objectId, TENANT_ID, upn);
        }
    }

    /** Custom role definitions as GET answers them (built-in roles are not listed). */
    public List<JsonNode> customRoleDefinitions() {
        synchronized (lock) {
            return rbac.customRoles.values().stream().map(x -> (JsonNode) x.deepCopy()).toList();
        }
    }

    /** Whether the role assignments allow this Kubernetes data action at the scope (see AuthorizationProvider#dataActionAllowed). */
    boolean dataActionAllowed(String objectId, java.util.Collection<String> groups, String action, String scope, Map<String, String> attributes) {
        synchronized (lock) {
            return rbac.dataActionAllowed(objectId, groups, action, scope, attributes);
        }
    }

    /** The local account ("clusterUser", "clusterAdmin") a static token of the cluster stands for while its certificates are current, else null. */
    String localAccount(String clusterId, String token) {
        synchronized (lock) {
            core.ops.advance();
            return aks.localAccount(clusterId, token);
        }
    }

    /** The groups a principal is a direct member of in the fake's directory (lower-case object ids). */
    List<String> groupsOf(String objectId) {
        synchronized (lock) {
            return List.copyOf(graph.groupsOf(objectId));
        }
    }

    /** The cluster's GET body now, or null. */
    JsonNode cluster(String clusterId) {
        return resource(clusterId).orElse(null);
    }

    /** A security group with these direct members (object ids); returns its object id. Display names need not be unique. */
    public String addGroup(String displayName, String... memberIds) {
        synchronized (lock) {
            return graph.addGroup(displayName, memberIds);
        }
    }

    /** Kubernetes minor versions AKS offers in every region, as the Free tier may use them; the last is the default. */
    public AzureFake offerKubernetesVersions(String... versions) {
        return with(() -> {
            List<ContainerServiceProvider.KVersion> list = new java.util.ArrayList<>();
            for (int i = 0; i < versions.length; i++) {
                list.add(new ContainerServiceProvider.KVersion(versions[i], versions[i] + ".1", false, false, i == versions.length - 1));
            }
            aks.kubernetesVersions = List.copyOf(list);
        });
    }

    /** What Azure Monitor says a storage account's blob service holds (BlobCount, BlobCapacity), computed at {@code asOf}. */
    public AzureFake blobUsage(String storageAccountId, long blobs, long bytes, java.time.Instant asOf) {
        return with(() -> insights.usage.put(storageAccountId.toLowerCase(java.util.Locale.ROOT), new InsightsProvider.Usage(blobs, bytes, asOf)));
    }

    /** PostgreSQL major versions and server SKUs Flexible Server offers in every region. */
    public AzureFake offerPostgres(List<String> versions, List<String> skus) {
        return with(() -> {
            postgres.versions = List.copyOf(versions);
            postgres.skus = List.copyOf(skus);
        });
    }

    /** Graph writes (application and service principal creation, changes, deletion) answer 403 Authorization_RequestDenied. */
    public AzureFake denyDirectoryWrites() {
        return with(() -> graph.denyWrites = true);
    }

    /** The caller's ARM permissions (answered by .../permissions and enforced on writes); wildcards allowed. */
    public AzureFake callerActions(List<String> actions) {
        return callerActions(actions, List.of());
    }

    /** The caller's ARM permissions with notActions. */
    public AzureFake callerActions(List<String> actions, List<String> notActions) {
        return with(() -> {
            rbac.callerActions = List.copyOf(actions);
            rbac.callerNotActions = List.copyOf(notActions);
        });
    }

    /** Marks a resource provider namespace (e.g. Microsoft.ContainerService) unregistered: writes get MissingSubscriptionRegistration. */
    public AzureFake unregisterProvider(String namespace) {
        return with(() -> core.unregisteredProviders.add(namespace.toLowerCase(Locale.ROOT)));
    }

    /**
     * The API server URL that the AKS user kubeconfigs ({@code listClusterUserCredential}) point at, instead of
     * {@code https://<fqdn>:443}: e.g. a Kubernetes API fake on loopback (a plain http URL gets no CA data).
     */
    public AzureFake clusterApiServer(String url) {
        return with(() -> aks.clusterApiServer = url);
    }

    /** The admin password a PostgreSQL flexible server holds now (set by a PUT, or a PATCH once its operation succeeded). */
    public Optional<String> postgresAdminPassword(String serverId) {
        synchronized (lock) {
            core.ops.advance();
            Res r = core.get(serverId);
            return r == null ? Optional.empty() : Optional.ofNullable(PostgresProvider.password(r));
        }
    }

    /** Graph applications as Graph would list them. */
    public List<JsonNode> applications() {
        synchronized (lock) {
            return graph.applications();
        }
    }

    /** Graph service principals. */
    public List<JsonNode> servicePrincipals() {
        synchronized (lock) {
            return graph.servicePrincipals();
        }
    }

    /** Applications and service principals deleted so far and not yet removed for good. */
    public List<JsonNode> deletedItems() {
        return graph.deletedItems();
    }

    private AzureFake with(Runnable change) {
        synchronized (lock) {
            change.run();
        }
        return this;
    }

    // ------------------------------------------------------------------------------------------------------------
    // HttpClient

    @Override
    public Mono<HttpResponse> send(HttpRequest request) {
        return send(request, Context.NONE);
    }

    @Override
    public Mono<HttpResponse> send(HttpRequest request, Context context) {
        return Mono.defer(() -> {
            try {
                return Mono.just(sendSync(request, context));
            } catch (UncheckedIOException e) {
                return Mono.error(e.getCause());
            }
        });
    }

    @Override
    public HttpResponse sendSync(HttpRequest request, Context context) {
        long n = requestCount.incrementAndGet();
        long crash = crashAfter;
        if (crash >= 0 && n > crash) throw new FakeCrash(n);
        long start = System.nanoTime();
        URL url = request.getUrl();
        String method = request.getHttpMethod().name();
        String path = decode(url.getPath());
        path = path.replaceAll("/{2,}", "/");
        while (path.length() > 1 && path.endsWith("/")) path = path.substring(0, path.length() - 1);
        byte[] body = readBody(request);
        String bodyText = new String(body, StandardCharsets.UTF_8);
        // The authority keeps a port, so that operation and metadata URLs lead back to a loopback server (AzureFakeServer).
        Req q = new Req(method, url.getAuthority(), path, parseQuery(url.getQuery()), body,
                tokenObjectId(request.getHeaders().getValue(HttpHeaderName.AUTHORIZATION)));
        Answer a;
        boolean drop = false;
        synchronized (lock) {
            core.ops.advance();
            Fault f = null;
            for (Fault x : core.faults) {
                if (!x.isOperationFault() && x.matches(method, path)) {
                    f = x;
                    break;
                }
            }
            if (f != null) f.remaining--;
            if (f != null && f.drop && !f.afterApply) {
                a = null;
                drop = true;
            } else if (f != null && !f.drop) {
                a = faultAnswer(f);
            } else {
                try {
                    a = router.route(q);
                } catch (Answer.BadRequest e) {
                    a = e.answer;
                } catch (RuntimeException e) {
                    a = Answer.error(500, "InternalServerError", "fake failure: " + e);
                }
                drop = f != null;
            }
            recorded.add(new Recorded(method, url.toString(), path, drop ? -1 : a.status(), start, System.nanoTime(), bodyText));
        }
        if (drop) {
            throw new UncheckedIOException(new IOException("Connection reset by peer (simulated drop of " + method + " " + path + ")"));
        }
        Map<String, String> headers = new LinkedHashMap<>(a.headers());
        headers.putIfAbsent("x-ms-request-id", UUID.randomUUID().toString());
        if (a.body().length > 0) headers.putIfAbsent("Content-Type", "application/json; charset=utf-8");
        return new FakeHttpResponse(request, a.status(), headers, a.body());
    }

    private static Answer faultAnswer(Fault f) {
        String code = f.code != null ? f.code : switch (f.status) {
            case 429 -> "TooManyRequests";
            case 500 -> "InternalServerError";
            case 502 -> "BadGateway";
            case 503 -> "ServiceUnavailable";
            case 504 -> "GatewayTimeout";
            case 409 -> "Conflict";
            default -> "Fault" + f.status;
        };
        String msg = f.message != null ? f.message : "Injected fault " + f.status + ".";
        return new Answer(f.status, new LinkedHashMap<>(f.headers), Answer.error(f.status, code, msg).body());
    }

    /** The object id in a bearer token ({@code oid} claim), or null. */
    static String tokenObjectId(String authorization) {
        if (authorization == null || !authorization.startsWith("Bearer ")) return null;
        String[] parts = authorization.substring(7).split("\\.");
        if (parts.length < 2) return null;
        try {
            return Answer.M.readTree(Base64.getUrlDecoder().decode(parts[1])).path("oid").asText(null);
        } catch (IOException | IllegalArgumentException e) {
            return null;
        }
    }

    private static byte[] readBody(HttpRequest request) {
        BinaryData d = request.getBodyAsBinaryData();
        if (d == null) return new byte[0];
        byte[] b = d.toBytes();
        return b == null ? new byte[0] : b;
    }

    static String decode(String s) {
        if (s == null || s.indexOf('%') < 0) return s == null ? "" : s;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                out.write(Integer.parseInt(s.substring(i + 1, i + 3), 16));
                i += 2;
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static Map<String, String> parseQuery(String q) {
        Map<String, String> m = new LinkedHashMap<>();
        if (q == null || q.isEmpty()) return m;
        for (String part : q.split("&")) {
            int eq = part.indexOf('=');
            String k = eq < 0 ? part : part.substring(0, eq);
            String v = eq < 0 ? "" : part.substring(eq + 1);
            m.put(decode(k.replace('+', ' ')), decode(v.replace('+', ' ')));
        }
        return m;
    }
}
