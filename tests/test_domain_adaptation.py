"""The domain-adaptation example, shortened: MMD training beats source-only training.

Measured with the full example (5 seeds, 40 epochs): target accuracy 0.202 source-only
versus 0.624 with the MMD loss. This shortened run (2 seeds, 10 epochs) measured 0.29
versus 0.53; it asserts a gain of at least 0.15 on average and a gain on every seed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import domain_adaptation


def test_mmd_training_beats_source_only_on_the_target_domain() -> None:
    results = domain_adaptation.compare(epochs=10, seeds=2)
    source_only, with_mmd = np.asarray(results["source only"]), np.asarray(results["MMD"])
    assert np.all(with_mmd > source_only), results
    assert with_mmd.mean() - source_only.mean() >= 0.15, results
