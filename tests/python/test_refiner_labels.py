"""``Refiner.step_labels`` and ``Refiner.targets_rows`` (librlcc 1.8's
``rlcc_refiner_step_labels`` / ``rlcc_refiner_targets_rows``): a refiner fed
the labels, centroids and threshold of ``rlcc.pseudo_labels`` +
``rlcc.centroids`` is the refiner ``step(x)`` makes, bit for bit (labels,
centroids, threshold, every target) over four generations at beta 0, 0.5
and 1, with and without logits, and mixed with ``step(x)``; ``targets_rows``
with the batch's rows equals ``targets`` of a refiner that kept the
features; the refusals leave the refiner as it was; a step_labels refiner
saves and loads (state_dict, pickle, deepcopy) and goes on equal."""

import copy
import pickle

import numpy as np
import pytest

import rlcc

pytestmark = pytest.mark.skipif(not rlcc._native.HAS_REFINER_LABELS,
                                reason="librlcc without rlcc_refiner_step_labels (1.8)")

N, D = 300, 32
REFINER_ONLY = ("alpha", "w", "beta", "scale", "batch")


def features(t):
    """Generation t's features: re-ID-like unit rows around 25 identities
    (duplicates included), new noise each generation, so the classes, the
    outliers and the reliability threshold change."""
    from test_jaccard import reid_like

    base = reid_like(np.random.default_rng(52), N, D, identities=25, noise=0.9, duplicates=6)
    x = base + 0.04 * np.random.default_rng(300 + t).normal(size=base.shape)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


FEATURES = [features(t) for t in range(4)]
OPTIONS = {
    "default": dict(k1=20, k2=4),
    "keep": dict(k1=20, k2=4, reliability=False, outliers="keep"),
    "given-threshold": dict(k1=20, k2=4, threshold=0.3, guard=False),
    "one-eps-sq": dict(k1=12, k2=3, eps=0.6, reliability=False, variant="sqeuclidean",
                       alpha=0.8, w=0.7, scale=20.0),
}
BATCHES = [np.array([7, 0, N - 1, 7, 40]), np.arange(0, N, 3), np.zeros(0, np.int64),
           np.random.default_rng(3).permutation(N)[:64]]


def done(r):
    return 0 if r._handle is None else int(rlcc._native.lib.rlcc_refiner_generation(r._handle))


def pseudo_of(options):
    return {key: value for key, value in options.items() if key not in REFINER_ONLY}


def labels_step(r, x, options, **kwargs):
    """step_labels with what rlcc.pseudo_labels and rlcc.centroids give:
    the refiner's kept threshold from the second step on."""
    threshold = r.generation().threshold if done(r) else options.get("threshold")
    pl = rlcc.pseudo_labels(x, **{**pseudo_of(options), "threshold": threshold})
    cents = rlcc.centroids(x, pl.labels, pl.n_classes)
    assert cents.tobytes() == pl.centroids.tobytes()
    return r.step_labels(pl.labels, pl.n_classes, cents, pl.threshold, **kwargs)


def same_generation(a, b):
    assert a.generation == b.generation
    assert (a.n_classes, a.threshold) == (b.n_classes, b.threshold)
    assert a.labels.dtype == b.labels.dtype and a.labels.tobytes() == b.labels.tobytes()
    assert a.centroids.shape == b.centroids.shape
    assert a.centroids.tobytes() == b.centroids.tobytes()


def reads_rows(r):
    return done(r) >= 2 and r._options.beta < 1


def logits_for(t, k_prev):
    def logits(start, count):
        rows = np.arange(start, start + count)[:, None]
        return ((rows + 3 * np.arange(k_prev)[None, :] + t) % 7).astype(np.float32) * 0.75
    return logits


