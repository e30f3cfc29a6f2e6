#!/usr/bin/env bash
# What strip would save on ELF files (issue 14), through a real mount and
# `imgfs elf`: an image written here holds ELF files gcc builds here (with
# and without -g, a shared object, one stripped, a .so without its x bit,
# one replaced by a later layer, a hardlink) and a file that starts as ELF
# but whose headers are broken.  The expected savings are binutils': each
# file's size minus that of a copy after strip --strip-unneeded, within 16
# bytes (the alignment strip re-lays sections out to; tests/check_elf.c
# says more).  The pyapp case is tests/elf_pyapp.sh.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

require_fuse
command -v jq >/dev/null || { echo "FAIL - jq missing (apt-get install jq)"; exit 1; }
command -v gcc >/dev/null && command -v strip >/dev/null ||
	{ echo "FAIL - gcc or strip missing (apt-get install build-essential)"; exit 1; }
init_workdir "$BUILDDIR/elf"
W=$T_WORK
rm -rf "$W/src" "$W/l0" "$W/l1" "$XDG_CACHE_HOME"
mkdir -p "$W/src" "$W/l0/usr/bin" "$W/l0/usr/lib" "$W/l1/usr/bin" "$XDG_CACHE_HOME"
TOL=16

# ------------------------------------------------------- the ELF files

cat >"$W/src/main.c" <<'C'
#include <stdio.h>
static int helper(int x) { return x * 3; }
int main(int c, char **v) { (void)v; printf("%d\n", helper(c)); return 0; }
C
cat >"$W/src/lib.c" <<'C'
static int helper(int x) { return x * 3; }
int g(int y) { return helper(y) + 1; }
int h(int y) { return g(y) * 2; }
C
L0=$W/l0 L1=$W/l1
gcc -g -O1 -o "$L0/usr/bin/debug" "$W/src/main.c" &&
	gcc -O2 -o "$L0/usr/bin/plain" "$W/src/main.c" &&
	gcc -g -O1 -o "$L0/usr/bin/stripped" "$W/src/main.c" &&
	strip --strip-unneeded "$L0/usr/bin/stripped" &&
	gcc -g -O1 -fPIC -shared -o "$L0/usr/lib/libdemo.so.1" "$W/src/lib.c" &&
	gcc -g -O0 -fPIC -shared -o "$L0/usr/lib/libnox.so" "$W/src/lib.c" &&
	chmod 0644 "$L0/usr/lib/libnox.so" &&
	gcc -g -O0 -o "$L1/usr/bin/plain" "$W/src/main.c" ||
	{ fail "could not build the ELF files"; finish; }
# ELF magic, then a 64-bit header whose section headers lie past the end
python3 -c 'import struct, sys
h = b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, 1 << 40, 0, 64, 56, 0, 64, 30, 29)
open(sys.argv[1], "wb").write(h + bytes(100))' "$L0/usr/bin/broken"
chmod 0755 "$L0/usr/bin/broken"

# saving FILE: binutils' answer, stat -c %s before minus after
saving() {
	cp "$1" "$W/copy" && strip --strip-unneeded "$W/copy" 2>/dev/null &&
		echo $(($(stat -c %s "$1") - $(stat -c %s "$W/copy")))
}
declare -A WANT
for f in usr/bin/debug usr/bin/stripped usr/lib/libdemo.so.1 usr/lib/libnox.so; do
	WANT[/$f]=$(saving "$L0/$f")
done
WANT[/usr/bin/plain]=$(saving "$L1/usr/bin/plain")
[ "${WANT[/usr/bin/stripped]}" = 0 ] && [ "${WANT[/usr/bin/debug]}" -gt 1000 ] &&
	pass "strip saves ${WANT[/usr/bin/debug]} bytes on debug, 0 on stripped" ||
	fail "strip's savings are not what this test needs: debug ${WANT[/usr/bin/debug]}, stripped ${WANT[/usr/bin/stripped]}"

# the image: layer 0 the files above (libdemo.so.1 hardlinked as
# libdemo.so), layer 1 a -g build over usr/bin/plain
IMG=$W/elf.tar
python3 - "$IMG" "$L0" "$L1" <<'PY' || { fail "could not write the test image"; finish; }
import hashlib, io, json, os, sys, tarfile
def layer(root, links=()):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for d, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                p = os.path.join(d, f)
                t.add(p, os.path.relpath(p, root))
        for name, target in links:
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname = tarfile.LNKTYPE, target
            t.addfile(ti)
    return b.getvalue()
layers = [layer(sys.argv[2], [("usr/lib/libdemo.so", "usr/lib/libdemo.so.1")]), layer(sys.argv[3])]
cfg = {"architecture": "amd64", "os": "linux", "config": {},
       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]},
       "history": [{"created_by": "base"}, {"created_by": "top"}]}
cb = json.dumps(cfg).encode()
cid = hashlib.sha256(cb).hexdigest()
man = [{"Config": cid + ".json", "RepoTags": ["elf/test:1"],
        "Layers": ["l%d/layer.tar" % i for i in range(len(layers))]}]
