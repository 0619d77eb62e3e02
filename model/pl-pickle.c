/* pl-pickle.c: placeholder until implemented. */
