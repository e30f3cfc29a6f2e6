#!/usr/bin/env python3
"""Seed corpora of the fast fuzz targets, from real images.

usage: seeds.py OUTDIR SOURCE...

SOURCE: image tarballs, OCI layout directories or folders holding them
(the fixtures, the tests' generated images).  Writes OUTDIR/fuzz_manifest
(the top-level JSON members of each image in the container format of
tests/fuzz/fuzz_manifest.c), OUTDIR/fuzz_tarhdr (the layer tars, bare tars
and small compressed ones) and OUTDIR/fuzz_path (entry names and link
targets of those layers, in the input format of tests/fuzz/fuzz_path.c), plus the inputs of tests/fuzz/regress/TARGET.
Reads with python's tarfile: an implementation independent of imgfs."""
import hashlib
import io
import os
import sys
import tarfile

SEED_MAX = 1 << 20        # libFuzzer mutates better below 1 MB
JSON_MAX = 256 << 10      # a member carried with its content
PATH_SEEDS_MAX = 2000     # names: plenty for the shapes that exist
SEP = b"\x1e"             # fuzz_manifest's record separator

out = sys.argv[1]
for t in ("fuzz_manifest", "fuzz_tarhdr", "fuzz_path"):
    os.makedirs(os.path.join(out, t), exist_ok=True)
n_path = 0


def put(target, data):
    name = hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def looks_json(b):
    s = b.lstrip()
    return s[:1] in (b"{", b"[") or s[:4] == b"null"


def as_tar(b):
    """The tarfile of B (any compression tarfile reads) or None."""
    try:
        t = tarfile.open(fileobj=io.BytesIO(b), mode="r:*")
        t.getmembers()
        return t
    except Exception:
        return None


def layer(b):
    """Seeds from one layer (or bare) tar B."""
    global n_path
    t = as_tar(b)
    if t is None:
        return
    if len(b) <= SEED_MAX:
        put("fuzz_tarhdr", b)
    for m in t.getmembers():
        if n_path >= PATH_SEEDS_MAX:
            break
        link = m.linkname.encode("utf-8", "surrogateescape") if m.linkname else b""
        name = m.name.encode("utf-8", "surrogateescape")
        # 0xff: the full-size buffer; bit 0 of byte 1: a hardlink
        put("fuzz_path", bytes([0xFF, 1 if m.islnk() else 0]) + name + b"\0" + link)
        n_path += 1


def image(members):
    """Seeds from one image given as {name: bytes}."""
    recs = []
    for name, b in sorted(members.items()):
        if looks_json(b) and len(b) <= JSON_MAX or name in ("oci-layout", "repositories"):
            recs.append(name.encode() + b"\n" + b)
        else:
            recs.append(name.encode() + b"\n")  # a layer: only its presence counts
            layer(b)
    if any(r.startswith((b"manifest.json\n", b"index.json\n", b"repositories\n")) for r in recs):
        put("fuzz_manifest", SEP.join(recs))
        # the same image asked for another platform and a tag
        put("fuzz_manifest", SEP.join(recs + [b"--platform\nlinux/arm64/v8"]))
        put("fuzz_manifest", SEP.join(recs + [b"--image\nlatest"]))
    else:
        layer_bytes = None
        for b in members.values():
            layer_bytes = b
        if layer_bytes is not None and len(members) == 1:
            layer(layer_bytes)


def from_tar(path):
    try:
        with open(path, "rb") as f:
            b = f.read()
    except OSError:
        return
    t = as_tar(b)
    if t is None:
        return
    members = {}
    for m in t.getmembers():
        name = os.path.normpath(m.name).lstrip("/")
        # a sparse member's holes would be read as zeros, slowly: a layer
        # never is one, nor anything larger than a seed
        if m.isfile() and m.sparse is None and m.size <= (16 << 20):
            members[name] = t.extractfile(m).read()
    if any(n in members for n in ("manifest.json", "index.json", "repositories")):
        image(members)
    else:
        layer(b)  # a bare rootfs / layer tar


def from_dir(path):
    members = {}
    for root, _, files in os.walk(path):
        for fn in files:
            p = os.path.join(root, fn)
            with open(p, "rb") as f:
                members[os.path.relpath(p, path)] = f.read()
    image(members)


def visit(path):
    if os.path.isfile(os.path.join(path, "oci-layout")):
        from_dir(path)
    elif os.path.isdir(path):
        for e in sorted(os.listdir(path)):
            visit(os.path.join(path, e))
    elif os.path.isfile(path) and os.path.getsize(path) <= (16 << 20) and \
            not path.endswith((".txt", ".md", ".sha256", ".tree", ".tsv", ".sh", ".py")):
        from_tar(path)


for s in sys.argv[2:]:
    visit(s)
# inputs that once failed, replayed first by every run (tests/fuzz/regress/
# TARGET/NAME: what each was is in tests/fuzz/regress/README)
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regress")
for t in ("fuzz_manifest", "fuzz_tarhdr", "fuzz_path"):
    d = os.path.join(here, t)
    for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, fn), "rb") as f:
            put(t, f.read())
for t in ("fuzz_manifest", "fuzz_tarhdr", "fuzz_path"):
    print(t, len(os.listdir(os.path.join(out, t))))
