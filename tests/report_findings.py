#!/usr/bin/env python3
"""Writes findings.docker.tar into the directory given: a two-layer
docker-archive with something for each finding of imgfs report's panel
(issue 19): Python bytecode (in __pycache__ and a lone *.pyc), package
caches, docs, a tests directory in site-packages, more docs than the panel
lists, a hard link inside a pattern (counted once) and one from outside it
(counted where the walk meets it first: report_ref.py's lo..hi), a file
the upper layer re-ships unchanged, one it changes, and a cache file it
deletes (hidden, no longer a finding), and a listed doc whose name tries
to end the page's script element.  report.sh checks the panel's bytes
against report_ref.py's model of this image."""
import hashlib
import io
import json
import os
import sys
import tarfile

SP = "usr/lib/python3/site-packages/foo/"
LOWER = [  # (path, size) of the regular files; sizes distinct to tell them apart
    ("usr/share/doc/pkg/copyright", 3001),
    ("usr/share/doc/pkg/README", 2903),
    ("usr/share/doc/other/changelog.gz", 2807),
    ("usr/share/doc/other/NEWS", 2701),
    ("usr/share/doc/third/copyright", 2609),
    ("usr/share/doc/evil/</script><img src=x onerror=alert(1)>&amp;.txt", 2657),  # listed
    ("usr/share/man/man1/x.1.gz", 2011),
    ("var/cache/apt/pkgcache.bin", 5003),
    ("var/cache/apt/srcpkgcache.bin", 4507),
    ("var/lib/apt/lists/deb_Packages", 4001),
    ("root/.cache/pip/http/a", 1503),
    (SP + "__init__.py", 1009),
    (SP + "__pycache__/__init__.cpython-311.pyc", 1201),
    (SP + "tests/test_a.py", 2503),
    (SP + "tests/__pycache__/test_a.cpython-311.pyc", 807),
    ("app/main.pyc", 703),
    ("app/conf.txt", 901),
    ("app/changed.txt", 601),
    ("app/testsuite/tests/x.py", 1101),  # tests, but not in site-packages
]
LINKS = [  # (link, target)
    ("usr/share/doc/pkg/copyright-again", "usr/share/doc/pkg/copyright"),
    ("app/manpage", "usr/share/man/man1/x.1.gz"),
]
UPPER = [
    ("app/conf.txt", 901, "same"),       # re-shipped unchanged
    ("app/changed.txt", 601, "other"),   # same size, other bytes: not re-shipped
    ("usr/share/doc/pkg/NEWS.Debian", 1307, "new"),
]


def content(path, size, salt=""):
    seed = hashlib.sha256((path + salt).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def tar_of(add):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.GNU_FORMAT) as t:
        add(t)
    return b.getvalue()


def lower(t):
    for path, size in LOWER:
        ti = tarfile.TarInfo(path)
        ti.size = size
        t.addfile(ti, io.BytesIO(content(path, size)))
    for link, target in LINKS:
        ti = tarfile.TarInfo(link)
        ti.type = tarfile.LNKTYPE
        ti.linkname = target
        t.addfile(ti)


def upper(t):
    for path, size, how in UPPER:
        ti = tarfile.TarInfo(path)
        ti.size = size
        ti.mode = 0o600  # a metadata change: the whole file shipped again
        t.addfile(ti, io.BytesIO(content(path, size, "" if how == "same" else how)))
    ti = tarfile.TarInfo("var/cache/apt/.wh.pkgcache.bin")
    t.addfile(ti, io.BytesIO(b""))


def main():
    out = sys.argv[1]
    layers = [tar_of(lower), tar_of(upper)]
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers",
                                 "diff_ids": ["sha256:" + hashlib.sha256(l).hexdigest()
                                              for l in layers]},
                      "history": [{"created_by": "findings: lower"},
                                  {"created_by": "findings: upper (chmod, rm)"}]}).encode()
    man = json.dumps([{"Config": "config.json", "RepoTags": ["findings:1"],
                       "Layers": ["l0.tar", "l1.tar"]}]).encode()
    with tarfile.open(os.path.join(out, "findings.docker.tar"), "w") as t:
        for name, data in (("l0.tar", layers[0]), ("l1.tar", layers[1]),
                           ("config.json", cfg), ("manifest.json", man)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))


main()
