#!/usr/bin/env bash
# Tests of scripts/imgfs-audit and scripts/imgfs-compare.
#
# (a) Always: tests/audit_images.py writes a small image with planted bloat
#     (and a slim variant); imgfs-audit must find every planted item with
#     its exact bytes, imgfs-compare must report the delta, the check
#     results and the exit status; neither may leave a mount behind, even
#     when interrupted with SIGINT while its mounts are up.
# (b) When $IMGFS_FIXTURES_DIR/images/pyapp.docker.tar exists (default
#     ~/.cache/imgfs-fixtures; built on demand by the fixtures'
#     make-fixtures.sh, so never in CI): imgfs-audit on pyapp must find
#     every planted bloat item with the bytes of the reference tree, and
#     imgfs-compare between pyapp and a slimmed rebuild (umoci; cached as
#     $IMGFS_FIXTURES_DIR/audit/pyapp-slim.docker.tar) must report the
#     delta measured on the unpacked rootfs.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
IMGFS=$(cd "$(dirname "$IMGFS")" && pwd)/$(basename "$IMGFS")
export IMGFS
. "$SRCDIR/tests/lib.sh"

require_fuse
command -v jq >/dev/null || { echo "FAIL - jq missing (apt-get install jq)"; exit 1; }
init_workdir "$BUILDDIR/audit"
W=$T_WORK
AUDIT=$SRCDIR/scripts/imgfs-audit
COMPARE=$SRCDIR/scripts/imgfs-compare
export TMPDIR=$W/tmp
rm -rf "$TMPDIR" "$W/img"
mkdir -p "$TMPDIR"