with tarfile.open(sys.argv[1], "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    for i, l in enumerate(layers):
        add("l%d/layer.tar" % i, l)
    add(cid + ".json", cb)
    add("manifest.json", json.dumps(man).encode())
PY

# near GOT WANT: |GOT - WANT| <= TOL
near() { [ -n "$1" ] && [ -n "$2" ] && [ $(($1 > $2 ? $1 - $2 : $2 - $1)) -le "$TOL" ]; }

# ------------------------------------------------------------ the mount

M=$W/mnt
if mount_image "$IMG" "$M"; then
	pass "mount elf.tar"
	for f in /usr/bin/debug /usr/bin/plain /usr/lib/libdemo.so.1 /usr/lib/libnox.so; do
		got=$(xattr_of "$M$f" user.imgfs.strip)
		near "$got" "${WANT[$f]}" && pass "user.imgfs.strip of $f = $got (strip saves ${WANT[$f]})" ||
			fail "user.imgfs.strip of $f: '$got', strip saves ${WANT[$f]}"
	done
	expect_xattr "$M/usr/lib/libdemo.so" user.imgfs.strip "$(xattr_of "$M/usr/lib/libdemo.so.1" user.imgfs.strip)"
	for f in /usr/bin/stripped /usr/bin/broken /usr; do
		got=$(getfattr -h -d -m '^user\.imgfs\.strip$' "$M$f" 2>/dev/null)
		[ -z "$(xattr_of "$M$f" user.imgfs.strip)" ] && [ -z "$got" ] &&
			pass "$f: no user.imgfs.strip, and none listed" ||
			fail "$f: user.imgfs.strip '$(xattr_of "$M$f" user.imgfs.strip)', listed: $got"
	done
	getfattr -h -d -m '^user\.imgfs\.strip$' "$M/usr/bin/debug" 2>/dev/null | grep -q strip &&
		pass "listxattr of /usr/bin/debug lists user.imgfs.strip" ||
		fail "listxattr of /usr/bin/debug lacks user.imgfs.strip"
	grep -q "elf: 1 ELF file with malformed headers left out, the first broken" "$M.err" &&
		pass "the build warned once of the broken ELF file" ||
		fail "no warning of the broken ELF file: $(head -3 "$M.err")"
	unmount_image "$M" && pass "umount" || fail "umount"
else
	fail "mount elf.tar: $(head -3 "$M.err")"
fi

# ------------------------------------------------------------- imgfs elf

if "$IMGFS" elf --json "$IMG" >"$W/elf.json" 2>"$W/err"; then
	pass "elf --json"
else
	fail "elf --json: $(head -3 "$W/err")"
fi
paths=$(jq -r '[.files[].path] | sort | join(" ")' "$W/elf.json")
[ "$paths" = "/usr/bin/debug /usr/bin/plain /usr/lib/libdemo.so /usr/lib/libnox.so" ] &&
	pass "elf --json lists the unstripped ELF files, the hardlinked one once: $paths" ||
	fail "elf --json lists: $paths"
for f in /usr/bin/debug /usr/bin/plain /usr/lib/libnox.so; do
	got=$(jq -r --arg p "$f" '.files[] | select(.path == $p) | .strip_bytes' "$W/elf.json")
	near "$got" "${WANT[$f]}" && pass "elf --json: $f saves $got (strip: ${WANT[$f]})" ||
		fail "elf --json: $f saves '$got', strip: ${WANT[$f]}"
done
got=$(jq -r '.files[] | select(.path == "/usr/lib/libdemo.so") | .strip_bytes' "$W/elf.json")
near "$got" "${WANT[/usr/lib/libdemo.so.1]}" && pass "elf --json: libdemo.so saves $got" ||
	fail "elf --json: libdemo.so saves '$got', strip: ${WANT[/usr/lib/libdemo.so.1]}"
# sizes from the files themselves; layer of the replaced file; the totals
jq -e --argjson d "$(stat -c %s "$L0/usr/bin/debug")" --argjson p "$(stat -c %s "$L1/usr/bin/plain")" '
	(.files | map(.strip_bytes) | . == (sort | reverse)) and
	.elf_files == 5 and .listed == 4 and
	.strip_bytes == ([.files[].strip_bytes] | add) and .size == ([.files[].size] | add) and
	(.files[] | select(.path == "/usr/bin/debug") | .size == $d and .layer == 0 and
		.debug_bytes > 1000 and .symtab_bytes > 500 and
		.strip_bytes > .debug_bytes + .symtab_bytes) and
	(.files[] | select(.path == "/usr/bin/plain") | .size == $p and .layer == 1)' \
	"$W/elf.json" >/dev/null &&
	pass "elf --json: sorted, 5 ELF files (broken left out), sizes, layers, totals" ||
	fail "elf --json: $(cat "$W/elf.json")"
top=$(jq '.files[0].strip_bytes' "$W/elf.json")
n=$("$IMGFS" elf --json --min-bytes "$top" "$IMG" 2>/dev/null | jq '.listed')
[ "$n" = 1 ] && pass "elf --min-bytes $top lists 1 file" || fail "elf --min-bytes $top lists '$n'"
n=$("$IMGFS" elf --json --min-bytes 0 "$IMG" 2>/dev/null |
	jq '[.listed, (.files[] | select(.path == "/usr/bin/stripped") | .strip_bytes)] | join(" ")')
[ "$n" = '"5 0"' ] && pass "elf --min-bytes 0 lists every ELF file, stripped at 0" ||
	fail "elf --min-bytes 0: listed, stripped's saving: $n"
rc=0
"$IMGFS" elf --min-bytes lots "$IMG" >/dev/null 2>"$W/err" || rc=$?
[ "$rc" = 2 ] && grep -q "min-bytes" "$W/err" && pass "elf --min-bytes lots: exit 2" ||
	fail "elf --min-bytes lots: exit $rc, $(head -2 "$W/err")"
"$IMGFS" elf "$IMG" >"$W/elf.txt" 2>&1 &&
	[ "$(tail -1 "$W/elf.txt" | awk '{print $1}')" = "$(jq .strip_bytes "$W/elf.json")" ] &&
	grep -q "(total: 4 of 5 ELF files)" "$W/elf.txt" && [ "$(wc -l <"$W/elf.txt")" = 6 ] &&
	pass "elf (text): a header, 4 rows, the totals" || fail "elf (text): $(cat "$W/elf.txt")"

finish
