///usr/bin/env jbang "$0" "$@" ; exit $?
//JAVA 17+
//COMPILE_OPTIONS -encoding UTF-8
//DEPS info.picocli:picocli:4.7.7
//DEPS io.fabric8:kubernetes-server-mock:7.4.0
//SOURCES ../../lib/Toolkit.java
//SOURCES ../../provision.java
//SOURCES ../../services.java
//SOURCES ../../teardown.java
//SOURCES ../fake/*.java
//SOURCES ../Defaults.java
//FILES manifests/=../../manifests/**
//JAVA_OPTIONS -Xss4m

import azure.ArmResource;
import azure.AzureLogin;
import azure.Clouds;
import azure.Desired;
import azure.Stack;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpHeaderName;
import com.azure.core.http.HttpRequest;
import com.azure.core.http.HttpResponse;
import com.azure.core.util.Context;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import engine.Json;
import engine.Plan;
import fake.ArgoFixture;
import fake.AzureFake;
import fake.FakeCredential;
import fake.KubeFake;
import fake.ScriptRun;
import java.io.File;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import reactor.core.publisher.Mono;

/**
 * How close the toolkit runs to Azure's own limits. Runs provision, an up-to-date re-run, teardown (against the in-process
 * Azure fake with an Azure-shaped latency profile) and a services deploy (against the Kube mock API server), twice, then
 * times warm start-up of the three scripts through ./jbang. Prints one table; exit code 1 if a target is missed.
 *
 * <p>Usage (from the repository root): {@code ./jbang tests/bench/Bench.java [--azure-only | --startup-only] [--runs N]
 * [--startup-runs N]}. Talks only to in-process fakes and a loopback mock server; never to Azure.
 */
public class Bench {

    // ------------------------------------------------------------------------------------------------------------
    // the profile: typical Azure durations, scaled down by SCALE; Retry-After in whole seconds as Azure sends it

    static final int SCALE = 40;

    /** One resource type: typical real duration of its create (and delete) and the Retry-After Azure sends, if any. */
    record Lat(String type, String label, int realSeconds, Integer realRetryAfter) {
        long millis() { return realSeconds * 1000L / SCALE; }
        /** Azure's Retry-After is whole seconds: scaled, rounded, at least 1. */
        Integer retryAfter() { return realRetryAfter == null ? null : Math.max(1, Math.round(realRetryAfter / (float) SCALE)); }
        /** The earliest a client that honours Retry-After can see the end: the duration rounded up to the Retry-After grid. */
        long effectiveMillis() {
            Integer ra = retryAfter();
            if (ra == null || millis() == 0) return millis();
            long step = ra * 1000L;
            return (millis() + step - 1) / step * step;
        }
    }

    static final List<Lat> PROFILE = List.of(
            new Lat("microsoft.containerservice/managedclusters", "AKS cluster", 360, null),
            new Lat("microsoft.dbforpostgresql/flexibleservers", "PostgreSQL server", 300, null),
            new Lat("microsoft.containerservice/managedclusters/agentpools", "AKS node pool", 180, null),
            new Lat("microsoft.network/privatednszones", "private DNS zone", 40, 10),
            new Lat("microsoft.network/privatednszones/virtualnetworklinks", "DNS zone link", 40, 10),
            new Lat("microsoft.storage/storageaccounts", "storage account", 25, 17),
            new Lat("microsoft.network/virtualnetworks", "virtual network", 20, 10),
            new Lat("microsoft.dbforpostgresql/flexibleservers/databases", "PostgreSQL database", 20, 10),
            new Lat("microsoft.dbforpostgresql/flexibleservers/configurations", "PostgreSQL setting", 20, 10),
            new Lat("microsoft.resources/resourcegroups", "resource group (delete only)", 120, 15));

    static final Map<String, Lat> BY_TYPE = new HashMap<>();
    static {
        for (Lat l : PROFILE) BY_TYPE.put(l.type(), l);
    }

    static AzureFake shapedFake() {
        AzureFake f = new AzureFake();
        for (Lat l : PROFILE) f.latency(l.type(), l.millis(), l.retryAfter());
        return f;
    }

    // ------------------------------------------------------------------------------------------------------------
    // a tap between the toolkit and the fake: what each answer said (operation URLs, status), with times

