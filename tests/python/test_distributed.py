"""rlcc.distributed.knn across processes, byte for byte against rlcc.knn on
the whole matrix.

torch.distributed worlds of 2 and 3 ranks (gloo over loopback, spawned
with torch.multiprocessing, a file:// store) run a list of cases each:
uneven slices, a rank with no rows, adversarial rows (duplicates, last-bit
neighbours, a large common offset, a small integer grid, re-ID-like
clusters), numpy and torch inputs, per-rank options; refused and
inconsistent input (another d on one rank, a NaN on one rank, k > N, k
disagreeing) raises the same InvalidArgument on every rank, and the group is
still usable afterwards; a rank failing mid-call raises its own error and
the others RemoteError. A rank that dies (os._exit) or stalls mid-call makes
the others raise within the timeout. The same cases over mpi4py under
``mpirun --oversubscribe`` with 3, 4 and 5 ranks (4 and 5 forward visiting
blocks over two steps).
"""

import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

import rlcc
from test_knn_exact import (duplicated_rows, grid_rows, last_bit_rows, mixed_rows,
                            offset_rows, reid_rows)

HERE = Path(__file__).resolve().parent
WORKER = HERE / "distributed_worker.py"


def gaussian_rows(rng, n, d):
    return rng.normal(size=(n, d)).astype(np.float32)


