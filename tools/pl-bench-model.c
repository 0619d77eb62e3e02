/* pl-bench-model.c: times this engine on a checkpoint (image encoding at batch 1 and 8, text encoding
 * of short and long phenotype labels) and a plain OpenBLAS sgemm in the same process, and writes the
 * medians and the embeddings as JSON for tools/bench-report.py to compare with PyTorch's. */
#include <cblas.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/pl-clip.h"

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (double *values,
        int     n)
{
  qsort (values, n, sizeof *values, compare_doubles);
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

static void
add_embeddings (JsonBuilder *b,
                const char  *member,
                const float *x,
                int          n,
                int          dim)
{
  json_builder_set_member_name (b, member);
  json_builder_begin_array (b);
  for (int i = 0; i < n; i++)
    {
      json_builder_begin_array (b);
      for (int k = 0; k < dim; k++)
        json_builder_add_double_value (b, x[(gsize) i * dim + k]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
}

/* Median milliseconds of REPEATS calls of the sgemm C[m,n] = A[m,k] B[n,k]^T, the product of a
 * linear layer, as one plain OpenBLAS call with OpenBLAS's own threads on all the cores the
 * engine uses (the engine's pool keeps OpenBLAS single-threaded; it is restored after);
 * GFLOP/s into *GFLOPS. */
static double
time_sgemm (int     m,
            int     n,
            int     k,
            int     repeats,
            double *gflops)
{
  g_autofree float *a = g_new (float, (gsize) m * k);
  g_autofree float *bm = g_new (float, (gsize) n * k);
  g_autofree float *c = g_new (float, (gsize) m * n);
  g_autofree double *t = g_new (double, repeats);
  double ms;

  for (gsize i = 0; i < (gsize) m * k; i++)
    a[i] = (float) ((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  for (gsize i = 0; i < (gsize) n * k; i++)
    bm[i] = (float) ((i * 40503u) % 1000) / 1000.0f - 0.5f;
  openblas_set_num_threads (pl_clip_get_threads ());
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, bm, k, 0.0f, c, n);
  for (int r = 0; r < repeats; r++)
    {
      gint64 t0 = g_get_monotonic_time ();

      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k, bm, k, 0.0f, c, n);
      t[r] = (g_get_monotonic_time () - t0) / 1000.0;
    }
  openblas_set_num_threads (1);
  ms = median (t, repeats);
  *gflops = 2.0 * m * n * k / (ms * 1e6);
  return ms;
}

/* --serve: tools/bench-interleaved.py alternates single encodings of this engine and of PyTorch,
 * so that both see the same background load. */
static int
serve_images (const PlClip *clip,
              const float  *pixels,
              int           batch,
              float        *out)
{
  char line[64];

  pl_clip_encode_images (clip, pixels, 1, out);  /* warm-up: page in the weights */
  printf ("ready\n");
  fflush (stdout);
  while (fgets (line, sizeof line, stdin) != NULL)
    {
      int n = g_str_has_prefix (line, "image_b8") ? batch : g_str_has_prefix (line, "image_b1") ? 1 : 0;
      gint64 t0;

      if (n == 0)
        {
          fprintf (stderr, "pl-bench-model: unknown case %s", line);
          return 2;
        }
      t0 = g_get_monotonic_time ();
      pl_clip_encode_images (clip, pixels, n, out);
      printf ("%.3f\n", (g_get_monotonic_time () - t0) / 1000.0);
      fflush (stdout);
    }
  return 0;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("CHECKPOINT IMAGE... - time the engine");
  g_autofree char *texts_file = NULL;
  g_autofree char *out_path = NULL;
  int repeats = 10, threads = 0;
  gboolean serve = FALSE;
  GOptionEntry entries[] = {
    { "texts", 0, 0, G_OPTION_ARG_FILENAME, &texts_file, "JSON file {\"short\": [...], \"long\": [...]}", "FILE" },
    { "repeats", 'r', 0, G_OPTION_ARG_INT, &repeats, "Timed repetitions per measurement (default 10)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "Model threads: the pool of pl-parallel.h, OpenBLAS single-threaded in each (default: all cores)", "N" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Write figures and embeddings here (JSON)", "FILE" },
    { "serve", 0, 0, G_OPTION_ARG_NONE, &serve,
      "Print 'ready', then encode once per line of standard input (image_b1, image_b8) and print the ms", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(PlClip) clip = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonParser) texts_parser = json_parser_new ();
  g_autofree float *pixels = NULL;
  g_autofree float *out = NULL;
  g_autofree double *t = NULL;
  int size, dim, n_images;
  const int batch = 8;
  gsize image_floats;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc < 3 || texts_file == NULL || repeats < 1)
    {
      fprintf (stderr, "usage: pl-bench-model CHECKPOINT IMAGE... --texts FILE [--repeats N] [--out FILE]\n");
      return 2;
    }
  pl_clip_set_threads (threads > 0 ? threads : (int) g_get_num_processors ());
  if ((clip = pl_clip_load (argv[1], NULL, NULL, &error)) == NULL)
    {
      fprintf (stderr, "pl-bench-model: %s\n", error->message);
      return 3;
    }
  if (!json_parser_load_from_file (texts_parser, texts_file, &error))
    {
      fprintf (stderr, "pl-bench-model: %s: %s\n", texts_file, error->message);
      return 1;
    }
  size = pl_clip_get_vit_config (clip)->image_size;
  dim = pl_clip_get_embed_dim (clip);
  image_floats = (gsize) 3 * size * size;
  n_images = argc - 2;
  pixels = g_new (float, image_floats * MAX (batch, n_images));
  out = g_new (float, (gsize) dim * MAX (batch, 64));
  t = g_new (double, repeats);

  /* A batch of 8 cycles through the given images. */
  for (int i = 0; i < MAX (batch, n_images); i++)
    if (!pl_clip_load_image (clip, argv[2 + i % n_images], pixels + image_floats * i, &error))
      {
        fprintf (stderr, "pl-bench-model: %s\n", error->message);
        return 1;
      }

  if (serve)
    return serve_images (clip, pixels, batch, out);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, pl_clip_get_threads ());
  json_builder_set_member_name (b, "repeats");
  json_builder_add_int_value (b, repeats);
  json_builder_set_member_name (b, "vit_gflop_per_image");
  json_builder_add_double_value (b, pl_vit_flops_per_image (pl_clip_get_vit_config (clip)) / 1e9);

  for (int pass = 0; pass < 2; pass++)
    {
      int n = pass == 0 ? 1 : batch;
      const char *name = pass == 0 ? "image_b1_ms" : "image_b8_ms";

      pl_clip_encode_images (clip, pixels, n, out); /* warm-up: page in the weights */
      for (int r = 0; r < repeats; r++)
        {
          gint64 t0 = g_get_monotonic_time ();

          pl_clip_encode_images (clip, pixels, n, out);
          t[r] = (g_get_monotonic_time () - t0) / 1000.0;
        }
      json_builder_set_member_name (b, name);
      json_builder_add_double_value (b, median (t, repeats));
      if (pass == 1)
        add_embeddings (b, "image_embeddings", out, n, dim);
    }

  {
    JsonObject *root = json_node_get_object (json_parser_get_root (texts_parser));
    const char *sets[] = { "short", "long" };

    for (int s = 0; s < 2; s++)
      {
        JsonArray *array = json_object_get_array_member (root, sets[s]);
        int n = (int) MIN (json_array_get_length (array), 64);
        g_autofree const char **texts = g_new (const char *, n);
        g_autofree char *member = NULL;
        g_autofree int32_t *ids = g_new (int32_t, pl_clip_get_context_length (clip));
        long total_tokens = 0;

        for (int i = 0; i < n; i++)
          {
            texts[i] = json_array_get_string_element (array, i);
            total_tokens += pl_clip_tokenize (clip, texts[i], ids);
          }
        member = g_strdup_printf ("text_%s_mean_tokens", sets[s]);
        json_builder_set_member_name (b, member);
        json_builder_add_double_value (b, (double) total_tokens / n);

        for (int pass = 0; pass < 2; pass++)
          {
            int count = pass == 0 ? 1 : n;

            pl_clip_encode_texts (clip, texts, count, out);
            for (int r = 0; r < repeats; r++)
              {
                gint64 t0 = g_get_monotonic_time ();

                pl_clip_encode_texts (clip, texts, count, out);
                t[r] = (g_get_monotonic_time () - t0) / 1000.0;
              }
            g_free (member);
            member = pass == 0 ? g_strdup_printf ("text_%s_b1_ms", sets[s])
                               : g_strdup_printf ("text_%s_batch_ms", sets[s]);
            json_builder_set_member_name (b, member);
            json_builder_add_double_value (b, median (t, repeats));
          }
        g_free (member);
        member = g_strdup_printf ("text_%s_batch_size", sets[s]);
        json_builder_set_member_name (b, member);
        json_builder_add_int_value (b, n);
        g_free (member);
        member = g_strdup_printf ("text_%s_embeddings", sets[s]);
        add_embeddings (b, member, out, n, dim);
      }
  }

  {
    const PlVitConfig *vit = pl_clip_get_vit_config (clip);
    int tokens = (size / vit->patch_size) * (size / vit->patch_size) + 1;
    double gflops_b1, gflops_b8;

    /* The shape of the ViT's first MLP layer, the largest GEMM of the image tower. */
    json_builder_set_member_name (b, "sgemm_b1_ms");
    json_builder_add_double_value (b, time_sgemm (tokens, vit->mlp_dim, vit->width, repeats * 5, &gflops_b1));
    json_builder_set_member_name (b, "sgemm_b1_gflops");
    json_builder_add_double_value (b, gflops_b1);
    json_builder_set_member_name (b, "sgemm_b8_ms");
    json_builder_add_double_value (b, time_sgemm (tokens * batch, vit->mlp_dim, vit->width, repeats, &gflops_b8));
    json_builder_set_member_name (b, "sgemm_b8_gflops");
    json_builder_add_double_value (b, gflops_b8);
  }
  json_builder_end_object (b);

  {
    g_autoptr(JsonGenerator) gen = json_generator_new ();
    g_autoptr(JsonNode) root = json_builder_get_root (b);

    json_generator_set_root (gen, root);
    if (out_path != NULL)
      {
        if (!json_generator_to_file (gen, out_path, &error))
          {
            fprintf (stderr, "pl-bench-model: %s: %s\n", out_path, error->message);
            return 1;
          }
      }
    else
      {
        g_autofree char *text = json_generator_to_data (gen, NULL);

        puts (text);
      }
  }
  return 0;
}
