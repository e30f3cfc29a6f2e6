#!/usr/bin/env bash
# Tests of scripts/imgfs-audit and scripts/imgfs-compare.
#
# (a) Always: tests/audit_images.py writes a small image with planted bloat
#     (and a slim variant); imgfs-audit must find every planted item with
#     its exact bytes, imgfs-compare must report the delta, the check
#     results (config checks on the images' differing configs included)
#     and the exit status, and in --json the same figures, read by Python
#     and compared with the generator's; neither may leave a mount behind,
#     even when interrupted with SIGINT while its mounts are up.
# The same on the generated pyapp image: tests/audit_pyapp.sh.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
AUDIT_WORK=audit
. "$SRCDIR/tests/audit_lib.sh"

# ------------------------------------------------------------ (a) images
ELF=
if command -v gcc >/dev/null && command -v readelf >/dev/null; then
	printf 'int engine_answer(void) { return 42; }\nint main(void) { return engine_answer() - 42; }\n' >"$W/engine.c"
	gcc -g -O0 -o "$W/engine" "$W/engine.c" && ELF=$W/engine
fi
[ -n "$ELF" ] || echo "note: no gcc/readelf: the unstripped ELF item is left out"
if ! python3 "$SRCDIR/tests/audit_images.py" "$W/img" $ELF; then
	fail "audit_images.py failed"
	finish
fi
EXP=$W/img/expected.tsv
BLOATED=$W/img/bloated.docker.tar
SLIM=$W/img/slim.docker.tar

# --- imgfs-audit on the image file (JSON)
rc=0
"$AUDIT" --json --top 50 --largest 50 "$BLOATED" >"$W/audit.json" 2>"$W/audit.err" || rc=$?
expect_eq "imgfs-audit --json IMAGE: exit status" 0 "$rc"
if jq -e . "$W/audit.json" >/dev/null 2>&1; then
	pass "imgfs-audit --json: valid JSON"
else
	fail "imgfs-audit --json: not JSON: $(head -c 300 "$W/audit.json") $(head -3 "$W/audit.err")"
fi
no_leftovers "imgfs-audit IMAGE"
# FILES of a hidden layer counts regular files (not the directories above them)
expect_eq "audit --json: hidden_files of layer 2 (regular files)" \
	"$(awk -F'\t' '$1 == "hidden" && $2 == 2' "$EXP" | wc -l)" \
	"$(jq -r '.layers[] | select(.layer == 2) | .hidden_files' "$W/audit.json")"
J=$W/audit.json
while IFS=$'\t' read -r kind a b c d; do
	case $kind in
	group)
		got=$(jq -r --arg p "$a" --arg path "$b" '.patterns[] | select(.id == $p) | .paths[] | select(.path == $path) | .bytes' "$J")
		expect_eq "audit: $a lists $b with its bytes" "$c" "$got" ;;
	total)
		got=$(jq -r --arg p "$a" '.patterns[] | select(.id == $p) | .bytes' "$J")
		expect_eq "audit: $a total bytes" "$b" "$got" ;;
	hidden)
		got=$(jq -r --arg path "$b" '.hidden_files[] | select(.path == $path) | "\(.layer) \(.bytes) \(.why)"' "$J")
		expect_eq "audit: hidden file $b" "$a $c $d" "$got" ;;
	hiddenlayer)
		got=$(jq -r --argjson n "$a" '.layers[] | select(.layer == $n) | .hidden_bytes' "$J")
		expect_eq "audit: bytes hidden in layer $a" "$b" "$got" ;;
	image)
		[ "$a" = bloated ] && expect_eq "audit: image total" "$b" "$(jq -r .total_bytes "$J")" ;;
	reshipped)
		[ "$a" = bloated ] && expect_eq "audit: layer $b re-ships $d file(s) unchanged" "$c $d" \
			"$(jq -r --argjson n "$b" '.reshipped[] | select(.layer == $n) | "\(.bytes) \(.files)"' "$J")" ;;
	esac
