"""The GRUB ISO for a kernel command line, built by tools/mkiso.sh and cached
in the output directory."""

import hashlib
import os
import subprocess
from typing import Sequence, Tuple

from .inputs import HarnessError
from .paths import GRUB_TEMPLATE, MKISO


def iso_path_for(out_dir: str, args: Sequence[str]) -> str:
    """The cached ISO for a kernel command line: named by a hash of the
    argument words, so configs with equal command lines share one ISO."""
    digest = hashlib.sha256("\0".join(args).encode()).hexdigest()[:12]
    return os.path.join(out_dir, "iso", f"racebed-{digest}.iso")


def iso_is_fresh(iso: str, inputs: Sequence[str]) -> bool:
    """True if iso exists and is newer than every input file."""
    try:
        built = os.stat(iso).st_mtime
    except FileNotFoundError:
        return False
    return all(os.stat(p).st_mtime <= built for p in inputs if os.path.exists(p))


def build_iso(elf: str, args: Sequence[str], out_dir: str) -> Tuple[str, bool]:
    """Builds (or reuses) the ISO for args; returns (path, rebuilt).  Raises
    HarnessError with mkiso.sh's output on failure."""
    iso = iso_path_for(out_dir, args)
    if iso_is_fresh(iso, (elf, MKISO, GRUB_TEMPLATE)):
        return iso, False
    proc = subprocess.run(["bash", MKISO, elf, iso, *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        output = proc.stdout.decode("utf-8", "replace").strip().splitlines()
        raise HarnessError("\n".join([f"tools/mkiso.sh failed (exit {proc.returncode}):"] + output[-30:]))
    return iso, True
