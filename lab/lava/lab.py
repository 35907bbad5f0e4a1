#!/usr/bin/python3
"""The LAVA jobs of lab/lava/, checked and run here (Debian's python3: lava_common and
lava_dispatcher are Debian packages, not on PyPI's path).

    lab.py validate          every job file against LAVA's own job schema (lava_common), the
                             device dictionary against its device schema, one monitor shared by
                             all jobs, and the monitor's pattern against sample KTAP lines
    lab.py run [--iso ISO]   the QEMU job with lava-run (lava_dispatcher, no LAVA server): the
                             device dictionary from lab/lava/devices/, the ISO by file:// URL;
                             then LAVA's test cases must be the KTAP results of the serial log
                             LAVA recorded, one per experiment, with the same counts

Output: one line per check, `PASS ...` / `FAIL ...` / `SKIP ...`; exit status 1 on a FAIL.
"""

import argparse
import collections
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

LAB_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_DIR = os.path.dirname(os.path.dirname(LAB_DIR))
QEMU_JOB = os.path.join(LAB_DIR, "qemu-racebed.yaml")
QEMU_DEVICE = os.path.join(LAB_DIR, "devices", "qemu-racebed.yaml")
ISO_URL_RE = re.compile(r"^(\s*url: )file:///srv/racebed/racebed\.iso\s*$", re.MULTILINE)
LAVA_INSTALL = "apt-get install -y --no-install-recommends lava-dispatcher"

# What the monitor must make of KTAP result lines (and what it must leave alone).
SAMPLE = ("junk\r\nKTAP version 1\r\n1..5\r\nok 1 boot\r\n# ipi_fixed: failed: lost 1\r\n"
          "not ok 2 ipi_fixed\r\nok 3 ring3 # SKIP needs 2 cpus\r\n    KTAP version 1\r\n"
          "    ok 1 nmi_in_irq\r\n    not ok 2 irq_in_nmi\r\nok 4 exception_matrix\r\n"
          "not ok 5 selftest_hang # TIMEOUT after 2 s\r\n# summary: 2 passed, 2 failed, 1 skipped\r\n")
SAMPLE_CASES = [("boot", "pass"), ("ipi_fixed", "fail"), ("ring3", "skip"), ("exception_matrix", "pass"),
                ("selftest_hang", "fail")]

failures = 0


def report(status: str, label: str, message: str = "") -> None:
    global failures
    failures += status == "FAIL"
    print(f"{status} lava: {label}" + (f": {message}" if message else ""), flush=True)


def load(path: str):
    import yaml
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def job_files():
    return sorted(glob.glob(os.path.join(LAB_DIR, "*.yaml")))


def monitors_of(job: dict):
    return [a["test"]["monitors"] for a in job.get("actions", []) if "test" in a and "monitors" in a["test"]]


def check_monitor(monitor: dict) -> str:
    """"" when the monitor's pattern turns SAMPLE into SAMPLE_CASES the way LAVA reads it: as a
    stream (pexpect), the pattern tried each time more output arrives, one character at a
    time here, and what a match covers consumed."""
    start = SAMPLE.index(monitor["start"]) + len(monitor["start"])
    end = re.search(monitor["end"], SAMPLE)
    if end is None:
        return f"the end pattern {monitor['end']!r} does not match the sample KTAP"
    text = SAMPLE[start:end.start()]
    pattern = re.compile(monitor["pattern"])
    cases, buf = [], ""
    for ch in text:
        buf += ch
        m = pattern.search(buf)
        if m:
            result = monitor.get("fixupdict", {}).get(m.group("result"), m.group("result"))
            cases.append((m.group("test_case_id"), result))
            buf = buf[m.end():]
    return "" if cases == SAMPLE_CASES else f"sample KTAP gave {cases}, want {SAMPLE_CASES}"


def validate() -> None:
    try:
        from lava_common.schemas import device as device_schema
        from lava_common.schemas import validate as validate_job
    except ImportError as e:
        report("FAIL", "schema", f"lava_common is missing ({e}): apt-get install lava-common")
        return
    shared = None
    for path in job_files():
        name = os.path.relpath(path, REPO_DIR)
        job = load(path)
        try:
            validate_job(job, strict=True)
        except Exception as e:  # voluptuous.Invalid and friends: the schema's own words
            report("FAIL", f"{name} job schema", f"{type(e).__name__}: {e}")
            continue
        mons = monitors_of(job)
        if len(mons) != 1 or len(mons[0]) != 1:
            report("FAIL", f"{name} job schema", "want exactly one test action with one monitor")
            continue
        if shared is None:
            shared = mons[0][0]
        elif mons[0][0] != shared:
            report("FAIL", f"{name} job schema", "its monitor differs from the other jobs' (keep one)")
            continue
        problem = check_monitor(mons[0][0])
        report("FAIL" if problem else "PASS", f"{name} job schema and monitor", problem)
    try:
        device_schema.validate(load(QEMU_DEVICE))
        report("PASS", f"{os.path.relpath(QEMU_DEVICE, REPO_DIR)} device schema")
    except Exception as e:
        report("FAIL", f"{os.path.relpath(QEMU_DEVICE, REPO_DIR)} device schema", f"{type(e).__name__}: {e}")


