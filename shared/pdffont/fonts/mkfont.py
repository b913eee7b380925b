#!/usr/bin/python3
"""Make the poster font chain (see README.md beside this script).

Four faces, tried in this order for every character of a poster:

  base   Noto Sans CJK SC Regular: ASCII, Latin-1, General Punctuation, CJK
         symbols, half/full-width forms and all of GB2312. One TrueType file,
         loaded for every poster (the fixed texts need it).
  scbmp  the rest of Noto Sans CJK SC's Basic Multilingual Plane (GBK /
         GB18030 hanzi, CJK Extension A, radicals, compatibility ideographs,
         rare symbols), Hangul left out.
  scsip  Noto Sans CJK SC's ideographs above the BMP (Extension B..G, the
         compatibility supplement): about 2 600, 𠮷 and 𡈼 among them.
  hanb   HanaMinB (GlyphWiki's Hanazono Mincho B): every other character of
         CJK Extension B, so the whole block prints.

Every face but base is cut into chunks of 1024 code points
(<face>/<first code point, hex>.ttf.gz), so a poster parses only the few
small fonts its name needs. github.com/go-pdf/fpdf reads only a format-4 cmap
and uses the code point as the glyph's CID, so it cannot address a character
above U+FFFF: the chunks of scsip and hanb map their characters to the
Private Use Area instead (U+E000 + code point - chunk start), and the poster
carries the real characters as ActualText. Each face also has a coverage
bitmap <face>.cov: bit c (byte c>>3, bit c&7) is set when the face has code
point c, for c < 0x40000.

CFF outlines (Noto) are converted to TrueType quadratic outlines (fontTools
cu2qu, max error 1 unit of 1000) because fpdf embeds only glyf fonts. HanaMinB
is scaled from 1024 to 256 units per em (coordinates rounded to 1/256 em: 0.03
mm at the 22 pt of a poster's name, below a 600 dpi printer's dot) to keep the
binary small: its chunks are 9.4 MB instead of 10.7 MB at 512 units.

Needs the Debian packages fonts-noto-cjk, fonts-hanazono and python3-fonttools.
fonts-hanazono need not be installed: `apt-get download fonts-hanazono` and
`dpkg-deb -x fonts-hanazono_*.deb hana` give the file. Run from this directory:

    /usr/bin/python3 mkfont.py /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc \\
        hana/usr/share/fonts/truetype/hanazono/HanaMinB.ttf .

The output is deterministic: the same inputs give the same bytes.
"""
import gzip
import io
import os
import shutil
import sys

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable
from fontTools.ttLib.scaleUpem import scale_upem
from fontTools.ttLib.tables._c_m_a_p import CmapSubtable

CHUNK = 0x400
LIMIT = 0x40000  # coverage bitmaps span planes 0-3
PUA = 0xE000
EXT_B = range(0x20000, 0x2A6E0)
HANGUL = [range(0x1100, 0x1200), range(0x3130, 0x3190), range(0xA960, 0xA980),
          range(0xAC00, 0xD7B0), range(0xD7B0, 0xD800)]
# Blocks of punctuation and symbols people type in names besides GB2312's:
# middle dots (U+00B7, U+2022, U+2027, U+30FB, U+FF65), dashes, brackets.
BASE_BLOCKS = [range(0x20, 0x7F), range(0xA0, 0x100), range(0x2000, 0x2070),
               range(0x3000, 0x3040), range(0xFF00, 0xFFF0)]


def sc_index(path):
    for i, f in enumerate(TTCollection(path).fonts):
        if f["name"].getDebugName(1) == "Noto Sans CJK SC":
            return i
    sys.exit("no Noto Sans CJK SC face in " + path)


def gb2312():
    cps = set()
    for hi in list(range(0xA1, 0xAA)) + list(range(0xB0, 0xF8)):
        for lo in range(0xA1, 0xFF):
            try:
                cps.update(ord(c) for c in bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return cps


def options():
    o = subset.Options()
    o.layout_features = []
    o.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx",
                      "DSIG", "FFTM", "gasp"]
    o.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 11, 13, 14]
    o.name_languages = [0x409]
    o.hinting = False
    o.desubroutinize = True
    o.notdef_outline = True
    o.recalc_timestamp = False
    return o


