/* pl-safetensors.c: placeholder until implemented. */
