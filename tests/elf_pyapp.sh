#!/usr/bin/env bash
# `imgfs elf` on the generated pyapp (issue 14): with
# $IMGFS_FIXTURES_DIR/images/pyapp.docker.tar and its reference rootfs
# work/ref/pyapp/bundle/rootfs (default ~/.cache/imgfs-fixtures; built by
# make-fixtures.sh, never in CI, where this is a skip) it checks against
# the reference tree, with binutils as the independent source:
#   - the shared objects listed are exactly those readelf -S shows a
#     .symtab or a .debug_* section in (14 of them), cryptography's
#     _rust.abi3.so among them with about 2,346,056 bytes;
#   - every file listed saves what strip --strip-unneeded saves on its copy
#     within 16 bytes, or less by at most its .gnu.build.attributes
#     section (the annobin notes strip merges, which the section headers
#     cannot tell) and, in an object file, its .symtab and .strtab (whose
#     unneeded symbols strip drops: fs/elf/elf_strip.c does not count them);
#   - elf_files is the number of ELF files (by their magic) among the
#     reference's executables and *.so, *.so.*, *.o, *.ko, each inode once.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

[ -x "$IMGFS" ] || { echo "FAIL - IMGFS='$IMGFS' is not an executable"; exit 1; }
command -v jq >/dev/null || { echo "FAIL - jq missing (apt-get install jq)"; exit 1; }
command -v readelf >/dev/null && command -v strip >/dev/null ||
	{ echo "FAIL - readelf or strip missing (apt-get install build-essential)"; exit 1; }
init_workdir "$BUILDDIR/elf-pyapp"
W=$T_WORK
rm -rf "$XDG_CACHE_HOME"
mkdir -p "$XDG_CACHE_HOME"

FIX=${IMGFS_FIXTURES_DIR:-$HOME/.cache/imgfs-fixtures}
PYAPP=$FIX/images/pyapp.docker.tar
REF=$FIX/work/ref/pyapp/bundle/rootfs
[ -f "$PYAPP" ] && [ -d "$REF/usr" ] ||
	skip_absent "$PYAPP or its reference rootfs missing (make-fixtures.sh builds them)"

if "$IMGFS" elf --json "$PYAPP" >"$W/elf.json" 2>"$W/err"; then
	pass "elf --json pyapp"
else
	fail "elf --json pyapp: $(head -3 "$W/err")"
fi

# the unstripped shared objects of the reference, by readelf
find "$REF" -type f \( -name '*.so' -o -name '*.so.*' \) -printf '%P\n' | sort >"$W/so.all"
while read -r f; do
	readelf -SW "$REF/$f" 2>/dev/null | grep -Eq '\] (\.symtab|\.debug_)' && echo "/$f"
done <"$W/so.all" >"$W/so.want"
jq -r '.files[].path | select(test("\\.so(\\.|$)"))' "$W/elf.json" | sort >"$W/so.got"
n=$(wc -l <"$W/so.want")
[ "$n" -eq 14 ] && pass "readelf: 14 unstripped shared objects in the reference" ||
	fail "readelf finds $n unstripped shared objects, not 14: is the fixture another?"
show_diff "the unstripped .so listed vs readelf's" "$W/so.want" "$W/so.got" &&
	pass "elf --json lists exactly readelf's $n unstripped shared objects"
rust=app/venv/lib/python3.11/site-packages/cryptography/hazmat/bindings/_rust.abi3.so
got=$(jq --arg p "/$rust" '.files[] | select(.path == $p) | .strip_bytes' "$W/elf.json")
[ -n "$got" ] && [ $((got > 2346056 ? got - 2346056 : 2346056 - got)) -le 2346 ] &&
	pass "_rust.abi3.so saves $got (about 2,346,056)" || fail "_rust.abi3.so saves '$got'"

# every file listed against strip on its copy
bad=0 n=0
while read -r path saving; do
	f=$REF$path
	cp "$f" "$W/copy" && strip --strip-unneeded "$W/copy" || { fail "strip $path"; bad=1; continue; }
	want=$(($(stat -c %s "$f") - $(stat -c %s "$W/copy")))
	# what strip may save beyond the measure: the annobin notes it merges
	# and, in an object file, the unneeded part of .symtab (readelf says
	# their sizes)
	notes=$(readelf -hSW "$f" | python3 -c 'import re, sys
t = sys.stdin.read()
names = [".gnu.build.attributes"] + ([".symtab", ".strtab"] if re.search(r"Type:\s+REL ", t) else [])
print(sum(int(m.group(2), 16) for m in re.finditer(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]+ [0-9a-f]+ ([0-9a-f]+)", t)
          if m.group(1) in names))')
	d=$((saving - want))
	n=$((n + 1))
	if [ "${d#-}" -le 16 ] || { [ "$d" -lt 0 ] && [ $((-d)) -le "${notes:-0}" ]; }; then
		:
	else
		fail "$path: measured $saving, strip saves $want (notes ${notes:-0})"
		bad=1
	fi
done < <(jq -r '.files[] | "\(.path) \(.strip_bytes)"' "$W/elf.json")
[ "$bad" = 0 ] && [ "$n" -ge 14 ] && pass "all $n files listed: within 16 bytes of strip (or its notes)"

# every ELF file among the candidates, each inode once
want=$(find "$REF" -type f \( -perm /111 -o -name '*.so' -o -name '*.so.*' -o -name '*.o' -o -name '*.ko' \) \
	-size +51c -printf '%i %p\n' | sort -u -k1,1 | cut -d' ' -f2- |
	python3 -c 'import sys
n = 0
for line in sys.stdin:
    with open(line.rstrip("\n"), "rb") as f:
        n += f.read(4) == b"\x7fELF"
print(n)')
got=$(jq .elf_files "$W/elf.json")
[ "$got" = "$want" ] && pass "elf_files = $got, the ELF files of the reference's candidates" ||
	fail "elf_files = $got, the reference has $want"
jq -e '.strip_bytes == ([.files[].strip_bytes] | add) and .listed == (.files | length)' \
	"$W/elf.json" >/dev/null && pass "totals: $(jq .strip_bytes "$W/elf.json") bytes over $(jq .listed "$W/elf.json") files" ||
	fail "totals do not add up"

finish
