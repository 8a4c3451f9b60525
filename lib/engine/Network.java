package engine;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import javax.net.ssl.SSLException;

/**
 * A request that got no answer at all (nothing listening, a name that does not resolve, a TLS handshake that failed):
 * the endpoint and the cause in words, so that the user reads what to check instead of a stack trace.
 */
public final class Network {
    private Network() {}

    /** An endpoint that could not be reached; the message names it and the cause. */
    public static final class UnreachableException extends RuntimeException {
        public final String endpoint;
        public final String todo;

        public UnreachableException(String endpoint, String cause, String todo, Throwable source) {
            super("cannot reach " + endpoint + ": " + cause, source);
            this.endpoint = endpoint;
            this.todo = todo;
        }
    }

    /** The cause in words when t (or a cause of it) is a failure to reach an endpoint; null otherwise. */
    public static String cause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage() == null ? "" : Messages.firstLine(c.getMessage());
            if (c instanceof UnknownHostException) return "the host name does not resolve (unknown host" + (m.isEmpty() ? "" : " " + m) + ")";
            if (c instanceof NoRouteToHostException) return "there is no route to the host";
            if (c instanceof HttpConnectTimeoutException || c instanceof SocketTimeoutException
                    || c.getClass().getSimpleName().equals("ConnectTimeoutException")) {
                return "the connection timed out (a firewall may drop it)";
            }
            if (c instanceof ConnectException) return "the connection was refused (nothing listens there, or a firewall rejects it)";
            if (c instanceof SSLException || c instanceof java.security.cert.CertificateException) {
                return "the TLS handshake failed (" + m + "); a proxy that inspects HTTPS needs its CA certificate in Java's trust store";
            }
        }
        return null;
    }

    /** The scheme, host and port of a URL, for messages. */
    public static String endpoint(String url) {
        try {
            URI u = URI.create(url);
            return u.getScheme() + "://" + u.getHost() + (u.getPort() < 0 ? "" : ":" + u.getPort());
        } catch (RuntimeException e) {
            return url;
        }
    }

    /** What to check for an endpoint that could not be reached; configuredBy names the option or file that chose it. */
    public static String todo(String configuredBy) {
        return "Check the network and the proxy variables (HTTPS_PROXY names the proxy when one is needed; NO_PROXY lists the hosts "
                + "reached without it), and " + configuredBy + "; then run the same command again.";
    }

    /** t as an UnreachableException for url when it is a failure to reach it; null otherwise. */
    public static UnreachableException unreachable(String url, Throwable t, String configuredBy) {
        if (t instanceof UnreachableException u) return u;
        String cause = cause(t);
        return cause == null ? null : new UnreachableException(endpoint(url), cause, todo(configuredBy), t);
    }
}
