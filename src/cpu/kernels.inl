// Included by kernels_<level>.cpp inside namespace snn::cpu::SNN_KERNEL_LEVEL.
// Plain loops the compiler vectorises for the level's instruction set; the
// order of float operations matches src/reference/engine.cpp exactly.

namespace {

#if defined(__AVX512F__)
// In place: r[i] becomes column i of the 16 x 16 matrix of rows r. (GCC 12
// warns of the intrinsics' own undefined operands here: a false alarm.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline void transpose16(__m512 r[16]) {
    __m512 t[16], u[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {
        u[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; ++i) {
        t[i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(u[i], u[4 + i], 0xDD);
        t[8 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(u[8 + i], u[12 + i], 0xDD);
    }
    for (int i = 0; i < 8; ++i) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xDD);
    }
}
#pragma GCC diagnostic pop
#endif

void fill(float* x, float value, int64_t n) {
    for (int64_t j = 0; j < n; ++j) x[j] = value;
}

void add(float* __restrict sums, const float* __restrict w, int64_t n) {
    for (int64_t j = 0; j < n; ++j) sums[j] += w[j];
}

void add_scaled(float* __restrict sums, const float* __restrict w, float x, int64_t n) {
    for (int64_t j = 0; j < n; ++j) sums[j] += w[j] * x;
}

void nonzero(const uint8_t* __restrict x, uint8_t* __restrict out, int64_t n) {
    for (int64_t j = 0; j < n; ++j) out[j] = x[j] != 0;
}

void multiply_add(float* __restrict acc, const float* __restrict x, const float* __restrict g, int64_t n) {
    for (int64_t j = 0; j < n; ++j) acc[j] += x[j] * g[j];
}

void scale(float* x, float c, int64_t n) {
    for (int64_t j = 0; j < n; ++j) x[j] *= c;
}

// One pass per neuron: integrate (held neurons keep v), then threshold,
// reset and refractory, written with selects so the loop vectorises. The
// float operations and their order are those of the reference backend.
// (The arrays are parameters: GCC trusts __restrict on parameters only.)
// kInputs: -1 reads the summed exact input `ei`; 0, 1 or 2 computes it here from
// that many exp connections' currents (I_k, gain_k) and decays them (I_k *=
// d_k) in the same pass — the same operations as the separate passes.
// kUniform: every per-neuron parameter and gain array holds one value, read
// from element 0 (kept in a register instead of streamed from memory).
template <bool kIntegrate, bool kLeaky, bool kAdaptive, bool kSubtract, int kInputs, bool kUniform>
void exact_loop(int64_t n, float* __restrict v, float* __restrict a, int32_t* __restrict held, uint8_t* __restrict spikes,
                const float* __restrict ei, const float* __restrict vr, const float* __restrict decay,
                const float* __restrict v_th, const float* __restrict v_reset, const float* __restrict adapt_decay,
                const float* __restrict delta_th, const int32_t* __restrict refractory, float* __restrict i0,
                const float* __restrict g0, float d0, float* __restrict i1, const float* __restrict g1, float d1) {
    // Uniform parameters are loaded once here (the vectoriser does not hoist
    // loads of element 0 out of the loop by itself).
    auto once = [](bool used, const auto* x) { return kUniform && used ? x[0] : decltype(x[0] + 0)(0); };
    const float vr_u = once(kIntegrate && kLeaky, vr), decay_u = once(kIntegrate && kLeaky, decay);
    const float g0_u = once(kIntegrate && kInputs >= 1, g0), g1_u = once(kIntegrate && kInputs >= 2, g1);
    const float v_th_u = once(true, v_th), v_reset_u = once(true, v_reset);
    const float adapt_u = once(kAdaptive, adapt_decay), delta_u = once(kAdaptive, delta_th);
    const int32_t refractory_u = once(true, refractory);
    for (int64_t j = 0; j < n; ++j) {
        const float vr_j = kUniform ? vr_u : (kIntegrate && kLeaky ? vr[j] : 0.0f);
        const float decay_j = kUniform ? decay_u : (kIntegrate && kLeaky ? decay[j] : 0.0f);
        const float v_th_j = kUniform ? v_th_u : v_th[j];
        const float v_reset_j = kUniform ? v_reset_u : v_reset[j];
        const int32_t h = held[j];
        const bool was_held = h > 0;
        const float v0 = v[j];
        float v1 = v0;
        if (kIntegrate) {
            float input = 0.0f;
            if (kInputs < 0) input = ei[j];
            if (kInputs >= 1) {
                input += i0[j] * (kUniform ? g0_u : g0[j]);
                i0[j] *= d0;
            }
            if (kInputs >= 2) {
                input += i1[j] * (kUniform ? g1_u : g1[j]);
                i1[j] *= d1;
            }
            const float integrated = kLeaky ? vr_j + ((v0 - vr_j) * decay_j + input) : v0 + input;
            v1 = was_held ? v0 : integrated;
        }
        float threshold = v_th_j;
        float a1 = 0.0f;
        if (kAdaptive) {
            a1 = a[j] * (kUniform ? adapt_u : adapt_decay[j]);
            threshold += a1;
        }
        const bool spike = !was_held & (v1 > threshold);
        const float after_reset = kSubtract ? v1 - (v_th_j - v_reset_j) : v_reset_j;
        v[j] = spike ? after_reset : v1;
        if (kAdaptive) a[j] = spike ? a1 + (kUniform ? delta_u : delta_th[j]) : a1;
        // Most neurons are neither held nor spiking: store the counter only
        // where it changes (a masked store), saving a stream of writes.
        const int32_t h1 = spike ? (kUniform ? refractory_u : refractory[j]) : h - static_cast<int32_t>(was_held);
        if (h1 != h) held[j] = h1;
        spikes[j] = spike ? 1 : 0;
    }
}

template <bool kIntegrate, bool kLeaky, bool kAdaptive, bool kSubtract, bool kUniform>
void exact_pass(const NeuronSpan& s) {
    auto run = [&](auto inputs) {
        exact_loop<kIntegrate, kLeaky, kAdaptive, kSubtract, decltype(inputs)::value, kUniform>(
            s.n, s.v, s.a, s.held, s.spikes, s.exact_input, s.v_rest, s.mem_decay, s.v_th, s.v_reset, s.adapt_decay, s.delta_th,
            s.refractory_steps, s.input_state[0], s.input_gain[0], s.input_decay[0], s.input_state[1], s.input_gain[1],
            s.input_decay[1]);
    };
    if (!kIntegrate || s.fused_inputs < 0)
        run(std::integral_constant<int, -1>());
    else if (s.fused_inputs == 0)
        run(std::integral_constant<int, 0>());
    else if (s.fused_inputs == 1)
        run(std::integral_constant<int, 1>());
    else
        run(std::integral_constant<int, 2>());
}

template <bool kIntegrate, bool kLeaky, bool kAdaptive, bool kSubtract>
void exact_pass(const NeuronSpan& s) {
    if (s.uniform)
        exact_pass<kIntegrate, kLeaky, kAdaptive, kSubtract, true>(s);
    else
        exact_pass<kIntegrate, kLeaky, kAdaptive, kSubtract, false>(s);
}

template <bool kIntegrate, bool kLeaky, bool kAdaptive>
void exact_pass(const NeuronSpan& s) {
    if (s.subtract)
        exact_pass<kIntegrate, kLeaky, kAdaptive, true>(s);
    else
        exact_pass<kIntegrate, kLeaky, kAdaptive, false>(s);
}

// kIntegrate = false: threshold, reset and refractory only (v already integrated).
template <bool kIntegrate>
void exact_pass(const NeuronSpan& s) {
    if (s.v_rest)
        s.a ? exact_pass<kIntegrate, true, true>(s) : exact_pass<kIntegrate, true, false>(s);
    else
        s.a ? exact_pass<kIntegrate, false, true>(s) : exact_pass<kIntegrate, false, false>(s);
}

void update_exact(const NeuronSpan& s) {
    if (!s.spiking) {  // li: integrate only; never held, never spikes
        float* __restrict v = s.v;
        const float* __restrict vr = s.v_rest;
        const float* __restrict decay = s.mem_decay;
        const float* __restrict ei = s.exact_input;
        for (int64_t j = 0; j < s.n; ++j) v[j] = vr[j] + ((v[j] - vr[j]) * decay[j] + ei[j]);
        for (int64_t j = 0; j < s.n; ++j) s.spikes[j] = 0;
        return;
    }
    exact_pass<true>(s);
}

// Exponential Euler for conductance-based populations, in three passes so
// the bulk vectorises: the factor phi(x) by its series (core/phi.h), the rare
// |x| >= 0.5 by the library, then integration, threshold and reset.
template <bool kLeaky, bool kUniform>
void conductance_loop(int64_t n, float* __restrict v, int32_t* __restrict held, float* __restrict factor,
                      const float* __restrict currents, const float* __restrict conductance, const float* __restrict driven,
                      const float* __restrict dt_over_tau, const float* __restrict vr) {
    auto u = [](int64_t j) { return kUniform ? int64_t(0) : j; };  // index of the neuron's parameters
    int32_t beyond_series = 0;  // counted in the vector loop; the scalar fix-up runs only if any
    for (int64_t j = 0; j < n; ++j) {
        const float g_total = (kLeaky ? 1.0f : 0.0f) + conductance[j];
        const float x = -g_total * dt_over_tau[u(j)];
        factor[j] = phi_series(x);
        beyond_series += !(std::fabs(x) < kPhiSeriesLimit);
    }
    for (int64_t j = 0; beyond_series > 0 && j < n; ++j) {
        const float g_total = (kLeaky ? 1.0f : 0.0f) + conductance[j];
        const float x = -g_total * dt_over_tau[u(j)];
        if (!(std::fabs(x) < kPhiSeriesLimit)) factor[j] = phi_library(x);
    }
    for (int64_t j = 0; j < n; ++j) {
        const bool was_held = held[j] > 0;
        const float a = (kLeaky ? vr[u(j)] : 0.0f) + currents[j] + driven[j];
        const float g_total = (kLeaky ? 1.0f : 0.0f) + conductance[j];
        const float integrated = v[j] + (a - g_total * v[j]) * dt_over_tau[u(j)] * factor[j];
        v[j] = was_held ? v[j] : integrated;
    }
}

void update_conductance(const NeuronSpan& s) {
    // The integration pass leaves held neurons alone; threshold and reset
    // then run on every neuron (held ones only count down).
    auto run = [&](auto leaky, auto uniform) {
        conductance_loop<decltype(leaky)::value, decltype(uniform)::value>(s.n, s.v, s.held, s.scratch, s.currents, s.conductance,
                                                                           s.driven, s.dt_over_tau, s.v_rest);
    };
    using yes = std::true_type;
    using no = std::false_type;
    if (s.v_rest)
        s.uniform ? run(yes(), yes()) : run(yes(), no());
    else
        s.uniform ? run(no(), yes()) : run(no(), no());
    if (!s.spiking) {
        for (int64_t j = 0; j < s.n; ++j) s.spikes[j] = 0;
        return;
    }
    exact_pass<false>(s);
}

// Conductance-based populations whose only synaptic state is one or two
// cond_exp connections (COBA): the sums, phi, integration, decay of g and
// threshold/reset run chunk by chunk, so a chunk's arrays stay in L1 between
// the passes instead of streaming the population a dozen times. The float
// operations and their order are those of the separate passes (currents is
// the constant 0 there and here).
template <bool kLeaky, bool kUniform, int kInputs>
void conductance_chunk(int64_t n, float* __restrict v, const int32_t* __restrict held, float* __restrict g0, float e0,
                       float d0, float* __restrict g1, float e1, float d1, const float* __restrict dt_over_tau,
                       const float* __restrict vr, float* __restrict drive, float* __restrict g_total,
                       float* __restrict factor) {
    const float dto_u = kUniform ? dt_over_tau[0] : 0.0f, vr_u = kUniform && kLeaky ? vr[0] : 0.0f;
    auto dto = [&](int64_t j) { return kUniform ? dto_u : dt_over_tau[j]; };
    int32_t beyond_series = 0;
    for (int64_t j = 0; j < n; ++j) {
        float conductance = 0.0f, driven = 0.0f;
        const float currents = 0.0f;
        conductance += g0[j];
        driven += g0[j] * e0;
        g0[j] *= d0;  // the decay, after this step's value was read
        if (kInputs == 2) {
            conductance += g1[j];
            driven += g1[j] * e1;
            g1[j] *= d1;
        }
        const float vr_j = kLeaky ? (kUniform ? vr_u : vr[j]) : 0.0f;
        drive[j] = vr_j + currents + driven;
        const float total = (kLeaky ? 1.0f : 0.0f) + conductance;
        g_total[j] = total;
        const float x = -total * dto(j);
        factor[j] = phi_series(x);
        beyond_series += !(std::fabs(x) < kPhiSeriesLimit);
    }
    for (int64_t j = 0; beyond_series > 0 && j < n; ++j) {
        const float x = -g_total[j] * dto(j);
        if (!(std::fabs(x) < kPhiSeriesLimit)) factor[j] = phi_library(x);
    }
    for (int64_t j = 0; j < n; ++j) {
        const float integrated = v[j] + (drive[j] - g_total[j] * v[j]) * dto(j) * factor[j];
        v[j] = held[j] > 0 ? v[j] : integrated;
    }
}

void update_conductance_fused(const NeuronSpan& s) {
    constexpr int64_t kChunk = 512;
    float drive[kChunk], g_total[kChunk], factor[kChunk];
    for (int64_t c0 = 0; c0 < s.n; c0 += kChunk) {
        const int64_t m = s.n - c0 < kChunk ? s.n - c0 : kChunk;
        const int64_t pc = s.uniform ? 0 : c0;  // parameter offset
        auto run = [&](auto leaky, auto uniform, auto inputs) {
            conductance_chunk<decltype(leaky)::value, decltype(uniform)::value, decltype(inputs)::value>(
                m, s.v + c0, s.held + c0, s.input_state[0] + c0, s.input_e_rev[0], s.input_decay[0],
                s.input_state[1] ? s.input_state[1] + c0 : nullptr, s.input_e_rev[1], s.input_decay[1], s.dt_over_tau + pc,
                s.v_rest ? s.v_rest + pc : nullptr, drive, g_total, factor);
        };
        using yes = std::true_type;
        using no = std::false_type;
        using one = std::integral_constant<int, 1>;
        using two = std::integral_constant<int, 2>;
        if (s.v_rest) {
            if (s.uniform)
                s.fused_inputs == 2 ? run(yes(), yes(), two()) : run(yes(), yes(), one());
            else
                s.fused_inputs == 2 ? run(yes(), no(), two()) : run(yes(), no(), one());
        } else {
            if (s.uniform)
                s.fused_inputs == 2 ? run(no(), yes(), two()) : run(no(), yes(), one());
            else
                s.fused_inputs == 2 ? run(no(), no(), two()) : run(no(), no(), one());
        }
        if (!s.spiking) {
            for (int64_t j = 0; j < m; ++j) s.spikes[c0 + j] = 0;
            continue;
        }
        NeuronSpan chunk = s;
        chunk.n = m;
        chunk.v += c0;
        chunk.held += c0;
        chunk.spikes += c0;
        if (chunk.a) chunk.a += c0;
        for (const float** param : {&chunk.v_rest, &chunk.v_reset, &chunk.v_th, &chunk.adapt_decay, &chunk.delta_th})
            if (*param) *param += pc;
        chunk.refractory_steps += pc;
        exact_pass<false>(chunk);
    }
}

// Dense rows onto one column block of one or two instances' targets (see
// kernels.h). The block's running sums stay in registers (GCC vector types:
// four 16-float vectors per instance, split into narrower registers below
// AVX-512) while the rows stream from the packed block; for each column the
// additions are those of adding one row after another, in the same order.
// Two instances at once give the adder two independent chains per vector:
// one chain alone waits on the latency of each addition.
namespace dense {
typedef float f16 __attribute__((vector_size(64)));
typedef int32_t i16 __attribute__((vector_size(64)));
typedef float f16u __attribute__((vector_size(64), aligned(4)));
constexpr int kVectors = kDenseBlock / 16;
static_assert(kDenseBlock % 16 == 0, "whole vectors");

// The dense product (rows times graded values): a + w * x in one rounding
// where the level has fused multiply-add (Decision 5 allows this path to
// differ between levels within a tolerance; docs/models.md states it), else
// rounded twice like "reference". Spikes (values 1) only add: exact everywhere.
inline void multiply_add(f16& a, const f16& w, float x) {  // a += w * x
#if defined(__AVX512F__)
    const __m512 r = _mm512_fmadd_ps(reinterpret_cast<const __m512&>(w), _mm512_set1_ps(x), reinterpret_cast<const __m512&>(a));
    std::memcpy(&a, &r, sizeof a);
#elif defined(__FMA__)
    __m256 h[4];
    std::memcpy(h, &w, sizeof(f16));
    std::memcpy(h + 2, &a, sizeof(f16));
    h[2] = _mm256_fmadd_ps(h[0], _mm256_set1_ps(x), h[2]);
    h[3] = _mm256_fmadd_ps(h[1], _mm256_set1_ps(x), h[3]);
    std::memcpy(&a, h + 2, sizeof a);
#else
    a = a + w * x;
#endif
}

// 16 weights of a packed row as float32: float32 as stored, bfloat16 (the
// upper halves of float32 values) widened exactly by a 16-bit shift.
typedef uint16_t u16x16 __attribute__((vector_size(32), aligned(2)));
typedef uint32_t u32x16 __attribute__((vector_size(64)));
inline void load16(f16& out, const float* p) { out = *reinterpret_cast<const f16u*>(p); }
inline void load16(f16& out, const uint16_t* p) {
    const u32x16 wide = __builtin_convertvector(*reinterpret_cast<const u16x16*>(p), u32x16) << 16;
    std::memcpy(&out, &wide, sizeof out);
}

struct Sums {
    f16 acc[kVectors];
    i16 live[kVectors];  // -1 where the column takes input; 0 where held (delta input discarded) or past the width

    // The running sums: the targets themselves (spikes add straight onto
    // them), or zero for the dense product, whose sums store() adds to the
    // targets at the end (kernels.h).
    void load(const DenseRows& r, int64_t width, bool from_zero) {
        if (width == kDenseBlock) {  // a whole block: straight vector loads
            for (int q = 0; q < kVectors; ++q) {
                acc[q] = from_zero ? f16{} : *reinterpret_cast<const f16u*>(r.target + 16 * q);
                if (r.held) {
                    i16 h;
                    std::memcpy(&h, r.held + 16 * q, sizeof h);
                    live[q] = h == 0;  // -1 where true
                } else {
                    live[q] = i16{} == 0;
                }
            }
            return;
        }
        float sums[kDenseBlock] = {};
        int32_t open[kDenseBlock];
        for (int64_t c = 0; c < width; ++c) {
            sums[c] = from_zero ? 0.0f : r.target[c];
            open[c] = r.held && r.held[c] != 0 ? 0 : -1;
        }
        for (int64_t c = width; c < kDenseBlock; ++c) open[c] = 0;
        for (int q = 0; q < kVectors; ++q) {
            std::memcpy(&acc[q], sums + 16 * q, sizeof(f16));
            std::memcpy(&live[q], open + 16 * q, sizeof(i16));
        }
    }
    // add_to_target: target += sum where live (the dense product); else target = sum.
    void store(const DenseRows& r, int64_t width, bool add_to_target) const {
        float sums[kDenseBlock];
        int32_t open[kDenseBlock];
        for (int q = 0; q < kVectors; ++q) {
            std::memcpy(sums + 16 * q, &acc[q], sizeof(f16));
            std::memcpy(open + 16 * q, &live[q], sizeof(i16));
        }
        if (!add_to_target) {
            if (width == kDenseBlock) {
                std::memcpy(r.target, sums, sizeof sums);
                return;
            }
            for (int64_t c = 0; c < width; ++c) r.target[c] = sums[c];
            return;
        }
        for (int64_t c = 0; c < width; ++c) r.target[c] = open[c] ? r.target[c] + sums[c] : r.target[c];
    }
    bool all_live() const {
        i16 all = live[0];
        for (int q = 1; q < kVectors; ++q) all &= live[q];
        for (int c = 0; c < 16; ++c)
            if (all[c] == 0) return false;
        return true;
    }
    // kMasked = false: every column takes input (no held neuron, whole block).
    template <bool kValues, bool kMasked, class W>
    void add(const W* __restrict block, const DenseRows& r, int32_t k) {
        const W* row = block + static_cast<int64_t>(r.ids[k]) * kDenseBlock;
        const float x = kValues ? r.values[k] : 1.0f;
        for (int q = 0; q < kVectors; ++q) {
            f16 w;
            load16(w, row + 16 * q);
            f16 sum = acc[q];
            if (kValues)
                multiply_add(sum, w, x);
            else
                sum += w;
            acc[q] = !kMasked || live[q] ? sum : acc[q];
        }
    }
};

template <bool kValues, bool kMasked, class W>
void rows(const W* __restrict block, const DenseRows* r, int32_t instances, Sums& a, Sums& b) {
    if (instances == 1) {
        for (int32_t k = 0; k < r[0].count; ++k) a.add<kValues, kMasked>(block, r[0], k);
        return;
    }
    const int32_t both = r[0].count < r[1].count ? r[0].count : r[1].count;
    int32_t k = 0;
    for (; k < both; ++k) {
        a.add<kValues, kMasked>(block, r[0], k);
        b.add<kValues, kMasked>(block, r[1], k);
    }
    for (int32_t k0 = k; k0 < r[0].count; ++k0) a.add<kValues, kMasked>(block, r[0], k0);
    for (int32_t k1 = k; k1 < r[1].count; ++k1) b.add<kValues, kMasked>(block, r[1], k1);
}

template <bool kValues, class W>
void rows(const W* __restrict block, int64_t width, const DenseRows* r, int32_t instances) {
    Sums a{}, b{};  // (b unused for one instance)
    a.load(r[0], width, kValues);
    if (instances == 2) b.load(r[1], width, kValues);
    // The dense product's sums are masked when added to the targets.
    if (kValues || (a.all_live() && (instances == 1 || b.all_live())))
        rows<kValues, false>(block, r, instances, a, b);
    else
        rows<kValues, true>(block, r, instances, a, b);
    a.store(r[0], width, kValues);
    if (instances == 2) b.store(r[1], width, kValues);
}
}  // namespace dense

namespace dense {
// Four instances that all receive every row (a current source with no zero
// value, or a spike source whose neurons all fired): each row of weights is
// loaded once for the four, so the loop is bound by arithmetic, not loads.
template <bool kValues, bool kMasked, class W>
void all_rows4(const W* __restrict block, const DenseRows* r, Sums* s) {
    for (int32_t k = 0; k < r[0].count; ++k) {
        const W* row = block + static_cast<int64_t>(k) * kDenseBlock;
        f16 w[kVectors];
        for (int q = 0; q < kVectors; ++q) load16(w[q], row + 16 * q);
        for (int i = 0; i < 4; ++i) {
            const float x = kValues ? r[i].values[k] : 1.0f;
            for (int q = 0; q < kVectors; ++q) {
                f16 sum = s[i].acc[q];
                if (kValues)
                    multiply_add(sum, w[q], x);
                else
                    sum += w[q];
                s[i].acc[q] = !kMasked || s[i].live[q] ? sum : s[i].acc[q];
            }
        }
    }
}

template <bool kValues, class W>
void block_rows(const W* __restrict block, int64_t width, const DenseRows* r, int32_t instances, int64_t n_rows) {
    bool every_row = instances == 4;
    for (int32_t i = 0; every_row && i < 4; ++i) every_row = r[i].count == n_rows;
    if (every_row) {
        Sums s[4];
        bool live = true;
        for (int i = 0; i < 4; ++i) {
            s[i].load(r[i], width, kValues);
            live = live && s[i].all_live();
        }
        if (kValues || live)
            all_rows4<kValues, false>(block, r, s);
        else
            all_rows4<kValues, true>(block, r, s);
        for (int i = 0; i < 4; ++i) s[i].store(r[i], width, kValues);
        return;
    }
    for (int32_t i = 0; i < instances; i += 2) rows<kValues>(block, width, r + i, instances - i >= 2 ? 2 : 1);
}
}  // namespace dense

namespace dense {
// The dense product of many rows at once (kernels.h, dense_gemm): a register
// tile of kTileRows rows x one block (kTileRows * 4 vectors of sums), over
// panels of kPanel weight rows so that a panel stays in L2 and the tile's
// inputs in L1 while every tile streams it. Each sum runs over the weight
// rows in ascending order, as in dense_block: the same operations, only
// more rows share each load of weights.
#if defined(__AVX512F__)
constexpr int kTileRows = 6;  // 24 of the 32 vector registers hold sums
#else
constexpr int kTileRows = 1;
#endif
constexpr int64_t kPanel = kGemmPanel;

#if defined(__AVX512F__)
// AVX-512: the tile in named registers (GCC keeps a fully unrolled array of
// __m512 in registers; through the generic vector type it spills them).
inline __m512 load_weights(const float* p) { return _mm512_loadu_ps(p); }
// (GCC 12 warns, wrongly, that the intrinsics' own undefined passthrough
// operand may be used uninitialized.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
inline __m512 load_weights(const uint16_t* p) {
    const __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}
#pragma GCC diagnostic pop

template <int R, class W>
void gemm_tile(const W* __restrict block, int64_t i0, int64_t i1, const float* const* x, float* const* out, bool first) {
    static_assert(kVectors == 4, "four vectors per block row");
    __m512 acc[R][4];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) acc[r][q] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(out[r] + 16 * q);
    const float* xs[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) xs[r] = x[r];
    for (int64_t i = i0; i < i1; ++i) {
        const W* row = block + i * kDenseBlock;
        const __m512 w0 = load_weights(row), w1 = load_weights(row + 16), w2 = load_weights(row + 32), w3 = load_weights(row + 48);
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const __m512 xi = _mm512_set1_ps(xs[r][i]);
            acc[r][0] = _mm512_fmadd_ps(w0, xi, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(w1, xi, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(w2, xi, acc[r][2]);
            acc[r][3] = _mm512_fmadd_ps(w3, xi, acc[r][3]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) _mm512_storeu_ps(out[r] + 16 * q, acc[r][q]);
}
#else
template <int R, class W>
void gemm_tile(const W* __restrict block, int64_t i0, int64_t i1, const float* const* x, float* const* out, bool first) {
    f16 acc[R][kVectors];
    for (int r = 0; r < R; ++r)
        for (int q = 0; q < kVectors; ++q) acc[r][q] = first ? f16{} : *reinterpret_cast<const f16u*>(out[r] + 16 * q);
    for (int64_t i = i0; i < i1; ++i) {
        f16 w[kVectors];
        for (int q = 0; q < kVectors; ++q) load16(w[q], block + i * kDenseBlock + 16 * q);
        for (int r = 0; r < R; ++r) {
            const float xi = x[r][i];
            for (int q = 0; q < kVectors; ++q) multiply_add(acc[r][q], w[q], xi);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int q = 0; q < kVectors; ++q) std::memcpy(out[r] + 16 * q, &acc[r][q], sizeof(f16));
}
#endif
}  // namespace dense

template <class W>
void dense_gemm(const W* __restrict block, int64_t n_rows, int32_t blocks, const float* x, int64_t x_stride, float* out,
                int64_t out_stride, const int32_t* rows, int32_t count) {
    using namespace dense;
    // Panel by panel of weight rows, tile by tile of input rows, then block by
    // block: a tile's inputs are loaded into L1 once for all the blocks.
    const int64_t block_stride = n_rows * kDenseBlock;
    for (int64_t i0 = 0; i0 < n_rows; i0 += kPanel) {
        const int64_t i1 = i0 + kPanel < n_rows ? i0 + kPanel : n_rows;
        int32_t m = 0;
        const float* xs[kTileRows];
        float* outs[kTileRows];
        for (; m + kTileRows <= count; m += kTileRows) {
            for (int32_t q = 0; q < blocks; ++q) {
                for (int r = 0; r < kTileRows; ++r) {
                    xs[r] = x + rows[m + r] * x_stride;
                    outs[r] = out + q * out_stride + static_cast<int64_t>(rows[m + r]) * kDenseBlock;
                }
                gemm_tile<kTileRows>(block + q * block_stride, i0, i1, xs, outs, i0 == 0);
            }
        }
        for (; m < count; ++m)
            for (int32_t q = 0; q < blocks; ++q) {
                xs[0] = x + rows[m] * x_stride;
                outs[0] = out + q * out_stride + static_cast<int64_t>(rows[m]) * kDenseBlock;
                gemm_tile<1>(block + q * block_stride, i0, i1, xs, outs, i0 == 0);
            }
    }
}

// Sparse rows: target[post[q]] += w[q] (or `weight` when uniform) over the
// rows of `ids` in order, skipping targets with held != 0 (held may be
// nullptr). The rows lie at random places in memory: the rows two spikes
// ahead are prefetched while this one is added, so their cache misses
// overlap. AVX-512 adds 16 synapses of a row at once (gather, add, scatter)
// unless the row names a target twice (repeats[i] != 0): each target then
// receives the same additions in the same order as one synapse at a time.
namespace sparse {
template <typename Index>
inline void prefetch_row(const int64_t* row_ptr, const Index* post, const float* w, int32_t i, bool weights) {
    const int64_t begin = row_ptr[i], end = row_ptr[i + 1];
    if (begin == end) return;
    const char* first = reinterpret_cast<const char*>(post + begin);
    const char* last = reinterpret_cast<const char*>(post + end - 1);
    for (const char* line = first; line <= last; line += 64) __builtin_prefetch(line);
    __builtin_prefetch(last);
    if (weights) {
        const char* wf = reinterpret_cast<const char*>(w + begin);
        const char* wl = reinterpret_cast<const char*>(w + end - 1);
        for (const char* line = wf; line <= wl; line += 64) __builtin_prefetch(line);
        __builtin_prefetch(wl);
    }
}

#if defined(__AVX512F__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // (as in load_weights)
inline __m512i load_indices(const uint16_t* p, __mmask16 m) {
    return _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
}
#pragma GCC diagnostic pop
inline __m512i load_indices(const int32_t* p, __mmask16 m) { return _mm512_maskz_loadu_epi32(m, p); }
#endif

template <bool kUniform, bool kMasked, bool kVector, typename Index>
void rows(const int32_t* ids, int32_t count, const int64_t* __restrict row_ptr, const Index* __restrict post,
          const float* __restrict w, float weight, float* __restrict target, const int32_t* __restrict held,
          const uint8_t* __restrict repeats) {
    (void)repeats;  // (read by the vector path only)
    constexpr int32_t kAhead = 2;
    for (int32_t k = 0; k < (count < kAhead ? count : kAhead); ++k) prefetch_row(row_ptr, post, w, ids[k], !kUniform);
    for (int32_t k = 0; k < count; ++k) {
        if (k + kAhead < count) prefetch_row(row_ptr, post, w, ids[k + kAhead], !kUniform);
        int64_t q = row_ptr[ids[k]];
        const int64_t end = row_ptr[ids[k] + 1];
#if defined(__AVX512F__)
        if (kVector && !(repeats && repeats[ids[k]])) {
            for (; q < end; q += 16) {
                const int64_t left = end - q;
                __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
                const __m512i j = load_indices(post + q, m);
                const __m512 value = kUniform ? _mm512_set1_ps(weight) : _mm512_maskz_loadu_ps(m, w + q);
                if (kMasked)
                    m = _mm512_mask_cmpeq_epi32_mask(m, _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, j, held, 4),
                                                     _mm512_setzero_si512());
                const __m512 sum = _mm512_add_ps(_mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, j, target, 4), value);
                _mm512_mask_i32scatter_ps(target, m, j, sum, 4);
            }
            continue;
        }
#endif
        for (; q < end; ++q) {
            const int64_t j = post[q];
            const float value = kUniform ? weight : w[q];
            if (!kMasked || held[j] == 0) target[j] += value;
        }
    }
}

template <bool kVector, typename Index>
void rows(const int32_t* ids, int32_t count, const int64_t* row_ptr, const Index* post, const float* w, float weight, bool uniform,
          float* target, const int32_t* held, const uint8_t* repeats) {
    if (uniform)
        held ? rows<true, true, kVector>(ids, count, row_ptr, post, w, weight, target, held, repeats)
             : rows<true, false, kVector>(ids, count, row_ptr, post, w, weight, target, held, repeats);
    else
        held ? rows<false, true, kVector>(ids, count, row_ptr, post, w, weight, target, held, repeats)
             : rows<false, false, kVector>(ids, count, row_ptr, post, w, weight, target, held, repeats);
}
}  // namespace sparse

// kVector: 16 synapses at a time by gather, add and scatter (AVX-512 only;
// select_kernels decides whether the CPU's scatter is fast enough to use it).
template <bool kVector>
void sparse_rows(const int32_t* ids, int32_t count, const int64_t* row_ptr, const uint16_t* post16, const int32_t* post32,
                 const float* w, float weight, bool uniform, const uint8_t* repeats, float* target, const int32_t* held) {
    post16 ? sparse::rows<kVector>(ids, count, row_ptr, post16, w, weight, uniform, target, held, repeats)
           : sparse::rows<kVector>(ids, count, row_ptr, post32, w, weight, uniform, target, held, repeats);
}

template <class W>
void dense_block(const W* __restrict block, int64_t width, const DenseRows* rows, int32_t instances, int64_t n_rows) {
    // All instances carry values or all are spikes: they come from the same population.
    if (rows[0].values)
        dense::block_rows<true>(block, width, rows, instances, n_rows);
    else
        dense::block_rows<false>(block, width, rows, instances, n_rows);
}

// Poisson spikes: u < p[j] with u from libsnn's counter-based generator:
// word j % 4 of the block at (seed, stream, batch, step, j / 4). Integer
// arithmetic only: every level gives the same bits as the scalar reference;
// the loop over blocks vectorises.
#if defined(__AVX512F__) && defined(__BMI2__)
// Philox4x32-10 (core/rng.h) of 16 blocks at once, one per lane: the same
// words as random_words(seed, stream, batch, step, first + lane).
// (The maskz_ forms with full masks: GCC 12 warns of the plain ones' undefined pass-through.)
inline __m512i mulhi_epu32(__m512i a, __m512i b) {
    const __m512i even = _mm512_maskz_srli_epi64(0xFF, _mm512_maskz_mul_epu32(0xFF, a, b), 32);
    const __m512i odd = _mm512_maskz_mul_epu32(0xFF, _mm512_maskz_srli_epi64(0xFF, a, 32), _mm512_maskz_srli_epi64(0xFF, b, 32));
    return _mm512_mask_blend_epi32(0xAAAA, even, odd);
}
inline void philox16(uint64_t seed, uint32_t stream, uint32_t batch, uint64_t step, uint32_t first, __m512i out[4]) {
    const __m512i mul0 = _mm512_set1_epi32(static_cast<int32_t>(0xD2511F53u)), mul1 = _mm512_set1_epi32(static_cast<int32_t>(0xCD9E8D57u));
    const __m512i weyl0 = _mm512_set1_epi32(static_cast<int32_t>(0x9E3779B9u)), weyl1 = _mm512_set1_epi32(static_cast<int32_t>(0xBB67AE85u));
    __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int32_t>(first)),
                                  _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i c1 = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(step)));
    __m512i c2 = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(step >> 32)));
    __m512i c3 = _mm512_set1_epi32(static_cast<int32_t>(batch));
    __m512i k0 = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(seed)));
    __m512i k1 = _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(seed >> 32) ^ (stream * 0x85EBCA6Bu + 0x27D4EB2Fu)));
    for (int round = 0; round < 10; ++round) {
        const __m512i hi0 = mulhi_epu32(mul0, c0), lo0 = _mm512_mullo_epi32(mul0, c0);
        const __m512i hi1 = mulhi_epu32(mul1, c2), lo1 = _mm512_mullo_epi32(mul1, c2);
        c0 = _mm512_ternarylogic_epi32(hi1, c1, k0, 0x96);  // a ^ b ^ c
        c2 = _mm512_ternarylogic_epi32(hi0, c3, k1, 0x96);
        c1 = lo1;
        c3 = lo0;
        k0 = _mm512_add_epi32(k0, weyl0);
        k1 = _mm512_add_epi32(k1, weyl1);
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}
#endif

