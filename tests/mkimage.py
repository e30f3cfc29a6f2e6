#!/usr/bin/env python3
"""Writes small container image tarballs for the imgfs mount tests, with the
expected merged tree computed from this script's own model of the layers.

Usage: mkimage.py OUTDIR

Python standard library only (no zstd there, so every compressed blob is
gzip). The same multi-layer image "layered" is written as:

  layered.docker.tar      classic docker-archive (<id>/layer.tar, manifest.json last)
  layered.docker.tar.gz   the same, gzipped as a whole (outer compression)
  layered.oci.tar         OCI archive (oci-layout, index.json, gzip layers)
  layered.ocidir/         the same OCI layout as a directory

and its expected tree as layered.reference.txt, layered.reference-owners.txt,
layered.reference-xattrs.txt and layered.reference.sha256, in the format of
../shared/fixtures (see fixtures/README.md). One extension: a field of '*'
in a reference line matches anything (used for the mode and mtime of
implied parent directories, which the OCI spec leaves unspecified).

Also: multi.docker.tar (two tags: imgfs-test/layered:latest and
imgfs-test/small:1.0; small.reference* for the second), and bad-*.tar, each of
which imgfs must refuse with exit status 2.

The model applies layers as the OCI image spec says: a layer's whiteouts act
on the lower layers only (before its own entries, wherever they stand in the
tar), an entry replaces whatever lower entry had its name unless both are
directories, a hardlink binds to the inode its target names at that point.
"""

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import sys
import tarfile

T0 = 1700000000  # 2023-11-14
T1 = 1710000000
T3 = 1720000000
CREATED = "2024-01-01T00:00:00Z"


# ---------------------------------------------------------------- layer tars

class Layer:
    """The entries of one layer tar, in tar order."""

    def __init__(self, created_by):
        self.created_by = created_by
        self.entries = []  # (TarInfo, bytes or None)

    def _ti(self, name, typ, mode, uid, gid, mtime):
        ti = tarfile.TarInfo(name)
        ti.type = typ
        ti.mode = mode
        ti.uid, ti.gid = uid, gid
        ti.uname = ti.gname = ""
        ti.mtime = mtime
        return ti

    def dir(self, name, mode=0o755, uid=0, gid=0, mtime=T0):
        self.entries.append((self._ti(name, tarfile.DIRTYPE, mode, uid, gid, mtime), None))
        return self

    def file(self, name, data, mode=0o644, uid=0, gid=0, mtime=T0, xattrs=None):
        if isinstance(data, str):
            data = data.encode()
        ti = self._ti(name, tarfile.REGTYPE, mode, uid, gid, mtime)
        ti.size = len(data)
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        self.entries.append((ti, data))
        return self

    def symlink(self, name, target, uid=0, gid=0, mtime=T0):
        ti = self._ti(name, tarfile.SYMTYPE, 0o777, uid, gid, mtime)
        ti.linkname = target
        self.entries.append((ti, None))
        return self

    def hardlink(self, name, target, mode=0o644, uid=0, gid=0, mtime=T0):
        ti = self._ti(name, tarfile.LNKTYPE, mode, uid, gid, mtime)
        ti.linkname = target
        self.entries.append((ti, None))
        return self

    def fifo(self, name, mode=0o644, uid=0, gid=0, mtime=T0):
        self.entries.append((self._ti(name, tarfile.FIFOTYPE, mode, uid, gid, mtime), None))
        return self

    def whiteout(self, name, mtime=T1):
        d, b = os.path.split(name)
        return self.file(os.path.join(d, ".wh." + b), b"", mode=0o644, mtime=mtime)

    def opaque(self, dirname, mtime=T1):
        return self.file(os.path.join(dirname, ".wh..wh..opq"), b"", mode=0o644, mtime=mtime)

    def tar(self):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
            for ti, data in self.entries:
                tf.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


# ------------------------------------------------------------ merged model

class Inode:
    def __init__(self, typ, mode, uid, gid, mtime, data=b"", target="", xattrs=None,
                 implied=False):
        self.typ, self.mode, self.uid, self.gid, self.mtime = typ, mode, uid, gid, mtime
        self.data, self.target = data, target
        self.xattrs = dict(xattrs or {})
        self.implied = implied


