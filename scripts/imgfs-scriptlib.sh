# Shared bash functions of scripts/imgfs-audit and scripts/imgfs-compare:
# finding the imgfs binary, mounting an image in a private temporary
# directory and unmounting it on every exit path (normal end, error,
# SIGINT, SIGTERM, SIGHUP, SIGPIPE). Sourced, never run.
#
#   . "$HERE/imgfs-scriptlib.sh"
#   sl_init NAME            temp dir + traps (call once, before mounting)
#   sl_open TARGET VAR      VAR := a directory to audit: TARGET itself when it
#                           is a mount point (or a plain directory), else a
#                           fresh mount of the image TARGET (unmounted at exit)
#
# Exit status convention of the scripts: 2 = usage error or an input that
# cannot be opened.

SL_TMP=
SL_MOUNTS=()
SL_MOUNT_ARGS=()     # extra "imgfs mount" options (--image NAME, --platform P)
SL_NAME=${SL_NAME:-imgfs-script}

sl_die() { echo "$SL_NAME: $*" >&2; exit 2; }
sl_warn() { echo "$SL_NAME: $*" >&2; }

# sl_find_imgfs: sets IMGFS to $IMGFS, else `imgfs` on PATH, else the build
# directory next to this script (build/tools/imgfs, then build-*/tools/imgfs).
sl_find_imgfs() {
	local here c
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	if [ -n "${IMGFS:-}" ]; then
		return 0
	fi
	if c=$(command -v imgfs 2>/dev/null); then
		IMGFS=$c
		return 0
	fi
	for c in "$here/../build/tools/imgfs" "$here"/../build*/tools/imgfs; do
		if [ -x "$c" ]; then
			IMGFS=$c
			return 0
		fi
	done
	IMGFS=
	return 1
}

# sl_unmount MNT: imgfs umount, then fusermount3 -u, then a lazy unmount.
sl_unmount() {
	local mnt=$1 i
	mountpoint -q "$mnt" 2>/dev/null || return 0
	for i in 1 2 3; do
		if [ -n "${IMGFS:-}" ]; then
			timeout 30 "$IMGFS" umount "$mnt" >/dev/null 2>&1
		else
			fusermount3 -u "$mnt" >/dev/null 2>&1
		fi
		mountpoint -q "$mnt" 2>/dev/null || return 0
		sleep 0.2
	done
	fusermount3 -u "$mnt" >/dev/null 2>&1 || fusermount -u "$mnt" >/dev/null 2>&1 ||
		fusermount3 -uz "$mnt" >/dev/null 2>&1 || umount -l "$mnt" >/dev/null 2>&1
	! mountpoint -q "$mnt" 2>/dev/null
}

