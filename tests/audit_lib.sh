# The set-up shared by tests/audit.sh and tests/audit_pyapp.sh (sourced
# after SRCDIR, BUILDDIR, IMGFS and AUDIT_WORK, the work directory's name,
# are set): lib.sh, the scripts under test, a private TMPDIR, and two
# checks: nothing left behind, and equal values.
IMGFS=$(cd "$(dirname "$IMGFS")" && pwd)/$(basename "$IMGFS")
export IMGFS
. "$SRCDIR/tests/lib.sh"

require_fuse
command -v jq >/dev/null || { echo "FAIL - jq missing (apt-get install jq)"; exit 1; }
init_workdir "$BUILDDIR/$AUDIT_WORK"
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

# cost_row FILE ROW BEFORE AFTER: $W/FILE, an imgfs-compare report, has the
# cost-table row ROW with both values and their exact signed delta
cost_row() {
	local d=$(($4 - $3))
	[ $d -ge 0 ] && d=+$d
	check "compare $1: $2 row $3 -> $4 ($d)" grep -Eq "^  $2 +$3 +$4 +${d//+/\\+} " "$W/$1"
}

# exp KIND NAME [FIELD]: a value of the generator's $EXP, expected.tsv
# (field 3 by default)
exp() { awk -F'\t' -v k="$1" -v n="$2" -v f="${3:-3}" '$1 == k && $2 == n { print $f }' "$EXP"; }
