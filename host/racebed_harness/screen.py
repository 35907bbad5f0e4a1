"""The results screen, checked from outside: a QEMU `screendump` (QMP) once the kernel has put
its results page up, then a look at the picture: the summary text region must not be blank.

A `+screendump` config boots with exit=halt, so the guest stays on its last screen; the
harness takes the picture and quits QEMU itself (BootOutcome.quit_by_harness).

On the VGA text screen (the kernel's `# framebuffer 80x25 ... type 2 at 0xb8000` line) the
harness also saves the text page itself with QMP `pmemsave` of the guest's text memory
(character and attribute bytes, read through QEMU's VGA window, so it is what the screen
shows) and checks its text: the verdict, the totals, every failing test, every answer, and the
line that says the QR codes need a graphics screen (none may be on it)."""

import json
import os
import re
import socket
import struct
import subprocess
import time
import zlib
from typing import List, Optional, Tuple

from .headlines import log_headlines
from .ktap import KtapLog
from .report import Result
from .run_record import join_codes, record_from_log
from .runner import RunHook

RESULTS_LINE = b"# results screen:"
PAGES_RE = re.compile(rb"# results screen: .* pages=(\d+)")
PAGE_RE = re.compile(rb"# results screen page (\d+)/\d+")
SETTLE_S = 0.5          # after the kernel said the page is up, before the picture
QMP_TIMEOUT_S = 10.0
# The summary region: the results page starts at the top left; its first two text lines are
# the verdict and the totals. 16-pixel cells (the console font) make that the top 32 rows.
SUMMARY_ROWS = 32
SUMMARY_COLS = 320
MIN_LIT_FRACTION = 0.02  # glyphs light a few percent of a text line's pixels
# the kernel's framebuffer line (kernel/main.c); type 2 is EGA text (Multiboot 2)
FB_RE = re.compile(rb"# framebuffer (\d+)x(\d+) bpp \d+ type (\d+) at 0x([0-9a-f]+): console")
EGA_TEXT = 2
NO_CODES_NOTE = "Run record QR codes need a graphics screen"


def framebuffer(serial: bytes) -> Optional[Tuple[int, int, int, int]]:
    """Width, height, type and address of the framebuffer the kernel's console uses, or None."""
    m = FB_RE.search(serial)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4), 16)) if m else None


def text_rows(cells: bytes, cols: int, rows: int) -> List[str]:
    """The characters of an EGA text page (character, attribute byte pairs), one string a row,
    trailing blanks cut; code page 437's printable ASCII as is, other bytes as '?'."""
    out = []
    for r in range(rows):
        row = cells[2 * cols * r:2 * cols * (r + 1):2]
        out.append("".join(chr(b) if 32 <= b < 127 else ("?" if b else " ") for b in row).rstrip())
    return out


class ScreenDump(RunHook):
    """Takes the screendump once the results page is up, then has QEMU stopped."""

    quit_on_purpose = True

    def __init__(self, qmp_path: str, ppm_path: str, want_size: Optional[Tuple[int, int]] = None):
        self.qmp_path = qmp_path
        self.ppm_path = ppm_path
        self.want_size = want_size  # the screen's pixels the config asked QEMU for (+vga=)
        self.text: Optional[List[str]] = None  # the text page, on the VGA text screen
        self.seen_at: Optional[float] = None
        self.error = ""
        self.page_paths: List[str] = []  # pages 2.. of QR codes (the kernel shows them in turn)
        self.page_seen: dict = {}
        self.first_taken = False

    def page_path(self, page: int) -> str:
        return f"{os.path.splitext(self.ppm_path)[0]}.page{page}.ppm"

    def dump(self, path: str) -> None:
        try:
            qmp_command(self.qmp_path, "screendump", {"filename": os.path.abspath(path)})
        except (OSError, ValueError) as e:
            self.error = f"screendump failed: {e}"

    def poll(self, serial: bytes, qemu_output_path: str, elapsed: float) -> str:
        if self.seen_at is None:
            if RESULTS_LINE in serial:
                self.seen_at = elapsed
            return ""
        if elapsed - self.seen_at < SETTLE_S:
            return ""
        if not self.first_taken:
            self.dump(self.ppm_path)
            self.first_taken = True
            fb = framebuffer(serial)
            if fb and fb[2] == EGA_TEXT:
                self.save_text(*fb)
        m = PAGES_RE.search(serial)
        pages = int(m.group(1)) if m else 1
        for p in PAGE_RE.findall(serial):
            self.page_seen.setdefault(int(p), elapsed)
        for p in range(2, pages + 1):
            path = self.page_path(p)
            if path in self.page_paths:
                continue
            if p not in self.page_seen or elapsed - self.page_seen[p] < SETTLE_S:
                return ""
            self.dump(path)
            self.page_paths.append(path)
        return "screendump taken"


    def save_text(self, cols: int, rows: int, _type: int, addr: int) -> None:
        path = os.path.splitext(self.ppm_path)[0] + ".text.bin"
        try:
            qmp_command(self.qmp_path, "pmemsave", {"val": addr, "size": cols * rows * 2,
                                                    "filename": os.path.abspath(path)})
            with open(path, "rb") as f:
                self.text = text_rows(f.read(), cols, rows)
        except (OSError, ValueError) as e:
            self.error = f"pmemsave of the text page failed: {e}"


