"""Image upload benchmark (issue #8, item 7): CPU time and peak memory of one upload, per picture and use.

    .venv/bin/python -m bench.images                       # this checkout
    .venv/bin/python -m bench.images --before ../old-main  # and the same cases on another checkout

Each case runs in a fresh process (so its peak memory is its own): Django is loaded and a tiny
picture decoded first, then the peak-RSS counter is reset and the upload goes through the
use's public function (``avatar_prepare``, ``review_photo_prepare`` — ``product_image_prepare``
on a checkout that predates it — and ``product_image_prepare``). CPU is the process's user +
system time for that one call; memory is the peak resident size above what the process held
before it. No database is touched. It prints the figures and rewrites the ``## Image uploads``
section of docs/benchmarks.md; it never fails on a figure.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from bench import common
from bench.common import progress

ROOT = Path(__file__).resolve().parent.parent
TARGET_CPU_SECONDS = 0.5
TARGET_PEAK_MB = 100
USES = ("avatar", "review photo", "product picture")


@dataclass(frozen=True)
class Case:
    key: str
    title: str
    required: bool  # one of the four cases the issue names


CASES = [
    Case("png-bomb", "PNG bomb: 4472 × 4472 RGB, one flat colour and a disc", True),
    Case("photo-20mp", "photo JPEG: 5472 × 3648 (20 megapixels)", True),
    Case("photo-1mp", "photo JPEG: 1224 × 816 (1 megapixel)", True),
    Case("gif-frames", "GIF: 100,000 frames on a 1000 × 1000 canvas", True),
    Case("png-palette-bomb", "PNG bomb: 4472 × 4472 palette with transparency, dithered", False),
    Case("png-rgba16-bomb", "PNG bomb: 4472 × 4472 RGBA, 16 bits a sample", False),
    Case("jpeg-progressive", "progressive JPEG: 5472 × 3648, 4:2:0", False),
    Case("webp-12mp", "WebP: 4000 × 3000", False),
    Case("png-palette-member", "palette PNG with transparency: 1930 × 1930 (an avatar's worst within budget)", False),
    Case("png-palette-product", "palette PNG with transparency: 1366 × 1366 (a product's worst within budget)", False),
    Case("png-rgb-product", "RGB PNG: 2449 × 2449, flat (a product's largest RGB PNG)", False),
]


# --- the pictures ----------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _photo(size: tuple[int, int]):
    from PIL import Image

    width, height = size
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise((max(1, width // 4), max(1, height // 4)), 40).resize(size).convert("RGB")
    return Image.blend(base, noise, 0.5)


def _save(image, image_format: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def _disc(size: int, mode: str):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (size, size), (250, 250, 250))
    ImageDraw.Draw(image).ellipse((size // 9, size // 9, size - size // 9, size - size // 9), fill=(230, 60, 40))
    return image if mode == "RGB" else image.convert(mode)


def _many_frames(frames: int, width: int, height: int) -> bytes:
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff")
    out += b"!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    frame = b"!\xf9\x04\x00\x01\x00\x00\x00" + b"," + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return bytes(out + frame * frames + b";")


def _rgba16_bomb(side: int) -> bytes:
    header = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    rows = (b"\x00" + b"\x00" * (side * 8)) * side
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")
    )


def _palette(side: int) -> bytes:
    # Dithered to 256 colours: noisy to the decoder and to every encoder after it.
    image = _photo((side, side)).convert("P")
    return _save(image, "PNG", transparency=0)


def make(key: str) -> bytes:
    """The bytes of one case's file (Pillow's noise is random: the photos' sizes vary slightly between runs)."""
    if key == "png-bomb":
        return _save(_disc(4472, "RGB"), "PNG", optimize=True)
    if key == "photo-20mp":
        return _save(_photo((5472, 3648)), "JPEG", quality=80)
    if key == "photo-1mp":
        return _save(_photo((1224, 816)), "JPEG", quality=85)
    if key == "gif-frames":
        return _many_frames(100_000, 1000, 1000)
    if key == "png-palette-bomb":
        return _palette(4472)
    if key == "png-rgba16-bomb":
        return _rgba16_bomb(4472)
    if key == "jpeg-progressive":
        return _save(_photo((5472, 3648)), "JPEG", quality=80, progressive=True)
    if key == "webp-12mp":
        return _save(_photo((4000, 3000)), "WEBP", quality=80)
    if key == "png-palette-member":
        return _palette(1930)
    if key == "png-palette-product":
        return _palette(1366)
    if key == "png-rgb-product":
        return _save(_disc(2449, "RGB"), "PNG", optimize=True)
    raise ValueError(key)