done <"$EXP"
expect_eq "audit: re-shipped bytes of the image" \
	"$(awk -F'\t' '$1 == "reshipped" && $2 == "bloated" { s += $4 } END { print s + 0 }' "$EXP")" \
	"$(jq -r .reshipped_bytes "$J")"
expect_eq "audit: wasted bytes of the image" "$(exp hiddentotal bloated)" "$(jq -r .wasted_bytes "$J")"
got=$(jq -r '.largest_files[0] | "\(.path) \(.bytes) \(.layer)"' "$J")
expect_eq "audit: largest file" "/var/lib/apt/lists/deb.example_dists_main_Packages 50000 1" "$got"
got=$(jq -r '.largest_files[] | select(.path | test("__pycache__/(alias|__init__)")) | .path' "$J" | wc -l)
expect_eq "audit: a hardlinked .pyc is listed once among the largest files" 1 "$got"

# --- imgfs-audit on an existing mount (text): reports, leaves it mounted
MNT=$W/mnt-bloated
if mount_image "$BLOATED" "$MNT"; then
	rc=0
	"$AUDIT" --top 3 "$MNT" >"$W/audit.txt" 2>&1 || rc=$?
	expect_eq "imgfs-audit MOUNTPOINT: exit status" 0 "$rc"
	check "imgfs-audit MOUNTPOINT: the mount is still there" mountpoint -q "$MNT"
	check "audit text: summary row of caches" grep -Eq '^  caches +89000 ' "$W/audit.txt"
	check "audit text: /usr/lib/gcc line with its bytes" grep -Eq '^ +[0-9.]+K +40000  /usr/lib/gcc \(layer|$' "$W/audit.txt"
	check "audit text: hidden model.bin line" grep -Eq '^ +[0-9.]+K +60000  layer 2  /app/data/model.bin  \(deleted\)$' "$W/audit.txt"
	check "audit text: --top 3 caps the devpkgs list" grep -q '^  \.\.\. 2 more paths$' "$W/audit.txt"
	check "audit text: image row" grep -Eq '^  image +[0-9]+ ' "$W/audit.txt"
	# on a mount too (its image found through findmnt): the re-shipped row
	r=$(awk -F'\t' '$1 == "reshipped" && $2 == "bloated" { print $3 " " $4 " " $5 }' "$EXP")
	check "audit text: layer ${r%% *} re-ships ${r##* } file(s) unchanged" \
		grep -Eq "^  ${r%% *} +$(echo "$r" | cut -d' ' -f2) +[^ ]+ +${r##* }  " "$W/audit.txt"
	if [ $T_FAILED -gt 0 ]; then sed 's/^/    | /' "$W/audit.txt" | head -60; fi
fi

