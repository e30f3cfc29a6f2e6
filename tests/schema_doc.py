#!/usr/bin/env python3
"""docs/SCHEMA.md against a built index: every table and column of the
index is documented with its declared type (and nothing else is), every
index and meta key is named, and every example query prints exactly the
block under it.  The example outputs are also checked against models made
here from the images' own layer tars (tests/pkgimage.py) and against
tests/audit_images.py's expected sizes, so the doc cannot simply agree with
whatever imgfs wrote.

Environment (set by meson): IMGFS, SRCDIR, BUILDDIR.  Needs the sqlite3
command (scripts/setup installs it).
"""
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile

SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
BUILDDIR = os.environ.get("BUILDDIR", os.path.join(SRCDIR, "build", "tests"))
IMGFS = os.environ.get("IMGFS", os.path.join(SRCDIR, "build", "tools", "imgfs"))
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   - " + what)
    else:
        failed += 1
        print("FAIL - " + what + (": " + detail if detail else ""))


def parse_doc(path):
    """{table: [(column, type)]}, index names, meta keys, examples."""
    text = open(path).read()
    tables, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"### (\w+)$", line)
        if m:
            cur = m.group(1)
            tables[cur] = []
            continue
        if line.startswith("## "):
            cur = None
        m = re.match(r"\| (\w+) \| (\w+) \| .* \|$", line)
        if cur and m and m.group(1) != "column":
            tables[cur].append((m.group(1), m.group(2)))
    indexes = set()
    for line in re.findall(r"^Indexes:.*(?:\n.+)*", text, re.M):
        indexes |= set(re.findall(r"`(\w+)` \(", line))
    keys = set()
    for para in re.findall(r"^Keys:.*(?:\n.+)*", text, re.M):
        keys |= set(re.findall(r"`(\w+)` \(", para))
    examples = re.findall(r"```sql\n-- example: ([^\n]+)\n(.*?)```\n```text\n(.*?)```", text, re.S)
    return tables, indexes, keys, examples


def build(image, db):
    r = subprocess.run([IMGFS, "index", "-q", "--index", db, image], capture_output=True, text=True)
    if r.returncode != 0:
        print("FAIL - imgfs index %s: %s" % (image, r.stderr.strip()))
        sys.exit(1)


def model_pkgs(image):
    """The merged tree of pkgs.tar from its layer tars: {path: size} of
    regular files, the files of layer 1, and the files hidden in layer 0."""
    with tarfile.open(image) as outer:
        man = json.load(outer.extractfile("manifest.json"))
        layers = [tarfile.open(fileobj=io.BytesIO(outer.extractfile(p).read()))
                  for p in man[0]["Layers"]]
    merged, per_layer, hidden = {}, [], {}
    for num, t in enumerate(layers):
        own = {}
        for m in t.getmembers():
            d, _, base = m.name.rpartition("/")
            if base.startswith(".wh."):
                victim = (d + "/" if d else "") + base[4:]
                for p in [p for p in merged if p == victim or p.startswith(victim + "/")]:
                    size, was = merged.pop(p)
                    hidden[(was, p)] = size
            elif m.isfile():
                merged[m.name] = (m.size, num)
                own[m.name] = m.size
        per_layer.append(own)
    return {p: v[0] for p, v in merged.items()}, per_layer, hidden


