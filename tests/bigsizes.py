#!/usr/bin/env python3
"""Writes two docker-archive images whose byte counts pass 2^32, small on
disk (the big files are all holes: GNU tar --sparse stores only their
maps), and the figures imgfs-audit and imgfs-compare must print for them.

Usage: bigsizes.py OUTDIR

  OUTDIR/big.docker.tar    layer 0: a 2.4 GB .pyc in __pycache__, a 2.2 GB
                           file in site-packages/pkg/tests, two static
                           libraries of 1.26 GB and 1.15 GB, a 3 GB file in
                           /usr/share/doc, a 2.5 GB file in /var/tmp;
                           layer 1 deletes the /var/tmp file (hidden bytes)
  OUTDIR/small.docker.tar  layer 0 of big.docker.tar without the bytecode,
                           the tests and the docs, and no layer 1
  OUTDIR/expected.tsv      tab-separated:
      total PATTERN BYTES      the pattern's bytes in the merged tree
      image NAME BYTES         merged size of image NAME
      hidden NAME BYTES        bytes hidden by later layers
      layers NAME BYTES COUNT  sum of the layer tars' sizes, number of layers
      any BYTES                files matched by any pattern
      file /PATH BYTES         a file of big.docker.tar

Every figure is summed here by Python (exact integers), from the sizes
this script chose; the layer sizes are the sizes of the tar files.
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

SP = "usr/lib/python3.11/site-packages"
# (path, size, pattern): the sizes are odd on purpose, so a figure rounded
# by a double or by "%.6g" cannot come out right by chance
FILES = [
    (SP + "/pkg/__pycache__/huge.cpython-311.pyc", 2411724800, "bytecode"),
    (SP + "/pkg/tests/data.bin", 2200000009, "tests"),
    ("usr/lib/x86_64-linux-gnu/libbig1.a", 1260000000, "static"),
    ("usr/lib/x86_64-linux-gnu/libbig2.a", 1150000003, "static"),
    ("usr/share/doc/big/blob.txt", 3000000001, "docs"),
    ("var/tmp/deleted.bin", 2500000007, None),
]
DELETED = "var/tmp/deleted.bin"
SMALL_DROPS = ("bytecode", "tests", "docs")
OS_RELEASE = b"ID=bigtest\n"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def layer_tar(work, name, files, whiteouts=()):
    """A layer tar of FILES (path, size) as holes, plus whiteouts."""
    root = os.path.join(work, name + ".root")
    subprocess.run(["rm", "-rf", root], check=True)
    os.makedirs(os.path.join(root, "etc"))
    for path, size in files:
        p = os.path.join(root, path)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.truncate(size)
    for path in whiteouts:
        d, b = os.path.split(path)
        os.makedirs(os.path.join(root, d), exist_ok=True)
        open(os.path.join(root, d, ".wh." + b), "wb").close()
    if name.endswith("0"):
        with open(os.path.join(root, "etc/os-release"), "wb") as f:
            f.write(OS_RELEASE)
    out = os.path.join(work, name + ".tar")
    subprocess.run(["tar", "--sparse", "--format=gnu", "--owner=0", "--group=0",
                    "--mtime=@1700000000", "--sort=name", "-cf", out, "-C", root, "."],
                   check=True)
    subprocess.run(["rm", "-rf", root], check=True)
    return out


def docker_archive(path, tag, layers):
    """A docker-archive of the layer tar files LAYERS (added by reference, not read)."""
    diff_ids = []
    for lt in layers:
        h = hashlib.sha256()
        with open(lt, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        diff_ids.append("sha256:" + h.hexdigest())
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Cmd": ["/bin/sh"]},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids},
                      "history": [{"created_by": "layer %d" % i} for i in range(len(layers))]
                      }).encode()
    names = ["%s/layer.tar" % d[7:] for d in diff_ids]
    manifest = json.dumps([{"Config": sha(cfg) + ".json", "RepoTags": [tag],
                            "Layers": names}]).encode()
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for lt, n in zip(layers, names):
            tf.add(lt, arcname=n)
        for n, data in ((sha(cfg) + ".json", cfg), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    exp = []
    big0 = layer_tar(out, "big0", [(p, s) for p, s, _ in FILES])
    big1 = layer_tar(out, "big1", [], whiteouts=[DELETED])
    small_files = [(p, s) for p, s, pat in FILES if pat not in SMALL_DROPS and p != DELETED]
    small0 = layer_tar(out, "small0", small_files)
    docker_archive(os.path.join(out, "big.docker.tar"), "bigtest/big:1", [big0, big1])
    docker_archive(os.path.join(out, "small.docker.tar"), "bigtest/small:1", [small0])

    for pat in ("bytecode", "tests", "static", "docs"):
        exp.append(("total", pat, sum(s for _, s, q in FILES if q == pat)))
    exp.append(("any", sum(s for _, s, q in FILES if q)))
    visible = [(p, s) for p, s, _ in FILES if p != DELETED]
    exp.append(("image", "big", sum(s for _, s in visible) + len(OS_RELEASE)))
    exp.append(("image", "small", sum(s for _, s in small_files) + len(OS_RELEASE)))
    exp.append(("hidden", "big", dict((p, s) for p, s, _ in FILES)[DELETED]))
    exp.append(("hidden", "small", 0))
    for name, tars in (("big", [big0, big1]), ("small", [small0])):
        exp.append(("layers", name, sum(os.path.getsize(t) for t in tars), len(tars)))
    for p, s, _ in FILES:
        if p != DELETED:
            exp.append(("file", "/" + p, s))
    for t in (big0, big1, small0):
        os.unlink(t)
    with open(os.path.join(out, "expected.tsv"), "w") as f:
        for row in exp:
            f.write("\t".join(str(x) for x in row) + "\n")


if __name__ == "__main__":
    main()
