#!/usr/bin/env python3
"""`make list`: every experiment's name, family and description, read from
the kernel ELF's registry (the .experiments input section, linked into
.rodata between the symbols __experiments_start and __experiments_end),
without booting anything. Each entry's source file is the file symbol
(STT_FILE) that precedes its EXPERIMENT() object in the symbol table.

    python3 tools/list-experiments.py [build/racebed.elf]
    python3 tools/list-experiments.py --docs|--check-docs [build/racebed.elf]

--docs (`make docs`) writes the experiment tables of README.md and
tests/*/README.md between their marker comments, from each experiment's
.description; --check-docs (`make test`) fails when one is out of date.

struct experiment (kernel/experiment.h) is read at fixed offsets; a
_Static_assert in kernel/runner.c keeps the two in step.
"""

import os
import re
import struct
import sys
from typing import Dict, List, NamedTuple, Sequence

# struct experiment: u32 order; const char *name, *description; u32 min_cpus, features;
# u64 default_iterations; u32 budget_ms; bool manual; run pointer. 56 bytes, 8-aligned.
ENTRY = struct.Struct("<I4xQQIIQI?3xQ")
REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
RUNNER_C = os.path.join(REPO, "kernel", "runner.c")
STT_OBJECT, STT_FILE = 1, 4


class Experiment(NamedTuple):
    order: int
    name: str
    family: str
    description: str
    min_cpus: int
    iterations: int
    budget_ms: int
    manual: bool
    source: str  # path from the repository's top, e.g. tests/core/timer.c ("?" when unknown)


def family_names():
    """The names of enum exp_family, from exp_family_name() in kernel/runner.c (one list)."""
    try:
        with open(RUNNER_C, encoding="utf-8") as f:
            m = re.search(r"exp_family_name\(.*?names\[\]\s*=\s*\{([^}]*)\}", f.read(), re.S)
        return re.findall(r'"([^"]*)"', m.group(1)) if m else []
    except OSError:
        return []


class ElfError(Exception):
    pass


