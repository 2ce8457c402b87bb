"""Writes the small committed fixture every language's example runs on:
reid_gen0.npy and reid_gen1.npy, 120 x 32 float32 unit rows: 12 identities
on the hypersphere x 10 images, 3 cameras each adding its own bias, and
noise that shrinks from generation 0 to generation 1 (the model improved).

    /usr/bin/python3 examples/data/make_fixture.py
"""
from pathlib import Path

import numpy as np

IDENTITIES, IMAGES, CAMERAS, D = 12, 10, 3, 32
NOISE = (1.0, 0.7)  # per generation
CAMERA_BIAS = 0.25

rng = np.random.default_rng(2021)
identity = rng.normal(size=(IDENTITIES, D))
identity /= np.linalg.norm(identity, axis=1, keepdims=True)
camera = rng.normal(size=(CAMERAS, D)) / np.sqrt(D)
sample_identity = np.arange(IDENTITIES * IMAGES) % IDENTITIES
sample_camera = rng.integers(0, CAMERAS, size=sample_identity.shape)
unit_noise = rng.normal(size=(sample_identity.size, D)) / np.sqrt(D)

here = Path(__file__).resolve().parent
for generation, noise in enumerate(NOISE):
    rows = (identity[sample_identity] + CAMERA_BIAS * camera[sample_camera]
            + noise * unit_noise * (1 + 0.5 * rng.random((sample_identity.size, 1))))
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    np.save(here / f"reid_gen{generation}.npy", rows.astype(np.float32))
