#!/usr/bin/env python3
"""Writes the merged tree of a docker-archive (argv[1]) into DIR (argv[2])
with python's tarfile and the OCI whiteout rules (.wh.NAME deletes,
.wh..wh..opq empties a directory of the lower layers' entries), for
tests/pkggraph.py where no reference rootfs was kept (tests/report.sh on
pyapp).  Regular files keep their size and hard links, but only the
package databases and metadata pkggraph.py reads (and the image's own
`packaging`, which it may import) get their bytes: the rest are sparse, so
the tree of a 900 MB image takes a few MB of disk.  None of it is imgfs."""
import json
import os
import posixpath
import shutil
import sys
import tarfile

image, out = sys.argv[1], sys.argv[2]
CONTENT = ("var/lib/dpkg/", "var/lib/apt/")


def wanted(rel):
    return rel.startswith(CONTENT) or ".dist-info/" in rel or ".egg-info/" in rel or \
        "/site-packages/packaging/" in rel


def rel(name):
    p = posixpath.normpath("/" + name).lstrip("/")
    return p if p not in ("", ".") else None


def remove(path):
    if os.path.islink(path) or (os.path.exists(path) and not os.path.isdir(path)):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def safe(path):
    """PATH's parents are real directories inside OUT (no symlink on the
    way: a layer writing through one would land elsewhere)."""
    d = os.path.dirname(path)
    while len(d) > len(out):
        if os.path.islink(d):
            return False
        d = os.path.dirname(d)
    return True


shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
outer = tarfile.open(image)
manifest = json.load(outer.extractfile("manifest.json"))[0]
for layer in manifest["Layers"]:
    t = tarfile.open(fileobj=outer.extractfile(layer))
    entries = t.getmembers()
    for e in entries:  # the lower layers' entries first, whatever the order
        r = rel(e.name)
        if not r:
            continue
        base, parent = posixpath.basename(r), posixpath.dirname(r)
        if base == ".wh..wh..opq":
            d = os.path.join(out, parent)
            if os.path.isdir(d) and not os.path.islink(d):
                for c in os.listdir(d):
                    remove(os.path.join(d, c))
        elif base.startswith(".wh."):
            remove(os.path.join(out, parent, base[4:]))
    for e in entries:
        r = rel(e.name)
        if not r or posixpath.basename(r).startswith(".wh."):
            continue
        path = os.path.join(out, r)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not safe(path):
            continue
        if e.isdir():
            if os.path.lexists(path) and not os.path.isdir(path):
                remove(path)
            os.makedirs(path, exist_ok=True)
            continue
        remove(path)
        if e.isreg():
            with open(path, "wb") as f:
                if wanted(r):
                    shutil.copyfileobj(t.extractfile(e), f)
                else:
                    f.truncate(e.size)
        elif e.issym():
            os.symlink(e.linkname, path)
        elif e.islnk():
            target = rel(e.linkname)
            if target and os.path.isfile(os.path.join(out, target)):
                os.link(os.path.join(out, target), path)
