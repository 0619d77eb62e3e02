/* pl-bench-eval.c: speed of PhenoBench evaluations: (a) a run's image throughput on a full-size
 * checkpoint against the raw encoder (pl_clip_load_image + pl_clip_encode_images) on the same files
 * in the same process, for both worker designs; (b) a repeated run over a 7,817-pair manifest whose
 * embeddings are all cached. Writes the figures as JSON for tools/bench.sh to print. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/pl-evaluation.h"
#include "data/pl-snapshot.h"
#include "model/pl-clip.h"

/* ---- synthetic images: the real files with distinct bytes ----------------------------------- */

static guint32 crc_table[256];

static void
crc_init (void)
{
  for (guint32 n = 0; n < 256; n++)
    {
      guint32 c = n;

      for (int k = 0; k < 8; k++)
        c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc_table[n] = c;
    }
}

/* PNG's CRC-32 (ISO 3309) over the chunk type and data. */
static guint32
crc32_png (const guint8 *data,
           gsize         length)
{
  guint32 c = 0xffffffffu;

  for (gsize i = 0; i < length; i++)
    c = crc_table[(c ^ data[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

static void
put_be32 (GByteArray *out,
          guint32     v)
{
  guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };

  g_byte_array_append (out, b, 4);
}

typedef enum { SOURCE_PNG, SOURCE_JPEG } SourceKind;

typedef struct {
  char       *path;
  SourceKind  kind;
  GBytes     *bytes;
} Source;

static void
source_free (Source *source)
{
  g_free (source->path);
  g_bytes_unref (source->bytes);
  g_free (source);
}

/* The same image with a note saying which variant it is: a tEXt chunk after IHDR (PNG) or a COM
 * segment after SOI (JPEG). Decoders skip both, so the pixels are the source's and only the
 * content hash differs. */
static GByteArray *
make_variant (const Source *source,
              guint         index)
{
  gsize length;
  const guint8 *data = g_bytes_get_data (source->bytes, &length);
  g_autofree char *note = g_strdup_printf ("phenolip-bench variant %u", index);
  gsize note_length = strlen (note);
  GByteArray *out = g_byte_array_sized_new (length + note_length + 32);

  if (source->kind == SOURCE_PNG)
    {
      /* Signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC). */
      const gsize after_ihdr = 8 + 25;
      g_autoptr(GByteArray) chunk = g_byte_array_new ();

      g_byte_array_append (out, data, after_ihdr);
      g_byte_array_append (chunk, (const guint8 *) "tEXt", 4);
      g_byte_array_append (chunk, (const guint8 *) "Comment", 8);   /* keyword + NUL */
      g_byte_array_append (chunk, (const guint8 *) note, note_length);
      put_be32 (out, chunk->len - 4);
      g_byte_array_append (out, chunk->data, chunk->len);
      put_be32 (out, crc32_png (chunk->data, chunk->len));
      g_byte_array_append (out, data + after_ihdr, length - after_ihdr);
    }
  else
    {
      guint8 com[4] = { 0xff, 0xfe, (note_length + 2) >> 8, (note_length + 2) & 0xff };

      g_byte_array_append (out, data, 2);   /* SOI */
      g_byte_array_append (out, com, 4);
      g_byte_array_append (out, (const guint8 *) note, note_length);
      g_byte_array_append (out, data + 2, length - 2);
    }
  return out;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The PNG and JPEG files of DIR (by content, not by name), sorted by name. */
static GPtrArray *
list_sources (const char  *dir,
              GError     **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  GPtrArray *sources = g_ptr_array_new_with_free_func ((GDestroyNotify) source_free);
  const char *name;

  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      g_autofree char *contents = NULL;
      const guint8 *p;
      gsize length;
      Source *source;

      if (!g_file_get_contents (path, &contents, &length, NULL) || length < 40)
        continue;
      p = (const guint8 *) contents;
      source = g_new0 (Source, 1);
      if (memcmp (p, "\x89PNG\r\n\x1a\n", 8) == 0 && memcmp (p + 12, "IHDR", 4) == 0
          && p[8] == 0 && p[9] == 0 && p[10] == 0 && p[11] == 13)
        source->kind = SOURCE_PNG;
      else if (p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
        source->kind = SOURCE_JPEG;
      else
        {
          g_free (source);
          continue;
        }
      source->path = g_steal_pointer (&path);
      source->bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
      g_ptr_array_add (sources, source);
    }
  if (sources->len == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s: no PNG or JPEG image", dir);
      g_clear_pointer (&sources, g_ptr_array_unref);
    }
  return sources;
}

/* DIR/vNNNNN.png|jpg for I < N, cycling through the sources; files already there are kept (they
 * are written atomically, so one that exists is whole). Returns the paths. */
static GPtrArray *
write_variants (GPtrArray   *sources,
                const char  *dir,
                guint        n,
                GError     **error)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: cannot create the folder", dir);
      return NULL;
    }
  for (guint i = 0; i < n; i++)
    {
      const Source *source = sources->pdata[i % sources->len];
      g_autofree char *name = g_strdup_printf ("v%05u.%s", i, source->kind == SOURCE_PNG ? "png" : "jpg");
      char *path = g_build_filename (dir, name, NULL);

      g_ptr_array_add (paths, path);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_autoptr(GByteArray) bytes = make_variant (source, i);

          if (!g_file_set_contents (path, (const char *) bytes->data, bytes->len, error))
            return NULL;
        }
    }
  return g_steal_pointer (&paths);
}

/* ---- manifests ------------------------------------------------------------------------------- */

/* Up to MAX labels of live phenotypes under HP:0000118, evenly spread over the list (by depth, then
 * label), leaving out those with quotes or backslashes (the manifest's Python literals). */
static GPtrArray *
pick_labels (const char  *snapshot_path,
             guint        max,
             GError     **error)
{
  g_autoptr(PlSnapshot) snapshot = pl_snapshot_open (snapshot_path, PL_SNAPSHOT_OPEN_READ_ONLY, error);
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) usable = g_ptr_array_new ();
  GPtrArray *labels = g_ptr_array_new_with_free_func (g_free);
  guint total = 0;

  if (snapshot == NULL
      || (all = pl_snapshot_list_subtree (snapshot, "HP:0000118", 0, G_MAXINT, &total, error)) == NULL)
    {
      g_ptr_array_unref (labels);
      return NULL;
    }
  for (guint i = 0; i < all->len; i++)
    {
      const PlTermRef *ref = all->pdata[i];

      if (ref->label != NULL && *ref->label != '\0' && strpbrk (ref->label, "'\"\\") == NULL)
        g_ptr_array_add (usable, ref->label);
    }
  for (guint k = 0; k < MIN (max, usable->len); k++)
    g_ptr_array_add (labels, g_strdup (usable->pdata[(gsize) k * usable->len / MIN (max, usable->len)]));
  if (labels->len == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: no phenotype under HP:0000118", snapshot_path);
      g_clear_pointer (&labels, g_ptr_array_unref);
    }
  return labels;
}

