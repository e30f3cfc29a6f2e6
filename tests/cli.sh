#!/usr/bin/env bash
# The imgfs command as a user meets it: usage and exit status, options
# after the image, --json validated with jq (escaping of hostile strings
# included), --quiet and --verbose, the progress line on a pty (script -qc),
# the mount helper form, mount -t fuse.imgfs and an fstab line through the
# real mount(8) and mount.fuse3, a mount by a user other than root through
# fusermount3 with the image's modes enforced, meson install, the manual
# (mandoc -T lint) and the bash completion.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
# Parts that need root (mount(8), the other user), a build tree (meson
# install), mandoc or bash-completion are skipped without them: the test
# then exits 77, and under CI fails.  CLI_INSTALLED=1 (.ci/run, testing the
# installed /usr/bin/imgfs) leaves out meson install, which the build's own
# run of this test checked.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

require_fuse
command -v jq >/dev/null || { echo "FAIL - jq missing (apt-get install jq)"; exit 1; }
init_workdir "$BUILDDIR/cli"
W=$T_WORK
IMGFS=$(cd "$(dirname "$IMGFS")" && pwd)/$(basename "$IMGFS")
rm -rf "$W/img" "$XDG_CACHE_HOME"
mkdir -p "$W/img" "$XDG_CACHE_HOME"
IMG=$W/img/cli.tar

# expect_rc WANT NAME CMD...: passes when CMD exits with status WANT.
expect_rc() {
	local want=$1 name=$2 rc=0; shift 2
	"$@" >"$W/out" 2>"$W/err" || rc=$?
	if [ "$rc" -eq "$want" ]; then
		pass "$name (exit $rc)"
	else
		fail "$name: expected exit $want, got $rc; stderr: $(head -3 "$W/err")"
	fi
}

# ------------------------------------------------------------- the image

# cli.tar: a docker-archive of two layers.  Layer 0 holds a root-owned 0600
# secret and a public file; layer 1 adds a file and deletes one.  The
# history steps hold quotes, a backslash, control characters and bytes that
# are not UTF-8, which the JSON output must escape.
python3 - "$W/img" <<'EOF' || { fail "could not write the test image"; finish; }
import hashlib, io, json, sys, tarfile
out = sys.argv[1]

def layer(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, mode, uid, data in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            ti.uid = ti.gid = uid
            ti.mode = mode
            if data is None:
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return b.getvalue()

l0 = layer([("etc", 0o755, 0, None), ("etc/secret", 0o600, 0, b"root only\n"),
            ("etc/public", 0o644, 0, b"everyone\n"), ("gone.txt", 0o644, 0, b"x" * 1000)])
l1 = layer([("app", 0o755, 0, None), ("app/main.py", 0o644, 0, b"print('hi')\n"),
            (".wh.gone.txt", 0o644, 0, b"")])
layers = [l0, l1]
diff_ids = ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers]
steps = ['/bin/sh -c #(nop) ADD file:rootfs.tar in / ',
         'RUN echo "quoted" \\ back\tslash\x01\x1f caf\u00e9 \U0001F600 BADBYTES']
run = {"Hostname": "", "Env": ["PATH=/usr/bin", "A=\"1\""], "Entrypoint": ["/app/run"],
       "ArgsEscaped": True, "User": "1000:1000", "Labels": {"org.example": "caf\u00e9"}}
cfg = {"architecture": "amd64", "os": "linux",
       "config": run, "rootfs": {"type": "layers", "diff_ids": diff_ids},
       "history": [{"created": "2024-01-01T00:00:00Z", "created_by": s} for s in steps]}
# raw bytes that are not UTF-8 (a lone 0xff, a truncated sequence) in the
# config's text: JSON parsers in the wild pass them through.
cb = json.dumps(cfg, ensure_ascii=False).encode().replace(b"BADBYTES", b"\xff\xe2\x82")
cid = hashlib.sha256(cb).hexdigest()
man = [{"Config": cid + ".json", "RepoTags": ["cli/test:1"],
        "Layers": ["l%d/layer.tar" % i for i in range(len(layers))]}]