void poisson(uint8_t* __restrict spikes, const float* __restrict probability, int64_t n, uint64_t seed, uint32_t stream,
             uint32_t batch, uint64_t step) {
    const int64_t blocks = n / 4;
    int64_t first = 0;
#if defined(__AVX512F__) && defined(__BMI2__)
    // 64 neurons at a time: word k of block m is neuron 4 m + k's draw; the
    // probabilities are split by k to match, the four compare masks
    // interleaved back into neuron order. The same comparisons as below.
    const __m512 scale = _mm512_set1_ps(1.0f / 16777216.0f);
    for (; first + 16 <= blocks; first += 16) {
        __m512i words[4];
        philox16(seed, stream, batch, step, static_cast<uint32_t>(first), words);
        const float* p = probability + 4 * first;
        const __m512 p0 = _mm512_loadu_ps(p), p1 = _mm512_loadu_ps(p + 16), p2 = _mm512_loadu_ps(p + 32), p3 = _mm512_loadu_ps(p + 48);
        uint64_t bits = 0;
        for (int k = 0; k < 4; ++k) {
            const __m512i by4 = _mm512_add_epi32(_mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 0, 0, 0, 0, 0, 0, 0), _mm512_set1_epi32(k));
            const __m512 low = _mm512_permutex2var_ps(p0, by4, p1), high = _mm512_permutex2var_ps(p2, by4, p3);
            const __m512 pk = _mm512_maskz_shuffle_f32x4(0xFFFF, low, high, 0x44);  // lanes 0-7 of low, then of high
            const __m512 u = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, _mm512_maskz_srli_epi32(0xFFFF, words[k], 8)), scale);
            const __mmask16 fired = _mm512_cmp_ps_mask(u, pk, _CMP_LT_OQ);
            bits |= _pdep_u64(fired, 0x1111111111111111ull << k);
        }
        _mm512_storeu_si512(spikes + 4 * first, _mm512_maskz_set1_epi8(bits, 1));
    }
