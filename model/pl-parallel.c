/* pl-parallel.c: a fixed pool of worker threads for the towers (see pl-parallel.h).
 *
 * A forward pass runs some ten jobs per layer, each a few hundred microseconds to a few
 * milliseconds long, so waking the workers must cost far less than that: a worker that finishes
 * a part keeps polling for the next job for a short while (PL_SPIN_US) before it sleeps on the
 * condition variable, and the caller polls the same way for the parts to finish. Between
 * forward passes the workers sleep. */
#include "pl-parallel.h"

#include <cblas.h>

#define PL_SPIN_US 300  /* how long a worker or the caller polls before sleeping */

typedef struct {
  GMutex         lock;
  GCond          wake;        /* a new job (or more threads) */
  GCond          done;        /* the last worker's part of a job returned */
  gint           in_use;      /* 1 while a caller owns the pool (a job, or a resize) */
  gint           generation;  /* incremented for each job */
  gint           pending;     /* workers that have not yet acknowledged the current job */
  int            n_threads;   /* threads a job uses, the caller included */
  int            n_workers;   /* worker threads started (never stopped) */
  PlParallelFunc func;
  gpointer       data;
  int            count;
} Pool;

static Pool pool;

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Polls *VALUE for up to PL_SPIN_US while it equals UNWANTED (or, with UNTIL_ZERO, while it is
 * not zero); returns the last value read. */
static int
spin (gint *value, int unwanted, gboolean until_zero)
{
  gint64 deadline = 0;
  int v;

  for (int i = 0;; i++)
    {
      v = g_atomic_int_get (value);
      if (until_zero ? v == 0 : v != unwanted)
        return v;
      if ((i & 63) == 63)
        {
          gint64 now = g_get_monotonic_time ();

          if (deadline == 0)
            deadline = now + PL_SPIN_US;
          else if (now >= deadline)
            return v;
        }
      cpu_relax ();
    }
}

typedef struct {
  int index;       /* 1.. : the caller is part 0 */
  int generation;  /* the pool's generation when the worker was started */
} WorkerStart;

/* Every worker acknowledges every job (decrements pending), also one whose COUNT leaves it out:
 * so no worker can still be reading a job's fields when the caller posts the next one. */
static gpointer
worker_main (gpointer user_data)
{
  WorkerStart *start = user_data;
  int index = start->index;
  int seen = start->generation;

  g_free (start);
  for (;;)
    {
      int generation = spin (&pool.generation, seen, FALSE);

      if (generation == seen)
        {
          g_mutex_lock (&pool.lock);
          while (g_atomic_int_get (&pool.generation) == seen)
            g_cond_wait (&pool.wake, &pool.lock);
          generation = g_atomic_int_get (&pool.generation);
          g_mutex_unlock (&pool.lock);
        }
      seen = generation;
      /* The job's fields were written before the generation was incremented, and are not
       * written again before every worker has acknowledged it. */
      if (index < pool.count)
        pool.func (pool.data, index, pool.count);
      if (g_atomic_int_dec_and_test (&pool.pending))
        {
          g_mutex_lock (&pool.lock);
          g_cond_signal (&pool.done);
          g_mutex_unlock (&pool.lock);
        }
    }
  return NULL;
}

static int
max_threads (void)
{
  return CLAMP ((int) g_get_num_processors (), 1, PL_PARALLEL_MAX_THREADS);
}

static void
acquire_pool (void)
{
  while (!g_atomic_int_compare_and_exchange (&pool.in_use, 0, 1))
    g_thread_yield ();
}

/* With the pool acquired: start workers up to N_THREADS - 1 and use N_THREADS. */
static void
resize_locked (int n_threads)
{
  while (pool.n_workers < n_threads - 1)
    {
      WorkerStart *start = g_new (WorkerStart, 1);
      GThread *thread;

      /* No job runs while the pool is acquired, so the generation cannot move under us. */
      start->index = pool.n_workers + 1;
      start->generation = g_atomic_int_get (&pool.generation);
      thread = g_thread_try_new ("pl-model", worker_main, start, NULL);
      if (thread == NULL)
        {
          g_free (start);
          break;  /* fewer threads than asked: the jobs still run, with fewer parts */
        }
      g_thread_unref (thread);
      pool.n_workers++;
    }
  g_atomic_int_set (&pool.n_threads, MIN (n_threads, pool.n_workers + 1));
  openblas_set_num_threads (1);
}

static void
ensure_initialised (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      acquire_pool ();
      if (pool.n_threads == 0)
        resize_locked (max_threads ());
      g_atomic_int_set (&pool.in_use, 0);
      g_once_init_leave (&initialised, 1);
    }
}

void
pl_parallel_set_threads (int n_threads)
{
  ensure_initialised ();
  acquire_pool ();
  resize_locked (CLAMP (n_threads, 1, max_threads ()));
  g_atomic_int_set (&pool.in_use, 0);
}

int
pl_parallel_get_threads (void)
{
  ensure_initialised ();
  return g_atomic_int_get (&pool.n_threads);
}

void
pl_parallel_run (PlParallelFunc func,
                 gpointer       data,
                 int            max_parts)
{
  int count;

  g_return_if_fail (func != NULL);

  ensure_initialised ();
  count = MIN (g_atomic_int_get (&pool.n_threads), max_parts);
  if (count <= 1 || !g_atomic_int_compare_and_exchange (&pool.in_use, 0, 1))
    {
      func (data, 0, 1);
      return;
    }
  count = MIN (pool.n_threads, max_parts);  /* the pool cannot be resized while we own it */
  pool.func = func;
  pool.data = data;
  pool.count = count;
  g_atomic_int_set (&pool.pending, pool.n_workers);

  g_mutex_lock (&pool.lock);
  g_atomic_int_inc (&pool.generation);
  g_cond_broadcast (&pool.wake);
  g_mutex_unlock (&pool.lock);

  func (data, 0, count);

  if (spin (&pool.pending, 0, TRUE) != 0)
    {
      g_mutex_lock (&pool.lock);
      while (g_atomic_int_get (&pool.pending) != 0)
        g_cond_wait (&pool.done, &pool.lock);
      g_mutex_unlock (&pool.lock);
    }
  g_atomic_int_set (&pool.in_use, 0);
}

void
pl_parallel_range (int  n,
                   int  align,
                   int  index,
                   int  count,
                   int *start,
                   int *end)
{
  int units, per_part, extra, first, last;

  g_return_if_fail (n >= 0 && align >= 1 && count >= 1 && index >= 0 && index < count);

  /* Whole ALIGN-sized units, spread as evenly as possible; the ragged tail goes to the last. */
  units = n / align;
  per_part = units / count;
  extra = units % count;
  first = index * per_part + MIN (index, extra);
  last = first + per_part + (index < extra ? 1 : 0);
  *start = first * align;
  *end = index == count - 1 ? n : last * align;
}