# what imgfs layers must show: each layer's regular files' bytes, their
# totals, the config's checked fields in imgfs(1)'s order (compact JSON)
def content(l):
    with tarfile.open(fileobj=io.BytesIO(l)) as t:
        return sum(m.size for m in t.getmembers() if m.isreg())
order = ["User", "WorkingDir", "Entrypoint", "Cmd", "Env", "ExposedPorts", "Labels"]
fields = {k: run[k] for k in order if k in run}
with open(out + "/expect.json", "w") as f:
    json.dump({"content": [content(l) for l in layers],
               "size": sum(len(l) for l in layers),
               "entries": sum(len(tarfile.open(fileobj=io.BytesIO(l)).getmembers()) for l in layers),
               "config": json.dumps(fields, separators=(",", ":"), ensure_ascii=False)}, f)
with open(out + "/config.json", "wb") as f:
    f.write(cb)
with tarfile.open(out + "/cli.tar", "w") as t:
    def add(name, data):
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1700000000
        t.addfile(ti, io.BytesIO(data))
    for i, l in enumerate(layers):
        add("l%d/layer.tar" % i, l)
    add(cid + ".json", cb)
    add("manifest.json", json.dumps(man).encode())
# a bigger one for the progress line: 48 MiB of incompressible data
import os
big = layer([("blob.bin", 0o644, 0, os.urandom(48 << 20))])
with tarfile.open(out + "/big.tar", "w") as t:
    ti = tarfile.TarInfo("blob.bin"); ti.size = 48 << 20; ti.mtime = 1700000000
    t.addfile(ti, io.BytesIO(big[512:512 + (48 << 20)]))
EOF

# ------------------------------------------------- usage and exit status

expect_rc 0 "--help" "$IMGFS" --help
grep -q '^usage: imgfs mount' "$W/out" && pass "--help prints the usage on stdout" ||
	fail "--help: no usage on stdout"
expect_rc 0 "--version" "$IMGFS" --version
grep -Eq '^imgfs [0-9]+\.[0-9]+' "$W/out" && pass "--version prints 'imgfs X.Y.Z'" ||
	fail "--version printed '$(cat "$W/out")'"
expect_rc 2 "no arguments" "$IMGFS"
expect_rc 2 "unknown command that is no file" "$IMGFS" frobnicate
grep -q "^imgfs: 'frobnicate' is neither a command nor an image file" "$W/err" &&
	pass "unknown command: one 'imgfs:' line" || fail "unknown command: stderr $(cat "$W/err")"
expect_rc 2 "unknown option" "$IMGFS" index --frob "$IMG"
expect_rc 2 "missing image" "$IMGFS" index "$W/img/nonexistent.tar"
grep -q '^imgfs: ' "$W/err" && pass "missing image: 'imgfs:' message" || fail "missing image: $(cat "$W/err")"

# ------------------------------------------------------ index and --json

expect_rc 0 "index --json, options after IMAGE" "$IMGFS" index "$IMG" --json --rebuild
if jq -e '(keys == ["entries","index","inodes","layers","reused","seconds"]) and
	(.index | type == "string") and .reused == false and (.seconds | type == "number") and
	.layers == 2 and (.inodes | type == "number") and .entries == 7' "$W/out" >/dev/null; then
	pass "index --json: the documented schema"
else
	fail "index --json: $(cat "$W/out")"
fi
[ -s "$W/err" ] && fail "index --json with stderr not a terminal wrote: $(head -2 "$W/err")" ||
	pass "no progress line when stderr is not a terminal"
expect_rc 0 "index --json again" "$IMGFS" index --json "$IMG"
jq -e '.reused == true' "$W/out" >/dev/null && pass "index --json: reused is true the second time" ||
	fail "index --json again: $(cat "$W/out")"
expect_rc 0 "index -q" "$IMGFS" index -q "$IMG"
[ -s "$W/out" ] || [ -s "$W/err" ] && fail "index -q printed something: $(cat "$W/out" "$W/err")" ||
	pass "index -q prints nothing"
