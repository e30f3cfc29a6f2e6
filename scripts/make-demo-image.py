#!/usr/bin/env python3
"""Writes the small, realistic-looking image that scripts/demo mounts: a
Debian-like base with /usr/bin tools and apt lists left behind, a layer of
Python packages with __pycache__ and tests/ directories, a 12 MB model
downloaded in one layer and deleted in the next (still shipped, invisible).

Usage: make-demo-image.py OUT.tar   (a docker-archive, tag demo/pyapp:latest)
"""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
from mkimage import Layer, docker_members, write_members  # noqa: E402

T = 1717000000


def blob(rnd, n):
    return rnd.randbytes(n)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-demo-image.py OUT.tar")
    rnd = random.Random(7)

    base = (Layer("/bin/sh -c #(nop) ADD file:debian-rootfs.tar in / ")
            .symlink("bin", "usr/bin", mtime=T).dir("etc", mtime=T)
            .file("etc/os-release", 'PRETTY_NAME="Demo GNU/Linux 12"\nID=demo\n', mtime=T)
            .dir("usr", mtime=T).dir("usr/bin", mtime=T)
            .dir("usr/lib", mtime=T).dir("usr/lib/x86_64-linux-gnu", mtime=T)
            .dir("var", mtime=T).dir("var/lib", mtime=T).dir("var/lib/apt", mtime=T)
            .dir("var/lib/apt/lists", mtime=T).dir("tmp", mode=0o1777, mtime=T)
            .dir("root", mode=0o700, mtime=T))
    for name, size in (("bash", 1265648), ("ls", 151344), ("cat", 44016), ("tar", 531864),
                       ("python3.11", 2000000)):
        base.file("usr/bin/" + name, blob(rnd, size), mode=0o755, mtime=T)
    base.hardlink("usr/bin/python3", "usr/bin/python3.11", mode=0o755, mtime=T)
    base.file("usr/lib/x86_64-linux-gnu/libc.so.6", blob(rnd, 1922136), mode=0o755, mtime=T)
    for name, size in (("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", 2400000),
                       ("deb.debian.org_debian_dists_bookworm_InRelease", 151000),
                       ("security.debian.org_dists_bookworm-security_main_binary-amd64_Packages",
                        310000)):
        base.file("var/lib/apt/lists/" + name, blob(rnd, size), mtime=T)

    sp = "usr/lib/python3/site-packages"
    pip = (Layer("RUN pip install requests numpy pytest")
           .dir("usr", mtime=T + 100).dir("usr/lib", mtime=T + 100)
           .dir("usr/lib/python3", mtime=T + 100).dir(sp, mtime=T + 100))
    for pkg, mods, so in (("requests", ["__init__", "api", "sessions", "models", "adapters"], 0),
                          ("numpy", ["__init__", "linalg", "fft", "random"], 3500000),
                          ("pytest", ["__init__", "main", "fixtures"], 0),
                          ("urllib3", ["__init__", "poolmanager", "response"], 0)):
        pip.dir(f"{sp}/{pkg}", mtime=T + 100).dir(f"{sp}/{pkg}/__pycache__", mtime=T + 100)
        for m in mods:
            pip.file(f"{sp}/{pkg}/{m}.py", blob(rnd, rnd.randint(2000, 40000)), mtime=T + 100)
            pip.file(f"{sp}/{pkg}/__pycache__/{m}.cpython-311.pyc",
                     blob(rnd, rnd.randint(1500, 30000)), mtime=T + 100)
        if so:
            pip.file(f"{sp}/{pkg}/_core.cpython-311-x86_64-linux-gnu.so", blob(rnd, so),
                     mode=0o755, mtime=T + 100)
        pip.dir(f"{sp}/{pkg}/tests", mtime=T + 100)
        for i in range(3):
            pip.file(f"{sp}/{pkg}/tests/test_{i}.py", blob(rnd, rnd.randint(1000, 20000)),
                     mtime=T + 100)

    model = (Layer("RUN curl -o /opt/model/weights.bin https://example.com/weights.bin")
             .dir("opt", mtime=T + 200).dir("opt/model", mtime=T + 200)
             .file("opt/model/weights.bin", blob(rnd, 12 * 1024 * 1024), mtime=T + 200)
             .file("opt/model/config.json", '{"layers": 12}\n', mtime=T + 200))
    cleanup = (Layer("RUN rm /opt/model/weights.bin  # too late: still in the layer below")
               .dir("opt", mtime=T + 300).dir("opt/model", mtime=T + 300)
               .whiteout("opt/model/weights.bin", mtime=T + 300))
    app = (Layer("COPY app /app").dir("app", mtime=T + 400)
           .file("app/main.py", "import requests\nprint('hello')\n", mtime=T + 400))

    write_members(sys.argv[1], docker_members(
        [(["demo/pyapp:latest"], [base, pip, model, cleanup, app])]))


if __name__ == "__main__":
    main()
