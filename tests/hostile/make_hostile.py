#!/usr/bin/env python3
"""Writes the hostile corpus of tests/hostile.sh: malformed, malicious and
oversized container images, each with what imgfs must do with it.

Usage: make_hostile.py OUTDIR               the small cases (about 1.5 MB)
       make_hostile.py FILE --big CASE N    one large case streamed to FILE:
                                            bomb, deep, million, pax or
                                            longname, of size N (big_* below)

Python standard library only.  OUTDIR/cases.tsv gets one line per case:

  name <TAB> image <TAB> exit <TAB> stderr regex <TAB> tree

exit is 0, 2 or "0|2" (a truncation past the last byte that matters may
still be a whole archive); the regex (grep -E, "-" for none) must match
stderr: for exit 2 the one "imgfs: " line naming the file and the problem,
for exit 0 the warnings.  tree is "-" or NAME.tree, the exact merged tree
as "path<TAB>type<TAB>size<TAB>symlink target<TAB>sha256 of the content"
lines (type as find's %y; size "-" and sha256 "-" except for files), sorted.
"""

import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import zlib

T0 = 1700000000


def sha(b):
    return hashlib.sha256(b).hexdigest()


def jdump(o):
    return json.dumps(o, separators=(",", ":")).encode()


# ---------------------------------------------------------------- layer tars

def ti(name, typ=tarfile.REGTYPE, size=0, mode=0o644, link=""):
    t = tarfile.TarInfo(name)
    t.type, t.size, t.mode, t.mtime, t.linkname = typ, size, mode, T0, link
    t.uname = t.gname = ""
    return t


class Layer:
    """A layer tar: entries as (kind, name, data-or-target)."""

    def __init__(self, *entries):
        self.entries = list(entries)

    def tar(self, fmt=tarfile.PAX_FORMAT):
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode="w", format=fmt) as tf:
            for kind, name, arg in self.entries:
                if kind == "d":
                    tf.addfile(ti(name, tarfile.DIRTYPE, mode=0o755))
                elif kind == "f":
                    tf.addfile(ti(name, size=len(arg)), io.BytesIO(arg))
                elif kind == "l":
                    tf.addfile(ti(name, tarfile.SYMTYPE, mode=0o777, link=arg))
                elif kind == "h":
                    tf.addfile(ti(name, tarfile.LNKTYPE, link=arg))
        return bio.getvalue()


def merged(layers):
    """The expected tree of simple LAYERS (no hardlinks): path -> (type, data)."""
    tree = {}
    for l in layers:
        for kind, name, arg in l.entries:
            name = name.strip("/")
            base = name.rsplit("/", 1)[-1]
            d = name.rsplit("/", 1)[0] if "/" in name else ""
            if base == ".wh..wh..opq":
                for p in [p for p in tree if d == "" or p.startswith(d + "/")]:
                    if p != d:
                        del tree[p]
                continue
            if base.startswith(".wh."):
                victim = (d + "/" if d else "") + base[4:]
                for p in [p for p in tree if p == victim or p.startswith(victim + "/")]:
                    del tree[p]
                continue
            parts = name.split("/")
            for i in range(1, len(parts)):
                tree.setdefault("/".join(parts[:i]), ("d", None))
            if kind == "d" and tree.get(name, ("x",))[0] == "d":
                tree[name] = ("d", None)
                continue
            for p in [p for p in tree if p.startswith(name + "/")]:
                del tree[p]
            tree[name] = (kind, arg)
    return tree


def tree_lines(tree):
    out = []
    for p, (k, arg) in sorted(tree.items()):
        if k == "d":
            out.append("%s\td\t-\t\t-" % p)
        elif k == "l":
            out.append("%s\tl\t%d\t%s\t-" % (p, len(arg.encode()), arg))
        else:
            out.append("%s\tf\t%d\t\t%s" % (p, len(arg), sha(arg)))
    return "".join(l + "\n" for l in sorted(out))


# ------------------------------------------------------------ outer archives

