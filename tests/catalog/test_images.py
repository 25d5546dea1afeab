"""Product pictures: only real, reasonably sized PNG/JPEG/WebP get through, re-encoded, stripped and cut to size."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.uploads import images
from catalog.exceptions import InvalidProductImageError, ProductImageTooLargeError, ProductImageTooManyPixelsError
from catalog.images import product_image_create, product_image_prepare, review_photo_prepare
from catalog.models import ProductImage

NOT_AN_IMAGE = "This file is not an image we can use. Upload a PNG, JPEG or WebP picture."


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    color = (200, 40, 30, 128) if mode == "RGBA" else (200, 40, 30) if mode == "RGB" else 128
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, image_format)
    return out.getvalue()


def jpeg_with_exif(size: tuple[int, int] = (60, 40), orientation: int = 6) -> bytes:
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0110] = "Secret Camera 3000"
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"shot in the warehouse")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a huge size and carries almost no pixel data: what a decompression bomb looks like."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "item.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "WEBP"])
def test_opaque_pictures_become_jpeg_with_a_square_list_thumbnail_and_a_detail_image(image_format):
    prepared = product_image_prepare(upload=upload(image_bytes(image_format, (640, 480))))
    assert (prepared.extension, prepared.width, prepared.height) == ("jpg", 640, 480)
    assert (opened(prepared.original).format, opened(prepared.original).size) == ("JPEG", (640, 480))
    assert (opened(prepared.list_thumbnail).format, opened(prepared.list_thumbnail).size) == ("JPEG", (400, 400))
    assert opened(prepared.detail).size == (640, 480)


def test_a_transparent_picture_stays_transparent_as_webp():
    prepared = product_image_prepare(upload=upload(image_bytes("PNG", (300, 200), "RGBA")))
    assert prepared.extension == "webp"
    for data in (prepared.original, prepared.list_thumbnail, prepared.detail):
        image = opened(data)
        assert (image.format, image.mode) == ("WEBP", "RGBA")
    assert opened(prepared.list_thumbnail).size == (400, 400)


def test_big_photos_are_capped_at_2000_and_the_detail_image_at_1000_pixels():
    prepared = product_image_prepare(upload=upload(image_bytes("JPEG", (3000, 1500)), "big.jpg", "image/jpeg"))
    assert (prepared.width, prepared.height) == (2000, 1000)
    assert opened(prepared.original).size == (2000, 1000)
    assert opened(prepared.detail).size == (1000, 500)
    assert opened(prepared.list_thumbnail).size == (400, 400)


def test_the_list_thumbnail_covers_the_square_by_cropping_the_middle():
    # A wide picture: red left third, green middle, blue right third. The square crop keeps the middle.
    image = Image.new("RGB", (900, 300), (255, 0, 0))
    image.paste((0, 255, 0), (300, 0, 600, 300))
    image.paste((0, 0, 255), (600, 0, 900, 300))
    out = io.BytesIO()
    image.save(out, "PNG")
    thumbnail = opened(product_image_prepare(upload=upload(out.getvalue())).list_thumbnail)
    red, green, blue = thumbnail.getpixel((200, 200))
    assert green > 200 and red < 60 and blue < 60


def test_exif_orientation_is_applied_and_all_metadata_is_dropped():
    prepared = product_image_prepare(upload=upload(jpeg_with_exif((60, 40), orientation=6), "photo.jpg", "image/jpeg"))
    original = opened(prepared.original)
    assert original.size == (40, 60)
    for data in (prepared.original, prepared.detail, prepared.list_thumbnail):
        image = opened(data)
        assert dict(image.getexif()) == {}
        assert {"exif", "comment", "icc_profile", "xmp"} & set(image.info) == set()


def test_a_text_file_named_png_is_refused():
    with pytest.raises(InvalidProductImageError) as refused:
        product_image_prepare(upload=upload(b"not a picture at all\n" * 20, "cat.png"))
    assert type(refused.value) is InvalidProductImageError
    assert refused.value.message == NOT_AN_IMAGE


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_formats_other_than_png_jpeg_webp_are_refused(image_format):
    with pytest.raises(InvalidProductImageError) as refused:
        product_image_prepare(
            upload=upload(image_bytes(image_format, (20, 20), "RGB" if image_format != "GIF" else "L"))
        )
    assert refused.value.message == NOT_AN_IMAGE


def test_an_empty_file_is_refused():
    with pytest.raises(InvalidProductImageError) as refused:
        product_image_prepare(upload=upload(b""))
    assert refused.value.message == NOT_AN_IMAGE


def test_a_truncated_picture_is_refused():
    data = image_bytes("JPEG", (400, 400))
    with pytest.raises(InvalidProductImageError) as refused:
        product_image_prepare(upload=upload(data[: len(data) // 3], "cut.jpg", "image/jpeg"))
    assert refused.value.message == NOT_AN_IMAGE


def test_files_over_5_mb_are_refused_before_being_read():
    big = upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * (5 * 1024 * 1024))
    with pytest.raises(ProductImageTooLargeError) as refused:
        product_image_prepare(upload=big)
    assert refused.value.message == "The picture is too large (5.0\xa0MB). Upload one of at most 5.0\xa0MB."


def test_a_decompression_bomb_is_refused_from_its_header():
    with pytest.raises(ProductImageTooManyPixelsError) as refused:
        product_image_prepare(upload=upload(png_header_only(30_000, 30_000)))
    assert refused.value.message == "The picture has too many pixels. Upload one of at most 20 megapixels."


def test_just_over_20_megapixels_is_refused():
    with pytest.raises(ProductImageTooManyPixelsError):
        product_image_prepare(upload=upload(png_header_only(5000, 4001)))


def test_product_image_create_stores_the_three_files(make_product, media_root):
    product = make_product()
    image = product_image_create(product_id=product.pk, upload=upload(image_bytes("PNG", (800, 600))), sort=2)
    image.refresh_from_db()
    assert (image.product_id, image.sort) == (product.pk, 2)
    assert image.image.name.endswith(".jpg")
    assert image.thumb_list.name.endswith("-list.jpg")
    assert image.thumb_detail.name.endswith("-detail.jpg")
    assert opened(image.thumb_list.read()).size == (400, 400)
    assert len(list(media_root.rglob("*.jpg"))) == 3


def test_a_refused_picture_writes_no_row_and_no_file(make_product, media_root):
    product = make_product()
    with pytest.raises(InvalidProductImageError):
        product_image_create(product_id=product.pk, upload=upload(b"<svg></svg>", "x.png"))
    assert ProductImage.objects.count() == 0
    assert list(media_root.rglob("*.*")) == []


# --- bounded cost (issue #8, item 7) ----------------------------------------------------------------


def png_header(width: int, height: int, bit_depth: int, color_type: int) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _chunk(b"IEND", b"")
    )


def test_the_png_bomb_is_refused_before_decoding_with_the_limit_for_its_kind():
    with pytest.raises(images.ImageTooCostlyError) as refused:
        product_image_prepare(upload=upload(png_header(4472, 4472, 8, 2)))
    # Product pictures have a smaller decoding budget: writing the 2000 px original and its copies costs too.
    assert refused.value.message == (
        "This picture is too large for us to process (4472 × 4472). Upload a smaller one, of at most 6 megapixels."
    )


def test_a_large_jpeg_photo_is_decoded_at_half_size_and_capped_at_2000():
    prepared = product_image_prepare(upload=upload(image_bytes("JPEG", (5472, 3648)), "big.jpg", "image/jpeg"))
    assert (prepared.width, prepared.height) == (2000, 1333)
    assert opened(prepared.detail).size == (1000, 667)
    assert opened(prepared.list_thumbnail).size == (400, 400)


def test_an_animated_png_is_refused():
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(images.ImageAnimatedError) as refused:
        product_image_prepare(upload=upload(out.getvalue()))
    assert refused.value.message == "Animated pictures can't be used: upload a still picture."


def test_an_animated_webp_is_refused():
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    with pytest.raises(images.ImageAnimatedError):
        product_image_prepare(upload=upload(out.getvalue(), "a.webp", "image/webp"))


def test_a_review_photo_is_decoded_straight_to_1000_pixels():
    prepared = review_photo_prepare(upload=upload(image_bytes("PNG", (2400, 1200))))
    assert (prepared.extension, prepared.width, prepared.height) == ("jpg", 1000, 500)
    assert opened(prepared.image).size == (1000, 500)


def test_a_refused_review_photo_uses_the_catalog_wording():
    with pytest.raises(InvalidProductImageError) as refused:
        review_photo_prepare(upload=upload(b"GIF89a not really", "x.gif", "image/gif"))
    assert refused.value.message == NOT_AN_IMAGE
