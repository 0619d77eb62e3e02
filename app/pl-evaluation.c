/* pl-evaluation.c: a PhenoBench run (texts, then images through a decoder thread and the encoder,
 * both cached in the workspace; metrics; the stored run) and the evaluator's worker thread. */
#include "app/pl-evaluation.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/pl-manifest.h"
#include "data/pl-phenotype-embeddings.h"
#include "model/pl-clip.h"
#include "model/pl-error.h"

/* Decoded images waiting for the encoder: two batches keeps it fed without holding many 600 KB
 * pixel buffers. */
#define QUEUE_BATCHES 2
/* Partial metrics: at least this many seconds apart, and at most this share of the run's time. */
#define PARTIAL_MIN_INTERVAL 2.0
#define PARTIAL_MAX_SHARE 0.02

char *
pl_evaluation_default_workspace (void)
{
  return g_build_filename (g_get_user_data_dir (), "phenolip-explorer", "workspace.sqlite", NULL);
}

static char *
sha256_text (const char *text)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);
}

/* ---- the decoder thread ---------------------------------------------------------------------- */

typedef enum {
  ITEM_PIXELS,    /* decoded; to encode */
  ITEM_CACHED,    /* embedding in the workspace */
  ITEM_ALIAS,     /* same bytes as an earlier pair of this run */
  ITEM_FAILED,
  ITEM_END,
} ItemKind;

typedef struct {
  ItemKind  kind;
  int       pair;
  int       alias_of;
  char      sha256[65];
  gboolean  new_hash;   /* the file was read and hashed: remember its hash */
  float    *pixels;
  char     *problem;
} Item;

typedef struct {
  /* Per pair, filled by the encoder thread before the decoder starts. */
  int             n_pairs;
  char          **paths;
  char          (*known_sha)[65];   /* "" when the file must be read */
  GHashTable     *cached;            /* image keys in the workspace for this checkpoint */
  const PlClip   *clip;
  GCancellable   *cancellable;
  /* The queue. */
  GMutex          mutex;
  GCond           cond;
  GQueue          items;
  guint           capacity;
  gboolean        stop;
} Pipeline;

static void
item_free (Item *item)
{
  g_free (item->pixels);
  g_free (item->problem);
  g_free (item);
}

static void
pipeline_push (Pipeline *pipeline,
               Item     *item)
{
  g_mutex_lock (&pipeline->mutex);
  while (pipeline->items.length >= pipeline->capacity && !pipeline->stop && item->kind != ITEM_END)
    g_cond_wait (&pipeline->cond, &pipeline->mutex);
  if (pipeline->stop && item->kind != ITEM_END)
    item_free (item);
  else
    g_queue_push_tail (&pipeline->items, item);
  g_cond_broadcast (&pipeline->cond);
  g_mutex_unlock (&pipeline->mutex);
}

static Item *
pipeline_pop (Pipeline *pipeline)
{
  Item *item;

  g_mutex_lock (&pipeline->mutex);
  while (pipeline->items.length == 0)
    g_cond_wait (&pipeline->cond, &pipeline->mutex);
  item = g_queue_pop_head (&pipeline->items);
  g_cond_broadcast (&pipeline->cond);
  g_mutex_unlock (&pipeline->mutex);
  return item;
}

/* Reads, hashes and preprocesses pair I, or finds it needs none of that. SEEN: sha -> first pair
 * (as pointer + 1) decoded in this run; FAILED: sha -> problem. */
static Item *
decode_pair (Pipeline   *pipeline,
             int         i,
             GHashTable *seen,
             GHashTable *failed)
{
  Item *item = g_new0 (Item, 1);
  int size = pl_clip_get_preprocess_config (pipeline->clip)->image_size;
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  g_autoptr(PlImage) image = NULL;
  gsize length = 0;
  gpointer value;

  item->pair = i;
  if (pipeline->known_sha[i][0] != '\0')
    memcpy (item->sha256, pipeline->known_sha[i], 65);
  else
    {
      g_autofree char *sha = NULL;

      if (!g_file_get_contents (pipeline->paths[i], &data, &length, &error))
        {
          item->kind = ITEM_FAILED;
          item->problem = g_strdup (error->message);
          return item;
        }
      sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
      memcpy (item->sha256, sha, 65);
      item->new_hash = TRUE;
    }
  if (g_hash_table_contains (pipeline->cached, item->sha256))
    {
      item->kind = ITEM_CACHED;
      return item;
    }
  if (g_hash_table_lookup_extended (seen, item->sha256, NULL, &value))
    {
      item->kind = ITEM_ALIAS;
      item->alias_of = GPOINTER_TO_INT (value) - 1;
      return item;
    }
  if ((value = g_hash_table_lookup (failed, item->sha256)) != NULL)
    {
      item->kind = ITEM_FAILED;
      item->problem = g_strdup (value);
      return item;
    }
  if (data == NULL && !g_file_get_contents (pipeline->paths[i], &data, &length, &error))
    {
      item->kind = ITEM_FAILED;
      item->problem = g_strdup (error->message);
      return item;
    }
  item->pixels = g_new (float, (gsize) 3 * size * size);
  if ((image = pl_image_load_from_memory ((const uint8_t *) data, length, pipeline->paths[i], &error)) == NULL
      || !pl_image_preprocess (image, pl_clip_get_preprocess_config (pipeline->clip), item->pixels, NULL, &error))
    {
      item->kind = ITEM_FAILED;
      item->problem = g_strdup (error->message);
      g_clear_pointer (&item->pixels, g_free);
      g_hash_table_insert (failed, g_strdup (item->sha256), g_strdup (error->message));
      return item;
    }
  item->kind = ITEM_PIXELS;
  g_hash_table_insert (seen, g_strdup (item->sha256), GINT_TO_POINTER (i + 1));
  return item;
}