/* A PhenoBench CSV at PATH: one pair per image (paths relative to the manifest), a distinct caption
 * and one to three phenotype names from LABELS for each. */
static gboolean
write_manifest (const char  *path,
                GPtrArray   *images,
                GPtrArray   *labels,
                guint32      seed,
                GError     **error)
{
  g_autoptr(GString) csv = g_string_new ("image_path,caption,full_matches\n");
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autofree char *dir = g_path_get_dirname (path);

  for (guint i = 0; i < images->len; i++)
    {
      g_autoptr(GFile) base = g_file_new_for_path (dir);
      g_autoptr(GFile) file = g_file_new_for_path (images->pdata[i]);
      g_autofree char *relative = g_file_get_relative_path (base, file);
      guint n = g_rand_int_range (rand, 1, 4);
      g_autoptr(GString) caption = g_string_new (NULL);
      g_autoptr(GString) matches = g_string_new ("[");

      for (guint k = 0; k < n; k++)
        {
          const char *label = labels->pdata[g_rand_int_range (rand, 0, labels->len)];

          g_string_append_printf (caption, "%s%s", k ? (k + 1 == n ? " and " : ", ") : "", label);
          g_string_append_printf (matches, "%s('%s', 0, %u)", k ? ", " : "", label, (guint) strlen (label));
        }
      g_string_append_c (matches, ']');
      /* CSV quoting: double the quotes inside a quoted field. */
      g_string_replace (caption, "\"", "\"\"", 0);
      g_string_append_printf (csv, "%s,\"Case %u: %s.\",\"%s\"\n", relative ? relative : (char *) images->pdata[i],
                              i + 1, caption->str, matches->str);
    }
  return g_file_set_contents (path, csv->str, csv->len, error);
}