def qmp_command(path: str, command: str, arguments: dict) -> dict:
    """Runs one QMP command on the socket at path; returns its reply (raises on an error)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(QMP_TIMEOUT_S)
        s.connect(path)
        f = s.makefile("rwb")

        def reply() -> dict:
            while True:
                line = f.readline()
                if not line:
                    raise OSError("QMP connection closed")
                msg = json.loads(line)
                if "return" in msg or "error" in msg:
                    return msg

        json.loads(f.readline())  # greeting
        for cmd, args in (("qmp_capabilities", {}), (command, arguments)):
            f.write(json.dumps({"execute": cmd, "arguments": args}).encode() + b"\n")
            f.flush()
            msg = reply()
            if "error" in msg:
                raise ValueError(f"{cmd}: {msg['error'].get('desc', msg['error'])}")
        return msg


def read_ppm(path: str) -> Tuple[int, int, bytes]:
    """Width, height and RGB bytes of a binary (P6, maxval 255) PPM file."""
    with open(path, "rb") as f:
        data = f.read()
    fields: List[bytes] = []
    pos = 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError(f"not a P6 PPM with maxval 255 ({fields[0]!r}, {fields[3]!r})")
    w, h = int(fields[1]), int(fields[2])
    pixels = data[pos + 1:pos + 1 + w * h * 3]
    if len(pixels) != w * h * 3:
        raise ValueError("PPM pixel data truncated")
    return w, h, pixels


def write_png(path: str, w: int, h: int, rgb: bytes) -> None:
    """Writes RGB pixels as a PNG (to look at the screendump)."""
    raw = b"".join(b"\0" + rgb[y * w * 3:(y + 1) * w * 3] for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def lit_fraction(w: int, h: int, rgb: bytes, rows: int, cols: int) -> float:
    """The fraction of non-black pixels in the top-left rows x cols region."""
    rows, cols = min(rows, h), min(cols, w)
    lit = 0
    for y in range(rows):
        line = rgb[y * w * 3:(y * w + cols) * 3]
        lit += sum(1 for x in range(cols) if line[3 * x] | line[3 * x + 1] | line[3 * x + 2])
    return lit / float(rows * cols) if rows and cols else 0.0


def check_screendump(label: str, hook: ScreenDump, log: KtapLog) -> Result:
    """The summary text region of the picture is not blank (and the picture is saved as PNG),
    the picture has the size asked for, and a VGA text page holds what the log says."""
    if hook.seen_at is None:
        return Result("FAIL", label, "the kernel never said the results screen was up (`# results screen:`)")
    if hook.error:
        return Result("FAIL", label, hook.error)
    try:
        w, h, rgb = read_ppm(hook.ppm_path)
    except (OSError, ValueError) as e:
        return Result("FAIL", label, f"cannot read the screendump {hook.ppm_path}: {e}")
    png = os.path.splitext(hook.ppm_path)[0] + ".png"
    write_png(png, w, h, rgb)
    summary = lit_fraction(w, h, rgb, SUMMARY_ROWS, SUMMARY_COLS)
    whole = lit_fraction(w, h, rgb, h, w)
    if hook.want_size and (w, h) != hook.want_size:
        return Result("FAIL", label, f"the screen is {w}x{h}, not the {hook.want_size[0]}x{hook.want_size[1]} "
                      f"the config gave the VGA (+vga=); picture {png}")
    if summary < MIN_LIT_FRACTION:
        return Result("FAIL", label, f"summary region blank: {summary:.1%} of its pixels lit "
                      f"(want >= {MIN_LIT_FRACTION:.0%}); picture {png}")
    if whole > 0.5:
        return Result("FAIL", label, f"{whole:.0%} of the screen lit: not text on black; picture {png}")
    text = ""
    if hook.text is not None:
        txt = os.path.splitext(hook.ppm_path)[0] + ".txt"
        with open(txt, "w") as f:
            f.write("\n".join(hook.text) + "\n")
        problems = text_page_problems(hook.text, log)
        if problems:
            return Result("FAIL", label, f"the text page ({txt}): {'; '.join(problems)}")
        text = f"; VGA text page {txt} holds the verdict, totals, failures and answers"
    return Result("PASS", label, f"{w}x{h}, summary region {summary:.1%} lit; picture {png}{text}")


def text_page_problems(lines: List[str], log: KtapLog) -> List[str]:
    """What the text results page lacks of what the serial log says: the verdict and totals
    lines (kernel/results.c), a line for every failing test and every answer (headline) that
    ran, and the note that the QR codes need a graphics screen."""
    outcomes = [t.outcome for t in log.tests]
    passed, failed, skipped = (outcomes.count(o) for o in ("ok", "not-ok", "skip"))
    want = [f"racebed results: {'FAILED' if failed else 'all passed'}",
            f"Totals: pass:{passed} fail:{failed} skip:{skipped} total:{len(outcomes)}"]
    problems = [f"line {i + 1} is {lines[i] if i < len(lines) else '(none)'!r}, the serial log says {w!r}"
                for i, w in enumerate(want) if i >= len(lines) or lines[i] != w]
    for t in log.tests:
        if t.outcome == "not-ok" and not any(line.startswith(f"  {t.name}: ") for line in lines):
            problems.append(f"no line for the failing test {t.name}")
    for h in log_headlines(log):
        if h.seen and not any(line.startswith(f"  {h.label}: {h.word} {h.hits}/{h.trials} (") for line in lines):
            problems.append(f"no answer line {h.text()!r}")
    if not any(NO_CODES_NOTE in line for line in lines):
        problems.append(f"no line saying {NO_CODES_NOTE!r}")
    return problems


def zbar_decode(path: str) -> str:
    """Every QR code zbarimg (zbar-tools) finds in the picture, as it prints them."""
    done = subprocess.run(["zbarimg", "-q", path], capture_output=True, text=True, timeout=60)
    return done.stdout


def check_screen_record(label: str, hook: ScreenDump, log: KtapLog) -> Result:
    """The QR codes on the screendump, decoded by zbarimg, hold the record the serial log
    says the kernel made (run_record.record_from_log), every code there."""
    png = os.path.splitext(hook.ppm_path)[0] + ".png"
    if hook.error or not os.path.exists(png):
        return Result("FAIL", label, f"no screendump to decode ({hook.error or png + ' missing'})")
    try:
        text = "".join(zbar_decode(p) for p in [png] + hook.page_paths)
    except (OSError, subprocess.SubprocessError) as e:
        return Result("FAIL", label, f"zbarimg failed: {e} (Debian package zbar-tools)")
    if hook.text is not None:
        # the VGA text screen: no pixels for codes, and the page says so (text_page_problems)
        if text.strip():
            return Result("FAIL", label, f"zbarimg found codes on the VGA text screen {png}: {text[:80]!r}")
        if not any(NO_CODES_NOTE in line for line in hook.text):
            return Result("FAIL", label, f"VGA text screen: no line saying {NO_CODES_NOTE!r}")
        return Result("PASS", label, f"VGA text screen: zbarimg finds no code on {png}, the page says "
                      f"{NO_CODES_NOTE!r}")
    joined = join_codes(text)
    if joined.problems:
        return Result("FAIL", label, f"QR codes in {png}: {'; '.join(joined.problems)}")
    want = record_from_log(log)
    if joined.record != want:
        got, exp = joined.record.split("\n"), want.split("\n")
        first = next((i for i in range(max(len(got), len(exp)))
                      if i >= len(got) or i >= len(exp) or got[i] != exp[i]), 0)
        shown = lambda lines: repr(lines[first]) if first < len(lines) else "(end)"
        return Result("FAIL", label, f"the record in the QR codes differs from the serial log at line "
                      f"{first + 1}: {shown(got)}, serial log {shown(exp)}")
    return Result("PASS", label, f"{joined.codes} QR code(s) on {1 + len(hook.page_paths)} page(s) decoded "
                  f"by zbarimg, {len(want)} bytes, equal to the serial log's record")
