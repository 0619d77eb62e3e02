/* pl-session.h: the application core both front ends stand on: which checkpoint and snapshot are
 * open, loading them off the main thread, the embedded demo, phenotype embeddings and image analysis
 * run one model job at a time in a worker with progress and cancellation. */
#pragma once

#include <gio/gio.h>

#include "app/pl-ranking.h"
#include "data/pl-snapshot.h"
#include "model/pl-clip.h"

G_BEGIN_DECLS

/* How many ranked phenotypes an analysis keeps. */
#define PL_SESSION_DEFAULT_TOP_K 25

/* What one image gave: the pixels the model saw, its embedding and the ranking. Immutable once
 * returned; reference-counted so that a list and a view can share it. */
typedef struct {
  char      *path;          /* the file analysed, or the name given to pasted pixels */
  char      *name;          /* display name (base name) */
  int        width;         /* of the original image */
  int        height;
  int        preview_size;  /* side of the centre crop the model saw */
  guint8    *preview_rgb;   /* [preview_size, preview_size, 3] */
  int        dim;
  float     *embedding;     /* [dim], L2-normalised */
  PlRanking *ranking;       /* over every phenotype of the snapshot */
  gboolean   demo;          /* made with the demo model's random weights */
  char      *checkpoint_fingerprint;
  double     decode_ms;     /* decoding and preprocessing */
  double     encode_ms;     /* the image tower */
  double     rank_ms;       /* ranking against the phenotype embeddings */
} PlAnalysis;

#define PL_TYPE_ANALYSIS (pl_analysis_get_type ())
GType       pl_analysis_get_type (void) G_GNUC_CONST;
PlAnalysis *pl_analysis_ref      (PlAnalysis *analysis);
void        pl_analysis_unref    (PlAnalysis *analysis);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PlAnalysis, pl_analysis_unref)

#define PL_TYPE_SESSION (pl_session_get_type ())
G_DECLARE_FINAL_TYPE (PlSession, pl_session, PL, SESSION, GObject)

PlSession    *pl_session_new                   (void);

/* The folder holding the embedded demo (model/, retina.jpg, hpo-demo.obo): $PL_DEMO_DIR, else the
 * source tree in a development build, else the installed pkgdatadir. NULL if none exists. */
const char   *pl_session_get_demo_dir          (void);
/* g_get_user_data_dir()/phenolip-explorer, created on demand. */
char         *pl_session_get_user_data_dir     (void);

/* Main-thread view of what is open. The snapshot returned here is a read-only connection reserved
 * for the main thread (browsing, search, term pages); the worker has its own. */
PlSnapshot   *pl_session_get_snapshot          (PlSession *self);
const PlClip *pl_session_get_clip              (PlSession *self);
const char   *pl_session_get_checkpoint_path   (PlSession *self);
const char   *pl_session_get_snapshot_path     (PlSession *self);
gboolean      pl_session_get_is_demo           (PlSession *self);
/* TRUE when a checkpoint and a snapshot are open and the phenotype embeddings are complete. */
gboolean      pl_session_get_ready             (PlSession *self);
gboolean      pl_session_get_busy              (PlSession *self);
/* 0..1 of the running job, or -1 when unknown. */
double        pl_session_get_progress          (PlSession *self);
/* What the worker is doing, for people ("Computing phenotype embeddings…"); NULL when idle. */
const char   *pl_session_get_status            (PlSession *self);
/* Seconds left in the running job, or -1 when unknown. */
double        pl_session_get_eta               (PlSession *self);

/* Opens a checkpoint (file or folder). On success it replaces the open one and the phenotype
 * embeddings of the open snapshot are computed for it if missing (see compute_embeddings); on
 * failure the previous checkpoint stays open. */
void          pl_session_open_checkpoint_async  (PlSession           *self,
                                                 const char          *path,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      pl_session_open_checkpoint_finish (PlSession           *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* Opens a snapshot file, or imports an HPO release (.obo, .json, optionally .gz) into a snapshot in
 * the user data folder and opens that. On failure the previous snapshot stays open. */
void          pl_session_open_snapshot_async    (PlSession           *self,
                                                 const char          *path,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      pl_session_open_snapshot_finish   (PlSession           *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* The embedded demo: its model, a snapshot built from hpo-demo.obo in the user data folder (kept
 * and reused while the source is unchanged), and the demo model's phenotype embeddings. */
void          pl_session_load_demo_async        (PlSession           *self,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
gboolean      pl_session_load_demo_finish       (PlSession           *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* Computes the phenotype embeddings the snapshot lacks for the open checkpoint, with progress and
 * ETA in the properties; cancelling keeps what was computed (a later call resumes). */
void          pl_session_compute_embeddings_async  (PlSession           *self,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gboolean      pl_session_compute_embeddings_finish (PlSession           *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
/* Cancels the embedding computation the session started by itself after opening a checkpoint. */
void          pl_session_cancel_embeddings         (PlSession           *self);

/* Decodes, preprocesses, encodes and ranks an image file (or encoded PNG/JPEG bytes named NAME). */
void          pl_session_analyse_file_async     (PlSession           *self,
                                                 const char          *path,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
void          pl_session_analyse_bytes_async    (PlSession           *self,
                                                 GBytes              *bytes,
                                                 const char          *name,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
PlAnalysis   *pl_session_analyse_finish         (PlSession           *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

/* Ranks an analysed image again, restricted to UNDER_ID's subtree (NULL: everything). */
void          pl_session_rank_async             (PlSession           *self,
                                                 PlAnalysis          *analysis,
                                                 const char          *under_id,
                                                 guint                top_k,
                                                 GCancellable        *cancellable,
                                                 GAsyncReadyCallback  callback,
                                                 gpointer             user_data);
PlRanking    *pl_session_rank_finish            (PlSession           *self,
                                                 GAsyncResult        *result,
                                                 GError             **error);

G_END_DECLS
