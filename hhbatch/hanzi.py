"""Traditional Chinese → Simplified, for the characters of the header names hhbatch knows.

Why: a sheet from Taiwan or Hong Kong says 提示詞 and 時長（秒）, not 提示词 and 时长（秒）; the
names mean the same and must be recognised the same. Why a table of a few dozen characters and
not a conversion library: header names are a closed list (hhbatch.loader.headers,
hhbatch.columns), and every character of theirs that differs between the two scripts is below
(plus those of a few common notes columns). A header written in Traditional characters is
compared in Simplified ones; nothing else is converted (prompts are sent as typed).
"""

from __future__ import annotations

# Traditional (and variant) form → Simplified form, one character each.
_PAIRS = (
    "樂乐關关動动參参圖图頭头寬宽幀帧強强態态數数無无時时狀状畫画結结縮缩視视覺觉詞词語语誤误"
    "敗败過过運运鏈链錯错鏡镜長长間间隊队驗验頻频風风訊讯備备註注說说項项類类標标題题檔档"
    "稱称鍵键號号碼码連连應应響响質质層层際际場场轉转"
)
TO_SIMPLIFIED: dict[int, int] = {
    ord(_PAIRS[i]): ord(_PAIRS[i + 1]) for i in range(0, len(_PAIRS), 2)
}


def simplified(text: str) -> str:
    """``text`` with the Traditional characters of header names in their Simplified form."""
    return text.translate(TO_SIMPLIFIED)
