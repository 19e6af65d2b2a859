"""Spreadsheet reality → the JSON values the API expects, before any verdict is passed.

Why forgive instead of reject: Excel stores ``6`` as ``6.0``, turns ``16:9`` into the time
16:09:00, keeps numbers typed into text cells as text and pastes non-breaking spaces from web
pages. None of that is the user's intent, so each value is coerced to what they meant; the
*verdict* then comes from :func:`hhbatch.spec.check_field`, exactly as the server would give it.
A value that cannot be coerced is returned unchanged, so the verdict names what the user typed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Collection, Iterable
from typing import Any

from hhbatch import spec

# Spaces a spreadsheet or a web page smuggles in (NBSP, ideographic space, zero-width, BOM …).
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000\ufeff]")
# Control characters are shown escaped (\n, \x00) so a message stays on one line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# Characters str.strip() keeps although a person sees nothing.
_INVISIBLE = "\u200b\ufeff"
_NUMBER_TEXT = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
_DURATION_UNIT = re.compile(r"^(.*?)\s*(?:s|sec|secs|second|seconds|秒|秒钟)$", re.IGNORECASE)
_RATIO_TEXT = re.compile(r"^(\d{1,2})\s*[:/xX×]\s*(\d{1,2})(?::00(?:\.0+)?)?$")
# A time on a 12-hour clock, as LibreOffice's "detect special numbers" saves 16:9 ("04:09:00 PM")
# and Chinese/Japanese locales write it ("下午04:09:00", "午後4:09:00").
_MORNING = ("am", "a.m.", "上午", "午前")
_AFTERNOON = ("pm", "p.m.", "下午", "午後")
_TWELVE_HOUR = re.compile(
    r"^(?P<before>am|a\.m\.|pm|p\.m\.|上午|下午|午前|午後)?\s*(?P<hour>\d{1,2}):(?P<minute>\d{2})"
    r"(?::00(?:\.0+)?)?\s*(?P<after>am|a\.m\.|pm|p\.m\.|上午|下午|午前|午後)?$",
    re.IGNORECASE,
)
_MINUTES_PER_DAY = 24 * 60


def clean_text(value: str) -> str:
    """Odd spaces → plain spaces, then trimmed; the text itself is never otherwise changed."""
    if value.isascii():  # no odd space can be in it: skip the regular expression
        return value.strip()
    return _ODD_SPACES.sub(" ", value).strip()


def is_blank(value: Any) -> bool:
    """An empty cell as any reader returns it: None, "", only spaces, or NaN."""
    if value is None:
        return True
    if isinstance(value, str):
        stripped = value.strip()  # str.strip() already removes NBSP and ideographic spaces
        return not stripped or (stripped[0] in _INVISIBLE and not clean_text(stripped))
    return isinstance(value, float) and math.isnan(value)


def blank_values(values: Iterable[Any]) -> set[Any]:
    """The blank ones among ``values`` (distinct cells of a column): :func:`is_blank` in bulk.

    Text that starts with a letter or digit cannot be blank, which settles nearly every cell
    without a call; only the rest are asked of :func:`is_blank` (a column of plain text filled
    in every row is better told by :func:`plain_filled_text` on the column itself).
    """
    return {v for v in values if (v.__class__ is not str or not v[:1].isalnum()) and is_blank(v)}


def plain_filled_text(values: Collection[Any]) -> bool:
    """Every value is ASCII text with something left after trimming (at C speed): text that
    :func:`clean_text` only trims and no cell of which is blank."""
    return (
        set(map(type, values)) == {str}
        and all(map(str.isascii, values))
        and all(map(str.strip, values))
    )


def display(value: Any, limit: int = 60) -> str:
    """How a bad value is quoted in a message: numbers bare, text in quotes, long text cut."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _timedelta_text(value)
    text = _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f'"{text}"'


