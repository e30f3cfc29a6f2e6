#!/usr/bin/env bash
# Tests of scripts/imgfs-audit and scripts/imgfs-compare.
#
# (a) Always: tests/audit_images.py writes a small image with planted bloat
#     (and a slim variant); imgfs-audit must find every planted item with
#     its exact bytes, imgfs-compare must report the delta, the check
#     results and the exit status; neither may leave a mount behind, even
#     when interrupted with SIGINT while its mounts are up.
# (b) When $IMGFS_FIXTURES_DIR/images/pyapp.docker.tar exists (default
#     ~/.cache/imgfs-fixtures; built on demand by the fixtures'
#     make-fixtures.sh, so never in CI): imgfs-audit on pyapp must find
#     every planted bloat item with the bytes of the reference tree, and
#     imgfs-compare between pyapp and a slimmed rebuild (umoci; cached as
#     $IMGFS_FIXTURES_DIR/audit/pyapp-slim.docker.tar) must report the
#     delta measured on the unpacked rootfs.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
AUDIT_WORK=audit-pyapp
. "$SRCDIR/tests/audit_lib.sh"

# ------------------------------------------------------------- (b) pyapp
FXD=${IMGFS_FIXTURES_DIR:-$HOME/.cache/imgfs-fixtures}
PYAPP=$FXD/images/pyapp.docker.tar
REF=$FXD/pyapp.reference.txt
[ -f "$PYAPP" ] && [ -f "$REF" ] ||
	skip_absent "$PYAPP or its reference missing (make-fixtures.sh builds them)"
SP=app/venv/lib/python3.11/site-packages
rc=0
"$AUDIT" --json --top 1000 "$PYAPP" >"$W/pyapp.json" 2>"$W/pyapp.err" || rc=$?
expect_eq "pyapp: imgfs-audit exit status" 0 "$rc"
no_leftovers "pyapp: imgfs-audit"
J=$W/pyapp.json
# refsum AWK-CONDITION: bytes of the reference's regular files ($1 path, $4 size) matching it
refsum() { awk -F'\t' "\$2 == \"f\" && ($1) { s += \$4 } END { print s + 0 }" "$REF"; }
pjq() { jq -r --arg p "$1" --arg path "$2" '.patterns[] | select(.id == $p) | .paths[] | select(.path == $path) | .bytes' "$J"; }
ptot() { jq -r --arg p "$1" '.patterns[] | select(.id == $p) | .bytes' "$J"; }
expect_eq "pyapp: bytecode total (every __pycache__ file and .pyc)" \
	"$(refsum '$1 ~ /(^|\/)__pycache__\// || $1 ~ /\.py[co]$/')" "$(ptot bytecode)"
expect_eq "pyapp: test directories in site-packages and the application's tests/ and scripts/" \
	"$(refsum '$1 ~ /(site|dist)-packages\/(.*\/)?(tests|test|testing)\// || ($1 !~ /(site|dist)-packages\// && ($1 ~ /^app\/(.*\/)?(tests|test)\// || $1 ~ /^app\/scripts\//))')" "$(ptot tests)"
expect_eq "pyapp: /app/tests listed" "$(refsum 'index($1, "app/tests/") == 1')" "$(pjq tests /app/tests)"
for d in pytest _pytest pytest-7.2.1.dist-info pip pip-23.0.1.dist-info setuptools setuptools-66.1.1.dist-info pkg_resources; do
	expect_eq "pyapp: dev package $d" "$(refsum "index(\$1, \"$SP/$d/\") == 1")" "$(pjq devpkgs "/$SP/$d")"
done
for d in usr/lib/gcc usr/include; do
	expect_eq "pyapp: toolchain /$d" "$(refsum "index(\$1, \"$d/\") == 1")" "$(pjq toolchain "/$d")"
done
for f in usr/lib/gcc/x86_64-linux-gnu/12/cc1 usr/lib/gcc/x86_64-linux-gnu/12/cc1plus; do
	check "pyapp: /$f is among the largest files with its reference size" \
		test "$(jq -r --arg p "/$f" '.largest_files[] | select(.path == $p) | .bytes' "$J")" = \
		"$(awk -F'\t' -v p="$f" '$1 == p { print $4 }' "$REF")"
