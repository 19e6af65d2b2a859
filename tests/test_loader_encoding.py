"""Deciding a text manifest's encoding: certain, detected when clearly ahead, refused otherwise.

The short samples are what real manifests look like (a header, a row or two, prompts mostly
ASCII with a few accented or CJK words). The rule under test: never a wrong reading; a refusal
names ``--encoding`` and shows the competing readings.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from hhbatch.errors import ManifestError
from hhbatch.loader import load_manifest
from hhbatch.loader.encoding import BOM, CERTAIN, DETECTED, GIVEN, decode, label

HEADER = "Prompt,Duration (s),Resolution,Notes\r\n"
BEACH = "A horse runs on the beach at sunset,5,1080p,\r\n"

# (text after the header, the encoding Excel would save it in)
CONFIDENT = {
    "french": (
        "Une crème brûlée dorée, éclairage doux,6,720p,“Chef’s pick” – 12 €\r\n" + BEACH,
        "cp1252",
    ),
    "one-line french": ("A crème brûlée on a plate,6,720p,\r\n" + BEACH, "cp1252"),
    "café": ("Café terrace in Paris,6,720p,\r\n" + BEACH, "cp1252"),
    "german": ("Ein Pferd läuft über die grüne Wiese,6,720p,Größe\r\n" + BEACH, "cp1252"),
    "spanish": ("Un niño juega en la playa por la mañana,6,720p,¡Olé!\r\n" + BEACH, "cp1252"),
    "portuguese": ("Um cão corre na praia ao pôr do sol,6,720p,\r\n" + BEACH, "cp1252"),
    "polish": ("Koń biegnie po plaży o zachodzie słońca,6,720p,\r\n" + BEACH, "cp1250"),
    "czech": ("Kůň běží po pláži při západu slunce,6,720p,\r\n" + BEACH, "cp1250"),
    "russian": ("Лошадь бежит по пляжу на закате,6,720p,\r\n" + BEACH, "cp1251"),
    "greek": ("Ένα άλογο τρέχει στην παραλία,6,720p,\r\n" + BEACH, "cp1253"),
    "japanese": (
        "桜の木の下で猫が眠っている,6,720p,\r\n東京の夜景、雨上がり,5,1080p,メモ\r\n",
        "cp932",
    ),
    "one kana word": ("A cat called ねこ,6,720p,\r\n" + BEACH, "cp932"),
    "chinese": ("一匹马在草原上奔跑,6,720p,\r\n产品在桌面上缓缓旋转,5,1080p,备注\r\n", "gb18030"),
    "one chinese word": ("A horse runs on the 草原,6,720p,\r\n" + BEACH, "gb18030"),
    "two chinese words": ("A white cup of 咖啡 on a table,6,720p,新品\r\n" + BEACH, "gb18030"),
    "traditional": ("一匹馬在草原上奔跑,6,720p,\r\n產品在桌面上緩緩旋轉,5,1080p,備註\r\n", "cp950"),
    "one traditional word": ("A horse runs on the 草原,6,720p,\r\n" + BEACH, "cp950"),
    "korean": ("해변에서 달리는 말,6,720p,\r\n" + BEACH, "cp949"),
    # Polish writes ń only before a consonant or at the end: "pińata" is nobody's word.
    "piñata, not pińata": ("A piñata at a party,6,720p,\r\n" + BEACH, "cp1252"),
    # German needs ß, which the Baltic page holds only for German: Zoë, not Zoė.
    "german with Zoë": ("Ein großer Hund läuft über die Wiese,6,720p,Zoë\r\n", "cp1252"),
    "swedish with Zoë": ("Smörgåsbord på bordet,6,720p,Zoë\r\n", "cp1252"),
    # ė after a consonant is Lithuanian; French and Dutch put ë only after a vowel.
    "lithuanian": ("Saulėlydis prie jūros,6,720p,Gintarė\r\n", "cp1257"),
    # a currency sign glued to letters is no word: "£ukasz" is cp1250 "Łukasz"
    "Łukasz": ("A horse,6,720p,Łukasz\r\n", "cp1250"),
    # ordinals after a number, units after a number: not symbols glued to letters
    "ordinals": ("Perfume Nº 5 na mesa da avó,6,720p,1ª edição\r\n", "cp1252"),
    "units": ("Ein Glas Wasser bei 20°C,6,720p,Größe 5µm\r\n", "cp1252"),
    "romanian": ("Munţii şi marea,6,720p,\r\n", "cp1250"),  # "ºi" is no ordinal
    # one-letter words are a closed set: French "à", but no Slovak "ŕ"
    "déjà vu à la plage": ("Déjà vu à la plage,6,720p,\r\n", "cp1252"),
}

# Too little text to tell: two code pages read it differently and both plausibly.
AMBIGUOUS = {
    "crêpe / crępe": ("A crêpe at a party,6,720p,\r\n" + BEACH, "cp1252"),
    "Zoė / Zoë": ("A horse on the beach,6,720p,Zoė\r\n", "cp1257"),
    # ē reads as ç, ā as â: still letters of one language (Albanian) in cp1252
    "Bērni / Bçrni": ("Bērni spēlējas dārzā,6,720p,Jānis\r\n", "cp1257"),
    "İstanbul / Ýstanbul": ("A horse in İstanbul,6,720p,\r\n", "cp1254"),
    # each line its own language; the right page must be offered though a CJK one leads
    "Ātri / 燻ri": ("Ātri,6,720p,\r\nĘsti,5,720p,x\r\n", "cp1257"),
    "Győr / Gyõr": ("Egy ló fut a parton,6,720p,Győr\r\n" + BEACH, "cp1250"),
    "Kırmızı / Kýrmýzý": ("Kırmızı bir at,6,720p,\r\n" + BEACH, "cp1254"),
    "one kanji": ("A cat sleeps under the 桜 tree,6,720p,\r\n" + BEACH, "cp932"),
    "two hangul": ("A horse named 바람,6,720p,\r\n" + BEACH, "cp949"),
}


@pytest.mark.parametrize("name", sorted(CONFIDENT))
def test_legacy_code_pages_are_detected_when_clearly_ahead(name: str) -> None:
    body, encoding = CONFIDENT[name]
    text = HEADER + body
    decoded = decode(text.encode(encoding), Path("m.csv"))
    assert decoded.text == text
    assert decoded.how == DETECTED
    assert codecs.lookup(decoded.encoding) == codecs.lookup(encoding)


@pytest.mark.parametrize("name", sorted(AMBIGUOUS))
def test_ambiguous_short_files_are_refused_naming_encoding(name: str) -> None:
    body, encoding = AMBIGUOUS[name]
    data = (HEADER + body).encode(encoding)
    with pytest.raises(ManifestError) as refused:
        decode(data, Path("m.csv"))
    message = str(refused.value)
    assert "cannot be told for sure" in message
    assert f"--encoding {encoding}" in message  # the right one is among those offered
    assert "\n" not in message
    assert decode(data, Path("m.csv"), encoding).text == HEADER + body


def test_certain_encodings_need_no_detection() -> None:
    text = HEADER + "Crème brûlée 一匹马,6,720p,\r\n"
    assert decode(text.encode("utf-8"), Path("m.csv")) == decode(
        text.encode("utf-8"), Path("m.csv")
    )
    for data, encoding, how in (
        (text.encode("utf-8"), "utf-8", CERTAIN),
        (text.encode("utf-8-sig"), "utf-8-sig", BOM),
        (text.encode("utf-16"), "utf-16", BOM),
        (codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "utf-16", BOM),
        (text.encode("utf-32"), "utf-32", BOM),
        (text.encode("utf-16-le"), "utf-16-le", CERTAIN),  # "Unicode Text" without its BOM
        (text.encode("utf-16-be"), "utf-16-be", CERTAIN),
    ):
        decoded = decode(data, Path("m.txt"))
        assert (decoded.text.removeprefix("\ufeff"), decoded.encoding, decoded.how) == (
            text,
            encoding,
            how,
        )


def test_bomless_utf16_with_only_chinese_cells_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "m.txt"
    path.write_bytes("提示词\t时长\r\n一匹马在草原上奔跑\t6\r\n".encode("utf-16-le"))
    manifest = load_manifest(path)
    assert manifest.csv_encoding == "utf-16-le"
    assert manifest.rows[0].request["prompt"] == "一匹马在草原上奔跑"


def test_text_mixing_utf8_and_a_code_page_is_refused() -> None:
    data = (HEADER + "Café au lait,6,720p,\r\n").encode("utf-8") + "naïve art,5,720p,\r\n".encode(
        "cp1252"
    )
    with pytest.raises(ManifestError, match=r"is not UTF-8 \(line 3\) and no common encoding"):
        decode(data, Path("m.csv"))


def test_given_encoding_wins_but_not_over_a_byte_order_mark() -> None:
    text = HEADER + "Crème brûlée,6,720p,\r\n"
    given = decode(text.encode("utf-8"), Path("m.csv"), "cp1252")
    assert given.how == GIVEN and given.text.startswith(HEADER + "CrÃ¨me")  # what the user asked
    with pytest.raises(ManifestError, match=r"starts with a utf-8-sig byte-order mark"):
        decode(text.encode("utf-8-sig"), Path("m.csv"), "cp1252")
    marked = decode(text.encode("utf-8-sig"), Path("m.csv"), "utf-8")
    assert (marked.text, marked.encoding) == (text, "utf-8-sig")
    with pytest.raises(ManifestError, match=r"cannot be read as GBK: line 3"):
        decode((text + "12 €\r\n").encode("cp1252"), Path("m.csv"), "gbk")


def test_labels_name_what_people_know_and_what_encoding_takes() -> None:
    assert label("cp1252") == "Windows-1252 (cp1252)"
    assert label("gb18030") == "GBK/GB18030 (gb18030)"
    assert label("utf-16") == "UTF-16"
    assert label("latin-1") == "latin-1"


def test_encoding_in_hhbatch_yaml_must_be_a_text_encoding(tmp_path: Path) -> None:
    from hhbatch.config import load_config
    from hhbatch.errors import ConfigError

    config = tmp_path / "hhbatch.yaml"
    config.write_text("encoding: base64\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"encoding 'base64' is not a text encoding"):
        load_config(config)
    config.write_text("encoding: cp1252\n", encoding="utf-8")
    assert load_config(config).encoding == "cp1252"
