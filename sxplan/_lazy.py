"""Lazy attributes for package ``__init__`` modules (PEP 562).

A package lists which public name lives in which submodule; the submodule is imported the first
time the name is used. ``import sxplan.layers`` therefore costs nothing until a function is
called, and ``from sxplan.layers import GridSpec`` loads only what ``GridSpec`` needs.

Inputs: a package name and a mapping of submodule to names. Outputs: ``__getattr__``,
``__dir__`` and ``__all__`` for the package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence

__all__ = ["attach"]


def attach(
    package: str, names_by_module: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """Make a package's public names load their submodule on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names_by_module : mapping of str to sequence of str
        Submodule name (relative, without the dot) -> public names it defines.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__, __all__)`` to assign in the package's ``__init__``.

    Examples
    --------
    >>> getattr_, dir_, all_ = attach("sxplan", {"errors": ["SxplanError"]})
    >>> all_
    ['SxplanError']
    >>> getattr_("SxplanError").__name__
    'SxplanError'
    """
    where = {name: module for module, names in names_by_module.items() for name in names}
    public = sorted(where)

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:
        return public

    return __getattr__, __dir__, public
