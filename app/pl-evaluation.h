/* pl-evaluation.h: PhenoBench evaluation runs of a checkpoint: one run computed in the calling
 * thread, and PlEvaluator, a dedicated worker thread fed by a job queue that reports progress
 * (items done, images per second, ETA, partial metrics) to the caller's main context, cancels at
 * any time and resumes from the embeddings cached in the workspace. */
#pragma once

#include <gio/gio.h>

#include "data/pl-eval-store.h"
#include "data/pl-metrics.h"

G_BEGIN_DECLS

/* Images encoded per forward pass, and texts per committed chunk. */
#define PL_EVAL_DEFAULT_BATCH 8
#define PL_EVAL_TEXT_CHUNK 64

/* Where images are decoded during a run. */
typedef enum {
  PL_EVAL_DECODING_AUTO,    /* a decoder thread from three cores on, inline on one or two */
  PL_EVAL_DECODING_INLINE,  /* in the encoder's thread, between batches */
  PL_EVAL_DECODING_THREAD,  /* a decoder thread reads ahead while the encoder works */
} PlEvalDecoding;

typedef struct {
  const char         *manifest_path;    /* PhenoBench CSV or JSON lines */
  const char         *checkpoint_path;  /* file or folder, as pl_clip_load takes it */
  const char         *snapshot_path;    /* PhenoKG snapshot: phenotype names, ids and organ systems */
  const char         *workspace_path;   /* NULL: pl_evaluation_default_workspace () */
  const char * const *templates;        /* classification prompts, "{}" = label; NULL: the default set */
  /* OpenBLAS threads of the encoder; 0: all cores when decoding inline, else one less than the
   * cores, since one decoder thread reads, hashes and preprocesses the next images while the
   * encoder works. A decoder thread is used from three cores on (on two it costs more than it saves). */
  int                 threads;
  int                 batch_size;       /* 0: PL_EVAL_DEFAULT_BATCH */
  PlEvalDecoding      decoding;
} PlEvalRequest;

typedef enum {
  PL_EVAL_PHASE_LOADING,     /* checkpoint, snapshot, manifest, cache index */
  PL_EVAL_PHASE_TEXTS,       /* captions, phenotype labels and prompts */
  PL_EVAL_PHASE_IMAGES,
  PL_EVAL_PHASE_METRICS,
} PlEvalPhase;

typedef struct {
  PlEvalPhase           phase;
  guint                 done;              /* texts + images handled, cached ones included */
  guint                 total;
  guint                 texts_done, texts_total;
  guint                 images_done, images_total;
  guint                 images_encoded;    /* by this run so far */
  guint                 images_cached;
  double                elapsed;           /* seconds since the run started */
  double                images_per_second; /* in this run's image phase; 0 while unknown */
  double                eta;               /* seconds left; < 0 while unknown */
  /* Metrics over the pairs whose images are done, when this report brings new ones (at most every
   * few seconds, and never more than ~2% of the run's time); NULL otherwise. Owned by the report. */
  const PlBenchMetrics *partial;
} PlEvalProgress;

typedef void (*PlEvalProgressFunc) (const PlEvalProgress *progress,
                                    gpointer              user_data);

/* g_get_user_data_dir()/phenolip-explorer/workspace.sqlite (not created here). */
char      *pl_evaluation_default_workspace (void);

/* Runs one evaluation in the calling thread, which becomes the run's encoder (plus one decoder
 * thread unless asked otherwise); PROGRESS is called from it. Embeddings are committed batch by
 * batch, so a cancelled (G_IO_ERROR_CANCELLED) or killed run resumes where it stopped. The
 * finished run is stored in the workspace and returned. OpenBLAS' thread count is restored after. */
PlEvalRun *pl_evaluation_run              (const PlEvalRequest *request,
                                           GCancellable        *cancellable,
                                           PlEvalProgressFunc   progress,
                                           gpointer             user_data,
                                           GError             **error);

/* The report of a run for people: the lines of the manifest's and the images' problems. */
GPtrArray *pl_evaluation_describe_report  (const PlEvalRun     *run);

#define PL_TYPE_EVALUATOR (pl_evaluator_get_type ())
G_DECLARE_FINAL_TYPE (PlEvaluator, pl_evaluator, PL, EVALUATOR, GObject)

PlEvaluator *pl_evaluator_new          (void);
/* Queues a run on the evaluator's worker thread (started on first use; one run at a time, in
 * order). PROGRESS and CALLBACK are called in the thread-default main context of the caller. */
void         pl_evaluator_run_async    (PlEvaluator         *self,
                                        const PlEvalRequest *request,
                                        GCancellable        *cancellable,
                                        PlEvalProgressFunc   progress,
                                        gpointer             progress_data,
                                        GDestroyNotify       progress_data_free,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
PlEvalRun   *pl_evaluator_run_finish   (PlEvaluator         *self,
                                        GAsyncResult        *result,
                                        GError             **error);
/* Runs queued or running. */
guint        pl_evaluator_get_n_pending (PlEvaluator        *self);

G_END_DECLS
