#!/usr/bin/env python3
"""Checks imgfs-compare's --pairs --markdown and --pairs --json reports
against what tests/audit_images.py's Python computed (expected.tsv).

Usage: compare_pairs.py EXPECTED.TSV PAIRS.JSON TOP DIRS MODE REPORT [CHECKS]
  PAIRS.JSON: [[NAME, BEFORE_IMAGE_NAME, AFTER_IMAGE_NAME], ...] (the
  images' names in expected.tsv), MODE markdown or json, CHECKS the checks
  (present PATH / absent PATH only) as a JSON list of strings.
Prints one "ok LABEL" or "FAIL LABEL: detail" line per check; exit 0.
"""

import json
import re
import sys


def load_expected(path):
    img = {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] not in ("image", "layers", "path", "dir"):
            continue
        d = img.setdefault(f[1], {"paths": {}, "dirs": {}})
        if f[0] == "image":
            d["merged"] = int(f[2])
        elif f[0] == "layers":
            d["layers"] = int(f[2])
        elif f[0] == "path":
            d["paths"][f[2]] = int(f[4])
        elif f[0] == "dir":
            d["dirs"][f[2]] = int(f[3])
    return img


def status(im, check):
    kind, path = check.split(None, 1)
    there = path in im["paths"] or path in im["dirs"] or any(
        p.startswith(path + "/") for p in im["paths"])
    return "PASS" if there == (kind == "present") else "FAIL"


def note(b, a):
    if b == "FAIL" and a == "PASS":
        return "fixed"
    if b == "PASS" and a == "FAIL":
        return "**regressed**"
    return "fails on both" if a == "FAIL" else ""


def pct(d, b):
    return f"{100 * d / b:+.1f}%" if b else "-"


def sgn(n):
    return f"+{n}" if n > 0 else str(n)


def removed(bi, ai, top):
    """(count, bytes, top rows [(path, bytes)]) of the paths of bi not in ai."""
    gone = [(p, s) for p, s in bi["paths"].items() if p not in ai["paths"]]
    gone.sort(key=lambda r: (-r[1], r[0].encode()))
    return len(gone), sum(s for _, s in gone), gone[:top]


def dirs_changed(bi, ai, n):
    rows = []
    for d in set(bi["dirs"]) | set(ai["dirs"]):
        b, a = bi["dirs"].get(d, 0), ai["dirs"].get(d, 0)
        if a != b:
            rows.append((d, b, a, a - b))
    rows.sort(key=lambda r: (-abs(r[3]), r[0][1:].encode()))
    return rows[:n]


def split_row(line):
    """Cells of a GFM table row: outer pipes stripped, split on pipes not
    escaped with a backslash, \\| unescaped."""
    s = line.strip()
    if not (s.startswith("|") and s.endswith("|") and len(s) >= 2):
        return None
    cells = re.split(r"(?<!\\)\|", s[1:-1])
    return [c.strip().replace("\\|", "|") for c in cells]


def tables(lines):
    """(heading, header, rows) of each table; raises ValueError on a
    malformed one (no separator row, cell counts differing)."""
    out, heading, i = [], None, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        if line.startswith("|"):
            head = split_row(line)
            if i + 1 >= len(lines) or not re.fullmatch(r"\|( *:?-{3,}:? *\|)+", lines[i + 1].strip()):
                raise ValueError(f"line {i + 1}: a table without its separator row")
            nsep = len(split_row(lines[i + 1]))
            if nsep != len(head):
                raise ValueError(f"line {i + 2}: {nsep} separator cells, {len(head)} header cells")
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                r = split_row(lines[i])
                if r is None or len(r) != len(head):
                    raise ValueError(f"line {i + 1}: {0 if r is None else len(r)} cells, header has {len(head)}")
                rows.append(r)
                i += 1
            out.append((heading, head, rows))
            continue
        i += 1
    return out


def unc(s):
    """a cell without its code span or bold markers"""
    s = s.strip()
    m = re.fullmatch(r"(`+) ?(.*?) ?\1", s)
    if m:
        return m.group(2)
    return s.strip("*")


class Out:
    def eq(self, label, want, got):
        if want == got:
            print(f"ok {label} = {want!r}"[:300])
        else:
            print(f"FAIL {label}: expected {want!r}, got {got!r}"[:600])


