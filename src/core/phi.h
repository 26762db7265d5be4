// phi(x) = (e^x - 1) / x, the factor of exponential Euler (docs/models.md),
// shared by every backend so that they round alike. For |x| < 0.5 — every
// realistic conductance step — it is the Taylor polynomial to x^9 in Horner
// form (truncation error below 3e-11, far under float32 rounding), which
// vectorises; beyond, expm1(x) / x from the C library.
#pragma once

#include <cmath>

namespace snn {

inline constexpr float kPhiSeriesLimit = 0.5f;

inline float phi_series(float x) {
    float p = 1.0f / 3628800.0f;
    p = p * x + 1.0f / 362880.0f;
    p = p * x + 1.0f / 40320.0f;
    p = p * x + 1.0f / 5040.0f;
    p = p * x + 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    return p * x + 1.0f;
}

inline float phi_library(float x) { return x == 0.0f ? 1.0f : std::expm1(x) / x; }

inline float phi(float x) { return std::fabs(x) < kPhiSeriesLimit ? phi_series(x) : phi_library(x); }

}  // namespace snn
