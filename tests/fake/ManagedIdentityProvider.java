package fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/**
 * Microsoft.ManagedIdentity user-assigned identities (a principal id and client id on creation, known to role
 * assignments from then on) and their federated identity credentials (an https issuer, a subject, at most 20, no two
 * alike).
 */
final class ManagedIdentityProvider extends ArmProvider {
    static final String IDENTITIES = "microsoft.managedidentity/userassignedidentities";
    private static final String CREDENTIALS = "microsoft.managedidentity/userassignedidentities/federatedidentitycredentials";

    ManagedIdentityProvider(ArmCore core) {
        super(core, "Microsoft.ManagedIdentity", List.of("2023-01-31", "2024-11-30"));
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.ManagedIdentity/userAssignedIdentities", TypeSpec.Lro.SYNC, true),
                new TypeSpec("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials", TypeSpec.Lro.SYNC, false));
    }

    /** Gives an identity its principal and client ids (once) and makes the principal known to the directory. */
    static void generate(ArmCore core, Res r) {
        ObjectNode gp = r.gen.with("properties");
        if (!gp.has("principalId")) {
            gp.put("principalId", core.newGuid(r.id, "principalId"));
            gp.put("clientId", core.newGuid(r.id, "clientId"));
            gp.put("tenantId", AzureFake.TENANT_ID);
        }
        core.addPrincipal(gp.path("principalId").asText(), "ServicePrincipal", r.createdNanos);
    }

    @Override public void written(Req q, ArmId a, Res r, boolean created) {
        if (created && r.typeLower().equals(IDENTITIES)) generate(core, r);
    }

    @Override public void seeded(Res r) {
        if (r.typeLower().equals(IDENTITIES)) generate(core, r);
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        if (!a.typeLower().equals(CREDENTIALS)) return null;
        ObjectNode props = body.with("properties");
        String issuer = props.path("issuer").asText("");
        if (!issuer.startsWith("https://") || issuer.length() <= "https://".length()) {
            throw Answer.fail(400, "BadRequest", "Invalid issuer '" + issuer + "': the issuer must be a valid https URL.");
        }
        if (props.path("subject").asText("").isEmpty()) throw Answer.fail(400, "BadRequest", "The subject is required.");
        if (!props.has("audiences")) props.putArray("audiences").add("api://AzureADTokenExchange");
        int count = 0;
        for (Res x : core.resources.values()) {
            if (!x.key().startsWith(a.parentId().toLowerCase(Locale.ROOT) + "/federatedidentitycredentials/")
                    || x.key().equals(a.path().toLowerCase(Locale.ROOT))) continue;
            count++;
            if (x.props().path("issuer").asText().equals(issuer) && x.props().path("subject").asText().equals(props.path("subject").asText())) {
                throw Answer.fail(409, "Conflict", "A federated identity credential with the same issuer and subject already exists: '" + x.name() + "'.");
            }
        }
        if (existing == null && count >= 20) {
            throw Answer.fail(400, "BadRequest", "Too many federated identity credentials: an identity can have at most 20.");
        }
        return null;
    }
}
