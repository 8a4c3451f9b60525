package cli;

import azure.ArmResource;
import azure.Preflight;
import azure.Removal;
import azure.Stack;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Executor;
import engine.Json;
import engine.Messages;
import engine.Plan;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;

/** The plan and the run's result, as text for people and as one JSON document for scripts. */
public final class PlanView {
    private PlanView() {}

    public static void print(PrintStream out, Stack stack, String where, List<Plan.Step> steps, String note) {
        out.println("Plan for Metaflow stack " + stack.name() + " in " + stack.location()
                + (where == null ? "" : ", " + where) + ":");
        if (note != null) out.println(note);
        out.println();
        Map<String, String> kinds = new java.util.HashMap<>();
        for (Plan.Step s : steps) kinds.put(s.item().key(), s.item().kind() + " " + s.item().name());
        for (Plan.Step s : steps) {
            Plan.Item i = s.item();
            out.printf("%s %-28s %s%n", s.action().symbol, i.kind(), i.name());
            for (var e : i.settings().entrySet()) out.printf("      %-16s %s%n", e.getKey() + ":", e.getValue());
            if (!i.dependsOn().isEmpty()) {
                out.printf("      %-16s %s%n", "after:", String.join(", ", i.dependsOn().stream().map(kinds::get).toList()));
            }
            if (!s.changes().isEmpty()) out.printf("      %-16s %s%n", "changes:", String.join(", ", s.changes()));
        }
        out.println();
        long deletes = count(steps, Plan.Action.DELETE);
        out.println("Plan: " + count(steps, Plan.Action.CREATE) + " to create, " + count(steps, Plan.Action.UPDATE)
                + " to change, " + (deletes == 0 ? "" : deletes + " to delete, ") + count(steps, Plan.Action.NOOP) + " unchanged.");
    }

    static long count(List<Plan.Step> steps, Plan.Action a) {
        return steps.stream().filter(s -> s.action() == a).count();
    }

    public static ObjectNode json(Stack stack, String where, List<Plan.Step> steps, String note) {
        ObjectNode root = Json.obj();
        root.put("stack", stack.name()).put("prefix", stack.prefix()).put("env", stack.env()).put("location", stack.location());
        root.put("signedIn", where != null);
        if (where != null) root.put("target", where);
        if (note != null) root.put("note", note);
        ArrayNode resources = root.putArray("resources");
        for (Plan.Step s : steps) {
            Plan.Item i = s.item();
            ObjectNode r = resources.addObject();
            r.put("key", i.key()).put("kind", i.kind()).put("name", i.name()).put("action", s.action().verb);
            if (i.handler() instanceof ArmResource arm) r.put("id", arm.id()).put("apiVersion", arm.apiVersion());
            if (i.handler() instanceof Removal.Deletion d && !d.inside().isEmpty()) {
                ArrayNode inside = r.putArray("contains");
                d.inside().forEach(inside::add);
            }
            ArrayNode deps = r.putArray("dependsOn");
            i.dependsOn().forEach(deps::add);
            ObjectNode settings = r.putObject("settings");
            i.settings().forEach(settings::put);
            ArrayNode changes = r.putArray("changes");
            s.changes().forEach(changes::add);
        }
        root.putObject("summary").put("create", count(steps, Plan.Action.CREATE)).put("change", count(steps, Plan.Action.UPDATE))
                .put("delete", count(steps, Plan.Action.DELETE)).put("unchanged", count(steps, Plan.Action.NOOP));
        return root;
    }

    /** The pre-flight results under the plan (dry run). */
    public static void printChecks(PrintStream out, List<Preflight.Check> checks) {
        if (checks.isEmpty()) return;
        out.println();
        out.println("Pre-flight checks:");
        for (Preflight.Check c : checks) {
            out.printf("  %-4s %-12s %s%n", c.status() == Preflight.Status.OK ? "ok" : c.status().name(), c.name(), c.message());
            if (c.hint() != null) out.println("                    " + c.hint());
        }
        if (!Preflight.passed(checks)) out.println("A real run would stop before writing anything.");
    }

    public static void addChecks(ObjectNode doc, List<Preflight.Check> checks) {
        ArrayNode arr = doc.putArray("preflight");
        for (Preflight.Check c : checks) {
            ObjectNode o = arr.addObject().put("check", c.name()).put("status", c.status().name().toLowerCase()).put("message", c.message());
            if (c.hint() != null) o.put("hint", c.hint());
        }
    }

    public static ObjectNode result(Stack stack, String where, List<Plan.Step> steps, Executor.Result result, String status) {
        ObjectNode root = json(stack, where, steps, null);
        root.put("status", status);
        if (result != null) {
            root.put("elapsedMillis", result.millis());
            for (var r : root.withArray("resources")) {
                Executor.Outcome o = result.outcomes().get(r.get("key").asText());
                if (o == null) continue;
                ((ObjectNode) r).put("outcome", o.status().name().toLowerCase()).put("millis", o.millis());
                if (o.error() != null) ((ObjectNode) r).put("error", Messages.firstLine(o.error().getMessage()));
            }
        }
        return root;
    }

    /** One line per failed resource, with what to do about it. */
    public static void failures(PrintStream err, Executor.Result result) {
        result.outcomes().forEach((key, o) -> {
            if (o != null && o.status() == Executor.Status.FAILED) {
                err.println("error: " + key + " failed: " + Messages.firstLine(o.error().getMessage()));
            }
        });
    }

    /** A plan of deletions (teardown): what goes, each with what goes with it, and what stays. */
    public static void printRemoval(PrintStream out, Stack stack, String where, List<Plan.Step> steps, List<String[]> kept) {
        out.println("Stack " + stack.name() + " in " + where + ". To be deleted:");
        for (String section : Removal.SECTIONS) {
            List<Plan.Step> in = steps.stream().filter(s -> ((Removal.Deletion) s.item().handler()).section().equals(section)).toList();
            if (!in.isEmpty()) out.println("  " + section);
            for (Plan.Step s : in) {
                Plan.Item i = s.item();
                out.println("    - " + i.kind() + " " + i.name());
                for (String inside : ((Removal.Deletion) i.handler()).inside()) out.println("        " + inside);
                for (var e : i.settings().entrySet()) out.println("        " + e.getKey() + ": " + e.getValue());
            }
        }
        printKept(out, kept);
    }

    /** What a teardown leaves, and why. */
    public static void printKept(PrintStream out, List<String[]> kept) {
        if (kept.isEmpty()) return;
        out.println("Kept:");
        for (String[] k : kept) out.println("    - " + (k[0] + " " + k[1]).strip() + " (" + k[2] + ")");
    }

    public static void addKept(ObjectNode doc, List<String[]> kept) {
        ArrayNode arr = doc.putArray("keep");
        for (String[] k : kept) arr.addObject().put("kind", k[0]).put("name", k[1]).put("why", k[2]);
    }
}
