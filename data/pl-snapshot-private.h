/* pl-snapshot-private.h: what the snapshot's source files (pl-snapshot.c, pl-search.c, pl-pairs.c)
 * and its tests share: the handle, cached statements, text folding, test-only hooks. */
#pragma once

#include <sqlite3.h>

#include "data/pl-snapshot.h"

G_BEGIN_DECLS

struct _PlSnapshot {
  sqlite3    *db;
  char       *path;
  gboolean    read_only;
  int         schema_version;
  GHashTable *statements;   /* SQL text (static) -> sqlite3_stmt* */
};

/* A cached, reset statement for SQL (a string literal); NULL with an error naming the file. */
sqlite3_stmt *pl_snapshot_statement (PlSnapshot *snapshot,
                                     const char *sql,
                                     GError    **error);
/* Sets ERROR from the connection's last error, prefixed with the file and WHAT was being done. */
void          pl_snapshot_set_sqlite_error (PlSnapshot *snapshot,
                                            const char *what,
                                            GError    **error);
/* Fails with PL_ERROR_IO when the snapshot is read-only; WHAT says what was attempted. */
gboolean      pl_snapshot_check_writable   (PlSnapshot *snapshot,
                                            const char *what,
                                            GError    **error);

/* Case- and compatibility-folded text, used for label/synonym exact and prefix matching. */
char         *pl_snapshot_fold             (const char *text);

/* Test-only: make the next imports fail after writing N terms (-1: never), as a killed import would. */
void          pl_snapshot_set_import_fault (int fail_after_terms);
/* Test-only: an empty snapshot with the schema as of VERSION (1..PL_SNAPSHOT_SCHEMA_VERSION), or
 * any user_version when RAW_USER_VERSION is set (for "file from a newer program" tests). */
gboolean      pl_snapshot_create_at_version (const char *path,
                                             int         version,
                                             int         raw_user_version,
                                             GError    **error);

G_END_DECLS
