"""Booting the matrix: each selected config's ISO, QEMU run and checks."""

import argparse
import os
import shlex
import subprocess
from typing import List, Optional, Tuple

import qemu as qemu_cli  # host/qemu.py (host/harness.py puts host/ on sys.path)

from .checks import check_test, evaluate_boot
from .export import BootRecord, write_junit, write_results_json
from .kunit_check import check_kunit
from .expectations import Expectations, load_expectations
from .inputs import HarnessError
from .iso import build_iso
from .matrix import Config, parse_matrix, select_configs
from .paths import shown_path
from .report import Reporter, Result
from .runner import read_log, run_qemu


def build_elf32(elf: str, out_dir: str) -> Tuple[str, bool]:
    """The ELF32 copy QEMU's Multiboot 1 loader accepts (it refuses ELF64); rebuilt when
    older than the kernel. Returns its path and whether it was rebuilt."""
    out = os.path.join(out_dir, "racebed32.elf")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(elf):
        return out, False
    done = subprocess.run(["objcopy", "-O", "elf32-i386", elf, out], capture_output=True, text=True)
    if done.returncode != 0:
        raise HarnessError(f"objcopy failed: {done.stderr.strip()}")
    return out, True


def boot_command(config: Config, iso: str, log_path: str, out_dir: str, accel: str,
                 qemu: Optional[str]) -> List[str]:
    """The QEMU command line for one config (headless, serial to log_path); for firmware
    multiboot1, iso is the ELF32 kernel and the args go on QEMU's -append."""
    if config.firmware == "multiboot1":
        return qemu_cli.build_command(
            None, kernel=iso, append=" ".join(config.args), smp=config.smp, accel=accel,
            machine=config.machine, serial=log_path, display=False, qemu=qemu)
    uefi_vars = None
    if config.firmware == "uefi":
        uefi_vars = qemu_cli.prepare_uefi_vars(os.path.join(out_dir, f"{config.name}.vars.fd"))
    return qemu_cli.build_command(
        iso, smp=config.smp, accel=accel, machine=config.machine, uefi_vars=uefi_vars,
        serial=log_path, display=False, qemu=qemu)


def run_config(config: Config, opts: argparse.Namespace, expectations: Expectations,
               reporter: Reporter) -> Optional[BootRecord]:
    """Builds, boots and checks one config, reporting its results; returns
    what the exporters need (None when it could not boot)."""
    reporter.info(f"== {config.name}: {config.describe()}")
    try:
        if config.firmware == "multiboot1":
            iso, rebuilt = build_elf32(opts.elf, opts.out)
        else:
            iso, rebuilt = build_iso(opts.elf, config.args, opts.out)
    except HarnessError as e:
        lines = str(e).splitlines()
        reporter.add(Result("FAIL", f"{config.name}: iso", lines[0], lines[1:]))
        return None
    log_path = os.path.join(opts.out, f"{config.name}.log")
    try:
        cmd = boot_command(config, iso, log_path, opts.out, opts.accel, opts.qemu)
    except OSError as e:
        reporter.add(Result("FAIL", f"{config.name}: exit", str(e)))
        return None
    reporter.info(f"   {'built' if rebuilt else 'reusing'} {shown_path(iso)}; log {shown_path(log_path)}")
    reporter.info(f"   {shlex.join(cmd)}")
    boot = run_qemu(cmd, log_path, os.path.join(opts.out, f"{config.name}.qemu.txt"), opts.timeout)
    log = evaluate_boot(config, boot, read_log(log_path), expectations, reporter)
    if log.header_found and not boot.timed_out:
        reporter.add(check_kunit(config.name, opts.kunit, log_path, log))
    expected = {t.name: expectations.expected_result(config.name, t.name)[0] for t in log.tests}
    # observations that contradict host/expect: a JUnit failure of their experiment too
    mismatches = {t.name: [r.line() for r in check_test(config.name, t, expectations)[1:] if r.status == "FAIL"]
                  for t in log.tests}
    return BootRecord(config.name, log_path, log, config.describe(), boot.wall_s, expected,
                      {k: v for k, v in mismatches.items() if v})


def run_boot_matrix(opts: argparse.Namespace, reporter: Reporter) -> None:
    """Boots and checks every selected config."""
    try:
        with open(opts.matrix, encoding="utf-8") as f:
            configs = select_configs(parse_matrix(f.read(), shown_path(opts.matrix)), opts.only)
    except OSError as e:
        raise HarnessError(f"cannot read matrix {opts.matrix}: {e.strerror}")
    expectations = load_expectations(opts.expect)
    if not os.path.isfile(opts.elf):
        raise HarnessError(f"kernel {opts.elf} not found (build it first)")
    os.makedirs(opts.out, exist_ok=True)
    reporter.info(f"== boot matrix: {len(configs)} configs, ACCEL={opts.accel}, "
                  f"expectations {shown_path(opts.expect)}, timeout {opts.timeout:g} s")
    records = []
    for config in configs:
        record = run_config(config, opts, expectations, reporter)
        if record:
            records.append(record)
    junit = os.path.join(opts.out, "junit.xml")
    results = os.path.join(opts.out, "results.json")
    write_junit(records, junit)
    write_results_json(records, results)
    reporter.info(f"== exported {shown_path(junit)} and {shown_path(results)}")
