// Winner-take-all (docs/models.md, "Winner-take-all"): of the neurons of a
// group that crossed their threshold in a step, only k spike: those with the
// largest margin (v minus threshold; ties go to the lower index), or with
// wta_pick = random k drawn uniformly from the network's random stream. With
// wta_losers = reset the other candidates are reset without a spike. Shared
// by every backend so they pick the same winners and reset with the same
// float operations.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/graph.h"
#include "core/rng.h"

namespace snn::wta {

// Where a step's draw for wta_pick = random comes from: the network seed,
// stream kStreamWtaPick + (population << 8), the instance and the step, so
// it depends on nothing else (not the thread, backend or other instances).
struct Draw {
    uint64_t seed;
    int32_t population;
    int32_t batch;
    int64_t step;
};

// margin[j] > 0 for a neuron that crossed its threshold (v > threshold), and
// -1 for one that did not. winner[j] is set to 1 for the winners, 0 else.
// Groups: the whole population, or for a (C, H, W) population with mode
// Position each of the H * W positions across its C channels.
inline void select(const Population& pop, const float* margin, uint8_t* winner, const Draw& draw) {
    const int64_t n = pop.size;
    const int32_t k = pop.wta_k();
    const bool by_position = pop.wta_mode() == WtaMode::Position;
    const bool random = pop.wta_pick() == WtaPick::Random;
    const int64_t positions = by_position ? pop.shape[1] * pop.shape[2] : 1;
    const int64_t members = by_position ? pop.shape[0] : n;
    const int64_t stride = by_position ? positions : 1;
    const uint32_t stream = kStreamWtaPick + (static_cast<uint32_t>(draw.population) << 8);
    for (int64_t j = 0; j < n; ++j) winner[j] = 0;
    for (int64_t g = 0; g < positions; ++g) {
        if (random) {
            // Selection sampling (Knuth's Algorithm S): walking the candidates
            // in ascending index, each is taken with probability needed / left,
            // which makes every set of min(k, candidates) equally likely in one
            // pass without scratch memory. Candidate j's word is word j % 4 of
            // block j / 4, as for poisson sources.
            int64_t left = 0;
            for (int64_t m = 0; m < members; ++m) left += margin[g + m * stride] > 0.0f;
            int64_t needed = std::min<int64_t>(k, left);
            int64_t block = -1;
            Philox4x32 words{};
            for (int64_t m = 0; m < members && needed > 0; ++m) {
                const int64_t j = g + m * stride;
                if (!(margin[j] > 0.0f)) continue;
                bool take = needed >= left;  // what the draw would say: no need to make it
                if (!take) {
                    if (j >> 2 != block) {
                        block = j >> 2;
                        words = random_words(draw.seed, stream, static_cast<uint32_t>(draw.batch), static_cast<uint64_t>(draw.step),
                                             static_cast<uint32_t>(block));
                    }
                    // floor(word * left / 2^32) is uniform in [0, left), each value to within 2^-32.
                    take = (static_cast<uint64_t>(words.v[j & 3]) * static_cast<uint64_t>(left)) >> 32 < static_cast<uint64_t>(needed);
                }
                if (take) {
                    winner[j] = 1;
                    --needed;
                }
                --left;
            }
            continue;
        }
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
