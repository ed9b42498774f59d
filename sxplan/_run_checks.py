"""Checks a run makes around its steps: which paths it reads, which layers are empty.

Inputs: a :class:`~sxplan.config.ProjectConfig`, a :class:`~sxplan.layers.LayerStack`.
Outputs: paths (for :func:`sxplan._out_guard.check_out_is_safe`), layer names (for warnings).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sxplan.layers import LayerStack

    from .config import ProjectConfig

__all__ = ["empty_rasters", "input_paths"]


def input_paths(config: ProjectConfig, options: dict | None = None) -> dict[str, Path]:
    """Every file or folder a run reads, by a name for messages (layers, then other settings)."""
    found: dict[str, Path] = {name: Path(spec.path) for name, spec in config.layers.items()}

    def walk(value, where: str) -> None:
        if isinstance(value, Path):
            found.setdefault(where, value)
        elif isinstance(value, str) and value and where.endswith(("path", "_csv")):
            found.setdefault(where, Path(value))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{where}.{k}" if where else str(k))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                walk(v, f"{where}[{i}]")

    for section in ("siting", "roadside_pv", "sinks", "maps"):
        model = getattr(config, section, None)
        if model is not None:
            walk(model.model_dump(), section)
    for key, value in (options or {}).items():
        if isinstance(value, str | Path) and key.endswith("path"):
            found[f"--{key.removesuffix('_path')}"] = Path(value)
    return found


def empty_rasters(stack: LayerStack) -> list[str]:
    """Names of the input rasters that hold no valid cell on the grid (read block by block)."""
    import rasterio

    empty = []
    for name, layer in stack.rasters.items():
        with rasterio.open(layer.path) as src:
            if not any(src.read_masks(1, window=w).any() for _, w in src.block_windows(1)):
                empty.append(name)
    return empty
