/*
 * progress.h - one progress line on stderr, redrawn in place ("\r") as tqdm
 * draws it: "rlcc: reading x.npy  42%". Shown when stderr is a terminal
 * (CLI_PROGRESS_AUTO), never with --quiet, always with --progress. While a
 * library call runs that reports nothing, a ticker thread redraws the line
 * once a second with the seconds it has run.
 */
#ifndef RLCC_PROGRESS_H
#define RLCC_PROGRESS_H

#include <pthread.h>

typedef struct cli_progress {
    int on;             /* draw at all */
    int tty;            /* stderr is a terminal: erase rather than end lines */
    int columns;        /* the terminal's width (0: unknown) */
    int open;           /* a line is drawn and not ended */
    int width;          /* characters drawn on it */
    int percent;        /* of the stage, as drawn */
    int timed;          /* the stage shows its seconds */
    char label[160];    /* the stage */
    char detail[96];    /* after the percent */
    double started;     /* when the stage began */
    double drawn;       /* when the line was last drawn */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t ticker;
    int ticking;        /* the ticker thread runs */
} cli_progress;

/* mode: enum cli_progress_mode (args.h) */
void progress_init(cli_progress *p, int mode);

/* Shows label at fraction (0 to 1), then detail (may be NULL). A new label
 * ends the previous line and starts the stage's clock. At most ten redraws
 * a second, besides a new label, a new detail and 100%. */
void progress_update(cli_progress *p, const char *label, double fraction, const char *detail);

/* Starts redrawing the line every second with the stage's seconds, until
 * progress_stop(); the seconds stay on the line after it. */
void progress_start(cli_progress *p);
void progress_stop(cli_progress *p);

/* The line out of the way for other output to the terminal (erased there,
 * ended with a newline elsewhere), the ticker held until progress_resume(). */
void progress_pause(cli_progress *p);
void progress_resume(cli_progress *p);

/* Stops the ticker and ends the line; call before exiting. */
void progress_finish(cli_progress *p);

#endif
