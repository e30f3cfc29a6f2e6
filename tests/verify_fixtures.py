#!/usr/bin/env python3
"""imgfs verify on every image of ../shared/fixtures (issue 13, item 8).

Each image written by a real tool must verify (exit 0), and every check
imgfs calls "ok" is confirmed here by a second implementation: hashlib
over the member's bytes for a blob digest, over the member decompressed
by python's gzip or the zstd program for a diff_id.  The expected values
come from the fixtures' own documents, parsed here: the config's
rootfs.diff_ids in order, and the OCI manifest's (or manifest.json's
blobs/sha256/) layer digests in order.  Archives the fixtures' README
calls invalid must exit 2; plain rootfs tars carry no digest and exit 0
with one "skipped" line.

Environment (set by meson): IMGFS, SRCDIR.  FIXTURES_DIR replaces
../shared/fixtures.  Exit 77 when the fixtures are missing (a failure
under CI, which has them).
"""

import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
IMGFS = os.environ.get("IMGFS", os.path.join(SRCDIR, "build", "tools", "imgfs"))
FIX = os.environ.get("FIXTURES_DIR", os.path.join(SRCDIR, "..", "shared", "fixtures"))
# the README: "invalid: exit 2" and the pre-1.10 legacy archives
INVALID = {"null_manifest.tar", "no_manifest.tar", "emptyLayer.tar"}

passed = failed = 0


def ok(msg):
    global passed
    passed += 1
    print("ok   - " + msg)


def bad(msg):
    global failed
    failed += 1
    print("FAIL - " + msg)


class Image:
    """Members of an image tar (any outer compression) or layout dir."""

    def __init__(self, path):
        self.path = path
        if os.path.isdir(path):
            self.tf = None
        elif path.endswith(".zst"):  # tarfile reads no zstd
            with open(path, "rb") as f:
                self.tf = tarfile.open(fileobj=io.BytesIO(uncompressed(f.read())))
        else:
            self.tf = tarfile.open(path, "r:*")

    def read(self, name):
        if self.tf is None:
            with open(os.path.join(self.path, name), "rb") as f:
                return f.read()
        for cand in (name, "./" + name):
            try:
                f = self.tf.extractfile(cand)  # follows member links
            except KeyError:
                continue
            if f is not None:
                return f.read()
        raise KeyError(name)

    def has(self, name):
        try:
            self.read(name)
            return True
        except (KeyError, FileNotFoundError):
            return False


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def uncompressed(b):
    if b[:2] == b"\x1f\x8b":
        return gzip.decompress(b)
    if b[:4] == b"\x28\xb5\x2f\xfd" or (b[:4][1:] == b"\x2a\x4d\x18" and b[0] & 0xF0 == 0x50):
        return subprocess.run(["zstd", "-dc"], input=b, stdout=subprocess.PIPE,
                              check=True).stdout
    return b


LINE = re.compile(r"^(ok|MISMATCH|skipped) +(manifest|config|image|layer (\d+)(?: (digest|diff_id))?)"
                  r" +(\S+)(?: \((.*?)\))?(?:  (.*))?$")


def check(label, img, args):
    r = subprocess.run([IMGFS, "verify"] + args + [img.path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    if r.returncode != 0:
        bad("%s: imgfs verify exit %d: %s" % (label, r.returncode, r.stderr.strip()[:300]))
        return
    checks, config, manifest = [], None, None
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        if not m:
            bad("%s: unparsed line %r" % (label, line))
            return
        status, what, layer, kind, expected, _note, member = m.groups()
        if status != "ok":
            if what == "image" and status == "skipped":
                if img.has("manifest.json") or img.has("index.json"):
                    bad("%s: an image, but imgfs calls it a plain rootfs tar" % label)
                    return
                ok("%s: a plain rootfs tar, nothing to verify, exit 0" % label)
                return
            bad("%s: %s" % (label, line))
            return
        data = img.read(member)
        got = sha(uncompressed(data) if kind == "diff_id" else data)
        if got != expected:
            bad("%s: %s: imgfs says ok, but python computes %s" % (label, line[:120], got))
            return
        if what == "config":
            config = json.loads(data)
        if what == "manifest":
            manifest = json.loads(data)
        checks.append((what, layer, kind, expected))
    diff = [e for w, l, k, e in checks if k == "diff_id"]
    digests = [e for w, l, k, e in checks if k == "digest"]
    if config is not None and diff != config["rootfs"]["diff_ids"]:
        bad("%s: diff_ids checked %s, the config lists %s" % (label, diff,
                                                              config["rootfs"]["diff_ids"]))
        return
    want = None
    if manifest is not None:
        want = [l["digest"] for l in manifest["layers"]]
    elif img.has("manifest.json"):
        mj = json.loads(img.read("manifest.json"))
        one = [m for m in mj if not args or args[1] in (m.get("RepoTags") or [])]
        want = ["sha256:" + n.split("/")[-1] for n in one[0]["Layers"]
                if re.fullmatch(r"(\./)?blobs/sha256/[0-9a-f]{64}", n)]
    if want is not None and digests != want:
        bad("%s: layer digests checked %s, the manifest lists %s" % (label, digests, want))
        return
    ok("%s: exit 0, %d checks confirmed by hashlib" % (label, len(checks)))


def images():
    for d, dirs, files in os.walk(FIX):
        dirs.sort()
        if "oci-layout" in files and "index.json" in files:
            yield os.path.join(d, "")[:-1]
            dirs[:] = []
            continue
        for f in sorted(files):
            if re.search(r"\.tar(\.gz|\.zst)?$", f):
                yield os.path.join(d, f)


def main():
    if not os.path.isdir(FIX):
        msg = "fixtures missing: %s" % FIX
        if os.environ.get("CI"):
            print("FAIL - %s (a skip under CI)" % msg)
            return 1
        print("SKIP: " + msg)
        return 77
    for path in images():
        label = os.path.relpath(path, FIX)
        img = Image(path)
        base = os.path.basename(path)
        if base in INVALID:
            r = subprocess.run([IMGFS, "verify", path], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, timeout=600)
            if r.returncode == 2 and r.stderr.count("\n") == 1 and base in r.stderr:
                ok("%s: invalid, exit 2: %s" % (label, r.stderr.strip()[:120]))
            else:
                bad("%s: expected exit 2 and one line, got %d: %s" % (label, r.returncode,
                                                                        r.stderr[:300]))
            continue
        if img.has("manifest.json"):
            mj = json.loads(img.read("manifest.json"))
            if len(mj) > 1:
                for m in mj:
                    check("%s --image %s" % (label, m["RepoTags"][0]), img,
                          ["--image", m["RepoTags"][0]])
                continue
        check(label, img, [])
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
