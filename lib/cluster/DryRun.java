package cluster;

import azure.Clouds;
import azure.Stack;
import azure.StackFacts;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** services.java --dry-run: every object a deploy would apply, rendered from names alone (no Azure, no cluster), as YAML. */
public final class DryRun {
    private DryRun() {}

    /** Prints the objects to out, or writes them to renderTo/<nnn>-<kind>-<name>.yaml when renderTo is not null. */
    public static int print(Stack stack, Clouds.Cloud cloud, ServiceObjects render, List<Manifests.Template> templates, Path renderTo,
                     PrintStream out, PrintStream err) {
        StackFacts facts = StackFacts.predicted(stack, cloud, false);
        List<ObjectNode> objects = render.render(stack, facts, templates);
        if (render.argo() != null && !render.argo().listed().isEmpty()) err.println(render.argo().note() + ".");  // stdout stays pure YAML
        objects.add(ServiceObjects.dbSecret(stack, "<generated on deploy; stored only on the server and in this Secret>"));
        objects = Manifests.ordered(objects);
        if (renderTo == null) {
            out.print(Manifests.toYaml(objects));
            return 0;
        }
        try {
            Files.createDirectories(renderTo);
            int i = 0;
            for (ObjectNode o : objects) {
                String file = String.format("%03d-%s-%s.yaml", i++, o.path("kind").asText().toLowerCase(),
                        o.path("metadata").path("name").asText().replaceAll("[^A-Za-z0-9_.-]", "_"));
                Files.writeString(renderTo.resolve(file), Manifests.toYaml(List.of(o)), StandardCharsets.UTF_8);
            }
        } catch (IOException e) {
            err.println("error: cannot write to " + renderTo + ": " + e.getMessage());
            err.println("Choose a writable --render-to directory.");
            return 1;
        }
        out.println("Wrote " + objects.size() + " objects to " + renderTo + "; nothing was applied.");
        return 0;
    }
}
