import static org.junit.jupiter.api.Assertions.*;

import fake.ArgoFixture;
import fake.KubeFake;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Kubernetes fake refuses server-side applies the real API server refuses, and applies the rest. */
class KubeFakeTest {
    final KubeFake kube = new KubeFake();
    final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void close() {
        kube.close();
    }

    int apply(String path, String yaml) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(kube.url() + path))
                .method("PATCH", HttpRequest.BodyPublishers.ofString(yaml))
                .header("Content-Type", "application/apply-patch+yaml").build();
        return http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    static final String NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: metaflow}\n";
    static final String SA = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: metaflow, namespace: metaflow}\n";

    @Test
    void applyNeedsAFieldManager() throws Exception {
        assertEquals(400, apply("/api/v1/namespaces/metaflow", NS));
        assertEquals(201, apply("/api/v1/namespaces/metaflow?fieldManager=t", NS));
    }

    @Test
    void namespacedObjectsNeedTheirNamespaceFirst() throws Exception {
        assertEquals(404, apply("/api/v1/namespaces/metaflow/serviceaccounts/metaflow?fieldManager=t", SA));
        assertEquals(201, apply("/api/v1/namespaces/metaflow?fieldManager=t", NS));
        assertEquals(201, apply("/api/v1/namespaces/metaflow/serviceaccounts/metaflow?fieldManager=t", SA));
    }

    @Test
    void theBodyMustNameTheObjectOfTheUrl() throws Exception {
        assertEquals(400, apply("/api/v1/namespaces/other?fieldManager=t", NS));
    }

    @Test
    void customResourcesNeedTheirDefinition() throws Exception {
        apply("/api/v1/namespaces/metaflow?fieldManager=t", NS);
        String bus = "apiVersion: argoproj.io/v1alpha1\nkind: EventBus\nmetadata: {name: default, namespace: metaflow}\nspec: {}\n";
        String path = "/apis/argoproj.io/v1alpha1/namespaces/metaflow/eventbus/default?fieldManager=t";
        assertEquals(404, apply(path, bus));
        String crd = ArgoFixture.crd("eventbus", "EventBus").replace("---\n", "");
        assertEquals(201, apply("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/eventbus.argoproj.io?fieldManager=t", crd));
        assertEquals(201, apply(path, bus));
    }

    int send(String method, String path, String json) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create(kube.url() + path)).method(method, HttpRequest.BodyPublishers.ofString(json))
                .header("Content-Type", "application/json").build();
        return http.send(req, HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    static final String JOB = "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\",\"metadata\":{\"name\":\"j\",\"namespace\":\"metaflow\"},"
            + "\"spec\":{\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}";

    /** Waits for the fake's controllers (rollOutDeployments) to give the Job its pod and run it. */
    void awaitJobRun() throws Exception {
        long deadline = System.currentTimeMillis() + 10000;
        while (kube.all("Pod").isEmpty() || !kube.stored("/apis/batch/v1/namespaces/metaflow/jobs/j").path("status").has("succeeded")) {
            assertTrue(System.currentTimeMillis() < deadline, "the Job was not run: " + kube.keys());
            Thread.sleep(50);
        }
    }

    @Test
    void deletingAJobOrphansItsPodUnlessThePropagationPolicySaysOtherwise() throws Exception {
        try (AutoCloseable controllers = kube.rollOutDeployments(java.util.Set.of())) {
            assertEquals(201, send("POST", "/apis/batch/v1/namespaces/metaflow/jobs", JOB));
            awaitJobRun();
            assertEquals("j", kube.all("Pod").get(0).path("metadata").path("labels").path("job-name").asText());
            assertEquals(200, send("DELETE", "/apis/batch/v1/namespaces/metaflow/jobs/j", "{}"));
            assertEquals(1, kube.all("Pod").size(), "batch/v1 Jobs orphan their pods by default");
            kube.delete("/api/v1/namespaces/metaflow/pods/" + kube.all("Pod").get(0).path("metadata").path("name").asText());

            assertEquals(201, send("POST", "/apis/batch/v1/namespaces/metaflow/jobs", JOB));
            awaitJobRun();
            assertEquals(200, send("DELETE", "/apis/batch/v1/namespaces/metaflow/jobs/j",
                    "{\"apiVersion\":\"v1\",\"kind\":\"DeleteOptions\",\"propagationPolicy\":\"Background\"}"));
            assertEquals(0, kube.all("Pod").size(), kube.keys().toString());
        }
    }

    @Test
    void aPodIsScheduledOnlyWhereItsNodeSelectorMatches() throws Exception {
        try (AutoCloseable controllers = kube.rollOutDeployments(java.util.Set.of())) {
            assertEquals(201, send("POST", "/apis/batch/v1/namespaces/metaflow/jobs",
                    JOB.replace("\"restartPolicy\"", "\"nodeSelector\":{\"agentpool\":\"gpu\"},\"restartPolicy\"")));
            long deadline = System.currentTimeMillis() + 10000;
            while (kube.all("Pod").isEmpty()) {
                assertTrue(System.currentTimeMillis() < deadline);
                Thread.sleep(50);
            }
            Thread.sleep(200);
            var pod = kube.all("Pod").get(0);
            assertEquals("Unschedulable", pod.path("status").path("conditions").path(0).path("reason").asText(), pod.toString());
            assertEquals(1, kube.stored("/apis/batch/v1/namespaces/metaflow/jobs/j").path("status").path("active").asInt());
        }
    }

    @Test
    void aRefusedPullNeverStartsThePodAndTheKubeletSaysWhyInEvents() throws Exception {
        kube.imagePulls(image -> image.equals("x") ? "failed to pull and unpack image \"docker.io/library/x:latest\": 401 Unauthorized" : null);
        try (AutoCloseable controllers = kube.rollOutDeployments(java.util.Set.of())) {
            assertEquals(201, send("POST", "/apis/batch/v1/namespaces/metaflow/jobs", JOB));
            long deadline = System.currentTimeMillis() + 10000;
            String reason = "";
            java.util.List<String> seen = new java.util.ArrayList<>();
            while (!reason.equals("ImagePullBackOff")) {
                assertTrue(System.currentTimeMillis() < deadline, "no back-off: " + seen);
                var pods = kube.all("Pod");
                if (!pods.isEmpty()) {
                    var waiting = pods.get(0).path("status").path("containerStatuses").path(0).path("state").path("waiting");
                    reason = waiting.path("reason").asText();
                    if (!reason.isEmpty() && !seen.contains(reason)) seen.add(reason);
                    if (reason.equals("ErrImagePull")) assertTrue(waiting.path("message").asText().endsWith("401 Unauthorized"), waiting.toString());
                    if (reason.equals("ImagePullBackOff")) assertEquals("Back-off pulling image \"x\"", waiting.path("message").asText());
                }
                Thread.sleep(10);
            }
            var pod = kube.all("Pod").get(0);
            assertEquals("Pending", pod.path("status").path("phase").asText());
            assertEquals("c", pod.path("status").path("containerStatuses").path(0).path("name").asText());
            assertEquals(1, kube.stored("/apis/batch/v1/namespaces/metaflow/jobs/j").path("status").path("active").asInt(), "never ran");
            // The kubelet's events keep the cause the back-off's message no longer names.
            java.util.List<String> events = kube.all("Event").stream().map(e -> e.path("reason").asText() + ": " + e.path("message").asText()).toList();
            assertTrue(events.contains("Failed: Failed to pull image \"x\": failed to pull and unpack image \"docker.io/library/x:latest\": 401 Unauthorized"),
                    events.toString());
            assertTrue(events.containsAll(java.util.List.of("Failed: Error: ErrImagePull", "BackOff: Back-off pulling image \"x\"",
                    "Failed: Error: ImagePullBackOff")), events.toString());
            assertEquals("Pod", kube.all("Event").get(0).path("involvedObject").path("kind").asText());
        }
    }

    @Test
    void byDefaultEveryPullSucceeds() throws Exception {
        try (AutoCloseable controllers = kube.rollOutDeployments(java.util.Set.of())) {
            assertEquals(201, send("POST", "/apis/batch/v1/namespaces/metaflow/jobs", JOB));
            awaitJobRun();
            assertTrue(kube.all("Event").isEmpty());
        }
    }
}
