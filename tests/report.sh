#!/usr/bin/env bash
# imgfs report (issue 19) on ../shared/fixtures/made/tiny.docker.tar (and
# tiny.oci.tar beside it for the tabs of several images), or with argument
# "pyapp" on the generated pyapp where make-fixtures.sh built it (a skip
# otherwise, also under CI, which never has it).  Every expected figure
# comes from report_ref.py (python's tarfile over the image's layers,
# merged there), the checks are report_check.py's:
#   - the page and the SVG refer to nothing outside themselves;
#   - headless Chromium's screenshot of the page is no blank page and shows
#     every layer's legend colour; its DOM after the script ran has the
#     legend (each layer's created_by from the image config) and top
#     directory rectangles whose areas are their bytes' share within 1 %;
#   - the page's self-test (#selftest=/usr) clicks /usr (tiny: /data) and
#     the view then shows its children, areas again within 1 %;
#   - the SVG parses as XML and its leaf rectangles' areas add up to the
#     image's bytes within 1 %, each top directory's to its share;
#   - the findings panel read back from the DOM: the bytes and top paths
#     of Python bytecode, package caches, docs and site-packages tests,
#     the re-shipped bytes per layer and the hidden bytes against
#     report_ref.py's model; the dive figures and the strip saving against
#     imgfs check --json and imgfs elf --json (consistency only: those are
#     imgfs too); on report_findings.py's image besides;
#   - the switch to colour by retained bytes (issue 19), on pkgimage.py's
#     image, and on pyapp over its reference rootfs or, without it, the
#     merged tree tests/mergetree.py writes: the leaves change
#     colour, one colour a package, lighter for fewer retained bytes, and
#     the legend's top packages with the retained bytes of tests/pkggraph.py
#     (a model over the extracted tree, not imgfs's graph);
#   - the same on an image whose names and history try to end the page's
#     script element or break the SVG's XML (report_hostile.py);
#   - a missing or broken image: one line naming it, exit 2.
# No mount: suite 'fixtures'.  Chromium is Debian's chromium (scripts/setup);
# without it the browser part is a skip, a failure under CI.
# The pyapp screenshot is left in $BUILDDIR/report-pyapp/pyapp.png
# (README's docs/report-pyapp.png).
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

FIXDIR=${FIXTURES_DIR:-$SRCDIR/../shared/fixtures}
TINY=$FIXDIR/made/tiny.docker.tar
[ -f "$TINY" ] || skip "$TINY missing (../shared/fixtures)"
init_workdir "$BUILDDIR/report${1:+-$1}"
W=$T_WORK
CHECK="python3 $SRCDIR/tests/report_check.py"
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)

# browser OUT ARGS...: headless Chromium with a profile of its own in $W
browser() {
	local out=$1; shift
	timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--user-data-dir="$W/chromium" --window-size=1200,800 "$@" >"$out" 2>"$W/chromium.err"
}

