import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.Set;

/**
 * The files a stack leaves on the user's machine, and how the toolkit recognises its own.
 *
 * <p>Convention (services.java writes, teardown.java removes):
 * <ul>
 *   <li>Kubeconfig: {@code $KUBECONFIG} (its first entry) or {@code ~/.kube/config}. The stack's context, its cluster
 *       and its user are all named as {@code az aks get-credentials} names them: context and cluster = the AKS
 *       cluster's name ({@code aks-<prefix>-metaflow-<env>}), user = {@code clusterUser_<rg>_<aks>}.
 *       Teardown removes the context, and the cluster and user it points to if no other context uses them.</li>
 *   <li>Metaflow profile: {@code $METAFLOW_HOME} or {@code ~/.metaflowconfig}, file {@code config_<prefix>-<env>.json}
 *       (the profile name is the stack's name). Next to it services.java writes
 *       {@code .config_<prefix>-<env>.json.sha256}: the lowercase hex SHA-256 of the exact bytes it wrote, and nothing
 *       else (a trailing newline is allowed). Teardown deletes the profile only when that digest matches; a profile
 *       edited since (or without a digest) is kept and reported.</li>
 * </ul>
 */
public final class LocalFiles {
    private LocalFiles() {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    // --- where ---------------------------------------------------------------------------------------

    public static Path kubeconfig(AzureLogin.Host host) {
        String env = host.env("KUBECONFIG");
        if (env != null) {
            String first = env.split(java.io.File.pathSeparator)[0];
            if (!first.isBlank()) return Path.of(first);
        }
        return host.home().resolve(".kube").resolve("config");
    }

    public static Path metaflowHome(AzureLogin.Host host) {
        String env = host.env("METAFLOW_HOME");
        return env != null ? Path.of(env) : host.home().resolve(".metaflowconfig");
    }

    public static String profileName(Stack s) { return s.name(); }

    public static Path profile(AzureLogin.Host host, Stack s) {
        return metaflowHome(host).resolve("config_" + profileName(s) + ".json");
    }

    /** The digest file services.java writes next to the profile. */
    public static Path profileDigest(AzureLogin.Host host, Stack s) {
        return metaflowHome(host).resolve(".config_" + profileName(s) + ".json.sha256");
    }

    public static String kubeContext(Stack s) { return s.aks(); }

    public static String kubeUser(Stack s) { return "clusterUser_" + s.resourceGroup() + "_" + s.aks(); }

    // --- profile ---------------------------------------------------------------------------------------

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes a profile and its digest: what services.java does (and tests use to set up a machine). */
    public static void writeProfile(AzureLogin.Host host, Stack s, String content) {
        try {
            Path p = profile(host, s);
            Files.createDirectories(p.getParent());
            byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
            Files.write(p, bytes);
            Files.writeString(profileDigest(host, s), sha256(bytes) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public enum ProfileState { ABSENT, WRITTEN_BY_TOOLKIT, CHANGED, NO_DIGEST, DIGEST_ONLY }

    public static ProfileState profileState(AzureLogin.Host host, Stack s) {
        Path p = profile(host, s);
        Path d = profileDigest(host, s);
        try {
            boolean hasProfile = Files.isRegularFile(p);
            boolean hasDigest = Files.isRegularFile(d);
            if (!hasProfile) return hasDigest ? ProfileState.DIGEST_ONLY : ProfileState.ABSENT;
            if (!hasDigest) return ProfileState.NO_DIGEST;
            String want = Files.readString(d, StandardCharsets.UTF_8).trim().toLowerCase(java.util.Locale.ROOT);
            return want.equals(sha256(Files.readAllBytes(p))) ? ProfileState.WRITTEN_BY_TOOLKIT : ProfileState.CHANGED;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes the profile (only if the toolkit wrote it, unchanged) and its digest; returns what was deleted. */
    public static boolean deleteProfile(AzureLogin.Host host, Stack s) {
        ProfileState state = profileState(host, s);
        try {
            if (state == ProfileState.WRITTEN_BY_TOOLKIT) {
                Files.deleteIfExists(profile(host, s));
                Files.deleteIfExists(profileDigest(host, s));
                return true;
            }
            if (state == ProfileState.DIGEST_ONLY) Files.deleteIfExists(profileDigest(host, s));
            return false;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // --- kubeconfig ------------------------------------------------------------------------------------

    /** The stack's entries in the kubeconfig, if its context is there. */
    public record KubeEntry(Path file, String context, String cluster, String user, String server, boolean current) {}

    public static Optional<KubeEntry> findContext(AzureLogin.Host host, Stack s) {
        Path file = kubeconfig(host);
        JsonNode doc = readKubeconfig(file);
        if (doc == null) return Optional.empty();
        for (JsonNode c : doc.path("contexts")) {
            if (c.path("name").asText().equals(kubeContext(s))) {
                String cluster = c.path("context").path("cluster").asText(null);
                String server = null;
                for (JsonNode cl : doc.path("clusters")) {
                    if (cl.path("name").asText().equals(cluster)) server = cl.path("cluster").path("server").asText(null);
                }
                return Optional.of(new KubeEntry(file, kubeContext(s), cluster, c.path("context").path("user").asText(null),
                        server, kubeContext(s).equals(doc.path("current-context").asText())));
            }
        }
        return Optional.empty();
    }

    /**
     * Removes the context, and its cluster and user where no other context refers to them; every other entry stays
     * as it was. Writes through a temporary file in the same directory, keeping the file's permissions.
     */
    public static boolean removeContext(AzureLogin.Host host, Stack s) {
        Path file = kubeconfig(host);
        JsonNode doc = readKubeconfig(file);
        if (doc == null || !doc.isObject()) return false;
        Optional<KubeEntry> entry = findContext(host, s);
        if (entry.isEmpty()) return false;
        ObjectNode root = (ObjectNode) doc;
        removeNamed(root, "contexts", entry.get().context());
        boolean clusterShared = false;
        boolean userShared = false;
        for (JsonNode c : root.path("contexts")) {
            if (c.path("context").path("cluster").asText().equals(entry.get().cluster())) clusterShared = true;
            if (c.path("context").path("user").asText().equals(entry.get().user())) userShared = true;
        }
        if (!clusterShared && entry.get().cluster() != null) removeNamed(root, "clusters", entry.get().cluster());
        if (!userShared && entry.get().user() != null) removeNamed(root, "users", entry.get().user());
        if (entry.get().current()) root.put("current-context", "");
        try {
            Path tmp = Files.createTempFile(file.getParent(), ".config-", ".tmp");
            try {
                Files.writeString(tmp, YAML.writeValueAsString(root), StandardCharsets.UTF_8);
                try {
                    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
                    Files.setPosixFilePermissions(tmp, perms);
                } catch (UnsupportedOperationException notPosix) {
                    // Windows: the ACL of the directory applies
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return true;
    }

    private static void removeNamed(ObjectNode root, String list, String name) {
        JsonNode arr = root.get(list);
        if (!(arr instanceof ArrayNode a)) return;
        for (int i = a.size() - 1; i >= 0; i--) {
            if (a.get(i).path("name").asText().equals(name)) a.remove(i);
        }
    }

    static JsonNode readKubeconfig(Path file) {
        if (!Files.isRegularFile(file)) return null;
        try {
            String text = Files.readString(file, StandardCharsets.UTF_8);
            if (text.isBlank()) return null;
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses kubeconfig YAML (for tests and callers that check the result). */
    public static JsonNode parseYaml(String text) {
        try {
            return YAML.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