def norm(name):
    while name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    return "" if name == "." else name


def remove_tree(tree, path):
    for p in [p for p in tree if p == path or p.startswith(path + "/")]:
        del tree[p]


def apply_layer(tree, layer):
    """Applies LAYER to TREE (path -> Inode) in place."""
    # Whiteouts first: they act on the lower layers only.
    for ti, _ in layer.entries:
        name = norm(ti.name)
        d, b = os.path.split(name)
        if b == ".wh..wh..opq":
            for p in [p for p in tree if p and (not d or p.startswith(d + "/"))]:
                del tree[p]
        elif b.startswith(".wh."):
            remove_tree(tree, os.path.join(d, b[4:]))
    for ti, data in layer.entries:
        name = norm(ti.name)
        if not name or os.path.basename(name).startswith(".wh."):
            continue
        parts = name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in tree and tree[parent].typ != "d":
                remove_tree(tree, parent)
            if parent not in tree:
                tree[parent] = Inode("d", 0o755, 0, 0, 0, implied=True)
        old = tree.get(name)
        if ti.isdir():
            if old is not None and old.typ == "d":
                old.mode, old.uid, old.gid, old.mtime = ti.mode, ti.uid, ti.gid, ti.mtime
                old.implied = False
                continue
            if old is not None:
                remove_tree(tree, name)
            tree[name] = Inode("d", ti.mode, ti.uid, ti.gid, ti.mtime)
            continue
        if old is not None:
            remove_tree(tree, name)
        xattrs = {k[len("SCHILY.xattr."):]: v for k, v in ti.pax_headers.items()
                  if k.startswith("SCHILY.xattr.")}
        if ti.islnk():
            tree[name] = tree[norm(ti.linkname)]
        elif ti.isreg():
            tree[name] = Inode("f", ti.mode, ti.uid, ti.gid, ti.mtime, data=data, xattrs=xattrs)
        elif ti.issym():
            tree[name] = Inode("l", 0o777, ti.uid, ti.gid, ti.mtime, target=ti.linkname,
                               xattrs=xattrs)
        elif ti.isfifo():
            tree[name] = Inode("p", ti.mode, ti.uid, ti.gid, ti.mtime, xattrs=xattrs)
        else:
            raise ValueError("model does not handle " + ti.name)


def merge(layers):
    tree = {}
    for layer in layers:
        apply_layer(tree, layer)
    return tree


def provenance(layers, prefix):
    """Writes PREFIX.reference-imgfs.txt: for every path of the merged tree
    (the root left out), the expected user.imgfs.layer, user.imgfs.layers
    and user.imgfs.wasted, from this model alone:

    - layer: the layer whose entry made the inode, or last set a
      directory's attributes (an implied parent: the layer that implied it);
      a hardlink shares its target's;
    - layers: every layer with an entry, or a whiteout, at that path ("-"
      for none), or at any name of the same inode (hardlinks);
    - wasted: the bytes of regular files some layer made that the merged
      tree no longer holds, each such inode once, charged to every directory
      of the merged tree along the path it was made at, and to the
      non-directory now at that path or at one of its parents (a file that
      replaced a directory: what was under it is "at or under its path")."""
    tree, layer_of, born, touched = {}, {}, {}, {}
    for li, layer in enumerate(layers):
        explicit = []
        for ti, _ in layer.entries:
            name = norm(ti.name)
            d, b = os.path.split(name)
            if b == ".wh..wh..opq":
                continue
            path = os.path.join(d, b[4:]) if b.startswith(".wh.") else name
            if path and li not in touched.setdefault(path, []):
                touched[path].append(li)
            if not b.startswith(".wh."):
                explicit.append((name, ti))
        apply_layer(tree, layer)
        for path, ino in tree.items():
            if id(ino) not in born:
                born[id(ino)] = (ino, path)
                layer_of[id(ino)] = li
        for name, ti in explicit:
            if name in tree and ti.isdir() and tree[name].typ == "d":
                layer_of[id(tree[name])] = li
    live = set(id(i) for i in tree.values())
    wasted = {}
    for key, (ino, path) in born.items():
        if key in live or ino.typ != "f" or not ino.data:
            continue
        parts = path.split("/")
        wasted[""] = wasted.get("", 0) + len(ino.data)
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub not in tree:
                break
            # a file standing where a hidden directory was hides it too
            wasted[sub] = wasted.get(sub, 0) + len(ino.data)
            if tree[sub].typ != "d":
                break
    # an xattr belongs to the inode: a file's layers are those of all its names
    def layers_of(ino):
        got = set()
        for p, i in tree.items():
            if i is ino:
                got.update(touched.get(p, []))
        return ",".join(str(x) for x in sorted(got)) or "-"
    lines = ["%s\t%d\t%s\t%d" % (path, layer_of[id(ino)], layers_of(ino), wasted.get(path, 0))
             for path, ino in tree.items() if path]
    with open(prefix + ".reference-imgfs.txt", "w") as f:
        f.write("".join(line + "\n" for line in sorted(lines, key=lambda x: x.encode())))
    return wasted.get("", 0)


