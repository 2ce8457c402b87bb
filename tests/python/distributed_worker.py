"""The ranks of tests/python/test_distributed.py and
test_distributed_refiner.py: each runs in a process of its own
(torch.multiprocessing's spawn, or mpirun), joins the group, runs
rlcc.distributed.knn (pseudo_labels, Refiner) on every case its parent gave
it and reports each outcome as plain values: ("ok", indices bytes, sqdist
bytes, seconds) or ("error", exception class, message, seconds). Not a test module: it imports
no pytest, so a spawned rank imports only what a trainer's rank would."""

import datetime
import os
import sys
import time
import traceback

import numpy as np


def run_cases(knn, rank, cases, report, **group):
    """Runs each case (name, rows, k, options) and reports its outcome."""
    for name, rows, k, options in cases:
        options = dict(options)
        form = options.pop("_as", None)
        if form in ("torch", "torch64"):  # a tensor, as a trainer passes its features
            import torch

            rows = torch.from_numpy(rows.astype(np.float64) if form == "torch64" else rows)
        elif form == "strided":  # a column slice of a wider array
            wide = np.full((rows.shape[0], rows.shape[1] + 5), np.float32(3))
            wide[:, :rows.shape[1]] = rows
            rows = wide[:, :rows.shape[1]]
        started = time.monotonic()
        try:
            indices, dist = knn(rows, k, **group, **options)
            report((rank, name, "ok", indices.dtype.str, indices.shape, indices.tobytes(),
                    dist.dtype.str, dist.tobytes(), time.monotonic() - started))
        except Exception as error:  # the test checks which class, on which rank
            report((rank, name, "error", type(error).__name__, str(error),
                    time.monotonic() - started))


def run_pseudo_cases(rank, cases, report, **group):
    """Runs each rlcc.distributed.pseudo_labels case (name, rows, kwargs) and
    reports ("ok", labels bytes, n_classes, threshold, centroids bytes or
    None, seconds) or ("error", class, message, seconds)."""
    import rlcc.distributed

    for name, rows, kwargs in cases:
        started = time.monotonic()
        try:
            got = rlcc.distributed.pseudo_labels(rows, **group, **kwargs)
            centroids = None if got.centroids is None else (got.centroids.dtype.str,
                                                            got.centroids.shape,
                                                            got.centroids.tobytes())
            report((rank, name, "ok", got.labels.dtype.str, got.labels.tobytes(), got.n_classes,
                    got.threshold, centroids, time.monotonic() - started))
        except Exception as error:
            report((rank, name, "error", type(error).__name__, str(error),
                    time.monotonic() - started))


def run_refiner_cases(rank, cases, report, **group):
    """Runs each rlcc.distributed.Refiner case (name, ops) and reports
    (rank, name, "done", [outcome of each op], seconds). Ops: ("new",
    kwargs), ("step", rows, step kwargs), ("targets", indices), ("reload",
    kwargs): state_dict through pickle into a new refiner, ("save",) and
    ("restore",): state_dict kept and loaded again, ("fail_step_labels",):
    this rank's next step_labels raises, ("sleep", seconds). An outcome is
    ("ok", ...) or ("error", class, message)."""
    import pickle

    import rlcc.distributed

    for name, ops in cases:
        started = time.monotonic()
        outcomes = []
        refiner = None
        for op in ops:
            try:
                if op[0] == "new":
                    refiner = rlcc.distributed.Refiner(**group, **op[1])
                    outcomes.append(("ok",))
                elif op[0] == "step":
                    g = refiner.step(op[1], **op[2])
                    outcomes.append(("ok", g.labels.dtype.str, g.labels.tobytes(), g.n_classes,
                                     g.threshold, g.centroids.shape, g.centroids.tobytes(),
                                     g.generation))
                elif op[0] == "targets":
                    t = refiner.targets(op[1])
                    outcomes.append(("ok", t.dtype.str, t.shape, t.tobytes()))
                elif op[0] == "reload":
                    state = pickle.loads(pickle.dumps(refiner.state_dict()))
                    refiner = rlcc.distributed.Refiner(**group, **op[1])
                    refiner.load_state_dict(state)
                    outcomes.append(("ok",))
                elif op[0] == "fail_step_labels":
                    local = refiner.refiner
                    original = local.step_labels

                    def failing(*args, _local=local, _original=original, **kwargs):
                        _local.step_labels = _original
                        raise RuntimeError("injected step_labels failure")

                    local.step_labels = failing
                    outcomes.append(("ok",))
                elif op[0] == "save":
                    saved = pickle.dumps(refiner.state_dict())
                    outcomes.append(("ok",))
                elif op[0] == "restore":
                    refiner.load_state_dict(pickle.loads(saved))
                    outcomes.append(("ok",))
                elif op[0] == "sleep":
                    time.sleep(op[1])
                    outcomes.append(("ok",))
            except Exception as error:
                outcomes.append(("error", type(error).__name__, str(error)))
        report((rank, name, "done", outcomes, time.monotonic() - started))


def _gloo_rank(rank, world, init_method, queue, run_cases, cases):
    """Joins a gloo group as rank and runs cases through run_cases, reporting
    each outcome and then "done" (or "crashed" with the traceback) on queue;
    the process ends with os._exit so no atexit hook of torch runs twice."""
    try:
        import torch
        import torch.distributed as dist

        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=60))
        run_cases(rank, cases, queue.put)
        queue.put((rank, None, "done"))
    except BaseException:
        queue.put((rank, None, "crashed", traceback.format_exc()))
    finally:
        sys.stdout.flush()
        queue.close()
        queue.join_thread()
        os._exit(0)


