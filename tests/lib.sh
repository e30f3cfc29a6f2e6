# Shared bash functions of the imgfs mount tests (mount_selfbuilt.sh,
# mount_fixtures.sh): mounting with cleanup on every exit path, result
# counting, and comparison of a mounted tree with reference files in the
# format of ../shared/fixtures/README.md.
#
# Source it after setting IMGFS (the binary), e.g.:
#   . "$SRCDIR/tests/lib.sh"; require_fuse; init_workdir "$BUILDDIR/x"
#
# Reference format extension: a field of '*' in NAME.reference.txt or
# NAME.reference-owners.txt matches anything (tests/mkimage.py uses it for
# the mode and mtime of implied parent directories; tests/treecmp.py reads
# it).

export LC_ALL=C
T_PASSED=0
T_FAILED=0
T_SKIPPED=0
T_MOUNTS=()
T_WORK=

# --------------------------------------------------------------- results

pass() { T_PASSED=$((T_PASSED + 1)); echo "ok   - $*"; }
fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL - $*"; }

# check NAME CMD...: runs CMD, counts it as passed if it exits 0.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# finish: prints the summary line; exits 1 if anything failed, else 77
# (meson's SKIP) if a part was skipped: a check that did not run is no pass.
finish() {
	echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
	[ "$T_FAILED" -eq 0 ] || exit 1
	[ "$T_SKIPPED" -eq 0 ] || exit 77
	exit 0
}

# skip REASON: this test did not run: exit 77 (meson's SKIP).  Under CI,
# where everything it needs is installed, that is a failure (exit 1).
skip() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL - $1 (a skip under CI: CI installs what this test needs)"
		exit 1
	fi
	echo "SKIP: $1"
	exit 77
}

# skip_absent REASON: a skip for inputs CI never has (the generated pyapp
# and big images of ../shared/fixtures/make-fixtures.sh): 77 under CI too.
skip_absent() {
	echo "SKIP: $1"
	exit 77
}

# skip_part REASON: one part of the test did not run; the others go on and
# finish exits 77.  Under CI that part is a failure (skip's rule).
skip_part() {
	if [ -n "${CI:-}" ]; then
		fail "$1 (a skip under CI: CI installs what this part needs)"
	else
		T_SKIPPED=$((T_SKIPPED + 1))
		echo "SKIP - $1"
	fi
}

# skip_part_absent REASON: skip_part for inputs CI never has.
skip_part_absent() {
	T_SKIPPED=$((T_SKIPPED + 1))
	echo "SKIP - $1"
}

# require_fuse: skips when /dev/fuse is missing (a failure under CI);
# fails when $IMGFS is not executable.
require_fuse() {
	[ -c /dev/fuse ] || skip "/dev/fuse is missing"
	if [ -z "${IMGFS:-}" ] || [ ! -x "$IMGFS" ]; then
		echo "FAIL - IMGFS='${IMGFS:-}' is not an executable"
		exit 1
	fi
	command -v getfattr >/dev/null || { echo "FAIL - getfattr missing (apt-get install attr)"; exit 1; }
}

# sanitized: true when $IMGFS is an ASan or TSan build (memory bounds are
# the plain build's).  ldd's output is read whole: under pipefail,
# `ldd | grep -q` fails whenever grep exits before ldd's last write
# (SIGPIPE), which a loaded machine makes likely.
sanitized() {
	local libs
	libs=$(ldd "$IMGFS" 2>/dev/null) || return 1
	case $libs in *libasan* | *libtsan*) return 0 ;; esac
	return 1
}

# ---------------------------------------------------------- mount/cleanup

# init_workdir DIR: makes DIR the scratch directory (emptied of stale
# mounts first), keeps the index cache there and installs the cleanup trap.
init_workdir() {
	T_WORK=$1
	mkdir -p "$T_WORK"
	T_WORK=$(cd "$T_WORK" && pwd -P)
	unmount_stale "$T_WORK"
	export XDG_CACHE_HOME="$T_WORK/cache"
	mkdir -p "$XDG_CACHE_HOME"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	trap 'exit 129' HUP
}

# force_unmount MNT: imgfs umount, falling back to a lazy unmount.
force_unmount() {
	local mnt=$1
	mountpoint -q "$mnt" 2>/dev/null || return 0
	timeout 60 "$IMGFS" umount "$mnt" >/dev/null 2>&1 && ! mountpoint -q "$mnt" && return 0
	fusermount3 -uz "$mnt" >/dev/null 2>&1 && return 0
	umount -l "$mnt" >/dev/null 2>&1
}

# unmount_stale DIR: unmounts whatever is still mounted below DIR (left
# behind by an earlier run that was killed).
unmount_stale() {
	local m
	awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do force_unmount "$(printf '%b' "$m")"; done
}

