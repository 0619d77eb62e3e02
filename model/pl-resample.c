/* pl-resample.c: placeholder until implemented. */
