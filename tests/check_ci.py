#!/usr/bin/env python3
"""imgfs check against a table of .dive-ci files: each must get dive's
verdict (exit 0 pass, 1 a rule fails, 2 the config is rejected).

The expected verdicts come from two independent sources, never from imgfs:
- the thresholds dive uses for each config, read off dive's source
  (wagoodman/dive v0.13, commit d6c6919):
  cmd/dive/cli/internal/options/ci.go PostLoad: the file is
    yaml.v3-Unmarshalled over DefaultCIRules, an Unmarshal error is fatal;
  cmd/dive/cli/internal/options/ci_rules.go DefaultCIRules:
    lowestEfficiency "0.9", highestWastedBytes "disabled",
    highestUserWastedPercent "0.1";
  cmd/dive/cli/internal/command/ci/rules.go: isRuleDisabled ("", disabled,
    off, false after TrimSpace+ToLower), strconv.ParseFloat and the 0-1
    range for the two ratios, humanize.ParseBytes for highestWastedBytes,
    fail when threshold > efficiency, wasted > threshold, user% > threshold;
  dustin/go-humanize v1.0.1 bytes.go ParseBytes: digits, '.' and ','
    (commas dropped), then a unit after optional spaces, any case, k=1000,
    ki=1024, "" and b = 1, the float truncated to uint64;
  gopkg.in/yaml.v3 v3.0.1 decode.go: a null value leaves the default
    (d.null on a string), a duplicate key is an error (d.mapping), a
    sequence into a string is a type error, "<<" merges with the explicit
    keys winning (mappingStruct, merge);
  Go's strconv.ParseFloat: '_' between digits, 0x...p... literals.
- the image's figures from dive's own export of the same image
  (../shared/fixtures/peers/dive/expected/export_test.snap):
  efficiencyScore, inefficientBytes, and user bytes = sizeBytes - the first
  layer's sizeBytes (dive/image/analysis.go: WastedUserPercent =
  wasted / bytes of every layer but the first).

One deliberate difference from dive: a ratio of NaN ("nan") passes dive's
0-1 check (every comparison with NaN is false in Go) and then can never
fail; imgfs rejects it (exit 2).  Rows marked DEVIATION say so.

Environment (set by meson): IMGFS, SRCDIR, BUILDDIR; FIXTURES_DIR replaces
../shared/fixtures.  Without the dive fixture the run is a skip (77), a
failure under CI.
"""
import json
import os
import shutil
import subprocess
import sys

SRCDIR = os.environ.get("SRCDIR", os.path.join(os.path.dirname(__file__), ".."))
BUILDDIR = os.environ.get("BUILDDIR", os.path.join(SRCDIR, "build", "tests"))
IMGFS = os.environ.get("IMGFS", os.path.join(SRCDIR, "build", "tools", "imgfs"))
FX = os.environ.get("FIXTURES_DIR", os.path.join(SRCDIR, "..", "shared", "fixtures"))
IMAGE = os.path.join(FX, "peers", "dive", "test-docker-image.tar")
SNAP = os.path.join(FX, "peers", "dive", "expected", "export_test.snap")
DIVE_CI = os.path.join(FX, "peers", "dive", "expected", "dive-ci.yaml")
passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   - " + what)
    else:
        failed += 1
        print("FAIL - " + what + (": " + detail if detail else ""))


def skip(why):
    if os.environ.get("CI"):
        print("FAIL - %s (a skip under CI: CI has the fixtures)" % why)
        sys.exit(1)
    print("SKIP: " + why)
    sys.exit(77)


# An expected outcome: the thresholds dive ends up with (None: the rule is
# disabled), or ERR(line): the config is rejected, naming that line.
class ERR:
    def __init__(self, line, says=""):
        self.line = line
        self.says = says


def T(eff=0.9, wasted=None, user=0.1):
    return (eff, wasted, user)


D = T()   # dive's defaults