# --- imgfs-compare
cat >"$W/checks.ok" <<'EOF'
# runtime must still work, bloat must be gone
present /app/main.py
present /app/venv/bin/python
executable /app/venv/bin/python
importable pkg.core /app/venv/lib/python3.11/site-packages
importable json
absent /app/venv/lib/python3.11/site-packages/pytest
absent /app/**/__pycache__
absent /var/lib/apt/lists/*
absent /usr/share/doc
# negations, counts, a module found in a venv without naming its site
! present /app/data/model.bin
not-importable pytest
not absent /app/main.py
importable pkg.core
count /var/lib/apt/lists/* == 0
count /app/**/*.py >= 3
count /app/venv/lib/python3.11/site-packages/pkg/* < 3
EOF
rc=0
"$COMPARE" --checks "$W/checks.ok" "$BLOATED" "$SLIM" >"$W/compare.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: exit status, all checks pass on AFTER" 0 "$rc"
no_leftovers "imgfs-compare IMAGE IMAGE"
tb=$(awk -F'\t' '$1 == "image" && $2 == "bloated" { print $3 }' "$EXP")
ta=$(awk -F'\t' '$1 == "image" && $2 == "slim" { print $3 }' "$EXP")
cost_row compare.txt merged "$tb" "$ta"
cost_row compare.txt layers "$(exp layers bloated)" "$(exp layers slim)"
cost_row compare.txt hidden "$(exp hiddentotal bloated)" "$(exp hiddentotal slim)"
cost_row compare.txt count "$(exp layers bloated 4)" "$(exp layers slim 4)"
# docker save stores layers uncompressed: stored = tar bytes
cost_row compare.txt stored "$(exp layers bloated)" "$(exp layers slim)"
check "compare: no 'shrank but grew' line when the image shrank" test "$(grep -c shrank "$W/compare.txt")" -eq 0
# the cleanup in a later layer: the tree shrinks, the image grows
CLEANED=$W/img/cleaned.docker.tar
rc=0
"$COMPARE" "$BLOATED" "$CLEANED" >"$W/compare-late.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare BLOATED CLEANED: exit status" 0 "$rc"
cost_row compare-late.txt merged "$tb" "$(exp image cleaned)"
cost_row compare-late.txt layers "$(exp layers bloated)" "$(exp layers cleaned)"
cost_row compare-late.txt hidden "$(exp hiddentotal bloated)" "$(exp hiddentotal cleaned)"
shrank=$((tb - $(exp image cleaned))) grew=$(($(exp layers cleaned) - $(exp layers bloated)))
check "compare: the tree shrank by $shrank but the image grew by $grew" \
	grep -Eq "^  the merged tree shrank by .* \($shrank bytes\) but the image grew by .* \($grew bytes\)" "$W/compare-late.txt"
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/compare-late.txt" | head -20
check "compare: /var directory row" grep -Eq '^ +77000 +0 +-77000 +-100\.0%  /var$' "$W/compare.txt"
check "compare: largest removed file" grep -Eq '^ +[0-9.]+K +50000  /var/lib/apt/lists/deb.example_dists_main_Packages$' "$W/compare.txt"
for c in "PASS   PASS    present /app/main.py" "PASS   PASS    executable /app/venv/bin/python" \
	"PASS   PASS    importable pkg.core /app/venv/lib/python3.11/site-packages" "PASS   PASS    importable json" \
	"FAIL   PASS    absent /app/venv/lib/python3.11/site-packages/pytest" "FAIL   PASS    absent /app/**/__pycache__" \
	"FAIL   PASS    absent /var/lib/apt/lists/*" "FAIL   PASS    absent /usr/share/doc" \
	"PASS   PASS    ! present /app/data/model.bin" "FAIL   PASS    not-importable pytest" \
	"PASS   PASS    not absent /app/main.py" "PASS   PASS    importable pkg.core" \
	"FAIL   PASS    count /var/lib/apt/lists/* == 0" "PASS   PASS    count /app/**/*.py >= 3" \
	"FAIL   PASS    count /app/venv/lib/python3.11/site-packages/pkg/* < 3"; do
	check "compare check row: $c" grep -qxF "  $c" "$W/compare.txt"
done
check "compare: layer tables of both sides" test "$(grep -c 'COPY app /app' "$W/compare.txt")" -eq 2
[ $T_FAILED -gt 0 ] && sed 's/^/    | /' "$W/compare.txt" | head -80

printf 'present /usr/share/doc/base/copyright\nabsent /app/data/model.bin\n' >"$W/checks.fail"
rc=0
"$COMPARE" --checks "$W/checks.fail" "$BLOATED" "$SLIM" >"$W/compare2.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: exit status when a check fails on AFTER" 1 "$rc"
check "compare: FAIL row" grep -qxF "  PASS   FAIL    present /usr/share/doc/base/copyright" "$W/compare2.txt"
printf '! importable json\n' >"$W/checks.neg"
rc=0
"$COMPARE" --checks "$W/checks.neg" "$BLOATED" "$SLIM" >"$W/compare-neg.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare: a negated check failing on AFTER -> exit" 1 "$rc"
check "compare: negated check fails on both" grep -qxF "  FAIL   FAIL    ! importable json" "$W/compare-neg.txt"
rc=0
"$COMPARE" --checks "$W/checks.fail" "$SLIM" "$BLOATED" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare: a check failing on BEFORE only" 0 "$rc"
printf 'exists /x\n' >"$W/checks.bad"
rc=0
"$COMPARE" --checks "$W/checks.bad" "$BLOATED" "$SLIM" >/dev/null 2>"$W/bad.err" || rc=$?
expect_eq "imgfs-compare: unknown check -> exit" 2 "$rc"
printf 'count /etc/* ~ 3\n' >"$W/checks.bad2"
rc=0
"$COMPARE" --checks "$W/checks.bad2" "$BLOATED" "$SLIM" >/dev/null 2>"$W/bad2.err" || rc=$?
expect_eq "imgfs-compare: count with a bad operator -> exit" 2 "$rc"
check "compare: count with a bad operator: one line naming it" grep -q "checks.bad2:1: 'count' needs GLOB OP N" "$W/bad2.err"
rc=0; "$COMPARE" "$BLOATED" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare: one argument -> exit" 2 "$rc"
rc=0; "$COMPARE" --help >"$W/compare-help.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare --help: exit" 0 "$rc"
for w in "config FIELD OP VALUE" "Env.NAME" "--json" '"shrank_but_grew"' "Exit status"; do
	check "imgfs-compare --help: says $w" grep -qF -- "$w" "$W/compare-help.txt"
done
rc=0; "$COMPARE" "$BLOATED" "$W/no-such.tar" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare: missing image -> exit" 2 "$rc"
rc=0; "$AUDIT" --top x "$BLOATED" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-audit: bad --top -> exit" 2 "$rc"
rc=0; "$AUDIT" "$W/engine.c" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-audit: not an image -> exit" 2 "$rc"
no_leftovers "failed runs"
# --- imgfs-compare: config checks (the images' configs differ; CONFIGS in
# audit_images.py).  (1) From the generator's values: for every field,
# "config F = <slim's value>" and "! config F = <bloated's value>", whose
# PASS/FAIL follows from the two values being equal or not.  (2) Written
# out: each operator both ways, negated forms, absent fields, Env.NAME,
# Labels.KEY, a "~" VALUE of glob and regex characters (a plain substring).
awk -F'\t' '$1 == "config" && $2 == "bloated" { b[$3] = $4; o[++n] = $3 }
	$1 == "config" && $2 == "slim" { s[$3] = $4 }
	END {
		for (i = 1; i <= n; i++) {
			f = o[i]; same = (b[f] == s[f])
			t = "config " f " = " s[f]; sub(/ +$/, "", t)
			print (same ? "PASS" : "FAIL") "\tPASS\t" t
			t = "! config " f " = " b[f]; sub(/ +$/, "", t)
			print "FAIL\t" (same ? "FAIL" : "PASS") "\t" t
		}
	}' "$EXP" >"$W/config.rows"
cat >>"$W/config.rows" <<'EOF'
PASS	PASS	config User != root
FAIL	PASS	config User !=
FAIL	PASS	! config User =
PASS	FAIL	config User =
PASS	PASS	config WorkingDir = /app
FAIL	PASS	config Entrypoint = /app/venv/bin/python /app/main.py serve
PASS	FAIL	not config Entrypoint = /app/venv/bin/python /app/main.py serve
PASS	PASS	config Entrypoint ~ main.py
FAIL	PASS	config Entrypoint ~ serve
FAIL	FAIL	config Entrypoint ~ .*
PASS	PASS	config Entrypoint !~ p*
FAIL	PASS	config Cmd !~ --debug
FAIL	PASS	config Cmd =
PASS	FAIL	config Env ~ DEBUG=1
PASS	FAIL	config Env.DEBUG !=
FAIL	PASS	config Env.PYTHONDONTWRITEBYTECODE = 1
PASS	FAIL	not config Env.PYTHONDONTWRITEBYTECODE = 1
PASS	PASS	config Env.PYTHONUNBUFFERED = 1
FAIL	PASS	config Env.GUNICORN_CMD_ARGS = --bind=0.0.0.0:8080 --workers=2
FAIL	PASS	config ExposedPorts = 8080/tcp
PASS	FAIL	config ExposedPorts = 5678/tcp 8080/tcp
PASS	PASS	config ExposedPorts ~ 8080/tcp
FAIL	PASS	config Labels.stage = prod
PASS	FAIL	not-config Labels.stage = prod
PASS	PASS	config Labels.org.opencontainers.image.title = app
FAIL	PASS	config Labels ~ org.opencontainers.image.version=1.2
EOF
# a control byte in a check (its text goes into --json as written)
printf 'PASS\tPASS\tconfig Labels.nosuch != a\001b\n' >>"$W/config.rows"
cut -f3 "$W/config.rows" >"$W/checks.cfg"
rc=0
"$COMPARE" --checks "$W/checks.cfg" "$BLOATED" "$SLIM" >"$W/compare-cfg.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare config checks: exit status (some fail on AFTER)" 1 "$rc"
while IFS=$'\t' read -r b a t; do
	check "compare config check row: $b $a $t" grep -qxF "  $(printf '%-6s %-6s  %s' "$b" "$a" "$t")" "$W/compare-cfg.txt"
done <"$W/config.rows"
check "compare config checks: the pass count on AFTER" grep -qxF \
	"  $(awk -F'\t' '$2 == "PASS"' "$W/config.rows" | wc -l) of $(wc -l <"$W/config.rows") checks pass on AFTER" "$W/compare-cfg.txt"
[ $T_FAILED -gt 0 ] && sed -n '/^== Checks/,$s/^/    | /p' "$W/compare-cfg.txt" | head -80
# a side without an image config (a plain directory) fails config checks,
# negated or not, and says so
mkdir -p "$W/plain/app"
printf 'config User =\n! config User = app\npresent /app\n' >"$W/checks.plain"
rc=0
"$COMPARE" --checks "$W/checks.plain" "$SLIM" "$W/plain" >"$W/compare-plain.txt" 2>&1 || rc=$?
expect_eq "imgfs-compare IMAGE PLAINDIR: config checks fail on AFTER -> exit" 1 "$rc"
check "compare: config check on a plain directory fails" grep -qxF "  FAIL   FAIL    config User =" "$W/compare-plain.txt"
check "compare: negated config check on a plain directory fails" grep -qxF "  FAIL   FAIL    ! config User = app" "$W/compare-plain.txt"
check "compare: a plain directory's missing config is said" grep -q "no image config" "$W/compare-plain.txt"
check "compare: the path check still passes on the plain directory" grep -qxF "  PASS   PASS    present /app" "$W/compare-plain.txt"
for bad in "config Shell = /bin/sh|unknown config field 'Shell'" "config User root|'config' needs FIELD OP VALUE" \
	"config User == root|'config' needs FIELD OP VALUE" "config Env. = x|unknown config field 'Env.'"; do
	printf '# a bad line\n%s\n' "${bad%|*}" >"$W/checks.badcfg"
	rc=0
	"$COMPARE" --checks "$W/checks.badcfg" "$BLOATED" "$SLIM" >/dev/null 2>"$W/badcfg.err" || rc=$?
	expect_eq "imgfs-compare: '${bad%|*}' -> exit" 2 "$rc"
	check "compare: '${bad%|*}': one line naming the file, line and problem" \
		test "$(wc -l <"$W/badcfg.err")" = 1 -a "$(grep -cF "checks.badcfg:2: ${bad#*|}" "$W/badcfg.err")" = 1
done
# without jq: config checks and --json refuse in one line, before mounting
mkdir -p "$W/nojq"
for t in /usr/bin/* /bin/*; do
	case ${t##*/} in jq) ;; *) [ -e "$W/nojq/${t##*/}" ] || ln -s "$t" "$W/nojq/${t##*/}" ;; esac
