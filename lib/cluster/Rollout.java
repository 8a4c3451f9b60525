package cluster;

import engine.Messages;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Waiting for deployments to roll out, and saying why when they do not. */
final class Rollout {
    private Rollout() {}

    public record Target(String namespace, String name) {
        public String id() { return namespace + "/" + name; }
    }

    /** One deployment's state: desired and ready replicas, whether the newest spec is fully rolled out. */
    record State(Target target, boolean exists, int desired, int ready, boolean rolledOut) {
        public String text() {
            return exists ? ready + "/" + desired + " ready" + (rolledOut ? "" : " (rolling out)") : "missing";
        }
    }

    /** A reason a deployment cannot become ready; fatal ones end the wait at once. */
    record Problem(Target target, String summary, List<String> details, boolean fatal) {}

    public static State state(KubernetesClient client, Target t) {
        Deployment d = client.apps().deployments().inNamespace(t.namespace()).withName(t.name()).get();
        if (d == null) return new State(t, false, 0, 0, false);
        int desired = d.getSpec().getReplicas() == null ? 1 : d.getSpec().getReplicas();
        var s = d.getStatus();
        int ready = s == null || s.getReadyReplicas() == null ? 0 : s.getReadyReplicas();
        int updated = s == null || s.getUpdatedReplicas() == null ? 0 : s.getUpdatedReplicas();
        int total = s == null || s.getReplicas() == null ? 0 : s.getReplicas();
        long observed = s == null || s.getObservedGeneration() == null ? 0 : s.getObservedGeneration();
        long generation = d.getMetadata().getGeneration() == null ? 0 : d.getMetadata().getGeneration();
        // waitUntilReady ignores observedGeneration/updatedReplicas; a rollout is done only when the newest spec is everywhere.
        boolean rolledOut = observed >= generation && updated == desired && ready == desired && total == desired;
        return new State(t, true, desired, ready, rolledOut);
    }

    /** Problems of the deployment's pods: image pulls, crash loops (with their last log lines), scheduling, migrations. */
    public static List<Problem> problems(KubernetesClient client, Target t) {
        List<Problem> out = new ArrayList<>();
        Deployment d = client.apps().deployments().inNamespace(t.namespace()).withName(t.name()).get();
        if (d == null || d.getSpec().getSelector() == null || d.getSpec().getSelector().getMatchLabels() == null) return out;
        List<Pod> pods = client.pods().inNamespace(t.namespace()).withLabels(d.getSpec().getSelector().getMatchLabels()).list().getItems();
        for (Pod p : pods) {
            String pod = p.getMetadata().getName();
            var status = p.getStatus();
            if (status == null) continue;
            if (status.getConditions() != null) {
                for (var c : status.getConditions()) {
                    if ("PodScheduled".equals(c.getType()) && "False".equals(c.getStatus()) && "Unschedulable".equals(c.getReason())) {
                        out.add(new Problem(t, "pod " + pod + " cannot be scheduled: " + c.getMessage(), List.of(), false));
                    }
                }
            }
            List<io.fabric8.kubernetes.api.model.ContainerStatus> all = new ArrayList<>();
            if (status.getInitContainerStatuses() != null) all.addAll(status.getInitContainerStatuses());
            int inits = all.size();
            if (status.getContainerStatuses() != null) all.addAll(status.getContainerStatuses());
            for (int i = 0; i < all.size(); i++) {
                var cs = all.get(i);
                boolean init = i < inits;
                String what = (init ? "init container " : "container ") + cs.getName() + " of pod " + pod;
                var waiting = cs.getState() == null ? null : cs.getState().getWaiting();
                var terminated = cs.getState() == null ? null : cs.getState().getTerminated();
                String reason = waiting != null ? waiting.getReason() : null;
                boolean migrations = init && cs.getName().contains("migration");
                if (reason != null && (reason.equals("ImagePullBackOff") || reason.equals("ErrImagePull") || reason.equals("InvalidImageName"))) {
                    out.add(new Problem(t, what + ": " + reason + " for image " + cs.getImage()
                            + (waiting.getMessage() == null ? "" : " (" + waiting.getMessage() + ")"), List.of(), true));
                } else if ("CrashLoopBackOff".equals(reason) || migrations && terminated != null && terminated.getExitCode() != null
                        && terminated.getExitCode() != 0) {
                    String summary = (migrations ? "database migrations failed: " : "") + what + " is crash-looping ("
                            + (cs.getRestartCount() == null ? 0 : cs.getRestartCount()) + " restarts)";
                    out.add(new Problem(t, summary, lastLines(client, t.namespace(), pod, cs.getName()), true));
                } else if ("CreateContainerConfigError".equals(reason)) {
                    out.add(new Problem(t, what + ": " + reason + (waiting.getMessage() == null ? "" : ": " + waiting.getMessage()), List.of(), true));
                }
            }
        }
        return out;
    }

    static List<String> lastLines(KubernetesClient client, String ns, String pod, String container) {
        String log;
        try {
            log = client.pods().inNamespace(ns).withName(pod).inContainer(container).terminated().tailingLines(20).getLog();
        } catch (RuntimeException e) {
            try {
                log = client.pods().inNamespace(ns).withName(pod).inContainer(container).tailingLines(20).getLog();
            } catch (RuntimeException e2) {
                return List.of("(no logs: " + Messages.firstLine(e2.getMessage()) + ")");
            }
        }
        if (log == null || log.isBlank()) return List.of("(the container wrote no log lines)");
        List<String> lines = List.of(log.strip().split("\n"));
        return lines.subList(Math.max(0, lines.size() - 20), lines.size());
    }

    /** The outcome of a wait: every target rolled out, or the problems that stopped it. */
    public record Result(boolean ok, List<State> states, List<Problem> problems) {}

    /** Waits until every deployment has rolled out, printing ready/desired as they change; stops on a fatal problem or timeout. */
    public static Result await(KubernetesClient client, List<Target> targets, long timeoutMillis, long pollMillis, PrintStream out) {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        Map<Target, String> shown = new HashMap<>();
        while (true) {
            List<State> states = new ArrayList<>();
            for (Target t : targets) {
                State s = state(client, t);
                states.add(s);
                if (!s.text().equals(shown.get(t))) {
                    out.println("  " + t.id() + ": " + s.text());
                    shown.put(t, s.text());
                }
            }
            if (states.stream().allMatch(State::rolledOut)) return new Result(true, states, List.of());
            List<Problem> problems = new ArrayList<>();
            for (State s : states) if (!s.rolledOut()) problems.addAll(problems(client, s.target()));
            boolean timedOut = System.currentTimeMillis() > deadline;
            if (problems.stream().anyMatch(Problem::fatal) || timedOut) {
                if (timedOut && problems.isEmpty()) {
                    for (State s : states) {
                        if (!s.rolledOut()) problems.add(new Problem(s.target(), s.target().id() + " is " + s.text()
                                + " after " + timeoutMillis / 1000 + " s, with no pod problem seen", List.of(), true));
                    }
                }
                return new Result(false, states, problems);
            }
            Kube.sleep(pollMillis);
        }
    }

    public static void report(PrintStream err, List<Problem> problems) {
        for (Problem p : problems) {
            err.println("  " + p.target().id() + ": " + p.summary());
            for (String line : p.details()) err.println("    | " + line);
        }
    }

}
