package azure;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The stack's container registry: its api versions and how its repositories are laid out. Pure: no I/O.
 *
 * <p>Layout. Metaflow prefixes {@code METAFLOW_KUBERNETES_CONTAINER_REGISTRY} to every image that names no registry,
 * its default {@code python:X.Y} included (Netflix/metaflow 2.19.38, metaflow/plugins/kubernetes/kubernetes_decorator.py,
 * metaflow/plugins/aws/aws_utils.py get_docker_registry). The profile sets it to {@code <login server>/metaflow}, so a
 * step without an image runs {@code metaflow/python:X.Y}: the task image built here. A cache rule's target repository
 * takes no pushes (Azure/acr#845) and a wildcard rule cannot be made over existing repositories (Azure/acr#789), so
 * built repositories and cached ones never share a path: everything cached is a static rule.
 */
public final class Registry {
    private Registry() {}

    /** registries, cacheRules, credentialSets: anonymousPullEnabled exists from this version on. */
    public static final String API = "2025-04-01";
    /** ACR Tasks (scheduleRun, listBuildSourceUploadUrl, runs): only in preview api versions. */
    public static final String API_TASKS = "2025-03-01-preview";

    /** What the profile's METAFLOW_KUBERNETES_CONTAINER_REGISTRY names under the login server. */
    public static final String METAFLOW_NAMESPACE = "metaflow";
    /** The task images' repository: Metaflow's default image name {@code python:X.Y} under {@link #METAFLOW_NAMESPACE}. */
    public static final String TASK_REPOSITORY = METAFLOW_NAMESPACE + "/python";
    /** The Python minor versions a task image is built for (Metaflow's setup.py classifiers, less the end-of-life ones the Azure SDK dropped). */
    public static final List<String> PYTHON_VERSIONS = List.of("3.9", "3.10", "3.11", "3.12", "3.13");
    /** The official Python images, cached: the task images' base ({@code python:X.Y-slim}). */
    public static final String BASE_REPOSITORY = "library/python";
    /** The stack's own images, cached under this namespace (the check's probe image among them). */
    public static final String STACK_NAMESPACE = "stack";

    /** The login server's host for a registry in a cloud whose registries end in {@code suffix} (e.g. azurecr.io). */
    public static String loginServer(Stack s, String suffix) {
        return s.registry() + "." + suffix;
    }

    /** The profile's registry value: what Metaflow prefixes to an image without a registry. */
    public static String metaflowRegistry(String loginServer) {
        return loginServer + "/" + METAFLOW_NAMESPACE;
    }

    /** The task image Metaflow's default naming resolves to for a Python version. */
    public static String taskImage(String loginServer, String pythonVersion) {
        return loginServer + "/" + TASK_REPOSITORY + ":" + pythonVersion;
    }

    /** The SKUs a registry is made with (Microsoft.ContainerRegistry 2025-04-01 Sku.name, less the retired Classic). */
    public static final List<String> SKUS = List.of("Basic", "Standard", "Premium");
    public static final String DEFAULT_SKU = "Basic";
    /** Docker Hub's official images, credential-free (AWS's ECR Public Gallery mirror of them; ACR artifact cache takes it as an upstream). */
    public static final String MIRROR = "public.ecr.aws/docker/library";
    /** Docker Hub as an artifact-cache upstream: authenticated pulls only (ACR artifact cache docs), so through the credential set. */
    public static final String DOCKER_HUB = "docker.io";
    /** The credential set that holds the Docker Hub login (its secrets are in the stack's Key Vault). */
    public static final String CREDENTIAL_SET = "dockerhub";
    /** The Key Vault secrets the credential set reads. */
    public static final String SECRET_USER = "dockerhub-user";
    public static final String SECRET_TOKEN = "dockerhub-token";
    /** The check's probe image, cached: quay.io/curl/curl is one of curl's two official homes (curl/curl-container README). */
    public static final String PROBE_REPOSITORY = STACK_NAMESPACE + "/curl/curl";
    public static final String PROBE_SOURCE = "quay.io/curl/curl";

    /** A Docker Hub access token: never printed (toString hides it), sent only in the Key Vault secret's PUT body. */
    public record Token(String value) {
        @Override public String toString() { return "Token[hidden]"; }
    }

    /**
     * What provision decides about the registry: its SKU, the Docker Hub images cached for steps ({@code --cache-image}),
     * the Docker Hub login (user and token, or null), and whether ACR Tasks may build the task images on this subscription
     * (when not, {@code metaflow/python} is a cache rule of plain {@code python} instead).
     */
    public record Options(String sku, List<String> cacheImages, String dockerHubUser, Token dockerHubToken, boolean taskImagesPossible) {
        public static final Options DEFAULT = new Options(DEFAULT_SKU, List.of(), null, null, true);

        public Options {
            cacheImages = List.copyOf(cacheImages);
        }

        /** Whether Docker Hub itself is the upstream (a login was given, now or on an earlier run that stored it). */
        public boolean dockerHub() { return dockerHubUser != null; }

        public Options withTaskImagesPossible(boolean possible) {
            return new Options(sku, cacheImages, dockerHubUser, dockerHubToken, possible);
        }

        /** Validates the options; throws {@link Stack.InputException} on the first bad value. */
        public Options checked() {
            if (!SKUS.contains(sku)) {
                throw new Stack.InputException("--registry-sku", "'" + sku + "' is not a container registry SKU (Basic, Standard or Premium)", DEFAULT_SKU);
            }
            if (dockerHubToken != null && dockerHubUser == null) {
                throw new Stack.InputException("--dockerhub-user", "a Docker Hub token was given (DOCKERHUB_TOKEN or --dockerhub-token-file) "
                        + "but no Docker Hub user: give the account the token belongs to", "myteam");
            }
            if (dockerHubUser != null && !DOCKER_HUB_USER.matcher(dockerHubUser).matches()) {
                throw new Stack.InputException("--dockerhub-user", "'" + dockerHubUser + "' is not a Docker Hub user name (letters, digits, '.', '_' or '-')", "myteam");
            }
            if (dockerHubToken != null && (dockerHubToken.value().isBlank() || dockerHubToken.value().length() > 25_000)) {
                throw new Stack.InputException("--dockerhub-token-file", "the Docker Hub token is empty (or longer than a Key Vault secret holds)", "~/.dockerhub-token");
            }
            Set<String> targets = new LinkedHashSet<>();
            for (String image : cacheImages) {
                String why = repositoryProblem(image);
                if (why != null) {
                    throw new Stack.InputException("--cache-image", "'" + image + "' " + why, "pytorch/pytorch");
                }
                String target = METAFLOW_NAMESPACE + "/" + image;
                if (target.equals(TASK_REPOSITORY)) {
                    throw new Stack.InputException("--cache-image", "'" + image + "' is Metaflow's default image name: " + TASK_REPOSITORY
                            + " holds the stack's task images, so a step without an image already gets python from the registry", "ubuntu");
                }
                if (!targets.add(target)) {
                    throw new Stack.InputException("--cache-image", "'" + image + "' is given twice", "pytorch/pytorch");
                }
                if (!official(image) && !dockerHub()) {
                    throw new Stack.InputException("--cache-image", "'" + image + "' is not one of Docker's official images, and ACR's cache pulls "
                            + "other Docker Hub images only with a Docker Hub login: add --dockerhub-user NAME with the token in DOCKERHUB_TOKEN "
                            + "(or --dockerhub-token-file), or name the image in full in the flow (docker.io/" + image + ":TAG)", "ubuntu");
                }
            }
            return this;
        }
    }

    /** A static artifact-cache rule: pulls of {@code target} in the registry come from {@code source} upstream. */
    public record CacheRule(String name, String target, String source, boolean credential, String why) {}

    /**
     * The stack's cache rules: the task images' base, the probe image, each {@code --cache-image}, and {@code metaflow/python}
     * when ACR Tasks cannot build the task images. All static: a wildcard cannot be made over existing repositories, and
     * built and cached repositories must never share a path (see the class comment).
     */
    public static List<CacheRule> cacheRules(Options o) {
        List<CacheRule> rules = new ArrayList<>();
        rules.add(rule(BASE_REPOSITORY, official("python", o), o, "the task images' base (python:X.Y-slim)"));
        rules.add(rule(PROBE_REPOSITORY, PROBE_SOURCE, o, "the stack check's probe image"));
        if (!o.taskImagesPossible()) {
            rules.add(rule(TASK_REPOSITORY, official("python", o), o, "Metaflow's default image python:X.Y (ACR Tasks is refused on this "
                    + "subscription, so no task images are built; tasks install Metaflow's packages at start)"));
        }
        for (String image : o.cacheImages()) {
            String source = official(image) ? official(bare(image), o) : DOCKER_HUB + "/" + image;
            rules.add(rule(METAFLOW_NAMESPACE + "/" + image, source, o,
                    "--cache-image " + image + ": a step's image=\"" + image + ":TAG\""));
        }
        return rules;
    }

    private static CacheRule rule(String target, String source, Options o, String why) {
        boolean credential = o.dockerHub() && source.startsWith(DOCKER_HUB + "/");
        return new CacheRule(ruleName(target), target, source, credential, why);
    }

    /** Where an official image comes from: Docker Hub with the stack's login, else the credential-free mirror. */
    private static String official(String name, Options o) {
        return (o.dockerHub() ? DOCKER_HUB + "/library" : MIRROR) + "/" + name;
    }

    /** Docker's official images have no namespace on Docker Hub (or the implicit {@code library/}). */
    static boolean official(String image) {
        return !image.contains("/") || (image.startsWith("library/") && image.indexOf('/') == image.lastIndexOf('/'));
    }

    private static String bare(String image) {
        return image.startsWith("library/") ? image.substring("library/".length()) : image;
    }

    /**
     * A cache rule's name (5-50 of {@code [a-zA-Z0-9-]}, ACR 2025-04-01 cacheRules), derived from its target repository so a
     * re-run finds it again; a long target keeps its start and a hash of the whole.
     */
    public static String ruleName(String target) {
        String n = target.replaceAll("[^a-zA-Z0-9]+", "-");
        if (n.length() > 50) {
            String h = UUID.nameUUIDFromBytes(target.getBytes(StandardCharsets.UTF_8)).toString().substring(0, 8);
            n = n.substring(0, 41) + "-" + h;
        }
        return n;
    }

    /**
     * A Docker Hub login name: a Docker ID (4-30 lowercase letters and digits at sign-up, docker/docs accounts/create-account.md
     * before 2024-11) or an organization's name for an organization access token; kept loose so no real account is refused.
     */
    static final Pattern DOCKER_HUB_USER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{1,254}");
    /** One path component of a repository name (distribution/reference regexp.go: lowercase alphanumerics with . _ __ or - runs between). */
    static final Pattern COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");

    /** Why a --cache-image value is not a Docker Hub repository name (no registry, tag or digest), or null. */
    static String repositoryProblem(String image) {
        if (image.isEmpty()) return "is empty";
        if (image.contains(":") || image.contains("@")) return "names a tag or digest: give the repository only (a step picks the tag)";
        String[] parts = image.split("/", -1);
        if (parts.length > 1 && (parts[0].contains(".") || parts[0].equals("localhost"))) {
            return "names a registry (" + parts[0] + "): an image with a registry in its name is pulled from there as it is, "
                    + "only Docker Hub names are cached";
        }
        if (!image.equals(image.toLowerCase(Locale.ROOT))) return "has capitals: repository names are lowercase";
        for (String p : parts) {
            if (!COMPONENT.matcher(p).matches()) {
                return "is not a repository name (lowercase letters, digits and . _ - between them, parts separated by /)";
            }
        }
        if (METAFLOW_NAMESPACE.length() + 1 + image.length() > 255) return "is too long (a repository name holds 255 characters)";
        return null;
    }
}