done
for args in "--checks $W/checks.cfg|config checks" "--json|--json"; do
	rc=0
	# shellcheck disable=SC2086 # the options are words
	PATH=$W/nojq "$COMPARE" ${args%|*} "$BLOATED" "$SLIM" >/dev/null 2>"$W/nojq.err" || rc=$?
	expect_eq "imgfs-compare ${args#*|} without jq: exit" 2 "$rc"
	check "imgfs-compare ${args#*|} without jq: one line saying so" \
		test "$(wc -l <"$W/nojq.err")" = 1 -a "$(grep -c "jq is missing.*${args#*|}" "$W/nojq.err")" = 1
done
rc=0
PATH=$W/nojq "$COMPARE" --checks "$W/checks.ok" "$BLOATED" "$SLIM" >/dev/null 2>&1 || rc=$?
expect_eq "imgfs-compare without jq, no config check: runs" 0 "$rc"
no_leftovers "imgfs-compare config checks"

# --- imgfs-compare --json: every figure against the generator's, the
# checks against the text report of the same run, exit status as in text
# json_verify LABEL JSON TEXT BEFORE_NAME AFTER_NAME BEFORE_ARG AFTER_ARG
json_verify() {
	local label=$1 st what
	python3 - "$EXP" "$W/$2" "$W/$3" "$4" "$5" "$6" "$7" >"$W/$2.verify" 2>&1 <<'EOF'
import json, os, re, sys
sys.path.insert(0, os.path.join(os.environ["SRCDIR"], "tests"))
from audit_images import CONFIGS

expf, jf, tf, bn, an, barg, aarg = sys.argv[1:8]
rows = [l.rstrip("\n").split("\t") for l in open(expf)]


def ok(cond, label, detail=""):
    print(("PASS" if cond else "FAIL") + "\t" + label + ("" if cond or not detail else ": " + detail))


def eq(label, want, got):
    ok(want == got, label, "expected %r, got %r" % (want, got))


def one(kind, name, field=2):
    return int(next(r[field] for r in rows if r[0] == kind and r[1] == name))


floats = []
with open(jf) as f:
    d = json.load(f, parse_float=lambda s: floats.append(s) or 0.0)
eq("no figure in float form", [], floats)


def ints(o, path="$"):
    """paths of figures that are not JSON integers (bools and strings are
    not figures; the keys below say which are)"""
    bad = []
    if isinstance(o, dict):
        for k, v in o.items():
            if k in ("before", "after", "delta", "bytes", "count", "total", "pass_after",
                     "size", "stored_size", "content_bytes", "num") and v is not None \
                    and not isinstance(v, (dict, list, str)):
                if type(v) is not int:
                    bad.append(path + "." + k)
            bad += ints(v, path + "." + k)
    elif isinstance(o, list):
        for i, v in enumerate(o):
            bad += ints(v, "%s[%d]" % (path, i))
    return bad


eq("every figure a JSON integer", [], ints(d))
eq("before", barg, d["before"])
eq("after", aarg, d["after"])
costs = {
    "layers": (one("layers", bn), one("layers", an)),
    "stored": (one("layers", bn), one("layers", an)),  # docker save: uncompressed
    "merged": (one("image", bn), one("image", an)),
    "hidden": (one("hiddentotal", bn), one("hiddentotal", an)),
    "count": (one("layers", bn, 3), one("layers", an, 3)),
}
for k, (b, a) in costs.items():
    eq("costs.%s" % k, {"before": b, "after": a, "delta": a - b}, d["costs"][k])
eq("cost rows", sorted(costs), sorted(d["costs"]))
eq("shrank_but_grew", costs["merged"][1] < costs["merged"][0] and costs["layers"][1] > costs["layers"][0],
   d["shrank_but_grew"])


def table(kind, name):
    return {r[2]: r[3:] for r in rows if r[0] == kind and r[1] == name}


db, da = table("dir", bn), table("dir", an)
want = []
for p in set(db) | set(da):
    b, a = int(db.get(p, ["0"])[0]), int(da.get(p, ["0"])[0])
    want.append({"path": p, "before": b, "after": a, "delta": a - b})
want.sort(key=lambda r: (-max(r["before"], r["after"]), r["path"]))
eq("dirs: every first- and second-level directory, largest first (%d)" % len(want), want, d["dirs"])

pb, pa = table("path", bn), table("path", an)
for what, mine, other in (("added", pa, pb), ("removed", pb, pa)):
    files = [{"bytes": int(mine[p][1]), "path": p} for p in mine if p not in other]
    files.sort(key=lambda r: (-r["bytes"], r["path"]))
    eq(what + ".count", len(files), d[what]["count"])
    eq(what + ".bytes", sum(r["bytes"] for r in files), d[what]["bytes"])
    eq(what + ".files (%d)" % len(files), files, d[what]["files"])
changed = [{"path": p, "before": int(pb[p][1]), "after": int(pa[p][1]),
            "delta": int(pa[p][1]) - int(pb[p][1])}
           for p in pb if p in pa and pb[p][0] == "f" and pa[p][0] == "f" and pb[p][1] != pa[p][1]]
changed.sort(key=lambda r: (-abs(r["delta"]), r["path"]))
eq("changed.count", len(changed), d["changed"]["count"])
eq("changed.files (%d)" % len(changed), changed, d["changed"]["files"])

for side, name in (("before", bn), ("after", an)):
    sizes = [int(r[3]) for r in rows if r[0] == "layer" and r[1] == name]
    lay = d["layers"][side]
    if lay and "size" in lay[0]:
        eq("layers.%s: the size of each layer tar" % side, sizes, [l["size"] for l in lay])
    else:  # a mount: /.imgfs/layers/N
        eq("layers.%s: one entry a layer, numbered" % side, list(range(len(sizes))), [l["num"] for l in lay])
    eq("config.%s" % side, CONFIGS[name], d["config"][side])

# the checks: the same statuses as the text report of the same checks
text = open(tf).read().split("\n== Checks", 1)
trows = re.findall(r"^  (PASS|FAIL)   (PASS|FAIL)    (.*)$", text[1], re.M) if len(text) > 1 else []
c = d["checks"]
got = [(r["before"], r["after"], r["check"]) for r in c["results"]] if c else []
eq("checks: the rows of the text report (%d)" % len(trows), trows, got)
ok(len(trows) > 0 or c is None, "checks: some rows, or none and null")
if c:
    eq("checks.total", len(trows), c["total"])
    eq("checks.pass_after", sum(1 for r in trows if r[1] == "PASS"), c["pass_after"])
EOF
	st=$?
	[ $st -eq 0 ] || fail "$label: the verifier failed (status $st): $(tail -3 "$W/$2.verify")"
	while IFS=$'\t' read -r what l; do
		case $what in
		PASS) pass "$label: $l" ;;
		FAIL) fail "$label: $l" ;;
		esac
	done <"$W/$2.verify"
	check "$label: verified $(grep -c '^PASS' "$W/$2.verify") figures" grep -q '^PASS' "$W/$2.verify"
}
ALL=(--top 100000 --dirs 100000)
rc=0
"$COMPARE" --json "${ALL[@]}" --checks "$W/checks.cfg" "$BLOATED" "$SLIM" >"$W/compare-cfg.json" 2>"$W/compare-json.err" || rc=$?
expect_eq "imgfs-compare --json: exit status as in text (a check fails on AFTER)" 1 "$rc"
check "imgfs-compare --json: valid JSON for jq" jq -e 'type == "object"' "$W/compare-cfg.json"
check "imgfs-compare --json: nothing on stderr" test ! -s "$W/compare-json.err"
json_verify "compare --json BLOATED SLIM" compare-cfg.json compare-cfg.txt bloated slim "$BLOATED" "$SLIM"
rc=0
"$COMPARE" --json "${ALL[@]}" --checks "$W/checks.ok" "$BLOATED" "$SLIM" >"$W/compare-ok.json" 2>&1 || rc=$?
expect_eq "imgfs-compare --json: exit status as in text (all pass on AFTER)" 0 "$rc"
json_verify "compare --json (checks.ok)" compare-ok.json compare.txt bloated slim "$BLOATED" "$SLIM"
rc=0
"$COMPARE" --json "${ALL[@]}" "$BLOATED" "$CLEANED" >"$W/compare-late.json" 2>&1 || rc=$?
expect_eq "imgfs-compare --json BLOATED CLEANED: exit status" 0 "$rc"
json_verify "compare --json BLOATED CLEANED" compare-late.json compare-late.txt bloated cleaned "$BLOATED" "$CLEANED"
expect_eq "compare --json: no checks file -> checks null" null "$(jq -c .checks "$W/compare-late.json")"
# --top/--dirs cut the lists, not the counts
rc=0
"$COMPARE" --json --top 2 --dirs 3 "$BLOATED" "$SLIM" >"$W/compare-top.json" 2>&1 || rc=$?
expect_eq "imgfs-compare --json --top 2 --dirs 3: exit status" 0 "$rc"
expect_eq "compare --json --top 2 --dirs 3: list lengths, removed count" \
	"2 3 $(awk -F'\t' '$1 == "path" && $2 == "bloated" { print $3 }' "$EXP" | sort >"$W/pb"
		awk -F'\t' '$1 == "path" && $2 == "slim" { print $3 }' "$EXP" | sort >"$W/pa"; comm -23 "$W/pb" "$W/pa" | wc -l)" \
	"$(jq -r '"\(.removed.files | length) \(.dirs | length) \(.removed.count)"' "$W/compare-top.json")"
