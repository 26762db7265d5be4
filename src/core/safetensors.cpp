#include "core/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/json.h"

namespace snn::safetensors {
namespace {

constexpr std::string_view kMetadataKey = "__metadata__";

// A real header nests three deep (root, entry, shape); a little slack keeps
// error messages about misplaced values specific.
constexpr size_t kMaxHeaderDepth = 8;
// Room for about half a million tensors while keeping the parse tree of a
// hostile 100 MB header to a few hundred MB.
constexpr size_t kMaxHeaderValues = size_t{1} << 22;

struct DTypeInfo {
    DType dtype;
    const char* name;
    size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F64, "F64", 8},   {DType::U8, "U8", 1},     {DType::I32, "I32", 4},
    {DType::I64, "I64", 8}, {DType::BOOL, "BOOL", 1}, {DType::BF16, "BF16", 2}, {DType::F16, "F16", 2},
};

const DTypeInfo* find_dtype(DType dtype) {
    for (const DTypeInfo& info : kDTypes) {
        if (info.dtype == dtype) return &info;
    }
    return nullptr;
}

bool fail(std::string* error, const std::string& what) {
    if (error != nullptr) *error = "safetensors: " + what;
    return false;
}

// Names from the file in messages: printable ASCII only, and not too much.
std::string quoted(std::string_view text) {
    constexpr size_t kMaxShown = 64;
    std::string shown = "\"";
    for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
        const char c = text[i];
        shown.push_back(c >= 0x20 && c < 0x7F ? c : '?');
    }
    shown += text.size() > kMaxShown ? "...\"" : "\"";
    return shown;
}

// Bytes a tensor of this shape occupies. Fails on a negative dimension or
// when the product of the nonzero dimensions exceeds int64_t, so that code
// multiplying dimensions in any order later cannot overflow.
bool shape_nbytes(const std::vector<int64_t>& shape, size_t element_bytes, uint64_t* nbytes,
                  std::string* why) {
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    int64_t product = 1;
    bool has_zero = false;
    for (int64_t dim : shape) {
        if (dim < 0) {
            *why = "negative dimension " + std::to_string(dim);
            return false;
        }
        if (dim == 0) {
            has_zero = true;
            continue;
        }
        if (product > kMax / dim) {
            *why = "shape has too many elements";
            return false;
        }
        product *= dim;
    }
    const auto count = has_zero ? uint64_t{0} : static_cast<uint64_t>(product);
    if (count > std::numeric_limits<uint64_t>::max() / element_bytes ||
        count * element_bytes > std::numeric_limits<size_t>::max()) {
        *why = "shape has too many bytes";
        return false;
    }
    *nbytes = count * element_bytes;
    return true;
}

struct Range {
    uint64_t begin;
    uint64_t end;
    size_t tensor;
};

bool parse_tensor(const std::string& name, const json::Value& entry, uint64_t buffer_size, TensorView* view,
                  Range* range, std::string* error) {
    const std::string where = "tensor " + quoted(name) + ": ";
    if (!entry.is_object()) return fail(error, where + "entry is not an object");
    const json::Value* dtype = nullptr;
    const json::Value* shape = nullptr;
    const json::Value* offsets = nullptr;
    for (const json::Value::Member& field : entry.as_object()) {
        if (field.first == "dtype") {
            dtype = &field.second;
        } else if (field.first == "shape") {
            shape = &field.second;
        } else if (field.first == "data_offsets") {
            offsets = &field.second;
        } else {
            return fail(error, where + "unknown field " + quoted(field.first));
        }
    }
    if (dtype == nullptr || shape == nullptr || offsets == nullptr) {
        return fail(error, where + "needs \"dtype\", \"shape\" and \"data_offsets\"");
    }

    if (!dtype->is_string()) return fail(error, where + "dtype is not a string");
    if (!dtype_from_name(dtype->as_string(), &view->dtype)) {
        return fail(error, where + "unsupported dtype " + quoted(dtype->as_string()));
    }

    if (!shape->is_array()) return fail(error, where + "shape is not an array");
    view->shape.reserve(shape->as_array().size());
    for (const json::Value& dim : shape->as_array()) {
        int64_t value;
        if (!dim.as_int64(&value))
            return fail(error, where + "shape holds a value that is not a 64-bit integer");
        view->shape.push_back(value);
    }
    uint64_t nbytes = 0;
    std::string why;
    if (!shape_nbytes(view->shape, element_size(view->dtype), &nbytes, &why)) {
        return fail(error, where + why);
    }

    if (!offsets->is_array() || offsets->as_array().size() != 2) {
        return fail(error, where + "data_offsets is not an array of two integers");
    }
    if (!offsets->as_array()[0].as_uint64(&range->begin) || !offsets->as_array()[1].as_uint64(&range->end)) {
        return fail(error, where + "data_offsets holds a value that is not an unsigned 64-bit integer");
    }
    if (range->begin > range->end || range->end > buffer_size) {
        return fail(error, where + "data_offsets [" + std::to_string(range->begin) + ", " +
                               std::to_string(range->end) + "] are outside the " +
                               std::to_string(buffer_size) + "-byte data buffer");
    }
    if (range->end - range->begin != nbytes) {
        return fail(error, where + "data_offsets span " + std::to_string(range->end - range->begin) +
                               " bytes but dtype and shape need " + std::to_string(nbytes));
    }
    view->name = name;
    view->nbytes = static_cast<size_t>(nbytes);
    return true;
}

