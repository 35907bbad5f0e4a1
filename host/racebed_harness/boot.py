"""Booting the matrix: each selected config's ISO, QEMU run(s) and checks.

A config boots once; when the platform stops the run (a KVM internal error, a reset in the
middle), the rest of its selection runs in new boots (platform_stop.py) and the boots are
checked as one run.  Configs marked +alone boot first, one at a time (their experiments are
timed); the others then boot side by side (--jobs at once; pool.py keeps the output in order).
Harness options (`+keys=`, `+screendump`, `+serial=`) add what the
boot needs: serial keys, a QMP socket for the screendump, a UART layout without COM1."""

import argparse
import dataclasses
import os
import shlex
import subprocess
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import bochs as bochs_cli  # the Bochs driver (its CLI: host/bochs.py)
from . import qemu as qemu_cli  # the QEMU driver (its CLI: host/qemu.py)
from .checks import check_test, evaluate_boot
from .export import BootRecord, write_junit, write_results_json
from .kunit_check import check_kunit
from .expectations import Expectations, load_expectations
from .inputs import HarnessError
from .iso import PRODUCT_MENU_TIMEOUT, TEST_MENU_TIMEOUT, build_iso
from .ktap import KtapLog, parse_ktap
from .matrix import Config, for_accel, for_scope, parse_matrix, select_configs
from .menu import check_menu
from .paths import shown_path
from .pool import run_side_by_side
from .platform_stop import (InternalErrorWatch, PlatformStop, SilenceWatch, booted_args, kernel_registry, merge_boots,
                            merge_logs, platform_stop, resume_args, selection, stopped_test, trimmed)
from .report import Reporter, Result
from .runner import BootOutcome, RunHook, read_log, run_qemu
from .screen import ScreenDump, check_screen_record, check_screendump
from .host_requests import HostRequests
from .serial_line import KeySender, serial_qemu_args, write_spcr


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
                 qemu: Optional[str], args: Optional[Sequence[str]] = None, cpu: Optional[str] = None,
                 smp: Optional[int] = None, extra: Sequence[str] = (), serial: Optional[str] = None) -> List[str]:
    """The QEMU command line for one config (headless, serial to log_path); for firmware
    multiboot1, iso is the ELF32 kernel and args (default the config's) go on QEMU's -append.
    serial "none" leaves COM1 out (extra then holds the UART)."""
    args = config.args if args is None else args
    smp = smp or config.smp
    serial = serial or log_path
    if config.firmware == "multiboot1":
        return qemu_cli.build_command(
            None, kernel=iso, append=" ".join(args), smp=smp, accel=accel, cpu=cpu,
            machine=config.machine, serial=serial, display=False, qemu=qemu, extra=extra)
    uefi_vars = None
    if config.firmware == "uefi":
        uefi_vars = qemu_cli.prepare_uefi_vars(os.path.join(out_dir, f"{config.name}.vars.fd"))
    return qemu_cli.build_command(
        iso, smp=smp, accel=accel, cpu=cpu, machine=config.machine, uefi_vars=uefi_vars,
        serial=serial, display=False, qemu=qemu, extra=extra)


# Bochs: the kernel's watchdog counts simulated seconds (60 per experiment), which take this
# host one to a few seconds of wall time each: silence is a hang only after this long.
BOCHS_SILENCE_S = 180.0
# the whole suite (--full) on Bochs: ~1 s of wall time per simulated second, GRUB included
BOCHS_FULL_TIMEOUT_S = 3600.0
BOCHS_EXPECT = "bochs.exp"


