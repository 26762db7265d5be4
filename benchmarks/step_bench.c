/* step_bench: the time of one snn_network_step, called from C.
 *
 *   step_bench FILE.snn BACKEND THREADS WARMUP STEPS REPS
 *
 * Loads a network saved by benchmarks/snn_cases.py, runs WARMUP steps, then
 * REPS repetitions of STEPS steps, each step timed on its own with
 * CLOCK_MONOTONIC. Prints one JSON object: per repetition the median, 99th
 * percentile and mean of the step time in nanoseconds, and the raw timer
 * overhead (two clock reads with nothing between them). benchmarks/run.py
 * compiles it against include/ and the library the Python package loads.
 */
#define _POSIX_C_SOURCE 199309L
#include <snn/snn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void* a, const void* b) {
    int64_t x = *(const int64_t*)a, y = *(const int64_t*)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted values (nearest rank). */
static int64_t quantile(const int64_t* sorted, int64_t n, double q) {
    int64_t k = (int64_t)(q * (double)n + 0.5);
    if (k < 1) k = 1;
    if (k > n) k = n;
    return sorted[k - 1];
}

static int fail(const char* what, snn_status status) {
    fprintf(stderr, "step_bench: %s: %s: %s\n", what, snn_status_name(status), snn_last_error());
    return 1;
}

int main(int argc, char** argv) {
    snn_context_options copt;
    snn_context* ctx = NULL;
    snn_network* net = NULL;
    const char* backend = NULL;
    int32_t threads = 0;
    int64_t warmup, steps, reps, i, r;
    int64_t* t;
    snn_status s;

    if (argc != 7) {
        fprintf(stderr, "usage: %s FILE.snn BACKEND THREADS WARMUP STEPS REPS\n", argv[0]);
        return 2;
    }
    warmup = atoll(argv[4]);
    steps = atoll(argv[5]);
    reps = atoll(argv[6]);
    if (steps < 1 || reps < 1 || warmup < 0) {
        fprintf(stderr, "step_bench: STEPS and REPS must be >= 1, WARMUP >= 0\n");
        return 2;
    }
    t = (int64_t*)malloc((size_t)steps * sizeof *t);
    if (!t) return 1;

    snn_context_options_init(&copt, sizeof copt);
    copt.backend = argv[2];
    copt.threads = atoi(argv[3]);
    if ((s = snn_context_create(&copt, &ctx)) != SNN_OK) return fail("context", s);
    snn_context_backend(ctx, &backend);
    snn_context_threads(ctx, &threads);
    if ((s = snn_network_load(ctx, argv[1], NULL, &net)) != SNN_OK) return fail(argv[1], s);

    for (i = 0; i < warmup; ++i)
        if ((s = snn_network_step(net)) != SNN_OK) return fail("step", s);

    printf("{\"backend\": \"%s\", \"threads\": %d, \"steps\": %lld, \"reps\": [", backend, (int)threads,
           (long long)steps);
    for (r = 0; r < reps; ++r) {
        double mean = 0.0;
        for (i = 0; i < steps; ++i) {
            int64_t t0 = now_ns();
            s = snn_network_step(net);
            t[i] = now_ns() - t0;
            if (s != SNN_OK) return fail("step", s);
        }
        for (i = 0; i < steps; ++i) mean += (double)t[i];
        mean /= (double)steps;
        qsort(t, (size_t)steps, sizeof *t, cmp_i64);
        printf("%s{\"median_ns\": %lld, \"p99_ns\": %lld, \"mean_ns\": %.1f, \"max_ns\": %lld}", r ? ", " : "",
               (long long)quantile(t, steps, 0.5), (long long)quantile(t, steps, 0.99), mean,
               (long long)t[steps - 1]);
    }
    {
        /* Timer overhead: the median of back-to-back clock reads. */
        for (i = 0; i < steps; ++i) {
            int64_t t0 = now_ns();
            t[i] = now_ns() - t0;
        }
        qsort(t, (size_t)steps, sizeof *t, cmp_i64);
        printf("], \"timer_overhead_ns\": %lld}\n", (long long)quantile(t, steps, 0.5));
    }
    free(t);
    snn_network_destroy(net);
    snn_context_destroy(ctx);
    return 0;
}
