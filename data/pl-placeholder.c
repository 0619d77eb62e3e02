/* pl-placeholder.c: keeps the data library non-empty until its first unit lands. */
