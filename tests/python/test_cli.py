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
    assert rlcc.__version__ in run("--version").stdout


@pytest.mark.parametrize("args", [
    [], ["frobnicate"], ["cluster"], ["cluster", "x.npy"], ["cluster", "x.npy", "-o"],
    ["cluster", "x.npy", "-o", "y.npy", "--eps", "0.5,0.6"], ["cluster", "x.npy", "-o", "y.npy",
    "--metric", "manhattan"], ["cluster", "x.npy", "-o", "y.npy", "--k1", "thirty"],
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
