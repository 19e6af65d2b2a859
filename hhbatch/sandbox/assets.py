"""Tiny but well-formed files the storage host serves for finished videos and thumbnails.

Why real headers: a client (or a user's browser) that sniffs the download should see an MP4 and a
PNG, not text; building them here avoids shipping binary fixtures.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


@lru_cache(maxsize=1)
def mp4_bytes() -> bytes:
    """An ``ftyp`` + ``free`` + ``mdat`` ISO-BMFF file: recognised as MP4, plays as nothing."""
    ftyp = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41")
    free = _box(b"free", b"HappyHorse sandbox video")
    mdat = _box(b"mdat", bytes(64))
    return ftyp + free + mdat


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@lru_cache(maxsize=1)
def png_bytes(width: int = 16, height: int = 9) -> bytes:
    """A valid 16x9 chestnut-brown PNG thumbnail."""
    row = b"\x00" + bytes((149, 69, 53)) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(row * height))
        + _chunk(b"IEND", b"")
    )
