#!/usr/bin/env python3
"""Checks the layering of the kernel sources: boot -> arch -> kernel -> patching -> tests, never back.

Each folder may include headers only from the folders listed for it (lib/ is the freestanding
library under everything). An include of a higher layer is reported with file and line, and the
check fails. Run by `make test` (and `make check-layers`).
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED = {
    "lib": ["lib"],
    "boot": ["lib", "boot"],
    "arch": ["lib", "boot", "arch"],
    "kernel": ["lib", "boot", "arch", "kernel"],
    "patching": ["lib", "boot", "arch", "kernel", "patching"],
    # an experiment family may use its own folder and tests/common, never another family
    "tests": ["lib", "boot", "arch", "kernel", "patching", "tests/common", "SELF"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel: str) -> str:
    return rel.split("/", 1)[0]


def check_file(rel: str) -> list:
    layer = layer_of(rel)
    allowed = [a for a in ALLOWED[layer] if a != "SELF"]
    if "SELF" in ALLOWED[layer]:
        allowed.append(os.path.dirname(rel))
    bad = []
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            if "/" not in target:
                bad.append(f"{rel}:{n}: include \"{target}\" must name its folder (lib/..., arch/x86/...)")
                continue
            if not any(target == a or target.startswith(a + "/") for a in allowed):
                bad.append(f"{rel}:{n}: {layer}/ may not include \"{target}\" "
                           f"(allowed: {', '.join(allowed)})")
    return bad


def main() -> int:
    problems, files = [], 0
    for layer in ALLOWED:
        for dirpath, _, names in os.walk(os.path.join(ROOT, layer)):
            for name in sorted(names):
                if name.endswith((".c", ".h", ".S")):
                    files += 1
                    problems += check_file(os.path.relpath(os.path.join(dirpath, name), ROOT))
    for p in problems:
        print("check_layers: " + p, file=sys.stderr)
    print(f"check_layers: {files} kernel source files, {len(problems)} layering violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