# (name, .dive-ci text, outcome).  Figures of the image (from the snapshot):
# efficiency 0.98442, wasted 32025 bytes, user wasted 0.48349.
ROWS = [
    # the file is laid over the defaults
    ("empty file", "", D),
    ("comments only", "# nothing here\n", D),
    ("a null document", "---\n", D),
    ("rules: null", "rules:\n", D),
    ("only highestWastedBytes: the other two keep their defaults",
     "rules:\n  highestWastedBytes: 20MB\n", T(wasted=20000000)),
    ("only highestUserWastedPercent", "rules:\n  highestUserWastedPercent: 0.5\n", T(user=0.5)),
    ("typo top key 'rule:' is ignored: defaults", "rule:\n  highestUserWastedPercent: 0.9\n", D),
    ("typo rule key is ignored",
     "rules:\n  lowestEfficency: 0.99\n  highestUserWastedPercent: 0.5\n", T(user=0.5)),
    ("snake-case keys are the app config's, not .dive-ci's",
     "rules:\n  lowest-efficiency: 0.99\n  highest-user-wasted-percent: 0.9\n", D),
    ("null value keeps the default", "rules:\n  highestUserWastedPercent: ~\n", D),
    ("null (empty) value keeps the default", "rules:\n  highestUserWastedPercent:\n", D),
    ("unknown top keys and plugins are ignored",
     "plugins:\n  - plugin1\nrules:\n  highestUserWastedPercent: 0.5\n  plugin1/rule1: error\n",
     T(user=0.5)),
    # YAML errors are fatal
    ("broken flow sequence", "rules: [1, 2\n", ERR(2)),
    ("bad indentation", "rules:\n  lowestEfficiency: 0.9\n highestWastedBytes: 1\n", ERR(3)),
    ("tab indentation", "rules:\n\tlowestEfficiency: 0.9\n", ERR(2)),
    ("top level is a scalar", "rule\n", ERR(1)),
    ("top level is a sequence", "- rules\n", ERR(1)),
    ("rules is a scalar", "rules: 5\n", ERR(1)),
    ("rules is a sequence", "rules:\n  - lowestEfficiency: 0.9\n", ERR(2)),
    ("a value is a sequence", "rules:\n  lowestEfficiency: [0.9]\n", ERR(2)),
    ("a duplicate rule key", "rules:\n  lowestEfficiency: 0.5\n  lowestEfficiency: 0.6\n", ERR(3)),
    ("a duplicate top key", "rules:\n  lowestEfficiency: 0.5\nrules:\n  lowestEfficiency: 0.6\n",
     ERR(3)),
    # the ratios: strconv.ParseFloat, then 0 <= x <= 1
    ("lowestEfficiency 0.98 passes", "rules:\n  lowestEfficiency: 0.98\n  highestUserWastedPercent: 0.5\n",
     T(eff=0.98, user=0.5)),
    ("lowestEfficiency 0.985 fails", "rules:\n  lowestEfficiency: 0.985\n  highestUserWastedPercent: 0.5\n",
     T(eff=0.985, user=0.5)),
    ("lowestEfficiency .99 (no leading zero)", "rules:\n  lowestEfficiency: .99\n", T(eff=0.99)),
    ("lowestEfficiency 0.98_5 (Go underscores, = 0.985) fails",
     "rules:\n  lowestEfficiency: 0.98_5\n  highestUserWastedPercent: 0.5\n", T(eff=0.985, user=0.5)),
    ("lowestEfficiency 9_8.5e-0_2 (= 0.985) fails",
     "rules:\n  lowestEfficiency: 9_8.5e-0_2\n  highestUserWastedPercent: 0.5\n", T(eff=0.985, user=0.5)),
    ("highestUserWastedPercent 0x1p-1 (Go hex float, = 0.5)",
     "rules:\n  highestUserWastedPercent: 0x1p-1\n", T(user=0.5)),
    ("highestUserWastedPercent 0.48 fails", "rules:\n  highestUserWastedPercent: 0.48\n", T(user=0.48)),
    ("highestUserWastedPercent 1 passes", "rules:\n  highestUserWastedPercent: 1\n", T(user=1.0)),
    ("lowestEfficiency nan (DEVIATION: dive passes it)", "rules:\n  lowestEfficiency: nan\n", ERR(2)),
    ("highestUserWastedPercent NaN (DEVIATION)", "rules:\n  highestUserWastedPercent: NaN\n", ERR(2)),
    ("lowestEfficiency inf is out of range", "rules:\n  lowestEfficiency: inf\n", ERR(2)),
    ("lowestEfficiency 1.5 is out of range", "rules:\n  lowestEfficiency: 1.5\n", ERR(2)),
    ("highestUserWastedPercent -0.1 is out of range", "rules:\n  highestUserWastedPercent: -0.1\n",
     ERR(2)),
    ("lowestEfficiency 95% is not a number", "rules:\n  lowestEfficiency: 95%\n", ERR(2)),
    ("lowestEfficiency .nan (YAML's NaN) is not a Go float",
     "\n\nrules:\n  lowestEfficiency: .nan\n", ERR(4)),
    ("a quoted ' 0.5' is not trimmed by ParseFloat",
     "rules:\n  highestUserWastedPercent: ' 0.5'\n", ERR(2)),
    ("underscore not between digits", "rules:\n  lowestEfficiency: 0._9\n", ERR(2)),
    # the byte sizes: go-humanize ParseBytes, compared with > on uint64
    ("20MB", "rules:\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: 0.5\n",
     T(wasted=20000000, user=0.5)),
    ("20MiB", "rules:\n  highestWastedBytes: 20MiB\n  highestUserWastedPercent: 0.5\n",
     T(wasted=20 * 2**20, user=0.5)),
    ("20Mb (dive's own example, any case)",
     "rules:\n  highestWastedBytes: 20Mb\n  highestUserWastedPercent: 0.5\n",
     T(wasted=20000000, user=0.5)),
    ("32025 (exactly the wasted bytes) passes",
     "rules:\n  highestWastedBytes: 32025\n  highestUserWastedPercent: 0.5\n", T(wasted=32025, user=0.5)),
    ("32024 fails", "rules:\n  highestWastedBytes: 32024\n  highestUserWastedPercent: 0.5\n",
     T(wasted=32024, user=0.5)),
    ("32KB = 32000 fails", "rules:\n  highestWastedBytes: 32KB\n  highestUserWastedPercent: 0.5\n",
     T(wasted=32000, user=0.5)),
    ("32KiB = 32768 passes", "rules:\n  highestWastedBytes: 32KiB\n  highestUserWastedPercent: 0.5\n",
     T(wasted=32768, user=0.5)),
    ("32 k (space, no B)", "rules:\n  highestWastedBytes: 32 k\n  highestUserWastedPercent: 0.5\n",
     T(wasted=32000, user=0.5)),
    ("'32,025' (commas dropped)",
     "rules:\n  highestWastedBytes: '32,025'\n  highestUserWastedPercent: 0.5\n",
     T(wasted=32025, user=0.5)),
    ("32.0249 kb truncates to 32024",
     "rules:\n  highestWastedBytes: 32.0249 kb\n  highestUserWastedPercent: 0.5\n",
     T(wasted=32024, user=0.5)),
    ("0.5 truncates to 0 bytes", "rules:\n  highestWastedBytes: 0.5\n  highestUserWastedPercent: 0.5\n",
     T(wasted=0, user=0.5)),
    ("1e is an exabyte", "rules:\n  highestWastedBytes: 1e\n  highestUserWastedPercent: 0.5\n",
     T(wasted=10**18, user=0.5)),
    ("20 XB: unknown unit", "rules:\n  highestWastedBytes: 20 XB\n", ERR(2)),
    ("MB: no number", "rules:\n  highestWastedBytes: MB\n", ERR(2)),
    ("-1: no sign in ParseBytes", "rules:\n  highestWastedBytes: -1\n", ERR(2)),
    ("1e3: the e is a unit, 'e3' is not", "rules:\n  highestWastedBytes: 1e3\n", ERR(2)),
    ("20EiB is 2^64 or more: too large", "rules:\n  highestWastedBytes: 20EiB\n", ERR(2)),
    # disabled
    ("disabled", "rules:\n  highestUserWastedPercent: disabled\n", T(user=None)),
    ("off", "rules:\n  highestUserWastedPercent: off\n", T(user=None)),
    ("FALSE (any case)", "rules:\n  highestUserWastedPercent: FALSE\n", T(user=None)),
    ("'' (quoted empty)", "rules:\n  highestUserWastedPercent: ''\n", T(user=None)),
    ("' Disabled ' (trimmed)", "rules:\n  highestUserWastedPercent: ' Disabled '\n", T(user=None)),
    ("all three disabled",
     "rules:\n  lowestEfficiency: off\n  highestWastedBytes: off\n  highestUserWastedPercent: off\n",
     T(eff=None, user=None)),
    # merges (yaml.v3 follows "<<"; the explicit key wins)
    ("a merged rule", "base: &b\n  highestUserWastedPercent: 0.6\nrules:\n  <<: *b\n", T(user=0.6)),
    ("an explicit key wins over the merged one",
     "base: &b\n  highestUserWastedPercent: 0.6\nrules:\n  highestUserWastedPercent: 0.2\n  <<: *b\n",
     T(user=0.2)),
    ("a mapping that merges itself", "a: &a\n  <<: *a\nrules:\n  <<: *a\n", ERR(0)),
    # hostile files: a clear exit 2, fast (dive's Go parsers reject a NUL
    # byte; libyaml's scanner slows down quadratically with the nesting)
    ("a value of two lines: the error stays on one",
     'rules:\n  lowestEfficiency: "0.5\n\n    x"\n', ERR(2, 'invalid value "0.5\\nx"')),
    ("a \\0 in a value", 'rules:\n  lowestEfficiency: "0.5\\0"\n', ERR(2, "NUL")),
    ("nested 200000 deep", "x: " + "[" * 200000 + "]" * 200000 + "\n", ERR(1, "nested deeper")),
    ("100000 keys, the last equal to the first",
     "".join("k%d: 1\n" % i for i in range(100000)) + "k0: 2\n", ERR(100001, 'key "k0" already defined at line 1')),
    ("100000 keys, none twice: ignored", "".join("k%d: 1\n" % i for i in range(100000)) +
     "rules:\n  highestUserWastedPercent: 0.5\n", T(user=0.5)),
    ("80000 keys merged 69 times: too many merges",
     "a: &a\n" + "".join("  k%d: 1\n" % i for i in range(80000)) + "rules:\n  <<: [" +
     ",".join(["*a"] * 69) + "]\n", ERR(1, "too many")),
    ("larger than 1 MiB", "#" * (1 << 20) + "\n", ERR(0, "larger than")),
]


