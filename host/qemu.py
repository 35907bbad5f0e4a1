#!/usr/bin/env python3
"""Boot a racebed ISO, or the ELF32 kernel through QEMU's Multiboot 1 loader, in QEMU
(`make run`, run-fast, debug, bench): the command line of racebed_harness/qemu.py, the
QEMU driver; `python3 host/qemu.py --help` lists its options."""

import sys

from racebed_harness.qemu import main  # host/racebed_harness/, next to this script

if __name__ == "__main__":
    sys.exit(main())