def bochs_boot(config: Config, iso: str, stem: str, opts: argparse.Namespace, reporter: Reporter) -> "Optional[Boot]":
    """One Bochs run of the ISO (host/bochs.py): bochsrc, debugger commands and Bochs' own log
    next to the serial log; None after reporting why Bochs could not start."""
    log_path = os.path.join(opts.out, f"{stem}.log")
    bochs_log = os.path.join(opts.out, f"{stem}.bochs.log")
    for path in (log_path, bochs_log):
        if os.path.exists(path):
            os.unlink(path)
    plan_args: Dict[str, Any] = {"smp": config.smp}
    if "cpu" in config.options:
        plan_args["cpu"] = config.options["cpu"]
    if "ips" in config.options:
        plan_args["ips"] = int(config.options["ips"])
    try:
        plan = bochs_cli.Plan(iso, log_path, bochs_log, **plan_args)
        rc = bochs_cli.write_bochsrc(os.path.join(opts.out, f"{stem}.bochsrc"), plan)
        commands = bochs_cli.write_debugger_commands(os.path.join(opts.out, f"{stem}.bochs-debugger.rc"))
        cmd = bochs_cli.build_command(rc, commands)
    except (OSError, ValueError) as e:
        reporter.add(Result("FAIL", f"{config.name}: exit", f"cannot run Bochs: {e}"))
        return None
    reporter.info(f"   Bochs: cpu {plan.cpu}, {plan.smp} CPUs, ips {plan.ips} (budgets and rates are "
                  f"simulated time); bochsrc {shown_path(rc)}; log {shown_path(log_path)}")
    if not bochs_cli.private_network():
        reporter.info("   WARN: no network namespace for Bochs (unshare --net --map-root-user failed): its RFB "
                      "server listens on every interface, port 5900 or the next free one")
    reporter.info(f"   {shlex.join(cmd)}")
    timeout = max(opts.timeout, BOCHS_FULL_TIMEOUT_S) if getattr(opts, "full", False) else opts.timeout
    outcome = run_qemu(cmd, log_path, os.path.join(opts.out, f"{stem}.bochs.txt"), timeout,
                       [SilenceWatch(BOCHS_SILENCE_S)])
    outcome.platform_log = read_log(bochs_log)
    reporter.info(f"   Bochs exit status {outcome.status} after {outcome.wall_s:.1f} s of wall time"
                  + (f", stopped: {outcome.stopped_by}" if outcome.stopped_by else ""))
    return Boot(outcome, read_log(log_path))


def _image(config: Config, args: Sequence[str], opts: argparse.Namespace, first: bool) -> Tuple[str, bool]:
    if config.firmware == "multiboot1":
        return build_elf32(opts.elf, opts.out)
    picks = first and "keys" in config.options  # the menu as shipped: it waits for the keys
    return build_iso(opts.elf, args, opts.out, PRODUCT_MENU_TIMEOUT if picks else TEST_MENU_TIMEOUT)


def vga_size(config: Config) -> Optional[Tuple[int, int]]:
    """The screen size a `+vga=WxH` config gives QEMU's standard VGA (its preferred mode in the
    EDID, which OVMF's GOP picks), or None."""
    w, _, h = config.options.get("vga", "").partition("x")
    return (int(w), int(h)) if w and h else None


@dataclasses.dataclass
class Boot:
    """One QEMU run of a config: its outcome, serial log and the hooks that watched it."""

    outcome: BootOutcome
    raw_log: str
    screendump: Optional[ScreenDump] = None


