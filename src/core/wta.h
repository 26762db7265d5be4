// Winner-take-all (docs/models.md, "Winner-take-all"): of the neurons of a
// group that crossed their threshold in a step, only the k with the largest
// margin (v minus threshold) spike; ties go to the lower index. With
// wta_losers = reset the other candidates are reset without a spike. Shared
// by every backend so they pick the same winners and reset with the same
// float operations.
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

// Phase 3 after select, for one instance: the winners spike; they, and with
// wta_losers = reset every other candidate (margin > 0), are reset, held and
// adapted exactly as the model's own spike does (a: alif's adaptation, else
// nullptr). spikes[] is 0 for all candidates on entry.
inline void fire(const Population& pop, const float* margin, const uint8_t* winner, const int32_t* refractory_steps, float* v,
                 float* a, int32_t* held, uint8_t* spikes) {
    const NeuronModel& model = pop.neuron_model();
    const float* v_th = pop.params[static_cast<std::size_t>(model.param_index("v_th"))].data();
    const float* v_reset = pop.params[static_cast<std::size_t>(model.param_index("v_reset"))].data();
    const float* delta_th = a ? pop.params[static_cast<std::size_t>(model.param_index("delta_th"))].data() : nullptr;
    const bool subtract = pop.reset_mode() == ResetMode::Subtract;
    const bool reset_losers = pop.wta_losers() == WtaLosers::Reset;
    for (int64_t j = 0; j < pop.size; ++j) {
        if (!winner[j] && !(reset_losers && margin[j] > 0.0f)) continue;
        v[j] = subtract ? v[j] - (v_th[j] - v_reset[j]) : v_reset[j];
        if (a) a[j] += delta_th[j];
        held[j] = refractory_steps[j];
        if (winner[j]) spikes[j] = 1;
    }
}

}  // namespace snn::wta
