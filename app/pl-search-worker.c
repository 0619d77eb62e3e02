/* pl-search-worker.c: snapshot searches off the main loop (see the header). */
#include "app/pl-search-worker.h"

#include "data/pl-search.h"

struct _PlSearchWorker
{
  GObject     parent_instance;

  char       *path;
  GMutex      lock;       /* one search at a time on the connection */
  PlSnapshot *snapshot;   /* opened by the first search, used under LOCK only */
};

G_DEFINE_FINAL_TYPE (PlSearchWorker, pl_search_worker, G_TYPE_OBJECT)

typedef struct {
  char  *query;
  guint  limit;
} SearchData;

static void
search_data_free (gpointer data)
{
  SearchData *search = data;

  g_free (search->query);
  g_free (search);
}

static void
search_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  PlSearchWorker *self = source_object;
  SearchData *search = task_data;
  GError *error = NULL;
  GPtrArray *hits = NULL;

  g_mutex_lock (&self->lock);
  /* Superseded while it waited for the lock or a thread: not worth a query. */
  if (g_task_return_error_if_cancelled (task))
    {
      g_mutex_unlock (&self->lock);
      return;
    }
  if (self->snapshot == NULL)
    self->snapshot = pl_snapshot_open (self->path, PL_SNAPSHOT_OPEN_READ_ONLY, &error);
  if (self->snapshot != NULL)
    hits = pl_snapshot_search (self->snapshot, search->query, search->limit, &error);
  g_mutex_unlock (&self->lock);
  if (hits != NULL)
    g_task_return_pointer (task, hits, (GDestroyNotify) g_ptr_array_unref);
  else
    g_task_return_error (task, error);
}

void
pl_search_worker_search_async (PlSearchWorker      *self,
                               const char          *query,
                               guint                limit,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  SearchData *search;

  g_return_if_fail (PL_IS_SEARCH_WORKER (self));
  g_return_if_fail (query != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, pl_search_worker_search_async);
  search = g_new0 (SearchData, 1);
  search->query = g_strdup (query);
  search->limit = limit;
  g_task_set_task_data (task, search, search_data_free);
  g_task_run_in_thread (task, search_thread);
}

GPtrArray *
pl_search_worker_search_finish (PlSearchWorker  *self,
                                GAsyncResult    *result,
                                GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

PlSearchWorker *
pl_search_worker_new (const char *path)
{
  PlSearchWorker *self = g_object_new (PL_TYPE_SEARCH_WORKER, NULL);

  g_return_val_if_fail (path != NULL, NULL);
  self->path = g_strdup (path);
  return self;
}

const char *
pl_search_worker_get_path (PlSearchWorker *self)
{
  g_return_val_if_fail (PL_IS_SEARCH_WORKER (self), NULL);
  return self->path;
}

static void
pl_search_worker_finalize (GObject *object)
{
  PlSearchWorker *self = PL_SEARCH_WORKER (object);

  /* Every task holds a reference: no search runs any more. */
  g_clear_pointer (&self->snapshot, pl_snapshot_free);
  g_mutex_clear (&self->lock);
  g_free (self->path);
  G_OBJECT_CLASS (pl_search_worker_parent_class)->finalize (object);
}

static void
pl_search_worker_class_init (PlSearchWorkerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pl_search_worker_finalize;
}

static void
pl_search_worker_init (PlSearchWorker *self)
{
  g_mutex_init (&self->lock);
}
