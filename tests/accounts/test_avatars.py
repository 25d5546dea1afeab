"""avatar_prepare: only real, reasonably sized images get through, re-encoded and stripped."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image, ImageChops

from accounts.exceptions import AvatarTooLargeError, AvatarTooManyPixelsError, InvalidAvatarError
from accounts.services import avatar_prepare
from accounts.uploads import images
from tests.accounts.images import (
    animated_gif,
    image_bytes,
    jpeg_header_only,
    jpeg_with_exif,
    png_header_only,
    upload,
    webp_header_only,
)

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
    with pytest.raises(InvalidAvatarError) as refused:
        avatar_prepare(upload=upload(b"this is not a picture, just text\n" * 10, "cat.png"))
    assert type(refused.value) is InvalidAvatarError
    assert refused.value.message == NOT_AN_IMAGE


@pytest.mark.parametrize("image_format", ["BMP", "TIFF", "ICO"])
def test_real_images_in_other_formats_are_refused(image_format):
    with pytest.raises(InvalidAvatarError) as refused:
        avatar_prepare(upload=upload(image_bytes(image_format, (32, 32)), "pic.png"))
    assert refused.value.message == NOT_AN_IMAGE


def test_a_truncated_image_is_refused():
    # Varied pixels, so the compressed data is long enough to cut in the middle of the pixel stream.
    noisy = Image.frombytes("RGB", (300, 300), bytes(i % 251 for i in range(300 * 300 * 3)))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    data = out.getvalue()
    with pytest.raises(InvalidAvatarError) as refused:
        avatar_prepare(upload=upload(data[: len(data) // 2]))
    assert refused.value.message == NOT_AN_IMAGE


def test_files_over_5_mb_are_refused_before_being_read():
    with pytest.raises(AvatarTooLargeError) as refused:
        avatar_prepare(upload=upload(b"\x00" * (5 * 1024 * 1024 + 1)))
    assert refused.value.message == "The picture is too large (5.0\xa0MB). Upload one of at most 5.0\xa0MB."


def test_exactly_5_mb_is_not_too_large():
    # The size rule lets it through; the content rule then refuses the zeros.
    with pytest.raises(InvalidAvatarError) as refused:
        avatar_prepare(upload=upload(b"\x00" * (5 * 1024 * 1024)))
    assert type(refused.value) is InvalidAvatarError


def test_more_than_20_megapixels_is_refused_from_the_header():
    with pytest.raises(AvatarTooManyPixelsError) as refused:
        avatar_prepare(upload=upload(png_header_only(5000, 4001)))
    assert refused.value.message == (
        "The picture has too many pixels (5000 × 4001). Upload one of at most 20 megapixels."
    )


def test_exactly_20_megapixels_passes_the_pixel_rule():
    # The header is fine; the missing pixel data then fails decoding, which proves the size check let it by.
    # A JPEG: it decodes at a quarter of the size, so its decoding cost is within budget too.
    with pytest.raises(InvalidAvatarError) as refused:
        avatar_prepare(upload=upload(jpeg_header_only(5000, 4000), "photo.jpg", "image/jpeg"))
    assert type(refused.value) is InvalidAvatarError


@pytest.mark.parametrize(("width", "height"), [(12_000, 12_000), (60_000, 60_000)])
def test_decompression_bombs_are_refused_as_too_many_pixels(width, height):
    # Beyond Pillow's own bomb limit Image.open refuses before we see the size, hence no dimensions.
    with pytest.raises(AvatarTooManyPixelsError) as refused:
        avatar_prepare(upload=upload(png_header_only(width, height)))
    assert refused.value.message == "The picture has too many pixels. Upload one of at most 20 megapixels."


# --- bounded cost (issue #8, item 7): what a hostile picture may make the server do ----------------

TOO_LARGE_TO_PROCESS = (
    "This picture is too large for us to process ({size}). Upload a smaller one, of at most {limit} megapixels."
)


def test_the_4472_pixel_png_bomb_is_refused_before_a_pixel_is_decoded():
    # 20.0 megapixels passes the pixel rule, but decoding an RGB PNG that large (81 KB on disk)
    # cost 0.6 s of CPU and 261 MB; within budget an RGB PNG may have 10 megapixels.
    bomb = png_header_only(4472, 4472, bit_depth=8, color_type=2)
    with pytest.raises(images.ImageTooCostlyError) as refused:
        avatar_prepare(upload=upload(bomb))
    assert refused.value.message == TOO_LARGE_TO_PROCESS.format(size="4472 × 4472", limit=10)
    assert isinstance(refused.value, images.ImageRefusedError)


@pytest.mark.parametrize(
    ("bit_depth", "color_type", "limit"),
    [(8, 2, 11), (8, 6, 4), (16, 6, 2), (8, 0, 11)],
    ids=["rgb", "rgba", "rgba-16-bit", "grey"],
)
def test_the_pixel_budget_of_a_png_depends_on_what_decoding_it_costs(bit_depth, color_type, limit):
    with pytest.raises(images.ImageTooCostlyError) as refused:
        avatar_prepare(upload=upload(png_header_only(4000, 3000, bit_depth=bit_depth, color_type=color_type)))
    assert refused.value.params == {"width": 4000, "height": 3000, "limit": limit}


def test_a_large_photo_is_decoded_at_a_reduced_scale_and_kept_at_1024():
    # A JPEG is decoded by libjpeg at 1/2, 1/4 or 1/8 of its size: 20 megapixels cost a fifth of 10.
    photo = image_bytes("JPEG", (5472, 3648))
    prepared = avatar_prepare(upload=upload(photo, "photo.jpg", "image/jpeg"))
    assert (prepared.width, prepared.height) == (1024, 683)


def test_a_picture_within_budget_is_decoded_and_capped_at_1024():
    prepared = avatar_prepare(upload=upload(image_bytes("PNG", (3000, 2000), "L")))
    assert (prepared.width, prepared.height) == (1024, 683)
    assert opened(prepared.image).size == (1024, 683)


def test_an_animated_gif_is_refused_without_counting_its_frames():
    # 100,000 frames in 2.3 MB: counting them all (Pillow's n_frames) alone took ~1 s.
    with pytest.raises(images.ImageAnimatedError) as refused:
        avatar_prepare(upload=upload(animated_gif(100_000, (1000, 1000)), "bomb.gif", "image/gif"))
    assert refused.value.message == "Animated pictures can't be used: upload a still picture."


def test_a_two_frame_gif_is_refused_too():
    frames = [Image.new("RGB", (40, 40), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(images.ImageAnimatedError):
        avatar_prepare(upload=upload(out.getvalue(), "wave.gif", "image/gif"))


def test_a_webp_is_measured_from_its_header_before_libwebp_allocates_anything():
    # Pillow's WebP plugin creates libwebp's decoder (and its canvases) when the file is opened.
    with pytest.raises(images.ImageTooCostlyError) as refused:
        avatar_prepare(upload=upload(webp_header_only(4000, 3000), "big.webp", "image/webp"))
    assert refused.value.message == TOO_LARGE_TO_PROCESS.format(size="4000 × 3000", limit=4)


def test_a_progressive_jpeg_counts_its_coefficient_buffer():
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (10, 120, 200)).save(out, "JPEG", progressive=True, subsampling=0)
    with Image.open(io.BytesIO(out.getvalue())) as image:
        # 4 bytes a pixel for Pillow's buffer, plus 3 components × 2 bytes per coefficient.
        assert images.decode_memory(image, image.size) == 200 * 100 * 4 + 200 * 100 * 3 * 2


def test_fitting_in_bands_gives_the_same_pixels_as_the_whole_picture_at_once():
    # A transparent, varied picture: bands must neither seam nor bleed transparent colour.
    source = Image.frombytes("RGBA", (901, 677), bytes((i * 7) % 251 for i in range(901 * 677 * 4)))
    size = images.fit_size(source.size, (200, 200))
    factor = max(1, int(min(901 / size[0], 677 / size[1]) / images.REDUCING_GAP))
    whole = source.convert("RGBa").reduce(factor).resize(size, Image.Resampling.LANCZOS).convert("RGBA")
    banded = images._fit_in_bands(source, size, "RGBA")
    assert banded.size == whole.size == (200, 150)
    difference = ImageChops.difference(banded, whole).getextrema()
    # Rounding only: the band's resampling starts at another row offset (2 of 255 at most).
    assert max(high for _low, high in difference) <= 2


def test_fit_size_matches_pillows_thumbnail():
    for size in [(3000, 1500), (5472, 3648), (4472, 4472), (1023, 4000), (641, 479)]:
        expected = Image.new("L", size)
        expected.thumbnail((1024, 1024))
        assert images.fit_size(size, (1024, 1024)) == expected.size


# --- the profile form: refusals write nothing -------------------------------------------------------


def _avatar_files(media_root) -> list:
    return [path for path in media_root.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, NOT_AN_IMAGE),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, NOT_AN_IMAGE),
        (animated_gif(3, (10, 10)), "Animated pictures can't be used: upload a still picture."),
        (
            png_header_only(4472, 4472, bit_depth=8, color_type=2),
            TOO_LARGE_TO_PROCESS.format(size="4472 × 4472", limit=10),
        ),
    ],
    ids=["truncated", "corrupt", "animated", "bomb"],
)
def test_a_refused_avatar_shows_the_message_and_writes_nothing(member_client, member, media_root, data, message):
    if data is None:
        data = _truncated_png()
    before = (member.avatar.name, member.avatar_thumbnail.name, member.display_name)
    response = member_client.post(
        reverse("profile"), {"display_name": "Changed", "language": "en", "avatar": upload(data, "me.png")}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["avatar"] == [message]
    member.refresh_from_db()
    assert (member.avatar.name, member.avatar_thumbnail.name, member.display_name) == before
    assert _avatar_files(media_root) == []


def _truncated_png() -> bytes:
    noisy = Image.frombytes("RGB", (300, 300), bytes(i % 251 for i in range(300 * 300 * 3)))
    out = io.BytesIO()
    noisy.save(out, "PNG")
    return out.getvalue()[: len(out.getvalue()) // 2]
