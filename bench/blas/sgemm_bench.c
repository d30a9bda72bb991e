/* One prompt-sized product as libtorch's linear layer asks the BLAS for it (sgemm_ "T","N":
 * weight [N x K] row-major times K x M activations), timed best of REPS. Links libblas.so.3, so
 * LD_LIBRARY_PATH and OPENBLAS_CORETYPE choose what runs. Usage: sgemm_bench M N K REPS */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void sgemm_(const char *, const char *, const int *, const int *, const int *, const float *, const float *,
            const int *, const float *, const int *, const float *, float *, const int *);

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s M N K REPS\n", argv[0]);
        return 2;
    }
    const int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]), reps = atoi(argv[4]);
    float *x = malloc(sizeof(float) * (size_t)m * k), *w = malloc(sizeof(float) * (size_t)k * n);
    float *y = malloc(sizeof(float) * (size_t)m * n);
    for (long i = 0; i < (long)m * k; i++)
        x[i] = (float)(i % 7) * 0.1f;
    for (long i = 0; i < (long)k * n; i++)
        w[i] = (float)(i % 5) * 0.1f;
    const float one = 1, zero = 0;
    double best = 1e9;
    for (int r = 0; r < reps; r++) {
        const double t = now();
        sgemm_("T", "N", &n, &m, &k, &one, w, &k, x, &k, &zero, y, &n);
        if (now() - t < best)
            best = now() - t;
    }
    printf("%.1f\n", 2.0 * m * n * k / best / 1e9);
    return 0;
}
