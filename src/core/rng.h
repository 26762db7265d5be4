// libsnn's random numbers (DESIGN Decision 4): a counter-based generator,
// Philox4x32 with 10 rounds (Salmon et al., SC'11), so any value can be
// computed from its coordinates alone — (seed, stream, batch index, step,
// neuron) — in any order, on any thread or device, with identical results.
#pragma once

#include <cmath>
#include <cstdint>

namespace snn {

struct Philox4x32 {
    uint32_t v[4];
};

inline Philox4x32 philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
    constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
    constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
    for (int round = 0; round < 10; ++round) {
        uint64_t p0 = static_cast<uint64_t>(kMul0) * c0;
        uint64_t p1 = static_cast<uint64_t>(kMul1) * c2;
        uint32_t n0 = static_cast<uint32_t>(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = static_cast<uint32_t>(p0 >> 32) ^ c3 ^ k1;
        c0 = n0;
        c1 = static_cast<uint32_t>(p1);
        c2 = n2;
        c3 = static_cast<uint32_t>(p0);
        k0 += kWeyl0;
        k1 += kWeyl1;
    }
    return {{c0, c1, c2, c3}};
}

// Streams separate independent uses of one seed.
enum RngStream : uint32_t {
    kStreamPoisson = 1,        // + population id << 8
    kStreamConnectRandom = 2,  // connection builders (own seed)
    kStreamRandomizeState = 3, // randomize_state (own seed)
    kStreamWtaPick = 4,        // winner-take-all's wta_pick = random, + population id << 8
};

// Four independent 32-bit words for a coordinate.
inline Philox4x32 random_words(uint64_t seed, uint32_t stream, uint32_t batch, uint64_t step, uint32_t index) {
    return philox4x32(index, static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32), batch,
                      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32) ^ (stream * 0x85EBCA6Bu + 0x27D4EB2Fu));
}

// Uniform float in [0, 1) with 24 random bits.
inline float uniform_float(uint32_t word) { return static_cast<float>(word >> 8) * (1.0f / 16777216.0f); }
// Uniform double in [0, 1) with 53 random bits.
inline double uniform_double(uint32_t hi, uint32_t lo) {
    uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
    return static_cast<double>(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}
// Standard normal from two uniforms (Box-Muller; deterministic, no state).
inline double standard_normal(const Philox4x32& w) {
    double u1 = uniform_double(w.v[0], w.v[1]);
    double u2 = uniform_double(w.v[2], w.v[3]);
    double r = std::sqrt(-2.0 * std::log(1.0 - u1));  // 1 - u1 is in (0, 1]
    return r * std::cos(6.283185307179586 * u2);
}

}  // namespace snn