def boot_once(config: Config, args: Sequence[str], stem: str, first: bool, opts: argparse.Namespace,
              reporter: Reporter) -> "Optional[Boot]":
    """Builds and runs one boot with this command line; None after reporting a failure to
    start.  Keys and the screendump belong to the config's first boot only."""
    try:
        image, rebuilt = _image(config, args, opts, first)
    except HarnessError as e:
        lines = str(e).splitlines()
        reporter.add(Result("FAIL", f"{config.name}: iso", lines[0], lines[1:]))
        return None
    if config.firmware == "bochs":
        reporter.info(f"   {'built' if rebuilt else 'reusing'} {shown_path(image)}")
        return bochs_boot(config, image, stem, opts, reporter)
    log_path = os.path.join(opts.out, f"{stem}.log")
    if os.path.exists(log_path):
        os.unlink(log_path)
    cpu, smp = None, config.smp
    if opts.accel == "kvm":
        plan = qemu_cli.kvm_plan(config.smp, config.machine, opts.qemu)
        if plan.error:
            reporter.add(Result("FAIL", f"{config.name}: exit", plan.error))
            return None
        for note in plan.notes if first else ():
            reporter.info(f"   KVM: {note}")
        cpu, smp = plan.cpu, plan.smp
    hooks: List[RunHook] = [InternalErrorWatch(), SilenceWatch()]
    extra: List[str] = []
    # the kernel's host requests (kernel/hostreq.h) are served through QEMU's gdbstub
    gdb_sock = os.path.join(opts.out, f"{stem}.gdb.sock")
    if os.path.exists(gdb_sock):
        os.unlink(gdb_sock)
    host_qmp = os.path.join(opts.out, f"{stem}.host.qmp.sock")
    if os.path.exists(host_qmp):
        os.unlink(host_qmp)
    extra += ["-gdb", f"unix:{gdb_sock},server=on,wait=off", "-qmp", f"unix:{host_qmp},server=on,wait=off"]
    host_requests = HostRequests(gdb_sock, smp, reporter.info, host_qmp)
    hooks.append(host_requests)
    serial = None
    layout = config.options.get("serial", "com1")
    keys = config.options.get("keys") if first else None
    if layout != "com1" or keys:
        sock = os.path.join(opts.out, f"{stem}.serial.sock") if keys else None
        if sock and os.path.exists(sock):
            os.unlink(sock)
        serial, serial_args = serial_qemu_args(layout, log_path, sock)
        extra += serial_args
        if sock and keys:
            hooks.append(KeySender(sock, keys, log_path))
        if layout == "spcr-com2":
            extra += ["-acpitable", "file=" + write_spcr(os.path.join(opts.out, f"{stem}.spcr.bin"))]
    if "machine" in config.options:
        extra += ["-machine", config.options["machine"]]
    if "vga" in config.options:
        w, h = vga_size(config) or (0, 0)
        extra += ["-vga", "none", "-device", f"VGA,xres={w},yres={h}"]
    dump = None
    if first and "screendump" in config.options:
        qmp = os.path.join(opts.out, f"{stem}.qmp.sock")
        if os.path.exists(qmp):
            os.unlink(qmp)
        extra += ["-qmp", f"unix:{qmp},server=on,wait=off"]
        dump = ScreenDump(qmp, os.path.join(opts.out, f"{stem}.screen.ppm"), vga_size(config))
        hooks.append(dump)
    try:
        cmd = boot_command(config, image, log_path, opts.out, opts.accel, opts.qemu, args=args, cpu=cpu,
                           smp=smp, extra=extra, serial=serial)
    except OSError as e:
        reporter.add(Result("FAIL", f"{config.name}: exit", str(e)))
        return None
    reporter.info(f"   {'built' if rebuilt else 'reusing'} {shown_path(image)}; log {shown_path(log_path)}")
    reporter.info(f"   {shlex.join(cmd)}")
    outcome = run_qemu(cmd, log_path, os.path.join(opts.out, f"{stem}.qemu.txt"), opts.timeout, hooks)
    reporter.info(f"   QEMU exit status {outcome.status}" + (f", stopped: {outcome.stopped_by}" if outcome.stopped_by else ""))
    if host_requests.served:
        reporter.info(f"   host requests served: {len(host_requests.served)}")
    for hook in hooks:
        if isinstance(hook, KeySender):
            reporter.info(f"   sent {hook.keys!r} on the serial line {hook.sent} time(s)")
    return Boot(outcome, read_log(log_path), dump)


