#!/usr/bin/env bash
# Several images in one mount (issue 17): `imgfs mount A B C D MNT`.
# The tiny fixture as docker-archive, OCI archive, OCI layout directory
# (tiny.oci.tar unpacked here) and gzip'd docker-archive: MNT lists one
# directory per image, named by the rule of imgfs(1) as this test spells
# it (the file name without .tar and the compression's extension, "-2"
# after a name taken: tiny.docker.tar.gz comes after tiny.docker.tar);
# each equals the fixture's reference (tests/treecmp.py) with its
# directory sizes, has its own /.imgfs (its layers, as the archive's
# manifest lists them, and its config, byte for byte); inode numbers do
# not collide across images; the root's user.imgfs.size is the images'
# bytes, counted here from find; one imgfs umount unmounts everything.
# Refusals: a missing image among several mounts nothing, --index with two.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"
FX=${FIXTURES_DIR:-$SRCDIR/../shared/fixtures}
[ -f "$FX/made/tiny.docker.tar" ] || skip "$FX/made/tiny.docker.tar missing"
FX=$(cd "$FX" && pwd -P)

require_fuse
init_workdir "$BUILDDIR/multi"
W=$T_WORK
rm -rf "$XDG_CACHE_HOME"
mkdir -p "$XDG_CACHE_HOME"
MNT=$W/mnt
T=$FX/made

mkdir -p "$W/tiny-layout"
tar -C "$W/tiny-layout" -xf "$T/tiny.oci.tar" || fail "could not unpack tiny.oci.tar"
images=("$T/tiny.docker.tar" "$T/tiny.oci.tar" "$W/tiny-layout" "$T/tiny.docker.tar.gz")
names=(tiny.docker tiny.oci tiny-layout tiny.docker-2)

mkdir -p "$MNT"
T_MOUNTS+=("$MNT")
if timeout 300 "$IMGFS" mount "${images[@]}" "$MNT" 2>"$W/err" && mountpoint -q "$MNT"; then
	pass "mount of ${#images[@]} images"
else
	fail "mount of ${#images[@]} images: $(head -3 "$W/err")"
	finish
fi
got=$(ls -A "$MNT" | sort | tr '\n' ' ')
want=$(printf '%s\n' "${names[@]}" | sort | tr '\n' ' ')
[ "$got" = "$want" ] && pass "the root lists one directory per image: $got" ||
	fail "the root lists '$got', expected '$want'"
manifest_layers=$(tar -xOf "$T/tiny.docker.tar" manifest.json | python3 -c 'import json, sys; print(len(json.load(sys.stdin)[0]["Layers"]))')
for i in "${!names[@]}"; do
	d=$MNT/${names[$i]}
	check "${names[$i]}: tree equals tiny.reference*" compare_tree "$d" "$T/tiny"
	check "${names[$i]}: user.imgfs.size of every directory" check_dir_sizes "$d" "$T/tiny.reference.txt"
	n=$(ls "$d/.imgfs/layers" 2>/dev/null | wc -l)
	[ "$n" -eq "$manifest_layers" ] && pass "${names[$i]}: its own /.imgfs, $n layers" ||
		fail "${names[$i]}: /.imgfs/layers holds $n entries, the manifest lists $manifest_layers"
done
# the config, byte for byte, from the OCI layout's own documents
cfg=$(python3 - "$W/tiny-layout" <<'EOF'
import json, sys
d = sys.argv[1]
idx = json.load(open(d + "/index.json"))
m = json.load(open(d + "/blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
print(d + "/blobs/sha256/" + m["config"]["digest"].split(":")[1])
EOF
)
cmp -s "$cfg" "$MNT/tiny-layout/.imgfs/config.json" && pass "tiny-layout: /.imgfs/config.json is its config blob" ||
	fail "tiny-layout: /.imgfs/config.json differs from $cfg"
# no inode number shared by two images
dups=$(for n in "${names[@]}"; do find "$MNT/$n" -printf '%i\n' | sort -u; done | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] && pass "no inode number in two images" || fail "$dups inode numbers appear in two images"
# the root's bytes: every image's regular files, each inode once
want=$(find "$MNT" -mindepth 1 -type f -printf '%i %s\n' | sort -u | awk '{ s += $2 } END { printf "%d", s }')
got=$(getfattr --only-values -n user.imgfs.size "$MNT" 2>"$W/err" || cat "$W/err")
[ "$got" = "$want" ] && [ "$want" -gt 0 ] && pass "user.imgfs.size of the root: $got, the images' bytes" ||
	fail "user.imgfs.size of the root: '$got', find counts $want"
src=$(awk -v m="$MNT" '$2 == m { print $1 }' /proc/self/mounts)
[ "$src" = "${images[0]}+3" ] && pass "the mount table names the first image and how many more" ||
	fail "mount table source '$src'"
"$IMGFS" umount "$MNT" 2>"$W/err" && ! mountpoint -q "$MNT" && pass "one imgfs umount unmounts all" ||
	fail "imgfs umount: $(cat "$W/err")"

# refusals: nothing mounted, one line
rc=0
"$IMGFS" mount "${images[0]}" "$W/no-such.tar" "$MNT" 2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && grep -q 'no-such.tar' "$W/err" && ! mountpoint -q "$MNT" &&
	pass "a missing image among two: exit 2, one line naming it, nothing mounted" ||
	fail "a missing image among two: exit $rc, $(cat "$W/err")"
rc=0
"$IMGFS" mount --index "$W/x.db" "${images[0]}" "${images[1]}" "$MNT" 2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] && ! mountpoint -q "$MNT" && pass "--index with two images: exit 2" ||
	fail "--index with two images: exit $rc, $(cat "$W/err")"
force_unmount "$MNT"
finish
