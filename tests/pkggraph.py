#!/usr/bin/env python3
"""An independent model of imgfs's package graph over an extracted merged
tree (argv[1]), for tests/packages.sh and tests/packages_pyapp.sh: which
files each dpkg and pip package claims (its .list or RECORD resolved in
the tree, bytecode beside its .py), what each requires (dpkg Depends,
Pre-Depends, Recommends with alternatives and Provides; pip Requires-Dist
with markers for CPython on Linux), the roots, and retained bytes from the
definition: dominated(P) is what no root reaches once P is taken out, and
P retains the regular files claimed only inside dominated(P).  None of it
uses imgfs's algorithms (no SCCs, no dominator tree).

Prints one line per package:
  manager TAB name TAB requires (sorted, comma-separated) TAB missing TAB
  root (true/false) TAB retained_bytes
Options: --machine M (platform_machine, default x86_64); --packaging DIR:
evaluate markers with the `packaging` library found in DIR (the image's
own, on pyapp) instead of the evaluator below."""
import csv, email.parser, os, re, stat, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkgref  # noqa: E402

args = sys.argv[1:]
machine, packaging_dir = "x86_64", None
while args and args[0].startswith("--"):
    if args[0] == "--machine":
        machine = args[1]
    elif args[0] == "--packaging":
        packaging_dir = args[1]
    args = args[2:]
root = args[0]


def files(base, paths):
    """{inode: size} of the regular files PATHS name, and the .py paths."""
    out, py = pkgref.files(root, base, paths)
    return {ino: size for ino, (_, size) in out.items()}, py


def stanzas(path):
    try:
        text = open(path, errors="surrogateescape").read()
    except OSError:
        return []
    out = []
    for block in text.split("\n\n"):
        d = {}
        for line in block.split("\n"):
            m = re.match(r"([A-Za-z-]+):\s*(.*)", line)
            if m:
                d[m.group(1)] = m.group(2)
        if d:
            out.append(d)
    return out


# ---------------------------------------------------------------- dpkg
pkgs = []  # dicts: manager, name, scope, files, py, deps [[alternatives]], provides
auto = set()
for s in stanzas(os.path.join(root, "var/lib/apt/extended_states")):
    if s.get("Auto-Installed") == "1":
        auto.add(s.get("Package"))
for s in stanzas(os.path.join(root, "var/lib/dpkg/status")):
    if not s.get("Status", "").endswith(" ok installed") or "Package" not in s:
        continue
    name, arch = s["Package"], s.get("Architecture")
    lst = None
    for fn in ([name + ":" + arch + ".list"] if arch else []) + [name + ".list"]:
        if os.path.isfile(os.path.join(root, "var/lib/dpkg/info", fn)):
            lst = os.path.join(root, "var/lib/dpkg/info", fn)
            break
    paths = []
    if lst:
        paths = [l.rstrip("\n") for l in open(lst, errors="surrogateescape")
                 if l.strip() and l.strip() != "/." and l.startswith("/")]
    fs, py = files([], paths)
    deps = []
    for field in ("Pre-Depends", "Depends", "Recommends"):
        for group in s.get(field, "").split(","):
            alts = [re.split(r"[\s(:\[<]", a.strip())[0] for a in group.split("|")]
            alts = [a for a in alts if a]
            if alts:
                deps.append(alts)
    provides = [re.split(r"[\s(:]", p.strip())[0] for p in s.get("Provides", "").split(",")]
    pkgs.append(dict(manager="dpkg", name=name, scope="", files=fs, py=py, deps=deps,
                     provides=[p for p in provides if p], auto=name in auto))

# ---------------------------------------------------------------- pip
def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()


if packaging_dir:
    sys.path.insert(0, packaging_dir)
    from packaging.markers import Marker

    def marker_true(m, env):
        return Marker(m).evaluate(env)
else:
    TOKEN = re.compile(r"\s*(\(|\)|===|==|!=|<=|>=|~=|<|>|'[^']*'|\"[^\"]*\"|not\s+in\b|in\b|and\b|or\b|[A-Za-z_][A-Za-z0-9_.]*)")

    def vkey(v):
        return tuple(int(x) for x in v.split(".")) if re.fullmatch(r"\d+(\.\d+)*", v) else None

    def cmp(l, op, r):
        a, b = vkey(l), vkey(r)
        if a is not None and b is not None:
            n = max(len(a), len(b))
            a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
            if op == "~=":
                k = len(vkey(r)) - 1
                return k > 0 and a >= b and a[:k] == b[:k]
        else:
            a, b = l, r
        return {"==": a == b, "===": a == b, "!=": a != b, "<": a < b, "<=": a <= b,
                ">": a > b, ">=": a >= b, "~=": False,
                "in": l in r, "not in": l not in r}[op] if not op.startswith(("in", "not")) \
            else (l in r if op == "in" else l not in r)

    def marker_true(m, env):
        toks = [t.strip() for t in TOKEN.findall(m)]
        pos = [0]

        def peek():
            return toks[pos[0]] if pos[0] < len(toks) else None

        def take():
            pos[0] += 1
            return toks[pos[0] - 1]

        def value():
            t = take()
            return t[1:-1] if t[0] in "'\"" else env[t]

        def expr():
            if peek() == "(":
                take()
                v = or_()
                take()
                return v
            l = value()
            op = re.sub(r"\s+", " ", take())
            return cmp(l, op, value())

        def and_():
            v = expr()
            while peek() == "and":
                take()
                v = expr() and v
            return v

        def or_():
            v = and_()
            while peek() == "or":
                take()
                v = and_() or v
            return v
        return or_()

