/* pl-cli-model.c: the model verbs of `phenolip`: info, embed-image, embed-text, similarity. */
#include "app/pl-cli.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/pl-error.h"

#define PL_CLI_IMAGE_BATCH 8

static const char *
format_name (PlTensorFileFormat format)
{
  switch (format)
    {
    case PL_TENSOR_FILE_SAFETENSORS: return "safetensors";
    case PL_TENSOR_FILE_TORCH_ZIP: return "PyTorch zip (torch.save)";
    default: return "unknown";
    }
}

int
pl_cli_info (int    argc,
             char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("CHECKPOINT - describe a checkpoint");
  PlCliModelOptions options = { 0 };
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(PlClip) clip = NULL;
  const PlVitConfig *vit;
  const PlBertConfig *bert;
  const PlPreprocessConfig *pre;
  const PlTokenizer *tok;
  const PlTensorFile *file;
  g_autofree char *dtypes = NULL;
  int status = PL_EXIT_OK;

  g_option_context_set_summary (context,
    "Shows the architecture the checkpoint describes, its parameter count and dtypes, the embedding\n"
    "size and logit scale, and where each setting came from.");
  pl_cli_model_options_add (context, &options);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "info", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc != 2)
    {
      pl_cli_model_options_clear (&options);
      return pl_cli_usage_error ("info", "expected one CHECKPOINT");
    }
  if ((clip = pl_cli_load_clip (argv[1], &options)) == NULL)
    {
      pl_cli_model_options_clear (&options);
      return PL_EXIT_MODEL_FAILED;
    }
  vit = pl_clip_get_vit_config (clip);
  bert = pl_clip_get_bert_config (clip);
  pre = pl_clip_get_preprocess_config (clip);
  tok = pl_clip_get_tokenizer (clip);
  file = pl_clip_get_tensor_file (clip);
  dtypes = pl_clip_describe_dtypes (clip);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "checkpoint");
      json_builder_add_string_value (b, pl_clip_get_checkpoint_path (clip));
      json_builder_set_member_name (b, "format");
      json_builder_add_string_value (b, format_name (pl_tensor_file_get_format (file)));
      json_builder_set_member_name (b, "file_size");
      json_builder_add_int_value (b, (gint64) pl_tensor_file_get_size (file));
      json_builder_set_member_name (b, "demo_random_weights");
      json_builder_add_boolean_value (b, pl_clip_is_demo (clip));
      json_builder_set_member_name (b, "parameters");
      json_builder_add_int_value (b, (gint64) pl_clip_get_n_parameters (clip));
      json_builder_set_member_name (b, "dtypes");
      json_builder_add_string_value (b, dtypes);
      json_builder_set_member_name (b, "embed_dim");
      json_builder_add_int_value (b, pl_clip_get_embed_dim (clip));
      json_builder_set_member_name (b, "logit_scale");
      json_builder_add_double_value (b, pl_clip_get_logit_scale (clip));
      json_builder_set_member_name (b, "vision");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "image_size"); json_builder_add_int_value (b, vit->image_size);
      json_builder_set_member_name (b, "patch_size"); json_builder_add_int_value (b, vit->patch_size);
      json_builder_set_member_name (b, "width"); json_builder_add_int_value (b, vit->width);
      json_builder_set_member_name (b, "layers"); json_builder_add_int_value (b, vit->n_layers);
      json_builder_set_member_name (b, "heads"); json_builder_add_int_value (b, vit->n_heads);
      json_builder_set_member_name (b, "heads_from"); json_builder_add_string_value (b, pl_clip_get_vision_heads_source (clip));
      json_builder_set_member_name (b, "mlp_dim"); json_builder_add_int_value (b, vit->mlp_dim);
      json_builder_set_member_name (b, "pool");
      json_builder_add_string_value (b, vit->pool == PL_VIT_POOL_AVG ? "avg" : "token");
      json_builder_end_object (b);
      json_builder_set_member_name (b, "text");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "vocab_size"); json_builder_add_int_value (b, bert->vocab_size);
      json_builder_set_member_name (b, "width"); json_builder_add_int_value (b, bert->width);
      json_builder_set_member_name (b, "layers"); json_builder_add_int_value (b, bert->n_layers);
      json_builder_set_member_name (b, "heads"); json_builder_add_int_value (b, bert->n_heads);
      json_builder_set_member_name (b, "heads_from"); json_builder_add_string_value (b, pl_clip_get_text_heads_source (clip));
      json_builder_set_member_name (b, "ff_dim"); json_builder_add_int_value (b, bert->ff_dim);
      json_builder_set_member_name (b, "max_positions"); json_builder_add_int_value (b, bert->max_positions);
      json_builder_set_member_name (b, "context_length"); json_builder_add_int_value (b, pl_clip_get_context_length (clip));
      json_builder_set_member_name (b, "proj_hidden"); json_builder_add_int_value (b, bert->proj_hidden);
      json_builder_set_member_name (b, "pooler");
      json_builder_add_string_value (b, bert->pool == PL_BERT_POOL_MEAN ? "mean_pooler" : "cls_last_hidden_state_pooler");
      json_builder_end_object (b);
      json_builder_set_member_name (b, "unused_keys");
      json_builder_begin_array (b);
      for (guint i = 0; i < pl_clip_get_unused_keys (clip)->len; i++)
        json_builder_add_string_value (b, pl_clip_get_unused_keys (clip)->pdata[i]);
      json_builder_end_array (b);
      json_builder_end_object (b);
      pl_cli_print_json_line (b);
    }
  else
    {
      printf ("Checkpoint:      %s\n", pl_clip_get_checkpoint_path (clip));
      if (pl_clip_is_demo (clip))
        printf ("                 DEMO MODEL WITH RANDOM WEIGHTS: its outputs are meaningless\n");
      printf ("Format:          %s, %.1f MB\n", format_name (pl_tensor_file_get_format (file)),
              pl_tensor_file_get_size (file) / 1e6);
      printf ("Config:          %s\n", pl_clip_get_config_path (clip) ? pl_clip_get_config_path (clip)
                                                                       : "(none; BiomedCLIP defaults)");
      printf ("Vocabulary:      %s (%d tokens; [PAD] %d, [CLS] %d, [SEP] %d, [UNK] %d)\n",
              pl_clip_get_vocab_path (clip), pl_tokenizer_get_vocab_size (tok), pl_tokenizer_get_pad_id (tok),
              pl_tokenizer_get_cls_id (tok), pl_tokenizer_get_sep_id (tok), pl_tokenizer_get_unk_id (tok));
      printf ("Image tower:     ViT %dx%d, patch %d, width %d, %d layers, %d heads (%s), MLP %d, %s\n",
              vit->image_size, vit->image_size, vit->patch_size, vit->width, vit->n_layers, vit->n_heads,
              pl_clip_get_vision_heads_source (clip), vit->mlp_dim,
              vit->pool == PL_VIT_POOL_AVG ? "mean of the patch tokens" : "class token");
      printf ("Text tower:      BERT vocab %d, width %d, %d layers, %d heads (%s), FF %d, context %d, %s\n",
              bert->vocab_size, bert->width, bert->n_layers, bert->n_heads,
              pl_clip_get_text_heads_source (clip), bert->ff_dim, pl_clip_get_context_length (clip),
              bert->pool == PL_BERT_POOL_MEAN ? "mean of the tokens" : "[CLS] last hidden state");
      if (bert->proj_hidden > 0)
        printf ("Text projection: MLP %d -> %d -> %d\n", bert->width, bert->proj_hidden, bert->embed_dim);
      else
        printf ("Text projection: linear %d -> %d\n", bert->width, bert->embed_dim);
      printf ("Embedding size:  %d\n", pl_clip_get_embed_dim (clip));
      printf ("Parameters:      %" G_GUINT64_FORMAT " (%.1f M)\n", pl_clip_get_n_parameters (clip),
              pl_clip_get_n_parameters (clip) / 1e6);
      printf ("Dtypes:          %s\n", dtypes);
      printf ("Logit scale:     %.4f (exp of the stored %.4f)\n", pl_clip_get_logit_scale (clip),
              logf (pl_clip_get_logit_scale (clip)));
      {
        const char *filter = pre->interpolation == PL_INTERPOLATION_BILINEAR ? "bilinear" : "bicubic";
        g_autofree char *geometry =
          pre->resize_mode == PL_RESIZE_SQUASH
          ? g_strdup_printf ("resize to %d x %d %s", pre->image_size, pre->image_size, filter)
          : pre->resize_mode == PL_RESIZE_LONGEST
          ? g_strdup_printf ("resize the long side to %d %s, pad to %d x %d", pre->image_size, filter,
                             pre->image_size, pre->image_size)
          : g_strdup_printf ("resize %d %s, centre crop", pre->image_size, filter);

        printf ("Preprocessing:   %s, mean (%.8g, %.8g, %.8g), std (%.8g, %.8g, %.8g)\n", geometry,
                pre->mean[0], pre->mean[1], pre->mean[2], pre->std[0], pre->std[1], pre->std[2]);
      }
      printf ("Unused keys:     %u%s\n", pl_clip_get_unused_keys (clip)->len,
              options.verbose ? "" : " (list them with --verbose)");
    }
  pl_cli_model_options_clear (&options);
  return status;
}

