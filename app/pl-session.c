/* pl-session.c: the open checkpoint and snapshot, and the one worker thread that does all model work
 * (loading, embedding phenotypes, analysing images) so that OpenBLAS's threads own the cores. */
#include "app/pl-session.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>

#include "data/pl-phenotype-embeddings.h"
#include "model/pl-error.h"

#define DEMO_SNAPSHOT_NAME "hpo-demo.sqlite"

/* ---------------------------------------------------------------------------------------------- */
/* A loaded checkpoint shared between the main thread and queued jobs. */

typedef struct {
  PlClip *clip;
} PlModel;

static void
pl_model_clear (gpointer data)
{
  PlModel *model = data;

  g_clear_pointer (&model->clip, pl_clip_free);
}

static PlModel *
pl_model_new (PlClip *clip)
{
  PlModel *model = g_atomic_rc_box_new0 (PlModel);

  model->clip = clip;
  return model;
}

static PlModel *
pl_model_ref (PlModel *model)
{
  return g_atomic_rc_box_acquire (model);
}

static void
pl_model_unref (PlModel *model)
{
  g_atomic_rc_box_release_full (model, pl_model_clear);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlModel, pl_model_unref)

/* ---------------------------------------------------------------------------------------------- */

static PlAnalysis *
pl_analysis_new (void)
{
  return g_atomic_rc_box_new0 (PlAnalysis);
}

static void
pl_analysis_clear (gpointer data)
{
  PlAnalysis *analysis = data;

  g_free (analysis->path);
  g_free (analysis->name);
  g_free (analysis->preview_rgb);
  g_free (analysis->embedding);
  g_clear_pointer (&analysis->ranking, pl_ranking_free);
  g_free (analysis->checkpoint_fingerprint);
}

PlAnalysis *
pl_analysis_ref (PlAnalysis *analysis)
{
  return g_atomic_rc_box_acquire (analysis);
}

void
pl_analysis_unref (PlAnalysis *analysis)
{
  g_atomic_rc_box_release_full (analysis, pl_analysis_clear);
}

G_DEFINE_BOXED_TYPE (PlAnalysis, pl_analysis, pl_analysis_ref, pl_analysis_unref)

/* ---------------------------------------------------------------------------------------------- */
/* Worker-thread state: only the worker touches it, and there is exactly one worker, so no lock. */

static struct {
  PlModel    *model;
  char       *snapshot_path;
  PlSnapshot *snapshot;
  PlRanker   *ranker;
} worker;

static void
worker_forget (void)
{
  g_clear_pointer (&worker.ranker, pl_ranker_free);
  g_clear_pointer (&worker.snapshot, pl_snapshot_free);
  g_clear_pointer (&worker.snapshot_path, g_free);
  g_clear_pointer (&worker.model, pl_model_unref);
}

/* The worker's own connection to SNAPSHOT_PATH, reopened when the job names another file. */
static PlSnapshot *
worker_snapshot (const char  *snapshot_path,
                 GError     **error)
{
  if (worker.snapshot != NULL && g_strcmp0 (worker.snapshot_path, snapshot_path) == 0)
    return worker.snapshot;
  worker_forget ();
  if ((worker.snapshot = pl_snapshot_open (snapshot_path, PL_SNAPSHOT_OPEN_DEFAULT, error)) == NULL)
    return NULL;
  worker.snapshot_path = g_strdup (snapshot_path);
  return worker.snapshot;
}

