#!/usr/bin/env python3
"""The reference figures tests/report.sh checks imgfs report against, by a
second implementation: python's tarfile over the image's layers merged here
with the OCI whiteout rules (.wh.NAME deletes, .wh..wh..opq empties a
directory of the lower layers' entries), never imgfs's own output.

  report_ref.py IMAGE  prints one JSON object:
    total:   bytes on the map: the merged tree's regular files, each inode
             once, plus the bytes of lower layers' files it hides
    merged, hidden: the two parts
    top:     {"/usr": [lo, hi], ...} each root entry's merged + hidden bytes
             at or under it: lo surely, hi at most (hard links spanning
             two entries count in either)
    kids:    {"/usr": {"/usr/lib": [lo, hi], ...}} the same one level down,
             for each top directory
    kinds:   {path: "d", "f" or "o"} of those entries (absent: hidden only)
    packages: the dpkg and pip packages of the merged tree, "manager:name"
    created_by: each layer's history step (the config's non-empty layers)
    patterns: {id: {"lo", "hi", "files_lo", "files_hi", "sure", "paths"}}
             the merged tree's bytes (files) each finding pattern matches,
             each inode once: lo of the inodes all of whose paths match,
             hi of those any path matches; sure: sizes of the "lo" inodes,
             largest first; paths: {path: size} of every matching path
    reshipped: {"bytes", "files", "layers": {layer: bytes}} the merged
             tree's files (size > 0) whose content equals a lower layer's
             copy hidden at the same path (sha256 of both)
"""

import hashlib
import io
import json
import posixpath
import re
import subprocess
import sys
import tarfile


def member(outer, name):
    return outer.extractfile(outer.getmember(name)).read()