uint64_t read_u64_le(const uint8_t* p) {
    uint64_t value = 0;
    for (int i = 7; i >= 0; --i) value = (value << 8) | p[i];
    return value;
}

void write_u64_le(uint64_t value, uint8_t* p) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}

// Appends `"key":value` to an object's text; concatenating members keeps
// writing linear, where json::Value::set() would search existing keys.
bool append_member(const std::string& key, const json::Value& value, std::string* text, std::string* error) {
    std::string key_json, value_json, json_error;
    if (!json::write(json::Value::from_string(key), &key_json, &json_error) ||
        !json::write(value, &value_json, &json_error)) {
        return fail(error, "cannot write the header for " + quoted(key) + ": " + json_error);
    }
    if (text->back() != '{') text->push_back(',');
    *text += key_json;
    text->push_back(':');
    *text += value_json;
    return true;
}

// Finds a repeated name in O(n log n).
const std::string* find_duplicate(std::vector<const std::string*> names) {
    std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
    for (size_t i = 1; i < names.size(); ++i) {
        if (*names[i] == *names[i - 1]) return names[i];
    }
    return nullptr;
}

}  // namespace

size_t element_size(DType dtype) {
    const DTypeInfo* info = find_dtype(dtype);
    return info != nullptr ? info->size : 0;
}

const char* dtype_name(DType dtype) {
    const DTypeInfo* info = find_dtype(dtype);
    return info != nullptr ? info->name : "";
}

bool dtype_from_name(std::string_view name, DType* out) {
    for (const DTypeInfo& info : kDTypes) {
        if (name == info.name) {
            *out = info.dtype;
            return true;
        }
    }
    return false;
}

const TensorView* File::find(std::string_view name) const {
    for (const TensorView& tensor : tensors) {
        if (tensor.name == name) return &tensor;
    }
    return nullptr;
}

const std::string* File::find_metadata(std::string_view key) const {
    for (const auto& entry : metadata) {
        if (entry.first == key) return &entry.second;
    }
    return nullptr;
}

bool parse(const uint8_t* data, size_t size, File* out, std::string* error) {
    if (data == nullptr || size < 8) {
        return fail(error, "file of " + std::to_string(data == nullptr ? 0 : size) +
                               " bytes is too short for the header length");
    }
    const uint64_t header_size = read_u64_le(data);
    if (header_size > kMaxHeaderBytes) {
        return fail(error, "header length " + std::to_string(header_size) + " exceeds the limit of " +
                               std::to_string(kMaxHeaderBytes) + " bytes");
    }
    if (header_size > size - 8) {
        return fail(error, "header length " + std::to_string(header_size) + " exceeds the " +
                               std::to_string(size - 8) + " bytes after the length field");
    }
    const std::string_view header_text(reinterpret_cast<const char*>(data + 8), header_size);
    const uint8_t* buffer = data + 8 + header_size;
    const uint64_t buffer_size = size - 8 - header_size;

    json::ParseLimits limits;
    limits.max_depth = kMaxHeaderDepth;
    limits.max_values = kMaxHeaderValues;
    json::Value header;
    std::string json_error;
    if (!json::parse(header_text, &header, &json_error, limits)) {
        return fail(error, "header (from byte 8) is not valid JSON: " + json_error);
    }
    if (!header.is_object()) return fail(error, "header is not a JSON object");

    File file;
    std::vector<Range> ranges;
    for (const json::Value::Member& member : header.as_object()) {
        if (member.first == kMetadataKey) {
            if (!member.second.is_object()) return fail(error, "__metadata__ is not an object");
            for (const json::Value::Member& entry : member.second.as_object()) {
                if (!entry.second.is_string()) {
                    return fail(error, "metadata value for " + quoted(entry.first) + " is not a string");
                }
                file.metadata.emplace_back(entry.first, entry.second.as_string());
            }
            continue;
        }
        TensorView view;
        Range range{};
        if (!parse_tensor(member.first, member.second, buffer_size, &view, &range, error)) {
            return false;
        }
        range.tensor = file.tensors.size();
        file.tensors.push_back(std::move(view));
        ranges.push_back(range);
    }

    // The tensors must tile the buffer exactly.
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
        return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
    });
    uint64_t covered = 0;
    for (const Range& range : ranges) {
        const std::string& name = file.tensors[range.tensor].name;
        if (range.begin < covered) return fail(error, "tensor " + quoted(name) + " overlaps another");
        if (range.begin > covered) {
            return fail(error, "gap of " + std::to_string(range.begin - covered) + " bytes before tensor " +
                                   quoted(name));
        }
        covered = range.end;
        file.tensors[range.tensor].data = buffer + range.begin;
    }
    if (covered != buffer_size) {
        return fail(error, std::to_string(buffer_size - covered) +
                               " bytes at the end of the data buffer belong to no tensor");
    }

    if (out != nullptr) *out = std::move(file);
    return true;
}

