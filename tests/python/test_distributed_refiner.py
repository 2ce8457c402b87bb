"""rlcc.distributed.Refiner across processes, byte for byte against
rlcc.Refiner on the whole matrix.

torch.distributed worlds of 2 and 3 ranks (gloo, spawned with
torch.multiprocessing as in test_distributed.py) run scripts of steps and
targets: uneven blocks that change between generations, ranks with no rows,
three generations at beta 0, 0.5 and 1, a given threshold, reliability off,
a checkpoint reloaded between generations; after every step each rank's
generation (labels of all N rows, n_classes, threshold, centroids) and the
targets of random per-rank batches (0 to 60 global rows, duplicates, a rank
with none) are the single-process oracle's bytes. Faults: a NaN on one rank
(the same InvalidArgument everywhere), a rank out of memory mid-step and a
rank whose step_labels raises (its own error, RemoteError on the others,
every refiner left as it was, then the script goes on equal to the oracle),
options, N or d disagreeing, a bad batch index on one rank, a rank restored
from an older checkpoint (its generation refused by targets and step on
every rank), a rank that stalls in targets (Timeout naming it). The same scripts over mpi4py under
mpirun at 3 ranks; the local refusals in-process.
"""

import pickle
import shutil
import tempfile

import numpy as np
import pytest

import rlcc
from test_distributed import mpirun_reports, run_torch_world, split

pytestmark = pytest.mark.skipif(
    not (rlcc._native.HAS_REFINER_LABELS and rlcc._native.HAS_BLOCK_JACCARD),
    reason="librlcc without the 1.8 block Jaccard and rlcc_refiner_step_labels")

D = 32
REFINER_ONLY = ("alpha", "w", "beta", "scale", "batch")


