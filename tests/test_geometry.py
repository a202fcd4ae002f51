"""Output sizes and padding resolution (SPEC section 1 formulas, example C)."""

from __future__ import annotations

import pytest

from stridenet.ops.kernels.geometry import output_size, resolve_padding, same_padding


@pytest.mark.parametrize("n,k,p,s,expected", [
    (5, 3, 0, 1, 3), (5, 3, 1, 1, 5), (5, 3, 0, 2, 2), (6, 3, 1, 2, 3),  # SPEC example C
])
def test_spec_example_c(n, k, p, s, expected):
    assert output_size(n, k, s, p, p) == expected


def test_formula_with_dilation_and_asymmetric_padding():
    # floor((n + pb + pa - d*(k-1) - 1) / s) + 1
    assert output_size(10, 3, 2, 1, 2, d=2) == (10 + 3 - 4 - 1) // 2 + 1


def test_ceil_mode_keeps_windows_starting_inside():
    assert output_size(5, 2, 2) == 2
    assert output_size(5, 2, 2, ceil_mode=True) == 3
    # n=4, k=2, s=2, p=1: ceil gives 4 windows, but the 4th would start at 6 > n+p = 5
    assert output_size(4, 2, 2, 1, 1, ceil_mode=True) == 3


@pytest.mark.parametrize("n,k,s,d", [(n, k, s, d) for n in (1, 4, 5, 7, 28) for k in (1, 2, 3, 5)
                                     for s in (1, 2, 3) for d in (1, 2)])
def test_same_padding_gives_ceil_n_over_s(n, k, s, d):
    before, after = same_padding(n, k, s, d)
    assert 0 <= after - before <= 1  # the odd extra cell goes bottom/right
    assert output_size(n, k, s, before, after, d) == -(-n // s)


def test_same_padding_stride_two_is_asymmetric():
    # TensorFlow's rule: n=6, k=3, s=2 -> out 3, total pad 1, all of it after
    assert same_padding(6, 3, 2) == (0, 1)
    assert same_padding(5, 4, 1) == (1, 2)


def test_resolve_padding_forms():
    sizes, k, s, d = (6, 6), (3, 3), (1, 1), (1, 1)
    assert resolve_padding("valid", sizes, k, s, d) == ((0, 0), (0, 0))
    assert resolve_padding("SAME", sizes, k, s, d) == ((1, 1), (1, 1))
    assert resolve_padding(2, sizes, k, s, d) == ((2, 2), (2, 2))
    assert resolve_padding((1, 2), sizes, k, s, d) == ((1, 1), (2, 2))
    assert resolve_padding(((0, 1), (2, 3)), sizes, k, s, d) == ((0, 1), (2, 3))
    assert resolve_padding("causal", (6,), (3,), (1,), (2,), causal_ok=True) == ((4, 0),)
    assert resolve_padding((1, 3), (6,), (3,), (1,), (1,)) == ((1, 3),)


@pytest.mark.parametrize("bad", ["full", -1, (1, 2, 3), ((1, 2),), ((1, -1), (0, 0)), 1.5])
def test_resolve_padding_rejects(bad):
    with pytest.raises(ValueError, match="padding"):
        resolve_padding(bad, (6, 6), (3, 3), (1, 1), (1, 1))


def test_causal_only_in_1d():
    with pytest.raises(ValueError, match="causal"):
        resolve_padding("causal", (6, 6), (3, 3), (1, 1), (1, 1))
