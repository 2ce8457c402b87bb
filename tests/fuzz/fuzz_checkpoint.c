/* fuzz_checkpoint.c - rlcc_refiner_load() over arbitrary bytes.
 *
 * The first byte chooses how the rest is handed over: odd, as it is (the
 * checksum then refuses nearly every mutation, which tests the envelope);
 * even, resealed first: the harness writes the size field and the CRC-32C
 * of the bytes, so the fuzzer reaches the checks behind the checksum.
 *
 * Checks: a refused state gives RLCC_E_INVALID_ARGUMENT with a "state: "
 * message and leaves *out alone. An accepted one saves back to exactly the
 * bytes it was loaded from (with this librlcc's version as the writer's);
 * its getters agree with its header; its targets
 * are finite, non-negative, and each row sums to between alpha [y >= 0] and
 * 1 (a blend of a one-hot row and a propagation of sub-stochastic rows);
 * and, when small enough, it takes a step (success, or a refusal for what
 * the state's options cannot do with these features), after which its
 * targets pass the same checks and its state loads again, bit for bit. */
#include <stdlib.h>

#include "../c/state_format.h"
#include "fuzz_input.h"
#include "rlcc.h"

enum { MAX_STEP_N = 256, MAX_STEP_D = 64 };
/* every call's max_bytes: the default half of memory is no bound for a
 * fuzzer, and a state's own budget may be a few bytes */
#define BOUND ((int64_t)256 << 20)

/* The size field made right, then the checksum. */
static void reseal_all(uint8_t *s, size_t size)
{
    if (size >= 28)
        set_le64(s + AT_SIZE, size);
    reseal(s, size);
}

typedef struct rows {
    int64_t d;
    uint64_t seed;
} rows;

/* Unit rows around a few directions, a function of the row index. */
static int64_t features(int64_t start, int64_t count, float *out, int64_t ld, void *data)
{
    const rows *src = data;
    for (int64_t i = 0; i < count; i++) {
        float *row = out + i * ld;
        const int64_t id = (start + i) % 5;
        double sum = 0.0;
        uint64_t s = src->seed + (uint64_t)(start + i) * 0x9E3779B97F4A7C15ull;
        for (int64_t k = 0; k < src->d; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            const double v = (k % 5 == id ? 1.0 : 0.0) + ((double)(s >> 11) * 0x1p-53 - 0.5) * 0.3;
            row[k] = (float)v;
            sum += v * v;
        }
        for (int64_t k = 0; k < src->d; k++)
            row[k] = (float)(row[k] / sqrt(sum));
    }
    return count;
}

/* Targets of every row: finite, >= 0, rows within [alpha [y >= 0], 1]. */
static int targets_bad(const rlcc_refiner *r, int64_t n, float alpha)
{
    const int64_t k = rlcc_refiner_n_classes(r);
    if (k < 1 || n > MAX_STEP_N * 16)
        return k < 1;
    float *t = malloc(sizeof(float) * (size_t)(n * k));
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    rlcc_targets_options to;
    rlcc_targets_options_init(&to, sizeof to);
    to.max_bytes = BOUND; /* not the state's own budget, which may be tiny */
    to.n_threads = 2;     /* nor its n_threads, which may be 2^31 - 1 */
    int bad = t == NULL || labels == NULL ||
              rlcc_refiner_targets_opts(r, NULL, n, &to, t, k) != RLCC_OK ||
              rlcc_refiner_labels(r, labels) != RLCC_OK;
    for (int64_t i = 0; i < n && !bad; i++) {
        double sum = 0.0;
        for (int64_t b = 0; b < k; b++) {
            bad |= !isfinite(t[i * k + b]) || t[i * k + b] < 0.0f;
            sum += t[i * k + b];
        }
        const double low = labels[i] >= 0 ? (double)alpha : 0.0;
        bad |= sum < low - 1e-4 || sum > 1.0 + 1e-4;
    }
    if (bad)
        fprintf(stderr, "targets fail the row-sum checks\n");
    free(labels);
    free(t);
    return bad;
}

