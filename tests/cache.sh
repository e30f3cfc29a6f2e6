#!/usr/bin/env bash
# imgfs cache (issue 14): the index cache listed and pruned, no lock or
# temporary file left by a failed input, --cache-dir made when missing.
#
# Before: failed inputs left *.db.lock files in the cache, nothing listed
# or pruned it, and imgfs mount --cache-dir DIR with a DIR not made yet
# failed with "DIR/x.db.<hex>.zst: No such file or directory".
#
# The expected values are the test's own: which files belong to which
# image is seen by listing the cache directory (find) before and after
# each index build, sizes and times come from stat, the LRU order from the
# times the test sets with touch -d, file contents from the fixture's
# reference sha256 list.  Nothing is taken from imgfs's output but what is
# checked.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

require_fuse
FIX=$SRCDIR/../shared/fixtures/made
[ -d "$FIX" ] || FIX=/work/shared/fixtures/made
for f in tiny.docker.tar tiny.oci.tar tiny.docker.tar.gz tiny.reference.sha256; do
	[ -f "$FIX/$f" ] || skip "fixture $FIX/$f is missing"
done
init_workdir "$BUILDDIR/cache"
W=$T_WORK
IMGFS=$(cd "$(dirname "$IMGFS")" && pwd)/$(basename "$IMGFS")
rm -rf "$W/img" "$XDG_CACHE_HOME" "$W/newdir" "$W/mnt"
mkdir -p "$W/img" "$XDG_CACHE_HOME/imgfs"
C=$XDG_CACHE_HOME/imgfs

# Copies, so that one can be deleted (gone) and each has its own index.
cp "$FIX/tiny.docker.tar" "$W/img/plain.tar"
cp "$FIX/tiny.oci.tar" "$W/img/oci.tar"         # gzip layers: a content cache
cp "$FIX/tiny.docker.tar.gz" "$W/img/outer.tar.gz" # compressed outer tar: a spool
cp "$FIX/tiny.docker.tar" "$W/img/gone.tar"
cp "$FIX/tiny.docker.tar" "$W/img/mounted.tar"
cp "$FIX/tiny.oci.tar" "$W/img/newdir.tar"
cp "$FIX/tiny.oci.tar" "$W/img/oci2.tar"       # the same layers: the same content cache

