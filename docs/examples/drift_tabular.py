"""Drift check on tabular data: is this week's batch from the reference distribution?

The reference is a pandas DataFrame of customers; each new batch is tested
against it with the recommended aggregated test. The features have very
different units (years, dollars, counts), so ``standardize=True`` scales each
column by the pooled sample's mean and standard deviation before the kernel;
without it the income column, in dollars, would decide every distance alone.
Columns are matched by name and the index (customer ids) is never a feature.
"""

import numpy as np
import pandas as pd

import mmd_any

rng = np.random.default_rng(0)
FEATURES = ["age", "income", "tenure_months", "sessions_per_week"]


def customers(n: int, *, first_id: int, age_shift: float = 0.0, sessions: float = 3.0):
    frame = pd.DataFrame(
        {
            "age": rng.normal(42.0 + age_shift, 12.0, n).round(),
            "income": rng.lognormal(np.log(52_000), 0.45, n).round(-2),
            "tenure_months": rng.integers(1, 120, n),
            "sessions_per_week": rng.poisson(sessions, n),
            "region": rng.choice(["north", "south", "east", "west"], n),  # not a number
        },
        index=pd.RangeIndex(first_id, first_id + n, name="customer_id"),
    )
    return frame


reference = customers(800, first_id=0)[FEATURES]  # the numeric columns
batches = {
    "week 1 (no drift)": customers(300, first_id=10_000),
    "week 2 (younger, more active)": customers(300, first_id=20_000, age_shift=-5.0, sessions=3.6),
}
print(reference.describe().loc[["mean", "std"]].round(1).to_string(), "\n")

results = {}
for name, batch in batches.items():
    batch = batch[FEATURES[::-1]]  # any column order: features are matched by name
    result = results[name] = mmd_any.mmd_test(
        reference, batch, aggregate=True, standardize=True, n_permutations=300, seed=0
    )
    verdict = "drift" if result.reject else "no drift detected"
    print(f"{name}: p = {result.pvalue:.4f} -> {verdict} at alpha = {result.alpha}")
    # the member with the smallest p-value, and its bandwidth in standardised units
    best = result.selected
    print(f"    strongest member {result.kernels[best]}, bandwidth {result.bandwidths[best]:.3g}")

# The same test on the raw columns: income (in dollars) decides every distance
raw = mmd_any.mmd_test(
    reference,
    batches["week 2 (younger, more active)"][FEATURES],
    aggregate=True,
    n_permutations=300,
    seed=0,
)
print(f"week 2 without standardize: p = {raw.pvalue:.4f}")

# A text column is refused with a message that names it (encode or drop it first)
try:
    mmd_any.mmd2(customers(50, first_id=0), customers(50, first_id=100))
except (TypeError, ValueError) as error:
    print("with the region column:", error)

assert not results["week 1 (no drift)"].reject
assert results["week 2 (younger, more active)"].reject