static gpointer
decoder_thread (gpointer data)
{
  Pipeline *pipeline = data;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) failed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  Item *end = g_new0 (Item, 1);

  for (int i = 0; i < pipeline->n_pairs; i++)
    {
      gboolean stop;

      g_mutex_lock (&pipeline->mutex);
      stop = pipeline->stop;
      g_mutex_unlock (&pipeline->mutex);
      if (stop || g_cancellable_is_cancelled (pipeline->cancellable))
        break;
      pipeline_push (pipeline, decode_pair (pipeline, i, seen, failed));
    }
  end->kind = ITEM_END;
  pipeline_push (pipeline, end);
  return NULL;
}

/* ---- one run --------------------------------------------------------------------------------- */

typedef struct {
  const PlEvalRequest *request;
  gboolean             inline_decoding;  /* decode in the encoder's thread, no decoder thread */
  GCancellable        *cancellable;
  PlEvalProgressFunc   progress;
  gpointer             user_data;
  PlEvalProgress       report;
  gint64               start;
  gint64               image_start;
  gint64               last_report;
  double               last_partial;       /* elapsed at the last partial metrics */
  double               last_partial_cost;
  PlClip              *clip;
  PlEvalStore         *store;
  PlManifest          *manifest;
  int                  dim;
  /* Texts: unique strings, their keys and vectors. */
  GPtrArray           *texts;
  GHashTable          *text_index;          /* text -> index + 1 */
  float               *text_vectors;        /* [n_texts, dim] */
  int                 *caption_text;        /* [n_pairs] */
  float               *phenotype_prompts;   /* [n_phenotypes, dim] */
  float               *phenotype_names;     /* [n_phenotypes, dim] */
  /* Images. */
  float               *image_vectors;       /* [n_pairs, dim] */
  gboolean            *image_done;
  char               **image_problem;       /* [n_pairs] */
  guint                texts_encoded, texts_cached;
} Run;

static double
elapsed_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / 1e6;
}

static void
emit (Run                  *run,
      gboolean              force,
      const PlBenchMetrics *partial)
{
  PlEvalProgress *r = &run->report;
  gint64 now = g_get_monotonic_time ();
  double image_elapsed;

  /* At most ten reports a second. */
  if (run->progress == NULL || (!force && partial == NULL && now - run->last_report < 100000))
    return;
  run->last_report = now;
  r->done = r->texts_done + r->images_done;
  r->total = r->texts_total + r->images_total;
  r->elapsed = elapsed_since (run->start);
  image_elapsed = run->image_start ? elapsed_since (run->image_start) : 0;
  r->images_per_second = image_elapsed > 0.2 && r->images_done > 0 ? r->images_done / image_elapsed : 0;
  if (r->phase == PL_EVAL_PHASE_IMAGES && r->images_per_second > 0)
    r->eta = (r->images_total - r->images_done) / r->images_per_second;
  else if (r->phase == PL_EVAL_PHASE_METRICS)
    r->eta = 0;
  else
    r->eta = -1;
  r->partial = partial;
  run->progress (r, run->user_data);
  r->partial = NULL;
}

static int
intern_text (Run        *run,
             const char *text)
{
  gpointer value = g_hash_table_lookup (run->text_index, text);

  if (value != NULL)
    return GPOINTER_TO_INT (value) - 1;
  g_ptr_array_add (run->texts, g_strdup (text));
  g_hash_table_insert (run->text_index, run->texts->pdata[run->texts->len - 1], GINT_TO_POINTER (run->texts->len));
  return (int) run->texts->len - 1;
}

/* "{}" replaced by LABEL, as pl-phenotype-embeddings formats its templates. */
static char *
format_template (const char *template,
                 const char *label)
{
  g_auto(GStrv) parts = NULL;

  if (strstr (template, "{}") == NULL)
    return g_strconcat (template, " ", label, NULL);
  parts = g_strsplit (template, "{}", -1);
  return g_strjoinv (label, parts);
}

