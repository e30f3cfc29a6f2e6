#!/usr/bin/env python3
"""Writes the hostile corpus of tests/hostile.sh: malformed, malicious and
oversized container images, each with what imgfs must do with it.

Usage: make_hostile.py OUTDIR               the small cases (about 1.5 MB)
       make_hostile.py FILE --big CASE N    one large case streamed to FILE:
                                            bomb, deep, million, pax,
                                            longname, sparse, zeros or
                                            zerosalt, of size N (big_*)

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
       "pax": big_pax, "longname": big_longname, "sparse": big_sparse,
       "zeros": big_zeros, "zerosalt": big_zerosalt}


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
    c.finish()


if __name__ == "__main__":
    main()
