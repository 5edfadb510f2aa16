"""A loopback HTTP(S) server for HTTPTests.

Prints its port on stdout, then serves until killed:
  POST /echo    -> 200, body = request body, headers X-Got-<name> for each request header
  GET  /slow    -> sleeps 5 s before answering
  GET  /big     -> 2 MiB body
  GET  /status/N -> status N with a small XML body
With --tls CERT KEY it speaks HTTPS with that (self-signed) certificate.
"""
import http.server
import ssl
import sys
import time


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        extra = [("X-Got-" + k, v) for k, v in self.headers.items()]
        self.reply(200, body, extra)

    def do_GET(self):
        if self.path == "/slow":
            time.sleep(5)
            self.reply(200, b"late")
        elif self.path == "/big":
            self.reply(200, b"x" * (2 << 20))
        elif self.path.startswith("/status/"):
            self.reply(int(self.path.rsplit("/", 1)[1]), b"<Error><Code>X</Code></Error>")
        else:
            self.reply(404, b"")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) == 4 and sys.argv[1] == "--tls":
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[2], sys.argv[3])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
