package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Microsoft.ContainerRegistry: registries (globally unique names, login server, SKUs), cache rules, credential sets and
 * the registry's repositories as far as the toolkit can see them (what a push made, what a cache rule serves).
 *
 * <p>Shapes and rules from the REST spec as Azure/bicep-types-az generates it (containerregistry_0,
 * microsoft.containerregistry/2025-04-01/types.md): names 5-50 {@code [a-zA-Z0-9]} (registries) or {@code [a-zA-Z0-9-]}
 * (cacheRules, credentialSets); Sku.name Basic|Classic|Premium|Standard (Classic is retired: refused for a new registry);
 * {@code anonymousPullEnabled} only exists from 2023-11-01-preview / 2025-04-01 on (absent from 2023-07-01).
 */
final class ContainerRegistryProvider extends ArmProvider {
    static final String REGISTRIES = "microsoft.containerregistry/registries";
    static final String CACHE_RULES = "microsoft.containerregistry/registries/cacherules";
    static final String CREDENTIAL_SETS = "microsoft.containerregistry/registries/credentialsets";
    private static final Pattern NAME = Pattern.compile("[a-zA-Z0-9]{5,50}");
    private static final Pattern CHILD_NAME = Pattern.compile("[a-zA-Z0-9-]{5,50}");
    private static final Set<String> SKUS = Set.of("basic", "standard", "premium");
    /** Stable api versions without RegistryProperties.anonymousPullEnabled (bicep-types-az containerregistry_0 types.md of each). */
    private static final Set<String> NO_ANONYMOUS_PULL = Set.of("2019-05-01", "2021-09-01", "2022-12-01", "2023-07-01");
    /**
     * Upstreams an artifact cache rule takes (MicrosoftDocs/azure-docs articles/container-registry/container-registry-artifact-cache.md,
     * "Upstream support"): Docker Hub, Microsoft Artifact Registry, AWS ECR Public Gallery, GitHub, Nvidia, Quay, registry.k8s.io,
     * Google Artifact Registry / gcr.io.
     */
    static final List<String> UPSTREAMS = List.of("docker.io", "mcr.microsoft.com", "public.ecr.aws", "ghcr.io", "nvcr.io", "quay.io",
            "registry.k8s.io", "gcr.io");
    /**
     * Upstreams that take authenticated pulls only: the current Learn page (artifact-cache-overview) says so of Docker Hub, the
     * 2024 azure-docs version still allowed both. Whether the service refuses such a rule at creation is not documented, so the
     * fake accepts it and fails the pulls through it ({@link #uncredentialed}).
     */
    private static final Set<String> CREDENTIAL_ONLY = Set.of("docker.io");

    /** Tags pushed, by lower-cased registry id, then repository. */
    final Map<String, Map<String, Set<String>>> pushed = new LinkedHashMap<>();

