/* pl-search-worker.h: snapshot searches on a worker thread, each on a read-only connection of the
 * worker's own, so that a window can search as the user types without a query ever running on its
 * main loop; the caller cancels a search a newer keystroke supersedes, and a cancelled search that
 * has not started yet never runs. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PL_TYPE_SEARCH_WORKER (pl_search_worker_get_type ())
G_DECLARE_FINAL_TYPE (PlSearchWorker, pl_search_worker, PL, SEARCH_WORKER, GObject)

/* A worker for the snapshot at PATH, opened (read-only) by the first search. */
PlSearchWorker *pl_search_worker_new           (const char           *path);
const char     *pl_search_worker_get_path      (PlSearchWorker       *self);
/* pl_snapshot_search (QUERY, LIMIT) on the worker; searches run one at a time, in order. */
void            pl_search_worker_search_async  (PlSearchWorker       *self,
                                                const char           *query,
                                                guint                 limit,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
/* The hits (PlSearchHit*), or NULL with G_IO_ERROR_CANCELLED or the snapshot's error. */
GPtrArray      *pl_search_worker_search_finish (PlSearchWorker       *self,
                                                GAsyncResult         *result,
                                                GError              **error);

G_END_DECLS
