"""Avatar pictures: decode an upload within its bounds (``accounts.uploads.images``) and re-encode it.

Nothing here writes: ``avatar_prepare`` turns an upload into clean bytes (or a clear
refusal) before anything touches storage, so a refused upload leaves no trace.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.core.files import File
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from accounts.exceptions import AvatarTooLargeError, AvatarTooManyPixelsError, InvalidAvatarError
from accounts.uploads import images

# Stored avatars are downscaled to this; nobody looks at a 20-megapixel face in a 40 px circle.
AVATAR_MAX_SIDE = 1024
THUMBNAIL_SIDE = 160
AVATAR_RULES = images.ImageRules(formats=("PNG", "JPEG", "WEBP", "GIF"), max_side=AVATAR_MAX_SIDE)
AVATAR_MAX_BYTES = AVATAR_RULES.max_bytes
AVATAR_MAX_PIXELS = AVATAR_RULES.max_pixels
# zlib level 6 without ``optimize``: optimize tries every filter at level 9, 4 s for a noisy 1024 px picture.
PNG_COMPRESS_LEVEL = 1


@dataclass(frozen=True)
class PreparedAvatar:
    image: bytes
    thumbnail: bytes
    extension: str
    width: int
    height: int


def _refusal(error: images.ImageRefusedError) -> images.ImageRefusedError:
    """The avatar's own error (code and wording) for what the shared decoder refused."""
    limit = AVATAR_MAX_PIXELS // 1_000_000
    if isinstance(error, images.ImageFileTooLargeError):
        return AvatarTooLargeError(**error.params)
    if isinstance(error, images.ImageTooManyPixelsError):
        if "width" in error.params:
            return AvatarTooManyPixelsError(width=error.params["width"], height=error.params["height"], limit=limit)
        return AvatarTooManyPixelsError(
            _("The picture has too many pixels. Upload one of at most %(limit)s megapixels."), limit=limit
        )
    if isinstance(error, images.ImageUnreadableError):
        return InvalidAvatarError()
    # Animated or too costly to open: the shared wording says it for every use.
    return error


def _encode(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    if image_format == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    else:
        image.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


def avatar_prepare(*, upload: File) -> PreparedAvatar:
    """Check an uploaded avatar and return it re-encoded, upright and stripped, with a square thumbnail.

    Refuses, with InvalidAvatarError or a subclass: files over 5 MB (before reading them), files
    that are not PNG/JPEG/WebP/GIF whatever their name says, images over 20 megapixels
    (read from the header, before anything is decoded) and files that fail to decode; and
    with ``accounts.uploads.images.ImageAnimatedError`` or ``ImageTooCostlyError`` animations and pictures whose
    decoding would cost too much memory. All of them are ``accounts.uploads.images.ImageRefusedError``.
    The work is bounded whatever the content (docs/decisions/0018). Writes nothing; safe to call twice.
    """
    try:
        clean = images.image_decode(upload=upload, rules=AVATAR_RULES)
    except images.ImageRefusedError as error:
        raise _refusal(error) from None
    alpha = clean.mode == "RGBA"
    thumbnail = ImageOps.fit(clean, (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    image_format = "PNG" if alpha else "JPEG"
    return PreparedAvatar(
        image=_encode(clean, image_format),
        thumbnail=_encode(thumbnail, image_format),
        extension="png" if alpha else "jpg",
        width=clean.width,
        height=clean.height,
    )
