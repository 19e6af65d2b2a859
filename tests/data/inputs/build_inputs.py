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
- ``ambiguous.csv``: a real but short cp1252 file whose only accented word (``piñata``) reads as
  well in cp1250 (``pińata``): the run must refuse and ask for ``--encoding``.
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
                ("A piñata at a garden party", "4", "16:9", "720p", "", "Ana"),
                ("A horse runs on the beach at sunset", "5", "9:16", "720p", "", "Ana"),
            ),
        ),
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
    for spec in CSV_FILES.values():
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
