package cluster;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Argo releases a deploy or dry run installs, read and checked before any Azure or cluster request, and the JetStream
 * version of the event bus, chosen from the Argo Events release's own list.
 *
 * @param releases the objects of each release read
 * @param jetStream the JetStream version the event bus asks for
 * @param listed the JetStream versions the Argo Events release lists (empty when it could not be read)
 */
public record ArgoInstall(Request request, List<List<ObjectNode>> releases, String jetStream, List<String> listed) {

    /**
     * Which releases, from where: --argo-workflows-version, --argo-events-version, --jetstream-version (or null), the mirror or
     * directory, where downloads are kept, and the proxies downloads go through (HTTPS_PROXY/NO_PROXY, azure.Proxies).
     */
    public record Request(String workflowsVersion, String eventsVersion, String jetStreamVersion, String releaseUrl, Path manifestsDir,
                          Path keptDir, java.net.ProxySelector proxy) {
        List<Argo.Release> releases() {
            return List.of(new Argo.Release("argo-workflows", workflowsVersion, Argo.WORKFLOWS_NAMESPACE),
                    new Argo.Release(Argo.EVENTS_PROJECT, eventsVersion, Argo.EVENTS_NAMESPACE));
        }
    }

    /** Reads and checks the releases; a dry run goes on without one it cannot get, and says so on err. */
    public static ArgoInstall load(Request q, boolean dryRun, PrintStream err) {
        List<List<ObjectNode>> loaded = new ArrayList<>();
        String jetStream = null;
        List<String> listed = List.of();
        for (Argo.Release r : q.releases()) {
            List<ObjectNode> objects;
            try {
                objects = Argo.load(r, q.releaseUrl(), q.manifestsDir(), q.keptDir(), q.proxy());
            } catch (Argo.DownloadException e) {
                if (!dryRun) throw e;
                // A dry run without network or kept copy still shows the Metaflow part, and says what it left out.
                err.println("note: the " + r.project() + " " + r.version() + " release is not in this output: " + e.getMessage()
                        + " (a run with internet access keeps it in " + q.keptDir() + ")");
                if (r.project().equals(Argo.EVENTS_PROJECT)) {
                    jetStream = q.jetStreamVersion() != null ? q.jetStreamVersion() : "<newest listed by " + r.project() + " " + r.version() + ">";
                }
                continue;
            }
            if (r.project().equals(Argo.EVENTS_PROJECT)) {
                listed = Argo.jetStreamVersions(r, objects);
                jetStream = Argo.chooseJetStream(r, listed, q.jetStreamVersion());
            }
            loaded.add(objects);
        }
        return new ArgoInstall(q, loaded, jetStream, listed);
    }

    /** The event bus's JetStream version and where it came from. */
    public String note() {
        return "Argo Events " + request.eventsVersion() + ": event bus JetStream " + jetStream + " (" + (request.jetStreamVersion() != null
                ? "--jetstream-version" : "the newest this release lists") + "; it lists " + String.join(", ", listed) + ")";
    }
}
