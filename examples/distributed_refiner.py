"""The shape of a distributed re-ID trainer using rlcc.distributed.Refiner:
every rank extracts the features of its own block of the training set
once per epoch and steps the refiner with them (collective), then asks for
the RLCC targets of its mini-batches, whose rows may live on any rank
(collective: their features are fetched from the ranks that hold them).
Here a torch.distributed world of 2 ranks (gloo over loopback) is spawned on
this machine; at the end the parent checks the result against rlcc.Refiner
on the whole matrix in one process.

    PYTHONPATH=bindings/python python3 examples/distributed_refiner.py
"""

import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import rlcc
import rlcc.distributed

N, D, IDENTITIES, EPOCHS, BATCH, WORLD = 400, 32, 30, 3, 32, 2
OPTIONS = dict(k1=20, k2=4, beta=0.0)  # Jaccard, eps 0.58/0.60/0.62, alpha 0.9, w 0.9


def extract_features(epoch):
    """A stand-in for the network: noisy copies of hidden identities, N x D
    float32, L2-normalised (a real rank computes only its own block)."""
    rng = np.random.default_rng(7)
    identity = rng.normal(size=(IDENTITIES, D))
    rows = identity[np.arange(N) % IDENTITIES]
    rows = rows + np.random.default_rng(epoch).normal(size=rows.shape) * 1.0 / (epoch + 1)
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def block(rank):
    """Rank r's rows [start, stop): rank 0 holds the first rows (any split
    works, a rank may hold none)."""
    cuts = [0, 150, N]
    return cuts[rank], cuts[rank + 1]


def last_batch(rank):
    """A DistributedSampler-like batch: global indices, any rank's rows."""
    return np.random.default_rng(100 + rank).integers(0, N, BATCH)


def run(rank, init_method, results):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=WORLD)
    refiner = rlcc.distributed.Refiner(**OPTIONS)  # group=None: the default group
    start, stop = block(rank)
    sampler = np.random.default_rng(rank)
    for epoch in range(EPOCHS):
        generation = refiner.step(extract_features(epoch)[start:stop])  # this rank's rows
        if rank == 0:
            print(f"epoch {epoch}: {generation.n_classes} classes, "
                  f"reliability threshold {generation.threshold:.3f}, "
                  f"targets read rows from other ranks: {refiner.reads_rows()}")
        mass = 0.0
        for _ in range(N // (BATCH * WORLD)):  # every rank runs as many batches
            targets = refiner.targets(sampler.integers(0, N, BATCH))  # feed these to the loss
            mass += float(targets.sum())
        if rank == 0:
            print(f"  target mass per sample {mass / (N // (BATCH * WORLD) * BATCH):.4f}")
    final = refiner.targets(last_batch(rank))
    results.put((rank, refiner.generation().labels.tobytes(), final.tobytes()))
    dist.destroy_process_group()


if __name__ == "__main__":
    results = mp.get_context("spawn").SimpleQueue()
    with tempfile.TemporaryDirectory() as store:
        mp.spawn(run, args=(f"file://{store}/rendezvous", results), nprocs=WORLD)
    # the same trainer in one process, on the whole matrix
    single = rlcc.Refiner(**OPTIONS)
    for epoch in range(EPOCHS):
        single.step(extract_features(epoch))
    same = True
    for _ in range(WORLD):
        rank, labels, final = results.get()
        same &= labels == single.generation().labels.tobytes()
        same &= final == single.targets(last_batch(rank)).tobytes()
    print(f"{WORLD} ranks give the labels and targets of one process: {same}")
