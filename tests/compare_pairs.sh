#!/usr/bin/env bash
# Tests of imgfs-compare --pairs FILE and --markdown (issue 17).
#
# tests/audit_images.py writes three small images (bloated, slim, cleaned)
# and expected.tsv, what its Python computed of them.  A pairs file of
# three pairs (whitespace- and tab-separated lines, a relative path with a
# space, a name with a pipe) runs with --checks in --markdown and in --json;
# tests/compare_pairs.py parses the Markdown tables (header, separator, cell
# counts) and the JSON and holds the summary rows, the totals row, the
# checks' statuses and notes, the directories that changed most and the
# largest removed/added files to expected.tsv.  Then one pair in
# --markdown, the exit status (1: a check fails on an AFTER side), and bad
# pairs files (a missing image, a wrong field count, an AFTER that does not
# mount): one line naming the file and line, exit 2, nothing left mounted.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
AUDIT_WORK=compare_pairs
. "$SRCDIR/tests/audit_lib.sh"

if ! python3 "$SRCDIR/tests/audit_images.py" "$W/img" >/dev/null; then
	fail "audit_images.py failed"
	finish
fi
EXP=$W/img/expected.tsv
cp "$W/img/slim.docker.tar" "$W/img/slim copy.docker.tar"
TOP=4 DIRS=6

# verify LABEL ARGS...: compare_pairs.py's lines as pass/fail
verify() {
	local label=$1 line n=0
	shift
	while IFS= read -r line; do
		n=$((n + 1))
		case $line in
		ok\ *) pass "$label: ${line#ok }" ;;
		*) fail "$label: ${line#FAIL }" ;;
		esac
	done < <(python3 "$SRCDIR/tests/compare_pairs.py" "$@" 2>&1)
	[ $n -gt 0 ] || fail "$label: compare_pairs.py printed nothing"
}

cat >"$W/checks" <<'EOF2'
present /app/main.py
absent /usr/share/doc
absent /usr/lib/gcc
EOF2
CHECKS_JSON='["present /app/main.py", "absent /usr/share/doc", "absent /usr/lib/gcc"]'
# the pairs: NAME BEFORE AFTER (relative to the file's directory, img/)
{
	echo "# three pairs"
	printf 'slim  %s  %s\n' "$W/img/bloated.docker.tar" slim.docker.tar
	echo
	printf 'cleaned|late\tbloated.docker.tar\tcleaned.docker.tar\n'
	printf 'regress\tslim copy.docker.tar\tbloated.docker.tar\n'
} >"$W/img/pairs"
PAIRS_JSON='[["slim", "bloated", "slim"], ["cleaned|late", "bloated", "cleaned"], ["regress", "slim", "bloated"]]'

# --- --pairs --markdown
rc=0
"$COMPARE" --pairs "$W/img/pairs" --checks "$W/checks" --markdown --top $TOP --dirs $DIRS \
	>"$W/pairs.md" 2>"$W/pairs.err" || rc=$?
# absent /usr/lib/gcc fails on bloated, the AFTER of two pairs
expect_eq "--pairs --markdown: exit status (a check fails on AFTER)" 1 "$rc"
no_leftovers "--pairs --markdown"
verify "--pairs --markdown" "$EXP" "$PAIRS_JSON" $TOP $DIRS markdown "$W/pairs.md" "$CHECKS_JSON"
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/pairs.md" "$W/pairs.err" | head -60

# --- --pairs --json
rc=0
"$COMPARE" --pairs "$W/img/pairs" --checks "$W/checks" --json --top $TOP --dirs $DIRS \
	>"$W/pairs.json" 2>"$W/pairs-json.err" || rc=$?
expect_eq "--pairs --json: exit status" 1 "$rc"
no_leftovers "--pairs --json"
verify "--pairs --json" "$EXP" "$PAIRS_JSON" $TOP $DIRS json "$W/pairs.json" "$CHECKS_JSON"

# --- --pairs, text: the summary and each pair's report
rc=0
"$COMPARE" --pairs "$W/img/pairs" --top $TOP --dirs $DIRS >"$W/pairs.txt" 2>&1 || rc=$?
expect_eq "--pairs (text, no checks): exit status" 0 "$rc"
check "--pairs text: a report under each name" \
	test "$(grep -cxE '=== (slim|cleaned\|late|regress)' "$W/pairs.txt")" -eq 3