# report NAME IMAGE CLICK [MODEL]: every check on IMAGE's report, zooming
# into CLICK; with MODEL (tests/pkggraph.py's output over IMAGE's tree) the
# colouring by retained bytes too
report() {
	local name=$1 image=$2 click=$3 model=${4:-} t0 t1
	local html=$W/$name.html svg=$W/$name.svg ref=$W/$name.ref.json

	t0=$(date +%s.%N)
	if "$IMGFS" report "$image" -o "$html" 2>"$W/err"; then
		t1=$(date +%s.%N)
		pass "$name: report -o ($(stat -c %s "$html") bytes in $(python3 -c "print('%.2f' % ($t1 - $t0))") s)"
	else
		fail "$name: report -o: $(head -3 "$W/err")"
		return
	fi
	check "$name: report --svg" "$IMGFS" report --svg "$image" -o "$svg"
	if ! python3 "$SRCDIR/tests/report_ref.py" "$image" >"$ref" 2>"$W/err"; then
		fail "$name: report_ref.py: $(tail -3 "$W/err")"
		return
	fi
	check "$name: the page refers to nothing outside it" $CHECK selfcontained "$html"
	check "$name: the SVG refers to nothing outside it" $CHECK selfcontained "$svg"
	check "$name: the SVG's rectangles add up to the image's bytes" $CHECK svg "$svg" "$ref"
	if [ -z "$CHROMIUM" ]; then
		skip_part "$name: chromium missing (scripts/setup installs it): no browser checks"
		return
	fi
	# the README's screenshot is made the same way: scripts/report-shot
	if TMPDIR=$W CHROMIUM=$CHROMIUM "$SRCDIR/scripts/report-shot" "$html" "$W/$name.png" \
		2>"$W/chromium.err" && [ -s "$W/$name.png" ]; then
		check "$name: the screenshot is no blank page and shows the layers" \
			$CHECK png "$W/$name.png" "$ref"
	else
		fail "$name: scripts/report-shot: $(head -3 "$W/chromium.err")"
	fi
	if browser "$W/$name.dom" --dump-dom "file://$html"; then
		check "$name: the legend names each layer's step" $CHECK legend "$W/$name.dom" "$ref"
		check "$name: top directories' areas are their bytes' share" \
			$CHECK areas "$W/$name.dom" "$ref"
		# check exits 1 when a rule fails: its JSON is what counts
		"$IMGFS" check --json "$image" >"$W/$name.check.json" 2>"$W/err"
		if [ -s "$W/$name.check.json" ] && "$IMGFS" elf --json "$image" >"$W/$name.elf.json" 2>>"$W/err"; then
			check "$name: the findings panel's bytes" $CHECK findings "$W/$name.dom" "$ref" \
				"$W/$name.check.json" "$W/$name.elf.json"
		else
			fail "$name: imgfs check/elf --json: $(head -3 "$W/err")"
		fi
	else
		fail "$name: chromium --dump-dom: $(grep -v dbus "$W/chromium.err" | head -3)"
	fi
	if browser "$W/$name.click.dom" --dump-dom "file://$html#selftest=$click"; then
		check "$name: a click on $click shows its children" \
			$CHECK click "$W/$name.click.dom" "$ref" "$click"
		[ -z "$model" ] || check "$name: colour by retained bytes, the legend's as the model's" \
			$CHECK retained "$W/$name.click.dom" "$model"
	else
		fail "$name: chromium --dump-dom #selftest: $(grep -v dbus "$W/chromium.err" | head -3)"
	fi
}

PART=${1:-tiny}
if [ "$PART" = pyapp ]; then
	FIX=${IMGFS_FIXTURES_DIR:-$HOME/.cache/imgfs-fixtures}
	PYAPP=$FIX/images/pyapp.docker.tar
	[ -f "$PYAPP" ] || skip_absent "$PYAPP missing (make-fixtures.sh builds it)"
	# the retained bytes' model over the reference rootfs make-fixtures.sh
	# keeps, or else over the merged tree tests/mergetree.py writes
	REF=$FIX/work/ref/pyapp/bundle/rootfs
	if [ ! -d "$REF/var/lib/dpkg/info" ]; then
		REF=$W/pyapp.tree
		python3 "$SRCDIR/tests/mergetree.py" "$PYAPP" "$REF" || fail "tests/mergetree.py $PYAPP"
	fi
	site=$REF/app/venv/lib/python3.11/site-packages
	popt=()
	[ -d "$site/packaging" ] && popt=(--packaging "$site")
	if python3 "$SRCDIR/tests/pkggraph.py" "${popt[@]}" "$REF" >"$W/pyapp.model"; then
		report pyapp "$PYAPP" /usr "$W/pyapp.model"
	else
		fail "tests/pkggraph.py over $REF"
		report pyapp "$PYAPP" /usr
	fi
	rm -rf "$W/pyapp.tree"
	finish
