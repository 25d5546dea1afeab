"""Avatar pictures: check an upload is a real, reasonably sized image and re-encode it.

Nothing here writes: ``avatar_prepare`` turns an upload into clean bytes (or a clear
refusal) before anything touches storage, so a refused upload leaves no trace.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from django.core.files import File
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.exceptions import AvatarTooLarge, AvatarTooManyPixels, InvalidAvatar

AVATAR_MAX_BYTES = 5 * 1024 * 1024
AVATAR_MAX_PIXELS = 20_000_000
# Stored avatars are downscaled to this; nobody looks at a 20-megapixel face in a 40 px circle.
AVATAR_MAX_SIDE = 1024
THUMBNAIL_SIDE = 160
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
# What a broken or hostile file makes Pillow raise while decoding.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


@dataclass(frozen=True)
class PreparedAvatar:
    image: bytes
    thumbnail: bytes
    extension: str
    width: int
    height: int


def _too_many_pixels(width: int | None = None, height: int | None = None) -> AvatarTooManyPixels:
    limit = AVATAR_MAX_PIXELS // 1_000_000
    if width is None or height is None:
        return AvatarTooManyPixels(
            _("The picture has too many pixels. Upload one of at most %(limit)s megapixels."), limit=limit
        )
    return AvatarTooManyPixels(width=width, height=height, limit=limit)


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _reencode(image: Image.Image) -> PreparedAvatar:
    upright = ImageOps.exif_transpose(image)
    alpha = _has_alpha(upright)
    clean = upright.convert("RGBA" if alpha else "RGB")
    # Drop every bit of metadata (EXIF with GPS and camera serials, XMP, ICC, comments):
    # the encoders fall back to image.info for some of it.
    clean.info = {}
    clean.thumbnail((AVATAR_MAX_SIDE, AVATAR_MAX_SIDE), Image.Resampling.LANCZOS)
    thumbnail = ImageOps.fit(clean, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    thumbnail.info = {}
    image_format = "PNG" if alpha else "JPEG"
    return PreparedAvatar(
        image=_encode(clean, image_format),
        thumbnail=_encode(thumbnail, image_format),
        extension="png" if alpha else "jpg",
        width=clean.width,
        height=clean.height,
    )


def avatar_prepare(*, upload: File) -> PreparedAvatar:
    """Check an uploaded avatar and return it re-encoded, upright and stripped, with a square thumbnail.

    Refuses, with InvalidAvatar or a subclass: files over 5 MB (before reading them), files
    that are not PNG/JPEG/WebP/GIF whatever their name says, images over 20 megapixels
    (read from the header, before anything is decoded) and files that fail to decode.
    Writes nothing; safe to call twice.
    """
    if upload.size is None or upload.size > AVATAR_MAX_BYTES:
        raise AvatarTooLarge(size=filesizeformat(upload.size or 0), limit=filesizeformat(AVATAR_MAX_BYTES))
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; for us any bomb is an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            upload.seek(0)
            # Opening reads the header only: the size is known before a single pixel is decoded.
            with Image.open(upload, formats=ACCEPTED_FORMATS) as probe:
                width, height = probe.size
                if width * height > AVATAR_MAX_PIXELS:
                    raise _too_many_pixels(width, height)
                probe.verify()
            # verify() leaves the image unusable; decode from a fresh handle.
            upload.seek(0)
            with Image.open(upload, formats=ACCEPTED_FORMATS) as image:
                if image.format == "JPEG":
                    # Let libjpeg decode at a reduced scale: less memory for large photos.
                    image.draft("RGB", (AVATAR_MAX_SIDE, AVATAR_MAX_SIDE))
                image.load()
                return _reencode(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except _DECODE_ERRORS:
            raise InvalidAvatar() from None
        finally:
            upload.seek(0)
