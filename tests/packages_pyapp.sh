#!/usr/bin/env bash
# `imgfs packages` on the generated pyapp: with
# $IMGFS_FIXTURES_DIR/images/pyapp.docker.tar and its reference rootfs
# work/ref/pyapp/bundle/rootfs (default ~/.cache/imgfs-fixtures; built by
# make-fixtures.sh, never in CI, where this is a skip) it checks:
# each dpkg package's bytes equal the sizes of the regular files its .list
# names in the reference tree (symlinked directories resolved, each file
# once), and the venv's pip packages are listed with their bytes, equal to
# what their RECORD names in the reference; and every dpkg and venv pip
# package's requires, missing requirements, root flag and retained bytes
# equal tests/pkggraph.py's over the reference (markers evaluated with the
# image's own `packaging`), and --why gcc-12 names build-essential.
#
# Environment (set by meson): IMGFS (the binary), SRCDIR, BUILDDIR.
set -uo pipefail

SRCDIR=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
BUILDDIR=${BUILDDIR:-$SRCDIR/build/tests}
IMGFS=${IMGFS:-$SRCDIR/build/tools/imgfs}
. "$SRCDIR/tests/lib.sh"

require_fuse
command -v jq >/dev/null || { echo "FAIL - jq missing (apt-get install jq)"; exit 1; }
init_workdir "$BUILDDIR/packages-pyapp"
W=$T_WORK
rm -rf "$XDG_CACHE_HOME"
mkdir -p "$XDG_CACHE_HOME"
# ------------------------------------------- pyapp against its reference

