"""bin/rlcc: good and malformed .npy files, and every exit code
(0 ok, 1 runtime error, 2 usage, 3 unreadable or invalid input); the
robustness of issue #11 (numbers refused rather than changed, FIFOs, errno
text, outputs that appear whole or not at all, progress on stderr)."""

import os
import pty
import resource
import select
import signal
import stat
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import rlcc

RLCC = Path(__file__).resolve().parents[2] / "bin" / "rlcc"


def run(*args, **kwargs):
    kwargs.setdefault("timeout", 120)
    return subprocess.run([str(RLCC), *map(str, args)], capture_output=True, text=True,
                          **kwargs)


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
    np.save(tmp_path / "nocols.npy", np.zeros((5, 0), dtype=np.float32))
    cases["nocols.npy"] = "features must have at least one column"
    # a dimension beyond int64 (strtoll would clamp it), with no data: N x 0
    write_raw(tmp_path / "huge.npy",
              "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 0), }")
    cases["huge.npy"] = "malformed shape"
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


# ---- issue #11: numbers are refused, never truncated, clamped or partly read ---------------

# (command and arguments, the option, its value, what the message says after the value)
BAD_NUMBERS = [
    ("cluster", "--k1", "4294967326", "is out of range (1 to 2147483647)"),
    ("cluster", "--k1", "2147483648", "is out of range (1 to 2147483647)"),
    ("cluster", "--k1", "0", "is out of range (1 to 2147483647)"),
    ("cluster", "--k1", "12abc", "is not an integer"),
    ("cluster", "--k1", "", "is not an integer"),
    ("cluster", "--k2", "-1", "is out of range (1 to 2147483647)"),
    ("cluster", "--k2", "31", "must not exceed --k1 '30' (the default)"),
    ("cluster", "--threads", "4294967297", "is out of range (0 to 1024)"),
    ("cluster", "--threads", "1025", "is out of range (0 to 1024)"),
    ("cluster", "--threads", "-1", "is out of range (0 to 1024)"),
    ("cluster", "--threads", "2.0", "is not an integer"),
    ("cluster", "--min-samples", "1234567890123456789012345", "is out of range (1 to 9223372036854775807)"),
    ("cluster", "--min-samples", "9223372036854775808", "is out of range (1 to 9223372036854775807)"),
    ("cluster", "--min-samples", "0", "is out of range (1 to 9223372036854775807)"),
    ("cluster", "--min-samples", "3.5", "is not an integer"),
    ("cluster", "--min-samples", " 3", "is not an integer"),
    ("cluster", "--min-samples", "3 ", "is not an integer"),
    ("cluster", "--eps", "0.5,,0.6,0.7", "has an empty value"),
    ("cluster", "--eps", "0.5,0.6,", "has an empty value"),
    ("cluster", "--eps", ",0.5", "has an empty value"),
    ("cluster", "--eps", "0.5,0.6", "has 2 values: give one (E) or three (T,N,L)"),
    ("cluster", "--eps", "0.1,0.2,0.3,0.4", "has more than three values"),
    ("cluster", "--eps", "nan", "is not a number"),
    ("cluster", "--eps", "0.5,nan,0.7", ": value 2 is not a number"),
    ("cluster", "--eps", "0", "is out of range (above 0, finite or inf)"),
    ("cluster", "--eps", "-0.1", "is out of range (above 0, finite or inf)"),
    ("cluster", "--eps", "1e-400", "is out of range (above 0, finite or inf)"),
    ("cluster", "--eps", "0.6x", "is not a number"),
    ("cluster", "--eps", " 0.6", "is not a number"),
    ("cluster", "--eps", "0.95", "must be below 0.9 with --metric jaccard"),
    ("refine", "--alpha", "1.5", "is out of range (0 to 1)"),
    ("refine", "--alpha", "-0.1", "is out of range (0 to 1)"),
    ("refine", "--alpha", "1e-50", "is out of range (0 to 1)"),
    ("refine", "--w", "nan", "is not a number"),
    ("refine", "--w", "0.5x", "is not a number"),
    ("refine", "--beta", "inf", "is out of range (0 to 1)"),
    ("demo", "--n", "99", "is out of range (100 to 1048576)"),
    ("demo", "--n", "1048577", "is out of range (100 to 1048576)"),
    ("demo", "--n", "1e3", "is not an integer"),
    ("demo", "--generations", "0", "is out of range (1 to 1000)"),
    ("demo", "--generations", "4294967297", "is out of range (1 to 1000)"),
]

