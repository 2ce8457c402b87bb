/*
 * demo.c - `rlcc demo` (and `make demo`): a simulated unsupervised re-ID
 * training run on built-in data of Market-1501 size, with RLCC.
 *
 * The "model" is simulated: every generation sees the same 751 identities
 * and 6 cameras through new image noise that shrinks as training goes on.
 * Each generation the refiner reads the features from the demo's matrix,
 * clusters them (Jaccard, DBSCAN at 0.58 / 0.60 / 0.62, singletons, the
 * reliability criterion) and computes the consensus with the previous
 * generation; the targets are then read batch by batch, as a trainer
 * would. The same run without RLCC trains on the hard labels alone.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "metrics.h"
#include "progress.h"
#include "rlcc.h"
#include "synth.h"
#include "timing.h"

/* Look-alike identities come in families of 3 sharing 65% of their look,
 * and image noise starts at 1.3 and shrinks by 18% a generation: enough for
 * Jaccard + DBSCAN to merge look-alikes early and separate more of them as
 * the "model" improves. */
#define FAMILY_SIZE 3
#define FAMILY_SHARE 0.65
#define FIRST_NOISE 1.3
#define NOISE_DECAY 0.82

static int compare_keys(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The class most samples of each identity fall in: the "true class".
 * 0, or -1 when memory runs out. */
static int majority_class(const int32_t *labels, const int32_t *identity, int64_t n,
                          int32_t identities, int64_t k, int32_t *out)
{
    /* count (identity, label) pairs by sorting keys */
    int64_t *keys = malloc(sizeof *keys * (size_t)n);
    int64_t *best = calloc((size_t)identities, sizeof *best);
    if (keys == NULL || best == NULL) {
        free(keys);
        free(best);
        return -1;
    }
    for (int64_t i = 0; i < n; i++)
        keys[i] = (int64_t)identity[i] * (k + 1) + labels[i];
    qsort(keys, (size_t)n, sizeof *keys, compare_keys);
    for (int32_t c = 0; c < identities; c++)
        out[c] = -1;
    for (int64_t s = 0; s < n;) {
        int64_t e = s;
        while (e < n && keys[e] == keys[s])
            e++;
        const int32_t id = (int32_t)(keys[s] / (k + 1));
        if (e - s > best[id]) {
            best[id] = e - s;
            out[id] = (int32_t)(keys[s] % (k + 1));
        }
        s = e;
    }
    free(best);
    free(keys);
    return 0;
}

static int fail(cli_progress *progress, const char *what, const char *why)
{
    progress_finish(progress);
    fprintf(stderr, "rlcc demo: %s: %s\n", what, why);
    return 1;
}

/* The progress line of the whole run: generation g of G, and within it
 * the features (0-10%), the refiner's stages (its progress callback:
 * 10-85%) and the targets read batch by batch (85-100%). */
typedef struct demo_progress {
    cli_progress *line;
    int generation, generations;
} demo_progress;

static void demo_show(demo_progress *p, double within, const char *stage)
{
    char detail[96];
    snprintf(detail, sizeof detail, "generation %d of %d: %s", p->generation + 1, p->generations,
             stage);
    progress_update(p->line, "demo", (p->generation + within) / p->generations, detail);
}

static int on_refiner_progress(int32_t stage, double fraction, void *data)
{
    switch (stage) {
    case RLCC_STAGE_FEATURES: demo_show(data, 0.10 + 0.05 * fraction, "features"); break;
    case RLCC_STAGE_CLUSTERING: demo_show(data, 0.15, "clustering"); break;
    case RLCC_STAGE_CONSENSUS: demo_show(data, 0.75, "consensus"); break;
    default: demo_show(data, 0.85, "targets"); break;
    }
    return 0;
}

int rlcc_demo(int64_t n, int generations, cli_progress *progress)
{
    const int64_t d = 2048, batch = 1024;
    synth_params params = synth_defaults(n, d);
    params.hard_fraction = 0.08;
    params.family_size = FAMILY_SIZE;
    params.family_share = FAMILY_SHARE;
    float *x = malloc(sizeof(float) * (size_t)(n * d));
    int32_t *identity = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *labels = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *previous = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *argmax = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *truth_class = malloc(sizeof(int32_t) * (size_t)params.identities);
    float *targets = NULL;
    if (!x || !identity || !labels || !previous || !argmax || !truth_class)
        return fail(progress, "features", "out of memory");
    rlcc_refiner *refiner = NULL;
    if (rlcc_refiner_new(n, d, NULL, NULL, &refiner) != RLCC_OK)
        return fail(progress, "rlcc_refiner_new", rlcc_last_error());
    demo_progress shown = {progress, 0, generations};
    rlcc_step_options step;
    rlcc_step_options_init(&step, sizeof step);
    step.progress = on_refiner_progress;
    step.progress_data = &shown;
    printf("librlcc %s demo: a simulated training run, %lld images, D = %lld, %d identities, "
           "%d cameras, %d generations\n",
           rlcc_version_string(), (long long)n, (long long)d, params.identities, params.cameras,
           generations);
    rlcc_refiner_options soften; /* the refiner's defaults, which rlcc_refiner_new(NULL) uses */
    rlcc_refiner_options_init(&soften, sizeof soften);
    printf("clustering: Jaccard (k1 30, k2 6) + DBSCAN at 0.58/0.60/0.62 + singletons + "
           "reliability; RLCC: alpha %.1f, w %.1f, scale %g\n\n",
           soften.alpha, soften.w, soften.scale);
    printf("gen noise classes single |  DBSCAN P    R    F   NMI | RLCC argmax F | mass on true class: "
           "hard  RLCC  (wrong-label samples: hard RLCC) | stable NMI | step s targets s\n");
    double sum_hard = 0, sum_rlcc = 0, sum_wrong_rlcc = 0;
    int counted = 0;
    fflush(stdout);
    for (int g = 0; g < generations; g++) {
        shown.generation = g;
        demo_show(&shown, 0.0, "features");
        if (g == 0)
            progress_start(progress); /* the seconds since the run began */
        params.noise = FIRST_NOISE * pow(NOISE_DECAY, g);
        params.image_seed = 1000 + (uint64_t)g;
        if (synth_generate(&params, x, identity, NULL) != 0)
            return fail(progress, "features", "out of memory");
        /* not borrowed: x is overwritten next generation, so the refiner
         * keeps a copy of the rows the targets read */
        double t0 = now_seconds();
        if (rlcc_refiner_step_matrix(refiner, x, d, &step) != RLCC_OK)
            return fail(progress, "rlcc_refiner_step_matrix", rlcc_last_error());
        const double step_s = now_seconds() - t0;
        const int64_t k = rlcc_refiner_n_classes(refiner);
        rlcc_refiner_labels(refiner, labels);
        free(targets);
        targets = malloc(sizeof(float) * (size_t)(batch * k));
        if (targets == NULL ||
            majority_class(labels, identity, n, params.identities, k, truth_class) != 0)
            return fail(progress, "targets", "out of memory");
        /* targets batch by batch, as a trainer reads them */
        double mass_hard = 0, mass_rlcc = 0, wrong_hard = 0, wrong_rlcc = 0;
        int64_t wrong = 0;
        t0 = now_seconds();
        for (int64_t start = 0; start < n; start += batch) {
            const int64_t count = n - start < batch ? n - start : batch;
            int64_t rows[1024];
            for (int64_t r = 0; r < count; r++)
                rows[r] = start + r;
            demo_show(&shown, 0.85 + 0.15 * (double)start / (double)n, "targets");
            if (rlcc_refiner_targets(refiner, rows, count, targets, k) != RLCC_OK)
                return fail(progress, "rlcc_refiner_targets", rlcc_last_error());
            for (int64_t r = 0; r < count; r++) {
                const int64_t i = start + r;
                const float *row = targets + r * k;
                int64_t top = 0;
                for (int64_t b = 1; b < k; b++)
                    top = row[b] > row[top] ? b : top;
                argmax[i] = (int32_t)top;
                const int32_t want = truth_class[identity[i]];
                const double hard = labels[i] == want ? 1.0 : 0.0;
                mass_hard += hard;
                mass_rlcc += row[want];
                if (labels[i] != want) {
                    wrong++;
                    wrong_hard += hard;
                    wrong_rlcc += row[want];
                }
            }
        }
        const double targets_s = now_seconds() - t0;
        int64_t singletons = 0;
        {
            int64_t *size = calloc((size_t)k, sizeof *size);
            for (int64_t i = 0; i < n; i++)
                size[labels[i]]++;
            for (int64_t c = 0; c < k; c++)
                singletons += size[c] == 1;
            free(size);
        }
        /* singletons are outliers: alone, like -1, for the pairwise scores */
        pair_scores db = metrics_pairwise(labels, identity, n);
        pair_scores am = metrics_pairwise(argmax, identity, n);
        double nmi = metrics_nmi(labels, identity, n);
        double stable = g > 0 ? metrics_nmi(previous, labels, n) : NAN;
        progress_pause(progress); /* the table row, not the progress line, on the terminal */
        printf("%3d %5.2f %7lld %6lld | %6.3f %.3f %.3f %.3f |     %.3f     |"
               "                    %.3f %.3f  (%5lld:            %.3f %.3f) |    %s%.3f | %6.2f %8.2f\n",
               g, params.noise, (long long)k, (long long)singletons, db.precision, db.recall,
               db.f_score, nmi, am.f_score, mass_hard / n, mass_rlcc / n, (long long)wrong,
               wrong ? wrong_hard / wrong : 0.0, wrong ? wrong_rlcc / wrong : 0.0,
               g > 0 ? "" : " ", g > 0 ? stable : 0.0, step_s, targets_s);
        if (g > 0) {
            sum_hard += mass_hard / n;
            sum_rlcc += mass_rlcc / n;
            sum_wrong_rlcc += wrong ? wrong_rlcc / wrong : 0.0;
            counted++;
        }
        memcpy(previous, labels, sizeof *labels * (size_t)n);
        fflush(stdout);
        progress_resume(progress);
    }
    progress_stop(progress);
    progress_update(progress, "demo", 1.0, "done");
    progress_finish(progress);
    printf("\nwhat RLCC changed (generations 1-%d; generation 0 has no previous one):\n",
           generations - 1);
    printf("  mean target mass on the true class: %.3f with RLCC, %.3f with hard labels\n",
           counted ? sum_rlcc / counted : 0.0, counted ? sum_hard / counted : 0.0);
    /* Why soft targets put less mass on the argmax: T = alpha onehot(cur) + (1 - alpha) S,
     * S = P' Chat with beta 0 (docs/pipeline.md). Compared as printed. */
    const int lower = counted && lround(1000 * sum_rlcc / counted) < lround(1000 * sum_hard / counted);
    printf("  %s: a target is %.1f x the hard label + %.1f x S, and S spreads the sample's "
           "previous-generation class distribution over the current classes those classes "
           "overlapped (IoU)%s\n",
           lower ? "RLCC's is lower by design" : "the same here", soften.alpha, 1.0 - soften.alpha,
           lower ? ": mass off the argmax is that consensus, not lost accuracy"
                 : "; here the classes barely changed, so almost no mass left the argmax");
    printf("  samples DBSCAN put in the wrong class get %.3f of their target on the true class "
           "with RLCC, 0 with hard labels\n",
           counted ? sum_wrong_rlcc / counted : 0.0);
    printf("  the argmax of the targets is the DBSCAN label (alpha 0.9): RLCC softens the "
           "targets, it does not relabel\n");
    rlcc_refiner_free(refiner);
    free(targets);
    free(x);
    free(identity);
    free(labels);
    free(previous);
    free(argmax);
    free(truth_class);
    return 0;
}