def main():
    work = os.path.join(BUILDDIR, "schema-doc")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if not shutil.which("sqlite3"):
        print("FAIL - the sqlite3 command is missing (scripts/setup installs it)")
        return 1
    pkgs = os.path.join(work, "pkgs.tar")
    subprocess.run([sys.executable, os.path.join(SRCDIR, "tests", "pkgimage.py"), pkgs], check=True)
    subprocess.run([sys.executable, os.path.join(SRCDIR, "tests", "audit_images.py"),
                    os.path.join(work, "ai")], check=True, stdout=subprocess.DEVNULL)
    build(pkgs, os.path.join(work, "pkgs.db"))
    for n in ("bloated", "slim"):
        build(os.path.join(work, "ai", n + ".docker.tar"), os.path.join(work, n + ".db"))

    tables, indexes, keys, examples = parse_doc(os.path.join(SRCDIR, "docs", "SCHEMA.md"))
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(work, "pkgs.db"), uri=True)
    real = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1")]
    check(len(real) >= 10, "the index has its tables (%d)" % len(real))
    check(sorted(tables) == real, "docs/SCHEMA.md documents exactly the index's tables",
          "doc %s, index %s" % (sorted(tables), real))
    for t in real:
        # a column declared without a type is documented as "any"
        cols = [(r[1], r[2] or "any") for r in db.execute("PRAGMA table_info(%s)" % t)]
        check(tables.get(t) == cols, "table %s: the doc names its %d columns with their types"
              % (t, len(cols)), "doc %s, index %s" % (tables.get(t), cols))
    real_idx = {r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")}
    check(real_idx and indexes == real_idx, "the doc names the index's indexes %s" % sorted(real_idx),
          "doc %s" % sorted(indexes))
    real_keys = {r[0] for r in db.execute("SELECT key FROM meta")}
    check(real_keys and real_keys <= keys, "the doc lists every meta key (%d of %d)"
          % (len(real_keys), len(keys)), "undocumented: %s" % sorted(real_keys - keys))
    version = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0]
    check(re.search(r"^# The imgfs index: schema version %d$" % version,
                    open(os.path.join(SRCDIR, "docs", "SCHEMA.md")).read(), re.M) is not None,
          "the doc's title names schema version %d" % version)

    check(len(examples) >= 6, "the doc has its example queries (%d)" % len(examples))
    outputs = []
    for dbs, query, want in examples:
        target = ":memory:" if "ATTACH" in query else dbs.split()[0]
        r = subprocess.run(["sqlite3", "-readonly", target], input=query, capture_output=True,
                           text=True, cwd=work)
        outputs.append(r.stdout)
        check(r.returncode == 0 and r.stdout == want,
              "example on %s prints what the doc says (%d lines)" % (dbs, want.count("\n")),
              "got %r%s" % (r.stdout, " " + r.stderr.strip() if r.stderr else ""))

    # The doc's outputs against models independent of imgfs.
    files, per_layer, hidden = model_pkgs(pkgs)
    tops = {}
    for p, size in files.items():
        tops[p.split("/")[0]] = tops.get(p.split("/")[0], 0) + size
    with tarfile.open(pkgs) as outer:
        l0 = tarfile.open(fileobj=io.BytesIO(outer.extractfile(
            json.load(outer.extractfile("manifest.json"))[0]["Layers"][0]).read()))
        for m in l0.getmembers():
            if "/" not in m.name and not m.isfile():
                tops.setdefault(m.name, 0)
    want = "".join("%s|%d\n" % kv for kv in sorted(tops.items(), key=lambda kv: (-kv[1], kv[0])))
    check(examples[0][2] == want, "bytes per top-level directory agree with the layer tars",
          "model %r" % want)
    want = "".join("%s|%d\n" % kv for kv in sorted(per_layer[1].items())
                   if ".wh." not in kv[0])
    check(examples[1][2] == want, "layer 1's files agree with its tar", "model %r" % want)
    want = "".join("%d:%s|%d\n" % (k[0], k[1], v) for k, v in sorted(hidden.items()))
    check(examples[2][2] == want, "hidden files agree with the layers' whiteouts", "model %r" % want)
    sizes = {}
    for line in open(os.path.join(work, "ai", "expected.tsv")):
        f = line.rstrip("\n").split("\t")
        if f[0] == "image":
            sizes[f[1]] = int(f[2])
    want = "bloated|%d\nslim|%d\n" % (sizes["bloated"], sizes["slim"])
    check(examples[-1][2] == want, "fleet bytes agree with audit_images.py's sizes", "model %r" % want)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
