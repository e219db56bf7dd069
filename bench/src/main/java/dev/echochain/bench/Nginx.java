package dev.echochain.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import dev.echochain.devworkload.SvidFiles;

/**
 * nginx as the OpenSSL reference for handshakes: one process (no master), on loopback, serving HTTP/2 over TLS 1.3
 * with echo-server's certificate and key, P-256, client certificates required from the trust bundle, and no
 * session resumption.
 */
final class Nginx {

    private Nginx() {
    }

    static Proc start(Path dir, SvidFiles pem, int port, String cpus, Path logs) throws IOException {
        Files.createDirectories(dir);
        String conf = """
                daemon off;
                master_process off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/error.log warn;
                events { worker_connections 4096; }
                http {
                    access_log off;
                    client_body_temp_path %1$s/body;
                    proxy_temp_path %1$s/proxy;
                    fastcgi_temp_path %1$s/fastcgi;
                    uwsgi_temp_path %1$s/uwsgi;
                    scgi_temp_path %1$s/scgi;
                    server {
                        listen 127.0.0.1:%2$d ssl http2;
                        ssl_protocols TLSv1.3;
                        ssl_ecdh_curve prime256v1;
                        ssl_certificate %3$s;
                        ssl_certificate_key %4$s;
                        ssl_client_certificate %5$s;
                        ssl_verify_client on;
                        ssl_verify_depth 2;
                        ssl_session_cache off;
                        ssl_session_tickets off;
                        location / { return 200 "ok\\n"; }
                    }
                }
                """.formatted(dir, port, pem.svid(), pem.key(), pem.bundle());
        Path file = dir.resolve("nginx.conf");
        Files.writeString(file, conf);
        return Proc.start("nginx", cpus, List.of(nginx(), "-p", dir.toString(), "-c", file.toString(),
                "-e", dir.resolve("error.log").toString()), Map.of(), logs);
    }

    static String nginx() {
        for (String candidate : List.of("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        return "nginx";
    }

    static boolean available() {
        return Files.isExecutable(Path.of(nginx()));
    }
}