sl_cleanup() {
	local rc=$? i left=0
	trap - EXIT INT TERM HUP PIPE
	for ((i = ${#SL_MOUNTS[@]} - 1; i >= 0; i--)); do
		if ! sl_unmount "${SL_MOUNTS[i]}"; then
			sl_warn "could not unmount ${SL_MOUNTS[i]}"
			left=1
		fi
	done
	SL_MOUNTS=()
	if [ -n "$SL_TMP" ] && [ -d "$SL_TMP" ]; then
		if [ $left = 0 ]; then
			rm -rf -- "$SL_TMP"
		else
			sl_warn "left $SL_TMP in place (a mount is still there)"
		fi
	fi
	exit "$rc"
}

# sl_init: makes the private temp dir and installs the traps. A signal ends
# the script (status 128+N) through the EXIT trap, which unmounts.
sl_init() {
	SL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$SL_NAME.XXXXXX") || sl_die "cannot make a temporary directory"
	trap sl_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
	trap 'exit 141' PIPE
}

# sl_open TARGET VAR: see the header. Dies (exit 2) when TARGET cannot be
# opened.
sl_open() {
	local target=$1 var=$2 mnt rc=0
	if [ -d "$target" ] && mountpoint -q "$target" 2>/dev/null; then
		printf -v "$var" '%s' "$(cd "$target" && pwd -P)"
		return 0
	fi
	if [ -d "$target" ] && [ ! -e "$target/oci-layout" ]; then
		sl_warn "$target is not a mount point: auditing the directory as it is (no user.imgfs.* attributes)"
		printf -v "$var" '%s' "$(cd "$target" && pwd -P)"
		return 0
	fi
	[ -e "$target" ] || sl_die "$target: no such file or directory"
	[ -r "$target" ] || sl_die "$target: not readable"
	if [ -z "${IMGFS:-}" ] || ! [ -x "$IMGFS" ]; then
		sl_die "imgfs not found (set IMGFS, put imgfs on PATH or build it into build/)"
	fi
	[ -c /dev/fuse ] || sl_die "/dev/fuse is missing: cannot mount $target"
	mnt=$SL_TMP/mnt${#SL_MOUNTS[@]}
	mkdir -p "$mnt"
	SL_MOUNTS+=("$mnt")
	timeout 900 "$IMGFS" mount "${SL_MOUNT_ARGS[@]}" "$target" "$mnt" 2>"$mnt.err" || rc=$?
	if [ "$rc" -ne 0 ] || ! mountpoint -q "$mnt"; then
		sed 's/^/  /' "$mnt.err" >&2
		sl_die "cannot mount $target (imgfs mount exit $rc)"
	fi
	printf -v "$var" '%s' "$mnt"
}

# sl_xattr PATH NAME: value of the user.imgfs.* attribute NAME, empty if none.
sl_xattr() {
	getfattr -h --only-values -n "$2" -- "$1" 2>/dev/null
}

# sl_hum BYTES: human-readable size (numfmt --to=iec).
sl_hum() {
	numfmt --to=iec --format='%.1f' -- "$1" 2>/dev/null | sed 's/\.0\([A-Z]\?\)$/\1/' || echo "$1"
}

# sl_json_str S: S as a JSON string literal (the control bytes JSON
# forbids raw, a file name may hold: \u00XX).
sl_json_str() {
	local s=$1 c r i
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/\\r}
	if [[ $s == *[$'\x01'-$'\x1f']* ]]; then
		for ((i = 1; i < 32; i++)); do
			printf -v c '%b' "\\x$(printf %02x "$i")"
			printf -v r '\\u%04x' "$i"
			s=${s//"$c"/"$r"}
		done
	fi
	printf '"%s"' "$s"
}

# SL_AWK_EXACT: awk functions for byte counts exact to 2^63, prepended to
# the scripts' awk programs.  Debian's awk is mawk: its numbers are
# doubles (integers exact only to 2^53), `print` writes a sum over 2^31
# as 2.41172e+09 and printf "%d" clamps at 2^31 - 1.  So a count is kept
# as two parts, A[k, 1] * 1e9 + A[k, 0], each part a small exact integer,
# and written with "%.0f" only.  Every size enters as its decimal string,
# split before awk turns it into a double.
#   ex_add(A, k, s)    A[k] += s (s a decimal string, may start with -)
#   ex_sub(A, k, s)    A[k] -= s
#   ex_str(A, k)       A[k] as a decimal string ("0" when never added to)
#   ex_diff(a, b)      b - a of two decimal strings, as a decimal string
SL_AWK_EXACT='
function ex_add(A, k, s,   neg, n, h, l, c) {
	neg = (substr(s, 1, 1) == "-")
	if (neg) s = substr(s, 2)
	n = length(s)
	if (n > 9) { h = substr(s, 1, n - 9) + 0; l = substr(s, n - 8) + 0 } else { h = 0; l = s + 0 }
	if (neg) { h = -h; l = -l }
	A[k, 1] += h; A[k, 0] += l
	c = int(A[k, 0] / 1e9)
	A[k, 0] -= c * 1e9; A[k, 1] += c
}
function ex_sub(A, k, s) {
	if (substr(s, 1, 1) == "-") ex_add(A, k, substr(s, 2))
	else ex_add(A, k, "-" s)
}
function ex_str(A, k,   h, l, sg) {
	h = A[k, 1] + 0; l = A[k, 0] + 0
	if (h > 0 && l < 0) { h--; l += 1e9 } else if (h < 0 && l > 0) { h++; l -= 1e9 }
	sg = ""
	if (h < 0 || (h == 0 && l < 0)) { sg = "-"; h = -h; l = -l }
	if (l == 0) l = 0
	if (h > 0) return sg sprintf("%.0f%09.0f", h, l)
	return sg sprintf("%.0f", l)
}
function ex_diff(a, b,   T) {
	ex_add(T, 0, b); ex_sub(T, 0, a)
	return ex_str(T, 0)
}
'

# sl_sum [FIELD]: exact sum of column FIELD (default 1) of tab-separated
# stdin, as a decimal string.
sl_sum() {
	awk -F'\t' -v f="${1:-1}" "$SL_AWK_EXACT"'{ ex_add(S, 0, $f) } END { print ex_str(S, 0) }'
}