for d, subdirs, _ in sorted(os.walk(root)):
    if os.path.basename(d) not in ("site-packages", "dist-packages") or os.path.islink(d):
        continue
    rel = os.path.relpath(d, root)
    site = rel.split("/")
    m = re.search(r"/python(\d+\.\d+)(/|$)", "/" + rel)
    ver = m.group(1) if m else ""
    if not m and "/python3/" in "/" + rel + "/":
        parent = os.path.join(root, ("/" + rel).split("/python3/")[0].lstrip("/"))
        vs = [int(e[8:]) for e in os.listdir(parent)
              if re.fullmatch(r"python3\.\d+", e) and os.path.isdir(os.path.join(parent, e))]
        ver = "3.%d" % max(vs) if vs else ""
    env = dict(python_version=ver, python_full_version=ver + ".0" if ver else "",
               implementation_version=ver + ".0" if ver else "", os_name="posix",
               sys_platform="linux", platform_system="Linux", platform_machine=machine,
               platform_python_implementation="CPython", implementation_name="cpython",
               platform_release="", platform_version="", extra="")
    for e in sorted(subdirs):
        if not e.endswith(".dist-info") or not os.path.isfile(os.path.join(d, e, "RECORD")):
            continue
        # the headers the way importlib.metadata reads them
        with open(os.path.join(d, e, "METADATA"), errors="replace") as f:
            meta = email.parser.Parser().parse(f, headersonly=True)
        name = (meta["Name"] or "").strip()
        reqs = [r.strip() for r in meta.get_all("Requires-Dist") or []]
        deps = []
        for r in reqs:
            req, _, mk = r.partition(";")
            if mk.strip() and not marker_true(mk.strip(), env):
                continue
            n = re.match(r"[A-Za-z0-9._-]+", req.strip())
            if n:
                deps.append([norm(n.group(0))])
        with open(os.path.join(d, e, "RECORD"), newline="", errors="surrogateescape") as f:
            paths = [r[0] for r in csv.reader(f) if r and r[0]]
        fs, py = files(site, paths)
        pkgs.append(dict(manager="pip", name=name, scope=rel, files=fs, py=py, deps=deps,
                         provides=[], auto=False))

# Bytecode no database names goes with its source .py's owners.
claimed = set()
for p in pkgs:
    claimed.update(p["files"])
for p in pkgs:
    extra = {ino: size for ino, (_, size) in pkgref.bytecode(p["py"], claimed).items()}
    p["files"].update(extra)

# ---------------------------------------------------------------- graph
answers = {}
for i, p in enumerate(pkgs):
    key = norm(p["name"]) if p["manager"] == "pip" else p["name"]
    for k in [key] + p["provides"]:
        answers.setdefault((p["manager"], p["scope"], k), set()).add(i)
succ, missing = [], []
for i, p in enumerate(pkgs):
    out, miss = set(), []
    for alts in p["deps"]:
        hit = set()
        for a in alts:
            hit |= answers.get((p["manager"], p["scope"], a), set())
        if not hit:
            miss.append(" | ".join(alts))
        out |= hit - {i}
    succ.append(out)
    missing.append(sorted(set(miss)))
n = len(pkgs)


def reach(starts, banned=None):
    seen, todo = set(), [s for s in starts if s != banned]
    seen.update(todo)
    while todo:
        v = todo.pop()
        for w in succ[v]:
            if w != banned and w not in seen:
                seen.add(w)
                todo.append(w)
    return seen


# a root: a dpkg package apt did not mark automatic, or a package of a
# cycle (the packages it reaches that reach it back) that nothing outside
# requires and that holds no such manual package
reaches = [reach([i]) for i in range(n)]
preds = [set() for _ in range(n)]
for j in range(n):
    for w in succ[j]:
        preds[w].add(j)
roots = set()
for i, p in enumerate(pkgs):
    cycle = {j for j in reaches[i] if i in reaches[j]} | {i}
    manual = [k for k in cycle if pkgs[k]["manager"] == "dpkg" and not pkgs[k]["auto"]]
    if (all(preds[k] <= cycle for k in cycle) and not manual) or (p["manager"] == "dpkg" and not p["auto"]):
        roots.add(i)
claimers = {}
for i, p in enumerate(pkgs):
    for ino in p["files"]:
        claimers.setdefault(ino, set()).add(i)
size = {}
for p in pkgs:
    size.update(p["files"])
for i, p in enumerate(pkgs):
    dominated = set(range(n)) - reach(roots, banned=i)
    retained = sum(size[ino] for ino, c in claimers.items() if c <= dominated)
    req = sorted("%s:%s" % (pkgs[j]["manager"], pkgs[j]["name"]) for j in succ[i])
    print("\t".join([p["manager"], p["name"], ",".join(req), ",".join(missing[i]),
                     "true" if i in roots else "false", str(retained)]))
