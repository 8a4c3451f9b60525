package fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Microsoft.KeyVault vaults and their secrets, through Resource Manager, with soft delete.
 *
 * <p>Shapes from Azure/bicep-types-az generated/keyvault/microsoft.keyvault/2024-11-01/types.md: a vault name matches
 * {@code ^[a-zA-Z0-9-]{3,24}$} and is global; properties.tenantId (a GUID) and properties.sku are required; a secret's
 * {@code value} "will never be returned from the service" (kept here apart from what a GET shows); createMode
 * {@code recover} brings a soft-deleted vault back. A deleted vault stays soft-deleted, its name taken, until purged
 * ({@code POST .../locations/{l}/deletedVaults/{name}/purge}) or its retention ends (not modelled: the fake's clock never
 * gets there); a new vault of that name is refused with Key Vault's ConflictError.
 */
final class KeyVaultProvider extends ArmProvider {
    static final String VAULTS = "microsoft.keyvault/vaults";
    static final String SECRETS = "microsoft.keyvault/vaults/secrets";
    private static final Pattern NAME = Pattern.compile("[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]");
    private static final Pattern SECRET_NAME = Pattern.compile("[a-zA-Z0-9-]{1,127}");
    private static final Pattern GUID = Pattern.compile("[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}");
    private static final String VALUE = "value";

    /** Soft-deleted vaults by lower-cased name: the GET body of deletedVaults/{name}. */
    final Map<String, ObjectNode> deleted = new LinkedHashMap<>();

