#!/usr/bin/env python3
"""The checks of tests/report.sh on what imgfs report wrote, each against
the figures of report_ref.py (python's tarfile over the image), never
against numbers the report itself carries.  One check per call; exit 0
when it holds, 1 with the reason on stdout.

  report_check.py selfcontained FILE       nothing in FILE refers outside it
  report_check.py png SHOT.png REF.json    the screenshot is no blank page and
                                           shows each layer's legend colour
  report_check.py legend DOM REF.json      the legend names each layer's step
  report_check.py areas DOM REF.json       top rectangles' areas ∝ bytes (1 %)
  report_check.py click DOM REF.json PATH  the scripted click zoomed into PATH
                                           and shows its children ∝ bytes
  report_check.py svg SVG REF.json         XML, and leaf areas sum to the bytes
  report_check.py tabs DOM N PATH IMAGE REF.json...
                                           a tab per image, the summary's bytes,
                                           and on tab N the click on PATH
  report_check.py retained DOM MODEL.tsv   colour by retained bytes: the legend's
                                           figures are tests/pkggraph.py's (MODEL),
                                           the fills change and follow them
"""

import colorsys
import html.parser
import json
import re
import re
import struct
import sys
import xml.etree.ElementTree as ET
import zlib

TOL = 0.01
# entries smaller than this share of their parent are not checked one by
# one: their rectangles are a few pixels, which the page's 3-decimal
# coordinates cannot give to 1 %; the big ones must all be there
CHECK_SHARE = 0.005
MUST_SHOW = 0.01


def fail(msg):
    print("  " + msg)
    sys.exit(1)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---- nothing outside the file ----

DATA = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)
# what would make a browser fetch something, or name a place to
FORBIDDEN = [
    (r"\bsrc\s*=", "a src= attribute"),
    (r"\bhref\s*=", "an href= attribute"),
    (r"@import", "a CSS @import"),
    (r"url\(\s*(?!#)", "a url() that is not a fragment of the page"),
    (r"<link\b", "a <link> element"),
    (r"<(iframe|object|embed|img|audio|video|source)\b", "an embedding element"),
    (r"\bfetch\s*\(|XMLHttpRequest|\bimport\s*\(|new\s+Worker|WebSocket|EventSource",
     "a script request"),
    (r"\b(https?|file|ftp)://(?!www\.w3\.org/2000/svg\b)", "an absolute URL"),
]


def svg_selfcontained(path):
    """The SVG's elements, attributes and style, parsed: names from the image
    are character data there, which may spell anything."""
    for e in ET.parse(path).iter():
        tag = e.tag.split("}")[-1]
        if tag in ("image", "use", "script", "foreignObject", "a", "feImage"):
            fail("%s: a <%s> element" % (path, tag))
        for k, v in e.attrib.items():
            if k.split("}")[-1] in ("href", "src"):
                fail("%s: a %s attribute on <%s>" % (path, k, tag))
            if re.search(r"url\(\s*(?!#)", v):
                fail("%s: %s=%r on <%s>" % (path, k, v, tag))
        if tag == "style" and re.search(r"@import|url\(\s*(?!#)", e.text or ""):
            fail("%s: the style refers outside: %r" % (path, e.text))


def selfcontained(path):
    if path.endswith(".svg"):
        return svg_selfcontained(path)
    text = open(path, encoding="utf-8").read()
    data = DATA.findall(text)
    if path.endswith(".html"):
        if len(data) != 1:
            fail("the page has %d data blocks, not 1" % len(data))
        json.loads(data[0])  # data, not markup: a string cannot close it
        text = DATA.sub("", text)
    for pat, what in FORBIDDEN:
        m = re.search(pat, text)
        if m:
            fail("%s: %s at %r" % (path, what, text[max(0, m.start() - 40):m.end() + 40]))


# ---- the screenshot ----

