"""Domain adaptation: a classifier's loss plus an MMD penalty between feature batches.

The source domain is labelled; the target domain is the same two classes seen
through a different "sensor", without labels: the coordinate that separates the
classes is unchanged, the nine others are offset and stretched. Training
minimises ``cross_entropy(source) + lam · MMD²(f(source), f(target))`` on the
feature layer ``f``, which pulls the two domains' features together (DDC / DAN).
"""

import torch
from torch import nn

import mmd_any.torch

torch.manual_seed(0)
D, N = 10, 256


def domain(n: int, shift: float, stretch: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Two Gaussian classes in D dimensions; the sensor shifts and stretches the
    coordinates that carry no class information."""
    labels = torch.randint(0, 2, (n,))
    points = torch.randn(n, D)
    points[:, 0] += 2.0 * labels - 1.0  # the classes differ along the first axis only
    points[:, 1:] = stretch * points[:, 1:] + shift
    return points, labels


source, source_labels = domain(N, shift=0.0, stretch=1.0)
target, target_labels = domain(N, shift=1.5, stretch=1.5)  # labels only for evaluation


def train(lam: float, steps: int = 150) -> tuple[nn.Module, nn.Module, list[tuple]]:
    torch.manual_seed(1)  # the same initialisation for every lam
    features = nn.Sequential(nn.Linear(D, 32), nn.ReLU(), nn.Linear(32, 8))
    classifier = nn.Linear(8, 2)
    mmd = mmd_any.torch.MMDLoss()  # the seeds' five Gaussians around the mean distance
    optimizer = torch.optim.Adam([*features.parameters(), *classifier.parameters()], lr=1e-2)
    history = []
    for step in range(steps + 1):
        f_source, f_target = features(source), features(target)
        clf = nn.functional.cross_entropy(classifier(f_source), source_labels)
        penalty = mmd(f_source, f_target)  # a 0-d tensor, differentiable
        loss = clf + lam * penalty
        if step % 25 == 0:
            history.append((step, loss.item(), clf.item(), penalty.item()))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return features, classifier, history


def target_accuracy(features: nn.Module, classifier: nn.Module) -> float:
    with torch.no_grad():
        predicted = classifier(features(target)).argmax(dim=1)
    return (predicted == target_labels).float().mean().item()


features, classifier, history = train(lam=3.0)
print(" step    loss  cross-entropy    MMD²")
for step, loss, clf, penalty in history:
    print(f"{step:5d}  {loss:6.3f}  {clf:13.3f}  {penalty:6.3f}")

baseline = train(lam=0.0)
print(f"target accuracy, source only:  {target_accuracy(*baseline[:2]):.3f}")
print(f"target accuracy, with the MMD: {target_accuracy(features, classifier):.3f}")
print("(the best possible accuracy is 0.841: the classes overlap)")

assert history[-1][1] < history[0][1], "the loss went down"
assert history[-1][3] < history[0][3], "the MMD between the domains went down"