def cut(font, cps):
    s = subset.Subsetter(options())
    s.populate(unicodes=cps)
    s.subset(font)
    return font


def to_truetype(font):
    """CFF to glyf, after fontTools' Snippets/otf2ttf.py."""
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
    maxp.maxZones = 1
    for attr in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs",
                 "maxInstructionDefs", "maxStackElements",
                 "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, attr, 0)
    font["maxp"] = maxp
    maxp.compile(font)
    font.sfntVersion = "\000\001\000\000"


def finish(font):
    font["post"].formatType = 3.0  # no glyph names: they only cost bytes
    b = io.BytesIO()
    font.save(b)
    return b.getvalue()


def reload(data):
    return TTFont(io.BytesIO(data), recalcTimestamp=False)


def proxy_cmap(font, start):
    """Replace the cmap by one format-4 table mapping U+E000 + (c - start)."""
    best = font.getBestCmap()
    t = CmapSubtable.newSubtable(4)
    t.platformID, t.platEncID, t.language = 3, 1, 0
    t.cmap = {PUA + c - start: g for c, g in best.items() if start <= c < start + CHUNK}
    cmap = newTable("cmap")
    cmap.tableVersion = 0
    cmap.tables = [t]
    font["cmap"] = cmap


def rename(font, family, notice):
    name = font["name"]
    keep = [n for n in name.names if n.nameID in (0, 13, 14)]
    name.names = keep
    for nid, s in ((1, family), (2, "Regular"), (3, family + " 2017-09-04"),
                   (4, family + " Regular"), (6, family.replace(" ", "") + "-Regular"),
                   (13, notice)):
        name.setName(s, nid, 3, 1, 0x409)


def write_cov(path, cps):
    bits = bytearray(LIMIT // 8)
    for c in cps:
        if c < LIMIT:
            bits[c >> 3] |= 1 << (c & 7)
    with open(path, "wb") as f:
        f.write(bits)


def write_chunks(out, face, master, cps, proxy):
    d = os.path.join(out, face)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    starts = sorted({c - c % CHUNK for c in cps})
    total = 0
    for start in starts:
        f = cut(reload(master), [c for c in cps if start <= c < start + CHUNK])
        if proxy:
            proxy_cmap(f, start)
        data = gzip.compress(finish(f), 9, mtime=0)
        total += len(data)
        with open(os.path.join(d, "%X.ttf.gz" % start), "wb") as fh:
            fh.write(data)
    write_cov(os.path.join(out, face + ".cov"), cps)
    print("%s: %d characters, %d chunks, %d bytes" % (face, len(cps), len(starts), total))


def main():
    noto_path, hana_path, out = sys.argv[1:4]

    noto = TTFont(noto_path, fontNumber=sc_index(noto_path), recalcTimestamp=False)
    have = set(noto.getBestCmap())
    base = set()
    for r in BASE_BLOCKS:
        base.update(r)
    base = (base | gb2312()) & have
    hangul = set()
    for r in HANGUL:
        hangul.update(r)
    bmp = {c for c in have if c < 0x10000} - base - hangul
    sip = {c for c in have if 0x10000 <= c < LIMIT}
    cut(noto, base | bmp | sip)
    to_truetype(noto)
    master = finish(noto)

    data = finish(cut(reload(master), base))
    with open(os.path.join(out, "base.ttf"), "wb") as fh:
        fh.write(data)
    write_cov(os.path.join(out, "base.cov"), base)
    print("base: %d characters, %d bytes" % (len(base), len(data)))
    write_chunks(out, "scbmp", master, bmp, False)
    write_chunks(out, "scsip", master, sip, True)

    hana = TTFont(hana_path, recalcTimestamp=False)
    extb = {c for c in hana.getBestCmap() if c in EXT_B} - sip
    cut(hana, extb)
    scale_upem(hana, 256)
    rename(hana, "SmartReg Han ExtB",
           "Cut from HanaMinB 2017-09-04 (GlyphWiki Project), used under the "
           "Hanazono Font License: unlimited permission is granted to use, "
           "copy, and distribute it, with or without modification, either "
           "commercially and noncommercially.")
    write_chunks(out, "hanb", finish(hana), extb, True)


if __name__ == "__main__":
    main()
