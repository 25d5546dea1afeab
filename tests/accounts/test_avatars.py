"""avatar_prepare: only real, reasonably sized images get through, re-encoded and stripped."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from accounts.exceptions import AvatarTooLarge, AvatarTooManyPixels, InvalidAvatar
from accounts.services import avatar_prepare
from tests.accounts.images import image_bytes, jpeg_header_only, jpeg_with_exif, png_header_only, upload

NOT_AN_IMAGE = "This file is not an image we can use. Upload a PNG, JPEG, WebP or GIF picture."


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize(
    ("image_format", "mode", "expected_format", "extension"),
    [
        ("PNG", "RGB", "JPEG", "jpg"),
        ("JPEG", "RGB", "JPEG", "jpg"),
        ("WEBP", "RGB", "JPEG", "jpg"),
        ("GIF", "L", "JPEG", "jpg"),
        ("PNG", "RGBA", "PNG", "png"),
        ("WEBP", "RGBA", "PNG", "png"),
    ],
)
def test_accepted_formats_are_reencoded_as_jpeg_or_png_if_transparent(image_format, mode, expected_format, extension):
    prepared = avatar_prepare(upload=upload(image_bytes(image_format, (64, 48), mode)))
    assert prepared.extension == extension
    assert (prepared.width, prepared.height) == (64, 48)
    main = opened(prepared.image)
    assert main.format == expected_format
    assert main.size == (64, 48)
    thumbnail = opened(prepared.thumbnail)
    assert thumbnail.format == expected_format
    assert thumbnail.size == (160, 160)


def test_transparent_gif_keeps_its_transparency_as_png():
    image = Image.new("P", (30, 30), 0)
    out = io.BytesIO()
    image.save(out, "GIF", transparency=0)
    prepared = avatar_prepare(upload=upload(out.getvalue(), "a.gif", "image/gif"))
    assert prepared.extension == "png"
    assert opened(prepared.image).mode == "RGBA"


def test_exif_orientation_is_applied_and_every_bit_of_metadata_is_dropped():
    prepared = avatar_prepare(upload=upload(jpeg_with_exif(size=(60, 40), orientation=6), "photo.jpg", "image/jpeg"))
    main = opened(prepared.image)
    # Orientation 6 means "rotate 90° clockwise to display": the 60×40 photo stands upright.
    assert main.size == (40, 60)
    assert dict(main.getexif()) == {}
    assert "exif" not in main.info
    assert "comment" not in main.info
    assert "icc_profile" not in main.info
    assert dict(opened(prepared.thumbnail).getexif()) == {}


def test_big_photos_are_downscaled_to_1024_on_the_long_side():
    prepared = avatar_prepare(upload=upload(image_bytes("JPEG", (3000, 1500)), "big.jpg", "image/jpeg"))
    assert (prepared.width, prepared.height) == (1024, 512)
    assert opened(prepared.image).size == (1024, 512)


def test_a_text_file_named_png_is_refused():
    with pytest.raises(InvalidAvatar) as refused:
        avatar_prepare(upload=upload(b"this is not a picture, just text\n" * 10, "cat.png"))
    assert type(refused.value) is InvalidAvatar
    assert refused.value.message == NOT_AN_IMAGE


@pytest.mark.parametrize("image_format", ["BMP", "TIFF", "ICO"])
def test_real_images_in_other_formats_are_refused(image_format):
    with pytest.raises(InvalidAvatar) as refused:
        avatar_prepare(upload=upload(image_bytes(image_format, (32, 32)), "pic.png"))
    assert refused.value.message == NOT_AN_IMAGE


def test_a_truncated_image_is_refused():
    # Varied pixels, so the compressed data is long enough to cut in the middle of the pixel stream.
    noisy = Image.frombytes("RGB", (300, 300), bytes(i % 251 for i in range(300 * 300 * 3)))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    data = out.getvalue()
    with pytest.raises(InvalidAvatar) as refused:
        avatar_prepare(upload=upload(data[: len(data) // 2]))
    assert refused.value.message == NOT_AN_IMAGE


def test_files_over_5_mb_are_refused_before_being_read():
    with pytest.raises(AvatarTooLarge) as refused:
        avatar_prepare(upload=upload(b"\x00" * (5 * 1024 * 1024 + 1)))
    assert refused.value.message == "The picture is too large (5.0\xa0MB). Upload one of at most 5.0\xa0MB."


def test_exactly_5_mb_is_not_too_large():
    # The size rule lets it through; the content rule then refuses the zeros.
    with pytest.raises(InvalidAvatar) as refused:
        avatar_prepare(upload=upload(b"\x00" * (5 * 1024 * 1024)))
    assert type(refused.value) is InvalidAvatar


def test_more_than_20_megapixels_is_refused_from_the_header():
    with pytest.raises(AvatarTooManyPixels) as refused:
        avatar_prepare(upload=upload(png_header_only(5000, 4001)))
    assert refused.value.message == (
        "The picture has too many pixels (5000 × 4001). Upload one of at most 20 megapixels."
    )


def test_exactly_20_megapixels_passes_the_pixel_rule():
    # The header is fine; the missing pixel data then fails decoding, which proves the size check let it by.
    # A JPEG: it decodes at a quarter of the size, so its decoding cost is within budget too.
    with pytest.raises(InvalidAvatar) as refused:
        avatar_prepare(upload=upload(jpeg_header_only(5000, 4000), "photo.jpg", "image/jpeg"))
    assert type(refused.value) is InvalidAvatar


@pytest.mark.parametrize(("width", "height"), [(12_000, 12_000), (60_000, 60_000)])
def test_decompression_bombs_are_refused_as_too_many_pixels(width, height):
    # Beyond Pillow's own bomb limit Image.open refuses before we see the size, hence no dimensions.
    with pytest.raises(AvatarTooManyPixels) as refused:
        avatar_prepare(upload=upload(png_header_only(width, height)))
    assert refused.value.message == "The picture has too many pixels. Upload one of at most 20 megapixels."
