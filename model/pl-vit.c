/* pl-vit.c: placeholder until implemented. */
