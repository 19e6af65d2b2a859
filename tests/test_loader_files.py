"""File columns: local paths, storage keys, URLs, and every check on the file itself."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from hhbatch import spec
from hhbatch.config import Config
from hhbatch.loader import filetypes, load_manifest, summarize
from hhbatch.loader.files import FileChecker

MEDIA = Path(__file__).parent / "data" / "media"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    assets = tmp_path / "assets"
    assets.mkdir()
    for media in MEDIA.iterdir():
        shutil.copy(media, assets / media.name)
    return tmp_path


def manifest_with(folder: Path, column: str, *values: str, config: Config | None = None):
    lines = [f"Prompt,Duration (s),{column}"]
    lines += [f"A horse gallops,6,{value}" for value in values]
    path = folder / "m.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_manifest(path, config=config)


def only_message(manifest) -> str:
    [problem] = manifest.all_problems()
    return problem.message


@pytest.mark.parametrize(
    ("column", "name", "key_field", "kind", "content_type"),
    [
        ("Source image", "tiny.png", "sourceImageKey", "image", "image/png"),
        ("Source image", "tiny.jpg", "sourceImageKey", "image", "image/jpeg"),
        ("Source image", "tiny.webp", "sourceImageKey", "image", "image/webp"),
        ("Last frame", "tiny.png", "lastFrameKey", "image", "image/png"),
        ("Reference video", "tiny.mp4", "referenceVideoKey", "video", "video/mp4"),
        ("Reference video", "tiny.mov", "referenceVideoKey", "video", "video/quicktime"),
        ("Reference video", "tiny.webm", "referenceVideoKey", "video", "video/webm"),
        ("Reference audio", "tiny.mp3", "referenceAudioKey", "audio", "audio/mpeg"),
        ("Reference audio", "tiny.wav", "referenceAudioKey", "audio", "audio/wav"),
        ("Reference audio", "tiny.webm", "referenceAudioKey", "audio", "audio/webm"),
    ],
)
def test_local_files_become_file_refs(
    folder: Path, column: str, name: str, key_field: str, kind: str, content_type: str
) -> None:
    manifest = manifest_with(folder, column, f"assets/{name}")
    row = manifest.rows[0]
    assert row.problems == []
    ref = row.files[key_field]
    path = (folder / "assets" / name).resolve()
    assert (ref.field, ref.kind, ref.path, ref.content_type) == (
        key_field,
        kind,
        path,
        content_type,
    )
    assert ref.size == path.stat().st_size
    assert ref.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ref.key is None
    assert key_field not in row.request


def test_absolute_paths_and_windows_separators(folder: Path) -> None:
    absolute = (folder / "assets" / "tiny.png").resolve()
    manifest = manifest_with(folder, "Source image", str(absolute), "assets\\tiny.png")
    assert [r.files["sourceImageKey"].path for r in manifest.rows] == [absolute, absolute]


def test_quoted_path_as_windows_copy_as_path_gives(folder: Path) -> None:
    manifest = manifest_with(folder, "Source image", '"""assets/tiny.png"""')
    assert manifest.rows[0].valid


def test_storage_keys_pass_through(folder: Path) -> None:
    key = "videos/inputs/user-id/asset-id.png"
    manifest = manifest_with(folder, "sourceImageKey", key)
    ref = manifest.rows[0].files["sourceImageKey"]
    assert (ref.key, ref.path, ref.kind) == (key, None, "image")
    assert summarize(manifest).storage_keys_reused == 1


def test_a_local_videos_folder_wins_over_the_key_reading(folder: Path) -> None:
    (folder / "videos").mkdir()
    shutil.copy(MEDIA / "tiny.mp4", folder / "videos" / "clip.mp4")
    manifest = manifest_with(folder, "Reference video", "videos/clip.mp4", "videos/x/y.mp4")
    first, second = manifest.rows
    assert first.files["referenceVideoKey"].path == (folder / "videos" / "clip.mp4").resolve()
    assert second.files["referenceVideoKey"].key == "videos/x/y.mp4"


@pytest.mark.parametrize("url", ["https://cdn.example.com/a.png", "HTTP://example.com/a.png"])
def test_urls_are_refused_with_the_reason(folder: Path, url: str) -> None:
    message = only_message(manifest_with(folder, "Source image", url))
    assert message.startswith("m!C2 (Source image): sourceImage must be a local file or an ")
    assert "the API takes uploads only" in message


def test_missing_file(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Source image", "assets/nope.png"))
    expected_path = folder.resolve() / "assets" / "nope.png"
    assert message == (
        f'm!C2 (Source image): file "assets/nope.png" not found (looked for {expected_path}); '
        "paths are relative to the manifest's folder"
    )


def test_folder_instead_of_file(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Source image", "assets"))
    assert message == 'm!C2 (Source image): "assets" is a folder, not a file'


def test_empty_file(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Source image", "assets/empty.png"))
    assert message == 'm!C2 (Source image): file "assets/empty.png" is empty (0 bytes)'


def test_unreadable_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Permission bits mean nothing to root or on Windows, so the refusal is simulated."""

    def refuse(path: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(filetypes, "read_head", refuse)
    message = only_message(manifest_with(folder, "Source image", "assets/tiny.png"))
    assert (
        message == 'm!C2 (Source image): file "assets/tiny.png" cannot be read (Permission denied)'
    )


def test_size_limit_per_kind(folder: Path) -> None:
    size = (folder / "assets" / "tiny.mp3").stat().st_size
    # a "megabyte" of a few bytes makes the 15 MB audio limit smaller than the file
    megabyte = size // spec.UPLOAD_KINDS["audio"].max_megabytes - 1
    manifest = manifest_with(
        folder, "Reference audio", "assets/tiny.mp3", config=Config(megabyte=megabyte)
    )
    message = only_message(manifest)
    assert message.startswith('m!C2 (Reference audio): "assets/tiny.mp3" is ')
    assert message.endswith(" but audio files may be at most 15 MB")
    at_limit = Config(megabyte=-(-size // spec.UPLOAD_KINDS["audio"].max_megabytes))
    assert manifest_with(folder, "Reference audio", "assets/tiny.mp3", config=at_limit).valid


def test_extension_not_accepted_for_the_column(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Source image", "assets/tiny.mp3"))
    assert message == (
        'm!C2 (Source image): "assets/tiny.mp3" is a .mp3 file but sourceImage takes '
        ".png, .jpg, .jpeg or .webp files"
    )


def test_png_that_is_really_a_jpeg(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Source image", "assets/jpeg_named.png"))
    assert message == (
        'm!C2 (Source image): "assets/jpeg_named.png" is named like a PNG image but its content '
        "is a JPEG image; save it in the right format or rename it to match"
    )


def test_text_file_named_png(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Source image", "assets/text_named.png"))
    assert "is named like a PNG image but its content is not one" in message


def test_m4a_is_refused_with_conversion_advice(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Reference audio", "assets/voice.m4a"))
    assert message == (
        'm!C2 (Reference audio): "assets/voice.m4a" is M4A/AAC audio (audio/mp4), which the API '
        f"does not accept; {spec.REFUSED_CONTENT_TYPES['audio/mp4']}"
    )


def test_m4a_renamed_to_mp3_is_caught_by_its_bytes(folder: Path) -> None:
    message = only_message(manifest_with(folder, "Reference audio", "assets/m4a_named.mp3"))
    assert "is named like an MP3 audio but its content is an M4A/AAC audio" in message
    assert message.endswith(spec.REFUSED_CONTENT_TYPES["audio/mp4"])


def test_source_image_and_last_frame_not_both(folder: Path) -> None:
    path = folder / "m.csv"
    path.write_text(
        "Prompt,Duration (s),Source image,Last frame\n"
        "A horse gallops,6,assets/tiny.png,assets/tiny.jpg\n"
        "A horse gallops,6,,assets/tiny.jpg\n",
        encoding="utf-8",
    )
    manifest = load_manifest(path)
    assert [p.message for p in manifest.all_problems()] == [
        "m!D2 (Last frame): sourceImage and lastFrame cannot be used together (sourceImageKey "
        "and lastFrameKey are exclusive); keep one of them"
    ]
    assert [r.valid for r in manifest.rows] == [False, True]


def test_sha256_is_computed_once_per_file(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    filetypes._HASH_CACHE.clear()
    calls: list[Path] = []
    real = hashlib.sha256

    def counting(*args: object):
        calls.append(Path())
        return real(*args)

    monkeypatch.setattr(hashlib, "sha256", counting)
    manifest = manifest_with(
        folder, "Source image", "assets/tiny.png", "./assets/tiny.png", "assets/../assets/tiny.png"
    )
    assert len(calls) == 1
    assert len({r.files["sourceImageKey"].sha256 for r in manifest.rows}) == 1
    summary = summarize(manifest)
    assert (summary.files_to_upload, summary.upload_bytes) == (
        1,
        (folder / "assets" / "tiny.png").stat().st_size,
    )


def test_file_defaults_from_config_are_relative_to_the_config(folder: Path) -> None:
    config_file = folder / "hhbatch.yaml"
    config_file.write_text("defaults: {referenceAudio: assets/tiny.mp3}\n", encoding="utf-8")
    config = Config(defaults={"referenceAudio": "assets/tiny.mp3"}, source=config_file)
    manifest = manifest_with(folder, "Style", "cinematic", config=config)
    ref = manifest.rows[0].files["referenceAudioKey"]
    assert ref.path == (folder / "assets" / "tiny.mp3").resolve()


@pytest.mark.parametrize(
    ("name", "detected"),
    [
        ("tiny.png", "image/png"),
        ("tiny.jpg", "image/jpeg"),
        ("tiny.webp", "image/webp"),
        ("tiny.mp4", "video/mp4"),
        ("tiny.mov", "video/quicktime"),
        ("tiny.webm", "video/webm"),
        ("tiny.mp3", "audio/mpeg"),
        ("tiny.wav", "audio/wav"),
        ("voice.m4a", "audio/mp4"),
        ("text_named.png", None),
    ],
)
def test_magic_bytes(name: str, detected: str | None) -> None:
    assert filetypes.sniff((MEDIA / name).read_bytes()[:64]) == detected


def test_checker_caches_verdicts(folder: Path) -> None:
    checker = FileChecker(folder)
    first = checker.check("sourceImage", "assets/tiny.png")
    assert checker.check("sourceImage", "assets/tiny.png") is first


@pytest.mark.parametrize(
    "text", ["x" * 5000, "a" * 300 + ".png", "bad\x00name.png", "what<is>this?.png"]
)
def test_text_that_cannot_be_a_path_is_one_clear_line(folder: Path, text: str) -> None:
    checker = FileChecker(folder)
    verdict = checker.check("sourceImage", text)
    assert verdict.ref is None
    assert verdict.error is not None
    assert " not found" in verdict.error
    assert verdict.error.isprintable()
    assert len(verdict.error) < 400
