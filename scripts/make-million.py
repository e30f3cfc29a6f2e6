#!/usr/bin/env python3
"""Writes the million-file benchmark image for scripts/bench --million: a
docker-archive with one layer holding 1,000,000 regular files in 10,000
directories (100 per directory; one file in ten holds a few bytes, the rest
are empty, so the tar stays near 600 MB).

Usage: make-million.py OUT.tar   (Python standard library only)
"""

import hashlib
import io
import json
import os
import sys
import tarfile

DIRS, PER_DIR = 10000, 100
MTIME = 1700000000


def write_layer(path):
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for d in range(DIRS):
            di = tarfile.TarInfo("data/d%04d" % d)
            di.type, di.mode, di.mtime = tarfile.DIRTYPE, 0o755, MTIME
            tf.addfile(di)
            for f in range(PER_DIR):
                fi = tarfile.TarInfo("data/d%04d/f%02d" % (d, f))
                fi.mode, fi.mtime = 0o644, MTIME
                body = b""
                if f % 10 == 0:
                    body = (b"%d/%d\n" % (d, f)) * (1 + f // 10)
                fi.size = len(body)
                tf.addfile(fi, io.BytesIO(body))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    out = sys.argv[1]
    layer = out + ".layer"
    write_layer(layer)
    digest = sha256_file(layer)
    config = json.dumps({
        "architecture": "amd64", "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + digest]},
        "history": [{"created": "2023-11-14T00:00:00Z",
                     "created_by": "make-million.py: 1,000,000 files"}],
    }).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["imgfs-bench/million:latest"],
                            "Layers": [digest + "/layer.tar"]}]).encode()
    with tarfile.open(out, "w") as tf:
        def add_bytes(name, data):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mtime = len(data), MTIME
            tf.addfile(ti, io.BytesIO(data))
        tf.add(layer, arcname=digest + "/layer.tar")
        add_bytes(cfg_name, config)
        add_bytes("manifest.json", manifest)
    os.unlink(layer)


if __name__ == "__main__":
    main()
