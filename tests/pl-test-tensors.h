/* pl-test-tensors.h: checks shared by the checkpoint-reader tests. */
#pragma once

#include <json-glib/json-glib.h>

#include "model/pl-tensor-file.h"

G_BEGIN_DECLS

/* The facts torch recorded for FILE_NAME's tensors (name -> dtype, shape, strides, values); the
 * object lives as long as PARSER. */
JsonObject *pl_test_expected_tensors      (JsonParser         *parser,
                                           const char         *file_name);
/* INFO has exactly the dtype, shape, strides and values of FACTS. */
void        pl_test_assert_tensor_matches (const PlTensorInfo *info,
                                           JsonObject         *facts);

G_END_DECLS