def write_references(tree, prefix):
    def csort(lines):
        return sorted(lines, key=lambda s: s.encode())
    nlink = {}
    for ino in tree.values():
        nlink[id(ino)] = nlink.get(id(ino), 0) + 1
    ref, owners, sums, xattrs = [], [], [], []
    for path, ino in tree.items():
        if ino.typ == "d":
            size = "-"
            nl = 2 + sum(1 for p, i in tree.items()
                         if i.typ == "d" and os.path.dirname(p) == path)
        else:
            size = {"f": len(ino.data), "l": len(ino.target.encode()), "p": 0}[ino.typ]
            nl = nlink[id(ino)]
        mode = "*" if ino.implied else "%o" % (ino.mode & 0o7777)
        mtime = "*" if ino.implied else "%d.0000000000" % ino.mtime
        ref.append("%s\t%s\t%s\t%s\t%s" % (path, ino.typ, mode, size, ino.target))
        owners.append("%s\t%s\t%d\t%d\t%d\t%s" % (path, ino.typ, ino.uid, ino.gid, nl, mtime))
        if ino.typ == "f":
            sums.append("%s  ./%s" % (hashlib.sha256(ino.data).hexdigest(), path))
        if ino.xattrs:
            xattrs.append("# file: %s\n%s\n" % (path, "".join(
                "%s=0x%s\n" % (k, v.encode().hex()) for k, v in sorted(ino.xattrs.items()))))
    for suffix, lines in ((".reference.txt", ref), (".reference-owners.txt", owners),
                          (".reference.sha256", sums)):
        with open(prefix + suffix, "w") as f:
            f.write("".join(line + "\n" for line in csort(lines)))
    with open(prefix + ".reference-xattrs.txt", "w") as f:
        f.write("".join(xattrs))


# ----------------------------------------------------------------- images

