"""distance_array forms distances row-chunk by row-chunk: identical to SciPy's whole-array EDT."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from sxplan.layers.distance import distance_array


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 700),
    density=st.floats(0.0005, 0.3),
    res=st.sampled_from([7.5, 30.0, 100.0, 250.0]),
    cap_cells=st.floats(0.5, 50.0),
    seed=st.integers(0, 2**16),
)
def test_equals_scipy_edt_capped(h, w, density, res, cap_cells, seed):
    f = np.random.default_rng(seed).random((h, w)) < density
    cap = cap_cells * res
    got = distance_array(f, res, cap)
    if f.any():
        ref = ndimage.distance_transform_edt(~f, sampling=(res, res))
    else:
        ref = np.full(f.shape, cap)
    np.testing.assert_array_equal(got, np.minimum(ref, cap).astype("float32"))


def test_long_reaches_equal_scipy_bit_for_bit():
    """A 30 km cap at 30 m (1,000 cells) over lines and scattered cells, as the highway
    criterion of the benchmark: the edt-based path gives SciPy's float32 values exactly."""
    rng = np.random.default_rng(17)
    f = rng.random((1500, 1800)) < 2e-6
    f[rng.integers(0, 1500, 3), :] = True
    f[:, rng.integers(0, 1800, 2)] = True
    f[700:, :] = False  # a large empty part: distances up to the cap and beyond
    for res, cap in [(30.0, 30000.0), (30.0, 1e9), (12.5, 5000.0)]:
        ref = np.minimum(ndimage.distance_transform_edt(~f, sampling=(res, res)), cap)
        np.testing.assert_array_equal(distance_array(f, res, cap), ref.astype("float32"))
