/* CUBA: the current-based benchmark network of Brian2's examples/CUBA.py
 * (Vogels & Abbott 2005, as in Brette et al. 2007), built and run from C.
 * 4000 LIF neurons (3200 excitatory, 800 inhibitory), random connections with
 * probability 0.02, exponential current synapses, 1 s at dt = 0.1 ms.
 *
 *   cuba [seed] [backend]      prints the firing rate of each population
 */
#include "example.h"

static void connect(snn_network* net, int32_t pre, int32_t post, float weight, double tau, uint64_t seed) {
    snn_connection_options options;
    int32_t conn = -1;
    CHECK(snn_connection_options_init(&options, sizeof options));
    options.synapse = "exp";
    options.delay = 1; /* Brian2's zero synaptic delay */
    CHECK(snn_network_connect_random(net, pre, post, 0.02, weight, seed, &options, &conn));
    CHECK(snn_connection_set_param(net, conn, "tau", tau));
}

int main(int argc, char** argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
    const char* backend = argc > 2 ? argv[2] : "auto";
    const int64_t steps = 10000; /* 1 s */
    const float we = 60 * 0.27f / 10 * 1e-3f; /* excitatory weight, volts */
    const float wi = -20 * 4.5f / 10 * 1e-3f; /* inhibitory weight, volts */

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

    exc = add_lif(net, "exc", 3200, -49e-3); /* v_rest = El */
    inh = add_lif(net, "inh", 800, -49e-3);
    connect(net, exc, exc, we, 5e-3, seed * 4 + 0);
    connect(net, exc, inh, we, 5e-3, seed * 4 + 1);
    connect(net, inh, exc, wi, 10e-3, seed * 4 + 2);
    connect(net, inh, inh, wi, 10e-3, seed * 4 + 3);
    /* v = Vr + rand() * (Vt - Vr) */
    CHECK(snn_population_randomize_state(net, exc, "v", SNN_DIST_UNIFORM, -60e-3, -50e-3, seed * 4 + 0));
    CHECK(snn_population_randomize_state(net, inh, "v", SNN_DIST_UNIFORM, -60e-3, -50e-3, seed * 4 + 1));

    CHECK(snn_population_set_spike_callback(net, exc, count_spikes, &counter));
    CHECK(snn_population_set_spike_callback(net, inh, count_spikes, &counter));
    CHECK(snn_network_run(net, steps));

    print_rates("CUBA", backend_name, seed, &counter, exc, inh);

    snn_network_destroy(net);
    snn_context_destroy(context);
    return 0;
}
