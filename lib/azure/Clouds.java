package azure;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** The Azure clouds the toolkit can target, and their endpoints. */
public final class Clouds {
    private Clouds() {}

    /** Endpoints of one cloud. URLs end without a slash. */
    public record Cloud(String name, String armEndpoint, String armAudience, String loginEndpoint, String graphEndpoint,
                        String storageSuffix, String postgresSuffix, Set<String> regions) {

        public String armScope() { return armAudience + "/.default"; }
        public String graphScope() { return graphEndpoint + "/.default"; }
        public boolean custom() { return regions.isEmpty(); }
    }

    public static final Cloud PUBLIC = new Cloud("public", "https://management.azure.com",
            "https://management.azure.com", "https://login.microsoftonline.com", "https://graph.microsoft.com",
            "core.windows.net", "postgres.database.azure.com", regions(
            "eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westcentralus", "westus", "westus2",
            "westus3", "canadacentral", "canadaeast", "brazilsouth", "brazilsoutheast", "mexicocentral", "chilecentral",
            "northeurope", "westeurope", "uksouth", "ukwest", "francecentral", "francesouth", "germanywestcentral",
            "germanynorth", "switzerlandnorth", "switzerlandwest", "norwayeast", "norwaywest", "swedencentral",
            "swedensouth", "polandcentral", "italynorth", "spaincentral", "austriaeast", "belgiumcentral",
            "denmarkeast", "eastasia", "southeastasia", "japaneast", "japanwest", "koreacentral", "koreasouth",
            "australiaeast", "australiasoutheast", "australiacentral", "australiacentral2", "centralindia",
            "southindia", "westindia", "jioindiawest", "jioindiacentral", "uaenorth", "uaecentral",
            "southafricanorth", "southafricawest", "qatarcentral", "israelcentral", "newzealandnorth",
            "indonesiacentral", "malaysiawest", "taiwannorth"));

    public static final Cloud CHINA = new Cloud("china", "https://management.chinacloudapi.cn",
            "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn", "core.chinacloudapi.cn", "postgres.database.chinacloudapi.cn",
            regions("chinaeast", "chinanorth", "chinaeast2", "chinanorth2", "chinaeast3", "chinanorth3"));

    public static final Cloud USGOV = new Cloud("usgov", "https://management.usgovcloudapi.net",
            "https://management.usgovcloudapi.net", "https://login.microsoftonline.us", "https://graph.microsoft.us",
            "core.usgovcloudapi.net", "postgres.database.usgovcloudapi.net",
            regions("usgovvirginia", "usgovtexas", "usgovarizona", "usdodeast", "usdodcentral"));

    /** The cloud named by --cloud; custom endpoints are resolved separately with {@link #fromMetadata}. */
    public static Cloud named(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "public", "azurecloud" -> PUBLIC;
            case "china", "azurechinacloud" -> CHINA;
            case "usgov", "azureusgovernment" -> USGOV;
            default -> throw new Stack.InputException("--cloud", "'" + name + "' is not one of public, china, usgov "
                    + "(for Azure Stack Hub or another cloud use --arm-endpoint)", "public");
        };
    }

    /** The cloud whose sign-in endpoint this is (a custom one, known by that endpoint only, for any other). */
    public static Cloud signingInAt(String loginEndpoint) {
        String login = trimSlash(loginEndpoint);
        for (Cloud c : List.of(PUBLIC, CHINA, USGOV)) if (c.loginEndpoint().equalsIgnoreCase(login)) return c;
        return new Cloud("custom", null, null, login, null, "core.windows.net", "postgres.database.azure.com", Set.of());
    }

    /** A custom cloud before its metadata is read: only the Resource Manager endpoint is known. */
    public static Cloud customPlaceholder(String armEndpoint) {
        String arm = trimSlash(armEndpoint);
        return new Cloud("custom", arm, arm, null, null, "core.windows.net", "postgres.database.azure.com", Set.of());
    }

    /**
     * Reads a custom cloud's endpoints from the document served at {@code <arm>/metadata/endpoints}, in either
     * of its two shapes: the cloud list of api-version 2022-09-01, or the single object Azure Stack Hub serves.
     */
    public static Cloud fromMetadata(String armEndpoint, JsonNode doc) {
        String arm = trimSlash(armEndpoint);
        JsonNode c = doc.isArray() ? pick(doc, arm) : doc;
        JsonNode auth = c.path("authentication");
        String login = text(auth, "loginEndpoint");
        String audience = auth.path("audiences").path(0).asText(arm);
        String graph = c.hasNonNull("microsoftGraphResourceId") ? c.get("microsoftGraphResourceId").asText()
                : c.path("graphEndpoint").asText(c.path("graph").asText(""));
        JsonNode suffixes = c.path("suffixes");
        if (login == null) {
            throw new IllegalArgumentException("the metadata at " + arm + "/metadata/endpoints names no login endpoint");
        }
        return new Cloud(c.path("name").asText("custom"), arm, trimSlash(audience), trimSlash(login), trimSlash(graph),
                suffixes.path("storage").asText(suffixes.path("storageEndpoint").asText("core.windows.net")),
                suffixes.path("postgresqlServerEndpoint").asText("postgres.database.azure.com").replaceFirst("^\\.", ""),
                Set.of());
    }

    private static JsonNode pick(JsonNode list, String arm) {
        for (JsonNode c : list) {
            if (trimSlash(c.path("resourceManager").asText("")).equalsIgnoreCase(arm)) return c;
        }
        if (list.isEmpty()) throw new IllegalArgumentException("the metadata at " + arm + "/metadata/endpoints lists no cloud");
        return list.get(0);
    }

    private static String text(JsonNode n, String field) {
        return n.hasNonNull(field) ? n.get(field).asText() : null;
    }

    public static String trimSlash(String s) {
        return s == null ? null : s.replaceAll("/+$", "");
    }

    private static Set<String> regions(String... names) {
        return new LinkedHashSet<>(List.of(names));
    }
}