expect_rc 0 "index" "$IMGFS" index "$IMG"
grep -q '^reused in [0-9.]* s: 2 layers, 7 tar entries' "$W/out" && pass "index: text summary" ||
	fail "index: $(cat "$W/out")"
expect_rc 0 "index --verbose --rebuild" "$IMGFS" index --verbose --rebuild "$IMG"
grep -q '^imgfs: timing: ' "$W/err" && grep -q '^imgfs: index .* built in ' "$W/err" &&
	pass "--verbose: phase timings and the build summary on stderr" ||
	fail "--verbose: stderr $(cat "$W/err")"
# the phase times are elapsed since the build began (they printed the
# monotonic clock, "totals at 1868.672 s"): none past the whole build's time
total=$(sed -n 's/^imgfs: index .* built in \([0-9.]*\) s:.*/\1/p' "$W/err")
late=$(awk -v t="${total:-0}" '/^imgfs: timing: .* at [0-9.]+ s$/ { v = $(NF - 1); n++; if (v + 0 > t + 0.0005) print } END { if (!n) print "no timing line" }' "$W/err")
[ -n "$total" ] && [ -z "$late" ] && pass "--verbose: every phase time within the build's $total s" ||
	fail "--verbose: phase times past the build's ${total:-?} s: $late"

expect_rc 0 "layers --json" "$IMGFS" layers "$IMG" --json
if jq -e --arg img "$IMG" '(keys == ["cache","cache_bytes","config","image","index","layers","totals"]) and .image == $img and .cache == null and .cache_bytes == 0 and
	(.layers | length == 2) and
	all(.layers[]; (keys == (["compression","content_bytes","created_by","diff_id","digest","entries",
		"media_type","num","push_size","size","stored_size"] | sort)) and (.push_size == null) and
		(.num | type == "number") and (.stored_size | type == "number") and
		(.size | type == "number") and (.entries | type == "number") and
		(.diff_id | startswith("sha256:")) and .compression == "none" and
		(.media_type == null)) and
	.layers[0].num == 0 and .layers[1].num == 1 and .layers[0].entries == 4' \
	"$W/out" >/dev/null; then
	pass "layers --json: the documented schema"
else
	fail "layers --json: $(head -c 600 "$W/out")"
fi
# the content bytes, totals and config fields the test image's writer
# computed (img/expect.json)
E=$W/img/expect.json
want=$(jq -c '.content' "$E")
got=$(jq -c '[.layers[].content_bytes]' "$W/out")
[ "$got" = "$want" ] && pass "layers --json: content_bytes $got, the layers' regular files" ||
	fail "layers --json: content_bytes $got, expected $want"
