"""The ``mmd-any`` command on two CSV files (the same as typing the commands in a shell)."""

import os
import tempfile

import numpy as np

from mmd_any.cli import main

rng = np.random.default_rng(0)
os.chdir(tempfile.mkdtemp())  # write the two files in a fresh folder
np.savetxt("a.csv", rng.normal(size=(300, 3)), delimiter=",", header="x1,x2,x3", comments="")
np.savetxt(
    "b.csv", rng.normal(0.3, 1.0, size=(200, 3)), delimiter=",", header="x1,x2,x3", comments=""
)

for argv in (
    ["test", "a.csv", "b.csv", "--permutations", "500"],
    ["test", "a.csv", "b.csv", "--aggregate", "--permutations", "500"],
    ["test", "a.csv", "b.csv", "--permutations", "200", "--json"],
    ["distance", "a.csv", "b.csv", "--kernel", "laplacian"],
):
    print("$ mmd-any", " ".join(argv))
    status = main(argv)
    print(f"(exit status {status})\n")
    assert status == 0
