/* synth.c - see synth.h. */
#include "synth.h"

#include <math.h>
#include <stdlib.h>

/* splitmix64: small, fast, and the same stream on every machine. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *state)
{
    return ((double)(next_u64(state) >> 11) + 0.5) * 0x1p-53;
}

/* Box-Muller; one normal per call keeps the stream easy to reason about. */
static double normal(uint64_t *state)
{
    double u = uniform01(state), v = uniform01(state);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* A random direction scaled to the given norm. */
static void random_vector(uint64_t *state, double *out, int64_t d, double norm)
{
    double sum = 0.0;
    for (int64_t k = 0; k < d; k++) {
        out[k] = normal(state);
        sum += out[k] * out[k];
    }
    double scale = norm / sqrt(sum);
    for (int64_t k = 0; k < d; k++)
        out[k] *= scale;
}

synth_params synth_defaults(int64_t n, int64_t d)
{
    synth_params p = {
        .n = n, .d = d, .identities = 751, .cameras = 6, .camera_bias = 0.3,
        .noise = 0.6, .hard_fraction = 0.04, .hard_noise = 2.0, .family_size = 1,
        .family_share = 0.0, .seed = 20210619,
    };
    if (p.identities > n / 4)
        p.identities = (int32_t)(n / 4 > 0 ? n / 4 : 1);
    return p;
}

int synth_generate(const synth_params *p, float *x, int32_t *identity, int32_t *camera)
{
    const int64_t d = p->d;
    double *centres = malloc(sizeof(double) * (size_t)(d * p->identities));
    double *biases = malloc(sizeof(double) * (size_t)(d * p->cameras));
    double *row = malloc(sizeof(double) * (size_t)d);
    if (centres == NULL || biases == NULL || row == NULL) {
        free(centres);
        free(biases);
        free(row);
        return -1;
    }
    uint64_t state = p->seed;
    for (int32_t c = 0; c < p->identities; c++)
        random_vector(&state, centres + c * d, d, 1.0);
    if (p->family_size > 1 && p->family_share > 0.0) {
        /* identity = share x family look + (1 - share) x its own, unit norm */
        double *look = malloc(sizeof(double) * (size_t)d);
        if (look == NULL) {
            free(centres);
            free(biases);
            free(row);
            return -1;
        }
        for (int32_t f = 0; f * p->family_size < p->identities; f++) {
            random_vector(&state, look, d, 1.0);
            for (int32_t c = f * p->family_size; c < (f + 1) * p->family_size && c < p->identities; c++) {
                double sum = 0.0;
                for (int64_t k = 0; k < d; k++) {
                    double v = p->family_share * look[k] + (1.0 - p->family_share) * centres[c * d + k];
                    centres[c * d + k] = v;
                    sum += v * v;
                }
                for (int64_t k = 0; k < d; k++)
                    centres[c * d + k] /= sqrt(sum);
            }
        }
        free(look);
    }
    for (int32_t c = 0; c < p->cameras; c++)
        random_vector(&state, biases + c * d, d, p->camera_bias);
    /* the same people and cameras, seen again through new noise */
    if (p->image_seed != 0)
        state = p->image_seed;
    for (int64_t i = 0; i < p->n; i++) {
        int32_t id = (int32_t)(i % p->identities);
        int32_t cam = (int32_t)(next_u64(&state) % (uint64_t)p->cameras);
        int hard = uniform01(&state) < p->hard_fraction;
        random_vector(&state, row, d, hard ? p->hard_noise : p->noise);
        double sum = 0.0;
        for (int64_t k = 0; k < d; k++) {
            row[k] += centres[id * d + k] + biases[cam * d + k];
            sum += row[k] * row[k];
        }
        double inv = 1.0 / sqrt(sum);
        for (int64_t k = 0; k < d; k++)
            x[i * d + k] = (float)(row[k] * inv);
        if (identity)
            identity[i] = id;
        if (camera)
            camera[i] = cam;
    }
    free(centres);
    free(biases);
    free(row);
    return 0;
}
