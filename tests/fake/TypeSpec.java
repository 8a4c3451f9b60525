package fake;

import java.util.Locale;
import java.util.Set;

/** A resource type the fake keeps: how its writes answer ({@link Lro}), whether it is tracked (has a location), and traits. */
record TypeSpec(String type, Lro lro, boolean tracked, Set<Trait> traits) {

    /** How a write answers: at once, 201/200 + Azure-AsyncOperation, 202 + both headers, 202 + Location (create only), read-only. */
    enum Lro { SYNC, BODY, ACCEPTED, STORAGE, NONE }

    enum Trait {
        /** Location "global" only. */
        GLOBAL,
        /** Answered without properties.provisioningState. */
        NO_STATE,
        /** An extension type: lives under any scope, and is not marked Deleting with the resource it is under. */
        ANY_SCOPE,
        /** Untracked, yet keeps a location it is sent. */
        KEEPS_LOCATION
    }

    TypeSpec(String type, Lro lro, boolean tracked, Trait... traits) {
        this(type, lro, tracked, Set.of(traits));
    }

    String lower() { return type.toLowerCase(Locale.ROOT); }

    String ns() { return type.substring(0, type.indexOf('/')); }

    boolean is(Trait t) { return traits.contains(t); }
}
