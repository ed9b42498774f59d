"""One Budget owns the memory arithmetic; every rule checked by hand."""

import pytest
import rasterio

from sxplan.errors import ConfigError, MemoryBudgetError
from sxplan.layers import GridSpec
from sxplan.layers.budget import DEFAULT_MEM_LIMIT_MB, Budget
from sxplan.layers.windows import plan_tiles, use_scheduler

MIB = 1024 * 1024


def test_rules_by_hand():
    b = Budget(512)
    assert b.total_bytes == 512 * MIB
    assert b.tile_bytes() == 512 * MIB and b.tile_bytes(n_workers=4) == 128 * MIB
    assert b.warp_mem_limit_mb == Budget(100).warp_mem_limit_mb == 64  # in MB, fixed
    assert Budget(16384).warp_mem_limit_mb == 64  # not from the budget: aligned values never are
    assert b.gdal_cache_bytes == 32 * MIB  # 512 / 32 = 16, at least 32 MiB, in bytes
    assert Budget(4096).gdal_cache_bytes == 128 * MIB  # 4096 / 32
    assert Budget(16384).gdal_cache_bytes == 256 * MIB  # at most 256 MiB
    assert Budget(24 / MIB * 50_000).cells_in_memory(24) == 50_000
    assert Budget(1).cells_in_memory(24) == 43_690  # 2**20 / 24
    assert Budget(0.001).cells_in_memory(24) == 10_000  # floor
    assert Budget.of(None) == Budget(DEFAULT_MEM_LIMIT_MB) and Budget.of(b) is b
    # a whole run: tiles M / 2 - the block cache, at least M / 4; the heap trimmed above M / 2
    assert Budget(1024).run_tiles() == Budget(512 - 32)  # 480
    assert Budget(640).run_tiles() == Budget(320 - 32)  # 288
    assert Budget(100).run_tiles() == Budget(25)  # 50 - 32 < 100 / 4
    assert Budget(1024).heap_ceiling_mb == 512


@pytest.mark.parametrize("bad", [0, -1, "512", True])
def test_a_budget_must_be_a_positive_number(bad):
    with pytest.raises(ConfigError, match="positive number of MB"):
        Budget(bad)


def test_plan_tiles_from_a_budget_equals_from_mb():
    g = GridSpec.from_bounds((0, 0, 3_000_000, 2_000_000), 1000)
    for mb, workers in ((1, 1), (4, 2), (64, 4)):
        a = plan_tiles(g, mem_limit_mb=mb, bytes_per_cell=16, halo=3, n_workers=workers)
        b = plan_tiles(g, budget=Budget(mb), bytes_per_cell=16, halo=3, n_workers=workers)
        assert a == b
    with pytest.raises(MemoryBudgetError, match="at least 1 MB"):
        plan_tiles(g, budget=Budget(0.01), bytes_per_cell=64, halo=0)


def test_workers_sharing_the_budget_follow_the_scheduler():
    assert Budget.workers("sync") == 1
    with use_scheduler("sync"):
        assert Budget.workers() == 1
    with use_scheduler("threads"):
        assert Budget.workers() >= 1 and Budget.workers("sync") == 1


def test_gdal_env_sets_the_block_cache_in_bytes():
    b = Budget(1024)
    with b.gdal_env():
        got = rasterio.env.get_gdal_config("GDAL_CACHEMAX")
    assert int(got) == b.gdal_cache_bytes == 32 * MIB


def test_conversion_env_lowers_gdal_cache_and_restores_it():
    from rasterio.env import getenv

    b = Budget(4096)
    with b.gdal_env():
        assert getenv()["GDAL_CACHEMAX"] == 128 * 2**20
        with Budget.conversion_env():
            assert getenv()["GDAL_CACHEMAX"] == 8 * 2**20
        assert getenv()["GDAL_CACHEMAX"] == 128 * 2**20


def test_run_env_sets_the_run_block_cache():  # its heap ceiling: tests/layers/test_heap.py
    from rasterio.env import getenv

    with Budget(1024).run_env():
        assert getenv()["GDAL_CACHEMAX"] == 32 * MIB
