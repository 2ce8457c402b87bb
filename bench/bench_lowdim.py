"""Low-dimensional DBSCAN: librlcc (grid, tree, brute, auto) against
scikit-learn (kd_tree, n_jobs=-1) and R's dbscan package, side by side in
one run, on the same float32 data, with every row's labels compared.

    python3 bench/bench_lowdim.py [--quick] [--timeout S] [--big] [--sweep-only] [--no-peers]

Prints Markdown tables (docs/BENCHMARKS.md): the datasets (Chameleon DS3
from R's dbscan package; Gaussian blobs at 100,000 and 1,000,000 points in
2-D and 3-D), the d sweep at n = 100,000, and the peak RSS at 1,000,000 x 2.

The calls run in worker processes (this script with --worker, or Rscript)
that load the data, then time only the clustering calls: the best of up to
five runs, stopping once 3 s are spent (so a call over 3 s runs once).
librlcc's grid, tree and auto share one worker and run round-robin, so a
change in the machine's load falls on all three alike; brute, scikit-learn
and R run in workers of their own. A worker reports its peak RSS (VmHWM) and its RSS once the
data was loaded and the library imported; the difference is the peak
"beyond the input" (at 1,000,000 x 2 each librlcc path gets a worker of its
own for this, one call). A worker past --timeout is killed and its row says so. R's dbscan counts the point itself in minPts, as scikit-learn's
min_samples does; its labels (0 = noise, clusters from 1) are compared as
label - 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LIBRLCC = ("grid", "kd_tree", "brute", "auto")
BRUTE_MAX_N = 200_000  # brute is O(n^2) time: 1,000,000 points take about half an hour

R_SCRIPT = r"""
suppressMessages(library(dbscan))
a <- commandArgs(TRUE)
d <- as.integer(a[2]); eps <- as.numeric(a[3]); minpts <- as.integer(a[4])
x <- matrix(readBin(a[1], "numeric", size = 4, n = as.integer(a[6]) * d), ncol = d, byrow = TRUE)
status_mb <- function(field) {
  s <- grep(paste0("^", field, ":"), readLines("/proc/self/status"), value = TRUE)
  as.numeric(strsplit(trimws(sub(paste0(field, ":"), "", s)), " ")[[1]][1]) / 1024
}
before <- status_mb("VmRSS")
best <- Inf
spent <- 0
for (r in 1:5) {
  t <- system.time(res <- dbscan(x, eps = eps, minPts = minpts))[["elapsed"]]
  best <- min(best, t)
  spent <- spent + t
  if (spent >= 3) break
}
writeBin(as.integer(res$cluster) - 1L, a[5], size = 4)
cat(sprintf('{"seconds": %.6f, "rss_loaded_mb": %.1f, "hwm_mb": %.1f}\n', best, before,
            status_mb("VmHWM")))
"""


def status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (its high-water mark since exec)."""
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(lib: str, algorithms: str, data: str, eps: float, min_samples: int, out: str,
           repeats: int) -> None:
    """Times one or more clusterings of the same data in this process and
    prints {algorithm: {"seconds": best}, ...} as JSON. Several algorithms run
    round-robin (one run of each per round), so a change in the machine's
    load falls on all of them alike; each runs until it has `repeats` runs or
    3 s spent, and keeps its best."""
    X = np.load(data)
    names = algorithms.split(",")
    if lib == "librlcc":
        import rlcc

        def run(name):
            return rlcc.dbscan(X, eps, min_samples, algorithm=name)
    else:
        from sklearn.cluster import DBSCAN

        def run(name):
            return DBSCAN(eps=eps, min_samples=min_samples, algorithm=name,
                          n_jobs=-1).fit(X).labels_
    before = status_mb("VmRSS")
    best = {name: float("inf") for name in names}
    spent = {name: 0.0 for name in names}
    runs = {name: 0 for name in names}
    while True:
        pending = [name for name in names if runs[name] < repeats and spent[name] < 3.0]
        if not pending:
            break
        for name in pending:
            start = time.perf_counter()
            labels = run(name)
            took = time.perf_counter() - start
            best[name], spent[name] = min(best[name], took), spent[name] + took
            runs[name] += 1
            np.save(f"{out}-{name}.npy", np.asarray(labels, dtype=np.int32))
    print(json.dumps({"rss_loaded_mb": before, "hwm_mb": status_mb("VmHWM"),
                      "seconds": best, "runs": runs}))


