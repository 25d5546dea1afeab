"""The one image decoder every upload goes through: avatars, product pictures, review photos.

An uploaded picture is untrusted input whose cost is set by its content, not its file size:
an 81 KB PNG can declare 4472 × 4472 pixels, and such pictures cost 0.6–2.5 s of CPU and
up to 370 MB each to decode (bench/images.py).
``image_decode`` bounds that cost before paying it, from the header alone:

1. the file size (before reading it), the format (whatever the name says), the declared
   pixels, and "one frame only" (animations are refused: only a still is ever kept);
2. what decoding will cost in memory and CPU, estimated per kind of file (``decode_memory``,
   ``decode_work``): a JPEG is decoded at a reduced scale (libjpeg's DCT scaling, ``draft``),
   but a progressive JPEG still buffers every coefficient; a PNG or GIF is decoded in full,
   a transparent one costs more to average, and a WebP goes through libwebp's animation
   decoder with four canvas-sized buffers;
3. the decoded pixels are converted, reduced and resampled in horizontal bands
   (``_fit_in_bands``), so no full-size converted or resized copy ever exists.

The figures behind the limits are in docs/decisions/0018-image-uploads.md and
``bench/images.py``.
"""

from __future__ import annotations

import math
import struct
import warnings
from dataclasses import dataclass
from typing import IO

from django.core.files import File
from django.template.defaultfilters import filesizeformat
from PIL import Image, UnidentifiedImageError

