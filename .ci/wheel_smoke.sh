#!/usr/bin/env bash
# Release smoke test: build the sdist and the wheel, check what they contain, install the
# wheel alone (plain dependencies: numpy, array-api-compat) into a clean virtual
# environment and use it from outside the repository: the library and the `mmd-any`
# command. Leaves the repository (and its .venv) untouched; everything lives in a
# temporary folder removed at the end.
#
#     bash .ci/wheel_smoke.sh          # with the python of the active virtual environment
#     PYTHON=python3.12 bash .ci/wheel_smoke.sh
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python}
start=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmd-any-wheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# -- build ------------------------------------------------------------------------------
if ! "$python" -c "import build" 2>/dev/null; then
    "$python" -m pip install --quiet build
fi
# from a copy of the working tree: setuptools' build/ and *.egg-info folders stay out of
# the repository, and no stale build/lib file can slip into the wheel
mkdir "$tmp/src"
tar --exclude=./.git --exclude='./.venv*' --exclude=./build --exclude=./dist \
    --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache \
    --exclude=.hypothesis --exclude=.ruff_cache --exclude=./docs/_build -cf - . |
    tar -xf - -C "$tmp/src"
"$python" -m build --sdist --wheel --outdir "$tmp/dist" "$tmp/src" >"$tmp/build.log" 2>&1 || {
    cat "$tmp/build.log"
    echo "wheel smoke test: the build failed" >&2
    exit 1
}
shopt -s nullglob
wheels=("$tmp"/dist/*.whl)
sdists=("$tmp"/dist/*.tar.gz)
shopt -u nullglob
if [ "${#wheels[@]}" -ne 1 ] || [ "${#sdists[@]}" -ne 1 ]; then
    echo "wheel smoke test: expected one wheel and one sdist, got: $(ls "$tmp/dist")" >&2
    exit 1
fi
wheel=${wheels[0]}
sdist=${sdists[0]}
echo "built $(basename "$wheel") and $(basename "$sdist")"

# -- contents ---------------------------------------------------------------------------
"$python" - "$wheel" "$sdist" <<'EOF'
import sys
import tarfile
import zipfile
from pathlib import Path

wheel, sdist = sys.argv[1], sys.argv[2]
in_wheel = set(zipfile.ZipFile(wheel).namelist())
sources = {f"mmd_any/{path.name}" for path in Path("mmd_any").glob("*.py")}
wanted = sorted(sources | {"mmd_any/py.typed"})
missing = [name for name in wanted if name not in in_wheel]
if missing:
    sys.exit(f"wheel smoke test: the wheel lacks {', '.join(missing)}")
if not any(name.endswith(".dist-info/licenses/LICENSE") for name in in_wheel):
    sys.exit("wheel smoke test: the wheel lacks its LICENSE")

with tarfile.open(sdist) as archive:
    # members are "mmd_any-0.1.0/LICENSE": drop the top folder
    in_sdist = {name.partition("/")[2] for name in archive.getnames()}
missing = [name for name in ("LICENSE", "README.md", "pyproject.toml") if name not in in_sdist]
if missing:
    sys.exit(f"wheel smoke test: the sdist lacks {', '.join(missing)}")
print(f"wheel holds the {len(sources)} modules and py.typed; sdist holds LICENSE, README.md, "
      "pyproject.toml")
EOF

# -- a clean environment ----------------------------------------------------------------
"$python" -m venv "$tmp/venv"
venv_python="$tmp/venv/bin/python"
"$venv_python" -m pip install --quiet --disable-pip-version-check "$wheel"
echo "installed in a clean venv: $("$venv_python" -m pip list --format=freeze \
    --disable-pip-version-check | tr '\n' ' ')"

# -- use it from outside the repository -------------------------------------------------
work="$tmp/work"
mkdir "$work"
cd "$work"
export PYTHONNOUSERSITE=1
unset PYTHONPATH
"$venv_python" - <<'EOF'
from pathlib import Path

import numpy as np

import mmd_any

where = Path(mmd_any.__file__).resolve()
assert "site-packages" in where.parts, f"imported from {where}, not the installed wheel"
rng = np.random.default_rng(0)
x, y = rng.normal(size=(60, 3)), rng.normal(0.8, 1.0, size=(50, 3))
value = mmd_any.mmd2(x, y)
assert isinstance(value, np.ndarray) and value.shape == () and float(value) > 0
result = mmd_any.mmd_test(x, y, n_permutations=199, seed=0)
assert result.reject and 0 < result.pvalue < 0.05, result
np.save("a.npy", x)
np.save("b.npy", y)
print(f"mmd_any {mmd_any.__version__} from {where.parent}: mmd2 = {float(value):.4f}, "
      f"mmd_test p = {result.pvalue:.4f}")
EOF
version=$("$tmp/venv/bin/mmd-any" --version)
expected="mmd-any $("$venv_python" -c 'import importlib.metadata as m; print(m.version("mmd-any"))')"
if [ "$version" != "$expected" ]; then
    echo "wheel smoke test: mmd-any --version printed '$version', expected '$expected'" >&2
    exit 1
fi
echo "$version"
"$tmp/venv/bin/mmd-any" test a.npy b.npy --json --permutations 199 >report.json
"$venv_python" - <<'EOF'
import json

report = json.load(open("report.json"))
assert report["command"] == "test" and report["reject"] is True, report
assert (report["n_x"], report["n_y"], report["d"]) == (60, 50, 3), report
print(f"mmd-any test --json: MMD² = {report['statistic']:.4f}, p = {report['pvalue']:.4f}")
EOF

echo "wheel smoke test passed ($((SECONDS - start)) s)"
