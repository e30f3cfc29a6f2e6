"""The part of the package references that both tests/pkggraph.py and
tests/packages_pyapp.sh need, written once: a database's paths resolved
in an extracted tree the way imgfs resolves them (symlinks followed but in
the last component, '..' physical, never above the root), the regular
files and .py names they claim, and the bytecode imgfs gives to the owners
of a .py that no database lists (DIR/__pycache__/MOD.TAG.pyc, DIR/MOD.pyc).
Independent of imgfs: plain os.lstat over the tree."""
import os
import stat


def resolve(root, base, path):
    """Components of PATH from BASE inside ROOT; None if absent."""
    cur = [] if path.startswith("/") else list(base)
    parts = [p for p in path.split("/") if p]
    links = 0
    while parts:
        comp = parts.pop(0)
        if comp == ".":
            continue
        if comp == "..":
            if cur:
                cur.pop()
            continue
        full = os.path.join(root, *cur, comp)
        try:
            st = os.lstat(full)
        except OSError:
            return None
        if stat.S_ISLNK(st.st_mode) and parts:
            links += 1
            if links > 40:
                return None
            t = os.readlink(full)
            if t.startswith("/"):
                cur = []
            parts = [p for p in t.split("/") if p] + parts
            continue
        cur.append(comp)
    return cur


def files(root, base, paths):
    """The regular files PATHS name, {inode: (physical path, size)}, and
    the .py names among them, symlinks included (a module's bytecode is
    compiled beside the name the package installed)."""
    out, py = {}, []
    for p in paths:
        c = resolve(root, base, p)
        if c is None:
            continue
        full = os.path.join(root, *c)
        st = os.lstat(full)
        if stat.S_ISREG(st.st_mode):
            out.setdefault(st.st_ino, (full, st.st_size))
        if (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) and full.endswith(".py"):
            py.append(full)
    return out, py


def bytecode(py, claimed):
    """{inode: (path, size)} of the bytecode of the .py paths PY that no
    database claims (CLAIMED: the inodes some package lists)."""
    extra = {}
    for path in py:
        d, mod = os.path.dirname(path), os.path.basename(path)[:-3]
        cands = [os.path.join(d, mod + ".pyc")]
        try:
            cands += [os.path.join(d, "__pycache__", e) for e in os.listdir(os.path.join(d, "__pycache__"))
                      if e.endswith(".pyc") and e.split(".")[0] == mod]
        except OSError:
            pass
        for c in cands:
            try:
                st = os.lstat(c)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_ino not in claimed:
                extra[st.st_ino] = (c, st.st_size)
    return extra