def layered_image():
    """The multi-layer image with one of every edge case."""
    rnd = random.Random(20240101)
    big = rnd.randbytes(3 * 1024 * 1024)
    l0 = (Layer("/bin/sh -c #(nop) ADD file:base in / ")
          .dir("etc").file("etc/base.conf", "base config\n")
          .file("etc/os-release", 'NAME="imgfs test"\n')
          .dir("bin").file("bin/tool", "#!/bin/sh\necho tool\n", mode=0o4755)
          .dir("home").dir("home/user", mode=0o750, uid=1000, gid=1000, mtime=T0 + 5)
          .file("home/user/notes.txt", "notes\n", mode=0o600, uid=1000, gid=1000, mtime=T0 + 6)
          .dir("del").file("del/gone.txt", "to be whited out\n").file("del/keep.txt", "kept\n")
          .dir("deldir").dir("deldir/sub").file("deldir/sub/x.txt", "x\n")
          .file("deldir/y.txt", "y\n")
          .dir("opq").file("opq/old1.txt", "old\n").dir("opq/oldsub")
          .file("opq/oldsub/z.txt", "zzz\n")
          .dir("d2f").file("d2f/child.txt", "child of a dir that becomes a file\n")
          .file("f2d", "a file that becomes a directory\n")
          .dir("hl").file("hl/one", "original\n").hardlink("hl/two", "hl/one")
          .dir("links").symlink("links/rel", "../etc/base.conf")
          .symlink("links/abs", "/etc/base.conf").symlink("links/dangling", "/nonexistent/target")
          .dir("run").fifo("run/fifo")
          .dir("xattr").file("xattr/file", "has an xattr\n", xattrs={"user.test": "hello xattr"})
          .file("a/b/c.txt", "implied parents\n", mtime=T0 + 7)
          .dir("big").file("big/random.bin", big, mtime=T0 + 8))
    l1 = (Layer("/bin/sh -c rm -rf /del/gone.txt /deldir && echo changes")
          .dir("del", mtime=T1).whiteout("del/gone.txt")
          .whiteout("deldir")
          .dir("opq", mtime=T1).file("opq/new.txt", "new\n", mtime=T1)
          .dir("opq/newsub", mtime=T1).file("opq/newsub/n.txt", "n\n", mtime=T1)
          .opaque("opq")
          .file("d2f", "was a directory\n", mtime=T1)
          .dir("f2d", mode=0o700, mtime=T1).file("f2d/inner.txt", "inside\n", mtime=T1)
          .dir("hl", mtime=T1).file("hl/one", "replaced in layer 1\n", mtime=T1)
          .hardlink("hl/three", "etc/base.conf"))
    l2 = Layer("/bin/sh -c true # empty layer")
    l3 = (Layer("COPY srv /srv")
          .dir("./", mode=0o755, mtime=T3)
          .dir("./srv", mode=0o755, uid=33, gid=33, mtime=T3)
          .file("./srv/data.txt", "served\n", mode=0o640, uid=33, gid=33, mtime=T3))
    return [l0, l1, l2, l3]


def small_image():
    return [Layer("ADD hello /")
            .dir("bin").file("bin/hello", "#!/bin/sh\necho hello\n", mode=0o755)
            .file("hello.txt", "hello from the small image\n")]


def sha(b):
    return hashlib.sha256(b).hexdigest()


def config_for(layers, tars):
    history = []
    for i, layer in enumerate(layers):
        history.append({"created": CREATED, "created_by": layer.created_by})
        if i == 0:
            history.append({"created": CREATED, "created_by": '/bin/sh -c #(nop) ENV LANG=C.UTF-8',
                            "empty_layer": True})
    return {"architecture": "amd64", "os": "linux", "created": CREATED,
            "config": {"Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(t) for t in tars]},
            "history": history}


def jdump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


class Outer:
    """An outer tar written in the order members are added."""

    def __init__(self, path):
        self.tf = tarfile.open(path, "w", format=tarfile.PAX_FORMAT)

    def add(self, name, data, mode=0o644):
        ti = tarfile.TarInfo(name)
        ti.size, ti.mode, ti.mtime = len(data), mode, T0
        self.tf.addfile(ti, io.BytesIO(data))

    def adddir(self, name):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, T0
        self.tf.addfile(ti)

    def close(self):
        self.tf.close()


def docker_members(images, manifest_hook=None, config_hook=None):
    """Members of a classic docker-archive holding IMAGES = [(tags, layers)]."""
    members, manifest, repos = [], [], {}
    for tags, layers in images:
        tars = [l.tar() for l in layers]
        cfg = config_for(layers, tars)
        if config_hook:
            cfg = config_hook(cfg)
        cfgb = jdump(cfg)
        ids, parent = [], ""
        for t in tars:
            v1 = sha((parent + sha(t)).encode())
            ids.append(v1)
            members.append((v1 + "/", None))
            members.append((v1 + "/VERSION", b"1.0"))
            members.append((v1 + "/json", jdump({"id": v1, "parent": parent} if parent
                                                else {"id": v1})))
            members.append((v1 + "/layer.tar", t))
            parent = v1
        members.append((sha(cfgb) + ".json", cfgb))
        manifest.append({"Config": sha(cfgb) + ".json", "RepoTags": tags,
                         "Layers": [i + "/layer.tar" for i in ids]})
        for tag in tags:
            repo, _, t = tag.rpartition(":")
            repos.setdefault(repo, {})[t] = ids[-1]
    mb = jdump(manifest)
    if manifest_hook:
        mb = manifest_hook(manifest, mb)
    # docker save sorts members: manifest.json and repositories come last.
    return members + [("manifest.json", mb), ("repositories", jdump(repos))]


def write_members(path, members):
    out = Outer(path)
    seen = set()
    for name, data in members:
        if name in seen:
            continue
        seen.add(name)
        if data is None:
            out.adddir(name)
        else:
            out.add(name, data)
    out.close()


def oci_members(layers, refname):
    tars = [l.tar() for l in layers]
    gz = [gzip.compress(t, mtime=0) for t in tars]
    cfgb = jdump(config_for(layers, tars))
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": "sha256:" + sha(cfgb), "size": len(cfgb)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": "sha256:" + sha(g), "size": len(g)} for g in gz]}
    manb = jdump(man)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": "sha256:" + sha(manb), "size": len(manb),
                            "annotations": {"org.opencontainers.image.ref.name": refname}}]}
    members = [("blobs/", None), ("blobs/sha256/", None)]
    for blob in gz + [cfgb, manb]:
        members.append(("blobs/sha256/" + sha(blob), blob))
    members += [("index.json", jdump(index)),
                ("oci-layout", jdump({"imageLayoutVersion": "1.0.0"}))]
    return members


