/* pl-clip.c: placeholder until implemented. */
