"""Rebuild ``samples/``: a small campaign (XLSX + CSV) and the tiny media files it points at.

Why generated: the assets must be real files of their type (they pass the loader's magic-byte
check and the sandbox accepts the upload) yet weigh a few hundred bytes, and nobody should have to
trust a binary blob of unknown origin. Run from the repository root:

    python samples/build_samples.py
"""

from __future__ import annotations

import csv
import io
import struct
import sys
import wave
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

HEADERS = (
    "Prompt",
    "Duration (s)",
    "Aspect ratio",
    "Resolution",
    "Style",
    "Camera motion",
    "Motion intensity",
    "CFG scale",
    "Source image",
    "Last frame",
    "Reference video",
    "Reference audio",
    "Notes",
)
# One row per video: text only, first frame, last frame, reference video, reference audio,
# a Chinese prompt, and the optional knobs.
ROWS: tuple[tuple[object, ...], ...] = (
    (
        "A chestnut horse gallops along a sunlit beach at golden hour",
        6,
        "16:9",
        "1080p",
        "cinematic",
        "pan-right",
        3,
        0.5,
        "",
        "",
        "",
        "",
        "text only",
    ),
    (
        "Our new running shoe slowly turns on a white studio table",
        5,
        "9:16",
        "720p",
        "product",
        "orbit",
        2,
        "",
        "assets/shoe.png",
        "",
        "",
        "",
        "first-frame image",
    ),
    (
        "The camera pulls back to reveal the whole storefront at night",
        8,
        "16:9",
        "720p",
        "",
        "zoom-out",
        "",
        "",
        "",
        "assets/storefront.jpg",
        "",
        "",
        "last-frame image",
    ),
    (
        "Recreate the motion of the reference clip with a red sports car",
        6,
        "16:9",
        "720p",
        "",
        "none",
        "",
        0.7,
        "",
        "",
        "assets/reference.mp4",
        "",
        "reference video",
    ),
    (
        "Confetti falls over a smiling crowd in time with the jingle",
        4,
        "1:1",
        "720p",
        "festive",
        "static",
        4,
        "",
        "",
        "",
        "",
        "assets/jingle.mp3",
        "reference audio (mp3)",
    ),
    (
        "一匹白马在雪山脚下的草原上奔跑，镜头缓缓推进",
        10,
        "9:16",
        "1080p",
        "写实",
        "zoom-in",
        3,
        "",
        "assets/shoe.png",
        "",
        "",
        "assets/voice.wav",
        "中文提示词 + image + wav",
    ),
    (
        "A latte art heart forms in slow motion",
        3,
        "1:1",
        "720p",
        "",
        "tilt-down",
        1,
        0.3,
        "",
        "",
        "",
        "",
        "shortest duration",
    ),
)


# --- tiny media files -----------------------------------------------------------------------
def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A real RGB PNG (a small gradient), every chunk with its CRC."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(
        b"\x00" + b"".join(bytes((x * 32 % 256, y * 32 % 256, 128)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    """A real baseline JPEG: one 8x8 grey block (DC only), hand-assembled marker by marker."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + b"\x01" * 64
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 8, 8, 1) + b"\x01\x11\x00"
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # one code of length 1 for symbol 0
    dht = b"\xff\xc4" + struct.pack(">H", 20) + b"\x00" + one_code
    dht += b"\xff\xc4" + struct.pack(">H", 20) + b"\x10" + one_code
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    scan = b"\x3f"  # DC diff category 0 ("0"), then end-of-block ("0"), padded with 1s
    return b"\xff\xd8" + app0 + dqt + sof0 + dht + sos + scan + b"\xff\xd9"


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(brand: bytes = b"isom") -> bytes:
    """An ISO base media file: ftyp (brand), free and a small mdat box."""
    ftyp = _box(b"ftyp", brand + struct.pack(">I", 0x200) + brand + b"mp41")
    return ftyp + _box(b"free", b"") + _box(b"mdat", b"\x00" * 64)


def m4a_bytes() -> bytes:
    """What a voice recorder exports (audio/mp4): refused by the API."""
    return mp4_bytes(b"M4A ")


def mp3_bytes(frames: int = 3) -> bytes:
    """ID3v2 tag + silent MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each)."""
    id3 = b"ID3\x04\x00\x00\x00\x00\x00\x00"
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413
    return id3 + frame * frames


def wav_bytes(seconds: float = 0.05, rate: int = 8000) -> bytes:
    """PCM WAV of silence, written by the standard library's own writer."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * int(seconds * rate))
    return buffer.getvalue()


def webp_bytes() -> bytes:
    payload = b"WEBPVP8L" + struct.pack("<I", 5) + b"\x2f\x00\x00\x00\x00" + b"\x00"
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


ASSETS = {
    "assets/shoe.png": png_bytes,
    "assets/storefront.jpg": jpeg_bytes,
    "assets/reference.mp4": mp4_bytes,
    "assets/jingle.mp3": mp3_bytes,
    "assets/voice.wav": wav_bytes,
}


# --- the campaign ---------------------------------------------------------------------------
def write_csv(path: Path) -> None:
    """UTF-8 with BOM, comma-separated: what Excel's "CSV UTF-8" saves, Chinese intact."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(ROWS)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Campaign"
    sheet.append(HEADERS)
    for row in ROWS:
        sheet.append([None if cell == "" else cell for cell in row])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in sheet.iter_rows(min_row=2):
        row[0].alignment = Alignment(wrap_text=True)
        row[2].number_format = "@"  # keep 16:9 text, not a time
    widths = {"A": 60, "I": 22, "J": 22, "K": 22, "L": 22, "M": 28}
    for letter in "ABCDEFGHIJKLM":
        sheet.column_dimensions[letter].width = widths.get(letter, 15)
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "hhbatch"
    workbook.save(path)


def build(dest: Path = HERE) -> list[Path]:
    written = []
    for relative, make in ASSETS.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(make())
        written.append(target)
    write_csv(dest / "campaign.csv")
    write_xlsx(dest / "campaign.xlsx")
    written += [dest / "campaign.csv", dest / "campaign.xlsx"]
    return written


if __name__ == "__main__":
    for written_path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written_path)
