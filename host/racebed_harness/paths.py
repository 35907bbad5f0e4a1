"""Where the harness's files live, and how paths are shown in messages."""

import os

HOST_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(HOST_DIR)
MKISO = os.path.join(REPO_DIR, "tools", "mkiso.sh")
GRUB_TEMPLATE = os.path.join(REPO_DIR, "iso", "grub.cfg.in")
DEFAULT_MATRIX = os.path.join(HOST_DIR, "matrix.txt")
EXPECT_DIR = os.path.join(HOST_DIR, "expect")
# Linux's own KTAP parser, unpacked from Debian's linux-source-6.1 by the Makefile.
KUNIT_PY = os.path.join(REPO_DIR, "build", "kunit", "linux-source-6.1", "tools", "testing", "kunit", "kunit.py")


def shown_path(path: str) -> str:
    """path relative to the current directory when it is below it, else
    absolute: short, and unambiguous in messages."""
    full = os.path.abspath(path)
    rel = os.path.relpath(full)
    return full if rel.startswith("..") else rel
