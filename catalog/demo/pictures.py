"""The demo's product pictures: drawn, not downloaded, and the same bytes for the same name.

A picture is a two-tone gradient in the category's hue, soft circles placed by a random
generator seeded with the product's name, the category's icon and the name in a font
that has the name's letters (``_drawable`` never leaves a tofu box).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import textwrap
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PICTURE_SIDE = 640  # pixels, square


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    return tuple(round(c * 255) for c in colorsys.hsv_to_rgb(hue % 1.0, saturation, value))


def _icon(draw: ImageDraw.ImageDraw, icon: str, cx: int, cy: int, r: int) -> None:
    white, line = (255, 255, 255, 235), max(r // 9, 4)
    if icon == "device":
        draw.rounded_rectangle((cx - r * 0.55, cy - r, cx + r * 0.55, cy + r), radius=r // 5, outline=white, width=line)
        draw.rounded_rectangle(
            (cx - r * 0.4, cy - r * 0.8, cx + r * 0.4, cy + r * 0.6), radius=r // 12, fill=(255, 255, 255, 90)
        )
        draw.ellipse((cx - r * 0.1, cy + r * 0.72, cx + r * 0.1, cy + r * 0.92), fill=white)
    elif icon == "house":
        draw.polygon([(cx - r, cy - r * 0.05), (cx, cy - r), (cx + r, cy - r * 0.05)], outline=white, width=line)
        draw.rectangle((cx - r * 0.7, cy - r * 0.05, cx + r * 0.7, cy + r * 0.9), outline=white, width=line)
        draw.rectangle((cx - r * 0.18, cy + r * 0.35, cx + r * 0.18, cy + r * 0.9), fill=white)
    elif icon == "shirt":
        points = [
            (-1, -0.6),
            (-0.45, -0.95),
            (-0.2, -0.75),
            (0.2, -0.75),
            (0.45, -0.95),
            (1, -0.6),
            (0.78, -0.15),
            (0.55, -0.3),
            (0.55, 0.95),
            (-0.55, 0.95),
            (-0.55, -0.3),
            (-0.78, -0.15),
        ]
        draw.polygon([(cx + x * r, cy + y * r) for x, y in points], outline=white, width=line)
    elif icon == "cup":
        draw.rounded_rectangle(
            (cx - r * 0.7, cy - r * 0.3, cx + r * 0.45, cy + r * 0.9), radius=r // 6, outline=white, width=line
        )
        draw.arc((cx + r * 0.2, cy - r * 0.1, cx + r * 0.95, cy + r * 0.55), start=-90, end=90, fill=white, width=line)
        for dx in (-0.4, -0.1, 0.2):
            draw.arc(
                (cx + (dx - 0.12) * r, cy - r, cx + (dx + 0.12) * r, cy - r * 0.45),
                start=100,
                end=260,
                fill=white,
                width=line // 2 + 1,
            )
    elif icon == "book":
        draw.rounded_rectangle((cx - r, cy - r * 0.75, cx, cy + r * 0.8), radius=r // 10, outline=white, width=line)
        draw.rounded_rectangle((cx, cy - r * 0.75, cx + r, cy + r * 0.8), radius=r // 10, outline=white, width=line)
        for dy in (-0.4, -0.1, 0.2):
            draw.line((cx + r * 0.2, cy + dy * r, cx + r * 0.8, cy + dy * r), fill=white, width=line // 2 + 1)
    elif icon == "ball":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=white, width=line)
        draw.arc((cx - r * 1.6, cy - r, cx + r * 0.4, cy + r), start=-50, end=50, fill=white, width=line)
        draw.arc((cx - r * 0.4, cy - r, cx + r * 1.6, cy + r), start=130, end=230, fill=white, width=line)
    elif icon == "bottle":
        draw.rounded_rectangle(
            (cx - r * 0.5, cy - r * 0.45, cx + r * 0.5, cy + r), radius=r // 4, outline=white, width=line
        )
        draw.rectangle((cx - r * 0.22, cy - r, cx + r * 0.22, cy - r * 0.45), fill=white)
        draw.ellipse((cx - r * 0.2, cy + r * 0.05, cx + r * 0.2, cy + r * 0.45), fill=(255, 255, 255, 120))
    elif icon == "bolt":
        points = [(0.15, -1), (-0.6, 0.12), (-0.05, 0.12), (-0.2, 1), (0.6, -0.15), (0.05, -0.15)]
        draw.polygon([(cx + x * r, cy + y * r) for x, y in points], fill=white)
    elif icon == "plane":
        points = [
            (0, -1),
            (0.14, -0.6),
            (0.14, -0.2),
            (1, 0.25),
            (1, 0.42),
            (0.14, 0.15),
            (0.12, 0.7),
            (0.38, 0.9),
            (0.38, 1),
            (0, 0.9),
            (-0.38, 1),
            (-0.38, 0.9),
            (-0.12, 0.7),
            (-0.14, 0.15),
            (-1, 0.42),
            (-1, 0.25),
            (-0.14, -0.2),
            (-0.14, -0.6),
        ]
        draw.polygon([(cx + x * r, cy + y * r) for x, y in points], fill=white)
    else:  # ticket
        draw.rounded_rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), radius=r // 6, outline=white, width=line)
        draw.line((cx + r * 0.35, cy - r * 0.5, cx + r * 0.35, cy + r * 0.5), fill=white, width=line // 2 + 1)
        draw.ellipse((cx - r * 0.65, cy - r * 0.4, cx - r * 0.35, cy - r * 0.1), outline=white, width=line // 2 + 1)
        draw.ellipse((cx - r * 0.15, cy + r * 0.1, cx + r * 0.15, cy + r * 0.4), outline=white, width=line // 2 + 1)
        draw.line((cx - r * 0.1, cy - r * 0.4, cx - r * 0.6, cy + r * 0.4), fill=white, width=line // 2 + 1)


# A font with the accented Latin letters of the demo names, where the system has one.
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def _picture_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size=size)
    return ImageFont.load_default(size=size)


def _drawable(text: str, font) -> str:
    """``text`` with every character the font cannot draw replaced, never a tofu box (⊠).

    "¥" becomes "CNY "; an accented letter the font lacks loses its accent ("é" → "e").
    """
    text = text.replace("¥", "CNY ") if not _has_glyph(font, "¥") else text
    out = []
    for char in text:
        if char.isspace() or _has_glyph(font, char):
            out.append(char)
        else:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(base or "?")
    return "".join(out)


def _has_glyph(font, char: str) -> bool:
    # A missing glyph renders as the font's .notdef box: compare with a character no font has.
    try:
        return _mask_bytes(font, char) != _mask_bytes(font, "\U0010fffd")
    except (OSError, ValueError):
        return False


def _mask_bytes(font, char: str) -> tuple:
    mask = font.getmask(char)
    return mask.size, bytes(Image.Image()._new(mask).tobytes())


def product_picture(name: str, hue: float, icon: str, view: int = 0) -> bytes:
    """A distinct, recognisable product picture: a two-tone gradient, soft circles, an icon and the name.

    ``view`` > 0 draws another picture of the same product for its gallery (another light, the
    icon closer up), so a member swiping through sees each picture change.
    """
    seed = name if view == 0 else f"{name}#{view}"
    rng = random.Random(hashlib.sha256(seed.encode()).digest())  # noqa: S311 (decoration, not security)
    side = PICTURE_SIDE
    hue += rng.uniform(-0.05, 0.05) + 0.06 * view
    top = Image.new("RGB", (side, side), _rgb(hue, 0.55 - 0.1 * (view % 2), 0.98))
    bottom = Image.new("RGB", (side, side), _rgb(hue + 0.08, 0.85, 0.72 - 0.06 * view))
    gradient = Image.linear_gradient("L").resize((side, side))
    if view % 2:
        gradient = gradient.transpose(Image.Transpose.ROTATE_90)
    picture = Image.composite(bottom, top, gradient).convert("RGBA")
    overlay = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(5):
        radius = rng.randint(side // 10, side // 3)
        x, y = rng.randint(0, side), rng.randint(0, side)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255, rng.randint(18, 40)))
    _icon(draw, icon, side // 2, int(side * 0.4), side // (5 - min(view, 2)))
    font = _picture_font(side // 14)
    lines = textwrap.wrap(_drawable(name, font), width=22)[:2]
    y = int(side * 0.72)
    for line in lines:
        width = draw.textlength(line, font=font)
        draw.text(((side - width) / 2 + 2, y + 3), line, font=font, fill=(0, 0, 0, 70))
        draw.text(((side - width) / 2, y), line, font=font, fill=(255, 255, 255, 255))
        y += int(side / 13)
    picture.alpha_composite(overlay)
    out = io.BytesIO()
    picture.convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()