COMMAND_ARGS = {
    "cluster": ["x.npy", "-o", "{out}"],
    "refine": ["--prev", "p.npy", "--cur", "c.npy", "-o", "{out}"],
    "demo": [],
}


@pytest.mark.parametrize("form", ["spaced", "equals"])
@pytest.mark.parametrize("command,option,value,says", BAD_NUMBERS)
def test_bad_numbers_exit_2_naming_option_and_value(tmp_path, command, option, value, says, form):
    out = tmp_path / "out.npy"
    given = [option, value] if form == "spaced" else [f"{option}={value}"]
    args = [a.format(out=out) for a in COMMAND_ARGS[command]]
    start = time.monotonic()
    done = run(command, *args, *given, timeout=20)
    assert done.returncode == 2, (given, done.stderr)
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"rlcc: {option}: '{value}'"), first
    assert says in first, first
    assert "usage: rlcc " + command in done.stderr and f"rlcc {command} --help" in done.stderr
    assert done.stdout == "" and not out.exists()
    assert time.monotonic() - start < 10  # refused before any input is read


def test_accepted_numbers_are_the_values_given(tmp_path):
    """The edges of each range are accepted and reach the library unchanged:
    min-samples at 2^63 - 1 makes every point noise, k1 = N is allowed."""
    X = unit_rows(n=60)
    np.save(tmp_path / "x.npy", X.astype(np.float32))
    out = tmp_path / "o.npy"
    done = run("cluster", tmp_path / "x.npy", "-o", out, "--metric", "euclidean", "--eps", "inf",
               "--min-samples", "9223372036854775807", "--threads", "1024")
    assert done.returncode == 0, done.stderr
    assert (np.load(out) == -1).all()
    done = run("cluster", tmp_path / "x.npy", "-o", out, "--k1=60", "--k2=60", "--eps=0x1.3p-1",
               "--threads=0", "--min-samples=+3")
    assert done.returncode == 0, done.stderr
    want = rlcc.pseudo_labels(X.astype(np.float32), k1=60, k2=60, eps=float.fromhex("0x1.3p-1"),
                              min_samples=3, outliers="keep", reliability=False, normalize=True)
    np.testing.assert_array_equal(np.load(out), want.labels)
    # k1 beyond N fits the option's range but not the data: the library's refusal, exit 3
    done = run("cluster", tmp_path / "x.npy", "-o", out, "--k1", "61", "--k2", "6")
    assert done.returncode == 3 and "k1: 61 must be in [1, n = 60]" in done.stderr