def run_config(config: Config, opts: argparse.Namespace, expectations: Expectations,
               reporter: Reporter) -> Optional[BootRecord]:
    """Boots (and resumes after platform stops) and checks one config, reporting its results;
    returns what the exporters need (None when it could not boot)."""
    reporter.info(f"== {config.name}: {config.describe()}")
    # a crash ends the run for good only where the crash is the config's point (selftest-crash)
    crashes = config.expected_exit != "crash"
    expected_exit = expectations.expected_exit(config.name, config.expected_exit)
    if expected_exit != config.expected_exit:
        reporter.info(f"   expected exit under {opts.accel}: {expected_exit} (expectation file)")
        config = dataclasses.replace(config, expected_exit=expected_exit)
    first = boot_once(config, config.args, config.name, True, opts, reporter)
    if first is None:
        return None
    if first.screendump is not None:
        reporter.add(check_screendump(f"{config.name}: results screen", first.screendump,
                                      parse_ktap(first.raw_log)))
        reporter.add(check_screen_record(f"{config.name}: results screen QR record", first.screendump,
                                         parse_ktap(first.raw_log)))
    log = parse_ktap(first.raw_log)
    # Bochs: no resumed boots (they would run elsewhere); a panic or hang is this run's result
    stop = None if config.firmware == "bochs" else platform_stop(first.outcome, log, crashes=crashes)
    log_path, outcome = os.path.join(opts.out, f"{config.name}.log"), first.outcome
    if stop is None:
        log = evaluate_boot(config, first.outcome, first.raw_log, expectations, reporter)
    else:
        log, log_path, outcome = resume(config, first, log, stop, crashes, opts, expectations, reporter)
    return boot_record(config, opts, expectations, reporter, log, log_path, outcome)


def boot_record(config: Config, opts: argparse.Namespace, expectations: Expectations, reporter: Reporter,
                log: KtapLog, log_path: str, boot: BootOutcome) -> BootRecord:
    """The KUnit parser's check of the log, and what the exporters need.  A resumed run's boots
    are separate KTAP documents, each but the last cut short on purpose: kunit.py, which reads
    one document, is not asked (reported as a skip)."""
    if log_path.endswith(".merged.log"):
        reporter.add(Result("SKIP", f"{config.name}: kunit.py", "a resumed run: several KTAP documents, one per boot"))
    elif log.header_found and not boot.timed_out:
        reporter.add(check_kunit(config.name, opts.kunit, log_path, log))
    expected = {t.name: expectations.expected_of(config.name, t.name, t.reason if t.outcome == "skip" else None)
                for t in log.tests}
    # observations that contradict host/expect: a JUnit failure of their experiment too
    mismatches = {t.name: [r.line() for r in check_test(config.name, t, expectations)[1:] if r.status == "FAIL"]
                  for t in log.tests}
    return BootRecord(config.name, log_path, log, config.describe(), boot.wall_s, expected,
                      {k: v for k, v in mismatches.items() if v})


def resume(config: Config, first: Boot, log: KtapLog, stop: Optional[PlatformStop], crashes: bool,
           opts: argparse.Namespace, expectations: Expectations,
           reporter: Reporter) -> Tuple[KtapLog, str, BootOutcome]:
    """Runs the rest of the selection after each platform stop, then checks all boots as one;
    returns the checked log, its file and the outcome the exit check used."""
    base_args = booted_args(log, config.args)  # what the first boot ran (a menu entry?)
    try:
        registry = kernel_registry(build_elf32(opts.elf, opts.out)[0], opts.qemu)
        chosen = selection(registry, base_args)
    except HarnessError as e:
        reporter.add(Result("FAIL", f"{config.name}: resume", str(e)))
        log = evaluate_boot(config, first.outcome, first.raw_log, expectations, reporter)
        return log, os.path.join(opts.out, f"{config.name}.log"), first.outcome
    parts, boots, stops = [], [first.outcome], [stop]
    args, done = list(base_args), 0
    while True:
        ran = selection(registry, args)
        log = trimmed(log, stop)
        idx = len(log.tests)
        stopped = None
        if stop is not None and stop.reported >= 0:
            reporter.info(f"   kernel watchdog in this boot: {stop.words}")
        elif stop is not None and idx < len(ran):
            stopped = stopped_test(0, ran[idx], stop, log)
            reporter.info(f"   platform stop in {ran[idx]} ({stop.kind}): {stop.words}")
            idx += 1
        parts.append((log, stopped))
        done += idx
        if stop is None or done >= len(chosen):
            break
        try:
            args, rest = resume_args(registry, base_args, done)
        except HarnessError as e:
            reporter.add(Result("FAIL", f"{config.name}: resume", str(e)))
            break
        again = resume_config(config)
        reporter.info(f"   resuming {len(rest)} experiment(s) in boot {len(boots) + 1}"
                      f"{' (QEMU multiboot loader)' if again.firmware != config.firmware else ''}: {' '.join(args)}")
        boot = boot_once(again, args, f"{config.name}.boot{len(boots) + 1}", False, opts, reporter)
        if boot is None:
            break
        boots.append(boot.outcome)
        log = parse_ktap(boot.raw_log)
        stop = platform_stop(boot.outcome, log, crashes=crashes)
        stops.append(stop)
    merged = merge_logs(parts, len(chosen))
    merged_path = os.path.join(opts.out, f"{config.name}.merged.log")
    with open(merged_path, "w", encoding="utf-8") as f:
        f.write(merged.text)
    reporter.info(f"   {len(boots)} boots, {sum(1 for _, s in parts if s)} platform stop(s); "
                  f"merged log {shown_path(merged_path)}")
    outcome = merge_boots(boots, stops)
    evaluate_boot(config, outcome, merged.text, expectations, reporter, log=merged)
    return merged, merged_path, outcome