@pytest.mark.parametrize("name", sorted(OPTIONS))
@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_step_labels_is_step_of_the_features(name, beta):
    options = {**OPTIONS[name], "beta": beta}
    featured, labelled = rlcc.Refiner(**options), rlcc.Refiner(**options)
    for t, x in enumerate(FEATURES):
        want = featured.step(x)
        got = labels_step(labelled, x, options)
        same_generation(want, got)
        same_generation(labelled.generation(), featured.generation())
        assert want.n_classes > 1
        for rows in BATCHES:
            expected = featured.targets(rows)
            assert labelled.targets_rows(rows, x[rows]).tobytes() == expected.tobytes()
            # a refiner that kept the features reads the caller's rows alike
            assert featured.targets_rows(rows, x[rows]).tobytes() == expected.tobytes()
            if reads_rows(labelled):
                with pytest.raises(rlcc.InvalidArgument):
                    labelled.targets(rows)
                with pytest.raises(rlcc.InvalidArgument):
                    labelled.targets_rows(rows, None)
            else:  # the targets read no features: x may be left out
                assert labelled.targets_rows(rows, None).tobytes() == expected.tobytes()
                assert labelled.targets(rows).tobytes() == expected.tobytes()
        every = featured.targets()
        assert labelled.targets_rows(None, x).tobytes() == every.tobytes()
    if beta < 1:  # the labelled refiner holds no features, the other one its copy
        assert featured.bytes() - labelled.bytes() == 4 * N * D


def test_step_labels_with_logits_is_step_with_logits():
    options = {**OPTIONS["default"], "beta": 0.3}
    featured, labelled = rlcc.Refiner(**options), rlcc.Refiner(**options)
    for t, x in enumerate(FEATURES):
        k_prev = featured.generation().n_classes if t else 0
        want = featured.step(x, logits=logits_for(t, k_prev))
        got = labels_step(labelled, x, options, logits=logits_for(t, k_prev))
        same_generation(want, got)
        for rows in BATCHES:  # with logits the targets read no features
            assert labelled.targets(rows).tobytes() == featured.targets(rows).tobytes()
            assert labelled.targets_rows(rows, None).tobytes() == \
                featured.targets(rows).tobytes()


def test_step_labels_mixed_with_step():
    """Feature steps and label steps in any order give the same refiner."""
    options = {**OPTIONS["default"], "beta": 0.0}
    featured, mixed = rlcc.Refiner(**options), rlcc.Refiner(**options)
    for t, x in enumerate(FEATURES):
        want = featured.step(x)
        got = labels_step(mixed, x, options) if t in (1, 2) else mixed.step(x)
        same_generation(want, got)
        for rows in BATCHES:
            expected = featured.targets(rows).tobytes()
            assert mixed.targets_rows(rows, x[rows]).tobytes() == expected
            if t in (0, 3):  # feature steps; t = 3 keeps the features again
                assert mixed.targets(rows).tobytes() == expected


def test_progress_is_called_and_cancels():
    options = OPTIONS["default"]
    r = rlcc.Refiner(**options)
    stages = []
    labels_step(r, FEATURES[0], options, progress=lambda s, f: stages.append((s, f)))
    assert stages and stages[-1][1] == 1.0
    before = r.state_dict()["state"]
    with pytest.raises(rlcc.Canceled):
        labels_step(r, FEATURES[1], options, progress=lambda s, f: True)
    assert r.state_dict()["state"] == before and done(r) == 1


def stepped(options=None, generations=2, beta=0.0):
    options = {**(options or OPTIONS["default"]), "beta": beta}
    r = rlcc.Refiner(**options)
    for x in FEATURES[:generations]:
        labels_step(r, x, options)
    return r, options