void Writer::add_metadata(std::string key, std::string value) {
    metadata_.emplace_back(std::move(key), std::move(value));
}

void Writer::add_tensor(std::string name, DType dtype, std::vector<int64_t> shape, const void* data,
                        size_t nbytes) {
    tensors_.push_back(Tensor{std::move(name), dtype, std::move(shape), data, nbytes});
}

bool Writer::finish(std::vector<uint8_t>* out, std::string* error) const {
    std::vector<const std::string*> keys;
    for (const auto& entry : metadata_) keys.push_back(&entry.first);
    if (const std::string* key = find_duplicate(keys)) {
        return fail(error, "duplicate metadata key " + quoted(*key));
    }

    std::vector<const std::string*> names;
    for (const Tensor& tensor : tensors_) {
        const std::string where = "tensor " + quoted(tensor.name) + ": ";
        if (tensor.name == kMetadataKey) return fail(error, where + "name is reserved");
        const size_t element_bytes = element_size(tensor.dtype);
        if (element_bytes == 0) return fail(error, where + "invalid dtype");
        uint64_t nbytes = 0;
        std::string why;
        if (!shape_nbytes(tensor.shape, element_bytes, &nbytes, &why)) return fail(error, where + why);
        if (nbytes != tensor.nbytes) {
            return fail(error, where + std::to_string(tensor.nbytes) +
                                   " bytes given but dtype and shape need " + std::to_string(nbytes));
        }
        if (tensor.data == nullptr && tensor.nbytes != 0) return fail(error, where + "data is null");
        names.push_back(&tensor.name);
    }
    if (const std::string* name = find_duplicate(names)) {
        return fail(error, "duplicate tensor name " + quoted(*name));
    }

    // Larger elements first: every offset is then a multiple of the element
    // size, since all sizes are powers of two.
    std::vector<size_t> layout(tensors_.size());
    std::iota(layout.begin(), layout.end(), size_t{0});
    std::stable_sort(layout.begin(), layout.end(), [&](size_t a, size_t b) {
        return element_size(tensors_[a].dtype) > element_size(tensors_[b].dtype);
    });
    std::vector<uint64_t> begins(tensors_.size());
    uint64_t data_size = 0;
    for (size_t index : layout) {
        begins[index] = data_size;
        if (tensors_[index].nbytes > std::numeric_limits<uint64_t>::max() - data_size) {
            return fail(error, "tensor data too large");
        }
        data_size += tensors_[index].nbytes;
    }

    std::string header = "{";
    if (!metadata_.empty()) {
        std::string metadata_text = "{";
        for (const auto& entry : metadata_) {
            if (!append_member(entry.first, json::Value::from_string(entry.second), &metadata_text, error)) {
                return false;
            }
        }
        metadata_text.push_back('}');
        header += "\"__metadata__\":" + metadata_text;
    }
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const Tensor& tensor = tensors_[i];
        json::Value shape = json::Value::array();
        for (int64_t dim : tensor.shape) shape.push_back(json::Value::from_int64(dim));
        json::Value offsets = json::Value::array();
        offsets.push_back(json::Value::from_uint64(begins[i]));
        offsets.push_back(json::Value::from_uint64(begins[i] + tensor.nbytes));
        json::Value entry = json::Value::object();
        entry.set("dtype", json::Value::from_string(dtype_name(tensor.dtype)));
        entry.set("shape", std::move(shape));
        entry.set("data_offsets", std::move(offsets));
        if (!append_member(tensor.name, entry, &header, error)) return false;
    }
    header.push_back('}');
    // Pad with spaces (JSON whitespace) so the data buffer starts 8-aligned.
    header.resize((header.size() + 7) / 8 * 8, ' ');
    if (header.size() > kMaxHeaderBytes) return fail(error, "header exceeds the size limit");

    const uint64_t prefix = 8 + header.size();
    if (data_size > std::numeric_limits<size_t>::max() - prefix) {
        return fail(error, "file too large");
    }
    std::vector<uint8_t> bytes(static_cast<size_t>(prefix + data_size));
    write_u64_le(header.size(), bytes.data());
    std::memcpy(bytes.data() + 8, header.data(), header.size());
    for (size_t index : layout) {
        const Tensor& tensor = tensors_[index];
        if (tensor.nbytes != 0) {
            std::memcpy(bytes.data() + prefix + begins[index], tensor.data, tensor.nbytes);
        }
    }
    if (out != nullptr) *out = std::move(bytes);
    return true;
}

}  // namespace snn::safetensors
