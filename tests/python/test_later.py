"""librlcc 1.7, issue #15 items 1, 4, 5: camera-aware proxies (and the
float32 centroid norm), PPLR's cross-agreement and part weights, eps from a
distance quantile, each against the NumPy oracles of later_oracle.py
(written from later-methods.md), bit for bit, over random and adversarial
cases, plus the error paths."""

import ctypes

import numpy as np
import pytest
import scipy.sparse as sp

import later_oracle as oracle
import rlcc
from rlcc import _native as native

F32 = np.float32


def unit_rows(rng, n, d):
    x = rng.standard_normal((n, d)).astype(F32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1)).astype(F32)


def same_bytes(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.tobytes() == b.tobytes()


# ---- section 1: camera-aware proxies ---------------------------------------------

def random_proxy_case(rng, case):
    n = int(rng.integers(0, 160))
    d = int(rng.choice([1, 3, 16, 33, 64, 130]))
    kind = case % 8
    label_values = np.sort(rng.choice(np.arange(0, 10_000), size=int(rng.integers(1, 12)),
                                      replace=False))
    camera_values = np.sort(rng.choice(np.arange(0, 2**31 - 1, 7919), size=int(rng.integers(1, 7)),
                                       replace=False))
    labels = rng.choice(np.concatenate([[-1], label_values]), size=n)
    cameras = rng.choice(camera_values, size=n)
    if kind == 1:    # one camera
        cameras[:] = camera_values[0]
    elif kind == 2:  # all noise
        labels[:] = -1
    elif kind == 3 and n:  # a cluster in one camera only, the extreme label values
        labels[: n // 2] = 2**31 - 1
        cameras[: n // 2] = 0
    elif kind == 4:  # contiguous labels, no noise
        labels = rng.integers(0, 5, n)
    elif kind == 5 and n:  # singletons: every sample its own cluster
        labels = np.arange(n)
    x = unit_rows(rng, n, d)
    if kind == 6 and n >= 2:  # a zero mean: a row and its negation alone in a proxy
        labels[:2] = 123_456
        cameras[:2] = 5
        x[1] = -x[0]
    return labels.astype(np.int64), cameras.astype(np.int64), x


@pytest.mark.parametrize("order", ["camera", "cluster"])
def test_proxies_match_oracle(order):
    rng = np.random.default_rng(15 + (order == "cluster"))
    cases = 0
    for case in range(300):
        labels, cameras, x = random_proxy_case(rng, case)
        want_proxy, want_cluster, want_camera = oracle.proxies(labels, cameras, order)
        for norm in ("double", "float32"):
            got = rlcc.camera_proxies(labels, cameras, x, order=order, norm=norm)
            assert got.proxy.dtype == np.int32 and got.cluster.dtype == np.int32
            assert np.array_equal(got.proxy, want_proxy), case
            assert np.array_equal(got.cluster, want_cluster), case
            assert np.array_equal(got.camera, want_camera), case
            want = oracle.centroids(x, want_proxy, len(want_cluster), norm)
            assert same_bytes(got.centroids, want), (case, norm)
            cases += 1
    assert cases == 600


def test_float32_norm_is_caps_numpy_expression():
    """CAP's and ICE's expression itself, at D = 2048: np.mean over the
    members, then m / np.linalg.norm(m, axis=1, keepdims=True)."""
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(30, 200))
        x = unit_rows(rng, n, 2048)
        labels = rng.integers(-1, 8, n)
        cameras = rng.integers(0, 4, n)
        got = rlcc.camera_proxies(labels, cameras, x, order="camera", norm="float32")
        feats = []
        for cc in np.unique(cameras):
            ind = np.where(cameras == cc)[0]
            lab = labels[ind]
            m = np.zeros((len(np.unique(lab[lab >= 0])), 2048), dtype=F32)
            cnt = 0
            for lbl in np.unique(lab):
                if lbl >= 0:
                    m[cnt] = np.mean(x[ind][lab == lbl], axis=0)
                    cnt += 1
            feats.append(m / np.linalg.norm(m, axis=1, keepdims=True))
        assert same_bytes(got.centroids, np.concatenate(feats))


def test_zero_mean_stays_zero():
    x = np.array([[0.6, 0.8], [-0.6, -0.8], [1.0, 0.0]], dtype=F32)
    for norm in ("double", "float32"):
        got = rlcc.camera_proxies([0, 0, 1], [3, 3, 3], x, norm=norm)
        assert np.array_equal(got.centroids, np.array([[0, 0], [1, 0]], dtype=F32))


def test_proxies_invariant_to_threads_and_budget():
    rng = np.random.default_rng(3)
    labels = rng.integers(-1, 40, 3000)
    cameras = rng.integers(0, 6, 3000)
    x = unit_rows(rng, 3000, 96)
    ref = rlcc.camera_proxies(labels, cameras, x, order="cluster", norm="float32")
    for n_threads in (1, 2, 3):
        for max_bytes in (0, 1 << 20, 200_000):
            got = rlcc.camera_proxies(labels, cameras, x, order="cluster", norm="float32",
                                      n_threads=n_threads, max_bytes=max_bytes)
            for a, b in zip(ref, got):
                assert same_bytes(a, b)


def test_proxies_errors():
    x = np.zeros((3, 2), dtype=F32)
    with pytest.raises(rlcc.InvalidArgument, match=r"labels: labels\[1\] = -2 is below -1"):
        rlcc.camera_proxies([0, -2, 1], [0, 0, 0], x)
    with pytest.raises(rlcc.InvalidArgument, match=r"cameras: cameras\[2\] = -1 is negative"):
        rlcc.camera_proxies([0, 1, 1], [0, 0, -1], x)
    with pytest.raises(rlcc.InvalidArgument, match="cameras: 2 entries, labels has 3"):
        rlcc.camera_proxies([0, 1, 1], [0, 0], x)
    with pytest.raises(rlcc.InvalidArgument, match="x: 2 rows"):
        rlcc.camera_proxies([0, 1, 1], [0, 0, 0], x[:2])
    with pytest.raises(rlcc.InvalidArgument, match="order"):
        rlcc.camera_proxies([0, 1, 1], [0, 0, 0], x, order="camera-major")
    with pytest.raises(rlcc.InvalidArgument, match="norm"):
        rlcc.camera_proxies([0, 1, 1], [0, 0, 0], x, norm="half")
    with pytest.raises(rlcc.InvalidArgument, match="does not fit int32"):
        rlcc.camera_proxies([0, 2**31, 1], [0, 0, 0], x)
    with pytest.raises(rlcc.InvalidArgument, match="NaN"):
        rlcc.camera_proxies([0, 1, 1], [0, 0, 0], np.full((3, 2), np.nan, dtype=F32))
    with pytest.raises(rlcc.OutOfMemory):
        rlcc.camera_proxies(np.zeros(1000, int), np.zeros(1000, int), np.zeros((1000, 2), F32),
                            max_bytes=1000)


def raw_proxies(labels, cameras, order=0, proxy=None, cluster=None, camera=None, m=None,
                options=True):
    opts = native.init_struct(native.ProxyOptions, native.lib.rlcc_proxy_options_init)
    opts.order = order
    labels = np.asarray(labels, dtype=np.int32)
    cameras = np.asarray(cameras, dtype=np.int32)
    n = len(labels)
    proxy = np.full(n, 77, np.int32) if proxy is None else proxy
    m = ctypes.c_int64(-5) if m is None else m
    p32 = lambda a: a.ctypes.data_as(native.c_int32_p) if a is not None else None
    rc = native.lib.rlcc_camera_proxies(p32(labels), p32(cameras), n,
                                        ctypes.byref(opts) if options else None, p32(proxy),
                                        ctypes.byref(m), p32(cluster), p32(camera))
    return rc, proxy, m


def test_proxies_raw_contract():
    # NULL options are the defaults; NULL cluster/camera outputs are allowed
    rc, proxy, m = raw_proxies([3, -1, 1, 3], [1, 1, 0, 0], options=False)
    assert rc == 0 and m.value == 3 and proxy.tolist() == [2, -1, 0, 1]
    # refused: outputs untouched
    rc, proxy, m = raw_proxies([3, -7, 1, 3], [1, 1, 0, 0])
    assert rc == native.E_INVALID_ARGUMENT and proxy.tolist() == [77] * 4 and m.value == -5
    # proxy_cluster overlapping the proxy output (known only once M is)
    buf = np.full(8, 99, np.int32)
    rc, _, m = raw_proxies([0, 0, 1, 1], [0, 0, 0, 0], proxy=buf[:4], cluster=buf[3:])
    assert rc == native.E_INVALID_ARGUMENT and "overlap" in native.lib.rlcc_last_error().decode()
    assert buf.tolist() == [99] * 8 and m.value == -5
    # an output overlapping an input
    labels = np.array([0, 0, 1, 1], np.int32)
    rc, _, _ = raw_proxies(labels, [0, 0, 0, 0], proxy=labels)
    assert rc == native.E_INVALID_ARGUMENT
    # bad order, non-zero reserved
    rc, _, _ = raw_proxies([0], [0], order=2)
    assert rc == native.E_INVALID_ARGUMENT and "order" in native.lib.rlcc_last_error().decode()
    # n == 0 gives M = 0
    rc, _, m = raw_proxies([], [])
    assert rc == 0 and m.value == 0


def centroid_call(x, labels, k, opts):
    out = np.full((k, x.shape[1]), 5.0, F32)
    rc = native.lib.rlcc_centroids_opts(
        x.ctypes.data_as(native.c_float_p), x.shape[0], x.shape[1], x.shape[1],
        np.asarray(labels, np.int32).ctypes.data_as(native.c_int32_p), k,
        ctypes.cast(ctypes.pointer(opts), ctypes.POINTER(native.CentroidOptions)) if opts is not None else None,
        out.ctypes.data_as(native.c_float_p), x.shape[1])
    return rc, out


def test_centroid_options_1_4_size_and_norm_checks():
    rng = np.random.default_rng(11)
    x = unit_rows(rng, 200, 300)
    labels = rng.integers(-1, 9, 200)
    # a caller compiled against 1.4 passes the first 24 bytes: norm = the
    # default (double)
    old = native.init_struct(native.CentroidOptions, native.lib.rlcc_centroid_options_init)
    old.struct_size = 24
    rc, a = centroid_call(x, labels, 9, old)
    new = native.init_struct(native.CentroidOptions, native.lib.rlcc_centroid_options_init)
    assert new.struct_size == 32 and new.norm == 0 and new.reserved2 == 0
    rc2, b = centroid_call(x, labels, 9, new)
    rc3, c = centroid_call(x, labels, 9, None)
    assert rc == rc2 == rc3 == 0 and same_bytes(a, b) and same_bytes(a, c)
    assert same_bytes(a, oracle.centroids(x, labels, 9, "double"))
    new.norm = 1
    rc, f = centroid_call(x, labels, 9, new)
    assert rc == 0 and same_bytes(f, oracle.centroids(x, labels, 9, "float32"))
    for field, value, text in (("norm", 2, "options.norm"), ("norm", -1, "options.norm"),
                               ("reserved2", 1, "options.reserved2")):
        bad = native.CentroidOptions.from_buffer_copy(new)
        setattr(bad, field, value)
        rc, out = centroid_call(x, labels, 9, bad)
        assert rc == native.E_INVALID_ARGUMENT and text in native.lib.rlcc_last_error().decode()
        assert (out == 5.0).all()


# ---- section 4: cross-agreement ------------------------------------------------------

def agreement_case(rng, case):
    n = int(rng.integers(2, 36))
    k = int(rng.integers(1, n))  # k + 1 <= n
    P = int(rng.integers(1, 5))
    kind = case % 5
    if kind == 0 or kind == 3:  # a coarse grid: exact ties everywhere, exact double distances
        g = (rng.integers(-2, 3, (n, int(rng.integers(1, 4)))) / 4).astype(F32)
        parts = [(rng.integers(-2, 3, (n, 2)) / 4).astype(F32) for _ in range(P)]
    else:
        g = unit_rows(rng, n, int(rng.integers(1, 20)))
        dp = int(rng.integers(1, 12))
        parts = [unit_rows(rng, n, dp) for _ in range(P)]
    if kind >= 2 and n >= 3:  # duplicate rows: position 0 is then not always i
        src = rng.integers(0, n, n // 3)
        dst = rng.integers(0, n, n // 3)
        g[dst] = g[src]
        for p in parts:
            p[dst] = p[src]
    return g, parts, k


def test_cross_agreement_matches_oracle():
    rng = np.random.default_rng(4)
    cases = 0
    for case in range(250):
        g, parts, k = agreement_case(rng, case)
        for exclude_self in (False, True):
            got = rlcc.cross_agreement(g, parts, k=k, exclude_self=exclude_self)
            want = oracle.cross_agreement(g, parts, k, exclude_self)
            assert got.dtype == F32 and same_bytes(got, want), (case, exclude_self)
            cases += 1
    assert cases == 500


def test_cross_agreement_position_zero_rule_with_duplicates():
    # rows 0 and 1 identical: row 1's nearest is row 0 (lower index at
    # distance 0), so PPLR's rule keeps 1 itself in its list and drops 0
    g = np.array([[0, 0], [0, 0], [1, 0], [3, 0]], dtype=F32)
    part = np.array([[0, 0], [0, 0], [0, 1], [0, 3]], dtype=F32)
    got = rlcc.cross_agreement(g, [part], k=1)
    assert same_bytes(got, oracle.cross_agreement(g, [part], 1))
    lists = oracle.ranked_lists(g, 1)
    assert lists[1] == [1] and lists[0] == [1]
    assert oracle.ranked_lists(g, 1, exclude_self=True)[1] == [0]


def test_cross_agreement_layouts_threads_budget():
    rng = np.random.default_rng(5)
    n, d, P = 700, 48, 3
    g = unit_rows(rng, n, 64)
    stacked = np.stack([unit_rows(rng, n, d) for _ in range(P)], axis=2)  # PPLR's n x d x P
    ref = rlcc.cross_agreement(g, stacked, k=20)
    as_list = rlcc.cross_agreement(g, [stacked[:, :, p] for p in range(P)], k=20)
    assert same_bytes(ref, as_list)
    # a part with a larger row stride than the others: copied to one layout
    wide = np.zeros((n, d + 5), F32)
    wide[:, :d] = stacked[:, :, 1]
    mixed = [np.ascontiguousarray(stacked[:, :, 0]), wide[:, :d], np.ascontiguousarray(stacked[:, :, 2])]
    assert same_bytes(ref, rlcc.cross_agreement(g, mixed, k=20))
    for n_threads in (1, 2, 3):
        for max_bytes in (0, 4 << 20):
            got = rlcc.cross_agreement(g, stacked, k=20, n_threads=n_threads, max_bytes=max_bytes)
            assert same_bytes(ref, got)
    small = np.ascontiguousarray(stacked[:60])
    assert same_bytes(rlcc.cross_agreement(g[:60], small, k=7),
                      oracle.cross_agreement(g[:60], [small[:, :, p] for p in range(P)], 7))


def test_cross_agreement_errors():
    rng = np.random.default_rng(6)
    g = unit_rows(rng, 10, 4)
    parts = [unit_rows(rng, 10, 3) for _ in range(2)]
    with pytest.raises(rlcc.InvalidArgument, match=r"k \+ 1 = 11 exceeds n = 10"):
        rlcc.cross_agreement(g, parts, k=10)
    with pytest.raises(rlcc.InvalidArgument, match="options.k: 0 must be >= 1"):
        rlcc.cross_agreement(g, parts, k=0)
    with pytest.raises(rlcc.InvalidArgument, match=r"parts\[1\]: 9 rows"):
        rlcc.cross_agreement(g, [parts[0], parts[1][:9]], k=3)
    with pytest.raises(rlcc.InvalidArgument, match="dimension"):
        rlcc.cross_agreement(g, [parts[0], unit_rows(rng, 10, 5)], k=3)
    with pytest.raises(rlcc.InvalidArgument, match="no part"):
        rlcc.cross_agreement(g, [], k=3)
    bad = parts[1].copy()
    bad[4, 2] = np.nan
    with pytest.raises(rlcc.InvalidArgument, match=r"parts\[1\].*NaN"):
        rlcc.cross_agreement(g, [parts[0], bad], k=3)
    badg = g.copy()
    badg[0, 0] = np.inf
    with pytest.raises(rlcc.InvalidArgument, match="global"):
        rlcc.cross_agreement(badg, parts, k=3)
    with pytest.raises(rlcc.InvalidArgument, match="does not fit int32"):
        rlcc.cross_agreement(g, parts, k=2**31)
    with pytest.raises(rlcc.OutOfMemory):
        rlcc.cross_agreement(g, parts, k=3, max_bytes=100)


def test_cross_agreement_raw_outputs_untouched_and_overlap():
    rng = np.random.default_rng(8)
    g = unit_rows(rng, 12, 4)
    part = unit_rows(rng, 12, 4)
    opts = native.init_struct(native.AgreementOptions, native.lib.rlcc_agreement_options_init)
    assert opts.k == 20 and opts.exclude_self == 0
    opts.k = 3
    fp = lambda a: a.ctypes.data_as(native.c_float_p)
    scores = np.full((12, 1), 9.0, F32)
    ptrs = (native.c_float_p * 1)(fp(part))
    # scores overlapping the part's rows
    rc = native.lib.rlcc_cross_agreement(fp(g), 12, 4, 4, ptrs, 1, 4, 4, ctypes.byref(opts),
                                         fp(part))
    assert rc == native.E_INVALID_ARGUMENT and "overlap" in native.lib.rlcc_last_error().decode()
    opts.exclude_self = 2
    rc = native.lib.rlcc_cross_agreement(fp(g), 12, 4, 4, ptrs, 1, 4, 4, ctypes.byref(opts),
                                         fp(scores))
    assert rc == native.E_INVALID_ARGUMENT and (scores == 9.0).all()
    opts.exclude_self = 0
    rc = native.lib.rlcc_cross_agreement(fp(g), 12, 4, 4, None, 1, 4, 4, ctypes.byref(opts),
                                         fp(scores))
    assert rc == native.E_INVALID_ARGUMENT and "parts: is NULL" in native.lib.rlcc_last_error().decode()
    rc = native.lib.rlcc_cross_agreement(fp(g), 12, 4, 4, ptrs, 0, 4, 4, ctypes.byref(opts),
                                         fp(scores))
    assert rc == native.E_INVALID_ARGUMENT and (scores == 9.0).all()


def test_part_weights():
    rng = np.random.default_rng(9)
    for case in range(200):
        n, P = int(rng.integers(0, 30)), int(rng.integers(1, 80))
        s = rng.random((n, P)).astype(F32) * float(rng.choice([1, 30, 1e3]))
        got = rlcc.part_weights(s)
        assert same_bytes(got, oracle.part_weights(s)) if n else got.shape == (0, P)
    # in place through the raw call
    s = rng.random((5, 3)).astype(F32)
    want = oracle.part_weights(s)
    assert native.lib.rlcc_part_weights(s.ctypes.data_as(native.c_float_p), 5, 3,
                                        s.ctypes.data_as(native.c_float_p)) == 0
    assert same_bytes(s, want)
    # a partial overlap is refused
    buf = rng.random(20).astype(F32)
    p = buf.ctypes.data_as(native.c_float_p)
    q = ctypes.cast(ctypes.addressof(p.contents) + 4, native.c_float_p)
    assert native.lib.rlcc_part_weights(p, 5, 3, q) == native.E_INVALID_ARGUMENT
    with pytest.raises(rlcc.InvalidArgument, match="NaN"):
        rlcc.part_weights(np.array([[0.1, np.nan]], F32))


# ---- section 5: eps from a quantile ------------------------------------------------------

def test_pairwise_oracle_is_numpys_sum():
    rng = np.random.default_rng(10)
    for n in list(range(0, 400)) + [1000, 1023, 1024, 1025, 4097, 8191, 8192, 8193, 10_007, 16_385, 50_001]:
        v = (rng.random(n) * float(rng.choice([1, 1e-3, 1e4]))).astype(F32)
        assert same_bytes(np.sum(v), oracle.numpy_sum(v)), n
        if n <= 8192:
            assert same_bytes(np.sum(v), oracle.pairwise_sum(v)), n
    for n in (8193, 10_007, 16_385, 40_000):  # the rows of CAP's norm: the same blocks
        m = rng.standard_normal((3, n)).astype(F32)
        want = [np.sqrt(oracle.numpy_sum((r * r).astype(F32))) for r in m]
        assert same_bytes(np.linalg.norm(m, axis=1), np.array(want, F32)), n


def mmt_eps(dist, rho):
    """MMT examples/mmt_train_dbscan.py:175-184, as it stands."""
    tri_mat = np.triu(dist, 1)
    tri_mat = tri_mat[np.nonzero(tri_mat)]
    tri_mat = np.sort(tri_mat, axis=None)
    top_num = np.round(rho * tri_mat.size).astype(int)
    return tri_mat[:top_num].mean()


def dense_case(rng, case):
    n = int(rng.integers(2, 90))
    kind = case % 6
    d = rng.random((n, n)).astype(F32)
    if kind == 1:  # coarse values: ties everywhere
        d = (rng.integers(0, 5, (n, n)) / 4).astype(F32)
    elif kind == 2:  # many exact zeros (and -0.0)
        d[rng.random((n, n)) < 0.5] = 0
        d[rng.random((n, n)) < 0.1] = -0.0
    elif kind == 3:  # values above 1 and tiny ones
        d = (rng.random((n, n)) * 3).astype(F32)
        d[rng.random((n, n)) < 0.2] = 1e-30
    elif kind == 4:  # a symmetric Jaccard-like matrix
        d = np.minimum(d, d.T)
        np.fill_diagonal(d, 0)
    d[np.tril_indices(n)] = rng.random(n * (n + 1) // 2) * 50  # never read
    rho = float(rng.choice([1.6e-3, 0.01, 0.1, 0.5, 0.99, rng.random()]))
    return d, rho


def test_eps_dense_matches_oracle_and_mmt():
    rng = np.random.default_rng(12)
    checked = refused = 0
    for case in range(400):
        d, rho = dense_case(rng, case)
        for summation in ("numpy", "double"):
            want = oracle.eps_dense(d, rho, summation)
            if want is None:
                with pytest.raises(rlcc.InvalidArgument, match="no value is selected"):
                    rlcc.eps_from_quantile(d, rho, summation)
                refused += 1
                continue
            got = rlcc.eps_from_quantile(d, rho, summation)
            assert got == want, (case, summation)
            if summation == "numpy":
                with np.errstate(all="ignore"):
                    assert got == float(mmt_eps(d, rho)), case
            checked += 1
    assert checked > 600 and refused > 10


def test_eps_large_selection_pairwise_blocks():
    """top in the thousands: the pairwise recursion, MMT's bytes; the double
    sum differs from it somewhere."""
    rng = np.random.default_rng(13)
    differ = 0
    for n in (600, 1500, 2500):
        d = rng.random((n, n)).astype(F32)
        for rho in (1.6e-3, 0.01):
            got = rlcc.eps_from_quantile(d, rho)
            assert got == float(mmt_eps(d, rho)) == oracle.eps_dense(d, rho)
            dbl = rlcc.eps_from_quantile(d, rho, summation="double")
            assert dbl == oracle.eps_dense(d, rho, "double")
            differ += got != dbl
            assert abs(got - dbl) <= 4 * np.spacing(F32(got))
    # the budget: 4 bytes per selected value, never the triangle
    n = 2500
    top = int(np.round(1.6e-3 * (n * (n - 1) // 2)))
    with pytest.raises(rlcc.OutOfMemory):
        rlcc.eps_from_quantile(d, 1.6e-3, max_bytes=4 * top - 1)
    assert rlcc.eps_from_quantile(d, 1.6e-3, max_bytes=4 * top) == float(mmt_eps(d, 1.6e-3))


def sparse_case(rng, case):
    n = int(rng.integers(2, 60))
    kind = case % 5
    density = float(rng.choice([0.05, 0.3, 0.8, 1.0]))
    mask = rng.random((n, n)) < density
    vals = rng.random((n, n)).astype(F32)
    if kind == 1:  # values above 1 and stored 1.0s
        vals = (rng.random((n, n)) * 2).astype(F32)
        vals[rng.random((n, n)) < 0.2] = 1.0
    elif kind == 2:  # exact zeros stored
        vals[rng.random((n, n)) < 0.3] = 0
    elif kind == 3:  # a matrix cut at 0.4 (what rlcc_jaccard's cutoff does)
        mask &= vals < 0.4
    elif kind == 4:  # every entry stored
        mask[:] = True
    rows, cols = np.nonzero(mask)
    rho = float(rng.choice([1.6e-3, 0.01, 0.05, 0.3, 0.9]))
    return n, rows, cols, vals[rows, cols], rho


def test_eps_sparse_matches_oracle():
    rng = np.random.default_rng(14)
    checked = refused_cut = refused_top = 0
    for case in range(400):
        n, rows, cols, vals, rho = sparse_case(rng, case)
        m = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
        assert m.nnz == len(vals)  # explicit zeros kept
        for summation in ("numpy", "double"):
            want, cut = oracle.eps_sparse(n, rows, cols, vals, rho, summation)
            if cut:
                with pytest.raises(rlcc.InvalidArgument, match="missing entries"):
                    rlcc.eps_from_quantile(m, rho, summation)
                refused_cut += 1
            elif want is None:
                with pytest.raises(rlcc.InvalidArgument, match="no value is selected"):
                    rlcc.eps_from_quantile(m, rho, summation)
                refused_top += 1
            else:
                assert rlcc.eps_from_quantile(m, rho, summation) == want, (case, summation)
                # the same matrix as COO and CSC: converted
                assert rlcc.eps_from_quantile(m.tocoo(), rho, summation) == want
                assert rlcc.eps_from_quantile(m.tocsc(), rho, summation) == want
                checked += 1
        if case % 5 == 4:  # fully stored: the dense call agrees
            dense = np.ones((n, n), F32)
            dense[rows, cols] = vals
            try:
                e = rlcc.eps_from_quantile(dense, rho)
            except rlcc.InvalidArgument:
                continue
            assert e == rlcc.eps_from_quantile(m, rho)
    assert checked > 300 and refused_cut > 10 and refused_top > 5


def test_eps_sparse_counts_missing_as_one():
    # 4 samples: 6 upper pairs, 2 stored (0.2, 0.3), 4 missing (1.0):
    # rho 0.34 -> round(2.04) = 2 -> mean(0.2, 0.3)
    m = sp.csr_matrix((np.array([0.2, 0.3], F32), ([0, 1], [1, 3])), shape=(4, 4))
    assert rlcc.eps_from_quantile(m, 0.34) == float(F32(float(F32(F32(0.2) + F32(0.3))) / 2))
    # rho 0.5 -> 3 values: the third is a missing 1.0: refused
    with pytest.raises(rlcc.InvalidArgument, match="missing entries"):
        rlcc.eps_from_quantile(m, 0.5)
    # a stored zero leaves the count: 5 nonzero pairs, rho 0.3 -> round(1.5) = 2 (half to even)
    z = sp.csr_matrix((np.array([0.2, 0.3, 0.0], F32), ([0, 1, 2], [1, 3, 3])), shape=(4, 4))
    assert rlcc.eps_from_quantile(z, 0.3) == rlcc.eps_from_quantile(m, 0.34)
    # round half to even: 0.25 x 6 = 1.5 -> 2, 0.5 x 5 = 2.5 -> 2
    assert rlcc.eps_from_quantile(m, 0.25) == rlcc.eps_from_quantile(m, 0.34)


def test_eps_errors():
    d = np.random.default_rng(15).random((6, 6)).astype(F32)
    for rho in (0.0, 1.0, -0.1, 1.5, float("nan"), float("inf")):
        with pytest.raises(rlcc.InvalidArgument, match=r"rho: .* must be in \(0, 1\)"):
            rlcc.eps_from_quantile(d, rho)
    with pytest.raises(rlcc.InvalidArgument, match="no value is selected"):
        rlcc.eps_from_quantile(d, 0.01)  # round(0.15) = 0
    for bad, text in ((np.nan, "is NaN"), (-0.5, "= -0.5 is negative"), (np.inf, "is infinite")):
        e = d.copy()
        e[2, 4] = bad
        with pytest.raises(rlcc.InvalidArgument, match=r"dist: entry \(2, 4\) " + text):
            rlcc.eps_from_quantile(e, 0.5)
        e = d.copy()
        e[4, 2] = bad  # the lower triangle is not read
        rlcc.eps_from_quantile(e, 0.5)
    with pytest.raises(rlcc.InvalidArgument, match="square"):
        rlcc.eps_from_quantile(d[:5], 0.5)
    with pytest.raises(rlcc.InvalidArgument, match="summation"):
        rlcc.eps_from_quantile(d, 0.5, summation="pairwise")
    with pytest.raises(rlcc.InvalidArgument, match="no value is selected"):
        rlcc.eps_from_quantile(np.zeros((5, 5), F32), 0.5)  # all zeros: count 0
    with pytest.raises(rlcc.InvalidArgument, match="overflows"):
        rlcc.eps_from_quantile(np.full((40, 40), 3e38, F32), 0.5)
    assert rlcc.eps_from_quantile(np.full((40, 40), 3e38, F32), 0.5, summation="double") == float(F32(3e38))
    # sparse: duplicates (CSR, COO), unsorted columns are sorted, a bad value
    dup = sp.csr_matrix((np.array([0.1, 0.2, 0.3], F32), np.array([1, 1, 2]), np.array([0, 3, 3, 3])),
                        shape=(3, 3))
    with pytest.raises(rlcc.InvalidArgument, match="duplicate column 1 in row 0"):
        rlcc.eps_from_quantile(dup, 0.5)
    coo = sp.coo_matrix((np.array([0.1, 0.2], F32), ([0, 0], [1, 1])), shape=(3, 3))
    with pytest.raises(rlcc.InvalidArgument, match=r"duplicate entry \(0, 1\)"):
        rlcc.eps_from_quantile(coo, 0.5)
    bad = sp.csr_matrix((np.array([0.1, np.nan], F32), ([0, 1], [1, 2])), shape=(3, 3))
    with pytest.raises(rlcc.InvalidArgument, match=r"data: entry \(1, 2\) is NaN"):
        rlcc.eps_from_quantile(bad, 0.5)
    with pytest.raises(rlcc.InvalidArgument, match="square"):
        rlcc.eps_from_quantile(sp.csr_matrix((3, 4), dtype=F32), 0.5)


def test_eps_raw_contract():
    opts = native.init_struct(native.QuantileOptions, native.lib.rlcc_quantile_options_init)
    assert opts.summation == 0
    d = np.random.default_rng(16).random((8, 8)).astype(F32)
    eps = ctypes.c_double(-3.0)
    fp = d.ctypes.data_as(native.c_float_p)
    assert native.lib.rlcc_eps_from_quantile(fp, 8, 8, 0.3, None, ctypes.byref(eps)) == 0
    assert eps.value == oracle.eps_dense(d, 0.3)
    eps.value = -3.0
    # ld < n, reserved, summation, NULL eps: refused, eps untouched
    assert native.lib.rlcc_eps_from_quantile(fp, 8, 7, 0.3, None, ctypes.byref(eps)) == -1
    opts.reserved = 1
    assert native.lib.rlcc_eps_from_quantile(fp, 8, 8, 0.3, ctypes.byref(opts), ctypes.byref(eps)) == -1
    opts.reserved, opts.summation = 0, 7
    assert native.lib.rlcc_eps_from_quantile(fp, 8, 8, 0.3, ctypes.byref(opts), ctypes.byref(eps)) == -1
    assert native.lib.rlcc_eps_from_quantile(fp, 8, 8, 0.3, None, None) == -1
    assert eps.value == -3.0
    # eps inside the matrix: overlap
    inside = ctypes.cast(ctypes.addressof(fp.contents) + 16, ctypes.POINTER(ctypes.c_double))
    assert native.lib.rlcc_eps_from_quantile(fp, 8, 8, 0.3, None, inside) == -1
    assert "overlap" in native.lib.rlcc_last_error().decode()
    # a row stride larger than n
    wide = np.zeros((8, 11), F32)
    wide[:, :8] = d
    assert native.lib.rlcc_eps_from_quantile(wide.ctypes.data_as(native.c_float_p), 8, 11, 0.3,
                                             None, ctypes.byref(eps)) == 0
    assert eps.value == oracle.eps_dense(d, 0.3)
    # CSR: NULL indptr with n > 0, n = 0
    assert native.lib.rlcc_eps_from_quantile_csr(3, None, None, None, 0.3, None, ctypes.byref(eps)) == -1
    assert native.lib.rlcc_eps_from_quantile_csr(0, None, None, None, 0.3, None, ctypes.byref(eps)) == -1
    assert "no value is selected" in native.lib.rlcc_last_error().decode()


def test_camera_proxies_without_features():
    """x=None: the proxies alone (CAP's train loader has no features)."""
    rng = np.random.default_rng(5)
    labels = rng.integers(-1, 6, size=300)
    cameras = rng.integers(0, 4, size=300)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    alone = rlcc.camera_proxies(labels, cameras, order="cluster")
    full = rlcc.camera_proxies(labels, cameras, x, order="cluster")
    assert alone.centroids is None
    assert np.array_equal(alone.proxy, full.proxy)
    assert np.array_equal(alone.cluster, full.cluster)
    assert np.array_equal(alone.camera, full.camera)