static PlRanker *
worker_ranker (PlModel     *model,
               const char  *snapshot_path,
               GError     **error)
{
  PlSnapshot *snapshot;
  g_autoptr(GError) local_error = NULL;

  if (worker.ranker != NULL && worker.model == model && g_strcmp0 (worker.snapshot_path, snapshot_path) == 0)
    return worker.ranker;
  if ((snapshot = worker_snapshot (snapshot_path, error)) == NULL)
    return NULL;
  g_clear_pointer (&worker.ranker, pl_ranker_free);
  g_clear_pointer (&worker.model, pl_model_unref);
  if ((worker.ranker = pl_ranker_new (snapshot, model->clip, NULL, &local_error)) == NULL)
    {
      if (g_error_matches (local_error, PL_ERROR, PL_ERROR_MISSING_TENSOR))
        g_set_error (error, PL_ERROR, PL_ERROR_MISSING_TENSOR,
                     _("The phenotype embeddings for this checkpoint have not been computed in “%s” yet"),
                     snapshot_path);
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  worker.model = pl_model_ref (model);
  return worker.ranker;
}

/* ---------------------------------------------------------------------------------------------- */

struct _PlSession
{
  GObject       parent_instance;

  PlModel      *model;
  char         *snapshot_path;
  PlSnapshot   *snapshot;        /* read-only, main thread only */
  gboolean      ready;

  guint         n_jobs;
  double        progress;
  double        eta;
  char         *status;

  GCancellable *embeddings_cancellable;
};

G_DEFINE_FINAL_TYPE (PlSession, pl_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CHECKPOINT_PATH,
  PROP_SNAPSHOT_PATH,
  PROP_IS_DEMO,
  PROP_READY,
  PROP_BUSY,
  PROP_PROGRESS,
  PROP_STATUS,
  PROP_ETA,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Every job runs on this pool of one thread, whichever session queued it. */
static GThreadPool *
job_pool (void);

typedef struct _Job Job;
typedef void (*JobFunc) (GTask *task, Job *job);

struct _Job {
  JobFunc       run;
  PlSession    *session;      /* a ref, for progress reports */
  GMainContext *context;      /* where progress is reported */
  GTask        *outer;        /* the caller's task, completed on the main thread */
  PlModel      *model;        /* the checkpoint at queue time, or NULL */
  char         *snapshot_path;
  char         *path;         /* the file the job is about */
  GBytes       *bytes;
  char         *under_id;
  guint         top_k;
  PlAnalysis   *analysis;
  PlRanking    *ranking;
  gboolean      compute_embeddings;  /* open_checkpoint/demo: also embed phenotypes */
  gboolean      import_demo;
  /* results */
  PlModel      *new_model;
  char         *new_snapshot_path;
  gboolean      embeddings_complete;
};

static void
job_free (Job *job)
{
  g_clear_object (&job->session);
  g_clear_pointer (&job->context, g_main_context_unref);
  g_clear_object (&job->outer);
  g_clear_pointer (&job->model, pl_model_unref);
  g_clear_pointer (&job->new_model, pl_model_unref);
  g_free (job->snapshot_path);
  g_free (job->new_snapshot_path);
  g_free (job->path);
  g_clear_pointer (&job->bytes, g_bytes_unref);
  g_free (job->under_id);
  g_clear_pointer (&job->analysis, pl_analysis_unref);
  g_clear_pointer (&job->ranking, pl_ranking_free);
  g_free (job);
}

static void
job_pool_run (gpointer data,
              gpointer user_data)
{
  g_autoptr(GTask) task = data;
  Job *job = g_task_get_task_data (task);

  if (!g_task_return_error_if_cancelled (task))
    job->run (task, job);
}

static GThreadPool *
job_pool (void)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    {
      GThreadPool *new_pool = g_thread_pool_new (job_pool_run, NULL, 1, FALSE, NULL);

      g_once_init_leave (&pool, new_pool);
    }
  return pool;
}

/* Progress, from the worker to the session's main context. */
typedef struct {
  PlSession *session;
  double     progress;
  double     eta;
  char      *status;
} Report;

static gboolean
report_apply (gpointer data)
{
  Report *report = data;
  PlSession *self = report->session;

  /* A report that arrives after the session went idle is stale. */
  if (self->n_jobs > 0)
    {
      self->progress = report->progress;
      self->eta = report->eta;
      if (report->status != NULL && g_strcmp0 (self->status, report->status) != 0)
        {
          g_free (self->status);
          self->status = g_strdup (report->status);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
        }
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ETA]);
    }
  g_object_unref (report->session);
  g_free (report->status);
  g_free (report);
  return G_SOURCE_REMOVE;
}

