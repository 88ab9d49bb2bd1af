"""SVG charts rasterised and stacked into one PNG a chat can show (cairosvg, Pillow).

cairosvg draws text with cairo and fontconfig: Chinese labels need a CJK font installed
(Debian's fonts-noto-cjk; the charts ask for "Noto Sans CJK SC" first).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import cairosvg
from PIL import Image

SCALE = 2  # twice the SVG's size: sharp text on a phone's screen
GAP = 16  # pixels of white between two charts


def stacked_png(svgs: Sequence[str]) -> bytes:
    """The charts one above the other on white, as PNG bytes."""
    images = [_raster(svg) for svg in svgs]
    width = max((im.width for im in images), default=1)
    height = sum(im.height for im in images) + GAP * max(0, len(images) - 1)
    sheet = Image.new("RGB", (width, max(1, height)), "white")
    top = 0
    for im in images:
        sheet.paste(im, (0, top), im if im.mode == "RGBA" else None)
        top += im.height + GAP
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _raster(svg: str) -> Image.Image:
    png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=SCALE)
    image = Image.open(io.BytesIO(png))
    image.load()
    return image
