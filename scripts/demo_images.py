#!/usr/bin/python3
"""Draws the demo catalogue's product pictures (issue 12).

Reads lines "path<TAB>category code<TAB>category name<TAB>title" on stdin
(scripts/setup-db.sh selects them from the products' images) and writes
each path, /img/p/N.jpg, as a 480x480 JPEG under the directory given as
the first argument: the category's colours, its sign, the product's short
name (the title before its first space) and the rest of the title.  Files
already there are kept, so a second run is quick.  Needs python3-pil and
fonts-wqy-microhei (scripts/deps.sh).  Served by app/http_static.c.
"""
import os
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
SIZE = 480

# Kept in step with assets/src/components/ProductImage.vue's placeholder.
PALETTE = {
    "tea": ("#e7f3e4", "#3f7d3a", "茶"),
    "nuts": ("#f4ead9", "#8a5a2b", "果"),
    "fruit": ("#fdecea", "#b3261e", "鲜"),
    "grain": ("#fbf3d9", "#8c6d0f", "粮"),
    "meat": ("#f9e4e1", "#8d2b21", "肉"),
    "herbs": ("#e9f0e6", "#4d6b3c", "药"),
    "specialty": ("#fdeee0", "#a2521a", "特"),
    "craft": ("#ece8f6", "#5a4a8c", "艺"),
    "tourism": ("#e2f0f7", "#1f6483", "游"),
    "wellness": ("#e4f4f1", "#22705f", "康"),
}
DEFAULT = ("#eef0f3", "#5c6068", "帮")


def rgb(h):
    return tuple(int(h[i:i + 2], 16) for i in (1, 3, 5))


def mix(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))


def lines_of(text, font, width, draw, most):
    """Breaks text (CJK: any character) into at most `most` lines."""
    out, cur = [], ""
    for ch in text:
        if draw.textlength(cur + ch, font=font) > width and cur:
            out.append(cur)
            cur = ch
            if len(out) == most:
                break
        else:
            cur += ch
    if len(out) < most and cur:
        out.append(cur)
    elif len(out) == most and cur and "".join(out) != text:
        out[-1] = out[-1][:-1] + "…"
    return out


def draw_one(dest, code, cname, title):
    bg, fg, sign = PALETTE.get(code, DEFAULT)
    bg, fg = rgb(bg), rgb(fg)
    img = Image.new("RGB", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    # A soft band at the bottom and a disc behind the category's sign.
    d.rectangle((0, SIZE * 0.78, SIZE, SIZE), fill=mix(bg, fg, 0.10))
    d.ellipse((SIZE / 2 - 92, 40, SIZE / 2 + 92, 224), fill=mix(bg, fg, 0.16))
    d.text((SIZE / 2, 132), sign, font=ImageFont.truetype(FONT, 120),
           fill=fg, anchor="mm")
    short, _, rest = title.partition(" ")
    big = ImageFont.truetype(FONT, 46)
    y = 262
    for ln in lines_of(short, big, SIZE - 60, d, 2):
        d.text((SIZE / 2, y), ln, font=big, fill=mix(fg, (0, 0, 0), 0.25),
               anchor="mt")
        y += 58
    small = ImageFont.truetype(FONT, 26)
    if rest:
        d.text((SIZE / 2, max(y + 8, 390)), rest[:16], font=small, fill=fg,
               anchor="mt")
    d.text((SIZE / 2, SIZE - 22), "帮扶好物 · " + cname, font=small,
           fill=mix(bg, fg, 0.7), anchor="mb")
    tmp = dest + ".tmp"
    img.save(tmp, "JPEG", quality=82, optimize=True, progressive=True)
    os.chmod(tmp, 0o644)
    os.replace(tmp, dest)


def main():
    root = sys.argv[1]
    n = 0
    for raw in sys.stdin:
        parts = raw.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        path, code, cname, title = parts
        # Only the demo's own paths: /img/p/<digits>.jpg, nothing else.
        name = path[len("/img/p/"):]
        if not path.startswith("/img/p/") or not name.endswith(".jpg") or \
                not name[:-4].isdigit():
            continue
        dest = os.path.join(root, "p", name)
        if os.path.exists(dest):
            continue
        os.makedirs(os.path.dirname(dest), mode=0o755, exist_ok=True)
        draw_one(dest, code, cname, title)
        n += 1
    print("demo: drew %d product pictures under %s" % (n, root))


if __name__ == "__main__":
    main()
