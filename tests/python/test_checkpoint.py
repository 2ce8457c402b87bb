"""Refiner checkpoints (1.6): ``Refiner.state_dict()`` / ``load_state_dict()``
over ``rlcc_refiner_save`` / ``rlcc_refiner_load``, and pickle, ``copy.deepcopy``,
``copy.copy`` and ``torch.save`` through them. A refiner restored at generation
0, 1, 2 or 3 gives the labels, centroids, threshold, targets and state bytes of
one that never stopped, bit for bit, after every later step; damaged states
raise ``rlcc.InvalidArgument`` and leave the refiner as it was; a copy never
shares the library handle (which pickling the raw handle would free twice)."""

import copy
import gc
import io
import pickle
import threading

import numpy as np
import pytest

import rlcc

import torch  # python3-torch, a listed dependency: missing, these tests fail, never skip

N, D, IDS = 160, 16, 12
CENTERS = np.random.default_rng(5).normal(size=(IDS, D))


def features(t):
    """Generation t's features: the same identities, new noise, and every
    13th sample moved to the next identity, so the classes change."""
    rng = np.random.default_rng(100 + t)
    ids = (np.arange(N) % IDS + (np.arange(N) % 13 == t)) % IDS
    x = CENTERS[ids] + 0.35 * rng.normal(size=(N, D))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


FEATURES = [features(t) for t in range(5)]


def logits_for(t, k_prev):
    """The previous model's logits at generation t (k_prev classes)."""
    def logits(start, count):
        rows = np.arange(start, start + count)[:, None]
        return ((rows + 3 * np.arange(k_prev)[None, :] + t) % 7).astype(np.float32) * 0.75
    return logits


METRICS = {
    "jaccard": dict(metric="jaccard", k1=10, k2=3),
    "euclidean": dict(metric="euclidean", eps=(0.55, 0.65, 0.75)),
    "cosine": dict(metric="cosine", eps=(0.15, 0.2, 0.25)),
}


def refiner(metric="jaccard", **options):
    return rlcc.Refiner(**METRICS[metric], **options)


def done(r):
    """Generations the refiner has completed (0 before its library refiner exists)."""
    return 0 if r._handle is None else int(rlcc._native.lib.rlcc_refiner_generation(r._handle))


def step(r, t, logits=False, borrow=False, callback=False):
    kwargs = {}
    if logits:
        kwargs["logits"] = logits_for(t, r.generation().n_classes if done(r) else 0)
    if callback:
        x = FEATURES[t]
        return r.step(lambda start, count: x[start:start + count], n=N, d=D, **kwargs)
    return r.step(FEATURES[t], borrow=borrow, **kwargs)


def snapshot(r, with_bytes=True):
    """Everything a refiner shows, for bit-for-bit comparisons (with_bytes:
    rlcc_refiner_bytes too, which a restored refiner's own copy of borrowed
    rows raises by 4 n d until its next step)."""
    state = r.state_dict()
    if done(r) == 0:
        return (state["state"], state.get("options"))
    g = r.generation()
    rows = np.array([7, 0, N - 1, 7, 40])
    return (g.labels.tobytes(), g.centroids.tobytes(), np.float64(g.threshold).tobytes(),
            g.n_classes, g.generation, r.bytes() if with_bytes else None, r.targets().tobytes(),
            r.targets(rows).tobytes(), state["state"])


@pytest.mark.parametrize("metric", sorted(METRICS))
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("way", ["copy", "borrow", "logits", "callback"])
def test_a_restored_refiner_continues_bit_for_bit(metric, beta, way):
    never = refiner(metric, beta=beta)
    restored = []
    for t in range(5):
        if t < 4:  # restored before step t: t generations done
            restored.append(copy.deepcopy(never) if t % 2 else pickle.loads(pickle.dumps(never)))
            with_bytes = way != "borrow" or beta == 1.0 or t < 2
            assert snapshot(restored[-1], with_bytes) == snapshot(never, with_bytes)
        for r in [never] + restored:
            step(r, t, logits=way == "logits", borrow=way == "borrow", callback=way == "callback")
        for r in restored:
            assert snapshot(r) == snapshot(never)