    record Ex(String method, String url, String path, int status, String asyncOp, String location, String state,
              long start, long end) {}

    static final class Tap implements HttpClient {
        final HttpClient inner;
        final List<Ex> log = Collections.synchronizedList(new ArrayList<>());

        Tap(HttpClient inner) { this.inner = inner; }

        @Override public Mono<HttpResponse> send(HttpRequest request) { return send(request, Context.NONE); }

        @Override public Mono<HttpResponse> send(HttpRequest request, Context context) {
            return Mono.fromCallable(() -> sendSync(request, context));
        }

        @Override public HttpResponse sendSync(HttpRequest request, Context context) {
            long t0 = System.nanoTime();
            HttpResponse r = inner.sendSync(request, context);
            long t1 = System.nanoTime();
            String state = null;
            try {
                String text = r.getBodyAsBinaryData() == null ? "" : r.getBodyAsBinaryData().toString();
                if (!text.isBlank()) {
                    JsonNode b = Json.parse(text);
                    state = b.has("status") ? b.path("status").asText() : b.path("properties").path("provisioningState").asText(null);
                }
            } catch (RuntimeException ignored) {
                // not JSON
            }
            String path = request.getUrl().getPath().replaceAll("/{2,}", "/");
            log.add(new Ex(request.getHttpMethod().name(), request.getUrl().toString(), path.toLowerCase(Locale.ROOT),
                    r.getStatusCode(), r.getHeaderValue(HttpHeaderName.fromString("Azure-AsyncOperation")),
                    r.getHeaderValue(HttpHeaderName.LOCATION), state, t0, t1));
            return r;
        }
    }

    /** Lower-case ARM resource type of an id ("microsoft.network/virtualnetworks"), or null. */
    static String typeOf(String id) {
        String p = id.toLowerCase(Locale.ROOT);
        int q = p.indexOf('?');
        if (q >= 0) p = p.substring(0, q);
        int i = p.lastIndexOf("/providers/");
        if (i < 0) {
            return p.matches("/subscriptions/[^/]+/resourcegroups/[^/]+") ? "microsoft.resources/resourcegroups" : null;
        }
        String[] s = p.substring(i + "/providers/".length()).split("/");
        if (s.length < 3) return null;
        StringBuilder t = new StringBuilder(s[0]).append('/').append(s[1]);
        for (int k = 3; k < s.length; k += 2) t.append('/').append(s[k]);
        return t.toString();
    }

    static boolean inProgress(String state) {
        if (state == null) return false;
        String s = state.toLowerCase(Locale.ROOT);
        return !(s.isEmpty() || s.equals("succeeded") || s.equals("failed") || s.equals("canceled"));
    }

    record Waste(String what, long durationMs, long wasteMs, long boundMs) {}

