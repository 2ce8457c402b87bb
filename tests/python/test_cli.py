"""bin/rlcc: good and malformed .npy files, and every exit code
(0 ok, 1 runtime error, 2 usage, 3 unreadable or invalid input)."""

import subprocess
from pathlib import Path

import numpy as np
import pytest

import rlcc

RLCC = Path(__file__).resolve().parents[2] / "bin" / "rlcc"


def run(*args):
    return subprocess.run([str(RLCC), *map(str, args)], capture_output=True, text=True,
                          timeout=120)


def unit_rows(n=240, d=16, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, d))
    X = centres[np.arange(n) % 20] + rng.normal(size=(n, d)) * 0.3
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_cluster_matches_the_library(tmp_path):
    X = unit_rows()
    for dtype in (np.float32, np.float64):
        np.save(tmp_path / "x.npy", X.astype(dtype))
        done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "labels.npy")
        assert done.returncode == 0, done.stderr
        labels = np.load(tmp_path / "labels.npy")
        assert labels.dtype == np.dtype("<i4")
        want = rlcc.pseudo_labels(X.astype(np.float32), eps=0.6, outliers="keep",
                                  reliability=False, normalize=True)
        np.testing.assert_array_equal(labels, want.labels)
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "l3.npy", "--eps", "0.58,0.6,0.62",
               "--outliers", "singleton", "--k1", "20", "--k2", "4", "--threads", "1")
    assert done.returncode == 0, done.stderr
    want = rlcc.pseudo_labels(X.astype(np.float32), k1=20, k2=4, normalize=True)
    np.testing.assert_array_equal(np.load(tmp_path / "l3.npy"), want.labels)
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "le.npy", "--metric", "euclidean",
               "--eps", "0.5", "--min-samples", "3")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "le.npy"),
                                  rlcc.dbscan(X.astype(np.float32), 0.5, 3))


