"""The estimators against the population MMD² of two Gaussians (closed form)."""

from __future__ import annotations

import numpy as np
import pytest

import mmd_any
from mmd_any import kernels


def population_mmd2(shift: float, dim: int, sigma: float) -> float:
    """MMD² of N(0, I) and N(shift·e₁, I) under exp(−‖x−y‖²/(2σ²)).

    ``E k(u, v) = (σ²/(σ² + 2))^(d/2) · exp(−‖μ_u − μ_v‖² / (2(σ² + 2)))`` for
    independent unit-variance Gaussians.
    """
    ratio = (sigma**2 / (sigma**2 + 2.0)) ** (dim / 2)
    return 2 * ratio - 2 * ratio * np.exp(-(shift**2) / (2 * (sigma**2 + 2.0)))


@pytest.mark.slow
def test_unbiased_mean_matches_population_and_biased_does_not() -> None:
    rng = np.random.default_rng(11)
    shift, dim, sigma, n, m, reps = 0.6, 2, 1.0, 30, 20, 600
    kernel = kernels.Gaussian(sigma)
    estimates = {"unbiased": [], "biased": [], "linear": []}
    for _ in range(reps):
        x = rng.normal(size=(n, dim))
        y = rng.normal(size=(m, dim))
        y[:, 0] += shift
        for estimator in ("unbiased", "biased"):
            estimates[estimator].append(
                float(mmd_any.mmd2(x, y, kernel=kernel, estimator=estimator))
            )
        estimates["linear"].append(float(mmd_any.mmd2(x[:m], y, kernel=kernel, estimator="linear")))
    target = population_mmd2(shift, dim, sigma)
    for name in ("unbiased", "linear"):
        values = np.asarray(estimates[name])
        stderr = values.std(ddof=1) / np.sqrt(reps)
        assert abs(values.mean() - target) < 4 * stderr, (name, values.mean(), target, stderr)
    biased = np.asarray(estimates["biased"])
    # the V-statistic's bias is ~ (1 − E k)(1/n + 1/m) > 0, many standard errors here
    assert biased.mean() - target > 10 * biased.std(ddof=1) / np.sqrt(reps)