    /**
     * For each long-running operation the toolkit started (a write answered with an operation URL or an in-progress
     * state, on a type the profile makes slow): the time from the operation's end (the write's arrival + the profile's
     * latency) to the first request that saw it ended.
     */
    static List<Waste> pollWaste(List<Ex> log) {
        List<Ex> all;
        synchronized (log) {
            all = new ArrayList<>(log);
        }
        List<Waste> out = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            Ex w = all.get(i);
            if (!(w.method.equals("PUT") || w.method.equals("PATCH") || w.method.equals("DELETE")) || w.status >= 400) continue;
            String type = typeOf(w.path);
            Lat lat = type == null ? null : BY_TYPE.get(type);
            if (lat == null || lat.millis() == 0) continue;
            boolean lro = w.asyncOp != null || w.location != null || w.status == 202 || inProgress(w.state);
            if (!lro) continue;
            long doneAt = w.start + lat.millis() * 1_000_000L;
            String opA = w.asyncOp == null ? null : strip(w.asyncOp);
            String opL = w.location == null ? null : strip(w.location);
            Long noticed = null;
            for (int j = i + 1; j < all.size(); j++) {
                Ex r = all.get(j);
                if (!r.method.equals("GET") || r.start < doneAt) continue;
                String u = strip(r.url);
                boolean sawEnd;
                if (u.equals(opA)) sawEnd = !inProgress(r.state);
                else if (u.equals(opL)) sawEnd = r.status != 202;
                else if (r.path.equals(w.path)) sawEnd = w.method.equals("DELETE") ? r.status == 404 : !inProgress(r.state);
                else continue;
                if (sawEnd) {
                    noticed = r.start;
                    break;
                }
            }
            if (noticed == null) continue;   // not waited for (a delete left to Azure)
            long waste = (noticed - doneAt) / 1_000_000;
            out.add(new Waste(w.method + " " + lat.label(), lat.millis(), Math.max(0, waste), Math.max(1000, lat.millis() / 10)));
        }
        return out;
    }

    static String strip(String url) {
        String u = url.toLowerCase(Locale.ROOT);
        int q = u.indexOf('?');
        return q < 0 ? u : u.substring(0, q);
    }

    /**
     * The longest dependency chain of the plan, each item weighing its type's (Retry-After-rounded) latency. A resource
     * made inside its parent's create (the worker pool in the AKS create) weighs nothing, unless {@code sequential}: then
     * it weighs as its own create after the parent, as the toolkit did before (cluster, then pool).
     */
    static long criticalPathMillis(List<Plan.Item> items, boolean sequential) {
        Map<String, Long> finish = new HashMap<>();
        long max = 0;
        for (Plan.Item it : items) {
            long start = 0;
            for (String d : it.dependsOn()) start = Math.max(start, finish.getOrDefault(d, 0L));
            long dur = 0;
            if (it.handler() instanceof ArmResource a) {
                String type = typeOf(a.id());
                Lat l = BY_TYPE.get(type);
                // a resource group's create is synchronous (only its delete is long-running)
                if (l != null && !type.equals("microsoft.resources/resourcegroups")) dur = l.effectiveMillis();
                if (a.inParentArray() != null && !sequential) dur = 0;
            }
            finish.put(it.key(), start + dur);
            max = Math.max(max, start + dur);
        }
        return max;
    }

    // ------------------------------------------------------------------------------------------------------------
    // running the scripts in-process

    static ScriptRun.Result exec(ScriptRun.Script s, AzureLogin.Host host, AzureLogin.Transport t, String... args) throws Exception {
        return bounded(() -> ScriptRun.run(s, host, t, args), 180);
    }

    static final ExecutorService RUNNER = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "bench");
        t.setDaemon(true);
        return t;
    });

    static <T> T bounded(Callable<T> c, int seconds) throws Exception {
        Future<T> f = RUNNER.submit(c);
        try {
            return f.get(seconds, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            f.cancel(true);
            throw new IllegalStateException("a run took longer than " + seconds + " s; the benchmark gives up");
        }
    }

    static ScriptRun.Result check(String what, ScriptRun.Result o) {
        if (o.code != 0) throw new IllegalStateException(what + " exited " + o.code + "\n" + o.out + "\n" + o.err);
        return o;
    }

    /** The figures of one pass over the Azure side. */
    static final class Pass {
        final Map<String, Double> v = new LinkedHashMap<>();
        final List<Waste> waste = new ArrayList<>();
    }

    static Pass azurePass(Path work, boolean quiet) throws Exception {
        Pass p = new Pass();
        Path home = Files.createTempDirectory(work, "home");
        AzureFake fake = shapedFake();
        Tap tap = new Tap(fake);
        AzureLogin.Transport t = new AzureLogin.Transport(tap, new FakeCredential(fake.userObjectId(), fake.tenantId(), false), null);
        AzureLogin.Host host = new AzureLogin.Host(Map.of(), home);

        Stack stack = Stack.of("acme", Stack.DEFAULT_ENV, Stack.DEFAULT_LOCATION, Clouds.PUBLIC);
        List<Plan.Item> items = Desired.items(stack, Defaults.settings(), new Desired.Caller(AzureFake.DEFAULT_SUBSCRIPTION, fake.userObjectId(), "User"));
        int resources = items.size();

        // 1. full provision
        ScriptRun.Result full = check("provision", exec(provision::run, host, t, "--prefix", "acme", "--yes"));
        p.v.put("provision.wall", full.millis / 1000.0);
        p.v.put("provision.cp", criticalPathMillis(items, false) / 1000.0);
        p.v.put("provision.ratio", full.millis / (double) criticalPathMillis(items, false));
        p.v.put("provision.oldcp", criticalPathMillis(items, true) / 1000.0);
        p.v.put("provision.oldratio", full.millis / (double) criticalPathMillis(items, true));
        p.v.put("provision.reads", (double) fake.reads().size());
        p.v.put("provision.writes", (double) fake.writes().size());
        p.v.put("provision.polls", (double) fake.polls().size());
        p.v.put("resources", (double) resources);
        p.waste.addAll(pollWaste(tap.log));

        // 2. up-to-date re-run
        int r0 = fake.reads().size(), w0 = fake.writes().size(), q0 = fake.polls().size();
        ScriptRun.Result again = check("provision (re-run)", exec(provision::run, host, t, "--prefix", "acme", "--yes"));
        if (!again.out.contains("up to date")) throw new IllegalStateException("the re-run was not up to date:\n" + again.out);
        p.v.put("rerun.wall", again.millis / 1000.0);
        p.v.put("rerun.reads", (double) (fake.reads().size() - r0));
        p.v.put("rerun.writes", (double) (fake.writes().size() - w0 + fake.polls().size() - q0));

        // 3. teardown
        int n0 = fake.requests().size();
        r0 = fake.reads().size();
        w0 = fake.writes().size();
        q0 = fake.polls().size();
        int tap0 = tap.log.size();
        ScriptRun.Result down = check("teardown", exec(teardown::run, host, t, "--prefix", "acme", "--yes"));
        p.v.put("teardown.wall", down.millis / 1000.0);
        p.v.put("teardown.requests", (double) (fake.requests().size() - n0));
        p.v.put("teardown.reads", (double) (fake.reads().size() - r0));
        p.v.put("teardown.writes", (double) (fake.writes().size() - w0));
        p.v.put("teardown.polls", (double) (fake.polls().size() - q0));
        List<Ex> after;
        synchronized (tap.log) {
            after = new ArrayList<>(tap.log.subList(tap0, tap.log.size()));
        }
        p.waste.addAll(pollWaste(after));

        // 4. services deploy against the Kube mock API server (Azure side: a stack provisioned in a zero-latency fake)
        servicesDeploy(work, p);
        if (!quiet) {
            for (Waste w : p.waste) {
                System.err.printf("    %-34s op %5d ms, noticed %4d ms late (bound %d ms)%n", w.what(), w.durationMs(), w.wasteMs(), w.boundMs());
            }
        }
        if (!quiet) System.err.printf("  pass: provision %.1f s, re-run %.2f s, teardown %.1f s, services %.1f s%n",
                p.v.get("provision.wall"), p.v.get("rerun.wall"), p.v.get("teardown.wall"), p.v.get("services.wall"));
        return p;
    }

    static void servicesDeploy(Path work, Pass p) throws Exception {
        Path home = Files.createTempDirectory(work, "svc");
        Path argo = ArgoFixture.writeTo(home.resolve("argo"));
        try (KubeFake kube = new KubeFake(); AutoCloseable rollouts = kube.rollOutDeployments(java.util.Set.of())) {
            AzureFake azure = new AzureFake().clusterApiServer(kube.url());
            AzureLogin.Transport transport = ScriptRun.signedIn(azure);
            check("provision for services", exec(provision::run, new AzureLogin.Host(Map.of(), home), transport, "--prefix", "acme", "--yes"));
            int azureBefore = azure.requests().size();
            ScriptRun.Result o = check("services", exec(services::run, new AzureLogin.Host(Map.of(), home), transport,
                    "--argo-manifests", argo.toString(), "--timeout", "60"));
            p.v.put("services.wall", o.millis / 1000.0);
            p.v.put("services.applied", (double) kube.requests.stream().filter(q -> q.startsWith("PATCH ")).count());
            p.v.put("services.requests", (double) (kube.requests.size() + azure.requests().size() - azureBefore));
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // start-up through ./jbang, as a user runs it, with no sign-in material anywhere

    /** One start-up measurement; teardown's dry run without sign-in ends with exit 1 and says why (it must read Azure). */
    record Startup(String label, List<String> args, double limitSeconds, int exitCode, String expect) {
        Startup(String label, List<String> args, double limitSeconds) { this(label, args, limitSeconds, 0, null); }
    }

    static final List<Startup> STARTUPS = List.of(
            new Startup("provision.java --help", List.of("provision.java", "--help"), 0.8),
            new Startup("teardown.java --help", List.of("teardown.java", "--help"), 0.8),
            new Startup("services.java --help", List.of("services.java", "--help"), 0.8),
            new Startup("provision.java --prefix acme --dry-run", List.of("provision.java", "--prefix", "acme", "--dry-run"), 1.5),
            new Startup("teardown.java --prefix acme --dry-run", List.of("teardown.java", "--prefix", "acme", "--dry-run"), 1.5,
                    1, "no Azure sign-in found"),
            new Startup("services.java --prefix acme --dry-run --no-argo",
                    List.of("services.java", "--prefix", "acme", "--dry-run", "--no-argo"), 1.5));

    static Map<String, String> childEnv(Path home) {
        Map<String, String> env = new LinkedHashMap<>(System.getenv());
        env.keySet().removeIf(k -> k.startsWith("AZURE_") || k.equals("IDENTITY_ENDPOINT") || k.equals("MSI_ENDPOINT")
                || k.equals("IDENTITY_HEADER") || k.equals("MSI_SECRET") || k.equals(AzureLogin.ARM_ENDPOINT_ENV)
                || k.startsWith("JBANG_") && !k.equals("JBANG_DIR") || k.equals("KUBECONFIG"));
        String realHome = System.getProperty("user.home");
        env.putIfAbsent("JBANG_DIR", Path.of(realHome, ".jbang").toString());   // warm JBang cache of the user
        env.put("HOME", home.toString());
        // The scripts' JVM takes user.home from the account, not $HOME: make sure that has no sign-in material either.
        if (AzureLogin.hasSignInMaterial(new AzureLogin.Host(env, Path.of(realHome)))
                || Files.exists(Path.of(realHome, ".azure"))) {
            env.put("JDK_JAVA_OPTIONS", "-Duser.home=" + home);
            env.putIfAbsent("JBANG_REPO", Path.of(realHome, ".m2", "repository").toString());
        }
        return env;
    }

    static double timeOnce(Path root, Startup st, Map<String, String> env, Path scratch) throws Exception {
        List<String> args = st.args();
        List<String> cmd = new ArrayList<>();
        cmd.add(root.resolve("jbang").toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(root.toFile());
        pb.environment().clear();
        pb.environment().putAll(env);
        File log = scratch.resolve("startup.log").toFile();
        pb.redirectOutput(log).redirectError(ProcessBuilder.Redirect.appendTo(log));
        pb.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        long t0 = System.nanoTime();
        Process pr = pb.start();
        if (!pr.waitFor(120, TimeUnit.SECONDS)) {
            pr.destroyForcibly();
            throw new IllegalStateException(String.join(" ", args) + " did not finish in 120 s");
        }
        double s = (System.nanoTime() - t0) / 1e9;
        if (pr.exitValue() != st.exitCode() || st.expect() != null && !Files.readString(log.toPath()).contains(st.expect())) {
            throw new IllegalStateException("./jbang " + String.join(" ", args) + " exited " + pr.exitValue() + ":\n"
                    + Files.readString(log.toPath()));
        }
        return s;
    }

    static Map<String, Double> startup(Path root, Path work, int runs) throws Exception {
        Path home = Files.createTempDirectory(work, "starthome");
        Map<String, String> env = childEnv(home);
        Map<String, Double> med = new LinkedHashMap<>();
        // warm-up (also builds each script's jar and makes its class-data archive on first use)
        for (Startup s : STARTUPS) timeOnce(root, s, env, work);
        // then round-robin, so that a burst of load from elsewhere on the machine hits every command alike
        Map<String, List<Double>> times = new LinkedHashMap<>();
        for (int i = 0; i < runs; i++) {
            for (Startup s : STARTUPS) times.computeIfAbsent(s.label(), k -> new ArrayList<>()).add(timeOnce(root, s, env, work));
        }
        for (Startup s : STARTUPS) {
            med.put(s.label(), median(times.get(s.label())));
            System.err.printf("  %-50s %s%n", s.label(), times.get(s.label()).stream().map(x -> String.format("%.2f", x)).toList());
        }
        return med;
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        Collections.sort(s);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }

    // ------------------------------------------------------------------------------------------------------------
    // the table

    static final List<String[]> ROWS = new ArrayList<>();
    static boolean allMet = true;

    static void row(String what, String value, String target, Boolean ok) {
        ROWS.add(new String[] {what, value, target == null ? "" : target, ok == null ? "" : ok ? "met" : "MISSED"});
        if (ok != null && !ok) allMet = false;
    }

    static void printTable(PrintStream out) {
        int[] w = {0, 0, 0, 0};
        String[] head = {"figure", "value", "target", ""};
        for (String[] r : ROWS) for (int i = 0; i < 4; i++) w[i] = Math.max(w[i], r[i].length());
        for (int i = 0; i < 4; i++) w[i] = Math.max(w[i], head[i].length());
        String fmt = "| %-" + w[0] + "s | %" + w[1] + "s | %-" + w[2] + "s | %-" + w[3] + "s |%n";
        out.printf(fmt, (Object[]) head);
        out.printf("|%s|%s|%s|%s|%n", "-".repeat(w[0] + 2), "-".repeat(w[1] + 2), "-".repeat(w[2] + 2), "-".repeat(w[3] + 2));
        for (String[] r : ROWS) out.printf(fmt, (Object[]) r);
    }

    static double med(List<Pass> passes, String key) {
        return median(passes.stream().map(p -> p.v.get(key)).toList());
    }

    /** The Kube mock server logs every request at INFO; the benchmark's output is the table. */
    static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");

    public static void main(String[] args) throws Exception {
        MOCK_LOG.setLevel(java.util.logging.Level.WARNING);
        boolean azure = true, start = true;
        int runs = 2, startupRuns = 7;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--azure-only" -> start = false;
                case "--startup-only" -> azure = false;
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--startup-runs" -> startupRuns = Integer.parseInt(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("Usage: ./jbang tests/bench/Bench.java [--azure-only | --startup-only] [--runs N] [--startup-runs N]");
                    System.out.println("Runs the toolkit against in-process fakes with an Azure-shaped latency profile and times start-up;");
                    System.out.println("prints a table; exit code 0 if every target is met, 1 if one is missed, 2 if the benchmark failed.");
                    return;
                }
                default -> {
                    System.err.println("unknown option " + args[i] + " (try --help)");
                    System.exit(2);
                }
            }
        }
        Path root = locateRoot();
        Path work = Files.createTempDirectory("metaflow-azure-bench");
        int code;
        try {
            code = run(root, work, azure, start, runs, startupRuns);
        } catch (Exception e) {
            System.err.println("benchmark failed: " + e.getMessage());
            code = 2;
        } finally {
            deleteTree(work);
        }
        System.exit(code);
    }

    static int run(Path root, Path work, boolean azure, boolean start, int runs, int startupRuns) throws Exception {
        long t0 = System.nanoTime();
        System.out.println("Profile: typical Azure durations / " + SCALE + "; Retry-After in whole seconds (scaled, at least 1)");
        for (Lat l : PROFILE) {
            System.out.printf("  %-26s %4d s real -> %6d ms%s%n", l.label(), l.realSeconds(), l.millis(),
                    l.retryAfter() == null ? ", no Retry-After" : ", Retry-After " + l.realRetryAfter() + " s real -> " + l.retryAfter() + " s");
        }
        if (azure) {
            System.err.println("warm-up pass (zero latency, not counted) ...");
            warmUp(work);
            List<Pass> passes = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                System.err.println("Azure-side pass " + (i + 1) + "/" + runs + " ...");
                passes.add(azurePass(work, false));
            }
            double res = med(passes, "resources");
            double ratio = med(passes, "provision.ratio");
            row("provision: wall", s(med(passes, "provision.wall")), null, null);
            row("provision: critical path (profile)", s(med(passes, "provision.cp")), null, null);
            row("provision: wall / critical path", String.format("%.3f", ratio), "<= 1.05", ratio <= 1.05);
            double oldRatio = med(passes, "provision.oldratio");
            row("provision: old critical path (cluster, then pool)", s(med(passes, "provision.oldcp")), null, null);
            row("provision: wall / old critical path", String.format("%.3f", oldRatio), "<= 0.80", oldRatio <= 0.80);
            row("provision: reads / writes / polls", n(med(passes, "provision.reads")) + " / " + n(med(passes, "provision.writes"))
                    + " / " + n(med(passes, "provision.polls")), null, null);
            double rr = med(passes, "rerun.reads"), rw = med(passes, "rerun.writes");
            row("re-run (up to date): wall", s(med(passes, "rerun.wall")), null, null);
            row("re-run: writes (incl. polls)", n(rw), "0", rw == 0);
            int readLimit = (int) res + READ_CONSTANT;
            row("re-run: reads (" + n(res) + " resources)", n(rr), "<= " + readLimit + " (1/resource + " + READ_CONSTANT + ")", rr <= readLimit);
            row("teardown: wall", s(med(passes, "teardown.wall")), null, null);
            row("teardown: requests (reads / writes / polls)", n(med(passes, "teardown.requests")) + " (" + n(med(passes, "teardown.reads"))
                    + " / " + n(med(passes, "teardown.writes")) + " / " + n(med(passes, "teardown.polls")) + ")", null, null);
            row("services deploy: objects applied", n(med(passes, "services.applied")), null, null);
            row("services deploy: requests (Kube + ARM)", n(med(passes, "services.requests")), null, null);
            row("services deploy: wall", s(med(passes, "services.wall")), null, null);
            Waste worst = null;
            boolean within = true;
            for (Pass p : passes) {
                for (Waste w : p.waste) {
                    if (worst == null || w.wasteMs() > worst.wasteMs()) worst = w;
                    if (w.wasteMs() > w.boundMs()) within = false;
                }
            }
            int ops = passes.isEmpty() ? 0 : passes.get(0).waste.size();
            row("poll waste: max over " + ops + " operations x " + runs, worst == null ? "-"
                    : s(worst.wasteMs() / 1000.0) + " (" + worst.what() + ")", "<= max(1 s, 10 % of op)", within);
        }
        if (start) {
            System.err.println("start-up: median of " + startupRuns + " after 1 warm-up, round-robin, through ./jbang, no sign-in material ...");
            String load0 = loadAverage();
            Map<String, Double> m = startup(root, work, startupRuns);
            System.out.println("Load average (1 min) before / after the start-up timings: " + load0 + " / " + loadAverage()
                    + " on " + Runtime.getRuntime().availableProcessors() + " cores");
            for (Startup st : STARTUPS) {
                double v = m.get(st.label());
                row("start-up: " + st.label(), s(v), "<= " + st.limitSeconds() + " s", v <= st.limitSeconds());
            }
        }
        System.out.println();
        printTable(System.out);
        System.out.printf("%nBenchmark took %.0f s. %s%n", (System.nanoTime() - t0) / 1e9, allMet ? "All targets met." : "Some target MISSED.");
        return allMet ? 0 : 1;
    }

    static final int READ_CONSTANT = 5;

    static void warmUp(Path work) throws Exception {
        Path home = Files.createTempDirectory(work, "warm");
        AzureFake fake = new AzureFake();
        AzureLogin.Transport t = ScriptRun.signedIn(fake);
        AzureLogin.Host host = new AzureLogin.Host(Map.of(), home);
        check("warm-up provision", exec(provision::run, host, t, "--prefix", "warm", "--yes"));
        check("warm-up re-run", exec(provision::run, host, t, "--prefix", "warm", "--yes"));
        check("warm-up teardown", exec(teardown::run, host, t, "--prefix", "warm", "--yes"));
        servicesDeploy(work, new Pass());
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (Exception e) {
            return "?";
        }
    }

    static String s(double seconds) { return String.format("%.2f s", seconds); }

    static String n(double v) { return v == Math.rint(v) ? Long.toString((long) v) : String.format("%.1f", v); }

    /** The repository root: where ./jbang and provision.java are (the current directory or above it). */
    static Path locateRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("provision.java")) && Files.isRegularFile(p.resolve("jbang"))) return p;
        }
        throw new IllegalStateException("run from the repository (./jbang tests/bench/Bench.java): provision.java not found");
    }

    static void deleteTree(Path p) {
        try (var s = Files.walk(p)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(x -> x.toFile().delete());
        } catch (Exception ignored) {
            // temp files
        }
    }
}
