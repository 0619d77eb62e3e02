/* pl-cli-model.c: placeholder. */
