#!/usr/bin/env bash
# Conformance run over the shared test images (../shared/fixtures, see its
# README.md): mounts every image written by real tools and compares the
# merged tree with the reference made by an independent implementation
# (umoci unpack; GNU tar for the bare tars umoci cannot read), checks
# user.imgfs.size of every directory, dive's published numbers, and that
# the invalid and legacy archives exit 2.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
# FIXTURES_DIR replaces ../shared/fixtures (tests/treecmp_selftest.sh points
# it at a copy with one reference line wrong); FIXTURES_ONLY, an extended
# regex, keeps only the images whose path below it matches.  Without the
# fixtures the run is a skip (77), and a failure under CI.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"
FX=${FIXTURES_DIR:-$SRCDIR/../shared/fixtures}
[ -d "$FX/made" ] && [ -d "$FX/peers" ] || skip "$FX holds no fixtures (made/, peers/)"
FX=$(cd "$FX" && pwd -P)

require_fuse
init_workdir "$BUILDDIR/fixtures"
W=$T_WORK
rm -rf "$XDG_CACHE_HOME"
mkdir -p "$XDG_CACHE_HOME"
MNT=$W/mnt

# name IMAGE: the image's path below the fixtures directory.
name() { echo "${1#"$FX"/}"; }

# wanted IMAGE: 0 when IMAGE is to be run (FIXTURES_ONLY unset or matching).
RAN=0
wanted() {
	[ -z "${FIXTURES_ONLY:-}" ] || [[ $(name "$1") =~ $FIXTURES_ONLY ]] || return 1
	RAN=$((RAN + 1))
}

# fixture IMAGE REFPREFIX [MOUNT ARGS...]: mounts IMAGE and compares it
# with REFPREFIX.reference* (when REFPREFIX is empty: only lists the tree).
fixture() {
	local image=$1 ref=$2 n; shift 2
	wanted "$image" || return 0
	n=$(name "$image")${1:+ $*}
	if ! mount_image "$image" "$MNT" "$@"; then
		fail "$n: mount failed"
		return
	fi
	if [ -n "$ref" ]; then
		check "$n: tree equals $(name "$ref").reference*" compare_tree "$MNT" "$ref"
		check "$n: user.imgfs.size of every directory" check_dir_sizes "$MNT" "$ref.reference.txt"
	else
		local count
		if count=$(find "$MNT" | wc -l) && [ "$count" -gt 1 ]; then
			pass "$n: mounts and lists ($((count - 1)) entries)"
		else
			fail "$n: mounted but find listed nothing"
		fi
	fi
	"${FIXTURE_EXTRA:-true}" "$image"
	check "$n: imgfs umount" unmount_image "$MNT"
}

# tar_reference TAR PREFIX [TAR OPTIONS]: writes PREFIX.reference.txt,
# -owners.txt and .sha256 from GNU tar's extraction of TAR (for the bare
# layer tars that have no umoci reference).
tar_reference() {
	local tar=$1 prefix=$2 d; shift 2
	d=$(mktemp -d "$W/tarref.XXXXXX")
	if ! tar -C "$d" -xpf "$tar" --numeric-owner "$@" 2>"$d.err"; then
		echo "    GNU tar could not extract $(name "$tar"): $(head -1 "$d.err")"
	fi
	(cd "$d" && find . -mindepth 1 -printf '%P\t%y\t%m\t%s\t%l\n') | sort >"$prefix.reference.txt"
	(cd "$d" && find . -mindepth 1 -printf '%P\t%y\t%U\t%G\t%n\t%T@\n') | sort >"$prefix.reference-owners.txt"
	(cd "$d" && find . -type f -print0 | xargs -0 -r sha256sum) | sort -k2 >"$prefix.reference.sha256"
	rm -rf "$d" "$d.err"
}

# ----------------------------------------------------------------- made/

for img in tiny.docker.tar tiny.docker-engine.tar tiny.containerd.tar tiny.oci.tar tiny.docker.tar.gz; do
	fixture "$FX/made/$img" "$FX/made/tiny"
done
fixture "$FX/made/tiny-multi.docker.tar" "$FX/made/tiny" --image localhost/tiny:latest
fixture "$FX/made/tiny-multi.docker.tar" "" --image localhost/tiny:base
if wanted "$FX/made/tiny-multi.docker.tar"; then
	expect_bad "$FX/made/tiny-multi.docker.tar" 'localhost/tiny'
	if grep -q 'localhost/tiny:latest' "$W/mnt-bad.err" && grep -q 'localhost/tiny:base' "$W/mnt-bad.err"; then
		pass "tiny-multi.docker.tar without --image lists both names"
	else
		fail "tiny-multi.docker.tar without --image should list localhost/tiny:latest and localhost/tiny:base"
	fi
fi

# ------------------------------------------------------------ peers/dive

