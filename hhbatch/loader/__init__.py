"""Manifest loader: a spreadsheet in, a validated :class:`Manifest` out.

Public surface: :func:`load_manifest`, :func:`summarize` and the data classes. Everything else in
this package is an implementation detail that may move.
"""

from __future__ import annotations

from hhbatch.loader.load import load_manifest
from hhbatch.loader.model import ERROR, WARNING, Column, FileRef, Manifest, ManifestRow, Problem
from hhbatch.loader.summary import Summary, summarize

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
