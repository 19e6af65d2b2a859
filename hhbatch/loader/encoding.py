"""Bytes of a CSV/TXT manifest → text, and how sure we are of the encoding.

Why this matters: every prompt is sent and charged as read. A Windows code page decodes
"successfully" as almost any other one (cp1252 ``Crème`` is valid GBK: ``Cr鑝e``), so "it decoded"
proves nothing. The order of evidence:

1. A byte-order mark (UTF-8, UTF-16, UTF-32) is certain.
2. UTF-16 without a BOM (Excel's and Notepad's "Unicode Text" when the BOM was lost) shows as a
   NUL byte beside nearly every delimiter, digit and ASCII letter; no 8-bit text has NULs.
3. Strict UTF-8 is certain: text in any legacy code page almost never forms valid UTF-8 by chance.
4. Otherwise the file is in one of the legacy code pages Excel and Notepad save as "ANSI" or
   "CSV": :data:`CODE_PAGES`. Each one that decodes the whole file is a reading, and the readings
   are judged on the words that contain non-ASCII characters (ASCII reads the same in all of them):

   * charset-normalizer's mess ratio of each reading (the detector: symbols inside words, odd
     case, uncommon CJK ideographs ...);
   * implausible words: a character of the reading outside the everyday repertoire of its
     standard (for CJK pages: outside GB2312 level 1, Big5's frequent characters, JIS level 1
     kanji and kana, KS X 1001 hangul), a control or private-use character, a symbol glued to a
     letter (``s³ońca``), scripts mixed inside one word (``Cafй``), a capital after a small letter,
     accented Latin letters that are not all of one language (``brūlée``: ū is Baltic, é is not)
     or stand where that language never puts them (``pińata``: Polish has no ń before a vowel;
     ``Kavinë``: French and Dutch put ë only after a vowel);
   * how many languages the words need, each weighted by whether the code page is that
     language's own (``Ein großer Hund … Zoë`` is German and French in cp1252, but German and
     Lithuanian in cp1257, whose users do not write German), with cp1252 first among readings
     that are otherwise equal -- never more than a tie-break.

   A reading is *confident* only when it is clearly ahead of every reading that gives a different
   text. charset-normalizer alone ranks short files wrongly (Shift-JIS below cp949, cp1252 below
   cp1250 on one-line manifests), which is why its score is one input here, not the verdict.

When no reading is clearly ahead the file is refused with a sentence that shows the competing
readings and names ``--encoding``: a wrong guess costs money, a question costs a rerun.
"""

from __future__ import annotations

import codecs
import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from hhbatch.errors import ManifestError
from hhbatch.i18n import _

# How the encoding was decided (Manifest.csv_encoding_how).
GIVEN = "given"  # --encoding or hhbatch.yaml
BOM = "bom"
CERTAIN = "certain"  # strict UTF-8, or UTF-16 recognised by its NUL bytes
DETECTED = "detected"  # a legacy code page, clearly ahead of the others
REMEMBERED = "remembered"  # what a run read this unchanged file with (hhbatch.textencoding)

# The "ANSI" code pages of Windows (Excel's and Notepad's CSV/TXT), most common markets first.
# GBK is decoded with gb18030, its superset; Big5 with cp950 and Shift-JIS with cp932, the
# Windows variants Excel actually writes.
CODE_PAGES = (
    "cp1252",  # Western European, Americas
    "gb18030",  # Simplified Chinese (GBK)
    "cp950",  # Traditional Chinese (Big5)
    "cp932",  # Japanese (Shift-JIS)
    "cp949",  # Korean
    "cp1250",  # Central European
    "cp1251",  # Cyrillic
    "cp1253",  # Greek
    "cp1254",  # Turkish
    "cp1255",  # Hebrew
    "cp1256",  # Arabic
    "cp1257",  # Baltic
    "cp874",  # Thai
)

NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (BOM)",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252",
    "gb18030": "GBK/GB18030",
    "gbk": "GBK",
    "cp950": "Big5",
    "big5": "Big5",
    "cp932": "Shift-JIS",
    "shift_jis": "Shift-JIS",
    "cp949": "Korean cp949",
    "euc_kr": "EUC-KR",
    "cp1250": "Windows-1250",
    "cp1251": "Windows-1251",
    "cp1253": "Windows-1253",
    "cp1254": "Windows-1254",
    "cp1255": "Windows-1255",
    "cp1256": "Windows-1256",
    "cp1257": "Windows-1257",
    "cp874": "Windows-874",
}