#endif
    for (int64_t m = first; m < blocks; ++m) {
        const Philox4x32 words = random_words(seed, stream, batch, step, static_cast<uint32_t>(m));
        for (int k = 0; k < 4; ++k) spikes[4 * m + k] = uniform_float(words.v[k]) < probability[4 * m + k] ? 1 : 0;
    }
    if (blocks * 4 < n) {
        const Philox4x32 words = random_words(seed, stream, batch, step, static_cast<uint32_t>(blocks));
        for (int64_t j = blocks * 4; j < n; ++j) spikes[j] = uniform_float(words.v[j & 3]) < probability[j] ? 1 : 0;
    }
}

int32_t compact(const uint8_t* __restrict spikes, int32_t* __restrict ids, int64_t n) {
    // Spikes are mostly sparse: skip blocks of 64 neurons with none (eight
    // 8-byte words OR-ed); in a block with few, visit only the set bytes
    // (each spike byte is 0 or 1, so its lowest bit marks it).
    static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "byte k of a word is bits 8k..8k+7");
    int32_t count = 0;
    int64_t j = 0;
#if defined(__AVX512BW__)
    // One bit per neuron from one instruction, then for each 16 neurons their
    // ids compressed into one register and stored whole (the lanes past the
    // count are overwritten by the next store; the last store ends within
    // the 64 neurons read): no branch on how many spiked.
    const __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (; j + 64 <= n; j += 64) {
        const __m512i x = _mm512_loadu_si512(spikes + j);
        const uint64_t mask = _mm512_test_epi8_mask(x, x);
        if (mask == 0) continue;  // (most blocks at low rates: a predictable branch)
        for (int q = 0; q < 4; ++q) {
            const auto m = static_cast<__mmask16>(mask >> (16 * q));
            const __m512i idx = _mm512_add_epi32(lanes, _mm512_set1_epi32(static_cast<int32_t>(j + 16 * q)));
            _mm512_storeu_si512(ids + count, _mm512_maskz_compress_epi32(m, idx));
            count += __builtin_popcount(m);
        }
    }
#endif
    for (; j + 64 <= n; j += 64) {
        uint64_t words[8];
        std::memcpy(words, spikes + j, sizeof words);
        uint64_t any = 0;
        for (uint64_t w : words) any |= w;
        if (any == 0) continue;
        int set = 0;
        for (uint64_t w : words) set += __builtin_popcountll(w);
        if (set <= 8) {  // few: one iteration per spike
            for (int k = 0; k < 8; ++k)
                for (uint64_t w = words[k]; w != 0; w &= w - 1)
                    ids[count++] = static_cast<int32_t>(j + 8 * k + (__builtin_ctzll(w) >> 3));
        } else {  // many: branch-free, one iteration per neuron
            for (int64_t k = j; k < j + 64; ++k) {
                ids[count] = static_cast<int32_t>(k);
                count += spikes[k];
            }
        }
    }
    for (; j < n; ++j) {
        ids[count] = static_cast<int32_t>(j);
        count += spikes[j];
    }
    return count;
}

void add_transposed(float* __restrict out, const float* __restrict in, int64_t rows, int64_t cols) {
    int64_t r0 = 0;
#if defined(__AVX512F__)
    // 16 rows x 16 columns at a time, transposed in registers.
    for (; r0 + 16 <= rows; r0 += 16)
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            const int64_t n = std::min<int64_t>(16, cols - c0);
            const __mmask16 lanes = static_cast<__mmask16>((1u << n) - 1);
            __m512 t[16];
            for (int r = 0; r < 16; ++r) t[r] = _mm512_maskz_loadu_ps(lanes, in + (r0 + r) * cols + c0);
            transpose16(t);
            for (int64_t c = 0; c < n; ++c) {
                float* o = out + (c0 + c) * rows + r0;
                _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), t[c]));
            }
        }
#endif
    for (int64_t c = 0; c < cols; ++c)
        for (int64_t r = r0; r < rows; ++r) out[c * rows + r] += in[r * cols + c];
}

