#!/usr/bin/env python3
"""Writes pkgs.tar (argv[1]), the package-attribution test image of
tests/packages.sh and tests/schema_doc.sh: a docker-archive whose layer 0
has /lib -> usr/lib and a dpkg, pip, npm and apk database (with
dependencies: alternatives, a virtual name, apt's marks, pip markers,
requirements naming nothing installed), and whose layer 1 deletes a file
of dpkg package tool and adds one nobody owns.  With argv[2], also
extracts the merged tree there (the layers in order, whiteouts applied),
for tests/pkggraph.py."""
import hashlib, io, json, sys, tarfile

def layer(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif isinstance(data, tuple):
                ti.type, ti.linkname, ti.mode = tarfile.SYMTYPE, data[0], 0o777
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(data), 0o644
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()

site = "app/venv/lib/python3.11/site-packages/"
status = b"""Package: libx
Status: install ok installed
Architecture: amd64
Version: 1.0

Package: tool
Status: install ok installed
Architecture: all
Version: 2.0-1
Depends: libmissing | libx (>= 1.0), nosuch
Recommends: python3-virt:any

Package: python3-shared
Status: install ok installed
Architecture: all
Version: 3.0
Provides: python3-virt
Pre-Depends: libx
"""
states = b"""Package: libx
Architecture: amd64
Auto-Installed: 1

Package: python3-shared
Architecture: amd64
Auto-Installed: 1
"""
l0 = layer([
    ("usr", None), ("usr/lib", None), ("lib", ("usr/lib",)),
    ("usr/lib/x.so", b"x" * 5000), ("usr/bin", None), ("usr/bin/tool", b"tool"),
    ("usr/share", None), ("usr/share/doc", None), ("usr/share/doc/tool", None),
    ("usr/share/doc/tool/copyright", b"(c)"), ("usr/share/doc/tool/README", b"readme"),
    ("var", None), ("var/lib", None), ("var/lib/dpkg", None), ("var/lib/dpkg/info", None),
    ("var/lib/dpkg/status", status),
    ("var/lib/apt", None), ("var/lib/apt/extended_states", states),
    ("var/lib/dpkg/info/libx:amd64.list", b"/.\n/lib\n/lib/x.so\n"),
    ("var/lib/dpkg/info/tool.list", b"/.\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/share/doc/tool\n"
     b"/usr/share/doc/tool/copyright\n/usr/share/doc/tool/README\n"),
    ("var/lib/dpkg/info/python3-shared.list", b"/usr/lib/python3/dist-packages/shared/mod.py\n"),
    ("usr/lib/python3", None), ("usr/lib/python3/dist-packages", None),
    ("usr/lib/python3/dist-packages/shared", None),
    ("usr/lib/python3/dist-packages/shared/mod.py", b"print(1)\n"),
    ("usr/lib/python3/dist-packages/shared-1.0.dist-info", None),
    ("usr/lib/python3/dist-packages/shared-1.0.dist-info/METADATA", b"Name: shared\nVersion: 1.0\nRequires-Dist: demo\n"),
    ("usr/lib/python3/dist-packages/shared-1.0.dist-info/RECORD", b"shared/mod.py,,\n"),
    ("app", None), ("app/venv", None), ("app/venv/bin", None), ("app/venv/bin/demo", b"#!demo\n"),
    ("app/venv/lib", None), ("app/venv/lib/python3.11", None), (site[:-1], None),
    (site + "demo", None), (site + "demo/__init__.py", b"hello" * 100),
    (site + "demo-1.2.dist-info", None),
    (site + "demo-1.2.dist-info/METADATA", b"Name: demo\nVersion: 1.2\n"
     b"Requires-Dist: Shared ; python_version >= '3.10'\n"
     b"Requires-Dist: old-only ; python_version < '3.8'\n"
     b"Requires-Dist: tests-only ; extra == 'test'\n"),
    (site + "demo-1.2.dist-info/RECORD",
     b"demo/__init__.py,,\ndemo-1.2.dist-info/METADATA,,\n../../../bin/demo,,\n"),
    ("app/node_modules", None), ("app/node_modules/@scope", None),
    ("app/node_modules/@scope/pkg", None),
    ("app/node_modules/@scope/pkg/package.json", b'{"name": "@scope/pkg", "version": "2.0.0"}'),
    ("app/node_modules/@scope/pkg/main.js", b"m" * 3000),
    ("app/node_modules/@scope/pkg/node_modules", None),
    ("app/node_modules/@scope/pkg/node_modules/inner", None),
    ("app/node_modules/@scope/pkg/node_modules/inner/package.json",
     b'{"name": "inner", "version": "0.1.0"}'),
    ("usr/lib/apk", None), ("usr/lib/apk/db", None),
    ("usr/lib/apk/db/installed", b"P:musl\nV:1.2.4-r2\nA:x86_64\nF:lib\nR:ld-musl.so.1\n"),
    ("usr/lib/ld-musl.so.1", b"musl"),
])
l1 = layer([("usr/share/doc/tool/.wh.README", b""), ("app/extra.bin", b"e" * 777)])
layers = [l0, l1]
cfg = {"architecture": "amd64", "os": "linux", "config": {},
       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]},
       "history": [{"created_by": "base"}, {"created_by": "top"}]}
cb = json.dumps(cfg).encode()
cid = hashlib.sha256(cb).hexdigest()
man = [{"Config": cid + ".json", "RepoTags": ["pkgs/test:1"],
        "Layers": ["l%d/layer.tar" % i for i in range(len(layers))]}]
with tarfile.open(sys.argv[1], "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(data))
    for i, l in enumerate(layers):
        add("l%d/layer.tar" % i, l)
    add(cid + ".json", cb)
    add("manifest.json", json.dumps(man).encode())

if len(sys.argv) > 2:
    import os, shutil
    root = sys.argv[2]
    for l in layers:
        with tarfile.open(fileobj=io.BytesIO(l)) as t:
            for m in t.getmembers():
                d, b = os.path.split(m.name)
                if b.startswith(".wh."):
                    victim = os.path.join(root, d, b[4:])
                    if os.path.isdir(victim) and not os.path.islink(victim):
                        shutil.rmtree(victim)
                    elif os.path.lexists(victim):
                        os.unlink(victim)
                    continue
                t.extract(m, root, set_attrs=False)
