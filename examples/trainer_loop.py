"""The shape of a Python re-ID trainer using librlcc's refiner: once per
epoch extract the features of the training set into one array and hand it
over, then read the RLCC targets of each mini-batch.

    PYTHONPATH=bindings/python python3 examples/trainer_loop.py
"""

import numpy as np

import rlcc

N, D, IDENTITIES, EPOCHS, BATCH = 400, 64, 40, 4, 64
rng = np.random.default_rng(7)
identity = rng.normal(size=(IDENTITIES, D))


def extract_features(epoch):
    """A stand-in for the network: noisy copies of the hidden identities,
    N x D float32, L2-normalised."""
    rows = identity[np.arange(N) % IDENTITIES]
    rows = rows + rng.normal(size=rows.shape) * 0.8 / (epoch + 1)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


refiner = rlcc.Refiner(k1=20, k2=4, batch=BATCH)  # Jaccard, 0.58/0.60/0.62, alpha 0.9
for epoch in range(EPOCHS):
    generation = refiner.step(extract_features(epoch))  # an array: read in place
    print(f"epoch {epoch}: {generation.n_classes} classes, "
          f"reliability threshold {generation.threshold:.3f}")
    order = rng.permutation(N)
    mass = 0.0
    for start in range(0, N, BATCH):
        targets = refiner.targets(order[start:start + BATCH])  # feed these to the loss
        mass += float(targets.sum())
    print(f"  target mass per sample {mass / N:.4f}")
