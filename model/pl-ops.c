/* pl-ops.c: placeholder until implemented. */
