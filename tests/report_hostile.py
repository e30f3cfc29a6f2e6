#!/usr/bin/env python3
"""Writes hostile.docker.tar into the directory given: a docker-archive
whose names try to break out of the report's HTML and XML: a file named
like the end of a script element followed by markup, one with markup
characters, a control character and bytes that are not UTF-8, each big
enough to be drawn.  report.sh checks that the page still refers to
nothing outside it, its script still runs, and the SVG still parses."""
import hashlib
import io
import json
import os
import sys
import tarfile

NAMES = [
    "evil/</script><img src=x onerror=alert(1)>.txt",
    "evil/&amp;<b>\"quoted\"</b>'.txt",
    "evil/ctl\x01\x1b[31m.txt",
    "evil/\udcff\udcfe-not-utf8.bin",
    "plain/ok.txt",
]


def main():
    out = sys.argv[1]
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as t:
        for i, n in enumerate(NAMES):
            ti = tarfile.TarInfo(n)
            ti.size = 1000 * (i + 1)
            t.addfile(ti, io.BytesIO(b"x" * ti.size))
    layer = b.getvalue()
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers",
                                 "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
                      "history": [{"created_by": "names </script><!-- & \"quotes\""}]}).encode()
    man = json.dumps([{"Config": "config.json", "RepoTags": ["hostile:1"],
                       "Layers": ["layer.tar"]}]).encode()
    with tarfile.open(os.path.join(out, "hostile.docker.tar"), "w") as t:
        for name, data in (("layer.tar", layer), ("config.json", cfg), ("manifest.json", man)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


main()
