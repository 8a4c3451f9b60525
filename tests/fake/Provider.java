package fake;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * One Azure resource provider (or Microsoft Graph) inside {@link AzureFake}. The core ({@link ArmCore}) stores resources,
 * runs long-running operations and answers the generic verbs; a provider declares its types and api versions and
 * changes the generic behaviour only through these hooks, each a no-op by default. A new resource type is a new
 * provider (usually an {@link ArmProvider}) registered in {@link AzureFake#AzureFake()}.
 */
interface Provider {

    /** The namespace, e.g. {@code Microsoft.Storage} (several providers may share one). */
    String namespace();

    /** Api versions the namespace accepts (merged over the providers of a namespace, in registration order). */
    List<String> apiVersions();

    /** The resource types the core stores and answers for this provider. */
    default List<TypeSpec> types() { return List.of(); }

    /** Resource types {@code GET /providers/{namespace}} lists that are not stored resources (read-only endpoints). */
    default List<String> listedTypes() { return List.of(); }

    /** A request outside Resource Manager's {@code /subscriptions} tree (Graph): the answer, or null. */
    default Answer front(Req q) { return null; }

    /** An action or read-only endpoint in this namespace ({@code checkNameAvailability}, {@code listClusterUserCredential}): the answer, or null. */
    default Answer action(Req q, ArmId a) { return null; }

    /** A verb (GET, LIST, PUT, PATCH, DELETE) this provider answers itself instead of the core: the answer, or null. */
    default Answer verb(String verb, Req q, ArmId a, TypeSpec t) { return null; }

    /** GET of a resource that is not stored but exists anyway (kept in its parent's body, a server default): the answer, or null. */
    default Answer missing(ArmId a, TypeSpec t) { return null; }

    /** Listing of a nested collection the provider keeps itself (e.g. in the parent's body): the answer, or null. */
    default Answer children(ArmId a, TypeSpec t, String parentId) { return null; }

    /** Whether a resource that is not stored exists inside a stored parent (a subnet, the default blob service). */
    default boolean holds(ArmId a) { return false; }

    /** A PUT of a resource kept in its parent's body, after the generic checks: the answer, or null to store it. */
    default Answer putInline(Req q, ArmId a, ObjectNode body) { return null; }

    /**
     * Checks a PUT body (throwing {@link Answer#fail}); may fill defaults in. Returns {code, message} when the write is
     * accepted but its long-running operation is to fail (e.g. quota), else null.
     */
    default String[] validate(Req q, ArmId a, Res existing, ObjectNode body) { return null; }

    /** After a PUT stored the resource: fill in what the service generates. */
    default void written(Req q, ArmId a, Res r, boolean created) { }

    /** A PATCH after the generic checks (body without id, name, type, location): the answer, or null for a merge. */
    default Answer patch(Req q, ArmId a, Res r, ObjectNode body) { return null; }

    /** A write started this operation (the resource's state says Creating or Updating). */
    default void started(Res r, Operations.Op op, boolean created) { }

    /** The resource's operation succeeded. */
    default void succeeded(Res r) { }

    /** Why this resource may not be deleted now (the answer), or null. */
    default Answer deleting(ArmId a, Res r) { return null; }

    /** The resource left the store. */
    default void removed(Res r) { }

    /** The resource was seeded by a test as if someone else created it. */
    default void seeded(Res r) { }

    /** Server defaults of properties, under what writers sent. */
    default void defaults(Res r, ObjectNode props) { }

    /** Last touches of a GET body. */
    default void render(Res r, ObjectNode body, ObjectNode props) { }

    /** The subnet id this resource occupies, or null. */
    default String subnetOf(Res r) { return null; }
}