# The everyday repertoire of each CJK code page, as ranges of its two-byte codes in the national
# standard it extends: symbols and kana rows, then the level of frequent characters. Real text
# stays inside (GB2312 level 1 alone covers 99.7% of modern Chinese text); another language's
# bytes read through the page land in rare characters or the vendor extensions.
_EVERYDAY = {
    "gb18030": ("gb2312", ((0xA1A1, 0xA9FE), (0xB0A1, 0xD7F9))),
    "cp950": ("big5", ((0xA140, 0xA3FE), (0xA440, 0xC67E))),
    "cp932": ("shift_jis", ((0x8140, 0x84FF), (0x889F, 0x9872))),
    "cp949": ("euc_kr", ((0xA1A1, 0xACFE), (0xB0A1, 0xC8FE))),
}


def _after_vowel(word: str, letters: str) -> bool:
    """French, Dutch and Catalan write ë, ï, ÿ only after a vowel: the diaeresis splits two
    vowels (``Noël``, ``naïve``, ``België``, ``veïna``). A Lithuanian ``ė`` read as cp1252 lands
    after a consonant (``Kavinë``)."""
    return all(i and _vowel(word[i - 1]) for i, c in enumerate(word) if c in letters)


def _polish_n(word: str) -> bool:
    """Polish writes ń only before a consonant or at a word's end (before a vowel it is
    ``ni``): the Spanish ``piñata`` read as cp1250 gives the impossible ``pińata``."""
    return all(
        i and (i + 1 == len(word) or not _vowel(word[i + 1]))
        for i, c in enumerate(word)
        if c == "ń"
    )


def _cedilla(word: str, end: bool = False) -> bool:
    """French and Portuguese write ç only before a, o, u (``façade``, ``açúcar``); Catalan also
    at a word's end (``feliç``). A Latvian ``ē`` read as cp1252 is a ç before anything
    (``Bçrni``)."""
    return all(
        (i + 1 == len(word) and end)
        or (i + 1 < len(word) and unicodedata.normalize("NFD", word[i + 1])[:1] in "aou")
        for i, c in enumerate(word)
        if c == "ç"
    )