static void
job_report (Job        *job,
            double      progress,
            double      eta,
            const char *status)
{
  Report *report = g_new0 (Report, 1);

  report->session = g_object_ref (job->session);
  report->progress = progress;
  report->eta = eta;
  report->status = g_strdup (status);
  g_main_context_invoke (job->context, report_apply, report);
}

static void
set_busy_status (PlSession  *self,
                 const char *status)
{
  if (g_strcmp0 (self->status, status) == 0)
    return;
  g_free (self->status);
  self->status = g_strdup (status);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

static void
job_finished_on_main (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data);

/* Queues RUN with JOB; INNER completes on the main thread in job_finished_on_main, which applies the
 * result to the session and then completes the caller's task. */
static void
job_queue (PlSession    *self,
           Job          *job,
           JobFunc       run,
           const char   *status,
           GCancellable *cancellable)
{
  GTask *inner = g_task_new (self, cancellable, job_finished_on_main, NULL);

  job->run = run;
  job->session = g_object_ref (self);
  job->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (inner, job, (GDestroyNotify) job_free);
  g_task_set_name (inner, status);

  self->n_jobs++;
  if (self->n_jobs == 1)
    {
      self->progress = -1;
      self->eta = -1;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
    }
  set_busy_status (self, status);
  g_thread_pool_push (job_pool (), inner, NULL);
}

static Job *
job_new (PlSession           *self,
         GCancellable        *cancellable,
         GAsyncReadyCallback  callback,
         gpointer             user_data,
         gpointer             source_tag)
{
  Job *job = g_new0 (Job, 1);

  job->outer = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->outer, source_tag);
  if (self->model != NULL)
    job->model = pl_model_ref (self->model);
  job->snapshot_path = g_strdup (self->snapshot_path);
  return job;
}

/* ---------------------------------------------------------------------------------------------- */
/* Worker steps */

typedef struct {
  Job    *job;
  gint64  last_report;
} EmbeddingReport;

static void
embedding_progress (const PlEmbeddingProgress *progress,
                    gpointer                   user_data)
{
  EmbeddingReport *state = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autofree char *status = NULL;

  /* A few reports a second are plenty for a progress bar. */
  if (now - state->last_report < G_USEC_PER_SEC / 10 && progress->done < progress->total)
    return;
  state->last_report = now;
  status = g_strdup_printf (_("Computing phenotype embeddings (%u of %u)"), progress->done, progress->total);
  job_report (state->job, progress->total > 0 ? (double) progress->done / progress->total : -1,
              progress->eta, status);
}

/* Embeds what the snapshot lacks for MODEL, then (re)loads the worker's ranker. */
static gboolean
worker_compute_embeddings (Job           *job,
                           PlModel       *model,
                           const char    *snapshot_path,
                           GCancellable  *cancellable,
                           GError       **error)
{
  PlSnapshot *snapshot;
  EmbeddingReport state = { job, 0 };

  if ((snapshot = worker_snapshot (snapshot_path, error)) == NULL)
    return FALSE;
  g_clear_pointer (&worker.ranker, pl_ranker_free);
  if (!pl_phenotype_embeddings_compute (snapshot, model->clip, NULL, NULL, cancellable,
                                        embedding_progress, &state, error))
    return FALSE;
  return worker_ranker (model, snapshot_path, error) != NULL;
}

static gboolean
is_ontology_source (const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  return g_str_has_suffix (lower, ".obo") || g_str_has_suffix (lower, ".json")
      || g_str_has_suffix (lower, ".obo.gz") || g_str_has_suffix (lower, ".json.gz");
}

