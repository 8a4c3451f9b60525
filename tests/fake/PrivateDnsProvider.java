package fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/** Microsoft.Network private DNS zones (location "global") and their virtual network links (one link per network and zone). */
final class PrivateDnsProvider extends ArmProvider {
    static final String ZONES = "microsoft.network/privatednszones";
    private static final String LINKS = "microsoft.network/privatednszones/virtualnetworklinks";

    PrivateDnsProvider(ArmCore core) {
        super(core, "Microsoft.Network", List.of("2018-09-01", "2020-06-01", "2024-06-01"));
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.Network/privateDnsZones", TypeSpec.Lro.BODY, true, TypeSpec.Trait.GLOBAL),
                new TypeSpec("Microsoft.Network/privateDnsZones/virtualNetworkLinks", TypeSpec.Lro.BODY, true, TypeSpec.Trait.GLOBAL));
    }

    @Override public String[] validate(Req q, ArmId a, Res existing, ObjectNode body) {
        if (!a.typeLower().equals(LINKS)) return null;
        ObjectNode props = body.with("properties");
        String vid = props.path("virtualNetwork").path("id").asText("");
        Res vnet = core.get(vid);
        if (vnet == null || !vnet.typeLower().equals(NetworkProvider.VNETS)) {
            throw Answer.fail(400, "BadRequest", "Virtual network resource not found: '" + vid + "'.");
        }
        for (Res x : core.all(LINKS, a.parentId().toLowerCase(Locale.ROOT) + "/virtualnetworklinks/")) {
            if (!x.key().equals(a.path().toLowerCase(Locale.ROOT)) && x.props().path("virtualNetwork").path("id").asText("").equalsIgnoreCase(vid)) {
                throw Answer.fail(409, "Conflict", "A virtual network cannot be linked to the same zone more than once. Link '"
                        + x.name() + "' already links it.");
            }
        }
        if (!props.has("registrationEnabled")) props.put("registrationEnabled", false);
        return null;
    }

    /** Whether the zone has a provisioned link to the virtual network. */
    boolean linked(Res zone, Res vnet) {
        for (Res x : core.all(LINKS, zone.key() + "/virtualnetworklinks/")) {
            if ("Succeeded".equals(x.state) && x.props().path("virtualNetwork").path("id").asText("").equalsIgnoreCase(vnet.id)) return true;
        }
        return false;
    }
}
