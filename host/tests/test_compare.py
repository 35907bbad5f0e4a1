"""The platform comparison (racebed_harness/compare.py, tools/racebed-report --compare) and the
README's platform table (tools/platforms-table.py) on small hand-written logs."""

import os
import subprocess
import sys
import tempfile
import unittest
from typing import Dict, Optional

from racebed_harness.compare import compare, headline_table, render_text
from racebed_harness.export import BootRecord
from racebed_harness.ktap import parse_ktap

from .common import REPO, REPORT_TOOL

TABLE_TOOL = os.path.join(REPO, "tools", "platforms-table.py")


def ktap(*tests: str) -> str:
    """A complete log: each test is (observation lines, newline-separated) + its name last."""
    out = ["KTAP version 1", f"1..{len(tests)}"]
    for i, t in enumerate(tests, 1):
        *lines, name = t.strip().split("\n")
        out += lines + [f"ok {i} {name}"]
    out.append(f"# Totals: pass:{len(tests)} fail:0 skip:0 total:{len(tests)}")
    return "\n".join(out) + "\n"


def obs(name: str, word: str, hits: int, trials: int, verdict: str, vendor: str) -> str:
    return f"# observation {name}={word} {hits}/{trials} arch={verdict} ref=SDM-X vendor={vendor}"


# Two references (an Intel and an AMD platform) and a user's log. x: the user's log is the odd
# one out (and deviates); y: the vendors' verdicts differ, the words agree; u: unreached
# everywhere; v: Unreached in one log, the same word in the others (not a difference); w: only
# the references have it.
REF_INTEL = ktap("\n".join([obs("x", "Never", 0, 10, "never", "intel"),
                            obs("y", "Always", 5, 5, "never", "intel"),
                            obs("u", "Unreached", 0, 0, "never", "intel"),
                            obs("v", "Unreached", 0, 0, "allowed", "intel"),
                            obs("w", "Sometimes", 1, 9, "allowed", "intel"), "sti"]))
REF_AMD = ktap("\n".join([obs("x", "Never", 0, 12, "never", "amd"),
                          obs("y", "Always", 4, 4, "model-specific", "amd"),
                          obs("u", "Unreached", 0, 0, "never", "amd"),
                          obs("v", "Sometimes", 2, 9, "allowed", "amd"),
                          obs("w", "Never", 0, 9, "allowed", "amd"), "sti"]))
USER = ktap("\n".join([obs("y", "Always", 7, 7, "never", "intel"),
                       obs("x", "Sometimes", 3, 10, "never", "intel"),
                       obs("u", "Unreached", 0, 0, "never", "intel"),
                       obs("v", "Sometimes", 1, 8, "allowed", "intel"), "sti"]))


def record(name: str, text: str) -> BootRecord:
    return BootRecord(name, name + ".log", parse_ktap(text))


class TestCompare(unittest.TestCase):
    def setUp(self) -> None:
        self.records = [record("intel", REF_INTEL), record("amd", REF_AMD), record("mine", USER)]

    def test_order_and_odd_cells(self):
        cmp = compare(self.records, references=2)
        self.assertEqual([r.key for r in cmp.differ], ["sti.x"])
        self.assertEqual([r.key for r in cmp.agree], ["sti.y", "sti.v"])
        self.assertEqual([r.key for r in cmp.unreached], ["sti.u"])
        self.assertEqual(cmp.differ[0].odd, {2})
        self.assertEqual(cmp.left_out, 1)  # sti.w: only the references have it
        # the references alone: w differs (Sometimes against Never), a tie: both cells odd
        alone = compare(self.records[:2])
        self.assertEqual([r.key for r in alone.differ], ["sti.w"])
        self.assertEqual(alone.differ[0].odd, {0, 1})
        self.assertEqual(alone.left_out, 0)
        self.assertIn("sti.w", [r.key for r in compare(self.records, 2, show_all=True).differ])

    def test_verdict_per_vendor(self):
        rows = {r.key: r for r in compare(self.records, 2).agree + compare(self.records, 2).differ}
        self.assertEqual(rows["sti.y"].arch_text(), "intel never, amd model-specific")
        self.assertEqual(rows["sti.x"].arch_text(), "never")

    def test_text_and_markdown(self):
        cmp = compare(self.records, 2)
        text = render_text(cmp)
        self.assertLess(text.index("1 observations differ"), text.index("2 observations agree"))
        self.assertLess(text.index("2 observations agree"), text.index("1 unreached in every log"))
        self.assertIn("*Sometimes 3/10!", text)  # the odd cell, and a deviation from `never`
        self.assertIn("mine (yours)", text)
        self.assertIn("1 observations that only the reference logs have are left out", text)
        line = next(l for l in text.split("\n") if l.startswith("sti.x "))
        self.assertEqual(line.split()[:5], ["sti.x", "never", "Never", "0/10", "Never"])
        md = render_text(cmp, markdown=True)
        self.assertIn("| `sti.x` | never | Never 0/10 | Never 0/12 | **Sometimes 3/10!** |", md)
        self.assertIn("| `sti.v` | allowed | Unreached 0/0 | Sometimes 2/9 | Sometimes 1/8 |", md)

    def test_headline_table(self):
        log = ktap("\n".join([obs("nmi_in_shadow", "Sometimes", 3, 9, "model-specific", "amd"),
                              "sti_shadow_nmi"]),
                   "\n".join([obs("old_code_cpuid_orig", "Never", 0, 5, "never", "intel"),
                              obs("old_code_cpuid_alias", "Always", 2, 2, "never", "intel"),
                              obs("old_code_plain_orig", "Always", 9, 9, "allowed", "intel"),
                              "poke_sdm_flag"]))
        other = ktap("\n".join([obs("nmi_in_shadow", "Unreached", 0, 0, "allowed", "intel"),
                                "sti_shadow_nmi"]))
        rows = headline_table([record("a", log), record("b", other)])
        nmi = next(r for r in rows if "sti_shadow_nmi.nmi_in_shadow" in r)
        self.assertEqual(nmi.split(" | ")[1:], ["Sometimes 3/9", "Unreached", "intel: allowed, amd: model-specific |"])
        stale = next(r for r in rows if "poke_sdm_flag.old_code_cpuid_*" in r)
        # cpuid_* added up; bold: old_code_cpuid_alias contradicts `never`
        self.assertEqual(stale.split(" | ")[1:3], ["**Sometimes 2/7**", "not run"])


