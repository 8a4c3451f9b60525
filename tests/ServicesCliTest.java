import static org.junit.jupiter.api.Assertions.*;

import azure.AzureLogin;
import fake.NoNetwork;
import fake.ScriptRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * services.java's command line as a user meets it, without Azure or a cluster: the deploy with no subcommand, the
 * subcommands status, forward, check and connect with only their own options, and the old mode flags refused with
 * the subcommand named. Signed in (AZURE_* variables), so that only the refusal can stop a run before its requests.
 */
class ServicesCliTest {
    @TempDir Path home;

    static final Map<String, String> SIGNED_IN = Map.of("AZURE_CLIENT_ID", "x", "AZURE_CLIENT_SECRET", "y", "AZURE_TENANT_ID", "z");

    /** A run with what it tried to send: the transport refuses and records every request. */
    record Run(int code, String out, String err, List<String> requests) {}

    Run run(String... args) {
        NoNetwork net = new NoNetwork();
        ScriptRun.Result r = ScriptRun.run(services::run, new AzureLogin.Host(SIGNED_IN, home), new AzureLogin.Transport(net, null, null), args);
        return new Run(r.code, r.out, r.err, net.attempted);
    }

    /** The long names of the options a help text lists, from its option column (not from wrapped description text). */
    static Set<String> options(String help) {
        Set<String> names = new TreeSet<>();
        Matcher m = Pattern.compile("(?m)^  (?:-\\w, | {4})(--[\\w-]+)").matcher(help);
        while (m.find()) names.add(m.group(1));
        return names;
    }

    /** A refusal: exit 2, one line of what is wrong and one of what to do, nothing printed on stdout, sent or written. */
    void refusedUntouched(Run r) throws Exception {
        assertEquals(2, r.code, r.out + r.err);
        assertEquals(2, r.err.strip().lines().count(), r.err);
        assertTrue(r.err.startsWith("error: "), r.err);
        assertEquals("", r.out);
        assertEquals(List.of(), r.requests);
        try (Stream<Path> files = Files.list(home)) {
            assertEquals(List.of(), files.toList(), "nothing written");
        }
    }

