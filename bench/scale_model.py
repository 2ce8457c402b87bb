#!/usr/bin/env python3
"""bench/scale_model.py - librlcc_mpi's scale model, fitted and checked here
(make bench-mpi; docs/scale-out.md explains it).

Runs build/bench/bench_mpi under mpirun at 1..4 ranks (one thread each, so
3 and 4 ranks share this machine's cores), then:

1. predicts each run's rlcc_mpi_knn and rlcc_mpi_pseudo_labels time from
   the primitives that run measured (Gram work of a pair of blocks, the
   Jaccard stages, the link's bandwidth and latency) and prints prediction
   against measurement;
2. fits per-core rates from the primitives (seconds per multiply-add of the
   Gram screen, per expanded-set entry, per graph entry) and predicts time
   and memory per rank for N = 1 M and 4 M images, d = 2048, k1 = 30, on
   16, 64 and 256 nodes of a stated size and network.

The model, per rank, with b = N / P rows, h = floor(P / 2) ring steps and
o = max(1, P / cores) (ranks sharing a core run o times slower):
  kNN    = o (t_self + m t_pair) + h (4 b d + 16 b k1) / bw + 2 h lat,
           m = h for odd P, h - 1/2 for even P (the shared middle step)
  pseudo = kNN + gathers (8 N k1 + 8 nnz(V) + 8 nnz(J)) / bw
           + o (t_plan + (P - 1) t_offer + t_weights + t_rows + t_graph)
           + (P - 1) 4 b d / bw
"""
import os
import subprocess
import sys

N, D, K1 = (int(a) for a in (sys.argv[1:4] if len(sys.argv) >= 4 else (8000, 512, 30)))
CORES = os.cpu_count() or 1
BENCH = os.path.join(os.path.dirname(__file__), "..", "build", "bench", "bench_mpi")
# one thread per rank, OpenBLAS's included: ranks sharing cores with idle
# BLAS threads that spin would measure the spinning, not the schedule
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run(ranks):
    out = subprocess.run(["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks),
                          BENCH, str(N), str(D), str(K1)], env=ENV, check=True,
                         capture_output=True, text=True, timeout=3600).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines() if line.strip())}


def predict(m, ranks, bw, lat, cores):
    b = m["block"]
    h = ranks // 2
    o = max(1.0, ranks / cores)
    pairs = h if ranks % 2 else h - 0.5  # the middle step of an even ring is shared
    knn = o * (m["t_self"] + max(0.0, pairs) * m["t_pair"]) + h * (4 * b * D + 16 * b * K1) / bw \
        + 2 * h * lat
    gathers = (8 * N * K1 + 8 * m["nnz_weights"] + 8 * m["nnz_graph"]) / bw if ranks > 1 else 0.0
    jaccard = o * (m["t_plan"] + (ranks - 1) * m["t_offer"] + m["t_weights"] + m["t_rows"]
                   + m["t_graph"]) + (ranks - 1) * 4 * b * D / bw
    return knn, knn + gathers + jaccard


def main():
    runs = {p: run(p) for p in (1, 2, 3, 4)}
    bw, lat = runs[2]["bandwidth"], runs[2]["latency"]
    print(f"Measured on this machine ({CORES} cores), N = {N}, d = {D}, k1 = {K1}, one thread "
          f"per rank; link {bw / 1e9:.2f} GB/s, {lat * 1e6:.1f} us:\n")
    print("| ranks | rlcc_knn alone | rlcc_mpi_knn | predicted | error | rlcc_pseudo_labels alone "
          "| rlcc_mpi_pseudo_labels | predicted | error |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for p, m in runs.items():
        knn, pseudo = predict(m, p, bw, lat, CORES)
        ek, ep = knn / m["mpi_knn"] - 1, pseudo / m["mpi_pseudo"] - 1
        if p > 1:
            worst = max(worst, abs(ek), abs(ep))
        print(f"| {p} | {m['single_knn']:.2f} s | {m['mpi_knn']:.2f} s | {knn:.2f} s | {ek:+.0%} "
              f"| {m['single_pseudo']:.2f} s | {m['mpi_pseudo']:.2f} s | {pseudo:.2f} s | {ep:+.0%} |")
    print(f"\nLargest model error over the 2-4 rank runs: {worst:.0%} (target: within 20%).\n")

    # Rates from the 2-rank run's primitives (one core each), scaled:
    #   Gram work      t_pair / (b^2 d) per multiply-add, on every core of a node;
    #   pair distances all blocks offered = about 2 t_offer at b, times (b' d') / (b d),
    #                  on every core;
    #   the redundant stages over all N rows (plan's reciprocal lists, the query
    #                  expansion and inverted index of t_rows, DBSCAN of t_graph):
    #                  times N' / N on one core (conservative: most of it runs on one);
    #   weights        times b' / b on one core;
    #   gathers        their bytes over the network.
    m = runs[2]
    b = m["block"]
    gram = m["t_pair"] / (b * b * D)
    entries_w, entries_g = m["nnz_weights"] / N, m["nnz_graph"] / N
    node_cores, bw_net, lat_net = 64, 12.5e9, 2e-6
    print(f"Rates fitted here per core: the Gram screen {1 / gram / 1e9:.1f} G multiply-adds/s; "
          f"{entries_w:.0f} weight and {entries_g:.0f} Jaccard entries per row.")
    print(f"Assumed node: {node_cores} such cores, one rank per node, a {bw_net / 1e9:.1f} GB/s "
          f"network (100 Gb/s), {lat_net * 1e6:.0f} us latency; d = 2048, k1 = 30.\n")
    print("| N | nodes | kNN | Jaccard and labels | total | memory per rank |")
    print("|---|---|---|---|---|---|")
    d, k1 = 2048, 30
    for n in (1_000_000, 4_000_000):
        for p in (16, 64, 256):
            bb = n / p
            h = p // 2
            knn = (bb * bb * d / 2 + (h - 0.5) * bb * bb * d) * gram / node_cores \
                + h * (4 * bb * d + 16 * bb * k1) / bw_net + 2 * h * lat_net
            nnz_w, nnz_g = entries_w * n, entries_g * n
            offers = 2 * m["t_offer"] * (bb * d) / (b * D) / node_cores \
                + (p - 1) * (4 * bb * d / bw_net + 2 * lat_net)
            redundant = (m["t_plan"] + m["t_rows"] + m["t_graph"]) * n / N
            weights = m["t_weights"] * bb / b
            gathers = (8 * n * k1 + 8 * nnz_w + 8 * nnz_g) / bw_net
            jac = offers + redundant + weights + gathers
            mem = 12 * bb * d + 32 * bb * k1 + 8 * n * k1 + 8 * nnz_w + 8 * nnz_g \
                + 4 * n * (k1 + k1 // 2 + 3) + 12 * n
            print(f"| {n:,} | {p} | {knn / 60:.1f} min | {jac / 60:.1f} min | "
                  f"{(knn + jac) / 60:.1f} min | {mem / 2**30:.1f} GiB |")


if __name__ == "__main__":
    main()
