#!/usr/bin/env python3
"""imgfs layers over several images: the layers they share (issue 17).

Images: the tiny fixture as docker-archive and as OCI archive (the same
layers: diff_ids equal, one stored plain, one gzip), and two
docker-archives written here that share their base layer and differ in
the top one.  The expected values are computed here from the archives'
own documents: each config's rootfs.diff_ids, each layer blob's
uncompressed length (python's tarfile and gzip), and from those the
shared_with lists, the unique and shared bytes per image and the
distinct layers of all; then compared with `imgfs layers --json` and the
text table's SHARED column and summary lines.

Environment (set by meson): IMGFS, SRCDIR, BUILDDIR.  FIXTURES_DIR
replaces ../shared/fixtures.  Exit 77 when the fixtures are missing (a
failure under CI, which has them).
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
BUILDDIR = os.environ.get("BUILDDIR", os.path.join(SRCDIR, "build", "tests"))
IMGFS = os.environ.get("IMGFS", os.path.join(SRCDIR, "build", "tools", "imgfs"))
FIX = os.environ.get("FIXTURES_DIR", os.path.join(SRCDIR, "..", "shared", "fixtures"))

passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
        print("ok   - " + msg)
    else:
        failed += 1
        print("FAIL - " + msg)


def layer_tar(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()


def docker_archive(path, layers):
    diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    man = [{"Config": cid + ".json", "RepoTags": None,
            "Layers": ["%s/layer.tar" % hashlib.sha256(l).hexdigest() for l in layers]}]
    with tarfile.open(path, "w") as t:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for l in layers:
            add("%s/layer.tar" % hashlib.sha256(l).hexdigest(), l)
        add(cid + ".json", cfg)
        add("manifest.json", json.dumps(man).encode())


def layers_of(path):
    """[(diff_id, uncompressed size)] from the archive's own documents."""
    with tarfile.open(path) as t:
        names = t.getnames()

        def read(n):
            return t.extractfile(n).read()
        if "manifest.json" in names:
            m = json.loads(read("manifest.json"))[0]
            cfg, blobs = m["Config"], m["Layers"]
        else:
            idx = json.loads(read("index.json"))
            d = idx["manifests"][0]["digest"].split(":")[1]
            man = json.loads(read("blobs/sha256/" + d))
            cfg = "blobs/sha256/" + man["config"]["digest"].split(":")[1]
            blobs = ["blobs/sha256/" + l["digest"].split(":")[1] for l in man["layers"]]
        ids = json.loads(read(cfg))["rootfs"]["diff_ids"]
        out = []
        for i, b in zip(ids, blobs):
            data = read(b)
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            out.append((i, len(data)))
        return out