    @Test
    void theTokenPluginPrintsAnExecCredentialFromTheSignInItIsGiven() {
        var credential = new fake.FakeCredential("00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-0000000000b1", false);
        ScriptRun.Result r = ScriptRun.run(services::run, new AzureLogin.Host(Map.of(), home),
                new AzureLogin.Transport(new NoNetwork(), credential, null), "token", "--tenant", "00000000-0000-0000-0000-0000000000b1");
        assertEquals(0, r.code, r.err);
        var cred = engine.Json.parse(r.out);
        assertEquals("client.authentication.k8s.io/v1", cred.path("apiVersion").asText());
        assertEquals("ExecCredential", cred.path("kind").asText());
        // The token is the sign-in's, for the AKS server application (the fake's tokens are unsigned JWTs naming their audience).
        String[] jwt = cred.path("status").path("token").asText().split("\\.");
        var claims = engine.Json.parse(new String(java.util.Base64.getUrlDecoder().decode(jwt[1]), java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(azure.Desired.AKS_SERVER_APP, claims.path("aud").asText());
        assertEquals("00000000-0000-0000-0000-00000000000a", claims.path("oid").asText());
        assertEquals("", r.err, "nothing but the credential is printed, and nothing on stderr");
    }

    @Test
    void theTokenPluginRefusesATenantThatIsNoGuid() throws Exception {
        Run r = run("token", "--tenant", "contoso");
        assertEquals(2, r.code);
        assertTrue(r.err.startsWith("error: --tenant"), r.err);
        assertEquals(List.of(), r.requests);
    }

    @Test
    void helpListsTheSubcommandsAndTheDeploysOptions() {
        Run r = run("--help");
        assertEquals(0, r.code, r.err);
        for (String sub : List.of("status", "forward", "check", "connect", "token")) {
            assertTrue(r.out.matches("(?s).*\\n  " + sub + " +\\S.*"), sub + " is listed in:\n" + r.out);
        }
        Set<String> listed = options(r.out);
        for (String option : List.of("--prefix", "--subscription", "--output", "--verbose", "--kubeconfig", "--context", "--no-kubeconfig",
                "--profile", "--force", "--metadata-image", "--ui-image", "--ui-backend-url", "--argo-workflows-version", "--argo-events-version",
                "--jetstream-version", "--argo-manifests", "--argo-release-url", "--no-argo", "--manifests", "--timeout", "--dry-run",
                "--render-to", "--port-offset", "--no-check", "--help", "--version")) {
            assertTrue(listed.contains(option), option + " in " + listed);
        }
        for (String old : List.of("--status", "--forward", "--check", "--connect")) assertFalse(listed.contains(old), old + " is not shown");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "status|--kubeconfig --context --no-kubeconfig --no-argo --profile",
            "forward|--kubeconfig --context --no-kubeconfig --no-argo --port-offset",
            "check|--output --kubeconfig --context --no-kubeconfig --no-argo --timeout --gpu --as-grantee",
            "connect|--no-kubeconfig --profile --force --port-offset"})
    void eachSubcommandsHelpListsOnlyItsOptions(String subcommand, String own) {
        Run r = run(subcommand, "--help");
        assertEquals(0, r.code, r.err);
        assertTrue(r.out.startsWith("Usage: services.java " + subcommand + " "), r.out);
        Set<String> expected = new TreeSet<>(List.of("--prefix", "--env", "--location", "--subscription", "--cloud", "--arm-endpoint",
                "--verbose", "--help"));
        expected.addAll(List.of(own.split(" ")));
        assertEquals(expected, options(r.out), r.out);
        assertTrue(r.out.contains("Exit codes:"), r.out);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "status --port-offset 10000|--port-offset",
            "status --force|--force",
            "status --output json|--output",
            "status --metadata-image registry.example/md:1|--metadata-image",
            "forward --output json|--output",
            "forward --profile mine|--profile",
            "forward --timeout 5|--timeout",
            "check --dry-run|--dry-run",
            "check --no-check|--no-check",
            "check --profile mine|--profile",
            "check --port-offset 10000|--port-offset",
            "connect --prefix acme --kubeconfig kc.yaml|--kubeconfig",
            "connect --prefix acme --context aks-acme-metaflow-default|--context",
            "connect --prefix acme --output json|--output",
            "connect --prefix acme --no-argo|--no-argo"})
    void anOptionOfAnotherModeIsRefusedByTheParser(String args, String option) throws Exception {
        Run r = run(args.split(" "));
        refusedUntouched(r);
        assertTrue(r.err.lines().findFirst().orElseThrow().contains(option), r.err);
        assertTrue(r.err.contains("Run 'services.java " + args.split(" ")[0] + " --help'"), r.err);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "--prefix acme --connect|--connect|services.java connect --prefix acme",
            "--connect|--connect|services.java connect",
            "--status --kubeconfig kc.yaml --prefix acme|--status|services.java status --kubeconfig kc.yaml --prefix acme",
            "--forward --context aks-acme-metaflow-default --port-offset 10000|--forward|services.java forward --context aks-acme-metaflow-default --port-offset 10000",
            "--check --output json|--check|services.java check --output json",
            "--prefix acme --profile 'my profile' --connect|--connect|services.java connect --prefix acme --profile 'my profile'"})
    void oldModeFlagsAreRefusedNamingTheSubcommand(String args, String flag, String instead) throws Exception {
        List<String> argv = Stream.of(args.split(" (?=(?:[^']*'[^']*')*[^']*$)")).map(a -> a.replace("'", "")).toList();
        Run r = run(argv.toArray(String[]::new));
        refusedUntouched(r);
        assertEquals("error: " + flag + " is now a subcommand: " + instead, r.err.lines().findFirst().orElseThrow(), r.err);
        assertTrue(r.err.contains("nothing was touched"), r.err);
    }

    @Test
    void optionsBeforeTheSubcommandAreRefusedNamingTheRightOrder() throws Exception {
        Run r = run("--prefix", "acme", "connect", "--no-kubeconfig");
        refusedUntouched(r);
        assertEquals("error: --prefix goes after the subcommand: services.java connect --prefix acme --no-kubeconfig",
                r.err.lines().findFirst().orElseThrow(), r.err);
    }

    @Test
    void connectNeedsThePrefixAndValuesAreCheckedBeforeAnyRequest() throws Exception {
        Run none = run("connect");
        refusedUntouched(none);
        assertTrue(none.err.contains("--prefix"), none.err);
        refusedUntouched(run("connect", "--prefix", "acme", "--port-offset", "70000"));
        refusedUntouched(run("status", "--profile", "no/slash"));
        refusedUntouched(run("check", "--timeout", "0"));
        refusedUntouched(run("check", "--output", "yaml"));
        refusedUntouched(run("forward", "--kubeconfig", home.resolve("missing.yaml").toString()));
    }
}
