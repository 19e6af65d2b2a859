"""The code-page corpus (``tests/data/inputs/codepages/``): never a wrong reading.

Each file is a manifest as Excel or LibreOffice saves "CSV" on a Windows set to one market
(several languages per code page, and one-line files where readings are closest). Every file is
either decoded to exactly the text typed, or refused with a sentence whose ``--encoding`` options
include the right one -- and which of the two is pinned, so a regression either way shows. The
reviewer's cp1252 file also runs end to end: its prompts reach the server as written.
"""

from __future__ import annotations

import codecs
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from runhelpers import describe, run_to_end

from hhbatch.errors import ManifestError
from hhbatch.loader.encoding import DETECTED, decode
from hhbatch.sandbox import Sandbox

INPUTS = Path(__file__).resolve().parent / "data" / "inputs"
_spec = importlib.util.spec_from_file_location("build_inputs", INPUTS / "build_inputs.py")
assert _spec is not None and _spec.loader is not None
build_inputs = importlib.util.module_from_spec(_spec)
sys.modules["build_inputs"] = build_inputs  # dataclasses look their module up there
_spec.loader.exec_module(build_inputs)
FILES: dict[str, Any] = build_inputs.CODE_PAGE_FILES
LEGACY = {
    name: f for name, f in build_inputs.CSV_FILES.items() if f.encoding.startswith(("cp", "gbk"))
}
ALL = {**LEGACY, **FILES}


def _same_codec(a: str, b: str) -> bool:
    """cp932 reads what Shift-JIS writes; gb18030 what GBK writes (a superset, same bytes)."""
    family = {"gbk": "gb18030", "cp936": "gb18030"}
    a, b = (codecs.lookup(x).name for x in (a, b))
    return family.get(a, a) == family.get(b, b)


def test_corpus_files_are_what_their_specs_say() -> None:
    assert len(FILES) >= 30
    for name, spec in ALL.items():
        assert (INPUTS / name).read_bytes() == build_inputs.csv_bytes(spec), name
    on_disk = {f"codepages/{p.name}" for p in (INPUTS / "codepages").iterdir()}
    assert on_disk == set(FILES)


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_code_page_file_reads_exactly_or_is_refused_naming_its_encoding(name: str) -> None:
    spec = ALL[name]
    data = (INPUTS / name).read_bytes()
    typed = data.decode(spec.encoding)
    try:
        decoded = decode(data, Path(name))
    except ManifestError as refused:
        message = str(refused)
        offered = [w.removeprefix("--encoding ") for w in _options(message)]
        assert any(_same_codec(o, spec.encoding) for o in offered), message
        assert "cannot be told for sure" in message and "\n" not in message
        assert spec.outcome == "refused", f"{name} was readable: {message}"
        right = next(o for o in offered if _same_codec(o, spec.encoding))
        assert decode(data, Path(name), right).text == typed  # following the advice works
        return
    assert decoded.text == typed, f"{name} read as {decoded.encoding}: {decoded.text!r}"
    assert _same_codec(decoded.encoding, spec.encoding) and decoded.how == DETECTED
    assert spec.outcome == "read", f"{name} is ambiguous yet was read"


def _options(message: str) -> list[str]:
    start = message.index("(--encoding ")
    return message[start + 1 : message.index(")", start)].split(" or ")


@pytest.mark.parametrize(
    "name", ["codepages/cp1252_reviewer_lf.csv", "codepages/cp1252_reviewer_crlf.csv"]
)
def test_cp1252_prompts_reach_the_server_as_written(
    sandbox: Sandbox, tmp_path: Path, name: str
) -> None:
    """The real CLI in its own process: the plan names cp1252 and the server gets the text."""
    spec = FILES[name]
    manifest = Path(shutil.copy(INPUTS / name, tmp_path / Path(name).name))
    done = run_to_end(manifest, sandbox, "--rate", "500")
    assert done.returncode == 0, describe(done, sandbox)
    assert "text encoding: Windows-1252 (cp1252), detected" in done.stderr, done.stderr
    sent = sorted(job["body"]["prompt"] for job in sandbox.jobs())
    assert sent == sorted(spec.prompts)
    assert "Crème brûlée on a café table, naïve piñata señor" in sent
    # --yes sends at once: the plan does not advise stopping, it says how to pin the encoding
    assert "If its letters look wrong" not in done.stderr, done.stderr
    assert "--yes: sent without asking. This encoding was detected, not given" in done.stderr
    assert "add --encoding cp1252 or put 'encoding: cp1252' in hhbatch.yaml" in done.stderr


def test_a_dry_run_still_advises_sending_nothing_if_letters_look_wrong(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from runkit import Cli, creates

    cli = Cli(sandbox, monkeypatch, capsys)
    manifest = Path(shutil.copy(INPUTS / "cp1252.csv", tmp_path / "cp1252.csv"))
    result = cli("run", manifest, "--dry-run", "--yes")
    assert result.code == 0, result
    assert "If its letters look wrong, send nothing" in result.err, result
    assert "--yes: sent without asking" not in result.err, result
    assert creates(sandbox) == 0