def main():
    exp = load_expected(sys.argv[1])
    pairs = json.loads(sys.argv[2])
    top, ndirs, mode = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    report = open(sys.argv[6]).read()
    checks = json.loads(sys.argv[7]) if len(sys.argv) > 7 else []
    o = Out()
    tot = {k: [0, 0] for k in ("merged", "layers")}
    for _, b, a in pairs:
        for k in tot:
            tot[k][0] += exp[b][k]
            tot[k][1] += exp[a][k]

    if mode == "json":
        try:
            j = json.loads(report)
        except ValueError as e:
            print(f"FAIL --json: not JSON: {e}")
            return
        o.eq("json: pair names in order", [p[0] for p in pairs], [p.get("name") for p in j["pairs"]])
        for (name, b, a), p in zip(pairs, j["pairs"]):
            for k in ("merged", "layers"):
                o.eq(f"json {name}: {k} before/after/delta",
                     [exp[b][k], exp[a][k], exp[a][k] - exp[b][k]],
                     [p["costs"][k][x] for x in ("before", "after", "delta")])
            o.eq(f"json {name}: check statuses",
                 [[c, status(exp[b], c), status(exp[a], c)] for c in checks],
                 [[r["check"], r["before"], r["after"]] for r in (p["checks"] or {}).get("results", [])])
            o.eq(f"json {name}: removed count and bytes", removed(exp[b], exp[a], top)[:2],
                 (p["removed"]["count"], p["removed"]["bytes"]))
        for k in tot:
            o.eq(f"json totals: {k}", [tot[k][0], tot[k][1], tot[k][1] - tot[k][0]],
                 [j["totals"][k][x] for x in ("before", "after", "delta")])
        o.eq("json totals: pairs", len(pairs), j["totals"]["pairs"])
        o.eq("json totals: fail_after",
             sum(1 for _, _, a in pairs if any(status(exp[a], c) == "FAIL" for c in checks)),
             j["totals"]["fail_after"])
        return

    try:
        tabs = tables(report.split("\n"))
    except ValueError as e:
        print(f"FAIL markdown: malformed table: {e}")
        return
    print(f"ok markdown: {len(tabs)} well-formed tables (header, separator, equal cell counts)")
    summary = [t for t in tabs if t[1] and t[1][0] == "Image"]
    o.eq("markdown: one summary table", 1, len(summary))
    if not summary:
        return
    head, rows = summary[0][1], summary[0][2]
    o.eq("markdown summary: header", ["Image", "Merged before", "Merged after", "Merged delta", "Merged %",
                                      "Layers before", "Layers after", "Layers delta", "Layers %"], head)
    o.eq("markdown summary: rows (pairs + totals)", len(pairs) + 1, len(rows))

    def costrow(b, a):
        return [str(b), str(a), sgn(a - b), pct(a - b, b)]
    for (name, b, a), r in zip(pairs, rows):
        o.eq(f"markdown summary row {name}",
             [name] + costrow(exp[b]["merged"], exp[a]["merged"]) + costrow(exp[b]["layers"], exp[a]["layers"]),
             [unc(c) for c in r])
    o.eq("markdown summary totals row",
         ["Total"] + costrow(*tot["merged"]) + costrow(*tot["layers"]), [unc(c) for c in rows[-1]])

    # per image: the tables of its "## NAME" section, by first header cell
    sections = re.split(r"^## ", report, flags=re.M)
    for name, b, a in pairs:
        sec = [s for s in sections if s.split("\n", 1)[0].replace("\\|", "|") == name]
        o.eq(f"markdown: one section for {name}", 1, len(sec))
        if not sec:
            continue
        st = tables(sec[0].split("\n"))
        got = {t[1][0]: t[2] for t in st}
        if checks:
            o.eq(f"markdown {name}: checks table",
                 [[c, status(exp[b], c), status(exp[a], c), note(status(exp[b], c), status(exp[a], c))]
                  for c in checks],
                 [[unc(r[0]), r[1], r[2], r[3]] for r in got.get("Check", [])])
        o.eq(f"markdown {name}: directories by |delta|",
             [[d, str(bb), str(aa), sgn(dd), pct(dd, bb)] for d, bb, aa, dd in dirs_changed(exp[b], exp[a], ndirs)],
             [[unc(r[0])] + r[1:] for r in got.get("Directory", [])])
        n, by_, rm = removed(exp[b], exp[a], top)
        o.eq(f"markdown {name}: removed files", [[p, str(s)] for p, s in rm],
             [[unc(r[0]), r[1]] for r in got.get("Removed file", [])])
        m = re.search(r"\*\*Files removed\*\*: (\d+) \((\d+) bytes\)", sec[0])
        o.eq(f"markdown {name}: removed count and bytes", (n, by_), m and (int(m[1]), int(m[2])))
        n, by_, ad = removed(exp[a], exp[b], top)
        o.eq(f"markdown {name}: added files", [[p, str(s)] for p, s in ad],
             [[unc(r[0]), r[1]] for r in got.get("Added file", [])])


if __name__ == "__main__":
    main()