def test_option_forms(tmp_path):
    """getopt_long: --opt value and --opt=value, -o FILE and -oFILE, unique
    prefixes, options before and after the operand, -- before it."""
    X = lattice(200, 2, seed=5)
    np.save(tmp_path / "x.npy", X)
    want = rlcc.dbscan(X, 2.0, 5)
    for i, args in enumerate([
            ["x.npy", "-o", "a.npy", "--metric", "euclidean", "--eps", "2", "--min-samples", "5"],
            ["--metric=euclidean", "--eps=2", "--min-samples=5", "-oa.npy", "x.npy"],
            ["--metr", "euclidean", "--min=5", "--ep=2", "--output", "a.npy", "--", "x.npy"],
            ["-qo", "a.npy", "--metric", "euclidean", "--eps", "2", "--min-samples", "5", "x.npy"]]):
        out = tmp_path / f"{i}.npy"
        args = [str(out) if a == "a.npy" else str(tmp_path / a) if a == "x.npy" else
                f"-o{out}" if a == "-oa.npy" else a for a in args]
        done = run("cluster", *args)
        assert done.returncode == 0, (args, done.stderr)
        np.testing.assert_array_equal(np.load(out), want)
    for args, says in (
            # --k is infomap's own option since 1.7 (an exact name is never ambiguous)
            (["x.npy", "-o", "y.npy", "--k", "3"], "--k: '3' is an option of --method infomap, not of dbscan"),
            (["x.npy", "-o", "y.npy", "--met", "cosine"], "option '--met' is ambiguous (--metric, --method)"),
            (["x.npy", "-o", "y.npy", "--clu", "3"], "option '--clu' is ambiguous (--cluster-num, --clusters)"),
            (["x.npy", "-o", "y.npy", "--bogus=1"], "unknown option '--bogus=1'"),
            (["x.npy", "-o", "y.npy", "-x"], "unknown option '-x'"),
            (["x.npy", "-o", "y.npy", "--quiet=1"], "--quiet takes no value (got '--quiet=1')"),
            (["x.npy", "-o", "y.npy", "--eps"], "--eps needs a value"),
            (["x.npy", "-o"], "-o needs a value"),
            (["x.npy", "-o", ""], "-o: the file name is empty"),
            (["x.npy", "y.npy", "-o", "z.npy"], "more than one input file ('y.npy' after 'x.npy')"),
            (["x.npy", "-o", "y.npy", "--metric", "euclid\x01"],
             "--metric: 'euclid\\x01' must be jaccard, euclidean or cosine")):
        done = run("cluster", *args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith(f"rlcc: {says}\n"), done.stderr
    for command, args, says in (
            ("refine", ["--p", "x"], "option '--p' is ambiguous (--progress, --prev, --probs)"),
            ("refine", ["stray", "--prev", "p"], "unexpected argument 'stray'"),
            ("demo", ["--n", "200", "extra"], "unexpected argument 'extra'")):
        done = run(command, *args)
        assert done.returncode == 2 and done.stderr.startswith(f"rlcc: {says}\n"), done.stderr
    # help wins wherever it comes, before any error after it
    done = run("cluster", "--k1", "5", "--help", "--k1", "bad")
    assert done.returncode == 0 and "--threads T" in done.stdout


# ---- inputs: FIFOs and other non-regular files, errno text --------------------------------

def test_fifo_input_is_refused_at_once(tmp_path):
    np.save(tmp_path / "x.npy", unit_rows().astype(np.float32))
    np.save(tmp_path / "p.npy", np.array([0, 1, 1], dtype=np.int32))
    fifo = tmp_path / "fifo.npy"
    os.mkfifo(fifo)
    says = f"rlcc: {fifo}: is a FIFO (named pipe), not a regular file"
    for args in (["cluster", fifo, "-o", tmp_path / "o.npy"],
                 ["refine", "--prev", fifo, "--cur", tmp_path / "p.npy", "-o", tmp_path / "o.npy"]):
        # no writer: opening it for reading must not block
        start = time.monotonic()
        done = run(*args, timeout=10)
        assert done.returncode == 3 and done.stderr.startswith(says), done.stderr
        assert time.monotonic() - start < 5
        # a writer with a whole .npy file: refused the same way, not read
        writer = subprocess.Popen(["sh", "-c", f"cat '{tmp_path / 'x.npy'}' > '{fifo}'"],
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.2)
            done = run(*args, timeout=10)
            assert done.returncode == 3 and done.stderr.startswith(says), done.stderr
        finally:
            writer.kill()
            writer.wait()
    assert not (tmp_path / "o.npy").exists()
    for path, kind in ((tmp_path, "a directory"), ("/dev/null", "a character device")):
        done = run("cluster", path, "-o", tmp_path / "o.npy")
        assert done.returncode == 3, done.stderr
        assert done.stderr.startswith(f"rlcc: {path}: is {kind}, not a regular file"), done.stderr


def as_nobody():
    """preexec_fn that drops root, so that file permissions apply."""
    def drop():
        os.setgid(65534)
        os.setuid(65534)
    return drop if os.geteuid() == 0 else None


def run_as_nobody(folder, *args):
    """bin/rlcc as nobody. The checkout may sit where nobody cannot reach it
    (/root/librlcc in a fresh root), so a copy of bin/rlcc and its library,
    laid out as in the checkout (its rpath is $ORIGIN/../lib), runs from
    folder, which must be readable by everyone."""
    for sub in ("bin", "lib"):
        (folder / sub).mkdir(mode=0o755, exist_ok=True)
    shutil.copy2(RLCC, folder / "bin" / "rlcc")
    shutil.copy2(RLCC.parents[1] / "lib" / "librlcc.so.1", folder / "lib" / "librlcc.so.1")
    return subprocess.run([str(folder / "bin" / "rlcc"), *map(str, args)], capture_output=True,
                          text=True, timeout=120, preexec_fn=as_nobody())


def test_errno_text_for_files_that_cannot_be_opened(tmp_path):
    done = run("cluster", tmp_path / "missing.npy", "-o", tmp_path / "o.npy")
    assert done.returncode == 3
    assert done.stderr == f"rlcc: {tmp_path / 'missing.npy'}: cannot open: No such file or directory\n"
    done = run("refine", "--prev", tmp_path / "missing.npy", "--cur", tmp_path / "m2.npy", "-o",
               tmp_path / "o.npy")
    assert done.returncode == 3 and "missing.npy: cannot open: No such file or directory" in done.stderr
    # permissions, as an unprivileged user (root reads anything)
    shared = Path(tempfile.mkdtemp(prefix="rlcc-cli-"))
    tool = Path(tempfile.mkdtemp(prefix="rlcc-cli-tool-"))
    try:
        shared.chmod(0o755)
        tool.chmod(0o755)
        secret = shared / "secret.npy"
        np.save(secret, unit_rows().astype(np.float32))
        secret.chmod(0o000)
        done = run_as_nobody(tool, "cluster", secret, "-o", shared / "o.npy")
        assert done.returncode == 3, done.stderr
        assert done.stderr == f"rlcc: {secret}: cannot open: Permission denied\n"
        # an output folder it may not write to: nothing created, the errno text
        secret.chmod(0o644)
        done = run_as_nobody(tool, "cluster", secret, "-o", shared / "o.npy")
        assert done.returncode == 1, done.stderr
        assert done.stderr == (f"rlcc: cannot write {shared / 'o.npy'}: Permission denied "
                               f"(rlcc writes a temporary file in {shared}/ first)\n")
        assert sorted(p.name for p in shared.iterdir()) == ["secret.npy"]
    finally:
        shutil.rmtree(shared)
        shutil.rmtree(tool)


# ---- outputs: whole or not at all ------------------------------------------------------

def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def limit_file_size(size):
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def test_write_failures_leave_no_partial_output(tmp_path):
    np.save(tmp_path / "x.npy", unit_rows(n=3000).astype(np.float32))
    before = listing("/dev")
    done = run("cluster", tmp_path / "x.npy", "-o", "/dev/full")
    assert done.returncode == 1
    assert done.stderr == "rlcc: cannot write /dev/full: No space left on device\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and listing("/dev") == before
    # RLIMIT_FSIZE: the disk refuses the write in the middle of the data (12,096 bytes in
    # all); the old file stays as it was, no temporary file is left, and SIGXFSZ (ignored
    # by rlcc) does not kill it. (Below 1 KiB libomp itself cannot start: its
    # registration file in /dev/shm is refused.)
    old = tmp_path / "labels.npy"
    old.write_bytes(b"the previous labels")
    old.chmod(0o640)
    names = listing(tmp_path)
    for limit in (8192, 4096, 1024):
        for target in (old, tmp_path / "new.npy"):
            done = run("cluster", tmp_path / "x.npy", "-o", target, "--metric", "euclidean",
                       "--eps", "0.5", preexec_fn=limit_file_size(limit))
            assert done.returncode == 1, (limit, done.returncode, done.stderr)
            assert done.stderr.startswith(f"rlcc: cannot write {target}: File too large"), done.stderr
            assert done.stderr.rstrip().endswith(
                "(the file is unchanged)" if target == old else "(no file left behind)")
            assert old.read_bytes() == b"the previous labels"
            assert listing(tmp_path) == names
    # refine's dense targets, the same
    np.save(tmp_path / "p.npy", np.arange(3000, dtype=np.int32) % 7)
    done = run("refine", "--prev", tmp_path / "p.npy", "--cur", tmp_path / "p.npy", "-o", old,
               preexec_fn=limit_file_size(20000))
    assert done.returncode == 1 and "File too large (the file is unchanged)" in done.stderr
    assert old.read_bytes() == b"the previous labels"
    assert listing(tmp_path) == sorted(names + ["p.npy"])
    # and a write that succeeds replaces the file whole, keeping its mode
    done = run("cluster", tmp_path / "x.npy", "-o", old, "--metric", "euclidean", "--eps", "0.5")
    assert done.returncode == 0, done.stderr
    assert np.load(old).shape == (3000,) and stat.S_IMODE(old.stat().st_mode) == 0o640
    assert listing(tmp_path) == sorted(names + ["p.npy"])


def test_outputs_other_than_regular_files(tmp_path):
    np.save(tmp_path / "x.npy", unit_rows().astype(np.float32))
    # a symbolic link: the file it names is replaced, the link stays
    real = tmp_path / "real.npy"
    real.write_bytes(b"old")
    link = tmp_path / "link.npy"
    link.symlink_to(real)
    done = run("cluster", tmp_path / "x.npy", "-o", link)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and np.load(real).shape == (240,)
    # a folder is refused; /dev/null is written in place (and stays a device)
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path)
    assert done.returncode == 1 and done.stderr == f"rlcc: cannot write {tmp_path}: Is a directory\n"
    done = run("cluster", tmp_path / "x.npy", "-o", "/dev/null")
    assert done.returncode == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode)
    # a FIFO nobody reads: refused at once, never a hang
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    done = run("cluster", tmp_path / "x.npy", "-o", fifo, timeout=10)
    assert done.returncode == 1
    assert done.stderr == f"rlcc: cannot write {fifo}: a FIFO that no process has open for reading\n"
    # a FIFO somebody reads gets the whole file
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    time.sleep(0.2)
    done = run("cluster", tmp_path / "x.npy", "-o", fifo, timeout=30)
    data = reader.communicate(timeout=30)[0]
    assert done.returncode == 0, done.stderr
    assert data == (tmp_path / "real.npy").read_bytes()
    # an input error never touches the output
    real.write_bytes(b"old")
    done = run("cluster", tmp_path / "missing.npy", "-o", real)
    assert done.returncode == 3 and real.read_bytes() == b"old"