def main():
    tiny = os.path.join(FIX, "made")
    if not os.path.isfile(os.path.join(tiny, "tiny.docker.tar")):
        print("SKIP: %s/tiny.docker.tar missing" % tiny)
        return 77
    work = os.path.join(BUILDDIR, "layers-shared")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    base = layer_tar([("etc/os-release", b"ID=test\n" * 50)])
    docker_archive(os.path.join(work, "api.tar"), [base, layer_tar([("app/api.py", b"api" * 999)])])
    docker_archive(os.path.join(work, "web.tar"), [base, layer_tar([("app/web.js", b"web" * 333)])])
    images = [os.path.join(tiny, "tiny.docker.tar"), os.path.join(tiny, "tiny.oci.tar"),
              os.path.join(work, "api.tar"), os.path.join(work, "web.tar")]
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))

    # the model
    lay = [layers_of(p) for p in images]
    want_shared, want_unique, want_shared_b = [], [], []
    for i, ls in enumerate(lay):
        sw = [[j for j in range(len(lay)) if j != i and d in [x for x, _ in lay[j]]] for d, _ in ls]
        want_shared.append(sw)
        want_unique.append(sum(s for (_, s), w in zip(ls, sw) if not w))
        want_shared_b.append(sum(s for (_, s), w in zip(ls, sw) if w))
    seen, dist = set(), 0
    for ls in lay:
        for d, s in ls:
            if d not in seen:
                seen.add(d)
                dist += s

    r = subprocess.run([IMGFS, "layers", "--json"] + images, env=env, capture_output=True, text=True)
    check(r.returncode == 0, "layers --json of %d images: exit %d %s" % (len(images), r.returncode,
                                                                         r.stderr.strip()))
    try:
        j = json.loads(r.stdout)
    except ValueError as e:
        check(False, "layers --json: not JSON (%s): %s" % (e, r.stdout[:300]))
        return 1
    got = j.get("images", [])
    check(len(got) == len(images), "one object per image, in order")
    for i, img in enumerate(got[:len(images)]):
        name = os.path.basename(images[i])
        check([l["diff_id"] for l in img["layers"]] == [d for d, _ in lay[i]],
              "%s: diff_ids as its config lists them" % name)
        check([l["size"] for l in img["layers"]] == [s for _, s in lay[i]],
              "%s: each layer's size, the uncompressed tar's length" % name)
        check([l["shared_with"] for l in img["layers"]] == want_shared[i],
              "%s: shared_with %s" % (name, want_shared[i]))
        t = img["totals"]
        check((t["unique_size"], t["shared_size"]) == (want_unique[i], want_shared_b[i]),
              "%s: unique %d and shared %d bytes (got %s, %s)" % (
                  name, want_unique[i], want_shared_b[i], t["unique_size"], t["shared_size"]))
    t = j.get("totals", {})
    check(t.get("distinct_layers") == len(seen) and t.get("distinct_size") == dist,
          "all: %d distinct layers, %d bytes (got %s, %s)" % (len(seen), dist,
                                                              t.get("distinct_layers"), t.get("distinct_size")))
    check(t.get("size") == sum(s for ls in lay for _, s in ls), "all: the sum of every image's layers")

    # the text table says the same
    r = subprocess.run([IMGFS, "layers"] + images, env=env, capture_output=True, text=True)
    check(r.returncode == 0, "layers of %d images (text): exit %d" % (len(images), r.returncode))
    shared_col, summary, img = {}, {}, -1
    for line in r.stdout.splitlines():
        f = line.split()
        if line.startswith("== ") and f[1].isdigit():
            img = int(f[1]) - 1
        elif f and f[0].isdigit() and img >= 0:
            shared_col.setdefault(img, []).append(f[8])
        elif line.startswith("only in this image:"):
            summary[img] = (int(f[4]), int(f[12]))
    for i in range(len(images)):
        want = [",".join(str(k + 1) for k in w) or "-" for w in want_shared[i]]
        check(shared_col.get(i) == want, "text: image %d's SHARED column %s (got %s)" % (
            i + 1, want, shared_col.get(i)))
        check(summary.get(i) == (want_unique[i], want_shared_b[i]),
              "text: image %d's only/shared line (got %s)" % (i + 1, summary.get(i)))

    # what a registry stores: a compressed layer's blob as it is, an
    # uncompressed one's estimate (--estimate-compressed, then kept in the
    # index) within 2 % of `gzip -6 -c LAYER | wc -c` measured here
    def blobs(path):
        with tarfile.open(path) as t:
            names = t.getnames()
            if "manifest.json" in names:
                ls = json.loads(t.extractfile("manifest.json").read())[0]["Layers"]
            else:
                idx = json.loads(t.extractfile("index.json").read())
                d = idx["manifests"][0]["digest"].split(":")[1]
                man = json.loads(t.extractfile("blobs/sha256/" + d).read())
                ls = ["blobs/sha256/" + l["digest"].split(":")[1] for l in man["layers"]]
            return [t.extractfile(n).read() for n in ls]

    def push(path, *extra):
        r = subprocess.run([IMGFS, "layers", "--json"] + list(extra) + [path], env=env,
                           capture_output=True, text=True)
        return [l["push_size"] for l in json.loads(r.stdout)["layers"]] if r.returncode == 0 else None
    plain = images[2]
    check(push(plain) == [None, None], "uncompressed layers without --estimate-compressed: push_size null")
    got = push(plain, "--estimate-compressed")
    want = [len(subprocess.run(["gzip", "-6", "-c"], input=b, capture_output=True).stdout)
            for b in blobs(plain)]
    check(got is not None and all(abs(g - w) <= 0.02 * w for g, w in zip(got, want)) and len(got) == len(want),
          "--estimate-compressed: push_size %s within 2 %% of gzip -6's %s" % (got, want))
    check(push(plain) == got, "the estimate is kept in the index: a later run without the flag has it")
    got = push(images[1], "--estimate-compressed")
    want = [len(b) for b in blobs(images[1])]
    check(got == want, "gzip layers: push_size %s is the stored blob's length %s" % (got, want))

    # one image: no SHARED column, no "images" wrapper
    r = subprocess.run([IMGFS, "layers", "--json", images[2]], env=env, capture_output=True, text=True)
    one = json.loads(r.stdout) if r.returncode == 0 else {}
    check("images" not in one and "shared_with" not in one.get("layers", [{}])[0],
          "one image: the single-image object, no shared_with")
    r = subprocess.run([IMGFS, "layers", "--index", os.path.join(work, "x.db")] + images[:2],
                       env=env, capture_output=True, text=True)
    check(r.returncode == 2 and r.stderr.count("\n") == 1, "--index with two images: one line, exit 2")
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