done
for d in usr/share/doc usr/share/man usr/share/info usr/share/locale; do
	expect_eq "pyapp: docs /$d" "$(refsum "index(\$1, \"$d/\") == 1")" "$(pjq docs "/$d")"
done
expect_eq "pyapp: static libraries" "$(refsum '$1 ~ /\.a$/')" "$(ptot static)"
# layer 1's own tar: the apt lists it ships, deleted by layer 3
lay1=$(tar -xOf "$PYAPP" manifest.json | jq -r '.[0].Layers[1]')
lists=$(tar -xOf "$PYAPP" "$lay1" | tar -tvf - 2>/dev/null | awk '$1 ~ /^-/ && $6 ~ /^(\.\/)?var\/lib\/apt\/lists\// { s += $3 } END { print s + 0 }')
expect_eq "pyapp: apt lists hidden in layer 1 (bytes in the layer tar)" "$lists" "$(pjq caches /.imgfs/hidden/1/var/lib/apt/lists)"
expect_eq "pyapp: model.bin hidden in layer 2" "2 52428800 deleted" \
	"$(jq -r '.hidden_files[] | select(.path == "/app/data/model.bin") | "\(.layer) \(.bytes) \(.why)"' "$J")"
v1=$FXD/work/pyapp-ctx/app/lib/libengine.so
if [ -f "$v1" ]; then
	expect_eq "pyapp: libengine.so v1 hidden in layer 2" "2 $(stat -c %s "$v1") replaced by layer 4" \
		"$(jq -r '.hidden_files[] | select(.path == "/app/lib/libengine.so") | "\(.layer) \(.bytes) \(.why)"' "$J")"
fi
# unstripped ELF files of /app: what strip would save, read from the
# unpacked reference rootfs by tests/audit_images.py's strip_bytes
ROOTFS=$FXD/work/ref/pyapp/bundle/rootfs
if [ -d "$ROOTFS/app" ]; then
	python3 - "$ROOTFS" >"$W/pyapp-elf.exp" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["SRCDIR"] + "/tests")
from audit_images import strip_bytes
root = sys.argv[1]
for dp, dn, fn in os.walk(os.path.join(root, "app")):
    for f in fn:
        p = os.path.join(dp, f)
        if os.path.islink(p) or not os.path.isfile(p):
            continue
        with open(p, "rb") as fh:
            if fh.read(4) != b"\x7fELF":
                continue
        with open(p, "rb") as fh:
            n = strip_bytes(fh.read())
        if n:
            print("/" + os.path.relpath(p, root) + "\t" + str(n))
EOF
	jq -r '.patterns[] | select(.id == "elf") | .paths[] | select(.path | startswith("/app/")) | "\(.path)\t\(.bytes)"' "$J" |
		sort >"$W/pyapp-elf.got"
	sort -o "$W/pyapp-elf.exp" "$W/pyapp-elf.exp"
	check "pyapp: every unstripped ELF of /app with the bytes strip would save ($(wc -l <"$W/pyapp-elf.exp") files)" \
		show_diff "unstripped ELF files" "$W/pyapp-elf.exp" "$W/pyapp-elf.got"
	check "pyapp: /app/lib/libengine.so is unstripped" grep -q '^/app/lib/libengine.so	' "$W/pyapp-elf.got"
else
	skip_part_absent "$ROOTFS missing: unstripped ELF bytes not checked"
fi

