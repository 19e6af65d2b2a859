"""The interface language: English or Chinese, with the standard gettext machinery.

Which language: ``--lang`` on the command line, else the ``HHBATCH_LANG`` environment variable,
else the system locale (``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` / ``LANGUAGE``, then what the OS
reports, which is how Windows says it), else English.

Why a catalog compiled by hhbatch itself: the Chinese text lives in
``hhbatch/locale/zh/LC_MESSAGES/hhbatch.po`` (reviewable, diffable); ``python -m hhbatch.i18n``
compiles it to the ``.mo`` that :class:`gettext.GNUTranslations` reads, without GNU gettext
installed. ``tests/test_i18n.py`` fails when the ``.mo`` is stale or when any ``_("...")`` in the
code has no Chinese translation.

Messages use named placeholders (``_("Wrote {path}").format(path=...)``) so a translation can
put them in another order.
"""

from __future__ import annotations

import gettext
import io
import locale
import os
import struct
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

DOMAIN = "hhbatch"
LANGUAGES = ("en", "zh")
DEFAULT_LANGUAGE = "en"
ENV_LANG = "HHBATCH_LANG"
_LOCALE_ENV = ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")

_translations: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT_LANGUAGE


# --- choosing the language -------------------------------------------------------------------
def normalize(value: str | None) -> str | None:
    """``zh_CN.UTF-8``, ``zh-Hans``, ``Chinese (Simplified)_China.936`` → ``zh``; English-ish or
    ``C``/``POSIX`` → ``en``; anything else → None (not a language we speak)."""
    if not value:
        return None
    text = value.strip().lower()
    for candidate in text.split(":"):  # LANGUAGE may list several
        candidate = candidate.strip()
        if candidate.startswith(("zh", "chinese", "cn")):
            return "zh"
        if candidate.startswith(("en", "english")) or candidate in ("c", "posix", "c.utf-8"):
            return "en"
    return None


