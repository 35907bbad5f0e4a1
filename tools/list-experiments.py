#!/usr/bin/env python3
"""`make list`: every experiment's name, family and description, read from
the kernel ELF's registry (the .experiments input section, linked into
.rodata between the symbols __experiments_start and __experiments_end),
without booting anything.

    python3 tools/list-experiments.py [build/racebed.elf]

struct experiment (kernel/experiment.h) is read at fixed offsets; a
_Static_assert in kernel/runner.c keeps the two in step.
"""

import os
import re
import struct
import sys

# struct experiment: u32 order; const char *name, *description; u32 min_cpus, features;
# u64 default_iterations; u32 budget_ms; bool manual; run pointer. 56 bytes, 8-aligned.
ENTRY = struct.Struct("<I4xQQIIQI?3xQ")
RUNNER_C = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "kernel", "runner.c")


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
    out = []
    for i in range(reg["size"] // ENTRY.size):
        order, name, desc, min_cpus, _features, iters, budget, manual, _run = ENTRY.unpack_from(
            data, reg["offset"] + i * ENTRY.size)
        family = order >> 16
        out.append((order, c_string(data, secs, name),
                    families[family] if family < len(families) else f"family{family}",
                    c_string(data, secs, desc), min_cpus, iters, budget, manual))
    return sorted(out)


def main(argv) -> int:
    path = argv[1] if len(argv) > 1 else os.path.join("build", "racebed.elf")
    try:
        exps = experiments(path)
    except (OSError, ElfError, ValueError, struct.error) as e:
        print(f"list-experiments: {path}: {e}", file=sys.stderr)
        return 1
    width = max(len(e[1]) for e in exps)
    for _order, name, family, desc, min_cpus, _iters, _budget, manual in exps:
        extra = " [runs only when named]" if manual else ""
        print(f"{name:<{width}}  {family:<8}  {desc}{extra}")
    print(f"{len(exps)} experiments")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
