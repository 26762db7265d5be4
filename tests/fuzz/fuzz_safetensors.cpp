// libFuzzer entry point for the safetensors reader and the JSON parser under
// it. Not part of the default build; with clang, from the repository root:
//
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc
//     tests/fuzz/fuzz_safetensors.cpp src/core/json.cpp src/core/safetensors.cpp
//     -o fuzz_safetensors
//   ./fuzz_safetensors corpus/
//
// Seed the corpus with a few .snn or .safetensors files. Beyond "no crash",
// the target checks that whatever parses also survives a write/read trip.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/safetensors.h"

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

void fuzz_json(std::string_view text) {
    snn::json::Value value;
    std::string error;
    if (!snn::json::parse(text, &value, &error)) {
        check(!error.empty());
        return;
    }
    std::string written, rewritten;
    check(snn::json::write(value, &written, &error));
    snn::json::Value back;
    check(snn::json::parse(written, &back, &error));
    check(snn::json::write(back, &rewritten, &error));
    check(rewritten == written);
}

void fuzz_safetensors(const uint8_t* data, size_t size) {
    namespace st = snn::safetensors;
    st::File file;
    std::string error;
    if (!st::parse(data, size, &file, &error)) {
        check(!error.empty());
        return;
    }
    st::Writer writer;
    for (const auto& entry : file.metadata) writer.add_metadata(entry.first, entry.second);
    for (const st::TensorView& t : file.tensors) {
        check(t.data >= data && t.nbytes <= size && t.data + t.nbytes <= data + size);
        writer.add_tensor(t.name, t.dtype, t.shape, t.data, t.nbytes);
    }
    std::vector<uint8_t> bytes;
    check(writer.finish(&bytes, &error));
    st::File back;
    check(st::parse(bytes.data(), bytes.size(), &back, &error));
    check(back.metadata == file.metadata && back.tensors.size() == file.tensors.size());
    for (size_t i = 0; i < back.tensors.size(); ++i) {
        const st::TensorView& a = file.tensors[i];
        const st::TensorView& b = back.tensors[i];
        check(a.name == b.name && a.dtype == b.dtype && a.shape == b.shape && a.nbytes == b.nbytes);
        check(a.nbytes == 0 || std::memcmp(a.data, b.data, a.nbytes) == 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz_safetensors(data, size);
    // The same bytes as a JSON text reach parser paths a header rarely does.
    fuzz_json(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