FIX=${IMGFS_FIXTURES_DIR:-$HOME/.cache/imgfs-fixtures}
PYAPP=$FIX/images/pyapp.docker.tar
REF=$FIX/work/ref/pyapp/bundle/rootfs
[ -f "$PYAPP" ] && [ -d "$REF/var/lib/dpkg/info" ] ||
	skip_absent "$PYAPP or its reference rootfs missing (make-fixtures.sh builds them)"
{
	if "$IMGFS" packages --json "$PYAPP" >"$W/pyapp.json" 2>"$W/err"; then
		pass "packages --json pyapp"
	else
		fail "packages --json pyapp: $(head -3 "$W/err")"
	fi
	jq -e '([.packages[].first_bytes] | add) + .unowned_bytes == .total_bytes' \
		"$W/pyapp.json" >/dev/null && pass "pyapp: first_bytes + unowned == total" ||
		fail "pyapp: the bytes do not add up"
	# what the reference's databases name, resolved in the reference tree
	python3 - "$REF" "$W" "$SRCDIR/tests" >"$W/pyapp.want" <<'EOF'
import os, stat, sys
root, work = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
import pkgref  # resolve, files and the bytecode rule, shared with pkggraph.py

def files(base, paths):
    return pkgref.files(root, base, paths)

pkgs = []  # (manager, name, ({inode: (path, size)}, [.py paths]))
pkgs_files = []

info = os.path.join(root, "var/lib/dpkg/info")
for fn in sorted(os.listdir(info)):
    if fn.endswith(".list"):
        with open(os.path.join(info, fn), errors="surrogateescape") as f:
            paths = [l.rstrip("\n") for l in f if l.strip() and l.strip() != "/."]
        pkgs.append(("dpkg", fn[:-5].split(":")[0], files([], paths)))
for d, subdirs, _ in os.walk(root):
    if os.path.basename(d) not in ("site-packages", "dist-packages"):
        continue
    site = os.path.relpath(d, root).split("/")
    for e in sorted(subdirs):
        if not e.endswith(".dist-info") or not os.path.isfile(os.path.join(d, e, "RECORD")):
            continue
        name = ""
        try:
            for l in open(os.path.join(d, e, "METADATA"), errors="replace"):
                if not l.strip():
                    break
                if l.startswith("Name:") and not name:
                    name = l[5:].strip()
        except OSError:
            pass
        import csv
        with open(os.path.join(d, e, "RECORD"), newline="", errors="surrogateescape") as f:
            paths = [r[0] for r in csv.reader(f) if r and r[0]]
        pkgs.append(("pip", name, files(site, paths)))

# Bytecode no database names goes with its source .py's owners:
# DIR/__pycache__/MOD.TAG.pyc and DIR/MOD.pyc beside DIR/MOD.py.
claimed = set()
for _, _, (fs, _) in pkgs:
    claimed.update(fs)
for manager, name, (fs, py) in pkgs:
    extra = pkgref.bytecode(py, claimed)
    fs.update(extra)
    print("%s\t%s\t%d" % (manager, name, sum(sz for _, sz in fs.values())))
    pkgs_files.append((manager, name, fs))

# the package view of two packages: every name of each regular file it
# claims (a hardlink's other names included), relative to /
VIEW = {("pip", "pytest"), ("dpkg", "python3.11-minimal")}
links = {}
for d, _, fns in os.walk(root):
    for fn in fns:
        st = os.lstat(os.path.join(d, fn))
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
            links.setdefault(st.st_ino, []).append(os.path.relpath(os.path.join(d, fn), root))
for manager, name, fs in pkgs_files:
    if (manager, name) in VIEW:
        with open(os.path.join(work, "view.%s.%s.want" % (manager, name)), "w") as f:
            for ino, (path, _) in fs.items():
                for p in links.get(ino, [os.path.relpath(path, root)]):
                    f.write(p + "\n")
EOF
	jq -r '.packages[] | select(.manager == "dpkg" or .manager == "pip") |
		"\(.manager)\t\(.name)\t\(.bytes)"' "$W/pyapp.json" | sort >"$W/pyapp.got"
	sort -o "$W/pyapp.want" "$W/pyapp.want"
	if show_diff "pyapp dpkg and pip bytes" "$W/pyapp.want" "$W/pyapp.got"; then
		pass "pyapp: bytes of each of $(grep -c '^dpkg' "$W/pyapp.got") dpkg and" \
			"$(grep -c '^pip' "$W/pyapp.got") pip packages equal the reference's"
	else
		fail "pyapp: package bytes differ from the reference"
	fi
	# the graph against the model over the reference tree
	site=$REF/app/venv/lib/python3.11/site-packages
	popt=() how="tests/pkggraph.py"
	[ -d "$site/packaging" ] && popt=(--packaging "$site") how="the image's own packaging"
	if python3 "$SRCDIR/tests/pkggraph.py" "${popt[@]}" "$REF" | sort >"$W/graph.want" &&
		jq -r '.packages[] | select(.manager == "dpkg" or .manager == "pip") |
			[.manager, .name, (.requires | join(",")), (.missing_requires | join(",")),
			 (.root | tostring), (.retained_bytes | tostring)] | join("\t")' \
			"$W/pyapp.json" | sort >"$W/graph.got" &&
		show_diff "pyapp graph" "$W/graph.want" "$W/graph.got"; then
		pass "pyapp: requires, missing, root and retained bytes of $(grep -c '^dpkg' "$W/graph.got")" \
			"dpkg and $(grep -c '^pip' "$W/graph.got") pip packages equal the model's" \
			"(markers: $how)"
	else
		fail "pyapp: the graph differs from the model"
	fi
	# the model is not vacuous: the venv's packages have requirements
	# and build-essential keeps more than its own bytes
	awk -F'\t' '$1 == "pip" && $2 == "Flask" && $3 ~ /pip:Werkzeug/ {f=1}
		$1 == "dpkg" && $2 == "build-essential" && $6 > 10000000 {b=1}
		END {exit !(f && b)}' "$W/graph.want" &&
		pass "pyapp: the model has Flask -> Werkzeug and build-essential retaining > 10 MB" ||
		fail "pyapp: the model's rows are not what pyapp holds"
	if "$IMGFS" packages --why gcc-12 "$PYAPP" >"$W/why.txt" 2>"$W/err" &&
		grep -q '^dpkg:build-essential -> .* -> dpkg:gcc-12$' "$W/why.txt" &&
		grep -q '^  dpkg:build-essential=.*  layer [0-9]*  .*apt-get install.*build-essential' "$W/why.txt"; then
		pass "pyapp: --why gcc-12 names build-essential and its step"
	else
		fail "pyapp: --why gcc-12: $(cat "$W/why.txt" "$W/err")"
	fi
	for p in pytest flask cryptography pydantic_core; do
		b=$(jq -r --arg p "$p" '[.packages[] | select(.manager == "pip" and
			(.name | ascii_downcase) == $p) | .bytes] | add // 0' "$W/pyapp.json")
		[ "$b" -gt 0 ] && pass "pyapp: pip $p listed, $b bytes" || fail "pyapp: pip $p not listed"
	done
	# the package view: /.imgfs/packages/MANAGER/NAME, its size each
	# package's bytes by the reference, its files the reference's
	M=$W/mnt
	if mount_image "$PYAPP" "$M"; then
		bad=0 n=0
		while IFS=$'\t' read -r mgr name bytes; do
			# a name two packages of a manager share has a suffix: left out
			[ "$(grep -c "^$mgr	$name	" "$W/pyapp.want")" -eq 1 ] || continue
			n=$((n + 1))
			got=$(getfattr --only-values -n user.imgfs.size "$M/.imgfs/packages/$mgr/$name" 2>/dev/null)
			if [ "$got" != "$bytes" ]; then
				bad=$((bad + 1))
				[ "$bad" -le 5 ] && echo "    /.imgfs/packages/$mgr/$name: user.imgfs.size '$got', reference $bytes"
			fi
		done <"$W/pyapp.want"
		[ "$n" -gt 100 ] && [ "$bad" -eq 0 ] &&
			pass "pyapp: /.imgfs/packages/MANAGER/NAME of $n packages: user.imgfs.size equals the reference's bytes" ||
			fail "pyapp: package view sizes: $bad of $n differ"
		for v in "$W"/view.*.want; do
			mn=${v#"$W/view."}
			mn=${mn%.want}
			d=$M/.imgfs/packages/${mn%%.*}/${mn#*.}
			(cd "$d" 2>/dev/null && find . -type f | sed 's|^\./||') | sort >"${v%.want}.got"
			sort -o "$v" "$v"
			[ -s "$v" ] && show_diff "view of $mn" "$v" "${v%.want}.got" &&
				pass "pyapp: the view of $mn holds its $(wc -l <"$v") files, hardlink names included" ||
				fail "pyapp: the view of $mn differs from the reference"
		done
		unmount_image "$M" || fail "umount pyapp"
	else
		fail "mount pyapp for the package view"
	fi
}

finish
