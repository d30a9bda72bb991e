// llquantize: re-types an f32 GGUF with llama.cpp's own llama_model_quantize, so the peer
// benchmark compares Surfing's bf16 (and later q8_0 / q4_0) chunks with llama.cpp running the
// same format. Built by bench/run-peer.sh against the libllama that ../shared/peer/setup.sh brings.
//   llquantize IN.gguf OUT.gguf f32|f16|bf16|q8_0|q4_0 [pure]
// `pure` quantizes every tensor to the type asked for (llama.cpp's --pure); by default llama.cpp's
// Q4_0 mix keeps the output (or a tied token embedding) in Q6_K, falling back to Q8_0.
#include <stdio.h>
#include <string.h>

#include "llama.h"

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "pure"))) {
        fprintf(stderr, "usage: %s IN.gguf OUT.gguf f32|f16|bf16|q8_0|q4_0 [pure]\n", argv[0]);
        return 2;
    }
    struct { const char *name; enum llama_ftype type; } types[] = {
        {"f32", LLAMA_FTYPE_ALL_F32}, {"f16", LLAMA_FTYPE_MOSTLY_F16}, {"bf16", LLAMA_FTYPE_MOSTLY_BF16},
        {"q8_0", LLAMA_FTYPE_MOSTLY_Q8_0}, {"q4_0", LLAMA_FTYPE_MOSTLY_Q4_0}};
    struct llama_model_quantize_params params = llama_model_quantize_default_params();
    int found = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; ++i) {
        if (!strcmp(argv[3], types[i].name)) {
            params.ftype = types[i].type;
            found = 1;
        }
    }
    if (!found) {
        fprintf(stderr, "llquantize: unknown type '%s'\n", argv[3]);
        return 2;
    }
    params.nthread = 2;
    params.pure = argc == 5;
    llama_backend_init();
    const uint32_t failed = llama_model_quantize(argv[1], argv[2], &params);
    llama_backend_free();
    if (failed) {
        fprintf(stderr, "llquantize: llama_model_quantize failed for %s\n", argv[1]);
        return 1;
    }
    return 0;
}