    ContainerRegistryProvider(ArmCore core) {
        super(core, "Microsoft.ContainerRegistry", List.of("2023-07-01", "2023-11-01-preview", "2025-03-01-preview", "2025-04-01", "2025-11-01"));
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.ContainerRegistry/registries", TypeSpec.Lro.BODY, true),
                new TypeSpec("Microsoft.ContainerRegistry/registries/cacheRules", TypeSpec.Lro.BODY, false),
                new TypeSpec("Microsoft.ContainerRegistry/registries/credentialSets", TypeSpec.Lro.BODY, false));
    }

    private static String invalid(String name) {
        return "The specified resource name '" + name + "' is invalid. A registry name must be 5-50 characters long and contain "
                + "only alphanumeric characters.";
    }

    @Override public Answer action(Req q, ArmId a) {
        if (!a.scope().equalsIgnoreCase("/subscriptions/" + a.sub())
                || !a.typeLower().equals("microsoft.containerregistry/checknameavailability")) return null;
        q.requirePost();
        ObjectNode body = q.json();
        String name = body.path("name").asText("");
        // RegistryNameCheckRequest: name and type (the only value: Microsoft.ContainerRegistry/registries) are both required.
        if (!body.path("type").asText("").equalsIgnoreCase("Microsoft.ContainerRegistry/registries")) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: type must be 'Microsoft.ContainerRegistry/registries'.");
        }
        ObjectNode out = !NAME.matcher(name).matches() ? nameAvailability("Invalid", invalid(name))
                : core.globalNameTaken(REGISTRIES, name, "")
                ? nameAvailability("AlreadyExists", "The registry " + name + " is already in use.")
                : nameAvailability(null, null);
        return Answer.json(200, out);
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        switch (a.typeLower()) {
            case REGISTRIES -> validateRegistry(q, a, existing, body);
            case CACHE_RULES -> validateCacheRule(a, existing, body);
            case CREDENTIAL_SETS -> validateCredentialSet(a, body);
            default -> { }
        }
        return null;
    }

    private void validateRegistry(Req q, ArmId a, Res existing, ObjectNode body) {
        if (!NAME.matcher(a.name()).matches()) throw Answer.fail(400, "InvalidResourceName", invalid(a.name()));
        if (existing == null && core.globalNameTaken(REGISTRIES, a.name(), a.path())) {
            throw Answer.fail(409, "AlreadyInUse", "The registry " + a.name() + " is already in use.");
        }
        String sku = body.path("sku").path("name").asText("");
        if (sku.isEmpty()) throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: sku.name is required.");
        if (!SKUS.contains(sku.toLowerCase(Locale.ROOT))) {
            throw Answer.fail(400, "InvalidSku", "The SKU '" + sku + "' is not valid. Valid values are: Basic, Standard, Premium.");
        }
        // A property the api version does not define: refused like any unknown member, rather than silently dropped, so that a
        // body meant for 2025-04-01 sent at an older version shows up (the real service's answer there is not documented).
        if (body.path("properties").has("anonymousPullEnabled") && NO_ANONYMOUS_PULL.contains(q.apiVersion())) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                    + "Could not find member 'anonymousPullEnabled' on object of type 'RegistryProperties'.");
        }
    }

    private void validateCacheRule(ArmId a, Res existing, ObjectNode body) {
        if (!CHILD_NAME.matcher(a.name()).matches()) {
            throw Answer.fail(400, "InvalidResourceName", "The cache rule name '" + a.name() + "' is invalid: 5-50 characters, "
                    + "alphanumerics and hyphens only.");
        }
        JsonNode p = body.path("properties");
        String source = p.path("sourceRepository").asText("");
        String target = p.path("targetRepository").asText("");
        if (source.isEmpty() || target.isEmpty()) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: properties.sourceRepository and "
                    + "properties.targetRepository are required.");
        }
        String upstream = source.contains("/") ? source.substring(0, source.indexOf('/')) : source;
        if (!UPSTREAMS.contains(upstream.toLowerCase(Locale.ROOT))) {
            throw Answer.fail(400, "InvalidSourceRepository", "The source repository '" + source + "' is not from a supported upstream registry.");
        }
        String registryId = a.parentId();
        String credential = p.path("credentialSetResourceId").asText("");
        if (!credential.isEmpty() && core.get(credential) == null) {
            throw Answer.fail(400, "CredentialSetNotFound", "The credential set '" + credential + "' does not exist.");
        }
        if (existing != null) {
            // Only the credential set of a rule can change (CacheRuleUpdateProperties has credentialSetResourceId alone).
            if (!existing.props().path("targetRepository").asText().equals(target)
                    || !existing.props().path("sourceRepository").asText().equals(source)) {
                throw Answer.fail(400, "CacheRuleImmutable", "A cache rule's source and target repositories cannot be changed; delete the rule and create it again.");
            }
            return;
        }
        // A static rule cannot be made over a repository that already holds images (Azure/acr#789, Azure/ARO-HCP#5176).
        if (pushed.getOrDefault(registryId.toLowerCase(Locale.ROOT), Map.of()).containsKey(target)) {
            throw Answer.fail(400, "TargetRepositoryPrefixMatchesExistingRegistries", "The target repository '" + target
                    + "' matches an existing repository in the registry.");
        }
        for (Res r : core.resources.values()) {
            if (r.typeLower().equals(CACHE_RULES) && r.id.toLowerCase(Locale.ROOT).startsWith(registryId.toLowerCase(Locale.ROOT) + "/")
                    && r.props().path("targetRepository").asText().equals(target)) {
                throw Answer.fail(409, "CacheRuleTargetConflict", "The target repository '" + target + "' is already used by cache rule '" + r.name() + "'.");
            }
        }
    }

    private void validateCredentialSet(ArmId a, ObjectNode body) {
        if (!CHILD_NAME.matcher(a.name()).matches()) {
            throw Answer.fail(400, "InvalidResourceName", "The credential set name '" + a.name() + "' is invalid: 5-50 characters, "
                    + "alphanumerics and hyphens only.");
        }
        JsonNode p = body.path("properties");
        if (p.path("loginServer").asText("").isEmpty()) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: properties.loginServer is required.");
        }
        for (JsonNode c : p.path("authCredentials")) {
            for (String f : List.of("usernameSecretIdentifier", "passwordSecretIdentifier")) {
                if (!c.path(f).asText("").startsWith("https://")) {
                    throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: " + f + " must be a Key Vault secret URI.");
                }
            }
        }
    }

    @Override public void written(Req q, ArmId a, Res r, boolean created) {
        ObjectNode gp = r.gen.with("properties");
        switch (r.typeLower()) {
            case REGISTRIES -> {
                gp.put("loginServer", r.name().toLowerCase(Locale.ROOT) + ".azurecr.io");
                r.gen.with("sku").put("tier", r.user.path("sku").path("name").asText());
                if (!gp.has("creationDate")) gp.put("creationDate", java.time.Instant.now().toString());
                systemIdentity(r);
            }
            case CACHE_RULES, CREDENTIAL_SETS -> {
                if (!gp.has("creationDate")) gp.put("creationDate", java.time.Instant.now().toString());
                systemIdentity(r);
            }
            default -> { }
        }
    }

    private void systemIdentity(Res r) {
        if (!r.user.path("identity").path("type").asText("").toLowerCase(Locale.ROOT).contains("systemassigned")) return;
        if (r.gen.path("identity").has("principalId")) return;
        String pid = core.newGuid(r.id, "identity.principalId");
        r.gen.with("identity").put("principalId", pid).put("tenantId", AzureFake.TENANT_ID);
        core.addPrincipal(pid, "ServicePrincipal", System.nanoTime());
    }

    @Override public void removed(Res r) {
        if (r.typeLower().equals(REGISTRIES)) pushed.remove(r.key());
    }

    @Override public void defaults(Res r, ObjectNode p) {
        if (r.typeLower().equals(REGISTRIES)) {
            p.put("adminUserEnabled", false);
            p.put("anonymousPullEnabled", false);
            p.put("publicNetworkAccess", "Enabled");
            p.put("networkRuleBypassOptions", "AzureServices");
            p.put("zoneRedundancy", "Disabled");
            p.put("dataEndpointEnabled", false);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // the registry's content, as the fake's façade exposes it

    /** The registry whose login server is {@code host}, or null. */
    Res byLoginServer(String host) {
        for (Res r : core.resources.values()) {
            if (r.typeLower().equals(REGISTRIES) && (r.name().toLowerCase(Locale.ROOT) + ".azurecr.io").equals(host.toLowerCase(Locale.ROOT))) return r;
        }
        return null;
    }

    /** Records a pushed tag; refuses (as the registry does) a push into a cache rule's target (Azure/acr#845). */
    void push(Res registry, String repository, String tag) {
        if (cacheRuleFor(registry, repository) != null) {
            throw new IllegalStateException("denied: the repository " + repository + " is a cache rule's target and cannot be pushed to");
        }
        pushed.computeIfAbsent(registry.key(), k -> new LinkedHashMap<>()).computeIfAbsent(repository, k -> new LinkedHashSet<>()).add(tag);
    }

    /** The cache rule serving {@code repository} in this registry, or null. */
    Res cacheRuleFor(Res registry, String repository) {
        for (Res r : core.resources.values()) {
            if (r.typeLower().equals(CACHE_RULES) && r.key().startsWith(registry.key() + "/")
                    && r.props().path("targetRepository").asText().equals(repository)) return r;
        }
        return null;
    }

    /** Whether this rule pulls from an upstream that takes authenticated pulls only, without a credential set. */
    static boolean uncredentialed(Res rule) {
        String source = rule.props().path("sourceRepository").asText("");
        String upstream = source.contains("/") ? source.substring(0, source.indexOf('/')) : source;
        return CREDENTIAL_ONLY.contains(upstream.toLowerCase(Locale.ROOT)) && rule.props().path("credentialSetResourceId").asText("").isEmpty();
    }

    boolean hasTag(Res registry, String repository, String tag) {
        return pushed.getOrDefault(registry.key(), Map.of()).getOrDefault(repository, Set.of()).contains(tag);
    }
}