def outer_tar(members):
    """Bytes of an outer tar of MEMBERS: (name, bytes) files, (name, None)
    directories, (name, ("sym", target)) symlinks."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in members:
            if data is None:
                tf.addfile(ti(name, tarfile.DIRTYPE, mode=0o755))
            elif isinstance(data, tuple):
                tf.addfile(ti(name, tarfile.SYMTYPE, mode=0o777, link=data[1]))
            else:
                tf.addfile(ti(name, size=len(data)), io.BytesIO(data))
    return bio.getvalue()


def docker(tars, manifest=None, diff_ids=None, extra=(), layer_names=None):
    """A docker-archive of layer TARS (bytes).  MANIFEST: replaces the
    manifest.json bytes; DIFF_IDS: replaces the config's diff_ids."""
    members, names = [], []
    for i, t in enumerate(tars):
        d = sha(t)[:16] + "%02d" % i
        members += [(d + "/", None), (d + "/layer.tar", t)]
        names.append(d + "/layer.tar")
    if layer_names is not None:
        names = layer_names
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers",
                            "diff_ids": diff_ids if diff_ids is not None
                            else ["sha256:" + sha(t) for t in tars]},
                 "history": [{"created_by": "layer %d" % i} for i in range(len(tars))]})
    members.append((sha(cfg) + ".json", cfg))
    members += list(extra)
    if manifest is None:
        manifest = jdump([{"Config": sha(cfg) + ".json", "RepoTags": ["hostile:1"],
                           "Layers": names}])
    members.append(("manifest.json", manifest))
    return outer_tar(members), sha(cfg) + ".json"


def oci(blobs):
    """An OCI archive whose layers are the given (already compressed) BLOBS."""
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64] * len(blobs)}})
    man = jdump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                            "digest": "sha256:" + sha(cfg), "size": len(cfg)},
                 "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                             "digest": "sha256:" + sha(b), "size": len(b)} for b in blobs]})
    index = jdump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": "sha256:" + sha(man), "size": len(man)}]})
    members = [("oci-layout", jdump({"imageLayoutVersion": "1.0.0"})),
               ("blobs/", None), ("blobs/sha256/", None)]
    for b in blobs + [cfg, man]:
        members.append(("blobs/sha256/" + sha(b), b))
    members.append(("index.json", index))
    return outer_tar(members)


# --------------------------------------------------------------------- cases

BASE = [
    Layer(("d", "etc", None), ("f", "etc/a", b"alpha\n"), ("f", "etc/b", b"bravo\n"),
          ("d", "usr", None), ("d", "usr/bin", None),
          ("f", "usr/bin/tool", bytes((i * 7) & 0xff for i in range(1500))),
          ("l", "usr/bin/t", "tool")),
    Layer(("f", "etc/c", b"charlie\n"), ("f", "etc/.wh.b", b""),
          ("f", "data/x", b"x" * 3000)),
]


class Corpus:
    def __init__(self, out):
        self.out = out
        self.lines = []

    def write(self, fname, data):
        with open(os.path.join(self.out, fname), "wb") as f:
            f.write(data)

    def bad(self, name, data, regex, ext=".tar"):
        """A case imgfs must refuse: exit 2, REGEX on stderr."""
        self.write(name + ext, data)
        self.lines.append((name, name + ext, "2", regex, "-"))

    def good(self, name, data, tree, regex="-", exit_="0", ext=".tar"):
        """A case imgfs must mount with exactly TREE (path -> (type, data))."""
        self.write(name + ext, data)
        self.write(name + ".tree", tree_lines(tree).encode())
        self.lines.append((name, name + ext, exit_, regex, name + ".tree"))

    def finish(self):
        with open(os.path.join(self.out, "cases.tsv"), "w") as f:
            for l in self.lines:
                f.write("\t".join(l) + "\n")


