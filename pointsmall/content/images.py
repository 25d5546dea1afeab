"""Banner pictures and feedback screenshots through the one image decoder (accounts.uploads.images):
checked, re-encoded without metadata and capped in size before anything is stored."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.files import File

from accounts.uploads import images

# A banner fills the page width at most (1280 px at 2× would be 2560; 1600 is plenty for a strip).
BANNER_RULES = images.ImageRules(formats=("PNG", "JPEG", "WEBP"), max_side=1600)
# A screenshot is read by an operator: phone screenshots are tall, keep the long side readable.
SCREENSHOT_RULES = images.ImageRules(formats=("PNG", "JPEG", "WEBP"), max_side=1600)
JPEG_QUALITY = 85
WEBP_QUALITY = 82


@dataclass(frozen=True)
class PreparedPicture:
    image: bytes
    width: int
    height: int
    extension: str


def _prepare(upload: File, rules: images.ImageRules) -> PreparedPicture:
    clean = images.image_decode(upload=upload, rules=rules)
    out = io.BytesIO()
    # Only the pixels reach the encoder: no EXIF (location), XMP or ICC is kept.
    if clean.mode == "RGBA":
        clean.save(out, "WEBP", quality=WEBP_QUALITY, method=0)
        extension = "webp"
    else:
        clean.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        extension = "jpg"
    return PreparedPicture(image=out.getvalue(), width=clean.width, height=clean.height, extension=extension)


def banner_picture_prepare(*, upload: File) -> PreparedPicture:
    """Check a banner picture and return it re-encoded, at most 1600 px on its long side.

    Raises ``accounts.uploads.images.ImageRefusedError`` (or a subclass) for what is not a still
    PNG, JPEG or WebP within the decoder's limits. Writes nothing; safe to call twice.
    """
    return _prepare(upload, BANNER_RULES)


def screenshot_prepare(*, upload: File) -> PreparedPicture:
    """Check a feedback screenshot; the same checks and refusals as ``banner_picture_prepare``."""
    return _prepare(upload, SCREENSHOT_RULES)
