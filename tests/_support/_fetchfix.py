"""Helpers of tests/fetch: a real HTTP server on 127.0.0.1 with scripted faults, and tiny
fixture files in the real tile naming of each catalog source. Nothing here reaches beyond
the loopback address.

Faults per URL path, consumed one per request: ``"503"`` answers 503; ``("drop", n)`` sends
the headers (with the full Content-Length) and ``n`` bytes, then closes the connection;
``"wrong"`` sends the right number of wrong bytes.
"""

import hashlib
import io
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import geopandas as gpd
import numpy as np
import osmium
import shapely
from osmium.osm.mutable import Node, Way
from rasterio.transform import from_origin

from _sxtest import write_tif

# the study area: 0.2 x 0.2 degrees in Jinzhong (Shanxi), across the 112 E and 37 N tile edges
AREA = (111.9, 36.9, 112.1, 37.1)


class FixtureServer:
    """Serves ``files`` (URL path -> bytes) and records every request."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, list] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                fault = (
                    server.faults.get(self.path, [None]).pop(0)
                    if server.faults.get(self.path)
                    else None
                )
                if fault == "503":
                    self.send_error(503, "busy")
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "not here")
                    return
                if fault == "wrong":
                    body = bytes(255 - b for b in body)
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                if isinstance(fault, tuple) and fault[0] == "drop":
                    self.wfile.write(body[start : start + fault[1]])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def gets(self, suffix: str = "") -> list:
        """Requests whose path ends with ``suffix``."""
        return [r for r in self.requests if r[0].endswith(suffix)]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def dem_value(lon, lat):
    """Height of the fixture DEM at a point: one plane across all tiles (m)."""
    return 1000.0 + 200.0 * (lon - 111.0) + 100.0 * (lat - 36.0)


def wind_value(lon, lat):
    return 5.0 + 0.5 * (lon - 110.0)


def ghi_value(lon, lat):
    return 1400.0 + 20.0 * (lat - 34.0)


def _grid(west, north, res, width, height):
    cols = west + res * (np.arange(width) + 0.5)
    rows = north - res * (np.arange(height) + 0.5)
    return np.meshgrid(cols, rows)


def _tif_bytes(tmp, name, array, west, north, res, nodata=None):
    path = tmp / name
    write_tif(path, array, from_origin(west, north, res, res), "EPSG:4326", nodata)
    return path.read_bytes()


def build_mirror(tmp, *, skip=()):
    """Files of every source in the catalog's naming, by URL path under ``/m``."""
    tmp.mkdir(parents=True, exist_ok=True)
    files = {}
    for lat in (36, 37):
        for lon in (111, 112):
            name = f"Copernicus_DSM_COG_10_N{lat:02d}_00_E{lon:03d}_00_DEM"
            lons, lats = _grid(lon, lat + 1, 0.01, 100, 100)
            arr = dem_value(lons, lats).astype("float32")
            files[f"/m/copernicus_dem_glo30/{name}/{name}.tif"] = _tif_bytes(
                tmp, f"{name}.tif", arr, lon, lat + 1, 0.01
            )
    lons, lats = _grid(111, 39, 0.01, 300, 300)
    lc = np.full(lons.shape, 30, "uint8")  # grassland
    lc[lons < 111.95] = 40  # cropland in the west
    lc[(lats > 37.05) & (lons > 112.05)] = 10  # tree cover in the north-east
    lc[(np.abs(lats - 37.0) < 0.02) & (np.abs(lons - 112.0) < 0.02)] = 50  # a village
    name = "ESA_WorldCover_10m_2021_v200_N36E111_Map"
    files[f"/m/esa_worldcover_2021/v200/2021/map/{name}.tif"] = _tif_bytes(
        tmp, f"{name}.tif", lc, 111, 39, 0.01, nodata=0
    )
    lons, lats = _grid(110, 41, 0.05, 100, 140)
    files["/m/global_wind_atlas/CHN/wind-speed/100"] = _tif_bytes(
        tmp, "wind.tif", wind_value(lons, lats).astype("float32"), 110, 41, 0.05
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        folder = "China_GISdata_LTAy_YearlyMonthlyTotals_GlobalSolarAtlas-v2_GEOTIFF"
        zf.writestr(
            f"{folder}/GHI.tif",
            _tif_bytes(tmp, "ghi.tif", ghi_value(lons, lats).astype("float32"), 110, 41, 0.05),
        )  # noqa: E501
        pv = np.full(lons.shape, 1300.0, "float32")
        zf.writestr(f"{folder}/PVOUT.tif", _tif_bytes(tmp, "pv.tif", pv, 110, 41, 0.05))
        zf.writestr(f"{folder}/monthly/GHI_01.tif", b"not the yearly layer")
    files[f"/m/global_solar_atlas/{folder}.zip"] = buf.getvalue()
    pbf = build_pbf(tmp / "china-latest.osm.pbf")
    files["/m/geofabrik_china/china-latest.osm.pbf"] = pbf
    md5 = hashlib.md5(pbf).hexdigest()
    files["/m/geofabrik_china/china-latest.osm.pbf.md5"] = f"{md5}  china-latest.osm.pbf\n".encode()
    return {k: v for k, v in files.items() if not any(s in k for s in skip)}


def build_pbf(path):
    """A tiny OSM PBF written with pyosmium: an east-west motorway across the area in three
    ways (plain, tunnel, bridge), a north-south trunk, a residential street (dropped) and a
    motorway 2 degrees away (outside the box, dropped)."""
    path.unlink(missing_ok=True)
    w = osmium.SimpleWriter(str(path))
    pts = {i + 1: (111.85 + 0.05 * i, 37.0) for i in range(7)}  # 111.85 ... 112.15
    pts.update({20: (112.0, 36.85), 21: (112.0, 37.0), 22: (112.0, 37.15)})
    pts.update({30: (111.95, 37.05), 31: (112.0, 37.05)})
    pts.update({40: (114.0, 39.0), 41: (114.1, 39.0)})
    for i, (lon, lat) in sorted(pts.items()):
        w.add_node(Node(id=i, location=osmium.osm.Location(lon, lat), tags={}))
    ways = [
        (100, [1, 2, 3], {"highway": "motorway", "ref": "G5", "name": "京昆高速"}),
        (101, [3, 4, 5], {"highway": "motorway", "ref": "G5", "tunnel": "yes", "layer": "-1"}),
        (102, [5, 6, 7], {"highway": "motorway", "ref": "G5", "bridge": "viaduct"}),
        (103, [20, 21, 22], {"highway": "trunk", "ref": "G208"}),
        (104, [30, 31], {"highway": "residential"}),
        (105, [40, 41], {"highway": "motorway"}),
    ]
    for wid, nodes, tags in ways:
        w.add_way(Way(id=wid, nodes=nodes, tags=tags))
    w.close()
    return path.read_bytes()


def write_area(path):
    gpd.GeoDataFrame({"name": ["fixture"]}, geometry=[shapely.box(*AREA)], crs="EPSG:4326").to_file(
        path, layer="area"
    )
    return path


def clcd_bytes(tmp):
    """A CLCD-like file in Albers (the real one is Albers): 30 x 30 cells of 1 km over the area,
    cropland (1) in the west half, forest (2) in the east half."""
    from pyproj import Transformer

    from sxplan.layers.grid import ALBERS_CHINA

    x, y = Transformer.from_crs("EPSG:4326", ALBERS_CHINA, always_xy=True).transform(112.0, 37.0)
    west, north = round(x / 1000) * 1000 - 15000, round(y / 1000) * 1000 + 15000
    arr = np.ones((30, 30), "uint8")
    arr[:, 15:] = 2
    path = tmp / "CLCD_v01_2021_albert.tif"
    write_tif(path, arr, from_origin(west, north, 1000, 1000), ALBERS_CHINA, 0)
    return path.read_bytes()
