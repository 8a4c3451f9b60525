package azure;

import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Plan;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the resources that exist already decide about a plan: the network a cluster was built with, storage that cannot shrink. */
public final class Kept {
    private Kept() {}

    /**
     * An existing cluster keeps the network it was built with; the plan says so instead of showing the mode a new
     * cluster would get. AKS cannot be moved between modes by a PUT of the stack's body (the fake refuses it too).
     */
    public static List<Plan.Step> showKeptNetwork(List<Plan.Step> steps) {
        List<Plan.Step> out = new ArrayList<>();
        for (Plan.Step st : steps) {
            if (st.item().key().equals(Desired.AKS) && st.current().isPresent()) {
                JsonNode net = st.current().get().path("properties").path("networkProfile");
                String mode = net.path("networkPluginMode").asText("");
                String plugin = net.path("networkPlugin").asText("?");
                String kept = (plugin.equalsIgnoreCase("azure") ? (mode.equalsIgnoreCase("overlay") ? "Azure CNI Overlay, pods "
                        + net.path("podCidr").asText("?") : "Azure CNI (flat: pods take subnet addresses)") : plugin)
                        + " - kept as the cluster was built (never migrated)";
                Map<String, String> settings = new LinkedHashMap<>(st.item().settings());
                settings.put("network", kept);
                Plan.Item i = st.item();
                st = new Plan.Step(new Plan.Item(i.key(), i.kind(), i.name(), i.parent(), i.dependsOn(), settings, i.handler()),
                        st.action(), st.current(), st.changes());
            }
            out.add(st);
        }
        return out;
    }

    /**
     * The plan names the Kubernetes version: the one asked for; else a new cluster's region default ({@code regionDefault},
     * read by the caller) or the version an existing cluster runs (auto-upgrade moves it, so none is sent).
     */
    public static List<Plan.Step> showKubernetesVersion(List<Plan.Step> steps, Settings o, String regionDefault) {
        List<Plan.Step> out = new ArrayList<>();
        for (Plan.Step st : steps) {
            if (st.item().key().equals(Desired.AKS) && o.kubernetesVersion() == null) {
                String running = st.current().map(c -> c.path("properties").path("currentKubernetesVersion").asText("")).orElse("");
                String shown = !running.isEmpty() ? running + " (as the cluster runs it; auto-upgrade channel stable)"
                        : regionDefault != null ? regionDefault + " (the region's default)" : null;
                if (shown != null) {
                    Map<String, String> settings = new LinkedHashMap<>(st.item().settings());
                    settings.put("kubernetes", shown);
                    Plan.Item i = st.item();
                    st = new Plan.Step(new Plan.Item(i.key(), i.kind(), i.name(), i.parent(), i.dependsOn(), settings, i.handler()),
                            st.action(), st.current(), st.changes());
                }
            }
            out.add(st);
        }
        return out;
    }

    /**
     * PostgreSQL 13 and 14 are out of Azure's standard support: a new server on them is refused (bad input), an existing
     * one is named in a warning (its data is not at risk; upgrading is the owner's call).
     */
    public static String postgresSupport(List<Plan.Step> steps, Settings o) {
        for (Plan.Step st : steps) {
            if (!st.item().key().equals(Desired.POSTGRES)) continue;
            if (st.current().isEmpty()) {
                String ended = Limits.POSTGRES_OUT_OF_SUPPORT.get(o.postgresVersion());
                if (ended != null) {
                    throw new Stack.InputException("--postgres-version", "PostgreSQL " + o.postgresVersion() + " is out of Azure's standard "
                            + "support (ended " + ended + "); a new server must use 15, 16 or 17", Limits.POSTGRES_SUGGESTED);
                }
                return null;
            }
            String running = st.current().get().path("properties").path("version").asText("");
            String ended = Limits.POSTGRES_OUT_OF_SUPPORT.get(running);
            if (ended == null) return null;
            return "PostgreSQL server " + st.item().name() + " runs PostgreSQL " + running + ", out of Azure's standard support (ended " + ended
                    + "); Azure moves it to paid extended support. Plan a major version upgrade (portal: Upgrade, or az postgres "
                    + "flexible-server upgrade --version " + Limits.POSTGRES_SUGGESTED + ").";
        }
        return null;
    }

    /** The AKS subnet's range in an existing virtual network when it differs from the stack's, else null. */
    public static String existingK8sSubnet(List<Plan.Step> steps, Stack s, Settings o) {
        for (Plan.Step st : steps) {
            if (!st.item().key().equals(Desired.VNET) || st.current().isEmpty()) continue;
            JsonNode subnet = Json.at(st.current().get(), "/properties/subnets/" + s.k8sSubnet());
            String prefix = subnet == null ? null : subnet.path("properties").path("addressPrefix").asText(null);
            return prefix == null || prefix.equals(o.k8sSubnetCidr()) ? null : prefix;
        }
        return null;
    }

    /** Azure cannot shrink a server's storage: refused before any write, with the size it has. */
    public static void refuseStorageShrink(Stack s, Settings o, List<Plan.Step> steps) {
        for (Plan.Step st : steps) {
            if (!st.item().key().equals(Desired.POSTGRES) || st.current().isEmpty()) continue;
            int now = st.current().get().path("properties").path("storage").path("storageSizeGB").asInt(0);
            int wanted = o.postgresStorageGb();
            if (now > wanted) {
                throw new Stack.InputException("--postgres-storage-gb", "server " + s.postgresServer() + " has " + now
                        + " GiB and Azure cannot shrink a server's storage; keep " + now + " or grow it", String.valueOf(now));
            }
        }
    }
}
