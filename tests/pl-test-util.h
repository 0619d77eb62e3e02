/* pl-test-util.h: small helpers shared by the test programs: locating fixtures and shared data,
 * writing hostile files into a temporary directory. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* tests/fixtures/NAME (from PL_FIXTURES_DIR). */
char *pl_test_fixture_path     (const char *name);
/* ../shared/data/NAME (from PL_SHARED_DATA_DIR). */
char *pl_test_shared_data_path (const char *name);
/* A fresh temporary directory, removed with everything in it at exit. */
const char *pl_test_tmpdir     (void);
/* Writes DATA to a new file NAME in the temporary directory; returns its path. */
char *pl_test_write_file       (const char *name,
                                const void *data,
                                gsize       length);
/* How much slower than an optimised build this one runs (PL_TEST_TIME_SCALE, default 1): the
 * sanitizer suite sets 4, the same factor as meson's --timeout-multiplier for it. Latency limits
 * that tests assert are multiplied by it. */
double pl_test_time_scale     (void);
/* Runs the default main context until CONDITION (DATA) holds; fails the test naming WHAT after
 * TIMEOUT_SECONDS (scaled by pl_test_time_scale). */
typedef gboolean (*PlTestCondition) (gpointer data);
void pl_test_iterate_until    (PlTestCondition condition,
                               gpointer        data,
                               const char     *what,
                               guint           timeout_seconds);
/* Parses tests/fixtures/NAME with PARSER and returns its root object (alive as long as PARSER), or
 * fails the test. */
JsonObject *pl_test_load_fixture_object (JsonParser *parser,
                                         const char *name);
/* Reads a whole file or fails the test. */
GBytes *pl_test_read_file      (const char *path);

G_END_DECLS