def test_state_dict_is_plain_values():
    r = refiner()
    for t in range(3):
        before = r.state_dict()
        step(r, t)

        def plain(value):
            if isinstance(value, dict):
                return all(isinstance(k, str) and plain(v) for k, v in value.items())
            if isinstance(value, list):
                return all(plain(v) for v in value)
            return value is None or type(value) in (bool, int, float, str, bytes)

        assert plain(before) and plain(r.state_dict())
    state = r.state_dict()
    assert state["format"] == 1 and rlcc._native.STATE_FORMAT == 2  # DBSCAN: format 1
    assert state["librlcc"] == rlcc.library_version()
    assert state["state"][:8] == b"\x89RLCCRF\x1a"
    assert len(state["state"]) == int.from_bytes(state["state"][16:24], "little")
    # before the first step there is no library refiner: options and lists
    fresh = rlcc.Refiner(k1=7, beta=0.25, eps=0.4, reliability=False)
    d = fresh.state_dict()
    assert d["state"] is None and d["knn"] is None
    assert d["options"]["k1"] == 7 and d["options"]["n_eps"] == 1
    assert d["options"]["beta"] == 0.25 and d["options"]["eps"][0] == 0.4


def test_torch_save_and_load():
    r = refiner(beta=0.3)
    for t in range(2):
        step(r, t)
    buffer = io.BytesIO()
    torch.save({"refiner": r.state_dict(), "epoch": 2}, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer)
    if int(torch.__version__.split(".")[0]) >= 2:  # bytes are allowed there
        buffer.seek(0)
        assert torch.load(buffer, weights_only=True) == loaded
    back = refiner()  # other options: the state replaces them
    back.load_state_dict(loaded["refiner"])
    assert snapshot(back) == snapshot(r)
    # the refiner object itself, through pickle
    buffer = io.BytesIO()
    torch.save(r, buffer)
    buffer.seek(0)
    whole = torch.load(buffer)
    for t in range(2, 4):
        step(r, t)
        step(back, t)
        step(whole, t)
        assert snapshot(back) == snapshot(r) == snapshot(whole)


