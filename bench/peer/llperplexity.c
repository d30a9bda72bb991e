// llperplexity: llama.cpp's perplexity on the very token ids bench_perplexity scored, through the
// peer's libllama, so Surfing's f32 / q8_0 / q4_0 figures stand beside llama.cpp's own.
//   llperplexity MODEL.gguf IDS_FILE       (IDS_FILE: one story per line, ids comma separated,
//                                           BOS first, as bench_perplexity --ids-out writes)
// Each story is decoded in one batch with logits at every position (flash attention off, KV f32,
// one thread), scored as bench_perplexity does: NLL of every id after the first given the ones
// before it, in double. Prints one JSON line.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ggml-backend.h"
#include "llama.h"

static void quiet_log(enum ggml_log_level level, const char *text, void *ud)
{
    (void)ud;
    if (level >= GGML_LOG_LEVEL_ERROR)
        fputs(text, stderr);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.gguf IDS_FILE\n", argv[0]);
        return 2;
    }
    llama_log_set(quiet_log, NULL);
    const char *libdir = getenv("LLAMA_LIBDIR");
    if (libdir)
        ggml_backend_load_all_from_path(libdir);
    else
        ggml_backend_load_all();
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    struct llama_model *model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "llperplexity: cannot load %s\n", argv[1]); return 1; }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 512;
    cp.n_batch = cp.n_ubatch = 512;
    cp.n_threads = cp.n_threads_batch = 1;
    cp.type_k = GGML_TYPE_F32;
    cp.type_v = GGML_TYPE_F32;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.no_perf = 1;
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "llperplexity: no context\n"); return 1; }

    FILE *f = fopen(argv[2], "r");
    if (!f) { fprintf(stderr, "llperplexity: cannot read %s\n", argv[2]); return 1; }
    static char line[1 << 16];
    double nll = 0;
    long scored = 0, stories = 0;
    struct llama_batch batch = llama_batch_init(512, 0, 1);
    while (fgets(line, sizeof line, f)) {
        int n = 0;
        for (char *t = strtok(line, ",\n"); t && n < 512; t = strtok(NULL, ",\n")) {
            batch.token[n] = atoi(t);
            batch.pos[n] = n;
            batch.n_seq_id[n] = 1;
            batch.seq_id[n][0] = 0;
            batch.logits[n] = 1;
            ++n;
        }
        if (n < 2)
            continue;
        batch.n_tokens = n;
        llama_memory_clear(llama_get_memory(ctx), true);
        if (llama_decode(ctx, batch)) { fprintf(stderr, "llperplexity: decode failed\n"); return 1; }
        for (int i = 0; i + 1 < n; ++i) {
            const float *logits = llama_get_logits_ith(ctx, i);
            double max = logits[0], sum = 0;
            for (int v = 1; v < n_vocab; ++v)
                if (logits[v] > max) max = logits[v];
            for (int v = 0; v < n_vocab; ++v)
                sum += exp((double)logits[v] - max);
            nll -= (double)logits[batch.token[i + 1]] - max - log(sum);
            ++scored;
        }
        ++stories;
    }
    fclose(f);
    printf("{\"gguf\":\"%s\",\"stories\":%ld,\"tokens_scored\":%ld,\"mean_nll\":%.6f,\"perplexity\":%.6f}\n",
           argv[1], stories, scored, nll / scored, exp(nll / scored));
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    llama_backend_free();
    return 0;
}