int32_t compact_bits(const uint64_t* __restrict bits, int32_t* __restrict ids, int64_t n) {
    int32_t count = 0;
    const int64_t words = (n + 63) / 64;
    for (int64_t word = 0; word < words; ++word) {
        uint64_t m = bits[word];
        if (word == words - 1 && n % 64 != 0) m &= (uint64_t(1) << (n % 64)) - 1;
#if defined(__AVX512F__)
        // Each 16 neurons' ids compressed into one register and stored whole
        // (the lanes past the count are overwritten by the next store): no
        // branch on how many spiked.
        if (m == 0) continue;
        const __m512i lanes = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32(static_cast<int32_t>(word * 64)));
        for (int q = 0; q < 4; ++q) {
            const auto k = static_cast<__mmask16>(m >> (16 * q));
            _mm512_storeu_si512(ids + count, _mm512_maskz_compress_epi32(k, _mm512_add_epi32(lanes, _mm512_set1_epi32(16 * q))));
            count += __builtin_popcount(k);
        }
#else
        for (; m != 0; m &= m - 1) ids[count++] = static_cast<int32_t>(word * 64 + __builtin_ctzll(m));
#endif
    }
    return count;
}

// Training: elementwise loops the compiler vectorises (selects, no
// branches); the float operations and their order are those of the
// reference step (train_forward) and of docs/training.md (train_backward).
namespace train {
constexpr float kHalfPi = 1.57079632679489662f;

template <int kSurrogate>
inline float surrogate(float k, float x) {
    if (kSurrogate == 0) {
        const float d = 1.0f + k * std::fabs(x);
        return 1.0f / (d * d);
    }
    if (kSurrogate == 1) {
        const float u = kHalfPi * k * x;
        return (k / 2.0f) / (1.0f + u * u);
    }
    const float r = 1.0f - k * std::fabs(x);
    return r > 0.0f ? r : 0.0f;
}

// Bytes 0/1 to bits: bit j of word j / 64.
inline void pack(const uint8_t* __restrict fired, uint64_t* __restrict bits, int64_t n) {
    int64_t j = 0;
#if defined(__AVX512BW__)
    for (; j + 64 <= n; j += 64) {
        const __m512i x = _mm512_loadu_si512(fired + j);
        bits[j >> 6] |= _mm512_test_epi8_mask(x, x);
    }
#endif
    for (; j < n; ++j) bits[j >> 6] |= static_cast<uint64_t>(fired[j]) << (j & 63);
}

template <bool kSubtract>
void forward_adaptive(const TrainNeurons& s) {
    const int64_t n = s.n;
    float* __restrict v = s.v;
    float* __restrict a = s.a;
    float* __restrict m = s.m;
    float* __restrict a_decayed = s.a_decayed;
    const float* __restrict v_th = s.v_th;
    const float* __restrict v_reset = s.v_reset;
    const float* __restrict adapt_decay = s.adapt_decay;
    const float* __restrict delta_th = s.delta_th;
    constexpr int64_t kChunk = 256;
    uint8_t fired[kChunk];
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int64_t width = n - j0 < kChunk ? n - j0 : kChunk;
        for (int64_t k = 0; k < width; ++k) {
            const int64_t j = j0 + k;
            const float x = v[j];
            const float a1 = a[j] * adapt_decay[j];
            m[j] = x;
            a_decayed[j] = a1;
            const bool spike = x > v_th[j] + a1;
            const float after = kSubtract ? x - (v_th[j] - v_reset[j]) : v_reset[j];
            v[j] = spike ? after : x;
            a[j] = spike ? a1 + delta_th[j] : a1;
            fired[k] = spike;
        }
        pack(fired, s.bits + (j0 >> 6), width);
    }
}

template <bool kLeaky, bool kSpiking, bool kSubtract>
void forward(const TrainNeurons& s) {
    const int64_t n = s.n;
    float* __restrict v = s.v;
    const float* __restrict ei = s.ei;
    const float* __restrict v_rest = s.v_rest;
    const float* __restrict decay = s.decay;
    for (int64_t j = 0; j < n; ++j) v[j] = kLeaky ? v_rest[j] + ((v[j] - v_rest[j]) * decay[j] + ei[j]) : v[j] + ei[j];
    if (!kSpiking) return;
    if (s.a) {
        forward_adaptive<kSubtract>(s);
        return;
    }
    float* __restrict m = s.m;
    const float* __restrict v_th = s.v_th;
    const float* __restrict v_reset = s.v_reset;
    constexpr int64_t kChunk = 256;
    uint8_t fired[kChunk];
    for (int64_t j0 = 0; j0 < n; j0 += kChunk) {
        const int64_t width = n - j0 < kChunk ? n - j0 : kChunk;
        for (int64_t k = 0; k < width; ++k) {
            const int64_t j = j0 + k;
            const float x = v[j];
            m[j] = x;
            const bool spike = x > v_th[j];
            const float after = kSubtract ? x - (v_th[j] - v_reset[j]) : v_reset[j];
            v[j] = spike ? after : x;
            fired[k] = spike;
        }
        pack(fired, s.bits + (j0 >> 6), width);  // j0 is a multiple of 64
    }
}

template <bool kSubtract, bool kDetach, int kSurrogate>
void backward_spiking(const TrainNeurons& s) {
    const int64_t n = s.n;
    const float* __restrict g_out = s.g_out;
    const float* __restrict m = s.m;
    const float* __restrict v_th = s.v_th;
    const float* __restrict v_reset = s.v_reset;
    const float* __restrict scale = s.scale;
    const uint64_t* __restrict bits = s.bits;
    float* __restrict gv = s.gv;
    float* __restrict gm = s.gm;
    for (int64_t j = 0; j < n; ++j) {
        const bool spiked = (bits[j >> 6] >> (j & 63)) & 1u;
        float gs = g_out[j];  // dL/ds
        float g;
        if (kSubtract) {
            g = gv[j];
            if (!kDetach) gs -= gv[j] * (v_th[j] - v_reset[j]);
        } else {
            g = spiked ? 0.0f : gv[j];
            if (!kDetach) gs += gv[j] * (v_reset[j] - m[j]);
        }
        gm[j] = g + gs * surrogate<kSurrogate>(scale[j], m[j] - v_th[j]);
    }
}

// alif: the threshold is v_th + a~ with a~ = a * adapt_decay of the step,
// and a = a~ + delta_th s after it; dL/ds also collects dL/da * delta_th.
template <bool kSubtract, bool kDetach, int kSurrogate>
void backward_adaptive(const TrainNeurons& s) {
    const int64_t n = s.n;
    const float* __restrict g_out = s.g_out;
    const float* __restrict m = s.m;
    const float* __restrict a_decayed = s.a_decayed;
    const float* __restrict v_th = s.v_th;
    const float* __restrict v_reset = s.v_reset;
    const float* __restrict scale = s.scale;
    const float* __restrict adapt_decay = s.adapt_decay;
    const float* __restrict delta_th = s.delta_th;
    const uint64_t* __restrict bits = s.bits;
    float* __restrict gv = s.gv;
    float* __restrict gm = s.gm;
    float* __restrict ga = s.ga;
    for (int64_t j = 0; j < n; ++j) {
        const bool spiked = (bits[j >> 6] >> (j & 63)) & 1u;
        float gs = g_out[j] + ga[j] * delta_th[j];
        float g;
        if (kSubtract) {
            g = gv[j];
            if (!kDetach) gs -= gv[j] * (v_th[j] - v_reset[j]);
        } else {
            g = spiked ? 0.0f : gv[j];
            if (!kDetach) gs += gv[j] * (v_reset[j] - m[j]);
        }
        const float slope = gs * surrogate<kSurrogate>(scale[j], m[j] - (v_th[j] + a_decayed[j]));
        gm[j] = g + slope;
        ga[j] = (ga[j] - slope) * adapt_decay[j];
    }
}

template <bool kSubtract, bool kDetach>
void backward_spiking(const TrainNeurons& s) {
    if (s.a_decayed) {
        s.surrogate == 0 ? backward_adaptive<kSubtract, kDetach, 0>(s)
        : s.surrogate == 1 ? backward_adaptive<kSubtract, kDetach, 1>(s) : backward_adaptive<kSubtract, kDetach, 2>(s);
        return;
    }
    s.surrogate == 0 ? backward_spiking<kSubtract, kDetach, 0>(s)
    : s.surrogate == 1 ? backward_spiking<kSubtract, kDetach, 1>(s) : backward_spiking<kSubtract, kDetach, 2>(s);
}
}  // namespace train

void train_forward(const TrainNeurons& s) {
    if (!s.spiking)
        s.leaky ? train::forward<true, false, false>(s) : train::forward<false, false, false>(s);
    else if (s.leaky)
        s.subtract ? train::forward<true, true, true>(s) : train::forward<true, true, false>(s);
    else
        s.subtract ? train::forward<false, true, true>(s) : train::forward<false, true, false>(s);
}

// gm = dL/dm (the li readout: gv + g_out), then gv = dL/d(v after delivery):
// gm * decay (lif, li) or gm (if).
void train_backward(const TrainNeurons& s) {
    const int64_t n = s.n;
    if (!s.spiking) {
        for (int64_t j = 0; j < n; ++j) s.gm[j] = s.gv[j] + s.g_out[j];
    } else if (s.subtract) {
        s.detach ? train::backward_spiking<true, true>(s) : train::backward_spiking<true, false>(s);
    } else {
        s.detach ? train::backward_spiking<false, true>(s) : train::backward_spiking<false, false>(s);
    }
    float* __restrict gv = s.gv;
    const float* __restrict gm = s.gm;
    const float* __restrict decay = s.decay;
    if (s.leaky)
        for (int64_t j = 0; j < n; ++j) gv[j] = gm[j] * decay[j];
    else
        for (int64_t j = 0; j < n; ++j) gv[j] = gm[j];
}

// The row operations above, for the conv2d loops (core/conv_loops.h).
inline void row_add(float* __restrict y, const float* __restrict x, int64_t n) { add(y, x, n); }
inline void row_add_scaled(float* __restrict y, const float* __restrict x, float a, int64_t n) { add_scaled(y, x, a, n); }
struct RowOps {
    static void add(float* __restrict y, const float* __restrict x, int64_t n) { row_add(y, x, n); }
    static void add_scaled(float* __restrict y, const float* __restrict x, float a, int64_t n) { row_add_scaled(y, x, a, n); }
};

// The conv2d forward (kernels.h, conv_forward). Two ways to the same sums:
// by arrivals (core/conv_loops.h: each value adds its kernel rows into the
// convolution in memory; cheap when few values arrive, but every vector is
// a load, an add and a store) and by outputs (gather_tile: a tile of output
// positions x channel vectors sums in registers the kernel taps of the
// arrived inputs in its receptive field, found as set bits of per-row
// masks, and is stored once). Both add each output's terms in ascending
// presynaptic order from zero, so they give the same bits; the cheaper one
// for the arrival count runs.

// The presynaptic ids (ascending, from `first`) as bits x + px of rows
// (rows[(i - first) / in_w], zeroed by the caller). The row by a product
// with the reciprocal in double: (j + 0.5) / in_w is never within rounding
// of an integer, so the truncation is exact, and no division or data-
// dependent branch runs per id.
inline void set_row_bits(const ConvShape& s, const int32_t* ids, int64_t count, int64_t first, uint64_t* rows) {
    const double per_row = 1.0 / s.in_w;
    for (int64_t k = 0; k < count; ++k) {
        const int64_t j = ids[k] - first, y = static_cast<int64_t>((static_cast<double>(j) + 0.5) * per_row);
        rows[y] |= uint64_t(1) << (j - y * s.in_w + s.px);
    }
}

// Vectors of up to 16 floats (the conv kernels' channel tails).
namespace pool_vec {
using dense::f16;
using dense::f16u;
using dense::i16;

// The first n <= 16 floats at p (the others: zero), and back.
inline void load_part(f16& out, const float* p, int64_t n) {
#if defined(__AVX512F__)
    if (n == 16) {  // (a plain load: masked ones are slower)
        out = *reinterpret_cast<const f16u*>(p);
        return;
    }
    const __m512 x = _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1), p);
    std::memcpy(&out, &x, sizeof out);
#else
    if (n == 16) {
        out = *reinterpret_cast<const f16u*>(p);
        return;
    }
    alignas(64) float t[16] = {};
    std::memcpy(t, p, static_cast<std::size_t>(n) * sizeof(float));
    std::memcpy(&out, t, sizeof out);
#endif
}
inline void store_part(float* p, const f16& x, int64_t n) {
#if defined(__AVX512F__)
    if (n == 16) {
        *reinterpret_cast<f16u*>(p) = x;
        return;
    }
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1), reinterpret_cast<const __m512&>(x));
#else
    if (n == 16)
        *reinterpret_cast<f16u*>(p) = x;
    else
        std::memcpy(p, &x, static_cast<std::size_t>(n) * sizeof(float));
#endif
}
}  // namespace pool_vec

namespace conv_fwd {
using dense::f16;
using dense::f16u;
constexpr int kMaxVectors = 4;
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "a field word's byte k is kernel row ky = k");

// The gather's pieces of the caller's work (kernels.h, conv_work::forward).
struct View {
    uint64_t* rows;     // [in_c][in_h]: a row's arrived columns as bits x + px (the padding stays zero)
    uint8_t* windows;   // [tile column][in_c][py + in_h + py + 8]: a row's bits in a tile's window
    float* values;      // [in_c][in_h][in_w], set where a bit is (graded inputs)
    // Tiles of P > 1 columns: each kernel row (ci, ky) widened with
    // (P - 1) * sx zero taps on each side, [in_c][kh][wide_taps][wide_stride]
    // (conv_work), so that every (window column, tile column) pair has a tap
    // to add, zero where the input does not reach the column, and every load
    // is aligned.
    float* wide;
    int64_t wide_taps, wide_stride;
    // Tiles of one column, spikes: `per_word` input channels share a field
    // word (kh * kw bits each, compacted), fewer mispredicted loop exits;
    // tap[q] is bit q's kernel offset from its first channel.
    int32_t* tap;
    int64_t per_word;
};

