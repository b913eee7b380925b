#!/usr/bin/python3
"""Make the poster font: Noto Sans CJK SC Regular cut down to ASCII and
GB2312 (symbols, level-1 and level-2 hanzi), converted from CFF to TrueType
outlines because github.com/go-pdf/fpdf embeds only glyf fonts.

Needs the Debian packages fonts-noto-cjk and python3-fonttools. Run from
this directory:

    /usr/bin/python3 mkfont.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \
        NotoSansSC-Regular-GB2312.ttf [--level1]

The conversion follows fontTools' Snippets/otf2ttf.py.
"""
import sys

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable


def sc_index(path):
    for i, f in enumerate(TTCollection(path).fonts):
        if f["name"].getDebugName(1) == "Noto Sans CJK SC":
            return i
    sys.exit("no Noto Sans CJK SC face in " + path)


def charset(level1_only):
    cps = set(range(0x20, 0x7F))
    last_row = 0xD7 if level1_only else 0xF7
    rows = list(range(0xA1, 0xAA)) + list(range(0xB0, last_row + 1))
    for hi in rows:
        for lo in range(0xA1, 0xFF):
            try:
                cps.update(ord(c) for c in bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return cps


def to_truetype(font):
    order = font.getGlyphOrder()
    gs = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = {}
    for name in order:
        pen = TTGlyphPen(gs)
        gs[name].draw(Cu2QuPen(pen, 1.0, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    del font["CFF "]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, g in glyf.glyphs.items():
        if hasattr(g, "xMin"):
            hmtx[name] = (hmtx[name][0], g.xMin)
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for attr in ("maxZones",):
        setattr(maxp, attr, 1)
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements",
                 "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    font["maxp"] = maxp
    maxp.compile(font)
    post = font["post"]
    post.formatType = 3.0  # no glyph names: the CID names are useless here
    font.sfntVersion = "\000\001\000\000"


def main():
    src, out = sys.argv[1], sys.argv[2]
    font = TTFont(src, fontNumber=sc_index(src))
    opts = subset.Options()
    opts.layout_features = []
    opts.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG"]
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 11, 13, 14]
    opts.hinting = False
    opts.desubroutinize = True
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=charset("--level1" in sys.argv))
    sub.subset(font)
    to_truetype(font)
    font.save(out)


if __name__ == "__main__":
    main()
