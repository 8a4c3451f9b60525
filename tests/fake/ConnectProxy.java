package fake;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A forward proxy on 127.0.0.1, as a corporate one behaves for its clients: CONNECT HOST:PORT opens a tunnel (answered
 * "200 Connection established", then bytes both ways; TLS stays end to end), and a request in absolute form
 * (GET http://host:port/path) is sent on to the host in origin form. It records the first line of each request it got.
 */
public final class ConnectProxy implements AutoCloseable {
    private final ServerSocket server;
    public final List<String> requests = new CopyOnWriteArrayList<>();

    public ConnectProxy() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "connect-proxy");
        t.setDaemon(true);
        t.start();
    }

    /** The proxy's URL, as HTTPS_PROXY would name it. */
    public String url() { return "http://127.0.0.1:" + server.getLocalPort(); }

    private void accept() {
        while (!server.isClosed()) {
            try {
                Socket client = server.accept();
                Thread t = new Thread(() -> serve(client), "connect-proxy-client");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(Socket client) {
        try (client) {
            InputStream in = client.getInputStream();
            String head = readHead(in);
            String first = head.substring(0, head.indexOf("\r\n"));
            requests.add(first);
            String[] parts = first.split(" ");
            if (parts[0].equals("CONNECT")) {
                String[] hp = parts[1].split(":");
                try (Socket upstream = new Socket(hp[0], Integer.parseInt(hp[1]))) {
                    client.getOutputStream().write("HTTP/1.1 200 Connection established\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    client.getOutputStream().flush();
                    pipe(client, upstream, in);
                } catch (IOException e) {
                    client.getOutputStream().write("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                return;
            }
            URI target = URI.create(parts[1]);
            String path = target.getRawPath() + (target.getRawQuery() == null ? "" : "?" + target.getRawQuery());
            String rest = head.substring(head.indexOf("\r\n") + 2).replaceAll("(?im)^(proxy-connection|connection):[^\r\n]*\r\n", "");
            try (Socket upstream = new Socket(target.getHost(), target.getPort() < 0 ? 80 : target.getPort())) {
                upstream.getOutputStream().write((parts[0] + " " + path + " " + parts[2] + "\r\nConnection: close\r\n" + rest)
                        .getBytes(StandardCharsets.ISO_8859_1));
                upstream.getOutputStream().flush();
                pipe(client, upstream, in);
            }
        } catch (IOException | RuntimeException e) {
            // the client went away
        }
    }

    /** Bytes both ways until either side closes. */
    private static void pipe(Socket client, Socket upstream, InputStream clientIn) throws IOException {
        OutputStream toUpstream = upstream.getOutputStream();
        Thread up = new Thread(() -> copy(clientIn, toUpstream), "connect-proxy-up");
        up.setDaemon(true);
        up.start();
        copy(upstream.getInputStream(), client.getOutputStream());
    }

    private static void copy(InputStream in, OutputStream out) {
        byte[] buf = new byte[8192];
        try {
            for (int n; (n = in.read(buf)) > 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException e) {
            // closed
        }
    }

    /** The request line and headers, up to the empty line. */
    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0) {
            b.write(c);
            byte[] a = b.toByteArray();
            int n = a.length;
            if (n >= 4 && a[n - 4] == '\r' && a[n - 3] == '\n' && a[n - 2] == '\r' && a[n - 1] == '\n') break;
        }
        return b.toString(StandardCharsets.ISO_8859_1);
    }

    @Override public void close() throws IOException { server.close(); }
}
