"""Kernel Inception Distance (KID) on feature vectors.

KID compares the features of real and generated images (for example the 2048
Inception pool features) with the unbiased MMD² of the cubic polynomial kernel
``(x·y/d + 1)³``, averaged over random subsets, as torchmetrics and
torch-fidelity report it. Here the "features" are random stand-ins with the
same shape and sign (Inception pool features are non-negative).
"""

import numpy as np

import mmd_any

rng = np.random.default_rng(0)
d = 2048


def features(n: int, shift: float = 0.0) -> np.ndarray:
    """Non-negative features, like post-ReLU pool features."""
    return np.maximum(rng.normal(shift, 1.0, size=(n, d)), 0.0).astype(np.float32)


real = features(1000)
good = features(1000)  # the same distribution: KID near 0 (it can be slightly < 0)
bad = features(1000, shift=0.1)  # a small shift in every feature

# torchmetrics' defaults are subsets=100, subset_size=1000; smaller here for speed
kids = {}
for name, fake in [("good generator", good), ("bad generator", bad)]:
    mean, std = kids[name] = mmd_any.kid(real, fake, subsets=20, subset_size=250, seed=0)
    print(f"{name}: KID = {float(mean):.5f} ± {float(std):.5f} ({mean.dtype}, 20 subsets)")

# One subset (all rows) with the same kernel and estimator: the "kid" preset
print("kid preset, all rows, bad generator:", float(mmd_any.mmd2(real, bad, preset="kid")))
print("(any array library: torch tensors in give torch tensors out, on their device)")

assert kids["good generator"].mean < kids["bad generator"].mean - 3 * kids["bad generator"].std
