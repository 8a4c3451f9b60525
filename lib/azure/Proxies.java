package azure;

import com.azure.core.http.ProxyOptions;
import com.azure.core.util.Configuration;
import com.azure.core.util.ConfigurationBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The standard proxy variables as curl and the Azure CLI read them: HTTPS_PROXY (or https_proxy) for https:// requests,
 * HTTP_PROXY for http://, NO_PROXY (comma-separated hosts or .domain suffixes, * for all) for those reached directly.
 * With NO_PROXY unset, loopback (localhost, 127.0.0.1, ::1) is reached directly, as Java's own http.nonProxyHosts
 * default has it; a NO_PROXY that is set is taken as it stands.
 */
public record Proxies(String https, String http, List<String> noProxy) {
    static final List<String> LOOPBACK = List.of("localhost", "127.0.0.1", "::1");

    public static Proxies of(Map<String, String> env) {
        String no = first(env, "NO_PROXY", "no_proxy");
        List<String> hosts = new ArrayList<>();
        if (no == null) hosts.addAll(LOOPBACK);
        else for (String h : no.split(",")) if (!h.isBlank()) hosts.add(h.trim());
        return new Proxies(first(env, "HTTPS_PROXY", "https_proxy"), first(env, "HTTP_PROXY", "http_proxy"), hosts);
    }

    private static String first(Map<String, String> env, String upper, String lower) {
        String v = env.get(upper);
        if (v == null || v.isBlank()) v = env.get(lower);
        return v == null || v.isBlank() ? null : v.trim();
    }

    /** Whether a host is reached without the proxy. */
    public boolean direct(String host) {
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        for (String n : noProxy) {
            if (n.equals("*")) return true;
            String d = n.startsWith("*.") ? n.substring(1) : n;
            if (h.equalsIgnoreCase(d) || d.startsWith(".") && h.toLowerCase().endsWith(d.toLowerCase())
                    || !d.startsWith(".") && h.toLowerCase().endsWith("." + d.toLowerCase())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The proxy for the Azure SDK's HTTP client (Resource Manager, Graph, sign-in), or null for none: azure-core's own
     * reading of these variables (ProxyOptions.fromConfiguration, which honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY only
     * when java.net.useSystemProxies is true), fed from this environment.
     */
    public ProxyOptions azure() {
        if (https == null && http == null) return null;
        Map<String, String> vars = new java.util.HashMap<>();
        if (https != null) vars.put("HTTPS_PROXY", https);
        if (http != null) vars.put("HTTP_PROXY", http);
        if (!noProxy.isEmpty()) vars.put("NO_PROXY", String.join(",", noProxy));
        Configuration c = new ConfigurationBuilder(s -> Map.of(), s -> Map.of("java.net.useSystemProxies", "true"), s -> vars).build();
        return ProxyOptions.fromConfiguration(c, true);
    }

    /** The proxy of a URL as HOST:PORT, or null when it is reached directly. */
    public InetSocketAddress forUrl(URI url) {
        if (url.getHost() == null || direct(url.getHost())) return null;
        String p = "https".equalsIgnoreCase(url.getScheme()) ? https : http;
        if (p == null) return null;
        URI proxy = URI.create(p.contains("://") ? p : "http://" + p);
        return InetSocketAddress.createUnresolved(proxy.getHost(), proxy.getPort() > 0 ? proxy.getPort() : 80);
    }

    /** A ProxySelector for the JDK's HTTP client (release downloads). */
    public ProxySelector selector() {
        return new ProxySelector() {
            @Override public List<Proxy> select(URI uri) {
                InetSocketAddress a = forUrl(uri);
                return List.of(a == null ? Proxy.NO_PROXY : new Proxy(Proxy.Type.HTTP, a));
            }

            @Override public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {}
        };
    }
}