def spawn(cmd, timeout):
    """Runs cmd; returns (stdout, timed out?). (The worker reports its own
    peak: wait4()'s ru_maxrss of a forked child counts the parent's pages it
    shared before exec.)"""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + timeout
    while True:
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid != 0:
            out = proc.stdout.read()
            proc.stdout.close()
            proc.returncode = os.waitstatus_to_exitcode(status)
            return out, False
        if time.monotonic() > deadline:
            proc.kill()
            os.waitpid(proc.pid, 0)
            proc.stdout.close()
            return "", True
        time.sleep(0.05)


class Runner:
    def __init__(self, work: Path, timeout: float):
        self.work = work
        self.timeout = timeout
        self.r_script = work / "dbscan.R"
        self.r_script.write_text(R_SCRIPT)

    def run(self, lib, algorithms, name, X, eps, min_samples, repeats=5):
        """{algorithm: {'seconds', 'peak_mb' (beyond the input; one per worker),
        'labels'} or {'timeout': True}}: the algorithms run in one worker."""
        data = self.work / f"{name}.npy"
        if not data.exists():
            np.save(data, X)
        out = self.work / f"{name}-{lib}"
        if lib == "R":
            raw = self.work / f"{name}.f32"
            if not raw.exists():
                np.ascontiguousarray(X, dtype=np.float32).tofile(raw)
            cmd = ["Rscript", str(self.r_script), str(raw), str(X.shape[1]), repr(eps),
                   str(min_samples), f"{out}-kd_tree.labels", str(X.shape[0])]
        else:
            cmd = [sys.executable, __file__, "--worker", lib, ",".join(algorithms), str(data),
                   repr(eps), str(min_samples), str(out), str(repeats)]
        stdout, timed_out = spawn(cmd, self.timeout)
        if timed_out or not stdout.strip():
            return {a: {"timeout": timed_out, "failed": not timed_out} for a in algorithms}
        info = json.loads(stdout.strip().splitlines()[-1])
        results = {}
        for a in algorithms:
            labels = (np.fromfile(f"{out}-kd_tree.labels", dtype=np.int32) if lib == "R"
                      else np.load(f"{out}-{a}.npy"))
            seconds = info["seconds"] if lib == "R" else info["seconds"][a]
            results[a] = {"seconds": seconds, "peak_mb": info["hwm_mb"] - info["rss_loaded_mb"],
                          "labels": labels}
        return results


def blobs(n, d, seed):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(n_samples=n, n_features=d, centers=50, random_state=seed)
    return X.astype(np.float32)