def layer_tar(data):
    if data[:4] == b"\x28\xb5\x2f\xfd":  # zstd, which tarfile cannot read
        data = subprocess.run(["zstd", "-dc"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    return tarfile.open(fileobj=io.BytesIO(data))


def layers_of(path):
    """The image's layer blobs, base first, and its config."""
    outer = tarfile.open(path)
    names = set(outer.getnames())
    if "manifest.json" in names:
        m = json.loads(member(outer, "manifest.json"))[0]
        config = json.loads(member(outer, m["Config"]))
        return [member(outer, n) for n in m["Layers"]], config
    index = json.loads(member(outer, "index.json"))
    blob = lambda d: member(outer, "blobs/" + d.replace(":", "/"))
    m = json.loads(blob(index["manifests"][0]["digest"]))
    return [blob(l["digest"]) for l in m["layers"]], json.loads(blob(m["config"]["digest"]))


def norm(name):
    name = posixpath.normpath("/" + name)
    return "/" if name == "/" else name


def under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def merge(blobs):
    """{path: (kind, size, inode key, layer)} of the merged tree, and
    {inode key: (size, [paths])} of the lower layers' files it hides: each
    hidden inode once (a hard link still in the tree keeps it shown), at
    the paths it had, and {inode key: sha256} of the regular files."""
    tree, sizes, dropped, digests = {}, {}, {}, {}

    def drop(path, keep_layer=None):
        for p in [p for p in tree if under(p, path)]:
            kind, size, key, layer = tree[p]
            if keep_layer is not None and layer == keep_layer:
                continue
            if kind == "f":
                dropped.setdefault(key, []).append(p)
            del tree[p]

    for num, data in enumerate(blobs):
        t = layer_tar(data)
        entries = t.getmembers()
        # whiteouts apply to the lower layers only, whatever their order
        for e in entries:
            path = norm(e.name)
            base = posixpath.basename(path)
            parent = posixpath.dirname(path)
            if base == ".wh..wh..opq":
                for p in [p for p in tree if under(p, parent) and p != parent]:
                    drop(p, keep_layer=num)
            elif base.startswith(".wh."):
                drop(posixpath.join(parent, base[4:]), keep_layer=num)
        for e in entries:
            path = norm(e.name)
            if posixpath.basename(path).startswith(".wh.") or path == "/":
                continue
            old = tree.get(path)
            if e.isdir():
                if old and old[0] != "d":
                    drop(path)
                tree[path] = ("d", 0, None, num)
                continue
            if old:
                drop(path)  # a file or a directory replaced: hidden
            if e.islnk():
                target = norm(e.linkname)
                tk = tree.get(target)
                key = tk[2] if tk and tk[0] == "f" else (num, target)
                size = tk[1] if tk and tk[0] == "f" else 0
                tree[path] = ("f", size, key, num)
            elif e.isreg():
                tree[path] = ("f", e.size, (num, path), num)
                sizes[(num, path)] = e.size
                digests[(num, path)] = hashlib.sha256(t.extractfile(e).read()).hexdigest()
            else:
                tree[path] = ("o", 0, None, num)
            # parents a layer implies
            p = posixpath.dirname(path)
            while p != "/" and p not in tree:
                tree[p] = ("d", 0, None, num)
                p = posixpath.dirname(p)
    shown = {v[2] for v in tree.values() if v[0] == "f"}
    hidden = {k: (sizes.get(k, 0), paths) for k, paths in dropped.items()
              if k not in shown and sizes.get(k, 0)}
    return tree, hidden, digests


def figures(path):
    blobs, config = layers_of(path)
    tree, hidden, digests = merge(blobs)
    inodes = {}
    for p, (kind, size, key, _) in tree.items():
        if kind == "f":
            inodes.setdefault(key, [size, []])[1].append(p)
    merged = sum(s for s, _ in inodes.values())
    total_hidden = sum(s for s, _ in hidden.values())

    def top_of(p, depth):
        parts = p.strip("/").split("/")
        return "/" + "/".join(parts[:depth]) if len(parts) >= depth else None

    def split(depth, within):
        """{entry DEPTH deep under WITHIN: [bytes surely, bytes at most]}:
        an inode whose paths lie under two entries (or also outside
        WITHIN) counts in none for "surely", in each for "at most" (imgfs
        counts it where its walk meets it first)."""
        out = {}
        for group in (inodes.values(), hidden.values()):
            for size, paths in group:
                inside = [p for p in paths if under(p, within)]
                owners = sorted({top_of(p, depth) for p in inside} - {None})
                for i, o in enumerate(owners):
                    lo_hi = out.setdefault(o, [0, 0])
                    # sure only when no other path (outside WITHIN too) could be met first
                    if i == 0 and len(owners) == 1 and len(inside) == len(paths):
                        lo_hi[0] += size
                    lo_hi[1] += size
        return out

    top = split(1, "/")
    kids = {t: split(t.count("/") + 1, t) for t in top if tree.get(t, ("?",))[0] == "d"}
    kinds = {p: tree[p][0] for p in list(top) + [k for v in kids.values() for k in v]
             if p in tree}
    steps = [h.get("created_by", "") for h in config.get("history", [])
             if not h.get("empty_layer")]
    return {"total": merged + total_hidden, "merged": merged, "hidden": total_hidden,
            "top": top, "kids": kids, "kinds": kinds, "created_by": steps,
            "packages": packages(blobs, tree),
            "patterns": patterns(inodes), "reshipped": reshipped(tree, hidden, digests)}


# The findings' patterns, written apart from tools/report_findings.c (as
# regular expressions over the path, not component matching).
PATTERNS = {
    "pycache": re.compile(r"/__pycache__/|\.pyc$"),
    "caches": re.compile(r"^/(?:var/cache/apt|var/lib/apt/lists|root/\.cache)(?:/|$)"),
    "docs": re.compile(r"^/usr/share/(?:doc|man)(?:/|$)"),
    "tests": re.compile(r"/(?:site|dist)-packages/(?:[^/]+/)*tests?/"),
}


def patterns(inodes):
    out = {}
    for pid, rx in PATTERNS.items():
        f = out[pid] = {"lo": 0, "hi": 0, "files_lo": 0, "files_hi": 0, "sure": [], "paths": {}}
        for size, paths in inodes.values():
            hits = [p for p in paths if rx.search(p)]
            if not hits or not size:
                continue
            for p in hits:
                f["paths"][p] = size
            f["hi"] += size
            f["files_hi"] += 1
            if len(hits) == len(paths):
                f["lo"] += size
                f["files_lo"] += 1
                f["sure"].append(size)
        f["sure"].sort(reverse=True)
    return out


def reshipped(tree, hidden, digests):
    at = {}  # path -> [(layer, digest)] of the hidden copies there
    for key, (size, paths) in hidden.items():
        for p in paths:
            at.setdefault(p, []).append((key[0], digests.get(key)))
    out = {"bytes": 0, "files": 0, "layers": {}}
    for p, (kind, size, key, layer) in tree.items():
        if kind != "f" or not size or key not in digests:
            continue
        if any(l < layer and d == digests[key] for l, d in at.get(p, [])):
            out["bytes"] += size
            out["files"] += 1
            out["layers"][str(layer)] = out["layers"].get(str(layer), 0) + size
    return out


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def packages(blobs, tree):
    """The packages the merged tree holds, as manager:name: dpkg's from
    /var/lib/dpkg/status (installed ones), pip's from the names of its
    *.dist-info / *.egg-info directories (PEP 503 normalised)."""
    out = set()
    st = tree.get("/var/lib/dpkg/status")
    if st and st[0] == "f":
        t = layer_tar(blobs[st[2][0]])
        text = t.extractfile(next(m for m in t.getmembers() if norm(m.name) == st[2][1])).read()
        pkg = None
        for line in text.decode("utf-8", "replace").splitlines() + [""]:
            if line.startswith("Package: "):
                pkg = line[9:].strip()
            elif line.startswith("Status: ") and pkg and line.split()[-1] == "installed":
                out.add("dpkg:" + pkg)
            elif not line:
                pkg = None
    for p, v in tree.items():
        m = re.search(r"/(?:site|dist)-packages/([^/]+?)-[^/-]+\.(?:dist|egg)-info$", p)
        if m and v[0] == "d":
            out.add("pip:" + pep503(m.group(1)))
    return sorted(out)


if __name__ == "__main__":
    # \u escapes: a name that is not UTF-8 (a surrogate here) stays writable
    json.dump(figures(sys.argv[1]), sys.stdout, indent=1)
    print()