static gboolean
embed_texts (Run     *run,
             GError **error)
{
  const char * const *templates = run->request->templates && run->request->templates[0]
                                  ? run->request->templates : pl_default_phenotype_templates;
  guint n_templates = g_strv_length ((char **) templates);
  PlManifest *manifest = run->manifest;
  guint n_phenotypes = manifest->phenotype_ids->len;
  g_autofree int *label_text = g_new (int, MAX (n_phenotypes, 1));
  g_autofree int *prompt_text = g_new (int, MAX (n_phenotypes * n_templates, 1));
  g_autoptr(GHashTable) cached = NULL;
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) missing = g_array_new (FALSE, FALSE, sizeof (int));
  const char *fingerprint = pl_clip_get_fingerprint (run->clip);
  int dim = run->dim;

  run->caption_text = g_new (int, MAX (manifest->pairs->len, 1));
  for (guint i = 0; i < manifest->pairs->len; i++)
    run->caption_text[i] = intern_text (run, ((PlBenchPair *) manifest->pairs->pdata[i])->caption);
  for (guint p = 0; p < n_phenotypes; p++)
    {
      const char *label = manifest->phenotype_labels->pdata[p];

      label_text[p] = intern_text (run, label);
      for (guint t = 0; t < n_templates; t++)
        {
          g_autofree char *prompt = format_template (templates[t], label);

          prompt_text[p * n_templates + t] = intern_text (run, prompt);
        }
    }
  if ((cached = pl_eval_store_list_embedded (run->store, PL_EVAL_EMBEDDING_TEXT, fingerprint, error)) == NULL)
    return FALSE;
  run->text_vectors = g_new (float, (gsize) MAX (run->texts->len, 1) * dim);
  run->report.phase = PL_EVAL_PHASE_TEXTS;
  run->report.texts_total = run->texts->len;
  for (guint i = 0; i < run->texts->len; i++)
    {
      char *key = sha256_text (run->texts->pdata[i]);

      g_ptr_array_add (keys, key);
      if (g_hash_table_contains (cached, key)
          && pl_eval_store_get_embedding (run->store, PL_EVAL_EMBEDDING_TEXT, fingerprint, key, dim,
                                          run->text_vectors + (gsize) i * dim))
        {
          run->texts_cached++;
          run->report.texts_done++;
        }
      else
        g_array_append_val (missing, i);
    }
  emit (run, TRUE, NULL);
  for (guint start = 0; start < missing->len; start += PL_EVAL_TEXT_CHUNK)
    {
      guint n = MIN (PL_EVAL_TEXT_CHUNK, missing->len - start);
      g_autofree const char **chunk = g_new (const char *, n);
      g_autofree const char **chunk_keys = g_new (const char *, n);
      g_autofree float *vectors = g_new (float, (gsize) n * dim);

      if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
        return FALSE;
      for (guint k = 0; k < n; k++)
        {
          int i = g_array_index (missing, int, start + k);

          chunk[k] = run->texts->pdata[i];
          chunk_keys[k] = keys->pdata[i];
        }
      pl_clip_encode_texts (run->clip, chunk, n, vectors);
      if (!pl_eval_store_put_embeddings (run->store, PL_EVAL_EMBEDDING_TEXT, fingerprint, n, chunk_keys, dim,
                                         vectors, error))
        return FALSE;
      for (guint k = 0; k < n; k++)
        memcpy (run->text_vectors + (gsize) g_array_index (missing, int, start + k) * dim,
                vectors + (gsize) k * dim, dim * sizeof (float));
      run->texts_encoded += n;
      run->report.texts_done += n;
      emit (run, FALSE, NULL);
    }

  /* Classification prompts: open_clip's zero-shot classifier averages the normalised embeddings of
   * the templates and normalises the mean. Retrieval uses the label alone. */
  run->phenotype_prompts = g_new0 (float, (gsize) MAX (n_phenotypes, 1) * dim);
  run->phenotype_names = g_new (float, (gsize) MAX (n_phenotypes, 1) * dim);
  for (guint p = 0; p < n_phenotypes; p++)
    {
      float *mean = run->phenotype_prompts + (gsize) p * dim;

      for (guint t = 0; t < n_templates; t++)
        {
          const float *v = run->text_vectors + (gsize) prompt_text[p * n_templates + t] * dim;

          for (int k = 0; k < dim; k++)
            mean[k] += v[k] / n_templates;
        }
      memcpy (run->phenotype_names + (gsize) p * dim, run->text_vectors + (gsize) label_text[p] * dim,
              dim * sizeof (float));
    }
  pl_l2_normalize_rows (run->phenotype_prompts, n_phenotypes, dim);
  return TRUE;
}

/* Metrics over the pairs whose image is done (ONLY_DONE) or every pair with an image. */
static PlBenchMetrics *
compute_metrics (Run      *run,
                 gboolean  only_done,
                 guint    *n_used)
{
  PlManifest *manifest = run->manifest;
  int dim = run->dim, n = 0;
  guint n_pairs = manifest->pairs->len;
  g_autofree float *images = g_new (float, (gsize) MAX (n_pairs, 1) * dim);
  g_autofree float *captions = g_new (float, (gsize) MAX (n_pairs, 1) * dim);
  g_autofree int *offsets = g_new (int, n_pairs + 1);
  g_autoptr(GArray) relevant = g_array_new (FALSE, FALSE, sizeof (int));
  PlBenchInput input = { 0 };

  offsets[0] = 0;
  for (guint i = 0; i < n_pairs; i++)
    {
      PlBenchPair *pair = manifest->pairs->pdata[i];

      if (!run->image_done[i] || run->image_problem[i] != NULL)
        continue;
      memcpy (images + (gsize) n * dim, run->image_vectors + (gsize) i * dim, dim * sizeof (float));
      memcpy (captions + (gsize) n * dim, run->text_vectors + (gsize) run->caption_text[i] * dim, dim * sizeof (float));
      g_array_append_vals (relevant, pair->phenotypes->data, pair->phenotypes->len);
      offsets[++n] = relevant->len;
    }
  (void) only_done;
  *n_used = n;
  input.n_pairs = n;
  input.n_phenotypes = manifest->phenotype_ids->len;
  input.dim = dim;
  input.images = images;
  input.captions = captions;
  input.phenotype_prompts = run->phenotype_prompts;
  input.phenotype_names = run->phenotype_names;
  input.pair_offsets = offsets;
  input.pair_phenotypes = (const int *) relevant->data;
  input.phenotype_systems = (const char * const * const *) manifest->phenotype_systems->pdata;
  input.system_labels = manifest->system_labels;
  return pl_bench_metrics_compute (&input);
}

