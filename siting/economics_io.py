"""Write the economics of a siting run: supply curves and grid connections.

Inputs: the per-technology results of :func:`sxplan.siting.run.run_siting` (their parcel tables
get the economics columns here, before they are written) and the siting inputs.
Outputs: ``siting/supply_curves.csv`` and ``siting/grid_connections.gpkg`` (layers
``grid_connections``, ``grid_substations``), names from :mod:`sxplan.schema`; nothing when
``siting.economics`` is not set.
"""

from __future__ import annotations

from pathlib import Path

from sxplan.layers.io import write_csv, write_gpkg_layers
from sxplan.layers.tables import round_for_csv
from sxplan.schema import dataset

__all__ = ["write_economics"]


def write_economics(results: dict, inputs, out_dir: Path, timings: dict) -> dict[str, Path]:
    """Add the economics columns to every parcel table and write the curves and connections.

    Returns
    -------
    dict
        Output paths by name (empty without ``siting.economics``).
    """
    if inputs.config.economics is None or not results:
        return {}
    from .economics import add_economics

    res = add_economics({t: r.parcels for t, r in results.items()}, inputs, inputs.bases)
    timings["economics"] = res.timings
    curves = dataset("siting.supply_curves")
    conn, subs = dataset("siting.grid_connections"), dataset("siting.grid_substations")
    frames = {
        conn.layer_name(): conn.check(res.connections),
        subs.layer_name(): subs.check(res.substations),
    }
    return {
        "supply_curves": write_csv(
            round_for_csv(curves.check(res.curves)), out_dir / curves.filename()
        ),
        "grid_connections": write_gpkg_layers(frames, out_dir / conn.filename()),
    }