def small_cases(c):
    tars = [l.tar() for l in BASE]
    base, _ = docker(tars)
    full = merged(BASE)
    c.good("base", base, full)

    # Truncations: every 512 bytes over the first 8 KB, then at 16 points
    # after.  Cut before the end of manifest.json's data (the last member)
    # the archive is unreadable; after it only padding and the end blocks
    # go, which libarchive and GNU tar accept, so both answers are right
    # as long as a mounted tree is the whole tree.
    last = base.rfind(b"[{\"Config\"")
    end_of_data = last + len(base[last:].split(b"\0", 1)[0])
    cuts = list(range(512, 8192 + 1, 512)) + [len(base) * k // 17 for k in range(1, 17)]
    for cut in sorted(set(cuts)):
        if cut >= len(base):
            continue
        name = "trunc-%06d" % cut
        if cut == 512:
            # Only the first member's header is left: a directory.  A tar
            # without its end blocks is still a tar (GNU tar reads it), and
            # with no manifest.json it is a plain rootfs of that directory.
            c.good(name, base[:cut], {sha(tars[0])[:16] + "00": ("d", None)})
        elif cut < end_of_data:
            c.bad(name, base[:cut], r"trunc-%06d\.tar: .*(truncated|damaged|[Tt]runcated|"
                  r"not a container image|missing|invalid|unexpected|manifest)" % cut)
        else:
            c.good(name, base[:cut], full, exit_="0|2")

    # A gzip layer cut short inside an OCI archive.
    g = gzip.compress(BASE[1].tar(), mtime=0)
    c.bad("oci-trunc-gzip", oci([gzip.compress(BASE[0].tar(), mtime=0), g[:len(g) // 2]]),
          r"oci-trunc-gzip\.tar: .*(truncated|corrupt|damaged|[Tt]runcated)")
    # The same whole, as a control.
    c.good("oci-gzip", oci([gzip.compress(t, mtime=0) for t in tars]), full)

    # A bad header checksum: in a layer (its second entry), and in the outer
    # tar's first header.
    t = bytearray(tars[0])
    t[512 * 3 + 148:512 * 3 + 156] = b"0000000\0"  # etc/a's header (after etc/ and its pax)
    c.bad("layer-bad-checksum", docker([bytes(t), tars[1]])[0],
          r"layer-bad-checksum\.tar: .*(damaged|checksum|[Dd]amaged)")
    o = bytearray(base)
    o[148:156] = b"0000000\0"
    c.bad("outer-bad-checksum", bytes(o), r"outer-bad-checksum\.tar: ")

    # manifest.json: a missing blob, null, not JSON, wrong types.
    c.bad("manifest-missing-blob", docker(tars, layer_names=["nothere/layer.tar"] * 2)[0],
          r"manifest-missing-blob\.tar: .*nothere/layer\.tar")
    c.bad("manifest-null", docker(tars, manifest=b"null")[0], r"manifest-null\.tar: .*manifest")
    c.bad("manifest-notjson", docker(tars, manifest=b"{this is not json")[0],
          r"manifest-notjson\.tar: .*manifest")
    c.bad("manifest-empty-list", docker(tars, manifest=b"[]")[0],
          r"manifest-empty-list\.tar: .*manifest")
    _, cfgname = docker(tars)
    wrong = {
        "object": {"Config": cfgname},
        "string-layers": [{"Config": cfgname, "Layers": "a/layer.tar"}],
        "number-config": [{"Config": 7, "Layers": []}],
        "number-layer": [{"Config": cfgname, "Layers": [1, 2]}],
        "null-layers": [{"Config": cfgname, "Layers": None}],
        "array-entry": [[cfgname]],
        "tags-object": [{"Config": cfgname, "RepoTags": {"a": 1}, "Layers": []}],
    }
    for k, m in wrong.items():
        c.bad("manifest-" + k, docker(tars, manifest=jdump(m))[0],
              r"manifest-%s\.tar: .*(manifest|Config|Layers|RepoTags|layer)" % k)
    # A deeply nested manifest: the JSON parser must not recurse without end.
    c.bad("manifest-nested", docker(tars, manifest=b"[" * 100000 + b"]" * 100000)[0],
          r"manifest-nested\.tar: .*manifest")
    # More layers than diff_ids.
    c.bad("more-layers-than-diffids",
          docker(tars, diff_ids=["sha256:" + sha(tars[0])])[0],
          r"more-layers-than-diffids\.tar: .*diff_ids")

    # ../ and absolute names: '..' is skipped with a warning; a leading '/'
    # is dropped, as docker and containerd do (the name stays inside).
    esc = Layer(("f", "../escape", b"out\n"), ("f", "a/../../escape2", b"out\n"),
                ("f", "/abs/file", b"abs\n"), ("f", "ok", b"ok\n"),
                ("l", "link", "../../../../etc/passwd"))
    exp = merged([Layer(("f", "abs/file", b"abs\n"), ("f", "ok", b"ok\n"),
                        ("l", "link", "../../../../etc/passwd"))])
    c.good("dotdot-names", docker([esc.tar()])[0], exp, regex=r"warning: .*\.\./escape.*skipped")

    # Whiteouts: a bare .wh. (no name), and an opaque marker at the root.
    c.bad("bare-whiteout", docker([tars[0], Layer(("f", "etc/.wh.", b"")).tar()])[0],
          r"bare-whiteout\.tar: .*whiteout")
    opq = Layer(("f", ".wh..wh..opq", b""), ("f", "only", b"only\n"))
    c.good("root-opaque", docker(tars + [opq.tar()])[0], merged([opq]))

    # Hardlinks: to a missing name, to a directory, to itself.
    c.bad("hardlink-missing", docker([Layer(("h", "x", "nothere")).tar()])[0],
          r"hardlink-missing\.tar: .*(x|nothere)")
    c.bad("hardlink-dir", docker([Layer(("d", "dir", None), ("h", "x", "dir")).tar()])[0],
          r"hardlink-dir\.tar: .*(x|dir)")
    c.bad("hardlink-self", docker([Layer(("h", "x", "x")).tar()])[0],
          r"hardlink-self\.tar: .*x")
    # A hardlink to itself over a lower file of that name is that file.
    c.good("hardlink-self-lower", docker([Layer(("f", "x", b"lower\n")).tar(),
                                          Layer(("h", "x", "x")).tar()])[0],
           {"x": ("f", b"lower\n")})

    # Member symlinks of the outer archive (podman writes one per layer).
    c.bad("member-link-cycle", docker(
        [], layer_names=["a/layer.tar"],
        extra=[("a/", None), ("b/", None), ("a/layer.tar", ("sym", "../b/layer.tar")),
               ("b/layer.tar", ("sym", "../a/layer.tar"))], diff_ids=["sha256:" + "0" * 64])[0],
        r"member-link-cycle\.tar: .*too many levels of links")
    c.bad("member-link-outside", docker(
        [], layer_names=["a/layer.tar"],
        extra=[("a/", None), ("a/layer.tar", ("sym", "../../../../../etc/passwd"))],
        diff_ids=["sha256:" + "0" * 64])[0],
        r"member-link-outside\.tar: .*(outside|layer\.tar)")
    c.bad("member-link-absolute", docker(
        [], layer_names=["a/layer.tar"],
        extra=[("a/", None), ("a/layer.tar", ("sym", "/etc/passwd"))],
        diff_ids=["sha256:" + "0" * 64])[0],
        r"member-link-absolute\.tar: .*(layer\.tar|etc/passwd)")

    # The same layer twice in manifest.json: valid, it applies twice (its
    # whiteout of etc/b hits the copy the second pass does not put back).
    l1 = Layer(("f", "etc/.wh.b", b""), ("f", "twice", b"2\n"))
    base0 = BASE[0].tar()
    t1 = l1.tar()
    twice, _ = docker([base0, t1])
    # rewrite: the manifest names the second layer twice
    d1 = sha(t1)[:16] + "01/layer.tar"
    d0 = sha(base0)[:16] + "00/layer.tar"
    twice, _ = docker([base0, t1], layer_names=[d0, d1, d1],
                      diff_ids=["sha256:" + sha(base0), "sha256:" + sha(t1), "sha256:" + sha(t1)])
    c.good("same-layer-twice", twice, merged([BASE[0], l1, l1]))

    # A plain rootfs tar that is not a tar at all, and an empty file.
    c.bad("garbage", b"\x01\x02garbage" * 100, r"garbage\.tar: ")
    c.bad("empty", b"", r"empty\.tar: .*empty")


# ------------------------------------------------------- digests (item 8)

def oci_digests(blobs, diff_ids, cfg_edit=None, man_edit=None):
    """An OCI archive of layer BLOBS (gzip or plain) with the given config
    DIFF_IDS.  CFG_EDIT / MAN_EDIT: functions changing the config or
    manifest bytes after their digests were taken (a tampered blob that
    keeps its name)."""
    cfg = jdump({"architecture": "amd64", "os": "linux",
                 "rootfs": {"type": "layers", "diff_ids": diff_ids},
                 "history": [{"created_by": "layer %d" % i} for i in range(len(blobs))]})
    kinds = ["tar+gzip" if b[:2] == b"\x1f\x8b" else "tar" for b in blobs]
    man = jdump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                 "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                            "digest": "sha256:" + sha(cfg), "size": len(cfg)},
                 "layers": [{"mediaType": "application/vnd.oci.image.layer.v1." + k,
                             "digest": "sha256:" + sha(b), "size": len(b)}
                            for b, k in zip(blobs, kinds)]})
    index = jdump({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": "sha256:" + sha(man), "size": len(man)}]})
    members = [("oci-layout", jdump({"imageLayoutVersion": "1.0.0"})),
               ("blobs/", None), ("blobs/sha256/", None)]
    stored = {sha(cfg): cfg_edit(cfg) if cfg_edit else cfg,
              sha(man): man_edit(man) if man_edit else man}
    for b in blobs:
        stored.setdefault(sha(b), b)
    for name, data in stored.items():
        members.append(("blobs/sha256/" + name, data))
    members.append(("index.json", index))
    return outer_tar(members)


def flip(data, at):
    """DATA with the byte at AT changed (one bit)."""
    b = bytearray(data)
    b[at] ^= 1
    return bytes(b)


def digest_cases(c):
    """Blobs whose content does not match their digest (issue 13, item 8).
    The expected digests are hashlib's over the untampered blobs, which
    the manifests name.  Compressed layer blobs are checked while
    indexing (exit 2 naming the layer); uncompressed ones, configs,
    manifests and diff_ids by imgfs verify only, so those cases index
    (serving what the image holds) and are listed in verify.tsv, one line
    per case: name <TAB> image <TAB> exit of imgfs verify <TAB> stderr
    regex ("-": none)."""
    tars = [l.tar() for l in BASE]
    gz = [gzip.compress(t, mtime=0) for t in tars]
    ids = ["sha256:" + sha(t) for t in tars]
    full = merged(BASE)
    vlines = []

    def verify(name, ex, regex="-"):
        vlines.append((name, name + ".tar", ex, regex))

    def layer_re(name, n, digest, what="content does not match its digest"):
        return r"%s\.tar: layer %d \(%s\): %s" % (name, n, digest, what)

    # The control: real digests everywhere, verify exits 0.
    c.good("digest-ok", oci_digests(gz, ids), full)
    verify("digest-ok", "0")
    verify("base", "0")

    # A gzip layer whose header's mtime byte was changed: it decompresses
    # to the very same tar, only the digest can tell.
    name = "digest-gzip-header"
    c.bad(name, oci_tampered_layer(gz, ids, 1, 4), layer_re(name, 1, "sha256:" + sha(gz[1])))
    verify(name, "2", layer_re(name, 1, "sha256:" + sha(gz[1])))
    # A byte in the middle of the deflate data: the stream breaks or
    # decompresses to other bytes; either way the mismatch is named.
    name = "digest-gzip-data"
    c.bad(name, oci_tampered_layer(gz, ids, 0, len(gz[0]) // 2),
          layer_re(name, 0, "sha256:" + sha(gz[0])))
    verify(name, "2", layer_re(name, 0, "sha256:" + sha(gz[0])))
    # A byte of the first deflate block header: the stream no longer
    # decompresses; the message names the mismatch, the cause, rather than
    # the decompressor's symptom.
    name = "digest-gzip-broken"
    c.bad(name, oci_tampered_layer(gz, ids, 0, 10), layer_re(name, 0, "sha256:" + sha(gz[0])))
    verify(name, "2", layer_re(name, 0, "sha256:" + sha(gz[0])))
    # Bytes after the tar's end that libarchive never reads (a second gzip
    # member of 300 KB that does not compress): hashed at the end, so a
    # change near the blob's end is caught while indexing too.
    junk = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(10000))
    tail = [gz[0], gz[1] + gzip.compress(junk, mtime=0)]
    tail_ids = [ids[0], "sha256:" + sha(tars[1] + junk)]
    c.good("digest-gzip-tail-ok", oci_digests(tail, tail_ids), full)
    verify("digest-gzip-tail-ok", "0")
    name = "digest-gzip-tail"
    c.bad(name, oci_tampered_layer(tail, tail_ids, 1, len(tail[1]) - 100),
          layer_re(name, 1, "sha256:" + sha(tail[1])))

    # An uncompressed layer with a byte of file data changed: read in place
    # while indexing (its data skipped, nothing claimed), so the index
    # serves the changed byte; imgfs verify names the layer.
    name = "digest-plain-data"
    at = tars[0].index(b"alpha\n")
    bad0 = Layer(*[(k, n, b"alph`\n" if n == "etc/a" else a) for k, n, a in BASE[0].entries])
    c.good(name, oci_tampered_layer(tars, ids, 0, at + 4), merged([bad0, BASE[1]]))
    verify(name, "2", layer_re(name, 0, "sha256:" + sha(tars[0])))

    # A config whose diff_id of layer 1 is wrong (docker-archive, layers
    # named by path: only diff_ids name them), and an OCI image whose
    # gzip blobs match their digests but not the config's diff_ids.
    wrong = "sha256:" + sha(b"not this layer")
    name = "digest-docker-diffid"
    c.good(name, docker(tars, diff_ids=[ids[0], wrong])[0], full)
    verify(name, "2", layer_re(name, 1, sha(tars[1])[:16] + "01/layer.tar",
                               "uncompressed content does not match its diff_id " + wrong))
    name = "digest-oci-diffid"
    c.good(name, oci_digests(gz, [wrong, ids[1]]), full)
    verify(name, "2", layer_re(name, 0, "sha256:" + sha(gz[0]),
                               "uncompressed content does not match its diff_id " + wrong))

    # A config and a manifest changed after their digests were taken (the
    # history text: the parse still succeeds).
    name = "digest-config"
    img = oci_digests(gz, ids, cfg_edit=lambda b: b.replace(b"layer 0", b"layer X"))
    c.good(name, img, full)
    verify(name, "2", r"%s\.tar: config \(blobs/sha256/[0-9a-f]{64}\): content does not match "
           r"its digest" % name)
    name = "digest-manifest"
    img = oci_digests(gz, ids, man_edit=lambda b: b.replace(b'"schemaVersion":2',
                                                            b'"schemaVersion":2 '))
    c.good(name, img, full)
    verify(name, "2", r"%s\.tar: manifest \(blobs/sha256/[0-9a-f]{64}\): content does not "
           r"match its digest" % name)

    with open(os.path.join(c.out, "verify.tsv"), "w") as f:
        for l in vlines:
            f.write("\t".join(l) + "\n")


def oci_tampered_layer(blobs, diff_ids, n, at):
    """oci_digests of BLOBS with layer N's stored bytes changed at AT,
    under its old name (the manifest's digest)."""
    img = oci_digests(blobs, diff_ids)
    good = blobs[n]
    start = img.index(good)
    return img[:start] + flip(good, at) + img[start + len(good):]


# ---------------------------------------------------------------- big cases

def stream_docker(path, write_layer, layer_size=None):
    """Writes a one-layer docker-archive to PATH with the layer tar produced
    by WRITE_LAYER(fileobj) straight into the outer tar (sizes patched)."""
    with open(path, "wb") as f:
        # the layer member: header, data, padding; size patched afterwards
        hdr_off = f.tell()
        f.write(b"\0" * 512)
        start = f.tell()
        write_layer(f)
        size = f.tell() - start
        f.write(b"\0" * (-size % 512))
        end = f.tell()
        t = ti("l/layer.tar", size=size)
        f.seek(hdr_off)
        f.write(t.tobuf(format=tarfile.GNU_FORMAT))
        f.seek(end)
        cfg = jdump({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}})
        man = jdump([{"Config": "c.json", "RepoTags": ["big:1"], "Layers": ["l/layer.tar"]}])
        for name, data in (("c.json", cfg), ("manifest.json", man)):
            f.write(ti(name, size=len(data)).tobuf(format=tarfile.GNU_FORMAT))
            f.write(data + b"\0" * (-len(data) % 512))
        f.write(b"\0" * 1024)


def big_bomb(path, size):
    """A layer of one file of SIZE zero bytes, gzipped at level 9 (about
    1030:1): SIZE bytes come from ~SIZE/1030 bytes on disk."""
    def layer(f):
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        h = ti("zeros", size=size).tobuf(format=tarfile.GNU_FORMAT)
        f.write(z.compress(h))
        chunk = b"\0" * (1 << 22)
        left = size + (-size % 512) + 1024
        while left > 0:
            n = min(left, len(chunk))
            f.write(z.compress(chunk[:n]))
            left -= n
        f.write(z.flush())
    stream_docker(path, layer)


def big_deep(path, depth):
    """DEPTH nested directories d/d/d/..., then a file at the bottom."""
    def layer(f):
        tf = tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT)
        p = ""
        for _ in range(depth):
            p = p + "d/" if p else "d/"
            tf.addfile(ti(p.rstrip("/"), tarfile.DIRTYPE, mode=0o755))
        tf.addfile(ti(p + "bottom", size=3), io.BytesIO(b"end"))
        tf.close()
    stream_docker(path, layer)


def big_million(path, n):
    """N empty files in one directory (GNU headers: 512 bytes each)."""
    def layer(f):
        f.write(ti("many", tarfile.DIRTYPE, mode=0o755).tobuf(format=tarfile.GNU_FORMAT))
        proto = ti("many/f0000000", size=0)
        hdr = bytearray(proto.tobuf(format=tarfile.GNU_FORMAT))
        buf = bytearray()
        for i in range(n):
            hdr[5:13] = b"f%07d" % i
            hdr[148:156] = b"        "
            hdr[148:156] = b"%06o\0 " % sum(hdr)
            buf += hdr
            if len(buf) >= 1 << 20:
                f.write(buf)
                buf = bytearray()
        f.write(buf)
        f.write(b"\0" * 1024)
    stream_docker(path, layer)


def big_pax(path, size):
    """One entry whose pax header holds a SIZE-byte comment record."""
    def layer(f):
        key = b" comment="
        body = size - 1
        # the record's length field counts itself
        n = len(key) + body + 1
        n += len(str(n + len(str(n))))
        rec_len = n
        rec = str(rec_len).encode() + key
        h = ti("PaxHeaders/big", typ=tarfile.XHDTYPE, size=rec_len)
        f.write(h.tobuf(format=tarfile.USTAR_FORMAT))
        f.write(rec)
        left = body
        chunk = b"A" * (1 << 20)
        while left:
            k = min(left, len(chunk))
            f.write(chunk[:k])
            left -= k
        f.write(b"\n")
        f.write(b"\0" * (-rec_len % 512))
        f.write(ti("after", size=3).tobuf(format=tarfile.USTAR_FORMAT))
        f.write(b"end" + b"\0" * 509)
        f.write(b"\0" * 1024)
    stream_docker(path, layer)


def big_longname(path, size):
    """One entry whose pax path is SIZE bytes long."""
    def layer(f):
        tf = tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT)
        tf.addfile(ti("n" * size, size=3), io.BytesIO(b"end"))
        tf.addfile(ti("after", size=3), io.BytesIO(b"end"))
        tf.close()
    stream_docker(path, layer)


BIG = {"bomb": big_bomb, "deep": big_deep, "million": big_million,
       "pax": big_pax, "longname": big_longname}


def main():
    if len(sys.argv) == 5 and sys.argv[2] == "--big":
        out, case, arg = sys.argv[1], sys.argv[3], int(sys.argv[4])
        BIG[case](out, arg)
        return
    if len(sys.argv) != 2:
        sys.exit("usage: make_hostile.py OUTDIR | make_hostile.py FILE --big CASE N")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    c = Corpus(out)
    small_cases(c)
    digest_cases(c)
    c.finish()


if __name__ == "__main__":
    main()