/* A snapshot in the user data folder for an ontology SOURCE: "hp.obo" -> "hp.sqlite". */
static char *
snapshot_path_for_source (const char *source)
{
  g_autofree char *dir = pl_session_get_user_data_dir ();
  g_autofree char *base = g_path_get_basename (source);
  char *dot;

  if (g_str_has_suffix (base, ".gz"))
    base[strlen (base) - 3] = '\0';
  if ((dot = strrchr (base, '.')) != NULL && dot != base)
    *dot = '\0';
  return g_strdup_printf ("%s/%s.sqlite", dir, base);
}

static gboolean
file_newer_than (const char *a,
                 const char *b)
{
  GStatBuf sa, sb;

  if (g_stat (a, &sa) != 0 || g_stat (b, &sb) != 0)
    return TRUE;
  return sa.st_mtime > sb.st_mtime;
}

static gboolean
worker_import (Job           *job,
               const char    *source,
               const char    *target,
               gboolean       only_if_stale,
               GCancellable  *cancellable,
               GError       **error)
{
  g_autofree char *status = NULL;
  g_autofree char *base = g_path_get_basename (source);

  if (only_if_stale && g_file_test (target, G_FILE_TEST_EXISTS) && !file_newer_than (source, target))
    return TRUE;
  status = g_strdup_printf (_("Importing the ontology from “%s”"), base);
  job_report (job, -1, -1, status);
  /* The worker's connection to the old file would keep reading the replaced one. */
  if (g_strcmp0 (worker.snapshot_path, target) == 0)
    worker_forget ();
  return pl_snapshot_import (source, target, cancellable, error);
}

