"""InfoMap pseudo labels: librlcc's own two-level Infomap search against the
mapequation Infomap program (v1.x CLI, `--two-level --directed`, seed 123,
one trial, as Cluster Contrast runs it), on the kNN link graphs of
synthetic re-ID-like data.

    python3 bench/bench_infomap.py [--infomap PATH] [--quick] [--cases N:D,...]
                                   [--noise X,...] [--repeat R]

The Infomap binary comes from --infomap or $INFOMAP_BIN (build it from the
public source, e.g. `git clone https://github.com/mapequation/infomap;
git checkout v1.3.0; make`, beside the project, never in it). Without it
the comparison columns say so and only librlcc's numbers are printed.

Data (fixed seeds, NumPy): identities of about 17 images (Market-1501:
12,936 images of 751 people), unit directions; 6 cameras, each adding its
own bias (norm `camera` x the identity's); every image Gaussian noise of
norm `noise`; 4% "hard" images with noise 2.0; rows L2-normalised. Three
regimes (--regimes noise:camera,...): 0.9:0.5 (about 8 links per node,
modules = identities), 1.1:0.5 (sparse: 2-3 links per node, many small
modules), 0.8:1.0 (camera-dominated: identities split by camera, links
between look-alike camera groups; the hard case for any search). Cluster Contrast's settings: k = 15 with self,
min_sim 0.5, cluster_num 4.

Per case: the links (librlcc's, from its exact kNN; the same links go to
Infomap as a link list), librlcc's codelength and Infomap's (its printed
9 digits; librlcc's map_codelength of Infomap's partition agrees with them),
the relative difference (negative: librlcc's code is shorter), the adjusted
Rand index of the two partitions on the network's nodes and of the final
labels (cluster_num 4) over every sample, Infomap against itself with
another seed (how far apart two runs of the real program land), and the
times: librlcc's search after the kNN (labels from the caller's lists: the
links, the flow, the search, the labels; best of --repeat runs) and the
kNN itself; Infomap's own "completed in" time.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bindings" / "python"))

import rlcc  # noqa: E402

DEFAULT_CASES = [(2000, 128), (5000, 256), (12936, 2048), (30000, 512)]
QUICK_CASES = [(2000, 128), (5000, 256)]


def synth(n, d, noise, seed, camera=0.5):
    rng = np.random.default_rng(seed)
    identities = max(n // 17, 1)
    ident = rng.standard_normal((identities, d))
    ident /= np.linalg.norm(ident, axis=1, keepdims=True)
    cams = rng.standard_normal((6, d))
    cams *= camera / np.linalg.norm(cams, axis=1, keepdims=True)
    who = np.arange(n) % identities
    cam = rng.integers(0, 6, n)
    scale = np.where(rng.random(n) < 0.04, 2.0, noise) / np.sqrt(d)
    x = ident[who] + cams[cam] + scale[:, None] * rng.standard_normal((n, d))
    x = x.astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b)


def run_infomap(binary, src, dst, w, n, seed, work):
    net = Path(work) / "net.txt"
    with open(net, "w") as f:
        for s, t, x in zip(src.tolist(), dst.tolist(), w.tolist()):
            f.write(f"{s} {t} {x!r}\n")
    out = subprocess.run([binary, str(net), str(work), "--two-level", "--directed", "--clu",
                          "-s", str(seed)], capture_output=True, text=True, check=True).stdout
    printed = float(re.findall(r"Partitioned to codelength .* = ([0-9.]+) in", out)[-1])
    modules = np.zeros(n, dtype=np.int32)
    seconds = None
    with open(Path(work) / "net.clu") as f:
        for line in f:
            if line.startswith("# completed in"):
                seconds = float(line.split()[3])
            if line.startswith("#"):
                continue
            node, module = line.split()[:2]
            modules[int(node)] = int(module)
    return printed, modules, seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--infomap", default=os.environ.get("INFOMAP_BIN", ""))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cases", default="")
    ap.add_argument("--regimes", default="0.9:0.5,1.1:0.5,0.8:1.0",
                    help="noise:camera-bias pairs")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cases = ([tuple(int(v) for v in c.split(":")) for c in args.cases.split(",")] if args.cases
             else QUICK_CASES if args.quick else DEFAULT_CASES)
    binary = args.infomap if args.infomap and os.access(args.infomap, os.X_OK) else ""
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"librlcc {rlcc.library_version()}")
    if not binary:
        print("Infomap: not found (--infomap PATH or INFOMAP_BIN): the comparison is skipped, "
              "only librlcc's numbers are printed")
    else:
        print(f"Infomap: {binary}")
    print()
    print("| N | D | noise, camera bias | links | librlcc bits | Infomap bits | difference | ARI modules "
          "| ARI labels | Infomap vs Infomap (seed 1) ARI | librlcc classes | Infomap classes "
          "| librlcc search s | kNN s | Infomap s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, d in cases:
        for regime in args.regimes.split(","):
            noise, camera = (float(v) for v in regime.split(":"))
            x = synth(n, d, noise, seed=n * 7 + d, camera=camera)
            t0 = time.perf_counter()
            idx, sq = rlcc.knn(x, 15)
            t_knn = time.perf_counter() - t0
            dist = (sq / np.float32(2)).astype(np.float32)
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                part = rlcc.infomap_pseudo_labels(None, knn=idx, knn_dist=dist, cluster_num=0)
                best = min(best, time.perf_counter() - t0)
            labels = rlcc.infomap_pseudo_labels(None, knn=idx, knn_dist=dist)
            src, dst, w = rlcc.infomap_links(None, knn=idx, knn_dist=dist)
            nodes = np.unique(np.concatenate([src, dst]))
            row = [str(n), str(d), f"{noise}, {camera}", str(len(src)), f"{part.codelength:.9f}"]
            if binary:
                with tempfile.TemporaryDirectory() as work:
                    printed, mods, t_im = run_infomap(binary, src, dst, w, n, 123, work)
                    _, mods1, _ = run_infomap(binary, src, dst, w, n, 1, work)
                theirs = rlcc.infomap_pseudo_labels(None, knn=idx, knn_dist=dist, modules=mods)
                assert abs(rlcc.map_codelength(src, dst, w, mods) - printed) < 1e-8
                row += [f"{printed:.9f}", f"{(part.codelength - printed) / printed * 100:+.3f}%",
                        f"{ari(part.labels[nodes], mods[nodes]):.4f}",
                        f"{ari(labels.labels, theirs.labels):.4f}",
                        f"{ari(mods[nodes], mods1[nodes]):.4f}",
                        str(labels.n_classes), str(theirs.n_classes)]
            else:
                row += ["-"] * 5 + [str(labels.n_classes), "-"]
            row += [f"{best:.3f}", f"{t_knn:.2f}", f"{t_im:.3f}" if binary else "-"]
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