def _all(*rules: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda word: all(rule(word) for rule in rules)


def _vowel(char: str) -> bool:
    base = unicodedata.normalize("NFD", char.lower())[:1]
    return base in ("a", "e", "i", "o", "u", "y") or char.lower() in "æœø"


@dataclass(frozen=True)
class _Language:
    """A language written in the Latin code pages: its accented letters, the code page its
    Windows saves CSVs in, a rule of where a letter may stand (lowercase word), and its words
    of one accented letter (a closed set: French ``à``, Swedish ``å``, Hungarian ``ő``, but no
    Slovak ``ŕ``, which is what cp1250 makes of ``à``)."""

    name: str
    letters: frozenset[str]
    page: str
    rule: Callable[[str], bool] | None = None
    solo: str = ""

    def writes(self, word: str, letters: set[str]) -> bool:
        """``word`` (lowercase) holds only these accented letters, where they may stand."""
        if not letters <= self.letters:
            return False
        if len(word) == 1 and word not in self.solo:
            return False
        return self.rule is None or self.rule(word)


def _language(
    name: str, letters: str, page: str, rule: Callable[[str], bool] | None = None, solo: str = ""
) -> _Language:
    return _Language(name, frozenset(letters), page, rule, solo)


_DIAERESIS = partial(_after_vowel, letters="ëïÿ")
_LANGUAGES = (
    _language("French", "àâæçéèêëîïôœùûüÿ", "cp1252", _all(_DIAERESIS, _cedilla), "àô"),
    _language("German", "äöüß", "cp1252"),
    _language("Spanish", "áéíñóúü", "cp1252", solo="ó"),
    _language("Portuguese", "áâãàçéêíóôõú", "cp1252", _cedilla, "àéó"),
    _language("Italian", "àèéìíîòóùú", "cp1252", solo="è"),
    _language("Dutch", "áéëïóöüèà", "cp1252", _DIAERESIS),
    _language("Danish, Norwegian", "æøåé", "cp1252", solo="åø"),
    _language("Swedish", "åäöé", "cp1252", solo="åö"),
    _language("Finnish", "äöåšž", "cp1252"),
    _language("Icelandic", "áðéíóúýþæö", "cp1252", solo="áí"),
    _language("Catalan", "àçéèíïóòúü", "cp1252", _all(_DIAERESIS, partial(_cedilla, end=True))),
    _language("Albanian", "çë", "cp1250"),
    _language("Polish", "ąćęłńóśźż", "cp1250", _polish_n),
    _language("Czech", "áčďéěíňóřšťúůýž", "cp1250"),
    _language("Slovak", "áäčďéíĺľňóôŕšťúýž", "cp1250"),
    _language("Hungarian", "áéíóöőúüű", "cp1250", solo="ő"),
    _language("Romanian", "ăâîșțşţ", "cp1250"),
    _language("Croatian, Slovenian, Bosnian", "čćđšž", "cp1250"),
    _language("Turkish", "çğıöşüâîûİ", "cp1254"),  # İ: its lowercase is two characters
    _language("Lithuanian", "ąčęėįšųūž", "cp1257", solo="į"),
    _language("Latvian", "āčēģīķļņšūž", "cp1257"),
    _language("Estonian", "äõöüšž", "cp1257"),
)
# What a reading costs, in languages, summed over its lines (see _judge): each language a line
# needs counts 1 when it is one of the page's own, _FOREIGN when it is only representable there
# (German in the Baltic page: ``großer`` read as cp1257 is German, but a German CSV is saved as
# cp1252), and _UNWRITABLE when the page lacks some of its letters, so that nobody writes it
# there (Turkish in cp1252, which has no ı, ş, ğ). Every page but cp1252 costs _PRIOR more:
# Western European text is by far the most common single-byte CSV, so cp1252 comes first among
# readings equally good -- but the prior is below the margin of a whole language, so it ranks a
# tie and never decides one alone.
_FOREIGN = 2
_UNWRITABLE = 3
_PRIOR = 0.5
_MARGIN = 1  # a reading is clearly behind another that needs a whole language less
# Typography that sits next to letters in real text.
_TYPOGRAPHY = frozenset("“”‘’«»„–—…•°©®™¡¿§")
_CURRENCY = frozenset("€£¥¢")
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "HEBREW", "ARABIC", "THAI", "HANGUL", "HIRAGANA")
_FAMILY = {"HIRAGANA": "kana", "KATAKANA": "kana", "CJK": "han", "HANGUL": "hangul"}
_THAI_FOLLOWING_VOWELS = "\u0e30\u0e32\u0e33\u0e45"  # never begin a word
_WORD = re.compile(r"[^\s,;\"]+")
_EVIDENCE_BYTES = 65_536  # lines with non-ASCII bytes judged (the rest reads alike everywhere)
_WORDS_JUDGED = 2_000  # distinct non-ASCII words judged
_MESS_MARGIN = 0.05  # charset-normalizer mess ratios closer than this are a tie


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # a Python codec name that reads the whole file as `text`
    how: str  # GIVEN, BOM, CERTAIN or DETECTED


@dataclass
class _Reading:
    encodings: list[str]
    sample: str
    implausible: int = 0
    words: int = 0
    cost: float = 0.0  # languages and scripts needed, weighted (see _FOREIGN, _PRIOR)
    latin: bool = False  # some words need accented Latin letters
    mess: float = 1.0

    @property
    def key(self) -> tuple[int, float, float]:
        return (self.implausible, self.cost, self.mess)


