package cluster;

import azure.Stack;
import engine.Messages;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.LocalPortForward;
import java.io.PrintStream;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/** Port-forwards to the services, each following its service's pods: when a pod is replaced, it reconnects. */
public final class Forward {
    private Forward() {}

    /** A forward: local port to a service's port in a namespace; via: what it reaches through that service (null: itself). */
    public record Target(String namespace, String service, int port, int localPort, String via) {
        public String label() {
            return "localhost:" + localPort + " -> " + (via == null ? namespace + "/" + service + ":" + port
                    : via + " (through " + namespace + "/" + service + ")");
        }
    }

    /**
     * Where forward goes for a service: the services' namespace only through the gateway (a grantee may port-forward to
     * pods of the flows' namespace only; one path for everyone), everything else to its own Service.
     */
    static Target target(Catalog.Service s, Stack stack, int portOffset) {
        if (!s.relayed()) return new Target(s.namespace(stack), s.service(), s.port(), s.port() + portOffset, null);
        Catalog.Service g = Catalog.GATEWAY;
        return new Target(g.namespace(stack), g.service(), s.port(), s.port() + portOffset, s.namespace(stack) + "/" + s.service() + ":" + s.port());
    }

    /**
     * services.java forward: holds a forward to each service of the catalog (Argo's only with argo) on its port plus
     * portOffset, until stop is set; Ctrl-C sets it through a shutdown hook. stack null: a cluster of the user's kubeconfig.
     */
    public static int untilStopped(KubernetesClient client, Stack stack, boolean argo, int portOffset, PrintStream out, AtomicBoolean stop,
                                   long checkMillis) {
        List<Target> targets = Catalog.forwarded(argo).stream()
                .map(s -> target(s, stack, portOffset)).toList();
        Thread hook = new Thread(() -> stop.set(true));
        try {
            Runtime.getRuntime().addShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            return 1;
        }
        out.println("Port-forwarding until Ctrl-C; the UI is at http://localhost:" + (Catalog.UI.port() + portOffset) + ".");
        try {
            hold(client, targets, out, stop, checkMillis);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // Ctrl-C: the hook ran
            }
        }
        return 0;
    }

    /** The first ready, running pod behind the service (port-forward goes to a pod, not to the service). */
    static Pod podBehind(KubernetesClient client, Target t) {
        Service svc = client.services().inNamespace(t.namespace()).withName(t.service()).get();
        if (svc == null || svc.getSpec() == null || svc.getSpec().getSelector() == null || svc.getSpec().getSelector().isEmpty()) return null;
        List<Pod> pods = client.pods().inNamespace(t.namespace()).withLabels(svc.getSpec().getSelector()).list().getItems();
        for (Pod p : pods) {
            if (p.getMetadata().getDeletionTimestamp() != null || p.getStatus() == null) continue;
            if (!"Running".equals(p.getStatus().getPhase())) continue;
            return p;
        }
        return null;
    }

    /** The pod's port serving the service's port (targetPort may be a number or a name). */
    static int podPort(KubernetesClient client, Target t, Pod pod) {
        Service svc = client.services().inNamespace(t.namespace()).withName(t.service()).get();
        for (var sp : svc.getSpec().getPorts()) {
            if (sp.getPort() != t.port()) continue;
            var tp = sp.getTargetPort();
            if (tp == null) return t.port();
            if (tp.getIntVal() != null) return tp.getIntVal();
            for (var c : pod.getSpec().getContainers()) {
                if (c.getPorts() == null) continue;
                for (var cp : c.getPorts()) if (tp.getStrVal().equals(cp.getName())) return cp.getContainerPort();
            }
        }
        return t.port();
    }

    /** Holds the forwards until stop is set (Ctrl-C sets it), checking each second that each still goes to a live pod. */
    public static void hold(KubernetesClient client, List<Target> targets, PrintStream out, AtomicBoolean stop, long checkMillis) {
        Map<Target, LocalPortForward> open = new java.util.LinkedHashMap<>();
        Map<Target, String> podOf = new java.util.HashMap<>();
        Map<Target, String> said = new java.util.HashMap<>();
        try {
            while (!stop.get()) {
                for (Target t : targets) {
                    Pod pod;
                    try {
                        pod = podBehind(client, t);
                    } catch (io.fabric8.kubernetes.client.KubernetesClientException e) {
                        if (e.getCode() == 403) {
                            // A grantee's access is namespace metaflow only (the Argo server's is argo): say so once, not "waiting".
                            say(out, said, t, "not forwarding " + t.label() + ": your access to the cluster does not reach namespace "
                                    + t.namespace() + " (the cluster refused with 403)");
                            continue;
                        }
                        pod = null;
                    } catch (RuntimeException e) {
                        pod = null;
                    }
                    String name = pod == null ? null : pod.getMetadata().getName();
                    LocalPortForward f = open.get(t);
                    boolean broken = f != null && (!f.isAlive() || f.errorOccurred());
                    if (f != null && (broken || name == null || !name.equals(podOf.get(t)))) {
                        close(f);
                        open.remove(t);
                        f = null;
                    }
                    if (f == null && name != null) {
                        try {
                            f = client.pods().inNamespace(t.namespace()).withName(name)
                                    .portForward(podPort(client, t, pod), InetAddress.getLoopbackAddress(), t.localPort());
                            open.put(t, f);
                            podOf.put(t, name);
                            say(out, said, t, "forwarding " + t.label() + " (pod " + name + ")");
                        } catch (RuntimeException e) {
                            say(out, said, t, "cannot forward " + t.label() + " yet: " + Messages.firstLine(e.getMessage()));
                        }
                    } else if (f == null) {
                        say(out, said, t, "waiting for a running pod behind " + t.namespace() + "/" + t.service());
                    }
                }
                sleepQuietly(checkMillis, stop);
            }
        } finally {
            for (LocalPortForward f : new ArrayList<>(open.values())) close(f);
        }
    }

    private static void say(PrintStream out, Map<Target, String> said, Target t, String line) {
        if (!line.equals(said.get(t))) {
            out.println(line);
            said.put(t, line);
        }
    }

    private static void close(LocalPortForward f) {
        try {
            f.close();
        } catch (Exception ignored) {
            // already gone
        }
    }

    private static void sleepQuietly(long millis, AtomicBoolean stop) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            stop.set(true);
        }
    }
}
