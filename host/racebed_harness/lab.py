"""The LAVA jobs (lab/lava/lab.py, run with Debian's python3 where lava_common and
lava_dispatcher live): schema validation always, the local lava-run when it is installed.
Each of its PASS / FAIL / SKIP lines becomes one result."""

import os
import subprocess

from .paths import REPO_DIR
from .report import Reporter, Result

LAB_TOOL = os.path.join(REPO_DIR, "lab", "lava", "lab.py")
LAVA_PYTHON = os.environ.get("LAVA_PYTHON", "/usr/bin/python3")


def run_lab(iso: str, out_dir: str, timeout: float, reporter: Reporter) -> None:
    reporter.info("== LAVA jobs (lab/lava/)")
    for args in (["validate"], ["run", "--iso", iso, "--out", os.path.join(out_dir, "lab"),
                                "--timeout", str(timeout)]):
        try:
            done = subprocess.run([LAVA_PYTHON, LAB_TOOL, *args], stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=timeout + 60)
        except (OSError, subprocess.TimeoutExpired) as e:
            reporter.add(Result("FAIL", f"lava: {args[0]}", str(e)))
            continue
        seen = False
        for line in done.stdout.splitlines():
            status, _, rest = line.partition(" ")
            if status in ("PASS", "FAIL", "SKIP"):
                label, _, message = rest.partition(": ")
                label2, _, message2 = message.partition(": ")
                reporter.add(Result(status, f"{label}: {label2}" if message2 or label2 else label,
                                    message2, []))
                seen = True
            elif line.strip():
                reporter.info(line)
        if not seen or (done.returncode and "FAIL" not in done.stdout):
            tail = (done.stderr or done.stdout).strip().splitlines()[-10:]
            reporter.add(Result("FAIL", f"lava: {args[0]}", f"lab.py exited {done.returncode}", tail))
