#!/usr/bin/env bash
# Tests of scripts/imgfs-audit and scripts/imgfs-compare.
#
# (a) Always: tests/audit_images.py writes a small image with planted bloat
#     (and a slim variant); imgfs-audit must find every planted item with
#     its exact bytes, imgfs-compare must report the delta, the check
#     results and the exit status; neither may leave a mount behind, even
#     when interrupted with SIGINT while its mounts are up.
# The same on the generated pyapp image: tests/audit_pyapp.sh.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
AUDIT_WORK=audit
. "$SRCDIR/tests/audit_lib.sh"

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
# FILES of a hidden layer counts regular files (not the directories above them)
expect_eq "audit --json: hidden_files of layer 2 (regular files)" \
	"$(awk -F'\t' '$1 == "hidden" && $2 == 2' "$EXP" | wc -l)" \
	"$(jq -r '.layers[] | select(.layer == 2) | .hidden_files' "$W/audit.json")"
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
# negations, counts, a module found in a venv without naming its site
! present /app/data/model.bin
not-importable pytest
not absent /app/main.py
importable pkg.core
count /var/lib/apt/lists/* == 0
count /app/**/*.py >= 3
count /app/venv/lib/python3.11/site-packages/pkg/* < 3
EOF
rc=0
"$COMPARE" --checks "$W/checks.ok" "$BLOATED" "$SLIM" >"$W/compare.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: exit status, all checks pass on AFTER" 0 "$rc"
no_leftovers "imgfs-compare IMAGE IMAGE"
tb=$(awk -F'\t' '$1 == "image" && $2 == "bloated" { print $3 }' "$EXP")
ta=$(awk -F'\t' '$1 == "image" && $2 == "slim" { print $3 }' "$EXP")
cost_row compare.txt merged "$tb" "$ta"
cost_row compare.txt layers "$(exp layers bloated)" "$(exp layers slim)"
cost_row compare.txt hidden "$(exp hiddentotal bloated)" "$(exp hiddentotal slim)"
cost_row compare.txt count "$(exp layers bloated 4)" "$(exp layers slim 4)"
# docker save stores layers uncompressed: stored = tar bytes
cost_row compare.txt stored "$(exp layers bloated)" "$(exp layers slim)"
check "compare: no 'shrank but grew' line when the image shrank" test "$(grep -c shrank "$W/compare.txt")" -eq 0
# the cleanup in a later layer: the tree shrinks, the image grows
CLEANED=$W/img/cleaned.docker.tar
rc=0
"$COMPARE" "$BLOATED" "$CLEANED" >"$W/compare-late.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare BLOATED CLEANED: exit status" 0 "$rc"
cost_row compare-late.txt merged "$tb" "$(exp image cleaned)"
cost_row compare-late.txt layers "$(exp layers bloated)" "$(exp layers cleaned)"
cost_row compare-late.txt hidden "$(exp hiddentotal bloated)" "$(exp hiddentotal cleaned)"
shrank=$((tb - $(exp image cleaned))) grew=$(($(exp layers cleaned) - $(exp layers bloated)))
check "compare: the tree shrank by $shrank but the image grew by $grew" \
	grep -Eq "^  the merged tree shrank by .* \($shrank bytes\) but the image grew by .* \($grew bytes\)" "$W/compare-late.txt"
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/compare-late.txt" | head -20
check "compare: /var directory row" grep -Eq '^ +77000 +0 +-77000 +-100\.0%  /var$' "$W/compare.txt"
check "compare: largest removed file" grep -Eq '^ +[0-9.]+K +50000  /var/lib/apt/lists/deb.example_dists_main_Packages$' "$W/compare.txt"
for c in "PASS   PASS    present /app/main.py" "PASS   PASS    executable /app/venv/bin/python" \
	"PASS   PASS    importable pkg.core /app/venv/lib/python3.11/site-packages" "PASS   PASS    importable json" \
	"FAIL   PASS    absent /app/venv/lib/python3.11/site-packages/pytest" "FAIL   PASS    absent /app/**/__pycache__" \
	"FAIL   PASS    absent /var/lib/apt/lists/*" "FAIL   PASS    absent /usr/share/doc" \
	"PASS   PASS    ! present /app/data/model.bin" "FAIL   PASS    not-importable pytest" \
	"PASS   PASS    not absent /app/main.py" "PASS   PASS    importable pkg.core" \
	"FAIL   PASS    count /var/lib/apt/lists/* == 0" "PASS   PASS    count /app/**/*.py >= 3" \
	"FAIL   PASS    count /app/venv/lib/python3.11/site-packages/pkg/* < 3"; do
	check "compare check row: $c" grep -qxF "  $c" "$W/compare.txt"
done
check "compare: layer tables of both sides" test "$(grep -c 'COPY app /app' "$W/compare.txt")" -eq 2
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/compare.txt" | head -80

printf 'present /usr/share/doc/base/copyright\nabsent /app/data/model.bin\n' >"$W/checks.fail"
rc=0
"$COMPARE" --checks "$W/checks.fail" "$BLOATED" "$SLIM" >"$W/compare2.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: exit status when a check fails on AFTER" 1 "$rc"
check "compare: FAIL row" grep -qxF "  PASS   FAIL    present /usr/share/doc/base/copyright" "$W/compare2.txt"
printf '! importable json\n' >"$W/checks.neg"
rc=0
"$COMPARE" --checks "$W/checks.neg" "$BLOATED" "$SLIM" >"$W/compare-neg.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: a negated check failing on AFTER -> exit" 1 "$rc"
check "compare: negated check fails on both" grep -qxF "  FAIL   FAIL    ! importable json" "$W/compare-neg.txt"
rc=0
"$COMPARE" --checks "$W/checks.fail" "$SLIM" "$BLOATED" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare: a check failing on BEFORE only" 0 "$rc"
printf 'exists /x\n' >"$W/checks.bad"
rc=0
"$COMPARE" --checks "$W/checks.bad" "$BLOATED" "$SLIM" >/dev/null 2>"$W/bad.err" || rc=$?
expect_eq "imgfs-compare: unknown check -> exit" 2 "$rc"
printf 'count /etc/* ~ 3\n' >"$W/checks.bad2"
rc=0
"$COMPARE" --checks "$W/checks.bad2" "$BLOATED" "$SLIM" >/dev/null 2>"$W/bad2.err" || rc=$?
expect_eq "imgfs-compare: count with a bad operator -> exit" 2 "$rc"
check "compare: count with a bad operator: one line naming it" grep -q "checks.bad2:1: 'count' needs GLOB OP N" "$W/bad2.err"
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
	cost_row compare3.txt merged "$tb" "$ta"
	cost_row compare3.txt layers "$(exp layers bloated)" "$(exp layers slim)"
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

finish
