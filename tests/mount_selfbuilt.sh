#!/usr/bin/env bash
# Mount tests on images written by tests/mkimage.py, whose expected trees
# come from the generator's own model (checked equal to umoci unpack):
# every edge case of layer merging in four containers, virtual xattrs,
# bad inputs (exit 2), index reuse and rebuild, read-only behaviour,
# --image in a multi-image archive, -f, --index and --cache-dir.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
# Skips (77) only when /dev/fuse is missing and CI is unset.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

require_fuse
init_workdir "$BUILDDIR/selfbuilt"
W=$T_WORK
IMG=$W/images
rm -rf "$IMG" "$XDG_CACHE_HOME"
mkdir -p "$XDG_CACHE_HOME"
if ! python3 "$SRCDIR/tests/mkimage.py" "$IMG"; then
	fail "mkimage.py could not write the test images"
	finish
fi
MNT=$W/mnt

# ------------------------------------------------ the layered image, 4 ways

# check_provenance MNT REF: each line of REF (path, layer, layers, wasted)
# against user.imgfs.layer, .layers and .wasted of MNT/path.
check_provenance() {
	local mnt=$1 ref=$2 path layer layers wasted bad=0 got
	while IFS=$'\t' read -r path layer layers wasted; do
		[ "$layers" = - ] && layers=
		if [ ! -e "$mnt/$path" ] && [ ! -L "$mnt/$path" ]; then
			echo "  $path: in the model but missing from the mount"
			bad=1
			continue
		fi
		if [ ! -f "$mnt/$path" ] && [ ! -d "$mnt/$path" ] || [ -L "$mnt/$path" ]; then
			continue # Linux allows user.* only on files and directories
		fi
		got=$(getfattr --only-values -n user.imgfs.layer "$mnt/$path" 2>/dev/null)
		[ "$got" = "$layer" ] || { echo "  $path: layer $got, expected $layer"; bad=1; }
		got=$(getfattr --only-values -n user.imgfs.layers "$mnt/$path" 2>/dev/null)
		[ "$got" = "$layers" ] || { echo "  $path: layers '$got', expected '$layers'"; bad=1; }
		got=$(getfattr --only-values -n user.imgfs.wasted "$mnt/$path" 2>/dev/null)
		[ "$got" = "$wasted" ] || { echo "  $path: wasted $got, expected $wasted"; bad=1; }
	done <"$ref"
	return $bad
}

