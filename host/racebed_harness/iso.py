"""The GRUB ISO for a kernel command line, built by tools/mkiso.sh and cached
in the output directory."""

import hashlib
import os
import subprocess
from typing import Sequence, Tuple

from .inputs import HarnessError
from .paths import GRUB_TEMPLATE, MKISO


# The GRUB menu's countdown in the ISOs the harness boots: 0 (boot the default entry at once)
# unless the config picks an entry with keys, which then gets the product's 5 s.
TEST_MENU_TIMEOUT = 0
PRODUCT_MENU_TIMEOUT = 5


def iso_path_for(out_dir: str, args: Sequence[str], menu_timeout: int = TEST_MENU_TIMEOUT) -> str:
    """The cached ISO for a kernel command line: named by a hash of the
    argument words (and the menu timeout), so configs with equal command
    lines share one ISO."""
    key = "\0".join(args) + ("" if menu_timeout == TEST_MENU_TIMEOUT else f"\0\0timeout={menu_timeout}")
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return os.path.join(out_dir, "iso", f"racebed-{digest}.iso")


def iso_is_fresh(iso: str, inputs: Sequence[str]) -> bool:
    """True if iso exists and is newer than every input file."""
    try:
        built = os.stat(iso).st_mtime
    except FileNotFoundError:
        return False
    return all(os.stat(p).st_mtime <= built for p in inputs if os.path.exists(p))


def build_iso(elf: str, args: Sequence[str], out_dir: str,
              menu_timeout: int = TEST_MENU_TIMEOUT) -> Tuple[str, bool]:
    """Builds (or reuses) the ISO for args; returns (path, rebuilt).  Raises
    HarnessError with mkiso.sh's output on failure."""
    iso = iso_path_for(out_dir, args, menu_timeout)
    if iso_is_fresh(iso, (elf, MKISO, GRUB_TEMPLATE)):
        return iso, False
    proc = subprocess.run(["bash", MKISO, "--menu-timeout", str(menu_timeout), elf, iso, *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        output = proc.stdout.decode("utf-8", "replace").strip().splitlines()
        raise HarnessError("\n".join([f"tools/mkiso.sh failed (exit {proc.returncode}):"] + output[-30:]))
    return iso, True
