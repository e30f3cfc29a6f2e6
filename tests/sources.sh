#!/usr/bin/env bash
# Images from where they live (issue 16): standard input, pipes, FIFOs and
# process substitution read as streams, and the Docker Engine API
# (docker-daemon:NAME, podman:NAME) of a private dockerd started here.
#
# Every stream mount is compared with the mount of the same file (find's
# stat fields, sha256 of every file, getfattr of every entry) and, where
# the fixture has one, with its reference listing (umoci's, through
# tests/treecmp.py); the image the Engine serves is compared with the
# reference of the file that was loaded into it.  A stream has no
# identity: it is indexed each time, under a unique name in the cache
# directory that the mount removes once it holds the files open, so the
# cache directory is checked to be empty while and after it is mounted.
#
# Environment (set by meson): IMGFS, SRCDIR, BUILDDIR; FIXTURES_DIR
# replaces ../shared/fixtures.  Without the fixtures the run is a skip
# (77, a failure under CI); so is the Engine part when dockerd cannot
# start.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"
FX=${FIXTURES_DIR:-$SRCDIR/../shared/fixtures}
[ -d "$FX/made" ] || skip "$FX holds no fixtures (made/)"
FX=$(cd "$FX/made" && pwd -P)

require_fuse
init_workdir "$BUILDDIR/sources"
W=$T_WORK
rm -rf "$XDG_CACHE_HOME"
mkdir -p "$XDG_CACHE_HOME/imgfs"
C=$XDG_CACHE_HOME/imgfs
MNT=$W/mnt
MNT2=$W/mnt2

# The private dockerd, stopped on every exit path (before the unmounts
# of lib.sh's cleanup, which keeps the exit status).
DPID=
DRUN=
stop_dockerd() {
	[ -n "$DPID" ] || return 0
	kill "$DPID" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$DPID" 2>/dev/null
	DPID=
	[ -n "$DRUN" ] && rm -rf "$DRUN"
}
RPID=
PPID_=
stop_registry() {
	local p
	for p in "$PPID_" "$RPID"; do
		[ -n "$p" ] || continue
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	RPID=
	PPID_=
}
trap 'rc=$?; stop_dockerd; stop_registry; (exit $rc); cleanup' EXIT

# snapshot MNT: what a mount shows: stat fields of every entry, sha256
# of every regular file, every extended attribute.
snapshot() {
	(cd "$1" && find . -printf '%P\t%y\t%m\t%s\t%U\t%G\t%n\t%T@\t%l\n' | sort &&
		find . -type f -print0 | sort -z | xargs -0 -r sha256sum &&
		getfattr -R -P -d -m - -e hex . 2>/dev/null)
}

# cache_before, then no_leftovers LABEL: the cache directory holds no file
# that it did not hold at cache_before (a stream's index, spool and cache
# are gone; a failed build left nothing), the lock of an index aside.
cache_before() { ls -A "$C" | grep -v '\.lock$' >"$W/cache.before"; }
no_leftovers() {
	ls -A "$C" | grep -v '\.lock$' >"$W/cache.now"
	if [ -z "$(comm -13 "$W/cache.before" "$W/cache.now")" ]; then
		pass "$1: nothing of it in the cache directory"
	else
		fail "$1: left in the cache directory: $(comm -13 "$W/cache.before" "$W/cache.now" | tr '\n' ' ')"
	fi
}

# stream_case LABEL REF SNAP MODE IMAGE [ARGS]: mounts IMAGE through MODE
# (pipe, fifo, procsub) and compares it with the file mount's snapshot SNAP
# and, when REF is set, with REF.reference*.
stream_case() {
	local label=$1 ref=$2 snap=$3 mode=$4 img=$5 rc=0 wpid=; shift 5
	mkdir -p "$MNT"
	T_MOUNTS+=("$MNT")
	cache_before
	case $mode in
	pipe) cat "$img" | timeout 120 "$IMGFS" mount "$@" - "$MNT" 2>"$W/err" || rc=$? ;;
	fifo)
		rm -f "$W/fifo"
		mkfifo "$W/fifo"
		cat "$img" >"$W/fifo" &
		wpid=$!
		timeout 120 "$IMGFS" mount "$@" "$W/fifo" "$MNT" 2>"$W/err" || rc=$?
		wait "$wpid"
		;;
	procsub) timeout 120 "$IMGFS" mount "$@" <(cat "$img") "$MNT" 2>"$W/err" || rc=$? ;;
	esac
	if [ "$rc" -ne 0 ] || ! mountpoint -q "$MNT"; then
		fail "$label: mount through a $mode failed (rc=$rc): $(head -2 "$W/err")"
		return
	fi
	snapshot "$MNT" >"$W/snap.stream"
	check "$label through a $mode: the same tree, bytes and xattrs as the file mount" \
		show_diff "$label ($mode)" "$snap" "$W/snap.stream"
	[ -n "$ref" ] && check "$label through a $mode: tree equals $(basename "$ref").reference*" \
		compare_tree "$MNT" "$ref"
	no_leftovers "$label through a $mode, mounted"
	check "$label through a $mode: imgfs umount" unmount_image "$MNT"
	no_leftovers "$label through a $mode, unmounted"
}

