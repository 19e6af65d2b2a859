"""Which column is which: header aliases in English, Chinese and the API's own camelCase.

Why so many names: the people filling the sheet are marketing teams, not integrators. They write
"Duration (s)" or "时长", never ``durationSec``. Matching ignores case, spaces, ``_``/``-`` and
full-width punctuation, so "Aspect Ratio", "aspect_ratio" and "ASPECTRATIO" are one header; and
Traditional Chinese characters (提示詞, 時長（秒）) are compared as Simplified ones (see
:mod:`hhbatch.hanzi`), with the words Taiwan and Hong Kong use (解析度, 影片) among the aliases.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hhbatch import spec
from hhbatch.errors import ConfigError
from hhbatch.hanzi import simplified
from hhbatch.i18n import _

# Canonical manifest fields: every create field except the storage keys, plus the file columns.
KEY_TO_FILE_COLUMN: dict[str, str] = {key: column for column, key in spec.FILE_COLUMNS.items()}
MANIFEST_FIELDS: tuple[str, ...] = tuple(
    KEY_TO_FILE_COLUMN.get(name, name) for name in spec.CREATE_FIELDS
)

# The first English and the first Chinese name of each field are the template headers.
ALIASES: dict[str, tuple[str, ...]] = {
    "prompt": (
        "Prompt",
        "提示词",
        "Text prompt",
        "Description",
        "Script",
        "提示语",
        "描述",
        "画面描述",
        "文案",
    ),
    "style": ("Style", "风格", "Visual style", "视觉风格"),
    "durationSec": (
        "Duration (s)",
        "时长（秒）",
        "Duration",
        "Duration (sec)",
        "Duration (seconds)",
        "Seconds",
        "Length (s)",
        "时长",
        "视频时长",
        "秒数",
        "影片时长",
        "影片长度",
    ),
    "aspectRatio": ("Aspect ratio", "画面比例", "Ratio", "比例", "宽高比", "长宽比", "画幅"),
    "resolution": ("Resolution", "分辨率", "清晰度", "解析度"),
    "sourceImage": (
        "Source image",
        "首帧图片",
        "First frame",
        "First-frame image",
        "Start image",
        "Image",
        "首帧",
        "参考图",
        "参考图片",
        "图片",
        "sourceImageKey",
        "inputImageUrl",
    ),
    "lastFrame": (
        "Last frame",
        "尾帧图片",
        "Last-frame image",
        "End image",
        "尾帧",
        "lastFrameKey",
    ),
    "referenceVideo": (
        "Reference video",
        "参考视频",
        "Video reference",
        "参考影片",
        "referenceVideoKey",
        "referenceVideoUrl",
    ),
    "referenceAudio": (
        "Reference audio",
        "参考音频",
        "Audio",
        "Music",
        "音频",
        "配乐",
        "参考音讯",
        "referenceAudioKey",
        "audioUrl",
    ),
    "cameraMotion": ("Camera motion", "镜头运动", "Camera", "Camera movement", "运镜", "镜头"),
    "motionIntensity": ("Motion intensity", "运动强度", "Motion", "Intensity", "动作幅度"),
    "cfgScale": ("CFG scale", "提示词相关性", "CFG", "Prompt adherence", "提示词遵循度"),
}
# Columns that look like request fields but are not accepted: the header is reported and ignored.
IGNORED_HEADERS: dict[str, tuple[str, ...]] = {"model": ("model", "模型", "Model name")}

_STRIP_CHARS = re.compile(r"[\s_\-*:：]+")


def _has_cjk(text: str) -> bool:
    """A CJK ideograph in ``text`` (a header: a few characters). Not a regular expression:
    compiling ``[\u3400-\u9fff]`` took 4 ms of every start."""
    return any("\u3400" <= c <= "\u9fff" for c in text)


def header_key(text: object) -> str:
    """Comparable form of a header: NFKC (full-width → ASCII), Simplified Chinese, casefolded,
    no spaces/_/-/*/:."""
    normal = simplified(unicodedata.normalize("NFKC", str(text)))
    return _STRIP_CHARS.sub("", normal).casefold()


def english_header(name: str) -> str:
    return ALIASES[name][0]


def chinese_header(name: str) -> str:
    return next(a for a in ALIASES[name] if _has_cjk(a))


def is_chinese(text: str) -> bool:
    return _has_cjk(text)


@dataclass(frozen=True)
class HeaderMatch:
    field: str | None  # canonical manifest field
    ignored_reason: str | None = None  # e.g. for a "model" column
    suggestion: str | None = None  # for a near miss: the alias it probably meant


class HeaderMatcher:
    """Maps header texts to manifest fields, with user aliases from ``hhbatch.yaml`` on top."""

    def __init__(self, extra_aliases: Mapping[str, Iterable[str]] | None = None) -> None:
        self._by_key: dict[str, str] = {}
        self._display: dict[str, str] = {}
        for name in MANIFEST_FIELDS:
            self._add(name, name)
            for alias in ALIASES.get(name, ()):
                self._add(alias, name)
        for name, aliases in (extra_aliases or {}).items():
            target = self._canonical(name)
            if target is None:
                raise ConfigError(
                    _("hhbatch.yaml aliases: {name} is not a field; use one of {fields}.").format(
                        name=repr(name), fields=", ".join(MANIFEST_FIELDS)
                    )
                )
            for alias in aliases:
                self._add(str(alias), target, override=True)
        self._ignored = {
            header_key(alias): name
            for name, aliases in IGNORED_HEADERS.items()
            for alias in aliases
        }

    def _add(self, alias: str, name: str, *, override: bool = False) -> None:
        key = header_key(alias)
        if key and (override or key not in self._by_key):
            self._by_key[key] = name
            self._display.setdefault(key, alias)

    def _canonical(self, name: str) -> str | None:
        """A field named in config: canonical name, API key name or any known alias."""
        if name in MANIFEST_FIELDS:
            return name
        if name in KEY_TO_FILE_COLUMN:
            return KEY_TO_FILE_COLUMN[name]
        return self._by_key.get(header_key(name))

    def canonical(self, name: str) -> str | None:
        return self._canonical(name)

    def match(self, header: str) -> HeaderMatch:
        key = header_key(header)
        if not key:
            return HeaderMatch(None)
        if key in self._by_key:
            return HeaderMatch(self._by_key[key])
        if key in self._ignored:
            name = self._ignored[key]
            return HeaderMatch(None, ignored_reason=spec.FORBIDDEN_FIELDS.get(name, "not a field"))
        close = difflib.get_close_matches(key, list(self._by_key), n=1, cutoff=0.8)
        if close:
            return HeaderMatch(None, suggestion=self._display[close[0]])
        return HeaderMatch(None)

    def field_of_suggestion(self, alias: str) -> str:
        return self._by_key[header_key(alias)]