// The kh bytes of a field word, kw bits each, as kh * kw contiguous bits.
inline uint64_t compact(uint64_t m, int64_t kh, int64_t kw, uint64_t mask) {
#if defined(__BMI2__)
    (void)kh;
    (void)kw;
    return _pext_u64(m, mask);
#else
    (void)mask;
    uint64_t c = 0;
    for (int64_t ky = 0; ky < kh; ++ky) c |= ((m >> (8 * ky)) & ((uint64_t(1) << kw) - 1)) << (ky * kw);
    return c;
#endif
}
using conv_work::block_columns;
using conv_work::gather_fits;
using conv_work::window_stride;

// The windows of tiles `columns` wide: for tile column t, input row (ci, y)'s
// bits from padded column t * columns * sx, at [t][ci][py + y].
inline void build_windows(const ConvShape& s, int64_t columns, View& r) {
    const int64_t tiles = (s.conv_w + columns - 1) / columns, stride = window_stride(s), span = (columns - 1) * s.sx + s.kw;
    const uint64_t window = (uint64_t(1) << span) - 1;
    std::memset(r.windows, 0, static_cast<std::size_t>(tiles * s.in_c * stride));
    for (int64_t t = 0; t < tiles; ++t) {
        const int64_t shift = t * columns * s.sx;
        for (int64_t ci = 0; ci < s.in_c; ++ci) {
            uint8_t* w = r.windows + (t * s.in_c + ci) * stride + s.py;
            const uint64_t* rows = r.rows + ci * s.in_h;
            for (int64_t y = 0; y < s.in_h; ++y) w[y] = static_cast<uint8_t>((rows[y] >> shift) & window);
        }
    }
}

// P output columns from t * P x V channel vectors from o0, of output row oy.
// The tile's receptive field of input channel ci is one 64-bit word, byte
// ky holding the window of input row oy * sy - py + ky, so that one loop
// over its set bits visits the arrived inputs in ascending (ky, u) order:
// a mispredicted loop exit per channel however sparse the input. An input
// at window column u reaches tile column p through tap kx = u - p * sx when
// 0 <= kx < kw; other columns add zeros (exact: a sum from +0 is never -0),
// so the loop has no branch per column.
template <int P, int V, bool kValues>
// Input channels ci_lo <= ci < ci_hi (all by default); for ci_lo > 0 (tiles
// of one column) the sums start from those in conv.
void gather_tile(const ConvShape& s, const float* kernel, const View& r, int64_t oy, int64_t t, int64_t o0, float* conv, int64_t ci_lo = 0,
                 int64_t ci_hi = -1) {
    const int64_t oc = s.out_c, kw = s.kw, stride = window_stride(s), shift = t * P * s.sx;
    const uint64_t rows_mask = s.kh >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * s.kh)) - 1;
    const uint8_t* windows = r.windows + t * s.in_c * stride + oy * s.sy;  // (byte ky: y + py = oy * sy + ky)
    if (ci_hi < 0) ci_hi = s.in_c;
    f16 acc[P][V];
#pragma GCC unroll 4
    for (int p = 0; p < P; ++p)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) {
            if (ci_lo > 0 && P == 1)  // (the sums of the channels before ci_lo)
                pool_vec::load_part(acc[p][v], conv + (oy * s.conv_w + t) * oc + o0 + 16 * v, std::min<int64_t>(16, oc - o0 - 16 * v));
            else
                acc[p][v] = f16{};
        }
    const int64_t row_taps = P == 1 ? kw : r.wide_taps, ts = P == 1 ? oc : r.wide_stride;  // ts: floats per tap
    const int64_t row_stride = row_taps * ts, column_step = s.sx * ts, last = kw - 1 + (P - 1) * int64_t(s.sx);
    if (P == 1 && !kValues && r.per_word > 1) {  // bits in ascending (ci, ky, u): the same order
        const int64_t cells = s.kh * kw;
        uint64_t mask = 0;
        for (int64_t ky = 0; ky < s.kh; ++ky) mask |= ((uint64_t(1) << kw) - 1) << (8 * ky);
        for (int64_t ci0 = ci_lo; ci0 < ci_hi; ci0 += r.per_word) {
            const int64_t group = std::min<int64_t>(r.per_word, ci_hi - ci0);
            uint64_t word = 0;
            for (int64_t g = 0; g < group; ++g) {
                uint64_t m;
                std::memcpy(&m, windows + (ci0 + g) * stride, sizeof m);
                word |= compact(m, s.kh, kw, mask) << (g * cells);
            }
            const float* base = kernel + ci0 * cells * oc + o0;
            for (; word != 0; word &= word - 1) {
                const float* wp = base + r.tap[__builtin_ctzll(word)];
#pragma GCC unroll 4
                for (int v = 0; v < V; ++v) acc[0][v] = acc[0][v] + *reinterpret_cast<const f16u*>(wp + 16 * v);
            }
        }
    } else
    for (int64_t ci = 0; ci < s.in_c; ++ci) {
        uint64_t m;
        std::memcpy(&m, windows + ci * stride, sizeof m);
        const float* kernel_ci = (P == 1 ? kernel : r.wide) + ci * s.kh * row_stride + o0;
        for (m &= rows_mask; m != 0; m &= m - 1) {
            const int64_t q = __builtin_ctzll(m), ky = q >> 3, u = q & 7;
            // Tap kx = u - p * sx at (kw - 1 - kx) * ts; widened rows: at (kw - 1 - kx + (P - 1) * sx) * ts.
            const float* w0 = kernel_ci + ky * row_stride + (last - u) * ts;
            const float value =
                kValues ? r.values[(ci * s.in_h + oy * s.sy - s.py + ky) * s.in_w + shift + u - s.px] : 1.0f;
#pragma GCC unroll 4
            for (int p = 0; p < P; ++p) {
                const int64_t kx = u - p * int64_t(s.sx);
                const bool reach = P == 1 || static_cast<uint64_t>(kx) < static_cast<uint64_t>(kw);
                const float* wp = w0 + p * column_step;
#pragma GCC unroll 4
                for (int v = 0; v < V; ++v) {
                    const f16 wv = *reinterpret_cast<const f16u*>(wp + 16 * v);
                    if (kValues)
                        acc[p][v] = acc[p][v] + wv * (reach ? value : 0.0f);
                    else
                        acc[p][v] = acc[p][v] + wv;
                }
            }
        }
    }
    for (int p = 0; p < P; ++p) {
        if (t * P + p >= s.conv_w) break;
        float* out = conv + (oy * s.conv_w + t * P + p) * oc + o0;
        for (int v = 0; v < V; ++v) {
            const int64_t n = std::min<int64_t>(16, oc - o0 - 16 * v);
            if (n == 16)
                *reinterpret_cast<f16u*>(out + 16 * v) = acc[p][v];
            else if (n > 0)
#if defined(__AVX512F__)
                _mm512_mask_storeu_ps(out + 16 * v, static_cast<__mmask16>((1u << n) - 1), reinterpret_cast<const __m512&>(acc[p][v]));
#else
                std::memcpy(out + 16 * v, &acc[p][v], static_cast<std::size_t>(n) * sizeof(float));
#endif
        }
    }
}

inline void widen_kernel(const ConvShape& s, const float* kernel, int64_t columns, View& r) {
    const int64_t oc = s.out_c, side = (columns - 1) * s.sx, taps = conv_work::wide_taps(s, columns), stride = conv_work::wide_stride(s);
    r.wide_taps = taps;
    r.wide_stride = stride;
    std::memset(r.wide, 0, static_cast<std::size_t>(int64_t(s.in_c) * s.kh * taps * stride + 16) * sizeof(float));
    for (int64_t row = 0; row < int64_t(s.in_c) * s.kh; ++row)
        for (int64_t k = 0; k < s.kw; ++k)
            std::memcpy(r.wide + (row * taps + side + k) * stride, kernel + (row * s.kw + k) * oc, static_cast<std::size_t>(oc) * sizeof(float));
}

template <int P, int V, bool kValues>
void gather_block(const ConvShape& s, const float* kernel, const View& r, int64_t o0, float* conv) {
    const int64_t tiles = (s.conv_w + P - 1) / P;
    if (P == 1 && !kValues && r.per_word > 1) {
        // By groups of input channels whose kernel rows take about 48 KiB
        // (whole field words), each group over every tile before the next:
        // the tile's sums carried in conv between groups (stored and
        // reloaded, exact), while the group's kernel stays near in cache.
        // About 10 % faster than all channels per tile for 12 x 5 x 5 x 64
        // spikes on Zen 4.
        const int64_t per_channel = int64_t(s.kh) * s.kw * s.out_c * int64_t(sizeof(float));
        const int64_t group = std::max<int64_t>(1, (int64_t(48) << 10) / (per_channel * r.per_word)) * r.per_word;
        for (int64_t c0 = 0; c0 < s.in_c; c0 += group)
            for (int64_t oy = 0; oy < s.conv_h; ++oy)
                for (int64_t t = 0; t < tiles; ++t)
                    gather_tile<P, V, kValues>(s, kernel, r, oy, t, o0, conv, c0, std::min<int64_t>(s.in_c, c0 + group));
        return;
    }
    for (int64_t oy = 0; oy < s.conv_h; ++oy)
        for (int64_t t = 0; t < tiles; ++t) gather_tile<P, V, kValues>(s, kernel, r, oy, t, o0, conv);
}

template <bool kValues>
void gather(const ConvShape& s, const float* kernel, View& r, float* conv) {
    int built = 0, widened = 0;  // the tile widths the windows and the wide kernel were built for
    for (int64_t o0 = 0; o0 < s.out_c; o0 += 16 * kMaxVectors) {
        const int64_t vectors = std::min<int64_t>(kMaxVectors, (s.out_c - o0 + 15) / 16);
        const int columns = block_columns(s, vectors);
        if (columns != built) build_windows(s, built = columns, r);
        if (columns == 1 && r.per_word == 0) {
            const int64_t cells = int64_t(s.kh) * s.kw;
            r.per_word = cells <= 32 ? 64 / cells : 1;
            for (int64_t q = 0; q < r.per_word * cells; ++q) {
                const int64_t g = q / cells, ky = (q % cells) / s.kw, u = q % s.kw;
                r.tap[q] = static_cast<int32_t>(((g * s.kh + ky) * s.kw + (s.kw - 1 - u)) * s.out_c);
            }
        }
        if (columns > 1 && columns != widened) widen_kernel(s, kernel, widened = columns, r);
        if (vectors == 1) {
            if (columns == 4) gather_block<4, 1, kValues>(s, kernel, r, o0, conv);
            else if (columns == 2) gather_block<2, 1, kValues>(s, kernel, r, o0, conv);
            else gather_block<1, 1, kValues>(s, kernel, r, o0, conv);
        } else if (vectors == 2) {
            if (columns == 2) gather_block<2, 2, kValues>(s, kernel, r, o0, conv);
            else gather_block<1, 2, kValues>(s, kernel, r, o0, conv);
        } else if (vectors == 3) {
            gather_block<1, 3, kValues>(s, kernel, r, o0, conv);
        } else {
            gather_block<1, 4, kValues>(s, kernel, r, o0, conv);
        }
    }
}

#if defined(__AVX512F__)
// By tap masks (AVX-512, spikes, few channels): the lanes of a register are
// 16 consecutive output positions and each register one output channel. For
// each tap in ascending (ci, ky, kx) order, the positions whose input at that
// tap arrived (16 bits of the tap's bit string over the output positions)
// add the tap's weight: a masked add of the broadcast weight. Every output
// still sums its arrived taps in ascending order from +0, the gather's bits.
// It visits every (tap, position) pair but has no loop over set bits (no
// mispredicted exits, no index arithmetic per arrival): cheaper than tiles
// where inputs are dense and channels few, as in a first layer.
inline void build_masks(const ConvShape& s, const uint64_t* rows, uint64_t* bits) {
    const int64_t nw = conv_work::mask_words(s), cw = s.conv_w;
    const uint64_t columns = cw >= 64 ? ~uint64_t(0) : (uint64_t(1) << cw) - 1;
    std::memset(bits, 0, static_cast<std::size_t>(int64_t(s.in_c) * s.kh * s.kw * nw) * sizeof(uint64_t));
    for (int64_t ci = 0; ci < s.in_c; ++ci)
        for (int64_t ky = 0; ky < s.kh; ++ky)
            for (int64_t kx = 0; kx < s.kw; ++kx) {
                uint64_t* b = bits + ((ci * s.kh + ky) * s.kw + kx) * nw;
                for (int64_t oy = 0; oy < s.conv_h; ++oy) {
                    const int64_t iy = oy * s.sy - s.py + ky;
                    if (iy < 0 || iy >= s.in_h) continue;
                    const uint64_t r = (rows[ci * s.in_h + iy] >> kx) & columns;  // output ox reads padded column ox + kx
                    const int64_t at = oy * cw, word = at >> 6, shift = at & 63;
                    b[word] |= r << shift;
                    if (shift + cw > 64) b[word + 1] |= r >> (64 - shift);
                }
            }
}


// Positions p0 .. p0 + 15 x channels c0 .. c0 + N - 1 (N: the group's
// channels rounded up to 4; the extra ones read the next taps' weights and
// are not stored).
template <int N>
void masked_block(const ConvShape& s, const float* kernel, const uint64_t* bits, int64_t p0, int64_t c0, float* conv) {
    const int64_t oc = s.out_c, nw = conv_work::mask_words(s), kw = s.kw;
    __m512 acc[16];
    for (int c = 0; c < 16; ++c) acc[c] = _mm512_setzero_ps();
    const uint16_t* b = reinterpret_cast<const uint16_t*>(bits) + p0 / 16;  // (little-endian words: 16 bits from p0)
    const int64_t row_taps = int64_t(s.in_c) * s.kh;
    for (int64_t row = 0; row < row_taps; ++row, b += kw * nw * 4) {
        const float* w_row = kernel + (row * kw + kw - 1) * oc + c0;  // tap kx at w_row - kx * oc (reversed kx)
        for (int64_t kx = 0; kx < kw; ++kx) {
            const __mmask16 k = b[kx * nw * 4];
            const float* w = w_row - kx * oc;
#pragma GCC unroll 16
            for (int c = 0; c < N; ++c) acc[c] = _mm512_mask_add_ps(acc[c], k, acc[c], _mm512_set1_ps(w[c]));
        }
    }
    transpose16(acc);
    const __mmask16 lanes = static_cast<__mmask16>((1u << std::min<int64_t>(16, oc - c0)) - 1);
    const int64_t count = std::min<int64_t>(16, int64_t(s.conv_h) * s.conv_w - p0);
    for (int64_t i = 0; i < count; ++i) _mm512_mask_storeu_ps(conv + (p0 + i) * oc + c0, lanes, acc[i]);
}

