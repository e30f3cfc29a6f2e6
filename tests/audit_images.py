#!/usr/bin/env python3
"""Writes the two small images of tests/audit.sh and what imgfs-audit and
imgfs-compare must find in them.

Usage: audit_images.py OUTDIR [UNSTRIPPED_ELF]

  OUTDIR/bloated.docker.tar  4 layers with planted bloat: __pycache__ and
                             .pyc (one a hardlink), a site-packages pkg/tests
                             dir, the application's tests/ and scripts/,
                             pytest and pip in a venv, apt lists and
                             cache, root/.cache/pip, gcc/cc1/usr/include,
                             docs and man pages, a static library, the given
                             unstripped ELF (built with gcc -g by the test;
                             left out without it), a file deleted and a file
                             replaced by the last layer
  OUTDIR/slim.docker.tar     the same application without the bloat
  OUTDIR/cleaned.docker.tar  bloated plus a fifth layer that deletes the bloat:
                             the merged tree shrinks, the image grows
  OUTDIR/expected.tsv        tab-separated expectations:
      group PATTERN /PATH BYTES     a path imgfs-audit must list under PATTERN
      total PATTERN BYTES           the pattern's total (merged tree)
      hidden LAYER /PATH BYTES WHY  a hidden file (deleted / replaced by layer N)
      hiddenlayer LAYER BYTES       bytes hidden in LAYER
      image NAME BYTES              merged size of image NAME (each inode once)
      layers NAME BYTES COUNT       sum of the layer tars' sizes, number of layers
      hiddentotal NAME BYTES        bytes the layers ship that the merged tree
                                    does not show (each layer's file contents
                                    minus the merged size)
      layer NAME N BYTES            size of layer N's tar
      path NAME /PATH TYPE BYTES    a non-directory of the merged tree (TYPE
                                    f, l or p; BYTES: a regular file's size,
                                    else 0; every path of a hardlink)
      dir NAME /PATH BYTES          a first- or second-level directory and
                                    the bytes of the regular files beneath it
                                    (each inode once)
      config NAME FIELD VALUE       a field of the image config as imgfs-compare's
                                    config checks see it (arrays joined with
                                    one space, ExposedPorts its sorted keys,
                                    Labels KEY=VALUE sorted by key, Env.NAME
                                    and Labels.KEY, absent = empty), computed
                                    here from CONFIGS

The images' configs (CONFIGS) differ in User, Entrypoint, Cmd, Env,
ExposedPorts and Labels: bloated runs as root in debug mode, slim as "app".

Layer building, merging and archive writing come from tests/mkimage.py;
what strip would save on the ELF is read here from its section headers
(strip_bytes), independently of imgfs's C.
"""

import os
import random
import struct
import tarfile
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mkimage  # noqa: E402
from mkimage import Layer  # noqa: E402

SP = "app/venv/lib/python3.11/site-packages"


def blob(tag, n):
    rnd = random.Random(tag)
    return bytes(rnd.getrandbits(8) for _ in range(n))


# BFD's debug section names (bfd/elf.c), which strip --strip-unneeded drops
DEBUG_PREFIXES = (".debug", ".zdebug", ".gnu.debuglto_.debug_", ".gnu.linkonce.wi.", ".line", ".stab")


