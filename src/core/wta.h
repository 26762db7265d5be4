// Winner-take-all (docs/models.md, "Winner-take-all"): of the neurons of a
// group that crossed their threshold in a step, only the k with the largest
// margin (v minus threshold) spike; ties go to the lower index. Shared by
// every backend so they pick the same winners.
#pragma once

#include <cstdint>

#include "core/graph.h"

namespace snn::wta {

// margin[j] > 0 for a neuron that crossed its threshold (v > threshold), and
// -1 for one that did not. winner[j] is set to 1 for the winners, 0 else.
// Groups: the whole population, or for a (C, H, W) population with mode
// Position each of the H * W positions across its C channels.
inline void select(const Population& pop, const float* margin, uint8_t* winner) {
    const int64_t n = pop.size;
    const int32_t k = pop.wta_k();
    const bool by_position = pop.wta_mode() == WtaMode::Position;
    const int64_t positions = by_position ? pop.shape[1] * pop.shape[2] : 1;
    const int64_t members = by_position ? pop.shape[0] : n;
    const int64_t stride = by_position ? positions : 1;
    for (int64_t j = 0; j < n; ++j) winner[j] = 0;
    for (int64_t g = 0; g < positions; ++g) {
        // k rounds of "the largest margin not yet taken" (k is small).
        for (int32_t round = 0; round < k; ++round) {
            int64_t best = -1;
            for (int64_t m = 0; m < members; ++m) {
                const int64_t j = g + m * stride;
                if (margin[j] > 0.0f && !winner[j] && (best < 0 || margin[j] > margin[best])) best = j;
            }
            if (best < 0) break;
            winner[best] = 1;
        }
    }
}

}  // namespace snn::wta
