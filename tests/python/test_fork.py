"""librlcc in a forked child: a process that used librlcc (threaded) and
imported scikit-learn forks, and the child's librlcc calls must return the
parent's results within seconds. scikit-learn's import sets
KMP_INIT_AT_FORK=FALSE, so LLVM libomp does not re-create its thread pool in
a child, and before 1.6 the child hung in __kmpc_fork_call; librlcc now runs
a forked child on its calling thread (docs/threading.md). Each case runs in
a fresh interpreter with a timeout, so a regression fails instead of
hanging the suite."""

import os
import subprocess
import sys
import textwrap

import numpy as np

_PARENT = textwrap.dedent("""
    import os
    import sys
    import numpy as np
    import sklearn.cluster  # sets KMP_INIT_AT_FORK=FALSE, as every scikit-learn import does
    import rlcc

    assert os.environ.get("KMP_INIT_AT_FORK") == "FALSE"
    rng = np.random.default_rng(5)
    centres = rng.normal(size=(20, 16))
    X = centres[np.arange(2000) % 20] + 0.3 * rng.normal(size=(2000, 16))
    X = (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)

    def work():
        labels = rlcc.dbscan(X, 0.5, 4, n_threads=2, algorithm="brute")
        knn = rlcc.knn(X, 8, n_threads=2)[0]
        pseudo = rlcc.pseudo_labels(X, k1=20, k2=6, n_threads=2).labels
        return np.concatenate([labels.astype(np.int64), knn.ravel(), pseudo.astype(np.int64)])

    expected = work()  # the parent's OpenMP pool is up now
    sklearn.cluster.DBSCAN(eps=0.5).fit(X[:300])
""")

_OS_FORK = _PARENT + textwrap.dedent("""
    pid = os.fork()
    if pid == 0:
        import signal
        signal.alarm(20)
        os._exit(0 if np.array_equal(work(), expected) else 3)
    _, status = os.waitpid(pid, 0)
    sys.exit(0 if os.waitstatus_to_exitcode(status) == 0 else 1)
""")

_DATALOADER = _PARENT + textwrap.dedent("""
    import torch
    import torch.utils.data

    class Calls(torch.utils.data.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return torch.from_numpy(work())

    loader = torch.utils.data.DataLoader(Calls(), batch_size=None, num_workers=2,
                                         multiprocessing_context="fork", timeout=30)
    results = [item.numpy() for item in loader]
    assert len(results) == 4
    sys.exit(0 if all(np.array_equal(r, expected) for r in results) else 1)
""")


def _run(script):
    env = dict(os.environ)
    env.pop("KMP_INIT_AT_FORK", None)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env=env)


def test_os_fork_child_gets_the_parents_results():
    run = _run(_OS_FORK)
    assert run.returncode == 0, run.stderr


def test_dataloader_fork_workers_get_the_parents_results():
    run = _run(_DATALOADER)
    assert run.returncode == 0, run.stderr