def strip_bytes(data):
    """What strip --strip-unneeded saves on an ELF64 LE file, by the rule
    imgfs counts (fs/elf/elf_strip.c), written again here from the ELF
    spec: the non-allocated debug sections and the relocations for them, a
    linked file's .symtab and the string table only it uses, each with its
    section header and its name in .shstrtab.  tests/elf.sh holds that rule
    to binutils' strip."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError("not an ELF64 little-endian file")
    e_type, = struct.unpack_from("<H", data, 16)
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    secs = []
    for i in range(shnum):
        name, typ, flags, _addr, off, size, link, info = struct.unpack_from(
            "<IIQQQQII", data, shoff + i * shentsize)
        secs.append(dict(name=name, type=typ, alloc=flags & 2, size=size, link=link, info=info))
    stroff = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 24)[0]
    for s in secs:
        end = data.index(b"\0", stroff + s["name"])
        s["nm"] = data[stroff + s["name"]:end].decode()
    gone = set()
    for i, s in enumerate(secs[1:], 1):
        if s["alloc"]:
            continue
        if s["nm"].startswith(DEBUG_PREFIXES) or s["nm"] == ".gdb_index" or (e_type != 1 and s["type"] == 2):
            gone.add(i)
    for i, s in enumerate(secs[1:], 1):
        if not s["alloc"] and s["type"] in (4, 9) and s["info"] in gone:
            gone.add(i)
    for i in [i for i in gone if secs[i]["type"] == 2]:
        t = secs[i]["link"]
        if 0 < t < shnum and t != shstrndx and secs[t]["type"] == 3 and not secs[t]["alloc"] and \
                t not in gone and not any(j != t and j not in gone and secs[j]["link"] == t
                                          for j in range(1, shnum)):
            gone.add(t)
    return sum((0 if secs[i]["type"] == 8 else secs[i]["size"]) + shentsize + len(secs[i]["nm"]) + 1
               for i in gone)


def base_layer(bloat):
    l0 = Layer("/bin/sh -c #(nop) ADD file:base.tar in /")
    l0.dir("etc").file("etc/os-release", 'ID=test\n' + "x" * 92 + "\n")
    with open("/bin/true", "rb") as f:
        l0.dir("bin").file("bin/true", f.read(), mode=0o755)
    l0.dir("usr").dir("usr/bin").dir("usr/lib")
    l0.dir("usr/lib/python3.11").dir("usr/lib/python3.11/json")
    l0.file("usr/lib/python3.11/json/__init__.py", blob("json", 400))
    l0.file("usr/bin/python3.11", blob("python", 5000), mode=0o755)
    l0.symlink("usr/bin/python3", "python3.11")
    if bloat:
        l0.file("usr/share/doc/base/copyright", blob("copyright", 3000))
        l0.file("usr/share/man/man1/true.1.gz", blob("man", 1500))
    return l0


def apt_layer(bloat):
    l1 = Layer("/bin/sh -c apt-get update && apt-get install -y build-essential")
    l1.file("usr/lib/x86_64-linux-gnu/libfoo.so.1", blob("libfoo.so", 9000))
    if bloat:
        l1.file("var/lib/apt/lists/deb.example_dists_Release", blob("Release", 7000))
        l1.file("var/lib/apt/lists/deb.example_dists_main_Packages", blob("Packages", 50000))
        l1.file("var/cache/apt/pkgcache.bin", blob("pkgcache", 20000))
        l1.file("usr/bin/gcc-12", blob("gcc", 30000), mode=0o755)
        l1.symlink("usr/bin/gcc", "gcc-12")
        l1.file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", blob("cc1", 40000), mode=0o755)
        l1.file("usr/include/stdio.h", blob("stdio", 2000))
        l1.file("usr/lib/x86_64-linux-gnu/libfoo.a", b"!<arch>\n" + blob("libfoo.a", 24992))
    return l1


def app_layer(bloat, elf):
    l2 = Layer("COPY app /app && python3 -m venv /app/venv && pip install -r requirements-dev.txt")
    l2.file("app/main.py", blob("main", 300))
    l2.file("app/config.json", blob("config1", 333))
    l2.file("app/venv/pyvenv.cfg", "home = /usr/bin\n" + "v" * 84)
    l2.symlink("app/venv/bin/python", "/usr/bin/python3")
    l2.file(SP + "/pkg/__init__.py", blob("pkg-init", 500))
    l2.file(SP + "/pkg/core.py", blob("pkg-core", 900))
    if bloat:
        l2.file(SP + "/pkg/__pycache__/__init__.cpython-311.pyc", blob("pyc1", 700))
        l2.hardlink(SP + "/pkg/__pycache__/alias.cpython-311.pyc",
                    SP + "/pkg/__pycache__/__init__.cpython-311.pyc")
        l2.file(SP + "/pkg/__pycache__/core.cpython-311.pyc", blob("pyc2", 1100))
        l2.file(SP + "/pkg/tests/test_core.py", blob("test", 1300))
        l2.file(SP + "/pkg/tests/__pycache__/test_core.cpython-311-pytest-7.2.1.pyc", blob("pyc3", 1900))
        l2.file(SP + "/pytest/__init__.py", blob("pytest", 800))
        l2.file(SP + "/_pytest/main.py", blob("_pytest", 6000))
        l2.file(SP + "/pytest-7.2.1.dist-info/METADATA", blob("pytest-md", 2100))
        l2.file(SP + "/pip/__init__.py", blob("pip", 1200))
        l2.file(SP + "/pip-23.0.1.dist-info/RECORD", blob("pip-rec", 3300))
        l2.file("root/.cache/pip/http/a/b/c", blob("pipcache", 12000))
        l2.file("app/data/model.bin", blob("model", 60000))
        # a name JSON must escape: quote, backslash, a control byte, UTF-8
        # (a symlink: no bytes, so the sizes docs/SCHEMA.md quotes stay)
        l2.symlink('app/data/we"ird\\n\x01\u00e4me.txt', "model.bin")
        l2.file("app/tests/test_main.py", blob("app-test", 1234))
        l2.file("app/tests/unit/test_core.py", blob("app-test2", 321))
        l2.file("app/scripts/seed_db.py", blob("app-script", 555))
        if elf is not None:
            l2.file("app/bin/engine", elf, mode=0o755)
    return l2


def cleanup_layer(bloat):
    l3 = Layer("/bin/sh -c rm -f /app/data/model.bin; COPY config.json /app/config.json")
    if bloat:
        l3.whiteout("app/data/model.bin")
        # a chmod -R over a file layer 0 has: the same bytes shipped again
        l3.file("usr/lib/python3.11/json/__init__.py", blob("json", 400), mode=0o600)
    l3.file("app/config.json", blob("config2", 444))
    return l3


def late_cleanup_layer():
    l4 = Layer("/bin/sh -c rm -rf /var/lib/apt/lists/* /usr/share/doc /root/.cache; COPY config.json /app/config.json")
    # another size of /app/config.json: a file changed in size (bloated -> cleaned)
    l4.file("app/config.json", blob("config3", 470))
    l4.whiteout("var/lib/apt/lists/deb.example_dists_Release")
    l4.whiteout("var/lib/apt/lists/deb.example_dists_main_Packages")
    l4.whiteout("usr/share/doc")
    l4.whiteout("root/.cache")
    return l4


# Image configs ("config" of the config JSON); cleaned keeps bloated's.
CONFIGS = {
    "bloated": {
        "WorkingDir": "/app",
        "Entrypoint": ["/app/venv/bin/python", "/app/main.py"],
        "Cmd": ["--debug", "--reload"],
        "Env": ["PATH=/app/venv/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1", "DEBUG=1"],
        "ExposedPorts": {"8080/tcp": {}, "5678/tcp": {}},
        "Labels": {"stage": "dev", "org.opencontainers.image.title": "app"},
    },
    "slim": {
        "User": "app",
        "WorkingDir": "/app",
        "Entrypoint": ["/app/venv/bin/python", "/app/main.py", "serve"],
        "Env": ["PATH=/app/venv/bin:/usr/bin:/bin", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1",
                "PYTHONDONTWRITEBYTECODE=1", "GUNICORN_CMD_ARGS=--bind=0.0.0.0:8080 --workers=2"],
        "ExposedPorts": {"8080/tcp": {}},
        "Labels": {"stage": "prod", "org.opencontainers.image.title": "app",
                   "org.opencontainers.image.version": "1.2"},
    },
}
CONFIGS["cleaned"] = CONFIGS["bloated"]
FIELDS = ("User", "WorkingDir", "Entrypoint", "Cmd", "Env", "ExposedPorts", "Labels")


def config_value(cfg, field):
    """FIELD of CFG as one string, the rules of imgfs-compare's config checks."""
    if field.startswith("Env."):
        name = field[4:]
        vals = [e.split("=", 1)[1] for e in cfg.get("Env", []) if e.split("=", 1)[0] == name]
        return vals[-1] if vals else ""
    if field.startswith("Labels."):
        return cfg.get("Labels", {}).get(field[7:], "")
    v = cfg.get(field)
    if v is None:
        return ""
    if field == "ExposedPorts":
        return " ".join(sorted(v))
    if field == "Labels":
        return " ".join(k + "=" + v[k] for k in sorted(v))
    if isinstance(v, list):
        return " ".join(v)
    return v


