// Included by kernels_<level>.cpp inside namespace snn::cpu::SNN_KERNEL_LEVEL.
// Plain loops the compiler vectorises for the level's instruction set; the
// order of float operations matches src/reference/engine.cpp exactly.

namespace {

void fill(float* x, float value, int64_t n) {
    for (int64_t j = 0; j < n; ++j) x[j] = value;
}

void add(float* __restrict sums, const float* __restrict w, int64_t n) {
    for (int64_t j = 0; j < n; ++j) sums[j] += w[j];
}

void add_scaled(float* __restrict sums, const float* __restrict w, float x, int64_t n) {
    for (int64_t j = 0; j < n; ++j) sums[j] += w[j] * x;
}

void multiply_add(float* __restrict acc, const float* __restrict x, const float* __restrict g, int64_t n) {
    for (int64_t j = 0; j < n; ++j) acc[j] += x[j] * g[j];
}

void scale(float* x, float c, int64_t n) {
    for (int64_t j = 0; j < n; ++j) x[j] *= c;
}

void add_masked(float* __restrict v, const float* __restrict sums, const int32_t* __restrict held, int64_t n) {
    for (int64_t j = 0; j < n; ++j) v[j] = held[j] == 0 ? v[j] + sums[j] : v[j];
}

// Threshold, reset and refractory after v has been integrated (phase 3).
// `was_held` is the neuron's held state at the start of the step.
inline void threshold_and_reset(const NeuronSpan& s, int64_t j, bool was_held) {
    float threshold = s.v_th[j];
    if (s.a) {
        s.a[j] *= s.adapt_decay[j];
        threshold += s.a[j];
    }
    const bool spike = !was_held && s.v[j] > threshold;
    if (spike) {
        s.v[j] = s.subtract ? s.v[j] - (s.v_th[j] - s.v_reset[j]) : s.v_reset[j];
        if (s.a) s.a[j] += s.delta_th[j];
        s.held[j] = s.refractory_steps[j];
    }
    s.spikes[j] = spike ? 1 : 0;
}

void update_exact(const NeuronSpan& s) {
    float* __restrict v = s.v;
    int32_t* __restrict held = s.held;
    const float* __restrict ei = s.exact_input;
    // Integrate (vectorised): held neurons keep v; the counter counts down.
    if (s.v_rest) {
        const float* __restrict vr = s.v_rest;
        const float* __restrict d = s.mem_decay;
        for (int64_t j = 0; j < s.n; ++j) {
            const float integrated = vr[j] + ((v[j] - vr[j]) * d[j] + ei[j]);
            v[j] = held[j] > 0 ? v[j] : integrated;
        }
    } else {
        for (int64_t j = 0; j < s.n; ++j) v[j] = held[j] > 0 ? v[j] : v[j] + ei[j];
    }
    if (!s.spiking) {  // li: never held, never spikes
        for (int64_t j = 0; j < s.n; ++j) s.spikes[j] = 0;
        return;
    }
    for (int64_t j = 0; j < s.n; ++j) {
        const bool was_held = held[j] > 0;
        if (was_held) --held[j];
        threshold_and_reset(s, j, was_held);
    }
}

// expm1(x) / x with its limit 1 at 0 (the same scalar libm call as "reference").
inline float phi(float x) { return x == 0.0f ? 1.0f : std::expm1(x) / x; }

void update_conductance(const NeuronSpan& s) {
    const bool leaky = s.v_rest != nullptr;
    for (int64_t j = 0; j < s.n; ++j) {
        const bool was_held = s.spiking && s.held[j] > 0;
        if (was_held) --s.held[j];
        if (!was_held) {
            const float a = (leaky ? s.v_rest[j] : 0.0f) + s.currents[j] + s.driven[j];
            const float g_total = (leaky ? 1.0f : 0.0f) + s.conductance[j];
            const float x = -g_total * s.dt_over_tau[j];
            s.v[j] += (a - g_total * s.v[j]) * s.dt_over_tau[j] * phi(x);
        }
        if (s.spiking)
            threshold_and_reset(s, j, was_held);
        else
            s.spikes[j] = 0;
    }
}

int32_t compact(const uint8_t* __restrict spikes, int32_t* __restrict ids, int64_t n) {
    int32_t count = 0;
    for (int64_t j = 0; j < n; ++j) {
        ids[count] = static_cast<int32_t>(j);
        count += spikes[j];
    }
    return count;
}

}  // namespace

const KernelTable& table() {
    static const KernelTable t{SNN_KERNEL_NAME, fill,        add,         add_scaled, multiply_add, scale,
                               add_masked,      update_exact, update_conductance, compact};
    return t;
}