# --- the slimmed rebuild (umoci), cached beside the fixtures
SLIMDIR=$FXD/audit
PSLIM=$SLIMDIR/pyapp-slim.docker.tar
if [ ! -f "$PSLIM" ] || [ ! -f "$PSLIM.expected" ] || [ "$PYAPP" -nt "$PSLIM" ]; then
	if command -v skopeo >/dev/null && command -v umoci >/dev/null; then
		echo "building $PSLIM (umoci; once)"
		mkdir -p "$SLIMDIR"
		B=$SLIMDIR/build
		rm -rf "$B"
		mkdir -p "$B"
		# total IMAGE_ROOTFS: bytes of regular files, each inode once
		total() { find "$1" -type f -printf '%i\t%s\n' | sort -u -t$'\t' -k1,1 | awk -F'\t' '{ s += $2 } END { print s + 0 }'; }
		if skopeo copy -q "docker-archive:$PYAPP" "oci:$B/oci:pyapp" &&
			umoci unpack --image "$B/oci:pyapp" "$B/bundle" >/dev/null; then
			R=$B/bundle/rootfs
			before=$(total "$R")
			find "$R/app" -name __pycache__ -prune -exec rm -rf {} +
			find "$R/$SP" -depth -type d \( -name tests -o -name test \) -exec rm -rf {} +
			rm -rf "$R/$SP"/{pytest,_pytest,pytest-*.dist-info,py.py,pluggy,pluggy-*,iniconfig,iniconfig-*} \
				"$R/$SP"/{pip,pip-*.dist-info,setuptools,setuptools-*.dist-info,pkg_resources,_distutils_hack,distutils-precedence.pth} \
				"$R"/usr/share/{doc,man,info,locale}
			after=$(total "$R")
			if umoci repack --image "$B/oci:slim" --history.created_by "slim: rm bytecode, tests, dev packages, docs" "$B/bundle" >/dev/null &&
				skopeo copy -q "oci:$B/oci:slim" "docker-archive:$PSLIM.tmp:pyapp-slim:latest"; then
				mv "$PSLIM.tmp" "$PSLIM"
				printf '%s\t%s\n' "$before" "$after" >"$PSLIM.expected"
			fi
		fi
		rm -rf "$B" "$PSLIM.tmp"
	else
		skip_part "skopeo/umoci missing: no slim pyapp, imgfs-compare on pyapp not run"
	fi
fi
if [ -f "$PSLIM" ] && [ -f "$PSLIM.expected" ]; then
	IFS=$'\t' read -r before after <"$PSLIM.expected"
	cat >"$W/pyapp.checks" <<EOF
present /app/venv/bin/python
executable /app/venv/bin/python
executable /app/bin/python
importable flask /$SP
importable pydantic_core._pydantic_core /$SP
importable yaml /$SP
importable json
absent /$SP/pytest
absent /app/**/__pycache__
absent /usr/share/doc
EOF
	# config checks from the config JSON of each tarball, read by Python
	# (the rules: audit_images.config_value): "config F = <pyapp's value>"
	# for every field, variable and label, and the users' examples
	python3 - "$PYAPP" "$PSLIM" >"$W/pyapp-config.rows" <<'EOF'
import json, os, sys, tarfile
sys.path.insert(0, os.path.join(os.environ["SRCDIR"], "tests"))
from audit_images import FIELDS, config_value


def config(path):
    t = tarfile.open(path)
    m = json.load(t.extractfile("manifest.json"))[0]
    return json.load(t.extractfile(m["Config"])).get("config") or {}


b, a = config(sys.argv[1]), config(sys.argv[2])
fields = list(FIELDS) + ["Env." + e.split("=", 1)[0] for e in b.get("Env") or []] + \
    ["Labels." + k for k in b.get("Labels") or {}]


def st(ok):
    return "PASS" if ok else "FAIL"


for f in fields:
    v = config_value(b, f)
    print("PASS\t%s\t%s" % (st(config_value(a, f) == v), ("config %s = %s" % (f, v)).rstrip()))
print("%s\t%s\tconfig User != root" % (st(b.get("User") != "root"), st(a.get("User") != "root")))
print("%s\t%s\tconfig User !=" % (st(bool(b.get("User"))), st(bool(a.get("User")))))
print("%s\t%s\t! config Entrypoint !~ myapp" % (st("myapp" in config_value(b, "Entrypoint")),
                                               st("myapp" in config_value(a, "Entrypoint"))))
