"""An output location that cannot take the run: read-only, full, or not a folder (issue 12,
family 5, output side).

Each case is a message naming the folder and the fix, exit 2, and nothing half-written: no
staging folder, no lock file. The read-only and full-disk cases mount a real small tmpfs, which
needs root; they are skipped, saying so, for other users (chmod does not stop root, and a full
disk cannot be made without a file system of our own).
"""

import contextlib
import os
import subprocess

import pytest
from _sxrun import demo_project, tiny_project

from sxplan.cli import main

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a small tmpfs (read-only or full) needs root"
)


@contextlib.contextmanager
def _tmpfs(where, options):
    where.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace')}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


@needs_root
def test_read_only_output_location(tmp_path, capsys):
    project = tiny_project(tmp_path / "proj")
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        out = ro / "run"
        assert main(["layers", str(project), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"sxplan: error: cannot write the output folder {out}")
        assert "Read-only file system" in err and "choose --out in a folder you can write" in err
        assert list(ro.iterdir()) == []


@needs_root
def test_full_disk(tmp_path, capsys):
    # the demo layers need about 3 MB at 3 km; a 1 MB file system fills up half way
    config = demo_project(tmp_path / "proj")
    with _tmpfs(tmp_path / "small", "size=1m") as small:
        out = small / "run"
        assert main(["layers", str(config), "--out", str(out), "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"sxplan: error: no space left on the device holding {out}")
        assert "Free some space there or choose --out on another disk" in err
        assert "Traceback" not in err
        assert list(small.iterdir()) == []  # no staging folder, no lock, no partial file


def test_out_below_a_file(tmp_path, capsys):
    project = tiny_project(tmp_path / "proj")
    blocker = tmp_path / "results"
    blocker.write_text("a file, not a folder", encoding="utf-8")
    assert main(["layers", str(project), "--out", str(blocker / "run")]) == 2
    err = capsys.readouterr().err
    assert f"cannot write the output folder {blocker / 'run'}" in err
    assert "choose another --out" in err
    assert blocker.read_text(encoding="utf-8") == "a file, not a folder"


@needs_root
def test_run_that_leaves_the_disk_full_is_not_installed(tmp_path, capsys):
    """GDAL may cut a GeoTIFF short on a full disk without raising, so a run after which less
    than 1 MiB is free is refused rather than installed (the tiny project needs ~0.2 MB)."""
    project = tiny_project(tmp_path / "proj")
    with _tmpfs(tmp_path / "small", "size=1m") as small:
        out = small / "run"
        assert main(["layers", str(project), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"sxplan: error: no space left on the device holding {out}")
        assert list(small.iterdir()) == []
    with _tmpfs(tmp_path / "roomy", "size=4m") as roomy:  # the same run with room: installed
        assert main(["layers", str(project), "--out", str(roomy / "run")]) == 0


@needs_root
def test_a_cog_copy_that_fills_the_disk_is_told_as_a_full_disk(tmp_path):
    # GDAL reports a COG copy cut short by a full disk as "Write failed" (or, at 30 m,
    # "TIFFRewriteDirectory: Error fetching directory count"), without errno; removing the tile
    # file then frees the space, so the run's later probe found room and the CLI printed a
    # traceback. The writer now tells a full disk apart before removing it.
    import errno

    import numpy as np

    from sxplan.layers.grid import GridSpec
    from sxplan.layers.io import RasterTileWriter

    g = GridSpec.from_bounds((0, 0, 640 * 30, 640 * 30), 30)
    noise = np.random.default_rng(0).random((640, 640), dtype=np.float32)  # 1.6 MB, as is
    with _tmpfs(tmp_path / "small", "size=2m") as small:  # the tile file fits, its COG not
        with pytest.raises(OSError) as info:
            with RasterTileWriter(small / "x.tif", g, "float32", None, cog=True) as w:
                w.write(noise, g.full_window())
        assert info.value.errno == errno.ENOSPC
        assert "No space left on device" in str(info.value)
        assert list(small.iterdir()) == []  # no tile file, no temporary, no probe
    with _tmpfs(tmp_path / "roomy", "size=8m") as roomy:  # with room: written
        with RasterTileWriter(roomy / "x.tif", g, "float32", None, cog=True) as w:
            w.write(noise, g.full_window())
        assert [p.name for p in roomy.iterdir()] == ["x.tif"]