def near_tie_rows(rng, n, d):
    """Duplicates and last-bit neighbours of a few rows (ties at distance 0
    and a few ulp apart, across every block boundary)."""
    X = last_bit_rows(rng, n, d)
    X[rng.integers(0, n, n // 4)] = X[rng.integers(0, n, n // 4)]
    return X


def split(X, sizes):
    assert sum(sizes) == len(X), (sizes, len(X))
    cuts = np.cumsum([0] + list(sizes))
    return [X[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


# (name, kind, seed, sizes per rank, d, k, per-rank options or None)
TORCH_CASES = {
    2: [
        ("gauss", gaussian_rows, 1, [100, 200], 16, 10, None),
        ("dups", duplicated_rows, 2, [250, 7], 8, 20, [{}, {"n_threads": 1}]),
        ("empty-rank0", last_bit_rows, 3, [0, 400], 32, 5, None),
        ("offset-torch", offset_rows, 4, [120, 80], 4, 1, [{"_as": "torch"},
                                                            {"_as": "torch64"}]),
        ("grid", grid_rows, 5, [333, 167], 64, 15, [{"max_bytes": 1 << 26}, {}]),
    ],
    3: [
        ("reid", reid_rows, 11, [250, 50, 300], 24, 12, None),
        ("empty-middle", mixed_rows, 12, [200, 0, 133], 10, 7, [{}, {"_as": "torch"}, {}]),
        ("ties", near_tie_rows, 13, [80, 80, 80], 5, 20, None),
        ("strided", last_bit_rows, 14, [10, 100, 100], 48, 3,
         [{"n_threads": 2}, {"_as": "strided"}, {"n_threads": 1, "max_bytes": 1 << 25}]),
        ("k-is-n-small", grid_rows, 15, [3, 1, 2], 4, 6, None),
    ],
}
MPI_CASES = {
    3: TORCH_CASES[3][:4],
    4: [("four", near_tie_rows, 21, [60, 0, 150, 90], 12, 9, None),
        ("four-offset", offset_rows, 22, [50, 51, 52, 53], 6, 16, None)],
    5: [("five", mixed_rows, 31, [40, 100, 0, 70, 30], 20, 11, None),
        ("five-reid", reid_rows, 32, [120, 120, 120, 120, 119], 8, 4, None)],
}


def build(cases, world):
    """Per-rank case lists for the workers, and what rlcc.knn gives on the
    whole matrix."""
    per_rank = [[] for _ in range(world)]
    wants = {}
    for name, kind, seed, sizes, d, k, options in cases:
        rng = np.random.default_rng(seed)
        X = kind(rng, sum(sizes), d)
        wants[name] = (split(X, sizes), rlcc.knn(X, k))
        for rank, rows in enumerate(split(X, sizes)):
            per_rank[rank].append((name, rows, k, dict((options or [{}] * world)[rank])))
    return per_rank, wants


def error_cases(world):
    """Cases every rank must refuse alike (name -> message fragment), and one
    that fails mid-call on rank 1 only."""
    rng = np.random.default_rng(99)
    sizes = [40 + 7 * r for r in range(world)]
    X = gaussian_rows(rng, sum(sizes), 8)
    parts = split(X, sizes)
    per_rank = [[] for _ in range(world)]
    last = world - 1
    for rank in range(world):
        rows = parts[rank]
        wider = np.hstack([rows, rows[:, :1]])
        nan = rows.copy()
        if rank == last:
            nan[5, 2] = np.nan
        per_rank[rank] += [
            ("bad-d", wider if rank == 1 else rows, 4, {}),
            ("bad-nan", nan, 4, {}),
            ("bad-k-above-n", rows, sum(sizes) + 1, {}),
            ("bad-k-disagrees", rows, 5 if rank == last else 4, {}),
            ("bad-k-zero", rows, 0, {}),
            ("mid-memory", rows, 4, {"max_bytes": 1024} if rank == 1 else {}),
            ("after", rows, 4, {}),
        ]
    expected = {
        "bad-d": "rank 1 has d = 9, rank 0 has d = 8",
        "bad-nan": f"rank {last}: x: row 5 has NaN at column 2",
        "bad-k-above-n": f"k: {sum(sizes) + 1} exceeds the {sum(sizes)} rows of all ranks",
        "bad-k-disagrees": f"rank {last} has k = 5, rank 0 has k = 4",
        "bad-k-zero": "rank 0: k: 0",
    }
    return per_rank, expected, (parts, rlcc.knn(X, 4))


def run_torch_world(tmp_path, world, per_rank, fault=None, deadline=90.0, target="torch_rank"):
    """Spawns the ranks and collects their reports: {(rank, name): report},
    the exit codes, and when each report arrived (seconds since the start)."""
    import queue as queue_module

    import torch.multiprocessing as mp

    import distributed_worker

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    store = tmp_path / f"store-{world}-{time.monotonic_ns()}"
    procs = [ctx.Process(target=getattr(distributed_worker, target),
                         args=(rank, world, f"file://{store}", per_rank[rank], queue, fault),
                         daemon=True) for rank in range(world)]
    started = time.monotonic()
    for p in procs:
        p.start()
    reports, arrived, finished = {}, {}, set()
    end = started + deadline
    while len(finished) < world and time.monotonic() < end:
        try:
            report = queue.get(timeout=0.2)
        except queue_module.Empty:
            if all(not p.is_alive() for p in procs):
                try:  # the last words of a rank that just ended
                    report = queue.get(timeout=1.0)
                except queue_module.Empty:
                    break
            else:
                continue
        rank, name, what = report[:3]
        if name is None:
            finished.add(rank)
            assert what != "crashed", report[3]
        else:
            reports[(rank, name)] = report
            arrived[(rank, name)] = time.monotonic() - started
        if fault is not None and len(finished | {fault[0]}) == world:
            break  # every healthy rank is done: the faulty one need not be waited for
    for p in procs:
        p.join(timeout=5 if fault is None else 0.5)
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
    return reports, [p.exitcode for p in procs], arrived


def check_ok(reports, wants, world, name):
    parts, (want_i, want_d) = wants[name]
    offset = 0
    for rank in range(world):
        report = reports.get((rank, name))
        assert report is not None, f"{name}: rank {rank} sent nothing"
        assert report[2] == "ok", f"{name}: rank {rank}: {report[3:5]}"
        _, _, _, i_dtype, shape, i_bytes, d_dtype, d_bytes, _ = report
        n = len(parts[rank])
        assert (i_dtype, tuple(shape), d_dtype) == ("<i8", (n, want_i.shape[1]), "<f4")
        assert i_bytes == want_i[offset:offset + n].tobytes(), f"{name}: rank {rank} indices"
        assert d_bytes == want_d[offset:offset + n].tobytes(), f"{name}: rank {rank} sqdist"
        offset += n


def check_errors(reports, expected, world, after):
    for name, fragment in expected.items():
        messages = set()
        for rank in range(world):
            report = reports[(rank, name)]
            assert report[2:4] == ("error", "InvalidArgument"), (name, rank, report[2:5])
            assert fragment in report[4], (name, rank, report[4])
            messages.add(report[4])
        assert len(messages) == 1, (name, messages)  # the same message on every rank
    # rank 1 fails after the header check: its own error, the others RemoteError
    for rank in range(world):
        report = reports[(rank, "mid-memory")]
        assert report[2] == "error", report
        if rank == 1:
            assert report[3] == "OutOfMemory", report
        else:
            assert report[3] == "RemoteError" and "rank 1: OutOfMemory" in report[4], report
    check_ok(reports, {"after": after}, world, "after")  # and the group works on


@pytest.mark.parametrize("world", [2, 3])
def test_torch_group_gives_rlcc_knn_bytes(tmp_path, world):
    pytest.importorskip("torch")
    per_rank, wants = build(TORCH_CASES[world], world)
    bad, expected, after = error_cases(world)
    for rank in range(world):
        per_rank[rank] += bad[rank]
    if world == 3:  # a subgroup of ranks 1 and 2 (group ranks 0 and 1: global ranks differ)
        rng = np.random.default_rng(41)
        X = duplicated_rows(rng, 150, 9)
        sub_parts = split(X, [90, 60])
        per_rank[0].append(("subgroup", X[:1], 6, {"_subgroup": (1, 2)}))
        for rank in (1, 2):
            per_rank[rank].append(("subgroup", sub_parts[rank - 1], 6, {"_subgroup": (1, 2)}))
    reports, codes, _ = run_torch_world(tmp_path, world, per_rank)
    assert codes == [0] * world, codes
    for name in wants:
        check_ok(reports, wants, world, name)
    check_errors(reports, expected, world, after)
    if world == 3:
        assert reports[(0, "subgroup")][3:5] == ("LookupError", "not a member")
        sub_reports = {(rank - 1, name): report for (rank, name), report in reports.items()
                       if rank > 0}
        check_ok(sub_reports, {"subgroup": (sub_parts, rlcc.knn(X, 6))}, 2, "subgroup")


@pytest.mark.parametrize("fault", ["exit", "stall"])
def test_torch_dead_or_stalled_rank_ends_in_an_error_not_a_hang(tmp_path, fault):
    """Rank 1 of 3 dies (os._exit) or stalls inside its first update_pair; the
    other ranks raise within the 5 s timeout (a dead peer's closed
    connections at once, a stalled one at the deadline)."""
    pytest.importorskip("torch")
    world, timeout = 3, 5.0
    rng = np.random.default_rng(7)
    parts = split(gaussian_rows(rng, 300, 16), [100, 100, 100])
    per_rank = [[("victim", parts[rank], 5, {"timeout": timeout})] for rank in range(world)]
    started = time.monotonic()
    reports, codes, arrived = run_torch_world(tmp_path, world, per_rank, fault=(1, fault),
                                              deadline=40.0)
    elapsed = time.monotonic() - started
    for rank in (0, 2):
        report = reports.get((rank, "victim"))
        assert report is not None, f"rank {rank} reported nothing in {elapsed:.1f} s"
        assert report[2] == "error", report
        kind, message, seconds = report[3:6]
        print(f"{fault}: rank {rank} raised {kind} after {seconds:.2f} s in the call: {message}")
        if fault == "exit":
            assert kind in ("CommError", "Timeout"), report
            assert seconds < timeout + 2.0, report
        else:
            assert kind == "Timeout", report
            assert timeout - 0.5 < seconds < timeout + 3.0, report
        assert message.startswith(f"rank {rank}: "), message
        assert re.search(r"waiting for rank 1\b", message), message  # who did not answer
    if fault == "exit":
        assert codes[1] == 1, codes


def mpirun_reports(mpirun, mode, path, out, world, session, timeout):
    """Runs distributed_worker.py in mode over the cases pickled at path on
    world ranks under mpirun, and returns the reports it pickled to out,
    keyed (rank, case name), once every rank said it never imported torch.
    session is the test's own session directory and shared-memory place (a
    short path: PMIx puts unix sockets there), so another mpirun on the host
    (a parallel make check) cannot meet them (a Bus error in vader once)."""
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", PYTHONPATH=os.pathsep.join(sys.path))
    command = [mpirun, "--oversubscribe", "--bind-to", "none", "--mca", "btl", "self,vader,tcp",
               "--mca", "orte_tmpdir_base", session, "--mca", "btl_vader_backing_directory",
               session, "-np", str(world), sys.executable, str(WORKER), mode, str(path)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (world, done.stdout[-2000:], done.stderr[-4000:])
    with open(out, "rb") as f:
        reports = {(r[0], r[1]): r for r in pickle.load(f)}
    for rank in range(world):
        assert reports[(rank, None)][3] is False  # torch was never imported
    return reports


def test_mpi4py_communicator_gives_rlcc_knn_bytes(tmp_path):
    pytest.importorskip("mpi4py")
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("no mpirun")
    worlds, wants, expected_errors = {}, {}, {}
    for world, cases in MPI_CASES.items():
        per_rank, wants[world] = build(cases, world)
        bad, expected_errors[world], wants[world]["after"] = error_cases(world)
        for rank in range(world):
            per_rank[rank] += bad[rank]
        # (name, rows of each rank, k of each rank, options of each rank); no torch
        # tensors here: the ranks must never import torch
        worlds[world] = [
            (name, [per_rank[r][i][1] for r in range(world)],
             [per_rank[r][i][2] for r in range(world)],
             [{key: value for key, value in per_rank[r][i][3].items()
               if (key, value) not in (("_as", "torch"), ("_as", "torch64"))}
              for r in range(world)])
            for i, (name, _, _, _) in enumerate(per_rank[0])]
    path = tmp_path / "cases.pkl"
    with open(path, "wb") as f:
        pickle.dump(worlds, f)
    session = tempfile.mkdtemp(prefix="rlmpi")
    try:
        for world in MPI_CASES:
            reports = mpirun_reports(mpirun, "mpi", path, f"{path}.{world}.out", world, session,
                                     timeout=60)
            for name, _, _, _, _, _, _ in MPI_CASES[world]:
                check_ok(reports, wants[world], world, name)
            check_errors(reports, expected_errors[world], world,
                         wants[world]["after"])
    finally:
        shutil.rmtree(session, ignore_errors=True)


def test_import_rlcc_imports_neither_torch_nor_mpi4py():
    code = ("import sys, rlcc, rlcc.distributed; assert rlcc.distributed.knn; "
            "print('torch' in sys.modules, 'mpi4py' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_local_refusals_without_a_group():
    """What is refused before any collective: both group and comm; a torch
    default group that does not exist."""
    with pytest.raises(rlcc.InvalidArgument, match="not both"):
        rlcc.distributed.knn(np.zeros((2, 2), np.float32), 1, group=object(), comm=object())
    pytest.importorskip("torch")
    import torch.distributed as dist

    if not dist.is_initialized():
        with pytest.raises(rlcc.InvalidArgument, match="not initialised"):
            rlcc.distributed.knn(np.zeros((2, 2), np.float32), 1)


# ---- rlcc.distributed.pseudo_labels ---------------------------------------------------------

def reid_identities(rng, n, d, identities, noise):
    """Unit rows around identity directions with noise: DBSCAN on the
    Jaccard distance finds clusters and leaves outliers."""
    from test_jaccard import reid_like

    return reid_like(rng, n, d, identities=identities, noise=noise, duplicates=n // 50)


# (name, seed, sizes per rank, d, identities, noise, kwargs, per-rank extra kwargs or None)
PSEUDO_CASES = {
    2: [
        ("pl-default", 51, [170, 230], 32, 30, 0.9, {}, None),
        ("pl-keep-empty0", 52, [0, 330], 16, 25, 0.8,
         {"reliability": False, "outliers": "keep"}, None),
        ("pl-sq-one-eps", 53, [251, 100], 24, 28, 0.9,
         {"eps": 0.6, "reliability": False, "variant": "sqeuclidean", "k2": 4,
          "min_samples": 3}, [{"n_threads": 1}, {}]),
    ],
    3: [
        ("pl3-default", 61, [200, 0, 250], 32, 35, 0.9, {}, [{}, {}, {"n_threads": 1}]),
        ("pl3-threshold", 62, [100, 150, 160], 64, 30, 1.0,
         {"threshold": 0.3, "guard": False, "k1": 20}, None),
        ("pl3-singleton", 63, [120, 300, 37], 16, 40, 0.8,
         {"reliability": False, "cutoff": 1.0, "eps": (0.5, 0.55, 0.6)},
         [{"max_bytes": 1 << 28}, {}, {}]),
    ],
}


def pseudo_build(cases, world):
    per_rank = [[] for _ in range(world)]
    wants = {}
    for name, seed, sizes, d, identities, noise, kwargs, extra in cases:
        X = reid_identities(np.random.default_rng(seed), sum(sizes), d, identities, noise)
        want = rlcc.pseudo_labels(X, **kwargs)
        assert 1 < want.n_classes < len(X) // 2, (name, want.n_classes)  # clusters found
        wants[name] = want
        for rank, rows in enumerate(split(X, sizes)):
            per_rank[rank].append((name, rows, {**kwargs, **(extra or [{}] * world)[rank]}))
    return per_rank, wants


def pseudo_error_cases(world):
    """(per-rank cases, {name: message fragment}): refused alike on every
    rank; then a good case shows the group still works."""
    rng = np.random.default_rng(77)
    sizes = [60 + 10 * r for r in range(world)]
    X = reid_identities(rng, sum(sizes), 16, 10, 0.8)
    parts = split(X, sizes)
    last = world - 1
    per_rank = [[] for _ in range(world)]
    for rank in range(world):
        rows = parts[rank]
        scaled = rows.copy()
        if rank == 1:
            scaled[3] *= 2
        per_rank[rank] += [
            ("bad-eps", rows, {"eps": (0.58, 0.61, 0.62) if rank == last else (0.58, 0.6, 0.62)}),
            ("bad-min-samples", rows, {"min_samples": 5 if rank == 1 else 4}),
            ("bad-method", rows, {"method": "kmeans"} if rank == 0 else {}),
            ("bad-metric", rows, {"metric": "cosine"}),
            ("bad-normalize", rows, {"normalize": True}),
            ("bad-knn", rows, {"knn": np.zeros((len(rows), 30), np.int64)}),
            ("bad-unit", scaled, {}),
            ("bad-k1", rows, {"k1": sum(sizes) + 1}),
            ("bad-eps-cutoff", rows, {"eps": 0.95, "reliability": False}),
            ("bad-argument", rows, {"colour": "red"}),
            ("pl-mid-memory", rows, {"max_bytes": 1024} if rank == 1 else {}),
            ("pl-after", rows, {"reliability": False}),
        ]
    eps_text = (f"rank {last} has eps = (0.58, 0.61, 0.62), rank 0 has eps = "
                "(0.58, 0.6, 0.62)")
    expected = {
        "bad-eps": eps_text,
        "bad-min-samples": "rank 1 has min_samples = 5, rank 0 has min_samples = 4",
        "bad-method": "rank 0: method, metric: 'kmeans', 'jaccard'",
        "bad-metric": "metric: 'dbscan', 'cosine'",
        "bad-normalize": "normalize: rlcc.distributed.pseudo_labels takes the rows as they are",
        "bad-knn": "knn: rlcc.distributed.pseudo_labels computes the kNN lists itself",
        "bad-unit": "rank 1: x: row 3 has norm 2",
        "bad-k1": f"k1: {sum(sizes) + 1} exceeds the {sum(sizes)} rows of all ranks",
        "bad-eps-cutoff": "eps: 0.95 is not below the Jaccard cutoff",
        "bad-argument": "unexpected argument(s) colour",
    }
    return per_rank, expected, {"pl-after": rlcc.pseudo_labels(X, reliability=False)}


def check_pseudo(reports, wants, world):
    for name, want in wants.items():
        for rank in range(world):
            report = reports.get((rank, name))
            assert report is not None, f"{name}: rank {rank} sent nothing"
            assert report[2] == "ok", f"{name}: rank {rank}: {report[3:5]}"
            _, _, _, dtype, labels, n_classes, threshold, centroids, _ = report
            assert dtype == "<i4" and labels == want.labels.tobytes(), f"{name}: rank {rank}"
            assert (n_classes, threshold) == (want.n_classes, want.threshold), (name, rank)
            assert centroids == ("<f4", want.centroids.shape, want.centroids.tobytes()), \
                f"{name}: rank {rank} centroids"


def check_pseudo_errors(reports, expected, world):
    for name, fragment in expected.items():
        messages = set()
        for rank in range(world):
            report = reports[(rank, name)]
            assert report[2:4] == ("error", "InvalidArgument"), (name, rank, report[2:5])
            assert fragment in report[4], (name, rank, report[4])
            messages.add(report[4])
        assert len(messages) == 1, (name, messages)  # the same message on every rank
    # rank 1 fails after the header check: its own error, the others RemoteError
    for rank in range(world):
        report = reports[(rank, "pl-mid-memory")]
        assert report[2] == "error", report
        if rank == 1:
            assert report[3] == "OutOfMemory", report
        else:
            assert report[3] == "RemoteError" and "rank 1: OutOfMemory" in report[4], report


@pytest.mark.parametrize("world", [2, 3])
def test_torch_pseudo_labels_give_rlcc_pseudo_labels_bytes(tmp_path, world):
    pytest.importorskip("torch")
    if not rlcc._native.HAS_BLOCK_JACCARD:
        pytest.skip("librlcc without the 1.8 block Jaccard")
    per_rank, wants = pseudo_build(PSEUDO_CASES[world], world)
    bad, expected, after = pseudo_error_cases(world)
    for rank in range(world):
        per_rank[rank] += bad[rank]
    reports, codes, arrived = run_torch_world(tmp_path, world, per_rank,
                                              target="torch_pseudo_rank")
    assert codes == [0] * world, codes
    check_pseudo(reports, wants, world)
    check_pseudo_errors(reports, expected, world)
    check_pseudo(reports, after, world)


def test_mpi4py_pseudo_labels_give_rlcc_pseudo_labels_bytes(tmp_path):
    pytest.importorskip("mpi4py")
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("no mpirun")
    if not rlcc._native.HAS_BLOCK_JACCARD:
        pytest.skip("librlcc without the 1.8 block Jaccard")
    world = 3
    cases = PSEUDO_CASES[3][:2] + [("pl-mpi-keep", 64, [90, 0, 260], 24, 30, 0.9,
                                    {"reliability": False, "outliers": "keep"}, None)]
    per_rank, wants = pseudo_build(cases, world)
    bad, expected, after = pseudo_error_cases(world)
    for rank in range(world):
        per_rank[rank] += bad[rank]
    wants.update(after)
    payload = [(per_rank[0][i][0], [per_rank[r][i][1] for r in range(world)],
                [per_rank[r][i][2] for r in range(world)]) for i in range(len(per_rank[0]))]
    path = tmp_path / "pseudo.pkl"
    with open(path, "wb") as f:
        pickle.dump(payload, f)
    session = tempfile.mkdtemp(prefix="rlmpi")
    try:
        reports = mpirun_reports(mpirun, "mpi-pseudo", path, f"{path}.out", world, session,
                                 timeout=90)
        check_pseudo(reports, wants, world)
        check_pseudo_errors(reports, expected, world)
    finally:
        shutil.rmtree(session, ignore_errors=True)