static void
maybe_partial_metrics (Run *run)
{
  double now = elapsed_since (run->start);
  g_autoptr(PlBenchMetrics) metrics = NULL;
  guint n_used;
  gint64 t0;

  if (run->progress == NULL || now - run->last_partial < PARTIAL_MIN_INTERVAL
      || run->last_partial_cost > PARTIAL_MAX_SHARE * (now - run->last_partial))
    return;
  t0 = g_get_monotonic_time ();
  metrics = compute_metrics (run, TRUE, &n_used);
  metrics->partial = TRUE;
  run->last_partial_cost = elapsed_since (t0);
  run->last_partial = elapsed_since (run->start);
  if (n_used > 0)
    emit (run, TRUE, metrics);
}

/* Encodes the pending batch and stores it with the hashes of its files. */
static gboolean
flush_batch (Run        *run,
             GPtrArray  *batch,
             float      *pixels,
             GError    **error)
{
  int n = batch->len, dim = run->dim;
  g_autofree float *vectors = g_new (float, (gsize) MAX (n, 1) * dim);
  g_autofree const char **keys = g_new (const char *, MAX (n, 1));

  if (n == 0)
    return TRUE;
  pl_clip_encode_images (run->clip, pixels, n, vectors);
  for (int k = 0; k < n; k++)
    keys[k] = ((Item *) batch->pdata[k])->sha256;
  if (!pl_eval_store_put_embeddings (run->store, PL_EVAL_EMBEDDING_IMAGE, pl_clip_get_fingerprint (run->clip), n,
                                     keys, dim, vectors, error))
    return FALSE;
  for (int k = 0; k < n; k++)
    {
      int i = ((Item *) batch->pdata[k])->pair;

      memcpy (run->image_vectors + (gsize) i * dim, vectors + (gsize) k * dim, dim * sizeof (float));
      run->image_done[i] = TRUE;
    }
  run->report.images_encoded += n;
  run->report.images_done += n;
  g_ptr_array_set_size (batch, 0);
  /* Every stored batch is reported: it is what a cancel keeps. */
  emit (run, TRUE, NULL);
  return TRUE;
}

static gboolean
remember_hash (Run       *run,
               Item      *item,
               GStatBuf  *stats,
               GError   **error)
{
  PlBenchPair *pair = run->manifest->pairs->pdata[item->pair];

  if (!item->new_hash)
    return TRUE;
  return pl_eval_store_remember_file_hash (run->store, pair->image_path, stats->st_size,
                                           (gint64) stats->st_mtim.tv_sec * 1000000 + stats->st_mtim.tv_nsec / 1000,
                                           stats->st_ino, item->sha256, error);
}