no_leftovers "imgfs-compare --json"

# compare over two existing mounts
MNT2=$W/mnt-slim
if mount_image "$SLIM" "$MNT2"; then
	rc=0
	"$COMPARE" --checks "$W/checks.ok" "$MNT" "$MNT2" >"$W/compare3.txt" 2>&1 || rc=$?
	expect_eq "imgfs-compare MNT MNT: exit status" 0 "$rc"
	cost_row compare3.txt merged "$tb" "$ta"
	cost_row compare3.txt layers "$(exp layers bloated)" "$(exp layers slim)"
	check "compare MNT MNT: layer table from /.imgfs" grep -q 'COPY app /app' "$W/compare3.txt"
	check "compare MNT MNT: both mounts still there" mountpoint -q "$MNT2"
	rc=0
	"$COMPARE" --json "${ALL[@]}" --checks "$W/checks.ok" "$MNT" "$MNT2" >"$W/compare3.json" 2>&1 || rc=$?
	expect_eq "imgfs-compare --json MNT MNT: exit status" 0 "$rc"
	json_verify "compare --json MNT MNT" compare3.json compare3.txt bloated slim "$MNT" "$MNT2"
	check "compare --json MNT MNT: layer 2's created_by from /.imgfs" \
		test "$(jq -r '.layers.after[2].created_by' "$W/compare3.json")" = "$(jq -r '.layers.before[2].created_by' "$W/compare-cfg.json")"
	unmount_image "$MNT2"