def verdict(t, fig):
    eff_t, wasted_t, user_t = t
    fails = ((eff_t is not None and eff_t > fig["eff"]) or
             (wasted_t is not None and fig["wasted"] > wasted_t) or
             (user_t is not None and fig["user"] > user_t))
    return 1 if fails else 0


def main():
    if not (os.path.isfile(IMAGE) and os.path.isfile(SNAP)):
        skip("the dive fixture %s is missing" % IMAGE)
    text = open(SNAP).read()
    snap = json.loads(text[text.index("{"):text.rindex("}") + 1])
    wasted = snap["image"]["inefficientBytes"]
    user = snap["image"]["sizeBytes"] - snap["layer"][0]["sizeBytes"]
    fig = {"eff": snap["image"]["efficiencyScore"], "wasted": wasted, "user": wasted / user}
    work = os.path.join(BUILDDIR, "check_ci")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"))
    seen = set()

    def run(cfg, *extra):
        args = [IMGFS, "check"] + list(extra) + (["--ci-config", cfg] if cfg else []) + [IMAGE]
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)

    # without a config: dive's defaults
    r = run(None)
    want = verdict(D, fig)
    check(r.returncode == want, "no config: dive's defaults give exit %d" % want,
          "exit %d, stderr %r" % (r.returncode, r.stderr))
    # thresholds equal to the figures pass: dive's comparisons are strict
    rows = ROWS + [
        ("lowestEfficiency equal to the efficiency passes",
         "rules:\n  lowestEfficiency: %r\n  highestUserWastedPercent: 0.5\n" % fig["eff"],
         T(eff=fig["eff"], user=0.5)),
        ("highestUserWastedPercent equal to the fraction passes",
         "rules:\n  highestUserWastedPercent: %r\n" % fig["user"], T(user=fig["user"])),
    ]
    for i, (name, body, outcome) in enumerate(rows):
        cfg = os.path.join(work, "c%02d.dive-ci" % i)
        with open(cfg, "w") as f:
            f.write(body)
        r = run(cfg)
        err = r.stderr.splitlines()
        if isinstance(outcome, ERR):
            seen.add(2)
            prefix = "imgfs: %s:%d: " % (cfg, outcome.line) if outcome.line else "imgfs: %s:" % cfg
            ok = (r.returncode == 2 and len(err) == 1 and err[0].startswith(prefix) and
                  outcome.says in err[0] and r.stdout == "")
            check(ok, "%s: exit 2, one line naming %s" % (name, prefix.strip()),
                  "exit %d, stderr %r" % (r.returncode, r.stderr))
        else:
            want = verdict(outcome, fig)
            seen.add(want)
            check(r.returncode == want, "%s: exit %d" % (name, want),
                  "exit %d, stdout %r, stderr %r" % (r.returncode, r.stdout[-300:], r.stderr))
    check(seen == {0, 1, 2}, "the table holds passes, failures and rejections", str(seen))

    # the defaults laid under the file, as --json prints them
    cfg = os.path.join(work, "only-wasted.dive-ci")
    with open(cfg, "w") as f:
        f.write("rules:\n  highestWastedBytes: 20MB\n")
    r = run(cfg, "--json")
    try:
        th = {x["rule"]: x["threshold"] for x in json.loads(r.stdout)["rules"]}
    except (ValueError, KeyError) as e:
        th = {"error": str(e)}
    check(th.get("lowestEfficiency") == "0.9" and th.get("highestWastedBytes") == "20MB" and
          th.get("highestUserWastedPercent") == "0.1",
          "--json: the file's highestWastedBytes over the defaults 0.9 and 0.1", str(th))

    # dive's own .dive-ci (its .data/.dive-ci): 0.95, 20Mb, 0.5 pass here
    if os.path.isfile(DIVE_CI):
        r = run(DIVE_CI)
        want = verdict(T(eff=0.95, wasted=20000000, user=0.5), fig)
        check(r.returncode == want, "dive's own .dive-ci: exit %d" % want,
              "exit %d, stderr %r" % (r.returncode, r.stderr))

    # several images: one result each, exit 1 when any fails, 2 when one
    # cannot be read (the others still checked and listed)
    cfgs = {}
    for name, t in (("pass", T(eff=0.0, user=1.0)), ("fail", T(eff=1.0, user=1.0))):
        cfgs[name] = (os.path.join(work, "multi-%s.dive-ci" % name), verdict(t, fig))
        with open(cfgs[name][0], "w") as f:
            f.write("rules:\n  lowestEfficiency: %r\n  highestUserWastedPercent: 1.0\n" % t[0])
    check(sorted(v for _, v in cfgs.values()) == [0, 1], "the model: one config passes, one fails")
    missing = os.path.join(work, "absent.tar")
    for name, (cfg, want) in cfgs.items():
        args = [IMGFS, "check", "--json", "--ci-config", cfg, IMAGE, IMAGE]
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        try:
            j = json.loads(r.stdout)
            res = [x["result"] for x in j["images"]]
        except (ValueError, KeyError) as e:
            j, res = {}, [str(e)]
        verdicts = ["FAIL" if want else "PASS"] * 2
        check(r.returncode == want and res == verdicts and j.get("failed") == 2 * want,
              "two images, %s config: exit %d, results %s" % (name, want, verdicts),
              "exit %d, %r, %r" % (r.returncode, res, r.stderr))
        args = [IMGFS, "check", "--ci-config", cfg, missing, IMAGE]
        r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        check(r.returncode == 2 and r.stderr.count("\n") == 1 and missing in r.stderr and
              r.stdout.count("result: ") == 1 and
              ("result: FAIL" if want else "result: PASS") in r.stdout and
              "images: 2 checked, %d failed" % (1 + want) in r.stdout,
              "%s config, an unreadable image first: exit 2, one line, the other still checked" % name,
              "exit %d, stdout %r, stderr %r" % (r.returncode, r.stdout[-300:], r.stderr))

    # a missing config file is an error, not the defaults
    r = run(os.path.join(work, "absent.dive-ci"))
    check(r.returncode == 2 and r.stderr.startswith("imgfs: %s: " % os.path.join(work, "absent.dive-ci")),
          "a missing config file: exit 2 naming it", "exit %d, %r" % (r.returncode, r.stderr))

    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