def noisy_blobs(n, d, seed):
    """Uniform noise plus clusters: 80% of the points in 50 Gaussian blobs,
    20% uniform over the blobs' bounding box (most of it noise at eps 0.3)."""
    rng = np.random.default_rng(seed)
    X = blobs(n - n // 5, d, seed)
    lo, hi = X.min(axis=0), X.max(axis=0)
    noise = rng.uniform(lo, hi, size=(n // 5, d)).astype(np.float32)
    return rng.permutation(np.vstack([X, noise]))


def ds3(work: Path):
    """Chameleon DS3 (8,000 x 2) from R's dbscan package."""
    path = work / "ds3.f32"
    subprocess.run(["Rscript", "-e",
                    "data(DS3, package = 'dbscan'); "
                    f"writeBin(as.vector(t(as.matrix(DS3))), '{path}', size = 4)"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return np.fromfile(path, dtype=np.float32).reshape(-1, 2)


def sweep_eps(X, min_samples, seed):
    """The median distance to the (2 min_samples)-th nearest neighbour over
    500 points: a radius at which the blobs are clusters in every d."""
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(seed)
    queries = X[rng.choice(len(X), 500, replace=False)]
    dist, _ = NearestNeighbors(n_neighbors=2 * min_samples, algorithm="brute").fit(X).kneighbors(
        queries)
    return float(np.float32(np.median(dist[:, -1])))


def fmt_time(result):
    if result is None:
        return "–"
    if result.get("timeout"):
        return "> timeout"
    if result.get("failed"):
        return "failed"
    return f"{result['seconds']:.3f}"


def compare(reference, result):
    if result is None or "labels" not in result:
        return "–"
    if np.array_equal(reference, result["labels"]):
        return "yes"
    return f"{int(np.sum(reference != result['labels']))} differ"


def run_row(runner, name, X, eps, min_samples, peers=True):
    results = {}
    fast = ["grid", "kd_tree", "auto"] if X.shape[1] <= 5 else ["kd_tree", "auto"]
    results.update(runner.run("librlcc", fast, name, X, eps, min_samples))
    results.setdefault("grid", None)
    results["brute"] = (runner.run("librlcc", ["brute"], name, X, eps, min_samples)["brute"]
                        if len(X) <= BRUTE_MAX_N else None)
    if peers:
        results["sklearn"] = runner.run("sklearn", ["kd_tree"], name, X, eps,
                                        min_samples)["kd_tree"]
        results["R"] = runner.run("R", ["kd_tree"], name, X, eps, min_samples)["kd_tree"]
    else:
        results["sklearn"] = results["R"] = None
    return results


def reference_labels(results):
    for key in ("auto", "grid", "kd_tree", "brute"):
        if results.get(key) and "labels" in results[key]:
            return results[key]["labels"]
    return None


def speedup(results, peer):
    ours, theirs = results.get("auto"), results.get(peer)
    if not ours or "seconds" not in ours or not theirs:
        return "–"
    if theirs.get("timeout"):
        return f"> {runner_timeout / ours['seconds']:.0f}x"
    if "seconds" not in theirs:
        return "–"
    return f"{theirs['seconds'] / ours['seconds']:.1f}x"


def print_row(cells):
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


runner_timeout = 900.0


def main():
    global runner_timeout
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 points only, d <= 16")
    parser.add_argument("--big", action="store_true", help="also 3,000,000 x 2 and x 3")
    parser.add_argument("--sweep-only", action="store_true")
    parser.add_argument("--no-peers", action="store_true",
                        help="librlcc's paths only (auto against the forced choices)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per call")
    args = parser.parse_args()
    runner_timeout = args.timeout
    import rlcc
    import sklearn

    r_version = subprocess.run(["Rscript", "-e", "cat(as.character(packageVersion('dbscan')))"],
                               capture_output=True, text=True).stdout.strip()
    print(f"librlcc {rlcc.library_version()} ({rlcc._native.library_path}), scikit-learn "
          f"{sklearn.__version__}, R dbscan {r_version}; {os.cpu_count()} cores; "
          f"timeout {args.timeout:.0f} s per call\n")
    with tempfile.TemporaryDirectory(prefix="rlcc-bench-") as tmp:
        work = Path(tmp)
        runner = Runner(work, args.timeout)
        header = ["data", "n x d", "eps", "min", "clusters", "noise", "librlcc grid s",
                  "tree s", "brute s", "auto s", "scikit-learn kd_tree s", "R dbscan s",
                  "auto vs R", "auto vs scikit-learn", "librlcc labels all equal",
                  "= scikit-learn", "= R"]
        peak_rows = []
        if not args.sweep_only:
            datasets = [("Chameleon DS3", "ds3", ds3(work), 10.0, 25)]
            sizes = [100_000] if args.quick else [100_000, 1_000_000]
            if args.big:
                sizes.append(3_000_000)
            for n in sizes:
                for d in (2, 3):
                    datasets.append((f"50 Gaussian blobs", f"blobs{n}x{d}", blobs(n, d, 0),
                                     0.3, 10))
            for d in (2, 3):
                n = sizes[0] if args.quick else 1_000_000
                datasets.append(("blobs + 20% uniform noise", f"noisy{n}x{d}",
                                 noisy_blobs(n, d, 1), 0.3, 10))
            print("Datasets (seconds: the best of up to five runs, stopping once 3 s are "
                  "spent)\n")
            print_row(header)
            print_row(["---"] * len(header))
            for title, name, X, eps, ms in datasets:
                res = run_row(runner, name, X, eps, ms)
                ref = reference_labels(res)
                ours_equal = all(compare(ref, res[a]) in ("yes", "–") for a in LIBRLCC)
                print_row([title, f"{X.shape[0]:,} x {X.shape[1]}", eps, ms, int(ref.max()) + 1,
                           f"{np.mean(ref == -1):.1%}", fmt_time(res["grid"]),
                           fmt_time(res["kd_tree"]), fmt_time(res["brute"]),
                           fmt_time(res["auto"]), fmt_time(res["sklearn"]), fmt_time(res["R"]),
                           speedup(res, "R"), speedup(res, "sklearn"),
                           "yes" if ours_equal else "NO", compare(ref, res["sklearn"]),
                           compare(ref, res["R"])])
                if X.shape == (1_000_000, 2):
                    peaks = {a: runner.run("librlcc", [a], name, X, eps, ms, repeats=1)[a]
                             for a in ("grid", "kd_tree", "auto")}
                    peaks["sklearn"], peaks["R"] = res["sklearn"], res["R"]
                    peak_rows.append(peaks)
        dims = [2, 3, 4, 5, 8, 16] if args.quick else [2, 3, 4, 5, 8, 16, 32, 64, 128]
        print("\nThe d sweep: 50 Gaussian blobs, n = 100,000, min_samples 10, eps the median "
              "distance to the 20th nearest neighbour (seconds)\n")
        header = ["d", "eps", "clusters", "noise", "librlcc grid s", "tree s", "brute s",
                  "auto s", "scikit-learn kd_tree s", "R dbscan s", "auto / best librlcc",
                  "auto / best peer", "librlcc labels all equal", "= scikit-learn", "= R"]
        print_row(header)
        print_row(["---"] * len(header))
        for d in dims:
            X = blobs(100_000, d, d)
            eps = sweep_eps(X, 10, d)
            res = run_row(runner, f"sweep{d}", X, eps, 10, peers=not args.no_peers)
            ref = reference_labels(res)
            ours = [res[a]["seconds"] for a in ("grid", "kd_tree", "brute")
                    if res[a] and "seconds" in res[a]]
            peers = [res[p]["seconds"] for p in ("sklearn", "R") if res[p] and "seconds" in res[p]]
            auto = res["auto"]["seconds"] if res["auto"] and "seconds" in res["auto"] else None
            ours_equal = all(compare(ref, res[a]) in ("yes", "–") for a in LIBRLCC)
            print_row([d, f"{eps:.4g}", int(ref.max()) + 1, f"{np.mean(ref == -1):.1%}",
                       fmt_time(res["grid"]), fmt_time(res["kd_tree"]), fmt_time(res["brute"]),
                       fmt_time(res["auto"]), fmt_time(res["sklearn"]), fmt_time(res["R"]),
                       f"{auto / min(ours):.2f}" if auto and ours else "–",
                       f"{auto / min(peers):.3f}" if auto and peers else
                       ("–" if args.no_peers else "< timeout"),
                       "yes" if ours_equal else "NO", compare(ref, res["sklearn"]),
                       compare(ref, res["R"])])
        if peak_rows:
            res = peak_rows[0]
            print("\nPeak RSS at 1,000,000 x 2, beyond the input (MB: the worker's VmHWM minus "
                  "its RSS once the data was loaded and the library imported)\n")
            print_row(["librlcc grid", "librlcc tree", "librlcc auto", "scikit-learn kd_tree",
                       "R dbscan"])
            print_row(["---"] * 5)
            print_row([f"{res[k]['peak_mb']:.0f}" if res.get(k) and "peak_mb" in res[k] else "–"
                       for k in ("grid", "kd_tree", "auto", "sklearn", "R")])


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        lib, algorithms, data, eps, min_samples, out, repeats = sys.argv[2:9]
        worker(lib, algorithms, data, float(eps), int(min_samples), out, int(repeats))
    else:
        main()
