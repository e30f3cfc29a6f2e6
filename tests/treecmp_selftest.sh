#!/usr/bin/env bash
# The tree comparison's own test: tests/treecmp.py must pass on a tree and
# its unchanged reference and fail as soon as one field differs.  Part 1
# works on a tree made here, its reference written with the commands of
# ../shared/fixtures/README.md (find -printf, getfattr, sha256sum); part 2
# runs tests/mount_fixtures.sh on a copy of ../shared/fixtures in which one
# reference line is wrong, and without fixtures at all (exit 77, 1 under CI).
#
# Environment (set by meson): IMGFS, SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

require_fuse
init_workdir "$BUILDDIR/treecmp"
W=$T_WORK
CMP=$SRCDIR/tests/treecmp.py

# ------------------------------------------------ part 1: a local tree

T=$W/tree
rm -rf "$T" "$W/ref"
mkdir -p "$T/d/e" "$W/ref"
printf 'hello' >"$T/d/f"
ln "$T/d/f" "$T/d/h"
ln -s d/f "$T/l"
mkfifo "$T/p"
printf 'x' >"$T/x"
chmod 0640 "$T/d/f"
chmod 0750 "$T/d"
setfattr -n user.test -v abc "$T/x" 2>/dev/null || skip "$W does not store user.* xattrs"
find "$T" -exec touch -h -d @1700000000 {} +

reference() {
	(cd "$T" && find . -mindepth 1 -printf '%P\t%y\t%m\t%s\t%l\n') | sort >"$W/ref/t.reference.txt"
	(cd "$T" && find . -mindepth 1 -printf '%P\t%y\t%U\t%G\t%n\t%T@\n') | sort >"$W/ref/t.reference-owners.txt"
	(cd "$T" && find . -type f -print0 | xargs -0 sha256sum) | sort -k2 >"$W/ref/t.reference.sha256"
	(cd "$T" && getfattr -R -P -d -m - -e hex .) >"$W/ref/t.reference-xattrs.txt"
}
reference
[ "$(wc -l <"$W/ref/t.reference.txt")" -eq 7 ] && pass "reference of the local tree lists its 7 entries" ||
	fail "reference of the local tree: $(cat "$W/ref/t.reference.txt")"