def config_fields():
    """The fields compared: the seven, every Env variable and label of
    either image, a name that only prefixes variables, a missing label."""
    f = list(FIELDS)
    for cfg in CONFIGS.values():
        f += ["Env." + e.split("=", 1)[0] for e in cfg.get("Env", [])]
        f += ["Labels." + k for k in cfg.get("Labels", {})]
    f += ["Env.PYTHON", "Labels.nosuch"]
    return list(dict.fromkeys(f))


def tree_rows(name, layers):
    """path and dir rows of the merged tree of LAYERS."""
    tree = mkimage.merge(layers)
    rows = []
    for path, ino in sorted(tree.items()):
        if path and ino.typ != "d":
            rows.append(("path", name, "/" + path, ino.typ, len(ino.data) if ino.typ == "f" else 0))
    for path, ino in sorted(tree.items()):
        if path and ino.typ == "d" and path.count("/") <= 1:
            under = {id(i): len(i.data) for p, i in tree.items()
                     if i.typ == "f" and p.startswith(path + "/")}
            rows.append(("dir", name, "/" + path, sum(under.values())))
    return rows


def shipped_bytes(layers):
    """Bytes of regular file contents in all layer tars (hardlinks carry none)."""
    return sum(len(data) for layer in layers for ti, data in layer.entries
               if ti.type == tarfile.REGTYPE)


