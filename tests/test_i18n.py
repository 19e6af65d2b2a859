"""Interface language: how it is chosen, a Chinese translation for every message, the catalog."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hhbatch import i18n
from hhbatch.cli import main
from hhbatch.cli.lang import ARGPARSE_MESSAGES

PO = i18n.po_path("zh")
MO = PO.with_suffix(".mo")
# {name}, %(name)s, %s, %r: what .format() / % fill in; a translation must keep every one.
PLACEHOLDER = re.compile(r"\{[^{}]*\}|%\([a-z_]+\)[sdr]|%[sdr]")


@pytest.fixture(autouse=True)
def back_to_english() -> Iterator[None]:
    yield
    i18n.set_language("en")


@pytest.mark.parametrize(
    ("explicit", "environ", "expected"),
    [
        ("zh", {"HHBATCH_LANG": "en", "LANG": "en_US.UTF-8"}, "zh"),  # --lang wins
        (None, {"HHBATCH_LANG": "zh", "LANG": "en_US.UTF-8"}, "zh"),  # then HHBATCH_LANG
        (None, {"HHBATCH_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"),
        (None, {"LC_ALL": "zh_TW.UTF-8", "LANG": "en_US"}, "zh"),  # then the locale
        (None, {"LANG": "zh_CN.GB18030"}, "zh"),
        (None, {"LANGUAGE": "zh_CN:en_US"}, "zh"),
        (None, {"LANG": "C.UTF-8"}, "en"),
        (None, {"LANG": "de_DE.UTF-8"}, "en"),  # not a language we speak: English
        ("klingon", {"HHBATCH_LANG": "zh"}, "zh"),  # an unknown value falls through
    ],
)
def test_language_precedence(explicit: str | None, environ: dict[str, str], expected: str) -> None:
    assert i18n.detect_language(explicit, environ) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Chinese (Simplified)_China.936", "zh"),  # what Windows reports
        ("zh-Hans", "zh"),
        ("English_United States.1252", "en"),
        ("POSIX", "en"),
        ("", None),
        ("fr_FR", None),
    ],
)
def test_normalize(value: str, expected: str | None) -> None:
    assert i18n.normalize(value) == expected


def test_lang_from_argv() -> None:
    assert i18n.lang_from_argv(["run", "x.xlsx", "--lang", "zh"]) == "zh"
    assert i18n.lang_from_argv(["--lang=en", "init"]) == "en"
    assert i18n.lang_from_argv(["run", "--", "--lang", "zh"]) is None
    assert i18n.lang_from_argv(["run", "--lang"]) is None


def catalog() -> dict[str, str]:
    return i18n.parse_po(PO.read_text(encoding="utf-8"))


def test_every_message_has_a_chinese_translation() -> None:
    messages = i18n.extract_messages()
    assert "" not in messages, f"_() of something that is not a literal: {messages.get('')}"
    assert len(messages) > 40
    translations = catalog()
    wanted = [*messages, *ARGPARSE_MESSAGES]
    missing = [m for m in wanted if not translations.get(m)]
    assert missing == [], (
        "Add these to hhbatch/locale/zh/LC_MESSAGES/hhbatch.po, then run python -m hhbatch.i18n"
    )


def test_translations_keep_every_placeholder_and_line_break() -> None:
    for msgid, msgstr in catalog().items():
        if not msgid:
            continue  # the header
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid
        assert msgid.endswith("\n") == msgstr.endswith("\n"), msgid


def test_compiled_catalog_is_up_to_date() -> None:
    expected = i18n.compile_mo(catalog())
    assert MO.read_bytes() == expected, "run: python -m hhbatch.i18n"
    assert i18n.catalog_bytes("zh") == expected  # what the installed package reads


def test_po_parser_and_mo_writer_round_trip_through_gettext(tmp_path: Path) -> None:
    po = tmp_path / "x.po"
    po.write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, fuzzy\nmsgid "skipped"\nmsgstr "跳过"\n\n'
        'msgid ""\n"two "\n"lines\\n"\nmsgstr ""\n"两"\n"行\\n"\n'
        'msgid "quote \\" and \\\\ tab\\t"\nmsgstr "引号 \\" 和 \\\\ 制表\\t"\n',
        encoding="utf-8",
    )
    messages = i18n.parse_po(po.read_text(encoding="utf-8"))
    assert "skipped" not in messages  # fuzzy entries are not translations yet
    assert messages["two lines\n"] == "两行\n"
    assert messages['quote " and \\ tab\t'] == '引号 " 和 \\ 制表\t'
    import gettext
    import io

    translations = gettext.GNUTranslations(io.BytesIO(i18n.compile_mo(messages)))
    assert translations.gettext("two lines\n") == "两行\n"
    assert translations.gettext("unknown") == "unknown"


def test_set_language_switches_messages() -> None:
    assert i18n._("Wrote {path}") == "Wrote {path}"
    i18n.set_language("zh")
    assert i18n.current_language() == "zh"
    assert i18n._("Wrote {path}") == "已写入 {path}"
    assert i18n._("a message nobody translated") == "a message nobody translated"
    i18n.set_language("en")
    assert i18n._("Wrote {path}") == "Wrote {path}"


def test_cli_lang_option_anywhere_and_help_in_chinese(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HHBATCH_LANG", "en")
    with pytest.raises(SystemExit):
        main(["download", "--help", "--lang", "zh"])
    out = capsys.readouterr().out
    assert out.startswith("用法：hhbatch download")
    assert "保存文件的文件夹" in out and "显示此帮助并退出" in out
    assert main(["--lang", "zh", "init", str(tmp_path)]) == 0
    assert "已写入" in capsys.readouterr().out
    assert main(["init", str(tmp_path)]) == 0  # back in English: HHBATCH_LANG=en
    assert "Kept" in capsys.readouterr().out


def test_environment_variable_selects_chinese_in_a_real_process(tmp_path: Path) -> None:
    env = {**os.environ, "HHBATCH_LANG": "zh", "PYTHONIOENCODING": "utf-8"}
    proc = subprocess.run(
        [sys.executable, "-m", "hhbatch", "init", str(tmp_path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert f"已写入 {tmp_path / 'campaign.xlsx'}" in proc.stdout
    assert "检查每一行，不发送任何内容" in proc.stdout
    from hhbatch.loader import load_manifest

    assert load_manifest(tmp_path / "campaign.xlsx").language == "zh"  # the template follows


def test_report_page_in_chinese() -> None:
    from hhbatch.report import Card, render_html

    i18n.set_language("zh")
    card = Card(sheet_row=2, status="ready", prompt="马", settings=[("durationSec", "5")])
    page = render_html("春季.xlsx", [card])
    assert '<html lang="zh-CN">' in page
    assert "第 2 行" in page and "全部（1）" in page and "无视频" in page
    assert '<button type="button" data-filter="ready">已完成 (1)</button>' in page
    assert "<dt>时长（秒）</dt><dd>5</dd>" in page