/* ---- timing ---------------------------------------------------------------------------------- */

typedef struct {
  gint64 start;
  gint64 phase_start[PL_EVAL_PHASE_METRICS + 1];
} Phases;

static void
on_progress (const PlEvalProgress *progress,
             gpointer              user_data)
{
  Phases *phases = user_data;

  if (phases->phase_start[progress->phase] == 0)
    phases->phase_start[progress->phase] = g_get_monotonic_time ();
}

static void
remove_workspace (const char *path)
{
  const char *suffixes[] = { "", "-wal", "-shm", "-journal" };

  for (gsize i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *p = g_strconcat (path, suffixes[i], NULL);

      g_remove (p);
    }
}

/* One evaluation run; its seconds per phase into the builder under NAME. */
static PlEvalRun *
timed_run (const PlEvalRequest *request,
           JsonBuilder         *b,
           const char          *name,
           double              *total,
           double              *images_to_end)
{
  Phases phases = { 0 };
  g_autoptr(GError) error = NULL;
  PlEvalRun *run;
  gint64 end;

  phases.start = g_get_monotonic_time ();
  run = pl_evaluation_run (request, NULL, on_progress, &phases, &error);
  end = g_get_monotonic_time ();
  if (run == NULL)
    {
      fprintf (stderr, "pl-bench-eval: %s\n", error->message);
      exit (1);
    }
  *total = (end - phases.start) / 1e6;
  *images_to_end = phases.phase_start[PL_EVAL_PHASE_IMAGES]
                   ? (end - phases.phase_start[PL_EVAL_PHASE_IMAGES]) / 1e6 : *total;
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "seconds");
  json_builder_add_double_value (b, *total);
  json_builder_set_member_name (b, "loading_and_texts_seconds");
  json_builder_add_double_value (b, *total - *images_to_end);
  json_builder_set_member_name (b, "images_to_end_seconds");
  json_builder_add_double_value (b, *images_to_end);
  json_builder_set_member_name (b, "metrics_seconds");
  json_builder_add_double_value (b, phases.phase_start[PL_EVAL_PHASE_METRICS]
                                    ? (end - phases.phase_start[PL_EVAL_PHASE_METRICS]) / 1e6 : 0);
  json_builder_set_member_name (b, "encoder_threads");
  json_builder_add_int_value (b, run->threads);
  json_builder_set_member_name (b, "decoder_thread");
  json_builder_add_boolean_value (b, request->decoding != PL_EVAL_DECODING_INLINE);
  json_builder_set_member_name (b, "pairs");
  json_builder_add_int_value (b, run->n_pairs);
  json_builder_set_member_name (b, "phenotypes");
  json_builder_add_int_value (b, run->n_phenotypes);
  json_builder_set_member_name (b, "images_encoded");
  json_builder_add_int_value (b, run->images_encoded);
  json_builder_set_member_name (b, "images_cached");
  json_builder_add_int_value (b, run->images_cached);
  json_builder_set_member_name (b, "texts_encoded");
  json_builder_add_int_value (b, run->texts_encoded);
  json_builder_set_member_name (b, "texts_cached");
  json_builder_add_int_value (b, run->texts_cached);
  json_builder_set_member_name (b, "i2t_r10");
  json_builder_add_double_value (b, run->metrics->overall->i2t.r10);
  json_builder_end_object (b);
  fprintf (stderr, "  %-34s %7.2f s (images to end %.2f s; %u images encoded, %u cached; %u texts encoded)\n",
           name, *total, *images_to_end, run->images_encoded, run->images_cached, run->texts_encoded);
  return run;
}

/* The one-minute load average (other processes competing for the cores), or -1. */
static double
load_average (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return -1;
  return g_ascii_strtod (text, NULL);
}

