/* Small helpers shared by the C examples: stop with libsnn's message when a
 * call fails, and count spikes with a callback. */
#ifndef SNN_EXAMPLE_H
#define SNN_EXAMPLE_H

#include <snn/snn.h>

#include <stdio.h>
#include <stdlib.h>

#define CHECK(call)                                                                     \
    do {                                                                                \
        snn_status status_ = (call);                                                    \
        if (status_ != SNN_OK) {                                                        \
            fprintf(stderr, "%s failed: %s: %s\n", #call, snn_status_name(status_),     \
                    snn_last_error());                                                  \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

/* Spikes counted per population id (the examples have two populations). */
typedef struct {
    int64_t spikes[2];
} spike_counter;

/* A spike callback: runs after each step on the thread that called run. */
static inline int32_t count_spikes(int32_t population, int64_t step, int32_t batch_index, int32_t count,
                            const int32_t* neuron_ids, void* user_data) {
    spike_counter* counter = (spike_counter*)user_data;
    (void)step;
    (void)batch_index;
    (void)neuron_ids;
    counter->spikes[population] += count;
    return 0; /* keep running */
}

/* A LIF population with the benchmarks' parameters and the given resting potential. */
static inline int32_t add_lif(snn_network* net, const char* name, int64_t n, double v_rest) {
    int32_t pop = -1;
    CHECK(snn_network_add_population(net, name, "lif", 1, &n, &pop));
    CHECK(snn_population_set_param(net, pop, "tau_mem", 20e-3));
    CHECK(snn_population_set_param(net, pop, "v_rest", v_rest));
    CHECK(snn_population_set_param(net, pop, "v_reset", -60e-3));
    CHECK(snn_population_set_param(net, pop, "v_th", -50e-3));
    CHECK(snn_population_set_param(net, pop, "t_ref", 5e-3));
    return pop;
}

/* Prints the rates of the two populations after 1 s. */
static inline void print_rates(const char* name, const char* backend, uint64_t seed, const spike_counter* counter,
                        int32_t exc, int32_t inh) {
    printf("%s (libsnn %s, backend %s, seed %llu): 1 s simulated\n", name, snn_version_string(), backend,
           (unsigned long long)seed);
    printf("  exc: %.2f Hz\n", counter->spikes[exc] / 3200.0);
    printf("  inh: %.2f Hz\n", counter->spikes[inh] / 800.0);
    printf("  all: %.2f Hz\n", (counter->spikes[exc] + counter->spikes[inh]) / 4000.0);
}

#endif