/* The saved bytes equal `want`. */
static int saves_as(const rlcc_refiner *r, const uint8_t *want, size_t size)
{
    size_t need = 0;
    if (rlcc_refiner_save(r, NULL, 0, &need) != RLCC_OK || need != size)
        return 0;
    uint8_t *s = malloc(size);
    size_t got = 0;
    const int same = s != NULL && rlcc_refiner_save(r, s, size, &got) == RLCC_OK && got == size &&
                     memcmp(s, want, size) == 0;
    free(s);
    return same;
}

static int accepted_checks(rlcc_refiner *r, const uint8_t *s, size_t size)
{
    /* what a save writes: the same bytes, but its own version as the writer's */
    uint8_t *want = malloc(size);
    memcpy(want, s, size);
    const unsigned version = rlcc_version_number();
    set_le32(want + AT_WRITER, version);
    reseal(want, size);
    int bad = !saves_as(r, want, size);
    free(want);
    if (bad)
        fprintf(stderr, "saving a loaded state gave other bytes\n");
    const int64_t n = (int64_t)le64(s + AT_N), d = (int64_t)le64(s + AT_D);
    const int64_t done = (int64_t)le64(s + AT_DONE), k = (int64_t)le64(s + AT_K);
    const float alpha = f32_at(s + AT_ALPHA);
    bad |= rlcc_refiner_generation(r) != done || rlcc_refiner_n_classes(r) != k;
    if (!bad && done >= 1)
        bad |= targets_bad(r, n, alpha);
    if (bad || n > MAX_STEP_N || d > MAX_STEP_D)
        return bad;
    /* a step with features of the harness's own */
    rows src = {d, size};
    rlcc_step_options so;
    rlcc_step_options_init(&so, sizeof so);
    so.batch = 7;
    so.max_bytes = BOUND;
    so.n_threads = 2;
    const int rc = rlcc_refiner_step_opts(r, features, &src, &so);
    if (rc != RLCC_OK) {
        bad |= rc != RLCC_E_INVALID_ARGUMENT || rlcc_refiner_generation(r) != done;
        if (bad)
            fprintf(stderr, "the step after the load gave %d: %s\n", rc, rlcc_last_error());
        return bad;
    }
    bad |= rlcc_refiner_generation(r) != done + 1 || targets_bad(r, n, alpha);
    /* and its state loads again, bit for bit */
    rlcc_load_options o;
    rlcc_load_options_init(&o, sizeof o);
    o.max_bytes = BOUND;
    size_t need = 0;
    bad |= rlcc_refiner_save(r, NULL, 0, &need) != RLCC_OK;
    uint8_t *again = bad ? NULL : malloc(need);
    rlcc_refiner *back = NULL;
    if (again != NULL) {
        bad |= rlcc_refiner_save(r, again, need, &need) != RLCC_OK ||
               rlcc_refiner_load(again, need, &o, &back) != RLCC_OK ||
               !saves_as(back, again, need);
        if (bad)
            fprintf(stderr, "a stepped refiner's state did not load back: %s\n",
                    rlcc_last_error());
    }
    rlcc_refiner_free(back);
    free(again);
    return bad;
}

static int check_input(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const int raw = data[0] & 1;
    size -= 1;
    uint8_t *s = malloc(size > 0 ? size : 1);
    memcpy(s, data + 1, size);
    if (!raw)
        reseal_all(s, size);
    rlcc_load_options o;
    rlcc_load_options_init(&o, sizeof o);
    o.max_bytes = BOUND;
    rlcc_refiner *out = (rlcc_refiner *)(void *)&o; /* a sentinel, never read */
    const int rc = rlcc_refiner_load(s, size, &o, &out);
    int bad = 0;
    if (rc != RLCC_OK) {
        bad = rc != RLCC_E_INVALID_ARGUMENT || out != (rlcc_refiner *)(void *)&o ||
              strncmp(rlcc_last_error(), "state: ", 7) != 0;
        if (bad)
            fprintf(stderr, "a refusal gave %d: %s\n", rc, rlcc_last_error());
    } else {
        bad = accepted_checks(out, s, size);
        rlcc_refiner_free(out);
    }
    free(s);
    return bad;
}
FUZZ_ENTRY(check_input)
