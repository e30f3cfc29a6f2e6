#!/usr/bin/env python3
"""Compares a directory tree (a mount) with reference files in the format of
../shared/fixtures/README.md and exits 0 only when they agree.

    treecmp.py ROOT REFPREFIX

REFPREFIX.reference.txt is required; REFPREFIX.reference-owners.txt,
.reference.sha256 and .reference-xattrs.txt are compared when present.
The tree is walked here with lstat, readlink, listxattr and sha256 (no
find, no awk), so a reference that is empty or unreadable can never make
both sides look equal: an empty or malformed reference is itself a failure.

What the OCI spec leaves open is left out by these rules and nothing else
(each is counted in the summary line, so an exclusion shows):
  root      the root entry (its attributes are the unpacker's)
  dirsize   the size of directories (the extracting filesystem's)
  dirnlink  the link count of directories (likewise)
  implied   mode and mtime of implied parent directories: a reference
            directory whose mtime has a non-zero fraction of a second (the
            time umoci unpacked it; image writers store whole seconds)
  wildcard  a field written '*' in the reference (tests/mkimage.py marks
            implied parents that way)
  selinux   security.selinux where the reference has none (the reference
            host could not store it); user.imgfs.* (imgfs's own) always
Exit: 0 equal, 1 different, 2 the reference cannot be read.
"""
import hashlib
import os
import re
import stat
import sys

TYPES = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFIFO: "p",
         stat.S_IFCHR: "c", stat.S_IFBLK: "b", stat.S_IFSOCK: "s"}
SHOW = 20  # differences printed per part


class BadReference(Exception):
    pass


def fields(path, want):
    """The tab-separated lines of PATH, each with exactly WANT fields."""
    out = []
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip(b"\n")
            if not line:
                continue
            fl = line.split(b"\t")
            if len(fl) != want:
                raise BadReference("%s:%d: %d fields, expected %d"
                                   % (path, no, len(fl), want))
            out.append(fl)
    return out


def mtime_ns(text):
    """find's %T@ ("1700000000.0000000000") as integer nanoseconds."""
    m = re.fullmatch(rb"(-?\d+)(?:\.(\d+))?", text)
    if not m:
        raise BadReference("bad mtime %r" % text)
    frac = (m.group(2) or b"").ljust(9, b"0")[:9]
    sec = int(m.group(1))
    return sec * 10**9 + (int(frac) if sec >= 0 else -int(frac))


def unescape_getfattr(name):
    """getfattr writes bytes outside printable ASCII (and '\\') as \\ooo."""
    return re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), name)


def walk(root):
    """{relative path: lstat} of every entry below ROOT, root excluded."""
    out = {}
    stack = [b""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root, rel) if rel else root) as it:
            for e in it:
                p = rel + b"/" + e.name if rel else e.name
                st = os.lstat(os.path.join(root, p))
                out[p] = st
                if stat.S_ISDIR(st.st_mode):
                    stack.append(p)
    return out


class Report:
    def __init__(self):
        self.bad = 0
        self.counts = {}

    def count(self, what, n=1):
        self.counts[what] = self.counts.get(what, 0) + n

    def diff(self, part, lines):
        if not lines:
            return
        self.bad += len(lines)
        print("    %s: %d difference(s) (expected -> imgfs):" % (part, len(lines)))
        for line in sorted(lines)[:SHOW]:
            print("      " + line)
        if len(lines) > SHOW:
            print("      ... %d more" % (len(lines) - SHOW))


def show(p):
    return p.decode("utf-8", "backslashreplace")


def same(ref_field, actual, what, rep):
    """A reference field against the tree's value ('*' matches anything)."""
    if ref_field == b"*":
        rep.count("wildcard")
        return True
    return ref_field == actual


