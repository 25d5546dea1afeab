"""Product pictures: check an upload is a real, reasonably sized image, re-encode it clean, cut the thumbnails.

``product_image_prepare`` writes nothing: it turns an upload into clean bytes (or a clear
refusal) before anything touches storage, so a refused upload leaves no trace.
``product_image_create`` stores a prepared picture as a ProductImage row; the admin's image
inline and the demo seed both go through it.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image

from accounts.uploads import images
from catalog.exceptions import InvalidProductImageError, ProductImageTooLargeError, ProductImageTooManyPixelsError
from catalog.models import ProductImage

# The stored "original" is capped too: nobody zooms into a 20-megapixel mug.
ORIGINAL_MAX_SIDE = 2000
DETAIL_MAX_SIDE = 1000
LIST_SIDE = 400
JPEG_QUALITY = 85
WEBP_QUALITY = 82
# The original, the detail image and the list thumbnail are resized and written from each
# kept pixel: twice a single picture's work (a 2000 px picture: 8 million of the 14).
PRODUCT_DECODE_WORK = 14_000_000
PRODUCT_IMAGE_RULES = images.ImageRules(
    formats=("PNG", "JPEG", "WEBP"), max_side=ORIGINAL_MAX_SIDE, max_decode_work=PRODUCT_DECODE_WORK, output_work=2.0
)
# A review keeps one picture, shown at most 1000 px wide: decoded straight to that size.
REVIEW_PHOTO_RULES = images.ImageRules(formats=("PNG", "JPEG", "WEBP"), max_side=DETAIL_MAX_SIDE)
MAX_BYTES = PRODUCT_IMAGE_RULES.max_bytes
MAX_PIXELS = PRODUCT_IMAGE_RULES.max_pixels


@dataclass(frozen=True)
class PreparedImage:
    """Re-encoded bytes of the capped original, the square list thumbnail and the detail image.

    JPEG for opaque pictures (fast and small); WebP keeps a transparent one transparent at a
    fraction of PNG's size.
    """

    original: bytes
    list_thumbnail: bytes
    detail: bytes
    width: int
    height: int
    extension: str


@dataclass(frozen=True)
class PreparedPhoto:
    """A review photo: one re-encoded picture of at most 1000 px on its long side."""

    image: bytes
    width: int
    height: int
    extension: str


def _encode(image: Image.Image, *, progressive: bool = True) -> bytes:
    # Nothing but the pixels is passed to the encoder: no EXIF, XMP or ICC leaves this module.
    out = io.BytesIO()
    if image.mode == "RGBA":
        # method 0: a tenth of method 4's time (0.09 s against 0.44 s at 2000 px), files within ~15%.
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=0)
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=progressive)
    return out.getvalue()


def _cover_square(image: Image.Image, side: int) -> Image.Image:
    """Crop the centred square and scale it to ``side``: cards are square, so cover rather than letterbox."""
    crop = min(image.width, image.height)
    left, top = (image.width - crop) / 2, (image.height - crop) / 2
    # reducing_gap lets Pillow shrink by whole factors first: much faster, visually the same.
    return image.resize(
        (side, side), Image.Resampling.LANCZOS, box=(left, top, left + crop, top + crop), reducing_gap=3.0
    )


def _reencode(clean: Image.Image) -> PreparedImage:
    # The 2000 px original is for zooming: a baseline JPEG, four times cheaper to write than a
    # progressive one. Pages show the detail image, progressive so it appears at once.
    original = _encode(clean, progressive=False)
    if max(clean.size) > DETAIL_MAX_SIDE:
        # A gap of 1 halves a 2000 px picture by exact 2 × 2 averages: 0.01 s against 0.1 s of Lanczos.
        detail_image = clean.resize(
            images.fit_size(clean.size, (DETAIL_MAX_SIDE, DETAIL_MAX_SIDE)), Image.Resampling.LANCZOS, reducing_gap=1.0
        )
        detail = _encode(detail_image)
    else:
        detail_image, detail = clean, original
    return PreparedImage(
        original=original,
        # Cut from the detail image: the same square, a quarter of the pixels to read.
        list_thumbnail=_encode(_cover_square(detail_image, LIST_SIDE)),
        detail=detail,
        width=clean.width,
        height=clean.height,
        extension="webp" if clean.mode == "RGBA" else "jpg",
    )


def _refusal(error: images.ImageRefusedError) -> images.ImageRefusedError:
    """The catalog's own error (code and wording) for what the shared decoder refused."""
    if isinstance(error, images.ImageFileTooLargeError):
        return ProductImageTooLargeError(**error.params)
    if isinstance(error, images.ImageTooManyPixelsError):
        return ProductImageTooManyPixelsError(limit=MAX_PIXELS // 1_000_000)
    if isinstance(error, images.ImageUnreadableError):
        return InvalidProductImageError()
    # Animated or too costly to open: the shared wording says it for every use.
    return error


def _decode(upload: File, rules: images.ImageRules) -> Image.Image:
    try:
        return images.image_decode(upload=upload, rules=rules)
    except images.ImageRefusedError as error:
        raise _refusal(error) from None


def product_image_prepare(*, upload: File) -> PreparedImage:
    """Check an uploaded product picture and return it re-encoded, upright and stripped, with thumbnails.

    Refuses, with InvalidProductImageError or a subclass: files over 5 MB (before reading them),
    files that are not PNG/JPEG/WebP whatever their name says, images over 20 megapixels
    (read from the header, before a pixel is decoded) and files that fail to decode; and with
    ``accounts.uploads.images.ImageAnimatedError`` or ``ImageTooCostlyError`` animations and pictures whose
    decoding would cost too much memory. All of them are ``accounts.uploads.images.ImageRefusedError``.
    The work is bounded whatever the content (docs/decisions/0018). Writes nothing; safe to call twice.
    """
    return _reencode(_decode(upload, PRODUCT_IMAGE_RULES))


def review_photo_prepare(*, upload: File) -> PreparedPhoto:
    """Check a review photo and return it re-encoded, upright and stripped, at most 1000 px on its long side.

    The same checks and refusals as ``product_image_prepare``. Writes nothing; safe to call twice.
    """
    clean = _decode(upload, REVIEW_PHOTO_RULES)
    return PreparedPhoto(
        image=_encode(clean),
        width=clean.width,
        height=clean.height,
        extension="webp" if clean.mode == "RGBA" else "jpg",
    )


def product_image_attach(*, image: ProductImage, prepared: PreparedImage) -> None:
    """Put a prepared picture's three files on an (unsaved or existing) ProductImage; the caller saves it."""
    stem = uuid.uuid4().hex
    image.image.save(f"{stem}.{prepared.extension}", ContentFile(prepared.original), save=False)
    image.thumb_list.save(f"{stem}-list.{prepared.extension}", ContentFile(prepared.list_thumbnail), save=False)
    image.thumb_detail.save(f"{stem}-detail.{prepared.extension}", ContentFile(prepared.detail), save=False)


@transaction.atomic
def product_image_create(
    *, product_id: int, upload: File, sort: int = 0, alt_zh: str = "", alt_en: str = ""
) -> ProductImage:
    """Validate and store a new picture of a product, ``sort`` placing it in the gallery and
    ``alt_*`` saying what it shows. Raises InvalidProductImageError (nothing is written then).

    Not idempotent: calling twice adds two pictures.
    """
    prepared = product_image_prepare(upload=upload)
    image = ProductImage(product_id=product_id, sort=sort, alt_zh=alt_zh, alt_en=alt_en)
    product_image_attach(image=image, prepared=prepared)
    image.save()
    return image
