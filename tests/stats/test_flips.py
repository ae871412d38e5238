"""The linear-time flip statistics against the pairwise implementation they replaced (tests/flips_pairwise.py).

The deterministic numbers (noise floor, flip rate, head-vs-base, excess, every per-input count) must be equal,
not close; the permutation p-value draws its splits differently (uniform K-of-2K splits instead of a full
argsort of 2K keys: the same null law), so it must agree within Monte Carlo error, and every split's term of
the statistic must equal the pairwise one exactly. Then the noise floor, the flip rate and flips against the
noise against hand-computed values.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from promptreview import stats
from promptreview.stats import flips
from tests import flips_pairwise as ref


def _answers(rng: np.random.Generator, n: int, k: int, n_answers: int, missing: float) -> np.ndarray:
    """(n, K) object answers from a small vocabulary, some missing (None) like errored samples."""
    vocab = [f'{{"label":"{i}"}}' for i in range(n_answers)]
    out = np.empty((n, k), dtype=object)
    for i in range(n):
        # each input has its own favourite answer, so inputs differ like real ones do
        favourite = rng.integers(n_answers)
        for j in range(k):
            if rng.random() < missing:
                out[i, j] = None
            else:
                out[i, j] = vocab[favourite] if rng.random() < 0.6 else vocab[rng.integers(n_answers)]
    return out


CASES = [
    (seed, n, k, n_answers, missing)
    for seed, (n, k, n_answers, missing) in enumerate(
        [(40, 1, 3, 0.0), (40, 2, 2, 0.1), (60, 3, 3, 0.0), (60, 3, 4, 0.2), (80, 5, 6, 0.1), (30, 7, 3, 0.3)]
    )
]


@pytest.mark.parametrize(("seed", "n", "k", "n_answers", "missing"), CASES)
def test_counts_and_deterministic_values_equal_the_pairwise_ones(seed, n, k, n_answers, missing):
    rng = np.random.default_rng(seed)
    base = _answers(rng, n, k, n_answers, missing)
    head = _answers(rng, n, k, n_answers + 1, missing)
    cb, ch = flips.encode(base, head)
    for new, old in zip(flips.within_counts(cb), ref._within_disagreement(cb), strict=True):
        np.testing.assert_array_equal(new, old)
    for new, old in zip(flips.cross_counts(cb, ch), ref._cross_disagreement(cb, ch), strict=True):
        np.testing.assert_array_equal(new, old)
    assert flips.noise_floor(base) == ref.noise_floor(base)
    assert flips.flip_rate(base, head) == ref.flip_rate(base, head)
    new, old = (
        flips.flip_vs_noise(base, head, n_resamples=400),
        ref.flip_vs_noise(base, head, n_resamples=400),
    )
    assert (new.head_vs_base, new.noise_floor, new.excess, new.test) == (
        old.head_vs_base,
        old.noise_floor,
        old.excess,
        old.test,
    )


def test_cross_counts_with_unequal_valid_samples_per_side():
    # a side with fewer valid samples (errors) on an input: the counts still match the pairwise ones
    cb = np.array([[0, 1, -1, -1], [2, 2, 2, 0], [-1, -1, -1, -1]])
    ch = np.array([[0, 0, 1, 3], [2, -1, -1, -1], [1, 1, 1, 1]])
    np.testing.assert_array_equal(flips.cross_counts(cb, ch)[0], ref._cross_disagreement(cb, ch)[0])
    np.testing.assert_array_equal(flips.cross_counts(cb, ch)[1], ref._cross_disagreement(cb, ch)[1])
    assert flips.cross_counts(cb, ch)[1].tolist() == [8, 4, 0]


@pytest.mark.parametrize("k", [2, 3, 4])
def test_every_split_term_equals_the_pairwise_statistic(k):
    rng = np.random.default_rng(k)
    for _ in range(20):
        pooled = rng.integers(-1, 3, size=2 * k)
        labels = flips._local_labels(pooled[None, :])[0]
        splits = list(itertools.combinations(range(2 * k), k))
        masks = np.array([np.isin(np.arange(2 * k), s) for s in splits])
        terms = flips._split_terms(labels, masks)
        for split, term in zip(splits, terms, strict=True):
            rest = [i for i in range(2 * k) if i not in split]
            x, y = labels[list(split)][None, :], labels[rest][None, :]
            cn, cc = ref._cross_disagreement(x, y)
            wn, wc = ref._within_disagreement(x)
            defined = (cc > 0) & (wc > 0)
            expected = np.where(defined, cn / np.maximum(cc, 1), 0.0) - np.where(
                defined, wn / np.maximum(wc, 1), 0.0
            )
            assert term == expected[0]


@pytest.mark.parametrize(("seed", "k", "shift"), [(1, 3, 0.0), (2, 3, 0.25), (3, 5, 0.1), (4, 8, 0.15)])
def test_p_value_agrees_with_the_pairwise_test_within_monte_carlo_error(seed, k, shift):
    # k = 8 takes the random-keys path (C(16, 8) > TABLE_MAX_SPLITS), the others the enumerated splits
    rng = np.random.default_rng(seed)
    base = _answers(rng, 60, k, 3, 0.05)
    head = base.copy()
    moved = rng.random(head.shape) < shift
    head[moved] = '{"label":"moved"}'
    r = 3000
    new = flips.flip_vs_noise(base, head, seed=seed, n_resamples=r).p_value
    old = ref.flip_vs_noise(base, head, seed=seed, n_resamples=r).p_value
    assert new is not None and old is not None
    se = math.sqrt(max(old * (1 - old), 1 / r) * 2 / r)
    assert abs(new - old) <= 4.5 * se + 2 / r


def test_seeded_and_reproducible():
    rng = np.random.default_rng(9)
    base, head = _answers(rng, 50, 3, 3, 0.1), _answers(rng, 50, 3, 3, 0.1)
    a = flips.flip_vs_noise(base, head, seed=5, n_resamples=300)
    b = flips.flip_vs_noise(base, head, seed=5, n_resamples=300)
    assert a == b


def test_k1_and_no_informative_input():
    base = np.array([["a"], ["b"]], dtype=object)
    head = np.array([["a"], ["c"]], dtype=object)
    assert dataclasses.astuple(flips.flip_vs_noise(base, head)) == dataclasses.astuple(
        ref.flip_vs_noise(base, head)
    )
    same = np.array([["a", "a"], ["b", "b"]], dtype=object)
    r = flips.flip_vs_noise(same, same, n_resamples=100)
    assert dataclasses.astuple(r) == dataclasses.astuple(ref.flip_vs_noise(same, same, n_resamples=100))
    assert r.p_value == 1.0


ANSWERS = np.array([["a", "a", "b"], ["x", "x", "x"], ["p", "q", "r"]], dtype=object)


def test_noise_floor_hand_value():
    # per input: 2 of 3 pairs disagree, 0 of 3, 3 of 3
    assert stats.noise_floor(ANSWERS) == pytest.approx((2 / 3 + 0 + 1) / 3)
    assert stats.noise_floor(ANSWERS[:, :1]) is None
    with_missing = np.array([["a", None, "b"], ["x", None, None]], dtype=object)
    assert stats.noise_floor(with_missing) == pytest.approx(1.0)  # second input has no pair


def test_flip_rate_hand_value():
    head = np.array([["a", "b", "b"], ["x", "y", "x"], ["p", "q", "r"]], dtype=object)
    assert stats.flip_rate(ANSWERS, head) == pytest.approx(2 / 9)
    head_missing = head.copy()
    head_missing[0, 1] = None
    assert stats.flip_rate(ANSWERS, head_missing) == pytest.approx(1 / 8)


def test_flip_vs_noise_hand_values():
    head = np.array([["b", "b", "b"], ["x", "x", "y"], ["p", "q", "r"]], dtype=object)
    r = stats.flip_vs_noise(ANSWERS, head, n_resamples=500)
    # cross over 9 pairs: input 0: base a,a,b vs b,b,b -> 6 of 9; input 1: 3 of 9; input 2: 6 of 9
    assert r.head_vs_base == pytest.approx((6 / 9 + 3 / 9 + 6 / 9) / 3)
    assert r.noise_floor == pytest.approx(stats.noise_floor(ANSWERS))
    assert r.excess == pytest.approx(r.head_vs_base - r.noise_floor)
    assert 0 < r.p_value <= 1


def test_flip_vs_noise_detects_a_real_change_and_not_a_copy():
    rng = np.random.default_rng(0)
    labels = np.array(["a", "b", "c"], dtype=object)
    base = labels[rng.choice(3, size=(60, 3), p=[0.8, 0.15, 0.05])]
    same = labels[rng.choice(3, size=(60, 3), p=[0.8, 0.15, 0.05])]
    moved = labels[rng.choice(3, size=(60, 3), p=[0.2, 0.75, 0.05])]
    assert stats.flip_vs_noise(base, moved, n_resamples=500).p_value < 0.01
    assert stats.flip_vs_noise(base, same, n_resamples=500).p_value > 0.05
    k1 = stats.flip_vs_noise(base[:, :1], moved[:, :1])
    assert k1.noise_floor is None and k1.p_value is None and k1.excess is None
    assert k1.head_vs_base == pytest.approx(stats.flip_rate(base[:, :1], moved[:, :1]))