def sections(data: bytes):
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ElfError("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    heads = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    strtab = heads[shstrndx]
    out = []
    for h in heads:
        name_off = strtab[4] + h[0]
        name = data[name_off:data.index(b"\0", name_off)].decode()
        out.append({"name": name, "type": h[1], "addr": h[3], "offset": h[4], "size": h[5]})
    return out


def c_string(data: bytes, secs, addr: int) -> str:
    for s in secs:
        if s["type"] != 8 and s["addr"] <= addr < s["addr"] + s["size"]:  # 8: SHT_NOBITS
            off = s["offset"] + addr - s["addr"]
            return data[off:data.index(b"\0", off)].decode("utf-8", "replace")
    raise ElfError(f"string at 0x{addr:x} is in no section")


def symbols(data: bytes, secs, wanted):
    symtab = next((s for s in secs if s["name"] == ".symtab"), None)
    strtab = next((s for s in secs if s["name"] == ".strtab"), None)
    if symtab is None or strtab is None:
        raise ElfError("no symbol table (stripped ELF?)")
    found = {}
    for off in range(symtab["offset"], symtab["offset"] + symtab["size"], 24):
        st_name, _info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", data, off)
        start = strtab["offset"] + st_name
        name = data[start:data.index(b"\0", start)].decode("utf-8", "replace")
        if name in wanted:
            found[name] = value
    missing = [w for w in wanted if w not in found]
    if missing:
        raise ElfError(f"no symbol {', '.join(missing)}")
    return found


def object_files(data: bytes, secs, addrs) -> Dict[int, str]:
    """The file symbol (a source's base name) in front of the local object defined at each of
    addrs: the linker keeps each object file's local symbols after its STT_FILE."""
    symtab = next(s for s in secs if s["name"] == ".symtab")
    strtab = next(s for s in secs if s["name"] == ".strtab")
    found: Dict[int, str] = {}
    current = "?"
    for off in range(symtab["offset"], symtab["offset"] + symtab["size"], 24):
        st_name, info, _other, _shndx, value, _size = struct.unpack_from("<IBBHQQ", data, off)
        kind = info & 0xF
        if kind == STT_FILE:
            start = strtab["offset"] + st_name
            current = data[start:data.index(b"\0", start)].decode("utf-8", "replace")
        elif kind == STT_OBJECT and value in addrs and value not in found:
            found[value] = current
    return found


def source_path(base: str) -> str:
    """tests/FAMILY/BASE for a base name found under tests/, else the base name."""
    tests = os.path.join(REPO, "tests")
    hits = sorted(d for d in os.listdir(tests) if os.path.isfile(os.path.join(tests, d, base)))
    return f"tests/{hits[0]}/{base}" if len(hits) == 1 else base


def file_offset(secs, addr: int) -> int:
    for s in secs:
        if s["type"] != 8 and s["addr"] <= addr <= s["addr"] + s["size"] and s["addr"]:
            return s["offset"] + addr - s["addr"]
    raise ElfError(f"address 0x{addr:x} is in no section")


def experiments(path: str):
    with open(path, "rb") as f:
        data = f.read()
    secs = sections(data)
    sym = symbols(data, secs, ("__experiments_start", "__experiments_end"))
    start, end = sym["__experiments_start"], sym["__experiments_end"]
    size = end - start
    if size <= 0 or size % ENTRY.size:
        raise ElfError(f"the registry is {size} bytes, not a multiple of {ENTRY.size}: "
                       "struct experiment changed (update tools/list-experiments.py)")
    reg = {"offset": file_offset(secs, start), "size": size}
    families = family_names()
    count = reg["size"] // ENTRY.size
    files = object_files(data, secs, {start + i * ENTRY.size for i in range(count)})
    out = []
    for i in range(count):
        order, name, desc, min_cpus, _features, iters, budget, manual, _run = ENTRY.unpack_from(
            data, reg["offset"] + i * ENTRY.size)
        family = order >> 16
        out.append(Experiment(order, c_string(data, secs, name),
                              families[family] if family < len(families) else f"family{family}",
                              c_string(data, secs, desc), min_cpus, iters, budget, manual,
                              source_path(files.get(start + i * ENTRY.size, "?"))))
    return sorted(out)


# The generated tables sit between these two lines (README.md: every experiment; a family's
# tests/FAMILY/README.md: those whose source is in that folder).
BEGIN = "<!-- experiments: generated by `make docs` from each .description; edit those -->"
END = "<!-- end of experiments -->"


def table(exps: Sequence[Experiment], top: bool) -> List[str]:
    rows = ["| experiment | file | what it checks |", "|---|---|---|"]
    for e in exps:
        where = f"[{e.source}]({e.source})" if top else os.path.basename(e.source)
        extra = " (runs only when named)" if e.manual else ""
        rows.append(f"| `{e.name}` | {where} | {e.description.replace('|', '/')}{extra} |")
    return rows


def docs(exps: Sequence[Experiment]) -> Dict[str, List[str]]:
    """Each document's table: README.md and every tests/FAMILY/README.md."""
    out = {"README.md": table(exps, True)}
    for folder in sorted(os.listdir(os.path.join(REPO, "tests"))):
        path = f"tests/{folder}/README.md"
        if os.path.isfile(os.path.join(REPO, path)):
            out[path] = table([e for e in exps if e.source.startswith(f"tests/{folder}/")], False)
    return out


def update_docs(exps: Sequence[Experiment], write: bool) -> int:
    stale = []
    for path, rows in docs(exps).items():
        full = os.path.join(REPO, path)
        with open(full, encoding="utf-8") as f:
            text = f.read()
        lines = text.split("\n")
        if lines.count(BEGIN) != 1 or lines.count(END) != 1 or lines.index(BEGIN) > lines.index(END):
            print(f"list-experiments: {path}: needs one line {BEGIN!r} and, after it, {END!r}",
                  file=sys.stderr)
            return 1
        new = "\n".join(lines[:lines.index(BEGIN) + 1] + rows + lines[lines.index(END):])
        if new == text:
            continue
        stale.append(path)
        if write:
            with open(full, "w", encoding="utf-8") as f:
                f.write(new)
    if stale and not write:
        print(f"list-experiments: the experiment tables of {', '.join(stale)} differ from the"
              " experiments' .description: run `make docs`", file=sys.stderr)
        return 1
    print(f"list-experiments: {len(exps)} experiments, "
          + (f"tables written: {', '.join(stale)}" if stale else "every table up to date"))
    return 0


def main(argv) -> int:
    mode = argv[1] if len(argv) > 1 and argv[1] in ("--docs", "--check-docs") else ""
    args = [a for a in argv[1:] if a != mode]
    path = args[0] if args else os.path.join("build", "racebed.elf")
    try:
        exps = experiments(path)
    except (OSError, ElfError, ValueError, struct.error) as err:
        print(f"list-experiments: {path}: {err}", file=sys.stderr)
        return 1
    if mode:
        return update_docs(exps, mode == "--docs")
    width = max(len(x.name) for x in exps)
    for x in exps:
        extra = " [runs only when named]" if x.manual else ""
        print(f"{x.name:<{width}}  {x.family:<8}  {x.description}{extra}")
    print(f"{len(exps)} experiments")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