int
pl_cli_embed_image (int    argc,
                    char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("CHECKPOINT IMAGE... - embed images");
  PlCliModelOptions options = { 0 };
  g_autoptr(PlClip) clip = NULL;
  g_autofree float *pixels = NULL;
  g_autofree float *embeddings = NULL;
  g_autofree const char **batch_paths = NULL;
  int status = PL_EXIT_OK, size, dim, n = 0;
  gsize image_floats;

  g_option_context_set_summary (context,
    "Prints one JSON line per image: {\"image\": PATH, \"embedding\": [...]}, the L2-normalised image\n"
    "embedding. An image that cannot be read is reported on stderr and the others are still embedded.");
  pl_cli_model_options_add (context, &options);
  if (!pl_cli_parse (context, "embed-image", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc < 3)
    {
      pl_cli_model_options_clear (&options);
      return pl_cli_usage_error ("embed-image", "expected CHECKPOINT and at least one IMAGE");
    }
  if ((clip = pl_cli_load_clip (argv[1], &options)) == NULL)
    {
      pl_cli_model_options_clear (&options);
      return PL_EXIT_MODEL_FAILED;
    }
  size = pl_clip_get_vit_config (clip)->image_size;
  dim = pl_clip_get_embed_dim (clip);
  image_floats = (gsize) 3 * size * size;
  pixels = g_new (float, image_floats * PL_CLI_IMAGE_BATCH);
  embeddings = g_new (float, (gsize) dim * PL_CLI_IMAGE_BATCH);
  batch_paths = g_new0 (const char *, PL_CLI_IMAGE_BATCH);

  for (int i = 2; i <= argc; i++)
    {
      if (i < argc)
        {
          g_autoptr(GError) error = NULL;

          if (!pl_clip_load_image (clip, argv[i], pixels + image_floats * n, &error))
            {
              pl_cli_print_error (error);
              status = PL_EXIT_INPUT_FAILED;
              continue;
            }
          batch_paths[n++] = argv[i];
        }
      if (n == PL_CLI_IMAGE_BATCH || (i == argc && n > 0))
        {
          pl_clip_encode_images (clip, pixels, n, embeddings);
          for (int k = 0; k < n; k++)
            {
              g_autoptr(JsonBuilder) b = json_builder_new ();

              json_builder_begin_object (b);
              json_builder_set_member_name (b, "image");
              json_builder_add_string_value (b, batch_paths[k]);
              pl_cli_add_float_array (b, "embedding", embeddings + (gsize) k * dim, dim);
              json_builder_end_object (b);
              pl_cli_print_json_line (b);
            }
          n = 0;
        }
    }
  pl_cli_model_options_clear (&options);
  return status;
}

int
pl_cli_embed_text (int    argc,
                   char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("CHECKPOINT TEXT... - embed texts");
  PlCliModelOptions options = { 0 };
  g_autoptr(PlClip) clip = NULL;
  g_autofree float *embeddings = NULL;
  g_autofree int32_t *ids = NULL;
  int dim, n_texts, ctx;

  g_option_context_set_summary (context,
    "Prints one JSON line per text: {\"text\": TEXT, \"ids\": [...], \"embedding\": [...]}: the token ids\n"
    "([CLS] ... [SEP], after open_clip's text cleaning) and the L2-normalised text embedding.");
  pl_cli_model_options_add (context, &options);
  if (!pl_cli_parse (context, "embed-text", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc < 3)
    {
      pl_cli_model_options_clear (&options);
      return pl_cli_usage_error ("embed-text", "expected CHECKPOINT and at least one TEXT");
    }
  if ((clip = pl_cli_load_clip (argv[1], &options)) == NULL)
    {
      pl_cli_model_options_clear (&options);
      return PL_EXIT_MODEL_FAILED;
    }
  dim = pl_clip_get_embed_dim (clip);
  ctx = pl_clip_get_context_length (clip);
  n_texts = argc - 2;
  embeddings = g_new (float, (gsize) dim * n_texts);
  ids = g_new (int32_t, ctx);
  pl_clip_encode_texts (clip, (const char * const *) argv + 2, n_texts, embeddings);
  for (int i = 0; i < n_texts; i++)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      int n_ids = pl_clip_tokenize (clip, argv[2 + i], ids);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "text");
      json_builder_add_string_value (b, argv[2 + i]);
      json_builder_set_member_name (b, "ids");
      json_builder_begin_array (b);
      for (int k = 0; k < n_ids; k++)
        json_builder_add_int_value (b, ids[k]);
      json_builder_end_array (b);
      pl_cli_add_float_array (b, "embedding", embeddings + (gsize) i * dim, dim);
      json_builder_end_object (b);
      pl_cli_print_json_line (b);
    }
  pl_cli_model_options_clear (&options);
  return PL_EXIT_OK;
}

