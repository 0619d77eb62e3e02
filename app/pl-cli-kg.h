/* pl-cli-kg.h: the `phenolip kg` verb: build, describe and query PhenoKG snapshots. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* argv[0] is "kg", argv[1] the sub-verb: import, info, search, show, path, import-pairs. */
int pl_cli_kg (int argc, char **argv);

G_END_DECLS