static gboolean
embed_images (Run     *run,
              GError **error)
{
  PlManifest *manifest = run->manifest;
  int n_pairs = manifest->pairs->len, dim = run->dim;
  int batch_size = run->request->batch_size > 0 ? run->request->batch_size : PL_EVAL_DEFAULT_BATCH;
  int size = pl_clip_get_preprocess_config (run->clip)->image_size;
  gsize image_floats = (gsize) 3 * size * size;
  const char *fingerprint = pl_clip_get_fingerprint (run->clip);
  typedef char Sha256Hex[65];
  g_autofree Sha256Hex *known = g_malloc0 (sizeof (Sha256Hex) * MAX (n_pairs, 1));
  g_autofree char **paths = g_new0 (char *, n_pairs + 1);
  g_autofree GStatBuf *stats = g_new0 (GStatBuf, MAX (n_pairs, 1));
  g_autoptr(GHashTable) cached = NULL;
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  g_autoptr(GPtrArray) aliases = g_ptr_array_new_with_free_func ((GDestroyNotify) item_free);
  g_autofree float *pixels = g_new (float, image_floats * batch_size);
  Pipeline pipeline = { 0 };
  GThread *decoder = NULL;
  gboolean ok = TRUE, ended = FALSE;

  run->image_vectors = g_new0 (float, (gsize) MAX (n_pairs, 1) * dim);
  run->image_done = g_new0 (gboolean, MAX (n_pairs, 1));
  run->image_problem = g_new0 (char *, n_pairs + 1);
  if ((cached = pl_eval_store_list_embedded (run->store, PL_EVAL_EMBEDDING_IMAGE, fingerprint, error)) == NULL)
    return FALSE;
  /* Content hashes of unchanged files come from the workspace, so a repeated run reads no image. */
  for (int i = 0; i < n_pairs; i++)
    {
      PlBenchPair *pair = manifest->pairs->pdata[i];

      paths[i] = pair->image_path;
      if (g_stat (pair->image_path, &stats[i]) == 0)
        pl_eval_store_lookup_file_hash (run->store, pair->image_path, stats[i].st_size,
                                        (gint64) stats[i].st_mtim.tv_sec * 1000000 + stats[i].st_mtim.tv_nsec / 1000,
                                        stats[i].st_ino, known[i]);
    }
  run->report.phase = PL_EVAL_PHASE_IMAGES;
  run->report.images_total = n_pairs;
  run->image_start = g_get_monotonic_time ();
  emit (run, TRUE, NULL);

  pipeline.n_pairs = n_pairs;
  pipeline.paths = paths;
  pipeline.known_sha = known;
  pipeline.cached = cached;
  pipeline.clip = run->clip;
  pipeline.cancellable = run->cancellable;
  pipeline.capacity = run->inline_decoding ? G_MAXUINT : (guint) (QUEUE_BATCHES * batch_size);
  g_mutex_init (&pipeline.mutex);
  g_cond_init (&pipeline.cond);
  g_queue_init (&pipeline.items);
  if (!run->inline_decoding)
    decoder = g_thread_new ("pl-eval-decoder", decoder_thread, &pipeline);

  {
    g_autoptr(GHashTable) seen = run->inline_decoding
                                 ? g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL) : NULL;
    g_autoptr(GHashTable) failed = run->inline_decoding
                                   ? g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free) : NULL;
    int next = 0;

    while (ok && !ended)
      {
        Item *item;

        if (g_cancellable_set_error_if_cancelled (run->cancellable, error))
          {
            ok = FALSE;
            break;
          }
        if (decoder != NULL)
          item = pipeline_pop (&pipeline);
        else if (next < n_pairs)
          item = decode_pair (&pipeline, next++, seen, failed);
        else
          item = g_new0 (Item, 1), item->kind = ITEM_END;

        switch (item->kind)
          {
          case ITEM_END:
            ended = TRUE;
            ok = flush_batch (run, batch, pixels, error);
            item_free (item);
            break;
          case ITEM_FAILED:
            run->image_problem[item->pair] = g_steal_pointer (&item->problem);
            run->image_done[item->pair] = TRUE;
            run->report.images_done++;
            item_free (item);
            break;
          case ITEM_CACHED:
            if (pl_eval_store_get_embedding (run->store, PL_EVAL_EMBEDDING_IMAGE, fingerprint, item->sha256, dim,
                                             run->image_vectors + (gsize) item->pair * dim))
              run->report.images_cached++;
            else
              run->image_problem[item->pair] = g_strdup ("its cached embedding could not be read");
            run->image_done[item->pair] = TRUE;
            run->report.images_done++;
            ok = remember_hash (run, item, &stats[item->pair], error);
            item_free (item);
            break;
          case ITEM_ALIAS:
            g_ptr_array_add (aliases, item);
            break;
          case ITEM_PIXELS:
            ok = remember_hash (run, item, &stats[item->pair], error);
            memcpy (pixels + image_floats * batch->len, item->pixels, image_floats * sizeof (float));
            g_clear_pointer (&item->pixels, g_free);
            g_ptr_array_add (batch, item);
            if (ok && (int) batch->len == batch_size)
              ok = flush_batch (run, batch, pixels, error);
            break;
          default:
            g_assert_not_reached ();
          }
        if (ok)
          {
            emit (run, FALSE, NULL);
            maybe_partial_metrics (run);
          }
      }
  }
  if (decoder != NULL)
    {
      /* Stop the decoder and drain what it queued. */
      g_mutex_lock (&pipeline.mutex);
      pipeline.stop = TRUE;
      g_cond_broadcast (&pipeline.cond);
      g_mutex_unlock (&pipeline.mutex);
      g_thread_join (decoder);
    }
  g_queue_clear_full (&pipeline.items, (GDestroyNotify) item_free);
  g_mutex_clear (&pipeline.mutex);
  g_cond_clear (&pipeline.cond);
  if (!ok)
    return FALSE;
  for (guint k = 0; k < aliases->len; k++)
    {
      Item *item = aliases->pdata[k];

      memcpy (run->image_vectors + (gsize) item->pair * dim, run->image_vectors + (gsize) item->alias_of * dim,
              dim * sizeof (float));
      if (run->image_problem[item->alias_of] != NULL)
        run->image_problem[item->pair] = g_strdup (run->image_problem[item->alias_of]);
      run->image_done[item->pair] = TRUE;
      run->report.images_cached++;
      run->report.images_done++;
    }
  return TRUE;
}

static void
add_issues (JsonBuilder *builder,
            const char  *member,
            GPtrArray   *issues)
{
  json_builder_set_member_name (builder, member);
  json_builder_begin_array (builder);
  for (guint i = 0; i < issues->len; i++)
    {
      PlManifestIssue *issue = issues->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "line");
      json_builder_add_int_value (builder, issue->line);
      if (issue->subject != NULL)
        {
          json_builder_set_member_name (builder, "name");
          json_builder_add_string_value (builder, issue->subject);
        }
      if (issue->count > 1)
        {
          json_builder_set_member_name (builder, "count");
          json_builder_add_int_value (builder, issue->count);
        }
      json_builder_set_member_name (builder, "problem");
      json_builder_add_string_value (builder, issue->problem);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static char *
build_report (Run *run)
{
  PlManifest *manifest = run->manifest;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GPtrArray) images = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_manifest_issue_free);
  guint unreadable = 0;

  for (guint i = 0; i < manifest->pairs->len; i++)
    if (run->image_problem[i] != NULL)
      {
        PlBenchPair *pair = manifest->pairs->pdata[i];
        PlManifestIssue *issue = g_new0 (PlManifestIssue, 1);

        issue->line = pair->line;
        issue->subject = g_strdup (pair->image);
        issue->problem = g_strdup (run->image_problem[i]);
        g_ptr_array_add (images, issue);
        unreadable++;
      }
  json_builder_begin_object (builder);