def write_dir(path, members):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    for name, data in members:
        p = os.path.join(path, name)
        if data is None:
            os.makedirs(p, exist_ok=True)
        else:
            with open(p, "wb") as f:
                f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: mkimage.py OUTDIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    P = lambda n: os.path.join(out, n)

    layered, small = layered_image(), small_image()
    write_references(merge(layered), P("layered"))
    write_references(merge(small), P("small"))
    with open(P("layered.reference-wasted.txt"), "w") as f:
        f.write("%d\n" % provenance(layered, P("layered")))

    dm = docker_members([(["imgfs-test/layered:latest"], layered)])
    write_members(P("layered.docker.tar"), dm)
    with open(P("layered.docker.tar"), "rb") as f:
        raw = f.read()
    with open(P("layered.docker.tar.gz"), "wb") as f:
        f.write(gzip.compress(raw, mtime=0))
    om = oci_members(layered, "latest")
    write_members(P("layered.oci.tar"), om)
    write_dir(P("layered.ocidir"), om)
    write_members(P("multi.docker.tar"), docker_members(
        [(["imgfs-test/layered:latest"], layered), (["imgfs-test/small:1.0"], small)]))

    # Bad inputs: each must make imgfs exit 2.
    with open(P("bad-truncated.tar"), "wb") as f:
        f.write(raw[:len(raw) // 2 + 100])
    write_members(P("bad-null-manifest.tar"),
                  docker_members([(["t:1"], small)], manifest_hook=lambda m, b: b"null"))
    write_members(P("bad-notjson-manifest.tar"),
                  docker_members([(["t:1"], small)],
                                 manifest_hook=lambda m, b: b'[{"Config": this is not json'))

    def drop_diffid(cfg):
        cfg["rootfs"]["diff_ids"] = cfg["rootfs"]["diff_ids"][:-1]
        return cfg
    write_members(P("bad-layercount.tar"),
                  docker_members([(["t:1"], layered)], config_hook=drop_diffid))

    def missing_layer(m, b):
        m[0]["Layers"].append("0" * 64 + "/layer.tar")
        return jdump(m)

    def add_diffid(cfg):
        cfg["rootfs"]["diff_ids"].append("sha256:" + "0" * 64)
        return cfg
    write_members(P("bad-missing-layer.tar"),
                  docker_members([(["t:1"], small)], manifest_hook=missing_layer,
                                 config_hook=add_diffid))
    escape = [Layer("ADD evil /").dir("etc").file("etc/ok.txt", "ok\n")
              .file("../escape", "escaped\n")]
    write_members(P("bad-escape.tar"), docker_members([(["t:1"], escape)]))


if __name__ == "__main__":
    main()
