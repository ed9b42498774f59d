"""The real download code against a real HTTP server on 127.0.0.1: resume, retry, checksum,
cache, 404, and the tile arithmetic."""

import hashlib

import pytest

from sxplan.errors import LayerIOError
from sxplan.fetch.catalog import LAYER_NAMES, load_catalog
from sxplan.fetch.download import DownloadPolicy, NotFoundError, download
from sxplan.fetch.tiles import covering_tiles, tile_name

FAST = DownloadPolicy(attempts=4, backoff_s=0.01, max_wait_s=0.05, timeout_s=10, progress=False)
BODY = bytes(range(256)) * 800  # 204,800 bytes


def test_tiles_cover_the_box_and_nothing_more():
    tiles = covering_tiles((111.9, 36.9, 112.1, 37.1), 1)
    assert tiles == [(36, 111), (36, 112), (37, 111), (37, 112)]
    # a box inside one 3-degree WorldCover tile needs only that tile, named by its SW corner
    assert covering_tiles((111.9, 36.9, 112.1, 37.1), 3) == [(36, 111)]
    assert tile_name("X_{ns}{lat:02d}{ew}{lon:03d}", 36, 111) == "X_N36E111"
    # every corner and the centre of the box falls in one of the tiles
    for x, y in [(111.9, 36.9), (112.1, 37.1), (112.0, 37.0), (111.95, 37.05)]:
        assert any(lat <= y < lat + 1 and lon <= x < lon + 1 for lat, lon in tiles)


def test_catalog_has_every_layer_with_licence_citation_and_check():
    cat = load_catalog()
    assert {s.layer for s in cat.values()} == set(LAYER_NAMES)
    for s in cat.values():
        for key in ("title", "licence", "citation", "checked", "format", "checksum"):
            assert s.get(key), (s.id, key)


def test_resume_after_dropped_connection(server, tmp_path):
    server.files["/f.bin"] = BODY
    server.faults["/f.bin"] = [("drop", 50_000)]
    out = download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST)
    assert out.read_bytes() == BODY
    assert server.gets("/f.bin") == [("/f.bin", None), ("/f.bin", "bytes=50000-")]
    assert not (tmp_path / "f.bin.part").exists()


def test_retry_after_503_then_success(server, tmp_path):
    server.files["/f.bin"] = BODY
    server.faults["/f.bin"] = ["503", "503"]
    out = download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST)
    assert out.read_bytes() == BODY
    assert len(server.gets("/f.bin")) == 3


def test_gives_up_after_the_attempts_and_keeps_the_part(server, tmp_path):
    server.files["/f.bin"] = BODY
    server.faults["/f.bin"] = [("drop", 1000)] + ["503"] * 3
    with pytest.raises(LayerIOError, match="gave up after 4 attempts"):
        download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST)
    assert not (tmp_path / "f.bin").exists()
    assert (tmp_path / "f.bin.part").stat().st_size == 1000  # the next run resumes from here
    download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST)
    assert server.requests[-1] == ("/f.bin", "bytes=1000-")
    assert (tmp_path / "f.bin").read_bytes() == BODY


def test_checksum_mismatch_fetches_again_then_raises(server, tmp_path):
    server.files["/f.bin"] = BODY
    server.files["/f.bin.md5"] = f"{hashlib.md5(BODY).hexdigest()}  f.bin\n".encode()
    server.faults["/f.bin"] = ["wrong", "wrong"]
    with pytest.raises(LayerIOError, match="MD5 .* does not match"):
        download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST,
                 md5_url=server.url + "/f.bin.md5")  # fmt: skip
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()
    assert len(server.gets("/f.bin")) == 2
    # one wrong copy, then the right one: accepted
    server.faults["/f.bin"] = ["wrong"]
    out = download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST,
                   md5_url=server.url + "/f.bin.md5")  # fmt: skip
    assert hashlib.md5(out.read_bytes()).hexdigest() == hashlib.md5(BODY).hexdigest()


def test_cache_hit_sends_no_request(server, tmp_path):
    server.files["/f.bin"] = BODY
    download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST)
    n = len(server.requests)
    download(server.url + "/f.bin", tmp_path / "f.bin", policy=FAST)
    assert len(server.requests) == n == 1


def test_404_is_not_retried(server, tmp_path):
    with pytest.raises(NotFoundError):
        download(server.url + "/nothing.tif", tmp_path / "nothing.tif", policy=FAST)
    assert len(server.requests) == 1
