"""Image files for upload tests, made in memory with Pillow (or by hand, for hostile headers)."""

from __future__ import annotations

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def image_bytes(image_format: str = "PNG", size: tuple[int, int] = (64, 48), mode: str = "RGB", **save) -> bytes:
    color = (200, 40, 30, 128) if mode == "RGBA" else (200, 40, 30) if mode == "RGB" else 128
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, image_format, **save)
    return out.getvalue()


def jpeg_with_exif(size: tuple[int, int] = (60, 40), orientation: int = 6) -> bytes:
    """A landscape photo whose EXIF says "rotate 90°", with a camera model and a GPS position."""
    image = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    exif[0x0110] = "Secret Camera 3000"  # Model
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, comment=b"shot at home")
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int, bit_depth: int = 1, color_type: int = 0) -> bytes:
    """A PNG that claims a size in its header and carries almost no pixel data: what a bomb looks like.

    By default 1-bit greyscale; ``bit_depth=8, color_type=2`` is RGB, ``color_type=6`` RGBA.
    """
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def upload(data: bytes, name: str = "avatar.png", content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg_header_only(width: int, height: int) -> bytes:
    """A baseline JPEG whose header claims ``width`` × ``height``, cut after the data of an 8 × 8 picture."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data[:-2])  # no end-of-image marker: the file is truncated


def animated_gif(frames: int, size: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF of ``frames`` frames of one pixel each on a ``size`` canvas, written by hand: ~23 bytes a frame."""
    width, height = size
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff")
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = b"!\xf9\x04\x00\x01\x00\x00\x00" + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return bytes(out + frame * frames + b";")


def webp_header_only(width: int, height: int) -> bytes:
    """An extended-format WebP header that claims ``width`` × ``height``, followed by nothing useful."""
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    vp8x += (height - 1).to_bytes(3, "little")
    body = b"WEBP" + vp8x + b"\x00" * 64
    return b"RIFF" + struct.pack("<I", len(body)) + body
