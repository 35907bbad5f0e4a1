"""tools/racebed-report and tools/list-experiments.py, run as programs on the sample logs
(the kunit.py cross-check: test_kunit.py)."""

import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest


from .common import LIST_TOOL, REPO, REPORT_TOOL, read_sample, sample

def report(*args):
    return subprocess.run([sys.executable, REPORT_TOOL, *args], capture_output=True, text=True, timeout=120)


class TestReportTool(unittest.TestCase):
    def test_broken_logs_get_a_line_not_a_traceback(self):
        for name, needle in (("truncated-uefi.log", ": line "), ("garbled.log", "line 4: expected a `#`")):
            done = report(sample(name))
            self.assertEqual(done.returncode, 2, done.stderr)
            self.assertIn(needle, done.stderr)
            self.assertNotIn("Traceback", done.stderr + done.stdout)
        done = report("/nonexistent/x.log")
        self.assertEqual(done.returncode, 2)
        self.assertIn("cannot read", done.stderr)
        self.assertNotIn("Traceback", done.stderr)

    def test_exit_status(self):
        self.assertEqual(report(sample("uefi-q35-smp8.log")).returncode, 0)
        crashed = report(sample("crashed-smp4.log"))
        self.assertEqual(crashed.returncode, 1)
        self.assertIn("crashed in selftest_crash", crashed.stdout)

    def test_outputs(self):
        with tempfile.TemporaryDirectory() as tmp:
            done = report("--html", os.path.join(tmp, "html"), "--json", os.path.join(tmp, "r.json"),
                          "--junit", os.path.join(tmp, "j.xml"), "--name", "uefi",
                          sample("uefi-q35-smp8.log"), sample("bios-smp8.log"), sample("formats.log"))
            self.assertEqual(done.returncode, 1, done.stderr)  # formats.log has a failed test
            with open(os.path.join(tmp, "r.json")) as f:
                self.assertEqual([r["name"] for r in json.load(f)["runs"]], ["uefi", "bios-smp8", "formats"])
            files = os.listdir(os.path.join(tmp, "html"))
            self.assertIn("index.html", files)
            self.assertIn("pairs-formats-sti_shadow_nmi.png", files)
            self.assertIn("hist-ipi_fixed-ipi_roundtrip.png", files)
            with open(os.path.join(tmp, "html", "pairs-formats-sti_shadow_nmi.png"), "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            with open(os.path.join(tmp, "html", "index.html")) as f:
                page = f.read()
            self.assertIn("Platform matrix", page)
            self.assertIn("<th>uefi</th>", page)

    def test_platform_matrix_outlines_the_odd_cell(self):
        head = "KTAP version 1\n1..1\n"
        tail = "ok 1 sti\n# Totals: pass:1 fail:0 skip:0 total:1\n"
        logs = {"a": "# observation x=Never 0/10\n# observation y=Always 5/5\n",
                "b": "# observation x=Never 0/10\n# observation y=Sometimes 3/5\n",
                "c": "# observation x=Never 0/10\n# observation y=Always 5/5\n"}
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name, body in logs.items():
                paths.append(os.path.join(tmp, f"{name}.log"))
                with open(paths[-1], "w") as f:
                    f.write(head + body + tail)
            done = report("--html", os.path.join(tmp, "html"), *paths)
            self.assertEqual(done.returncode, 0, done.stderr)
            with open(os.path.join(tmp, "html", "index.html")) as f:
                page = f.read()
        self.assertIn("2 observations; 1 differ", page)
        self.assertIn("<tr class=differs><th>sti.y</th>", page)
        self.assertNotIn("<tr class=differs><th>sti.x</th>", page)
        # only b's cell is the odd one out: in the table of differing rows and in the full matrix
        self.assertEqual(page.count("differs'>"), 2)
        differing = page[page.index("Observations that differ"):page.index("<details>")]
        self.assertIn("<th>sti.y</th>", differing)
        self.assertNotIn("<th>sti.x</th>", differing)
        self.assertIn("<td class='Sometimes differs'>Sometimes 3/5</td>", page)


class TestReportInBrowser(unittest.TestCase):
    """The HTML report rendered by a real browser (Debian's chromium, headless)."""

    def test_screenshot(self):
        chromium = shutil.which("chromium")
        if not chromium:
            self.skipTest("chromium not installed (tools/host-deps.sh installs it)")
        with tempfile.TemporaryDirectory() as tmp:
            html_dir = os.path.join(tmp, "html")
            done = report("--html", html_dir, sample("bios-smp8.log"), sample("formats.log"))
            self.assertLessEqual(done.returncode, 1, done.stderr)
            shot = os.path.join(tmp, "shot.png")
            subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                            "--no-first-run", "--disable-background-networking", "--disable-component-update",
                            "--disable-sync", f"--user-data-dir={os.path.join(tmp, 'profile')}",
                            f"--screenshot={shot}", "--window-size=1400,2000",
                            "file://" + os.path.join(html_dir, "index.html")],
                           capture_output=True, timeout=120)
            with open(shot, "rb") as f:
                png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", png[16:24])
        self.assertEqual((width, height), (1400, 2000))
        self.assertGreater(len(png), 50000)  # tables and plots, not a blank page


class TestListExperiments(unittest.TestCase):
    def test_fast_and_complete(self):
        elf = os.path.join(REPO, "build", "racebed.elf")
        if not os.path.isfile(elf):
            self.skipTest("build/racebed.elf not built")
        start = time.monotonic()
        done = subprocess.run([sys.executable, LIST_TOOL, elf], capture_output=True, text=True, timeout=30)
        took = time.monotonic() - start
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertLess(took, 1.0)
        rows = done.stdout.splitlines()
        self.assertRegex(rows[0], r"^boot\s+core\s+\S")
        self.assertTrue(any(r.startswith("exception_matrix") and " nmi " in r for r in rows))
        self.assertRegex(rows[-1], r"^\d+ experiments$")
        self.assertGreaterEqual(int(rows[-1].split()[0]), 35)

    def test_not_an_elf(self):
        done = subprocess.run([sys.executable, LIST_TOOL, sample("formats.log")], capture_output=True, text=True)
        self.assertEqual(done.returncode, 1)
        self.assertIn("not a little-endian ELF64", done.stderr)


if __name__ == "__main__":
    unittest.main()
