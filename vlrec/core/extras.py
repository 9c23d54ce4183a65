"""Optional dependencies, installed by use (``pip install 'vlrec[serve]'``, ``[train]``, ``[eval]``,
``[glove]``, or ``[all]``): :func:`need` imports one or says which extra brings it."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def need(module: str, extra: str, what: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` naming ``extra`` and what needed it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f"{what} needs {module.split('.')[0]}: pip install 'vlrec[{extra}]'") from None
