/* pl-text-clean.c: placeholder until implemented. */