void by_masks(const ConvShape& s, const float* kernel, const uint64_t* rows, uint64_t* bits, float* conv) {
    build_masks(s, rows, bits);
    const int64_t positions = int64_t(s.conv_h) * s.conv_w;
    for (int64_t c0 = 0; c0 < s.out_c; c0 += 16) {
        const int64_t n = std::min<int64_t>(16, s.out_c - c0);
        for (int64_t p0 = 0; p0 < positions; p0 += 16) {
            if (n > 12) masked_block<16>(s, kernel, bits, p0, c0, conv);
            else if (n > 8) masked_block<12>(s, kernel, bits, p0, c0, conv);
            else if (n > 4) masked_block<8>(s, kernel, bits, p0, c0, conv);
            else masked_block<4>(s, kernel, bits, p0, c0, conv);
        }
    }
}
#endif

// $SNN_CPU_CONV = "arrivals", "outputs" or "masks" forces a way (for tests
// and measurements): 0, 1 or 2 (masks where they apply, else outputs); -1: by cost.
inline int forced_method() {
    const char* v = std::getenv("SNN_CPU_CONV");
    if (v == nullptr) return -1;
    return std::strcmp(v, "arrivals") == 0 ? 0 : std::strcmp(v, "outputs") == 0 ? 1 : std::strcmp(v, "masks") == 0 ? 2 : -1;
}

// Rough costs in nanoseconds (fitted on a Zen 4 core), for the choice only:
// either gives the same bits. By arrivals: per reached kernel row, its
// vectors (a load, add and store each) and a fixed cost; by outputs: a
// mispredicted loop exit per tile and input channel, and per arrival in a
// tile's window the loads and adds of the tile's columns.
inline double gather_cost(const ConvShape& s, int64_t count) {
    const double rows = double(s.kh) / s.sy;
    double gather = 0;
    for (int64_t o0 = 0; o0 < s.out_c; o0 += 16 * kMaxVectors) {
        const int64_t vectors = std::min<int64_t>(kMaxVectors, (s.out_c - o0 + 15) / 16);
        const double columns = block_columns(s, vectors), span = (columns - 1) * s.sx + s.kw;
        const double tiles = std::ceil(s.conv_w / columns) * s.conv_h;
        const double pairs = double(count) * rows * span / (columns * s.sx);  // (arrival, tile) pairs
        gather += tiles * s.in_c * 3.5 * columns + pairs * (columns == 1 ? 1.0 : 0.35 * columns);
    }
    return gather;
}

inline bool gather_pays(const ConvShape& s, int64_t count) {
    if (!gather_fits(s) || count == 0) return false;
    static const int forced = forced_method();
    if (forced >= 0) return forced >= 1;
    const double rows = double(s.kh) / s.sy;
    const double scatter = double(count) * rows * (std::ceil(double(s.kw) / s.sx * s.out_c / 16.0) + 36) * 0.28;
    return gather_cost(s, count) < scatter;
}

// Whether tap masks beat output tiles (given that tiles beat arrivals), by
// the same rough costs: per (tap, block of 16 positions, channel) a masked
// add, per block and 16 channels a transpose and stores.
inline bool masks_pay(const ConvShape& s, int64_t count, bool spikes) {
#if defined(__AVX512F__)
    if (!spikes || !conv_work::masks_fit(s)) return false;
    static const int forced = forced_method();
    if (forced >= 0) return forced == 2;
    const double blocks = std::ceil(double(s.conv_h) * s.conv_w / 16), groups = std::ceil(s.out_c / 16.0);
    const double channels = std::ceil(std::min<int64_t>(16, s.out_c) / 4.0) * 4;
    const double masks = blocks * groups * (double(s.in_c) * s.kh * s.kw * channels + 100) * 0.3;
    return masks < gather_cost(s, count);
#else
    (void)s;
    (void)count;
    (void)spikes;
    return false;
#endif
}
}  // namespace conv_fwd

void conv_forward(const ConvShape& s, const float* kernel, const int32_t* ids, const float* values, int64_t count, float* conv,
                  void* work) {
    using namespace conv_fwd;
    if (!gather_pays(s, count)) {
        fill(conv, 0.0f, s.conv_cells());
        conv::loops::scatter<RowOps>(s, kernel, ids, values, count, conv);
        return;
    }
    const conv_work::Forward at = conv_work::forward(s, values != nullptr);
    char* base = static_cast<char*>(work);
    View r{reinterpret_cast<uint64_t*>(base + at.rows), reinterpret_cast<uint8_t*>(base + at.windows),
           reinterpret_cast<float*>(base + at.values), reinterpret_cast<float*>(base + at.wide), 0, 0,
           reinterpret_cast<int32_t*>(base + at.taps), 0};
    std::memset(r.rows, 0, static_cast<std::size_t>(int64_t(s.in_c) * s.in_h) * sizeof(uint64_t));
    set_row_bits(s, ids, count, 0, r.rows);
    if (values)
        for (int64_t k = 0; k < count; ++k) r.values[ids[k]] = values[k];
#if defined(__AVX512F__)
    if (masks_pay(s, count, values == nullptr)) return by_masks(s, kernel, r.rows, reinterpret_cast<uint64_t*>(base + at.masks), conv);
#endif
    if (values)
        gather<true>(s, kernel, r, conv);
    else
        gather<false>(s, kernel, r, conv);
}

// Pooling (kernels.h, conv_pool; the operations of conv::pool) by vectors of
// 16 channels of one window, written out channels-first lane by lane.
void conv_pool(const ConvShape& s, const float* conv, const float* bias, float* out, uint8_t* argmax) {
    using namespace pool_vec;
    const int64_t oc = s.out_c, cw = s.conv_w, cells = int64_t(s.out_h) * s.out_w;
    const f16 size = f16{} + static_cast<float>(s.ph * s.pw);
#if defined(__AVX512F__)
    alignas(64) float tile[16 * 16];
#endif
    for (int64_t c0 = 0; c0 < oc; c0 += 16) {
        const int64_t n = std::min<int64_t>(16, oc - c0);
        f16 b = f16{};
        if (bias) load_part(b, bias + c0, n);
        for (int64_t y = 0; y < s.out_h; ++y)
            for (int64_t x = 0; x < s.out_w; ++x) {
                const int64_t j = y * s.out_w + x;
                const float* first = conv + ((y * s.psy) * cw + x * s.psx) * oc + c0;
#if defined(__AVX512F__)
                if (s.pool == Pool::Max) {  // (in registers: GCC spills the generic form's vectors here)
                    const __mmask16 lanes = static_cast<__mmask16>((1u << n) - 1);
                    __m512 value = _mm512_maskz_loadu_ps(lanes, first);
                    __m512i best = _mm512_setzero_si512();
                    int32_t k = 0;
                    for (int64_t r = 0; r < s.ph; ++r)
                        for (int64_t c = 0; c < s.pw; ++c, ++k) {
                            if (k == 0) continue;
                            const __m512 cell = _mm512_maskz_loadu_ps(lanes, first + (r * cw + c) * oc);
                            const __mmask16 more = _mm512_cmp_ps_mask(cell, value, _CMP_GT_OQ);
                            value = _mm512_mask_mov_ps(value, more, cell);
                            best = _mm512_mask_mov_epi32(best, more, _mm512_set1_epi32(k));
                        }
                    if (bias) value = _mm512_add_ps(value, reinterpret_cast<const __m512&>(b));
                    if (argmax) _mm_mask_storeu_epi8(argmax + j * oc + c0, lanes, _mm512_maskz_cvtepi32_epi8(0xFFFF, best));
                    // Channels-first out: 16 windows' vectors are kept, then written a
                    // channel at a time (transposed: one store of 16 windows).
                    const int64_t slot = j % 16;
                    _mm512_store_ps(tile + 16 * slot, value);
                    if (slot == 15 || j == cells - 1) {
                        const int64_t j0 = j - slot;
                        const __mmask16 windows = static_cast<__mmask16>((2u << slot) - 1);
                        __m512 t[16];
                        for (int r = 0; r < 16; ++r) t[r] = _mm512_load_ps(tile + 16 * r);  // (rows past the slot: unused)
                        transpose16(t);
                        for (int64_t l = 0; l < n; ++l) _mm512_mask_storeu_ps(out + (c0 + l) * cells + j0, windows, t[l]);
                    }
                    continue;
                }
#endif
                f16 value;
                load_part(value, first, n);
                i16 best = i16{};
                if (s.pool == Pool::Max) {
                    int32_t k = 0;
                    for (int64_t r = 0; r < s.ph; ++r)
                        for (int64_t c = 0; c < s.pw; ++c, ++k) {
                            if (k == 0) continue;
                            f16 cell;
                            load_part(cell, first + (r * cw + c) * oc, n);
                            const i16 more = cell > value;
                            value = more ? cell : value;
                            best = more ? (i16{} + k) : best;
                        }
                } else if (s.pool != Pool::None) {
                    value = f16{};
                    for (int64_t r = 0; r < s.ph; ++r)
                        for (int64_t c = 0; c < s.pw; ++c) {
                            f16 cell;
                            load_part(cell, first + (r * cw + c) * oc, n);
                            value = value + cell;
                        }
                    if (s.pool == Pool::Avg) value = value / size;
                }
                if (bias) value = value + b;
                alignas(64) float v[16];
                alignas(64) int32_t a[16];
                std::memcpy(v, &value, sizeof v);
                std::memcpy(a, &best, sizeof a);
                for (int64_t l = 0; l < n; ++l) out[(c0 + l) * cells + j] = v[l];
                if (argmax)
                    for (int64_t l = 0; l < n; ++l) argmax[j * oc + c0 + l] = static_cast<uint8_t>(a[l]);
            }
    }
}

// dL/dconv from dL/d(pooled) (kernels.h, conv_pool_backward) by vectors of
// 16 channels of one window. Where the windows tile the convolution (no
// overlap, every cell in one window) each cell is written once: +0 plus, with
// max pooling, the gradient where the cell was the argmax, else +0 (a sum
// from +0 is never -0, so adding +0 changes nothing). Otherwise the cells are
// zeroed and the windows add in ascending order.
void conv_pool_backward(const ConvShape& s, const float* g_out, const uint8_t* argmax, float* g_conv) {
    using namespace pool_vec;
    const int64_t oc = s.out_c, row = conv::grad_row(s), cells = int64_t(s.out_h) * s.out_w;
    const f16 size = f16{} + static_cast<float>(s.ph * s.pw);
    const bool one_cell = s.pool == Pool::None || s.pool == Pool::Max;
    const int32_t window = s.pool == Pool::None ? 1 : s.ph * s.pw;
    const int64_t wh = s.pool == Pool::None ? 1 : s.ph, ww = s.pool == Pool::None ? 1 : s.pw;
    const bool tiles = s.psy == wh && s.psx == ww && int64_t(s.out_h) * wh == s.conv_h && int64_t(s.out_w) * ww == s.conv_w;
    if (!tiles)
        for (int64_t oy = 0; oy < s.conv_h; ++oy) fill(g_conv + oy * row, 0.0f, int64_t(s.conv_w) * oc);
    int64_t offset[256];  // cell q of a window: its offset from the window's first cell (at most 256 cells)
    for (int32_t q = 0; q < window; ++q) offset[q] = (q / ww) * row + (q % ww) * oc;
    for (int64_t c0 = 0; c0 < oc; c0 += 16) {
        const int64_t n = std::min<int64_t>(16, oc - c0);
        for (int64_t j0 = 0; j0 < cells; j0 += 16) {  // 16 windows' gradients of 16 channels at a time
            const int64_t m = std::min<int64_t>(16, cells - j0);
#if defined(__AVX512F__)
            __m512 t[16];  // channel rows of g_out, transposed: t[w] = window j0 + w's channels
            const __mmask16 windows = static_cast<__mmask16>((1u << m) - 1);
            for (int64_t l = 0; l < 16; ++l) t[l] = l < n ? _mm512_maskz_loadu_ps(windows, g_out + (c0 + l) * cells + j0) : _mm512_setzero_ps();
            transpose16(t);
#endif
            int64_t y = j0 / s.out_w, x = j0 - y * s.out_w;
            for (int64_t w = 0; w < m; ++w) {
                const int64_t j = j0 + w;
                float* first = g_conv + (y * s.psy) * row + (x * s.psx) * oc + c0;
                if (++x == s.out_w) {
                    x = 0;
                    ++y;
                }
                f16 g;
                i16 k = i16{};
#if defined(__AVX512F__)
                std::memcpy(&g, &t[w], sizeof g);
                if (argmax) {
                    const __m512i kv = _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << n) - 1), argmax + j * oc + c0));
                    std::memcpy(&k, &kv, sizeof k);
                }
#else
                {
                    alignas(64) float gl[16] = {};
                    alignas(64) int32_t kl[16] = {};
                    for (int64_t l = 0; l < n; ++l) gl[l] = g_out[(c0 + l) * cells + j];
                    if (argmax)
                        for (int64_t l = 0; l < n; ++l) kl[l] = argmax[j * oc + l + c0];
                    std::memcpy(&g, gl, sizeof g);
                    std::memcpy(&k, kl, sizeof k);
                }
#endif
                if (s.pool == Pool::Avg) g = g / size;
                for (int32_t q = 0; q < window; ++q) {
                    float* cell = first + offset[q];
                    const f16 share = one_cell ? (k == q ? g : f16{}) : g;
                    if (tiles) {
                        store_part(cell, f16{} + share, n);  // (+0 + share: the one addition the cell receives)
                    } else {
                        f16 sum;
                        load_part(sum, cell, n);
                        store_part(cell, sum + share, n);
                    }
                }
            }
        }
    }
}