def label(encoding: str) -> str:
    """``Windows-1252 (cp1252)``: the name people know, and the one --encoding takes."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return encoding
    shown = NAMES.get(encoding.lower()) or NAMES.get(name)
    if shown is None:
        return encoding
    return shown if shown.lower() == encoding.lower() else f"{shown} ({encoding})"


def check_encoding_name(name: str) -> str:
    """The codec name as given, if Python can decode text with it; else LookupError."""
    codecs.lookup(name)
    b"a".decode(name, "ignore")  # 'base64', 'rot13', 'zlib' are codecs, not text encodings
    return name


def decode(data: bytes, path: Path, encoding: str | None = None) -> Decoded:
    """The text of a manifest; ManifestError when the encoding cannot be known for sure."""
    bom = _bom(data)
    if encoding is not None:
        return _decode_given(data, path, encoding, bom)
    if bom is not None:
        return Decoded(_strict(data, bom, path), bom, BOM)
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return Decoded(data.decode(utf16), utf16, CERTAIN)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", CERTAIN)
    except UnicodeDecodeError:
        pass
    return _detect(data, path)


def _bom(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _strict(data: bytes, encoding: str, path: Path) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ManifestError(
            _(
                "{path} cannot be read as {encoding}: line {line} holds bytes that are not "
                "{encoding}; save the sheet as 'CSV UTF-8' or name its encoding with --encoding "
                "(e.g. --encoding cp1252 or --encoding gbk)."
            ).format(path=path, encoding=label(encoding), line=line),
            path=str(path),
        ) from err


def _decode_given(data: bytes, path: Path, encoding: str, bom: str | None) -> Decoded:
    name = codecs.lookup(encoding).name
    unicode_family = name.startswith(("utf-8", "utf-16", "utf-32", "utf_16", "utf_32"))
    if bom is not None and not unicode_family:
        # The mark is proof; the other reading would send mojibake.
        raise ManifestError(
            _(
                "{path} starts with a {bom} byte-order mark, so it is not {encoding}; run "
                "again without --encoding (or with --encoding {bom})."
            ).format(path=path, bom=bom, encoding=encoding),
            path=str(path),
        )
    if name == "utf-8" and bom == "utf-8-sig":
        encoding = "utf-8-sig"  # the mark is not part of the first header
    return Decoded(_strict(data, encoding, path), encoding, GIVEN)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 LE/BE recognised by where its NUL bytes fall (ASCII characters have one)."""
    if len(data) < 4 or len(data) % 2:
        return None
    sample = data[:8192]
    pairs = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= pairs * 0.2 and even * 4 <= odd:
        encoding = "utf-16-le"
    elif even >= pairs * 0.2 and odd * 4 <= even:
        encoding = "utf-16-be"
    else:
        return None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cn", "Cs") and c not in "\t\r\n" for c in text):
        return None
    return encoding


def _evidence(data: bytes) -> bytes:
    """The lines holding non-ASCII bytes: every code page reads the others alike."""
    lines, size = [], 0
    for line in data.splitlines():
        if max(line, default=0) >= 0x80:
            lines.append(line)
            size += len(line) + 1
            if size >= _EVIDENCE_BYTES:
                break
    return b"\n".join(lines)


def _detect(data: bytes, path: Path) -> Decoded:
    from charset_normalizer import from_bytes  # imported here: only legacy files need it

    evidence = _evidence(data)
    readings: dict[str, _Reading] = {}
    for encoding in CODE_PAGES:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        sample = evidence.decode(encoding)
        if sample in readings:  # same text: no ambiguity between these two
            readings[sample].encodings.append(encoding)
        else:
            readings[sample] = _Reading([encoding], sample)
    if not readings:
        raise _unreadable(path, data)
    for reading in readings.values():
        _judge(reading)
        for encoding in reading.encodings:
            # One code page per call: with several, charset-normalizer skips pages "similar" to
            # one it already gave up on, which dropped good readings in our tests.
            match = from_bytes(evidence, cp_isolation=[encoding]).best()
            if match is not None:
                reading.mess = min(reading.mess, match.chaos)
    ranked = sorted(readings.values(), key=lambda r: r.key)
    best = ranked[0]
    margin = max(1, math.ceil(0.1 * best.words))
    if best.implausible > 0.1 * best.words:
        raise _unreadable(path, data)
    rivals = [r for r in ranked[1:] if not _clearly_behind(r, best, margin)]
    if rivals:
        # Refusing anyway: offer every reading as clean as the best, even one behind it -- the
        # leader itself is not sure, and the right encoding must be among those named.
        also = [
            r
            for r in ranked[1:]
            if r not in rivals and r.implausible <= max(best.implausible, 0.1 * r.words)
        ]
        raise _ambiguous(path, best, [*rivals, *also])
    return Decoded(data.decode(best.encodings[0]), best.encodings[0], DETECTED)


