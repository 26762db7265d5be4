// The .snn file (DESIGN Decision 10, docs/file-format.md): a safetensors
// container whose metadata holds the graph as JSON and whose tensors hold
// parameters, weights and state.
#pragma once

#include <cstdint>
#include <vector>

#include "core/network.h"

namespace snn {

std::vector<uint8_t> save_network(const Network& network, uint32_t flags);
void save_network_file(const Network& network, const char* path, uint32_t flags);

// Both throw SNN_FORMAT for anything that is not a valid .snn file.
resource_ptr<Network> load_network(Context& context, const uint8_t* data, std::size_t size, const snn_load_options& options);
resource_ptr<Network> load_network_file(Context& context, const char* path, const snn_load_options& options);

}  // namespace snn
