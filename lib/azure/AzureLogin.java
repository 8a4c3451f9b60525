package azure;

import com.azure.core.credential.TokenCredential;
import com.azure.core.credential.TokenRequestContext;
import com.azure.core.http.HttpClient;
import com.azure.core.http.HttpPipeline;
import com.azure.core.http.HttpPipelineBuilder;
import com.azure.core.http.policy.BearerTokenAuthenticationPolicy;
import com.azure.core.http.policy.HttpPipelinePolicy;
import com.azure.core.http.policy.RequestIdPolicy;
import com.azure.core.http.policy.RetryPolicy;
import com.azure.core.http.policy.UserAgentPolicy;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import engine.Json;
import engine.Messages;
import engine.Network;
import engine.Version;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/** Signing in to Azure: which cloud, which credential, which subscription, who the caller is. */
public final class AzureLogin {
    private AzureLogin() {}

    /** What the process sees of its machine: environment variables and home directory. */
    public record Host(Map<String, String> env, Path home) {
        public static Host current() {
            return of(System.getenv(), System.getProperty("user.home"));
        }

        /**
         * Home is $HOME, as kubectl, the az CLI and Metaflow take it; Java's user.home (from the password database,
         * "?" for a user without an entry) only when HOME is unset or empty.
         */
        public static Host of(Map<String, String> env, String userHome) {
            String home = env.get("HOME");
            return new Host(env, Path.of(home == null || home.isBlank() ? userHome : home));
        }

        public String env(String name) {
            String v = env.get(name);
            return v == null || v.isBlank() ? null : v;
        }
    }

    /** How to reach Azure: an HTTP client (null for the SDK default) and a credential (null for the default chain). */
    public record Transport(HttpClient httpClient, TokenCredential credential, RequestLog log) {
        /** The given transport (null: the real one) with this request log. */
        public static Transport logged(Transport given, RequestLog log) {
            return given == null ? new Transport(null, null, log) : new Transport(given.httpClient(), given.credential(), log);
        }
    }

    /** A signed-in session against one subscription. */
    public record Session(Clouds.Cloud cloud, Arm arm, Arm graph, String subscriptionId, String subscriptionName,
                          String tenantId, String callerObjectId, String callerType, TokenCredential credential) {
        /** The signed-in principal, as the plan's role assignments need it. */
        public Desired.Caller caller() {
            return new Desired.Caller(subscriptionId, callerObjectId, callerType, tenantId);
        }

        public String where() {
            return "subscription " + subscriptionName + " (" + subscriptionId + ")";
        }
    }

    /** Raised when sign-in or subscription choice fails; the message says what to do. */
    public static final class LoginException extends RuntimeException {
        public final String hint;

        public LoginException(String message, String hint) {
            super(message);
            this.hint = hint;
        }
    }

    public static final String ARM_ENDPOINT_ENV = "METAFLOW_AZURE_ARM_ENDPOINT";

    /**
     * Whether anything a credential chain could use is present. Decided from the environment and files alone,
     * so a machine with no sign-in never sends a request (the managed-identity probe of 169.254.169.254 included).
     */
    public static boolean hasSignInMaterial(Host host) {
        boolean envCredential = host.env("AZURE_CLIENT_ID") != null && (host.env("AZURE_CLIENT_SECRET") != null
                || host.env("AZURE_CLIENT_CERTIFICATE_PATH") != null || host.env("AZURE_FEDERATED_TOKEN_FILE") != null
                || host.env("AZURE_USERNAME") != null);
        boolean managedIdentity = host.env("IDENTITY_ENDPOINT") != null || host.env("MSI_ENDPOINT") != null;
        Path azure = host.env("AZURE_CONFIG_DIR") != null ? Path.of(host.env("AZURE_CONFIG_DIR")) : host.home().resolve(".azure");
        boolean azCli = Files.exists(azure.resolve("msal_token_cache.json")) || Files.exists(azure.resolve("msal_token_cache.bin"))
                || Files.exists(azure.resolve("accessTokens.json"));
        return envCredential || managedIdentity || azCli;
    }

    /** Whether there is anything to sign in with: a credential handed over, or sign-in material on this machine. */
    public static boolean canSignIn(Host host, Transport transport) {
        return transport != null && transport.credential() != null || hasSignInMaterial(host);
    }