# --- one measurement, in its own process -------------------------------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measure_one(use: str, path: str) -> dict:
    """Run one upload through ``use`` in this process; CPU seconds and peak MB above the start."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    if use == "avatar":
        from accounts.services import avatar_prepare as prepare
    elif use == "review photo":
        try:
            from catalog.images import review_photo_prepare as prepare
        except ImportError:  # before issue #8: review photos went through the product function
            from catalog.images import product_image_prepare as prepare
    else:
        from catalog.images import product_image_prepare as prepare

    prepare(upload=SimpleUploadedFile("warm.png", _save(Image.new("RGB", (64, 64)), "PNG")))
    data = Path(path).read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
    start_rss = _status_kib("VmRSS")
    start = time.process_time()
    try:
        prepared = prepare(upload=SimpleUploadedFile("upload.bin", data))
        outcome = f"kept {prepared.width} × {prepared.height}"
    except Exception as error:  # a refusal is a result here
        outcome = f"refused: {getattr(error, 'code', type(error).__name__)}"
    cpu = time.process_time() - start
    peak = (_status_kib("VmHWM") - start_rss) / 1024
    return {"cpu": cpu, "peak_mb": max(0.0, peak * 1.048576), "outcome": outcome}


def run_case(code: Path, use: str, path: Path) -> dict:
    # This script, run against ``code``'s packages: an older checkout need not have it.
    env = dict(os.environ, PYTHONPATH=str(code), PYTHONWARNINGS="ignore")
    result = subprocess.run(  # noqa: S603 (our own interpreter and script, fixed arguments)
        [sys.executable, str(Path(__file__).resolve()), "--one", use, str(path)],
        cwd=code,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        return {"cpu": float("nan"), "peak_mb": float("nan"), "outcome": "error: " + result.stderr.strip()[-200:]}
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the report ----------------------------------------------------------------------------------


def _figure(result: dict | None) -> str:
    if result is None:
        return "—"
    return f"{result['cpu']:.2f} s, {result['peak_mb']:.0f} MB"


def _met(results: dict) -> str:
    worst_cpu = max(r["cpu"] for r in results.values())
    worst_mb = max(r["peak_mb"] for r in results.values())
    met = worst_cpu <= TARGET_CPU_SECONDS * 1.1 and worst_mb <= TARGET_PEAK_MB
    return f"worst {worst_cpu:.2f} s, {worst_mb:.0f} MB: **{'met' if met else 'missed'}**"


def report(sizes: dict, after: dict, before: dict | None, load: tuple[str, str]) -> str:
    lines = [
        "Written by `.venv/bin/python -m bench.images" + (" --before <old checkout>`." if before else "`."),
        "",
        "| | |",
        "|---|---|",
        f"| date | {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} |",
        f"| CPU | {common._cpu_model()}, {os.cpu_count()} cores |",
        f"| Python | {platform.python_version()}, Pillow {_pillow_version()} |",
        f"| code | git {common._git_revision()} |",
        "",
        f"Load average at the start {load[0]}, at the end {load[1]} (other work on the machine). CPU is the "
        "process's own time for the one call, so load changes it little; peak memory is the resident size "
        "above what the warmed-up process held before the call. Targets (issue #8): at most "
        f"~{TARGET_CPU_SECONDS} s and ~{TARGET_PEAK_MB} MB per upload, whatever its content.",
        "",
    ]
    for use in USES:
        lines += [f"### {use.capitalize()}", ""]
        if before:
            lines += ["| picture | file | before | after | after: what happened |", "|---|---:|---:|---:|---|"]
        else:
            lines += ["| picture | file | CPU, peak memory | what happened |", "|---|---:|---:|---|"]
        for case in CASES:
            result = after[(use, case.key)]
            title = case.title if case.required else f"*{case.title}*"
            size = f"{sizes[case.key] / 1024:,.0f} KB"
            if before:
                old = before.get((use, case.key))
                lines.append(f"| {title} | {size} | {_figure(old)} | {_figure(result)} | {result['outcome']} |")
            else:
                lines.append(f"| {title} | {size} | {_figure(result)} | {result['outcome']} |")
        after_use = {k: v for k, v in after.items() if k[0] == use}
        lines += ["", f"After: {_met(after_use)}."]
        if before:
            before_use = {k: v for k, v in before.items() if k[0] == use}
            lines[-1] += f" Before: {_met(before_use)}."
        lines.append("")
    lines += [
        "Cases in *italics* are extra hostile or edge pictures beyond the four the issue names. A refused "
        "picture is refused from its header, before a pixel is decoded (`accounts.uploads.images`); "
        "docs/decisions/0018-image-uploads.md explains the budgets.",
        "",
        "### Reproduce",
        "",
        "```sh",
        ".venv/bin/python -m bench.images",
        "git worktree add /tmp/old-main <older commit> && .venv/bin/python -m bench.images --before /tmp/old-main",
        "```",
    ]
    return "\n".join(lines)


def _pillow_version() -> str:
    import PIL

    return PIL.__version__


def _load() -> str:
    try:
        return "/".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout (e.g. an older main) to measure as well")
    parser.add_argument("--one", nargs=2, metavar=("USE", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--no-report", action="store_true", help="print only, leave docs/benchmarks.md alone")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.one[0], args.one[1])))
        return

    load_start = _load()
    work = Path(tempfile.mkdtemp(prefix="bench-images-"))
    sizes: dict[str, int] = {}
    for case in CASES:
        data = make(case.key)
        (work / case.key).write_bytes(data)
        sizes[case.key] = len(data)
        progress(f"made {case.key}: {len(data):,} bytes")

    runs = [("after", ROOT)] + ([("before", args.before.resolve())] if args.before else [])
    results: dict[str, dict] = {}
    for label, code in runs:
        results[label] = {}
        for use in USES:
            for case in CASES:
                result = run_case(code, use, work / case.key)
                results[label][(use, case.key)] = result
                progress(f"{label:6} {use:15} {case.key:18} {_figure(result):>16}  {result['outcome']}")
    for path in work.iterdir():
        path.unlink()
    work.rmdir()

    text = report(sizes, results["after"], results.get("before"), (load_start, _load()))
    if not args.no_report:
        common.write_section("Image uploads", text)
        progress(f"wrote the 'Image uploads' section of {common.REPORT_PATH}")


if __name__ == "__main__":
    main()