want=$(jq -c '{layers: 2, size: .size, content_bytes: (.content | add), entries: .entries}' "$E")
got=$(jq -c '.totals | {layers, size, content_bytes, entries}' "$W/out")
[ "$got" = "$want" ] && pass "layers --json: totals $got" || fail "layers --json: totals $got, expected $want"
want=$(jq -r '.config' "$E")
got=$(jq -c '.config' "$W/out")
[ "$got" = "$want" ] && pass "layers --json: config $got" || fail "layers --json: config $got, expected $want"
# the text form: a CONTENT column and a totals row with the same sums;
# -h prints human units and no exact figure but the counts
expect_rc 0 "layers" "$IMGFS" layers "$IMG"
want=$(jq -r '"\(.content[0]) \(.content[1]) total \(.size) \(.content | add) \(.entries)"' "$E")
got=$(awk '$1 == "#" { for (i = 1; i <= NF; i++) if ($i == "CONTENT") c = i; next }
	$1 ~ /^[0-9]+$/ && c { printf "%s ", $c } $1 == "total" { print "total", $4, $5, $6 }' "$W/out")
[ "$got" = "$want" ] && pass "layers: CONTENT column and totals row" ||
	fail "layers: got '$got', expected '$want' from: $(cat "$W/out")"
expect_rc 0 "layers -h" "$IMGFS" layers -h "$IMG"
# total, STORED (2 words), PUSH ("-": no estimate asked), SIZE, CONTENT, ENTRIES
got=$(awk '$1 == "total" && $4 == "-" { print $5, $6, $7, $8, $9 }' "$W/out")
want=$(jq -r '.size as $s | (.content | add) as $c | .entries as $e |
	def h: if . >= 1024 then "\(. * 10 / 1024 | round / 10 | tostring | if test("[.]") then . else . + ".0" end) KiB" else "\(.) B" end;
	"\($s | h) \($c | h) \($e)"' "$E")
[ "$got" = "$want" ] && pass "layers -h: totals in human units ($got)" ||
	fail "layers -h: totals '$got', expected '$want' from: $(cat "$W/out")"
"$IMGFS" layers "$IMG" --json >"$W/out" 2>&1
# 0xff and the two bytes of a truncated sequence: one U+FFFD each
want=$(printf 'RUN echo "quoted" \\ back\tslash\001\037 caf\303\251 \360\237\230\200 \357\277\275\357\277\275\357\277\275')
got=$(jq -r '.layers[1].created_by' "$W/out")
[ "$got" = "$want" ] && pass "layers --json: quotes, backslash, controls, UTF-8 kept, bad bytes -> U+FFFD" ||
	fail "layers --json: created_by is '$got', expected '$want'"
grep -q '\\u0001\\u001f' "$W/out" && grep -q '\\"quoted\\" \\\\ back\\tslash' "$W/out" &&
	pass "layers --json: control characters as \\u00XX and \\t, quote and backslash escaped" ||
	fail "layers --json: escapes: $(grep -o 'RUN[^}]*' "$W/out")"
# an image path that is not UTF-8 and holds a quote and a newline
weird=$W/img/$'we"ird\n\xff.tar'
cp "$IMG" "$weird"
expect_rc 0 "layers --json on a hostile file name" "$IMGFS" layers --json "$weird"
[ "$(jq -r .image "$W/out")" = "$W/img/$(printf 'we"ird\n\357\277\275.tar')" ] &&
	pass "layers --json: the image path escaped, its bad byte as U+FFFD" ||
	fail "layers --json: image is $(jq .image "$W/out")"
# dive's default rules fail on this image (efficiency 0.03): exit 1
expect_rc 1 "check --json (dive's defaults)" "$IMGFS" check --json "$weird"
jq -e '.result == "FAIL" and (.rules | length == 4) and (.image | type == "string")' "$W/out" >/dev/null &&
	pass "check --json: valid JSON on a hostile file name" || fail "check --json: $(cat "$W/out")"
rm -f "$weird"

# ------------------------------------------------- progress on a terminal

# script(1) gives imgfs a pty as stdout and stderr.
if command -v script >/dev/null; then
	script -qec "'$IMGFS' index --rebuild '$W/img/big.tar'" /dev/null >"$W/tty" 2>&1
	if grep -aq 'indexing big.tar: .* of 48.0 MiB (.*%), .*/s' "$W/tty" &&
		grep -aq $'\r\033\\[K' "$W/tty"; then
		pass "progress line on a terminal: bytes of total, rate, redrawn with \\r and cleared"
	else
		fail "progress line: $(od -c "$W/tty" | head -5)"
	fi
	# the reading is not the end: the finish is named step by step, and
	# no line said 100 % or "0:00 left" before it (both did at 64 %)
	tr '\r' '\n' <"$W/tty" >"$W/tty.lines"
	if grep -aq 'indexing big.tar: finishing: tree totals (1 entries)' "$W/tty.lines" &&
		grep -aq 'indexing big.tar: finishing: packages' "$W/tty.lines" &&
		! grep -aq -e '(100%)' -e ' 0:00 left' "$W/tty.lines"; then
		pass "progress line: the finish's steps shown, never 100 % or 0:00 left while work remains"
	else
		fail "progress line: $(grep -a -e finishing -e '%' "$W/tty.lines" | tail -5)"
	fi
	script -qec "'$IMGFS' index --rebuild --quiet '$W/img/big.tar'" /dev/null >"$W/tty" 2>&1
	grep -aq 'indexing' "$W/tty" && fail "--quiet on a terminal still draws the progress line" ||
		pass "--quiet on a terminal: no progress line"
else
	fail "script (util-linux) missing: cannot test the progress line"
fi

# ------------------------------------------------ the mount helper form

MNT=$W/mnt
mkdir -p "$MNT"
T_MOUNTS+=("$MNT")
expect_rc 0 "imgfs IMAGE MNT -o ro,nofail,dev,suid,exec,_netdev,image=cli/test:1" \
	"$IMGFS" "$IMG" "$MNT" -o ro,nofail,dev,suid,exec,_netdev,image=cli/test:1
line=$(awk -v m="$MNT" '$2 == m' /proc/self/mounts)
case $line in
*" fuse.imgfs ro,nosuid,nodev,"*default_permissions*) pass "helper form: mounted ro,nosuid,nodev,default_permissions" ;;
*) fail "helper form: /proc/mounts has '$line'" ;;
esac
cmp -s "$MNT/.imgfs/config.json" "$W/img/config.json" &&
	pass "/.imgfs/config.json is the archive's config, byte for byte" ||
	fail "/.imgfs/config.json differs from the config member"
got=$(getfattr --only-values -n user.imgfs.config "$MNT" 2>"$W/gerr" || cat "$W/gerr")
[ "$got" = "$(jq -r '.config' "$W/img/expect.json")" ] && pass "user.imgfs.config of /: $got" ||
	fail "user.imgfs.config of /: '$got'"
[ "$(cat "$MNT/app/main.py" 2>&1)" = "print('hi')" ] && pass "helper form: files read" ||
	fail "helper form: app/main.py unreadable"
force_unmount "$MNT"
expect_rc 2 "helper form with -o rw is refused" "$IMGFS" "$IMG" "$MNT" -o rw
grep -q 'Read-only file system' "$W/err" && pass "-o rw: EROFS message" || fail "-o rw: $(cat "$W/err")"
expect_rc 2 "-o image=NAME that the archive lacks" "$IMGFS" mount -o image=no/such "$IMG" "$MNT"
grep -q 'no image named no/such' "$W/err" && pass "-o image= reaches --image" || fail "-o image=: $(cat "$W/err")"
force_unmount "$MNT"

# a mount point that is already an imgfs mount: refused (exit 2, the line
# names the first mount's image), unless -o stack; one that does not exist
# says so
expect_rc 0 "mount for the stacking checks" "$IMGFS" mount -o image=cli/test:1 "$IMG" "$MNT"
expect_rc 2 "a second mount on an imgfs mount is refused" "$IMGFS" mount -o image=cli/test:1 "$IMG" "$MNT"
n=$(awk -v m="$MNT" '$2 == m' /proc/self/mounts | wc -l)
grep -q "already an imgfs mount (of $IMG)" "$W/err" && [ "$n" -eq 1 ] &&
	pass "stacked mount: one line naming the image, one mount in the table" ||
	fail "stacked mount: $n mounts, stderr: $(cat "$W/err")"
expect_rc 0 "-o stack mounts over it when asked" "$IMGFS" mount -o image=cli/test:1,stack "$IMG" "$MNT"
n=$(awk -v m="$MNT" '$2 == m' /proc/self/mounts | wc -l)
[ "$n" -eq 2 ] && pass "-o stack: two mounts in the table" || fail "-o stack: $n mounts"
force_unmount "$MNT"
force_unmount "$MNT"
expect_rc 2 "a mount point that does not exist" "$IMGFS" mount -o image=cli/test:1 "$IMG" "$W/no/such/dir"
grep -q "$W/no/such/dir: mount point does not exist" "$W/err" && pass "missing mount point: says it does not exist" ||
	fail "missing mount point: $(cat "$W/err")"

# /dev/stdin redirected from the image: the mount table names the file the
# descriptor leads to (realpath, computed here), not /dev/stdin or /dev/null;
# a pipe is refused in one line that says it is a pipe
expect_rc 0 "mount /dev/stdin < IMAGE" "$IMGFS" mount -o image=cli/test:1 /dev/stdin "$MNT" <"$IMG"
src=$(awk -v m="$MNT" '$2 == m { print $1 }' /proc/self/mounts)
[ "$src" = "$(realpath "$IMG")" ] && pass "/dev/stdin: the mount table's source is the image file" ||
	fail "/dev/stdin: mount table source '$src', expected $(realpath "$IMG")"
force_unmount "$MNT"
rc=0
cat "$IMG" | "$IMGFS" mount -o image=cli/test:1 /dev/stdin "$MNT" >"$W/out" 2>"$W/err" || rc=$?
[ "$rc" -eq 2 ] && [ "$(wc -l <"$W/err")" -eq 1 ] && grep -q '^imgfs: /dev/stdin: a pipe' "$W/err" &&
	pass "a pipe as the image: exit 2, one line saying it is a pipe" ||
	fail "a pipe as the image: rc=$rc, stderr: $(cat "$W/err")"
force_unmount "$MNT"

# the demo on a pipe prints no escape codes (a log, a CI transcript, | cat);
# on a terminal (script(1) gives it one) the command lines are bold
if IMGFS=$IMGFS "$SRCDIR/scripts/demo" >"$W/demo.out" 2>&1 && grep -q '$ imgfs umount' "$W/demo.out"; then
	if grep -q $'\033' "$W/demo.out"; then fail "demo | cat: escape codes in the output"
	else pass "demo on a pipe: no escape codes"; fi
else
	fail "demo failed: $(tail -3 "$W/demo.out")"
fi
if command -v script >/dev/null; then
	IMGFS=$IMGFS script -qec "$SRCDIR/scripts/demo" /dev/null >"$W/demo.tty" 2>&1
	grep -q $'\033\\[1m\\$ imgfs layers' "$W/demo.tty" && pass "demo on a terminal: bold command lines" ||
		fail "demo on a terminal: no bold command line"
else
	fail "script(1) missing (util-linux): cannot check the demo on a terminal"
fi

# -------------------------------------- mount(8): -t fuse.imgfs and fstab

# mount(8) runs mount.fuse3 with no PATH in its environment, so /bin/sh
# finds imgfs on its default path (/usr/local/bin first), never on ours: in
# a private mount namespace a tmpfs on /usr/local/bin holds a symlink to the
# binary under test, and the host is left untouched.
if [ "$(id -u)" -ne 0 ]; then
	skip_part "mount -t fuse.imgfs and fstab: need root"
elif ! command -v unshare >/dev/null || ! unshare -m true 2>/dev/null; then
	fail "unshare -m unavailable: cannot test mount -t fuse.imgfs"
else
	cat >"$W/fstab" <<EOF
# a temporary fstab for mount -T
$IMG  $MNT  fuse.imgfs  ro,nofail,image=cli/test:1  0  0
EOF
	unshare -m --propagation private bash -s "$IMGFS" "$IMG" "$MNT" "$W/fstab" >"$W/ns.out" 2>&1 <<'EOF'
imgfs=$1 img=$2 mnt=$3 fstab=$4
trap 'umount "$mnt" 2>/dev/null' EXIT
mount -t tmpfs -o mode=0755 tmpfs /usr/local/bin || exit 1
ln -s "$imgfs" /usr/local/bin/imgfs
say() { echo "$1 - $2"; }
if mount -t fuse.imgfs "$img" "$mnt" -o ro; then
	if awk -v m="$mnt" '$2 == m && $3 == "fuse.imgfs" && $4 ~ /^ro,/' /proc/self/mounts | grep -q . &&
		[ "$(cat "$mnt/etc/public")" = everyone ]; then
		say ok "mount -t fuse.imgfs IMAGE MNT -o ro: mounted, files read"
	else
		say FAIL "mount -t fuse.imgfs: $(grep " $mnt " /proc/self/mounts)"
	fi
	umount "$mnt" && say ok "umount of the mount -t fuse.imgfs mount" || say FAIL "umount failed"
else
	say FAIL "mount -t fuse.imgfs IMAGE MNT -o ro failed"
fi
if mount -t fuse.imgfs "$img" "$mnt" 2>/dev/null; then
	say FAIL "mount -t fuse.imgfs without -o ro (mount passes rw) succeeded"
	umount "$mnt"
else
	say ok "mount -t fuse.imgfs without ro is refused (rw)"
fi
if mount -T "$fstab" "$mnt"; then
	if [ -f "$mnt/app/main.py" ] && [ ! -e "$mnt/gone.txt" ]; then
		say ok "fstab line 'fuse.imgfs ro,nofail,image=...' via mount -T: mounted, merged tree"
	else
		say FAIL "fstab mount: unexpected tree: $(ls "$mnt")"
	fi
	umount "$mnt" || say FAIL "umount of the fstab mount failed"
else
	say FAIL "mount -T tmpfstab MNT failed"
fi
EOF
	sed 's/^/    /' "$W/ns.out" | grep -v -E '^    (ok|FAIL) - ' || true
	while IFS= read -r l; do
		case $l in
		"ok - "*) pass "${l#ok - }" ;;
		"FAIL - "*) fail "${l#FAIL - }" ;;
		esac
	done <"$W/ns.out"
	grep -Eq '^(ok|FAIL) - ' "$W/ns.out" || fail "mount namespace test printed nothing: $(head -3 "$W/ns.out")"
