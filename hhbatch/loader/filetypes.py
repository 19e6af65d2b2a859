"""What a file really is: content type from its extension, checked against its first bytes.

Why both: the presign request declares a content type and the storage host receives the bytes.
A ``.png`` that is really a JPEG (a renamed download) or an ``.mp3`` that is really an ``.m4a``
would be uploaded under the wrong type and fail later, after credits are spent; here it is a
message on the right cell instead.
"""

from __future__ import annotations

import os
from pathlib import Path

from hhbatch import spec
from hhbatch.i18n import _

SNIFF_BYTES = 64
_HASH_CHUNK = 1024 * 1024

# Content types that are the same container for our purpose (the server accepts both per kind).
_FAMILIES: dict[str, str] = {
    "video/mp4": "isobmff",
    "video/quicktime": "isobmff",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "video/webm": "webm",
    "audio/webm": "webm",
}

# How a detected type is named for a person.
TYPE_NAMES: dict[str, str] = {
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/webp": "WebP image",
    "image/gif": "GIF image",
    "image/bmp": "BMP image",
    "image/heic": "HEIC image",
    "video/mp4": "MP4 video",
    "video/quicktime": "QuickTime video",
    "video/webm": "WebM file",
    "audio/webm": "WebM file",
    "audio/mpeg": "MP3 audio",
    "audio/mp3": "MP3 audio",
    "audio/wav": "WAV audio",
    "audio/mp4": "M4A/AAC audio",
    "audio/aac": "AAC audio",
    "audio/ogg": "Ogg audio",
    "audio/flac": "FLAC audio",
    "video/x-msvideo": "AVI video",
    "application/pdf": "PDF document",
    "application/zip": "ZIP archive",
}

# Extensions we know are refused, to give the advice instead of a bare "not accepted".
REFUSED_EXTENSIONS: dict[str, str] = {".m4a": "audio/mp4", ".aac": "audio/aac"}

_ISO_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_ISO_HEIC_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"hevc"}


def sniff(head: bytes) -> str | None:
    """Content type from a file's first bytes, or None when it matches nothing we know."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video/x-msvideo"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _ISO_AUDIO_BRANDS:
            return "audio/mp4"
        if brand in _ISO_HEIC_BRANDS:
            return "image/heic"
        if brand == b"qt  ":
            return "video/quicktime"
        return "video/mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video/quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if head.startswith(b"ID3"):
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        layer = (head[1] >> 1) & 0x03
        return "audio/mpeg" if layer else "audio/aac"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        return "application/zip"
    return None


def same_type(declared: str, detected: str) -> bool:
    """Whether bytes of type ``detected`` may be uploaded as ``declared``."""
    if declared == detected:
        return True
    family = _FAMILIES.get(declared)
    return family is not None and family == _FAMILIES.get(detected)


def type_name(content_type: str) -> str:
    return TYPE_NAMES.get(content_type, content_type)


def a_type(content_type: str) -> str:
    """ "a PNG image", "an MP3 audio": the article follows how the name is spoken."""
    name = type_name(content_type)
    if name.startswith(("MP", "M4", "AAC", "AVI", "Ogg")):
        return _("an {type}").format(type=name)
    return _("a {type}").format(type=name)


def extensions_for(kind: str) -> str:
    """``.png, .jpg, .jpeg or .webp``: the extensions a kind takes, for messages."""
    names = list(spec.EXTENSION_CONTENT_TYPES[kind])
    if len(names) == 1:
        return names[0]
    return _("{first} or {last}").format(first=_(", ").join(names[:-1]), last=names[-1])


def read_head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


_HASH_CACHE: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """Streamed sha256, computed once per resolved path (and size/mtime, in case it changed)."""
    stat = path.stat()
    key = (os.fspath(path), stat.st_size, stat.st_mtime_ns)
    cached = _HASH_CACHE.get(key)
    if cached is not None:
        return cached
    import hashlib  # here: `hhbatch --help` reads this module's names, never a digest

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_HASH_CHUNK), b""):
            digest.update(chunk)
    _HASH_CACHE[key] = digest.hexdigest()
    return _HASH_CACHE[key]


def human_size(size: int, megabyte: int = spec.MEGABYTE) -> str:
    """Sizes in the API's own unit (its "MB"), so "12.3 MB" compares with "at most 10 MB"; the
    unit in the interface language ("816 字节")."""
    if size < megabyte / 10:
        if size >= 1000:
            return _("{size} KB").format(size=f"{size / (megabyte / 1000):.1f}")
        return (_("{size} byte") if size == 1 else _("{size} bytes")).format(size=size)
    return _("{size} MB").format(size=f"{size / megabyte:.1f}")
