package cluster;

import azure.Stack;
import java.util.List;

/**
 * The services on the cluster, in one place: where each runs, its Deployment and Service, the port it serves, its
 * readiness path and the bundled manifest that defines it (null: an Argo release's install.yaml). services.java forward and status,
 * the Metaflow client config and the stack check read them from here; tests/CatalogTest.java holds them against
 * manifests/*.yaml, the //FILES lines of services.java and Manifests.BUNDLED.
 */
public final class Catalog {
    private Catalog() {}

    // Constant expressions, so that option help texts (annotations) can name them too.
    public static final int METADATA_PORT = 8080;
    public static final int UI_BACKEND_PORT = 8083;
    public static final int UI_PORT = 3000;
    public static final int ARGO_SERVER_PORT = 2746;
    public static final int WEBHOOK_PORT = 12000;
    /** The metadata service's database check (it runs SELECT 1), read through the API server's service proxy. */
    public static final String DB_CHECK_PATH = "/healthcheck";
    /** The UI backend as the browser reaches it through forward (its PATH_PREFIX is /api). */
    public static final String LOCAL_UI_BACKEND_URL = "http://localhost:" + UI_BACKEND_PORT + "/api";
    /** The webhook EventSource; the Argo Events controller names its Service {@code <name>-eventsource-svc}. */
    public static final String EVENT_SOURCE = "argo-events-webhook";
    public static final String WEBHOOK_SERVICE = EVENT_SOURCE + "-eventsource-svc";
    public static final String WEBHOOK_PATH = "/metaflow-event";
    public static final String EVENT_BUS = "default";
    /** Stack.kubeNamespace() of every stack: for a cluster of the user's kubeconfig when no --prefix names the stack. */
    static final String METAFLOW_NAMESPACE = "metaflow";
    /** Stack.servicesNamespace() of every stack, likewise. */
    static final String SERVICES_NAMESPACE = "metaflow-services";
    /** The relay in the flows' namespace through which forward reaches the services (grantees may port-forward only there). */
    public static final String GATEWAY_NAME = "metaflow-gateway";

    /** Stack.kubeServiceAccount() of every stack, for the same case. */
    static final String SERVICE_ACCOUNT = "metaflow";

    /** The service account services and task pods run as: the stack's, or with none the one every stack uses. */
    static String serviceAccount(Stack stack) {
        return stack == null ? SERVICE_ACCOUNT : stack.kubeServiceAccount();
    }

    /** Where a service runs: the flows' namespace (METAFLOW), the services' own, or the namespace of an Argo controller. */
    public enum Home {
        METAFLOW, SERVICES, ARGO_WORKFLOWS, ARGO_EVENTS;

        /** The namespace's name for this stack; with none (a kubeconfig of the user's, no --prefix) the one every stack uses. */
        public String in(Stack stack) {
            return switch (this) {
                case METAFLOW -> stack == null ? METAFLOW_NAMESPACE : stack.kubeNamespace();
                case SERVICES -> stack == null ? SERVICES_NAMESPACE : stack.servicesNamespace();
                case ARGO_WORKFLOWS -> Argo.WORKFLOWS_NAMESPACE;
                case ARGO_EVENTS -> stack == null ? Argo.EVENTS_NAMESPACE : stack.argoEventsNamespace();
            };
        }
    }

    /** A service: deployment or service null when it has none of its own; port 0 when nothing is forwarded to it. */
    public record Service(Home home, String deployment, String service, int port, String healthPath, boolean argo, String manifest) {
        public String namespace(Stack stack) { return home.in(stack); }

        /** A path of this service through the API server's service proxy. */
        public String proxyPath(String namespace, String path) {
            return "/api/v1/namespaces/" + namespace + "/services/" + service + ":" + port + "/proxy" + path;
        }

        /** Whether forward reaches it through the gateway: a service of the services' namespace that is forwarded. */
        public boolean relayed() { return home == Home.SERVICES && port > 0; }

        /** A path of this service through the gateway in the flows' namespace, as forward reaches it (on the service's port). */
        public String gatewayProxyPath(String flowsNamespace, String path) {
            return "/api/v1/namespaces/" + flowsNamespace + "/services/" + GATEWAY.service() + ":" + port + "/proxy" + path;
        }

        /** The in-cluster host name of its Service (what the gateway and the old names in the flows' namespace point at). */
        public String host(Stack stack) {
            return service + "." + namespace(stack) + ".svc.cluster.local";
        }
    }

    public static final Service METADATA = new Service(Home.SERVICES, "metadata-service", "metadata-service", METADATA_PORT,
            "/ping", false, "20-metadata-service.yaml");
    public static final Service UI_BACKEND = new Service(Home.SERVICES, "metaflow-ui-backend-service", "metaflow-ui-backend-service",
            UI_BACKEND_PORT, "/api/ping", false, "30-ui-backend.yaml");
    public static final Service UI = new Service(Home.SERVICES, "metaflow-ui-static-service", "metaflow-ui-static-service", UI_PORT,
            "/", false, "40-ui.yaml");
    /**
     * The gateway: a TCP relay in the flows' namespace listening on each relayed service's port (port 0: nothing is
     * forwarded to the gateway as such; forward reaches it for the services it relays).
     */
    public static final Service GATEWAY = new Service(Home.METAFLOW, GATEWAY_NAME, GATEWAY_NAME, 0, null, false, "45-gateway.yaml");
    public static final Service WORKFLOW_CONTROLLER = new Service(Home.ARGO_WORKFLOWS, "workflow-controller", null, 0, null, true, null);
    public static final Service ARGO_SERVER = new Service(Home.ARGO_WORKFLOWS, "argo-server", "argo-server", ARGO_SERVER_PORT, null, true, null);
    public static final Service EVENTS_CONTROLLER = new Service(Home.ARGO_EVENTS, "controller-manager", null, 0, null, true, null);
    /** The events webhook: the EventSource's Service (the controller makes it, and the Deployment behind it). */
    public static final Service WEBHOOK = new Service(Home.METAFLOW, null, WEBHOOK_SERVICE, WEBHOOK_PORT, null, true,
            "50-argo-metaflow.yaml");

    /** Every service, in the order forward and status list them. */
    public static final List<Service> ALL = List.of(METADATA, UI_BACKEND, UI, GATEWAY, WORKFLOW_CONTROLLER, ARGO_SERVER, EVENTS_CONTROLLER,
            WEBHOOK);

    /** The services forward reaches through the gateway (METADATA, UI_BACKEND, UI). */
    public static List<Service> relayed() {
        return ALL.stream().filter(Service::relayed).toList();
    }

    /** The services with a Deployment of their own, Argo's only with Argo. */
    public static List<Service> deployments(boolean argo) {
        return ALL.stream().filter(s -> s.deployment() != null && (argo || !s.argo())).toList();
    }

    /** The services forward reaches, Argo's only with Argo. */
    public static List<Service> forwarded(boolean argo) {
        return ALL.stream().filter(s -> s.port() > 0 && (argo || !s.argo())).toList();
    }

    /** The highest port forward uses: --port-offset may add no more than keeps it a port. */
    public static int highestPort() {
        return ALL.stream().mapToInt(Service::port).max().orElseThrow();
    }

    /** Kind and name of an Argo Events object of the webhook (both in the Metaflow namespace). */
    record EventsObject(String kind, String name) {}

    /** The webhook's event bus and event source, the bus first: an event source waits for its bus. */
    public static final List<EventsObject> EVENTS_OBJECTS = List.of(new EventsObject("EventBus", EVENT_BUS),
            new EventsObject("EventSource", EVENT_SOURCE));
}