dive_numbers() {
	expect_xattr "$MNT" user.imgfs.size 1188573
	expect_xattr "$MNT/bin" user.imgfs.size 1153344
	expect_xattr "$MNT/etc" user.imgfs.size 1017
	expect_xattr "$MNT/root" user.imgfs.size 21402
	expect_xattr "$MNT/root/.data" user.imgfs.size 8592
	expect_xattr "$MNT/tmp" user.imgfs.size 6405
	expect_xattr "$MNT/somefile.txt" user.imgfs.layer 1
	expect_xattr "$MNT/root/.saved.txt" user.imgfs.layer 8
	expect_xattr "$MNT/root/.data/saved.again2.txt" user.imgfs.layer 12
	expect_xattr "$MNT/root/saved.txt" user.imgfs.layer 13
	# the audit figures (issue 4): hidden bytes, provenance, the layer views
	expect_xattr "$MNT" user.imgfs.wasted 32025
	expect_xattr "$MNT/root/saved.txt" user.imgfs.layers 7,13
	expect_xattr "$MNT/root/saved.txt" user.imgfs.created_by '/bin/sh -c chmod +x /root/saved.txt'
	expect_xattr "$MNT/somefile.txt" user.imgfs.wasted 0
	if ls -a "$MNT" | grep -qx .imgfs; then
		fail "dive: readdir of / lists .imgfs"
	else
		pass "dive: readdir of / does not list .imgfs"
	fi
	local sizes
	sizes=$(for n in $(seq 0 13); do du -sb "$MNT/.imgfs/layers/$n" | cut -f1; done | paste -sd' ')
	[ "$sizes" = "1154361 6405 0 6405 6405 6405 6405 6405 6405 0 2187 6405 6405 6405" ] &&
		pass "dive: du of /.imgfs/layers/N gives dive's layer sizes" ||
		fail "dive: layer view sizes $sizes"
	local hidden
	hidden=$(du -sbc "$MNT"/.imgfs/hidden/* | tail -1 | cut -f1)
	[ "$hidden" = 32025 ] && pass "dive: du of /.imgfs/hidden is 32025" ||
		fail "dive: du of /.imgfs/hidden is $hidden, expected 32025"
	local chk
	chk=$("$IMGFS" check --json --ci-config "$FX/peers/dive/expected/dive-ci.yaml" "$1")
	if grep -q '"efficiency": 0.9844212134184309, "wastedBytes": 32025, "userWastedPercent": 0.4834911001404049' <<<"$chk" &&
		grep -q '"hiddenBytes": 32025' <<<"$chk" && grep -q '"result": "PASS"' <<<"$chk"; then
		pass "dive: imgfs check prints dive's three numbers and passes dive's own .dive-ci"
	else
		fail "dive: imgfs check printed: $chk"
	fi
	printf 'rules:\n  lowestEfficiency: 0.99\n  highestWastedBytes: off\n' >"$W/strict.yaml"
	"$IMGFS" check --ci-config "$W/strict.yaml" "$1" >"$W/check.out" 2>&1
	if [ $? -eq 1 ] && grep -q 'FAIL: lowestEfficiency' "$W/check.out" &&
		grep -q 'SKIP: highestWastedBytes' "$W/check.out"; then
		pass "dive: imgfs check fails a stricter efficiency rule with exit 1, skips 'off'"
	else
		fail "dive: imgfs check with a strict rule: $(cat "$W/check.out")"
	fi
	local out rows
	if out=$("$IMGFS" layers "$1" 2>&1); then
		rows=$(grep -cE '^[[:space:]]*[0-9]+[[:space:]]' <<<"$out")
		[ "$rows" -eq 14 ] && pass "dive: imgfs layers lists 14 layers" ||
			fail "dive: imgfs layers lists $rows numbered rows, expected 14"
	else
		fail "dive: imgfs layers failed: $(head -1 <<<"$out")"
	fi
}
FIXTURE_EXTRA=dive_numbers fixture "$FX/peers/dive/test-docker-image.tar" "$FX/peers/dive/test-docker-image"
for img in "$FX"/peers/dive/test-oci-*-image.tar; do
	ref=${img%.tar}
	[ -f "$ref.reference.txt" ] || ref=$FX/peers/dive/test-oci-gzip-image
	fixture "$img" "$ref"
done

# ------------------------------------------------ peers/go-containerregistry

G=$FX/peers/go-containerregistry
for n in hello-world-v25 whiteout_image overwritten_file test_image_1; do
	fixture "$G/$n.tar" "$G/$n"
done
fixture "$G/test_index_one_image" ""
if wanted "$G/content.tar.zst"; then
	tar_reference "$G/content.tar.zst" "$W/content" --zstd
	fixture "$G/content.tar.zst" "$W/content"
fi
wanted "$G/null_manifest.tar" && expect_bad "$G/null_manifest.tar" 'manifest\.json'
wanted "$G/no_manifest.tar" && expect_bad "$G/no_manifest.tar" '[Uu]nsupported|not supported'
wanted "$FX/peers/moby/emptyLayer.tar" &&
	expect_bad "$FX/peers/moby/emptyLayer.tar" '[Uu]nsupported|not supported'

# ------------------------------------------------ bare layer tars

fixture "$FX/peers/regclient/layer-wh.tar" "$FX/peers/regclient/layer-wh"
for img in "$FX"/peers/moby/tarsum-testdata/*/*.tar; do
	fixture "$img" "${img%.tar}"
done
for img in "$FX"/peers/libarchive/*.tar; do
	ref=${img%.tar}
	if [ ! -f "$ref.reference.txt" ]; then
		wanted "$img" || continue
		ref=$W/$(basename "${img%.tar}")
		tar_reference "$img" "$ref"
	fi
	fixture "$img" "$ref"
done

[ "$RAN" -gt 0 ] || fail "FIXTURES_ONLY='${FIXTURES_ONLY:-}' matched no fixture"
finish
