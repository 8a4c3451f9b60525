package cluster;

/**
 * The upstream releases and images services.java installs by default, and the Metaflow version its config needs.
 * Each was checked in the upstream repository at the tag named beside it (details in UPSTREAM.md); a bump means
 * checking the new tag the same way and updating UPSTREAM.md with it.
 */
public final class Pins {
    private Pins() {}

    /**
     * Argo Workflows. argoproj/argo-workflows, tag v4.1.2 (newest 4.x tag): .github/workflows/release.yaml uploads
     * dist/manifests/*.yaml (install.yaml among them) as release assets; the Makefile's dist/manifests rule rewrites the
     * images' :latest to the release tag (quay.io/argoproj/workflow-controller and argocli, manifests/base/).
     */
    public static final String ARGO_WORKFLOWS = "v4.1.2";

    /**
     * Argo Events. argoproj/argo-events, tag v1.9.11 (newest 1.9.x tag): .github/workflows/release.yml uploads
     * manifests/*.yaml as release assets; manifests/install.yaml there runs quay.io/argoproj/argo-events:v1.9.11 and its
     * ConfigMap argo-events-controller-config lists the JetStream versions the controller accepts (2.10.29 the newest).
     */
    public static final String ARGO_EVENTS = "v1.9.11";

    /**
     * Metadata service (also runs the migrations and the UI backend). Netflix/metaflow-service, tag v2.5.1 (newest tag,
     * includes the parameterized-query fix of #467): .github/workflows/dockerimage.yml pushes netflixoss/metaflow_metadata_service
     * on each release, tagged with the raw release tag (semver pattern {{raw}}), so v2.5.1.
     */
    public static final String METADATA_IMAGE = "netflixoss/metaflow_metadata_service:v2.5.1";

    /**
     * Metaflow UI (static files). Netflix/metaflow-ui (newest tag v1.3.14) publishes no image from its own CI
     * (.github/workflows/package.yml builds a zip only). The newest tag any upstream deployment references is this one:
     * outerbounds/metaflow-tools, tag metaflow-ui-0.3.2, charts/metaflow/charts/metaflow-ui/values.yaml (uiStatic.image).
     */
    public static final String UI_IMAGE = "public.ecr.aws/outerbounds/metaflow_ui:v1.3.3";

    /**
     * Oldest Metaflow client that can deploy @schedule flows on Argo Workflows 4.x. Netflix/metaflow, tag 2.19.32:
     * metaflow/metaflow_config.py gains ARGO_WORKFLOWS_USE_SCHEDULES, and metaflow/plugins/argo/argo_client.py then writes
     * CronWorkflow spec.schedules (a list); tag 2.19.31 has neither. In argo-workflows v4.1.2
     * pkg/apis/workflow/v1alpha1/cron_workflow_types.go the CronWorkflowSpec has only Schedules (the singular Schedule,
     * deprecated in v3.6, is gone).
     */
    public static final String METAFLOW_MIN = "2.19.32";

    /**
     * The stack check's probe pods (busybox sh, sed and curl on Alpine). curl/curl-container, tag 8.21.0:
     * .github/workflows/build_latest_release_multi.yml pushes docker.io/curlimages/curl:<release> (the curl release,
     * 8.21.0 here, dots for underscores); Makefile builds it on docker.io/alpine:3.24.1; create_appliance_image.sh runs it
     * as curl_user.
     */
    public static final String PROBE_TAG = "8.21.0";
    public static final String PROBE_IMAGE = "docker.io/curlimages/curl:" + PROBE_TAG;

    /**
     * The probe image as the stack's registry (login server) serves it, through its cache rule of quay.io/curl/curl
     * (Registry.PROBE_REPOSITORY): the same release's multi-arch image is pushed there under the same tag (curl/curl-container,
     * .github/workflows/build_latest_release_multi.yml, "push images (quay.io)").
     */
    public static String probeImage(String registryLogin) {
        return registryLogin + "/" + azure.Registry.PROBE_REPOSITORY + ":" + PROBE_TAG;
    }

    /**
     * NVIDIA's Kubernetes device plugin, for a stack with a GPU pool. NVIDIA/k8s-device-plugin, tag v0.20.0 (newest
     * release tag): deployments/static/nvidia-device-plugin.yml runs this image; .github/workflows/image.yaml builds
     * the release images (ghcr.io), and the README's static-deployment section applies that manifest.
     */
    public static final String DEVICE_PLUGIN_IMAGE = "nvcr.io/nvidia/k8s-device-plugin:v0.20.0";

    /**
     * The opt-in GPU probe (check --gpu): NVIDIA's CUDA vector-add sample, the GPU job the device plugin's README
     * (NVIDIA/k8s-device-plugin, tag v0.20.0, "Running GPU Jobs") runs to show that a pod got a GPU; it prints "Test PASSED".
     */
    public static final String GPU_PROBE_IMAGE = "nvcr.io/nvidia/k8s/cuda-sample:vectoradd-cuda12.5.0";
}
