"""Rebuild ``templates/``: campaign workbooks (English, 中文), a CSV and a commented hhbatch.yaml.

Why generated: every dropdown, numeric range and hint comes from :mod:`hhbatch.spec`, so when the
API's limits change, rerunning this script (and ``tests/test_templates.py``) keeps the templates
honest. Run from the repository root:

    python templates/build_templates.py
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from hhbatch import spec
from hhbatch.columns import EXAMPLE_MARK, SKIP_COLUMN
from hhbatch.config import CONFIG_FILENAME, Config
from hhbatch.loader.headers import MANIFEST_FIELDS, chinese_header, english_header

HERE = Path(__file__).resolve().parent
# ``hhbatch init`` copies these from inside the installed package (tests keep both equal).
PACKAGE_DATA = HERE.parent / "hhbatch" / "data"
# The example ceiling shown (commented out) in hhbatch.yaml; by default there is none.
EXAMPLE_RATE_CEILING = 20
ZH_CONFIG_FILENAME = "hhbatch.zh.yaml"  # ``init --lang zh`` copies it as hhbatch.yaml
PACKAGED = ("campaign.xlsx", "campaign.zh.xlsx", CONFIG_FILENAME, ZH_CONFIG_FILENAME)
DATA_ROWS = 1000  # rows that get dropdowns and ranges; more rows still load fine
TEMPLATE_FIELDS = MANIFEST_FIELDS  # every field, in the API's own order
FIRST_FIELD_COLUMN = 2  # column A is the Skip column that marks the example rows


@dataclass(frozen=True)
class Language:
    code: str
    filename: str
    example_rows: tuple[dict[str, object], ...]


EXAMPLES_EN = (
    {
        "prompt": "A chestnut horse gallops along a sunlit beach at golden hour",
        "durationSec": 6,
        "aspectRatio": "16:9",
        "resolution": "720p",
        "style": "cinematic",
        "cameraMotion": "pan-right",
    },
    {
        "prompt": "Our new running shoe slowly turns on a white studio table",
        "durationSec": 5,
        "aspectRatio": "9:16",
        "resolution": "1080p",
        "cameraMotion": "orbit",
        "motionIntensity": 2,
    },
)
EXAMPLES_ZH = (
    {
        "prompt": "一匹栗色的马在金色夕阳下沿着海滩奔跑",
        "durationSec": 6,
        "aspectRatio": "16:9",
        "resolution": "720p",
        "style": "电影感",
        "cameraMotion": "pan-right",
    },
    {
        "prompt": "新款跑鞋在白色摄影台上缓缓旋转",
        "durationSec": 5,
        "aspectRatio": "9:16",
        "resolution": "1080p",
        "cameraMotion": "orbit",
        "motionIntensity": 2,
    },
)
LANGUAGES = (
    Language("en", "campaign.xlsx", EXAMPLES_EN),
    Language("zh", "campaign.zh.xlsx", EXAMPLES_ZH),
)


def header(name: str, language: str) -> str:
    return chinese_header(name) if language == "zh" else english_header(name)


def _field(name: str) -> spec.FieldSpec:
    return spec.CREATE_FIELDS[spec.FILE_COLUMNS.get(name, name)]


def hint(name: str, language: str) -> tuple[str, str]:
    """(title, text) of the input hint on a header: what goes in the column, from spec."""
    field = _field(name)
    required = field.required
    if name in spec.FILE_COLUMNS:
        kind = spec.UPLOAD_KINDS[field.upload_kind or spec.DEFAULT_UPLOAD_KIND]
        extensions = ", ".join(spec.EXTENSION_CONTENT_TYPES[kind.name])
        if language == "zh":
            text = (
                f"{kind.name} 文件路径（相对本表格所在文件夹），{extensions}，"
                f"最大 {kind.max_megabytes} MB；不接受网址。"
            )
        else:
            text = (
                f"Path of a {kind.name} file, relative to this sheet's folder ({extensions}, "
                f"at most {kind.max_megabytes} MB). Web links are not accepted."
            )
        if spec.MUTUALLY_EXCLUSIVE and any(field.name in pair for pair in spec.MUTUALLY_EXCLUSIVE):
            text += (
                " 首帧与尾帧不能同时填写。"
                if language == "zh"
                else (" Not together with the other frame image.")
            )
    else:
        allowed = field.allowed()
        if language == "zh":
            text = f"{'必填' if required else '选填'}：{allowed_zh(field)}"
            if field.default is not None:
                text += f"；默认 {field.default}"
        else:
            text = f"{'Required' if required else 'Optional'}: {allowed}"
            if field.default is not None:
                text += f"; default {field.default}"
    title = header(name, language)
    return title[:32], text[:255]  # Excel's limits for a data-validation prompt


def allowed_zh(field: spec.FieldSpec) -> str:
    """Chinese twin of ``FieldSpec.allowed()`` for the zh template's hints."""
    lo, hi = field.minimum, field.maximum
    if field.type == "string":
        return f"{_n(lo)} 到 {_n(hi)} 个字符" if lo else f"最多 {_n(hi)} 个字符"
    if field.type == "integer":
        return f"{_n(lo)} 到 {_n(hi)} 的整数"
    if field.type == "number":
        return f"{_n(lo)} 到 {_n(hi)} 之间的数字"
    if field.type == "enum":
        return "可选 " + "、".join(field.choices)
    return field.allowed()


