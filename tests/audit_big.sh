#!/usr/bin/env bash
# imgfs-audit and imgfs-compare print exact figures past 2^32: on an image
# of 12.5 GB of holes (tests/bigsizes.py, 40 KB on disk) every total, in
# text and JSON, must equal the generator's own Python sums.  mawk, the
# awk of Debian, printed such sums as 2.41172e+09 and clamped %d at 2^31.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
AUDIT_WORK=audit-big
. "$SRCDIR/tests/audit_lib.sh"

if ! python3 "$SRCDIR/tests/bigsizes.py" "$W/img" >"$W/gen.log" 2>&1; then
	fail "bigsizes.py failed: $(tail -3 "$W/gen.log")"
	finish
fi
EXP=$W/img/expected.tsv
BIG=$W/img/big.docker.tar
SMALL=$W/img/small.docker.tar
# jval FILE EXPR: a value of the JSON in FILE, read by Python (exact integers,
# where jq would go through a double)
jval() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"; }
# no_floats LABEL FILE: no figure in float or exponent form
no_floats() {
	if grep -Eq '[0-9]e[+-][0-9]|invalid number' "$1"; then
		fail "$2: a figure in exponent form: $(grep -Em2 '[0-9]e[+-][0-9]|invalid number' "$1")"
	else
		pass "$2: no figure in exponent form"
	fi
}

# ------------------------------------------------------------ imgfs-audit
rc=0
"$AUDIT" "$BIG" >"$W/audit.txt" 2>"$W/audit.err" || rc=$?
expect_eq "imgfs-audit BIG: exit status" 0 "$rc"
cat "$W/audit.err" >>"$W/audit.txt"
no_floats "$W/audit.txt" "imgfs-audit text"
img=$(exp image big) hid=$(exp hidden big)
check "audit: image line $img bytes, hidden $hid" \
	grep -Eq "^image: .* \($img bytes\) in .*hidden by later layers: .* \($hid bytes\)" "$W/audit.txt"
for p in bytecode tests static docs; do
	b=$(exp total "$p")
	t=$(case $p in bytecode) echo Python ;; tests) echo Test ;; static) echo Static ;; docs) echo Docs ;; esac)
	check "audit: $p section total $b" grep -Eq "^total: [0-9.]+G \($b bytes\) in " \
		<(awk -v t="== $t" 'index($0, t) == 1 { getline; print; exit }' "$W/audit.txt")
	check "audit: summary row $p $b" grep -Eq "^  $p +$b " "$W/audit.txt"
done
check "audit: summary row any" grep -Eq "^  any +$(awk -F'\t' '$1 == "any" { print $2 }' "$EXP") " "$W/audit.txt"
check "audit: summary row hidden $hid" grep -Eq "^  hidden +$hid " "$W/audit.txt"
check "audit: summary row image $img" grep -Eq "^  image +$img " "$W/audit.txt"
while IFS=$'\t' read -r kind path bytes; do
	[ "$kind" = file ] || continue
	check "audit: largest file $path $bytes" grep -Eq "^ +[0-9.]+G +$bytes  ${path//./\\.}  \(layer 0\)$" "$W/audit.txt"
done <"$EXP"
# layer 0 ships every file; one regular file of it is hidden (layer 1 deletes it)
check "audit: hidden row of layer 0: $hid bytes in 1 regular file" \
	grep -Eq "^  0 +[0-9]+ +$hid +1  layer 0$" "$W/audit.txt"

rc=0
"$AUDIT" --json "$BIG" >"$W/audit.json" 2>"$W/audit-json.err" || rc=$?
expect_eq "imgfs-audit --json BIG: exit status" 0 "$rc"
no_floats "$W/audit.json" "imgfs-audit --json"
expect_eq "audit --json: total_bytes" "$img" "$(jval "$W/audit.json" 'd["total_bytes"]')"
expect_eq "audit --json: wasted_bytes" "$hid" "$(jval "$W/audit.json" 'd["wasted_bytes"]')"
expect_eq "audit --json: any_pattern_bytes" "$(awk -F'\t' '$1 == "any" { print $2 }' "$EXP")" \
	"$(jval "$W/audit.json" 'd["any_pattern_bytes"]')"
for p in bytecode tests static docs; do
	expect_eq "audit --json: $p bytes" "$(exp total "$p")" \
		"$(jval "$W/audit.json" "[x['bytes'] for x in d['patterns'] if x['id'] == '$p'][0]")"
done
expect_eq "audit --json: layer 0 hidden_bytes" "$hid" "$(jval "$W/audit.json" 'd["layers"][0]["hidden_bytes"]')"
expect_eq "audit --json: layer 0 hidden_files (regular files)" 1 "$(jval "$W/audit.json" 'd["layers"][0]["hidden_files"]')"
expect_eq "audit --json: largest file" "$(awk -F'\t' '$1 == "file" { print $3 }' "$EXP" | sort -n | tail -1)" \
	"$(jval "$W/audit.json" 'd["largest_files"][0]["bytes"]')"
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/audit.txt" | head -80

# ---------------------------------------------------------- imgfs-compare
rc=0
"$COMPARE" "$BIG" "$SMALL" >"$W/compare.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare BIG SMALL: exit status" 0 "$rc"
no_floats "$W/compare.txt" "imgfs-compare"
cost_row compare.txt merged "$img" "$(exp image small)"
cost_row compare.txt hidden "$hid" "$(exp hidden small)"
cost_row compare.txt layers "$(exp layers big)" "$(exp layers small)"
# the files removed: bytecode, tests, docs of the generator, summed by Python
rm_bytes=$(($(exp total bytecode) + $(exp total tests) + $(exp total docs)))
check "compare: files removed: $rm_bytes bytes" grep -Eq "^== Files removed: 3 \(.*, $rm_bytes bytes;" "$W/compare.txt"
check "compare: /usr/share row" grep -Eq "^ +$(exp total docs) +0 +-$(exp total docs) +-100\.0%  /usr/share$" "$W/compare.txt"
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/compare.txt" | head -60
# --json: the same figures as JSON integers (bash arithmetic, never awk's doubles)
rc=0
"$COMPARE" --json "$BIG" "$SMALL" >"$W/compare.json" 2>"$W/compare-json.err" || rc=$?
expect_eq "imgfs-compare --json BIG SMALL: exit status" 0 "$rc"
no_floats "$W/compare.json" "imgfs-compare --json"
for k in "merged image" "hidden hidden" "layers layers"; do
	set -- $k
	b=$(exp "$2" big) a=$(exp "$2" small)
	expect_eq "compare --json: costs.$1 of BIG, SMALL, delta" "$b $a $((a - b))" \
		"$(jval "$W/compare.json" "' '.join(str(d['costs']['$1'][k]) for k in ('before', 'after', 'delta'))")"
done
expect_eq "compare --json: removed bytes" "$rm_bytes" "$(jval "$W/compare.json" 'd["removed"]["bytes"]')"
expect_eq "compare --json: /usr/share row" "$(exp total docs) 0" \
	"$(jval "$W/compare.json" '" ".join(str(r[k]) for r in d["dirs"] if r["path"] == "/usr/share" for k in ("before", "after"))')"
no_leftovers "imgfs-audit and imgfs-compare on the big image"
finish