fi

# ------------------------------------------- a user other than root

# imgfstest mounts through the setuid fusermount3 and unmounts with imgfs
# umount; default_permissions makes the kernel enforce the image's modes.
if [ "$(id -u)" -ne 0 ]; then
	skip_part "mount by a user other than root: run as root to create one"
else
	U=imgfstest
	id "$U" >/dev/null 2>&1 || useradd -m "$U" || fail "useradd $U"
	fuse_mode=$(stat -c %a /dev/fuse)
	# /dev/fuse is 0666 on a normal system; a container may have 0600
	[ "$fuse_mode" = 666 ] || chmod 0666 /dev/fuse
	if [ ! -u "$(command -v fusermount3)" ]; then
		fail "fusermount3 is not setuid root: users other than root cannot mount"
	fi
	UW=$(su "$U" -c 'mktemp -d /tmp/imgfs-cli-user.XXXXXX')
	cp "$IMG" "$UW/cli.tar"
	chown "$U" "$UW/cli.tar"
	UB=$UW/bin
	mkdir -p "$UB" && cp "$IMGFS" "$UB/imgfs" && chmod 0755 "$UB" "$UB/imgfs"
	T_MOUNTS+=("$UW/mnt")
	# the user's own cache ($HOME/.cache/imgfs): no XDG_CACHE_HOME
	cat >"$UW/run.sh" <<EOF
