/* pl-image.c: placeholder until implemented. */
