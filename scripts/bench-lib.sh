# bench-lib.sh: shared helpers of scripts/bench and scripts/bench-compressed.
# Sourced, not run. Sets FIX, IMGDIR, BENCHDIR, IMGFS; provides timing,
# medians, mount bookkeeping (every mount is unmounted on every exit path),
# the layer list of an image, and the cached peer artifacts under
# $FIX/bench/<name>/ (reference tree, squashfs images, extracted layers,
# flattened tar).

FIX=${IMGFS_FIXTURES_DIR:-$HOME/.cache/imgfs-fixtures}
IMGDIR=$FIX/images
BENCHDIR=$FIX/bench
SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}	# per timed command, seconds

note() { printf '%s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit "${2:-1}"; }

# need_images NAME...: exit 2 with the way to build them when missing.
need_images() {
	local f missing=()
	for f in "$@"; do [[ -r $IMGDIR/$f ]] || missing+=("$f"); done
	((${#missing[@]} == 0)) && return 0
	note "bench: missing test images in $IMGDIR: ${missing[*]}"
	note "  build them with:  (cd ../shared/fixtures && ONLY=\"pyapp big\" ./make-fixtures.sh)"
	note "  i.e. ONLY=\"pyapp big\" ../shared/fixtures/make-fixtures.sh  (about 7 GB, 10-15 min)"
	note "  or point IMGFS_FIXTURES_DIR at an existing fixtures directory"
	exit 2
}

# need_tools CMD...: exit 2 naming the apt packages when a tool is missing.
need_tools() {
	local t missing=()
	for t in "$@"; do command -v "$t" >/dev/null || missing+=("$t"); done
	((${#missing[@]} == 0)) && return 0
	die "missing tools: ${missing[*]} (apt-get install hyperfine squashfs-tools squashfuse fuse-overlayfs archivemount time attr zstd umoci skopeo)" 2
}

# find_imgfs: $IMGFS, else build/tools/imgfs, else a release build in build-bench/.
find_imgfs() {
	if [[ -n ${IMGFS:-} ]]; then
		[[ -x $IMGFS ]] || die "IMGFS=$IMGFS is not executable" 2
	elif [[ -x $SRCDIR/build/tools/imgfs ]]; then
		IMGFS=$SRCDIR/build/tools/imgfs
	else
		note "bench: building imgfs (release) in $SRCDIR/build-bench"
		if [[ ! -d $SRCDIR/build-bench ]]; then
			meson setup "$SRCDIR/build-bench" "$SRCDIR" --buildtype=release >&2 || die "meson setup failed"
		fi
		ninja -C "$SRCDIR/build-bench" >&2 || die "build failed"
		IMGFS=$SRCDIR/build-bench/tools/imgfs
	fi
	IMGFS=$(realpath "$IMGFS")
}

# ---------------------------------------------------------------- timing

# timed VAR CMD...: run CMD (stdout to /dev/null unless redirected inside),
# put its wall time in seconds in VAR; on timeout VAR=">$BENCH_TIMEOUT".
# Returns CMD's status (124 on timeout).
timed() {
	local __v=$1; shift
	local t0=$EPOCHREALTIME rc=0
	timeout -k 3 "$BENCH_TIMEOUT" "$@" || rc=$?
	((rc == 137)) && rc=124
	local t1=$EPOCHREALTIME
	if ((rc == 124)); then
		printf -v "$__v" '>%s' "$BENCH_TIMEOUT"
	else
		printf -v "$__v" '%.4f' "$(echo "$t1 - $t0" | bc -l)"
	fi
	return $rc
}

# Results: R["sys|metric"] = space-separated values (one per run).
declare -A R=()
rec() { R["$1|$2"]+="$3 "; }

# med SYS METRIC: median of the recorded values ('-' if none, '>T' if any timed out).
med() {
	local vals=${R["$1|$2"]:-}
	[[ -z ${vals// /} ]] && { echo -; return; }
	if [[ $vals == *'>'* ]]; then echo ">$BENCH_TIMEOUT"; return; fi
	# shellcheck disable=SC2086
	printf '%s\n' $vals | sort -g | awk '{a[NR]=$1} END {
		if (NR % 2) v = a[(NR+1)/2]; else v = (a[NR/2] + a[NR/2+1]) / 2;
		print v }'
}

# fmt VALUE: 3 significant digits, '-' and '>T' passed through.
fmt() {
	case $1 in -|'>'*|'') echo "${1:--}" ;; *) awk -v v="$1" 'BEGIN {
		if (v == 0) { print 0; exit }
		if (v == int(v) && (v >= 1000 || v <= -1000)) { printf "%d\n", v; exit }
		a = v < 0 ? -v : v
		if (a >= 100) printf "%.0f\n", v; else if (a >= 10) printf "%.1f\n", v;
		else if (a >= 1) printf "%.2f\n", v; else if (a >= 0.01) printf "%.3f\n", v;
		else printf "%.4f\n", v }' ;;
	esac
}

# ratio A B: A/B with 2 decimals ('-' when either is not a number).
ratio() {
	[[ $1 =~ ^[0-9.]*[0-9][0-9.]*$ && $2 =~ ^[0-9.]*[0-9][0-9.]*$ ]] || { echo -; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f\n", a / b }'
}

# peak_rss_mb CMD...: run CMD under /usr/bin/time, print "SECONDS PEAK_MB".
peak_rss() {
	local f rc=0
	f=$(mktemp)
	/usr/bin/time -f '%e %M' -o "$f" "$@" >/dev/null 2>&1 || rc=$?
	awk '{ printf "%s %.1f\n", $1, $2 / 1024 }' "$f" | tail -1
	rm -f "$f"
	return $rc
}

# proc_mem PID: "VmHWM_MB VmRSS_MB" of PID.
proc_mem() {
	awk '/^VmHWM:/ { h = $2 } /^VmRSS:/ { r = $2 }
		END { printf "%.1f %.1f\n", h / 1024, r / 1024 }' "/proc/$1/status" 2>/dev/null || echo "- -"
}

# daemon_pid PATTERN MNT: pid of the FUSE daemon serving MNT.
daemon_pid() {
	pgrep -o -f -- "$1.*$2( |\$)" || true
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# wait_load MAX SECONDS: wait (up to SECONDS) for the 1-min load below MAX.
wait_load() {
	local max=$1 left=$2
	while (( left > 0 )) && awk -v l="$(load1)" -v m="$max" 'BEGIN { exit !(l >= m) }'; do
		note "bench: load $(load1) >= $max, waiting (${left}s left)"
		sleep 20; left=$((left - 20))
	done
}

# ---------------------------------------------------------------- mounts

MOUNTS=()
WORK=
cleanup() {
	local m i
	for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
		m=${MOUNTS[i]}
		is_mounted "$m" || continue
		"$IMGFS" umount "$m" >/dev/null 2>&1 || umount "$m" >/dev/null 2>&1 ||
			fuse_abort "$m"
	done
	[[ -n $WORK && -d $WORK ]] && rm -rf --one-file-system "$WORK"
}
setup_work() {
	WORK=$(mktemp -d /tmp/imgfs-bench.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# is_mounted MNT: from /proc/self/mountinfo (a stat could hang on a hung mount).
is_mounted() {
	awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo
}

# fuse_abort MNT: abort the FUSE connection of MNT (a hung daemon: its
# waiting clients get ENOTCONN), then detach the mount.
fuse_abort() {
	local dev
	dev=$(awk -v m="$1" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
	[[ -n $dev ]] || return 0
	dev=${dev#*:}
	[[ -d /sys/fs/fuse/connections/$dev ]] ||
		mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null || true
	echo 1 >"/sys/fs/fuse/connections/$dev/abort" 2>/dev/null || true
	umount -l "$1" 2>/dev/null || true
}

# umnt MNT: unmount and wait for it to be gone.
umnt() {
	local m=$1 i
	is_mounted "$m" || return 0
	umount "$m" 2>/dev/null || fusermount3 -u "$m" 2>/dev/null || fusermount -u "$m" 2>/dev/null ||
		umount -l "$m"
	for ((i = 0; i < 100; i++)); do is_mounted "$m" || return 0; sleep 0.05; done
	umount -l "$m"
}

# ---------------------------------------------------------------- images

# layer_list IMAGE: one line per layer, base first:
#   INDEX <TAB> MEMBER <TAB> OFFSET <TAB> SIZE <TAB> COMP (none|gzip|zstd|xz|bzip2)
# OFFSET and SIZE locate the layer blob inside the (uncompressed) outer tar.
layer_list() {
	python3 - "$1" <<'EOF'
import json, posixpath, sys, tarfile
path = sys.argv[1]
tf = tarfile.open(path, "r:")
members = {m.name.lstrip("./") if m.name.startswith("./") else m.name: m for m in tf.getmembers()}
def resolve(name, depth=0):
    m = members[name]
    if m.issym() and depth < 10:
        return resolve(posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname)), depth + 1)
    if m.islnk() and depth < 10:
        return resolve(m.linkname, depth + 1)
    return m
def blob(d):
    return "blobs/" + d.replace(":", "/", 1)
def read(name):
    return tf.extractfile(resolve(name)).read()
if "manifest.json" in members:
    layers = json.loads(read("manifest.json"))[0]["Layers"]
else:
    desc = json.loads(read("index.json"))["manifests"][0]
    while True:
        doc = json.loads(read(blob(desc["digest"])))
        if "manifests" in doc:
            desc = doc["manifests"][0]
            continue
        layers = [blob(l["digest"]) for l in doc["layers"]]
        break
with open(path, "rb") as f:
    for i, name in enumerate(layers):
        m = resolve(name)
        f.seek(m.offset_data)
        h = f.read(6)
        comp = ("gzip" if h[:2] == b"\x1f\x8b" else "zstd" if h[:4] == b"\x28\xb5\x2f\xfd" else
                "xz" if h[:6] == b"\xfd7zXZ\x00" else "bzip2" if h[:3] == b"BZh" else "none")
        print(f"{i}\t{m.name}\t{m.offset_data}\t{m.size}\t{comp}")
EOF
}

# decomp_cmd COMP: the command that decompresses COMP from stdin.
decomp_cmd() {
	case $1 in none) echo cat ;; gzip) echo "gzip -dc" ;; zstd) echo "zstd -dc" ;;
		xz) echo "xz -dc" ;; bzip2) echo "bzip2 -dc" ;; esac
}

# tar_tf_stream IMAGE: list every layer (tar xOf IMAGE MEMBER | [decompress |] tar t),
# prints the total entry count.
tar_tf_stream() {
	local img=$1 i member off size comp n=0 c
	while IFS=$'\t' read -r i member off size comp; do
		c=$(tar xOf "$img" "$member" | $(decomp_cmd "$comp") | tar t | wc -l)
		n=$((n + c))
	done < <(layer_list "$img")
	echo "$n"
}

# ---------------------------------------------------------------- cached peers

# All under $BENCHDIR/<name>/, built once into a temporary name and renamed,
# with a .meta file holding "SECONDS PEAK_MB" of the build.

# ensure_rootfs NAME: ROOTFS = the merged tree on local disk (umoci's).
ensure_rootfs() {
	local name=$1 d=$BENCHDIR/$1
	if [[ -d $FIX/work/ref/$name/bundle/rootfs ]]; then
		ROOTFS=$FIX/work/ref/$name/bundle/rootfs; return
	fi
	ROOTFS=$d/ref/rootfs
	[[ -d $ROOTFS ]] && return
	need_tools umoci skopeo
	mkdir -p "$d"
	rm -rf "$d/ref.tmp" && mkdir -p "$d/ref.tmp"
	local oci=$FIX/work/ref/$name/oci
	if [[ ! -f $oci/index.json ]]; then
		oci=$d/ref.tmp/oci
		note "bench: $name: skopeo copy of $name.oci.tar for the reference tree"
		skopeo copy -q "oci-archive:$IMGDIR/$name.oci.tar" "oci:$oci:ref" >&2 || die "skopeo copy failed"
	fi
	note "bench: $name: umoci unpack of the reference tree into $d/ref"
	umoci unpack --image "$oci:ref" "$d/ref.tmp/bundle" >&2 || die "umoci unpack failed"
	mv "$d/ref.tmp/bundle" "$d/ref" && rm -rf "$d/ref.tmp"
}

# ensure_sqfs NAME VARIANT(zstd|raw) [TIMEOUT]: SQFS = the squashfs of ROOTFS.
ensure_sqfs() {
	local name=$1 v=$2 to=${3:-0} d=$BENCHDIR/$1 opts=() rc=0 m
	SQFS=$d/rootfs-$v.sqfs
	[[ -f $SQFS ]] && return 0
	mkdir -p "$d"
	case $v in zstd) opts=(-comp zstd) ;; raw) opts=(-noI -noD -noF -noX) ;; esac
	note "bench: $name: mksquashfs ($v) of the reference tree (cached as $SQFS)"
	rm -f "$SQFS.tmp"
	if ((to > 0)); then
		m=$(peak_rss timeout "$to" mksquashfs "$ROOTFS" "$SQFS.tmp" "${opts[@]}" -noappend -no-progress) || rc=$?
	else
		m=$(peak_rss mksquashfs "$ROOTFS" "$SQFS.tmp" "${opts[@]}" -noappend -no-progress) || rc=$?
	fi
	if ((rc)); then rm -f "$SQFS.tmp"; SQFS=; return 1; fi
	echo "$m" >"$SQFS.meta"
	mv "$SQFS.tmp" "$SQFS"
}

# ensure_overlay NAME IMAGE: OVL_LOWER = lowerdir= string (top first) of the
# layers of IMAGE extracted to directories, whiteouts in overlay form.
ensure_overlay() {
	local name=$1 img=$2 d=$BENCHDIR/$1/ovl i member off size comp t0 lower=
	if [[ ! -f $d/done ]]; then
		note "bench: $name: extracting the layers of $(basename "$img") for fuse-overlayfs (cached in $d)"
		rm -rf "$d"; mkdir -p "$d"
		t0=$EPOCHREALTIME
		while IFS=$'\t' read -r i member off size comp; do
			mkdir -p "$d/$i"
			tar xOf "$img" "$member" | $(decomp_cmd "$comp") |
				tar -x --numeric-owner --xattrs --xattrs-include='*' -p -C "$d/$i" || die "extracting layer $i failed"
			# whiteouts -> overlay form
			find "$d/$i" -name '.wh.*' -print0 | while IFS= read -r -d '' w; do
				local dir=${w%/*} base=${w##*/}
				rm -f -- "$w"
				if [[ $base == .wh..wh..opq ]]; then
					setfattr -n trusted.overlay.opaque -v y -- "$dir"
				else
					local tgt=$dir/${base#.wh.}
					if [[ -e $tgt || -L $tgt ]]; then
						# re-created in the same layer: hide the lower dir's content
						[[ -d $tgt && ! -L $tgt ]] && setfattr -n trusted.overlay.opaque -v y -- "$tgt"
					else
						mknod -- "$tgt" c 0 0
					fi
				fi
			done
		done < <(layer_list "$img")
		echo "$(echo "$EPOCHREALTIME - $t0" | bc -l) -" >"$d/meta"
		touch "$d/done"
	fi
	OVL_LOWER=$(ls "$d" | grep -E '^[0-9]+$' | sort -rn | sed "s|^|$d/|" | paste -sd:)
	OVL_META=$d/meta
}

# ensure_layer_tars NAME IMAGE: LAYER_TARS = the uncompressed layer tars as
# files (for seeking tar tf); only for images whose layers are uncompressed.
ensure_layer_tars() {
	local name=$1 img=$2 d=$BENCHDIR/$1/layers i member off size comp
	if [[ ! -f $d/done ]]; then
		rm -rf "$d"; mkdir -p "$d"
		while IFS=$'\t' read -r i member off size comp; do
			[[ $comp == none ]] || { LAYER_TARS=(); return 1; }
			dd if="$img" of="$d/$i.tar" iflag=skip_bytes,count_bytes skip="$off" count="$size" bs=4M status=none
		done < <(layer_list "$img")
		touch "$d/done"
	fi
	mapfile -t LAYER_TARS < <(ls "$d"/*.tar | sort -V)
}

# ensure_flat_tar NAME: FLAT_TAR = a tar of ROOTFS (for archivemount).
ensure_flat_tar() {
	local d=$BENCHDIR/$1 m
	FLAT_TAR=$d/rootfs.tar
	[[ -f $FLAT_TAR ]] && return
	mkdir -p "$d"
	note "bench: $1: tar of the reference tree for archivemount (cached as $FLAT_TAR)"
	# GNU format: archivemount stops at the first pax header with a non-ASCII path
	m=$(peak_rss tar -C "$ROOTFS" --numeric-owner --format=gnu -cf "$FLAT_TAR.tmp" .) || die "tar failed"
	echo "$m" >"$FLAT_TAR.meta"
	mv "$FLAT_TAR.tmp" "$FLAT_TAR"
}

# file lists from the reference listing
ref_list() { echo "$FIX/$1.reference.txt"; }

# random_files NAME COUNT: COUNT regular files (fixed seed), paths relative to the root.
random_files() {
	awk -F'\t' '$2 == "f" { print $1 }' "$(ref_list "$1")" | shuf -n "$2" --random-source=<(yes)
}

# largest_file NAME: "PATH<TAB>SIZE" of the largest regular file.
largest_file() {
	awk -F'\t' '$2 == "f" { print $4 "\t" $1 }' "$(ref_list "$1")" | sort -k1,1nr | head -1 |
		awk -F'\t' '{ print $2 "\t" $1 }'
}