set -e
cd
unset XDG_CACHE_HOME
PATH=$UB:/usr/bin:/bin
mkdir -p $UW/mnt
imgfs mount $UW/cli.tar $UW/mnt
ls $UW/mnt >$UW/ls.out
cat $UW/mnt/etc/public >$UW/public.out
if cat $UW/mnt/etc/secret >$UW/secret.out 2>$UW/secret.err; then echo readable >$UW/secret.rc; fi
grep " $UW/mnt " /proc/self/mounts >$UW/mounts.out
imgfs umount $UW/mnt
if mountpoint -q $UW/mnt; then exit 3; fi
ls ~/.cache/imgfs >$UW/cache.out
EOF
	su "$U" -c "sh $UW/run.sh" >"$W/user.out" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -qx app "$UW/ls.out" 2>/dev/null; then
		pass "$U: imgfs mount, ls, imgfs umount (fusermount3 -u)"
	else
		fail "$U: mount/ls/umount exited $rc: $(head -5 "$W/user.out")"
	fi
	grep -q "user_id=$(id -u "$U")" "$UW/mounts.out" 2>/dev/null &&
		pass "$U: the mount is the user's (user_id=$(id -u "$U"))" ||
		fail "$U: /proc/mounts line: $(cat "$UW/mounts.out" 2>/dev/null)"
	[ "$(cat "$UW/public.out" 2>/dev/null)" = everyone ] && pass "$U: reads a 0644 file" ||
		fail "$U: cannot read etc/public"
	if [ ! -e "$UW/secret.rc" ] && grep -q 'Permission denied' "$UW/secret.err" 2>/dev/null; then
		pass "$U: a root-owned 0600 file of the image gives EACCES (default_permissions)"
	else
		fail "$U: etc/secret: $(cat "$UW/secret.out" "$UW/secret.err" 2>/dev/null)"
	fi
	grep -q '^cli.tar-.*\.db$' "$UW/cache.out" 2>/dev/null && pass "$U: index in ~/.cache/imgfs" ||
		fail "$U: ~/.cache/imgfs holds: $(cat "$UW/cache.out" 2>/dev/null)"
	force_unmount "$UW/mnt"
	rm -rf "$UW"
	[ "$fuse_mode" = 666 ] || chmod "$fuse_mode" /dev/fuse
