"""The host unit tests: one result per executable, passed when it exits 0."""

import os
import subprocess

from .report import Reporter, Result
from .runner import kill_group


def run_unit(path: str, timeout: float, reporter: Reporter) -> None:
    """Runs one host unit-test executable, printing its output."""
    label = f"unit {path}"
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        reporter.add(Result("FAIL", label, "not an executable file"))
        return
    reporter.info(f"== {label}")
    proc = subprocess.Popen([os.path.abspath(path)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_group(proc)
        output, _ = proc.communicate()
    finally:
        if proc.poll() is None:  # interrupted: leave nothing running
            kill_group(proc)
    text = output.decode("utf-8", "replace").rstrip("\n")
    if text:
        reporter.info(text)
    if timed_out:
        reporter.add(Result("FAIL", label, f"TIMEOUT after {timeout:g} s"))
    elif proc.returncode == 0:
        reporter.add(Result("PASS", label))
    else:
        reporter.add(Result("FAIL", label, f"exit status {proc.returncode}"))
