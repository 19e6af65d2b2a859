"""Manifest loader: a spreadsheet in, a validated :class:`Manifest` out.

Public surface: :func:`load_manifest`, :func:`summarize` and the data classes. Everything else in
this package is an implementation detail that may move.

The names load on first use (PEP 562), so ``hhbatch --help`` can read the column names in
``hhbatch.loader.headers`` without importing the readers (calamine) behind ``load_manifest``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hhbatch.lazy import lazy_exports

if TYPE_CHECKING:
    from hhbatch.loader.load import load_manifest
    from hhbatch.loader.model import (
        ERROR,
        WARNING,
        Column,
        FileRef,
        Manifest,
        ManifestRow,
        Problem,
    )
    from hhbatch.loader.summary import Summary, summarize

_EXPORTS = {
    "load_manifest": "hhbatch.loader.load",
    "ERROR": "hhbatch.loader.model",
    "WARNING": "hhbatch.loader.model",
    "Column": "hhbatch.loader.model",
    "FileRef": "hhbatch.loader.model",
    "Manifest": "hhbatch.loader.model",
    "ManifestRow": "hhbatch.loader.model",
    "Problem": "hhbatch.loader.model",
    "Summary": "hhbatch.loader.summary",
    "summarize": "hhbatch.loader.summary",
}

__all__ = [
    "ERROR",
    "WARNING",
    "Column",
    "FileRef",
    "Manifest",
    "ManifestRow",
    "Problem",
    "Summary",
    "load_manifest",
    "summarize",
]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS, __all__)