def run(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, **(env or {})))


class TestCompareTools(unittest.TestCase):
    def test_report_compare(self):
        with tempfile.TemporaryDirectory() as tmp:
            refs = os.path.join(tmp, "refs")
            os.mkdir(refs)
            for name, text in (("intel", REF_INTEL), ("amd", REF_AMD)):
                with open(os.path.join(refs, f"{name}.log"), "w") as f:
                    f.write(text)
            mine = os.path.join(tmp, "mine.log")
            with open(mine, "w") as f:
                f.write(USER)
            done = run(REPORT_TOOL, "--compare", refs, mine, "--html", os.path.join(tmp, "html"))
            self.assertEqual(done.returncode, 0, done.stderr)
            out = done.stdout
            # the references in file-name order, the user's log last
            self.assertIn("amd  ", out)
            head = next(l for l in out.split("\n") if l.startswith("observation"))
            self.assertEqual(head.split()[2:], ["amd", "intel", "mine", "(yours)"])
            self.assertLess(out.index("differ between"), out.index("agree"))
            with open(os.path.join(tmp, "html", "index.html")) as f:
                page = f.read()
            self.assertIn("1 observations differ between the platforms", page)
            self.assertIn("<td class='Sometimes differs'>Sometimes 3/10", page)
            md = run(REPORT_TOOL, "--compare", refs, mine, "--markdown", "-")
            self.assertIn("**Sometimes 3/10!**", md.stdout)
            self.assertNotIn("*Sometimes 3/10!  ", md.stdout)  # markdown only, no text table
            alone = run(REPORT_TOOL, "--compare", refs)  # the references by themselves
            self.assertEqual(alone.returncode, 0, alone.stderr)
            self.assertNotIn("(yours)", alone.stdout)
            self.assertIn("sti.w", alone.stdout)
            self.assertEqual(run(REPORT_TOOL, "--compare", os.path.join(tmp, "nothing")).returncode, 2)

    def test_platforms_table_check(self):
        with tempfile.TemporaryDirectory() as root:
            folder = os.path.join(root, "host", "samples", "platforms")
            os.makedirs(folder)
            with open(os.path.join(folder, "p.log"), "w") as f:
                f.write(ktap("\n".join([obs("nmi_in_shadow", "Never", 0, 4, "allowed", "intel"),
                                        "sti_shadow_nmi"])))
            readme = os.path.join(root, "README.md")
            with open(readme, "w") as f:
                f.write("# x\n<!-- platforms: generated by `make platforms-table` from "
                        "host/samples/platforms; edit those -->\nold\n<!-- end of platforms -->\ntail\n")
            env = {"RACEBED_ROOT": root}
            self.assertEqual(run(TABLE_TOOL, "--check", env=env).returncode, 1)
            self.assertEqual(run(TABLE_TOOL, env=env).returncode, 0)
            self.assertEqual(run(TABLE_TOOL, "--check", env=env).returncode, 0)
            with open(readme) as f:
                text = f.read()
            self.assertIn("| NMI in the STI shadow (`sti_shadow_nmi.nmi_in_shadow`) | Never 0/4 | allowed |", text)
            self.assertTrue(text.endswith("<!-- end of platforms -->\ntail\n"))
            with open(os.path.join(folder, "p.log"), "w") as f:  # a changed log: stale again
                f.write(ktap("\n".join([obs("nmi_in_shadow", "Always", 1, 1, "allowed", "intel"),
                                        "sti_shadow_nmi"])))
            self.assertEqual(run(TABLE_TOOL, "--check", env=env).returncode, 1)


if __name__ == "__main__":
    unittest.main()
