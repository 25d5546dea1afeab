"""Product pictures: check an upload is a real, reasonably sized image, re-encode it clean, cut the thumbnails.

``product_image_prepare`` writes nothing: it turns an upload into clean bytes (or a clear
refusal) before anything touches storage, so a refused upload leaves no trace.
``product_image_create`` stores a prepared picture as a ProductImage row; the admin's image
inline and the demo seed both go through it.
"""

from __future__ import annotations

import io
import uuid
import warnings
from dataclasses import dataclass

from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.models import ProductImage
from points.exceptions import DomainError

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 20_000_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")
# The stored "original" is capped too: nobody zooms into a 20-megapixel mug.
ORIGINAL_MAX_SIDE = 2000
DETAIL_MAX_SIDE = 1000
LIST_SIDE = 400
JPEG_QUALITY = 85
WEBP_QUALITY = 82
# What a broken or hostile file makes Pillow raise while decoding.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


class InvalidProductImage(DomainError):
    code = "invalid_product_image"
    default_message = _("This file is not an image we can use. Upload a PNG, JPEG or WebP picture.")


class ProductImageTooLarge(InvalidProductImage):
    code = "product_image_too_large"
    default_message = _("The picture is too large (%(size)s). Upload one of at most %(limit)s.")


class ProductImageTooManyPixels(InvalidProductImage):
    code = "product_image_too_many_pixels"
    default_message = _("The picture has too many pixels. Upload one of at most %(limit)s megapixels.")


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


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info


def _encode(image: Image.Image) -> bytes:
    # Nothing but the pixels is passed to the encoder: no EXIF, XMP or ICC leaves this module.
    out = io.BytesIO()
    if image.mode == "RGBA":
        image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    else:
        image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def _cover_square(image: Image.Image, side: int) -> Image.Image:
    """Crop the centred square and scale it to ``side``: cards are square, so cover rather than letterbox."""
    crop = min(image.width, image.height)
    left, top = (image.width - crop) / 2, (image.height - crop) / 2
    # reducing_gap lets Pillow shrink by whole factors first: much faster, visually the same.
    return image.resize(
        (side, side), Image.Resampling.LANCZOS, box=(left, top, left + crop, top + crop), reducing_gap=3.0
    )


def _reencode(image: Image.Image) -> PreparedImage:
    upright = ImageOps.exif_transpose(image)
    clean = upright.convert("RGBA" if _has_alpha(upright) else "RGB")
    clean.info = {}
    clean.thumbnail((ORIGINAL_MAX_SIDE, ORIGINAL_MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    original = _encode(clean)
    if max(clean.size) > DETAIL_MAX_SIDE:
        detail_image = clean.copy()
        detail_image.thumbnail((DETAIL_MAX_SIDE, DETAIL_MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
        detail = _encode(detail_image)
    else:
        detail = original
    return PreparedImage(
        original=original,
        list_thumbnail=_encode(_cover_square(clean, LIST_SIDE)),
        detail=detail,
        width=clean.width,
        height=clean.height,
        extension="webp" if clean.mode == "RGBA" else "jpg",
    )


def _too_many_pixels() -> ProductImageTooManyPixels:
    return ProductImageTooManyPixels(limit=MAX_PIXELS // 1_000_000)


def product_image_prepare(*, upload: File) -> PreparedImage:
    """Check an uploaded product picture and return it re-encoded, upright and stripped, with thumbnails.

    Refuses, with InvalidProductImage or a subclass: files over 5 MB (before reading them),
    files that are not PNG/JPEG/WebP whatever their name says, images over 20 megapixels
    (read from the header, before a pixel is decoded) and files that fail to decode.
    Writes nothing; safe to call twice.
    """
    if not upload.size:
        raise InvalidProductImage()
    if upload.size > MAX_BYTES:
        raise ProductImageTooLarge(size=filesizeformat(upload.size), limit=filesizeformat(MAX_BYTES))
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; here any bomb is an error.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            upload.seek(0)
            # Opening reads the header only: the size is known before a single pixel is decoded.
            with Image.open(upload, formats=ACCEPTED_FORMATS) as probe:
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise _too_many_pixels()
                probe.verify()
            # verify() leaves the image unusable; decode from a fresh handle.
            upload.seek(0)
            with Image.open(upload, formats=ACCEPTED_FORMATS) as image:
                if image.format == "JPEG":
                    # libjpeg decodes at a reduced scale when it can: less memory for big photos.
                    image.draft("RGB", (ORIGINAL_MAX_SIDE, ORIGINAL_MAX_SIDE))
                image.load()
                return _reencode(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels() from None
        except _DECODE_ERRORS:
            raise InvalidProductImage() from None
        finally:
            upload.seek(0)


def product_image_attach(*, image: ProductImage, prepared: PreparedImage) -> None:
    """Put a prepared picture's three files on an (unsaved or existing) ProductImage; the caller saves it."""
    stem = uuid.uuid4().hex
    image.image.save(f"{stem}.{prepared.extension}", ContentFile(prepared.original), save=False)
    image.thumb_list.save(f"{stem}-list.{prepared.extension}", ContentFile(prepared.list_thumbnail), save=False)
    image.thumb_detail.save(f"{stem}-detail.{prepared.extension}", ContentFile(prepared.detail), save=False)


@transaction.atomic
def product_image_create(*, product_id: int, upload: File, sort: int = 0) -> ProductImage:
    """Validate and store a new picture of a product. Raises InvalidProductImage (nothing is written then).

    Not idempotent: calling twice adds two pictures.
    """
    prepared = product_image_prepare(upload=upload)
    image = ProductImage(product_id=product_id, sort=sort)
    product_image_attach(image=image, prepared=prepared)
    image.save()
    return image