#define COUNT(name, value) G_STMT_START { json_builder_set_member_name (builder, name); \
    json_builder_add_int_value (builder, value); } G_STMT_END
  COUNT ("records", manifest->n_records);
  COUNT ("bad_records", manifest->bad_records->len);
  COUNT ("missing_images", manifest->missing_images->len);
  COUNT ("undecodable_images", unreadable);
  COUNT ("unresolved_names", manifest->n_unresolved);
  COUNT ("distinct_unresolved_names", manifest->unresolved->len);
  COUNT ("pairs_without_phenotypes", manifest->n_pairs_without_phenotypes);
#undef COUNT
  add_issues (builder, "bad_record_list", manifest->bad_records);
  add_issues (builder, "missing_image_list", manifest->missing_images);
  add_issues (builder, "undecodable_image_list", images);
  add_issues (builder, "unresolved_name_list", manifest->unresolved);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

GPtrArray *
pl_evaluation_describe_report (const PlEvalRun *run)
{
  GPtrArray *lines = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonParser) parser = json_parser_new ();
  const struct { const char *count, *list, *what; } kinds[] = {
    { "bad_records", "bad_record_list", "malformed records left out" },
    { "missing_images", "missing_image_list", "missing or unreadable images left out" },
    { "undecodable_images", "undecodable_image_list", "images that could not be decoded, left out" },
    { "unresolved_names", "unresolved_name_list", "phenotype names or ids matched no phenotype" },
  };
  JsonObject *report;

  if (run->report_json == NULL || !json_parser_load_from_data (parser, run->report_json, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return lines;
  report = json_node_get_object (json_parser_get_root (parser));
  for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      JsonArray *list = json_object_get_array_member (report, kinds[k].list);
      gint64 count = json_object_get_int_member (report, kinds[k].count);
      GString *line;

      if (count == 0 || list == NULL)
        continue;
      line = g_string_new (NULL);
      g_string_append_printf (line, "%" G_GINT64_FORMAT " %s:", count, kinds[k].what);
      for (guint i = 0; i < json_array_get_length (list); i++)
        {
          JsonObject *issue = json_array_get_object_element (list, i);

          if (i == 20)
            {
              g_string_append_printf (line, " ... and %u more", json_array_get_length (list) - 20);
              break;
            }
          g_string_append_printf (line, "%s line %" G_GINT64_FORMAT, i ? ";" : "",
                                  json_object_get_int_member (issue, "line"));
          if (json_object_has_member (issue, "name"))
            g_string_append_printf (line, " '%s'", json_object_get_string_member (issue, "name"));
          if (json_object_has_member (issue, "count"))
            g_string_append_printf (line, " (%" G_GINT64_FORMAT "x)", json_object_get_int_member (issue, "count"));
          if (!json_object_has_member (issue, "name") || strcmp (kinds[k].count, "unresolved_names") != 0)
            g_string_append_printf (line, ": %s", json_object_get_string_member (issue, "problem"));
        }
      g_ptr_array_add (lines, g_string_free (line, FALSE));
    }
  if (json_object_get_int_member (report, "pairs_without_phenotypes") > 0)
    g_ptr_array_add (lines, g_strdup_printf ("%" G_GINT64_FORMAT " pairs have no resolved phenotype"
                                             " (used for image-caption retrieval only)",
                                             json_object_get_int_member (report, "pairs_without_phenotypes")));
  return lines;
}

static void
run_clear (Run *run)
{
  g_clear_pointer (&run->clip, pl_clip_free);
  g_clear_pointer (&run->store, pl_eval_store_free);
  g_clear_pointer (&run->manifest, pl_manifest_free);
  g_clear_pointer (&run->texts, g_ptr_array_unref);
  g_clear_pointer (&run->text_index, g_hash_table_unref);
  g_clear_pointer (&run->text_vectors, g_free);
  g_clear_pointer (&run->caption_text, g_free);
  g_clear_pointer (&run->phenotype_prompts, g_free);
  g_clear_pointer (&run->phenotype_names, g_free);
  g_clear_pointer (&run->image_vectors, g_free);
  g_clear_pointer (&run->image_done, g_free);
  g_clear_pointer (&run->image_problem, g_strfreev);
}