from accounts.uploads.exceptions import (
    ImageAnimatedError,
    ImageFileTooLargeError,
    ImageRefusedError,
    ImageTooCostlyError,
    ImageTooManyPixelsError,
    ImageUnreadableError,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 20_000_000
# What one decode may cost (see decode_memory and decode_work): with our bands and the
# encoders on top, one upload stays under ~100 MB and ~0.5 s of CPU (docs/decisions/0018).
MAX_DECODE_BYTES = 64 * 1024 * 1024
MAX_DECODE_WORK = 12_000_000
# Box-reduce by the largest whole factor that leaves at least this many times the target
# (exact averages of whole blocks), then Lanczos over the rest (less than 2×). Pillow's
# ``thumbnail`` uses 2.0; 1.0 is what keeps a 20-megapixel picture within ~0.5 s.
REDUCING_GAP = 1.0
# Output rows resampled per band: ~64 × the width of the result at a time.
BAND_ROWS = 64
# Lanczos reads 3 source pixels either side per unit of scale: each band's margin.
_LANCZOS_SUPPORT = 3.0
_ORIENTATION = 0x0112
# What a broken or hostile file makes Pillow raise while decoding.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)

# Pillow's own bomb guard (a warning above the limit, an error above twice the limit) set to our
# cap: nothing bigger than 40 megapixels gets as far as a decoder's allocation. The warning is
# noise here: every use checks its own, lower, pixel cap right after opening.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


@dataclass(frozen=True)
class ImageRules:
    """What one use accepts: Pillow format names, and the long side of the picture it keeps."""

    formats: tuple[str, ...]
    max_side: int
    max_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS
    max_decode_bytes: int = MAX_DECODE_BYTES
    max_decode_work: int = MAX_DECODE_WORK
    # Work per kept pixel: 1 for one picture written; more for a use that writes several copies.
    output_work: float = 1.0


def has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info


def fit_size(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """The size ``Image.thumbnail`` gives ``size`` in ``box``: aspect kept, never enlarged."""
    width, height = size
    x, y = box
    if x >= width and y >= height:
        return size
    aspect = width / height

    def nearest(number: float, key) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if x / y >= aspect:
        return nearest(y * aspect, key=lambda n: abs(aspect - n / y)), y
    return x, nearest(x / aspect, key=lambda n: 0 if n == 0 else abs(aspect - x / n))


def _webp_size(head: bytes) -> tuple[int, int] | None:
    """Width and height from a WebP file's first 30 bytes (lossy, lossless or extended), else None."""
    if len(head) < 30 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return None
    chunk = head[12:16]
    if chunk == b"VP8X":
        return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
    if chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


_BUFFER_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2}


def decode_memory(image: Image.Image, full_size: tuple[int, int]) -> int:
    """Bytes decoding ``image`` (opened, draft chosen; ``full_size`` before the draft) holds at its peak.

    Pillow keeps 1 byte a pixel for 1/L/P, 2 for 16-bit grey and 4 for everything else. A
    progressive JPEG also buffers every DCT coefficient of the full picture (2 bytes each, per
    sampled component), whatever the draft scale. libwebp's animation decoder, which Pillow
    uses for every WebP, holds two canvases, hands over a copy and Pillow unpacks it into a
    fourth: 16 bytes a pixel.
    """
    width, height = image.size
    if image.format == "WEBP":
        return width * height * 16
    memory = width * height * _BUFFER_BYTES.get(image.mode, 4)
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        layers = getattr(image, "layer", None) or [("", 1, 1, 0)]
        h_max = max(h for _id, h, _v, _q in layers)
        v_max = max(v for _id, _h, v, _q in layers)
        samples = sum(h * v for _id, h, v, _q in layers) / (h_max * v_max)
        memory += int(full_size[0] * full_size[1] * samples * 2)
    return memory


def decode_work(image: Image.Image, full_size: tuple[int, int]) -> float:
    """The CPU work of decoding ``image`` and fitting it, in "plain RGB pixels" (about 40 ms a million).

    Every decoded pixel is converted, averaged and resampled once; a transparent picture is
    averaged premultiplied and its encoders work harder, two and a half times the work; 16-bit
    samples are twice the data to inflate.
    A JPEG's entropy decoding reads every coefficient of the full picture, whatever the
    draft scale: a tenth of a pixel's work, half for a progressive one. WebP decoding goes
    through libwebp's animation decoder: twice the work.
    """
    width, height = image.size
    work = float(width * height)
    if has_alpha(image):
        work *= 2.5
    rawmode = image.tile[0][3] if image.tile else ""
    if image.format == "PNG" and isinstance(rawmode, str) and "16" in rawmode:
        work *= 2
    if image.format == "WEBP":
        work *= 2
    if image.format in ("JPEG", "MPO"):
        work += full_size[0] * full_size[1] * (0.5 if image.info.get("progressive") else 0.1)
    return work


def decode_limit(image: Image.Image, full_size: tuple[int, int], rules: ImageRules) -> int:
    """The most pixels a picture of this kind (format, mode, draft) may have within the rules' budgets.

    The work budget pays for what the use writes too: the kept picture's pixels (×2.5 when
    transparent) times ``rules.output_work``, the rest is left for decoding.
    """
    pixels = full_size[0] * full_size[1]
    kept_width, kept_height = fit_size(full_size, (rules.max_side, rules.max_side))
    writing = kept_width * kept_height * (2.5 if has_alpha(image) else 1.0) * rules.output_work
    by_memory = rules.max_decode_bytes * pixels / max(1, decode_memory(image, full_size))
    by_work = max(0.0, rules.max_decode_work - writing) * pixels / max(1.0, decode_work(image, full_size))
    return int(min(rules.max_pixels, by_memory, by_work))


def _is_animated(image: Image.Image) -> bool:
    # An MPO is a JPEG with a preview or depth map attached, not an animation: its first
    # picture is the photo. GIF answers by peeking at one more frame; never count them all
    # (n_frames walks every frame: 2.3 s for a 5 MB GIF of 250,000 one-pixel frames).
    return image.format != "MPO" and bool(getattr(image, "is_animated", False))


def _mode_for(image: Image.Image) -> str:
    return "RGBA" if has_alpha(image) else "RGB"


def _fit_in_bands(source: Image.Image, size: tuple[int, int], mode: str) -> Image.Image:
    """``source`` converted to ``mode`` and scaled to ``size``, never holding a full-size copy.

    The same picture as ``source.convert(mode).reduce(f).resize(size, LANCZOS)`` (to within
    2 of 255 per channel: rounding), worked out ``BAND_ROWS`` output rows at a time: each
    band converts and box-reduces only the source rows it reads (with Lanczos' margin), so
    the memory beyond ``source`` is the result plus one band.
    """
    width, height = source.size
    out_width, out_height = size
    factor = max(1, int(min(width / out_width, height / out_height) / REDUCING_GAP))
    reduced_width, reduced_height = -(-width // factor), -(-height // factor)
    scale = reduced_height / out_height
    margin = math.ceil(_LANCZOS_SUPPORT * max(scale, 1.0)) + 1
    # Transparent pictures are averaged premultiplied (no dark fringes from transparent pixels):
    # converted once per band here, instead of by each of reduce() and resize() both ways.
    working = "RGBa" if mode == "RGBA" else mode
    result = Image.new(working, size)
    for top in range(0, out_height, BAND_ROWS):
        bottom = min(out_height, top + BAND_ROWS)
        first = max(0, math.floor(top * scale) - margin)
        last = min(reduced_height, math.ceil(bottom * scale) + margin)
        rows = source.crop((0, first * factor, width, min(height, last * factor))).convert(mode)
        if working != mode:
            rows = rows.convert(working)
        if factor > 1:
            rows = rows.reduce(factor)
        band = rows.resize(
            (out_width, bottom - top),
            Image.Resampling.LANCZOS,
            box=(0, top * scale - first, reduced_width, bottom * scale - first),
        )
        result.paste(band, (0, top))
    return result.convert(mode) if working != mode else result


def _upright(image: Image.Image, orientation: int | None) -> Image.Image:
    """Apply an EXIF orientation (as ``ImageOps.exif_transpose`` does) to the already small picture."""
    method = {
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_270,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_90,
    }.get(orientation or 1)
    return image.transpose(method) if method is not None else image


def _orientation(image: Image.Image) -> int | None:
    try:
        value = image.getexif().get(_ORIENTATION)
    except _DECODE_ERRORS:
        return None
    return value if isinstance(value, int) else None


def _check_header(image: Image.Image, rules: ImageRules) -> None:
    width, height = image.size
    if width * height > rules.max_pixels:
        raise ImageTooManyPixelsError(width=width, height=height, limit=rules.max_pixels // 1_000_000)
    if _is_animated(image):
        raise ImageAnimatedError()


def _too_costly(width: int, height: int, limit: int) -> ImageTooCostlyError:
    return ImageTooCostlyError(width=width, height=height, limit=max(1, limit // 1_000_000))


def _peek_webp(upload: IO[bytes], rules: ImageRules) -> None:
    # libwebp allocates its canvases when Pillow *opens* a WebP, so its size is checked first.
    head = upload.read(30)
    upload.seek(0)
    size = _webp_size(head)
    if size is None:
        return
    width, height = size
    if width * height > rules.max_pixels:
        raise ImageTooManyPixelsError(width=width, height=height, limit=rules.max_pixels // 1_000_000)
    limit = min(rules.max_pixels, rules.max_decode_bytes // 16, rules.max_decode_work // 2)
    if width * height > limit:
        raise _too_costly(width, height, limit)


def image_decode(*, upload: File, rules: ImageRules) -> Image.Image:
    """Decode an uploaded picture within ``rules`` into an upright RGB or RGBA image, metadata dropped.

    The result fits ``rules.max_side`` on its long side (never enlarged) and carries no
    ``info`` (no EXIF, GPS, XMP, ICC or comments). Refuses, with an ``ImageRefusedError`` subclass
    and before decoding a pixel: an empty file or one over ``max_bytes`` (before reading it),
    a format not in ``rules.formats`` whatever the name says (``ImageUnreadableError``), more than
    ``max_pixels`` (``ImageTooManyPixelsError``), an animation (``ImageAnimatedError``), a picture whose
    decoding would pass the memory or work budget (``ImageTooCostlyError``, see ``decode_limit``);
    and then a file that fails to decode, e.g. truncated (``ImageUnreadableError``). Costs at most
    ~0.5 s of CPU and ~100 MB whatever the content. Writes nothing; safe to call twice.
    """
    if not upload.size:
        raise ImageUnreadableError()
    if upload.size > rules.max_bytes:
        raise ImageFileTooLargeError(size=filesizeformat(upload.size), limit=filesizeformat(rules.max_bytes))
    try:
        upload.seek(0)
        if "WEBP" in rules.formats:
            _peek_webp(upload, rules)
        # Opening reads the header only: size, mode and frames are known before a pixel is decoded.
        with Image.open(upload, formats=rules.formats) as probe:
            _check_header(probe, rules)
            probe.verify()
        # verify() leaves the image unusable; decode from a fresh handle.
        upload.seek(0)
        with Image.open(upload, formats=rules.formats) as image:
            full_size = image.size
            target = fit_size(full_size, (rules.max_side, rules.max_side))
            if image.format in ("JPEG", "MPO"):
                # libjpeg decodes at 1/2, 1/4 or 1/8 scale, the smallest still at least the target.
                image.draft(image.mode, target)
            limit = decode_limit(image, full_size, rules)
            if full_size[0] * full_size[1] > limit:
                raise _too_costly(*full_size, limit)
            image.load()
            orientation = _orientation(image)
            mode = _mode_for(image)
            picture = _fit_in_bands(image, target, mode) if image.size != target else image.convert(mode)
    except Image.DecompressionBombError:
        raise ImageTooManyPixelsError(limit=rules.max_pixels // 1_000_000) from None
    except ImageRefusedError:
        raise
    except _DECODE_ERRORS:
        raise ImageUnreadableError() from None
    finally:
        upload.seek(0)
    picture = _upright(picture, orientation)
    # Nothing but the pixels goes on: the encoders fall back to info for EXIF, ICC and comments.
    picture.info = {}
    return picture
