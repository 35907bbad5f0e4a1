"""The GRUB menu's family entries (iso/grub.cfg.in) against the kernel's experiments: each
`family NAME` entry's tests= globs must select exactly the experiments whose source is in
tests/NAME/ (found by their name as a string literal there), and every experiment
that runs without being named must belong to one family entry."""

import glob
import os
import re
from typing import Dict, List

from .paths import GRUB_TEMPLATE, REPO_DIR
from .platform_stop import Registry, selection
from .report import Result

ENTRY_RE = re.compile(r'^menuentry\s+"[^"]*\bfamily (\w+)\b[^"]*".*?\n\s*racebed_boot\s+\'(tests=[^\']*)\'',
                      re.MULTILINE)


def family_entries(text: str) -> Dict[str, str]:
    """family name -> the entry's `tests=...` word, from grub.cfg.in's text."""
    return {m.group(1): m.group(2) for m in ENTRY_RE.finditer(text)}


def source_families(names: List[str], root: str = REPO_DIR) -> Dict[str, str]:
    """experiment name -> the tests/ folder whose sources spell it as "name"."""
    found: Dict[str, str] = {}
    for path in sorted(glob.glob(os.path.join(root, "tests", "*", "*.[cS]"))):
        family = os.path.basename(os.path.dirname(path))
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for name in names:
            if f'"{name}"' in text:
                found.setdefault(name, family)
    return found


def check_menu(reg: Registry, template: str = GRUB_TEMPLATE, root: str = REPO_DIR) -> Result:
    label = "menu: family entries"
    with open(template, encoding="utf-8") as f:
        entries = family_entries(f.read())
    if not entries:
        return Result("FAIL", label, f"no `family NAME` menu entries in {template}")
    folders = source_families(reg.names, root)
    problems = []
    claimed: Dict[str, List[str]] = {}
    for family, tests in sorted(entries.items()):
        got = set(selection(reg, [tests]))
        want = {n for n in reg.names if folders.get(n) == family and n not in reg.manual}
        for n in sorted(got - want):
            problems.append(f"entry `family {family}` ({tests}) runs {n}, from tests/{folders.get(n, '?')}/")
        for n in sorted(want - got):
            problems.append(f"entry `family {family}` ({tests}) misses {n}")
        for n in got:
            claimed.setdefault(n, []).append(family)
    for n in reg.names:
        if n in reg.manual:
            continue
        if n not in claimed:
            problems.append(f"{n} (tests/{folders.get(n, '?')}/) is in no family entry")
        elif len(claimed[n]) > 1:
            problems.append(f"{n} is in several family entries: {', '.join(claimed[n])}")
    if problems:
        return Result("FAIL", label, f"{len(problems)} problem(s)", problems)
    return Result("PASS", label, f"{len(entries)} families cover {len(claimed)} experiments")