fi
mountpoint -q "$MNT" && unmount_image "$MNT"

# --- SIGINT / SIGTERM while the scripts hold their mounts
# interrupt NAME SIGNAL NMOUNTS PAUSEVAR CMD...: starts CMD with job control
# (so that it does not ignore SIGINT), waits for its mounts, signals it.
interrupt() {
	local name=$1 sig=$2 want=$3 var=$4 pid i n rc; shift 4
	set -m
	env "$var=30" "$@" >/dev/null 2>&1 &
	pid=$!
	set +m
	for ((i = 0; i < 300; i++)); do
		n=$(awk -v d="$TMPDIR/" 'index($2, d) == 1' /proc/self/mounts | wc -l)
		[ "$n" -ge "$want" ] && break
		sleep 0.1
	done
	if [ "$n" -lt "$want" ]; then
		fail "$name: its mounts never appeared"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return
	fi
	kill -"$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	case $sig in INT) expect_eq "$name: exit status after SIGINT" 130 "$rc" ;; TERM) expect_eq "$name: exit status after SIGTERM" 143 "$rc" ;; esac
	no_leftovers "$name after SIG$sig"
}
interrupt "imgfs-audit" INT 1 IMGFS_AUDIT_TEST_PAUSE "$AUDIT" "$BLOATED"
interrupt "imgfs-compare" INT 2 IMGFS_COMPARE_TEST_PAUSE "$COMPARE" "$BLOATED" "$SLIM"
interrupt "imgfs-compare" TERM 2 IMGFS_COMPARE_TEST_PAUSE "$COMPARE" "$BLOATED" "$SLIM"

finish
