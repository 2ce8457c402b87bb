/*
 * proxies.c - camera-aware proxies (CAP, ICE, O2CAP, PPLR-cam; spec:
 * later-methods.md section 1): one proxy per (cluster, camera) pair that
 * has a member, numbered from 0 in camera-major or cluster-major order.
 *
 * Sort-based, O(n log n) time, 12 bytes per sample: every labelled
 * sample's pair becomes one 64-bit key whose numeric order is the proxy
 * order (camera-major: camera << 32 | label; cluster-major: label << 32 |
 * camera; both are >= 0, so they fit 31 bits each); the sorted distinct
 * keys are the proxies, and a sample's proxy is its key's rank among them.
 * The proxies' centroids are rlcc_centroids_opts() over the proxy ids.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PROXY_OPTIONS_SIZE_1_7 sizeof(rlcc_proxy_options)

int rlcc_proxy_options_init(rlcc_proxy_options *options, size_t struct_size)
{
    rlcc__clear_error();
    const rlcc_proxy_options defaults = {.struct_size = sizeof defaults,
                                         .order = RLCC_PROXIES_CAMERA_MAJOR};
    return rlcc__init_struct(options, struct_size, &defaults, sizeof defaults,
                             PROXY_OPTIONS_SIZE_1_7, "options");
}

static int compare_key(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t key_of(int32_t label, int32_t camera, int32_t order)
{
    return order == RLCC_PROXIES_CAMERA_MAJOR ? (uint64_t)camera << 32 | (uint32_t)label
                                              : (uint64_t)label << 32 | (uint32_t)camera;
}

/* The rank of key among the m sorted distinct keys (it is one of them). */
static int64_t rank_of(const uint64_t *keys, int64_t m, uint64_t key)
{
    int64_t lo = 0, hi = m - 1;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int rlcc_camera_proxies(const int32_t *labels, const int32_t *cameras, int64_t n,
                        const rlcc_proxy_options *options, int32_t *proxy, int64_t *n_proxies,
                        int32_t *proxy_cluster, int32_t *proxy_camera)
{
    rlcc__clear_error();
    rlcc_proxy_options opts;
    rlcc_proxy_options_init(&opts, sizeof opts);
    int err = rlcc__read_struct(&opts, sizeof opts, options, PROXY_OPTIONS_SIZE_1_7, "options");
    if (err == RLCC_OK && opts.order != RLCC_PROXIES_CAMERA_MAJOR &&
        opts.order != RLCC_PROXIES_CLUSTER_MAJOR)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                         "options.order: %d is neither RLCC_PROXIES_CAMERA_MAJOR (0) nor "
                         "RLCC_PROXIES_CLUSTER_MAJOR (1)",
                         (int)opts.order);
    if (err == RLCC_OK)
        err = rlcc__check_reserved("options.reserved", opts.reserved);
    if (err == RLCC_OK)
        err = rlcc__check_max_bytes(opts.max_bytes);
    if (err == RLCC_OK)
        err = rlcc__check_row_count("labels", n);
    if (err == RLCC_OK && n > 0 && labels == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "labels: is NULL");
    if (err == RLCC_OK && n > 0 && cameras == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "cameras: is NULL");
    if (err == RLCC_OK && n > 0 && proxy == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "proxy: is NULL");
    if (err == RLCC_OK && n_proxies == NULL)
        err = rlcc__fail(RLCC_E_INVALID_ARGUMENT, "n_proxies: is NULL");
    int64_t n_valid = 0;
    for (int64_t i = 0; i < n && err == RLCC_OK; i++) {
        if (labels[i] < -1)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "labels: labels[%lld] = %d is below -1 (-1 = noise)",
                             (long long)i, (int)labels[i]);
        else if (cameras[i] < 0)
            err = rlcc__fail(RLCC_E_INVALID_ARGUMENT,
                             "cameras: cameras[%lld] = %d is negative", (long long)i,
                             (int)cameras[i]);
        n_valid += labels[i] >= 0;
    }
    if (err == RLCC_OK) {
        /* proxy_cluster and proxy_camera are checked at n entries here, the
         * most M can be, and again at M once M is known */
        const rlcc__span outputs[] = {
            rlcc__vector_span("proxy", proxy, n, sizeof *proxy),
            rlcc__vector_span("n_proxies", n_proxies, 1, sizeof *n_proxies)};
        const rlcc__span inputs[] = {rlcc__vector_span("labels", labels, n, sizeof *labels),
                                     rlcc__vector_span("cameras", cameras, n, sizeof *cameras)};
        err = rlcc__check_no_overlap(outputs, 2, inputs, 2);
    }
    if (err != RLCC_OK)
        return err;

    rlcc__budget budget;
    rlcc__budget_init(&budget, opts.max_bytes);
    const int64_t n_keys = n_valid > 0 ? n_valid : 1;
    uint64_t *keys = rlcc__alloc(&budget, n_keys, sizeof *keys, "proxy keys", &err);
    int32_t *ids = keys ? rlcc__alloc(&budget, n > 0 ? n : 1, sizeof *ids, "proxy ids", &err) : NULL;
    if (ids == NULL) {
        rlcc__free(&budget, keys, n_keys, sizeof *keys);
        return err;
    }
    int64_t m = 0;
    for (int64_t i = 0; i < n && m < n_valid; i++) /* m < n_valid: never past the keys */
        if (labels[i] >= 0)
            keys[m++] = key_of(labels[i], cameras[i], opts.order);
    qsort(keys, (size_t)m, sizeof *keys, compare_key);
    int64_t distinct = 0;
    for (int64_t t = 0; t < m; t++)
        if (t == 0 || keys[t] != keys[distinct - 1])
            keys[distinct++] = keys[t];
    for (int64_t i = 0; i < n; i++)
        ids[i] = labels[i] >= 0
                     ? (int32_t)rank_of(keys, distinct, key_of(labels[i], cameras[i], opts.order))
                     : -1;
    /* now that M is known: the per-proxy outputs apart from everything */
    const rlcc__span outputs[] = {
        rlcc__vector_span("proxy", proxy, n, sizeof *proxy),
        rlcc__vector_span("n_proxies", n_proxies, 1, sizeof *n_proxies),
        rlcc__vector_span("proxy_cluster", proxy_cluster, distinct, sizeof *proxy_cluster),
        rlcc__vector_span("proxy_camera", proxy_camera, distinct, sizeof *proxy_camera)};
    const rlcc__span inputs[] = {rlcc__vector_span("labels", labels, n, sizeof *labels),
                                 rlcc__vector_span("cameras", cameras, n, sizeof *cameras)};
    err = rlcc__check_no_overlap(outputs, 4, inputs, 2);
    if (err == RLCC_OK) {
        if (n > 0)
            memcpy(proxy, ids, sizeof *ids * (size_t)n);
        for (int64_t p = 0; p < distinct; p++) {
            const int32_t hi = (int32_t)(keys[p] >> 32), lo = (int32_t)(keys[p] & 0xffffffffu);
            const int camera_major = opts.order == RLCC_PROXIES_CAMERA_MAJOR;
            if (proxy_cluster != NULL)
                proxy_cluster[p] = camera_major ? lo : hi;
            if (proxy_camera != NULL)
                proxy_camera[p] = camera_major ? hi : lo;
        }
        *n_proxies = distinct;
    }
    rlcc__free(&budget, ids, n > 0 ? n : 1, sizeof *ids);
    rlcc__free(&budget, keys, n_keys, sizeof *keys);
    return err;
}