/* The raw encoder over PATHS: decode a batch inline, encode it, all cores. Seconds. */
static double
time_raw_encoder (const char *checkpoint,
                  GPtrArray  *paths,
                  int         batch)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;
  g_autofree float *pixels = NULL;
  g_autofree float *out = NULL;
  int saved = pl_clip_get_threads ();
  gsize image_floats;
  gint64 t0;
  double seconds;

  pl_clip_set_threads ((int) g_get_num_processors ());
  if ((clip = pl_clip_load (checkpoint, NULL, NULL, &error)) == NULL)
    {
      fprintf (stderr, "pl-bench-eval: %s\n", error->message);
      exit (3);
    }
  image_floats = (gsize) 3 * pl_clip_get_vit_config (clip)->image_size * pl_clip_get_vit_config (clip)->image_size;
  pixels = g_new (float, image_floats * batch);
  out = g_new (float, (gsize) batch * pl_clip_get_embed_dim (clip));
  t0 = g_get_monotonic_time ();
  for (guint start = 0; start < paths->len; start += batch)
    {
      int n = MIN ((guint) batch, paths->len - start);

      for (int k = 0; k < n; k++)
        if (!pl_clip_load_image (clip, paths->pdata[start + k], pixels + image_floats * k, &error))
          {
            fprintf (stderr, "pl-bench-eval: %s\n", error->message);
            exit (1);
          }
      pl_clip_encode_images (clip, pixels, n, out);
    }
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  pl_clip_set_threads (saved);
  return seconds;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("MODEL TINY_MODEL SNAPSHOT IMAGES_DIR WORK_DIR OUT.json"
                                                            " - time PhenoBench evaluations");
  int n_images = 64, n_pairs = 7817, n_labels = 1500, rounds = 1;
  gboolean skip_full = FALSE;
  GOptionEntry entries[] = {
    { "images", 0, 0, G_OPTION_ARG_INT, &n_images, "Distinct images of the throughput part (default 64)", "N" },
    { "pairs", 0, 0, G_OPTION_ARG_INT, &n_pairs, "Pairs of the cached-run manifest (default 7817)", "N" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Rounds of the throughput part (default 1)", "N" },
    { "labels", 0, 0, G_OPTION_ARG_INT, &n_labels, "Phenotype names to draw from (default 1500)", "N" },
    { "skip-full", 0, 0, G_OPTION_ARG_NONE, &skip_full, "Leave out the full-size checkpoint part", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) sources = NULL;
  g_autoptr(GPtrArray) images = NULL;
  g_autoptr(GPtrArray) labels = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *image_dir = NULL;
  const char *model, *tiny, *snapshot, *work, *out_path;
  const int batch = PL_EVAL_DEFAULT_BATCH;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 7 || n_images < 1 || n_pairs < n_images
      || n_labels < 1 || rounds < 1)
    {
      fprintf (stderr, "usage: pl-bench-eval MODEL TINY_MODEL SNAPSHOT IMAGES_DIR WORK_DIR OUT.json"
                       " [--images N] [--rounds N] [--pairs N] [--labels N] [--skip-full]\n");
      return 2;
    }
  model = argv[1];
  tiny = argv[2];
  snapshot = argv[3];
  work = argv[5];
  out_path = argv[6];
  crc_init ();
  image_dir = g_build_filename (work, "eval-images", NULL);
  if ((sources = list_sources (argv[4], &error)) == NULL
      || (images = write_variants (sources, image_dir, n_pairs, &error)) == NULL
      || (labels = pick_labels (snapshot, n_labels, &error)) == NULL)
    {
      fprintf (stderr, "pl-bench-eval: %s\n", error->message);
      return 1;
    }
  fprintf (stderr, "  %u images in %s: variants of %u PNG/JPEG files of %s; %u phenotype names from %s\n",
           images->len, image_dir, sources->len, argv[4], labels->len, snapshot);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "cores");
  json_builder_add_int_value (b, g_get_num_processors ());
  json_builder_set_member_name (b, "sources");
  json_builder_add_int_value (b, sources->len);
  json_builder_set_member_name (b, "labels");
  json_builder_add_int_value (b, labels->len);

  /* (a) Throughput on the full-size checkpoint: N distinct images, few phenotypes (the texts are
   * timed apart: the comparison is about the images). */
  if (!skip_full)
    {
      g_autoptr(GPtrArray) subset = g_ptr_array_new ();
      g_autoptr(GPtrArray) few = g_ptr_array_new ();
      g_autofree char *manifest = g_build_filename (work, "eval-throughput.csv", NULL);
      g_autofree char *workspace = g_build_filename (work, "eval-throughput.sqlite", NULL);
      PlEvalRequest request = { 0 };
      double raw, total, images_to_end;

      for (int i = 0; i < n_images; i++)
        g_ptr_array_add (subset, images->pdata[i]);
      for (guint i = 0; i < MIN (16, labels->len); i++)
        g_ptr_array_add (few, labels->pdata[(gsize) i * labels->len / MIN (16, labels->len)]);
      if (!write_manifest (manifest, subset, few, 1, &error))
        {
          fprintf (stderr, "pl-bench-eval: %s\n", error->message);
          return 1;
        }
      json_builder_set_member_name (b, "throughput");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, n_images);
      json_builder_set_member_name (b, "batch");
      json_builder_add_int_value (b, batch);

      request.manifest_path = manifest;
      request.checkpoint_path = model;
      request.snapshot_path = snapshot;
      request.workspace_path = workspace;
      request.batch_size = batch;
      /* Rounds of the three, interleaved, so that a load that comes and goes (other processes on
       * the machine) hits each alike; the report takes each one's best round. */
      json_builder_set_member_name (b, "rounds");
      json_builder_begin_array (b);
      for (int r = 0; r < rounds; r++)
        {
          g_autoptr(PlEvalRun) decoder_run = NULL;
          g_autoptr(PlEvalRun) inline_run = NULL;
          g_autoptr(PlEvalRun) oversubscribed_run = NULL;

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "load_average");
          json_builder_add_double_value (b, load_average ());
          raw = time_raw_encoder (model, subset, batch);
          fprintf (stderr, "  %-34s %7.2f s\n", "raw encoder, all cores", raw);
          json_builder_set_member_name (b, "raw_seconds");
          json_builder_add_double_value (b, raw);
          request.decoding = PL_EVAL_DECODING_THREAD;
          remove_workspace (workspace);
          decoder_run = timed_run (&request, b, "decoder_thread", &total, &images_to_end);
          request.decoding = PL_EVAL_DECODING_INLINE;
          remove_workspace (workspace);
          inline_run = timed_run (&request, b, "inline_decoding", &total, &images_to_end);
          remove_workspace (workspace);
          /* Not a default, but the request allows it: the decoder thread beside as many encoder
           * threads as cores (the decoder sleeps most of the time). */
          request.decoding = PL_EVAL_DECODING_THREAD;
          request.threads = (int) g_get_num_processors ();
          oversubscribed_run = timed_run (&request, b, "decoder_thread_all_cores", &total, &images_to_end);
          request.threads = 0;
          remove_workspace (workspace);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "raw_threads");
      json_builder_add_int_value (b, g_get_num_processors ());
      json_builder_end_object (b);
    }

  /* (b) The whole manifest on the tiny checkpoint, twice: the second run finds every embedding in
   * the workspace and every file's hash in its memo. */
  {
    g_autofree char *manifest = g_build_filename (work, "eval-cached.csv", NULL);
    g_autofree char *workspace = g_build_filename (work, "eval-cached.sqlite", NULL);
    PlEvalRequest request = { 0 };
    double first, second, images_to_end;
    g_autoptr(PlEvalRun) run1 = NULL;
    g_autoptr(PlEvalRun) run2 = NULL;

    if (!write_manifest (manifest, images, labels, 2, &error))
      {
        fprintf (stderr, "pl-bench-eval: %s\n", error->message);
        return 1;
      }
    request.manifest_path = manifest;
    request.checkpoint_path = tiny;
    request.snapshot_path = snapshot;
    request.workspace_path = workspace;
    remove_workspace (workspace);
    json_builder_set_member_name (b, "cached");
    json_builder_begin_object (b);
    run1 = timed_run (&request, b, "first_run", &first, &images_to_end);
    run2 = timed_run (&request, b, "second_run", &second, &images_to_end);
    json_builder_set_member_name (b, "same_metrics");
    json_builder_add_boolean_value (b, run1->metrics->overall->i2t.r10 == run2->metrics->overall->i2t.r10
                                       && run1->metrics->overall->top1 == run2->metrics->overall->top1
                                       && run1->metrics->overall->p2i.median_rank == run2->metrics->overall->p2i.median_rank);
    json_builder_end_object (b);
    remove_workspace (workspace);
  }
  json_builder_end_object (b);
  {
    g_autoptr(JsonGenerator) gen = json_generator_new ();
    g_autoptr(JsonNode) root = json_builder_get_root (b);

    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    if (!json_generator_to_file (gen, out_path, &error))
      {
        fprintf (stderr, "pl-bench-eval: %s\n", error->message);
        return 1;
      }
  }
  return 0;
}
