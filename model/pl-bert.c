/* pl-bert.c: placeholder until implemented. */
