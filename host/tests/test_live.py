"""make run's live view (racebed_harness/live.py) rendering the sample logs, and the headline
table it shares with the kernel's results screen."""

import io
import re
import unittest

from racebed_harness import headlines, live
from racebed_harness.ktap import ANSI_RE, parse_ktap

from .common import REPO, read_sample

ESC = "\x1b"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        self.now += 0.5
        return self.now


def render(sample: str, fancy: bool, width: int = 100, chunk: int = 777, ending: str = "exit value 0"):
    """Feeds a sample log in chunks of odd size (lines split across reads), as QEMU writes it."""
    out = io.StringIO()
    view = live.LiveView(out, fancy, width, FakeClock())
    text = read_sample(sample)
    for i in range(0, len(text), chunk):
        view.feed(text[i:i + chunk])
    log = view.finish(ending, "build/run/serial.log")
    return out.getvalue(), log


def result_lines(text: str):
    return [l for l in ANSI_RE.sub("", text.replace("\r\x1b[K", "\n")).split("\n")
            if re.match(r"  (ok|not ok|skip) ", l)]


class TestPlain(unittest.TestCase):
    def test_one_line_per_experiment_no_escapes(self):
        text, log = render("bios-smp8.log", fancy=False)
        self.assertNotIn(ESC, text)
        lines = result_lines(text)
        self.assertEqual(len(lines), len(log.tests))
        self.assertEqual(len(log.tests), 46)
        flip = next(l for l in lines if " poke_call_flip " in l)
        self.assertIn("stale_int3_after_sync=Sometimes", flip)  # the headline with hits
        skip = next(l for l in lines if l.startswith("  skip "))
        self.assertRegex(skip, r"needs|not run|SKIP|\w")
        self.assertIn("racebed: 45 passed, 0 failed, 1 skipped of 46", text)
        self.assertIn("NMI inside the STI shadow: Sometimes 4486/4615 (architecture: model-specific)", text)
        self.assertIn("Deviations from the architecture: 30", text)
        self.assertIn("... and 18 more (tools/racebed-report build/run/serial.log)", text)
        self.assertIn("Serial log: build/run/serial.log", text)
        self.assertIn("Platform: AuthenticAMD family 0xf model 0x6b", text)

    def test_timeout_failure_with_reason(self):
        text, _ = render("bios-smp8-timeout.log", fancy=False)
        self.assertNotIn(ESC, text)
        fail = [l for l in result_lines(text) if l.startswith("  not ok ")]
        self.assertTrue(fail)
        self.assertIn("TIMEOUT", fail[0])
        self.assertRegex(text, r"Failures: [1-9]")

    def test_truncated_run_says_what_it_saw(self):
        text, log = render("truncated-uefi.log", fancy=False, ending="QEMU killed by signal SIGKILL")
        self.assertIsNone(log.summary)
        self.assertIn("(QEMU killed by signal SIGKILL)", text)
        self.assertRegex(text, r"the run did not complete: \d+ of \d+ results seen")
        self.assertEqual(len(result_lines(text)), len(log.tests))

    def test_crash(self):
        text, log = render("crashed-smp4.log", fancy=False)
        self.assertTrue(log.crashed)
        self.assertIn("the run crashed", text)

    def test_garbage_only(self):
        out = io.StringIO()
        view = live.LiveView(out, False, 80, FakeClock())
        view.feed("SeaBIOS (version 1.16)\r\nBooting from DVD/CD...\n")
        view.finish("QEMU exited 0", "x.log")
        self.assertIn("no KTAP output at all", out.getvalue())


class TestTerminal(unittest.TestCase):
    def test_colour_status_line_and_width(self):
        text, log = render("bios-smp8.log", fancy=True, width=100)
        self.assertIn("\x1b[32mok\x1b[0m", text)
        self.assertIn("\x1b[33mskip\x1b[0m", text)
        self.assertRegex(text, r"\[#+\.*\] \d+ of 46  \d+:\d\d  \w+ \(\d+:\d\d\)")
        for l in ANSI_RE.sub("", text.replace("\r", "\n")).split("\n"):
            self.assertLessEqual(len(l), 100, l)
        self.assertEqual(len(result_lines(text)), len(log.tests))

    def test_not_ok_in_red(self):
        text, _ = render("bios-smp8-timeout.log", fancy=True)
        self.assertIn("\x1b[1;31mnot ok\x1b[0m", text)

    def test_too_narrow_degrades_to_plain(self):
        text, _ = render("bios-smp8.log", fancy=True, width=live.MIN_WIDTH - 1)
        self.assertNotIn(ESC, text)
        self.assertIn("racebed: 45 passed", text)

    def test_status_line(self):
        self.assertEqual(live.status_line(None, 0, None, 5, 0, 80), "  booting (firmware, GRUB menu) 0:05")
        s = live.status_line("sti_shadow_nmi", 10, 40, 125, 3, 80)
        self.assertEqual(s, "  [#####...............] 11 of 40  2:05  sti_shadow_nmi (0:03)")
        self.assertEqual(len(live.status_line("x" * 200, 1, 2, 1, 1, 70)), 70)


class TestHeadlineTable(unittest.TestCase):
    def test_same_as_the_kernels(self):
        with open(f"{REPO}/kernel/results.c") as f:
            source = f.read()
        rows = re.findall(r'\{\s*"([^"]+)",\s*"([^"]+)",\s*"([^"]+)"\s*\}', source)
        self.assertEqual(tuple(rows), headlines.HEADLINES)

    def test_poke_rows_add_up(self):
        log = parse_ktap(read_sample("bios-smp8.log"))
        by_label = {h.label: h for h in headlines.log_headlines(log)}
        stale = by_label["Stale int3 run after a poke's sync"]
        self.assertEqual((stale.hits, stale.trials, stale.verdict, stale.seen), (466, 1593851, "never", 2))
        self.assertEqual(stale.text(short=True),
                         "Stale int3 run after a poke's sync: Sometimes 466/1593851 (arch: never)")


if __name__ == "__main__":
    unittest.main()