def generation_rows(seed, n, t):
    """Generation t's rows: re-ID-like unit rows around n / 12 identities
    (duplicates included), new noise each generation, so the classes and
    the outliers change while the kept reliability threshold stays."""
    from test_jaccard import reid_like

    base = reid_like(np.random.default_rng(seed), n, D, identities=n // 12, noise=0.9,
                     duplicates=n // 50)
    x = base + 0.04 * np.random.default_rng(1000 * seed + t).normal(size=base.shape)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def batches(seed, world, n, empty_rank=None):
    """Per-rank mini-batches of global rows: 0 to 60 rows, duplicates
    allowed, ``empty_rank`` asking for none."""
    rng = np.random.default_rng(seed)
    out = []
    for rank in range(world):
        size = 0 if rank == empty_rank else int(rng.integers(1, 61))
        out.append(rng.integers(0, n, size).astype(np.int64))
    return out


def nan_at(rows):
    rows = rows.copy()
    rows[5, 2] = np.nan
    return rows


# A script: ("new", kwargs or per-rank kwargs); ("step", t, sizes, expect, per-rank step
# kwargs, per-rank corruption); ("targets", seed, expect, empty rank, per-rank bad rows);
# ("reload",); ("save",); ("restore", rank); ("fail_step_labels", rank); ("stall", rank,
# seconds). expect None: the oracle's bytes; ("same", fragment): the same InvalidArgument
# on every rank; ("own", rank, class, fragment): that rank's own error, RemoteError naming
# it on the others; ("timeout", rank): every other rank raises Timeout naming it.
def good_script(kwargs, sizes, reload_after=None):
    script = [("new", kwargs)]
    for t, s in enumerate(sizes):
        script.append(("step", t, s, None, None, None))
        script.append(("targets", 10 * t + 1, None, t % len(s), None))
        script.append(("targets", 10 * t + 2, None, None, None))
        if reload_after == t:
            script.append(("reload",))
            script.append(("targets", 10 * t + 3, None, None, None))
    return script


def fault_script(world, kwargs):
    last = world - 1
    even = [300 // world + (1 if r < 300 % world else 0) for r in range(world)]
    return [
        ("new", kwargs),
        ("step", 0, even, None, None, None),
        ("step", 1, even, ("same", f"rank {last}: x: row 5 has NaN at column 2"), None,
         {last: nan_at}),
        ("step", 1, even, ("own", 1, "OutOfMemory", ""), {1: {"max_bytes": 1024}}, None),
        ("fail_step_labels", 0),
        ("step", 1, even, ("own", 0, "RuntimeError", "injected step_labels failure"), None,
         None),
        ("targets", 5, None, 1, None),       # generation 1 still: every refiner as it was
        ("step", 1, even, None, None, None),
        ("step", 2, even[:-1] + [even[-1] - 1], ("same", "the ranks hold 299 rows of d = 32; "
                                                 "the refiner has n = 300, d = 32"), None, None),
        ("step", 2, even, None, None, None),
        ("save",),
        ("targets", 6, None, 0, None),
        ("targets", 7, ("same", f"rank {last}: rows: entry 0 is 300, outside [0, 300)"),
         None, {last: np.array([300, 1])}),
        ("targets", 8, None, None, None),
        ("step", 3, even, None, None, None),
        ("targets", 9, None, None, None),
        ("restore", 1),  # rank 1 goes back to generation 3, the others stay at 4
        ("targets", 10, ("same", "refiner: generations differ across ranks (rank 1 has 3"),
         None, None),
        ("step", 3, even, ("same", "rank 1 has generation = 3, rank 0 has generation = 4"),
         None, None),
    ]


def disagree_script(world):
    kwargs = [dict(k1=20, k2=4, beta=0.0) for _ in range(world)]
    kwargs[1]["alpha"] = 0.75
    even = [300 // world + (1 if r < 300 % world else 0) for r in range(world)]
    return [("new", kwargs),
            ("step", 0, even, ("same", "rank 1 has alpha = 0.75, rank 0 has alpha = 0.8999"),
             None, None)]


CASES = {
    2: [
        ("r2-beta0", 71, good_script(dict(k1=20, k2=4, beta=0.0),
                                     [[170, 130], [0, 300], [299, 1]], reload_after=1)),
        ("r2-beta1-keep", 72, good_script(dict(k1=20, k2=4, beta=1.0, reliability=False,
                                               outliers="keep"), [[0, 300]] * 3)),
        ("r2-faults", 73, fault_script(2, dict(k1=20, k2=4, beta=0.5))),
        ("r2-disagree", 74, disagree_script(2)),
        # last: the group is broken afterwards
        ("r2-stall", 75, [("new", dict(k1=20, k2=4, beta=0.0, timeout=3.0)),
                          ("step", 0, [150, 150], None, None, None),
                          ("step", 1, [150, 150], None, None, None),
                          ("stall", 1, 6.0)]),
    ],
    3: [
        ("r3-beta0", 81, good_script(dict(k1=20, k2=4, beta=0.0, n_threads=1),
                                     [[200, 0, 250], [150, 150, 150], [0, 0, 450]],
                                     reload_after=2)),
        ("r3-threshold", 82, good_script(dict(k1=20, k2=4, beta=0.5, threshold=0.3,
                                              guard=False, w=0.7, alpha=0.8),
                                         [[100, 150, 200]] * 3)),
        ("r3-faults", 83, fault_script(3, dict(k1=20, k2=4, beta=0.0))),
    ],
}


def build(cases, world):
    """Per-rank (name, ops) lists and, for every case, the expected outcome
    of each op on each rank (the oracle's bytes, or an error spec)."""
    per_rank = [[] for _ in range(world)]
    expected = {}
    for name, seed, script in cases:
        n = None
        oracle = None
        ops = [[] for _ in range(world)]
        wants = []
        for op in script:
            kind = op[0]
            if kind == "new":
                given = op[1] if isinstance(op[1], list) else [op[1]] * world
                for rank in range(world):
                    ops[rank].append(("new", given[rank]))
                oracle = rlcc.Refiner(**{k: v for k, v in given[0].items() if k != "timeout"})
                wants.append([("ok",)] * world)
            elif kind == "step":
                _, t, sizes, expect, step_kwargs, corrupt = op
                X = generation_rows(seed, sum(sizes), t)
                parts = split(X, sizes)
                for rank in range(world):
                    rows = parts[rank]
                    if corrupt and rank in corrupt:
                        rows = corrupt[rank](rows)
                    ops[rank].append(("step", rows, (step_kwargs or {}).get(rank, {})))
                if expect is None:
                    g = oracle.step(X)
                    n = len(X)
                    assert 1 < g.n_classes < n // 2, (name, t, g.n_classes)  # clusters found
                    wants.append([("ok", "<i4", g.labels.tobytes(), g.n_classes, g.threshold,
                                   g.centroids.shape, g.centroids.tobytes(), g.generation)]
                                 * world)
                else:
                    wants.append([expect] * world)
            elif kind == "targets":
                _, batch_seed, expect, empty, bad = op
                asked = batches(1000 * seed + batch_seed, world, n, empty)
                if bad:
                    asked = [bad.get(rank, rows) for rank, rows in enumerate(asked)]
                for rank in range(world):
                    ops[rank].append(("targets", asked[rank]))
                if expect is None:
                    wants.append([("ok", "<f4", oracle.targets(asked[rank]).shape,
                                   oracle.targets(asked[rank]).tobytes())
                                  for rank in range(world)])
                else:
                    wants.append([expect] * world)
            elif kind == "reload":
                # into a refiner of the default options: the state's options hold
                for rank in range(world):
                    ops[rank].append(("reload", {}))
                wants.append([("ok",)] * world)
            elif kind == "save":
                for rank in range(world):
                    ops[rank].append(("save",))
                wants.append([("ok",)] * world)
            elif kind == "restore":
                for rank in range(world):
                    ops[rank].append(("restore",) if rank == op[1] else ("sleep", 0))
                wants.append([("ok",)] * world)
            elif kind == "fail_step_labels":
                for rank in range(world):
                    ops[rank].append(("fail_step_labels",) if rank == op[1] else ("sleep", 0))
                wants.append([("ok",)] * world)
            elif kind == "stall":
                asked = batches(1000 * seed + 99, world, n)
                for rank in range(world):
                    ops[rank].append(("sleep", op[2]) if rank == op[1]
                                     else ("targets", asked[rank]))
                wants.append([("timeout", op[1])] * world)
        for rank in range(world):
            per_rank[rank].append((name, ops[rank]))
        expected[name] = wants
    return per_rank, expected


def check(reports, expected, world):
    for name, wants in expected.items():
        got = {}
        for rank in range(world):
            report = reports.get((rank, name))
            assert report is not None, f"{name}: rank {rank} sent nothing"
            got[rank] = report[3]
            assert len(got[rank]) == len(wants), (name, rank, got[rank][-1])
        for i, want in enumerate(wants):
            messages = set()
            for rank in range(world):
                outcome, spec = got[rank][i], want[rank]
                where = f"{name} op {i} rank {rank}"
                if spec[0] == "ok":
                    assert outcome[0] == "ok", (where, outcome)
                    assert outcome == spec, where  # the oracle's bytes
                elif spec[0] == "same":
                    assert outcome[:2] == ("error", "InvalidArgument"), (where, outcome)
                    assert spec[1] in outcome[2], (where, outcome[2])
                    messages.add(outcome[2])
                elif spec[0] == "own":
                    _, failing, kind, fragment = spec
                    assert outcome[0] == "error", (where, outcome)
                    if rank == failing:
                        assert outcome[1] == kind and fragment in outcome[2], (where, outcome)
                    else:
                        assert outcome[1] == "RemoteError", (where, outcome)
                        assert f"rank {failing}: {kind}" in outcome[2], (where, outcome)
                elif spec[0] == "timeout":
                    if rank == spec[1]:
                        continue  # the stalled rank
                    assert outcome[:2] == ("error", "Timeout"), (where, outcome)
                    assert f"waiting for rank {spec[1]}" in outcome[2], (where, outcome)
            assert len(messages) <= 1, (name, i, messages)  # the same message everywhere


@pytest.mark.parametrize("world", [2, 3])
def test_torch_refiner_gives_rlcc_refiner_bytes(tmp_path, world):
    pytest.importorskip("torch")
    per_rank, expected = build(CASES[world], world)
    reports, codes, _ = run_torch_world(tmp_path, world, per_rank, target="torch_refiner_rank",
                                        deadline=150.0)
    assert codes == [0] * world, codes
    check(reports, expected, world)


def test_mpi4py_refiner_gives_rlcc_refiner_bytes(tmp_path):
    pytest.importorskip("mpi4py")
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("no mpirun")
    world = 3
    per_rank, expected = build(CASES[3][:1] + CASES[3][2:], world)
    payload = [(per_rank[0][i][0], [per_rank[r][i][1] for r in range(world)])
               for i in range(len(per_rank[0]))]
    path = tmp_path / "refiner.pkl"
    with open(path, "wb") as f:
        pickle.dump(payload, f)
    session = tempfile.mkdtemp(prefix="rlmpi")
    try:
        reports = mpirun_reports(mpirun, "mpi-refiner", path, f"{path}.out", world, session,
                                 timeout=120)
        check(reports, expected, world)
    finally:
        shutil.rmtree(session, ignore_errors=True)


def test_local_refusals():
    """What the constructor refuses, on its own rank, before any message."""
    for kwargs, fragment in [
        (dict(method="kmeans"), "method, metric: 'kmeans', 'jaccard'; rlcc.distributed.Refiner"),
        (dict(metric="euclidean"), "DBSCAN over the Jaccard distance only"),
        (dict(normalize=True), "normalize: rlcc.distributed.Refiner takes the rows as they are"),
        (dict(timeout=0), "timeout: 0; it must be a finite number of seconds > 0"),
        (dict(timeout=float("inf")), "timeout: inf"),
        (dict(group=object(), comm=object()), "not both"),
        (dict(outliers="some"), "outliers: 'some' is not one of"),
    ]:
        with pytest.raises(rlcc.InvalidArgument) as raised:
            rlcc.distributed.Refiner(**kwargs)
        assert fragment in str(raised.value), (kwargs, str(raised.value))
    with pytest.raises(TypeError):
        rlcc.distributed.Refiner(colour="red")  # as rlcc.Refiner refuses it
    r = rlcc.distributed.Refiner(k1=20)
    with pytest.raises(rlcc.InvalidArgument, match="no generation yet"):
        r.targets([1, 2])
    with pytest.raises(rlcc.InvalidArgument, match="no generation yet"):
        r.generation()
    assert not r.reads_rows() and r.bytes() == 0
    with pytest.raises(rlcc.InvalidArgument, match="not a mapping"):
        r.load_state_dict({"refiner": None})
    with pytest.raises(rlcc.InvalidArgument, match="kept rows, but the refiner's targets read "
                                                   "none"):
        r.load_state_dict({"refiner": rlcc.Refiner(k1=20).state_dict(), "rows": bytes(32),
                           "rows_shape": [1, 8], "ns": [1]})
    with pytest.raises(rlcc.InvalidArgument, match="method, metric or normalize"):
        r.load_state_dict({"refiner": rlcc.Refiner(metric="cosine").state_dict(), "rows": None,
                           "rows_shape": None, "ns": None})
    state = r.state_dict()  # before the first step: options only, and they load
    r.load_state_dict(state)
    assert r.state_dict() == state