def test_interrupt_while_writing_leaves_no_partial_output(tmp_path):
    """SIGINT while the targets are being written: the temporary file is
    removed, the old file kept, and rlcc ends by the signal."""
    old = tmp_path / "targets.npy"
    old.write_bytes(b"the previous targets")
    for n in (3000, 6000, 12000, 24000):
        labels = np.arange(n, dtype=np.int32) % 4000  # n x 4000 float32 targets
        np.save(tmp_path / "p.npy", labels)
        # A terminal's Ctrl-C reaches a program that handles SIGINT; a test
        # run started in the background (make check &, nohup) hands its
        # children SIGINT ignored, which rlcc rightly leaves ignored. The
        # child gets the terminal's disposition.
        proc = subprocess.Popen([str(RLCC), "refine", "--prev", str(tmp_path / "p.npy"), "--cur",
                                 str(tmp_path / "p.npy"), "-o", str(old)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        seen = False
        while proc.poll() is None and not seen:
            seen = any(".rlcc-" in name for name in os.listdir(tmp_path))
            if seen:
                # freeze it, then look again: a temporary file still there
                # means it has not renamed yet, so the signal lands while it
                # writes, however loaded the machine is
                proc.send_signal(signal.SIGSTOP)
                seen = any(".rlcc-" in name for name in os.listdir(tmp_path))
                if seen:
                    proc.send_signal(signal.SIGINT)
                proc.send_signal(signal.SIGCONT)
                break
        proc.communicate(timeout=60)
        if seen and proc.returncode == -signal.SIGINT:
            assert old.read_bytes() == b"the previous targets"
            assert listing(tmp_path) == ["p.npy", "targets.npy"]
            return
        old.write_bytes(b"the previous targets")  # it finished first: try a bigger one
    pytest.fail("never caught rlcc while it was writing")


def test_refine_label_int32_max(tmp_path):
    """A label of 2^31 - 1 means 2^31 classes: counted in int64 (top + 1 once
    overflowed int32), and refused with a message, never allocated."""
    big = np.zeros(1000, dtype=np.int32)
    big[-1] = 2147483647
    np.save(tmp_path / "big.npy", big)
    np.save(tmp_path / "small.npy", np.arange(1000, dtype=np.int32) % 3)
    out = tmp_path / "t.npy"
    # dense targets of 1000 x 2^31 float32 (8 TiB): more than any machine has
    done = run("refine", "--prev", tmp_path / "small.npy", "--cur", tmp_path / "big.npy", "-o", out)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(
        f"rlcc: {tmp_path / 'big.npy'}: the targets would be 1000 x 2147483648 float32 "
        "(8000.0 GiB; the largest label is 2147483647), more than half of this machine's memory"), \
        done.stderr
    # as the previous labels, the library's budget (half of physical memory) refuses the
    # 16 GiB of 2^31 class sizes; on a machine with more than 32 GiB it would be spent
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if pages < 32 << 30:
        done = run("refine", "--prev", tmp_path / "big.npy", "--cur", tmp_path / "small.npy",
                   "-o", out)
        assert done.returncode == 1 and "memory limit exceeded" in done.stderr, done.stderr
    np.save(tmp_path / "big64.npy", np.array([0, 1, 2147483648], dtype=np.int64))
    done = run("refine", "--prev", tmp_path / "big64.npy", "--cur", tmp_path / "big64.npy", "-o",
               out)
    assert done.returncode == 3 and "label 2147483648 at 2 does not fit int32" in done.stderr
    assert not out.exists()


# ---- progress on stderr ------------------------------------------------------------------

def run_on_pty(*args):
    """bin/rlcc with stderr on a pseudo-terminal; returns (code, stdout, stderr)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(RLCC), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    out = proc.stdout.read().decode()
    proc.wait(timeout=60)
    return proc.returncode, out, b"".join(chunks).decode()


def test_progress_on_stderr(tmp_path):
    np.save(tmp_path / "x.npy", unit_rows().astype(np.float32))
    out = tmp_path / "o.npy"
    args = ["cluster", tmp_path / "x.npy", "-o", out]
    # not a terminal: nothing unless --progress
    done = run(*args)
    assert done.returncode == 0 and done.stderr == ""
    done = run(*args, "--progress")
    assert done.returncode == 0, done.stderr
    for stage in (f"rlcc: reading {tmp_path / 'x.npy'} 100%", "rlcc: clustering 240 x 16 (jaccard, one eps) 100%",
                  f"rlcc: writing {out} 100%"):
        assert stage in done.stderr, done.stderr
    assert done.stdout.startswith("240 samples:")
    raw = subprocess.run([str(RLCC), *map(str, args), "--progress"], capture_output=True,
                         timeout=120).stderr
    assert raw.startswith(b"\rrlcc: reading ") and raw.endswith(b" 100%\n")  # redrawn in place
    # the last of --quiet and --progress wins
    assert run(*args, "--progress", "--quiet").stderr == ""
    assert "100%" in run(*args, "-q", "--progress").stderr
    # a terminal: shown by default, never with --quiet
    code, stdout, stderr = run_on_pty(*args)
    assert code == 0 and "rlcc: clustering 240 x 16" in stderr and "100%" in stderr
    assert stdout.startswith("240 samples:")
    code, stdout, stderr = run_on_pty(*args, "--quiet")
    assert code == 0 and stderr == ""
    # an error ends the progress line before its message
    code, _, stderr = run_on_pty("cluster", tmp_path / "missing.npy", "-o", out)
    assert code == 3 and stderr.endswith("\r\nrlcc: " + str(tmp_path / "missing.npy") +
                                         ": cannot open: No such file or directory\r\n")
    # refine, and demo through the refiner's progress callback
    np.save(tmp_path / "p.npy", np.arange(240, dtype=np.int32) % 9)
    done = run("refine", "--prev", tmp_path / "p.npy", "--cur", tmp_path / "p.npy", "-o", out,
               "--progress")
    assert done.returncode == 0 and "rlcc: targets 240 x 9 100%" in done.stderr
    done = run("demo", "--n", "300", "--generations", "2", "--progress")
    assert done.returncode == 0, done.stderr
    for stage in ("generation 1 of 2: clustering", "generation 2 of 2: consensus",
                  "generation 2 of 2: targets", "rlcc: demo 100%  done"):
        assert stage in done.stderr, done.stderr
    assert "what RLCC changed" in done.stdout and "rlcc:" not in done.stdout
    assert run("demo", "--n", "300", "--generations", "1").stderr == ""


# ---- 1.7: cluster --method, and the proxies command --------------------------------

def test_cluster_methods_match_the_library(tmp_path):
    X = unit_rows(seed=3).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "im.npy", "--method", "infomap",
               "--k", "10", "--similarity", "0.4", "--cluster-num", "2", "--seed", "9")
    assert done.returncode == 0, done.stderr
    want = rlcc.pseudo_labels(X, method="infomap", infomap_k=10, min_sim=0.4, cluster_num=2,
                              seed=9, outliers="keep", normalize=True)
    np.testing.assert_array_equal(np.load(tmp_path / "im.npy"), want.labels)
    assert "infomap" not in done.stdout or "classes" in done.stdout
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "km.npy", "--method", "kmeans",
               "--clusters", "20", "--max-iter", "50", "--seed", "5")
    assert done.returncode == 0, done.stderr
    want = rlcc.pseudo_labels(X, method="kmeans", n_clusters=20, max_iter=50, seed=5,
                              normalize=True)
    np.testing.assert_array_equal(np.load(tmp_path / "km.npy"), want.labels)
    assert "0 noise" in done.stdout


@pytest.mark.parametrize("args, says", [
    (["--method", "louvain"], "--method: 'louvain' must be dbscan, infomap or kmeans"),
    (["--method", "infomap", "--eps", "0.5"], "--eps: '0.5' is an option of --method dbscan, not of infomap"),
    (["--method", "kmeans", "--k", "10"], "--k: '10' is an option of --method infomap, not of kmeans"),
    (["--clusters", "10"], "--clusters: '10' is an option of --method kmeans, not of dbscan"),
    (["--method", "kmeans", "--outliers", "keep"], "--outliers: 'keep' is an option of --method dbscan and infomap, not of kmeans"),
    (["--method", "infomap", "--algorithm", "grid"], "--algorithm: 'grid' is an option of --method dbscan"),
    (["--method", "infomap", "--similarity", "1.5"], "--similarity: '1.5' is out of range (-1 to 1)"),
    (["--method", "kmeans", "--clusters", "0"], "--clusters: '0' is out of range"),
    (["--method", "kmeans", "--seed", "-1"], "--seed: '-1' is out of range"),
    (["--seed", "4"], "--seed: '4' is an option of --method infomap and kmeans, not of dbscan"),
])
def test_cluster_method_usage_errors(tmp_path, args, says):
    np.save(tmp_path / "x.npy", unit_rows().astype(np.float32))
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "l.npy", *args)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert not (tmp_path / "l.npy").exists()


def test_cluster_kmeans_more_clusters_than_rows_exits_3(tmp_path):
    np.save(tmp_path / "x.npy", unit_rows(n=100).astype(np.float32))
    done = run("cluster", tmp_path / "x.npy", "-o", tmp_path / "l.npy", "--method", "kmeans")
    assert done.returncode == 3, done.stderr
    assert "kmeans_k: 500 must be in [1, n = 100]" in done.stderr


def test_proxies_match_the_library(tmp_path):
    rng = np.random.default_rng(2)
    labels = rng.integers(-1, 12, size=400)
    cameras = rng.choice([0, 3, 5, 9], size=400)
    X = rng.normal(size=(400, 24)).astype(np.float32)
    np.save(tmp_path / "l.npy", labels.astype(np.int64))
    np.save(tmp_path / "c.npy", cameras.astype(np.int32))
    np.save(tmp_path / "x.npy", X)
    for order in ("camera", "cluster"):
        for norm in ("double", "float32"):
            done = run("proxies", "--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c.npy",
                       "-o", tmp_path / "p.npy", "--table", tmp_path / "t.npy", "--features",
                       tmp_path / "x.npy", "--centroids", tmp_path / "cent.npy", "--order", order,
                       "--norm", norm, "-q")
            assert done.returncode == 0, done.stderr
            want = rlcc.camera_proxies(labels, cameras, X, order=order, norm=norm)
            np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), want.proxy)
            table = np.load(tmp_path / "t.npy")
            assert table.dtype == np.dtype("<i4") and table.shape == (len(want.cluster), 2)
            np.testing.assert_array_equal(table[:, 0], want.cluster)
            np.testing.assert_array_equal(table[:, 1], want.camera)
            cent = np.load(tmp_path / "cent.npy")
            assert cent.dtype == np.dtype("<f4")
            assert cent.tobytes() == want.centroids.tobytes()
            m = len(want.cluster)
            noise = int((labels == -1).sum())
            clusters = len(set(labels[labels >= 0].tolist()))
            cams = len(set(cameras[labels >= 0].tolist()))
            assert (f"400 samples: {m} proxies of {clusters} clusters over {cams} cameras, "
                    f"{noise} noise") in done.stdout
    # the ids alone
    done = run("proxies", "--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c.npy", "-o",
               tmp_path / "p2.npy")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "p2.npy"),
                                  rlcc.camera_proxies(labels, cameras).proxy)


def test_proxies_refusals(tmp_path):
    labels = np.array([0, 1, -1, 1], dtype=np.int32)
    np.save(tmp_path / "l.npy", labels)
    np.save(tmp_path / "c.npy", np.array([0, 0, 1], dtype=np.int32))
    np.save(tmp_path / "c4.npy", np.array([0, -2, 1, 1], dtype=np.int32))
    np.save(tmp_path / "x.npy", np.ones((3, 2), dtype=np.float32))
    np.save(tmp_path / "bad.npy", np.array([0, -5, 1, 1], dtype=np.int32))
    np.save(tmp_path / "c4ok.npy", np.array([0, 2, 1, 1], dtype=np.int64))
    cases = [
        (["--labels", tmp_path / "l.npy", "-o", tmp_path / "p.npy"], 2,
         "needs --labels, --cameras and -o PROXY.npy"),
        (["--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c.npy", "-o",
          tmp_path / "p.npy", "--features", tmp_path / "x.npy"], 2,
         "needs both --features and --centroids, or neither"),
        (["--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c.npy", "-o",
          tmp_path / "p.npy", "--norm", "float32"], 2, "--norm: 'float32' needs --features and --centroids"),
        (["--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c.npy", "-o",
          tmp_path / "p.npy", "--order", "time"], 2, "--order: 'time' must be camera or cluster"),
        (["--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c.npy", "-o",
          tmp_path / "p.npy"], 3, "different lengths (4 and 3)"),
        (["--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c4.npy", "-o",
          tmp_path / "p.npy"], 3, "cameras"),
        (["--labels", tmp_path / "bad.npy", "--cameras", tmp_path / "c4.npy", "-o",
          tmp_path / "p.npy"], 3, "labels"),
        (["--labels", tmp_path / "l.npy", "--cameras", tmp_path / "c4ok.npy", "-o",
          tmp_path / "p.npy", "--features", tmp_path / "x.npy", "--centroids",
          tmp_path / "cent.npy"], 3, "features must be N x D"),
    ]
    for args, code, says in cases:
        done = run("proxies", *args)
        assert done.returncode == code, (args, done.stderr)
        assert says in done.stderr, (args, done.stderr)
        assert not (tmp_path / "p.npy").exists()