def lattice(n, d, seed):
    """Integer clumps and integer noise: every distance is the square root of
    an integer, exact in float32 and double, and many lie at exactly eps."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 4, size=(4, d)) * 12
    X = centres[rng.integers(0, 4, n)] + rng.integers(-3, 4, size=(n, d))
    noise = rng.random(n) < 0.1
    X[noise] = rng.integers(-6, 48, size=(int(noise.sum()), d))
    return X.astype(np.float32)


ALGORITHMS = ("auto", "brute", "grid", "kd_tree")


def test_cluster_algorithm_matches_the_library(tmp_path):
    """--algorithm (1.5): every choice gives the library's brute labels on
    integer lattices with ties at eps, with either outlier policy."""
    for d in (2, 3):
        X = lattice(300, d, seed=d)
        np.save(tmp_path / "x.npy", X)
        for eps, min_samples in ((1.0, 3), (2.0, 8), (3.0, 12)):
            keep = rlcc.dbscan(X, eps, min_samples, algorithm="brute")
            # the ties decide: one double below eps gives other labels
            assert not np.array_equal(keep, rlcc.dbscan(X, np.nextafter(eps, 0.0), min_samples,
                                                        algorithm="brute"))
            single = rlcc.pseudo_labels(X, eps=eps, min_samples=min_samples, metric="euclidean",
                                        outliers="singleton", reliability=False).labels
            for algorithm in ALGORITHMS:
                for outliers, want in (("keep", keep), ("singleton", single)):
                    out = tmp_path / f"{algorithm}-{outliers}.npy"
                    done = run("cluster", tmp_path / "x.npy", "-o", out, "--metric", "euclidean",
                               "--eps", eps, "--min-samples", min_samples, "--outliers", outliers,
                               "--algorithm", algorithm, "--threads", 1 + d % 2)
                    assert done.returncode == 0, (algorithm, done.stderr)
                    np.testing.assert_array_equal(np.load(out), want, err_msg=f"{algorithm} {outliers}")
                    k = int(want.max()) + 1
                    assert done.stdout.startswith(f"300 samples: {k} classes, {int((want < 0).sum())} noise")
    X = unit_rows(d=8)
    np.save(tmp_path / "u.npy", X.astype(np.float32))
    want = rlcc.dbscan(X.astype(np.float32), 0.2, 3, metric="cosine")
    for algorithm in ("auto", "brute"):
        done = run("cluster", tmp_path / "u.npy", "-o", tmp_path / "c.npy", "--metric", "cosine",
                   "--eps", "0.2", "--min-samples", "3", "--algorithm", algorithm)
        assert done.returncode == 0, done.stderr
        np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), want)
    # auto is the default, and the only value for Jaccard and three eps
    for extra in ([], ["--eps", "0.58,0.6,0.62", "--metric", "euclidean"]):
        done = run("cluster", tmp_path / "u.npy", "-o", tmp_path / "j.npy", "--algorithm", "auto",
                   *extra)
        assert done.returncode == 0, done.stderr


def test_cluster_algorithm_refusals(tmp_path):
    np.save(tmp_path / "x6.npy", lattice(40, 6, seed=6))
    np.save(tmp_path / "x2.npy", lattice(40, 2, seed=2))
    out = tmp_path / "o.npy"
    # an unknown name, and a choice where no search of the features runs: usage
    for args, text in (
            (["x2.npy", "--metric", "euclidean", "--algorithm", "ball_tree"],
             "--algorithm: 'ball_tree' must be auto, brute, grid or kd_tree"),
            (["x2.npy", "--metric", "euclidean", "--algorithm", "KD_TREE"],
             "--algorithm: 'KD_TREE' must be auto, brute, grid or kd_tree"),
            (["x2.npy", "--algorithm", "grid"],
             "--algorithm brute, grid or kd_tree needs --metric euclidean or cosine and one eps"),
            (["x2.npy", "--metric", "euclidean", "--eps", "1,2,3", "--algorithm", "brute"],
             "needs --metric euclidean or cosine and one eps")):
        done = run("cluster", tmp_path / args[0], "-o", out, *args[1:])
        assert done.returncode == 2, (args, done.stderr)
        assert text in done.stderr and "usage" in done.stderr and "--algorithm" in done.stderr
    assert not out.exists()
    # what the library refuses: invalid input, with its message
    for args, text in (
            (["x6.npy", "--algorithm", "grid"],
             "invalid argument: options.algorithm: the grid (RLCC_DBSCAN_GRID) takes d <= 5, "
             "not d = 6"),
            (["x2.npy", "--metric", "cosine", "--algorithm", "grid"],
             "the grid (RLCC_DBSCAN_GRID) decides euclidean distances only"),
            (["x2.npy", "--metric", "cosine", "--algorithm", "kd_tree"],
             "the tree (RLCC_DBSCAN_TREE) decides euclidean distances only")):
        metric = [] if "--metric" in args else ["--metric", "euclidean"]
        done = run("cluster", tmp_path / args[0], "-o", out, *metric, *args[1:])
        assert done.returncode == 3, (args, done.stderr)
        assert done.stderr.startswith("rlcc: cluster: ") and text in done.stderr, done.stderr
    assert not out.exists()
    done = run("cluster", tmp_path / "x6.npy", "-o", out, "--metric", "euclidean", "--algorithm",
               "kd_tree", "--eps", "1")
    assert done.returncode == 0, done.stderr


def test_refine_matches_the_library(tmp_path):
    rng = np.random.default_rng(1)
    prev = rng.integers(-1, 12, 300)
    cur = np.where(rng.random(300) < 0.8, prev % 9, rng.integers(-1, 9, 300))
    np.save(tmp_path / "p.npy", prev.astype(np.int64))
    np.save(tmp_path / "c.npy", cur.astype(np.int32))
    k_prev = prev.max() + 1
    probs = rng.dirichlet(np.ones(k_prev), 300).astype(np.float64)
    np.save(tmp_path / "probs.npy", probs)
    done = run("refine", "--prev", tmp_path / "p.npy", "--cur", tmp_path / "c.npy", "--probs",
               tmp_path / "probs.npy", "--alpha", "0.8", "--w", "0.5", "--beta", "0.25", "-o",
               tmp_path / "t.npy")
    assert done.returncode == 0, done.stderr
    C = rlcc.consensus(prev, cur)
    want = rlcc.blend(cur, rlcc.propagate(probs, C, prev_labels=prev, w=0.5, beta=0.25), alpha=0.8)
    np.testing.assert_allclose(np.load(tmp_path / "t.npy"), want, atol=1e-6)
    done = run("refine", "--prev", tmp_path / "p.npy", "--cur", tmp_path / "c.npy", "-o",
               tmp_path / "hard.npy")
    assert done.returncode == 0, done.stderr
    np.testing.assert_allclose(np.load(tmp_path / "hard.npy"),
                               rlcc.blend(cur, rlcc.propagate(prev, C)), atol=1e-6)


def test_help_and_version():
    for args in (["--help"], ["cluster", "--help"], ["refine", "--help"], ["demo", "--help"]):
        done = run(*args)
        assert done.returncode == 0 and "exit codes" in done.stdout
    assert "--algorithm auto|brute|grid|kd_tree" in run("cluster", "--help").stdout
    assert rlcc.__version__ in run("--version").stdout


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["cluster"], ["cluster", "x.npy"], ["cluster", "x.npy", "-o"],
    ["cluster", "x.npy", "-o", "y.npy", "--eps", "0.5,0.6"], ["cluster", "x.npy", "-o", "y.npy",
    "--metric", "manhattan"], ["cluster", "x.npy", "-o", "y.npy", "--k1", "thirty"],
    ["cluster", "x.npy", "-o", "y.npy", "--algorithm", "ball_tree"],
    ["cluster", "x.npy", "-o", "y.npy", "--algorithm"],
    ["refine", "--prev", "p.npy"], ["refine", "--bogus", "1"], ["demo", "--n", "5"],
])
def test_usage_errors_exit_2(args):
    done = run(*args)
    assert done.returncode == 2, (args, done.stdout, done.stderr)
    assert "usage" in done.stderr


def write_raw(path, header, payload=b""):
    body = header.encode()
    total = 10 + len(body) + 1
    body += b" " * ((64 - total % 64) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body + payload)


def test_bad_input_exits_3(tmp_path):
    X = unit_rows().astype(np.float32)
    cases = {}
    (tmp_path / "text.npy").write_text("not numpy at all")
    cases["text.npy"] = "not a .npy"
    np.save(tmp_path / "ints.npy", np.arange(12).reshape(3, 4))
    cases["ints.npy"] = "floating-point"
    np.save(tmp_path / "bytes.npy", np.zeros((3, 4), dtype=np.int8))
    cases["bytes.npy"] = "dtype"
    np.save(tmp_path / "big.npy", X.astype(">f4"))
    cases["big.npy"] = "little-endian"
    np.save(tmp_path / "fortran.npy", np.asfortranarray(X))
    cases["fortran.npy"] = "Fortran"
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2), dtype=np.float32))
    cases["cube.npy"] = "1-D and 2-D"
    np.save(tmp_path / "flat.npy", np.zeros(5, dtype=np.float32))
    cases["flat.npy"] = "2-D"
    write_raw(tmp_path / "short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (10, 4), }",
              b"\0" * 12)
    cases["short.npy"] = "truncated"
    bad = X.copy()
    bad[3, 2] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    cases["nan.npy"] = "NaN"
    for name, text in cases.items():
        done = run("cluster", tmp_path / name, "-o", tmp_path / "out.npy")
        assert done.returncode == 3, (name, done.stderr)
        assert text in done.stderr, (name, done.stderr)
    assert run("cluster", tmp_path / "missing.npy", "-o", tmp_path / "o.npy").returncode == 3
    np.save(tmp_path / "p.npy", np.array([0, 1, 1], dtype=np.int32))
    np.save(tmp_path / "c4.npy", np.array([0, 1, 1, 0], dtype=np.int32))
    done = run("refine", "--prev", tmp_path / "p.npy", "--cur", tmp_path / "c4.npy", "-o",
               tmp_path / "t.npy")
    assert done.returncode == 3 and "different lengths" in done.stderr
    np.save(tmp_path / "neg.npy", np.array([0, -5, 1], dtype=np.int32))
    done = run("refine", "--prev", tmp_path / "neg.npy", "--cur", tmp_path / "p.npy", "-o",
               tmp_path / "t.npy")
    assert done.returncode == 3 and "below -1" in done.stderr
    np.save(tmp_path / "fl.npy", np.array([0.0, 1.0, 1.0]))
    done = run("refine", "--prev", tmp_path / "fl.npy", "--cur", tmp_path / "p.npy", "-o",
               tmp_path / "t.npy")
    assert done.returncode == 3 and "integer labels" in done.stderr


def test_runtime_error_exits_1(tmp_path):
    np.save(tmp_path / "x.npy", unit_rows().astype(np.float32))
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "no" / "such" / "dir.npy")
    assert done.returncode == 1 and "cannot write" in done.stderr


def test_demo_runs_small():
    done = run("demo", "--n", "900", "--generations", "3")
    assert done.returncode == 0, done.stderr
    assert "what RLCC changed" in done.stdout
    # the summary says why soft targets put less mass on the argmax than hard labels
    assert ": a target is 0.9 x the hard label + 0.1 x S, and S spreads" in done.stdout
    assert done.stdout.count("\n  2 ") == 1  # the third generation's row
