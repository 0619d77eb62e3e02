/* pl-tokenizer.c: placeholder until implemented. */
