/* COBA: benchmark 1 of Brette et al. 2007 (Vogels & Abbott 2005), built and
 * run from C. 4000 LIF neurons (3200 excitatory, 800 inhibitory), random
 * connections with probability 0.02, exponential conductance synapses
 * (weights relative to the leak conductance: 6 nS / 10 nS and 67 nS / 10 nS),
 * 1 s at dt = 0.1 ms.
 *
 *   coba [seed] [backend]      prints the firing rate of each population
 */
#include "example.h"

static int32_t connect(snn_network* net, int32_t pre, int32_t post, float weight, double tau, double e_rev,
                       uint64_t seed) {
    snn_connection_options options;
    int32_t conn = -1;
    CHECK(snn_connection_options_init(&options, sizeof options));
    options.synapse = "cond_exp";
    options.delay = 1; /* Brian2's zero synaptic delay */
    CHECK(snn_network_connect_random(net, pre, post, 0.02, weight, seed, &options, &conn));
    CHECK(snn_connection_set_param(net, conn, "tau", tau));
    CHECK(snn_connection_set_param(net, conn, "e_rev", e_rev));
    return conn;
}

/* Initial conductances as in the benchmark: ge ~ N(4, 1.5) x 10 nS, gi ~ N(20, 12) x 10 nS,
 * i.e. N(4, 1.5) and N(20, 12) relative to the leak. */
static void init_conductance(snn_network* net, int32_t conn, double mean, double sd, uint64_t seed) {
    CHECK(snn_connection_randomize_state(net, conn, "g", SNN_DIST_NORMAL, mean, sd, seed));
}

int main(int argc, char** argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    const char* backend = argc > 2 ? argv[2] : "auto";
    const int64_t steps = 10000; /* 1 s */
    const float we = 6.0f / 10.0f;  /* 6 nS relative to gL = 10 nS */
    const float wi = 67.0f / 10.0f; /* 67 nS relative to gL */

    snn_context_options context_options;
    snn_network_options network_options;
    snn_context* context = NULL;
    snn_network* net = NULL;
    const char* backend_name = NULL;
    spike_counter counter = {{0, 0}};
    int32_t exc, inh;

    CHECK(snn_context_options_init(&context_options, sizeof context_options));
    context_options.backend = backend;
    CHECK(snn_context_create(&context_options, &context));
    CHECK(snn_context_backend(context, &backend_name));

    CHECK(snn_network_options_init(&network_options, sizeof network_options));
    network_options.dt = 1e-4;
    network_options.seed = seed;
    CHECK(snn_network_create(context, &network_options, &net));

    exc = add_lif(net, "exc", 3200, -60e-3); /* v_rest = El */
    inh = add_lif(net, "inh", 800, -60e-3);
    init_conductance(net, connect(net, exc, exc, we, 5e-3, 0.0, seed * 4 + 0), 4.0, 1.5, seed * 8 + 0);
    init_conductance(net, connect(net, exc, inh, we, 5e-3, 0.0, seed * 4 + 1), 4.0, 1.5, seed * 8 + 1);
    init_conductance(net, connect(net, inh, exc, wi, 10e-3, -80e-3, seed * 4 + 2), 20.0, 12.0, seed * 8 + 2);
    init_conductance(net, connect(net, inh, inh, wi, 10e-3, -80e-3, seed * 4 + 3), 20.0, 12.0, seed * 8 + 3);
    /* v = El + (randn() * 5 - 5) mV = (randn() * 5 - 65) mV, as in the benchmark's script */
    CHECK(snn_population_randomize_state(net, exc, "v", SNN_DIST_NORMAL, -65e-3, 5e-3, seed * 4 + 0));
    CHECK(snn_population_randomize_state(net, inh, "v", SNN_DIST_NORMAL, -65e-3, 5e-3, seed * 4 + 1));

    CHECK(snn_population_set_spike_callback(net, exc, count_spikes, &counter));
    CHECK(snn_population_set_spike_callback(net, inh, count_spikes, &counter));
    CHECK(snn_network_run(net, steps));

    print_rates("COBA", backend_name, seed, &counter, exc, inh);

    snn_network_destroy(net);
    snn_context_destroy(context);
    return 0;
}