static void
run_open_checkpoint (GTask *task,
                     Job   *job)
{
  g_autoptr(GError) error = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);
  PlClip *clip;

  if ((clip = pl_clip_load (job->path, NULL, NULL, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job->new_model = pl_model_new (clip);
  if (job->import_demo)
    {
      g_autofree char *dir = pl_session_get_user_data_dir ();
      g_autofree char *source = g_build_filename (pl_session_get_demo_dir (), "hpo-demo.obo", NULL);
      g_autofree char *target = g_build_filename (dir, DEMO_SNAPSHOT_NAME, NULL);

      if (!worker_import (job, source, target, TRUE, cancellable, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      job->new_snapshot_path = g_steal_pointer (&target);
    }
  if (job->compute_embeddings && job->new_snapshot_path != NULL)
    {
      if (!worker_compute_embeddings (job, job->new_model, job->new_snapshot_path, cancellable, &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      job->embeddings_complete = TRUE;
    }
  g_task_return_boolean (task, TRUE);
}

static void
run_open_snapshot (GTask *task,
                   Job   *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlSnapshot) probe = NULL;
  g_autofree char *target = NULL;

  if (is_ontology_source (job->path))
    {
      target = snapshot_path_for_source (job->path);
      if (!worker_import (job, job->path, target, FALSE, g_task_get_cancellable (task), &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  else
    target = g_strdup (job->path);
  /* Opening it once here turns "not a snapshot" into an error before anything is replaced. */
  if ((probe = pl_snapshot_open (target, PL_SNAPSHOT_OPEN_READ_ONLY, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job->new_snapshot_path = g_steal_pointer (&target);
  g_task_return_boolean (task, TRUE);
}

static void
run_compute_embeddings (GTask *task,
                        Job   *job)
{
  g_autoptr(GError) error = NULL;

  if (job->model == NULL || job->snapshot_path == NULL)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_INVALID,
                               _("Open a checkpoint and an ontology snapshot first"));
      return;
    }
  if (!worker_compute_embeddings (job, job->model, job->snapshot_path, g_task_get_cancellable (task), &error))
    g_task_return_error (task, g_steal_pointer (&error));
  else
    {
      job->embeddings_complete = TRUE;
      g_task_return_boolean (task, TRUE);
    }
}

static double
ms_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1000.0;
}

static void
run_analyse (GTask *task,
             Job   *job)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlImage) image = NULL;
  g_autoptr(PlAnalysis) analysis = pl_analysis_new ();
  g_autofree float *pixels = NULL;
  const PlPreprocessConfig *preprocess;
  PlRanker *ranker;
  gint64 start;
  int size;

  if (job->model == NULL || job->snapshot_path == NULL)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_INVALID,
                               _("Cannot analyse “%s”: no checkpoint and ontology snapshot are open"), job->path);
      return;
    }
  preprocess = pl_clip_get_preprocess_config (job->model->clip);
  size = preprocess->image_size;
  analysis->path = g_strdup (job->path);
  analysis->name = g_path_get_basename (job->path);

  start = g_get_monotonic_time ();
  if (job->bytes != NULL)
    image = pl_image_load_from_memory (g_bytes_get_data (job->bytes, NULL), g_bytes_get_size (job->bytes),
                                       job->path, &error);
  else
    image = pl_image_load (job->path, &error);
  if (image == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  analysis->width = image->width;
  analysis->height = image->height;
  analysis->preview_size = size;
  analysis->preview_rgb = g_malloc ((gsize) size * size * 3);
  pixels = g_new (float, (gsize) 3 * size * size);
  if (!pl_image_preprocess (image, preprocess, pixels, analysis->preview_rgb, &error))
    {
      g_prefix_error (&error, "%s: ", job->path);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  analysis->decode_ms = ms_since (start);
  if (g_task_return_error_if_cancelled (task))
    return;

  start = g_get_monotonic_time ();
  analysis->dim = pl_clip_get_embed_dim (job->model->clip);
  analysis->embedding = g_new (float, analysis->dim);
  pl_clip_encode_images (job->model->clip, pixels, 1, analysis->embedding);
  analysis->encode_ms = ms_since (start);
  if (g_task_return_error_if_cancelled (task))
    return;

  start = g_get_monotonic_time ();
  if ((ranker = worker_ranker (job->model, job->snapshot_path, &error)) == NULL
      || (analysis->ranking = pl_ranker_rank (ranker, analysis->embedding, job->top_k, NULL, &error)) == NULL)
    {
      g_prefix_error (&error, _("Cannot rank “%s”: "), analysis->name);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  analysis->rank_ms = ms_since (start);
  analysis->demo = pl_clip_is_demo (job->model->clip);
  analysis->checkpoint_fingerprint = g_strdup (pl_clip_get_fingerprint (job->model->clip));
  job->analysis = g_steal_pointer (&analysis);
  g_task_return_boolean (task, TRUE);
}

static void
run_rank (GTask *task,
          Job   *job)
{
  g_autoptr(GError) error = NULL;
  PlRanker *ranker;
  PlRanking *ranking;

  if (job->model == NULL || job->snapshot_path == NULL)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_INVALID,
                               _("No checkpoint and ontology snapshot are open"));
      return;
    }
  if (job->analysis->dim != pl_clip_get_embed_dim (job->model->clip)
      || g_strcmp0 (job->analysis->checkpoint_fingerprint, pl_clip_get_fingerprint (job->model->clip)) != 0)
    {
      g_task_return_new_error (task, PL_ERROR, PL_ERROR_INVALID,
                               _("“%s” was analysed with another checkpoint; analyse it again"),
                               job->analysis->name);
      return;
    }
  if ((ranker = worker_ranker (job->model, job->snapshot_path, &error)) == NULL
      || (ranking = pl_ranker_rank (ranker, job->analysis->embedding, job->top_k, job->under_id, &error)) == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job->ranking = ranking;
  g_task_return_boolean (task, TRUE);
}

/* ---------------------------------------------------------------------------------------------- */
/* Applying results on the main thread */

static void
set_ready (PlSession *self,
           gboolean   ready)
{
  if (self->ready == ready)
    return;
  self->ready = ready;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READY]);
}

static gboolean
swap_snapshot (PlSession   *self,
               const char  *path,
               GError     **error)
{
  PlSnapshot *snapshot;

  if ((snapshot = pl_snapshot_open (path, PL_SNAPSHOT_OPEN_READ_ONLY, error)) == NULL)
    return FALSE;
  g_clear_pointer (&self->snapshot, pl_snapshot_free);
  self->snapshot = snapshot;
  g_free (self->snapshot_path);
  self->snapshot_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SNAPSHOT_PATH]);
  return TRUE;
}

static void
swap_model (PlSession *self,
            PlModel   *model)
{
  gboolean was_demo = pl_session_get_is_demo (self);

  g_clear_pointer (&self->model, pl_model_unref);
  self->model = pl_model_ref (model);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHECKPOINT_PATH]);
  if (was_demo != pl_session_get_is_demo (self))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IS_DEMO]);
}

