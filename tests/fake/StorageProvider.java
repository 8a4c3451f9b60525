package fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Microsoft.Storage accounts (globally unique lower-case names, 202 + Location on creation only), the default blob
 * service (there without being written) and blob containers.
 */
final class StorageProvider extends ArmProvider {
    private static final String ACCOUNTS = "microsoft.storage/storageaccounts";
    private static final String BLOB_SERVICES = "microsoft.storage/storageaccounts/blobservices";
    private static final Pattern NAME = Pattern.compile("[a-z0-9]{3,24}");

    StorageProvider(ArmCore core) {
        super(core, "Microsoft.Storage", List.of("2023-01-01", "2023-05-01", "2024-01-01", "2025-01-01", "2025-06-01"));
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.Storage/storageAccounts", TypeSpec.Lro.STORAGE, true),
                new TypeSpec("Microsoft.Storage/storageAccounts/blobServices", TypeSpec.Lro.SYNC, false, TypeSpec.Trait.NO_STATE),
                new TypeSpec("Microsoft.Storage/storageAccounts/blobServices/containers", TypeSpec.Lro.SYNC, false));
    }

    private static String invalid(String name) {
        return name + " is not a valid storage account name. Storage account name must be between 3 and 24 characters in length"
                + " and use numbers and lower-case letters only.";
    }

    @Override public Answer action(Req q, ArmId a) {
        if (!a.scope().equalsIgnoreCase("/subscriptions/" + a.sub()) || !a.typeLower().equals("microsoft.storage/checknameavailability")) return null;
        q.requirePost();
        String name = q.json().path("name").asText("");
        ObjectNode out = !NAME.matcher(name).matches() ? nameAvailability("AccountNameInvalid", invalid(name))
                : core.globalNameTaken(ACCOUNTS, name, "")
                ? nameAvailability("AlreadyExists", "The storage account named " + name + " is already taken.")
                : nameAvailability(null, null);
        return Answer.json(200, out);
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        if (!a.typeLower().equals(ACCOUNTS)) return null;
        if (!NAME.matcher(a.name()).matches()) throw Answer.fail(400, "AccountNameInvalid", invalid(a.name()));
        if (existing == null && core.globalNameTaken(ACCOUNTS, a.name(), a.path())) {
            throw Answer.fail(409, "StorageAccountAlreadyTaken", "The storage account named " + a.name() + " is already taken.");
        }
        if (body.path("sku").path("name").asText("").isEmpty()) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: sku.name is required.");
        }
        if (body.path("kind").asText("").isEmpty()) {
            throw Answer.fail(400, "InvalidRequestContent", "The request content was invalid: kind is required.");
        }
        return null;
    }

    @Override public void written(Req q, ArmId a, Res r, boolean created) {
        if (!r.typeLower().equals(ACCOUNTS)) return;
        ObjectNode gp = r.gen.with("properties");
        ObjectNode ep = gp.putObject("primaryEndpoints");
        for (String s : List.of("blob", "dfs", "file", "queue", "table", "web")) ep.put(s, "https://" + r.name() + "." + s + ".core.windows.net/");
        gp.put("primaryLocation", r.location());
        gp.put("statusOfPrimary", "available");
    }

    @Override public Answer missing(ArmId a, TypeSpec t) {
        if (!a.typeLower().equals(BLOB_SERVICES) || !a.name().equals("default")) return null;
        ObjectNode b = Answer.M.createObjectNode();
        b.put("id", a.path());
        b.put("name", "default");
        b.put("type", t.type());
        b.putObject("properties");
        return Answer.json(200, b);
    }

    @Override public boolean holds(ArmId a) {
        return a.typeLower().equals(BLOB_SERVICES) && core.get(a.parentId()) != null;
    }

    @Override public void defaults(Res r, ObjectNode p) {
        switch (r.typeLower()) {
            case ACCOUNTS -> {
                p.put("supportsHttpsTrafficOnly", true);
                p.put("minimumTlsVersion", "TLS1_0");
                p.put("allowBlobPublicAccess", false);
                p.put("accessTier", "Hot");
            }
            case "microsoft.storage/storageaccounts/blobservices/containers" -> p.put("publicAccess", "None");
            default -> { }
        }
    }
}