PlEvalRun *
pl_evaluation_run (const PlEvalRequest *request,
                   GCancellable        *cancellable,
                   PlEvalProgressFunc   progress,
                   gpointer             user_data,
                   GError             **error)
{
  Run run = { 0 };
  g_autofree char *workspace = request->workspace_path ? g_strdup (request->workspace_path)
                                                       : pl_evaluation_default_workspace ();
  g_autoptr(PlSnapshot) snapshot = NULL;
  g_autoptr(PlSnapshotInfo) info = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  int saved_threads = pl_clip_get_threads ();
  int cores = (int) g_get_num_processors ();
  /* Decoding takes about 5% of encoding. On two cores a decoder thread would take a whole core
   * from the encoder's threads (pl-parallel.h) for that (measured by tools/pl-bench-eval: 65% slower than
   * decoding inline), so it only pays from three cores on, where it costs the encoder a third or less. */
  gboolean inline_decoding = request->decoding == PL_EVAL_DECODING_INLINE ||
                             (request->decoding == PL_EVAL_DECODING_AUTO && cores <= 2);
  int threads = request->threads > 0 ? request->threads
                : inline_decoding ? cores : MAX (1, cores - 1);
  const char * const *templates = request->templates && request->templates[0] ? request->templates
                                                                              : pl_default_phenotype_templates;
  PlEvalRun *result = NULL;
  guint n_used = 0;

  run.request = request;
  run.inline_decoding = inline_decoding;
  run.cancellable = cancellable;
  run.progress = progress;
  run.user_data = user_data;
  run.start = g_get_monotonic_time ();
  run.report.eta = -1;
  run.texts = g_ptr_array_new_with_free_func (g_free);
  run.text_index = g_hash_table_new (g_str_hash, g_str_equal);
  emit (&run, TRUE, NULL);

  if ((snapshot = pl_snapshot_open (request->snapshot_path, PL_SNAPSHOT_OPEN_READ_ONLY, error)) == NULL
      || (info = pl_snapshot_get_info (snapshot, error)) == NULL
      || (run.manifest = pl_manifest_load (request->manifest_path, snapshot, error)) == NULL
      || (run.store = pl_eval_store_open (workspace, error)) == NULL
      || (run.clip = pl_clip_load (request->checkpoint_path, NULL, NULL, error)) == NULL)
    goto out;
  if (run.manifest->pairs->len == 0)
    {
      g_set_error (error, PL_ERROR, PL_ERROR_INVALID, "%s: no pair with a readable image", request->manifest_path);
      goto out;
    }
  run.dim = pl_clip_get_embed_dim (run.clip);
  pl_clip_set_threads (threads);
  if (!embed_texts (&run, error) || !embed_images (&run, error))
    goto out;

  run.report.phase = PL_EVAL_PHASE_METRICS;
  emit (&run, TRUE, NULL);
  result = g_new0 (PlEvalRun, 1);
  result->metrics = compute_metrics (&run, FALSE, &n_used);
  result->started = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");
  result->duration = elapsed_since (run.start);
  result->checkpoint_path = g_strdup (request->checkpoint_path);
  result->checkpoint_fingerprint = g_strdup (pl_clip_get_fingerprint (run.clip));
  result->demo = pl_clip_is_demo (run.clip);
  result->snapshot_path = g_strdup (request->snapshot_path);
  result->snapshot_source_sha256 = g_strdup (info->source_sha256);
  result->snapshot_version = g_strdup (info->version_date ? info->version_date : info->data_version);
  result->manifest_path = g_strdup (request->manifest_path);
  result->manifest_sha256 = g_strdup (run.manifest->sha256);
  result->templates = g_strdupv ((char **) templates);
  result->n_records = run.manifest->n_records;
  result->n_pairs = n_used;
  result->n_phenotypes = run.manifest->phenotype_ids->len;
  result->images_encoded = run.report.images_encoded;
  result->images_cached = run.report.images_cached;
  result->texts_encoded = run.texts_encoded;
  result->texts_cached = run.texts_cached;
  result->threads = threads;
  result->report_json = build_report (&run);
  if (!pl_eval_store_add_run (run.store, result, error))
    g_clear_pointer (&result, pl_eval_run_free);

out:
  pl_clip_set_threads (saved_threads);
  run_clear (&run);
  return result;
}

/* ---- the evaluator: one worker thread, a queue of runs --------------------------------------- */

struct _PlEvaluator {
  GObject      parent_instance;
  GAsyncQueue *jobs;
  GThread     *thread;
  guint        n_pending;   /* atomic */
};

G_DEFINE_FINAL_TYPE (PlEvaluator, pl_evaluator, G_TYPE_OBJECT)

typedef struct {
  GTask              *task;    /* NULL: the sentinel that ends the worker */
  PlEvalRequest       request;
  char               *manifest, *checkpoint, *snapshot, *workspace;
  char              **templates;
  PlEvalProgressFunc  progress;
  gpointer            progress_data;
  GDestroyNotify      progress_data_free;
  GMainContext       *context;
} Job;

static void
job_free (Job *job)
{
  g_free (job->manifest);
  g_free (job->checkpoint);
  g_free (job->snapshot);
  g_free (job->workspace);
  g_strfreev (job->templates);
  if (job->progress_data_free != NULL)
    job->progress_data_free (job->progress_data);
  g_clear_pointer (&job->context, g_main_context_unref);
  g_free (job);
}

typedef struct {
  Job             *job;
  GTask           *task;      /* keeps JOB alive until the call is delivered */
  PlEvalProgress   progress;
  PlBenchMetrics  *partial;
} ProgressCall;

static gboolean
deliver_progress (gpointer data)
{
  ProgressCall *call = data;

  call->progress.partial = call->partial;
  call->job->progress (&call->progress, call->job->progress_data);
  return G_SOURCE_REMOVE;
}