fi

# ------------------------------------- meson install, manual, completion

BUILDROOT=$(dirname "$BUILDDIR")
if [ "${CLI_INSTALLED:-}" = 1 ]; then
	: # the installed binary has no build tree: the build's run checked install
elif [ -f "$BUILDROOT/build.ninja" ] && command -v meson >/dev/null; then
	rm -rf "$W/dest"
	if meson install -C "$BUILDROOT" --no-rebuild --destdir "$W/dest" >"$W/install.out" 2>&1; then
		prefix=$(meson introspect "$BUILDROOT" --buildoptions |
			jq -r '.[] | select(.name == "prefix") | .value')
		d=$W/dest$prefix
		miss=
		for f in bin/imgfs share/man/man1/imgfs.1 share/bash-completion/completions/imgfs; do
			[ -f "$d/$f" ] || miss="$miss $f"
		done
		for s in imgfs-audit imgfs-compare; do
			[ ! -f "$SRCDIR/scripts/$s" ] || [ -x "$d/bin/$s" ] || miss="$miss bin/$s"
		done
		[ -z "$miss" ] && pass "meson install: imgfs, imgfs.1, completion, audit scripts" ||
			fail "meson install: missing$miss"
	else
		fail "meson install failed: $(tail -3 "$W/install.out")"
	fi