def detect_language(explicit: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``--lang``, else ``HHBATCH_LANG``, else the system locale, else English."""
    environ = os.environ if environ is None else environ
    for value in (explicit, environ.get(ENV_LANG)):
        found = normalize(value)
        if found:
            return found
    for name in _LOCALE_ENV:
        value = environ.get(name)
        if value:
            return normalize(value) or DEFAULT_LANGUAGE
    try:
        system = locale.getlocale()[0]
    except ValueError:
        system = None
    return normalize(system) or DEFAULT_LANGUAGE


def lang_from_argv(argv: Sequence[str]) -> str | None:
    """The value of ``--lang X`` / ``--lang=X`` anywhere on the command line (before ``--``)."""
    args = list(argv)
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


# --- using it ---------------------------------------------------------------------------------
def set_language(language: str) -> str:
    """Switch every later ``_()`` to ``language`` (``en`` or ``zh``); returns the one in use."""
    global _translations, _language
    language = normalize(language) or DEFAULT_LANGUAGE
    if language == DEFAULT_LANGUAGE:
        _translations = gettext.NullTranslations()
    else:
        _translations = gettext.GNUTranslations(io.BytesIO(catalog_bytes(language)))
    _language = language
    return language


def setup(argv: Sequence[str] | None = None) -> str:
    """Pick and switch to the language for this process (the CLI calls it first thing)."""
    argv = sys.argv[1:] if argv is None else argv
    return set_language(detect_language(lang_from_argv(argv)))


def current_language() -> str:
    return _language


def _(message: str) -> str:
    """The translation of ``message`` in the current language (the message itself in English)."""
    return _translations.gettext(message)


def translate_data(message: str) -> str:
    """The translation of a sentence that lives as data (e.g. a reason in :mod:`hhbatch.spec`).

    Why not ``_()``: the catalog check extracts literal ``_("...")`` calls only; the sentences
    passed here come from :mod:`hhbatch.spec` (refused content types, forbidden fields), and
    ``tests/test_i18n_messages.py`` demands a translation for each of them.
    """
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translations.ngettext(singular, plural, n)


# --- the catalog ------------------------------------------------------------------------------
def po_path(language: str, root: Path | None = None) -> Path:
    base = root or Path(__file__).resolve().parent
    return base / "locale" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_bytes(language: str) -> bytes:
    """The compiled catalog shipped in the package (``.mo``)."""
    from importlib import resources  # not at import: it brings tempfile, shutil, random …

    path = resources.files("hhbatch").joinpath("locale", language, "LC_MESSAGES", f"{DOMAIN}.mo")
    return path.read_bytes()


def parse_po(text: str) -> dict[str, str]:
    """msgid → msgstr of a ``.po`` file (plural forms keyed ``singular\\0plural`` with the forms
    joined by ``\\0``, as in a ``.mo``). Fuzzy entries are skipped, like msgfmt does."""
    import ast  # only the catalog tools need it, not every start

    messages: dict[str, str] = {}
    entry: dict[str, list[str]] = {}
    key: str | None = None
    fuzzy = False

    def flush() -> None:
        nonlocal entry, key, fuzzy
        if "msgid" in entry and not fuzzy:
            msgid = "".join(entry["msgid"])
            if "msgid_plural" in entry:
                msgid += "\0" + "".join(entry["msgid_plural"])
                forms = sorted(k for k in entry if k.startswith("msgstr["))
                msgstr = "\0".join("".join(entry[k]) for k in forms)
            else:
                msgstr = "".join(entry.get("msgstr", []))
            messages[msgid] = msgstr
        entry, key, fuzzy = {}, None, False

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                if "msgid" in entry:
                    flush()
                fuzzy = True
            continue
        if line.startswith('"'):
            if key is None:
                raise ValueError(f"a string outside an entry: {raw!r}")
            entry[key].append(ast.literal_eval(line))
            continue
        keyword, _, rest = line.partition(" ")
        if keyword == "msgid" and any(k.startswith("msgstr") for k in entry):
            flush()  # a new entry without a blank line before it
        key = keyword
        entry[key] = [ast.literal_eval(rest.strip())]
    flush()
    return messages


def compile_mo(messages: Mapping[str, str]) -> bytes:
    """A GNU ``.mo`` file of ``messages`` (what ``msgfmt`` writes, without a hash table)."""
    keys = sorted(messages)
    ids = [k.encode("utf-8") for k in keys]
    strs = [messages[k].encode("utf-8") for k in keys]
    count = len(keys)
    header_size = 7 * 4
    ids_table = header_size
    strs_table = ids_table + count * 8
    data_start = strs_table + count * 8
    offsets: list[tuple[int, int]] = []
    blob = b""
    for value in ids + strs:
        offsets.append((len(value), data_start + len(blob)))
        blob += value + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, count, ids_table, strs_table, 0, 0)
    table = b"".join(struct.pack("<2I", length, offset) for length, offset in offsets)
    return header + table + blob


def compile_catalog(language: str, root: Path | None = None) -> Path:
    """Write ``<lang>/LC_MESSAGES/hhbatch.mo`` from its ``.po``; returns the ``.mo`` path."""
    po = po_path(language, root)
    mo = po.with_suffix(".mo")
    mo.write_bytes(compile_mo(parse_po(po.read_text(encoding="utf-8"))))
    return mo


def extract_messages(root: Path | None = None) -> dict[str, list[str]]:
    """Every message the code passes to ``_()`` / ``ngettext()``: msgid → where (file:line).

    ``_(NAME)`` with a module-level string constant ``NAME = "..."`` counts as that string;
    anything else that is not a literal is reported under the key ``""`` so a test can refuse it.
    """
    import ast

    root = root or Path(__file__).resolve().parent
    found: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        constants = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        where = path.relative_to(root.parent).as_posix()
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            count = {"_": 1, "ngettext": 2}.get(node.func.id)
            if count is None or len(node.args) < count:
                continue
            for arg in node.args[:count]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    message = arg.value
                elif isinstance(arg, ast.Name) and arg.id in constants:
                    message = constants[arg.id]
                else:
                    message = ""
                found.setdefault(message, []).append(f"{where}:{node.lineno}")
    return found


if __name__ == "__main__":  # python -m hhbatch.i18n: rebuild every .mo after editing a .po
    for code in LANGUAGES:
        if code != DEFAULT_LANGUAGE:
            print(compile_catalog(code))