// The kernel gradient of one instance's values of one input channel
// (kernels.h, conv_weight_grad): a register tile of R taps (reversed kx) x
// V vectors of output channels of one kernel row ky sums, from zero over the
// values in ascending order, the dL/dconv rows they reached, then adds the
// sums to grad. A tap a value did not reach adds zeros (exact): the
// padding of dL/dconv's rows (conv::grad_row), or with a stride kZeros; so
// the loop has no branch per tap. The tile sizes only group independent
// sums: every level gives the same bits.
namespace conv_grad {
using dense::f16;
using dense::f16u;
#if defined(__AVX512F__)
constexpr int kGradTaps = 6, kGradVectors = 4;  // 24 of the 32 vector registers
#elif defined(__AVX2__)
constexpr int kGradTaps = 3, kGradVectors = 2;
#else
constexpr int kGradTaps = 2, kGradVectors = 1;
#endif
alignas(64) constexpr float kZeros[16 * kGradVectors] = {};

// Branch-free choice of a row: a if c, else b.
inline const float* pick(bool c, const float* a, const float* b) {
    const uintptr_t m = 0 - static_cast<uintptr_t>(c);
    return reinterpret_cast<const float*>((reinterpret_cast<uintptr_t>(a) & m) | (reinterpret_cast<uintptr_t>(b) & ~m));
}

template <int R, int V, bool kValues, bool kUnit>
void grad_tile(const ConvShape& s, const int32_t* ids, const float* values, int64_t count, const float* g_conv, int64_t ky, int64_t f0,
               int64_t o0, float* grad) {
    const int64_t first = ids[0] - ids[0] % (int64_t(s.in_h) * s.in_w), oc = s.out_c;
    const double per_row = 1.0 / s.in_w;  // (j + 0.5) / in_w is never within rounding of an integer: exact rows without a division
    f16 acc[R][V];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < V; ++v) acc[r][v] = f16{};
    for (int64_t k = 0; k < count; ++k) {
        const int64_t j = ids[k] - first, y = static_cast<int64_t>((static_cast<double>(j) + 0.5) * per_row), x = j - y * s.in_w;
        const int64_t ny = y + s.py - ky;  // = oy * sy
        if (ny < 0) continue;
        if (ny >= int64_t(s.sy) * s.conv_h) break;  // (ids ascending: so are the rows)
        if (!kUnit && ny % s.sy != 0) continue;
        const float* row = g_conv + (kUnit ? ny : ny / s.sy) * conv::grad_row(s) + o0;
        const float value = kValues ? values[k] : 1.0f;
#pragma GCC unroll 8
        for (int r = 0; r < R; ++r) {
            const int64_t nx = x + s.px - (s.kw - 1 - f0 - r);  // = ox * sx; stride 1: -kw < nx < conv_w + kw, in the padding
            const float* p = kUnit ? row + nx * oc
                                   : pick(nx >= 0 && nx < int64_t(s.sx) * s.conv_w && nx % s.sx == 0, row + (nx / s.sx) * oc, kZeros);
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) {
                if (kValues)
                    acc[r][v] = acc[r][v] + *reinterpret_cast<const f16u*>(p + 16 * v) * value;
                else
                    acc[r][v] = acc[r][v] + *reinterpret_cast<const f16u*>(p + 16 * v);
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) {
            float sums[16];
            std::memcpy(sums, &acc[r][v], sizeof sums);
            float* out = grad + (f0 + r) * oc + o0 + 16 * v;
            const int64_t n = std::min<int64_t>(16, oc - o0 - 16 * v);
            for (int64_t q = 0; q < n; ++q) out[q] += sums[q];
        }
}

// grad_tile<r, v> for r <= R, v <= V.
template <int R, int V, bool kValues, bool kUnit>
void grad_pick(int r, int v, const ConvShape& s, const int32_t* ids, const float* values, int64_t count, const float* g_conv, int64_t ky,
               int64_t f0, int64_t o0, float* grad) {
    if constexpr (V > 1)
        if (v < V) return grad_pick<R, V - 1, kValues, kUnit>(r, v, s, ids, values, count, g_conv, ky, f0, o0, grad);
    if constexpr (R > 1)
        if (r < R) return grad_pick<R - 1, V, kValues, kUnit>(r, v, s, ids, values, count, g_conv, ky, f0, o0, grad);
    grad_tile<R, V, kValues, kUnit>(s, ids, values, count, g_conv, ky, f0, o0, grad);
}
}  // namespace conv_grad

// The kernel gradient by taps, for column stride 1 and rows of at most 64
// columns: the output positions that tap (ky, kx) reached from this input
// channel's values are the set bits of its input rows shifted by kx, so a
// tap's sum visits exactly those positions — in ascending (oy, ox) order,
// the values' order, from zero: the same sums as grad_tile, without the
// taps that fall outside the output at the edges. `per_word` output rows
// share a 64-bit word (one loop exit per word); V vectors of output
// channels sum in registers.
// Its pieces of the caller's work (kernels.h, conv_work::weight_grad).
struct TapView {
    uint64_t* rows;   // [in_h]: the channel's values as bits x + px
    float* plane;     // [in_h][in_w]: its values where a bit is (graded inputs)
    int32_t* offset;  // [64] bit q of a word: its cell's offset in g_conv from the word's first row
    uint8_t *row, *column;  // [64] its output row in the word, and column
};

inline bool by_taps_fits(const ConvShape& s) { return s.sx == 1 && s.in_w + 2 * int64_t(s.px) <= 64 && s.conv_w <= 64; }

template <int V, bool kValues>
void grad_by_taps(const ConvShape& s, int64_t ci, const TapView& r, const float* g_conv, int64_t ky0, int64_t ky1, int64_t o0, float* grad) {
    const int64_t oc = s.out_c, cw = s.conv_w, per_word = 64 / cw, grad_row = conv::grad_row(s);
    const uint64_t columns = cw >= 64 ? ~uint64_t(0) : (uint64_t(1) << cw) - 1;
    // The output positions of `rows` rows from oy0 that tap (ky, kx) reached, as bits.
    auto row_bits = [&](int64_t ky, int64_t oy) {
        const int64_t y = oy * s.sy - s.py + ky;
        return y >= 0 && y < s.in_h ? r.rows[y] : uint64_t(0);
    };
#if defined(__BMI2__)
    // With BMI2, per kernel row ky: the input rows of each word's output rows
    // stacked (in_w + 2 px) bits apart, in chunks of up to 64 bits, so that a
    // tap kx's word is one shift and one pext per chunk instead of a loop
    // over rows (rows past a row's kw - 1 + conv_w bits are never selected).
    const int64_t span = s.in_w + 2 * int64_t(s.px), per_chunk = 64 / span, words = (s.conv_h + per_word - 1) / per_word;
    const int64_t chunks_per_word = (per_word + per_chunk - 1) / per_chunk;
    const bool stacked = words * chunks_per_word <= 16;
    uint64_t stack[16], select[16];
    int64_t built_ky = -1;
    auto build = [&](int64_t ky) {
        for (int64_t w = 0; w < words; ++w)
            for (int64_t c = 0; c < chunks_per_word; ++c) {
                const int64_t j0 = c * per_chunk, n = std::max<int64_t>(0, std::min(per_chunk, std::min(per_word, s.conv_h - w * per_word) - j0));
                uint64_t st = 0, sel = 0;
                for (int64_t j = 0; j < n; ++j) {
                    st |= row_bits(ky, w * per_word + j0 + j) << (j * span);
                    sel |= columns << (j * span);
                }
                stack[w * chunks_per_word + c] = st;
                select[w * chunks_per_word + c] = sel;
            }
        built_ky = ky;
    };
#endif
    auto word_of = [&](int64_t ky, int64_t kx, int64_t oy0, int64_t rows) {
        uint64_t word = 0;
#if defined(__BMI2__)
        if (stacked) {
            if (ky != built_ky) build(ky);
            const int64_t w = oy0 / per_word;
            for (int64_t c = 0; c < chunks_per_word; ++c)
                word |= _pext_u64(stack[w * chunks_per_word + c] >> kx, select[w * chunks_per_word + c]) << (c * per_chunk * cw);
            return word;
        }
#endif
        for (int64_t j = 0; j < rows; ++j) word |= ((row_bits(ky, oy0 + j) >> kx) & columns) << (j * cw);
        return word;
    };
    // One vector of channels: a tap's sum is one chain of dependent additions,
    // so two taps (kx, kx + 1) run side by side, each still summing its
    // positions in ascending order (the same bits).
    if (V == 1 && !kValues && s.kw >= 2) {
        auto flush = [&](int64_t ky, int64_t kx, const dense::f16& acc) {
            float* out = grad + ((ci * s.kh + ky) * s.kw + (s.kw - 1 - kx)) * oc + o0;
            const int64_t n = std::min<int64_t>(16, oc - o0);
            dense::f16 sum;
            pool_vec::load_part(sum, out, n);
            pool_vec::store_part(out, sum + acc, n);
        };
        const int32_t* offset = r.offset;
        for (int64_t ky = ky0; ky < ky1; ++ky)
            for (int64_t kx = 0; kx < s.kw; kx += 2) {
                const bool pair = kx + 1 < s.kw;
                dense::f16 a = dense::f16{}, b = dense::f16{};
                for (int64_t oy0 = 0; oy0 < s.conv_h; oy0 += per_word) {
                    const int64_t rows = std::min<int64_t>(per_word, s.conv_h - oy0);
                    uint64_t ma = word_of(ky, kx, oy0, rows), mb = pair ? word_of(ky, kx + 1, oy0, rows) : 0;
                    const float* base = g_conv + oy0 * grad_row + o0;
                    for (; ma != 0 && mb != 0; ma &= ma - 1, mb &= mb - 1) {
                        a = a + *reinterpret_cast<const dense::f16u*>(base + offset[__builtin_ctzll(ma)]);
                        b = b + *reinterpret_cast<const dense::f16u*>(base + offset[__builtin_ctzll(mb)]);
                    }
                    for (; ma != 0; ma &= ma - 1) a = a + *reinterpret_cast<const dense::f16u*>(base + offset[__builtin_ctzll(ma)]);
                    for (; mb != 0; mb &= mb - 1) b = b + *reinterpret_cast<const dense::f16u*>(base + offset[__builtin_ctzll(mb)]);
                }
                flush(ky, kx, a);
                if (pair) flush(ky, kx + 1, b);
            }
        return;
    }
    for (int64_t ky = ky0; ky < ky1; ++ky)
        for (int64_t kx = 0; kx < s.kw; ++kx) {
            dense::f16 acc[V];
#pragma GCC unroll 4
            for (int v = 0; v < V; ++v) acc[v] = dense::f16{};
            for (int64_t oy0 = 0; oy0 < s.conv_h; oy0 += per_word) {
                const float* base = g_conv + oy0 * grad_row + o0;
                for (uint64_t m = word_of(ky, kx, oy0, std::min<int64_t>(per_word, s.conv_h - oy0)); m != 0; m &= m - 1) {
                    const int64_t q = __builtin_ctzll(m);
                    const float* g = base + r.offset[q];
                    const float value = kValues ? r.plane[((oy0 + r.row[q]) * s.sy - s.py + ky) * s.in_w + r.column[q] + kx - s.px] : 1.0f;
#pragma GCC unroll 4
                    for (int v = 0; v < V; ++v) {
                        if (kValues)
                            acc[v] = acc[v] + *reinterpret_cast<const dense::f16u*>(g + 16 * v) * value;
                        else
                            acc[v] = acc[v] + *reinterpret_cast<const dense::f16u*>(g + 16 * v);
                    }
                }
            }
            float* out = grad + ((ci * s.kh + ky) * s.kw + (s.kw - 1 - kx)) * oc + o0;
            for (int v = 0; v < V; ++v) {
                const int64_t n = std::min<int64_t>(16, oc - o0 - 16 * v);
                dense::f16 sum;
                pool_vec::load_part(sum, out + 16 * v, n);
                pool_vec::store_part(out + 16 * v, sum + acc[v], n);
            }
        }
}

