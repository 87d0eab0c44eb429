"""Devices: the computation runs where the data is, and the result stays there.

Picks the first CUDA GPU when torch sees one, else the CPU (the pages you are
reading were built on whatever machine ran the build: see the output).
"""

import numpy as np
import torch

import mmd_any
from mmd_any.torch import MMDLoss

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
print("device:", device, f"({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")

generator = torch.Generator().manual_seed(0)
x = torch.randn(1000, 32, generator=generator).to(device)  # float32 on the device
y = (torch.randn(800, 32, generator=generator) + 0.1).to(device)

value = mmd_any.mmd2(x, y)  # a 0-d tensor on the same device: nothing was copied to the host
print("mmd2:", type(value).__name__, value.dtype, value.device, f"{value.item():.6f}")

result = mmd_any.mmd_test(x, y, n_permutations=500, seed=0)
print("mmd_test statistic:", result.statistic.dtype, result.statistic.device)
print(
    "mmd_test null distribution:",
    tuple(result.null_distribution.shape),
    result.null_distribution.device,
)
print(f"p-value {result.pvalue:.4f} (a Python float: the one read back to the host)")

# The same seed gives the same permutations on every backend: NumPy on the host
host = mmd_any.mmd_test(x.cpu().numpy(), y.cpu().numpy(), n_permutations=500, seed=0)
print(f"numpy p-value {host.pvalue:.4f}")
assert abs(host.pvalue - result.pvalue) <= 1 / 501 + 1e-12  # within one permutation

# The training loss: forward and backward on the device
source = x[:256].clone().requires_grad_(True)
loss = MMDLoss()(source, y[:256])
loss.backward()
print("MMDLoss:", loss.device, "gradient on", source.grad.device)

assert value.device == x.device
assert result.statistic.device == x.device
assert isinstance(result.pvalue, float)
assert source.grad.device == x.device
# the same MMD² up to float32 rounding (64·eps times the kernel entries, about 1)
np.testing.assert_allclose(result.statistic.item(), value.item(), atol=1e-5)
