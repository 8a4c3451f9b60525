package fake;

import java.util.List;

/** Microsoft.Resources: resource groups (the core keeps their rules, since every other resource lives in one). */
final class ResourcesProvider extends ArmProvider {

    ResourcesProvider(ArmCore core) {
        super(core, "Microsoft.Resources", List.of("2021-04-01", "2022-09-01", "2023-07-01", "2024-03-01",
                "2024-07-01", "2024-11-01", "2025-03-01", "2025-04-01"));
    }

    @Override public List<TypeSpec> types() {
        return List.of(new TypeSpec("Microsoft.Resources/resourceGroups", TypeSpec.Lro.SYNC, true, TypeSpec.Trait.ANY_SCOPE));
    }
}
