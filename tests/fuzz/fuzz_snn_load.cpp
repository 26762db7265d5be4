// libFuzzer entry point for the whole .snn loader through the public API. Not
// part of the default build; with clang, after building libsnn into build/:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude
//     tests/fuzz/fuzz_snn_load.cpp -Lbuild -lsnn -Wl,-rpath,build -o fuzz_snn_load
//   ./fuzz_snn_load corpus/          (seed it with .snn files saved by the tests)
//
// Whatever loads must also run a few steps and save again.
#include <snn/snn.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static snn_context* context = [] {
        snn_context* c = nullptr;
        if (snn_context_create(nullptr, &c) != SNN_OK) std::abort();
        return c;
    }();
    snn_network* net = nullptr;
    snn_status status = snn_network_load_from_memory(context, size ? data : reinterpret_cast<const uint8_t*>(""),
                                                     static_cast<int64_t>(size), nullptr, &net);
    if (status == SNN_OK) {
        if (snn_network_run(net, 2) != SNN_OK && snn_network_run(net, 0) != SNN_OK) std::abort();
        int64_t bytes = 0;
        if (snn_network_save_to_memory(net, SNN_SAVE_DEFAULT, nullptr, 0, &bytes) != SNN_OK) std::abort();
        snn_network_destroy(net);
    } else if (status != SNN_FORMAT && status != SNN_NO_MEMORY && status != SNN_INVALID_ARGUMENT) {
        std::abort();  // a damaged file is a format error, nothing else
    }
    return 0;
}
