import numpy as np
import pytest

from sxplan.errors import UnknownCodeError
from sxplan.layers import COMMON_CLASSES, SCHEMES, to_common


@pytest.mark.parametrize(
    "scheme,code,common",
    [
        ("igbp", 4, "forest"),
        ("igbp", 13, "built"),
        ("igbp", 0, "water"),
        ("igbp", 17, "water"),
        ("igbp", 10, "grass"),
        ("igbp", 16, "barren"),
        ("igbp", 12, "crop"),
        ("worldcover", 10, "forest"),
        ("worldcover", 50, "built"),
        ("worldcover", 80, "water"),
        ("clcd", 1, "crop"),
        ("clcd", 2, "forest"),
        ("clcd", 8, "built"),
        ("clcd", 9, "wetland"),
        ("gbt21010", 3, "forest"),
        ("gbt21010", 7, "built"),
        ("gbt21010", 11, "water"),
        ("gbt21010", 0, "wetland"),
        ("gbt21010", 12, "barren"),
    ],
)
def test_known_codes_map_to_common_classes(scheme, code, common):
    assert to_common(np.array([[code]]), scheme)[0, 0] == COMMON_CLASSES[common]


def test_every_scheme_reaches_only_common_classes():
    for scheme, table in SCHEMES.items():
        assert set(c for c, _ in table.values()) <= set(COMMON_CLASSES.values()), scheme


def test_unknown_codes_are_listed_and_nodata_is_zero():
    with pytest.raises(UnknownCodeError, match=r"codes 99, 300 are not in the 'clcd' land-cover"):
        to_common(np.array([[1, 99], [300, 2]]), "clcd")
    out = to_common(np.array([[255, 10]], dtype="uint8"), "igbp", nodata=255)
    assert out.tolist() == [[0, 3]]


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
@pytest.mark.parametrize("nodata", [None, 255, 255.0, 0, -1, 70000, float("nan"), 254.5])
@pytest.mark.parametrize("unknown", [False, True])
def test_small_code_table_lookup_equals_the_general_path(dtype, nodata, unknown):
    # uint8/uint16 codes take one table lookup; the same codes as int64 take the general
    # path (masks, range check): same classes, or the same error naming the same codes
    rng = np.random.default_rng(7)
    pool = [0, 1, 5, 10, 12, 13, 16, 17]
    if nodata is not None and float(nodata).is_integer() and 0 <= nodata < 256:
        pool.append(int(nodata))
    if unknown:
        pool += [200, 251]
    codes = rng.choice(np.array(pool), size=(23, 31)).astype(dtype)

    def run(c):
        try:
            return to_common(c, "igbp", nodata)
        except UnknownCodeError as exc:
            return str(exc)

    fast, general = run(codes), run(codes.astype("int64"))
    if isinstance(general, str):
        assert fast == general and "200" in general and "251" in general
    else:
        assert fast.dtype == general.dtype == np.uint8
        np.testing.assert_array_equal(fast, general)
        # by hand: 13 is urban (built), 0 and 17 are water, 255 the fill when it is nodata
        assert (fast[codes == 13] == COMMON_CLASSES["built"]).all()
        assert (fast[(codes == 0) & (nodata != 0)] == COMMON_CLASSES["water"]).all()


def test_code_tally_counts_by_chunks_with_bounded_memory():
    import tracemalloc

    from sxplan.layers.landcover import _TALLY_CHUNK, CodeTally

    n = 8 * _TALLY_CHUNK + 12_345  # eight whole chunks and a partial one
    values = np.full(n, 10, dtype="uint8")
    valid = np.ones(n, dtype=bool)
    values[_TALLY_CHUNK + 5] = 77  # only where invalid: not a code of the layer
    valid[_TALLY_CHUNK + 5] = False
    values[-1] = 201  # only in the last, partial chunk
    values[_TALLY_CHUNK - 1], values[_TALLY_CHUNK] = 3, 4  # either side of a chunk edge
    tally = CodeTally()
    tracemalloc.start()
    tally.add(values.reshape(-1, 1), valid.reshape(-1, 1))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert tally.codes().tolist() == np.unique(values[valid]).tolist() == [3, 4, 10, 201]
    # bincount's int64 copy of one chunk (8 MB) and the chunk's invalid mask; the whole
    # 8.4 M cells at once would trace over 67 MB
    assert peak < 2 * 8 * _TALLY_CHUNK
