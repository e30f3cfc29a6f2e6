#!/usr/bin/env bash
# Package attribution through a real mount (issue 8): user.imgfs.package on
# files and directories of a small image holding dpkg, pip, npm and apk
# databases, and `imgfs packages` (--json validated with jq, --by-layer,
# the text table).  The same on the generated pyapp: tests/packages_pyapp.sh.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

require_fuse
command -v jq >/dev/null || { echo "FAIL - jq missing (apt-get install jq)"; exit 1; }
init_workdir "$BUILDDIR/packages"
W=$T_WORK
rm -rf "$W/img" "$XDG_CACHE_HOME"
mkdir -p "$W/img" "$XDG_CACHE_HOME"
IMG=$W/img/pkgs.tar

# pkgs.tar: layer 0 has /lib -> usr/lib and every database; layer 1
# deletes a file of dpkg package tool and adds one nobody owns.
python3 - "$IMG" <<'EOF' || { fail "could not write the test image"; finish; }
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

Package: python3-shared
Status: install ok installed
Architecture: all
Version: 3.0
"""
l0 = layer([
    ("usr", None), ("usr/lib", None), ("lib", ("usr/lib",)),
    ("usr/lib/x.so", b"x" * 5000), ("usr/bin", None), ("usr/bin/tool", b"tool"),
    ("usr/share", None), ("usr/share/doc", None), ("usr/share/doc/tool", None),
    ("usr/share/doc/tool/copyright", b"(c)"), ("usr/share/doc/tool/README", b"readme"),
    ("var", None), ("var/lib", None), ("var/lib/dpkg", None), ("var/lib/dpkg/info", None),
    ("var/lib/dpkg/status", status),
    ("var/lib/dpkg/info/libx:amd64.list", b"/.\n/lib\n/lib/x.so\n"),
    ("var/lib/dpkg/info/tool.list", b"/.\n/usr\n/usr/bin\n/usr/bin/tool\n/usr/share/doc/tool\n"
     b"/usr/share/doc/tool/copyright\n/usr/share/doc/tool/README\n"),
    ("var/lib/dpkg/info/python3-shared.list", b"/usr/lib/python3/dist-packages/shared/mod.py\n"),
    ("usr/lib/python3", None), ("usr/lib/python3/dist-packages", None),
    ("usr/lib/python3/dist-packages/shared", None),
    ("usr/lib/python3/dist-packages/shared/mod.py", b"print(1)\n"),
    ("usr/lib/python3/dist-packages/shared-1.0.dist-info", None),
    ("usr/lib/python3/dist-packages/shared-1.0.dist-info/METADATA", b"Name: shared\nVersion: 1.0\n"),
    ("usr/lib/python3/dist-packages/shared-1.0.dist-info/RECORD", b"shared/mod.py,,\n"),
    ("app", None), ("app/venv", None), ("app/venv/bin", None), ("app/venv/bin/demo", b"#!demo\n"),
    ("app/venv/lib", None), ("app/venv/lib/python3.11", None), (site[:-1], None),
    (site + "demo", None), (site + "demo/__init__.py", b"hello" * 100),
    (site + "demo-1.2.dist-info", None),
    (site + "demo-1.2.dist-info/METADATA", b"Name: demo\nVersion: 1.2\n"),
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
EOF

# ------------------------------------------------------------ the mount

M=$W/mnt
if mount_image "$IMG" "$M"; then
	pass "mount pkgs.tar"
	expect_xattr "$M/usr/lib/x.so" user.imgfs.package "dpkg:libx=1.0"
	expect_xattr "$M/lib/x.so" user.imgfs.package "dpkg:libx=1.0"
	expect_xattr "$M/usr/bin/tool" user.imgfs.package "dpkg:tool=2.0-1"
	expect_xattr "$M/usr/lib/python3/dist-packages/shared/mod.py" user.imgfs.package \
		"pip:shared=1.0,dpkg:python3-shared=3.0"
	expect_xattr "$M/app/venv/bin/demo" user.imgfs.package "pip:demo=1.2"
	expect_xattr "$M/app/node_modules/@scope/pkg/main.js" user.imgfs.package "npm:@scope/pkg=2.0.0"
	expect_xattr "$M/app/node_modules/@scope/pkg/node_modules/inner/package.json" \
		user.imgfs.package "npm:inner=0.1.0"
	expect_xattr "$M/usr/lib/ld-musl.so.1" user.imgfs.package "apk:musl=1.2.4-r2"
	expect_xattr "$M/app/extra.bin" user.imgfs.package ""
	# directories: the package with most bytes beneath
	expect_xattr "$M" user.imgfs.package "dpkg:libx=1.0"
	expect_xattr "$M/app" user.imgfs.package "npm:@scope/pkg=2.0.0"
	expect_xattr "$M/app/venv" user.imgfs.package "pip:demo=1.2"
	expect_xattr "$M/usr/share/doc/tool" user.imgfs.package "dpkg:tool=2.0-1"
	getfattr -h -d -m '^user\.imgfs\.package$' "$M/app/extra.bin" 2>/dev/null | grep -q package &&
		fail "listxattr of an unowned file lists user.imgfs.package" ||
		pass "listxattr of an unowned file has no user.imgfs.package"
	unmount_image "$M" && pass "umount" || fail "umount"
else
	fail "mount pkgs.tar: $(head -3 "$M.err")"
fi

# ------------------------------------------------------ imgfs packages

if "$IMGFS" packages --json "$IMG" >"$W/pkgs.json" 2>"$W/err"; then
	pass "packages --json"
else
	fail "packages --json: $(head -3 "$W/err")"
fi
if jq -e '
	(.packages | length) == 8 and
	(.packages | map(.bytes) | . == (sort | reverse)) and
	([.packages[].first_bytes] | add) + .unowned_bytes == .total_bytes and
	.unowned_bytes > 777 and .unowned_files > 1 and
	(.packages[] | select(.name == "tool") | .files == 2 and .bytes == 7 and .missing == 1
		and .layers == [0] and .version == "2.0-1" and .arch == "all" and .manager == "dpkg") and
	(.packages[] | select(.name == "shared") | .first_bytes == 9 and .bytes == 9) and
	(.packages[] | select(.name == "python3-shared") | .first_bytes == 0 and .bytes == 9) and
	(.packages[] | select(.name == "demo") | .manager == "pip" and .files == 3) and
	(.packages[] | select(.name == "inner") | .manager == "npm" and .version == "0.1.0") and
	(.packages[0] | .name == "libx" and .bytes == 5000)' "$W/pkgs.json" >/dev/null; then
	pass "packages --json: rows, order, missing, layers, first_bytes + unowned == total"
else
	fail "packages --json: $(cat "$W/pkgs.json")"
fi
if "$IMGFS" packages --json --by-layer "$IMG" >"$W/layers.json" 2>"$W/err" &&
	jq -e '(.layers | length) == 2 and
	(.layers[1] | .layer == 1 and .created_by == "top" and .unowned_bytes == 777 and
		.packages == []) and
	(.layers[0].packages[0] | .name == "libx" and .files == 1 and .bytes == 5000) and
	([.layers[].unowned_bytes] | add) == $whole.unowned_bytes and
	([.layers[].bytes] | add) == $whole.total_bytes' --argjson whole "$(cat "$W/pkgs.json")" \
		"$W/layers.json" >/dev/null; then
	pass "packages --json --by-layer"
else
	fail "packages --by-layer: $(cat "$W/layers.json" "$W/err")"
fi
if "$IMGFS" packages "$IMG" >"$W/pkgs.txt" 2>"$W/err" &&
	head -1 "$W/pkgs.txt" | grep -q '^MANAGER  *NAME  *VERSION  *FILES  *BYTES  *LAYERS  *MISSING$' &&
	tail -1 "$W/pkgs.txt" | grep -Eq '^-  +\(unowned\) +- +[0-9]+ +[0-9]+ +- +-$' &&
	sed -n 2p "$W/pkgs.txt" | grep -Eq '^dpkg +libx +1\.0 +1 +5000 +0 +0$'; then
	pass "packages: text table, unowned last"
else
	fail "packages (text): $(cat "$W/pkgs.txt" "$W/err")"
fi
"$IMGFS" packages --frob "$IMG" >/dev/null 2>&1
[ $? -eq 2 ] && pass "packages: bad option exits 2" || fail "packages: bad option did not exit 2"

finish
