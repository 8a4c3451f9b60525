package azure;

import java.util.List;

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
}