def merged_size(layers):
    tree = mkimage.merge(layers)
    seen, total = set(), 0
    for ino in tree.values():
        if ino.typ == "f" and id(ino) not in seen:
            seen.add(id(ino))
            total += len(ino.data)
    return total


def reshipped(layers):
    """{layer: (bytes, files)} of the regular files a layer ships over an
    identical copy at the same path that it hides, as imgfs check counts
    them (only copies still in the merged tree)."""
    last = {}      # path -> (layer, data, same bytes as the copy it hid)
    for n, layer in enumerate(layers):
        for ti, data in layer.entries:
            d, base = os.path.split(ti.name)
            if base.startswith(".wh."):
                gone = os.path.join(d, base[4:])
                for p in [p for p in last if p == gone or p.startswith(gone + "/")]:
                    del last[p]
                continue
            prev = last.get(ti.name)
            if ti.type == tarfile.REGTYPE:
                last[ti.name] = (n, data, prev is not None and prev[1] == data)
            else:
                last[ti.name] = (n, None, False)
    out = {}
    for n, data, again in last.values():
        if again:
            b, f = out.get(n, (0, 0))
            out[n] = (b + len(data), f + 1)
    return out


def main():
    out = sys.argv[1]
    elf = None
    if len(sys.argv) > 2:
        with open(sys.argv[2], "rb") as f:
            elf = f.read()
    os.makedirs(out, exist_ok=True)
    images = {}
    for name, bloat in (("bloated", True), ("slim", False), ("cleaned", True)):
        layers = [base_layer(bloat), apt_layer(bloat), app_layer(bloat, elf), cleanup_layer(bloat)]
        if name == "cleaned":
            layers.append(late_cleanup_layer())
        images[name] = layers
        def with_config(cfg, name=name):
            cfg["config"] = CONFIGS[name]
            return cfg
        members = mkimage.docker_members([(["imgfs-test/" + name + ":latest"], layers)],
                                         config_hook=with_config)
        mkimage.write_members(os.path.join(out, name + ".docker.tar"), members)

    exp = []
    groups = {
        "bytecode": {SP + "/pkg/__pycache__": 1800, SP + "/pkg/tests/__pycache__": 1900},
        "tests": {SP + "/pkg/tests": 3200, "app/tests": 1555, "app/scripts": 555},
        "devpkgs": {SP + "/pytest": 800, SP + "/_pytest": 6000, SP + "/pytest-7.2.1.dist-info": 2100,
                    SP + "/pip": 1200, SP + "/pip-23.0.1.dist-info": 3300},
        "toolchain": {"usr/bin/gcc-12": 30000, "usr/lib/gcc": 40000, "usr/include": 2000},
        "caches": {"var/lib/apt/lists": 57000, "var/cache/apt": 20000, "root/.cache": 12000},
        "docs": {"usr/share/doc": 3000, "usr/share/man": 1500},
        "static": {"usr/lib/x86_64-linux-gnu/libfoo.a": 25000},
        "elf": {"app/bin/engine": strip_bytes(elf)} if elf is not None else {},
    }
    for pat, g in groups.items():
        for path, b in g.items():
            exp.append(("group", pat, "/" + path, b))
        exp.append(("total", pat, sum(g.values())))
    exp.append(("hidden", 2, "/app/data/model.bin", 60000, "deleted"))
    exp.append(("hidden", 2, "/app/config.json", 333, "replaced by layer 3"))
    exp.append(("hiddenlayer", 2, 60333))
    for name, layers in images.items():
        exp.append(("image", name, merged_size(layers)))
        exp.append(("layers", name, sum(len(layer.tar()) for layer in layers), len(layers)))
        exp.append(("hiddentotal", name, shipped_bytes(layers) - merged_size(layers)))
        for n, (b, f) in sorted(reshipped(layers).items()):
            exp.append(("reshipped", name, n, b, f))
        for i, layer in enumerate(layers):
            exp.append(("layer", name, i, len(layer.tar())))
        exp += tree_rows(name, layers)
        for field in config_fields():
            exp.append(("config", name, field, config_value(CONFIGS[name], field)))
    with open(os.path.join(out, "expected.tsv"), "w") as f:
        for row in exp:
            f.write("\t".join(str(x) for x in row) + "\n")


if __name__ == "__main__":
    main()