    KeyVaultProvider(ArmCore core) {
        super(core, "Microsoft.KeyVault", List.of("2023-07-01", "2024-11-01", "2025-05-01"));
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.KeyVault/vaults", TypeSpec.Lro.SYNC, true),
                new TypeSpec("Microsoft.KeyVault/vaults/secrets", TypeSpec.Lro.SYNC, false, TypeSpec.Trait.NO_STATE));
    }

    private static String invalid(String name) {
        return "The vault name '" + name + "' is invalid. A vault's name must be between 3-24 alphanumeric characters. The name must begin "
                + "with a letter, end with a letter or digit, and not contain consecutive hyphens.";
    }

    private static String alreadyInUse(String name) {
        return "The vault name '" + name + "' is already in use. Vault names are globally unique so it is possible that the name is already "
                + "taken. If you are sure that the vault name was not taken then it is possible that a vault with the same name was recently "
                + "deleted but not purged after being placed in a recoverable state. If the vault is in a recoverable state then the vault "
                + "will need to be explicitly purged before reusing the name.";
    }

    private boolean validName(String name) {
        return NAME.matcher(name).matches() && !name.contains("--");
    }

    @Override public Answer action(Req q, ArmId a) {
        String[] s = ArmId.split(q.path());
        // /subscriptions/{s}/providers/Microsoft.KeyVault/checkNameAvailability
        if (s.length == 5 && s[4].equalsIgnoreCase("checkNameAvailability")) {
            q.requirePost();
            String name = q.json().path("name").asText("");
            ObjectNode out = !validName(name) ? nameAvailability("AccountNameInvalid", invalid(name))
                    : core.globalNameTaken(VAULTS, name, "") || deleted.containsKey(name.toLowerCase(Locale.ROOT))
                    ? nameAvailability("AlreadyExists", alreadyInUse(name)) : nameAvailability(null, null);
            return Answer.json(200, out);
        }
        // /subscriptions/{s}/providers/Microsoft.KeyVault/locations/{l}/deletedVaults/{name}[/purge]
        if (s.length >= 8 && s[4].equalsIgnoreCase("locations") && s[6].equalsIgnoreCase("deletedVaults")) {
            ObjectNode d = deleted.get(s[7].toLowerCase(Locale.ROOT));
            if (d != null && !d.path("properties").path("location").asText().equalsIgnoreCase(s[5])) d = null;
            if (d == null) {
                return Answer.error(404, "DeletedVaultNotFound", "Deleted vault " + s[7] + " was not found in location " + s[5] + ".");
            }
            if (s.length == 8) {
                q.requireGet();
                return Answer.json(200, d.deepCopy());
            }
            if (s.length == 9 && s[8].equalsIgnoreCase("purge")) {
                q.requirePost();
                if (d.path("properties").path("purgeProtectionEnabled").asBoolean()) {
                    return Answer.error(409, "PurgeProtectionEnabled", "Operation 'DeleteVault' is not allowed: vault " + s[7]
                            + " has purge protection enabled.");
                }
                deleted.remove(s[7].toLowerCase(Locale.ROOT));
                return Answer.json(200, Answer.M.createObjectNode());
            }
        }
        return null;
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        if (a.typeLower().equals(VAULTS)) {
            if (!validName(a.name())) throw Answer.fail(400, "VaultNameNotValid", invalid(a.name()));
            JsonNode p = body.path("properties");
            boolean recover = p.path("createMode").asText("").equalsIgnoreCase("recover");
            ObjectNode gone = deleted.get(a.name().toLowerCase(Locale.ROOT));
            if (existing == null && recover) {
                if (gone == null) throw Answer.fail(404, "DeletedVaultNotFound", "No deleted vault named " + a.name() + " to recover.");
                if (!gone.path("properties").path("vaultId").asText().equalsIgnoreCase(a.path())) {
                    throw Answer.fail(409, "ConflictError", "The deleted vault " + a.name() + " was in another resource group or subscription.");
                }
            } else if (existing == null && gone != null) {
                // Key Vault's answer, as quoted in Azure-Samples/contoso-chat#55 and Azure/azure-cli#19846.
                throw Answer.fail(409, "ConflictError", "A vault with the same name already exists in deleted state. You need to either "
                        + "recover or purge existing key vault. Follow this link https://go.microsoft.com/fwlink/?linkid=2149745 for more "
                        + "information on soft delete.");
            } else if (existing == null && core.globalNameTaken(VAULTS, a.name(), a.path())) {
                throw Answer.fail(409, "VaultAlreadyExists", alreadyInUse(a.name()));
            }
            if (!recover) {
                if (!GUID.matcher(p.path("tenantId").asText("")).matches()) {
                    throw Answer.fail(400, "BadRequest", "The request content was invalid: properties.tenantId must be a GUID.");
                }
                if (p.path("sku").path("name").asText("").isEmpty() || p.path("sku").path("family").asText("").isEmpty()) {
                    throw Answer.fail(400, "BadRequest", "The request content was invalid: properties.sku (family and name) is required.");
                }
                int days = p.path("softDeleteRetentionInDays").asInt(90);
                if (days < 7 || days > 90) throw Answer.fail(400, "BadRequest", "softDeleteRetentionInDays accepts 7 to 90.");
            }
            if (recover) deleted.remove(a.name().toLowerCase(Locale.ROOT));
        } else if (a.typeLower().equals(SECRETS)) {
            if (!SECRET_NAME.matcher(a.name()).matches()) {
                throw Answer.fail(400, "BadRequest", "The secret name '" + a.name() + "' is invalid: 1-127 letters, digits and hyphens.");
            }
            if (existing == null && !body.path("properties").has(VALUE)) {
                throw Answer.fail(400, "BadRequest", "The request content was invalid: properties.value is required to create a secret.");
            }
        }
        return null;
    }

    @Override public void written(Req q, ArmId a, Res r, boolean created) {
        ObjectNode gp = r.gen.with("properties");
        if (r.typeLower().equals(VAULTS)) {
            r.props().remove("createMode");   // write-only
            gp.put("vaultUri", "https://" + r.name().toLowerCase(Locale.ROOT) + ".vault.azure.net/");
        } else if (r.typeLower().equals(SECRETS)) {
            JsonNode v = r.props().remove(VALUE);
            if (v != null) r.secrets.set(VALUE, v);
            Res vault = core.get(a.parentId());
            String base = vault == null ? "" : vault.gen.path("properties").path("vaultUri").asText();
            gp.put("secretUri", base + "secrets/" + r.name());
            gp.put("secretUriWithVersion", base + "secrets/" + r.name() + "/" + core.newGuid(r.id, "secretUriWithVersion").replace("-", ""));
        }
    }

    @Override public void removed(Res r) {
        if (!r.typeLower().equals(VAULTS)) return;
        if (!r.props().path("enableSoftDelete").asBoolean(true)) return;
        ObjectNode d = Answer.M.createObjectNode();
        String sub = r.id.split("/")[2];
        d.put("id", "/subscriptions/" + sub + "/providers/Microsoft.KeyVault/locations/" + r.location() + "/deletedVaults/" + r.name());
        d.put("name", r.name());
        d.put("type", "Microsoft.KeyVault/deletedVaults");
        ObjectNode p = d.putObject("properties");
        p.put("vaultId", r.id);
        p.put("location", r.location());
        p.put("deletionDate", java.time.Instant.now().toString());
        p.put("scheduledPurgeDate", java.time.Instant.now().plus(java.time.Duration.ofDays(r.props().path("softDeleteRetentionInDays").asInt(90))).toString());
        if (r.user.has("tags")) p.set("tags", r.user.get("tags").deepCopy());
        p.put("purgeProtectionEnabled", r.props().path("enablePurgeProtection").asBoolean(false));
        deleted.put(r.name().toLowerCase(Locale.ROOT), d);
    }

    @Override public void defaults(Res r, ObjectNode p) {
        if (r.typeLower().equals(VAULTS)) {
            p.put("enableSoftDelete", true);
            p.put("softDeleteRetentionInDays", 90);
            p.put("enableRbacAuthorization", false);
            p.put("publicNetworkAccess", "Enabled");
        } else if (r.typeLower().equals(SECRETS)) {
            p.putObject("attributes").put("enabled", true);
        }
    }

    /** A secret's stored value (what the data plane would return), or null. */
    String value(String secretId) {
        Res r = core.get(secretId);
        return r == null || !r.secrets.has(VALUE) ? null : r.secrets.get(VALUE).asText();
    }
}
