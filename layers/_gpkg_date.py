"""A fixed date for the GeoPackages sxplan writes, so the same inputs give the same bytes.

Inputs: ``SOURCE_DATE_EPOCH`` (optional). Outputs: GDAL's ``OGR_CURRENT_DATE`` option, set
for the duration of a write.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

__all__ = ["GPKG_DATE_DEFAULT", "fixed_gpkg_date"]


# GDAL stamps each GeoPackage table with the time of writing (gpkg_contents.last_change), so
# two runs with the same inputs would differ in bytes. GDAL's OGR_CURRENT_DATE option fixes
# that stamp (https://gdal.org/drivers/vector/gpkg.html, "Configuration options"); we use the
# SOURCE_DATE_EPOCH convention of reproducible builds when it is set, else 2000-01-01.
GPKG_DATE_DEFAULT = "2000-01-01T00:00:00.000Z"


@contextlib.contextmanager
def fixed_gpkg_date() -> Iterator[None]:
    """Set ``OGR_CURRENT_DATE`` for the block (then restore it)."""
    import time

    import pyogrio

    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    stamp = GPKG_DATE_DEFAULT
    if epoch.isdigit():
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(int(epoch)))
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})
