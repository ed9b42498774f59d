"""Every docstring example in the installed ``sxplan`` namespace runs and gives what it shows.

The stage folders (``layers/``, ``siting/``, ...) are imported by their installed names
(``sxplan.layers``, ...), never as top-level packages, so each module is loaded exactly once.
"""

import doctest
import importlib
import pkgutil

import pytest

import sxplan

PACKAGES = [
    "sxplan",
    "sxplan.layers",
    "sxplan.siting",
    "sxplan.sinks",
    "sxplan.maps",
    "sxplan.fetch",
]


def _modules() -> list[str]:
    names = []
    for pkg in PACKAGES:
        mod = importlib.import_module(pkg)
        names.append(pkg)
        for info in pkgutil.iter_modules(mod.__path__):
            if not info.ispkg:
                names.append(f"{pkg}.{info.name}")
    return names


MODULES = _modules()


def test_every_stage_has_modules():
    for pkg in PACKAGES[1:]:
        assert any(m.startswith(pkg + ".") for m in MODULES), pkg
    assert sxplan.__name__ == "sxplan"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(mod, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
