#include "core/graph.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

namespace snn {

ResetMode Population::reset_mode() const {
    int index = neuron_model().option_index("reset");
    if (index < 0) return ResetMode::Value;
    return options[static_cast<std::size_t>(index)] == "subtract" ? ResetMode::Subtract : ResetMode::Value;
}

LeakyReset Population::leaky_reset() const {
    const std::string_view name = options[static_cast<std::size_t>(neuron_model().option_index("reset"))];
    return name == "zero" ? LeakyReset::Zero : name == "none" ? LeakyReset::None : LeakyReset::Subtract;
}

WtaMode Population::wta_mode() const {
    const int index = neuron_model().option_index("wta");
    if (index < 0) return WtaMode::None;
    const std::string_view name = options[static_cast<std::size_t>(index)];
    return name == "population" ? WtaMode::Population : name == "position" ? WtaMode::Position : WtaMode::None;
}

int32_t Population::wta_k() const {
    const int index = neuron_model().option_index("wta_k");
    return index < 0 ? 1 : static_cast<int32_t>(std::strtol(options[static_cast<std::size_t>(index)].c_str(), nullptr, 10));
}

WtaLosers Population::wta_losers() const {
    const int index = neuron_model().option_index("wta_losers");
    return index >= 0 && options[static_cast<std::size_t>(index)] == "reset" ? WtaLosers::Reset : WtaLosers::Keep;
}

WtaPick Population::wta_pick() const {
    const int index = neuron_model().option_index("wta_pick");
    return index >= 0 && options[static_cast<std::size_t>(index)] == "random" ? WtaPick::Random : WtaPick::Margin;
}

std::string_view Connection::plastic_option(std::string_view name) const {
    if (!plastic()) return {};
    const int index = plasticity_model().option_index(name);
    return index < 0 ? std::string_view() : std::string_view(plastic_options[static_cast<std::size_t>(index)]);
}

int32_t Connection::min_delay() const {
    if (delays.empty()) return delay;
    return *std::min_element(delays.begin(), delays.end());
}

bool Graph::compute_update_order() {
    // Kahn's algorithm over zero-delay edges, always taking the lowest ready id,
    // so the order is deterministic and equals creation order when possible.
    const std::size_t n = populations.size();
    std::vector<int> indegree(n, 0);
    std::vector<std::vector<int32_t>> successors(n);
    for (const Connection& c : connections) {
        if (c.min_delay() != 0) continue;
        successors[static_cast<std::size_t>(c.pre)].push_back(c.post);
        ++indegree[static_cast<std::size_t>(c.post)];
    }
    std::vector<int32_t> order;
    std::vector<bool> done(n, false);
    for (std::size_t taken = 0; taken < n; ++taken) {
        std::size_t next = n;
        for (std::size_t i = 0; i < n; ++i)
            if (!done[i] && indegree[i] == 0) { next = i; break; }
        if (next == n) return false;  // a cycle
        done[next] = true;
        order.push_back(static_cast<int32_t>(next));
        for (int32_t s : successors[next]) --indegree[static_cast<std::size_t>(s)];
    }
    update_order.assign(order.begin(), order.end());
    return true;
}

int32_t Graph::max_outgoing_delay(int32_t population) const {
    int32_t d = 0;
    for (const Connection& c : connections)
        if (c.pre == population) d = std::max(d, c.delay);
    return d;
}

}  // namespace snn