def torch_refiner_rank(rank, world, init_method, cases, queue, fault=None):
    """A torch.distributed rank over gloo running refiner cases."""
    _gloo_rank(rank, world, init_method, queue, run_refiner_cases, cases)


def torch_pseudo_rank(rank, world, init_method, cases, queue, fault=None):
    """A torch.distributed rank over gloo running pseudo-label cases."""
    _gloo_rank(rank, world, init_method, queue, run_pseudo_cases, cases)


def torch_rank(rank, world, init_method, cases, queue, fault=None):
    """A torch.distributed rank over gloo. fault: None, or (rank, "exit" |
    "stall") to make that rank die with os._exit(1), or sleep 60 s, inside
    its first update_pair (mid-call, after the header check)."""
    try:
        import torch
        import torch.distributed as dist

        import rlcc
        import rlcc.distributed

        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=init_method, rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=60))
        if fault is not None and fault[0] == rank:
            original = rlcc.KnnState.update_pair

            def failing(self, *args, **kwargs):
                if fault[1] == "exit":
                    os._exit(1)
                time.sleep(60)
                return original(self, *args, **kwargs)

            rlcc.KnnState.update_pair = failing
        # cases with option "_subgroup": members run over a gloo subgroup
        # (new_group is collective: every rank makes it), the others skip them
        subgroups = {}
        for _, _, _, options in cases:
            members = tuple(options.get("_subgroup", ()))
            if members and members not in subgroups:
                subgroups[members] = dist.new_group(list(members), backend="gloo")

        def knn(rows, k, _subgroup=(), **options):
            if not _subgroup:
                return rlcc.distributed.knn(rows, k, **options)
            if rank not in _subgroup:
                raise LookupError("not a member")
            return rlcc.distributed.knn(rows, k, group=subgroups[tuple(_subgroup)], **options)

        run_cases(knn, rank, cases, queue.put)
        queue.put((rank, None, "done"))
    except BaseException:
        queue.put((rank, None, "crashed", traceback.format_exc()))
    finally:
        sys.stdout.flush()
        queue.close()
        queue.join_thread()  # the reports are written before the process ends
        # after a failed transfer gloo's threads may still hold the pairs: do
        # not wait for them at exit (the parent has every report already)
        os._exit(0)


def mpi_main(path):
    """mpirun ... python distributed_worker.py mpi CASES.npz: every rank reads
    the cases, rank 0 gathers the reports and writes them next to the cases."""
    import pickle

    import rlcc
    import rlcc.distributed
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, world = comm.Get_rank(), comm.Get_size()
    with open(path, "rb") as f:
        worlds = pickle.load(f)
    cases = [(name, parts[rank], ks[rank], options[rank])
             for name, parts, ks, options in worlds[world]]
    reports = []
    run_cases(rlcc.distributed.knn, rank, cases, reports.append, comm=comm)
    reports.append((rank, None, "modules", "torch" in sys.modules))
    gathered = comm.gather(reports, root=0)
    if rank == 0:
        out = f"{path}.{world}.out"
        with open(out + ".tmp", "wb") as f:
            pickle.dump([r for part in gathered for r in part], f)
        os.replace(out + ".tmp", out)


def mpi_pseudo_main(path):
    """mpirun ... python distributed_worker.py mpi-pseudo CASES.pkl: the
    pseudo-label cases over COMM_WORLD (a list of (name, rows of each rank,
    kwargs of each rank)); rank 0 writes the reports."""
    import pickle

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    with open(path, "rb") as f:
        cases = pickle.load(f)
    reports = []
    run_pseudo_cases(rank, [(name, parts[rank], kwargs[rank]) for name, parts, kwargs in cases],
                     reports.append, comm=comm)
    reports.append((rank, None, "modules", "torch" in sys.modules))
    gathered = comm.gather(reports, root=0)
    if rank == 0:
        out = f"{path}.out"
        with open(out + ".tmp", "wb") as f:
            pickle.dump([r for part in gathered for r in part], f)
        os.replace(out + ".tmp", out)


def mpi_refiner_main(path):
    """mpirun ... python distributed_worker.py mpi-refiner CASES.pkl: the
    refiner cases over COMM_WORLD (a list of (name, ops of each rank));
    rank 0 writes the reports."""
    import pickle

    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank = comm.Get_rank()
    with open(path, "rb") as f:
        cases = pickle.load(f)
    reports = []
    run_refiner_cases(rank, [(name, ops[rank]) for name, ops in cases], reports.append,
                      comm=comm)
    reports.append((rank, None, "modules", "torch" in sys.modules))
    gathered = comm.gather(reports, root=0)
    if rank == 0:
        out = f"{path}.out"
        with open(out + ".tmp", "wb") as f:
            pickle.dump([r for part in gathered for r in part], f)
        os.replace(out + ".tmp", out)


if __name__ == "__main__":
    if sys.argv[1] == "mpi":
        mpi_main(sys.argv[2])
    elif sys.argv[1] == "mpi-pseudo":
        mpi_pseudo_main(sys.argv[2])
    elif sys.argv[1] == "mpi-refiner":
        mpi_refiner_main(sys.argv[2])
