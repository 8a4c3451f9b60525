package azure;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import engine.PrivateFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The files a stack leaves on the user's machine, and how the toolkit recognises its own.
 *
 * <p>Convention (services.java writes, teardown.java removes):
 * <ul>
 *   <li>Kubeconfig: {@code $KUBECONFIG} if it names one file, else {@code ~/.kube/config}. The stack's context,
 *       cluster and user are named as {@code az aks get-credentials} names them: context and cluster = the AKS
 *       cluster's name ({@code aks-<prefix>-metaflow-<env>}), user = {@code clusterUser_<rg>_<aks>}. Teardown removes
 *       the context, and the cluster and user it points to if no other context uses them.</li>
 *   <li>Metaflow profile: {@code ~/.metaflowconfig/config_<profile>.json} (profile default: the stack's name,
 *       {@code <prefix>-<env>}). Right after writing it, services.java calls {@link #recordWritten(Path, Stack)},
 *       which writes next to it {@code .config_<profile>.json.sha256}: one line, {@code <sha256 hex of the file's
 *       bytes> <stack name>}. Teardown deletes a profile (and its digest) only when a digest names the stack and
 *       still matches the file; an edited profile, or one without a digest, is kept and reported.</li>
 * </ul>
 */
public final class LocalFiles {
    private LocalFiles() {}

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

    // --- where ---------------------------------------------------------------------------------------

    /** Where services.java merges the stack's context: the first file of $KUBECONFIG (where kubectl writes new entries), else ~/.kube/config. */
    public static Path kubeconfig(AzureLogin.Host host) {
        String env = host.env("KUBECONFIG");
        if (env != null) {
            for (String part : env.split(java.util.regex.Pattern.quote(java.io.File.pathSeparator))) {
                if (!part.isBlank()) return Path.of(part);
            }
        }
        return host.home().resolve(".kube").resolve("config");
    }

    /** Where Metaflow reads its config profiles: $METAFLOW_HOME, else ~/.metaflowconfig (as the Metaflow client does). */
    public static Path metaflowHome(AzureLogin.Host host) {
        return host.env("METAFLOW_HOME") != null ? Path.of(host.env("METAFLOW_HOME")) : host.home().resolve(".metaflowconfig");
    }

    public static String profileName(Stack s) { return s.name(); }

    /** The profile file of the stack's default profile name. */
    public static Path profile(AzureLogin.Host host, Stack s) {
        return metaflowHome(host).resolve("config_" + profileName(s) + ".json");
    }

    /** The digest file that goes with a profile file. */
    public static Path digestOf(Path profileFile) {
        return profileFile.resolveSibling("." + profileFile.getFileName() + ".sha256");
    }

    public static Path profileDigest(AzureLogin.Host host, Stack s) {
        return digestOf(profile(host, s));
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

    /** Records that the toolkit wrote this profile file for this stack, as it is now (services.java, after writing). */
    public static void recordWritten(Path profileFile, Stack s) {
        try {
            PrivateFile.write(digestOf(profileFile), sha256(Files.readAllBytes(profileFile)) + " " + s.name() + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Writes a profile of the given name and records it: what services.java does (tests use it to set up a machine). */
    public static Path writeProfile(AzureLogin.Host host, Stack s, String profileName, String content) {
        try {
            Path p = metaflowHome(host).resolve("config_" + profileName + ".json");
            Files.createDirectories(p.getParent());
            Files.writeString(p, content, StandardCharsets.UTF_8);
            recordWritten(p, s);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path writeProfile(AzureLogin.Host host, Stack s, String content) {
        return writeProfile(host, s, profileName(s), content);
    }

    /** WRITTEN_BY_TOOLKIT: goes with the stack; CHANGED, NO_DIGEST: kept; DIGEST_ONLY: the profile is gone, the digest goes. */
    public enum ProfileState { WRITTEN_BY_TOOLKIT, CHANGED, NO_DIGEST, DIGEST_ONLY }

    public record Profile(Path file, ProfileState state) {
        public boolean goes() { return state == ProfileState.WRITTEN_BY_TOOLKIT || state == ProfileState.DIGEST_ONLY; }
        public boolean shown() { return state != ProfileState.DIGEST_ONLY; }
    }

    /**
     * The stack's profiles: the one of the stack's name (whatever its state), and any other whose digest names the
     * stack (a profile written with services.java --profile).
     */
    public static List<Profile> profiles(AzureLogin.Host host, Stack s) {
        Path dir = metaflowHome(host);
        List<Path> files = new ArrayList<>();
        files.add(profile(host, s));
        if (Files.isDirectory(dir)) {
            try (var list = Files.list(dir)) {
                list.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".config_") && n.endsWith(".json.sha256")).sorted()
                        .forEach(n -> {
                            Path file = dir.resolve(n.substring(1, n.length() - ".sha256".length()));
                            String[] digest = readDigest(digestOf(file));
                            if (digest.length > 1 && digest[1].equals(s.name()) && !files.contains(file)) files.add(file);
                        });
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        List<Profile> out = new ArrayList<>();
        for (Path f : files) {
            ProfileState st = state(f, s);
            if (st != null) out.add(new Profile(f, st));
        }
        return out;
    }

    /** The state of one profile file for this stack; null when neither it nor a digest of this stack exists. */
    static ProfileState state(Path file, Stack s) {
        try {
            String[] digest = readDigest(digestOf(file));
            boolean forStack = digest.length > 0 && (digest.length < 2 || digest[1].equals(s.name()));
            if (!Files.isRegularFile(file)) return forStack ? ProfileState.DIGEST_ONLY : null;
            if (!forStack) return ProfileState.NO_DIGEST;
            return digest[0].equalsIgnoreCase(sha256(Files.readAllBytes(file))) ? ProfileState.WRITTEN_BY_TOOLKIT : ProfileState.CHANGED;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String[] readDigest(Path digest) {
        try {
            if (!Files.isRegularFile(digest)) return new String[0];
            String text = Files.readString(digest, StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? new String[0] : text.split("\\s+");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a profile that goes with the stack (re-checked now), and its digest; true if the profile file was deleted. */
    public static boolean deleteProfile(Profile p, Stack s) {
        ProfileState now = state(p.file(), s);
        try {
            if (now == ProfileState.WRITTEN_BY_TOOLKIT) {
                Files.deleteIfExists(p.file());
                Files.deleteIfExists(digestOf(p.file()));
                return true;
            }
            if (now == ProfileState.DIGEST_ONLY) Files.deleteIfExists(digestOf(p.file()));
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
