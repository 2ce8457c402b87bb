/* output.c - see output.h. */
#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The temporary file a signal handler removes: set while cleanup_armed. */
static char cleanup_path[PATH_MAX + 64];
static volatile sig_atomic_t cleanup_armed;

static void on_signal(int sig)
{
    if (cleanup_armed)
        unlink(cleanup_path); /* async-signal-safe */
    /* SA_RESETHAND restored the default action: end as the signal would */
    raise(sig);
}

void out_install_cleanup(void)
{
    static const int SIGNALS[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof SIGNALS / sizeof *SIGNALS; i++) {
        struct sigaction old, sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGNALS[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
            sigaction(SIGNALS[i], &sa, NULL);
    }
    signal(SIGXFSZ, SIG_IGN);
}

static void block_signals(sigset_t *saved)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, saved);
}

static int fail(char *error, size_t size, const char *path, const char *why)
{
    snprintf(error, size, "cannot write %s: %s", path, why);
    return -1;
}

static void release(out_file *o)
{
    free(o->target);
    free(o->temp);
    o->target = o->temp = NULL;
    o->f = NULL;
}

/* Opens an existing device, FIFO or terminal for writing, in place. */
static int open_in_place(out_file *o, const struct stat *st, char *error, size_t size)
{
    /* O_NONBLOCK: a FIFO nobody reads fails at once (ENXIO), never hangs */
    int fd = open(o->path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return fail(error, size, o->path,
                    errno == ENXIO && S_ISFIFO(st->st_mode)
                        ? "a FIFO that no process has open for reading"
                        : strerror(errno));
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0 ||
        (o->f = fdopen(fd, "wb")) == NULL) {
        const int e = errno;
        close(fd);
        return fail(error, size, o->path, strerror(e));
    }
    return 0;
}

int out_open(out_file *o, const char *path, char *error, size_t size)
{
    memset(o, 0, sizeof *o);
    o->path = path;
    struct stat st;
    const int exists = stat(path, &st) == 0;
    if (exists && S_ISDIR(st.st_mode))
        return fail(error, size, path, strerror(EISDIR));
    if (exists && !S_ISREG(st.st_mode))
        return open_in_place(o, &st, error, size);
    o->existed = exists;
    /* a symbolic link to a file: replace the file it names, not the link
     * (a dangling link is replaced by the new file) */
    o->target = exists ? realpath(path, NULL) : strdup(path);
    if (o->target == NULL) {
        const int e = errno;
        release(o);
        return fail(error, size, path, strerror(e));
    }
    /* DIR/.NAME.rlcc-XXXXXX, NAME shortened so the name stays below NAME_MAX */
    const char *slash = strrchr(o->target, '/');
    const int dir_len = slash != NULL ? (int)(slash - o->target) + 1 : 0;
    const char *base = o->target + dir_len;
    const size_t temp_size = strlen(o->target) + 32;
    o->temp = malloc(temp_size);
    if (o->temp == NULL || temp_size > sizeof cleanup_path) {
        release(o);
        return fail(error, size, path, o->temp == NULL ? strerror(ENOMEM) : strerror(ENAMETOOLONG));
    }
    snprintf(o->temp, temp_size, "%.*s.%.200s.rlcc-XXXXXX", dir_len, o->target, base);
    /* the file and the handler's knowledge of it come into being together */
    sigset_t saved;
    block_signals(&saved);
    const int fd = mkstemp(o->temp);
    const int e = errno;
    if (fd >= 0) {
        memcpy(cleanup_path, o->temp, strlen(o->temp) + 1);
        cleanup_armed = 1;
    }
    sigprocmask(SIG_SETMASK, &saved, NULL);
    if (fd < 0) {
        char why[PATH_MAX + 200];
        snprintf(why, sizeof why, "%s (rlcc writes a temporary file in %.*s first)", strerror(e),
                 dir_len > 0 ? dir_len : 1, dir_len > 0 ? o->target : ".");
        release(o);
        return fail(error, size, path, why);
    }
    /* the mode the file would have had: an existing file's, else 0666 less the umask */
    mode_t mode = exists ? st.st_mode & 07777 : 0;
    if (!exists) {
        const mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    if (fchmod(fd, mode) != 0 || (o->f = fdopen(fd, "wb")) == NULL) {
        const int e2 = errno;
        close(fd);
        out_abort(o, e2, error, size);
        return -1;
    }
    return 0;
}

void out_abort(out_file *o, int errno_value, char *error, size_t size)
{
    if (o->f != NULL)
        fclose(o->f);
    if (o->temp != NULL) {
        cleanup_armed = 0;
        unlink(o->temp);
    }
    if (error != NULL && errno_value != 0) {
        char why[300];
        snprintf(why, sizeof why, "%s%s", strerror(errno_value),
                 o->temp == NULL ? "" : o->existed ? " (the file is unchanged)"
                                                   : " (no file left behind)");
        fail(error, size, o->path, why);
    }
    release(o);
}

int out_commit(out_file *o, char *error, size_t size)
{
    /* fflush and fclose report what the disk refused; fsync what it could
     * not store; only then does the file replace the target */
    int e = fflush(o->f) == 0 ? 0 : errno;
    if (e == 0 && o->temp != NULL && fsync(fileno(o->f)) != 0)
        e = errno;
    const int closed = fclose(o->f);
    o->f = NULL;
    if (e == 0 && closed != 0)
        e = errno;
    if (e == 0 && o->temp != NULL && rename(o->temp, o->target) != 0)
        e = errno;
    if (e != 0) {
        out_abort(o, e, error, size);
        return -1;
    }
    if (o->temp != NULL) {
        cleanup_armed = 0;
        /* the rename itself made durable, where the folder can be synced */
        char *slash = strrchr(o->target, '/');
        if (slash != NULL)
            slash[slash == o->target ? 1 : 0] = '\0';
        const int dir = open(slash != NULL ? o->target : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir >= 0) {
            fsync(dir);
            close(dir);
        }
    }
    release(o);
    return 0;
}
