#!/bin/sh
# Cuts the Noto CJK SC fonts the card generator draws with down to the
# characters in charset.txt (every character words.go and the national
# division table can put on a card, plus ASCII). Needs Debian's
# python3-fonttools and fonts-noto-cjk. The generator's test fails when a
# character it draws is missing, which is the signal to extend charset.txt
# and run this again.
set -eu
cd "$(dirname "$0")"
src=/usr/share/fonts/opentype/noto
for pair in "NotoSansCJK-Regular.ttc:NotoSansSC-Regular.otf" "NotoSerifCJK-Regular.ttc:NotoSerifSC-Regular.otf" "NotoSansCJK-Bold.ttc:NotoSansSC-Bold.otf"; do
	ttc=${pair%%:*}; out=${pair#*:}
	# The SC face's index inside the collection.
	idx=$(/usr/bin/python3 -c "
import sys
from fontTools.ttLib import TTCollection
c = TTCollection('$src/$ttc')
for i, f in enumerate(c.fonts):
    if ' SC' in f['name'].getDebugName(1):
        print(i); break
")
	/usr/bin/python3 -m fontTools.subset "$src/$ttc" --font-number="$idx" --text-file=charset.txt \
		--output-file="$out" --layout-features='' --no-hinting --desubroutinize --name-IDs='*'
done
ls -l *.otf