fi
report tiny "$TINY" /data
# names that try to end the page's script or break its XML
if python3 "$SRCDIR/tests/report_hostile.py" "$W"; then
	report hostile "$W/hostile.docker.tar" /evil
else
	fail "report_hostile.py could not write its image"
fi
# something for each finding of the panel, hard links and a re-shipped file
if python3 "$SRCDIR/tests/report_findings.py" "$W"; then
	report findings "$W/findings.docker.tar" /usr
else
	fail "report_findings.py could not write its image"
fi

# dpkg, pip, npm and apk packages with a dependency graph, and the tree
# they came from for tests/pkggraph.py's retained bytes
if python3 "$SRCDIR/tests/pkgimage.py" "$W/pkgs.docker.tar" "$W/pkgs.tree" &&
	python3 "$SRCDIR/tests/pkggraph.py" "$W/pkgs.tree" >"$W/pkgs.model"; then
	report pkgs "$W/pkgs.docker.tar" /usr "$W/pkgs.model"
else
	fail "pkgimage.py or pkggraph.py: no package image"
fi

# bad input: one line naming the image, exit 2
"$IMGFS" report "$W/absent.tar" -o "$W/absent.html" >"$W/out" 2>"$W/err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$W/err")" = 1 ] && grep -q "absent.tar" "$W/err" && [ ! -e "$W/absent.html" ] &&
	pass "a missing image: exit 2, one line naming it, no page" ||
	fail "a missing image: exit $rc, $(head -3 "$W/err")"
head -c 3000 /dev/urandom >"$W/junk.tar"
"$IMGFS" report "$W/junk.tar" -o "$W/junk.html" >"$W/out" 2>"$W/err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$W/err")" = 1 ] && grep -q "junk.tar" "$W/err" && [ ! -e "$W/junk.html" ] &&
	pass "a broken image: exit 2, one line naming it, no page" ||
	fail "a broken image: exit $rc, $(head -3 "$W/err")"
"$IMGFS" report "$TINY" -o "$W/no/such/dir/x.html" >"$W/out" 2>"$W/err"
rc=$?
[ $rc = 1 ] && grep -q "no/such/dir/x.html" "$W/err" &&
	pass "an unwritable output: exit 1 naming it" || fail "an unwritable output: exit $rc, $(head -3 "$W/err")"

# several images: a tab each and the size summary; the self-test on the
# second tab (#tab=1)
TINY_OCI=$FIXDIR/made/tiny.oci.tar
multi=("$TINY" "$TINY_OCI")
pairs=()
for i in "${!multi[@]}"; do
	python3 "$SRCDIR/tests/report_ref.py" "${multi[i]}" >"$W/multi$i.ref.json" ||
		fail "report_ref.py ${multi[i]}"
	pairs+=("${multi[i]}" "$W/multi$i.ref.json")
done
if "$IMGFS" report "${multi[@]}" -o "$W/multi.html" 2>"$W/err"; then
	pass "report of ${#multi[@]} images"
	if [ -z "$CHROMIUM" ]; then
		skip_part "several images: chromium missing (scripts/setup installs it)"
	elif browser "$W/multi.dom" --dump-dom "file://$W/multi.html#tab=1&selftest=/data"; then
		check "several images: a tab each, the summary's bytes, the click on tab 1" \
			$CHECK tabs "$W/multi.dom" 1 /data "${pairs[@]}"
	else
		fail "several images: chromium --dump-dom: $(grep -v dbus "$W/chromium.err" | head -3)"
	fi
else
	fail "report of ${#multi[@]} images: $(head -3 "$W/err")"
fi
rc=0
"$IMGFS" report --svg "$TINY" "$TINY_OCI" -o "$W/two.svg" >"$W/out" 2>&1 || rc=$?
[ $rc = 2 ] && [ ! -e "$W/two.svg" ] && pass "--svg of two images: refused, exit 2" ||
	fail "--svg of two images: exit $rc"
finish