static void
auto_embeddings_done (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  PlSession *self = PL_SESSION (source);
  g_autoptr(GError) error = NULL;

  /* The failure is visible as ready == FALSE and in the log; the caller asked for a checkpoint. */
  if (!pl_session_compute_embeddings_finish (self, result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Phenotype embeddings: %s", error->message);
}

static void
start_auto_embeddings (PlSession *self)
{
  g_cancellable_cancel (self->embeddings_cancellable);
  g_clear_object (&self->embeddings_cancellable);
  self->embeddings_cancellable = g_cancellable_new ();
  pl_session_compute_embeddings_async (self, self->embeddings_cancellable, auto_embeddings_done, NULL);
}

static void
job_finished_on_main (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  PlSession *self = PL_SESSION (source);
  GTask *inner = G_TASK (result);
  Job *job = g_task_get_task_data (inner);
  g_autoptr(GTask) outer = g_object_ref (job->outer);
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (inner, &error);
  gboolean start_embeddings = FALSE;

  if (ok && job->new_snapshot_path != NULL)
    ok = swap_snapshot (self, job->new_snapshot_path, &error);
  if (ok && job->new_model != NULL)
    {
      swap_model (self, job->new_model);
      if (!job->embeddings_complete)
        set_ready (self, FALSE);
      start_embeddings = !job->embeddings_complete && self->snapshot_path != NULL;
    }
  else if (ok && job->new_snapshot_path != NULL)
    {
      set_ready (self, FALSE);
      start_embeddings = self->model != NULL;
    }
  if (ok && job->embeddings_complete)
    set_ready (self, TRUE);

  g_assert (self->n_jobs > 0);
  self->n_jobs--;
  if (self->n_jobs == 0)
    {
      self->progress = -1;
      self->eta = -1;
      g_clear_pointer (&self->status, g_free);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROGRESS]);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
    }

  if (start_embeddings)
    start_auto_embeddings (self);

  if (!ok)
    g_task_return_error (outer, g_steal_pointer (&error));
  else if (job->run == run_analyse)
    g_task_return_pointer (outer, pl_analysis_ref (job->analysis), (GDestroyNotify) pl_analysis_unref);
  else if (job->run == run_rank)
    g_task_return_pointer (outer, g_steal_pointer (&job->ranking), (GDestroyNotify) pl_ranking_free);
  else
    g_task_return_boolean (outer, TRUE);
}

/* ---------------------------------------------------------------------------------------------- */
/* Public API */

const char *
pl_session_get_demo_dir (void)
{
  static char *demo_dir;

  if (g_once_init_enter (&demo_dir))
    {
      const char *candidates[3] = { g_getenv ("PL_DEMO_DIR"), NULL, NULL };
      char *found = NULL;
#ifdef PL_SOURCE_DIR
      candidates[1] = PL_SOURCE_DIR "/data/demo";
#endif
#ifdef PL_PKGDATADIR
      candidates[2] = PL_PKGDATADIR "/demo";
#endif
      for (guint i = 0; i < G_N_ELEMENTS (candidates) && found == NULL; i++)
        if (candidates[i] != NULL && g_file_test (candidates[i], G_FILE_TEST_IS_DIR))
          found = g_strdup (candidates[i]);
      if (found == NULL)
        found = g_strdup ("");
      g_once_init_leave (&demo_dir, found);
    }
  return demo_dir[0] != '\0' ? demo_dir : NULL;
}