check_layered() {
	local mnt=$1 what=$2 out
	check "$what: tree equals layered.reference*" compare_tree "$mnt" "$IMG/layered"
	check "$what: user.imgfs.size of every directory" check_dir_sizes "$mnt" "$IMG/layered.reference.txt"
	expect_xattr "$mnt/etc/base.conf" user.imgfs.size 12
	expect_xattr "$mnt/big/random.bin" user.imgfs.size 3145728
	expect_xattr "$mnt/big" user.imgfs.size 3145728
	# hl/three is a hardlink to etc/base.conf: once under hl, once under /.
	expect_xattr "$mnt/hl" user.imgfs.size 41
	expect_xattr "$mnt/opq" user.imgfs.size 6
	expect_xattr "$mnt/etc/os-release" user.imgfs.layer 0
	expect_xattr "$mnt/del/keep.txt" user.imgfs.layer 0
	expect_xattr "$mnt/hl/two" user.imgfs.layer 0
	expect_xattr "$mnt/hl/one" user.imgfs.layer 1
	expect_xattr "$mnt/d2f" user.imgfs.layer 1
	expect_xattr "$mnt/f2d/inner.txt" user.imgfs.layer 1
	expect_xattr "$mnt/opq/new.txt" user.imgfs.layer 1
	expect_xattr "$mnt/srv/data.txt" user.imgfs.layer 3
	expect_xattr "$mnt/srv" user.imgfs.layer 3
	expect_xattr "$mnt/xattr/file" user.test "hello xattr"
	check "$what: layer, layers and wasted of every path equal mkimage.py's model" \
		check_provenance "$mnt" "$IMG/layered.reference-imgfs.txt"
	expect_xattr "$mnt" user.imgfs.wasted "$(cat "$IMG/layered.reference-wasted.txt")"
	# the hidden view holds exactly the hidden bytes, each inode once
	local hidden
	hidden=$(du -sbc "$mnt"/.imgfs/hidden/* | tail -1 | cut -f1)
	[ "$hidden" = "$(cat "$IMG/layered.reference-wasted.txt")" ] &&
		pass "$what: du of /.imgfs/hidden equals the hidden bytes" ||
		fail "$what: du of /.imgfs/hidden is $hidden"

	# Random access must agree with the sequential read checked by sha256.
	cp "$mnt/big/random.bin" "$W/random.bin" 2>/dev/null
	if cmp -s <(dd if="$mnt/big/random.bin" bs=4096 skip=517 count=3 2>/dev/null) \
		<(dd if="$W/random.bin" bs=4096 skip=517 count=3 2>/dev/null) &&
		cmp -s <(tail -c 1000 "$mnt/big/random.bin") <(tail -c 1000 "$W/random.bin"); then
		pass "$what: reads at an offset match the sequential read"
	else
		fail "$what: reads at an offset differ from the sequential read"
	fi
	rm -f "$W/random.bin"

	# Read-only: every write fails with EROFS.
	local op ok=1
	for op in "touch $mnt/x" "mkdir $mnt/newdir" "rm $mnt/etc/base.conf" \
		"chmod 600 $mnt/etc/os-release" "setfattr -n user.x -v 1 $mnt/etc/os-release"; do
		if out=$($op 2>&1); then
			ok=0; echo "    '$op' succeeded"
		elif ! grep -q 'Read-only file system' <<<"$out"; then
			ok=0; echo "    '$op' failed, but not with EROFS: $out"
		fi
	done
	if out=$( (echo data >"$mnt/etc/base.conf") 2>&1); then
		ok=0; echo "    writing etc/base.conf succeeded"
	elif ! grep -q 'Read-only file system' <<<"$out"; then
		ok=0; echo "    writing etc/base.conf failed, but not with EROFS: $out"
	fi
	[ ! -e "$mnt/x" ] || ok=0
	if [ $ok = 1 ]; then pass "$what: writes fail with EROFS"; else fail "$what: writes fail with EROFS"; fi
}

for img in layered.docker.tar layered.docker.tar.gz layered.oci.tar layered.ocidir; do
	if mount_image "$IMG/$img" "$MNT"; then
		pass "$img: mounts"
		check_layered "$MNT" "$img"
		check "$img: imgfs umount" unmount_image "$MNT"
	else
		fail "$img: mount failed (exit $?)"
	fi
done

# --------------------------------------------------------- imgfs layers

if out=$("$IMGFS" layers "$IMG/layered.docker.tar" 2>&1); then
	rows=$(grep -cE '^[[:space:]]*[0-9]+[[:space:]]' <<<"$out")
	if [ "$rows" -eq 4 ] && grep -qE '^[[:space:]]*0[[:space:]].*ADD file:base' <<<"$out" &&
		grep -qE '^[[:space:]]*3[[:space:]].*COPY srv /srv' <<<"$out" &&
		grep -q 'sha256:' <<<"$out"; then
		pass "imgfs layers: 4 rows, base first, digests and created_by"
	else
		fail "imgfs layers: expected 4 numbered rows (0 = ADD file:base, 3 = COPY srv /srv):"
		sed 's/^/    /' <<<"$out" | head -10
	fi
else
	fail "imgfs layers failed: $out"
fi

# ------------------------------------------------- index reuse and rebuild

cp "$IMG/layered.docker.tar" "$W/reuse.tar"
out1=$("$IMGFS" index "$W/reuse.tar" 2>&1); rc1=$?
out2=$("$IMGFS" index "$W/reuse.tar" 2>&1); rc2=$?
if [ $rc1 = 0 ] && grep -q 'built in' <<<"$out1"; then pass "imgfs index: first run builds"
else fail "imgfs index: first run (exit $rc1) should say 'built in': $out1"; fi
if [ $rc2 = 0 ] && grep -q 'reused' <<<"$out2"; then pass "imgfs index: second run says reused"
else fail "imgfs index: second run (exit $rc2) should say 'reused': $out2"; fi
if [ -n "$(find "$XDG_CACHE_HOME/imgfs" -type f 2>/dev/null | head -1)" ]; then
	pass "index stored under \$XDG_CACHE_HOME/imgfs"
else
	fail "no index file under \$XDG_CACHE_HOME/imgfs ($XDG_CACHE_HOME/imgfs)"
fi
touch -d '2001-01-01' "$W/reuse.tar"
out3=$("$IMGFS" index "$W/reuse.tar" 2>&1)
if grep -q 'built in' <<<"$out3"; then pass "imgfs index: touching the image causes a rebuild"
else fail "imgfs index: after touch expected 'built in': $out3"; fi
cp "$IMG/multi.docker.tar" "$W/changed.tar"
"$IMGFS" index "$W/changed.tar" >/dev/null 2>&1
cp "$IMG/layered.oci.tar" "$W/reuse.tar"
out4=$("$IMGFS" index "$W/reuse.tar" 2>&1)
if grep -q 'built in' <<<"$out4"; then pass "imgfs index: replacing the image causes a rebuild"
else fail "imgfs index: after replacing expected 'built in': $out4"; fi
if mount_image "$W/reuse.tar" "$MNT"; then
	check "replaced image: mount shows the new image" compare_tree "$MNT" "$IMG/layered"
	unmount_image "$MNT"
else
	fail "replaced image: mount failed"
fi

# ------------------------------------------------ --index, --cache-dir, -f

if mount_image "$IMG/layered.docker.tar" "$MNT" --index "$W/custom.index"; then
	if [ -s "$W/custom.index" ]; then pass "--index PATH writes the index there"
	else fail "--index PATH: $W/custom.index missing or empty"; fi
	unmount_image "$MNT"
else
	fail "--index PATH: mount failed"
fi
# --cache-dir holds what is cached besides the index (decompressed data of
# compressed images); the mount must work with it on a gzipped archive.
rm -rf "$W/cachedir"
if mount_image "$IMG/layered.docker.tar.gz" "$MNT" --cache-dir "$W/cachedir"; then
	check "--cache-dir DIR: gzipped archive mounts and matches" compare_tree "$MNT" "$IMG/layered"
	unmount_image "$MNT"
else
	fail "--cache-dir DIR: mount failed"
fi

mkdir -p "$MNT"
T_MOUNTS+=("$MNT")
"$IMGFS" mount -f "$IMG/layered.oci.tar" "$MNT" 2>"$W/fg.err" &
fgpid=$!
for _ in $(seq 100); do mountpoint -q "$MNT" && break; kill -0 $fgpid 2>/dev/null || break; sleep 0.1; done
if mountpoint -q "$MNT" && kill -0 $fgpid 2>/dev/null; then
	pass "mount -f: mounted, stays in the foreground"
	# The serving process keeps its stderr here, so sanitizer reports show.
	check_layered "$MNT" "layered.oci.tar -f"
	unmount_image "$MNT"
	fgrc=0
	for _ in $(seq 100); do kill -0 $fgpid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $fgpid 2>/dev/null; then
		fail "mount -f: still running 10 s after umount"; kill $fgpid
	else
		wait $fgpid; fgrc=$?
		[ $fgrc = 0 ] && pass "mount -f: exits 0 after umount" || fail "mount -f: exit $fgrc after umount"
		if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/fg.err"; then
			fail "mount -f: sanitizer report from the serving process:"
			sed -n '1,30p' "$W/fg.err" | sed 's/^/    /'
		fi
	fi
else
	fail "mount -f: not mounted after 10 s: $(head -3 "$W/fg.err")"
	kill $fgpid 2>/dev/null
fi

# ---------------------------------------------------- multi-image archive

expect_bad "$IMG/multi.docker.tar" 'imgfs-test/'
if ! grep -q 'imgfs-test/layered:latest' "$T_WORK/mnt-bad.err" || ! grep -q 'imgfs-test/small:1.0' "$T_WORK/mnt-bad.err"; then
	fail "multi.docker.tar without --image: stderr should list both names"
else
	pass "multi.docker.tar without --image: both names listed"
fi
if mount_image "$IMG/multi.docker.tar" "$MNT" --image imgfs-test/small:1.0; then
	check "multi --image imgfs-test/small:1.0" compare_tree "$MNT" "$IMG/small"
	unmount_image "$MNT"
else
	fail "multi --image imgfs-test/small:1.0: mount failed"
fi
if mount_image "$IMG/multi.docker.tar" "$MNT" --image imgfs-test/layered:latest; then
	check "multi --image imgfs-test/layered:latest" compare_tree "$MNT" "$IMG/layered"
	unmount_image "$MNT"
else
	fail "multi --image imgfs-test/layered:latest: mount failed"
fi
expect_bad "$IMG/multi.docker.tar" 'no-such' --image imgfs-test/no-such:1

# ------------------------------------------------------------ bad inputs

expect_bad "$IMG/bad-truncated.tar" 'bad-truncated\.tar'
expect_bad "$IMG/bad-null-manifest.tar" 'manifest\.json'
expect_bad "$IMG/bad-notjson-manifest.tar" 'manifest\.json'
expect_bad "$IMG/bad-layercount.tar" 'bad-layercount\.tar|manifest\.json|diff_ids'
expect_bad "$IMG/bad-missing-layer.tar" 'bad-missing-layer\.tar|0{64}/layer\.tar'
# ../escape: refused (exit 2), or skipped with a warning naming it (a
# damaged but readable entry, as libarchive treats them); never in the tree.
rc=0
mount_image "$IMG/bad-escape.tar" "$MNT" >/dev/null || rc=$?
if [ $rc = 2 ] && grep -q '\.\./escape' "$MNT.err"; then
	pass "bad-escape.tar: exit 2: $(head -1 "$MNT.err")"
elif [ $rc = 0 ] && grep -q '\.\./escape' "$MNT.err" && [ -f "$MNT/etc/ok.txt" ] &&
	[ -z "$(find "$MNT" -name '*escape*')" ]; then
	pass "bad-escape.tar: ../escape skipped with a warning: $(head -1 "$MNT.err")"
else
	fail "bad-escape.tar: expected exit 2, or a mount without it and a warning; exit $rc: $(head -2 "$MNT.err")"
fi
force_unmount "$MNT"
[ ! -e "$W/escape" ] && [ ! -e "$IMG/escape" ] && pass "bad-escape.tar: nothing written outside" ||
	fail "bad-escape.tar: an 'escape' file appeared"
printf 'not an archive at all\n' >"$W/not-an-image.tar"
expect_bad "$W/not-an-image.tar" 'not-an-image\.tar'

rc=0; "$IMGFS" mount >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] && pass "imgfs mount without arguments: exit 2" || fail "imgfs mount without arguments: exit $rc, expected 2"
rc=0; "$IMGFS" mount "$W/does-not-exist.tar" "$MNT" 2>"$W/nx.err" || rc=$?
if [ $rc = 1 ] || [ $rc = 2 ]; then
	grep -q 'does-not-exist\.tar' "$W/nx.err" && pass "missing image: exit $rc naming the file" ||
		fail "missing image: exit $rc but stderr does not name it: $(head -1 "$W/nx.err")"
else
	fail "missing image: exit $rc, expected 1 or 2"
fi
force_unmount "$MNT"

finish