@pytest.mark.parametrize("protocol", range(2, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_every_protocol(protocol):
    r = refiner()
    step(r, 0)
    step(r, 1)
    again = pickle.loads(pickle.dumps(r, protocol=protocol))
    assert snapshot(again) == snapshot(r)


def test_copies_own_their_handles():
    """The bug this fixes: a copy that shared the raw handle freed it twice."""
    r = refiner()
    for t in range(3):
        step(r, t)
    copies = [copy.deepcopy(r), copy.copy(r), pickle.loads(pickle.dumps(r))]
    handles = {r._handle} | {c._handle for c in copies}
    assert len(handles) == 4
    want = snapshot(r)
    del r, handles
    gc.collect()
    for c in copies:
        assert snapshot(c) == want
        step(c, 3)
    assert snapshot(copies[0]) == snapshot(copies[1]) == snapshot(copies[2])
    del copies
    gc.collect()


def test_before_the_first_step_with_lists():
    r = refiner()
    lists = rlcc.knn(FEATURES[0], 10)[0]
    r.set_knn(lists)
    d = r.state_dict()
    assert d["state"] is None and d["knn_shape"] == [N, 10]
    twin = pickle.loads(pickle.dumps(r))
    step(r, 0)
    step(twin, 0)
    assert snapshot(twin) == snapshot(r)
    # lists set for the next step travel inside the library's state
    r.set_knn(rlcc.knn(FEATURES[1], 10)[0])
    twin = copy.deepcopy(r)
    assert len(twin.state_dict()["state"]) == len(r.state_dict()["state"])
    step(r, 1)
    step(twin, 1)
    assert snapshot(twin) == snapshot(r)


def test_borrowed_features_become_the_restored_refiners_own():
    r = refiner()
    x = [f.copy() for f in FEATURES[:3]]
    for t in range(3):
        r.step(x[t], borrow=True)
    restored = copy.deepcopy(r)
    assert restored._borrowed is None
    assert restored.bytes() == r.bytes() + 4 * N * D
    want = restored.targets()
    assert np.array_equal(want, r.targets())
    x[2][:] = FEATURES[0]  # breaks r's borrow contract, on purpose: restored keeps its copy
    assert np.array_equal(restored.targets(), want)


def damaged(state):
    """Truncations, single bit flips and foreign bytes of a state."""
    yield state[:-1]
    yield state[:195]
    yield state[:8]
    yield b""
    yield state + b"\x00"
    for bit in range(0, 8 * len(state), 8 * len(state) // 97 + 1):
        flipped = bytearray(state)
        flipped[bit // 8] ^= 1 << (bit % 8)
        yield bytes(flipped)
    yield b"PK\x03\x04" + state[4:]


def test_damaged_states_raise_invalid_argument_and_change_nothing():
    r = refiner()
    for t in range(3):
        step(r, t)
    good = r.state_dict()
    target = refiner()
    step(target, 0)
    before = snapshot(target)
    refused = 0
    for bad in damaged(good["state"]):
        with pytest.raises(rlcc.InvalidArgument) as info:
            target.load_state_dict(dict(good, state=bad))
        assert str(info.value).startswith("state: ")
        assert info.value.code == -1
        refused += 1
    assert refused > 100
    assert snapshot(target) == before
    # dicts that are not a state dict
    for bad_dict, text in [
        ({}, "no 'format'"),
        (dict(good, state="text"), "not bytes"),
        (dict(good, format=2), "format 2"),
        (dict(good, batch=0), "batch"),
        ("a string", "not a mapping"),
        (dict(good, state=None), "options"),
    ]:
        with pytest.raises(rlcc.InvalidArgument, match=text):
            target.load_state_dict(bad_dict)
    assert snapshot(target) == before
    with pytest.raises(rlcc.InvalidArgument):
        pickle.loads(pickle.dumps(target)).load_state_dict(dict(good, state=good["state"][:-4]))


def test_load_state_dict_options_bound_the_call():
    r = refiner()
    for t in range(3):
        step(r, t)
    state = r.state_dict()
    other = refiner()
    with pytest.raises(rlcc.OutOfMemory) as info:
        other.load_state_dict(state, max_bytes=1000)
    assert info.value.code == -3
    with pytest.raises(rlcc.InvalidArgument, match="n_threads"):
        other.load_state_dict(state, n_threads=-1)
    with pytest.raises(rlcc.InvalidArgument, match="does not fit"):
        other.load_state_dict(state, max_bytes=2**63)
    for threads in (1, 2, 3):
        other.load_state_dict(state, n_threads=threads, max_bytes=64 << 20)
        assert snapshot(other) == snapshot(r)


def test_a_loaded_state_brings_its_shape_and_options():
    r = rlcc.Refiner(k1=10, k2=3, beta=0.5)
    for t in range(2):
        step(r, t)
    small = rlcc.Refiner(k1=4, k2=2)
    small.step(FEATURES[0][:40])
    small.load_state_dict(r.state_dict())
    assert small._shape == (N, D) and small._pseudo.k1 == 10 and small._options.beta == 0.5
    with pytest.raises(rlcc.InvalidArgument, match="shape"):
        small.step(FEATURES[2][:40])
    with pytest.raises(rlcc.InvalidArgument, match="knn"):
        small.set_knn(np.zeros((N, 4), dtype=np.int64))
    step(small, 2)
    step(r, 2)
    assert snapshot(small) == snapshot(r)


def test_load_state_dict_during_a_call_is_refused():
    r = refiner()
    step(r, 0)
    state = r.state_dict()
    seen = []

    def rows(start, count):
        try:
            r.load_state_dict(state)
        except rlcc.InvalidArgument as error:
            seen.append(str(error))
        return FEATURES[1][start:start + count]

    r.step(rows, n=N, d=D)
    assert seen and all("in use" in text for text in seen)
    assert r.generation().generation == 2
    # readers on other threads at once: state_dict and targets
    results, errors = [], []

    def read():
        try:
            results.append((r.state_dict()["state"], r.targets().tobytes()))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
