"""The caller's kNN lists (1.3): rlcc.pseudo_labels(knn=...), Refiner.set_knn
and Refiner.step(knn=...). Lists equal to librlcc's own give its labels;
other lists are really read; bad lists are refused and change nothing."""

import numpy as np
import pytest

import rlcc

KW = dict(k1=20, k2=4, eps=(0.5, 0.55, 0.6), min_samples=3)


def unit_rows(seed, n=320, d=12, ids=16):
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(size=(ids, d))
    x = (centres[np.arange(n) % ids] + 0.3 * rng.normal(size=(n, d))).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_pseudo_labels_read_the_callers_lists():
    x = unit_rows(1)
    own = rlcc.pseudo_labels(x, **KW)
    lists, _ = rlcc.knn(x, KW["k1"])
    given = rlcc.pseudo_labels(x, knn=lists, **KW)
    np.testing.assert_array_equal(own.labels, given.labels)
    assert own.n_classes > 1
    other = rlcc.pseudo_labels(x, knn=(lists + 1) % len(x), **KW)
    assert not np.array_equal(other.labels, own.labels)


@pytest.mark.parametrize("change, text", [
    (lambda l: l.__setitem__((5, 3), 320), "knn: entry 3 of row 5"),
    (lambda l: l.__setitem__((1, 1), l[1, 0]), "knn: row 1 lists"),
])
def test_bad_lists_are_refused(change, text):
    x = unit_rows(2)
    lists, _ = rlcc.knn(x, KW["k1"])
    change(lists)
    with pytest.raises(rlcc.InvalidArgument, match=text):
        rlcc.pseudo_labels(x, knn=lists, **KW)


def test_lists_of_the_wrong_shape_or_metric_are_refused():
    x = unit_rows(3)
    lists, _ = rlcc.knn(x, KW["k1"])
    with pytest.raises(rlcc.InvalidArgument, match="must be"):
        rlcc.pseudo_labels(x, knn=lists[:, :5], **KW)
    with pytest.raises(rlcc.InvalidArgument, match="only the Jaccard metric"):
        rlcc.pseudo_labels(x, knn=lists, metric="euclidean", eps=0.8, reliability=False,
                           k1=KW["k1"])
    with pytest.raises(rlcc.InvalidArgument, match="only the Jaccard metric"):
        refiner = rlcc.Refiner(metric="cosine", eps=0.3, reliability=False, k1=KW["k1"])
        refiner.step(x)
        refiner.set_knn(lists)


def test_refiner_steps_on_the_callers_lists():
    x0, x1 = unit_rows(4), unit_rows(5)
    l0, _ = rlcc.knn(x0, KW["k1"])
    l1, _ = rlcc.knn(x1, KW["k1"])
    own, given = rlcc.Refiner(**KW), rlcc.Refiner(**KW)
    given.set_knn(l0)  # before the first step: kept for it
    np.testing.assert_array_equal(own.step(x0).labels, given.step(x0).labels)
    bad = l1.copy()
    bad[1, 1] = bad[1, 0]
    with pytest.raises(rlcc.InvalidArgument, match="row 1 lists"):
        given.step(x1, knn=bad)
    assert given.generation().generation == 1  # unchanged
    a, b = own.step(x1), given.step(x1, knn=l1)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert b.generation == 2
    # used once: the next step computes its own lists
    np.testing.assert_array_equal(own.step(x0).labels, given.step(x0).labels)
