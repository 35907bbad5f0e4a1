"""The results screen on the VGA text screen and on a sized VGA: the kernel's framebuffer line,
the text page read from text memory, what it must hold, the +vga= option."""

import os
import tempfile
import unittest

from racebed_harness.boot import vga_size
from racebed_harness.inputs import HarnessError
from racebed_harness.ktap import parse_ktap
from racebed_harness.matrix import parse_matrix
from racebed_harness.screen import ScreenDump, check_screendump, framebuffer, text_page_problems, text_rows

from .test_lab_parts import _ppm

LOG = """\
KTAP version 1
1..3
ok 1 boot
# observation db_held_by_sti_shadow=Always 400/400 arch=never ref=SDM-2B-STI vendor=amd
ok 2 sti_single_step
not ok 3 selftest_hang # TIMEOUT watchdog
"""

PAGE = [
    "racebed results: FAILED",
    "Totals: pass:2 fail:1 skip:0 total:3",
    "",
    "Answers (hits/trials on this machine; what the architecture says):",
    "  #DB after STI held by the shadow: Always 400/400 (architecture: never)",
    "Failing tests (1):",
    "  selftest_hang: TIMEOUT (watchdog)",
    "Run record QR codes need a graphics screen: tools/racebed-report LOG.",
]


def cells(lines: list, cols: int = 80, rows: int = 25) -> bytes:
    """An EGA text page (character, grey-on-black attribute) holding lines."""
    out = bytearray()
    for r in range(rows):
        text = (lines[r] if r < len(lines) else "").ljust(cols)[:cols]
        for ch in text.encode("latin-1"):
            out += bytes((ch, 0x07))
    return bytes(out)


class TextScreen(unittest.TestCase):
    def test_framebuffer_line(self) -> None:
        serial = b"x\n# framebuffer 80x25 bpp 16 type 2 at 0xb8000: console\n"
        self.assertEqual(framebuffer(serial), (80, 25, 2, 0xB8000))
        self.assertEqual(framebuffer(b"# framebuffer 1920x1080 bpp 32 type 1 at 0x100000000: console\n"),
                         (1920, 1080, 1, 0x100000000), "an address above 4 GiB")
        self.assertIsNone(framebuffer(b"# framebuffer 800x600 bpp 8 type 0 at 0xfd000000: unusable\n"),
                          "a framebuffer the console does not use")

    def test_text_rows(self) -> None:
        page = cells(["hello", "", "\x01x"], cols=10, rows=3)
        self.assertEqual(text_rows(page, 10, 3), ["hello", "", "?x"], "blanks cut, control bytes shown as ?")

    def test_page_against_log(self) -> None:
        log = parse_ktap(LOG)
        self.assertEqual(text_page_problems(PAGE, log), [])
        self.assertEqual(len(log.tests), 3)
        for drop, why in ((0, "line 1"), (4, "answer"), (6, "selftest_hang"), (7, "graphics screen")):
            page = PAGE[:drop] + [""] + PAGE[drop + 1:]
            problems = text_page_problems(page, log)
            self.assertTrue(any(why in p for p in problems), f"without line {drop + 1}: {problems}")
        wrong = [PAGE[0], "Totals: pass:3 fail:0 skip:0 total:3"] + PAGE[2:]
        self.assertTrue(text_page_problems(wrong, log), "totals that differ from the log")

    def test_check_with_text(self) -> None:
        with tempfile.TemporaryDirectory(prefix="racebed-test.") as tmp:
            hook = ScreenDump(os.path.join(tmp, "q.sock"), os.path.join(tmp, "s.ppm"))
            hook.seen_at = 1.0
            _ppm(hook.ppm_path, 720, 400, 20)
            hook.text = text_rows(cells(PAGE), 80, 25)
            self.assertEqual(check_screendump("screen", hook, parse_ktap(LOG)).status, "PASS")
            self.assertTrue(os.path.exists(os.path.join(tmp, "s.txt")), "the text page saved beside")
            hook.text = text_rows(cells(PAGE[:-1]), 80, 25)
            self.assertEqual(check_screendump("screen", hook, parse_ktap(LOG)).status, "FAIL", "no note")


class SizedVga(unittest.TestCase):
    def test_option(self) -> None:
        c = parse_matrix("w q35 uefi 2 pass +vga=1920x1080 +screendump tests=boot\n")[0]
        self.assertEqual(vga_size(c), (1920, 1080))
        self.assertIsNone(vga_size(parse_matrix("n pc bios 2 pass\n")[0]))
        with self.assertRaises(HarnessError):
            parse_matrix("w q35 uefi 2 pass +vga=1920\n")

    def test_size_checked(self) -> None:
        with tempfile.TemporaryDirectory(prefix="racebed-test.") as tmp:
            for size, want in (((640, 480), "PASS"), ((1920, 1080), "FAIL")):
                hook = ScreenDump("q", os.path.join(tmp, f"{size[0]}.ppm"), size)
                hook.seen_at = 1.0
                _ppm(hook.ppm_path, 640, 480, 20)
                result = check_screendump("screen", hook, parse_ktap(""))
                self.assertEqual(result.status, want, result.line())


if __name__ == "__main__":
    unittest.main()