def compare_listing(tree, root, prefix, rep, implied):
    ref = {}
    for p, t, mode, size, target in fields(prefix + ".reference.txt", 5):
        if p in (b"", b"."):
            rep.count("root")
            continue
        if p in ref:
            raise BadReference("%s.reference.txt: %s listed twice" % (prefix, show(p)))
        ref[p] = (t, mode, size, target)
    if not ref:
        raise BadReference("%s.reference.txt has no entries" % prefix)
    diffs = []
    for p in sorted(set(ref) | set(tree)):
        if p not in tree:
            diffs.append("%s: missing from the tree" % show(p))
            continue
        if p not in ref:
            diffs.append("%s: not in the reference" % show(p))
            continue
        st = tree[p]
        t, mode, size, target = ref[p]
        at = TYPES.get(stat.S_IFMT(st.st_mode), "?").encode()
        amode = b"%o" % stat.S_IMODE(st.st_mode)
        asize = b"%d" % st.st_size
        atarget = os.readlink(os.path.join(root, p)) if at == b"l" else b""
        wrong = []
        if t != at:
            wrong.append("type %s -> %s" % (t.decode(), at.decode()))
        if p in implied:
            rep.count("implied")
        elif not same(mode, amode, "mode", rep):
            wrong.append("mode %s -> %s" % (mode.decode(), amode.decode()))
        if t == b"d":
            rep.count("dirsize")
        elif not same(size, asize, "size", rep):
            wrong.append("size %s -> %s" % (size.decode(), asize.decode()))
        if not same(target, atarget, "target", rep):
            wrong.append("target %s -> %s" % (show(target), show(atarget)))
        if wrong:
            diffs.append("%s: %s" % (show(p), ", ".join(wrong)))
        rep.count("entries")
    rep.diff("listing (path type mode size target)", diffs)


def implied_dirs(prefix):
    """Directories of the owners reference with a sub-second mtime."""
    out = set()
    path = prefix + ".reference-owners.txt"
    if not os.path.exists(path):
        return out
    for p, t, _, _, _, mt in fields(path, 6):
        if t == b"d" and mt != b"*" and mtime_ns(mt) % 10**9:
            out.add(p)
    return out


def compare_owners(tree, prefix, rep, implied):
    path = prefix + ".reference-owners.txt"
    if not os.path.exists(path):
        return
    diffs = []
    seen = 0
    for p, t, uid, gid, nlink, mt in fields(path, 6):
        if p in (b"", b"."):
            continue
        seen += 1
        st = tree.get(p)
        if st is None:
            continue  # the listing reports it
        wrong = []
        if not same(uid, b"%d" % st.st_uid, "uid", rep):
            wrong.append("uid %s -> %d" % (uid.decode(), st.st_uid))
        if not same(gid, b"%d" % st.st_gid, "gid", rep):
            wrong.append("gid %s -> %d" % (gid.decode(), st.st_gid))
        if t == b"d":
            rep.count("dirnlink")
        elif not same(nlink, b"%d" % st.st_nlink, "nlink", rep):
            wrong.append("nlink %s -> %d" % (nlink.decode(), st.st_nlink))
        if p in implied:
            pass  # counted by the listing
        elif mt == b"*":
            rep.count("wildcard")
        elif mtime_ns(mt) != st.st_mtime_ns:
            wrong.append("mtime %s -> %d.%09d" % (mt.decode(), st.st_mtime_ns // 10**9,
                                                   st.st_mtime_ns % 10**9))
        if wrong:
            diffs.append("%s: %s" % (show(p), ", ".join(wrong)))
        rep.count("owners")
    if not seen:
        raise BadReference("%s has no entries" % path)
    rep.diff("owners (uid gid nlink mtime)", diffs)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest().encode()