def png_pixels(path):
    """(width, height, {(r, g, b): pixels}) of an 8-bit RGB/RGBA PNG, decoded
    here with zlib (no imaging library)."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("%s is no PNG" % path)
    pos, idat, w = 8, b"", None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                fail("PNG kind %d/%d/%d not decoded here" % (depth, ctype, interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    colours = {}
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            c = bytes(line[x:x + 3])
            colours[c] = colours.get(c, 0) + 1
        prev = line
    return w, h, colours


def layer_rgb(k, light=0.55):
    """The fill the page gives layer K: hsl(hue, 55 %, 55 %) with hues a
    golden angle apart (CSS hsl, converted here by colorsys); 70 % for
    merged small files."""
    hue = int(k * 137.508) % 360
    r, g, b = colorsys.hls_to_rgb(hue / 360, light, 0.55)
    return tuple(round(v * 255) for v in (r, g, b))


# the page's map takes about 40 % of a 1200x800 window: the layers'
# colours cover at least this share of the screenshot unless it is not drawn
MAP_SHARE = 0.10
HATCH = (0xC0, 0x39, 0x2B)
HATCH_SHARE = 0.4 * 0.05


def pixels_like(colours, want):
    return sum(n for c, n in colours.items() if all(abs(c[i] - want[i]) <= 3 for i in range(3)))


def png(path, ref):
    w, h, colours = png_pixels(path)
    if len(colours) < 8:
        fail("%s: %d distinct colours: a blank page" % (path, len(colours)))
    painted = 0
    for k in range(len(ref["created_by"])):
        n = pixels_like(colours, layer_rgb(k))
        if not n:
            fail("%s: the colour of layer %d %s is nowhere on the screenshot"
                 % (path, k, layer_rgb(k)))
        painted += n + pixels_like(colours, layer_rgb(k, 0.70))
    if painted < MAP_SHARE * w * h:
        fail("%s: the layers' colours cover %d pixels of %d: no map" % (path, painted, w * h))
    # the hatching's solid stripes: a twentieth of the hidden bytes' share
    # of the map at least (the legend's swatch alone is 144 pixels)
    hatch = pixels_like(colours, HATCH)
    if hatch < HATCH_SHARE * ref["hidden"] / ref["total"] * w * h:
        fail("%s: %d hidden bytes of %d but %d hatched pixels"
             % (path, ref["hidden"], ref["total"], hatch))
    print("  %dx%d, %d distinct colours, the layers' colours on %.1f %% of it, %d hatched"
          % (w, h, len(colours), 100 * painted / (w * h), hatch))


# ---- the DOM after the page's script ran ----

class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.rects, self.legend, self.selftest = [], [], ""
        self.tabs, self.summary = [], []
        self.findings, self.finding = {}, None
        self.stack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "rect" and "top" in cls:
            self.rects.append(a)
        if tag == "button" and "data-image" in a:
            self.tabs.append(a["data-image"])
        if tag == "tr" and "data-bytes" in a:
            self.summary.append(int(a["data-bytes"]))
        if tag == "tr" and "data-finding" in a:
            self.finding = a["data-finding"]
            self.findings[self.finding] = dict(a, items=[])
        if tag == "li" and "fpath" in cls and self.finding:
            self.findings[self.finding]["items"].append((a["data-fpath"], int(a["data-fpbytes"])))
        if tag == "div" and ("legend-layer" in cls or "legend-hidden" in cls):
            self.legend.append("")
            self.stack.append("legend")
        elif tag == "pre" and a.get("id") == "selftest":
            self.stack.append("selftest")
        elif tag not in ("br", "meta", "input", "rect", "line") and self.stack:
            self.stack.append(self.stack[-1])

    def handle_endtag(self, tag):
        if self.stack and tag not in ("rect", "line"):
            self.stack.pop()

    def handle_data(self, d):
        if self.stack and self.stack[-1] == "legend":
            self.legend[-1] += d
        elif self.stack and self.stack[-1] == "selftest":
            self.selftest += d


def dom(path):
    d = Dom()
    d.feed(open(path, encoding="utf-8").read())
    return d


def legend(path, ref):
    d = dom(path)
    text = "\n".join(d.legend)
    for k, step in enumerate(ref["created_by"]):
        if ("%d: %s" % (k, step or "(no history)")) not in text:
            fail("the legend lacks layer %d: %r (it has %r)" % (k, step, d.legend))
    if not any("hidden" in t for t in d.legend):
        fail("the legend has no entry for the hidden bytes")


def proportional(shown, expected, totals, what):
    """SHOWN: {path: area}; EXPECTED: {path: [lo, hi] bytes} (kinds d only)
    under TOTALS (lo, hi) bytes.  Every entry of at least MUST_SHOW of the
    total is shown, and each one of at least CHECK_SHARE has an area share
    within TOL of its bytes share."""
    area = sum(shown.values())
    tlo, thi = totals
    total = tlo
    checked = 0
    for p, (lo, hi) in sorted(expected.items()):
        if hi < MUST_SHOW * total and p not in shown:
            continue
        if p not in shown:
            fail("%s: %s (%d bytes, %.1f %%) is not drawn" % (what, p, lo, 100 * lo / total))
        if lo < CHECK_SHARE * total:
            continue
        share = shown[p] / area
        if not (lo / thi * (1 - TOL) <= share <= hi / tlo * (1 + TOL)):
            fail("%s: %s: area share %.5f, bytes share %.5f..%.5f (%d..%d of %d..%d)"
                 % (what, p, share, lo / thi, hi / tlo, lo, hi, tlo, thi))
        checked += 1
        print("  %s: area %.5f of the map, bytes %.5f" % (p, share, lo / total))
    if not checked:
        fail("%s: nothing big enough to check" % what)


def pep503(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def dirs_only(exp, ref):
    return {p: v for p, v in exp.items() if ref["kinds"].get(p) == "d"}


def areas(path, ref):
    d = dom(path)
    shown = {r["data-path"]: float(r["width"]) * float(r["height"])
             for r in d.rects if r.get("data-kind") == "d"}
    rest = sum(float(r["width"]) * float(r["height"]) for r in d.rects
               if r.get("data-kind") != "d")
    # the denominator is the whole map: the directories and the rest
    shown_all = dict(shown, **{"(rest)": rest})
    proportional(shown_all, dirs_only(ref["top"], ref), (ref["total"], ref["total"]), "top directories")


def click(path, ref, target):
    d = dom(path)
    if not d.selftest:
        fail("the page wrote no self-test result (did its script run?)")
    out = json.loads(d.selftest)
    if not out.get("found"):
        fail("no top rectangle for %s to click" % target)
    if out["view"] != target or out["crumbs"] != ["/", target]:
        fail("after the click the view is %s, breadcrumb %s" % (out["view"], out["crumbs"]))
    print("  the zoom drew %d rectangles in %d ms" % (out["rects"], out["ms"]))
    known = set(ref["packages"])
    names = out["packages"]
    # report_ref.py reads dpkg's and pip's databases: npm and apk rows
    # (pkgimage.py's image has them) go unchecked
    unknown = [n for n in names if n.split(":")[0] in ("dpkg", "pip") and
               (n.split(":")[0] + ":" + (pep503(n.split(":", 1)[1]) if n.startswith("pip:")
                                         else n.split(":", 1)[1])) not in known]
    if unknown:
        fail("by package, the legend names %s, which the image does not hold" % unknown)
    if len(names) < min(3, len(known)):
        fail("by package, the legend names %d packages, the image has %d" % (len(names), len(known)))
    if known and out["package_fills"] < 3:
        fail("by package, the map has %d fills" % out["package_fills"])
    print("  by package: %d packages in the legend, all in the image's databases, %d fills"
          % (len(names), out["package_fills"]))
    kids = ref["kids"][target]
    shown = {c["path"]: c["width"] * c["height"] for c in out["children"] if c["kind"] == "d"}
    shown["(rest)"] = sum(c["width"] * c["height"] for c in out["children"] if c["kind"] != "d")
    proportional(shown, dirs_only(kids, ref), ref["top"][target], "children of " + target)


def tabs(path, images, refs, n, target):
    """The page of several IMAGES: a tab each, in order, the summary table's
    bytes those of REFS, and the self-test ran on tab N."""
    d = dom(path)
    if d.tabs != images:
        fail("tabs %s, images %s" % (d.tabs, images))
    want = [r["total"] for r in refs]
    if d.summary != want:
        fail("summary table bytes %s, the images have %s" % (d.summary, want))
    out = json.loads(d.selftest or "{}")
    if out.get("image") != images[n]:
        fail("#tab=%d showed %s, not %s" % (n, out.get("image"), images[n]))
    print("  %d tabs, summary bytes %s" % (len(d.tabs), d.summary))
    click(path, refs[n], target)


def svg(path, ref):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    if root.tag != ns + "svg":
        fail("the root element is %s" % root.tag)
    w, h = float(root.get("width")), float(root.get("height"))
    leaves = lambda e: [r for r in e.iter(ns + "rect") if r.get("class") == "leaf"]
    area = lambda rs: sum(float(r.get("width")) * float(r.get("height")) for r in rs)
    total_area = area(leaves(root))
    per_byte = w * h / ref["total"]
    # the rectangles' areas add up to the image's bytes: at W*H for the
    # image's total, as data-bytes says ...
    if abs(total_area - w * h) > TOL * w * h:
        fail("leaf areas sum to %.1f, the picture is %.1f" % (total_area, w * h))
    if abs(int(root.get("data-bytes")) - ref["total"]) > TOL * ref["total"]:
        fail("data-bytes %s, the image has %d" % (root.get("data-bytes"), ref["total"]))
    print("  leaf areas %.1f = %.1f bytes, the image %d" % (total_area, total_area / per_byte,
                                                           ref["total"]))
    # ... and each top directory's leaves are its share
    shown = {g.get("data-path"): area(leaves(g)) for g in root.iter(ns + "g")
             if g.get("class") == "dir" and g.get("data-depth") == "0"}
    shown["(rest)"] = total_area - sum(shown.values())
    proportional(shown, dirs_only(ref["top"], ref), (ref["total"], ref["total"]), "svg top directories")


def findings(path, ref, check, elf):
    """The findings panel read back from the DOM: the pattern bytes and
    top paths against report_ref.py's model, the re-shipped bytes per
    layer against its sha256 comparison, the hidden bytes against its
    merge; the dive figures and the strip saving only for consistency with
    `imgfs check --json` and `imgfs elf --json` (imgfs too)."""
    f = dom(path).findings

    def row(fid):
        if fid not in f:
            fail("the findings panel has no %r row (it has %s)" % (fid, sorted(f)))
        return f[fid]

    for pid, m in ref["patterns"].items():
        r = row(pid)
        b, items = int(r["data-fbytes"]), r["items"]
        if not m["lo"] <= b <= m["hi"]:
            fail("%s: %d bytes, the model has %d..%d" % (pid, b, m["lo"], m["hi"]))
        for p, n in items:
            if m["paths"].get(p) != n:
                fail("%s: lists %s (%d bytes), the model has %r" % (pid, p, n, m["paths"].get(p)))
        sizes = [n for _, n in items]
        if sizes != sorted(sizes, reverse=True) or len(set(p for p, _ in items)) != len(items):
            fail("%s: the top paths are not largest first, once each: %r" % (pid, items))
        if not min(5, m["files_lo"]) <= len(items) <= min(5, m["files_hi"]):
            fail("%s: lists %d paths, the model has %d..%d files" % (pid, len(items), m["files_lo"],
                                                                      m["files_hi"]))
        if items and m["sure"] and sizes[0] < m["sure"][0]:
            fail("%s: the largest listed is %d bytes, the model has one of %d" % (pid, sizes[0],
                                                                                   m["sure"][0]))
        if len(items) == 5 and len(m["sure"]) > 5 and m["sure"][4] > sizes[-1]:
            fail("%s: the fifth listed is %d bytes, the model's fifth is %d" % (pid, sizes[-1],
                                                                                m["sure"][4]))
    r = row("reshipped")
    rs = ref["reshipped"]
    got = {p.split(":", 1)[1]: n for p, n in r["items"]}
    if int(r["data-fbytes"]) != rs["bytes"] or got != rs["layers"]:
        fail("re-shipped: %s bytes, by layer %r; the model has %d, %r" % (r["data-fbytes"], got,
                                                                          rs["bytes"], rs["layers"]))
    if int(row("hidden")["data-fbytes"]) != ref["hidden"]:
        fail("hidden: %s bytes, the model hides %d" % (row("hidden")["data-fbytes"], ref["hidden"]))
    w = row("wasted")
    if (int(w["data-fbytes"]) != check["wastedBytes"] or
            abs(float(w["data-efficiency"]) - check["efficiency"]) > 1e-6 or
            abs(float(w["data-user-wasted"]) - check["userWastedPercent"]) > 1e-6):
        fail("dive figures %r differ from imgfs check's %r" % (w, check))
    s = row("strip")
    want = [(e["path"], e["strip_bytes"]) for e in elf["files"]][:5]
    if int(s["data-fbytes"]) != elf["strip_bytes"] or s["items"] != want:
        fail("strip: %s bytes, %r; imgfs elf has %d, %r" % (s["data-fbytes"], s["items"],
                                                            elf["strip_bytes"], want))
    print("findings: %s" % ", ".join("%s %s" % (k, v["data-fbytes"]) for k, v in sorted(f.items())))


def retained(path, model_path):
    """The #selftest's switch to colour by retained bytes against the
    model's retained bytes (tests/pkggraph.py over the image's tree: dpkg
    and pip only, so npm and apk rows of the legend go unchecked)."""
    model = {}
    for line in open(model_path, encoding="utf-8"):
        f = line.rstrip("\n").split("\t")
        model["%s:%s" % (f[0], f[1])] = int(f[5])
    if not model:
        fail("the model lists no package: nothing to compare")
    st = json.loads(dom(path).selftest or "{}").get("retained")
    if not st:
        fail("the self-test did not switch to retained bytes")
    if not st["scale"]:
        fail("the retained legend has no scale")
    leg = st["legend"]
    figures = [r for _, r, _ in leg]
    if figures != sorted(figures, reverse=True):
        fail("the legend is not most retained first: %r" % leg)
    checked = 0
    for name, r, text in leg:
        if name in model:
            if model[name] != r:
                fail("legend: %s retains %d, the model %d" % (name, r, model[name]))
            checked += 1
    if not checked:
        fail("no legend row (%r) is a package the model knows" % leg)
    # the legend holds the top of the model: none it leaves out retains more
    # than its last row (all positive ones when it has fewer than 15 rows)
    floor = figures[-1] if len(leg) >= 15 else 1
    shown = {n for n, _, _ in leg}
    for name, r in model.items():
        if r > floor and name not in shown:
            fail("the model's %s retains %d, more than the legend's last %d, and is not in it"
                 % (name, r, floor))
    before, after = st["layer_leaves"], st["leaves"]
    if len(before) != len(after) or [b[:2] for b in before] != [a[:2] for a in after]:
        fail("the map's leaves differ between the modes: %d against %d" % (len(before), len(after)))
    changed = sum(1 for b, a in zip(before, after) if b[2] != a[2])
    if not changed:
        fail("switching to retained bytes changed no leaf's colour")
    # one colour a package, lightness falling as the model's figure grows
    fill, light = {}, []
    for p, pkg, f in after:
        if pkg is None:
            if f not in ("#c8c8c8", "url(#hatch)"):  # no package, or hidden bytes
                fail("%s has no package but is coloured %s" % (p, f))
            continue
        if fill.setdefault(pkg, f) != f:
            fail("%s: the leaves of %s have colours %s and %s" % (p, pkg, fill[pkg], f))
    for pkg, f in fill.items():
        m = re.match(r"hsl\(\d+,\d+%,([\d.]+)%\)", f)
        if pkg in model and m:
            light.append((model[pkg], float(m.group(1)), pkg))
    light.sort()
    for (r0, l0, p0), (r1, l1, p1) in zip(light, light[1:]):
        if r1 > r0 and l1 > l0:
            fail("%s retains %d and is lighter (%.1f %%) than %s with %d (%.1f %%)"
                 % (p1, r1, l1, p0, r0, l0))
    print("retained: %d legend rows equal the model's, %d of %d leaves recoloured, "
          "%d packages in order of lightness" % (checked, changed, len(after), len(light)))


def main():
    what, args = sys.argv[1], sys.argv[2:]
    if what == "selfcontained":
        selfcontained(args[0])
    elif what == "click":
        click(args[0], load(args[1]), args[2])
    elif what == "retained":
        retained(args[0], args[1])
    elif what == "findings":
        # findings DOM REF CHECK_JSON ELF_JSON
        findings(args[0], *[load(a) for a in args[1:4]])
    elif what == "tabs":
        # tabs DOM N PATH IMAGE REF [IMAGE REF...]
        pairs = args[3:]
        tabs(args[0], pairs[0::2], [load(r) for r in pairs[1::2]], int(args[1]), args[2])
    else:
        {"png": png, "legend": legend, "areas": areas, "svg": svg}[what](args[0], load(args[1]))


main()