// The kernel gradient by pooling windows, for spikes into layers of at most
// 16 channels with stride 1 and max pooling over windows that do not
// overlap (conv::grad_by_windows states the rule): in
// each window a channel's dL/dconv is nonzero in one cell at most (its
// argmax), so per window and tap a channel adds one term, dL/dconv of
// that cell, where the input that cell's tap reads arrived. The terms of a
// tap and channel come in ascending window order (row-major), from zero;
// every level adds the same terms in that order. One register per tap of
// the group, the window's gradient gp (the sum of its cells: one term is
// nonzero) and the per-lane bit pattern u of the inputs its cell reads, so
// each (window, tap) is one test and one masked add, without a loop over
// set bits.
namespace conv_grad {
using dense::i16;
constexpr int kWindowTaps = 25;  // taps summed at once (registers); fewer in a group: the rest test no bit

// The bits of an image row of a window's receptive field: kw + pw - 1.
inline int64_t window_bits(const ConvShape& s) { return int64_t(s.kw) + s.pw - 1; }


// Kernel rows ky0 <= ky < ky1 (at most kWindowTaps taps, (ky1 - ky0) *
// window_bits <= 32 and (ky1 - ky0 + ph - 1) * window_bits <= 64).
// kCells: the cells of a window if known (2 x 2 pooling), else 0.
template <int kCells>
void windows_group(const ConvShape& s, const uint64_t* rows, const float* g_conv, int64_t ci, int64_t ky0, int64_t ky1, float* grad) {
    const int64_t oc = s.out_c, W = window_bits(s), R = ky1 - ky0, span = R + s.ph - 1, grad_row = conv::grad_row(s);
    const int64_t taps = R * s.kw, cells = kCells > 0 ? kCells : int64_t(s.ph) * s.pw;
    const uint64_t row_mask = (uint64_t(1) << W) - 1;
    // Tap t = (ky - ky0) * kw + kx reads bit (ky - ky0) * W + kx of u; as
    // whole vectors, read from memory by each test (registers hold the sums).
    alignas(64) i16 bit[kWindowTaps];
    for (int t = 0; t < kWindowTaps; ++t) bit[t] = i16{} + (t < taps ? int32_t(uint32_t(1) << ((t / s.kw) * W + t % s.kw)) : 0);
    int64_t cell_offset[16], cell_shift[16];  // a cell (dy, dx) of a window: its offset in g_conv, its field bit
    for (int64_t a = 0; a < cells; ++a) {
        cell_offset[a] = (a / s.pw) * grad_row + (a % s.pw) * oc;
        cell_shift[a] = (a / s.pw) * W + a % s.pw;
    }
    const int64_t n = std::min<int64_t>(16, oc);
#if defined(__AVX512F__)
    const __mmask16 lanes = static_cast<__mmask16>((1u << n) - 1);
    __m512 acc[kWindowTaps];  // (every index a constant: the sums stay in registers)
#pragma GCC unroll 25
    for (int t = 0; t < kWindowTaps; ++t) acc[t] = _mm512_setzero_ps();
#else
    f16 acc[kWindowTaps];
    for (int t = 0; t < kWindowTaps; ++t) acc[t] = f16{};
#endif
    uint64_t field_rows[64];
    for (int64_t wy = 0; wy < s.out_h; ++wy) {
        const int64_t y0 = wy * s.ph, iy0 = y0 - s.py + ky0;  // input row of the field's first bit row
        for (int64_t j = 0; j < span; ++j) field_rows[j] = iy0 + j >= 0 && iy0 + j < s.in_h ? rows[iy0 + j] : 0;
        for (int64_t wx = 0; wx < s.out_w; ++wx) {
            const int64_t x0 = wx * s.pw;  // padded input column of cell dx = 0, kx = 0
            uint64_t field = 0;  // bit j * W + i: input (iy0 + j, x0 + i - px) arrived
            for (int64_t j = 0; j < span; ++j) field |= ((field_rows[j] >> x0) & row_mask) << (j * W);
            if (field == 0) continue;  // (adds nothing)
            const float* g0 = g_conv + y0 * grad_row + x0 * oc;
#if defined(__AVX512F__)
            __m512 gp = _mm512_setzero_ps();
            __m512i u = _mm512_setzero_si512();
#pragma GCC unroll 4
            for (int64_t a = 0; a < cells; ++a) {
                const __m512 g = _mm512_maskz_loadu_ps(lanes, g0 + cell_offset[a]);
                gp = _mm512_add_ps(gp, g);
                u = _mm512_mask_mov_epi32(u, _mm512_cmp_ps_mask(g, _mm512_setzero_ps(), _CMP_NEQ_UQ),
                                          _mm512_set1_epi32(static_cast<int32_t>(static_cast<uint32_t>(field >> cell_shift[a]))));
            }
#pragma GCC unroll 25
            for (int t = 0; t < kWindowTaps; ++t)
                acc[t] = _mm512_mask_add_ps(acc[t], _mm512_test_epi32_mask(u, reinterpret_cast<const __m512i&>(bit[t])), acc[t], gp);
#else
            f16 gp = f16{};
            i16 u = i16{};
            for (int64_t a = 0; a < cells; ++a) {
                f16 g;
                pool_vec::load_part(g, g0 + cell_offset[a], n);
                gp = gp + g;
                u = g != 0.0f ? i16{} + static_cast<int32_t>(static_cast<uint32_t>(field >> cell_shift[a])) : u;  // (NaN too, as _CMP_NEQ_UQ)
            }
            for (int t = 0; t < kWindowTaps; ++t) acc[t] = acc[t] + ((u & bit[t]) != 0 ? gp : f16{});
#endif
        }
    }
#pragma GCC unroll 25
    for (int t = 0; t < kWindowTaps; ++t) {
        if (t >= taps) break;
        const int64_t ky = ky0 + t / s.kw, kx = t % s.kw;
        float* out = grad + ((ci * s.kh + ky) * s.kw + (s.kw - 1 - kx)) * oc;
        f16 sum, a;
        std::memcpy(&a, &acc[t], sizeof a);
        pool_vec::load_part(sum, out, n);
        pool_vec::store_part(out, sum + a, n);
    }
}

void grad_by_windows(const ConvShape& s, int64_t ci, const uint64_t* rows, const float* g_conv, int64_t ky0, int64_t ky1, float* grad) {
    const int64_t W = window_bits(s);
    const int64_t per_group = std::max<int64_t>(1, std::min({int64_t(kWindowTaps) / s.kw, 32 / W, 64 / W - (s.ph - 1)}));
    for (int64_t k = ky0; k < ky1; k += per_group) {
        if (s.ph * s.pw == 4)
            windows_group<4>(s, rows, g_conv, ci, k, std::min(ky1, k + per_group), grad);
        else
            windows_group<0>(s, rows, g_conv, ci, k, std::min(ky1, k + per_group), grad);
    }
}
}  // namespace conv_grad

namespace conv_grad {
// One input channel's part: its values' ids (ascending) and kernel rows ky0 <= ky < ky1.
void channel_grad(const ConvShape& s, const TapView& r, int64_t ci, const int32_t* ids, const float* values, int64_t count, int64_t ky0,
                  int64_t ky1, const float* g_conv, float* grad) {
    const int64_t oc = s.out_c;
    if (by_taps_fits(s)) {
        std::memset(r.rows, 0, static_cast<std::size_t>(s.in_h) * sizeof(uint64_t));
        const int64_t first = ci * s.in_h * s.in_w;
        set_row_bits(s, ids, count, first, r.rows);
        if (values)
            for (int64_t k = 0; k < count; ++k) r.plane[ids[k] - first] = values[k];
        if (!values && conv::grad_by_windows(s)) return grad_by_windows(s, ci, r.rows, g_conv, ky0, ky1, grad);
        for (int64_t o0 = 0; o0 < oc; o0 += 64) {
            const int64_t v = std::min<int64_t>(4, (oc - o0 + 15) / 16);
            if (values) {
                if (v == 1) grad_by_taps<1, true>(s, ci, r, g_conv, ky0, ky1, o0, grad);
                else if (v == 2) grad_by_taps<2, true>(s, ci, r, g_conv, ky0, ky1, o0, grad);
                else if (v == 3) grad_by_taps<3, true>(s, ci, r, g_conv, ky0, ky1, o0, grad);
                else grad_by_taps<4, true>(s, ci, r, g_conv, ky0, ky1, o0, grad);
            } else {
                if (v == 1) grad_by_taps<1, false>(s, ci, r, g_conv, ky0, ky1, o0, grad);
                else if (v == 2) grad_by_taps<2, false>(s, ci, r, g_conv, ky0, ky1, o0, grad);
                else if (v == 3) grad_by_taps<3, false>(s, ci, r, g_conv, ky0, ky1, o0, grad);
                else grad_by_taps<4, false>(s, ci, r, g_conv, ky0, ky1, o0, grad);
            }
        }
        return;
    }
    for (int64_t ky = ky0; ky < ky1; ++ky) {
        float* g = grad + (ci * s.kh + ky) * s.kw * oc;
        for (int64_t f0 = 0; f0 < s.kw; f0 += kGradTaps)
            for (int64_t o0 = 0; o0 < oc; o0 += 16 * kGradVectors) {
                const int r = static_cast<int>(std::min<int64_t>(kGradTaps, s.kw - f0));
                const int v = static_cast<int>(std::min<int64_t>(kGradVectors, (oc - o0 + 15) / 16));
                const bool unit = s.sx == 1 && s.sy == 1;
                if (values)
                    (unit ? grad_pick<kGradTaps, kGradVectors, true, true> : grad_pick<kGradTaps, kGradVectors, true, false>)(
                        r, v, s, ids, values, count, g_conv, ky, f0, o0, g);
                else
                    (unit ? grad_pick<kGradTaps, kGradVectors, false, true> : grad_pick<kGradTaps, kGradVectors, false, false>)(
                        r, v, s, ids, values, count, g_conv, ky, f0, o0, g);
            }
    }
}
}  // namespace conv_grad

// The instance's ids split into runs of one input channel each, and each
// channel's kernel rows in [u0, u1) by windows, by taps or by tiles
// (channel_grad); the tap table of the by-taps way built once per call.
void conv_weight_grad(const ConvShape& s, const int32_t* ids, const float* values, int64_t count, int64_t u0, int64_t u1, const float* g_conv,
                      float* grad, void* work) {
    using namespace conv_grad;
    if (count == 0) return;
    const conv_work::WeightGrad at = conv_work::weight_grad(s, values != nullptr);
    char* base = static_cast<char*>(work);
    TapView r{reinterpret_cast<uint64_t*>(base + at.rows), reinterpret_cast<float*>(base + at.plane),
              reinterpret_cast<int32_t*>(base + at.offset), reinterpret_cast<uint8_t*>(base + at.row),
              reinterpret_cast<uint8_t*>(base + at.column)};
    if (by_taps_fits(s)) {  // bit q of a word of output rows: its row, column and offset in g_conv
        const int64_t cw = s.conv_w, per_word = 64 / cw;
        for (int64_t row = 0, q = 0; row < per_word; ++row)
            for (int64_t column = 0; column < cw; ++column, ++q) {
                r.offset[q] = static_cast<int32_t>(row * conv::grad_row(s) + column * s.out_c);
                r.row[q] = static_cast<uint8_t>(row);
                r.column[q] = static_cast<uint8_t>(column);
            }
    }
    // The values of each input channel are a run of the ids.
    const int64_t plane = int64_t(s.in_h) * s.in_w;
    const int32_t* end = ids + count;
    const int32_t* first = std::lower_bound(ids, end, static_cast<int32_t>((u0 / s.kh) * plane));
    for (int64_t u = u0; u < u1;) {
        const int64_t ci = u / s.kh, ky1 = std::min<int64_t>(s.kh, u1 - ci * s.kh);
        const int32_t* last = std::lower_bound(first, end, static_cast<int32_t>((ci + 1) * plane));
        if (first != last)
            channel_grad(s, r, ci, first, values ? values + (first - ids) : nullptr, last - first, u - ci * s.kh, ky1, g_conv, grad);
        first = last;
        u = (ci + 1) * s.kh;
    }
}

// dL/d(presynaptic value) (kernels.h, conv_input_grad): per output position,
// its column [kh][kw][in_c] = the sum over the channels co with a nonzero
// gradient, ascending, of g[co] * kernel row co, in registers, then added to
// g_pre one kernel row at a time. Multiply and add round separately at every
// level, so every level gives the same bits.
namespace conv_grad {
#if defined(__AVX512F__)
constexpr int kChunk = 8;  // vectors of the column summed at once (in registers; any size gives the same sums)
#else
constexpr int kChunk = 2;
#endif

template <int V>
inline void column_chunk(const float* __restrict kernel_in, int64_t stride, const float* __restrict g, const int32_t* __restrict nz,
                         int32_t count, float* __restrict column) {
    f16 acc[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) acc[v] = f16{};
    for (int32_t k = 0; k < count; ++k) {
        const float* row = kernel_in + nz[k] * stride;
        const float x = g[nz[k]];
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) acc[v] = acc[v] + *reinterpret_cast<const f16u*>(row + 16 * v) * x;
    }
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) std::memcpy(column + 16 * v, &acc[v], sizeof(f16));
}

template <int V>
inline void column_tail(int vectors, const float* kernel_in, int64_t stride, const float* g, const int32_t* nz, int32_t count,
                        float* column) {
    if constexpr (V > 0) {
        if (vectors == V) return column_chunk<V>(kernel_in, stride, g, nz, count, column);
        column_tail<V - 1>(vectors, kernel_in, stride, g, nz, count, column);
    }
}
}  // namespace conv_grad

void conv_input_grad(const ConvShape& s, const float* kernel_in, const float* g_conv, float* g_pre, float* column, int32_t* nonzero) {
    using namespace conv_grad;
    const int64_t oc = s.out_c, ic = s.in_c, stride = conv::input_grad_stride(s);
    for (int64_t oy = 0; oy < s.conv_h; ++oy)
        for (int64_t ox = 0; ox < s.conv_w; ++ox) {
            const float* g = g_conv + oy * conv::grad_row(s) + ox * oc;
            const int64_t x0 = ox * s.sx - s.px;  // input column of kx = 0
            const int64_t kx_lo = std::max<int64_t>(0, -x0), kx_hi = std::min<int64_t>(s.kw - 1, s.in_w - 1 - x0);
            if (kx_lo > kx_hi) continue;
            int32_t count = 0;
#if defined(__AVX512F__)
            for (int32_t c0 = 0; c0 < oc; c0 += 16) {  // (compressed 16 channels at a time)
                const __mmask16 lanes = static_cast<__mmask16>(oc - c0 >= 16 ? 0xFFFF : (1u << (oc - c0)) - 1);
                const __mmask16 hit = _mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, g + c0), _mm512_setzero_ps(), _CMP_NEQ_UQ);
                const __m512i index = _mm512_add_epi32(_mm512_set1_epi32(c0), _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
                _mm512_storeu_si512(nonzero + count, _mm512_maskz_compress_epi32(hit, index));
                count += __builtin_popcount(hit);
            }
#else
            for (int32_t co = 0; co < oc; ++co) {  // (without a branch: a quarter pass a max pool)
                nonzero[count] = co;
                count += g[co] != 0.0f;
            }
#endif
            if (count == 0) continue;
            int64_t c0 = 0;
            for (; c0 + 16 * kChunk <= stride; c0 += 16 * kChunk)
                column_chunk<kChunk>(kernel_in + c0, stride, g, nonzero, count, column + c0);
            column_tail<kChunk - 1>(static_cast<int>((stride - c0) / 16), kernel_in + c0, stride, g, nonzero, count, column + c0);
            for (int64_t ky = 0; ky < s.kh; ++ky) {
                const int64_t iy = oy * s.sy - s.py + ky;
                if (iy < 0 || iy >= s.in_h) continue;
                add(g_pre + (iy * s.in_w + x0 + kx_lo) * ic, column + (ky * s.kw + kx_lo) * ic, (kx_hi - kx_lo + 1) * ic);
            }
        }
}

}  // namespace

const KernelTable& table() {
    static const KernelTable t{SNN_KERNEL_NAME,   fill,         add,          add_scaled,         nonzero,      multiply_add, scale,
                               update_exact,      update_conductance,
                               update_conductance_fused, dense_block<float>, dense_block<uint16_t>, dense_gemm<float>,
                               dense_gemm<uint16_t>, sparse_rows<false>,
#if defined(__AVX512F__)
                               sparse_rows<true>,
#else
                               nullptr,
#endif
                               poisson, compact, add_transposed, compact_bits, train_forward, train_backward, conv_forward, conv_pool, conv_pool_backward, conv_weight_grad,
                               conv_input_grad};
    return t;
}
