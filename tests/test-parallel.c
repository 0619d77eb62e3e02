/* test-parallel.c: the model's worker pool: every part of a job runs exactly once and in parallel
 * on distinct threads, ranges tile their items, a nested or concurrent job runs whole in its
 * caller, and the thread count is clamped to the cores. */
#include "model/pl-parallel.h"

#include "tests/pl-test-util.h"

typedef struct {
  gint     runs[PL_PARALLEL_MAX_THREADS];
  gpointer threads[PL_PARALLEL_MAX_THREADS];
  gint     count_seen;
  gint     arrived;      /* parts that have started */
  gboolean rendezvous;   /* wait (bounded) until every part has started */
  gboolean met;          /* every part saw all the others started */
} Record;

static void
record_part (gpointer data, int index, int count)
{
  Record *record = data;

  g_atomic_int_inc (&record->runs[index]);
  record->threads[index] = g_thread_self ();
  g_atomic_int_set (&record->count_seen, count);
  g_atomic_int_inc (&record->arrived);
  if (record->rendezvous)
    {
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      while (g_atomic_int_get (&record->arrived) < count && g_get_monotonic_time () < deadline)
        g_thread_yield ();
      if (g_atomic_int_get (&record->arrived) < count)
        record->met = FALSE;
    }
}

static int
cores (void)
{
  return CLAMP ((int) g_get_num_processors (), 1, PL_PARALLEL_MAX_THREADS);
}

static void
test_thread_count_is_clamped_to_the_cores (void)
{
  pl_parallel_set_threads (0);
  g_assert_cmpint (pl_parallel_get_threads (), ==, 1);
  pl_parallel_set_threads (-5);
  g_assert_cmpint (pl_parallel_get_threads (), ==, 1);
  pl_parallel_set_threads (1000);
  g_assert_cmpint (pl_parallel_get_threads (), ==, cores ());
  pl_parallel_set_threads (1);
  g_assert_cmpint (pl_parallel_get_threads (), ==, 1);
  pl_parallel_set_threads (cores ());
  g_assert_cmpint (pl_parallel_get_threads (), ==, cores ());
}

/* Each part runs once; with more than one core the parts run at the same time on distinct
 * threads (each waits for all the others to have started: that can only happen in parallel). */
static void
test_every_part_runs_once_in_parallel (void)
{
  pl_parallel_set_threads (cores ());
  for (int round = 0; round < 200; round++)
    {
      Record record = { .rendezvous = TRUE, .met = TRUE };

      pl_parallel_run (record_part, &record, PL_PARALLEL_MAX_THREADS);
      g_assert_cmpint (record.count_seen, ==, cores ());
      g_assert_true (record.met);
      for (int i = 0; i < record.count_seen; i++)
        {
          g_assert_cmpint (record.runs[i], ==, 1);
          for (int j = 0; j < i; j++)
            g_assert_true (record.threads[i] != record.threads[j]);
        }
      for (int i = record.count_seen; i < PL_PARALLEL_MAX_THREADS; i++)
        g_assert_cmpint (record.runs[i], ==, 0);
      g_assert_true (record.threads[0] == g_thread_self ());  /* the caller runs part 0 */
    }
}

static void
test_max_parts_and_one_thread_limit_the_count (void)
{
  Record one = { 0 }, limited = { 0 };

  pl_parallel_set_threads (cores ());
  pl_parallel_run (record_part, &limited, 1);
  g_assert_cmpint (limited.count_seen, ==, 1);
  g_assert_cmpint (limited.runs[0], ==, 1);
  g_assert_true (limited.threads[0] == g_thread_self ());

  pl_parallel_set_threads (1);
  pl_parallel_run (record_part, &one, PL_PARALLEL_MAX_THREADS);
  g_assert_cmpint (one.count_seen, ==, 1);
  g_assert_cmpint (one.runs[0], ==, 1);
  pl_parallel_set_threads (cores ());
}

/* A job started from inside a part runs whole in that part's thread, as one part. */
typedef struct {
  Record inner[PL_PARALLEL_MAX_THREADS];
} Nested;

static void
nested_part (gpointer data, int index, int count)
{
  Nested *nested = data;

  pl_parallel_run (record_part, &nested->inner[index], PL_PARALLEL_MAX_THREADS);
}

static void
test_nested_job_runs_in_its_caller (void)
{
  Nested nested = { 0 };

  pl_parallel_set_threads (cores ());
  pl_parallel_run (nested_part, &nested, PL_PARALLEL_MAX_THREADS);
  for (int i = 0; i < cores (); i++)
    {
      g_assert_cmpint (nested.inner[i].count_seen, ==, 1);
      g_assert_cmpint (nested.inner[i].runs[0], ==, 1);
    }
}