    /** The cloud to talk to: --arm-endpoint (or its environment variable) wins over --cloud. */
    public static Clouds.Cloud chooseCloud(String cloudName, String armEndpoint, Host host) {
        String arm = armEndpoint != null ? armEndpoint : host.env(ARM_ENDPOINT_ENV);
        if (arm != null) {
            if (!arm.startsWith("https://")) {
                throw new Stack.InputException("--arm-endpoint", "'" + arm + "' must be an https:// URL", "https://management.local.azurestack.external");
            }
            return Clouds.customPlaceholder(arm);
        }
        return Clouds.named(cloudName == null ? "public" : cloudName);
    }

    /** Signs in and resolves the subscription. Network calls start here. */
    public static Session connect(Clouds.Cloud cloud, String subscriptionOption, Host host, Transport transport) {
        // Our own client, so that HTTPS_PROXY/NO_PROXY reach it from this environment (azure-core reads them only with java.net.useSystemProxies).
        HttpClient http = transport.httpClient() != null ? transport.httpClient()
                : HttpClient.createDefault(new com.azure.core.util.HttpClientOptions().setProxyOptions(Proxies.of(host.env()).azure()));
        if (cloud.custom()) {
            HttpPipeline anonymous = pipeline(http, null, null, transport.log());
            JsonNode metadata = new Arm(anonymous, cloud.armEndpoint()).getUrl(cloud.armEndpoint() + "/metadata/endpoints?api-version=2022-09-01");
            cloud = Clouds.fromMetadata(cloud.armEndpoint(), metadata);
        }
        TokenCredential credential = credential(cloud, host, transport.credential() != null ? transport : new Transport(http, null, transport.log()), null);
        String token;
        try {
            token = credential.getTokenSync(new TokenRequestContext().addScopes(cloud.armScope())).getToken();
        } catch (RuntimeException e) {
            Network.UnreachableException u = Network.unreachable(cloud.loginEndpoint(), e, ENDPOINTS_CHOSEN_BY + " (the sign-in endpoint comes with them)");
            if (u != null) throw u;
            throw new LoginException("could not sign in to Azure (" + cloud.name() + "): " + Messages.firstLine(e.getMessage()),
                    "Run 'az login' (or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET), then try again.");
        }
        JsonNode claims = claims(token);
        Arm arm = new Arm(pipeline(http, credential, cloud.armScope(), transport.log()), cloud.armEndpoint());
        Arm graph = cloud.graphEndpoint() == null || cloud.graphEndpoint().isEmpty() ? null
                : new Arm(pipeline(http, credential, cloud.graphScope(), transport.log()), cloud.graphEndpoint());
        String[] sub = chooseSubscription(arm, subscriptionOption, host);
        String callerType = "app".equals(claims.path("idtyp").asText()) || !claims.has("upn") && !claims.has("unique_name")
                && claims.has("appid") && !claims.has("scp") ? "ServicePrincipal" : "User";
        return new Session(cloud, arm, graph, sub[0], sub[1], claims.path("tid").asText(sub[2]),
                claims.path("oid").asText(null), callerType, credential);
    }

    /**
     * The credential every call signs in with: the one handed over, else Azure Identity's default chain (environment,
     * workload identity, managed identity, Azure CLI, azd, ...) for this cloud, in tenant (or AZURE_TENANT_ID) when given.
     */
    public static TokenCredential credential(Clouds.Cloud cloud, Host host, Transport transport, String tenant) {
        if (transport != null && transport.credential() != null) return transport.credential();
        var builder = new DefaultAzureCredentialBuilder().authorityHost(cloud.loginEndpoint());
        if (cloud.custom()) builder.disableInstanceDiscovery();
        String t = tenant != null ? tenant : host.env("AZURE_TENANT_ID");
        if (t != null) builder.tenantId(t);
        // The same (proxy-aware) HTTP client as every other call, when there is one.
        if (transport != null && transport.httpClient() != null) builder.httpClient(transport.httpClient());
        return builder.build();
    }

