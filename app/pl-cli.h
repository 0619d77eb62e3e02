/* pl-cli.h: the verbs of the `phenolip` command and the helpers they share. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include "model/pl-clip.h"

G_BEGIN_DECLS

/* Exit codes, documented in README.md and in `phenolip --help`. */
typedef enum {
  PL_EXIT_OK = 0,
  PL_EXIT_INPUT_FAILED = 1,  /* an input (image, text, file) could not be processed; the rest were */
  PL_EXIT_USAGE = 2,         /* unknown verb or option, missing argument */
  PL_EXIT_MODEL_FAILED = 3,  /* the checkpoint or its companion files could not be opened */
} PlExitCode;

typedef struct {
  const char *name;
  const char *summary;
  int       (*run) (int argc, char **argv);
} PlCliVerb;

/* Options every model verb takes. */
typedef struct {
  int       threads;
  char     *vocab;
  char     *config;
  gboolean  verbose;
} PlCliModelOptions;

void        pl_cli_model_options_add   (GOptionContext    *context,
                                        PlCliModelOptions *options);
void        pl_cli_model_options_clear (PlCliModelOptions *options);

/* Parses ARGV with CONTEXT; on a usage error prints it with the verb's help hint. */
gboolean    pl_cli_parse               (GOptionContext *context,
                                        const char     *verb,
                                        int            *argc,
                                        char         ***argv);
int         pl_cli_usage_error         (const char     *verb,
                                        const char     *format,
                                        ...) G_GNUC_PRINTF (2, 3);
void        pl_cli_print_error         (const GError   *error);

/* Loads the checkpoint with OPTIONS, printing warnings and (verbose) the unused keys. */
PlClip     *pl_cli_load_clip           (const char              *path,
                                        const PlCliModelOptions *options);

/* Writes one JSON object as a line on stdout. */
void        pl_cli_print_json_line     (JsonBuilder *builder);
void        pl_cli_add_float_array     (JsonBuilder *builder,
                                        const char  *member,
                                        const float *values,
                                        int          n);

int pl_cli_info         (int argc, char **argv);
int pl_cli_embed_image  (int argc, char **argv);
int pl_cli_embed_text   (int argc, char **argv);
int pl_cli_similarity   (int argc, char **argv);
int pl_cli_rank         (int argc, char **argv);
int pl_cli_kg_embed     (int argc, char **argv);
int pl_cli_bench        (int argc, char **argv);

G_END_DECLS
