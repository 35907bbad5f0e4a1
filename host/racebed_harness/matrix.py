"""The boot matrix (host/matrix.txt; format in host/harness.py)."""

import dataclasses
import re
from typing import Dict, List, Optional

from .inputs import HarnessError, strip_comment

EXIT_NAMES = {"pass": 0, "fail": 1, "crash": 2, "cmdline": 3}
EXIT_WORDS = {value: word for word, value in EXIT_NAMES.items()}
# Harness options: words `+KEY=VALUE` (or `+KEY`) among a config's arguments, not given to the
# kernel.  keys: characters sent on the serial line until the KTAP header appears (GRUB hotkeys);
# screendump: a QEMU screendump once the run ended (the kernel must halt: exit=halt), checked
# for the results screen; serial: where the console UART is (com1, pci: a PCI 16550 and no COM1,
# spcr-com2: a UART at 0x2f8 named by an ACPI SPCR table, no COM1); accel: boot this config only
# under that accelerator; quick: the experiments (a tests= value) the config boots in make test,
# where the whole suite runs in another config already (the harness's --full boots them all);
# alone: nothing boots beside this config (its timed experiments get the host to themselves).
# cpu: the Bochs CPU model (firmware bochs; `bochs --help cpu`); ips: Bochs' instructions per
# simulated second.  vga: QEMU's standard VGA (-device VGA) with this preferred mode WxH in its EDID.
# machine: more QEMU machine properties, KEY=VALUE[,KEY=VALUE] (pit=off, hpet=off: the hardware a
# real machine may lack).
OPTIONS = {"alone": r"", "keys": r".+", "screendump": r"", "serial": r"com1|pci|spcr-com2", "accel": r"tcg|kvm",
           "quick": r"[A-Za-z0-9_*?,\[\]-]+", "cpu": r"[a-z0-9_]+", "ips": r"[1-9][0-9]{6,9}",
           "vga": r"[1-9][0-9]{2,3}x[1-9][0-9]{2,3}",
           "machine": r"[a-z0-9-]+=[a-z0-9]+(,[a-z0-9-]+=[a-z0-9]+)*"}
MACHINES = ("pc", "q35")
# multiboot1: QEMU -kernel, no GRUB, no ISO; bochs: the GRUB ISO on Bochs (host/bochs.py) with its
# default BIOS and VGA BIOS, checked against host/expect/bochs.exp whatever the accelerator
FIRMWARES = ("bios", "uefi", "multiboot1", "bochs")


@dataclasses.dataclass
class Config:
    """One boot configuration of the matrix."""

    name: str
    machine: str
    firmware: str
    smp: int
    expected_exit: str
    args: List[str]
    options: Dict[str, str] = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        args = " ".join(self.args) if self.args else "(none)"
        opts = "".join(f" +{k}{'=' + v if v else ''}" for k, v in self.options.items())
        return (f"{self.machine}, {self.firmware}, smp {self.smp}, "
                f"expect exit {EXIT_NAMES.get(self.expected_exit, '-')} ({self.expected_exit}), args: {args}{opts}")


def parse_matrix(text: str, source: str = "matrix") -> List[Config]:
    """Parses the boot matrix; raises HarnessError naming file:line."""
    configs: List[Config] = []
    seen = set()
    for number, line in enumerate(text.splitlines(), 1):
        words = strip_comment(line)
        if not words:
            continue
        where = f"{source}:{number}"
        if len(words) < 5:
            raise HarnessError(f"{where}: expected `NAME MACHINE FIRMWARE SMP EXPECTED_EXIT [ARGS...]`")
        name, machine, firmware, smp, expected = words[:5]
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
            raise HarnessError(f"{where}: bad config name {name!r} (letters, digits, . _ - only)")
        if name in seen:
            raise HarnessError(f"{where}: duplicate config name {name!r}")
        if machine not in MACHINES:
            raise HarnessError(f"{where}: machine must be one of {', '.join(MACHINES)}, not {machine!r}")
        if firmware not in FIRMWARES:
            raise HarnessError(f"{where}: firmware must be one of {', '.join(FIRMWARES)}, not {firmware!r}")
        if not smp.isdigit() or int(smp) < 1:
            raise HarnessError(f"{where}: smp must be a positive number, not {smp!r}")
        if expected not in EXIT_NAMES:
            raise HarnessError(f"{where}: expected exit must be one of {', '.join(EXIT_NAMES)}, not {expected!r}")
        if firmware == "bochs" and machine != "pc":
            raise HarnessError(f"{where}: Bochs emulates one machine: write pc, not {machine!r}")
        seen.add(name)
        args = [w for w in words[5:] if not w.startswith("+")]
        configs.append(Config(name, machine, firmware, int(smp), expected, args,
                              parse_options([w for w in words[5:] if w.startswith("+")], where)))
    return configs


def parse_options(words: List[str], where: str) -> Dict[str, str]:
    """The `+KEY=VALUE` harness options of a config line (see OPTIONS)."""
    options: Dict[str, str] = {}
    for word in words:
        key, _, value = word[1:].partition("=")
        if key not in OPTIONS:
            raise HarnessError(f"{where}: unknown harness option {word!r} (known: {', '.join('+' + k for k in OPTIONS)})")
        if not re.fullmatch(OPTIONS[key], value):
            raise HarnessError(f"{where}: bad value in {word!r}")
        options[key] = value
    return options


def for_accel(configs: List[Config], accel: str) -> List[Config]:
    """The configs that run under accel (those without +accel=, and those naming it)."""
    return [c for c in configs if c.options.get("accel", accel) == accel]


def for_scope(configs: List[Config], full: bool) -> List[Config]:
    """The configs as booted: a +quick=GLOBS config gets tests=GLOBS unless full."""
    return [c if full or "quick" not in c.options else
            dataclasses.replace(c, args=[*c.args, f"tests={c.options['quick']}"]) for c in configs]


def select_configs(configs: List[Config], only: Optional[str]) -> List[Config]:
    """Keeps the configs named in the comma-separated list `only` (all when
    None); raises HarnessError on an unknown name."""
    if not only:
        return configs
    wanted = [n for n in only.split(",") if n]
    known = {c.name for c in configs}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise HarnessError(f"--only: unknown config {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [c for c in configs if c.name in wanted]