def compare_sha256(tree, root, prefix, rep):
    path = prefix + ".reference.sha256"
    if not os.path.exists(path):
        return
    ref = {}
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip(b"\n")
            if not line:
                continue
            m = re.fullmatch(rb"([0-9a-f]{64}) [ *]\./(.*)", line)
            if not m:
                raise BadReference("%s:%d: not a sha256sum line" % (path, no))
            ref[m.group(2)] = m.group(1)
    files = {p for p, st in tree.items() if stat.S_ISREG(st.st_mode)}
    diffs = []
    for p in sorted(set(ref) | files):
        if p not in files:
            diffs.append("%s: no regular file in the tree" % show(p))
        elif p not in ref:
            diffs.append("%s: regular file without a reference sum" % show(p))
        else:
            got = sha256(os.path.join(root, p))
            if got != ref[p]:
                diffs.append("%s: %s -> %s" % (show(p), ref[p].decode(), got.decode()))
            rep.count("sha256")
    rep.diff("sha256", diffs)


def ours(name):
    return name.startswith(b"user.imgfs.")


def compare_xattrs(tree, root, prefix, rep):
    path = prefix + ".reference-xattrs.txt"
    if not os.path.exists(path):
        return
    ref = {}
    cur = None
    with open(path, "rb") as f:
        for no, line in enumerate(f, 1):
            line = line.rstrip(b"\n")
            if line.startswith(b"# file: "):
                cur = unescape_getfattr(line[8:])
                if cur.startswith(b"./"):
                    cur = cur[2:]
                if cur == b".":
                    cur = b""
                continue
            if not line:
                continue
            m = re.fullmatch(rb"([^=]+)=0x([0-9a-f]*)", line)
            if cur is None or not m:
                raise BadReference("%s:%d: not getfattr -e hex output" % (path, no))
            if cur == b"":
                rep.count("root")
                continue
            ref[(cur, m.group(1))] = bytes.fromhex(m.group(2).decode())
    ref_paths_selinux = {p for (p, n) in ref if n == b"security.selinux"}
    act = {}
    for p in tree:
        full = os.path.join(root, p)
        for n in os.listxattr(full, follow_symlinks=False):
            nb = n.encode("utf-8", "surrogateescape")
            if ours(nb):
                rep.count("imgfs")
                continue
            if nb == b"security.selinux" and p not in ref_paths_selinux:
                rep.count("selinux")
                continue
            act[(p, nb)] = os.getxattr(full, n, follow_symlinks=False)
    diffs = []
    for key in sorted(set(ref) | set(act)):
        p, n = key
        if key not in act:
            diffs.append("%s: %s missing" % (show(p), n.decode()))
        elif key not in ref:
            diffs.append("%s: %s=0x%s not in the reference" % (show(p), n.decode(),
                                                             act[key].hex()))
        elif act[key] != ref[key]:
            diffs.append("%s: %s 0x%s -> 0x%s" % (show(p), n.decode(), ref[key].hex(),
                                                   act[key].hex()))
        else:
            rep.count("xattrs")
    rep.diff("xattrs", diffs)


def main():
    if len(sys.argv) != 3:
        print("usage: treecmp.py ROOT REFPREFIX", file=sys.stderr)
        return 2
    root, prefix = os.fsencode(sys.argv[1]), sys.argv[2]
    rep = Report()
    try:
        tree = walk(root)
        implied = implied_dirs(prefix)
        compare_listing(tree, root, prefix, rep, implied)
        compare_owners(tree, prefix, rep, implied)
        compare_sha256(tree, root, prefix, rep)
        compare_xattrs(tree, root, prefix, rep)
    except (BadReference, OSError) as e:
        print("    reference %s: %s" % (prefix, e))
        return 2
    c = rep.counts
    print("    compared %d entries, %d owner lines, %d sha256, %d xattrs; left out by rule:"
          " root %d, dirsize %d, dirnlink %d, implied %d, wildcard %d, selinux %d, user.imgfs %d"
          % (c.get("entries", 0), c.get("owners", 0), c.get("sha256", 0), c.get("xattrs", 0),
             c.get("root", 0), c.get("dirsize", 0), c.get("dirnlink", 0), c.get("implied", 0),
             c.get("wildcard", 0), c.get("selinux", 0), c.get("imgfs", 0)))
    return 1 if rep.bad else 0


if __name__ == "__main__":
    sys.exit(main())