def skip_header(language: str) -> str:
    return SKIP_COLUMN.zh if language == "zh" else SKIP_COLUMN.name.capitalize()


def skip_hint(language: str) -> tuple[str, str]:
    """The first column: why the two example rows are never submitted, and how to use one."""
    if language == "zh":
        text = (
            "此列有内容的行不会提交，也不收费（示例行写着“示例”）。在示例下方填写您的行；"
            "要使用某个示例，清空它的这一格。"
        )
    else:
        text = (
            "Rows with anything in this column are never submitted or charged (the examples "
            "say 'example'). Add your rows below them; to use an example, clear its cell here."
        )
    return skip_header(language), text


def width(name: str) -> float:
    return {"prompt": 60, "style": 16}.get(name, 24 if name in spec.FILE_COLUMNS else 15)


def write_xlsx(path: Path, language: Language) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "视频" if language.code == "zh" else "Videos"
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    # Column A marks the example rows: a user who types below them must not pay for a demo.
    cell = sheet.cell(1, 1, skip_header(language.code))
    cell.font, cell.fill = bold, fill
    sheet.column_dimensions["A"].width = 10
    title, text = skip_hint(language.code)
    skip_hint_rule = DataValidation(showInputMessage=True, promptTitle=title, prompt=text)
    skip_hint_rule.add("A1")
    sheet.add_data_validation(skip_hint_rule)
    grey = Font(italic=True, color="808080")
    for row in range(2, len(language.example_rows) + 2):
        mark = sheet.cell(row, 1, EXAMPLE_MARK[language.code])
        mark.font = grey
    for index, name in enumerate(TEMPLATE_FIELDS, start=FIRST_FIELD_COLUMN):
        letter = get_column_letter(index)
        cell = sheet.cell(1, index, header(name, language.code))
        cell.font, cell.fill = bold, fill
        sheet.column_dimensions[letter].width = width(name)
        title, text = hint(name, language.code)
        header_hint = DataValidation(showInputMessage=True, promptTitle=title, prompt=text)
        header_hint.add(f"{letter}1")
        sheet.add_data_validation(header_hint)
        data_range = f"{letter}2:{letter}{DATA_ROWS + 1}"
        rule = _rule(name, title, text, DataValidation)
        if rule is not None:
            rule.add(data_range)
            sheet.add_data_validation(rule)
        if name == "aspectRatio":  # text cells: typing 16:9 must not become a time
            for row in range(2, DATA_ROWS + 2):
                sheet.cell(row, index).number_format = "@"
        if name == "prompt":
            for row in range(2, len(language.example_rows) + 2):
                sheet.cell(row, index).alignment = Alignment(wrap_text=True, vertical="top")
    for row, example in enumerate(language.example_rows, start=2):
        for index, name in enumerate(TEMPLATE_FIELDS, start=FIRST_FIELD_COLUMN):
            if name in example:
                sheet.cell(row, index, example[name])
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "hhbatch"
    workbook.save(path)


def _rule(name: str, title: str, text: str, factory: type) -> object | None:
    """The data validation for a column's cells: dropdown, whole-number or decimal range."""
    field = _field(name)
    common = {
        "showInputMessage": True,
        "promptTitle": title,
        "prompt": text,
        "showErrorMessage": True,
        "errorTitle": title,
        "error": text,
        "allow_blank": True,
    }
    if field.type == "enum":
        return factory(type="list", formula1='"' + ",".join(field.choices) + '"', **common)
    if field.type == "integer":
        return factory(
            type="whole",
            operator="between",
            formula1=_n(field.minimum),
            formula2=_n(field.maximum),
            **common,
        )
    if field.type == "number":
        return factory(
            type="decimal",
            operator="between",
            formula1=_n(field.minimum),
            formula2=_n(field.maximum),
            **common,
        )
    if field.type == "string" and field.minimum:
        return factory(
            type="textLength",
            operator="between",
            formula1=_n(field.minimum),
            formula2=_n(field.maximum),
            **common,
        )
    if field.type == "string" and field.maximum is not None:
        return factory(
            type="textLength", operator="lessThanOrEqual", formula1=_n(field.maximum), **common
        )
    return None