# no_leftovers LABEL: nothing of the scripts is left in $TMPDIR (mounts,
# temp dirs).
no_leftovers() {
	local m
	m=$(awk -v d="$TMPDIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts)
	if [ -n "$m" ]; then
		fail "$1: mounts left behind: $m"
		unmount_stale "$TMPDIR"
	elif [ -n "$(ls -A "$TMPDIR")" ]; then
		fail "$1: temporary files left: $(ls -A "$TMPDIR" | head -3 | tr '\n' ' ')"
		rm -rf "${TMPDIR:?}"/*
	else
		pass "$1: no mount or temporary file left"
	fi
}

# expect_eq LABEL EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then pass "$1 = $2"; else fail "$1: expected '$2', got '$3'"; fi
}

# ------------------------------------------------------------ (a) images
ELF=
if command -v gcc >/dev/null && command -v readelf >/dev/null; then
	printf 'int engine_answer(void) { return 42; }\nint main(void) { return engine_answer() - 42; }\n' >"$W/engine.c"
	gcc -g -O0 -o "$W/engine" "$W/engine.c" && ELF=$W/engine
fi
[ -n "$ELF" ] || echo "note: no gcc/readelf: the unstripped ELF item is left out"
if ! python3 "$SRCDIR/tests/audit_images.py" "$W/img" $ELF; then
	fail "audit_images.py failed"
	finish
fi
EXP=$W/img/expected.tsv
BLOATED=$W/img/bloated.docker.tar
SLIM=$W/img/slim.docker.tar

# --- imgfs-audit on the image file (JSON)
rc=0
"$AUDIT" --json --top 50 --largest 50 "$BLOATED" >"$W/audit.json" 2>"$W/audit.err" || rc=$?
expect_eq "imgfs-audit --json IMAGE: exit status" 0 "$rc"
if jq -e . "$W/audit.json" >/dev/null 2>&1; then
	pass "imgfs-audit --json: valid JSON"
else
	fail "imgfs-audit --json: not JSON: $(head -c 300 "$W/audit.json") $(head -3 "$W/audit.err")"
fi
no_leftovers "imgfs-audit IMAGE"
J=$W/audit.json
while IFS=$'\t' read -r kind a b c d; do
	case $kind in
	group)
		got=$(jq -r --arg p "$a" --arg path "$b" '.patterns[] | select(.id == $p) | .paths[] | select(.path == $path) | .bytes' "$J")
		expect_eq "audit: $a lists $b with its bytes" "$c" "$got" ;;
	total)
		got=$(jq -r --arg p "$a" '.patterns[] | select(.id == $p) | .bytes' "$J")
		expect_eq "audit: $a total bytes" "$b" "$got" ;;
	hidden)
		got=$(jq -r --arg path "$b" '.hidden_files[] | select(.path == $path) | "\(.layer) \(.bytes) \(.why)"' "$J")
		expect_eq "audit: hidden file $b" "$a $c $d" "$got" ;;
	hiddenlayer)
		got=$(jq -r --argjson n "$a" '.layers[] | select(.layer == $n) | .hidden_bytes' "$J")
		expect_eq "audit: bytes hidden in layer $a" "$b" "$got" ;;
	image)
		[ "$a" = bloated ] && expect_eq "audit: image total" "$b" "$(jq -r .total_bytes "$J")" ;;
	esac
done <"$EXP"
expect_eq "audit: wasted bytes of the image" 60333 "$(jq -r .wasted_bytes "$J")"
got=$(jq -r '.largest_files[0] | "\(.path) \(.bytes) \(.layer)"' "$J")
expect_eq "audit: largest file" "/var/lib/apt/lists/deb.example_dists_main_Packages 50000 1" "$got"
got=$(jq -r '.largest_files[] | select(.path | test("__pycache__/(alias|__init__)")) | .path' "$J" | wc -l)
expect_eq "audit: a hardlinked .pyc is listed once among the largest files" 1 "$got"

# --- imgfs-audit on an existing mount (text): reports, leaves it mounted
MNT=$W/mnt-bloated
if mount_image "$BLOATED" "$MNT"; then
	rc=0
	"$AUDIT" --top 3 "$MNT" >"$W/audit.txt" 2>&1 || rc=$?
	expect_eq "imgfs-audit MOUNTPOINT: exit status" 0 "$rc"
	check "imgfs-audit MOUNTPOINT: the mount is still there" mountpoint -q "$MNT"
	check "audit text: summary row of caches" grep -Eq '^  caches +89000 ' "$W/audit.txt"
	check "audit text: /usr/lib/gcc line with its bytes" grep -Eq '^ +[0-9.]+K +40000  /usr/lib/gcc \(layer|$' "$W/audit.txt"
	check "audit text: hidden model.bin line" grep -Eq '^ +[0-9.]+K +60000  layer 2  /app/data/model.bin  \(deleted\)$' "$W/audit.txt"
	check "audit text: --top 3 caps the devpkgs list" grep -q '^  \.\.\. 2 more paths$' "$W/audit.txt"
	check "audit text: image row" grep -Eq '^  image +[0-9]+ ' "$W/audit.txt"
	if [ $T_FAILED -gt 0 ]; then sed 's/^/    | /' "$W/audit.txt" | head -60; fi
fi

# --- imgfs-compare
cat >"$W/checks.ok" <<'EOF'
# runtime must still work, bloat must be gone
present /app/main.py
present /app/venv/bin/python
executable /app/venv/bin/python
importable pkg.core /app/venv/lib/python3.11/site-packages
importable json
absent /app/venv/lib/python3.11/site-packages/pytest
absent /app/**/__pycache__
absent /var/lib/apt/lists/*
absent /usr/share/doc
EOF
rc=0
"$COMPARE" --checks "$W/checks.ok" "$BLOATED" "$SLIM" >"$W/compare.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: exit status, all checks pass on AFTER" 0 "$rc"
no_leftovers "imgfs-compare IMAGE IMAGE"
tb=$(awk -F'\t' '$1 == "image" && $2 == "bloated" { print $3 }' "$EXP")
ta=$(awk -F'\t' '$1 == "image" && $2 == "slim" { print $3 }' "$EXP")
check "compare: before total $tb" grep -Eq "^  before +$tb " "$W/compare.txt"
check "compare: after total $ta" grep -Eq "^  after +$ta " "$W/compare.txt"
check "compare: delta $((ta - tb))" grep -Eq "^  delta +$((ta - tb)) " "$W/compare.txt"
check "compare: /var directory row" grep -Eq '^ +77000 +0 +-77000 +-100\.0%  /var$' "$W/compare.txt"
check "compare: largest removed file" grep -Eq '^ +[0-9.]+K +50000  /var/lib/apt/lists/deb.example_dists_main_Packages$' "$W/compare.txt"
for c in "PASS   PASS    present /app/main.py" "PASS   PASS    executable /app/venv/bin/python" \
	"PASS   PASS    importable pkg.core /app/venv/lib/python3.11/site-packages" "PASS   PASS    importable json" \
	"FAIL   PASS    absent /app/venv/lib/python3.11/site-packages/pytest" "FAIL   PASS    absent /app/**/__pycache__" \
	"FAIL   PASS    absent /var/lib/apt/lists/*" "FAIL   PASS    absent /usr/share/doc"; do
	check "compare check row: $c" grep -qxF "  $c" "$W/compare.txt"
done
check "compare: layer tables of both sides" test "$(grep -c 'COPY app /app' "$W/compare.txt")" -eq 2
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/compare.txt" | head -80

printf 'present /usr/share/doc/base/copyright\nabsent /app/data/model.bin\n' >"$W/checks.fail"
rc=0
"$COMPARE" --checks "$W/checks.fail" "$BLOATED" "$SLIM" >"$W/compare2.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: exit status when a check fails on AFTER" 1 "$rc"
check "compare: FAIL row" grep -qxF "  PASS   FAIL    present /usr/share/doc/base/copyright" "$W/compare2.txt"
rc=0
"$COMPARE" --checks "$W/checks.fail" "$SLIM" "$BLOATED" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare: a check failing on BEFORE only" 0 "$rc"
printf 'exists /x\n' >"$W/checks.bad"
rc=0
"$COMPARE" --checks "$W/checks.bad" "$BLOATED" "$SLIM" >/dev/null 2>"$W/bad.err" || rc=$?
expect_eq "imgfs-compare: unknown check -> exit" 2 "$rc"
rc=0; "$COMPARE" "$BLOATED" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare: one argument -> exit" 2 "$rc"
rc=0; "$COMPARE" "$BLOATED" "$W/no-such.tar" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare: missing image -> exit" 2 "$rc"
rc=0; "$AUDIT" --top x "$BLOATED" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-audit: bad --top -> exit" 2 "$rc"
rc=0; "$AUDIT" "$W/engine.c" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-audit: not an image -> exit" 2 "$rc"
no_leftovers "failed runs"
# compare over two existing mounts
MNT2=$W/mnt-slim
if mount_image "$SLIM" "$MNT2"; then
	rc=0
	"$COMPARE" --checks "$W/checks.ok" "$MNT" "$MNT2" >"$W/compare3.txt" 2>&1 || rc=$?
	expect_eq "imgfs-compare MNT MNT: exit status" 0 "$rc"
	check "compare MNT MNT: delta" grep -Eq "^  delta +$((ta - tb)) " "$W/compare3.txt"
	check "compare MNT MNT: layer table from /.imgfs" grep -q 'COPY app /app' "$W/compare3.txt"
	check "compare MNT MNT: both mounts still there" mountpoint -q "$MNT2"
	unmount_image "$MNT2"
fi
mountpoint -q "$MNT" && unmount_image "$MNT"

# --- SIGINT / SIGTERM while the scripts hold their mounts
# interrupt NAME SIGNAL NMOUNTS PAUSEVAR CMD...: starts CMD with job control
# (so that it does not ignore SIGINT), waits for its mounts, signals it.
interrupt() {
	local name=$1 sig=$2 want=$3 var=$4 pid i n rc; shift 4
	set -m
	env "$var=30" "$@" >/dev/null 2>&1 &
	pid=$!
	set +m
	for ((i = 0; i < 300; i++)); do
		n=$(awk -v d="$TMPDIR/" 'index($2, d) == 1' /proc/self/mounts | wc -l)
		[ "$n" -ge "$want" ] && break
		sleep 0.1
	done
	if [ "$n" -lt "$want" ]; then
		fail "$name: its mounts never appeared"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return
	fi
	kill -"$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	case $sig in INT) expect_eq "$name: exit status after SIGINT" 130 "$rc" ;; TERM) expect_eq "$name: exit status after SIGTERM" 143 "$rc" ;; esac
	no_leftovers "$name after SIG$sig"
}
interrupt "imgfs-audit" INT 1 IMGFS_AUDIT_TEST_PAUSE "$AUDIT" "$BLOATED"
interrupt "imgfs-compare" INT 2 IMGFS_COMPARE_TEST_PAUSE "$COMPARE" "$BLOATED" "$SLIM"
interrupt "imgfs-compare" TERM 2 IMGFS_COMPARE_TEST_PAUSE "$COMPARE" "$BLOATED" "$SLIM"

# ------------------------------------------------------------- (b) pyapp
FXD=${IMGFS_FIXTURES_DIR:-$HOME/.cache/imgfs-fixtures}
PYAPP=$FXD/images/pyapp.docker.tar
REF=$FXD/pyapp.reference.txt
if [ ! -f "$PYAPP" ] || [ ! -f "$REF" ]; then
	echo "note: $PYAPP or its reference missing: the pyapp part is skipped"
	finish
fi
SP=app/venv/lib/python3.11/site-packages
rc=0
"$AUDIT" --json --top 1000 --elf-max 100000 "$PYAPP" >"$W/pyapp.json" 2>"$W/pyapp.err" || rc=$?
expect_eq "pyapp: imgfs-audit exit status" 0 "$rc"
no_leftovers "pyapp: imgfs-audit"
J=$W/pyapp.json
# refsum AWK-CONDITION: bytes of the reference's regular files ($1 path, $4 size) matching it
refsum() { awk -F'\t' "\$2 == \"f\" && ($1) { s += \$4 } END { print s + 0 }" "$REF"; }
pjq() { jq -r --arg p "$1" --arg path "$2" '.patterns[] | select(.id == $p) | .paths[] | select(.path == $path) | .bytes' "$J"; }
ptot() { jq -r --arg p "$1" '.patterns[] | select(.id == $p) | .bytes' "$J"; }
expect_eq "pyapp: bytecode total (every __pycache__ file and .pyc)" \
	"$(refsum '$1 ~ /(^|\/)__pycache__\// || $1 ~ /\.py[co]$/')" "$(ptot bytecode)"
expect_eq "pyapp: test directories in site-packages" \
	"$(refsum '$1 ~ /(site|dist)-packages\/(.*\/)?(tests|test|testing)\//')" "$(ptot tests)"
for d in pytest _pytest pytest-7.2.1.dist-info pip pip-23.0.1.dist-info setuptools setuptools-66.1.1.dist-info pkg_resources; do
	expect_eq "pyapp: dev package $d" "$(refsum "index(\$1, \"$SP/$d/\") == 1")" "$(pjq devpkgs "/$SP/$d")"
done
for d in usr/lib/gcc usr/include; do
	expect_eq "pyapp: toolchain /$d" "$(refsum "index(\$1, \"$d/\") == 1")" "$(pjq toolchain "/$d")"
done
for f in usr/lib/gcc/x86_64-linux-gnu/12/cc1 usr/lib/gcc/x86_64-linux-gnu/12/cc1plus; do
	check "pyapp: /$f is among the largest files with its reference size" \
		test "$(jq -r --arg p "/$f" '.largest_files[] | select(.path == $p) | .bytes' "$J")" = \
		"$(awk -F'\t' -v p="$f" '$1 == p { print $4 }' "$REF")"
done
for d in usr/share/doc usr/share/man usr/share/info usr/share/locale; do
	expect_eq "pyapp: docs /$d" "$(refsum "index(\$1, \"$d/\") == 1")" "$(pjq docs "/$d")"
done
expect_eq "pyapp: static libraries" "$(refsum '$1 ~ /\.a$/')" "$(ptot static)"
# layer 1's own tar: the apt lists it ships, deleted by layer 3
lay1=$(tar -xOf "$PYAPP" manifest.json | jq -r '.[0].Layers[1]')
lists=$(tar -xOf "$PYAPP" "$lay1" | tar -tvf - 2>/dev/null | awk '$1 ~ /^-/ && $6 ~ /^(\.\/)?var\/lib\/apt\/lists\// { s += $3 } END { print s + 0 }')
expect_eq "pyapp: apt lists hidden in layer 1 (bytes in the layer tar)" "$lists" "$(pjq caches /.imgfs/hidden/1/var/lib/apt/lists)"
expect_eq "pyapp: model.bin hidden in layer 2" "2 52428800 deleted" \
	"$(jq -r '.hidden_files[] | select(.path == "/app/data/model.bin") | "\(.layer) \(.bytes) \(.why)"' "$J")"
v1=$FXD/work/pyapp-ctx/app/lib/libengine.so
if [ -f "$v1" ]; then
	expect_eq "pyapp: libengine.so v1 hidden in layer 2" "2 $(stat -c %s "$v1") replaced by layer 4" \
		"$(jq -r '.hidden_files[] | select(.path == "/app/lib/libengine.so") | "\(.layer) \(.bytes) \(.why)"' "$J")"
fi
# unstripped .so files of /app: debug bytes read from the unpacked reference rootfs
ROOTFS=$FXD/work/ref/pyapp/bundle/rootfs
if [ -d "$ROOTFS/app" ]; then
	python3 - "$ROOTFS" >"$W/pyapp-elf.exp" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["SRCDIR"] + "/tests")
from audit_images import debug_bytes
root = sys.argv[1]
for dp, dn, fn in os.walk(os.path.join(root, "app")):
    for f in fn:
        p = os.path.join(dp, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        with open(p, "rb") as fh:
            n = debug_bytes(fh.read())
        if n:
            print("/" + os.path.relpath(p, root) + "\t" + str(n))
EOF
	jq -r '.patterns[] | select(.id == "elf") | .paths[] | select(.path | startswith("/app/")) | "\(.path)\t\(.bytes)"' "$J" |
		sort >"$W/pyapp-elf.got"
	sort -o "$W/pyapp-elf.exp" "$W/pyapp-elf.exp"
	check "pyapp: every unstripped ELF of /app with its .debug_* bytes ($(wc -l <"$W/pyapp-elf.exp") files)" \
		show_diff "unstripped ELF files" "$W/pyapp-elf.exp" "$W/pyapp-elf.got"
	check "pyapp: /app/lib/libengine.so is unstripped" grep -q '^/app/lib/libengine.so	' "$W/pyapp-elf.got"
else
	echo "note: $ROOTFS missing: unstripped ELF bytes not checked"
fi

# --- the slimmed rebuild (umoci), cached beside the fixtures
SLIMDIR=$FXD/audit
PSLIM=$SLIMDIR/pyapp-slim.docker.tar
if [ ! -f "$PSLIM" ] || [ ! -f "$PSLIM.expected" ] || [ "$PYAPP" -nt "$PSLIM" ]; then
	if command -v skopeo >/dev/null && command -v umoci >/dev/null; then
		echo "building $PSLIM (umoci; once)"
		mkdir -p "$SLIMDIR"
		B=$SLIMDIR/build
		rm -rf "$B"
		mkdir -p "$B"
		# total IMAGE_ROOTFS: bytes of regular files, each inode once
		total() { find "$1" -type f -printf '%i\t%s\n' | sort -u -t$'\t' -k1,1 | awk -F'\t' '{ s += $2 } END { print s + 0 }'; }
		if skopeo copy -q "docker-archive:$PYAPP" "oci:$B/oci:pyapp" &&
			umoci unpack --image "$B/oci:pyapp" "$B/bundle" >/dev/null; then
			R=$B/bundle/rootfs
			before=$(total "$R")
			find "$R/app" -name __pycache__ -prune -exec rm -rf {} +
			find "$R/$SP" -depth -type d \( -name tests -o -name test \) -exec rm -rf {} +
			rm -rf "$R/$SP"/{pytest,_pytest,pytest-*.dist-info,py.py,pluggy,pluggy-*,iniconfig,iniconfig-*} \
				"$R/$SP"/{pip,pip-*.dist-info,setuptools,setuptools-*.dist-info,pkg_resources,_distutils_hack,distutils-precedence.pth} \
				"$R"/usr/share/{doc,man,info,locale}
			after=$(total "$R")
			if umoci repack --image "$B/oci:slim" --history.created_by "slim: rm bytecode, tests, dev packages, docs" "$B/bundle" >/dev/null &&
				skopeo copy -q "oci:$B/oci:slim" "docker-archive:$PSLIM.tmp:pyapp-slim:latest"; then
				mv "$PSLIM.tmp" "$PSLIM"
				printf '%s\t%s\n' "$before" "$after" >"$PSLIM.expected"
			fi
		fi
		rm -rf "$B" "$PSLIM.tmp"
	else
		echo "note: skopeo/umoci missing: no slim pyapp, imgfs-compare on pyapp skipped"
	fi
fi
if [ -f "$PSLIM" ] && [ -f "$PSLIM.expected" ]; then
	IFS=$'\t' read -r before after <"$PSLIM.expected"
	cat >"$W/pyapp.checks" <<EOF
present /app/venv/bin/python
executable /app/venv/bin/python
executable /app/bin/python
importable flask /$SP
importable pydantic_core._pydantic_core /$SP
importable yaml /$SP
importable json
absent /$SP/pytest
absent /app/**/__pycache__
absent /usr/share/doc
EOF
	rc=0
	"$COMPARE" --checks "$W/pyapp.checks" "$PYAPP" "$PSLIM" >"$W/pyapp-compare.txt" 2>&1 || rc=$?
	expect_eq "pyapp: imgfs-compare exit status" 0 "$rc"
	no_leftovers "pyapp: imgfs-compare"
	check "pyapp compare: before total $before" grep -Eq "^  before +$before " "$W/pyapp-compare.txt"
	check "pyapp compare: after total $after" grep -Eq "^  after +$after " "$W/pyapp-compare.txt"
	check "pyapp compare: delta $((after - before))" grep -Eq "^  delta +$((after - before)) " "$W/pyapp-compare.txt"
	for c in "PASS   PASS    executable /app/bin/python" "PASS   PASS    importable pydantic_core._pydantic_core /$SP" \
		"PASS   PASS    importable json" "FAIL   PASS    absent /$SP/pytest" "FAIL   PASS    absent /usr/share/doc"; do
		check "pyapp compare check row: $c" grep -qxF "  $c" "$W/pyapp-compare.txt"
	done
	[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/pyapp-compare.txt" | head -60
fi
finish