char *
pl_session_get_user_data_dir (void)
{
  char *dir = g_build_filename (g_get_user_data_dir (), "phenolip-explorer", NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    g_warning ("Cannot create %s: %s", dir, g_strerror (errno));
  return dir;
}

PlSession *
pl_session_new (void)
{
  return g_object_new (PL_TYPE_SESSION, NULL);
}

PlSnapshot *
pl_session_get_snapshot (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  return self->snapshot;
}

const PlClip *
pl_session_get_clip (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  return self->model != NULL ? self->model->clip : NULL;
}

const char *
pl_session_get_checkpoint_path (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  return self->model != NULL ? pl_clip_get_checkpoint_path (self->model->clip) : NULL;
}

const char *
pl_session_get_snapshot_path (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  return self->snapshot_path;
}

gboolean
pl_session_get_is_demo (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);
  return self->model != NULL && pl_clip_is_demo (self->model->clip);
}

gboolean
pl_session_get_ready (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);
  return self->ready;
}

gboolean
pl_session_get_busy (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), FALSE);
  return self->n_jobs > 0;
}

double
pl_session_get_progress (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), -1);
  return self->progress;
}

const char *
pl_session_get_status (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), NULL);
  return self->status;
}

double
pl_session_get_eta (PlSession *self)
{
  g_return_val_if_fail (PL_IS_SESSION (self), -1);
  return self->eta;
}

void
pl_session_open_checkpoint_async (PlSession           *self,
                                  const char          *path,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Job *job;
  g_autofree char *base = NULL;
  g_autofree char *status = NULL;

  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  job = job_new (self, cancellable, callback, user_data, pl_session_open_checkpoint_async);
  job->path = g_strdup (path);
  base = g_path_get_basename (path);
  status = g_strdup_printf (_("Opening the checkpoint “%s”"), base);
  job_queue (self, job, run_open_checkpoint, status, cancellable);
}