EOF
	cut -f3 "$W/pyapp-config.rows" >>"$W/pyapp.checks"
	rc=0
	"$COMPARE" --checks "$W/pyapp.checks" "$PYAPP" "$PSLIM" >"$W/pyapp-compare.txt" 2>&1 || rc=$?
	expect_eq "pyapp: imgfs-compare exit status" 0 "$rc"
	no_leftovers "pyapp: imgfs-compare"
	d=$((after - before)); [ $d -ge 0 ] && d=+$d
	check "pyapp compare: merged row $before -> $after ($d)" \
		grep -Eq "^  merged +$before +$after +${d//+/\\+} " "$W/pyapp-compare.txt"
	# layer bytes: the sizes of the layer members the manifest names, read by Python
	lsum() {
		python3 -c 'import json, sys, tarfile
t = tarfile.open(sys.argv[1])
m = json.load(t.extractfile("manifest.json"))[0]
print(sum(t.getmember(n).size for n in m["Layers"]))' "$1"
	}
	lb=$(lsum "$PYAPP") la=$(lsum "$PSLIM")
	d=$((la - lb)); [ $d -ge 0 ] && d=+$d
	check "pyapp compare: layers row $lb -> $la ($d)" \
		grep -Eq "^  layers +$lb +$la +${d//+/\\+} " "$W/pyapp-compare.txt"
	if [ "$after" -lt "$before" ] && [ "$la" -gt "$lb" ]; then
		check "pyapp compare: says the tree shrank but the image grew" \
			grep -q "^  the merged tree shrank by .* ($((before - after)) bytes) but the image grew by .* ($((la - lb)) bytes)" "$W/pyapp-compare.txt"
	fi
	for c in "PASS   PASS    executable /app/bin/python" "PASS   PASS    importable pydantic_core._pydantic_core /$SP" \
		"PASS   PASS    importable json" "FAIL   PASS    absent /$SP/pytest" "FAIL   PASS    absent /usr/share/doc"; do
		check "pyapp compare check row: $c" grep -qxF "  $c" "$W/pyapp-compare.txt"
	done
	while IFS=$'\t' read -r b a t; do
		check "pyapp compare config check row: $b $a $t" grep -qxF "  $(printf '%-6s %-6s  %s' "$b" "$a" "$t")" "$W/pyapp-compare.txt"
	done <"$W/pyapp-config.rows"
	[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/pyapp-compare.txt" | head -60
	# --json: the same figures and check rows, the config as in the tarball
	rc=0
	"$COMPARE" --json --checks "$W/pyapp.checks" "$PYAPP" "$PSLIM" >"$W/pyapp-compare.json" 2>"$W/pyapp-compare-json.err" || rc=$?
	expect_eq "pyapp: imgfs-compare --json exit status" 0 "$rc"
	python3 - "$W/pyapp-compare.json" "$W/pyapp-compare.txt" "$PYAPP" "$PSLIM" "$before" "$after" "$lb" "$la" \
		>"$W/pyapp-json.verify" 2>&1 <<'EOF'
import json, os, re, sys, tarfile
sys.path.insert(0, os.path.join(os.environ["SRCDIR"], "tests"))
from audit_images import FIELDS
jf, tf, bimg, aimg = sys.argv[1:5]
tb, ta, lb, la = (int(x) for x in sys.argv[5:9])
d = json.load(open(jf), parse_float=lambda s: sys.exit("a float: " + s))
text = open(tf).read()


def eq(label, want, got):
    print(("PASS\t" if want == got else "FAIL\t") + label +
          ("" if want == got else ": expected %r, got %r" % (want, got)))


def config(path):
    t = tarfile.open(path)
    m = json.load(t.extractfile("manifest.json"))[0]
    c = json.load(t.extractfile(m["Config"])).get("config") or {}
    return {k: c[k] for k in FIELDS if c.get(k) is not None}


eq("costs.merged", {"before": tb, "after": ta, "delta": ta - tb}, d["costs"]["merged"])
eq("costs.layers", {"before": lb, "after": la, "delta": la - lb}, d["costs"]["layers"])
eq("config.before", config(bimg), d["config"]["before"])
eq("config.after", config(aimg), d["config"]["after"])
trows = re.findall(r"^  (PASS|FAIL)   (PASS|FAIL)    (.*)$", text.split("\n== Checks", 1)[1], re.M)
eq("checks: the rows of the text report (%d)" % len(trows), trows,
   [(r["before"], r["after"], r["check"]) for r in d["checks"]["results"]])
eq("removed.count as in the text", int(re.search(r"^== Files removed: (\d+) ", text, re.M).group(1)),
   d["removed"]["count"])
EOF
	st=$?
	[ $st -eq 0 ] || fail "pyapp compare --json: the verifier failed (status $st): $(tail -3 "$W/pyapp-json.verify")"
	while IFS=$'\t' read -r what l; do
		case $what in PASS) pass "pyapp compare --json: $l" ;; FAIL) fail "pyapp compare --json: $l" ;; esac
	done <"$W/pyapp-json.verify"
	check "pyapp compare --json: verified some figures" grep -q '^PASS' "$W/pyapp-json.verify"
	no_leftovers "pyapp: imgfs-compare --json"
fi
finish
