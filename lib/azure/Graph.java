package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Microsoft Graph objects of the service-principal mode: they live outside resource groups. */
final class Graph {
    private Graph() {}

    /** Tag put on the application so that a re-run finds it, and never someone else's app of the same name. */
    public static String stackTag(String stackName) {
        return "metaflow-stack:" + stackName;
    }

    static String filter(String expression) {
        return "?$filter=" + Arm.odata(expression);
    }

    /** Applications of this stack, found by display name and tag (Graph creation is a POST: never blind). */
    public static List<JsonNode> findApplications(Arm graph, String displayName, String stackName) {
        JsonNode found = graph.getUrl(graph.endpoint() + "/v1.0/applications" + filter("displayName eq '" + displayName + "'"));
        List<JsonNode> ours = new ArrayList<>();
        for (JsonNode app : found.path("value")) {
            for (JsonNode t : app.path("tags")) {
                if (t.asText().equals(stackTag(stackName))) ours.add(app);
            }
        }
        return ours;
    }

    public static Optional<JsonNode> findServicePrincipal(Arm graph, String appId) {
        JsonNode found = graph.getUrl(graph.endpoint() + "/v1.0/servicePrincipals" + filter("appId eq '" + appId + "'"));
        return found.path("value").isEmpty() ? Optional.empty() : Optional.of(found.path("value").get(0));
    }

    /** The AAD application; several tagged apps of one stack (made by an older tool) are an error to resolve by hand. */
    record Application(String displayName, String stackName) implements Plan.Handler {
        @Override
        public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) {
            List<JsonNode> apps = findApplications(Clients.of(ctx).graph(), displayName, stackName);
            if (apps.size() > 1) {
                throw new Arm.AzureException(409, "DuplicateApplications", apps.size() + " applications named " + displayName
                        + " carry this stack's tag; delete all but one (az ad app delete --id <appId>) and run again", displayName);
            }
            return apps.stream().findFirst();
        }

        @Override
        public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            if (current.isPresent()) return current.get();
            ObjectNode body = Json.obj().put("displayName", displayName).put("signInAudience", "AzureADMyOrg");
            body.putArray("tags").add(stackTag(stackName));
            Arm graph = Clients.of(ctx).graph();
            return graph.postUrl(graph.endpoint() + "/v1.0/applications", body);
        }
    }

    /** The application's service principal, which role assignments are granted to. */
    record ServicePrincipal(String applicationKey) implements Plan.Handler {
        @Override
        public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode application) {
            return findServicePrincipal(Clients.of(ctx).graph(), application.path("appId").asText());
        }

        @Override
        public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
            if (current.isPresent()) return current.get();
            String appId = outputs.get(applicationKey, "/appId");
            Optional<JsonNode> existing = findServicePrincipal(Clients.of(ctx).graph(), appId);
            if (existing.isPresent()) return existing.get();
            ObjectNode body = Json.obj().put("appId", appId);
            body.putArray("tags").add("WindowsAzureActiveDirectoryIntegratedApp");
            Arm graph = Clients.of(ctx).graph();
            return graph.postUrl(graph.endpoint() + "/v1.0/servicePrincipals", body);
        }
    }
}