def resume_config(config: Config) -> Config:
    """How a BIOS config's resumed boots run: the same kernel through QEMU's multiboot loader
    (machine, CPUs and UART layout unchanged), which skips the firmware and GRUB: those took
    ~35 s a boot under this host's KVM, and the first boot exercised them already.  UEFI
    configs resume through their ISO."""
    if config.firmware == "bios":
        return dataclasses.replace(config, firmware="multiboot1")
    return config


def run_boot_matrix(opts: argparse.Namespace, reporter: Reporter) -> None:
    """Boots and checks every selected config."""
    try:
        with open(opts.matrix, encoding="utf-8") as f:
            configs = select_configs(parse_matrix(f.read(), shown_path(opts.matrix)), opts.only)
    except OSError as e:
        raise HarnessError(f"cannot read matrix {opts.matrix}: {e.strerror}")
    configs = for_scope(for_accel(configs, opts.accel), opts.full)
    expectations = load_expectations(opts.expect)
    # Bochs configs answer to their own file, whatever the accelerator of the QEMU configs
    bochs_expect = os.path.join(os.path.dirname(opts.expect) or ".", BOCHS_EXPECT)
    bochs_expectations = (load_expectations(bochs_expect)
                          if any(c.firmware == "bochs" for c in configs) else expectations)

    def expect_for(config: Config) -> Expectations:
        return bochs_expectations if config.firmware == "bochs" else expectations
    if not os.path.isfile(opts.elf):
        raise HarnessError(f"kernel {opts.elf} not found (build it first)")
    os.makedirs(opts.out, exist_ok=True)
    reporter.info(f"== boot matrix: {len(configs)} configs, ACCEL={opts.accel}, "
                  f"expectations {shown_path(opts.expect)}, timeout {opts.timeout:g} s")
    if not opts.only:
        try:
            reporter.add(check_menu(kernel_registry(build_elf32(opts.elf, opts.out)[0], opts.qemu)))
        except HarnessError as e:
            reporter.add(Result("FAIL", "menu: family entries", str(e)))
    records = []
    for config in [c for c in configs if "alone" in c.options]:
        record = run_config(config, opts, expect_for(config), reporter)
        if record:
            records.append(record)
    # the rest boot side by side (opts.jobs at once), their images built here first (one writer)
    shared = [c for c in configs if "alone" not in c.options]
    for config in shared:
        try:
            _image(config, config.args, opts, True)
        except HarnessError:
            pass  # reported by the config's own boot
    jobs = [lambda r, c=config: run_config(c, opts, expect_for(c), r) for config in shared]
    records += [r for r in run_side_by_side(jobs, opts.jobs, reporter) if r]
    junit = os.path.join(opts.out, "junit.xml")
    results = os.path.join(opts.out, "results.json")
    write_junit(records, junit)
    write_results_json(records, results)
    reporter.info(f"== exported {shown_path(junit)} and {shown_path(results)}")
