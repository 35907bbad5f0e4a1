#!/usr/bin/env python3
"""Boot the racebed ISO on Bochs (`make run-bochs`): the command line of
racebed_harness/bochs.py, the Bochs driver; `python3 host/bochs.py --help` lists its options."""

import sys

from racebed_harness.bochs import main  # host/racebed_harness/, next to this script

if __name__ == "__main__":
    sys.exit(main())