tb=$(exp image bloated) ts=$(exp image slim)
check "--pairs text: summary row of slim" grep -Eq "^  slim +$tb +$ts +-$((tb - ts)) " "$W/pairs.txt"

# --- one pair, --markdown, checks passing
printf 'present /app/main.py\nabsent /usr/share/doc\n' >"$W/checks.ok"
rc=0
"$COMPARE" --markdown --checks "$W/checks.ok" --top $TOP --dirs $DIRS "$W/img/bloated.docker.tar" \
	"$W/img/slim.docker.tar" >"$W/one.md" 2>&1 || rc=$?
expect_eq "--markdown BEFORE AFTER: exit status" 0 "$rc"
no_leftovers "--markdown BEFORE AFTER"
verify "--markdown BEFORE AFTER" "$EXP" '[["slim", "bloated", "slim"]]' $TOP $DIRS markdown "$W/one.md" \
	'["present /app/main.py", "absent /usr/share/doc"]'

# --- bad pairs files: one line naming file and line, exit 2, no mount left
# bad_pairs LABEL LINE_RE: runs $W/bad, its stderr must be one line matching
bad_pairs() {
	local rc=0
	"$COMPARE" --pairs "$W/bad" >"$W/bad.out" 2>"$W/bad.err" || rc=$?
	expect_eq "$1: exit status" 2 "$rc"
	check "$1: one line on stderr" test "$(wc -l <"$W/bad.err")" -eq 1
	check "$1: says $2" grep -Eq "$2" "$W/bad.err"
	check "$1: nothing on stdout" test ! -s "$W/bad.out"
	no_leftovers "$1"
	[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/bad.err" | head -5
	return 0
}
printf 'a\t%s\t%s\n# c\nb %s %s\n' "$W/img/bloated.docker.tar" "$W/img/slim.docker.tar" \
	"$W/img/slim.docker.tar" "$W/img/nosuch.tar" >"$W/bad"
bad_pairs "--pairs, a missing image on line 3" "^imgfs-compare: .*/bad:3: .*/img/nosuch\.tar: no such image$"
printf 'a %s\n' "$W/img/slim.docker.tar" >"$W/bad"
bad_pairs "--pairs, two fields" "^imgfs-compare: .*/bad:1: needs NAME BEFORE AFTER"
printf 'a %s %s\nb %s %s\n' "$W/img/bloated.docker.tar" "$W/img/slim.docker.tar" \
	"$W/img/slim.docker.tar" "$W/checks" >"$W/bad"
bad_pairs "--pairs, an AFTER that does not mount (line 2)" "^imgfs-compare: .*/bad:2: b: .*checks"
printf 'a %s %s\na %s %s\n' "$W/img/bloated.docker.tar" "$W/img/slim.docker.tar" \
	"$W/img/slim.docker.tar" "$W/img/slim.docker.tar" >"$W/bad"
bad_pairs "--pairs, a name used twice" "^imgfs-compare: .*/bad:2: the name 'a' is used twice"
rc=0; "$COMPARE" --pairs "$W/img/pairs" "$W/img/slim.docker.tar" "$W/img/slim.docker.tar" >/dev/null 2>&1 || rc=$?
expect_eq "--pairs with BEFORE AFTER: exit" 2 "$rc"

# --- a signal during a pair: exit 130/143, its mounts gone
# interrupt SIGNAL STATUS: --pairs with the first pair paused once mounted
# (IMGFS_COMPARE_TEST_PAUSE reaches the pair's run), signalled
interrupt() {
	local pid i n rc=0
	set -m
	IMGFS_COMPARE_TEST_PAUSE=30 "$COMPARE" --pairs "$W/img/pairs" >/dev/null 2>&1 &
	pid=$!
	set +m
	for ((i = 0; i < 300; i++)); do
		n=$(awk -v d="$TMPDIR/" 'index($2, d) == 1' /proc/self/mounts | wc -l)
		[ "$n" -ge 2 ] && break
		sleep 0.1
	done
	if [ "$n" -lt 2 ]; then
		fail "--pairs, SIG$1: the mounts never appeared"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return
	fi
	kill -"$1" "$pid"
	wait "$pid" || rc=$?
	expect_eq "--pairs, SIG$1 during a pair: exit status" "$2" "$rc"
	no_leftovers "--pairs after SIG$1"
}
interrupt INT 130
interrupt TERM 143
finish
