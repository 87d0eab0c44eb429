"""A single-kernel test and the recommended aggregated test on the same data."""

import numpy as np

import mmd_any

rng = np.random.default_rng(1)
x = rng.normal(size=(300, 5))
y = rng.normal(size=(250, 5))
y[:, 0] += 0.4  # a mean shift in one of five coordinates

single = mmd_any.mmd_test(x, y, n_permutations=1000, seed=0)
print(single, "\n")
statistic, pvalue = single  # unpacks as scipy.stats results do
print(f"statistic {float(statistic):.5f}, p-value {pvalue:.4f}, reject: {single.reject}\n")

combined = mmd_any.mmd_test(x, y, aggregate=True, n_permutations=500, seed=0)
print(f"{combined.method}: p = {combined.pvalue:.4f}, {len(combined.kernels)} members")
print("components:", {k: round(v, 4) for k, v in combined.component_pvalues.items()})
best = combined.selected
print(f"smallest member p-value: {combined.kernels[best]}, σ = {combined.bandwidths[best]:.3g}")

for method in ("minp", "fuse"):
    result = mmd_any.mmd_test(x, y, aggregate=method, n_permutations=500, seed=0)
    print(f"{method}: p = {result.pvalue:.4f} ({result.estimator} estimator)")
