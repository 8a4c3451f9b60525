package fake;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Azure Monitor platform metrics of a storage account's blob service, BlobCount and BlobCapacity, read through Resource
 * Manager: GET {account}/providers/Microsoft.Insights/metrics?metricnamespace=Microsoft.Storage/storageAccounts/blobServices
 * &metricnames=BlobCount,BlobCapacity (azure-rest-api-specs monitor/resource-manager/Microsoft.Insights/stable/2023-10-01
 * examples/GetMetric.json). The values are what a test says the account holds, as of when it says: Azure computes them
 * a few times a day, so a fresh account has no data point yet.
 */
final class InsightsProvider extends ArmProvider {
    private static final String NAMESPACE = "microsoft.storage/storageaccounts/blobservices";

    record Usage(long blobs, long bytes, Instant asOf) {}

    /** By storage account id (lower case). */
    final Map<String, Usage> usage = new LinkedHashMap<>();

    InsightsProvider(ArmCore core) {
        super(core, "Microsoft.Insights", List.of("2018-01-01", "2023-10-01"));
    }

    @Override public Answer action(Req q, ArmId a) {
        if (!a.typeLower().equals("microsoft.insights/metrics")) return null;
        q.requireGet();
        String account = a.scope();
        if (core.get(account.toLowerCase(Locale.ROOT)) == null) {
            return Answer.error(404, "ResourceNotFound", "The Resource '" + account + "' was not found.");
        }
        String ns = q.q("metricnamespace");
        if (ns == null || !ns.equalsIgnoreCase(NAMESPACE)) {
            return Answer.error(400, "BadRequest", "Metric namespace '" + ns + "' is not valid for this resource; this fake knows "
                    + "Microsoft.Storage/storageAccounts/blobServices only.");
        }
        Usage u = usage.get(account.toLowerCase(Locale.ROOT));
        Instant end = Instant.now().truncatedTo(ChronoUnit.HOURS);
        ObjectNode out = Answer.M.createObjectNode();
        out.put("timespan", end.minus(24, ChronoUnit.HOURS) + "/" + end);
        out.put("interval", "PT1H");
        out.put("namespace", NAMESPACE);
        ArrayNode value = out.putArray("value");
        for (String name : q.q("metricnames").split(",")) {
            ObjectNode m = value.addObject();
            m.put("id", account + "/blobServices/default/providers/Microsoft.Insights/metrics/" + name);
            m.put("type", "Microsoft.Insights/metrics");
            m.putObject("name").put("value", name).put("localizedValue", name);
            m.put("unit", name.equals("BlobCapacity") ? "Bytes" : "Count");
            ArrayNode data = m.putArray("timeseries").addObject().putArray("data");
            // Hours without a computed value carry only their timestamp, as Azure Monitor answers them.
            for (Instant t = end.minus(23, ChronoUnit.HOURS); !t.isAfter(end); t = t.plus(1, ChronoUnit.HOURS)) {
                ObjectNode point = data.addObject().put("timeStamp", t.toString());
                if (u != null && !t.isAfter(u.asOf())) point.put("average", (double) (name.equals("BlobCapacity") ? u.bytes() : u.blobs()));
            }
            m.put("errorCode", "Success");
        }
        return Answer.json(200, out);
    }
}
