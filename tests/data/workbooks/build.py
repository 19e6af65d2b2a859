"""Build the workbook corpus in this folder: manifests as real tools write them.

Run from the repository root: ``python tests/data/workbooks/build.py`` (needs xlsxwriter from
the test extras; the LibreOffice-saved files need ``soffice`` on PATH). The files are committed;
rebuild them only to add a case. Each is a valid manifest (Prompt / Duration (s) / Resolution and
two rows) carrying the structures the results writer must keep:

* ``xlsxwriter_table_chart.xlsx`` (XlsxWriter): an Excel table, a chart beside the data,
  sparklines (x14 extension), a data bar with its Excel 2010 extension, custom document
  properties, a workbook-level defined name, a hidden sheet.
* ``picture_beside.xlsx`` (XlsxWriter): a product photo anchored just right of the data, where
  result columns would otherwise go.
* ``incell_picture.xlsx`` (XlsxWriter ``embed_image``): Excel 365 "Place in Cell" picture —
  ``xl/richData/*``, ``xl/metadata.xml`` and a cell with ``vm=``, exactly as Excel stores it.
* ``x14_dropdown.xlsx`` (XlsxWriter, then the dropdown rewritten as Excel 2010+ stores a list
  that lives on another sheet): an ``x14:dataValidation`` in the sheet's ``extLst`` reading
  ``Lists!$A$1:$A$3`` on a hidden sheet, with Excel's ``mc:Ignorable`` root.
* ``macro.xlsm`` (XlsxWriter): a VBA project (XlsxWriter's example ``vbaProject.bin``, from
  github.com/jmcnamara/XlsxWriter ``examples/vbaProject.bin``, BSD licence) and a form-control
  button running its macro (a legacy VML drawing).
* ``libreoffice.xlsx`` (XlsxWriter, then saved by LibreOffice ``soffice --convert-to xlsx``):
  LibreOffice's own data-bar extension, comments with formatted runs, a picture, an autofilter,
  frozen panes.
* ``pandas_openpyxl.xlsx`` (pandas ``DataFrame.to_excel`` with openpyxl, as scripts write
  sheets): the manifest is the second sheet, named ``Spring '26 视频`` (a space, a quote and CJK
  in one name), a very hidden third sheet; openpyxl's absolute relationship targets, and the
  manifest's part renamed ``/xl/worksheets/Spring.xml`` (part names are free; only the
  relationships say which part is which sheet).
* ``threaded_comment.xlsx`` (XlsxWriter, then the comment on A2 turned into an Excel 365
  threaded comment exactly as Excel stores one: ``xl/threadedComments``, ``xl/persons``, the
  legacy copy with its ``tc={id}`` author; checked against an Excel-saved file, see SOURCES.md).
* ``table_above_header.xlsx`` (XlsxWriter): a title row above the header, and beside the data a
  lookup table whose header is on the title row and whose body is still empty: result columns
  must go right of it, not into it.

``SOURCES.md`` says where every file comes from, and which workbooks saved by Excel, WPS, Google
Sheets and others the writer was checked against with ``python -m tests.workbook_check``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent
MEDIA = HERE.parent / "media"
PHOTO = HERE.parent.parent.parent / "samples" / "assets" / "shoe.png"
HEADER = ["Prompt", "Duration (s)", "Resolution"]
ROWS = [
    ["A white horse runs along the beach at sunset", 3, "720p"],
    ["一匹白马在雪山脚下的草原上奔跑", 4, "720p"],
]
CREATED = dt.datetime(2026, 1, 5, 9, 30, 0)


def _book(path: Path, **options: object) -> xlsxwriter.Workbook:
    book = xlsxwriter.Workbook(str(path), options)
    book.set_properties({"created": CREATED, "author": "hhbatch corpus"})
    return book


def _data(book: xlsxwriter.Workbook, sheet: object) -> None:
    bold = book.add_format({"bold": True, "bg_color": "#1F4E78", "font_color": "#FFFFFF"})
    sheet.write_row(0, 0, HEADER, bold)  # type: ignore[attr-defined]
    for index, row in enumerate(ROWS, start=1):
        sheet.write_row(index, 0, row)  # type: ignore[attr-defined]
    sheet.set_column(0, 0, 48)  # type: ignore[attr-defined]


def table_chart(path: Path) -> None:
    book = _book(path)
    sheet = book.add_worksheet("Videos")
    sheet.add_table(0, 0, len(ROWS), 2, {"data": ROWS, "columns": [{"header": h} for h in HEADER]})
    sheet.set_column(0, 0, 48)
    sheet.write_row(0, 4, ["Spend", "Q1", "Q2", "Q3"])
    sheet.write_row(1, 4, ["Budget", 10, 14, 9])
    sheet.add_sparkline(1, 8, {"range": "Videos!F2:H2", "type": "column"})
    sheet.conditional_format("B2:B3", {"type": "data_bar", "data_bar_2010": True})
    chart = book.add_chart({"type": "column"})
    chart.add_series({"values": "=Videos!$B$2:$B$3", "categories": "=Videos!$A$2:$A$3"})
    sheet.insert_chart("K2", chart, {"x_scale": 0.5, "y_scale": 0.5})
    hidden = book.add_worksheet("Archive")
    hidden.write("A1", "old rows")
    hidden.hide()
    book.define_name("Durations", "=Videos!$B$2:$B$3")
    book.set_custom_property("Campaign", "Spring launch")
    book.set_custom_property("Approved", True)
    book.close()


def picture_beside(path: Path) -> None:
    book = _book(path)
    sheet = book.add_worksheet("Videos")
    _data(book, sheet)
    sheet.write("D1", "Notes")
    sheet.write("D2", "hero shot")
    # The photo covers E1:G5, right where the result columns would otherwise go.
    sheet.insert_image("E1", str(PHOTO), {"x_scale": 20, "y_scale": 10})
    book.close()


def incell_picture(path: Path) -> None:
    book = _book(path)
    sheet = book.add_worksheet("Videos")
    _data(book, sheet)
    sheet.write("D1", "Look")
    sheet.embed_image("D2", str(PHOTO))
    book.close()


X14_DV = (
    '<extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" '
    'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
    "<x14:formula1><xm:f>Lists!$A$1:$A$3</xm:f></x14:formula1><xm:sqref>C2:C100</xm:sqref>"
    "</x14:dataValidation></x14:dataValidations></ext></extLst>"
)
EXCEL_ROOT = (
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'mc:Ignorable="x14ac xr xr2 xr3" '
    'xmlns:x14ac="http://schemas.microsoft.com/office/spreadsheetml/2009/9/ac" '
    'xmlns:xr="http://schemas.microsoft.com/office/spreadsheetml/2014/revision" '
    'xmlns:xr2="http://schemas.microsoft.com/office/spreadsheetml/2015/revision2" '
    'xmlns:xr3="http://schemas.microsoft.com/office/spreadsheetml/2016/revision3" '
    'xr:uid="{00000000-0001-0000-0000-000000000000}">'
)


def x14_dropdown(path: Path) -> None:
    plain = path.with_suffix(".tmp.xlsx")
    book = _book(plain)
    sheet = book.add_worksheet("Videos")
    _data(book, sheet)
    lists = book.add_worksheet("Lists")
    lists.write_column(0, 0, ["720p", "1080p", "480p"])
    lists.hide()
    book.close()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                text = re.sub(r"<worksheet [^>]*>", EXCEL_ROOT, text, count=1)
                text = text.replace("</worksheet>", X14_DV + "</worksheet>")
                data = text.encode("utf-8")
            out.writestr(info, data)
    plain.unlink()


def macro(path: Path) -> None:
    book = _book(path)
    sheet = book.add_worksheet("Videos")
    _data(book, sheet)
    book.add_vba_project(str(HERE / "vbaProject.bin"))
    sheet.insert_button("E2", {"macro": "say_hello", "caption": "Press Me"})
    book.close()


def libreoffice(path: Path) -> None:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        print(f"skipped {path.name}: soffice is not installed", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "source.xlsx"
        book = _book(source)
        sheet = book.add_worksheet("Videos")
        _data(book, sheet)
        sheet.conditional_format("B2:B3", {"type": "data_bar", "data_bar_2010": True})
        sheet.write_comment(
            "A2", "Check the horse colour with legal", {"author": "Lin", "font_size": 11}
        )
        sheet.insert_image("F4", str(PHOTO), {"x_scale": 10, "y_scale": 5})
        sheet.autofilter(0, 0, len(ROWS), 2)
        sheet.freeze_panes(1, 0)
        book.close()
        out = Path(tmp) / "out"
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                "xlsx:Calc MS Excel 2007 XML",
                "--outdir",
                str(out),
                str(source),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        shutil.copyfile(out / "source.xlsx", path)


def pandas_openpyxl(path: Path) -> None:
    import openpyxl
    import pandas as pd

    plain = path.with_suffix(".tmp.xlsx")
    with pd.ExcelWriter(plain, engine="openpyxl") as writer:
        pd.DataFrame({"Region": ["North", "South"], "Budget": [120, 95]}).to_excel(
            writer, sheet_name="Data", index=False
        )
        pd.DataFrame(ROWS, columns=HEADER).to_excel(
            writer, sheet_name="Spring '26 视频", index=False
        )
        pd.DataFrame({"Note": ["old rows"]}).to_excel(writer, sheet_name="Archive", index=False)
        writer.book["Archive"].sheet_state = "veryHidden"
        writer.book.properties.creator = "hhbatch corpus"
        writer.book.properties.created = CREATED
        writer.book.properties.modified = CREATED
    assert openpyxl.__version__
    renamed = {"xl/worksheets/sheet2.xml": "xl/worksheets/Spring.xml"}
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            data = data.replace(b"/xl/worksheets/sheet2.xml", b"/xl/worksheets/Spring.xml")
            name = renamed.get(info.filename, info.filename)
            copy = zipfile.ZipInfo(name, date_time=info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(copy, data)
    plain.unlink()


THREAD_ID = "{7A82DA9E-20F6-46BD-BF44-1A475728DA1A}"
PERSON_ID = "{3D1BB1C5-2B3A-4E0B-9E0C-5E2B8B1D5F10}"
THREADED = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/'
    'threadedcomments" xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    f'<threadedComment ref="A2" dT="2026-01-05T09:30:00.00" personId="{PERSON_ID}" '
    f'id="{THREAD_ID}"><text>Check the horse colour with legal</text></threadedComment>'
    "</ThreadedComments>"
)
PERSONS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments" '
    'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    f'<person displayName="Lin" id="{PERSON_ID}" userId="lin@example.com" providerId="AD"/>'
    "</personList>"
)
LEGACY_COPY = (
    "[Threaded comment]\n\nYour version of Excel allows you to read this threaded comment; "
    "however, any edits to it will get removed if the file is opened in a newer version of "
    "Excel. Learn more: https://go.microsoft.com/fwlink/?linkid=870924\n\nComment:\n    "
    "Check the horse colour with legal"
)


def threaded_comment(path: Path) -> None:
    plain = path.with_suffix(".tmp.xlsx")
    book = _book(plain)
    sheet = book.add_worksheet("Videos")
    _data(book, sheet)
    sheet.write_comment("A2", "placeholder", {"author": "tc=" + THREAD_ID})
    book.close()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/comments1.xml":
                text = data.decode("utf-8")
                text = re.sub(
                    r"<text>.*</text>",
                    "<text><t>" + LEGACY_COPY.replace("&", "&amp;") + "</t></text>",
                    text,
                    flags=re.S,
                )
                data = text.encode("utf-8")
            elif info.filename == "xl/worksheets/_rels/sheet1.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2017/10/'
                    b'relationships/threadedComment" '
                    b'Target="../threadedComments/threadedComment1.xml"/></Relationships>',
                )
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2017/10/'
                    b'relationships/person" Target="persons/person.xml"/></Relationships>',
                )
            elif info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/threadedComments/threadedComment1.xml" '
                    b'ContentType="application/vnd.ms-excel.threadedcomments+xml"/>'
                    b'<Override PartName="/xl/persons/person.xml" '
                    b'ContentType="application/vnd.ms-excel.person+xml"/></Types>',
                )
            out.writestr(info, data)
        for name, text in (
            ("xl/threadedComments/threadedComment1.xml", THREADED),
            ("xl/persons/person.xml", PERSONS),
        ):
            out.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 5, 9, 30, 0)), text)
    plain.unlink()


def table_above_header(path: Path) -> None:
    book = _book(path)
    sheet = book.add_worksheet("Videos")
    sheet.write("A1", "Spring campaign (approved 2026-01-05)")
    bold = book.add_format({"bold": True})
    sheet.write_row(1, 0, HEADER, bold)
    for index, row in enumerate(ROWS, start=2):
        sheet.write_row(index, 0, row)
    sheet.set_column(0, 0, 48)
    # A lookup table beside the data: its header is on the title row, its body still empty.
    sheet.add_table(0, 4, 9, 6, {"columns": [{"header": h} for h in ("Code", "Model", "Cost")]})
    book.close()


BUILDERS = {
    "xlsxwriter_table_chart.xlsx": table_chart,
    "picture_beside.xlsx": picture_beside,
    "incell_picture.xlsx": incell_picture,
    "x14_dropdown.xlsx": x14_dropdown,
    "macro.xlsm": macro,
    "libreoffice.xlsx": libreoffice,
    "pandas_openpyxl.xlsx": pandas_openpyxl,
    "threaded_comment.xlsx": threaded_comment,
    "table_above_header.xlsx": table_above_header,
}

if __name__ == "__main__":
    wanted = set(sys.argv[1:])  # names to rebuild; all when none are given
    for name, build in BUILDERS.items():
        if wanted and name not in wanted:
            continue
        build(HERE / name)
        print("built", name)
