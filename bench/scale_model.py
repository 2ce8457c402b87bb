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
  kNN    = o (t_self + h t_pair) + h (4 b d + 16 b k1) / bw + 2 h lat
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
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def run(ranks):
    out = subprocess.run(["mpirun", "--oversubscribe", "--bind-to", "none", "-np", str(ranks),
                          BENCH, str(N), str(D), str(K1)], env=ENV, check=True,
                         capture_output=True, text=True, timeout=3600).stdout
    return {k: float(v) for k, v in (line.split() for line in out.splitlines() if line.strip())}


def predict(m, ranks, bw, lat, cores):
    b = m["block"]
    h = ranks // 2
    o = max(1.0, ranks / cores)
    knn = o * (m["t_self"] + h * m["t_pair"]) + h * (4 * b * D + 16 * b * K1) / bw + 2 * h * lat
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

    # per-core rates from the 2-rank run's primitives
    m = runs[2]
    b = m["block"]
    gram = m["t_pair"] / (b * b * D)                 # s per multiply-add of a pair block
    entries_w = m["nnz_weights"] / N                  # expanded-set entries per row
    offer = m["t_offer"] / (b * entries_w * D / 2)    # s per multiply-add of the pair distances (≈ half the set in a block)
    rows_fixed = m["t_rows"]                          # Q and its inverted index over N rows, + b rows
    per_row_rows = rows_fixed / N
    per_entry_graph = m["t_graph"] / max(1.0, m["nnz_graph"])
    graph_per_row = m["nnz_graph"] / N
    node_cores, bw_net, lat_net = 64, 12.5e9, 2e-6
    print(f"Rates per core fitted here: Gram {1 / gram / 1e9:.1f} G multiply-adds/s; "
          f"{entries_w:.0f} expanded-set and {graph_per_row:.0f} graph entries per row.")
    print(f"Assumed node: {node_cores} cores at those rates, {bw_net / 1e9:.1f} GB/s network "
          f"(100 Gb/s), {lat_net * 1e6:.0f} us latency; d = 2048, k1 = 30; one rank per node.\n")
    print("| N | nodes | kNN | Jaccard and labels | total | memory per rank |")
    print("|---|---|---|---|---|---|")
    d, k1 = 2048, 30
    for n in (1_000_000, 4_000_000):
        for p in (16, 64, 256):
            bb = n / p
            h = p // 2
            knn = (bb * bb * d / 2 + h * bb * bb * d) * gram / node_cores \
                + h * (4 * bb * d + 16 * bb * k1) / bw_net + 2 * h * lat_net
            nnz_w, nnz_g = entries_w * n, graph_per_row * n
            jac = (p - 1) * (offer * bb * entries_w * d / 2 / node_cores + 4 * bb * d / bw_net) \
                + (per_row_rows * n) / node_cores * 4 \
                + per_entry_graph * nnz_g \
                + (8 * n * k1 + 8 * nnz_w + 8 * nnz_g) / bw_net
            mem = 12 * bb * d + 48 * bb * k1 + 8 * n * k1 + 8 * nnz_w + 8 * nnz_g + 12 * n
            print(f"| {n:,} | {p} | {knn / 60:.1f} min | {jac / 60:.1f} min | "
                  f"{(knn + jac) / 60:.1f} min | {mem / 2**30:.1f} GiB |")


if __name__ == "__main__":
    main()
