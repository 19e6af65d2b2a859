"""Names of a package that load on first use (PEP 562).

Why: ``hhbatch --help`` and ``hhbatch validate`` must start fast, so a package's public names
(``hhbatch.loader``, ``hhbatch.output``) may not import their heavy modules (calamine, openpyxl)
until someone asks for them. One helper, so every such package behaves the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, str], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``: each name in ``exports`` (name -> module)
    is imported on first use and kept in ``namespace`` (the package's globals)."""
    names = frozenset(public)

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *names})

    return __getattr__, __dir__
