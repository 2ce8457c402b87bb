"""The task every language's example does on the same committed fixture
(examples/data): RLCC pseudo labels for generation 0's re-ID features, one
more RLCC generation on generation 1's, then the labels and the training
targets. Prints exactly what reid_fixture.c prints.

    PYTHONPATH=bindings/python python3 examples/reid_fixture.py examples/data
"""
import sys
from pathlib import Path

import numpy as np

import rlcc

data = Path(sys.argv[1] if len(sys.argv) > 1 else "examples/data")
features = [np.load(data / f"reid_gen{g}.npy") for g in (0, 1)]
n, d = features[0].shape

# RLCC's defaults, with neighbour lists sized for 10 images per identity
refiner = rlcc.Refiner(k1=10, k2=3, batch=32)
print(f"librlcc {rlcc.library_version()}, {n} samples x {d}")
for g, x in enumerate(features):
    generation = refiner.step(x)
    print(f"generation {g}: {generation.n_classes} classes, "
          f"reliability threshold {generation.threshold:.6f}")
    print("labels:", " ".join(str(label) for label in generation.labels))

targets = refiner.targets()
k = targets.shape[1]
total = 0.0
for value in targets.ravel():  # in order, in double, as the C example sums
    total += float(value)
print(f"targets: {n} x {k}, total {total:.6f}")
best = targets.argmax(axis=1)  # the first maximum, as the C loop keeps
weight = targets[np.arange(n), best]
for i in np.lexsort((np.arange(n), weight))[:5]:  # smallest weight, then lowest index
    print(f"uncertain sample {i}: class {best[i]}, weight {weight[i]:.6f}")
