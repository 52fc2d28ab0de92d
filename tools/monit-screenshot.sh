#!/bin/sh
# Turns a screen of `tend monit` that tests/test-monit.c saved with its colours
# (build/tests/test-monit-*.ansi, tmux capture-pane -e) into a PNG, for
# docs/monitoring.md: the ANSI text becomes an HTML page, which headless
# Chromium renders. Nothing is fetched from the network.
#
#   tools/monit-screenshot.sh build/tests/test-monit-history.ansi docs/images/monit.png
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 SCREEN.ansi OUT.png" >&2
    exit 2
fi
in=$1
out=$2
chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
    echo "$0: chromium is needed (apt-get install chromium)" >&2
    exit 1
fi
work=$(mktemp -d /tmp/monit-shot.XXXXXX)
trap 'rm -rf "$work"' EXIT

size=$(python3 - "$in" "$work/screen.html" <<'EOF'
import html
import re
import sys

colors = {30: "#2e3436", 31: "#e5534b", 32: "#57ab5a", 33: "#c69026", 34: "#539bf5",
          35: "#b083f0", 36: "#39c5cf", 37: "#d3d7cf"}
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
state = {"fg": None, "bg": None, "bold": False, "dim": False, "reverse": False}
out = []
lines = text.rstrip("\n").split("\n")
width = max((len(re.sub(r"\x1b\[[0-9;]*m", "", line)) for line in lines), default=80)


def span(chunk):
    fg = colors.get(state["fg"], "#d3d7cf")
    bg = state["bg"] or "#1e1e1e"
    if state["reverse"]:
        fg, bg = bg, fg
    style = "color:%s;background:%s" % (fg, bg)
    if state["bold"]:
        style += ";font-weight:bold"
    if state["dim"]:
        style += ";opacity:0.6"
    return '<span style="%s">%s</span>' % (style, html.escape(chunk))


for line in lines:
    for part in re.split(r"(\x1b\[[0-9;]*m)", line):
        m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
        if not m:
            if part:
                out.append(span(part))
            continue
        codes = [int(c) if c else 0 for c in m.group(1).split(";")]
        while codes:
            code = codes.pop(0)
            if code in (38, 48) and len(codes) >= 2 and codes[0] == 5:
                # a 256-colour: the grey ramp (232-255) is what monit uses
                n = codes[1]
                codes = codes[2:]
                level = 8 + 10 * (n - 232) if n >= 232 else 128
                if code == 48:
                    state["bg"] = "#%02x%02x%02x" % (level, level, level)
                continue
            if code == 0:
                state = {"fg": None, "bg": None, "bold": False, "dim": False, "reverse": False}
            elif code == 1:
                state["bold"] = True
            elif code == 2:
                state["dim"] = True
            elif code == 22:
                state["bold"] = state["dim"] = False
            elif code == 7:
                state["reverse"] = True
            elif code == 27:
                state["reverse"] = False
            elif 30 <= code <= 37:
                state["fg"] = code
            elif code == 39:
                state["fg"] = None
            elif code == 49:
                state["bg"] = None
    out.append("\n")
page = ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
        "body{margin:0;background:#1e1e1e}"
        "pre{margin:0;padding:12px;font:14px/1.25 'DejaVu Sans Mono',monospace;color:#d3d7cf}"
        "</style></head><body><pre>%s</pre></body></html>" % "".join(out))
open(sys.argv[2], "w", encoding="utf-8").write(page)
# the window size Chromium needs: 8.43 px a cell at 14px DejaVu Sans Mono, 17.5 px a line
print("%d,%d" % (int(width * 8.43) + 24, int(len(lines) * 17.5) + 24))
EOF
)
"$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
    --user-data-dir="$work/profile" --window-size="$size" --screenshot="$work/shot.png" \
    "file://$work/screen.html" >/dev/null 2>&1
mv "$work/shot.png" "$out"
echo "$out"