int
pl_cli_similarity (int    argc,
                   char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("CHECKPOINT --image IMAGE --text TEXT... - compare an image with texts");
  PlCliModelOptions options = { 0 };
  g_autofree char *image = NULL;
  g_auto(GStrv) texts = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "image", 'i', 0, G_OPTION_ARG_FILENAME, &image, "The image", "IMAGE" },
    { "text", 'T', 0, G_OPTION_ARG_STRING_ARRAY, &texts, "A text to compare (repeat the option)", "TEXT" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print JSON lines instead of a table", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(PlClip) clip = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *pixels = NULL;
  g_autofree float *image_embedding = NULL;
  g_autofree float *text_embeddings = NULL;
  int dim, size, n_texts;

  g_option_context_set_summary (context,
    "Prints, for each text, the cosine similarity between the image and text embeddings and the logit\n"
    "(exp(logit_scale) x cosine) the model would give it. Remaining arguments are taken as texts too.");
  pl_cli_model_options_add (context, &options);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!pl_cli_parse (context, "similarity", &argc, &argv))
    return PL_EXIT_USAGE;
  if (argc < 2 || image == NULL)
    {
      pl_cli_model_options_clear (&options);
      return pl_cli_usage_error ("similarity", "expected CHECKPOINT, --image IMAGE and at least one --text TEXT");
    }
  /* Texts given after the checkpoint without --text are accepted as well. */
  {
    g_autoptr(GStrvBuilder) all = g_strv_builder_new ();

    if (texts != NULL)
      g_strv_builder_addv (all, (const char **) texts);
    for (int i = 2; i < argc; i++)
      g_strv_builder_add (all, argv[i]);
    g_strfreev (texts);
    texts = g_strv_builder_end (all);
  }
  n_texts = (int) g_strv_length (texts);
  if (n_texts == 0)
    {
      pl_cli_model_options_clear (&options);
      return pl_cli_usage_error ("similarity", "expected at least one --text TEXT");
    }
  if ((clip = pl_cli_load_clip (argv[1], &options)) == NULL)
    {
      pl_cli_model_options_clear (&options);
      return PL_EXIT_MODEL_FAILED;
    }
  pl_cli_model_options_clear (&options);
  dim = pl_clip_get_embed_dim (clip);
  size = pl_clip_get_vit_config (clip)->image_size;
  pixels = g_new (float, (gsize) 3 * size * size);
  if (!pl_clip_load_image (clip, image, pixels, &error))
    {
      pl_cli_print_error (error);
      return PL_EXIT_INPUT_FAILED;
    }
  image_embedding = g_new (float, dim);
  text_embeddings = g_new (float, (gsize) dim * n_texts);
  pl_clip_encode_images (clip, pixels, 1, image_embedding);
  pl_clip_encode_texts (clip, (const char * const *) texts, n_texts, text_embeddings);

  if (!json)
    {
      if (pl_clip_is_demo (clip))
        printf ("(demo model with random weights: these scores are meaningless)\n");
      printf ("%9s  %9s  %s\n", "cosine", "logit", "text");
    }
  for (int t = 0; t < n_texts; t++)
    {
      double cosine = 0;

      for (int k = 0; k < dim; k++)
        cosine += (double) image_embedding[k] * text_embeddings[(gsize) t * dim + k];
      if (json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "image");
          json_builder_add_string_value (b, image);
          json_builder_set_member_name (b, "text");
          json_builder_add_string_value (b, texts[t]);
          json_builder_set_member_name (b, "cosine");
          json_builder_add_double_value (b, cosine);
          json_builder_set_member_name (b, "logit");
          json_builder_add_double_value (b, pl_clip_get_logit_scale (clip) * cosine);
          json_builder_end_object (b);
          pl_cli_print_json_line (b);
        }
      else
        printf ("%9.6f  %9.4f  %s\n", cosine, pl_clip_get_logit_scale (clip) * cosine, texts[t]);
    }
  return PL_EXIT_OK;
}
