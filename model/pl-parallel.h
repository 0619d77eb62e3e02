/* pl-parallel.h: the model's own worker threads.
 *
 * The towers split each matrix product, attention and element-wise pass across a small pool of
 * threads, and OpenBLAS runs single-threaded inside each part: two single-threaded sgemm calls on
 * the two halves of a weight matrix pack half the weights each, where OpenBLAS's own threads
 * would both wait on one shared packing, and attention and normalisation no longer leave one core
 * idle. OpenBLAS threads (1) x pool threads <= cores. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PL_PARALLEL_MAX_THREADS 8

/* Runs part INDEX of COUNT parts of one job; COUNT >= 1, 0 <= INDEX < COUNT. */
typedef void (*PlParallelFunc) (gpointer data, int index, int count);

/* Threads the model uses in all (the caller included): clamped to 1..min(cores, MAX). Also
 * makes OpenBLAS single-threaded. Waits for a job in progress to finish, so it must not be
 * called from inside a part. */
void pl_parallel_set_threads (int n_threads);
int  pl_parallel_get_threads (void);

/* Runs FUNC (DATA, i, count) for i in 0..count-1 and returns when all have returned, with
 * count = min(threads, MAX_PARTS) (at least 1). The caller runs part 0. When the pool is already
 * running a job (a nested call, or another thread's), everything runs in the caller as one part. */
void pl_parallel_run (PlParallelFunc func, gpointer data, int max_parts);

/* The half-open range [*start, *end) of N items that part INDEX of COUNT takes, in multiples of
 * ALIGN items (the last part takes the remainder). */
void pl_parallel_range (int n, int align, int index, int count, int *start, int *end);

G_END_DECLS