def _n(value: float | None) -> str:
    assert value is not None
    return str(int(value)) if float(value).is_integer() else str(value)


def csv_text() -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([skip_header("en"), *(header(name, "en") for name in TEMPLATE_FIELDS)])
    for example in EXAMPLES_EN:
        writer.writerow([EXAMPLE_MARK["en"], *(example.get(name, "") for name in TEMPLATE_FIELDS)])
    return buffer.getvalue()


def yaml_text(language: str = "en") -> str:
    """Every setting of hhbatch/config.py, commented out, with what it does (in English, or in
    Chinese for ``init --lang zh``: the settings' names stay as they are)."""
    if language == "zh":
        return yaml_text_zh()
    defaults = Config()
    durations = spec.CREATE_FIELDS["durationSec"]
    lines = [
        "# hhbatch.yaml: settings for the campaign sheets in this folder. Every line is optional;",
        "# remove the leading '# ' to use one. The API key is NEVER stored here: set the",
        f"# {spec.ENV_API_KEY} environment variable instead.",
        "",
        "# Your HappyHorse domain (or set HAPPYHORSE_BASE_URL).",
        "# base_url: https://example.happyhorse.ai",
        "",
        "# Values used when a row leaves the cell empty (or the sheet has no such column).",
        "# Any column can have a default, file columns too (paths relative to this file).",
        "# defaults:",
        "#   resolution: 1080p        # the whole campaign in 1080p",
        f"#   durationSec: {int(((durations.minimum or 0) + (durations.maximum or 0)) // 2)}"
        f"           # {durations.allowed()}",
        '#   aspectRatio: "9:16"      # ' + _field("aspectRatio").allowed(),
        "#   cameraMotion: none",
        "#   referenceAudio: assets/jingle.mp3",
        "",
        "# More header names for a column, e.g. the words your team already uses.",
        "# aliases:",
        "#   prompt: [Brief, 文案内容]",
        "#   durationSec: [Länge, 秒]",
        "",
        "# Sheet to read when the workbook has several (default: the first visible sheet).",
        "# sheet: Videos",
        "",
        "# Text encoding of CSV/TXT sheets, when hhbatch cannot tell it for sure (it asks):",
        "# cp1252 (Western Windows), gbk, big5, shift_jis, utf-8 ...",
        "# encoding: cp1252",
        "",
        "# The most requests per second hhbatch may send: your key's rate limit, if you know",
        "# it. Without it hhbatch finds the limit itself (it starts modestly and speeds up",
        '# until HappyHorse answers "too many requests") and remembers it for the next run.',
        f"# rate: {EXAMPLE_RATE_CEILING:g}",
        "",
        "# How many uploads / video creations may be in flight at once.",
        f"# concurrency: {defaults.concurrency}",
        "",
        "# Seconds between two status checks of one video (the vendor recommends "
        f"{spec.RECOMMENDED_POLL_INTERVAL_SEC[0]:g} to {spec.RECOMMENDED_POLL_INTERVAL_SEC[1]:g}).",
        f"# poll_interval: {defaults.poll_interval:g}",
        "",
        f'# Bytes in one "MB" of the upload size limits ({spec.MEGABYTE} is the safe reading; '
        f"{1024 * 1024}",
        "# if your HappyHorse support confirms binary megabytes).",
        f"# megabyte: {defaults.megabyte}",
        "",
        "# Spend caps for one run (--max-videos, --max-seconds and --max-credits override them):",
        "# rows past a cap wait for the next run, and the plan says how many.",
        "# max_videos: 50",
        "# max_seconds: 300          # total durationSec of the videos created in one run",
        "# max_credits: 500          # needs credits_per_second below",
        "",
        "# Your prices in credits per second of video, by resolution (the API page lists none:",
        "# these are example numbers, put your plan's). The plan then shows the estimated credits.",
        "# credits_per_second: {720p: 1, 1080p: 2}",
        "",
    ]
    return "\n".join(lines)