def _clearly_behind(other: _Reading, best: _Reading, margin: int) -> bool:
    if other.implausible - best.implausible >= margin:
        return True
    if other.implausible > best.implausible:
        return other.cost >= best.cost
    if other.cost - best.cost >= _MARGIN:
        return True
    if other.cost != best.cost or best.latin or other.latin:
        # Two Latin readings a language apart or less (``Zoë``/``Zoė``, ``Győr``/``Gyõr``):
        # only the letters' languages tell them apart, and they do not. charset-normalizer's
        # mess ratio is no help there (it put cp1257 ahead of a French cp1252 file).
        return False
    return other.mess - best.mess >= _MESS_MARGIN


def _judge(reading: _Reading) -> None:
    """Counts the reading's implausible words and what its languages cost, line by line: a
    sheet may hold a row in each language of its region (Polish and Croatian rows), but one
    line of Czech beside Hungarian (``crčme brűlée``) is what a misreading looks like."""
    encoding = reading.encodings[0]
    lines: list[list[frozenset[int]]] = []
    seen: set[str] = set()
    for line in reading.sample.split("\n"):
        covers: list[frozenset[int]] = []
        scripts: set[str] = set()
        for word in _WORD.findall(line):
            if word.isascii() or word in seen:
                continue
            seen.add(word)
            reading.words += 1
            if not _plausible(word, encoding, covers, scripts):
                reading.implausible += 1
        if covers:
            lines.append(covers)
        reading.cost += len(scripts)  # other scripts, like languages, count line by line
        if len(seen) > _WORDS_JUDGED:
            break
    reading.latin = bool(lines)
    reading.cost += min(
        sum(_cover_cost(covers, page) for covers in lines) + (0 if page == "cp1252" else _PRIOR)
        for page in reading.encodings
    )


def _script(char: str) -> str | None:
    name = unicodedata.name(char, "")
    if "CJK" in name:
        return "CJK"
    if name.startswith("KATAKANA"):
        return "KATAKANA"
    return next((s for s in _SCRIPTS if name.startswith(s)), None)


def _everyday(char: str, encoding: str) -> bool:
    codec, ranges = _EVERYDAY[encoding]
    try:
        raw = char.encode(codec)
    except UnicodeEncodeError:
        return False
    if len(raw) != 2:
        return False
    code = raw[0] << 8 | raw[1]
    return any(low <= code <= high for low, high in ranges)


def _plausible(word: str, encoding: str, covers: list[frozenset[int]], scripts: set[str]) -> bool:
    """Could a person have typed this word? (Only its non-ASCII characters are in question.)
    Its accented Latin letters must all be letters of one language, standing where that
    language puts them (``brûlée`` is French; ``brūlée`` is no language's word); the languages
    that could have written it are added to ``covers``."""
    cjk = encoding in _EVERYDAY
    families: set[str] = set()
    letters: set[str] = set()
    for i, char in enumerate(word):
        if char.isascii():
            continue
        before = word[i - 1] if i else " "
        after = word[i + 1] if i + 1 < len(word) else " "
        if cjk and not _everyday(char, encoding):
            return False
        category = unicodedata.category(char)
        script = _script(char)
        if category[0] == "C":
            return False
        if category[0] == "M":  # a combining mark belongs to a letter of its own script
            if _script(before) != script:
                return False
            continue
        if 0x3000 <= ord(char) <= 0x303F or 0xFF00 <= ord(char) <= 0xFFEF:
            families.add("kana" if script in ("HIRAGANA", "KATAKANA") else "wide")
            continue
        if category[0] == "L" and script is not None:
            if char.isupper() and before.isalpha() and before.islower():
                return False
            if script == "THAI" and char in _THAI_FOLLOWING_VOWELS and _script(before) != "THAI":
                return False
            if script in _FAMILY:
                families.add(_FAMILY[script])
                scripts.add("hangul" if script == "HANGUL" else "cjk")
            elif script == "LATIN":
                families.add("latin")
                lower = char.lower()
                letters.add(lower if len(lower) == 1 else char)  # "İ".lower() is "i" + a dot
            else:
                families.add(script)
                scripts.add(script)
                if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()):
                    return False
            continue
        if char in _TYPOGRAPHY:
            continue
        if char == "µ" and not before.isalpha():
            continue  # a unit: "5µm", "µs"
        if char in "ºª" and (before.isdigit() or before in "Nn") and not after.isalpha():
            continue  # "1ª edição", "Nº 5"; but "ºi" is cp1250 Romanian "şi" read as cp1252
        if char in _CURRENCY and not (before.isalpha() or after.isalpha()):
            continue  # "12 €", "€12", but not "£ukasz" (cp1250 "Łukasz" read as cp1252)
        if category == "Nd" and not (before.isalpha() or after.isalpha()):
            continue
        # any other symbol or sign: fine alone ("20 × 30"), not glued to letters ("s³ońca")
        if before.isalpha() or after.isalpha() or not before.isascii() or not after.isascii():
            return False
    alphabets = families - {"han", "wide"}
    if len(alphabets) > 1:
        return False
    if "latin" in alphabets and "han" in families:
        return False
    if letters:
        lower = "".join(c if c == "İ" else c.lower() for c in word)
        languages = frozenset(
            i for i, language in enumerate(_LANGUAGES) if language.writes(lower, letters)
        )
        if not languages:
            return False
        covers.append(languages)
    return True


