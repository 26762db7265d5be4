#include "core/file_format.h"

#include "core/error.h"

namespace snn {

std::vector<uint8_t> save_network(const Network&, uint32_t) { throw fail(SNN_UNSUPPORTED, "save: not yet"); }
void save_network_file(const Network&, const char*, uint32_t) { throw fail(SNN_UNSUPPORTED, "save: not yet"); }
resource_ptr<Network> load_network(Context&, const uint8_t*, std::size_t, const snn_load_options&) {
    throw fail(SNN_UNSUPPORTED, "load: not yet");
}
resource_ptr<Network> load_network_file(Context&, const char*, const snn_load_options&) { throw fail(SNN_UNSUPPORTED, "load: not yet"); }

}  // namespace snn
