/*
 * threads.c - per-call thread counts, libomp's block time, and fork.
 *
 * librlcc never calls omp_set_num_threads(): each parallel region carries
 * its own num_threads() clause, so the host's OpenMP state is left alone.
 * Every region's count comes from rlcc__resolve_threads(), so what it
 * decides holds for every entry point:
 *
 *   - a count is clamped to the team the machine can run (results are the
 *     same bytes for every count, so a larger team could only be slower):
 *     asking for 5000 threads under an address-space limit made libomp
 *     print "OMP: Error #34" and abort the host;
 *   - in a child created by fork() every call runs on the calling thread.
 *     An OpenMP runtime cannot be trusted there: GCC's libgomp never
 *     re-creates its pool in a child, and LLVM libomp does so only when
 *     KMP_INIT_AT_FORK is not false, which scikit-learn sets on import
 *     (os.environ.setdefault("KMP_INIT_AT_FORK", "FALSE")), so a PyTorch
 *     DataLoader worker hung in __kmpc_fork_call. A region with if(false)
 *     runs serialized on the calling thread and needs no pool: measured
 *     with both runtimes, in a child whose parent had run a team of two.
 */
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

static atomic_int in_forked_child;

static void on_fork_child(void)
{
    atomic_store(&in_forked_child, 1);
}

/* Registered when the library is loaded, so a fork before any librlcc call
 * is seen too (another library may have started the runtime's pool). A
 * dlclose() unregisters it (glibc ties atfork handlers to the object). */
__attribute__((constructor)) static void register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

/* The team a call runs: n_threads (0: omp_get_max_threads()), at most the
 * processors this process may run on, or more when the host asked for more
 * (OMP_NUM_THREADS), and within the runtime's limit (OMP_THREAD_LIMIT). */
int rlcc__resolve_threads(int32_t n_threads)
{
    if (atomic_load_explicit(&in_forked_child, memory_order_relaxed))
        return 1;
    const int max = omp_get_max_threads(), procs = omp_get_num_procs();
    const int limit = omp_get_thread_limit();
    int cap = procs > max ? procs : max;
    if (limit > 0 && limit < cap)
        cap = limit;
    const int want = n_threads > 0 ? n_threads : max;
    const int team = want < cap ? want : cap;
    return team > 0 ? team : 1;
}

int rlcc__thread_index(void)
{
    return omp_get_thread_num();
}

/* Weak references: resolved with LLVM libomp, NULL with GCC's libgomp, so
 * both builds link and only libomp gets the block-time treatment. */
extern int kmp_get_blocktime(void) __attribute__((weak));
extern void kmp_set_blocktime(int) __attribute__((weak));

void rlcc__blocktime_enter(rlcc__blocktime_guard *guard)
{
    /* a forked child runs no team: its runtime is left alone */
    guard->active = kmp_get_blocktime != NULL && kmp_set_blocktime != NULL &&
                    !atomic_load_explicit(&in_forked_child, memory_order_relaxed);
    if (!guard->active)
        return;
    guard->saved = kmp_get_blocktime();
    kmp_set_blocktime(0);
}

void rlcc__blocktime_leave(rlcc__blocktime_guard *guard)
{
    if (guard->active)
        kmp_set_blocktime(guard->saved);
}