cleanup() {
	local rc=$? i
	trap - EXIT
	for ((i = ${#T_MOUNTS[@]} - 1; i >= 0; i--)); do
		force_unmount "${T_MOUNTS[i]}"
	done
	T_MOUNTS=()
	[ -n "$T_WORK" ] && unmount_stale "$T_WORK"
	exit "$rc"
}

# mount_image IMAGE MNT [ARGS...]: mounts IMAGE on MNT (created if needed)
# with extra ARGS placed before IMAGE; registers MNT for the cleanup.
# Returns imgfs's exit status; its stderr goes to $MNT.err as well.
mount_image() {
	local image=$1 mnt=$2 rc=0; shift 2
	mkdir -p "$mnt"
	force_unmount "$mnt"
	T_MOUNTS+=("$mnt")
	timeout 300 "$IMGFS" mount "$@" "$image" "$mnt" 2>"$mnt.err" || rc=$?
	[ -s "$mnt.err" ] && sed 's/^/    stderr: /' "$mnt.err" | head -5
	if [ "$rc" -eq 0 ] && ! mountpoint -q "$mnt"; then
		echo "    imgfs mount exited 0 but $mnt is not a mount point"
		rc=1
	fi
	return "$rc"
}

# unmount_image MNT: imgfs umount; returns its status (the cleanup still
# forces the unmount if this fails).
unmount_image() {
	local rc=0
	timeout 60 "$IMGFS" umount "$1" || rc=$?
	if [ "$rc" -eq 0 ] && mountpoint -q "$1"; then
		echo "    imgfs umount exited 0 but $1 is still mounted"
		rc=1
	fi
	return "$rc"
}

# ------------------------------------------------------------ comparison

# show_diff LABEL EXPECTED ACTUAL: 0 if equal, else prints the first 40
# lines of a unified diff and returns 1.
show_diff() {
	if cmp -s "$2" "$3"; then return 0; fi
	echo "    $1 differs (- expected, + imgfs):"
	diff -u "$2" "$3" | sed -n '3,42p' | sed 's/^/    /'
	return 1
}

# compare_tree MNT REFPREFIX: compares the tree under MNT with
# REFPREFIX.reference.txt and, where they exist, -owners.txt, -xattrs.txt
# and .sha256 (tests/treecmp.py: every field of every entry, with the
# rules for what the OCI spec leaves open listed there and counted in its
# summary line).  Returns 0 only when everything matches; an empty or
# malformed reference fails.
compare_tree() {
	python3 "$SRCDIR/tests/treecmp.py" "$1" "$2"
}

# check_dir_sizes MNT REFTXT: for every directory of REFTXT (and the root)
# compares user.imgfs.size with the sum of the sizes (from REFTXT) of the
# regular files beneath it, each inode (st_ino in the mount) counted once.
check_dir_sizes() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
mnt, ref = sys.argv[1].encode(), sys.argv[2]
files, dirs = {}, [b""]
with open(ref, "rb") as f:
    for line in f:
        fl = line.rstrip(b"\n").split(b"\t")
        if fl[0] == b"":
            continue
        if fl[1] == b"f":
            files[fl[0]] = int(fl[3])
        elif fl[1] == b"d":
            dirs.append(fl[0])
want = {d: 0 for d in dirs}
seen = set()
for path, size in files.items():
    try:
        ino = os.lstat(os.path.join(mnt, path)).st_ino
    except OSError:
        ino = path
    parts = path.split(b"/")
    for i in range(len(parts)):
        d = b"/".join(parts[:i])
        if (d, ino) not in seen:
            seen.add((d, ino))
            want[d] = want.get(d, 0) + size
bad = 0
for d in dirs:
    p = os.path.join(mnt, d) if d else mnt
    try:
        got = os.getxattr(p, "user.imgfs.size", follow_symlinks=False).decode()
    except OSError as e:
        got = "error: " + e.strerror
    if got != str(want[d]):
        bad += 1
        if bad <= 20:
            print("    user.imgfs.size of /%s: expected %d, got %s"
                  % (d.decode(errors="replace"), want[d], got))
if bad:
    print("    %d of %d directories have a wrong user.imgfs.size" % (bad, len(dirs)))
sys.exit(1 if bad else 0)
EOF
}

# xattr_of PATH NAME: prints the value of xattr NAME of PATH (not following
# symlinks), nothing if it has none.
xattr_of() {
	getfattr -h --only-values -n "$2" -- "$1" 2>/dev/null
}

# expect_xattr PATH NAME VALUE: passes if PATH's xattr NAME is exactly VALUE.
expect_xattr() {
	local got
	got=$(xattr_of "$1" "$2"; echo x)
	got=${got%x}
	if [ "$got" = "$3" ]; then
		pass "$2 of ${1#"$T_WORK"/} = $3"
	else
		fail "$2 of ${1#"$T_WORK"/}: expected '$3', got '$got'"
	fi
}

# expect_bad IMAGE PATTERN [ARGS]: imgfs mount must exit 2 with one
# "imgfs: ..." line on stderr that matches the extended regex PATTERN.
expect_bad() {
	local image=$1 pat=$2 rc=0 mnt name; shift 2
	name=$(basename "$image")
	mnt="$T_WORK/mnt-bad"
	mkdir -p "$mnt"
	T_MOUNTS+=("$mnt")
	timeout 120 "$IMGFS" mount "$@" "$image" "$mnt" >/dev/null 2>"$mnt.err" || rc=$?
	force_unmount "$mnt"
	local msg
	msg=$(head -3 "$mnt.err")
	if [ "$rc" -ne 2 ]; then
		fail "$name: expected exit 2, got $rc; stderr: ${msg:-<empty>}"
	elif ! grep -q '^imgfs: ' "$mnt.err"; then
		fail "$name: exit 2 but stderr has no 'imgfs: ' line: ${msg:-<empty>}"
	elif ! grep -Eq -- "$pat" "$mnt.err"; then
		fail "$name: exit 2 but the message does not match /$pat/: $msg"
	else
		pass "$name: exit 2: $(head -1 "$mnt.err")"
	fi
}
