"""Where do two samples differ? The witness's rows and the features that moved.

Two real data sets. First the digits of ``mmd-any demo``: half of scikit-learn's
8×8 digits against the other half seen through another scanner (lower contrast,
brighter, noisier). Every pixel changed, and ``explain`` says which changed most:
the blank border, always 0 in the reference and 0.12 plus noise after the scanner.

Then a tabular drift: breast-cancer biopsies (scikit-learn's Wisconsin data, 30
measurements of the cell nuclei). The reference batch is a quarter malignant; this
month's batch is 60 % malignant, a change of case mix, not of any instrument. The
features that drift are the ones that tell malignant from benign nuclei, and the
rows of the new batch with the most negative witness are the cases the reference
lacks: malignant ones.
"""

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

import mmd_any
from mmd_any.cli import _digits_domains

# -- digits: which pixels moved ----------------------------------------------------
source, _, scanner = _digits_domains()
digits = mmd_any.explain(source, scanner, n_permutations=200, seed=0)
scores = np.asarray(digits.feature_scores).reshape(8, 8)
print(f"digits: {len(digits.changed_features)} of 64 pixels changed (family-wise 0.05)")
print("marginal MMD² of each pixel (the 8×8 image):")
for row in scores:
    print("  " + " ".join(f"{value:4.2f}" for value in row))
border = np.zeros((8, 8), dtype=bool)
border[:, [0, 7]] = True
inside = scores[~border].mean()
print(f"mean score on the left/right border {scores[border].mean():.2f}, inside {inside:.2f}")

# -- a tabular drift: the case mix of a biopsy lab -------------------------------------
data = load_breast_cancer(as_frame=True)
frame, malignant = data.frame.drop(columns="target"), data.target == 0
rng = np.random.default_rng(0)


def batch(size: int, share_malignant: float) -> pd.DataFrame:
    bad = rng.choice(np.flatnonzero(malignant), round(size * share_malignant), replace=False)
    good = rng.choice(np.flatnonzero(~malignant), size - len(bad), replace=False)
    return frame.iloc[np.concatenate([bad, good])].reset_index(drop=True)


reference, current = batch(200, 0.25), batch(200, 0.60)
drift = mmd_any.explain(reference, current, top=10, standardize=True, n_permutations=500, seed=0)
print(f"\nbiopsies: {len(drift.changed_features)} of 30 features changed (family-wise 0.05)")
print("the five most changed:")
for j in drift.changed_features[:5]:
    print(
        f"  {drift.feature_label(j):22s} score {float(drift.feature_scores[j]):.3f}"
        f"  corrected p {float(drift.feature_pvalues[j]):.3f}"
    )
rows = np.asarray(drift.y_rows)
print(f"the 10 rows of this month's batch the reference lacks most: {rows.tolist()}")
print(f"  malignant among them: {int(np.sum(rows < round(200 * 0.60)))} of 10")

# a batch like the reference: nothing changed
same = mmd_any.explain(reference, batch(200, 0.25), standardize=True, n_permutations=500, seed=0)
print(f"a batch with the reference's case mix: {len(same.changed_features)} features changed")

assert scores[border].mean() > 3 * scores[~border].mean()
assert {"worst perimeter", "worst radius", "worst area", "worst concave points"} & {
    drift.feature_label(j) for j in drift.changed_features[:5]
}
