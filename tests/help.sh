#!/usr/bin/env bash
# Every imgfs command documented in four places that must agree: its own
# usage (imgfs help CMD, imgfs CMD --help), the global --help, the manual
# (imgfs.1) and the bash completion.  The expected values come from
# elsewhere than imgfs's output: the command names from the manual's
# SYNOPSIS, and each command's long options from the struct option tables
# of its C source (tools/*.c), which are what getopt_long really accepts.
# A command or option added to the code but not to the documentation, or
# the reverse, fails here.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.  No
# mount: mandoc and bash-completion missing skip their parts (exit 77; a
# failure under CI, which installs both).
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

[ -x "$IMGFS" ] || { echo "FAIL - IMGFS='$IMGFS' is not an executable"; exit 1; }
W=$BUILDDIR/help
rm -rf "$W"
mkdir -p "$W/empty"
MAN=$SRCDIR/imgfs.1

# ------------------------------------------------- the independent sources

# The commands: the manual's SYNOPSIS, one ".Nm" line then ".Cm NAME".
cmds=$(awk '/^\.Sh /{ s = ($2 == "SYNOPSIS") } s && prev == ".Nm" && $1 == ".Cm" { print $2 } { prev = $0 }' "$MAN" | sort -u)
[ "$(echo "$cmds" | wc -w)" -ge 8 ] && pass "SYNOPSIS of imgfs.1 names $(echo $cmds)" ||
	fail "SYNOPSIS of imgfs.1 names only: $(echo $cmds)"

