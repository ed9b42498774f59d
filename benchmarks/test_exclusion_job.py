"""The exclusion job: the same counts and mask bytes on every scheduler (a real Dask cluster)."""

from __future__ import annotations

import argparse
import hashlib

import exclusion_job
import numpy as np
import rasterio


def _args(data, out, scheduler, workers):
    return argparse.Namespace(
        data=data,
        workers=workers,
        scheduler=scheduler,
        mem_limit_mb=1024.0,
        clip_sources=False,
        write_mask=out,
        no_progress=True,
        tile_size=48,
    )


def test_local_cluster_counts_and_mask_equal_the_sync_run(data2k, tmp_path):
    sync = exclusion_job.worker(_args(data2k, tmp_path / "sync.tif", "sync", 1))
    dask = exclusion_job.worker(_args(data2k, tmp_path / "dask.tif", "processes", 2))
    assert sync["tiles"] > 4  # several tasks, so the cluster really ran them
    assert dask["scheduler"] == "processes" and len(dask["workers_peak_rss_mb"]) == 2
    for key in ("province_km2", "eligible_km2", "excluded_km2_by_rule"):
        assert dask[key] == sync[key]
    sync_tif, dask_tif = ((tmp_path / f).read_bytes() for f in ("sync.tif", "dask.tif"))
    assert hashlib.sha256(sync_tif).digest() == hashlib.sha256(dask_tif).digest()
    # the eligible total is the mask's own count (an independent sum over the written file)
    with rasterio.open(tmp_path / "sync.tif") as src:
        cells = int(np.count_nonzero(src.read(1)))
    assert sync["eligible_km2"] == cells * (2.0 * 2.0)
    assert sync["eligible_km2"] > 0
    # every tile's steps were summed, whichever process ran it
    assert set(dask["thread_s_by_step"]) == set(sync["thread_s_by_step"])
