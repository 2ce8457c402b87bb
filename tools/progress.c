/* progress.c - see progress.h. */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "timing.h"

void progress_init(cli_progress *p, int mode)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->on = mode == CLI_PROGRESS_ON || (mode == CLI_PROGRESS_AUTO && p->tty);
    struct winsize ws;
    if (p->tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0)
        p->columns = ws.ws_col;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
}

/* "\rrlcc: LABEL  42%  DETAIL  3 s", padded over what was there; lock held. */
static void draw(cli_progress *p)
{
    char line[320];
    int len = snprintf(line, sizeof line, "rlcc: %s %3d%%%s%s", p->label, p->percent,
                       p->detail[0] ? "  " : "", p->detail);
    if (p->timed && len < (int)sizeof line)
        len += snprintf(line + len, sizeof line - (size_t)len,
                        p->ticking ? "  %.0f s" : "  %.1f s", now_seconds() - p->started);
    if (len >= (int)sizeof line)
        len = (int)sizeof line - 1;
    /* one row of the terminal, or "\r" would only go back to its last row */
    if (p->columns > 1 && len > p->columns - 1)
        len = p->columns - 1;
    fprintf(stderr, "\r%.*s%*s", len, line, p->width > len ? p->width - len : 0, "");
    fflush(stderr);
    p->width = len;
    p->open = 1;
    p->drawn = now_seconds();
}

void progress_update(cli_progress *p, const char *label, double fraction, const char *detail)
{
    if (!p->on)
        return;
    detail = detail != NULL ? detail : "";
    pthread_mutex_lock(&p->lock);
    const int percent = fraction >= 1.0 ? 100 : fraction > 0.0 ? (int)(fraction * 100.0) : 0;
    int redraw = !p->open || strcmp(detail, p->detail) != 0 ||
                 (percent != p->percent && (percent == 100 || now_seconds() - p->drawn >= 0.1));
    if (strcmp(label, p->label) != 0) { /* a new stage */
        if (p->open)
            fputc('\n', stderr);
        p->open = p->width = p->timed = 0;
        snprintf(p->label, sizeof p->label, "%s", label);
        p->started = now_seconds();
        redraw = 1;
    }
    if (redraw) {
        p->percent = percent;
        snprintf(p->detail, sizeof p->detail, "%s", detail);
        draw(p);
    }
    pthread_mutex_unlock(&p->lock);
}

static void *tick(void *arg)
{
    cli_progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (p->ticking) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 1;
        pthread_cond_timedwait(&p->wake, &p->lock, &until);
        if (p->ticking)
            draw(p);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

void progress_start(cli_progress *p)
{
    if (!p->on)
        return;
    pthread_mutex_lock(&p->lock);
    p->timed = 1;
    if (!p->ticking)
        p->ticking = pthread_create(&p->ticker, NULL, tick, p) == 0;
    pthread_mutex_unlock(&p->lock);
}

void progress_stop(cli_progress *p)
{
    if (!p->on)
        return;
    pthread_mutex_lock(&p->lock);
    const int was = p->ticking;
    p->ticking = 0;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    if (was)
        pthread_join(p->ticker, NULL);
}

void progress_pause(cli_progress *p)
{
    if (!p->on)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->open && p->tty)
        fprintf(stderr, "\r%*s\r", p->width, "");
    else if (p->open)
        fputc('\n', stderr);
    fflush(stderr);
    p->open = p->width = 0;
}

void progress_resume(cli_progress *p)
{
    if (p->on)
        pthread_mutex_unlock(&p->lock);
}

void progress_finish(cli_progress *p)
{
    if (!p->on)
        return;
    progress_stop(p);
    pthread_mutex_lock(&p->lock);
    if (p->open)
        fputc('\n', stderr);
    fflush(stderr);
    p->open = p->width = 0;
    pthread_mutex_unlock(&p->lock);
}
