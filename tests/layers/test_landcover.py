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
