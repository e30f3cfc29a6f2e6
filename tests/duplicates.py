#!/usr/bin/env python3
"""imgfs duplicates against a model written here (issue 15).

The image (a docker-archive written here, two layers): the same bytes at
two paths; a file and its hardlink (one inode: never a duplicate of
itself) whose content a second file repeats; a file layer 1 ships again
unchanged, as `chown -R` does (the hidden copy in layer 0 and the new one
are duplicates); a file of the same size but other bytes (read, not a
duplicate); a small duplicate below --min-size.  The model applies the
layers in Python (later paths hide earlier ones, a hardlink is its
target's inode), groups the inodes by content and computes each group's
paths, layers, hidden flags and saving; imgfs's JSON must equal it.  A
second run reads nothing (the sums are kept beside the index); after the
index is rebuilt they are read again.

Environment (set by meson): IMGFS, BUILDDIR.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

BUILDDIR = os.environ.get("BUILDDIR", os.path.join(os.path.dirname(__file__), "..", "build", "tests"))
IMGFS = os.environ.get("IMGFS", os.path.join(os.path.dirname(__file__), "..", "build", "tools", "imgfs"))
passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
        print("ok   - " + msg)
    else:
        failed += 1
        print("FAIL - " + msg)


X = b"x" * 5000
Q = b"q" * 5000            # X's size, other bytes
Z = bytes(range(256)) * 12  # 3072 bytes
B = b"big!" * 2000
S = b"tiny"

# (path, content or ("link", target))
L0 = [("a/x", X), ("b/y", X), ("c/h1", Z), ("c/h2", ("link", "c/h1")), ("d/big", B),
      ("e/solo", b"only me"), ("g/q", Q), ("s/1", S), ("s/2", S)]
L1 = [("d/big", B), ("f/z", Z)]


def layer_tar(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        dirs = set()
        for path, data in entries:
            d = os.path.dirname(path)
            if d not in dirs:
                dirs.add(d)
                ti = tarfile.TarInfo(d)
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            ti = tarfile.TarInfo(path)
            ti.mtime = 1700000000
            if isinstance(data, tuple):
                ti.type = tarfile.LNKTYPE
                ti.linkname = data[1]
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def write_image(path):
    layers = [layer_tar(L0), layer_tar(L1)]
    ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": ids}}).encode()
    with tarfile.open(path, "w") as t:
        def add(n, data):
            ti = tarfile.TarInfo(n)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for i, l in enumerate(layers):
            add("l%d/layer.tar" % i, l)
        add("c.json", cfg)
        add("manifest.json", json.dumps([{"Config": "c.json", "RepoTags": None,
                                          "Layers": ["l0/layer.tar", "l1/layer.tar"]}]).encode())


def model(min_size):
    """{(size, sha256): sorted [(path, layer, hidden)]} of groups of 2+ inodes."""
    inodes = {}   # key -> content
    names = []    # (path, layer, inode key)
    merged = {}   # path -> index into names
    for n, entries in enumerate((L0, L1)):
        for path, data in entries:
            if isinstance(data, tuple):
                key = names[merged[data[1]]][2]
            else:
                key = (n, path)
                inodes[key] = data
            if path in merged:
                names[merged[path]] = names[merged[path]] + ("hidden",)
            names.append((path, n, key))
            merged[path] = len(names) - 1
    groups = {}
    for i, nm in enumerate(names):
        path, layer, key = nm[:3]
        hidden = len(nm) > 3
        data = inodes[key]
        if len(data) < min_size:
            continue
        shown = "/.imgfs/hidden/%d/%s" % (layer, path) if hidden else "/" + path
        groups.setdefault((len(data), hashlib.sha256(data).hexdigest()), {}).setdefault(key, []).append(
            (shown, layer, hidden))
    out = {}
    for g, by_ino in groups.items():
        if len(by_ino) > 1:
            out[g] = (len(by_ino), sorted(p for ps in by_ino.values() for p in ps))
    return out


def main():
    work = os.path.join(BUILDDIR, "duplicates")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    img = os.path.join(work, "dups.tar")
    write_image(img)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))

    def run(*args):
        r = subprocess.run([IMGFS, "duplicates", "--json"] + list(args) + [img], env=env,
                           capture_output=True, text=True)
        try:
            return r.returncode, json.loads(r.stdout), r.stderr
        except ValueError:
            return r.returncode, {}, r.stderr + r.stdout[:300]

    for min_size in (1, 100):
        args = ["--min-size", str(min_size)] if min_size > 1 else []
        rc, j, err = run(*args)
        check(rc == 0, "duplicates --json %s: exit %d %s" % (" ".join(args), rc, err.strip()))
        want = model(min_size)
        got = {}
        for g in j.get("groups", []):
            got[(g["size"], g["sha256"])] = (g["copies"], sorted((f["path"], f["layer"], f["hidden"])
                                                                 for f in g["files"]))
        check(got == want, "min size %d: %d groups equal the model's" % (min_size, len(want)))
        if got != want:
            print("    got  %s\n    want %s" % (sorted(got.items()), sorted(want.items())))
        saving = sum(size * (c - 1) for (size, _), (c, _) in want.items())
        t = j.get("totals", {})
        check(t.get("saving") == saving and t.get("groups") == len(want),
              "min size %d: saving %d bytes over %d groups (got %s, %s)" % (
                  min_size, saving, len(want), t.get("saving"), t.get("groups")))
    # imgfs check: the files a layer re-ships unchanged over their hidden
    # copy at the same path, per layer (the model: d/big in layer 1)
    want = {}
    for (size, _), (_, ps) in model(1).items():
        hidden = {p.split("/", 4)[4]: l for p, l, h in ps if h}
        for p, l, h in ps:
            if not h and p[1:] in hidden and hidden[p[1:]] < l:
                b, n = want.get(l, (0, 0))
                want[l] = (b + size, n + 1)
    r = subprocess.run([IMGFS, "check", "--json", img], env=env, capture_output=True, text=True)
    try:
        cj = json.loads(r.stdout)
        got = {x["layer"]: (x["bytes"], x["files"]) for x in cj["reshipped"]}
    except (ValueError, KeyError) as e:
        cj, got = {}, str(e)
    check(got == want and want and cj.get("reshippedBytes") == sum(b for b, _ in want.values()),
          "check --json: re-shipped unchanged per layer %s (got %s)" % (want, got))
    check(any(os.path.basename(p) == "big" for (_, (_, ps)) in model(1).items() for p, _, _ in ps)
          and any(h for (_, (_, ps)) in model(1).items() for _, _, h in ps),
          "the model holds a re-shipped file with its hidden copy")
    rc, j, err = run()
    check(rc == 0 and j.get("totals", {}).get("hashed_files") == 0,
          "a second run reads no file: the sums are kept (hashed_files %s)" % j.get("totals", {}).get("hashed_files"))
    # the image changes: a new index, new inode numbers, the kept sums
    # belong to the old one (another seal) and must not be used
    # (g/q keeps its inode number and size, with X's bytes now: a stale
    # sum would keep it out of X's group)
    L0[L0.index(("g/q", Q))] = ("g/q", X)
    write_image(img)
    rc, j, err = run()
    got = {(g["size"], g["sha256"]): (g["copies"], sorted((f["path"], f["layer"], f["hidden"])
                                                          for f in g["files"])) for g in j.get("groups", [])}
    check(rc == 0 and got == model(1) and j.get("totals", {}).get("hashed_files", 0) > 0,
          "the image changed: its new index's groups equal the model's, read again (hashed_files %s)" %
          j.get("totals", {}).get("hashed_files"))
    r = subprocess.run([IMGFS, "duplicates", "--min-size", "lots", img], env=env, capture_output=True, text=True)
    check(r.returncode == 2 and r.stderr.count("\n") == 1, "--min-size lots: one line, exit 2")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
