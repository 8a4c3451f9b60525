package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import java.util.List;
import java.util.Optional;

/**
 * The move of an existing cluster off local accounts, finished: disabling them stops AKS handing out new static
 * credentials but does not revoke those already handed out (AKS "Manage local accounts"); only rotating the cluster's
 * certificates does (POST managedClusters/rotateClusterCertificates, a long-running operation; AKS "Certificate
 * rotation": the cluster's components restart, which takes a while).
 *
 * <p>Resumable without a state file: the cluster update that turns local accounts off also tags the cluster
 * {@link #TAG}={@link #PENDING} (see Desired); this step rotates while the tag is there and removes it only once the
 * rotation has succeeded. An interrupted run's successor therefore rotates again (harmless, only slow). A cluster
 * created with local accounts off never carries the tag: nothing to rotate.
 */
public record CertificateRotation(String aksId) implements Plan.Handler {
    public static final String TAG = "metaflow-local-accounts";
    public static final String PENDING = "disabled-certificates-not-yet-rotated";

    /** The cluster's state as this step sees it: whether a rotation is owed (or null: no cluster yet). */
    @Override
    public Optional<JsonNode> read(Plan.Ctx ctx, JsonNode parent) {
        Optional<JsonNode> cluster = Clients.of(ctx).arm().get(aksId, Desired.API_AKS);
        return Optional.of(view(cluster.orElse(null)));
    }

    /** Owed when the cluster exists and either still has local accounts (this run turns them off) or is tagged pending. */
    static ObjectNode view(JsonNode cluster) {
        ObjectNode v = Json.obj().put("id", aksId(cluster));
        boolean owed = cluster != null && (!cluster.path("properties").path("disableLocalAccounts").asBoolean(false)
                || PENDING.equals(cluster.path("tags").path(TAG).asText()));
        v.put("rotationOwed", owed);
        if (cluster != null) {
            v.put("provisioningState", cluster.path("properties").path("provisioningState").asText(""));
            v.set("tags", cluster.path("tags").deepCopy());
        }
        return v;
    }

    private static String aksId(JsonNode cluster) {
        return cluster == null ? "" : cluster.path("id").asText("");
    }

    /** What the move off local accounts means for everyone, when this plan makes it (null otherwise): printed under the plan. */
    public static String moveNote(List<Plan.Step> steps) {
        boolean moving = steps.stream().anyMatch(st -> st.item().key().equals(Desired.CERTIFICATES) && st.action() != Plan.Action.NOOP);
        return !moving ? null : "This run moves the cluster off local accounts to Microsoft Entra ID: afterwards everyone signs in as "
                + "themselves (services.java does it for you; grantees run 'services.java connect' again), a grantee may do only what "
                + "running flows needs in namespace metaflow instead of anything in the cluster, and the cluster's certificates are "
                + "rotated, which revokes every kubeconfig handed out before and restarts the cluster's components (it takes a "
                + "while; an interrupted run continues it).";
    }

    @Override
    public List<String> differences(JsonNode current, Plan.Outputs outputs) {
        return current.path("rotationOwed").asBoolean(false)
                ? List.of("certificates: issued while local accounts were on; rotate them so no local-account kubeconfig works any more")
                : List.of();
    }

    @Override
    public boolean actionOnly() { return true; }

    /** The cluster is busy with an operation an interrupted run started (a rotation, an update): wait for it first. */
    @Override
    public boolean inFlight(JsonNode current) {
        return Arm.inProgress(current.path("provisioningState").asText(""));
    }

    @Override
    public Optional<JsonNode> awaitSettled(Plan.Ctx ctx) {
        Arm arm = Clients.of(ctx).arm();
        arm.awaitSettled(aksId, Desired.API_AKS, Arm.Watcher.NONE);
        return Optional.of(view(arm.get(aksId, Desired.API_AKS).orElse(null)));
    }

    @Override
    public JsonNode apply(Plan.Ctx ctx, Optional<JsonNode> current, Plan.Outputs outputs) {
        Arm arm = Clients.of(ctx).arm();
        arm.postAndWait(aksId + "/rotateClusterCertificates", Desired.API_AKS, Arm.Watcher.NONE);
        // Done: drop the marker (PATCH of tags only, managedClusters updateTags), keeping every other tag as it stands.
        JsonNode cluster = arm.get(aksId, Desired.API_AKS).orElseThrow();
        ObjectNode tags = cluster.path("tags").isObject() ? ((ObjectNode) cluster.path("tags")).deepCopy() : Json.obj();
        if (tags.has(TAG)) {
            tags.remove(TAG);
            ObjectNode body = Json.obj();
            body.set("tags", tags);
            cluster = arm.patch(aksId, Desired.API_AKS, body, Arm.Watcher.NONE);
        }
        ObjectNode v = view(cluster);
        v.put("rotated", true);
        return v;
    }
}