@cache
def _weight(language: _Language, page: str) -> int:
    if language.page == page:
        return 1
    try:
        "".join(language.letters).encode(page)
    except UnicodeEncodeError:
        return _UNWRITABLE
    return _FOREIGN


def _cover_cost(covers: list[frozenset[int]], page: str) -> float:
    """The cheapest set of languages that writes every word (each word needs one of its own).

    Exact, by branching on the first word not yet written: the words of a manifest need a
    handful of languages, and a word whose languages include another word's adds nothing."""
    weight = [_weight(language, page) for language in _LANGUAGES]
    distinct = sorted(set(covers), key=len)
    needed = [c for c in distinct if not any(o < c for o in distinct)]
    best = float(sum(min(weight[i] for i in c) for c in needed))

    def search(chosen: frozenset[int], cost: float) -> None:
        nonlocal best
        open_ = next((c for c in needed if not c & chosen), None)
        if open_ is None:
            best = min(best, cost)
            return
        for i in sorted(open_, key=lambda i: weight[i]):
            if cost + weight[i] < best:
                search(chosen | {i}, cost + weight[i])

    search(frozenset(), 0.0)
    return best


def _first_difference(reading: _Reading, best: _Reading) -> tuple[str, str]:
    """The first word the two readings show differently, as each shows it."""
    ours = _WORD.findall(reading.sample)
    theirs = _WORD.findall(best.sample)
    for mine, other in zip(ours, theirs, strict=False):
        if mine != other:
            return other, mine
    return best.sample[:40], reading.sample[:40]


def _ambiguous(path: Path, best: _Reading, rivals: list[_Reading]) -> ManifestError:
    # Every rival is offered (the right one must be among them); two are shown as examples.
    shown = rivals[:2]
    best_word = _first_difference(shown[0], best)[0]
    parts = [
        _("{word} in {encoding}").format(word=f'"{best_word}"', encoding=label(best.encodings[0]))
    ]
    for rival in shown:
        parts.append(
            _("{word} in {encoding}").format(
                word=f'"{_first_difference(rival, best)[1]}"', encoding=label(rival.encodings[0])
            )
        )
    options = _(" or ").join(f"--encoding {r.encodings[0]}" for r in [best, *rivals])
    return ManifestError(
        _(
            "{path} is not UTF-8 and its encoding cannot be told for sure: it reads as "
            "{readings}; run again with the right one ({options}), or put 'encoding: NAME' in "
            "hhbatch.yaml, or save the sheet as 'CSV UTF-8'."
        ).format(path=path, readings=_(" or as ").join(parts), options=options),
        path=str(path),
    )


def _unreadable(path: Path, data: bytes) -> ManifestError:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
    else:  # pragma: no cover - UTF-8 files never get here
        line = 1
    return ManifestError(
        _(
            "{path} is not UTF-8 (line {line}) and no common encoding reads it cleanly; save the "
            "sheet as 'CSV UTF-8', or name its encoding with --encoding (e.g. --encoding cp1252 "
            "or --encoding gbk)."
        ).format(path=path, line=line),
        path=str(path),
    )


def unicode_with_nuls(data: bytes) -> bool:
    """True for UTF-16/32 text (marked or not): the only text whose bytes hold NULs."""
    return _bom(data) in ("utf-16", "utf-32") or _utf16_without_bom(data) is not None