def test_step_labels_refusals_leave_the_refiner_as_it_was():
    r, options = stepped(generations=2)
    x = FEATURES[2]
    pl = rlcc.pseudo_labels(x, **{**pseudo_of(options), "threshold": r.generation().threshold})
    before = r.state_dict()["state"]
    labels, k, cents, threshold = pl.labels, pl.n_classes, pl.centroids, pl.threshold
    too_big = labels.copy()
    too_big[5] = k
    below = labels.copy()
    below[9] = -2
    noise = labels.copy()
    noise[3] = -1  # no -1 under the singleton policy
    nan = cents.copy()
    nan[1, 4] = np.nan
    cases = [
        (dict(labels=too_big), "is not below the class count"),
        (dict(labels=below), "label -2 of sample 9 is below -1"),
        (dict(labels=noise), "sample 3 is noise (-1), which the singleton"),
        (dict(labels=labels.astype(np.float32)), "labels: expected a 1-D integer array"),
        (dict(labels=labels[None, :]), "labels: expected a 1-D integer array"),
        (dict(labels=labels[:-1]), "differs from the first step's"),
        (dict(n_classes=0, centroids=cents[:0]), "n_classes: 0 must be in"),
        (dict(n_classes=k + 1), f"centroids: {k} rows for n_classes = {k + 1}"),
        (dict(centroids=cents[:, :-1]), "differs from the first step's"),
        (dict(centroids=nan), "centroids: NaN at row 1, column 4"),
        (dict(threshold=threshold + 0.01), "is not the refiner's"),
        (dict(threshold="0.3"), "threshold: '0.3' is not a number"),
        (dict(threshold=None), "threshold: None is not a number"),
    ]
    for change, fragment in cases:
        arguments = dict(labels=labels, n_classes=k, centroids=cents, threshold=threshold)
        arguments.update(change)
        with pytest.raises(rlcc.InvalidArgument) as raised:
            r.step_labels(**arguments)
        if fragment is not None:
            assert fragment in str(raised.value), (change.keys(), str(raised.value))
        assert r.state_dict()["state"] == before, change.keys()
        assert done(r) == 2
    got = r.step_labels(labels, k, cents, threshold)  # and the good call goes on
    assert got.generation == 3


def test_targets_rows_refusals():
    r, _ = stepped(generations=3)
    assert reads_rows(r)
    x = FEATURES[2]
    rows = np.array([1, 5, 9])
    with pytest.raises(rlcc.InvalidArgument, match="x: is NULL"):  # the targets read features
        r.targets_rows(rows, None)
    with pytest.raises(rlcc.InvalidArgument, match=r"x: shape \(2, 32\) must be"):
        r.targets_rows(rows, x[rows[:2]])
    with pytest.raises(rlcc.InvalidArgument, match=r"x: shape \(3, 31\) must be"):
        r.targets_rows(rows, x[rows][:, :-1])
    with pytest.raises(rlcc.InvalidArgument, match="x: expected a 2-D array"):
        r.targets_rows(rows, x[1])
    with pytest.raises(rlcc.InvalidArgument, match=r"rows: entry 1 is 300, outside \[0, 300\)"):
        r.targets_rows(np.array([1, N]), x[[1, 2]])
    with pytest.raises(rlcc.InvalidArgument, match="holds no features"):
        r.targets(rows)  # a labels refiner has no features to read
    with pytest.raises(rlcc.InvalidArgument, match="no generation yet"):
        rlcc.Refiner().targets_rows(rows, x[rows])
    # strided rows are read with their leading dimension
    wide = np.zeros((3, D + 7), np.float32)
    wide[:, :D] = x[rows]
    assert r.targets_rows(rows, wide[:, :D]).tobytes() == r.targets_rows(rows, x[rows]).tobytes()


@pytest.mark.parametrize("beta", [0.0, 1.0])
@pytest.mark.parametrize("generations", [1, 2, 3])
def test_state_dict_round_trip_of_a_step_labels_refiner(beta, generations):
    r, options = stepped(generations=generations, beta=beta)
    state = r.state_dict()
    assert state["state"] is not None
    copies = [rlcc.Refiner(), pickle.loads(pickle.dumps(r)), copy.deepcopy(r)]
    copies[0].load_state_dict(state)
    x = FEATURES[generations - 1]
    for c in copies:
        same_generation(c.generation(), r.generation())
        for rows in BATCHES:
            assert c.targets_rows(rows, x[rows]).tobytes() == \
                r.targets_rows(rows, x[rows]).tobytes()
        assert c.state_dict()["state"] == state["state"]
    # and the next steps agree, by labels and by features
    after = labels_step(r, FEATURES[generations], options)
    for c in copies[:2]:
        same_generation(labels_step(c, FEATURES[generations], options), after)
    featured = copies[2].step(FEATURES[generations])
    same_generation(featured, after)