else
	skip_part "meson install: no build.ninja at $BUILDROOT"
fi

if command -v mandoc >/dev/null; then
	out=$(mandoc -T lint -W warning "$SRCDIR/imgfs.1" 2>&1)
	[ -z "$out" ] && pass "mandoc -T lint -W warning imgfs.1 is clean" || fail "mandoc: $out"
else
	skip_part "mandoc missing (apt-get install mandoc)"
fi
if command -v man >/dev/null; then
	out=$(MANWIDTH=80 man --warnings=w "$SRCDIR/imgfs.1" 2>&1 >/dev/null)
	[ -z "$out" ] && pass "man ./imgfs.1 renders without warnings" || fail "man: $out"
fi

if [ -f /usr/share/bash-completion/bash_completion ]; then
	got=$(bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1/completions/imgfs.bash"
		COMP_WORDS=(imgfs l); COMP_CWORD=1; COMP_LINE="imgfs l"; COMP_POINT=7
		_imgfs imgfs l imgfs; echo "${COMPREPLY[*]}"
		COMP_WORDS=(imgfs layers --j); COMP_CWORD=2; COMP_LINE="imgfs layers --j"; COMP_POINT=16
		_imgfs imgfs --j layers; echo "${COMPREPLY[*]}"' bash "$SRCDIR")
	[ "$got" = $'layers\n--json' ] && pass "bash completion: commands and options" ||
		fail "bash completion gave: $got"
else
	skip_part "bash-completion is not installed"
fi

finish
