import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * The desired resources of a stack, compared with what exists: create, change, or leave alone.
 * There is no state file; what exists is read from Azure each time.
 */
public final class Plan {

    /** What a step does, with the plan's symbol and word for it. */
    public enum Action {
        CREATE("+", "create"), UPDATE("~", "change"), NOOP("=", "no change"), DELETE("-", "delete");

        public final String symbol;
        public final String verb;

        Action(String symbol, String verb) {
            this.symbol = symbol;
            this.verb = verb;
        }
    }

    /** Values one resource's body takes from another's final state (an issuer URL, a principal id). */
    public interface Outputs {
        /** The text at {@code pointer} in resource {@code key}'s state, or a placeholder if not known yet. */
        String get(String key, String pointer);
    }

    /** How a resource is read and written. */
    public interface Handler {
        /** The resource as it exists, given its parent's state (an empty object for top-level items). */
        Optional<JsonNode> read(Ctx ctx, JsonNode parent);

        /** Differences between what exists and what is wanted; empty means no change (the default: existing is enough). */
        default List<String> differences(JsonNode current, Outputs outputs) { return List.of(); }

        JsonNode apply(Ctx ctx, Optional<JsonNode> current, Outputs outputs);

        /** Whether this item is something to remove (a revoked grant): present means DELETE, absent means nothing to do. */
        default boolean removal() { return false; }
    }

    /** What a handler needs at run time. */
    public record Ctx(Arm arm, Arm graph) {}

    /**
     * One resource of the stack. {@code parent} is the key of the resource it lives in (no read is needed when the
     * parent is absent); {@code dependsOn} lists what must exist before it is written.
     */
    public record Item(String key, String kind, String name, String parent, List<String> dependsOn,
                       Map<String, String> settings, Handler handler) {}

    /** An item with what was found and what will be done. */
    public record Step(Item item, Action action, Optional<JsonNode> current, List<String> changes) {}

    public static final String UNKNOWN = "(known after apply)";

    /** Outputs backed by a map of states; unknown values come back as {@link #UNKNOWN}. */
    public static Outputs outputs(Map<String, JsonNode> states) {
        return (key, pointer) -> {
            JsonNode s = states.get(key);
            if (s == null) return UNKNOWN;
            JsonNode v = s.at(pointer);
            return v.isMissingNode() || v.isNull() ? UNKNOWN : v.asText();
        };
    }