def lava_log(path: str):
    """The records of lava-run's log (one YAML mapping a line)."""
    import yaml
    records = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    records.append(yaml.safe_load(line))
                except yaml.YAMLError:
                    continue
    return records


def run(iso: str, out_dir: str, timeout: float) -> None:
    if shutil.which("lava-run") is None:
        report("SKIP", "lava-run", f"lava-dispatcher is not installed ({LAVA_INSTALL}; make lab-deps)")
        return
    if not os.path.isfile(iso):
        report("FAIL", "lava-run", f"{iso} not found (make build/racebed.iso)")
        return
    os.makedirs(out_dir, exist_ok=True)
    with open(QEMU_JOB, encoding="utf-8") as f:
        text = f.read()
    job_text, n = ISO_URL_RE.subn(lambda m: m.group(1) + "file://" + os.path.abspath(iso), text)
    if n != 1:
        report("FAIL", "lava-run", f"{QEMU_JOB}: no `url: file:///srv/racebed/racebed.iso` line to point at {iso}")
        return
    job_path = os.path.join(out_dir, "qemu-racebed.job.yaml")
    with open(job_path, "w", encoding="utf-8") as f:
        f.write(job_text)
    log_path = os.path.join(out_dir, "lava-run.log")
    work = tempfile.mkdtemp(prefix="racebed-lava.", dir=out_dir)
    cmd = ["lava-run", "--job-id", "racebed", "--output-dir", work, "--device", QEMU_DEVICE, job_path]
    print(f"   {' '.join(cmd)}  (log {os.path.relpath(log_path)})", flush=True)
    try:
        with open(log_path, "wb") as log:
            done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=timeout)
        status = done.returncode
    except subprocess.TimeoutExpired:
        report("FAIL", "lava-run", f"did not finish in {timeout:g} s (log {log_path})")
        return
    finally:
        shutil.rmtree(work, ignore_errors=True)
    records = lava_log(log_path)
    results = [r["msg"] for r in records if r.get("lvl") == "results" and isinstance(r.get("msg"), dict)]
    job = next((r for r in results if r.get("definition") == "lava" and r.get("case") == "job"), None)
    if status != 0 or not job or job.get("result") != "pass":
        errors = [r["msg"] for r in records if r.get("lvl") == "error"]
        report("FAIL", "lava-run", f"exit {status}, job {job.get('result') if job else 'no result'}: "
               + "; ".join(str(e) for e in errors[-3:]))
        return
    report("PASS", "lava-run qemu job", f"{len(results)} results recorded")
    compare(records, results)


def compare(records, results) -> None:
    """LAVA's test cases against the KTAP results the harness's parser finds in the serial
    output LAVA recorded: its `target` lines, and the `feedback` lines it read from the serial
    line after the monitor's end pattern matched (the totals can arrive there)."""
    sys.path.insert(0, os.path.join(REPO_DIR, "host"))
    from racebed_harness.ktap import parse_ktap  # noqa: E402

    serial = "\n".join(str(r.get("msg")) for r in records if r.get("lvl") in ("target", "feedback"))
    log = parse_ktap(serial)
    want = [(t.name, {"ok": "pass", "not-ok": "fail", "skip": "skip"}[t.outcome]) for t in log.tests]
    got = [(r["case"], r["result"]) for r in results if r.get("definition") == "racebed"]
    if log.errors or not want:
        report("FAIL", "lava results", f"the serial log LAVA recorded is not a complete KTAP run: {log.errors}")
        return
    counts_want, counts_got = collections.Counter(r for _, r in want), collections.Counter(r for _, r in got)
    if got != want:
        missing = [w for w in want if w not in got][:5]
        extra = [g for g in got if g not in want][:5]
        report("FAIL", "lava results", f"LAVA {dict(counts_got)} vs harness {dict(counts_want)}; "
               f"missing {missing}, unexpected {extra}")
        return
    report("PASS", "lava results", f"one test case per experiment: {len(got)} "
           f"({counts_got['pass']} pass, {counts_got['fail']} fail, {counts_got['skip']} skip), as the harness parses")


def main() -> int:
    p = argparse.ArgumentParser(prog="lab.py", description="Validate and run racebed's LAVA jobs.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("validate")
    r = sub.add_parser("run")
    r.add_argument("--iso", default=os.path.join(REPO_DIR, "build", "racebed.iso"))
    r.add_argument("--out", default=os.path.join(REPO_DIR, "build", "lab"))
    r.add_argument("--timeout", type=float, default=900)
    args = p.parse_args()
    if args.command == "validate":
        validate()
    else:
        run(args.iso, args.out, args.timeout)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
