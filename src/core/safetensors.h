// Reader and writer for the safetensors container that .snn files use. Private
// to the library.
//
// Layout: an 8-byte little-endian header length N, N bytes of a UTF-8 JSON
// object, then the data buffer. Each header entry other than "__metadata__"
// (an object of strings) describes one tensor:
//   "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// with offsets relative to the start of the buffer. Tensor data is stored
// little-endian, row-major.
//
// The reader treats its input as hostile: every length, offset and count is
// checked before use, and the tensors must tile the buffer exactly (no gaps,
// overlaps or trailing bytes), as the reference implementation requires.
//
// Big-endian hosts are not supported: tensor bytes are handed out and taken in
// as they are stored, so they are only meaningful in little-endian memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors: big-endian hosts are not supported"
#endif

namespace snn::safetensors {

enum class DType { F32, F64, U8, I32, I64, BOOL, BF16, F16 };

// Bytes per element; 0 for a value outside the enum.
size_t element_size(DType dtype);
// The name used in headers ("F32", ...); "" for a value outside the enum.
const char* dtype_name(DType dtype);
// Parses a header dtype name; false for names this library does not support.
bool dtype_from_name(std::string_view name, DType* out);

// The reference implementation's cap; real headers are far smaller.
constexpr uint64_t kMaxHeaderBytes = 100000000;

struct TensorView {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;  // empty for a scalar
    // Points into the parsed input, which must outlive this view. It is not
    // necessarily aligned for the dtype (other writers do not pad the header),
    // so copy the bytes out rather than casting the pointer.
    const uint8_t* data = nullptr;
    size_t nbytes = 0;
};

struct File {
    std::vector<std::pair<std::string, std::string>> metadata;  // header order
    std::vector<TensorView> tensors;                            // header order

    // Linear lookups; nullptr when absent.
    const TensorView* find(std::string_view name) const;
    const std::string* find_metadata(std::string_view key) const;
};

// Parses and validates a whole file held in memory. On failure returns false,
// leaves *out unchanged and describes the problem in *error (if non-null).
// Products of shape dimensions are guaranteed to fit int64_t.
bool parse(const uint8_t* data, size_t size, File* out, std::string* error);

// Builds a file. Arguments are checked in finish(), which reports the first
// problem. Tensor data is not copied: it must stay valid until finish().
// Tensors are laid out largest element size first, so with the header padded
// to a multiple of 8 bytes every tensor is aligned for its dtype in the file;
// the header lists them in the order they were added.
class Writer {
public:
    void add_metadata(std::string key, std::string value);
    void add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, const void* data,
                    size_t nbytes);
    // On failure returns false and leaves *out unchanged.
    bool finish(std::vector<uint8_t>* out, std::string* error) const;

private:
    struct Tensor {
        std::string name;
        DType dtype;
        std::vector<int64_t> shape;
        const void* data;
        size_t nbytes;
    };
    std::vector<std::pair<std::string, std::string>> metadata_;
    std::vector<Tensor> tensors_;
};

}  // namespace snn::safetensors