gboolean
pl_session_open_checkpoint_finish (PlSession     *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pl_session_open_snapshot_async (PlSession           *self,
                                const char          *path,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Job *job;
  g_autofree char *base = NULL;
  g_autofree char *status = NULL;

  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (path != NULL);

  job = job_new (self, cancellable, callback, user_data, pl_session_open_snapshot_async);
  job->path = g_strdup (path);
  base = g_path_get_basename (path);
  status = g_strdup_printf (_("Opening the ontology “%s”"), base);
  job_queue (self, job, run_open_snapshot, status, cancellable);
}

gboolean
pl_session_open_snapshot_finish (PlSession     *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pl_session_load_demo_async (PlSession           *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  const char *demo_dir = pl_session_get_demo_dir ();
  Job *job;

  g_return_if_fail (PL_IS_SESSION (self));

  job = job_new (self, cancellable, callback, user_data, pl_session_load_demo_async);
  if (demo_dir == NULL)
    {
      g_task_return_new_error (job->outer, PL_ERROR, PL_ERROR_IO,
                               _("The embedded demo was not found: set PL_DEMO_DIR to the data/demo folder"));
      job_free (job);
      return;
    }
  job->path = g_build_filename (demo_dir, "model", NULL);
  job->import_demo = TRUE;
  job->compute_embeddings = TRUE;
  job_queue (self, job, run_open_checkpoint, _("Loading the demo"), cancellable);
}

gboolean
pl_session_load_demo_finish (PlSession     *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pl_session_compute_embeddings_async (PlSession           *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  Job *job;

  g_return_if_fail (PL_IS_SESSION (self));

  job = job_new (self, cancellable, callback, user_data, pl_session_compute_embeddings_async);
  job_queue (self, job, run_compute_embeddings, _("Computing phenotype embeddings"), cancellable);
}

gboolean
pl_session_compute_embeddings_finish (PlSession     *self,
                                      GAsyncResult  *result,
                                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
pl_session_cancel_embeddings (PlSession *self)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_cancellable_cancel (self->embeddings_cancellable);
}

static void
analyse_async (PlSession           *self,
               const char          *path,
               GBytes              *bytes,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  Job *job;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *status = g_strdup_printf (_("Analysing “%s”"), base);

  job = job_new (self, cancellable, callback, user_data, pl_session_analyse_file_async);
  job->path = g_strdup (path);
  job->bytes = bytes != NULL ? g_bytes_ref (bytes) : NULL;
  job->top_k = PL_SESSION_DEFAULT_TOP_K;
  job_queue (self, job, run_analyse, status, cancellable);
}

void
pl_session_analyse_file_async (PlSession           *self,
                               const char          *path,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (path != NULL);
  analyse_async (self, path, NULL, cancellable, callback, user_data);
}

void
pl_session_analyse_bytes_async (PlSession           *self,
                                GBytes              *bytes,
                                const char          *name,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (bytes != NULL);
  g_return_if_fail (name != NULL);
  analyse_async (self, name, bytes, cancellable, callback, user_data);
}

PlAnalysis *
pl_session_analyse_finish (PlSession     *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

void
pl_session_rank_async (PlSession           *self,
                       PlAnalysis          *analysis,
                       const char          *under_id,
                       guint                top_k,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  Job *job;

  g_return_if_fail (PL_IS_SESSION (self));
  g_return_if_fail (analysis != NULL);

  job = job_new (self, cancellable, callback, user_data, pl_session_rank_async);
  job->analysis = pl_analysis_ref (analysis);
  job->under_id = g_strdup (under_id);
  job->top_k = top_k > 0 ? top_k : PL_SESSION_DEFAULT_TOP_K;
  job_queue (self, job, run_rank, _("Ranking phenotypes"), cancellable);
}

PlRanking *
pl_session_rank_finish (PlSession     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------------------------- */

static void
pl_session_finalize (GObject *object)
{
  PlSession *self = PL_SESSION (object);

  g_cancellable_cancel (self->embeddings_cancellable);
  g_clear_object (&self->embeddings_cancellable);
  g_clear_pointer (&self->model, pl_model_unref);
  g_clear_pointer (&self->snapshot, pl_snapshot_free);
  g_clear_pointer (&self->snapshot_path, g_free);
  g_clear_pointer (&self->status, g_free);

  G_OBJECT_CLASS (pl_session_parent_class)->finalize (object);
}

static void
pl_session_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PlSession *self = PL_SESSION (object);

  switch (prop_id)
    {
    case PROP_CHECKPOINT_PATH:
      g_value_set_string (value, pl_session_get_checkpoint_path (self));
      break;
    case PROP_SNAPSHOT_PATH:
      g_value_set_string (value, self->snapshot_path);
      break;
    case PROP_IS_DEMO:
      g_value_set_boolean (value, pl_session_get_is_demo (self));
      break;
    case PROP_READY:
      g_value_set_boolean (value, self->ready);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->n_jobs > 0);
      break;
    case PROP_PROGRESS:
      g_value_set_double (value, self->progress);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    case PROP_ETA:
      g_value_set_double (value, self->eta);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pl_session_class_init (PlSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = pl_session_finalize;
  object_class->get_property = pl_session_get_property;

  properties[PROP_CHECKPOINT_PATH] =
    g_param_spec_string ("checkpoint-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SNAPSHOT_PATH] =
    g_param_spec_string ("snapshot-path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IS_DEMO] =
    g_param_spec_boolean ("is-demo", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_READY] =
    g_param_spec_boolean ("ready", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PROGRESS] =
    g_param_spec_double ("progress", NULL, NULL, -1, 1, -1,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_string ("status", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ETA] =
    g_param_spec_double ("eta", NULL, NULL, -1, G_MAXDOUBLE, -1,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
pl_session_init (PlSession *self)
{
  self->progress = -1;
  self->eta = -1;
}
