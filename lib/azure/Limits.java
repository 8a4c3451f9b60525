package azure;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Limits Azure enforces today, or retires on, that the toolkit checks before its first write rather than meeting them
 * minutes into an apply. Each value names where it is documented; UPSTREAM.md holds the full citations.
 */
public final class Limits {
    private Limits() {}

    // --- AKS ------------------------------------------------------------------------------------------------------

    /**
     * Ranges AKS refuses in a pod CIDR (Azure/AKS CHANGELOG.md: 169.254.0.0/16 link-local, release 2025-01-30; 192.0.2.0/24,
     * release 2019-05-20; 172.30.0.0/16 and 172.31.0.0/16, release 2026-05-29).
     */
    public static final List<String> AKS_RESERVED_RANGES = List.of("169.254.0.0/16", "172.30.0.0/16", "172.31.0.0/16", "192.0.2.0/24");

    /**
     * The support plan a Free or Standard tier cluster has (the stack creates tier Free): only versions whose
     * {@code capabilities.supportPlan} lists it may be created; {@code AKSLongTermSupport} alone needs the Premium tier
     * (kubernetesVersions answer, Microsoft.ContainerService aks/stable/2024-09-01 managedClusters.json).
     */
    public static final String AKS_SUPPORT_PLAN = "KubernetesOfficial";

    // --- PostgreSQL flexible server ---------------------------------------------------------------------------------

    /**
     * Major versions out of Azure's standard support, with the date it ended. The version policy page gives 14 as
     * 2026-11-12; the extended-support page gives 2026-12-11 (Azure docs, "version policy" and "extended support").
     */
    public static final Map<String, String> POSTGRES_OUT_OF_SUPPORT = new LinkedHashMap<>();
    static {
        POSTGRES_OUT_OF_SUPPORT.put("13", "13 November 2025");
        POSTGRES_OUT_OF_SUPPORT.put("14", "12 November 2026 (extended support from 11 December 2026)");
    }

    /** The major version a new server should use instead. */
    public static final String POSTGRES_SUGGESTED = "17";

    /** Connections Flexible Server keeps for replication and monitoring out of max_connections (Flexible Server "Limits" page). */
    public static final int POSTGRES_RESERVED_CONNECTIONS = 15;

    // --- Metaflow services' database pools -----------------------------------------------------------------------

    /**
     * Connection pools the services open, each up to MF_METADATA_DB_POOL_MAX connections (Netflix/metaflow-service
     * v2.5.1): the metadata service one (services/metadata_service/server.py), the UI backend five (ui, cache, notify,
     * heartbeat, websocket: services/ui_backend_service/ui_server.py).
     */
    public static final int SERVICE_POOLS = 6;
    /** A rolling update runs the old and the new pod of each service side by side. */
    public static final int ROLLOUT_COPIES = 2;
    /** Left free for the schema migration's init container and an operator's psql session. */
    public static final int SPARE_CONNECTIONS = 5;
    /** aiopg's and metaflow-service's default pool maximum (services/utils/__init__.py, DBConfiguration). */
    public static final int DEFAULT_POOL_MAX = 10;

    /** Pool bounds for MF_METADATA_DB_POOL_MIN/MAX. */
    public record Pools(int min, int max) {}

    /**
     * Pools that fit a server whose max_connections is {@code maxConnections}: the default maximum when it fits, smaller
     * otherwise; null when not even one connection per pool fits.
     */
    public static Pools poolsFor(int maxConnections) {
        int usable = maxConnections - POSTGRES_RESERVED_CONNECTIONS - SPARE_CONNECTIONS;
        int max = Math.min(DEFAULT_POOL_MAX, usable / (SERVICE_POOLS * ROLLOUT_COPIES));
        return max < 1 ? null : new Pools(1, max);
    }

    /** Connections the services need at least (one per pool, twice during a rollout), for messages. */
    public static int leastConnections() {
        return POSTGRES_RESERVED_CONNECTIONS + SPARE_CONNECTIONS + SERVICE_POOLS * ROLLOUT_COPIES;
    }

    // --- storage ------------------------------------------------------------------------------------------------

    /**
     * Days a deleted blob or container stays restorable (blobServices deleteRetentionPolicy and
     * containerDeleteRetentionPolicy, 1-365 days: Microsoft.Storage stable/2023-05-01 blob.json).
     */
    public static final int SOFT_DELETE_DAYS = 7;
}