# lopts FILE [FUNCTION]: the long options of the struct option table in
# FILE (in FUNCTION's body, when given), "help" left out (checked alone),
# one a line as NAME or, when its value is also a letter of getopt_long's
# short options there, NAME/LETTER (quiet/q: -q is the same option).
lopts() {
	awk -v fn="${2:-}" '
		fn != "" && $0 ~ "^[a-z].*[ *]" fn "\\(" { infn = 1 }
		fn != "" && infn && /^}/ { infn = 0 }
		fn != "" && !infn { next }
		/struct option [a-z_]+\[\] = \{/ { tab = 1; next }
		tab && /^[ \t]*\};/ { tab = 0 }
		tab && match($0, /\{ "[a-z-]+", [a-z_]+, NULL, \047.\047/) {
			split(substr($0, RSTART, RLENGTH), f, /[" \047]+/)
			if (f[2] != "help") { name[++n] = f[2]; val[n] = f[6] }
		}
		/getopt_long\(/ { s = $0; while (match(s, /"[^"]*"/)) { shorts = shorts substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH) } }
		tab && match($0, /\{ "[a-z-]+", [a-z_]+, NULL, [A-Z_]+/) {
			split(substr($0, RSTART, RLENGTH), f, /[" ]+/)
			if (f[2] != "help") { name[++n] = f[2]; val[n] = "" }
		}
		END { for (i = 1; i <= n; i++) print name[i] (val[i] != "" && index(shorts, val[i]) ? "/" val[i] : "") }
	' "$SRCDIR/tools/$1"
}
# the long name of NAME[/LETTER], and a grep -E pattern for either form
long() { echo "${1%/*}"; }
either() { case $1 in */*) echo "(--${1%/*}|-${1#*/})\\b" ;; *) echo "--$1\\b" ;; esac; }
parse_opts=$(lopts imgfs.c parse)
declare -A OPTS=(
	# mount, index and layers share parse() of tools/imgfs.c; mount refuses
	# --json and both refuse --human-readable (checked below), so those are
	# not their options
	[mount]=$(echo "$parse_opts" | grep -vx -e json -e human-readable)
	[index]=$(echo "$parse_opts" | grep -vx human-readable)
	[layers]=$parse_opts
	[umount]=
	[check]=$(lopts check.c imgfs_cmd_check)
	[packages]=$(lopts packages.c imgfs_cmd_packages)
	[duplicates]=$(lopts duplicates.c imgfs_cmd_duplicates)
	[elf]=$(lopts elf.c imgfs_cmd_elf)
	[verify]=$(lopts verify.c imgfs_cmd_verify)
	[report]=$(lopts report.c imgfs_cmd_report)
	[cache]=$(lopts cache.c imgfs_cmd_cache)
	[help]=
)
for c in index check packages duplicates elf report verify cache; do
	[ -n "${OPTS[$c]}" ] || fail "no struct option table found for $c in tools/"
done
for c in $cmds; do
	[ -n "${OPTS[$c]+set}" ] || fail "imgfs.1 names command '$c', which this test has no option source for"
done
rc=0
"$IMGFS" mount --json --help >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] && pass "mount refuses --json (exit 2), so --json is not one of its options" ||
	fail "mount --json --help exited $rc: is --json one of mount's options now?"
for c in mount index; do
	rc=0
	"$IMGFS" "$c" --human-readable --help >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] && pass "$c refuses --human-readable (exit 2)" ||
		fail "$c --human-readable --help exited $rc: is it one of $c's options now?"
done

# ------------------------------------------------------ imgfs help COMMAND

"$IMGFS" --help >"$W/global" 2>&1
for c in $cmds; do
	rc=0
	"$IMGFS" help "$c" >"$W/help.$c" 2>"$W/err" || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$W/err" ]; then
		fail "imgfs help $c: exit $rc, stderr: $(head -2 "$W/err")"
	elif cmp -s "$W/help.$c" "$W/global"; then
		fail "imgfs help $c prints the global usage"
	elif ! head -1 "$W/help.$c" | grep -q "^usage: imgfs $c\b"; then
		fail "imgfs help $c: the first line is not 'usage: imgfs $c ...': $(head -1 "$W/help.$c")"
	else
		pass "imgfs help $c: exit 0, its own usage"
	fi
	grep -q '^example' "$W/help.$c" && pass "imgfs help $c: an example" ||
		fail "imgfs help $c: no example line"
	rc=0
	"$IMGFS" "$c" --help >"$W/dash.$c" 2>"$W/err" || rc=$?
	[ "$rc" -eq 0 ] && cmp -s "$W/dash.$c" "$W/help.$c" &&
		pass "imgfs $c --help: exit 0, the text of imgfs help $c" ||
		fail "imgfs $c --help: exit $rc, $(diff "$W/help.$c" "$W/dash.$c" | head -3) $(head -1 "$W/err")"
	miss= gmiss=
	for o in ${OPTS[$c]} help; do
		grep -q -- "--$(long "$o")\b" "$W/help.$c" || miss="$miss --$(long "$o")"
		[ "$o" = help ] && continue
		# the global usage lists each command's options on its lines (the
		# short form will do there)
		awk -v c="imgfs $c " 'index($0, c) { s = 1; print; next } s && /^            +\[/ { print; next } { s = 0 }' \
			"$W/global" | grep -Eq -- "$(either "$o")" || gmiss="$gmiss --$(long "$o")"
	done
	[ -z "$miss" ] && pass "imgfs help $c: every option of $c in tools/ ($(echo ${OPTS[$c]}) help)" ||
		fail "imgfs help $c lacks$miss"
	[ -z "$gmiss" ] && pass "imgfs --help: the lines of $c list its options" ||
		fail "imgfs --help: the lines of $c lack$gmiss"
done
awk 'length > 80' "$W/global" "$W"/help.* >"$W/long"
[ -s "$W/long" ] && fail "usage lines over 80 columns: $(head -2 "$W/long")" ||
	pass "no usage line over 80 columns"

rc=0
"$IMGFS" help nosuch >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && [ ! -s "$W/out" ] &&
	grep -q '^imgfs: .*nosuch' "$W/err" &&
	pass "imgfs help nosuch: exit 2, one 'imgfs:' line on stderr: $(cat "$W/err")" ||
	fail "imgfs help nosuch: exit $rc, stdout $(wc -c <"$W/out") bytes, stderr: $(head -3 "$W/err")"
rc=0
"$IMGFS" help >"$W/out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] && cmp -s "$W/out" "$W/global" && pass "imgfs help: the global usage, exit 0" ||
	fail "imgfs help: exit $rc, differs from --help"
rc=0
"$IMGFS" --help >/dev/full 2>/dev/null || rc=$?
[ "$rc" -ne 0 ] && pass "imgfs --help >/dev/full: exit $rc, the write error is not lost" ||
	fail "imgfs --help >/dev/full exited 0"

# ------------------------------------------------------------- the manual

if command -v mandoc >/dev/null; then
	out=$(mandoc -T lint -W warning "$MAN" 2>&1)
	[ -z "$out" ] && pass "mandoc -T lint -W warning imgfs.1 is clean" || fail "mandoc: $out"
	# the manual as a reader sees it: every command has a subsection
	# (".Ss imgfs CMD", rendered at 3 columns) that names each option
	mandoc -T ascii -O width=200 "$MAN" | sed "s/.\x08//g" >"$W/man.txt"
	for c in $cmds; do
		awk -v h="   imgfs $c" '$0 == h || index($0, h " ") == 1 { s = 1; next } s && /^(   )?[^ ]/ { s = 0 } s' \
			"$W/man.txt" >"$W/man.$c"
		if [ ! -s "$W/man.$c" ]; then
			fail "imgfs.1: no subsection 'imgfs $c'"
			continue
		fi
		miss=
		for o in ${OPTS[$c]}; do
			o=$(long "$o")
			grep -q -- "--$o\b" "$W/man.$c" || miss="$miss --$o"
		done
		[ -z "$miss" ] && pass "imgfs.1: subsection 'imgfs $c' names all its options" ||
			fail "imgfs.1: subsection 'imgfs $c' lacks$miss"
	done
	# each option has its own entry in OPTIONS
	awk '/^OPTIONS/ { s = 1; next } s && /^[^ ]/ { s = 0 } s' "$W/man.txt" >"$W/man.options"
	miss=
	for o in $(printf '%s\n' "${OPTS[@]}" | sed 's,/.*,,' | sort -u) help; do
		grep -Eq -- "^     (-[a-z], )?--$o\b" "$W/man.options" || miss="$miss --$o"
	done
	[ -z "$miss" ] && pass "imgfs.1 OPTIONS: an entry for every long option of tools/" ||
		fail "imgfs.1 OPTIONS: no entry for$miss"
	# SEE ALSO names the scripts installed beside imgfs
	awk '/^SEE ALSO/ { s = 1; next } s && /^[^ ]/ { s = 0 } s' "$W/man.txt" >"$W/man.seealso"
	for s in imgfs-audit imgfs-compare; do
		grep -q "$s" "$W/man.seealso" && pass "imgfs.1 SEE ALSO: $s" || fail "imgfs.1 SEE ALSO lacks $s"
	done
else
	skip_part "mandoc missing (apt-get install mandoc)"
fi

# ----------------------------------------------------------- the completion

# complete WORDS...: what _imgfs offers for the last word, one per line,
# run in an empty directory so that no file names come in.
complete_words() {
	(cd "$W/empty" && bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1/completions/imgfs.bash"
		shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_imgfs imgfs "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"' bash "$SRCDIR" "$@")
}
if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(complete_words imgfs "")
	miss=
	for c in $cmds; do grep -qx "$c" <<<"$got" || miss="$miss $c"; done
	[ -z "$miss" ] && pass "completion of 'imgfs ': every command" || fail "completion of 'imgfs ' lacks$miss"
	got=$(complete_words imgfs help "")
	miss=
	for c in $cmds; do grep -qx "$c" <<<"$got" || miss="$miss $c"; done
	[ -z "$miss" ] && pass "completion of 'imgfs help ': every command" ||
		fail "completion of 'imgfs help ' lacks$miss"
	for c in $cmds; do
		[ -n "${OPTS[$c]}" ] || continue
		got=$(complete_words imgfs "$c" --)
		miss=
		for o in ${OPTS[$c]} help; do
			o=$(long "$o")
			grep -qx -- "--$o" <<<"$got" || miss="$miss --$o"
		done
		[ -z "$miss" ] && pass "completion of 'imgfs $c --': every option" ||
			fail "completion of 'imgfs $c --' lacks$miss"
	done
else
	skip_part "bash-completion is not installed"
fi

finish