    /** --subscription, else AZURE_SUBSCRIPTION_ID, else the az CLI's default, else the only one visible. */
    static String[] chooseSubscription(Arm arm, String option, Host host) {
        JsonNode list = arm.getUrl(arm.endpoint() + "/subscriptions?api-version=2022-12-01").path("value");
        String wanted = option != null ? option : host.env("AZURE_SUBSCRIPTION_ID");
        String source = option != null ? "--subscription" : "AZURE_SUBSCRIPTION_ID";
        if (wanted == null) {
            wanted = azCliDefaultSubscription(host);
            source = "the az CLI default subscription";
        }
        if (wanted != null) {
            for (JsonNode s : list) {
                if (s.path("subscriptionId").asText().equalsIgnoreCase(wanted) || s.path("displayName").asText().equals(wanted)) {
                    return new String[] {s.path("subscriptionId").asText(), s.path("displayName").asText(), s.path("tenantId").asText()};
                }
            }
            throw new LoginException("subscription '" + wanted + "' (from " + source + ") is not visible to this sign-in; visible: "
                    + describe(list), "Pass --subscription with one of the visible subscriptions, or sign in as an account that can see it.");
        }
        if (list.size() == 1) {
            JsonNode s = list.get(0);
            return new String[] {s.path("subscriptionId").asText(), s.path("displayName").asText(), s.path("tenantId").asText()};
        }
        if (list.isEmpty()) {
            throw new LoginException("this sign-in sees no subscription", "Sign in with an account that has access to a subscription ('az login').");
        }
        throw new LoginException("several subscriptions are visible: " + describe(list),
                "Choose one with --subscription <id or name> (or set AZURE_SUBSCRIPTION_ID).");
    }

    private static String describe(JsonNode list) {
        List<String> out = new ArrayList<>();
        for (JsonNode s : list) out.add(s.path("displayName").asText() + " (" + s.path("subscriptionId").asText() + ")");
        return out.isEmpty() ? "none" : String.join(", ", out);
    }

    static String azCliDefaultSubscription(Host host) {
        Path dir = host.env("AZURE_CONFIG_DIR") != null ? Path.of(host.env("AZURE_CONFIG_DIR")) : host.home().resolve(".azure");
        Path profile = dir.resolve("azureProfile.json");
        if (!Files.exists(profile)) return null;
        try {
            String text = Files.readString(profile, StandardCharsets.UTF_8).replace("\uFEFF", "");
            for (JsonNode s : Json.parse(text).path("subscriptions")) {
                if (s.path("isDefault").asBoolean(false)) return s.path("id").asText();
            }
        } catch (Exception e) {
            return null;
        }
        return null;
    }

    /** Where a user chooses the Azure endpoints, for the advice when one cannot be reached. */
    static final String ENDPOINTS_CHOSEN_BY = "--arm-endpoint (or --cloud), which choose the Azure endpoints";

    /** Outermost (after the retries gave up): a request that got no answer becomes one naming its endpoint and the cause. */
    static final HttpPipelinePolicy UNREACHABLE = new HttpPipelinePolicy() {
        @Override public com.azure.core.http.HttpResponse processSync(com.azure.core.http.HttpPipelineCallContext c,
                                                                     com.azure.core.http.HttpPipelineNextSyncPolicy next) {
            try {
                return next.processSync();
            } catch (RuntimeException e) {
                Network.UnreachableException u = Network.unreachable(c.getHttpRequest().getUrl().toString(), e, ENDPOINTS_CHOSEN_BY);
                throw u != null ? u : e;
            }
        }

        @Override public reactor.core.publisher.Mono<com.azure.core.http.HttpResponse> process(com.azure.core.http.HttpPipelineCallContext c,
                                                                                             com.azure.core.http.HttpPipelineNextPolicy next) {
            return next.process().onErrorMap(e -> {
                Network.UnreachableException u = Network.unreachable(c.getHttpRequest().getUrl().toString(), e, ENDPOINTS_CHOSEN_BY);
                return u != null ? u : e;
            });
        }
    };

    /** The standard pipeline: unreachable endpoints named, request id, user agent, retries honouring Retry-After, token, request log. */
    public static HttpPipeline pipeline(HttpClient http, TokenCredential credential, String scope, RequestLog log) {
        List<HttpPipelinePolicy> policies = new ArrayList<>();
        policies.add(UNREACHABLE);
        policies.add(new UserAgentPolicy("metaflow-azure-toolkit/" + Version.VERSION));
        policies.add(new RequestIdPolicy());
        policies.add(new RetryPolicy());
        if (credential != null) policies.add(new BearerTokenAuthenticationPolicy(credential, scope));
        if (log != null) policies.add(log);
        return new HttpPipelineBuilder().httpClient(http).policies(policies.toArray(new HttpPipelinePolicy[0])).build();
    }

    static JsonNode claims(String jwt) {
        String[] parts = jwt.split("\\.");
        if (parts.length < 2) return Json.obj();
        try {
            return Json.parse(new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            return Json.obj();
        }
    }
}