def yaml_text_zh() -> str:
    defaults = Config()
    durations = spec.CREATE_FIELDS["durationSec"]
    ratios = "、".join(spec.CREATE_FIELDS["aspectRatio"].choices)
    poll_low, poll_high = spec.RECOMMENDED_POLL_INTERVAL_SEC
    low, high = _n(durations.minimum), _n(durations.maximum)
    lines = [
        "# hhbatch.yaml：本文件夹中活动表格的设置。每一行都是可选的；",
        "# 去掉行首的“# ”即可启用。API 密钥绝不保存在这里：请设置环境变量",
        f"# {spec.ENV_API_KEY}。",
        "",
        f"# 您的 HappyHorse 域名（也可以设置环境变量 {spec.ENV_BASE_URL}）。",
        "# base_url: https://example.happyhorse.ai",
        "",
        "# 某行留空（或表格没有该列）时使用的值。",
        "# 任何列都可以有默认值，文件列也可以（路径相对于本文件）。",
        "# defaults:",
        "#   resolution: 1080p        # 整个活动都用 1080p",
        f"#   durationSec: {int(((durations.minimum or 0) + (durations.maximum or 0)) // 2)}"
        f"           # {low} 到 {high} 的整数",
        f'#   aspectRatio: "9:16"      # 可选 {ratios}',
        "#   cameraMotion: none",
        "#   referenceAudio: assets/jingle.mp3",
        "",
        "# 列的其他表头名称，例如您的团队已经在用的叫法。",
        "# aliases:",
        "#   prompt: [Brief, 文案内容]",
        "#   durationSec: [Länge, 秒]",
        "",
        "# 工作簿有多个工作表时读取哪一个（默认：第一个可见的工作表）。",
        "# sheet: 视频",
        "",
        "# CSV/TXT 表格的文本编码，在 hhbatch 无法确定时使用（它会提示）：",
        "# gbk（简体中文 Windows）、big5、cp1252（西欧 Windows）、shift_jis、utf-8 ……",
        "# encoding: gbk",
        "",
        "# hhbatch 每秒最多发送的请求数：如果您知道密钥的速率上限就填它。不填时 hhbatch 会",
        "# 自行探测上限（先慢速开始、逐步加快，直到 HappyHorse 回答“请求过多”），并记住供下次",
        "# 运行使用。",
        f"# rate: {EXAMPLE_RATE_CEILING:g}",
        "",
        "# 同时进行的上传 / 视频创建数量。",
        f"# concurrency: {defaults.concurrency}",
        "",
        f"# 同一个视频两次状态查询之间的秒数（厂商建议 {poll_low:g} 到 {poll_high:g}）。",
        f"# poll_interval: {defaults.poll_interval:g}",
        "",
        f"# 上传大小限制中 1 MB 的字节数（{spec.MEGABYTE} 是稳妥的理解；",
        f"# 如果 HappyHorse 支持确认是二进制 MB，则为 {1024 * 1024}）。",
        f"# megabyte: {defaults.megabyte}",
        "",
        "# 单次运行的花费上限（--max-videos、--max-seconds 和 --max-credits 会覆盖它们）：",
        "# 超过上限的行留到下一次运行，计划中会说明有多少行。",
        "# max_videos: 50",
        "# max_seconds: 300          # 一次运行中创建的视频的 durationSec 总和",
        "# max_credits: 500          # 需要下面的 credits_per_second",
        "",
        "# 您的价格：按分辨率计，每秒视频消耗的额度（API 页面没有列出价格：",
        "# 这里是示例数字，请填写您套餐的价格）。计划中随后会显示预计消耗的额度。",
        "# credits_per_second: {720p: 1, 1080p: 2}",
        "",
    ]
    return "\n".join(lines)


def build(dest: Path = HERE) -> list[Path]:
    written = []
    for language in LANGUAGES:
        path = dest / language.filename
        write_xlsx(path, language)
        written.append(path)
    (dest / "campaign.csv").write_bytes(csv_text().encode("utf-8-sig"))
    (dest / CONFIG_FILENAME).write_text(yaml_text(), encoding="utf-8", newline="\n")
    (dest / ZH_CONFIG_FILENAME).write_text(yaml_text("zh"), encoding="utf-8", newline="\n")
    written += [dest / "campaign.csv", dest / CONFIG_FILENAME, dest / ZH_CONFIG_FILENAME]
    if dest == HERE:
        PACKAGE_DATA.mkdir(exist_ok=True)
        for name in PACKAGED:
            (PACKAGE_DATA / name).write_bytes((dest / name).read_bytes())
            written.append(PACKAGE_DATA / name)
    return written


if __name__ == "__main__":
    for written_path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(written_path)