# expect_cmp WANT NAME: runs treecmp on the tree and $W/mut/t; WANT is
# "pass" (exit 0) or "fail" (exit 1, or 2 for a broken reference).
expect_cmp() {
	local want=$1 name=$2 rc=0 out
	out=$(python3 "$CMP" "$T" "$W/mut/t" 2>&1) || rc=$?
	if [ "$want" = pass ] && [ "$rc" -eq 0 ]; then
		pass "treecmp passes: $name"
	elif [ "$want" = fail ] && { [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; }; then
		pass "treecmp fails (exit $rc): $name: $(grep -m1 -E '^      |reference' <<<"$out" | sed 's/^ *//')"
	else
		fail "treecmp exit $rc on '$name', expected to $want: $out"
	fi
}

# mutate NAME FILE SED-EXPR: a fresh copy of the reference with SED-EXPR
# applied to FILE (a suffix: .reference.txt, ...), compared; must fail.
mutate() {
	local name=$1 file=$2 expr=$3
	rm -rf "$W/mut"
	cp -r "$W/ref" "$W/mut"
	sed -i -e "$expr" "$W/mut/t$file"
	if cmp -s "$W/ref/t$file" "$W/mut/t$file"; then
		fail "mutation '$name' changed nothing in t$file (the test is wrong)"
		return
	fi
	expect_cmp fail "$name"
}

rm -rf "$W/mut"; cp -r "$W/ref" "$W/mut"
expect_cmp pass "the unchanged reference"
mutate "a mode" .reference.txt 's|^d/f\tf\t640|d/f\tf\t644|'
mutate "a directory's mode" .reference.txt 's|^d\td\t750|d\td\t755|'
mutate "a size" .reference.txt 's|^x\tf\t644\t1\t|x\tf\t644\t2\t|'
mutate "a type" .reference.txt 's|^p\tp\t|p\tf\t|'
mutate "a symlink target" .reference.txt 's|^l\tl\t777\t3\td/f|l\tl\t777\t3\td/g|'
mutate "a missing entry (the tree has more)" .reference.txt '/^d\/e\t/d'
mutate "an extra entry (the tree has less)" .reference.txt '$a\
zz\tf\t644\t0\t'
mutate "an owner (uid)" .reference-owners.txt 's|^x\tf\t[0-9]*\t|x\tf\t4242\t|'
mutate "a group (gid)" .reference-owners.txt 's|^\(x\tf\t[0-9]*\t\)[0-9]*\t|\14242\t|'
mutate "a file's link count" .reference-owners.txt 's|^\(d/f\tf\t[0-9]*\t[0-9]*\t\)2\t|\11\t|'
mutate "an mtime" .reference-owners.txt 's|^x\tf\t\([0-9]*\)\t\([0-9]*\)\t1\t1700000000|x\tf\t\1\t\2\t1\t1700000001|'
mutate "an mtime's nanoseconds" .reference-owners.txt 's|^\(x\tf\t.*\)1700000000\.0000000000$|\11700000000.0000000010|'
mutate "a sha256" .reference.sha256 '1s|^.|0|;1s|^00|11|'
mutate "an xattr value" .reference-xattrs.txt 's|^user.test=0x616263|user.test=0x616264|'
mutate "a missing xattr" .reference-xattrs.txt '/^user.test=/d'
mutate "an empty reference" .reference.txt 'd'
mutate "a malformed reference line" .reference.txt '1s|\t[^\t]*$||'
mutate "an empty owners reference" .reference-owners.txt 'd'

# A changed file byte: same size, other content.
rm -rf "$W/mut"; cp -r "$W/ref" "$W/mut"
printf 'jello' >"$T/d/f"
touch -h -d @1700000000 "$T/d/f"
expect_cmp fail "a changed file byte"
printf 'hello' >"$T/d/f"
touch -h -d @1700000000 "$T/d/f"
# An extra xattr in the tree.
setfattr -n user.extra -v 1 "$T/d/f"
expect_cmp fail "an xattr the reference lacks"
setfattr -x user.extra "$T/d/f"
expect_cmp pass "the restored tree"

# ------------------------------------- part 2: mount_fixtures.sh on a copy

FX=$SRCDIR/../shared/fixtures
[ -d "$FX/made" ] || skip "../shared/fixtures is missing"
ONLY='^made/tiny\.docker\.tar$'

# fixtures_run NAME: mount_fixtures.sh over $W/fx for tiny.docker.tar;
# prints its exit status.
fixtures_run() {
	local rc=0
	FIXTURES_DIR=$W/fx FIXTURES_ONLY=$ONLY BUILDDIR=$W/fxrun \
		"$SRCDIR/tests/mount_fixtures.sh" >"$W/fxrun.log" 2>&1 || rc=$?
	echo "$rc"
}

# fixtures_mutate NAME FILE SED-EXPR: mount_fixtures.sh must fail with
# FILE of made/tiny changed by SED-EXPR.
fixtures_mutate() {
	local name=$1 file=$FX/made/tiny$2 expr=$3 rc
	rm -rf "$W/fx"
	cp -r "$FX" "$W/fx"
	chmod -R u+w "$W/fx"
	sed -i -e "$expr" "$W/fx/made/tiny$2"
	if cmp -s "$file" "$W/fx/made/tiny$2"; then
		fail "fixtures mutation '$name' changed nothing (the test is wrong)"
		return
	fi
	rc=$(fixtures_run)
	if [ "$rc" -eq 1 ] && grep -q '^FAIL - made/tiny.docker.tar: tree equals' "$W/fxrun.log"; then
		pass "mount_fixtures.sh exits 1 with $name in tiny$2"
	else
		fail "mount_fixtures.sh with $name in tiny$2: exit $rc; $(grep -E 'FAIL|passed' "$W/fxrun.log" | head -3)"
	fi
}

rm -rf "$W/fx"; cp -r "$FX" "$W/fx"; chmod -R u+w "$W/fx"
rc=$(fixtures_run)
if [ "$rc" -eq 0 ] && grep -q '^ok   - made/tiny.docker.tar: tree equals' "$W/fxrun.log"; then
	pass "mount_fixtures.sh passes on an unchanged copy of the fixtures"
else
	fail "mount_fixtures.sh on an unchanged copy: exit $rc; $(grep -E 'FAIL|passed' "$W/fxrun.log" | head -3)"
fi
fixtures_mutate "a mode" .reference.txt 's|^bin/hello.sh\tf\t755|bin/hello.sh\tf\t775|'
fixtures_mutate "an owner" .reference-owners.txt 's|^bin/hello.sh\tf\t0\t|bin/hello.sh\tf\t1000\t|'
fixtures_mutate "a symlink target" .reference.txt 's|^data/link-abs\tl\t777\t11\t/data/b.txt|data/link-abs\tl\t777\t11\t/data/c.txt|'
fixtures_mutate "an mtime" .reference-owners.txt 's|^\(bin/hello.sh\tf\t0\t0\t1\t\)1795442886|\11795442887|'
fixtures_mutate "a missing entry" .reference.txt '/^data\/a.txt\t/d'

for ci in "" true; do
	rc=0
	CI=$ci FIXTURES_DIR=$W/no-such-dir BUILDDIR=$W/fxrun \
		"$SRCDIR/tests/mount_fixtures.sh" >"$W/fxrun.log" 2>&1 || rc=$?
	want=77
	[ -n "$ci" ] && want=1
	[ "$rc" -eq "$want" ] && pass "mount_fixtures.sh without fixtures, CI='$ci': exit $rc" ||
		fail "mount_fixtures.sh without fixtures, CI='$ci': exit $rc, expected $want"
done
rm -rf "$W/fx" "$W/mut"
finish
