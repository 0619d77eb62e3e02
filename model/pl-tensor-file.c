/* pl-tensor-file.c: placeholder until implemented. */
