import static org.junit.jupiter.api.Assertions.*;

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
}
