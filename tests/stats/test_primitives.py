"""The statistics take their distribution functions from scipy.special (importing scipy.stats costs a second of
every review); they must give scipy.stats' numbers exactly, inside and outside the support."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import jensenshannon as scipy_js

from promptreview.stats import primitives as c


def test_binomial_functions_equal_scipy_stats() -> None:
    for n in (1, 2, 5, 17, 60, 301):
        for k in range(-2, n + 3):
            for p in (0.5, 0.3):
                assert c.binom_cdf(k, n, p) == float(sps.binom.cdf(k, n, p)), (k, n, p)
                assert c.binom_sf(k, n, p) == float(sps.binom.sf(k, n, p)), (k, n, p)
                assert c.binom_pmf(k, n, p) == float(sps.binom.pmf(k, n, p)), (k, n, p)


def test_continuous_functions_equal_scipy_stats() -> None:
    for q in (1e-9, 0.001, 0.025, 0.2, 0.5, 0.8, 0.975, 0.999):
        assert c.norm_ppf(q) == float(sps.norm.ppf(q))
        assert c.norm_isf(q) == float(sps.norm.isf(q))
        for df in (1, 2, 7, 30, 999):
            assert c.t_ppf(q, df) == float(sps.t.ppf(q, df))
    for x in (0.0, 1e-6, 0.5, 3.84, 12.0, 200.0):
        for df in (1, 2, 3, 9):
            assert c.chi2_sf(x, df) == float(sps.chi2.sf(x, df))


def test_ranks_and_jensen_shannon_equal_scipy() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        a = rng.integers(0, 6, size=int(rng.integers(1, 40))).astype(float) / 3
        assert np.array_equal(c.rankdata(a), sps.rankdata(a))
        p = rng.integers(0, 9, size=4).astype(float) + np.array([1.0, 0, 0, 0])
        q = rng.integers(0, 9, size=4).astype(float) + np.array([0, 1.0, 0, 0])
        assert c.jensenshannon(p, q, 2.0) == float(scipy_js(p, q, base=2.0))


def test_wilcoxon_normal_approximation_equals_scipy() -> None:
    rng = np.random.default_rng(5)
    checked = 0
    for n in (14, 20, 35, 51, 80, 400, 3000):
        for _ in range(6):
            d = np.round(rng.normal(0.2, 1.0, n) * rng.integers(1, 4), int(rng.integers(0, 2)))
            d[rng.random(n) < 0.2] = 0.0
            mine = c.wilcoxon_pratt(d)
            ref = sps.wilcoxon(d, zero_method="pratt", alternative="two-sided")
            assert mine is not None
            assert mine == (float(ref.statistic), float(ref.pvalue)), (n, mine, ref)
            checked += 1
    assert checked == 42
    # few untied differences: scipy computes an exact p, which the caller asks scipy for
    assert c.wilcoxon_pratt(np.arange(1.0, 30.0)) is None
    untied = rng.normal(0.1, 1.0, 80)
    ref = sps.wilcoxon(untied, zero_method="pratt", alternative="two-sided")
    assert c.wilcoxon_pratt(untied) == (float(ref.statistic), float(ref.pvalue))


def test_the_public_fallback_for_scipys_private_binomial_agrees() -> None:
    """If a scipy release moves the private ufuncs, the public `bdtr`/`bdtrc` and a comb-based pmf take over."""
    from scipy import special

    for n, p in [(10, 0.3), (57, 0.5), (200, 0.02)]:
        for k in range(0, n, max(1, n // 7)):
            assert special.bdtr(k, n, p) == pytest.approx(sps.binom.cdf(k, n, p), rel=1e-9, abs=1e-300)
            assert special.bdtrc(k, n, p) == pytest.approx(sps.binom.sf(k, n, p), rel=1e-9, abs=1e-300)
            pmf = special.comb(n, k, exact=False) * p**k * (1.0 - p) ** (n - k)
            assert pmf == pytest.approx(sps.binom.pmf(k, n, p), rel=1e-9, abs=1e-300)


def test_pairs_are_laid_out_as_the_multiindex_reindex_did():
    """`_grid` puts each completion at (input, sample) as `set_index([...]).reindex(product)` did: missing pairs
    empty, inputs outside the keys and samples outside range(K) left out."""
    import numpy as np
    import pandas as pd

    from promptreview.engine.measurement.distribution import _grid

    side = pd.DataFrame(
        {
            "input_id": ["b", "a", "a", "c", "b", "z"],
            "sample": [1, 0, 2, 0, 0, 1],
            "output": [{"x": 1}, {"x": 2}, None, {"x": 3}, {"x": 4}, {"x": 5}],
            "output_tokens": [5.0, 6.0, np.nan, 7.0, 8.0, 9.0],
        }
    )
    keys, k = ["a", "b", "c"], 2
    index = pd.MultiIndex.from_product([keys, range(k)], names=["input_id", "sample"])
    expected = side.set_index(["input_id", "sample"]).reindex(index)
    got = _grid(side, "output", keys, k).tolist()
    assert [o if isinstance(o, dict) else None for o in expected["output"].tolist()] == got
    tokens = _grid(side, "output_tokens", keys, k)
    assert np.array_equal(tokens, expected["output_tokens"].to_numpy(float), equal_nan=True)
