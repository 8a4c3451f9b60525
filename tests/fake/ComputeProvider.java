package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Microsoft.Compute as far as the toolkit reads it: the VM sizes (resource SKUs, with restrictions per location and a
 * {@code GPUs} capability for GPU sizes) and the regional vCPU quotas and usages. The only vCPUs used are AKS agent
 * pools' nodes ({@code count}, else {@code minCount}); a Spot pool's count against {@code lowPriorityCores}, not its
 * family's nor the regional total. As in Azure, the usages API may spell a family in other case than the SKUs API
 * ({@link Sku#usageName}), and GPU families start with no quota (new subscriptions must ask for it).
 */
final class ComputeProvider extends ArmProvider {

    /** A VM size the fake knows: family (as the SKUs API spells it), vCPUs, GPUs, and its family as the usages API spells it. */
    record Sku(String name, String family, int vcpus, int gpus, String usageName) {
        Sku(String name, String family, int vcpus) { this(name, family, vcpus, 0, family); }
    }

    static final String LOW_PRIORITY = "lowPriorityCores";

    private final Map<String, Sku> skus = new LinkedHashMap<>();
    private final Map<String, Integer> quotas = new LinkedHashMap<>();
    private final Map<String, Set<String>> restricted = new HashMap<>();

    ComputeProvider(ArmCore core) {
        super(core, "Microsoft.Compute", List.of("2021-07-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01"));
        for (Sku s : List.of(
                new Sku("Standard_D2s_v5", "standardDSv5Family", 2), new Sku("Standard_D4s_v5", "standardDSv5Family", 4),
                new Sku("Standard_D8s_v5", "standardDSv5Family", 8), new Sku("Standard_D16s_v5", "standardDSv5Family", 16),
                new Sku("Standard_D2_v5", "standardDv5Family", 2), new Sku("Standard_D4_v5", "standardDv5Family", 4),
                new Sku("Standard_D8_v5", "standardDv5Family", 8), new Sku("Standard_D16_v5", "standardDv5Family", 16),
                new Sku("Standard_D2ds_v5", "standardDDSv5Family", 2), new Sku("Standard_D4ds_v5", "standardDDSv5Family", 4),
                new Sku("Standard_D2as_v5", "standardDASv5Family", 2), new Sku("Standard_D4as_v5", "standardDASv5Family", 4),
                new Sku("Standard_D2_v2", "standardDv2Family", 2), new Sku("Standard_D3_v2", "standardDv2Family", 4),
                new Sku("Standard_D4_v2", "standardDv2Family", 8), new Sku("Standard_DS2_v2", "standardDSv2Family", 2),
                new Sku("Standard_B2s", "standardBSFamily", 2), new Sku("Standard_B2ms", "standardBSFamily", 2),
                new Sku("Standard_B4ms", "standardBSFamily", 4), new Sku("Standard_E2s_v5", "standardESv5Family", 2),
                new Sku("Standard_E4s_v5", "standardESv5Family", 4))) {
            addSku(s.name(), s.family(), s.vcpus());
        }
        // GPU sizes (NVIDIA T4 and V100); the usages API's spelling of these families differs in case from the SKUs API's.
        addGpuSku("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", 4, 1, "StandardNCASv3_T4Family");
        addGpuSku("Standard_NC8as_T4_v3", "standardNCASv3_T4Family", 8, 1, "StandardNCASv3_T4Family");
        addGpuSku("Standard_NC6s_v3", "standardNCSv3Family", 6, 1, "StandardNCSv3Family");
    }

    void addGpuSku(String size, String family, int vcpus, int gpus, String usageName) {
        skus.put(size.toLowerCase(Locale.ROOT), new Sku(size, family, vcpus, gpus, usageName));
        quotas.putIfAbsent(usageName.toLowerCase(Locale.ROOT), 0);
    }

    @Override public List<String> listedTypes() { return List.of("virtualMachines", "locations/usages", "skus"); }

    void addSku(String size, String family, int vcpus) {
        skus.put(size.toLowerCase(Locale.ROOT), new Sku(size, family, vcpus));
    }

    /** A family's (or cores', lowPriorityCores') limit; the name in any case. */
    void quota(String family, int limit) {
        quotas.put(family.toLowerCase(Locale.ROOT), limit);
    }

    void restrict(String size, String location) {
        restricted.computeIfAbsent(size.toLowerCase(Locale.ROOT), k -> new LinkedHashSet<>()).add(location.toLowerCase(Locale.ROOT));
    }

    Sku sku(String size) {
        return skus.get(size.toLowerCase(Locale.ROOT));
    }

    boolean restricted(Sku sku, String location) {
        return restricted.getOrDefault(sku.name().toLowerCase(Locale.ROOT), Set.of()).contains(ArmCore.normLocation(location));
    }

    private int limit(String family) {
        return quotas.getOrDefault(family.toLowerCase(Locale.ROOT), family.equals("cores") ? 350 : 100);
    }

    static boolean spot(JsonNode pool) {
        return "Spot".equalsIgnoreCase(pool.path("scaleSetPriority").asText(""));
    }

    /** The quotas a pool's vCPUs count against: its family and the regional total, or the Spot total. */
    private static List<String> quotasOf(Sku sku, JsonNode pool) {
        return spot(pool) ? List.of(LOW_PRIORITY) : List.of(sku.usageName(), "cores");
    }

    static int nodes(JsonNode pool) {
        if (pool.has("count")) return pool.path("count").asInt();
        if (pool.has("minCount")) return pool.path("minCount").asInt();
        return 1;
    }

    /** vCPUs in use per family (and "cores") in a location, leaving out the pools with these keys. */
    private Map<String, Integer> usage(String location, Set<String> excludeKeys) {
        Map<String, Integer> u = new TreeMap<>();
        for (Res p : core.all(ContainerServiceProvider.POOLS, "")) {
            if (excludeKeys.contains(p.key()) || "Failed".equals(p.state)) continue;
            Res cluster = core.resources.get(p.key().substring(0, p.key().lastIndexOf("/agentpools/")));
            if (cluster == null || "Failed".equals(cluster.state)
                    || !ArmCore.normLocation(cluster.location()).equals(ArmCore.normLocation(location))) continue;
            Sku sku = skus.get(p.props().path("vmSize").asText("").toLowerCase(Locale.ROOT));
            if (sku == null) continue;
            int v = nodes(p.props()) * sku.vcpus();
            for (String q : quotasOf(sku, p.props())) u.merge(q, v, Integer::sum);
        }
        return u;
    }

    /** {QuotaExceeded, message} if these pools would exceed a regional quota, else null. */
    String[] quotaCheck(String location, List<ObjectNode> pools, Set<String> excludeKeys) {
        Map<String, Integer> use = usage(location, excludeKeys);
        Map<String, Integer> need = new LinkedHashMap<>();
        for (ObjectNode p : pools) {
            Sku sku = skus.get(p.path("vmSize").asText("").toLowerCase(Locale.ROOT));
            int v = nodes(p) * sku.vcpus();
            for (String q : quotasOf(sku, p)) need.merge(q, v, Integer::sum);
        }
        for (Map.Entry<String, Integer> e : need.entrySet()) {
            int limit = limit(e.getKey());
            int current = use.getOrDefault(e.getKey(), 0);
            if (current + e.getValue() > limit) {
                String what = e.getKey().equals("cores") ? "Total Regional Cores" : e.getKey().equals(LOW_PRIORITY)
                        ? "Total Regional Low-priority Cores" : e.getKey() + " Cores";
                return new String[] {"QuotaExceeded", "Operation could not be completed as it results in exceeding approved " + what
                        + " quota. Additional details - Deployment Model: Resource Manager, Location: " + location + ", Current Limit: " + limit
                        + ", Current Usage: " + current + ", Additional Required: " + e.getValue() + ", (Minimum) New Limit Required: "
                        + (current + e.getValue()) + ". Submit a request for Quota increase."};
            }
        }
        return null;
    }

    @Override public Answer action(Req q, ArmId a) {
        if (!a.scope().equalsIgnoreCase("/subscriptions/" + a.sub())) return null;
        List<String> t = a.typeSegs().stream().map(s -> s.toLowerCase(Locale.ROOT)).toList();
        if (t.equals(List.of("locations", "usages"))) return usages(q, ArmCore.normLocation(a.names().get(0)));
        if (t.equals(List.of("skus"))) return skus(q);
        return null;
    }

    private Answer usages(Req q, String loc) {
        q.requireGet();
        Map<String, Integer> use = usage(loc, Set.of());
        Set<String> families = new LinkedHashSet<>();
        families.add("cores");
        families.add(LOW_PRIORITY);
        for (Sku s : skus.values()) families.add(s.usageName());
        for (String k : quotas.keySet()) if (families.stream().noneMatch(f -> f.equalsIgnoreCase(k))) families.add(k);
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (String f : families) {
            ObjectNode u = v.addObject();
            ObjectNode n = u.putObject("name");
            n.put("value", f);
            n.put("localizedValue", f.equals("cores") ? "Total Regional vCPUs" : f.equals(LOW_PRIORITY) ? "Total Regional Low-priority vCPUs"
                    : f.replaceFirst("^[sS]tandard", "Standard ").replace("Family", " Family vCPUs"));
            u.put("currentValue", use.getOrDefault(f, 0));
            u.put("limit", limit(f));
            u.put("unit", "Count");
        }
        return Answer.json(200, out);
    }

    private Answer skus(Req q) {
        q.requireGet();
        String loc = Req.filterTerms(q.q("$filter")).get("location");
        List<String> locs = loc == null ? new ArrayList<>(ArmCore.LOCATIONS.keySet()) : List.of(ArmCore.normLocation(loc));
        ObjectNode out = Answer.M.createObjectNode();
        ArrayNode v = out.putArray("value");
        for (Sku s : skus.values()) {
            for (String l : locs) {
                ObjectNode k = v.addObject();
                k.put("resourceType", "virtualMachines");
                k.put("name", s.name());
                k.put("tier", "Standard");
                k.put("size", s.name().substring("Standard_".length()));
                k.put("family", s.family());
                k.putArray("locations").add(l);
                ObjectNode li = k.putArray("locationInfo").addObject();
                li.put("location", l);
                li.putArray("zones");
                ArrayNode caps = k.putArray("capabilities");
                ObjectNode c = caps.addObject();
                c.put("name", "vCPUs");
                c.put("value", Integer.toString(s.vcpus()));
                c = caps.addObject();
                c.put("name", "MemoryGB");
                c.put("value", Integer.toString(s.vcpus() * 4));
                if (s.gpus() > 0) {
                    c = caps.addObject();
                    c.put("name", "GPUs");
                    c.put("value", Integer.toString(s.gpus()));
                }
                ArrayNode rs = k.putArray("restrictions");
                if (restricted.getOrDefault(s.name().toLowerCase(Locale.ROOT), Set.of()).contains(l)) {
                    ObjectNode r = rs.addObject();
                    r.put("type", "Location");
                    r.putArray("values").add(l);
                    r.putObject("restrictionInfo").putArray("locations").add(l);
                    r.put("reasonCode", "NotAvailableForSubscription");
                }
            }
        }
        return Answer.json(200, out);
    }
}