static void
progress_call_free (gpointer data)
{
  ProgressCall *call = data;

  pl_bench_metrics_free (call->partial);
  g_object_unref (call->task);
  g_free (call);
}

static PlBenchMetrics *
metrics_copy (const PlBenchMetrics *metrics)
{
  PlBenchMetrics *copy = g_new0 (PlBenchMetrics, 1);

  copy->partial = metrics->partial;
  copy->overall = g_memdup2 (metrics->overall, sizeof (PlBenchScores));
  copy->systems = g_ptr_array_new_with_free_func ((GDestroyNotify) pl_bench_scores_free);
  for (guint i = 0; i < metrics->systems->len; i++)
    {
      PlBenchScores *s = g_memdup2 (metrics->systems->pdata[i], sizeof (PlBenchScores));

      s->system_id = g_strdup (s->system_id);
      s->system_label = g_strdup (s->system_label);
      g_ptr_array_add (copy->systems, s);
    }
  return copy;
}

/* Called in the worker: hands a copy of the report to the caller's main context. */
static void
forward_progress (const PlEvalProgress *progress,
                  gpointer              user_data)
{
  Job *job = user_data;
  ProgressCall *call = g_new0 (ProgressCall, 1);

  call->job = job;
  call->task = g_object_ref (job->task);
  call->progress = *progress;
  call->partial = progress->partial ? metrics_copy (progress->partial) : NULL;
  /* The job outlives every call: GTask's completion is queued on the same context after them. */
  g_main_context_invoke_full (job->context, G_PRIORITY_DEFAULT, deliver_progress, call, progress_call_free);
}

static gpointer
worker_thread (gpointer data)
{
  GAsyncQueue *jobs = data;

  for (;;)
    {
      Job *job = g_async_queue_pop (jobs);
      PlEvaluator *self;
      GError *error = NULL;
      PlEvalRun *run;

      if (job->task == NULL)
        {
          job_free (job);
          break;
        }
      self = g_task_get_source_object (job->task);
      run = pl_evaluation_run (&job->request, g_task_get_cancellable (job->task),
                               job->progress ? forward_progress : NULL, job, &error);
      g_atomic_int_dec_and_test (&self->n_pending);
      if (run != NULL)
        g_task_return_pointer (job->task, run, (GDestroyNotify) pl_eval_run_free);
      else
        g_task_return_error (job->task, error);
      g_object_unref (job->task);   /* the job itself is freed with the task's data */
    }
  g_async_queue_unref (jobs);
  return NULL;
}

static void
pl_evaluator_finalize (GObject *object)
{
  PlEvaluator *self = PL_EVALUATOR (object);

  if (self->thread != NULL)
    {
      g_async_queue_push (self->jobs, g_new0 (Job, 1));
      /* The last reference can go with a task the worker itself releases: it then ends on its own. */
      if (g_thread_self () == self->thread)
        g_thread_unref (self->thread);
      else
        g_thread_join (self->thread);
    }
  g_async_queue_unref (self->jobs);
  G_OBJECT_CLASS (pl_evaluator_parent_class)->finalize (object);
}

static void
pl_evaluator_class_init (PlEvaluatorClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pl_evaluator_finalize;
}

static void
pl_evaluator_init (PlEvaluator *self)
{
  self->jobs = g_async_queue_new ();
}

PlEvaluator *
pl_evaluator_new (void)
{
  return g_object_new (PL_TYPE_EVALUATOR, NULL);
}

guint
pl_evaluator_get_n_pending (PlEvaluator *self)
{
  return (guint) g_atomic_int_get (&self->n_pending);
}

void
pl_evaluator_run_async (PlEvaluator         *self,
                        const PlEvalRequest *request,
                        GCancellable        *cancellable,
                        PlEvalProgressFunc   progress,
                        gpointer             progress_data,
                        GDestroyNotify       progress_data_free,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  Job *job = g_new0 (Job, 1);

  g_return_if_fail (PL_IS_EVALUATOR (self));
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, pl_evaluator_run_async);
  /* Every run reports cancellation itself (embeddings done so far are kept). */
  g_task_set_check_cancellable (job->task, FALSE);
  job->request = *request;
  job->request.manifest_path = job->manifest = g_strdup (request->manifest_path);
  job->request.checkpoint_path = job->checkpoint = g_strdup (request->checkpoint_path);
  job->request.snapshot_path = job->snapshot = g_strdup (request->snapshot_path);
  job->request.workspace_path = job->workspace = g_strdup (request->workspace_path);
  job->templates = g_strdupv ((char **) request->templates);
  job->request.templates = (const char * const *) job->templates;
  job->progress = progress;
  job->progress_data = progress_data;
  job->progress_data_free = progress_data_free;
  job->context = g_main_context_ref_thread_default ();
  g_task_set_task_data (job->task, job, (GDestroyNotify) job_free);
  g_object_ref (job->task);   /* the worker's reference */
  g_atomic_int_inc (&self->n_pending);
  if (self->thread == NULL)
    self->thread = g_thread_new ("pl-evaluator", worker_thread, g_async_queue_ref (self->jobs));
  g_async_queue_push (self->jobs, job);
  g_object_unref (job->task);   /* the caller keeps none; the worker's reference holds it */
}

PlEvalRun *
pl_evaluator_run_finish (PlEvaluator   *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
