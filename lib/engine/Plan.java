package engine;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The desired resources of a stack, compared with what exists: create, change, or leave alone.
 * There is no state file; what exists is read each time, through each item's handler.
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

    /**
     * How a resource is read and written. The optional hooks let a handler say that an earlier run left its resource
     * unfinished, and wait for that; the engine knows no more of any particular service than these.
     */
    public interface Handler {
        /** The resource as it exists, given its parent's state (an empty object for top-level items). */
        Optional<JsonNode> read(Ctx ctx, JsonNode parent);

        /** Differences between what exists and what is wanted; empty means no change (the default: existing is enough). */
        default List<String> differences(JsonNode current, Outputs outputs) { return List.of(); }

        JsonNode apply(Ctx ctx, Optional<JsonNode> current, Outputs outputs);

        /** Whether this item is something to remove (a revoked grant): present means DELETE, absent means nothing to do. */
        default boolean removal() { return false; }

        /** Why what exists must be written again although it may match (left mid-operation or failed by an earlier run), or null. */
        default String unfinished(JsonNode current) { return null; }

        /** Whether an operation an earlier run started on this resource is still going on. */
        default boolean inFlight(JsonNode current) { return false; }

        /** Waits for that operation to end and returns what then exists. */
        default Optional<JsonNode> awaitSettled(Ctx ctx) { throw new UnsupportedOperationException("nothing in flight"); }

        /** This resource as its parent's state shows it, when the parent's create made it too (an AKS pool in the cluster's body). */
        default Optional<JsonNode> madeByParent(JsonNode parentState) { return Optional.empty(); }

        /**
         * An action on something else rather than a thing of its own (a certificate rotation): it is in a plan only when
         * it has something to do, never as "create" on an empty subscription or as "unchanged".
         */
        default boolean actionOnly() { return false; }
    }

    /** What handlers are given at run time: the clients of the layer that made them; the engine only passes it on. */
    public interface Ctx {}

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
            return items.stream().filter(i -> !i.handler().actionOnly())
                    .map(i -> new Step(i, i.handler().removal() ? Action.NOOP : Action.CREATE, Optional.<JsonNode>empty(), List.<String>of())).toList();
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
                    String unfinished = item.handler().unfinished(current.get());
                    if (unfinished != null) changes.add(0, unfinished);
                    if (changes.isEmpty() && item.handler().actionOnly()) continue;
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

    public static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
