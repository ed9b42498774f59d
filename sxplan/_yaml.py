"""Reading project YAML safely: UTF-8 only, no duplicate keys, bounded alias expansion.

PyYAML's ``safe_load`` accepts duplicate keys (the last one silently wins) and nested aliases
that expand to billions of nodes (a 12 KB "billion laughs" file); anything that later walks the
loaded config (validation, messages, ``run.json``) then hangs and eats memory. This loader
counts the nodes the document would expand to before constructing anything and refuses more
than :data:`MAX_NODES`; duplicate keys are refused with their line; a file that is not UTF-8
(GBK from a Chinese Windows editor) is refused with the fix. Messages never quote more than a
short piece of the input (:func:`short`).

Inputs: a YAML file. Outputs: plain Python data (dicts, lists, scalars).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sxplan.errors import ConfigError

__all__ = ["MAX_ALIASES", "MAX_NODES", "read_yaml", "short"]

#: Most YAML nodes a config may expand to once aliases are followed: the demo config has 676,
#: the template 459, and 250 exclusion rules (the most allowed) add about 3,000.
MAX_NODES = 20_000
#: Most alias uses (``*name``) in one config file.
MAX_ALIASES = 1_000


def short(value, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages that quote user input.

    Examples
    --------
    >>> short("x" * 100, 10)
    "'xxxxx...(102 chars)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: max(limit - 4, 1)]}...({len(text)} chars)"


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys, naming the key and its line."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=False)
                try:
                    first = seen.get(key)
                except TypeError:  # unhashable key: the base class raises its own error
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise ConfigError(
                        f"{self.name}: line {line}: duplicate key {short(key, 60)} (first at line "
                        f"{first}); YAML keeps only the last one, so remove or rename one of them"
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root, path: str) -> int:
    """Number of nodes ``root`` expands to with aliases followed; refuses cycles and bombs."""
    sizes: dict[int, int] = {}
    busy: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes and not done:
            continue
        children = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        if not done:
            if key in busy:
                raise ConfigError(
                    f"{path}: an alias refers to the block it is in (a recursive alias, line "
                    f"{node.start_mark.line + 1}); write the values out instead"
                )
            busy.add(key)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        busy.discard(key)
        total = 1 + sum(sizes[id(c)] for c in children)
        if total > MAX_NODES:
            raise ConfigError(
                f"{path}: the YAML expands to more than {MAX_NODES:,} values once its aliases "
                f"(*name) are followed (line {node.start_mark.line + 1}); a project config needs "
                "far fewer. Write the values out, or use fewer nested aliases"
            )
        sizes[key] = total
    return sizes[id(root)]


def read_yaml(path: str | Path):
    """Read a YAML file with the checks of this module.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    object
        The document (``None`` for an empty file).

    Raises
    ------
    ConfigError
        Not UTF-8, not YAML, duplicate keys, too many aliases or an expansion beyond
        :data:`MAX_NODES`.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        guess = ""
        try:
            data.decode("gb18030")
            guess = " It reads as GBK/GB18030 (a Chinese Windows editor's default)."
        except UnicodeDecodeError:
            pass
        raise ConfigError(
            f"{path}: the config file is not UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}).{guess} Save it as UTF-8, e.g. `iconv -f gbk -t utf-8 old.yaml > "
            "project.yaml`, or choose UTF-8 in the editor's Save As dialog"
        ) from None
    aliases = text.count("*")
    loader = _Loader(text)
    loader.name = str(path)
    try:
        if aliases > MAX_ALIASES:
            n = sum(
                isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=yaml.SafeLoader)
            )
            if n > MAX_ALIASES:
                raise ConfigError(
                    f"{path}: {n:,} aliases (*name); a project config needs at most "
                    f"{MAX_ALIASES:,}. Write the values out instead"
                )
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, str(path))
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {_cut(str(exc))}") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: the YAML is nested too deeply to read (thousands of levels); a project "
            "config is a few levels deep. Check the file is the config you meant"
        ) from None
    finally:
        loader.dispose()


def _cut(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"
