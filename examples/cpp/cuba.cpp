// CUBA from C++: the current-based benchmark network of Brian2's
// examples/CUBA.py (Vogels & Abbott 2005, as in Brette et al. 2007), built
// and run through include/snn/snn.hpp. 4000 LIF neurons (3200 excitatory,
// 800 inhibitory), random connections with probability 0.02, exponential
// current synapses, 1 s at dt = 0.1 ms.
//
//   example_cpp_cuba [seed] [backend]      prints the firing rate of each population
#include <snn/snn.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

namespace {

// A LIF population with the benchmark's parameters.
snn::Population add_lif(snn::Network& net, const char* name, int64_t n) {
    snn::Population pop = net.add_population(name, n, "lif");
    pop.set_param("tau_mem", 20e-3);
    pop.set_param("v_rest", -49e-3);  // El
    pop.set_param("v_reset", -60e-3);
    pop.set_param("v_th", -50e-3);
    pop.set_param("t_ref", 5e-3);
    return pop;
}

}  // namespace

int main(int argc, char** argv) try {
    const uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
    const char* backend = argc > 2 ? argv[2] : "auto";
    const int64_t steps = 10000;                    // 1 s
    const float we = 60 * 0.27f / 10 * 1e-3f;       // excitatory weight, volts
    const float wi = -20 * 4.5f / 10 * 1e-3f;       // inhibitory weight, volts

    // Owners are destroyed in reverse order: the network before its context.
    snn::Context ctx = snn::Context::create(snn::ContextOptions().backend(backend));
    snn::Network net = snn::Network::create(ctx, snn::NetworkOptions().dt(1e-4).seed(seed));
    snn::Population exc = add_lif(net, "exc", 3200);
    snn::Population inh = add_lif(net, "inh", 800);

    const snn::ConnectionOptions excitatory = snn::ConnectionOptions().synapse("exp");  // delay 1 = Brian2's zero delay
    const snn::ConnectionOptions inhibitory = snn::ConnectionOptions().synapse("exp");
    net.connect_random(exc, exc, 0.02, we, seed * 4 + 0, excitatory).set_param("tau", 5e-3);
    net.connect_random(exc, inh, 0.02, we, seed * 4 + 1, excitatory).set_param("tau", 5e-3);
    net.connect_random(inh, exc, 0.02, wi, seed * 4 + 2, inhibitory).set_param("tau", 10e-3);
    net.connect_random(inh, inh, 0.02, wi, seed * 4 + 3, inhibitory).set_param("tau", 10e-3);
    // v = Vr + rand() * (Vt - Vr)
    exc.randomize_state("v", snn::Distribution::uniform, -60e-3, -50e-3, seed * 4 + 0);
    inh.randomize_state("v", snn::Distribution::uniform, -60e-3, -50e-3, seed * 4 + 1);

    // Spike callbacks: any callable; they run after each step on this thread.
    int64_t exc_spikes = 0, inh_spikes = 0;
    exc.on_spike([&](const snn::SpikeEvent& e) { exc_spikes += static_cast<int64_t>(e.neuron_ids.size()); });
    inh.on_spike([&](int64_t, int32_t, snn::Span<const int32_t> ids) { inh_spikes += static_cast<int64_t>(ids.size()); });

    // The excitatory membrane potentials, written in place by every step ([batch][n]).
    std::vector<float> v(static_cast<std::size_t>(exc.size()));
    exc.bind_output("v", snn::Span<float>(v));

    net.run(steps);

    std::printf("CUBA (libsnn %s, C++, backend %s, seed %llu): 1 s simulated\n", snn::version_string(),
                ctx.backend().c_str(), static_cast<unsigned long long>(seed));
    std::printf("  exc: %.2f Hz\n", static_cast<double>(exc_spikes) / 3200.0);
    std::printf("  inh: %.2f Hz\n", static_cast<double>(inh_spikes) / 800.0);
    std::printf("  all: %.2f Hz\n", static_cast<double>(exc_spikes + inh_spikes) / 4000.0);
    double mean_v = 0;
    for (float x : v) mean_v += x;
    std::printf("  mean exc v after the last step: %.3f mV\n", mean_v / static_cast<double>(v.size()) * 1e3);
    return 0;
} catch (const snn::Error& e) {
    std::fprintf(stderr, "libsnn: %s\n", e.what());
    return 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
