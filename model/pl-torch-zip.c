/* pl-torch-zip.c: placeholder until implemented. */
