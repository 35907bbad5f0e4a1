#!/usr/bin/env python3
"""psf2c.py: converts a PSF1/PSF2 console font (optionally gzipped) into the C glyph table of kernel/font.h."""

import gzip
import struct
import sys
import zlib
from typing import Dict, Optional

FIRST, LAST = 0x20, 0x7E          # printable ASCII; one more glyph (the replacement) follows '~'
PSF1_MAGIC = b"\x36\x04"
PSF2_MAGIC = b"\x72\xb5\x4a\x86"


class FontError(Exception):
    pass


def parse_psf1(data):
    if len(data) < 4:
        raise FontError("truncated PSF1 header")
    mode, height = data[2], data[3]
    count = 512 if mode & 0x01 else 256
    end = 4 + count * height
    if height == 0:
        raise FontError("PSF1 glyph height is 0")
    if len(data) < end:
        raise FontError("PSF1 glyph data truncated (%d glyphs of %d bytes)" % (count, height))
    glyphs = [data[4 + i * height:4 + (i + 1) * height] for i in range(count)]
    table: Optional[Dict[int, int]] = None
    if mode & 0x06:  # HASTAB or HASSEQ: one u16 list per glyph, 0xFFFE starts sequences, 0xFFFF ends
        table, pos = {}, end
        for index in range(count):
            in_seq = False
            while True:
                if pos + 2 > len(data):
                    raise FontError("PSF1 Unicode table truncated at glyph %d" % index)
                (value,) = struct.unpack_from("<H", data, pos)
                pos += 2
                if value == 0xFFFF:
                    break
                if value == 0xFFFE:
                    in_seq = True
                elif not in_seq:
                    table.setdefault(value, index)
    return 8, height, 1, glyphs, table


def parse_psf2(data):
    if len(data) < 32:
        raise FontError("truncated PSF2 header")
    _, version, headersize, flags, count, charsize, height, width = struct.unpack_from("<8I", data, 0)
    rowbytes = (width + 7) // 8
    if version != 0:
        raise FontError("unknown PSF2 version %d" % version)
    if not (1 <= width <= 256 and 1 <= height <= 256 and count >= 1):
        raise FontError("implausible PSF2 geometry %dx%d, %d glyphs" % (width, height, count))
    if charsize != height * rowbytes:
        raise FontError("PSF2 charsize %d does not match %dx%d" % (charsize, width, height))
    end = headersize + count * charsize
    if headersize < 32 or len(data) < end:
        raise FontError("PSF2 glyph data truncated (%d glyphs of %d bytes)" % (count, charsize))
    glyphs = [data[headersize + i * charsize:headersize + (i + 1) * charsize] for i in range(count)]
    table: Optional[Dict[int, int]] = None
    if flags & 0x01:  # UTF-8 strings per glyph, 0xFE starts sequences, 0xFF ends
        table, pos = {}, end
        for index in range(count):
            stop = data.find(b"\xff", pos)
            if stop < 0:
                raise FontError("PSF2 Unicode table truncated at glyph %d" % index)
            singles = data[pos:stop].split(b"\xfe")[0]
            pos = stop + 1
            try:
                text = singles.decode("utf-8")
            except UnicodeDecodeError:
                raise FontError("PSF2 Unicode table has bad UTF-8 at glyph %d" % index) from None
            for ch in text:
                table.setdefault(ord(ch), index)
    return width, height, rowbytes, glyphs, table


def load_font(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FontError("cannot read: %s" % e.strerror) from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise FontError("bad gzip data: %s" % e) from None
    if data[:2] == PSF1_MAGIC:
        return parse_psf1(data)
    if data[:4] == PSF2_MAGIC:
        return parse_psf2(data)
    raise FontError("not a PSF1 or PSF2 font (bad magic)")


def box_glyph(width, height, rowbytes):
    """A hollow rectangle with a one-pixel margin, used when the font has no U+FFFD."""
    rows = []
    for y in range(height):
        bits = 0
        if 1 <= y < height - 1 and width >= 3:
            edge = y in (1, height - 2)
            for x in range(1, width - 1):
                if edge or x in (1, width - 2):
                    bits |= 1 << (rowbytes * 8 - 1 - x)
        rows.append(bits.to_bytes(rowbytes, "big"))
    return b"".join(rows)


def select_glyphs(font, path):
    width, height, rowbytes, glyphs, table = font
    if table is not None and 0xFFFD in table:
        replacement = glyphs[table[0xFFFD]]
    else:
        replacement = box_glyph(width, height, rowbytes)
    chosen = []
    for cp in range(FIRST, LAST + 1):
        index = table.get(cp) if table is not None else cp
        if index is None or index >= len(glyphs):
            print("psf2c: %s: warning: no glyph for U+%04X, using the replacement" % (path, cp),
                  file=sys.stderr)
            chosen.append(replacement)
        else:
            chosen.append(glyphs[index])
    chosen.append(replacement)
    return chosen


def render_c(src, width, height, rowbytes, chosen):
    out = ["/* Generated by tools/psf2c.py from %s: do not edit. */" % src.replace("*/", "*_/"),
           '#include "kernel/font.h"', "",
           "const unsigned font_width = %d;" % width,
           "const unsigned font_height = %d;" % height,
           "const unsigned font_rowbytes = %d;" % rowbytes, "",
           "const unsigned char font_bitmap[FONT_GLYPHS * %d] = {" % (height * rowbytes)]
    for n, glyph in enumerate(chosen):
        cp = FIRST + n
        name = "replacement" if cp > LAST else "U+%04X %s" % (cp, "'%c'" % cp if cp != 0x5C else "backslash")
        out.append("\t/* %s */" % name.replace("*/", "* /"))
        for y in range(height):
            row = glyph[y * rowbytes:(y + 1) * rowbytes]
            bits = int.from_bytes(row, "big")
            art = "".join("#" if bits >> (rowbytes * 8 - 1 - x) & 1 else "." for x in range(width))
            out.append("\t" + " ".join("0x%02x," % b for b in row) + " /* %s */" % art)
    out.append("};")
    return "\n".join(out) + "\n"


def main(argv):
    if len(argv) != 3:
        print("usage: psf2c.py INPUT.psf[.gz] OUTPUT.c", file=sys.stderr)
        return 2
    src, dst = argv[1], argv[2]
    try:
        font = load_font(src)
    except FontError as e:
        print("psf2c: %s: %s" % (src, e), file=sys.stderr)
        return 1
    text = render_c(src, font[0], font[1], font[2], select_glyphs(font, src))
    try:
        with open(dst, "w") as f:
            f.write(text)
    except OSError as e:
        print("psf2c: %s: cannot write: %s" % (dst, e.strerror), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
