"""Builds the input corpus of this folder: manifests as Excel, Notepad and LibreOffice save them.

Run from the repository root: ``python tests/data/inputs/build_inputs.py``. The files are
committed; the tests import :data:`CSV_FILES` (what each file is meant to say) from here.

How each file is made (byte for byte what the real program writes, as far as a script can):

- ``cp1252.csv``: Excel on a Western-European Windows, "CSV (Comma delimited)": the ANSI code
  page cp1252, CRLF, quotes only where needed. Accents followed by letters (``brûlée``,
  ``décor``), “smart quotes” and ’ pasted from Word, the euro sign.
- ``shift_jis.csv``: Excel on Japanese Windows, "CSV": cp932 (Shift-JIS), CRLF.
- ``big5.csv``: Excel on Traditional-Chinese Windows, "CSV": cp950 (Big5), CRLF.
- ``gbk.csv``: Excel on Simplified-Chinese Windows, "CSV": cp936 (GBK), CRLF, Chinese headers.
- ``unicode_text.txt``: Excel "Unicode Text (*.txt)": UTF-16 LE with a BOM, tab-separated, CRLF.
- ``utf8_bom.csv``: Excel "CSV UTF-8 (Comma delimited)": UTF-8 with a BOM, CRLF.
- ``utf8.csv``: LibreOffice / Google Sheets / Numbers: UTF-8 without a BOM, LF.
- ``semicolon.csv``: Excel with a German/French regional setting: ``;`` between cells, decimal
  comma, cp1252, CRLF.
- ``ambiguous.csv``: a real but short cp1252 file whose only accented word (``crêpe``) reads as
  well in cp1250 and cp1257 (``crępe``): the run must refuse and ask for ``--encoding``.
- ``codepages/``: the code-page corpus, see :data:`CODE_PAGE_FILES`.
- ``libreoffice.ods`` / ``libreoffice.xls``: ``utf8.csv``'s table opened in LibreOffice and saved
  as OpenDocument and as Excel 97-2003, by LibreOffice itself (``soffice --headless
  --convert-to``); LibreOffice turns ``16:9`` typed in a cell into a time, as it does for a user.
- ``special_numbers.csv``: a CSV opened in LibreOffice with "Detect special numbers" on and
  saved again as CSV (cells as shown): ``16:9`` comes back as ``04:09:00 PM``, ``1:1`` as
  ``01:01:00 AM``.
- ``formulas_uncached.xlsx``: written by openpyxl with formulas only, as generators do (``<f>``
  without ``<v>``): no reader that does not calculate can see the values.

LibreOffice steps are skipped (the committed files kept) when ``soffice`` is not installed.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CsvFile:
    name: str
    encoding: str  # how the program writes it
    delimiter: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    newline: str = "\r\n"
    outcome: str = "read"  # or "refused": ambiguous, the right --encoding must be offered

    @property
    def prompts(self) -> list[str]:
        return [row[0] for row in self.rows]


EN_HEADER = ("Prompt", "Duration (s)", "Aspect ratio", "Resolution", "Notes", "Owner")

CSV_FILES = {
    f.name: f
    for f in (
        CsvFile(
            "cp1252.csv",
            "cp1252",
            ",",
            EN_HEADER,
            (
                (
                    "A crème brûlée on a white plate, “soft” morning light",
                    "6",
                    "16:9",
                    "720p",
                    "Chef’s pick – 12 €",
                    "Zoé",
                ),
                ("A horse runs on the beach at sunset", "5", "9:16", "720p", "", "Léa"),
                (
                    "Café terrace in Paris after the rain, rétro décor",
                    "4",
                    "1:1",
                    "720p",
                    "été",
                    "Renée",
                ),
            ),
        ),
        CsvFile(
            "shift_jis.csv",
            "cp932",
            ",",
            EN_HEADER,
            (
                ("桜並木の下で眠る猫、春の朝", "6", "16:9", "720p", "春のキャンペーン", "佐藤"),
                ("東京タワーの夜景をドローンで撮影", "5", "9:16", "720p", "", "鈴木"),
            ),
        ),
        CsvFile(
            "big5.csv",
            "cp950",
            ",",
            EN_HEADER,
            (
                ("一杯熱咖啡放在木桌上，蒸氣緩緩升起", "6", "16:9", "720p", "新品上市", "陳小姐"),
                ("夕陽下的海灘，海浪輕輕拍打沙灘", "5", "1:1", "720p", "夏季活動", "林先生"),
            ),
        ),
        CsvFile(
            "gbk.csv",
            "gbk",
            ",",
            ("提示词", "时长", "画面比例", "分辨率", "备注", "负责人"),
            (
                ("一杯热咖啡放在木桌上，蒸汽缓缓升起", "6", "16:9", "720p", "新品上市", "王经理"),
                ("夕阳下的海滩，海浪轻轻拍打沙滩", "5", "9:16", "720p", "夏季活动", "李华"),
            ),
        ),
        CsvFile(
            "unicode_text.txt",
            "utf-16",  # Python writes the BOM, then little-endian: what Excel writes
            "\t",
            EN_HEADER,
            (
                ("A crème brûlée on a white plate", "6", "16:9", "720p", "Chef’s pick", "Zoé"),
                ("一匹马在草原上奔跑", "5", "9:16", "720p", "新品", "王经理"),
                ("桜並木の下で眠る猫", "4", "1:1", "720p", "", "佐藤"),
            ),
        ),
        CsvFile(
            "utf8_bom.csv",
            "utf-8-sig",
            ",",
            EN_HEADER,
            (
                ("A crème brûlée on a white plate", "6", "16:9", "720p", "12 €", "Zoé"),
                ("一匹马在草原上奔跑, 夕阳", "5", "9:16", "720p", "新品", "王经理"),
            ),
        ),
        CsvFile(
            "utf8.csv",
            "utf-8",
            ",",
            EN_HEADER,
            (
                ("Ein Pferd läuft über die grüne Wiese", "6", "16:9", "720p", "Größe M", "Jürgen"),
                ("一匹马在草原上奔跑", "5", "1:1", "720p", "新品", "王经理"),
            ),
            newline="\n",
        ),
        CsvFile(
            "semicolon.csv",
            "cp1252",
            ";",
            ("Prompt", "Duration (s)", "Aspect ratio", "CFG scale", "Notes", "Owner"),
            (
                (
                    "Ein Pferd läuft über die Wiese; Morgenröte",
                    "6",
                    "16:9",
                    "0,5",
                    "Größe",
                    "Jürgen",
                ),
                ("Une crème brûlée dorée", "4", "1:1", "1", "Façade", "Françoise"),
            ),
        ),
        CsvFile(
            "ambiguous.csv",
            "cp1252",
            ",",
            EN_HEADER,
            (
                ("A crêpe stand at a garden party", "4", "16:9", "720p", "", "Ana"),
                ("A horse runs on the beach at sunset", "5", "9:16", "720p", "", "Ana"),
            ),
            outcome="refused",
        ),
    )
}

# Code-page corpus (``codepages/``): what Excel ("CSV (Comma delimited)") or LibreOffice (CSV,
# "Western Europe (Windows-1252)" and so on) save on a Windows set to each market, several
# languages per code page, and one-line files with a single accented word or two, where
# readings are closest. ``read`` files must be decoded exactly; ``refused`` files are genuinely
# ambiguous (another code page reads them as plausibly) and must be refused naming the right
# ``--encoding``. No file may ever be decoded wrong.
SHORT_HEADER = ("Prompt", "Duration (s)", "Notes")
LF_HEADER = ("Prompt", "Duration (s)", "Aspect ratio", "Notes")


def _page(
    name: str,
    encoding: str,
    rows: tuple[tuple[str, ...], ...],
    header: tuple[str, ...] = SHORT_HEADER,
    newline: str = "\r\n",
    outcome: str = "read",
) -> CsvFile:
    return CsvFile(f"codepages/{name}", encoding, ",", header, rows, newline, outcome)


CODE_PAGE_FILES = {
    f.name: f
    for f in (
        # -- cp1252: Western Europe and the Americas --------------------------------------
        _page(  # the reviewer's file, LibreOffice on Linux: LF (was read as cp1257)
            "cp1252_reviewer_lf.csv",
            "cp1252",
            (
                ("Crème brûlée on a café table, naïve piñata señor", "5", "16:9", "Zoë"),
                ("A jalapeño in São Paulo — déjà vu", "4", "9:16", "Ångström"),
            ),
            header=LF_HEADER,
            newline="\n",
        ),
        _page(  # the reviewer's second file, Excel: CRLF (was refused offering cp1250/cp1257)
            "cp1252_reviewer_crlf.csv",
            "cp1252",
            (
                ("Crème brûlée on a café table, naïve piñata señor", "5", "Ünïcödé façade"),
                ("A jalapeño in São Paulo — déjà vu", "4", "Zoë"),
            ),
        ),
        _page(
            "cp1252_french.csv",
            "cp1252",
            (
                ("Une crêpe au chocolat sur une assiette, lumière douce du matin", "6", "Chloé"),
                ("Un garçon lit près de la fenêtre, café crème à côté", "5", "Hélène"),
                ("Noël à Québec : la façade du château sous la neige", "4", "François"),
            ),
        ),
        _page(
            "cp1252_german.csv",
            "cp1252",
            (
                ("Ein Pferd läuft über die grüne Wiese", "6", "Jürgen"),
                ("Frühstück im Straßencafé, Brötchen und Kaffee", "5", "Größe M"),
                ("Schnee fällt auf die Dächer von München", "4", "Björn"),
            ),
        ),
        _page(
            "cp1252_spanish.csv",
            "cp1252",
            (
                ("Un niño juega en la playa por la mañana", "6", "¡Olé!"),
                ("La señora prepara paella en el jardín", "5", "José Muñoz"),
                ("Atardecer en Cádiz, música de guitarra", "4", "Begoña"),
            ),
        ),
        _page(
            "cp1252_portuguese.csv",
            "cp1252",
            (
                ("Um cão corre na praia ao pôr do sol", "6", "João"),
                ("Pão de queijo e café numa padaria de São Paulo", "5", "Conceição"),
                ("As avós dançam forró na praça", "4", "Inês"),
            ),
        ),
        _page(
            "cp1252_italian.csv",
            "cp1252",
            (
                ("Una città di notte, il caffè è già pronto", "6", "Niccolò"),
                ("Perché no? Un gelato più grande sulla spiaggia", "5", "Caterina"),
            ),
        ),
        _page(
            "cp1252_nordic.csv",
            "cp1252",
            (
                ("En hund springer över ängen i gryningen", "6", "Åsa"),
                ("Smørrebrød på et bord i København", "5", "Søren"),
                ("Hestur á hlaupum í fjörunni við sólsetur", "4", "Þóra"),
            ),
        ),
        _page(
            "cp1252_oneline_german.csv",
            "cp1252",
            (("Ein großer Hund läuft über die Wiese", "5", "Zoë"),),
        ),
        _page(
            "cp1252_oneline_spanish.csv",
            "cp1252",
            (("Señor Martínez baila en la fiesta", "5", "Zoë"),),
        ),
        _page(
            "cp1252_oneline_portuguese.csv",
            "cp1252",
            (("Coração de São Paulo à noite", "5", "Zoë"),),
        ),
        _page(
            "cp1252_oneline_swedish.csv",
            "cp1252",
            (("Smörgåsbord på bordet vid midsommar", "5", "Zoë"),),
        ),
        _page(
            "cp1252_oneline_pinata.csv",
            "cp1252",
            (("A piñata at a garden party", "5", ""),),
        ),
        _page(  # ê reads as the Lithuanian ę, ë as ė: one word, and both plausible
            "cp1252_oneline_crepe.csv",
            "cp1252",
            (("A crêpe stand at the fair", "5", ""),),
            outcome="refused",
        ),
        # -- cp1250: Central Europe ---------------------------------------------------------
        _page(
            "cp1250_polish.csv",
            "cp1250",
            (
                ("Koń biegnie po plaży o zachodzie słońca", "6", "Łukasz"),
                ("Żółty tramwaj jedzie przez Kraków", "5", "Agnieszka Wójcik"),
                ("Dziecko je pączka w kawiarni", "4", "Małgorzata"),
            ),
        ),
        _page(
            "cp1250_czech.csv",
            "cp1250",
            (
                ("Kůň běží po pláži při západu slunce", "6", "Jiří"),
                ("Čerstvý chléb na stole v kuchyni", "5", "Růžena"),
                ("Děti si hrají na zahradě", "4", "Petr Dvořák"),
            ),
        ),
        _page(
            "cp1250_hungarian.csv",
            "cp1250",
            (
                ("Egy ló fut a tengerparton naplementekor", "6", "Győző"),
                ("Tűzijáték a Duna fölött, gyönyörű őszi este", "5", "Erzsébet"),
                ("Kisgyerek fagylaltot eszik a hídon", "4", "Ödön"),
            ),
        ),
        _page(
            "cp1250_slovak_croatian.csv",
            "cp1250",
            (
                ("Kôň beží po pláži pri západe slnka", "6", "Ľubomír"),
                ("Konj trči po plaži, šuma u pozadini", "5", "Đurđa Kovačić"),
            ),
        ),
        _page(  # a row per market; was misread as cp1252 "œnieg", "Maèka"
            "cp1250_polish_croatian_rows.csv",
            "cp1250",
            (
                ("Wiosna w Zakopanem, śnieg topnieje", "6", "PL"),
                ("Mačka spi na kavču", "5", "HR"),
            ),
            outcome="refused",
        ),
        _page(  # was misread as Portuguese in cp1252: "aleargã pe plajã"
            "cp1250_hungarian_romanian_rows.csv",
            "cp1250",
            (
                ("Reggeli kávé és friss kenyér", "6", "HU"),
                ("Un câine aleargă pe plajă", "5", "RO"),
            ),
            outcome="refused",
        ),
        _page(
            "cp1250_oneline_polish.csv",
            "cp1250",
            (("Pies śpi na łóżku", "5", ""),),
        ),
        _page(  # ő reads as the Portuguese õ in cp1252: one letter, both plausible
            "cp1250_oneline_hungarian.csv",
            "cp1250",
            (("A horse on the beach near Győr", "5", ""),),
            outcome="refused",
        ),
        # -- cp1257: the Baltic states -------------------------------------------------------
        _page(
            "cp1257_lithuanian.csv",
            "cp1257",
            (
                ("Žirgas bėga paplūdimiu saulėlydžio metu", "6", "Rūta"),
                ("Šviežia duona ant stalo virtuvėje", "5", "Jonas Petrauskas"),
                ("Vaikai žaidžia sode prie ežero", "4", "Gintarė"),
            ),
        ),
        _page(
            "cp1257_latvian.csv",
            "cp1257",
            (
                ("Zirgs skrien pa pludmali saulrietā", "6", "Jānis"),
                ("Kaķis guļ zem ķiršu koka", "5", "Līga"),
                ("Bērni spēlējas dārzā pie ezera", "4", "Kārlis Ozoliņš"),
            ),
        ),
        _page(
            "cp1257_estonian.csv",
            "cp1257",
            (
                ("Hobune jookseb päikeseloojangul rannas", "6", "Mari"),
                ("Värske leib ja šokolaad köögilaual", "5", "Jüri Õun"),
            ),
        ),
        _page(  # a Baltic sheet: a row per market (was read as Albanian in cp1250: "Katë")
            "cp1257_baltic_rows.csv",
            "cp1257",
            (
                ("Katė miega ant palangės", "6", "LT"),
                ("Meitene ēd saldējumu", "5", "LV"),
                ("Lapsed mängivad õues", "4", "EE"),
            ),
        ),
        _page(  # ė reads as ë (Zoë) in cp1252: one letter, both plausible
            "cp1257_oneline_lithuanian.csv",
            "cp1257",
            (("A horse on the beach", "5", "Zoė"),),
            outcome="refused",
        ),
        # -- cp1251, cp1253: Cyrillic and Greek ---------------------------------------------
        _page(
            "cp1251_russian.csv",
            "cp1251",
            (
                ("Лошадь бежит по пляжу на закате", "6", "Анна"),
                ("Свежий хлеб на кухонном столе", "5", "Сергей Иванов"),
            ),
        ),
        _page(
            "cp1251_ukrainian_bulgarian.csv",
            "cp1251",
            (
                ("Кінь біжить по пляжу на заході сонця", "6", "Олексій"),
                ("Котка спи под черешово дърво", "5", "Мария"),
            ),
        ),
        _page(  # four Cyrillic letters read as well as an Arabic word in cp1256
            "cp1251_oneline.csv",
            "cp1251",
            (("A horse named Буря", "5", ""),),
            outcome="refused",
        ),
        _page(
            "cp1253_greek.csv",
            "cp1253",
            (
                ("Ένα άλογο τρέχει στην παραλία το ηλιοβασίλεμα", "6", "Μαρία"),
                ("Φρέσκο ψωμί στο τραπέζι της κουζίνας", "5", "Γιώργος"),
            ),
        ),
        # -- CJK -----------------------------------------------------------------------------
        _page(
            "gbk_products.csv",
            "gbk",
            (
                ("白色陶瓷杯放在木桌上，阳光从窗户照进来", "6", "新品"),
                ("一只小狗在公园的草地上追逐飞盘", "5", "张伟"),
            ),
        ),
        _page("gbk_oneline.csv", "gbk", (("A cup of 绿茶 on a table", "5", "新品"),)),
        _page(
            "big5_products.csv",
            "cp950",
            (
                ("白色陶瓷杯放在木桌上，陽光從窗戶照進來", "6", "新品"),
                ("一隻小狗在公園的草地上追逐飛盤", "5", "張偉"),
            ),
        ),
        _page("big5_oneline.csv", "cp950", (("夜市裡的珍珠奶茶", "5", ""),)),
        _page(
            "shift_jis_products.csv",
            "cp932",
            (
                ("白い陶器のカップが木のテーブルに置かれている", "6", "新商品"),
                ("公園の芝生で子犬がフリスビーを追いかける", "5", "田中"),
            ),
        ),
        _page("shift_jis_oneline.csv", "cp932", (("夜の東京タワー", "5", ""),)),
    )
}

# The table LibreOffice opens for the .ods/.xls and the special-numbers CSV.
OFFICE_HEADER = ("Prompt", "Duration (s)", "Aspect ratio", "Resolution", "Notes")
OFFICE_ROWS = (
    ("A horse runs on the beach at sunset", "6", "16:9", "720p", "Größe M"),
    ("一匹马在草原上奔跑", "5", "1:1", "720p", "新品"),
    ("A cat sleeps under a cherry tree", "4", "9:16", "720p", "007"),
)
OFFICE_ASPECTS = ["16:9", "1:1", "9:16"]


def csv_bytes(spec: CsvFile) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=spec.delimiter, lineterminator=spec.newline)
    writer.writerow(spec.header)
    writer.writerows(spec.rows)
    return buffer.getvalue().encode(spec.encoding)


def build_csvs() -> None:
    (HERE / "codepages").mkdir(exist_ok=True)
    for spec in [*CSV_FILES.values(), *CODE_PAGE_FILES.values()]:
        (HERE / spec.name).write_bytes(csv_bytes(spec))


def build_formulas() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Videos"
    ws.append(["Subject", "Place", "Prompt", "Duration (s)", "Resolution"])
    ws.append(["A horse", "on the beach", '=A2&" runs "&B2', 6, "720p"])
    ws.append(["A cat", "under a tree", '=A3&" sleeps "&B3', "=2+2", "720p"])
    wb.save(HERE / "formulas_uncached.xlsx")


def _soffice(args: list[str], workdir: Path) -> None:
    profile = workdir / "profile"
    command = [
        "soffice",
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        *args,
    ]
    subprocess.run(command, cwd=workdir, check=True, capture_output=True, timeout=180)


def build_office() -> None:
    if shutil.which("soffice") is None:
        print("soffice not found: LibreOffice files kept as committed", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        table = work / "office.csv"
        buffer = io.StringIO(newline="")
        csv.writer(buffer, lineterminator="\n").writerows([OFFICE_HEADER, *OFFICE_ROWS])
        table.write_text(buffer.getvalue(), encoding="utf-8")
        # 44=',' 34='"' 76=UTF-8, from line 1, column 5 (Notes) as text so "007" stays text,
        # English (US) locale, detect special numbers: how a user's LibreOffice opens it.
        infilter = "CSV:44,34,76,1,5/2,1033,false,true"
        for kind, filter_name in (("ods", "calc8"), ("xls", "MS Excel 97")):
            _soffice(
                [f"--infilter={infilter}", "--convert-to", f"{kind}:{filter_name}", table.name],
                work,
            )
            shutil.copyfile(work / f"office.{kind}", HERE / f"libreoffice.{kind}")
        # Saved again as CSV from a sheet where 16:9 became a time, cells "as shown".
        out = work / "out"
        out.mkdir()
        _soffice(
            [
                f"--infilter={infilter}",
                "--convert-to",
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,1033,false,true,true",
                "--outdir",
                str(out),
                table.name,
            ],
            work,
        )
        shutil.copyfile(out / "office.csv", HERE / "special_numbers.csv")


def main() -> None:
    build_csvs()
    build_formulas()
    build_office()


if __name__ == "__main__":
    main()
