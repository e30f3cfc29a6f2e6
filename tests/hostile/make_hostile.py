#!/usr/bin/env python3
"""Writes the hostile corpus of tests/hostile.sh: malformed, malicious and
oversized container images, each with what imgfs must do with it.

Usage: make_hostile.py OUTDIR               the small cases (about 1.5 MB)
       make_hostile.py FILE --big CASE N    one large case streamed to FILE:
                                            bomb, deep, million, pax,
                                            longname, pkglist, sparse, zeros
                                            or zerosalt, of size N (big_*)

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

def ti(name, typ=tarfile.REGTYPE, size=0, mode=0o644, link="", uid=0, gid=0):
    t = tarfile.TarInfo(name)
    t.type, t.size, t.mode, t.mtime, t.linkname = typ, size, mode, T0, link
    t.uid, t.gid = uid, gid
    t.uname = t.gname = ""
    return t


class Layer:
    """A layer tar: entries as (kind, name, data-or-target)."""

    def __init__(self, *entries):
        self.entries = list(entries)

    def tar(self, fmt=tarfile.PAX_FORMAT):
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode="w", format=fmt) as tf:
            for kind, name, arg, *ids in self.entries:
                ids = dict(zip(("uid", "gid"), ids))
                if kind == "d":
                    tf.addfile(ti(name, tarfile.DIRTYPE, mode=0o755, **ids))
                elif kind == "f":
                    tf.addfile(ti(name, size=len(arg), **ids), io.BytesIO(arg))
                elif kind == "l":
                    tf.addfile(ti(name, tarfile.SYMTYPE, mode=0o777, link=arg, **ids))
                elif kind == "h":
                    tf.addfile(ti(name, tarfile.LNKTYPE, link=arg, **ids))
        return bio.getvalue()


def merged(layers):
    """The expected tree of simple LAYERS (no hardlinks): path -> (type, data)."""
    tree = {}
    for l in layers:
        for kind, name, arg, *_ in l.entries:
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


def overlay(layers):
    """The tree Docker's overlay2 driver shows for LAYERS (no hardlinks
    across layers), found the way it finds it, independently of merged():
    each layer is unpacked into an empty directory of its own, where moby's
    unpacker (pkg/archive, UnpackLayer and Unpack) first creates a missing
    parent of every entry, whiteouts and opaque markers included, then
    turns .wh.NAME into a whiteout device and .wh..wh..opq into an opaque
    mark on its directory; overlayfs then stacks the directories: an upper
    directory merges with a lower one unless opaque, anything else hides
    what is below.  Returns path -> (type, data) as merged() does."""
    diffs = []
    for l in layers:
        diff, opaque = {}, set()
        for kind, name, arg, *_ in l.entries:
            name = name.strip("/")
            parts = name.split("/")
            for i in range(1, len(parts)):
                diff.setdefault("/".join(parts[:i]), ("d", None))
            d, base = "/".join(parts[:-1]), parts[-1]
            if base == ".wh..wh..opq":
                opaque.add(d)
            elif base.startswith(".wh."):
                diff[(d + "/" if d else "") + base[4:]] = ("wh", None)
            else:
                if diff.get(name, ("x",))[0] == "d" and kind == "d":
                    continue
                for p in [p for p in diff if p.startswith(name + "/")]:
                    del diff[p]
                if kind == "h":
                    kind, arg = diff[arg.strip("/")]
                diff[name] = (kind, arg)
        diffs.append((diff, opaque))
    tree = {}
    for diff, opaque in diffs:
        for d in opaque:
            for p in [p for p in tree if d == "" or p.startswith(d + "/")]:
                del tree[p]
        for p in sorted(diff, key=lambda p: p.count("/")):
            kind, arg = diff[p]
            if kind == "d" and tree.get(p, ("x",))[0] == "d":
                continue
            for q in [q for q in tree if q == p or q.startswith(p + "/")]:
                del tree[q]
            if kind != "wh":
                tree[p] = (kind, arg)
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


def num12(v):
    """A 12-byte tar number: octal when it fits, else GNU base-256."""
    if v < 8 ** 11:
        return b"%011o\0" % v
    return bytes([0x80]) + v.to_bytes(11, "big")


def gnu_sparse(name, realsize, regions):
    """An old-GNU sparse entry ('S', as GNU tar -S writes it) of apparent
    size REALSIZE whose data REGIONS are (offset, bytes), at most three:
    the map lives in the header (4 slots, the last one the end marker)."""
    assert len(regions) <= 3
    stored = b"".join(d for _, d in regions)
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:116] = h[116:124] = b"0000000\0"
    h[124:136] = num12(len(stored))
    h[136:148] = num12(T0)
    h[156:157] = b"S"
    h[257:265] = b"ustar  \0"
    slots = [(o, len(d)) for o, d in regions]
    if not regions or regions[-1][0] + len(regions[-1][1]) < realsize:
        slots.append((realsize, 0))  # GNU tar's marker of a trailing hole
    for i, (o, n) in enumerate(slots):
        h[386 + 24 * i:398 + 24 * i] = num12(o)
        h[398 + 24 * i:410 + 24 * i] = num12(n)
    h[483:495] = num12(realsize)
    h[148:156] = b"        "
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h) + stored + b"\0" * (-len(stored) % 512)


def zstd_rle(data_blocks):
    """A zstd frame (RFC 8878) written by hand, standard library only: each
    item of DATA_BLOCKS is bytes (a raw block, at most 128 KiB) or an int N
    (N zero bytes, as RLE blocks of 128 KiB).  1 GiB of zeros is 32 KB."""
    out = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")  # magic; window 128 KiB
    blocks = []
    for b in data_blocks:
        if isinstance(b, int):
            while b > 0:
                n = min(b, 1 << 17)
                blocks.append((1, n, b"\0"))
                b -= n
        else:
            blocks.append((0, len(b), b))
    for i, (typ, n, payload) in enumerate(blocks):
        last = 1 if i == len(blocks) - 1 else 0
        out += (last | typ << 1 | n << 3).to_bytes(3, "little") + payload
    return bytes(out)


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
        self.probes = []

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

    def probe(self, name, path, what, want, secs=60):
        """After mounting case NAME, WHAT of PATH (reached by lookup, even
        where readdir does not list it) must be WANT within SECS seconds:
        WHAT is "sha256" (of the content), "uid", "gid" or an xattr name."""
        self.probes.append((name, path, what, want, str(secs)))

    def finish(self):
        with open(os.path.join(self.out, "cases.tsv"), "w") as f:
            for l in self.lines:
                f.write("\t".join(l) + "\n")
        with open(os.path.join(self.out, "probes.tsv"), "w") as f:
            for l in self.probes:
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

    # The same layer twice in manifest.json: valid; the tree is that of
    # applying it twice, which is that of once (imgfs reads a blob listed
    # twice in a row once: issue 13, item 12).
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

    # Sparse entries (issue 13, item 2).  A pax GNU.sparse.realsize with no
    # map: the stored 100 bytes, then zeros up to the apparent size, as
    # libarchive's reader and bsdtar have it (GNU tar reads 1500 bytes of
    # the archive for it, python's tarfile ignores the record); the file
    # after it must keep its own bytes (read in place, b once returned c's
    # header and data).
    rs_data = bytes((i * 13 + 1) & 0xff for i in range(100))
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as tf:
        t = ti("b", size=len(rs_data))
        t.pax_headers = {"GNU.sparse.realsize": "1500"}
        tf.addfile(t, io.BytesIO(rs_data))
        tf.addfile(ti("c", size=2048), io.BytesIO(b"charly" * 341 + b"cc"))
    rs_tree = {"b": ("f", rs_data + b"\0" * (1500 - len(rs_data))),
               "c": ("f", b"charly" * 341 + b"cc")}
    c.good("sparse-realsize-nomap", docker([bio.getvalue()])[0], rs_tree)
    c.good("sparse-realsize-nomap-gzip", oci([gzip.compress(bio.getvalue(), mtime=0)]), rs_tree)
    # A GNU sparse file that is all hole (truncate -s 2500M f; tar -S -cf):
    # no stored byte at all.  Only its size and a few bytes are checked
    # (hostile.sh reads it against /dev/zero): the tree file would need
    # 2.5 GB hashed.
    c.write("sparse-allhole.tar", docker([gnu_sparse("f", 2500 << 20, []) + b"\0" * 1024])[0])
    # Old-GNU sparse with data in the middle and at the end, uncompressed:
    # the expected bytes are python's own reading of the map.
    # (region lengths are multiples of 512: GNU tar pads each region's
    # data to a block, libarchive and python read them back to back)
    sp = gnu_sparse("s", 3 << 20, [(5, b"head" * 128), ((1 << 20) + 7, b"mid" * 1024),
                                   ((3 << 20) - 512, b"z" * 512)]) + b"\0" * 1024
    with tarfile.open(fileobj=io.BytesIO(sp)) as tf:
        sp_bytes = tf.extractfile("s").read()
    c.good("sparse-gnu", docker([sp])[0], {"s": ("f", sp_bytes)})
    c.good("sparse-gnu-gzip", oci([gzip.compress(sp, mtime=0)]), {"s": ("f", sp_bytes)})

    # A plain rootfs tar that is not a tar at all, and an empty file.
    c.bad("garbage", b"\x01\x02garbage" * 100, r"garbage\.tar: ")
    c.bad("empty", b"", r"empty\.tar: .*empty")

    # Whiteouts and opaque markers whose directory is missing, or is a file
    # or a symlink below (issue 13, item 6): moby makes the directory in
    # the layer first, so Docker shows an empty directory there.
    lower = Layer(("f", "x", b"file x\n"), ("d", "real", None), ("f", "real/y", b"y\n"),
                  ("l", "lnk", "real"), ("f", "keep", b"keep\n"))
    upper = Layer(("f", "newdir/.wh..wh..opq", b""), ("f", "x/.wh.y", b""),
                  ("f", "lnk/.wh.y", b""), ("f", "a/b/.wh.c", b""))
    c.good("whiteout-implied-parent", docker([lower.tar(), upper.tar()])[0],
           overlay([lower, upper]))

    # An image's own /.imgfs (issue 13, item 7): the virtual view wins, the
    # image's entry is /.imgfs/.imgfs, and readdir of / does not list it
    # (the tree is Docker's without it).
    own = [Layer(("d", ".imgfs", None), ("f", ".imgfs/keep", b"the image's own\n"),
                 ("f", "big", b"B" * 5000)),
           Layer(("f", ".wh.big", b""))]
    tree = overlay(own)
    for p in [p for p in tree if p == ".imgfs" or p.startswith(".imgfs/")]:
        del tree[p]
    c.good("own-dot-imgfs", docker([l.tar() for l in own])[0], tree)
    c.probe("own-dot-imgfs", ".imgfs/hidden/0/big", "sha256", sha(b"B" * 5000))
    c.probe("own-dot-imgfs", ".imgfs/.imgfs/keep", "sha256", sha(b"the image's own\n"))
    c.probe("own-dot-imgfs", "", "user.imgfs.wasted", "5000")

    # user.imgfs.layers of a file with many names deep in many layers
    # (issue 13, item 9): it cost names x layers x depth index probes per
    # getxattr (31 s here).  The top layer writes f0 and 999 hardlinks to
    # it; every layer has the directories (implied), some write one name.
    deep, nl, nn = "/".join(["d"] * 16), 1024, 1000
    many = []
    for k in range(nl - 1):
        e = [("f", "%s/g%d" % (deep, k), b"g")]
        if k % 17 == 0:
            e.append(("f", "%s/f%d" % (deep, k % nn), b"lower %d" % k))
        many.append(Layer(*e))
    many.append(Layer(("f", deep + "/f0", b"top\n"),
                      *[("h", "%s/f%d" % (deep, j), deep + "/f0") for j in range(1, nn)]))
    names = {"%s/f%d" % (deep, j) for j in range(nn)}
    want = [k for k, l in enumerate(many)
            if any(e[1] in names or e[1].replace("/.wh.", "/") in names for e in l.entries)]
    c.good("layers-many", docker([l.tar() for l in many])[0], overlay(many))
    c.probe("layers-many", deep + "/f0", "user.imgfs.layers", ",".join(map(str, want)), 10)

    # Names Linux cannot have (issue 13, item 17): a component over 255
    # bytes (NAME_MAX), a symlink target of 4096 bytes or more (PATH_MAX
    # with its NUL), everything under such a directory and hardlinks to
    # such a name are left out with a warning; a uid or gid over 2^32-2
    # (2^32-1 is (uid_t)-1, "no owner") shows as 65534, the kernel's
    # overflow id, never as the root its low 32 bits would be.
    n255, n256, n1025 = "a" * 255, "b" * 256, "c" * 1025
    lim = Layer(("f", n255, b"255\n"), ("f", n256, b"256\n"), ("d", "dir", None),
                ("f", "dir/" + n1025, b"1025\n"),
                ("d", "x" * 300, None), ("f", "x" * 300 + "/child", b"child\n"),
                ("h", "hl", n256), ("l", "ok-link", "t" * 4095), ("l", "long-link", "t" * 4096),
                ("f", "bigid", b"id\n", 1 << 40, (1 << 32) - 1), ("f", "maxid", b"id\n",
                (1 << 32) - 2, 7))
    tree = overlay([lim])
    for p in (n256, "dir/" + n1025, "x" * 300, "x" * 300 + "/child", "hl", "long-link"):
        del tree[p]
    c.good("name-limits", docker([lim.tar()])[0], tree,
           regex=r"warning: .*name-limits\.tar: layer 0 [^:]*: b{40}.*name component over 255 bytes.*"
           r"skipped")
    c.probe("name-limits", "bigid", "uid", "65534")
    c.probe("name-limits", "bigid", "gid", "65534")
    c.probe("name-limits", "maxid", "uid", str((1 << 32) - 2))
    c.probe("name-limits", "maxid", "gid", "7")
    c.probe("name-limits", n255, "sha256", sha(b"255\n"))


# ------------------------------------------------- --image by digest

def oci_unnamed(images, digests=None):
    """An OCI archive holding one unnamed linux/amd64 manifest per layer tar
    of IMAGES.  DIGESTS: the digests to file the manifests under instead
    of their own (for prefixes no real pair of digests shares).  Returns
    the archive and the manifest digests."""
    members = [("oci-layout", jdump({"imageLayoutVersion": "1.0.0"})),
               ("blobs/", None), ("blobs/sha256/", None)]
    descs, mdigests = [], []
    for i, t in enumerate(images):
        cfg = jdump({"architecture": "amd64", "os": "linux",
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(t)]}})
        man = jdump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                     "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                "digest": "sha256:" + sha(cfg), "size": len(cfg)},
                     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                 "digest": "sha256:" + sha(t), "size": len(t)}]})
        md = digests[i] if digests else sha(man)
        mdigests.append(md)
        descs.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "digest": "sha256:" + md, "size": len(man),
                      "platform": {"architecture": "amd64", "os": "linux"}})
        for name, b in ((sha(t), t), (sha(cfg), cfg), (md, man)):
            if ("blobs/sha256/" + name, b) not in members:
                members.append(("blobs/sha256/" + name, b))
    members.append(("index.json", jdump({"schemaVersion": 2, "manifests": descs})))
    return outer_tar(members), mdigests


def image_choice_cases(out):
    """issue 13, item 16: with several unnamed manifests imgfs offered
    "sha256:c680b7ced949..." but --image took neither that, the full digest
    nor bare hex.  Writes image-choice.tsv for tests/hostile.sh:

      name <TAB> image <TAB> --image value or "-" <TAB> exit <TAB> regex <TAB> tree

    The digests here are hashlib's, the trees the layers' own."""
    layers = [Layer(("f", "which", b"image %s\n" % k.encode())) for k in ("A", "B")]
    data, (da, db) = oci_unnamed([l.tar() for l in layers])
    if da[:12] == db[:12]:
        sys.exit("image_choice_cases: the two digests share 12 digits; change a layer")
    lines = []

    def case(name, want, exit_, regex="-", tree="-"):
        lines.append((name, "image-choice.tar", want, exit_, regex, tree))

    with open(os.path.join(out, "image-choice.tar"), "wb") as f:
        f.write(data)
    for k, d, l in (("a", da, layers[0]), ("b", db, layers[1])):
        with open(os.path.join(out, "image-choice-%s.tree" % k), "wb") as f:
            f.write(tree_lines(merged([l])).encode())
    # The message must offer each manifest in a form --image takes: the
    # 12-digit prefix (the two share no more), after "sha256:".
    case("choice-none", "-", "2",
         r"image-choice\.tar: index\.json: several images .*choose one with --image: "
         r"sha256:%s \(linux/amd64\), sha256:%s \(linux/amd64\)$" % (da[:12], db[:12]))
    for k, d in (("a", da), ("b", db)):
        tree = "image-choice-%s.tree" % k
        case("choice-%s-full" % k, "sha256:" + d, "0", tree=tree)
        case("choice-%s-hex" % k, d, "0", tree=tree)
        case("choice-%s-short" % k, "sha256:" + d[:12], "0", tree=tree)
        case("choice-%s-short-hex" % k, d[:12], "0", tree=tree)
        case("choice-%s-20" % k, d[:20], "0", tree=tree)
    # Neither manifest's: a 12-digit prefix of neither, and 11 digits of a
    # (too few to be a digest: a name, which no descriptor has).
    other = next(h for h in ("%012x" % i for i in range(1 << 12))
                 if not da.startswith(h) and not db.startswith(h))
    for name, want in (("choice-unknown", "sha256:" + other), ("choice-11", da[:11])):
        case(name, want, "2", r"image-choice\.tar: index\.json: no image named %s; it holds: "
             r"sha256:%s, sha256:%s$" % (want, da[:12], db[:12]))

    # Two manifests filed under digests that share 12 digits (real ones
    # never do): that prefix is ambiguous, one digit more is not.
    fa, fb = "c680b7ced949" + "a" * 52, "c680b7ced949" + "b" * 52
    data, _ = oci_unnamed([l.tar() for l in layers], digests=[fa, fb])
    with open(os.path.join(out, "image-choice-shared.tar"), "wb") as f:
        f.write(data)
    for want in ("sha256:c680b7ced949", "c680b7ced949"):
        lines.append(("choice-ambiguous-" + want[:6], "image-choice-shared.tar", want, "2",
                      r"image-choice-shared\.tar: index\.json: --image %s fits 2 digests, "
                      r"give more of one: sha256:c680b7ced949a, sha256:c680b7ced949b$" % want, "-"))
    lines.append(("choice-shared-13", "image-choice-shared.tar", "c680b7ced949b", "0", "-",
                  "image-choice-b.tree"))
    with open(os.path.join(out, "image-choice.tsv"), "w") as f:
        for l in lines:
            f.write("\t".join(l) + "\n")


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


def big_pkglist(path, n):
    """A dpkg database of N installed packages whose .list files are all
    one 60 MiB file (hardlinks), of lines padded with "/a/.." so that each
    costs ~1,600 lookups and no two in a row share a directory: gzipped,
    about 100 KB.  Unbounded, the package pass cost ~10 hours (issue 13)."""
    def layer(f):
        z = zlib.compressobj(9, zlib.DEFLATED, 31)
        bio = io.BytesIO()
        tf = tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT)

        def flush():
            f.write(z.compress(bio.getvalue()))
            bio.seek(0)
            bio.truncate()
        for d in ("a", "usr", "var", "var/lib", "var/lib/dpkg", "var/lib/dpkg/info"):
            tf.addfile(ti(d, tarfile.DIRTYPE, mode=0o755))
        for name in ("usr/f0", "usr/f1"):
            tf.addfile(ti(name, size=1), io.BytesIO(b"x"))
        status = b"".join(b"Package: p%d\nStatus: install ok installed\nVersion: 1\n\n" % i
                          for i in range(n))
        tf.addfile(ti("var/lib/dpkg/status", size=len(status)), io.BytesIO(status))
        # lines under PATH_MAX, alternating between two paddings
        lines = [b"/a/.." * (790 + k) + b"/usr/f%d\n" % k for k in (0, 1)]
        pair = lines[0] + lines[1]
        size = (60 << 20) // len(pair) * len(pair)
        flush()
        f.write(z.compress(ti("var/lib/dpkg/info/p0.list", size=size).tobuf(
            format=tarfile.PAX_FORMAT)))
        chunk = pair * ((1 << 20) // len(pair))
        left = size
        while left:
            k = min(left, len(chunk))
            f.write(z.compress(chunk[:k]))
            left -= k
        f.write(z.compress(b"\0" * (-size % 512)))
        tf.offset += size + (-size % 512)
        for i in range(1, n):
            tf.addfile(ti("var/lib/dpkg/info/p%d.list" % i, tarfile.LNKTYPE,
                          link="var/lib/dpkg/info/p0.list"))
            if i % 100 == 0:
                flush()
        tf.close()
        flush()
        f.write(z.flush())
    stream_docker(path, layer)


def big_sparse(path, size):
    """One old-GNU sparse file of apparent size SIZE holding 512 bytes at
    its start, its middle and its end (a tar of a few KB)."""
    regions = [(0, b"A" * 512), (size // 2 // 512 * 512, b"B" * 512), (size - 512, b"C" * 512)]

    def layer(f):
        f.write(gnu_sparse("sparse", size, regions))
        f.write(b"\0" * 1024)
    stream_docker(path, layer)


def zeros_layer():
    """A zstd layer of one file of 1 GiB less 1 MiB of zeros: 32 KB, and
    just under IMGFS_BOMB_MIN, so no one layer is a bomb."""
    size = (1 << 30) - (1 << 20)
    h = ti("zeros", size=size).tobuf(format=tarfile.GNU_FORMAT)
    return zstd_rle([h, size + 1024])


def big_zeros(path, n):
    """zeros_layer() listed N times in a row (one blob): the same as once."""
    t = zeros_layer()
    out, _ = docker([t], layer_names=[sha(t)[:16] + "00/layer.tar"] * n,
                    diff_ids=["sha256:" + sha(t)] * n)
    with open(path, "wb") as f:
        f.write(out)


def big_zerosalt(path, n):
    """zeros_layer() and an empty layer, alternating, N layers in all: each
    zeros layer is applied again, so the ratio over the image must stop
    it."""
    t, e = zeros_layer(), b"\0" * 1024
    names = [sha(t)[:16] + "00/layer.tar", sha(e)[:16] + "01/layer.tar"]
    out, _ = docker([t, e], layer_names=[names[i % 2] for i in range(n)],
                    diff_ids=["sha256:" + sha([t, e][i % 2]) for i in range(n)])
    with open(path, "wb") as f:
        f.write(out)


BIG = {"bomb": big_bomb, "deep": big_deep, "million": big_million,
       "pax": big_pax, "longname": big_longname, "pkglist": big_pkglist,
       "sparse": big_sparse, "zeros": big_zeros, "zerosalt": big_zerosalt}


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
    image_choice_cases(out)


if __name__ == "__main__":
    main()
