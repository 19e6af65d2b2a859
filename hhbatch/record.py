"""A batch's record, opened together: the journal, the results sheet and the per-user ledger.

Why one place: each of the three can be lost on its own (the hidden journal when a folder is
copied, the results sheet when only the manifest is sent on, the ledger on another machine), and
whatever one loses the others restore. Opening a batch therefore means: find this sheet's journal
(:mod:`hhbatch.batchid`), take its lock, recover rows a dead run left mid-create, adopt what the
results sheet shows and the journal does not (:mod:`hhbatch.recovery`), and hand the planner the
ledger (:mod:`hhbatch.adoption`). A journal found empty (0 bytes) is never taken for a new batch:
the batch is rebuilt from the results sheet and the ledger, or the run is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hhbatch import batchid, recovery, userdata
from hhbatch import journal as j
from hhbatch.errors import JournalError
from hhbatch.i18n import _
from hhbatch.identity import fingerprint
from hhbatch.ledger import BatchRef, Ledger, LedgeredJournal


@dataclass
class BatchRecord:
    journal: j.Journal
    ledger: Ledger | None  # None: a sandbox rehearsal, or no API key (a dry run)
    batch: BatchRef
    account: str | None
    recovered: list[str]  # rows found mid-create from a run that died: now unknown


def open_record(
    stack: ExitStack,
    *,
    manifest_path: Path,
    manifest: Any,
    name: str,
    results_path: Path,
    base_url: str,
    api_key: str,
    config: Any,
    loader: Callable[..., Any],
) -> BatchRecord:
    """Open this sheet's journal (taking the batch lock) and everything that backs it up."""
    path, mark_sheet = batchid.journal_for(
        manifest_path,
        name,
        manifest.format,
        manifest.sheet_name,
        lambda: {fingerprint(row) for row in manifest.rows if row.valid},
    )
    was_empty = path.is_file() and path.stat().st_size == 0
    journal = stack.enter_context(j.Journal.open(path, base_url=base_url or None))
    if mark_sheet:
        journal.set_meta_value(batchid.META_SHEET, manifest.sheet_name)
    batchid.mark_owner(manifest_path, name)  # the plain name stays this file's (src.ods beside)
    single = manifest.format in batchid.SINGLE_SHEET_FORMATS
    batch = BatchRef(
        key=str(path),
        manifest=str(manifest_path.resolve()),
        sheet=None if single else manifest.sheet_name,
    )
    ledger: Ledger | None = None
    account: str | None = None
    if base_url and api_key:
        ledger = stack.enter_context(Ledger.open())
        account = userdata.account_id(base_url, api_key)
        journal = LedgeredJournal(journal, ledger, account, batch)
    recovered = journal.recover_interrupted()
    sheet = recovery.adopt_results_sheet(
        journal, manifest, results_path, loader=loader, config=config
    )
    known_elsewhere = ledger is not None and ledger.knows_batch(batch.key)
    if was_empty and not sheet.found and not journal.jobs() and not known_elsewhere:
        raise JournalError(
            _(
                "The batch journal {path} is empty (0 bytes): it lost what this batch "
                "created, and neither the results sheet {results} nor this machine's record "
                "of created videos knows this batch, so nothing was sent (it could create "
                "and charge every row again). Put the results sheet back beside the "
                "manifest, or restore the journal from a backup; to start the batch afresh "
                "on purpose, delete {path}."
            ).format(path=path, results=results_path)
        )
    return BatchRecord(journal, ledger, batch, account, recovered)