# ------------------------------------------------------------- streams

for img in "$FX"/*.tar "$FX"/*.tar.gz; do
	[ -f "$img" ] || continue
	n=$(basename "$img")
	args=()
	ref=$FX/tiny
	case $n in
	tiny-multi.*) args=(--image localhost/tiny:latest) ;;
	tiny.*) ;;
	*) ref= ;;
	esac
	if ! mount_image "$img" "$MNT2" "${args[@]}"; then
		fail "$n: the file mount failed"
		continue
	fi
	snapshot "$MNT2" >"$W/snap.file"
	force_unmount "$MNT2"
	[ "$(wc -l <"$W/snap.file")" -gt 10 ] || fail "$n: the file mount's snapshot is nearly empty"
	for mode in pipe fifo; do
		stream_case "$n" "$ref" "$W/snap.file" "$mode" "$img" "${args[@]}"
	done
	[ "$n" = tiny.docker.tar.gz ] && stream_case "$n" "$ref" "$W/snap.file" procsub "$img"
done

# /dev/stdin that is a pipe is a stream too (it used to be refused)
IMG=$FX/tiny.docker.tar
rc=0
cat "$IMG" | "$IMGFS" mount /dev/stdin "$MNT" 2>"$W/err" || rc=$?
T_MOUNTS+=("$MNT")
if [ "$rc" -eq 0 ] && mountpoint -q "$MNT"; then
	check "/dev/stdin as a pipe: tree equals tiny.reference*" compare_tree "$MNT" "$FX/tiny"
else
	fail "/dev/stdin as a pipe: rc=$rc: $(head -2 "$W/err")"
fi
force_unmount "$MNT"

# --index PATH keeps the index (and its spool) after the mount; a stream
# has no identity, so the next stream into it is indexed again
rc=0
cat "$IMG" | "$IMGFS" mount -v --index "$W/kept.db" - "$MNT" 2>"$W/err" || rc=$?
force_unmount "$MNT"
if [ "$rc" -eq 0 ] && [ -f "$W/kept.db" ] && ls "$W"/kept.db.*.tar >/dev/null 2>&1; then
	pass "stream with --index: the index and its spool are kept"
else
	fail "stream with --index: rc=$rc, files: $(ls "$W" | grep kept | tr '\n' ' ')"
fi
rc=0
cat "$IMG" | "$IMGFS" mount -v --index "$W/kept.db" - "$MNT" 2>"$W/err" || rc=$?
if [ "$rc" -eq 0 ] && grep -q "kept.db built" "$W/err"; then
	pass "stream with --index again: indexed again (a stream has no identity)"
else
	fail "stream with --index again: rc=$rc: $(cat "$W/err")"
fi
[ -n "$(ls "$W"/kept.db.*.tar)" ] && [ "$(ls "$W"/kept.db.*.tar | wc -l)" -eq 1 ] &&
	pass "stream with --index again: one spool left (the old one swept)" ||
	fail "stream with --index again: spools $(ls "$W"/kept.db.*.tar | tr '\n' ' ')"
force_unmount "$MNT"

# imgfs index of a stream without --index keeps nothing and says so
cache_before
out=$(cat "$IMG" | "$IMGFS" index --json - 2>&1)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["index"] is None and d["layers"] == 2 else 1)' "$out" &&
	pass "imgfs index --json of a stream: \"index\": null, 2 layers" ||
	fail "imgfs index --json of a stream printed: $out"
no_leftovers "imgfs index of a stream"
out=$(cat "$FX/tiny.docker.tar.gz" | "$IMGFS" layers --json - 2>&1)
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["index"] is None and len(d["layers"]) == 2 else 1)' "$out" &&
	pass "imgfs layers --json of a stream: \"index\": null, 2 layers" ||
	fail "imgfs layers --json of a stream printed: $out"
no_leftovers "imgfs layers of a stream"
# imgfs verify reads a stream too: the same verdicts as for the file
for img in "$FX/tiny.docker.tar" "$FX/tiny.oci.tar"; do
	"$IMGFS" verify "$img" >"$W/verify.file" 2>&1
	frc=$?
	rc=0
	cat "$img" | "$IMGFS" verify - >"$W/verify.stream" 2>&1 || rc=$?
	if [ "$frc" -eq 0 ] && [ "$rc" -eq 0 ] && [ "$(grep -c '^ok ' "$W/verify.file")" -gt 0 ] &&
		diff <(awk '{ print $1, $2, $3, $4 }' "$W/verify.file") <(awk '{ print $1, $2, $3, $4 }' "$W/verify.stream") >/dev/null; then
		pass "imgfs verify - of $(basename "$img"): the file's $(grep -c '^ok ' "$W/verify.file") ok lines"
	else
		fail "imgfs verify - of $(basename "$img"): rc=$rc (file $frc): $(head -3 "$W/verify.stream")"
	fi
done

# bad_stream LABEL PATTERN CMD...: CMD's output piped into imgfs mount -:
# exit 2, one line naming '-' and matching PATTERN, nothing mounted or left
bad_stream() {
	local label=$1 pat=$2 rc=0; shift 2
	cache_before
	"$@" | timeout 60 "$IMGFS" mount - "$MNT" >/dev/null 2>"$W/err" || rc=$?
	if mountpoint -q "$MNT"; then
		fail "$label: it mounted"
		force_unmount "$MNT"
	elif [ "$rc" -eq 2 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && grep -Eq "^imgfs: -: $pat" "$W/err"; then
		pass "$label: exit 2, one line: $(cat "$W/err")"
	else
		fail "$label: rc=$rc, stderr: $(cat "$W/err")"
	fi
	no_leftovers "$label"
}
size=$(stat -c %s "$IMG")
bad_stream "a docker-archive cut at 700 bytes" "the stream ended early" head -c 700 "$IMG"
bad_stream "a docker-archive cut in the middle" "the stream ended early" head -c $((size / 2)) "$IMG"
bad_stream "a docker-archive cut at a 512-byte boundary" "the stream ended early" \
	head -c $((size / 2 / 512 * 512)) "$IMG"
bad_stream "a gzip docker-archive cut in the middle" "the stream ended early" \
	head -c $(($(stat -c %s "$FX/tiny.docker.tar.gz") / 2)) "$FX/tiny.docker.tar.gz"
bad_stream "an empty stream" "the stream is empty" true
# standard input a terminal (script(1) gives it one): refused, not waited on
if command -v script >/dev/null; then
	cache_before
	rc=0
	timeout 20 script -qec "'$IMGFS' mount - '$MNT'" /dev/null >"$W/tty.out" 2>&1 </dev/null || rc=$?
	if mountpoint -q "$MNT"; then
		fail "- on a terminal: it mounted"
		force_unmount "$MNT"
	elif [ "$rc" -eq 2 ] && grep -q "imgfs: -: a terminal, not an image" "$W/tty.out"; then
		pass "- on a terminal: exit 2 at once: $(tr -d '\r' <"$W/tty.out")"
	else
		fail "- on a terminal: rc=$rc: $(cat "$W/tty.out")"
	fi
	no_leftovers "- on a terminal"
else
	skip_part "script(1) missing: - on a terminal not tried"
fi
bad_stream "a stream of text" "" echo "no image here"

# ------------------------------------------------------------ registry

# bad_ref LABEL PATTERN REF [ARGS]: exit 2, one line naming REF, matching PATTERN
bad_ref() {
	local label=$1 pat=$2 ref=$3 rc=0; shift 3
	timeout 60 "$IMGFS" mount "$@" "$ref" "$MNT" >/dev/null 2>"$W/err" || rc=$?
	if mountpoint -q "$MNT"; then
		fail "$label: it mounted"
		force_unmount "$MNT"
	elif [ "$rc" -eq 2 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && grep -Fq "imgfs: $ref: " "$W/err" &&
		grep -Eq -- "$pat" "$W/err"; then
		pass "$label: exit 2, one line: $(cat "$W/err")"
	else
		fail "$label: rc=$rc, stderr: $(cat "$W/err")"
	fi
}

# mount_ref LABEL REF [ARGS]: mounts REF on $MNT with -v (stderr in $W/err)
mount_ref() {
	local label=$1 ref=$2 rc=0; shift 2
	T_MOUNTS+=("$MNT")
	timeout 120 "$IMGFS" mount -v "$@" "$ref" "$MNT" 2>"$W/err" || rc=$?
	[ "$rc" -eq 0 ] && mountpoint -q "$MNT" && return 0
	fail "$label: rc=$rc: $(grep -v timing "$W/err" | head -2)"
	return 1
}

registry_part() {
	local R port d
	if ! command -v docker-registry >/dev/null || ! command -v skopeo >/dev/null; then
		skip_part "registry: docker-registry or skopeo missing (apt-get install docker-registry skopeo)"
		return
	fi
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	R=127.0.0.1:$port
	rm -rf "$W/registry"
	mkdir -p "$W/registry"
	printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n' \
		"$W/registry/data" "$R" >"$W/registry/config.yml"
	docker-registry serve "$W/registry/config.yml" >"$W/registry.log" 2>&1 &
	RPID=$!
	for _ in $(seq 1 40); do
		curl -sf "http://$R/v2/" >/dev/null 2>&1 && break
		sleep 0.25
	done
	if ! curl -sf "http://$R/v2/" >/dev/null 2>&1; then
		skip_part "registry: docker-registry does not start: $(tail -1 "$W/registry.log")"
		stop_registry
		return
	fi
	local push_ok=1
	for p in "docker-archive:$FX/tiny.docker.tar tiny:latest" "oci-archive:$FX/tiny.oci.tar tiny-oci:1" \
		"docker-archive:$FX/tiny.docker.tar multi:amd" \
		"docker-archive:$FX/tiny-multi.docker.tar:localhost/tiny:base multi:arm"; do
		set -- $p
		skopeo copy -q --dest-tls-verify=false "$1" "docker://$R/$2" >"$W/skopeo.out" 2>&1 ||
			{ push_ok=0; fail "skopeo copy $1 docker://$R/$2: $(tail -1 "$W/skopeo.out")"; }
	done
	[ "$push_ok" = 1 ] && pass "skopeo pushed tiny (docker-archive and oci-archive) and tiny:base to $R"

	for ref in "docker://$R/tiny:latest" "docker://$R/tiny" "docker://$R/tiny-oci:1"; do
		if mount_ref "$ref" "$ref" --tls-verify=false; then
			check "$ref: tree equals tiny.reference*" compare_tree "$MNT" "$FX/tiny"
			grep -q " built " "$W/err" && pass "$ref: the first mount builds" ||
				fail "$ref: first mount: $(cat "$W/err")"
		fi
		force_unmount "$MNT"
	done
	# on a terminal (script(1) gives one): the download's progress line,
	# bytes of the blobs' total, the total computed here from the manifest
	if command -v script >/dev/null; then
		local total
		total=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" \
			"http://$R/v2/tiny-oci/manifests/1" | python3 -c '
import json, sys
m = json.load(sys.stdin)
n = m["config"]["size"] + sum(l["size"] for l in m["layers"])
u = 0
while n >= 1024 and u < 4:
    n /= 1024; u += 1
print(("%.1f %s" if u else "%.0f %s") % (n, ["B", "KiB", "MiB", "GiB", "TiB"][u]))')
		script -qec "'$IMGFS' index --rebuild --tls-verify=false docker://$R/tiny-oci:1" /dev/null \
			</dev/null >"$W/progress.out" 2>&1
		grep -q "indexing tiny-oci:1: $total of $total (100%)" "$W/progress.out" &&
			pass "docker:// on a terminal: the progress line reaches $total of $total" ||
			fail "docker:// on a terminal: no '$total of $total' in: $(tr '\r' '\n' <"$W/progress.out" | tail -4)"
	else
		skip_part "script(1) missing: the progress line not tried"
	fi
	if mount_ref "second mount" "docker://$R/tiny:latest" --tls-verify=false; then
		grep -q " reused " "$W/err" &&
			check "docker://$R/tiny:latest again: the index is reused (same manifest digest), tree equals the reference" \
				compare_tree "$MNT" "$FX/tiny" ||
			fail "docker:// second mount: $(cat "$W/err")"
	fi
	force_unmount "$MNT"

	# an OCI index of two platforms, written here: --platform picks
	python3 - "$R" >"$W/index.json" <<'PY' || fail "could not read the manifests of multi:amd and multi:arm"
import hashlib, json, sys, urllib.request
r = sys.argv[1]
acc = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
out = []
for tag, arch in (("amd", "amd64"), ("arm", "arm64")):
    req = urllib.request.Request(f"http://{r}/v2/multi/manifests/{tag}", headers={"Accept": acc})
    with urllib.request.urlopen(req) as f:
        body, mt = f.read(), f.headers["Content-Type"]
    out.append({"mediaType": mt, "size": len(body), "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                "platform": {"os": "linux", "architecture": arch}})
print(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": out}))
PY
	curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.index.v1+json" --data-binary "@$W/index.json" \
		"http://$R/v2/multi/manifests/latest" >/dev/null || fail "could not push the index multi:latest"
	if mount_image "$FX/tiny-multi.docker.tar" "$MNT2" --image localhost/tiny:base; then
		snapshot "$MNT2" >"$W/snap.base"
		force_unmount "$MNT2"
	fi
	if mount_ref "index arm64" "docker://$R/multi:latest" --tls-verify=false --platform linux/arm64; then
		snapshot "$MNT" >"$W/snap.arm"
		check "docker://$R/multi:latest --platform linux/arm64: the tree of tiny:base" \
			show_diff "multi arm64" "$W/snap.base" "$W/snap.arm"
	fi
	force_unmount "$MNT"
	if mount_ref "index amd64" "docker://$R/multi:latest" --tls-verify=false --platform linux/amd64; then
		check "docker://$R/multi:latest --platform linux/amd64: tree equals tiny.reference*" \
			compare_tree "$MNT" "$FX/tiny"
	fi
	force_unmount "$MNT"

	# the tag pushed again with another image: the manifest digest differs,
	# so the index is rebuilt and shows the new image
	if skopeo copy -q --dest-tls-verify=false "docker-archive:$FX/tiny-multi.docker.tar:localhost/tiny:base" \
		"docker://$R/tiny:latest" >"$W/skopeo.out" 2>&1 &&
		mount_ref "tag pushed again" "docker://$R/tiny:latest" --tls-verify=false; then
		snapshot "$MNT" >"$W/snap.repushed"
		grep -q " built " "$W/err" &&
			check "docker://$R/tiny:latest pushed again: indexed again, the tree of tiny:base" \
				show_diff "re-pushed tag" "$W/snap.base" "$W/snap.repushed" ||
			fail "docker:// re-pushed tag: not rebuilt: $(grep -v timing "$W/err")"
	else
		fail "docker:// re-pushed tag: $(tail -1 "$W/skopeo.out")"
	fi
	force_unmount "$MNT"

	cache_before
	bad_ref "docker://: a platform the index lacks" "no manifest for linux/s390x" \
		"docker://$R/multi:latest" --tls-verify=false --platform linux/s390x
	bad_ref "docker://: a missing tag" "MANIFEST_UNKNOWN" "docker://$R/tiny:nope" --tls-verify=false
	bad_ref "docker://: a missing repository" "HTTP 404" "docker://$R/nothere:1" --tls-verify=false
	bad_ref "docker://: plain HTTP without --tls-verify=false" "TLS .*--tls-verify=false" "docker://$R/tiny:latest"
	bad_ref "docker://: a registry that is not there" "cannot reach the registry" \
		"docker://127.0.0.1:1/tiny:latest" --tls-verify=false
	no_leftovers "docker:// failures"

	# bearer-token auth: tests/registry_proxy.py asks for a token that its
	# /token endpoint gives for the right basic credentials only
	rm -f "$W/proxy.port"
	python3 "$SRCDIR/tests/registry_proxy.py" "$W/proxy.port" "http://$R" "tester:s3cret" \
		>"$W/proxy.log" 2>&1 &
	PPID_=$!
	for _ in $(seq 1 40); do [ -s "$W/proxy.port" ] && break; sleep 0.25; done
	local P=127.0.0.1:$(cat "$W/proxy.port" 2>/dev/null)
	if mount_ref "bearer auth" "docker://$P/multi:arm" --tls-verify=false --creds tester:s3cret; then
		snapshot "$MNT" >"$W/snap.auth"
		check "docker:// behind bearer-token auth with --creds: the tree of tiny:base" \
			show_diff "bearer auth" "$W/snap.base" "$W/snap.auth"
	fi
	force_unmount "$MNT"
	# credentials from auth files, as podman and docker login write them:
	# a namespaced entry (HOST/REPO) before the host's own (wrong here)
	python3 - "$P" >"$W/auth.json" <<'PY'
import base64, json, sys
b = lambda s: base64.b64encode(s.encode()).decode()
print(json.dumps({"auths": {sys.argv[1]: {"auth": b("tester:wrong")},
                            sys.argv[1] + "/multi": {"auth": b("tester:s3cret")}}}))
PY
	if REGISTRY_AUTH_FILE=$W/auth.json XDG_RUNTIME_DIR=$W/none HOME=$W/none \
		mount_ref "auth file" "docker://$P/multi:arm" --tls-verify=false --rebuild; then
		pass "docker:// with \$REGISTRY_AUTH_FILE: its HOST/REPO entry is used"
	fi
	force_unmount "$MNT"
	mkdir -p "$W/home/.docker"
	python3 -c 'import base64, json, sys; print(json.dumps({"auths": {"http://" + sys.argv[1]: {"auth": base64.b64encode(b"tester:s3cret").decode()}}}))' \
		"$P" >"$W/home/.docker/config.json"
	if XDG_RUNTIME_DIR=$W/none HOME=$W/home mount_ref "docker config" "docker://$P/multi:arm" --tls-verify=false --rebuild; then
		pass "docker:// with ~/.docker/config.json (an http:// key)"
	fi
	force_unmount "$MNT"
	# credential helpers, as docker and skopeo run them: "credHelpers" by
	# host before "credsStore", docker-credential-NAME get with the host on
	# standard input; the fake helper logs what it is given
	mkdir -p "$W/bin" "$W/home2/.docker"
	cat >"$W/bin/docker-credential-test" <<HELPER
#!/bin/sh
server=\$(cat)
printf '%s %s\\n' "\$1" "\$server" >>"$W/helper.log"
case "\${FAKE_CRED_MODE:-}" in
fail) echo "keychain is locked"; exit 1 ;;
none) echo "credentials not found in native keychain"; exit 1 ;;
esac
printf '{"ServerURL":"%s","Username":"tester","Secret":"s3cret"}\\n' "\$server"
HELPER
	chmod +x "$W/bin/docker-credential-test"
	printf '{"credsStore": "test"}\n' >"$W/home2/.docker/config.json"
	rm -f "$W/helper.log"
	if PATH=$W/bin:$PATH XDG_RUNTIME_DIR=$W/none HOME=$W/home2 \
		mount_ref "credsStore" "docker://$P/multi:arm" --tls-verify=false --rebuild; then
		snapshot "$MNT" >"$W/snap.helper"
		check "docker:// with credsStore: the tree of tiny:base" \
			show_diff "credsStore" "$W/snap.base" "$W/snap.helper"
	fi
	force_unmount "$MNT"
	if [ -s "$W/helper.log" ] && ! grep -vFxq "get $P" "$W/helper.log"; then
		pass "credsStore: docker-credential-test ran with get and $P on standard input ($(wc -l <"$W/helper.log") times)"
	else
		fail "credsStore: the helper was run as: $(tr '\n' ' ' <"$W/helper.log" 2>/dev/null)"
	fi
	# credHelpers wins over a credsStore that is not installed
	printf '{"credsStore": "absent", "credHelpers": {"%s": "test"}}\n' "$P" >"$W/home2/.docker/config.json"
	if PATH=$W/bin:$PATH XDG_RUNTIME_DIR=$W/none HOME=$W/home2 \
		mount_ref "credHelpers" "docker://$P/multi:arm" --tls-verify=false --rebuild; then
		pass "docker:// with credHelpers for $P: used before credsStore"
	fi
	force_unmount "$MNT"
	cache_before
	PATH=$W/bin:$PATH XDG_RUNTIME_DIR=$W/none HOME=$W/home2 FAKE_CRED_MODE=fail \
	bad_ref "docker://: a credential helper that fails" \
		"credential helper docker-credential-test failed \(exit 1\): keychain is locked" \
		"docker://$P/multi:arm" --tls-verify=false
	PATH=$W/bin:$PATH XDG_RUNTIME_DIR=$W/none HOME=$W/home2 FAKE_CRED_MODE=none \
	bad_ref "docker://: a credential helper without credentials for the host" \
		"access refused .*give --creds" "docker://$P/multi:arm" --tls-verify=false
	printf '{"credsStore": "absent"}\n' >"$W/home2/.docker/config.json"
	PATH=$W/bin:$PATH XDG_RUNTIME_DIR=$W/none HOME=$W/home2 \
	bad_ref "docker://: a credential helper not installed" \
		"credential helper docker-credential-absent: No such file or directory \(not on PATH; named by credsStore" \
		"docker://$P/multi:arm" --tls-verify=false
	no_leftovers "docker:// credential helper failures"
	cache_before
	REGISTRY_AUTH_FILE=$W/none XDG_RUNTIME_DIR=$W/none HOME=$W/none \
	bad_ref "docker://: bearer auth without --creds" "access refused .*give --creds" \
		"docker://$P/multi:arm" --tls-verify=false
	bad_ref "docker://: bearer auth with wrong --creds" "token: access refused .*bad credentials" \
		"docker://$P/multi:arm" --tls-verify=false --creds tester:wrong
	bad_ref "docker://: a registry that stops mid-layer" "stopped sending|bytes of" \
		"docker://$P/cut:arm" --tls-verify=false --creds tester:s3cret
	no_leftovers "docker:// auth and cut failures"

	cache_before
	# a layer blob changed in the registry's storage (same size): its
	# digest no longer matches, whatever the registry says
	d=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$W/index.json")
	d=$(curl -sf -H "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json" \
		"http://$R/v2/multi/manifests/$d" | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])')
	local blob=$W/registry/data/docker/registry/v2/blobs/sha256/${d:0:2}/$d/data
	if [ -f "$blob" ]; then
		python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)' "$blob"
		bad_ref "docker://: a corrupted layer blob" "layer 0 sha256:$d does not match its digest \\(got" \
			"docker://$R/multi:amd" --tls-verify=false
	else
		fail "docker://: no blob file for layer $d in the registry's storage"
	fi
	no_leftovers "docker:// corrupted blob"

	# offline: the last index of a reference, with a warning; none: refused
	stop_registry
	local rc=0
	timeout 60 "$IMGFS" mount --tls-verify=false "docker://$R/tiny-oci:1" "$MNT" 2>"$W/err" || rc=$?
	T_MOUNTS+=("$MNT")
	if [ "$rc" -eq 0 ] && mountpoint -q "$MNT" && [ "$(wc -l <"$W/err")" -eq 1 ] &&
		grep -q "^imgfs: warning: docker://$R/tiny-oci:1: cannot reach the registry .*: using the last index" "$W/err"; then
		check "docker:// offline: the last index of the reference, one warning line; tree equals tiny.reference*" \
			compare_tree "$MNT" "$FX/tiny"
	else
		fail "docker:// offline: rc=$rc: $(cat "$W/err")"
	fi
	force_unmount "$MNT"
	bad_ref "docker:// offline, never indexed" "cannot reach the registry" \
		"docker://$R/never:1" --tls-verify=false
}
registry_part

# ------------------------------------------------------- Docker Engine

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
	skip_part "Docker Engine: dockerd or docker missing (apt-get install docker.io)"
	finish
fi
rm -rf "$W/docker-data" # an earlier run's images and tags
# the sockets below it must stay short (108 bytes): /tmp, not the build tree
DRUN=$(mktemp -d /tmp/imgfs-dockerd.XXXXXX)
SOCK=$DRUN/docker.sock
start_dockerd() {
	dockerd --data-root "$W/docker-data" --exec-root "$DRUN/exec" -H "unix://$SOCK" \
		--pidfile "$DRUN/docker.pid" --bridge=none --iptables=false --ip6tables=false "$@" \
		>>"$W/dockerd.log" 2>&1 &
	DPID=$!
	for _ in $(seq 1 60); do
		docker -H "unix://$SOCK" version >/dev/null 2>&1 && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.25
	done
	stop_dockerd
	DRUN=$(mktemp -d /tmp/imgfs-dockerd.XXXXXX)
	SOCK=$DRUN/docker.sock
	return 1
}
if ! start_dockerd && ! start_dockerd --storage-driver=vfs; then
	skip_part "Docker Engine: dockerd does not start here: $(tail -1 "$W/dockerd.log")"
	finish
fi
export DOCKER_HOST=unix://$SOCK
if docker load -i "$IMG" >"$W/load.out" 2>&1; then
	pass "docker load tiny.docker.tar: $(tail -1 "$W/load.out")"
else
	fail "docker load: $(tail -2 "$W/load.out")"
fi

rc=0
"$IMGFS" mount -v docker-daemon:localhost/tiny:latest "$MNT" 2>"$W/err" || rc=$?
T_MOUNTS+=("$MNT")
if [ "$rc" -eq 0 ] && mountpoint -q "$MNT"; then
	check "docker-daemon:localhost/tiny:latest: tree equals tiny.reference*" compare_tree "$MNT" "$FX/tiny"
	grep -q " built " "$W/err" && pass "docker-daemon: the first mount builds" ||
		fail "docker-daemon: first mount: $(cat "$W/err")"
else
	fail "docker-daemon:localhost/tiny:latest: rc=$rc: $(head -2 "$W/err")"
fi
force_unmount "$MNT"
rc=0
"$IMGFS" mount -v docker-daemon:localhost/tiny:latest "$MNT" 2>"$W/err" || rc=$?
if [ "$rc" -eq 0 ] && grep -q " reused " "$W/err"; then
	check "docker-daemon: the second mount reuses the index (same image ID) and equals the reference" \
		compare_tree "$MNT" "$FX/tiny"
else
	fail "docker-daemon: second mount: rc=$rc: $(cat "$W/err")"
fi
force_unmount "$MNT"

# podman: is the same API; CONTAINER_HOST names its socket (here dockerd's).
# With localhost/tiny:base loaded too, a name without a tag must still be
# :latest alone (the Engine saves every tag of a bare repository name).
docker load -i "$FX/tiny-multi.docker.tar" >/dev/null 2>&1 || fail "docker load tiny-multi.docker.tar"
rc=0
CONTAINER_HOST=unix://$SOCK "$IMGFS" mount podman:localhost/tiny "$MNT" 2>"$W/err" || rc=$?
if [ "$rc" -eq 0 ] && mountpoint -q "$MNT"; then
	check "podman:localhost/tiny (CONTAINER_HOST, no tag: latest): tree equals tiny.reference*" \
		compare_tree "$MNT" "$FX/tiny"
else
	fail "podman:localhost/tiny: rc=$rc: $(head -2 "$W/err")"
fi
force_unmount "$MNT"

# the tag moved to another image: its ID differs, so the index is rebuilt
# and the tree is the other image's (compared with the file mount of it)
if docker tag localhost/tiny:base localhost/tiny:latest >/dev/null 2>&1 &&
	mount_image "$FX/tiny-multi.docker.tar" "$MNT2" --image localhost/tiny:base; then
	snapshot "$MNT2" >"$W/snap.base"
	force_unmount "$MNT2"
	rc=0
	"$IMGFS" mount -v docker-daemon:localhost/tiny:latest "$MNT" 2>"$W/err" || rc=$?
	if [ "$rc" -eq 0 ] && grep -q " built " "$W/err"; then
		snapshot "$MNT" >"$W/snap.daemon"
		check "docker-daemon: a tag moved to another image is indexed again and shows it" \
			show_diff "moved tag" "$W/snap.base" "$W/snap.daemon"
	else
		fail "docker-daemon: moved tag: rc=$rc: $(cat "$W/err")"
	fi
	force_unmount "$MNT"
else
	fail "docker-daemon: could not move the tag"
fi

# bad_daemon LABEL PATTERN REF: exit 2, one line naming REF and matching PATTERN
bad_daemon() {
	local label=$1 pat=$2 ref=$3 rc=0
	timeout 60 "$IMGFS" mount "$ref" "$MNT" >/dev/null 2>"$W/err" || rc=$?
	if mountpoint -q "$MNT"; then
		fail "$label: it mounted"
		force_unmount "$MNT"
	elif [ "$rc" -eq 2 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && grep -Fq "imgfs: $ref: " "$W/err" &&
		grep -Eq "$pat" "$W/err"; then
		pass "$label: exit 2, one line: $(cat "$W/err")"
	else
		fail "$label: rc=$rc, stderr: $(cat "$W/err")"
	fi
}
cache_before
# the Engine's own message, read from its JSON answer, in parentheses
bad_daemon "docker-daemon: a missing tag" "no such image in the Docker Engine at $SOCK \\(.*No such image: localhost/tiny:nope\\)$" \
	docker-daemon:localhost/tiny:nope
bad_daemon "docker-daemon: a name with a space" "not an image name" "docker-daemon:a b"
DOCKER_HOST=tcp://127.0.0.1:1 bad_daemon "docker-daemon: a tcp:// DOCKER_HOST" "unix:// socket only" \
	docker-daemon:localhost/tiny
stop_dockerd
bad_daemon "docker-daemon: a stopped daemon, an image never indexed" "cannot reach the Docker Engine at $SOCK" \
	docker-daemon:localhost/never:1
rc=0
"$IMGFS" mount docker-daemon:localhost/tiny:latest "$MNT" 2>"$W/err" || rc=$?
if [ "$rc" -eq 0 ] && mountpoint -q "$MNT" && [ "$(wc -l <"$W/err")" -eq 1 ] &&
	grep -q "^imgfs: warning: docker-daemon:localhost/tiny:latest: cannot reach the Docker Engine .*: using the last index" "$W/err"; then
	check "docker-daemon: a stopped daemon: the last index of the reference (the moved tag: tiny:base), one warning" \
		show_diff "offline daemon" "$W/snap.base" <(snapshot "$MNT")
else
	fail "docker-daemon: a stopped daemon, indexed before: rc=$rc: $(cat "$W/err")"
fi
force_unmount "$MNT"
no_leftovers "the Engine failures"
finish
