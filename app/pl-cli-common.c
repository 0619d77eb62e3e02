/* pl-cli-common.c: placeholder. */
