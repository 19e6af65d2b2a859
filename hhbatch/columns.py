"""Names of the columns hhbatch itself writes into output sheets, in English and Chinese.

Why here and not in the writer: the loader must recognise these columns when a user reruns on a
results sheet (they are ours, not the user's extra columns), and the writer must produce them.
"""

from __future__ import annotations

from dataclasses import dataclass


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


def header_for(column: ResultColumn, language: str) -> str:
    return column.zh if language == "zh" else column.name


def output_column_for_header(header: str) -> ResultColumn | None:
    """Which of our output columns a header names (either language, case/space-insensitive)."""
    key = "".join(str(header).split()).casefold()
    for column in ALL_OUTPUT_COLUMNS:
        if key in (column.name.casefold(), column.zh.casefold()):
            return column
    return None