/* Threads that start jobs at the same time all get every part of their own job run once, with
 * results that do not mix: each sums its own range. */
typedef struct {
  const int *values;
  int        n;
  gint64     partial[PL_PARALLEL_MAX_THREADS];
} SumJob;

static void
sum_part (gpointer data, int index, int count)
{
  SumJob *job = data;
  int start, end;

  pl_parallel_range (job->n, 1, index, count, &start, &end);
  job->partial[index] = 0;
  for (int i = start; i < end; i++)
    job->partial[index] += job->values[i];
}

static gpointer
summing_thread (gpointer data)
{
  const int *values = data;
  gint64 expected = 0;

  for (int i = 0; i < 10000; i++)
    expected += values[i];
  for (int round = 0; round < 300; round++)
    {
      SumJob job = { values, 10000, { 0 } };
      gint64 total = 0;

      pl_parallel_run (sum_part, &job, PL_PARALLEL_MAX_THREADS);
      for (int i = 0; i < PL_PARALLEL_MAX_THREADS; i++)
        total += job.partial[i];
      if (total != expected)
        return GINT_TO_POINTER (1);
    }
  return GINT_TO_POINTER (0);
}

static void
test_concurrent_callers_each_get_their_whole_job (void)
{
  enum { CALLERS = 4 };
  g_autofree int *values = g_new (int, CALLERS * 10000);
  GThread *threads[CALLERS];

  for (int i = 0; i < CALLERS * 10000; i++)
    values[i] = (i * 7919) % 1000 - 500;
  pl_parallel_set_threads (cores ());
  for (int t = 0; t < CALLERS; t++)
    threads[t] = g_thread_new ("caller", summing_thread, values + t * 10000);
  for (int t = 0; t < CALLERS; t++)
    g_assert_null (g_thread_join (threads[t]));
}

/* Resizing while other threads run jobs neither loses a part nor deadlocks. */
static gpointer
resizing_thread (gpointer data)
{
  for (int round = 0; round < 200; round++)
    pl_parallel_set_threads (1 + round % cores ());
  return NULL;
}

static void
test_resizing_during_jobs (void)
{
  g_autofree int *values = g_new (int, 10000);
  GThread *resizer, *caller;

  for (int i = 0; i < 10000; i++)
    values[i] = i % 13;
  resizer = g_thread_new ("resizer", resizing_thread, NULL);
  caller = g_thread_new ("caller", summing_thread, values);
  g_thread_join (resizer);
  g_assert_null (g_thread_join (caller));
  pl_parallel_set_threads (cores ());
}

static void
test_ranges_tile_in_aligned_units (void)
{
  const int cases[][3] = { { 200, 16, 2 }, { 200, 16, 3 }, { 7, 16, 2 }, { 0, 1, 4 }, { 12, 1, 8 }, { 768, 16, 2 },
                           { 5, 1, 8 } };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      int n = cases[c][0], align = cases[c][1], count = cases[c][2], next = 0;

      for (int index = 0; index < count; index++)
        {
          int start, end;

          pl_parallel_range (n, align, index, count, &start, &end);
          g_assert_cmpint (start, ==, next);
          g_assert_cmpint (end, >=, start);
          if (index < count - 1)
            g_assert_cmpint (start % align, ==, 0);
          next = end;
        }
      g_assert_cmpint (next, ==, n);
    }
  {
    int start, end;

    /* 768 columns in 16s over two parts: 384 each */
    pl_parallel_range (768, 16, 0, 2, &start, &end);
    g_assert_cmpint (end, ==, 384);
    /* 200 in 16s over two: 12 whole units of 16 split 6 + 6, the last part takes the tail of 8 */
    pl_parallel_range (200, 16, 1, 2, &start, &end);
    g_assert_cmpint (start, ==, 96);
    g_assert_cmpint (end, ==, 200);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/parallel/thread-count-is-clamped-to-the-cores", test_thread_count_is_clamped_to_the_cores);
  g_test_add_func ("/parallel/every-part-runs-once-in-parallel", test_every_part_runs_once_in_parallel);
  g_test_add_func ("/parallel/max-parts-and-one-thread-limit-the-count", test_max_parts_and_one_thread_limit_the_count);
  g_test_add_func ("/parallel/nested-job-runs-in-its-caller", test_nested_job_runs_in_its_caller);
  g_test_add_func ("/parallel/concurrent-callers-each-get-their-whole-job",
                   test_concurrent_callers_each_get_their_whole_job);
  g_test_add_func ("/parallel/resizing-during-jobs", test_resizing_during_jobs);
  g_test_add_func ("/parallel/ranges-tile-in-aligned-units", test_ranges_tile_in_aligned_units);

  return g_test_run ();
}