listing() { (cd "$C" && find . -type f -printf '%P\n' | sort); }
# the bytes of our files in the cache, each inode once (hard links)
total() { find "$C" -type f -name '*.db*' -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { print s + 0 }'; }

# index_of NAME IMAGE: builds IMAGE's index and records in $W/files.NAME
# the files it added to the cache (the independent answer to "which files
# are this image's").
index_of() {
	local before after rc=0
	before=$(listing)
	"$IMGFS" index -q "$2" >"$W/out" 2>"$W/err" || rc=$?
	after=$(listing)
	comm -13 <(echo "$before") <(echo "$after") >"$W/files.$1"
	[ "$rc" -eq 0 ] && [ -s "$W/files.$1" ] && return 0
	echo "    imgfs index $2: exit $rc, new files: $(cat "$W/files.$1"), $(head -2 "$W/err")"
	return 1
}
for n in plain oci outer gone oci2; do
	img=$W/img/$n.tar
	[ "$n" = outer ] && img=$W/img/outer.tar.gz
	check "index of $n.tar built" index_of "$n" "$img"
done
grep -q '\.zst$' "$W/files.oci" && pass "oci.tar (gzip layers) has a content cache" ||
	fail "oci.tar: no .zst among its files: $(cat "$W/files.oci")"
grep -q '\.tar$' "$W/files.outer" && pass "outer.tar.gz has a spool" ||
	fail "outer.tar.gz: no .tar among its files: $(cat "$W/files.outer")"

# Orphans the test plants: a content cache and a spool of no index, a
# temporary index of a dead build, a lone lock file.
head -c 1000 /dev/urandom >"$C/old-0123456789abcdef.db.0123456789abcdef.zst"
head -c 777 /dev/urandom >"$C/old-0123456789abcdef.db.fedcba9876543210.tar"
head -c 4096 /dev/zero >"$C/dead-1111111111111111.db.tmp.4242"
: >"$C/lone-2222222222222222.db.lock"
echo "not ours" >"$C/README.not-ours"

# check_list WHAT: imgfs cache --json against the files on disk.  Each
# index row: its path is the .db of exactly one image's recorded files, its
# image that image, cache and spool the .zst and .tar among them, each size
# and the last use (the later of atime and mtime) as stat says, gone when
# the image is missing, in_use when listed in $W/in_use; each orphan row a
# planted file with its size and kind; the total the sum of every file of
# ours in the directory.
check_list() {
	local rc=0
	"$IMGFS" cache list --json >"$W/list.json" 2>"$W/err" || rc=$?
	[ "$rc" -eq 0 ] || { fail "$1: imgfs cache list --json exit $rc: $(head -2 "$W/err")"; return; }
	if python3 - "$W" "$C" >"$W/py.out" 2>&1 <<'EOF'; then pass "$1: imgfs cache --json rows match find/stat"; else fail "$1: $(head -c 1500 "$W/py.out")"; fi
import json, os, sys
w, c = sys.argv[1], sys.argv[2]
got = json.load(open(w + "/list.json"))
imgs = {"plain": "plain.tar", "oci": "oci.tar", "outer": "outer.tar.gz", "gone": "gone.tar",
        "mounted": "mounted.tar", "newdir": "newdir.tar", "flip": "plain.tar", "oci2": "oci2.tar",
        "frames": "frames.oci.tar", "frames2": "frames2.oci.tar"}
in_use = set(open(w + "/in_use").read().split()) if os.path.exists(w + "/in_use") else set()
expect = {}
cino = {}
for n, img in imgs.items():
    p = w + "/files." + n
    if not os.path.exists(p):
        continue
    files = [f for f in open(p).read().split("\n") if f]
    dbs = [f for f in files if f.endswith(".db")]
    if not dbs or not os.path.exists(c + "/" + dbs[0]):
        continue  # removed by an earlier prune
    idx = c + "/" + dbs[0]
    zst = [c + "/" + f for f in files if f.endswith(".zst")]
    tar = [c + "/" + f for f in files if f.endswith(".tar")]
    st = os.stat(idx)
    size = lambda l: os.stat(l[0]).st_size if l else 0
    cino[idx] = (os.stat(zst[0]).st_dev, os.stat(zst[0]).st_ino) if zst else None
    expect[idx] = {"image": os.path.realpath(w + "/img/" + img), "gone": not os.path.exists(w + "/img/" + img),
                   "in_use": n in in_use, "index_bytes": st.st_size,
                   "cache": zst[0] if zst else None, "cache_bytes": size(zst),
                   "spool": tar[0] if tar else None, "spool_bytes": size(tar),
                   "bytes": st.st_size + size(zst) + size(tar),
                   "last_used": int(max(st.st_atime, st.st_mtime))}
# a content cache shared by hard link: on the disk once, counted in the
# first (by path) of its indexes
for k in sorted(expect):
    others = [j for j in expect if j != k and cino[k] and cino[j] == cino[k]]
    expect[k]["shared"] = len(others)
    if any(j < k for j in others):
        expect[k]["bytes"] -= expect[k]["cache_bytes"]
bad = []
rows = {r["index"]: r for r in got["indexes"]}
if set(rows) != set(expect):
    bad.append("indexes listed %s, on disk %s" % (sorted(rows), sorted(expect)))
for k, e in expect.items():
    r = rows.get(k)
    if not r:
        continue
    for f, v in e.items():
        if r.get(f) != v:
            bad.append("%s: %s is %r, expected %r" % (os.path.basename(k), f, r.get(f), v))
planted = {"old-0123456789abcdef.db.0123456789abcdef.zst": "content cache",
           "old-0123456789abcdef.db.fedcba9876543210.tar": "spool",
           "dead-1111111111111111.db.tmp.4242": "temporary",
           "lone-2222222222222222.db.lock": "lock"}
orph = {r["path"]: r for r in got["orphans"]}
want_orph = {c + "/" + f: k for f, k in planted.items() if os.path.exists(c + "/" + f)}
if set(orph) != set(want_orph):
    bad.append("orphans listed %s, expected %s" % (sorted(orph), sorted(want_orph)))
for p, k in want_orph.items():
    r = orph.get(p)
    if r and (r["kind"] != k or r["bytes"] != os.stat(p).st_size):
        bad.append("orphan %s: %r, expected kind %s, %d bytes" % (p, r, k, os.stat(p).st_size))
inodes = {}
for f in os.listdir(c):
    if ".db" in f:
        st = os.stat(os.path.join(c, f))
        inodes[(st.st_dev, st.st_ino)] = st.st_size
total = sum(inodes.values())
if got["total"]["bytes"] != total or got["total"]["indexes"] != len(expect) or got["total"]["orphans"] != len(want_orph):
    bad.append("total %r, expected %d bytes, %d indexes, %d orphans" % (got["total"], total, len(expect), len(want_orph)))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
}
check_list "five indexes and four orphans"
# oci2.tar holds the same layers as oci.tar: its content cache is the same
# bytes, and the build links it to oci's instead of keeping
# a second copy
z1=$C/$(grep '\.zst$' "$W/files.oci"); z2=$C/$(grep '\.zst$' "$W/files.oci2")
[ -f "$z1" ] && [ -f "$z2" ] && [ "$z1" != "$z2" ] && [ "$(stat -c %d:%i "$z1")" = "$(stat -c %d:%i "$z2")" ] &&
	pass "oci2.tar's content cache is oci.tar's file (hard link, $(stat -c %h "$z1") links)" ||
	fail "oci2.tar's content cache $z2 is not oci.tar's $z1 ($(stat -c %d:%i:%h "$z1" "$z2" 2>&1 | tr '\n' ' '))"
sha=$(grep ' ./data/a.txt$' "$FIX/tiny.reference.sha256" | cut -d' ' -f1)
if mount_image "$W/img/oci2.tar" "$W/mnt3"; then
	(cd "$W/mnt3" && sha256sum -c --quiet "$FIX/tiny.reference.sha256" >"$W/sha.out" 2>&1) &&
		pass "oci2.tar mounted through the shared cache: every file matches tiny.reference.sha256" ||
		fail "oci2.tar through the shared cache: $(head -3 "$W/sha.out")"
	unmount_image "$W/mnt3"
else
	fail "mount of oci2.tar"
fi
# listing is no use: it must not move the last use it reports
touch -d '2026-01-02 03:04:05' "$C"/*.db
stat -c '%n %X %Y' "$C"/*.db >"$W/times.before"
"$IMGFS" cache list >/dev/null 2>&1
"$IMGFS" cache list --json >/dev/null 2>&1
stat -c '%n %X %Y' "$C"/*.db >"$W/times.after"
show_diff "atime/mtime of the indexes across two listings" "$W/times.before" "$W/times.after" &&
	pass "listing leaves the indexes' access and modification times alone" ||
	fail "listing moved the indexes' times (it would then report itself as their last use)"
check_list "after a listing"

# Many frames: files over a chunk (1 MiB), random (incompressible: frames
# a little over a chunk) and text, in two gzip layers, built twice from
# two copies.  The compressing threads claim cache offsets as they finish,
# so the second cache may hold the frames in another order: sharing must
# repoint its chunks, and every byte read must still be the generator's.
python3 - "$W/img" "$SRCDIR/tests" <<'EOF' || fail "could not write frames.oci.tar"
import hashlib, random, sys
sys.path.insert(0, sys.argv[2])
import mkimage
r = random.Random(14)
files = {}
l0 = mkimage.Layer("ADD a /").dir("a")
l1 = mkimage.Layer("ADD b /").dir("b")
for i in range(6):
    files["a/rand%d" % i] = r.randbytes(1536 * 1024 + i * 4099)
    files["b/text%d" % i] = ("line %d of a text file\n" % i).encode() * (60000 + 7 * i)
for n, d in files.items():
    (l0 if n.startswith("a/") else l1).file(n, d)
mkimage.write_members(sys.argv[1] + "/frames.oci.tar", mkimage.oci_members([l0, l1], "latest"))
with open(sys.argv[1] + "/frames.sha256", "w") as f:
    for n, d in sorted(files.items()):
        f.write("%s  ./%s\n" % (hashlib.sha256(d).hexdigest(), n))
EOF
cp "$W/img/frames.oci.tar" "$W/img/frames2.oci.tar"
check "index of frames.oci.tar built" index_of frames "$W/img/frames.oci.tar"
check "index of frames2.oci.tar built" index_of frames2 "$W/img/frames2.oci.tar"
f1=$C/$(grep '\.zst$' "$W/files.frames"); f2=$C/$(grep '\.zst$' "$W/files.frames2")
[ "$(stat -c %d:%i "$f1")" = "$(stat -c %d:%i "$f2")" ] &&
	pass "frames2's content cache ($(stat -c %s "$f1") bytes) is frames' file" ||
	fail "frames2's content cache is not frames' ($(stat -c %d:%i:%s "$f1" "$f2" 2>&1 | tr '\n' ' '))"
for n in frames2 frames; do
	if mount_image "$W/img/$n.oci.tar" "$W/mnt3"; then
		(cd "$W/mnt3" && sha256sum -c --quiet "$W/img/frames.sha256" >"$W/sha.out" 2>&1) &&
			pass "$n.oci.tar through the shared cache: every file matches the generator's sha256" ||
			fail "$n.oci.tar through the shared cache: $(head -3 "$W/sha.out")"
		unmount_image "$W/mnt3"
	else
		fail "mount of $n.oci.tar"
	fi
done
rm -f "$W/img/frames.oci.tar" "$W/img/frames2.oci.tar" # gone: the next prune takes them

# ---------------------------------------------------------- gone first

rm "$W/img/gone.tar" "$W/img/oci2.tar"
check_list "gone.tar and oci2.tar deleted: their rows say gone"
"$IMGFS" cache list >"$W/text" 2>&1
grep -q "(gone) $W/img/gone.tar" "$W/text" && pass "the table marks gone.tar (gone)" ||
	fail "the table does not mark gone.tar: $(grep gone "$W/text")"
# all the recent: a plain prune takes only the useless
touch "$C"/*.db
rc=0
t_before=$(total)
"$IMGFS" cache prune >"$W/out" 2>"$W/err" || rc=$?
t_after=$(total)
left=$(listing)
gone_left=$(comm -12 <(echo "$left") <(sort "$W/files.gone" "$W/files.oci2" "$W/files.frames" "$W/files.frames2"))
orph_left=$(echo "$left" | grep -E '^(old|dead|lone)-' || true)
others=$(cat "$W/files.plain" "$W/files.oci" "$W/files.outer" | sort)
[ "$rc" -eq 0 ] && [ -z "$gone_left" ] && [ -z "$orph_left" ] &&
	[ -z "$(comm -23 <(echo "$others") <(echo "$left"))" ] && [ -f "$C/README.not-ours" ] &&
	pass "prune: gone.tar's files and the orphans removed, the others and a file not ours kept" ||
	fail "prune: exit $rc; left of gone: $gone_left; orphans left: $orph_left; missing: $(comm -23 <(echo "$others") <(echo "$left")); $(head -3 "$W/err")"
freed=$(sed -n 's/^freed \([0-9]*\) bytes, \([0-9]*\) bytes left$/\1/p' "$W/out")
left=$(sed -n 's/^freed \([0-9]*\) bytes, \([0-9]*\) bytes left$/\2/p' "$W/out")
[ -n "$freed" ] && [ "$freed" -eq $((t_before - t_after)) ] && [ "$left" -eq "$t_after" ] &&
	pass "prune printed what it freed ($freed bytes) and what is left ($left), as find counts them" ||
	fail "prune: printed '$(tail -1 "$W/out")', find counts $t_before -> $t_after bytes"
check_list "after prune"
[ -f "$z1" ] && [ "$(stat -c %h "$z1")" = 1 ] && [ "$(stat -c %s "$z1")" = "$(stat -c %s "$z2" 2>/dev/null || stat -c %s "$z1")" ] &&
	pass "oci2's index pruned: oci's content cache stays, one link left" ||
	fail "after pruning oci2: oci's cache $z1: $(stat -c '%h links, %s bytes' "$z1" 2>&1)"
if mount_image "$W/img/oci.tar" "$W/mnt3"; then
	(cd "$W/mnt3" && sha256sum -c --quiet "$FIX/tiny.reference.sha256" >"$W/sha.out" 2>&1) &&
		pass "oci.tar mounted after its sharer went: every file matches" ||
		fail "oci.tar after its sharer went: $(head -3 "$W/sha.out")"
	unmount_image "$W/mnt3"
else
	fail "mount of oci.tar after its sharer went"
fi

# ------------------------------------------------------ LRU to a size

# last use: plain 3 days ago, oci 2, outer 1 (atime and mtime both)
setage() { touch -d "$2 days ago" "$C/$(grep '\.db$' "$W/files.$1")"; }
setage plain 3; setage oci 2; setage outer 1
bytes_of() { # the bytes of NAME's files still on disk
	local f s=0
	for f in $(cat "$W/files.$1"); do [ -f "$C/$f" ] && s=$((s + $(stat -c %s "$C/$f"))); done
	echo $s
}
t0=$(total)
# the size that the oldest one's removal reaches exactly
max=$((t0 - $(bytes_of plain)))
"$IMGFS" cache prune --max-size "$max" >"$W/out" 2>&1
t1=$(total)
[ "$t1" -le "$max" ] && [ ! -f "$C/$(grep '\.db$' "$W/files.plain")" ] &&
	[ -f "$C/$(grep '\.db$' "$W/files.oci")" ] && [ -f "$C/$(grep '\.db$' "$W/files.outer")" ] &&
	pass "prune --max-size $max: $t0 -> $t1 bytes, the least recently used (plain) removed, oci and outer kept" ||
	fail "prune --max-size $max: $t0 -> $t1 bytes; left: $(listing | tr '\n' ' '); $(cat "$W/out")"
max=$(($(bytes_of outer) + 1))
"$IMGFS" cache prune --max-size "$max" >"$W/out" 2>&1
t2=$(total)
[ "$t2" -le "$max" ] && [ ! -f "$C/$(grep '\.db$' "$W/files.oci")" ] &&
	[ -f "$C/$(grep '\.db$' "$W/files.outer")" ] &&
	pass "prune --max-size $max: oci (older) removed, outer (newer) kept, $t2 bytes" ||
	fail "prune --max-size $max: $t2 bytes; left: $(listing | tr '\n' ' '); $(cat "$W/out")"
check_list "after the LRU prunes"
"$IMGFS" cache prune --older-than 2d >"$W/out" 2>&1
[ -f "$C/$(grep '\.db$' "$W/files.outer")" ] && pass "prune --older-than 2d keeps outer (1 day)" ||
	fail "prune --older-than 2d removed outer, last used a day ago: $(cat "$W/out")"
"$IMGFS" cache prune --older-than 12h >"$W/out" 2>&1
[ -z "$(comm -12 <(listing) <(sort "$W/files.outer"))" ] && pass "prune --older-than 12h removes outer and its spool" ||
	fail "prune --older-than 12h left: $(comm -12 <(listing) <(sort "$W/files.outer"))"
rc=0
"$IMGFS" cache prune --older-than 30 >/dev/null 2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && pass "--older-than without a unit: exit 2, one line" ||
	fail "--older-than 30: exit $rc, $(cat "$W/err")"

# ------------------------------------------------ a mount's index stays

check "index of oci.tar rebuilt" index_of oci "$W/img/oci.tar"
before=$(listing)
if mount_image "$W/img/mounted.tar" "$W/mnt"; then
	comm -13 <(echo "$before") <(listing) >"$W/files.mounted"
	echo mounted >"$W/in_use"
	touch -d '30 days ago' "$C"/*.db
	check_list "a mount: its row in use"
	# the mount's use lock must not stop other commands on the image
	rc=0
	timeout 20 "$IMGFS" index -q "$W/img/mounted.tar" >/dev/null 2>"$W/err" &&
		timeout 20 "$IMGFS" index -q --rebuild "$W/img/mounted.tar" >/dev/null 2>>"$W/err" || rc=$?
	[ "$rc" -eq 0 ] && pass "imgfs index and index --rebuild of the mounted image run while it is mounted" ||
		fail "imgfs index of the mounted image while mounted: exit $rc (124: blocked on the lock) $(head -2 "$W/err")"
	# the rebuild made a new index: its files are now the mounted image's
	comm -13 <(echo "$before") <(listing) >"$W/files.mounted"
	touch -d '30 days ago' "$C"/*.db
	"$IMGFS" cache prune --max-size 0 >"$W/out" 2>&1
	[ -f "$C/$(grep '\.db$' "$W/files.mounted")" ] && [ ! -f "$C/$(grep '\.db$' "$W/files.oci")" ] &&
		pass "prune --max-size 0: the mounted image's index kept, oci's removed" ||
		fail "prune --max-size 0 with a mount: left $(listing | tr '\n' ' '); $(cat "$W/out")"
	check "index of plain.tar rebuilt" index_of plain "$W/img/plain.tar"
	: >"$C/lone-2222222222222222.db.lock"
	"$IMGFS" cache clear >"$W/out" 2>&1
	[ "$(listing)" = "$(printf '%s\n' README.not-ours $(cat "$W/files.mounted") | sort)" ] &&
		pass "clear: nothing left but the mounted image's files (and a file not ours)" ||
		fail "clear with a mount: left $(listing | tr '\n' ' ') (mounted: $(cat "$W/files.mounted" | tr '\n' ' '))"
	sha=$(grep ' ./data/a.txt$' "$FIX/tiny.reference.sha256" | cut -d' ' -f1)
	[ "$(sha256sum <"$W/mnt/data/a.txt" | cut -d' ' -f1)" = "$sha" ] &&
		pass "the mount still reads data/a.txt after clear" || fail "data/a.txt of the mount after clear"
	unmount_image "$W/mnt"
	rm -f "$W/in_use"
	# imgfs duplicates keeps its sums beside the index: they go with it
	"$IMGFS" duplicates "$W/img/mounted.tar" >/dev/null 2>&1
	ls "$C"/*.db.sums >/dev/null 2>&1 && pass "imgfs duplicates wrote its sums beside the index" ||
		fail "no .sums file beside the index after imgfs duplicates"
	"$IMGFS" cache clear >"$W/out" 2>&1
	[ "$(listing)" = README.not-ours ] && pass "clear after the unmount: empty (the sums with their index)" ||
		fail "clear after the unmount left $(listing | tr '\n' ' ')"
else
	fail "mount of mounted.tar"
fi

# --------------------------------------- a failed input leaves nothing

head -c 3000 "$FIX/tiny.docker.tar" >"$W/img/bad.tar"
head -c 2000 "$FIX/tiny.docker.tar.gz" >"$W/img/bad.tar.gz"
for b in bad.tar bad.tar.gz; do
	before=$(listing)
	rc=0
	"$IMGFS" index -q "$W/img/$b" >/dev/null 2>"$W/err" || rc=$?
	new=$(comm -13 <(echo "$before") <(listing))
	[ "$rc" -eq 2 ] && [ -z "$new" ] && [ "$(wc -l <"$W/err")" -eq 1 ] &&
		pass "a truncated $b: exit 2, one line, no lock or temporary file left" ||
		fail "a truncated $b: exit $rc, left: $(echo $new), stderr: $(head -2 "$W/err")"
done
# A lock file removed while someone waits on it (as a failed build and
# prune do, under the exclusive lock): the waiter must notice, once it
# has the lock, that the name leads to a new file, and lock that one.
# Python plays the remover with a POSIX lock on the build lock's byte (0),
# which conflicts with imgfs's OFD lock there; without the re-check the
# waiter builds holding the unlinked inode and no lock file is left at the
# name.
if true; then
	check "index of flip.tar built" index_of flip "$W/img/plain.tar"
	idx=$C/$(grep '\.db$' "$W/files.flip")
	# flip.held of an earlier run in this directory would let imgfs start
	# before this holder has the lock
	rm -f "$idx" "$W/flip.held"
	python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)
open(sys.argv[2], "w").close()
time.sleep(1.5)
os.unlink(sys.argv[1])
os.close(fd)' "$idx.lock" "$W/flip.held" &
	holder=$!
	# imgfs starts only once the lock is held: a fixed sleep lost the race
	# when the tests run side by side on a loaded machine; 30 s covers
	# Python's start under any load seen, and a holder that never took
	# the lock is a failure of its own, not a pass or a confusing miss.
	for _ in $(seq 1 600); do [ -e "$W/flip.held" ] && break; sleep 0.05; done
	[ -e "$W/flip.held" ] || fail "waiter on a removed lock: the Python holder took no lock in 30 s"
	rc=0
	"$IMGFS" index -q "$W/img/plain.tar" >/dev/null 2>"$W/err" || rc=$?
	wait "$holder"
	[ "$rc" -eq 0 ] && [ -f "$idx" ] && [ -f "$idx.lock" ] &&
		pass "a waiter whose lock file was removed meanwhile takes the new one (built, $idx.lock there)" ||
		fail "waiter on a removed lock: exit $rc, index $( [ -f "$idx" ] && echo there || echo missing), lock $( [ -f "$idx.lock" ] && echo there || echo missing); $(head -2 "$W/err")"
fi

# -------------------------------------------- --cache-dir not made yet

rc=0
mkdir -p "$W/mnt2"
mount_image "$W/img/newdir.tar" "$W/mnt2" --cache-dir "$W/newdir/a/b" || rc=$?
sha=$(grep ' ./data/a.txt$' "$FIX/tiny.reference.sha256" | cut -d' ' -f1)
if [ "$rc" -eq 0 ]; then
	[ "$(stat -c %a "$W/newdir/a/b")" = 755 ] && [ -n "$(ls "$W/newdir/a/b" | grep '\.zst$')" ] &&
		pass "mount --cache-dir of a missing directory: made (0755, parents too), the content cache in it" ||
		fail "--cache-dir $W/newdir/a/b: mode $(stat -c %a "$W/newdir/a/b" 2>&1), holds $(ls "$W/newdir/a/b" 2>&1)"
	[ "$(sha256sum <"$W/mnt2/data/a.txt" | cut -d' ' -f1)" = "$sha" ] &&
		pass "data/a.txt read through the new content cache matches the reference" ||
		fail "data/a.txt through --cache-dir differs from the reference"
	unmount_image "$W/mnt2"
	# an orphan content cache there is listed with --cache-dir only
	head -c 500 /dev/zero >"$W/newdir/a/b/x-3333333333333333.db.abcdefabcdefabcd.zst"
	"$IMGFS" cache list --json --cache-dir "$W/newdir/a/b" >"$W/with.json" 2>&1
	"$IMGFS" cache list --json >"$W/without.json" 2>&1
	jq -e --arg p "$W/newdir/a/b/x-3333333333333333.db.abcdefabcdefabcd.zst" \
		'[.orphans[] | select(.path == $p and .bytes == 500)] | length == 1' "$W/with.json" >/dev/null &&
		jq -e '[.orphans[] | select(.path | contains("/newdir/"))] | length == 0' "$W/without.json" >/dev/null &&
		pass "an orphan content cache in --cache-dir DIR: listed with --cache-dir DIR, not without" ||
		fail "orphan in --cache-dir: $(jq -c .orphans "$W/with.json" 2>&1 | head -c 400)"
	# --cache-dir naming the cache directory itself: each orphan once
	head -c 300 /dev/zero >"$C/y-4444444444444444.db.abcdefabcdefabcd.zst"
	"$IMGFS" cache list --json --cache-dir "$C/" >"$W/with.json" 2>&1
	n=$(jq '[.orphans[] | select(.path | endswith("/y-4444444444444444.db.abcdefabcdefabcd.zst"))] | length' "$W/with.json")
	[ "$n" = 1 ] && pass "--cache-dir of the cache directory itself: its orphan listed once" ||
		fail "--cache-dir of the cache directory itself: its orphan listed ${n:-?} times"
	rm -f "$C/y-4444444444444444.db.abcdefabcdefabcd.zst"
else
	fail "mount --cache-dir $W/newdir/a/b (missing): exit $rc"
fi
: >"$W/newdir/file"
rc=0
"$IMGFS" index -q --rebuild --cache-dir "$W/newdir/file/sub" "$W/img/newdir.tar" >/dev/null 2>"$W/err" || rc=$?
[ "$rc" -ne 0 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && grep -q "newdir/file" "$W/err" &&
	pass "--cache-dir under a regular file: exit $rc, one line: $(cat "$W/err")" ||
	fail "--cache-dir under a file: exit $rc, $(cat "$W/err")"

finish