def _timedelta_text(value: dt.timedelta) -> str:
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def cell_text(value: Any) -> str:
    """A cell as plain text (numbers without a spurious ``.0``), for text fields and paths."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _timedelta_text(value)
    return clean_text(str(value))


def to_number(value: Any, *, integer: bool, unit: re.Pattern[str] | None = None) -> Any:
    """``6.0``/``"6"``/``" 6 "``/``"6.0"`` → 6 for integers; ``"0,5"`` → 0.5 for decimals.

    Returns the input unchanged when it is not a number, so the verdict can quote it.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        number: Any = value
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", clean_text(value)).replace(" ", "")
        if unit is not None:
            match = unit.match(text)
            if match:
                text = match.group(1)
        if not _NUMBER_TEXT.match(text):
            return value
        try:
            number = float(text.replace(",", "."))
        except ValueError:  # pragma: no cover - the regex admits only parseable text
            return value
    else:
        return value
    if integer and isinstance(number, float) and math.isfinite(number) and number.is_integer():
        return int(number)
    return number


def _twelve_hour(text: str) -> tuple[int, int] | None:
    """``04:09:00 PM`` → (16, 9); ``01:01:00 AM`` → (1, 1); None when not a 12-hour time."""
    match = _TWELVE_HOUR.match(text)
    if match is None or bool(match["before"]) == bool(match["after"]):
        return None
    marker = (match["before"] or match["after"]).lower()
    hour, minute = int(match["hour"]), int(match["minute"])
    if not 1 <= hour <= 12:
        return None
    if marker in _AFTERNOON and hour != 12:
        hour += 12
    elif marker in _MORNING and hour == 12:
        hour = 0
    return hour, minute


def aspect_ratio_text(value: Any) -> Any:
    """``16:9`` however a spreadsheet stored it (time, timedelta, day fraction, "16:09:00",
    "04:09:00 PM") → "16:9"."""
    hours_minutes: tuple[int, int] | None = None
    if isinstance(value, (dt.datetime, dt.time)):
        if value.second == 0 and value.microsecond == 0:
            hours_minutes = (value.hour, value.minute)
    elif isinstance(value, dt.timedelta):
        minutes = value.total_seconds() / 60
        if minutes.is_integer() and 0 < minutes < _MINUTES_PER_DAY:
            hours_minutes = divmod(int(minutes), 60)
    elif isinstance(value, float) and not isinstance(value, bool) and 0 < value < 1:
        minutes = value * _MINUTES_PER_DAY
        if abs(minutes - round(minutes)) < 1e-6:
            hours_minutes = divmod(round(minutes), 60)
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", clean_text(value))
        match = _RATIO_TEXT.match(text)
        if match:
            hours_minutes = (int(match.group(1)), int(match.group(2)))
        else:
            hours_minutes = _twelve_hour(text)
            if hours_minutes is None:
                return text
    if hours_minutes is None:
        return value
    return f"{hours_minutes[0]}:{hours_minutes[1]}"


def enum_value(name: str, value: Any) -> Any:
    """Case, spaces and separators forgiven: ``1080P`` → 1080p, ``Pan Left`` → pan-left."""
    choices = spec.CREATE_FIELDS[name].choices
    if name == "aspectRatio":
        value = aspect_ratio_text(value)
    if name == "resolution" and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = f"{value:g}p"
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFKC", clean_text(value))
    wanted = re.sub(r"[\s_]+", "-", text).casefold()
    for choice in choices:
        if wanted == choice.casefold():
            return choice
    return text


def normalize_field(name: str, value: Any) -> Any:
    """The value a cell means for API field ``name``; ``None`` when the cell is empty."""
    if is_blank(value):
        return None
    field = spec.CREATE_FIELDS[name]
    if field.type in ("string", "key"):
        return cell_text(value)
    if field.type == "integer":
        unit = _DURATION_UNIT if name == "durationSec" else None
        return to_number(value, integer=True, unit=unit)
    if field.type == "number":
        return to_number(value, integer=False)
    if field.type == "enum":
        return enum_value(name, value)
    return value  # pragma: no cover - every documented type is handled above
