"""Names of the columns hhbatch itself writes into output sheets, in English and Chinese.

Why here and not in the writer: the loader must recognise these columns when a user reruns on a
results sheet (they are ours, not the user's extra columns), and the writer must produce them.
"""

from __future__ import annotations

from dataclasses import dataclass

from hhbatch.hanzi import simplified


@dataclass(frozen=True)
class ResultColumn:
    name: str  # canonical, also the English header
    zh: str


RESULT_COLUMNS: tuple[ResultColumn, ...] = (
    ResultColumn("status", "状态"),
    ResultColumn("videoId", "视频ID"),
    ResultColumn("videoUrl", "视频链接"),
    ResultColumn("thumbnailUrl", "缩略图链接"),
    ResultColumn("readyAt", "完成时间"),
    ResultColumn("error", "错误"),
)
VALIDATION_COLUMN = ResultColumn("validationErrors", "校验错误")
LOCAL_FILE_COLUMN = ResultColumn("localFile", "本地文件")

ALL_OUTPUT_COLUMNS: tuple[ResultColumn, ...] = (
    *RESULT_COLUMNS,
    VALIDATION_COLUMN,
    LOCAL_FILE_COLUMN,
)


# The column that keeps a row out of every run: the template's example rows say "example" in
# it. Not one of our output columns (hhbatch never writes it); the user owns it.
SKIP_COLUMN = ResultColumn("skip", "跳过")
SKIP_HEADERS: tuple[str, ...] = ("skip", "跳过", "example", "示例", "例子", "不提交")
# A cell that says no (or a cleared checkbox) does not skip its row.
SKIP_NO_WORDS = frozenset({"no", "n", "false", "0", "否", "不", "不跳过", "假"})
# What the template's example rows carry in the skip column.
EXAMPLE_MARK = {"en": "example", "zh": "示例"}

# Status words of the results sheet in a Chinese sheet: the words the report uses (the zh
# catalog's translations of the English status words), so the sheet and the page agree.
STATUS_WORDS_ZH: dict[str, str] = {
    "ready": "已完成",
    "failed": "失败",
    "invalid": "无效",
    "unknown": "结果未知",
    "not submitted": "未提交",
    "submitting": "提交中",
    "submitted": "已提交",
    "queued": "排队中",
    "processing": "生成中",
    "edited": "已修改",
    "not_found": "找不到",
    "skipped": "已跳过",
}
_STATUS_FROM_ZH = {zh: en for en, zh in STATUS_WORDS_ZH.items()}


def status_for_sheet(status: str, language: str) -> str:
    """The status word written into a sheet of ``language`` (unknown statuses stay as sent)."""
    if language == "zh":
        return STATUS_WORDS_ZH.get(status, status)
    return status


def status_from_sheet(text: str) -> str:
    """The canonical (English) status for a word read back from a results sheet, either
    language; anything else (a server status we do not know) is returned as it is."""
    cleaned = text.strip()
    return _STATUS_FROM_ZH.get(cleaned, cleaned)


def is_skip_header(header: str) -> bool:
    key = simplified("".join(str(header).split())).casefold()
    return key in {h.casefold() for h in SKIP_HEADERS}


def skip_marker(value: str) -> str | None:
    """The marker text when a skip cell keeps its row out of the run, else None."""
    text = value.strip()
    if not text or simplified(text).casefold() in SKIP_NO_WORDS:
        return None
    return text


def header_for(column: ResultColumn, language: str) -> str:
    return column.zh if language == "zh" else column.name


def output_column_for_header(header: str) -> ResultColumn | None:
    """Which of our output columns a header names (either language, case/space-insensitive)."""
    key = simplified("".join(str(header).split())).casefold()
    for column in ALL_OUTPUT_COLUMNS:
        if key in (column.name.casefold(), column.zh.casefold()):
            return column
    return None
