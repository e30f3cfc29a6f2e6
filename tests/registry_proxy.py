#!/usr/bin/env python3
"""A registry in front of a registry, for tests/sources.sh: it asks for a
bearer token (the WWW-Authenticate challenge of the OCI distribution spec,
as Docker Hub and most registries do) that its /token endpoint gives for
basic credentials USER:PASS only, and forwards authorised requests to the
real registry UPSTREAM.  The repository "cut" is UPSTREAM's "multi" with
every blob cut in half after the headers promised it whole: a registry that
stops mid-layer.

usage: registry_proxy.py PORTFILE UPSTREAM USER:PASS
(listens on a free loopback port, written to PORTFILE once listening)
"""
import base64
import http.server
import os
import sys
import urllib.error
import urllib.request

PORTFILE, UPSTREAM, CREDS = sys.argv[1], sys.argv[2], sys.argv[3]
TOKEN = "tok-" + base64.b16encode(CREDS.encode()).decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        host = "127.0.0.1:%d" % self.server.server_address[1]
        if self.path.startswith("/token"):
            auth = self.headers.get("Authorization", "")
            if auth != "Basic " + base64.b64encode(CREDS.encode()).decode():
                return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}',
                                  [("Content-Type", "application/json")])
            return self.reply(200, ('{"token": "%s"}' % TOKEN).encode(), [("Content-Type", "application/json")])
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            repo = self.path[4:].split("/manifests/")[0].split("/blobs/")[0]
            challenge = 'Bearer realm="http://%s/token",service="proxy",scope="repository:%s:pull"' % (host, repo)
            return self.reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                              [("Content-Type", "application/json"), ("WWW-Authenticate", challenge)])
        cut = self.path.startswith("/v2/cut/")
        path = "/v2/multi/" + self.path[len("/v2/cut/"):] if cut else self.path
        req = urllib.request.Request(UPSTREAM + path, method=self.command)
        if self.headers.get("Accept"):
            req.add_header("Accept", self.headers["Accept"])
        try:
            with urllib.request.urlopen(req) as f:
                code, body, hdrs = f.status, f.read(), f.headers
        except urllib.error.HTTPError as e:
            code, body, hdrs = e.code, e.read(), e.headers
        keep = [(k, hdrs[k]) for k in ("Content-Type", "Docker-Content-Digest") if hdrs.get(k)]
        # layers only (the config is smaller than 1 KiB): a cut mid-layer
        if cut and "/blobs/" in path and code == 200 and self.command == "GET" and len(body) > 1024:
            self.send_response(200)
            for k, v in keep:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.command == "HEAD" and hdrs.get("Content-Length"):
            self.send_response(code)
            for k, v in keep:
                self.send_header(k, v)
            self.send_header("Content-Length", hdrs["Content-Length"])
            self.end_headers()
            return
        self.reply(code, body, keep)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