    /** Reads every item (in parallel, skipping children of absent parents) and decides each one's action. */
    public static List<Step> compute(List<Item> items, Ctx ctx, boolean readAzure) {
        if (!readAzure) {
            // Nothing can be read (no sign-in): the plan for an empty subscription, with no threads started.
            return items.stream().map(i -> new Step(i, Action.CREATE, Optional.<JsonNode>empty(), List.<String>of())).toList();
        }
        Map<String, CompletableFuture<Optional<JsonNode>>> reads = new ConcurrentHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(items.size(), 16)), daemon("plan-read"));
        try {
            for (Item item : items) {
                CompletableFuture<Optional<JsonNode>> parentRead = item.parent() == null
                        ? CompletableFuture.completedFuture(Optional.of(Json.obj())) : reads.get(item.parent());
                if (parentRead == null) throw new IllegalStateException(item.key() + " listed before its parent " + item.parent());
                reads.put(item.key(), parentRead.thenApplyAsync(
                        p -> p.isEmpty() ? Optional.<JsonNode>empty() : item.handler().read(ctx, p.get()), pool));
            }
            Map<String, JsonNode> states = new LinkedHashMap<>();
            for (Item item : items) {
                Optional<JsonNode> current = join(reads.get(item.key()));
                current.ifPresent(c -> states.put(item.key(), c));
            }
            Outputs outputs = outputs(states);
            List<Step> steps = new ArrayList<>();
            for (Item item : items) {
                Optional<JsonNode> current = join(reads.get(item.key()));
                if (item.handler().removal()) {
                    steps.add(new Step(item, current.isPresent() ? Action.DELETE : Action.NOOP, current, List.of()));
                } else if (current.isEmpty()) {
                    steps.add(new Step(item, Action.CREATE, current, List.of()));
                } else {
                    List<String> changes = new ArrayList<>(item.handler().differences(current.get(), outputs));
                    // Left unfinished or failed by an earlier run: it must be waited for or written again.
                    String state = current.get().path("properties").path("provisioningState").asText("");
                    if (Arm.inProgress(state) || state.equalsIgnoreCase("Failed") || state.equalsIgnoreCase("Canceled")) {
                        changes.add(0, "/properties/provisioningState (" + state + ")");
                    }
                    steps.add(new Step(item, changes.isEmpty() ? Action.NOOP : Action.UPDATE, current, changes));
                }
            }
            return steps;
        } finally {
            pool.shutdownNow();
        }
    }

    static <T> T join(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            throw e;
        }
    }

    static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    // --- the ARM handler: a resource with an id, an api-version and a JSON body ------------------------------

    /**
     * A Resource Manager resource written with PUT. {@code writeOnly} lists pointers Azure never returns (sent on create
     * only). An update sends what we set, plus the values at the {@code keep} pointers as they stand in Azure (an
     * autoscaler's node count, a pool managed through its own resource): set elsewhere, and a PUT replaces the whole
     * resource. Pointers name array elements by their {@code name}. {@code inParentArray}, when set, is where the
     * parent's create body holds this resource (an AKS pool in {@code agentPoolProfiles}): it comes up with the parent.
     */
    public record ArmResource(String id, String apiVersion, Function<Outputs, JsonNode> body, Set<String> writeOnly,
                              Set<String> keep, String inParentArray) implements Handler {

        /**
         * Read-only keys a kept value may carry: ARM's common ones, an AKS pool profile's and a kept network profile's
         * (readOnly in managedClusters.json at Desired.API_AKS; the SDK's models leave the same ones out when writing).
         */
        static final Set<String> READ_ONLY = Set.of("etag", "eTag", "systemData", "provisioningState",
                "currentOrchestratorVersion", "nodeImageVersion", "effectiveOutboundIPs");

        public ArmResource(String id, String apiVersion, Function<Outputs, JsonNode> body, Set<String> writeOnly) {
            this(id, apiVersion, body, writeOnly, Set.of("/tags"), null);
        }

        @Override
        public Optional<JsonNode> read(Ctx ctx, JsonNode parent) {
            return ctx.arm().get(id, apiVersion);
        }

        @Override
        public List<String> differences(JsonNode current, Outputs outputs) {
            return Json.differences(body.apply(outputs), current, writeOnly);
        }

        @Override
        public JsonNode apply(Ctx ctx, Optional<JsonNode> current, Outputs outputs) {
            JsonNode desired = body.apply(outputs);
            return ctx.arm().put(id, apiVersion, current.map(c -> updateBody(c, desired)).orElse(desired), Arm.Watcher.NONE);
        }

        /** What an update sends: our fields, without write-only ones (a re-sent generated password would reset the real one), plus the kept values. */
        JsonNode updateBody(JsonNode current, JsonNode desired) {
            ObjectNode out = (ObjectNode) desired.deepCopy();
            for (String pointer : writeOnly) {
                int slash = pointer.lastIndexOf('/');
                if (Json.at(out, pointer.substring(0, slash)) instanceof ObjectNode parent) parent.remove(pointer.substring(slash + 1));
            }
            for (String pointer : keep) Json.keep(out, current, pointer, READ_ONLY);
            return out;
        }

        /** This resource as its parent's state shows it, when the parent's create made it too. */
        public Optional<JsonNode> fromParent(JsonNode parentState) {
            if (inParentArray == null || parentState == null) return Optional.empty();
            String name = id.substring(id.lastIndexOf('/') + 1);
            for (JsonNode e : parentState.at(inParentArray)) {
                if (!e.path("name").asText().equalsIgnoreCase(name)) continue;
                ObjectNode props = ((ObjectNode) e).deepCopy();
                props.remove("name");
                ObjectNode res = Json.obj().put("id", id).put("name", name);
                res.set("properties", props);
                return Optional.of(res);
            }
            return Optional.empty();
        }
    }
}
