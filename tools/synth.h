/*
 * synth.h - synthetic re-ID-like embeddings with a fixed seed.
 *
 * Identities are random directions on the unit hypersphere; each camera
 * adds its own bias; each image adds Gaussian noise, and a few "hard"
 * images get much more of it (occlusion, bad crops), which DBSCAN should
 * leave as noise. Identities may come in families of look-alikes (people
 * dressed alike) that share part of their direction. Rows come out
 * L2-normalised, as every trainer's do.
 * `noise` scales all image noise, so a simulated training run can shrink
 * it generation by generation.
 */
#ifndef RLCC_SYNTH_H
#define RLCC_SYNTH_H

#include <stdint.h>

typedef struct synth_params {
    int64_t n;           /* images */
    int64_t d;           /* feature dimension */
    int32_t identities;  /* people (Market-1501: 751) */
    int32_t cameras;     /* cameras (Market-1501: 6) */
    double camera_bias;  /* norm of each camera's bias vector */
    double noise;        /* norm of an ordinary image's noise */
    double hard_fraction;/* share of hard images */
    double hard_noise;   /* norm of a hard image's noise */
    int32_t family_size; /* look-alike identities per family (1 = none) */
    double family_share; /* how much of an identity is its family's look */
    uint64_t seed;       /* identities and cameras */
    uint64_t image_seed; /* which camera, which noise each image gets; 0 = seed */
} synth_params;

/* Market-1501-like defaults for n images of dimension d. */
synth_params synth_defaults(int64_t n, int64_t d);

/* Fills x (n x d, row-major) and, when not NULL, identity[n] and
 * camera[n]. Returns 0, or -1 when memory runs out. Image i belongs to
 * identity i % identities, so identities interleave through the rows. */
int synth_generate(const synth_params *p, float *x, int32_t *identity, int32_t *camera);

#endif
