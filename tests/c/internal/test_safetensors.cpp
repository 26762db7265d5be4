#include "core/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace snn::safetensors {
namespace {

using Bytes = std::vector<uint8_t>;

void put_u64_le(uint64_t value, uint8_t* p) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(value >> (8 * i));
}

// A file with this exact header text followed by `data`.
Bytes make_file(std::string_view header, const Bytes& data = {}) {
    Bytes file(8);
    put_u64_le(header.size(), file.data());
    file.insert(file.end(), header.begin(), header.end());
    file.insert(file.end(), data.begin(), data.end());
    return file;
}

Bytes zeros(size_t n) {
    return Bytes(n, 0);
}

// Parses an exactly sized heap copy, so that the sanitizers see any read past
// the end; returns the error, failing the test if parsing succeeds.
std::string parse_error(const Bytes& bytes) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() == 0 ? 1 : bytes.size()]);
    if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
    std::string error;
    EXPECT_FALSE(parse(bytes.empty() ? nullptr : copy.get(), bytes.size(), nullptr, &error));
    EXPECT_EQ(error.rfind("safetensors: ", 0), 0u) << error;
    return error;
}

std::string header_error(std::string_view header, size_t data_bytes = 0) {
    SCOPED_TRACE(std::string(header));
    return parse_error(make_file(header, zeros(data_bytes)));
}

void expect_contains(const std::string& text, const std::string& part) {
    EXPECT_NE(text.find(part), std::string::npos) << "\"" << text << "\" lacks \"" << part << "\"";
}

template <typename T>
Bytes bytes_of(const std::vector<T>& values) {
    Bytes out(values.size() * sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), values.data(), out.size());
    return out;
}

TEST(SafetensorsDType, NamesAndSizes) {
    const struct {
        DType dtype;
        const char* name;
        size_t size;
    } expected[] = {{DType::F32, "F32", 4},   {DType::F64, "F64", 8}, {DType::U8, "U8", 1},
                    {DType::I32, "I32", 4},   {DType::I64, "I64", 8}, {DType::BOOL, "BOOL", 1},
                    {DType::BF16, "BF16", 2}, {DType::F16, "F16", 2}};
    for (const auto& e : expected) {
        EXPECT_EQ(element_size(e.dtype), e.size);
        EXPECT_STREQ(dtype_name(e.dtype), e.name);
        DType parsed = DType::U8;
        EXPECT_TRUE(dtype_from_name(e.name, &parsed));
        EXPECT_EQ(parsed, e.dtype);
    }
    DType unused;
    for (const char* name : {"", "f32", "F8_E4M3", "I8", "U16", "U64", "C64", "F32 "}) {
        EXPECT_FALSE(dtype_from_name(name, &unused)) << name;
    }
    EXPECT_EQ(element_size(static_cast<DType>(99)), 0u);
    EXPECT_STREQ(dtype_name(static_cast<DType>(99)), "");
}

// Written by the Python safetensors package 0.8.0:
//   safetensors.numpy.save({"idx": int64 [7, -9], "w": float32 [[1.5, -2], [3.25, 0]],
//                           "e": int32 zeros (0, 3), "h": float16 [1], "mask": [1, 0, 1]},
//                          metadata={"format": "snn", "note": "café \"q\""})
TEST(SafetensorsRead, FileWrittenByPythonSafetensors) {
    const std::string header = R"({"__metadata__":{"note":"caf)"
                               "\xC3\xA9"
                               R"( \"q\"","format":"snn"},)"
                               R"("idx":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},)"
                               R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[16,32]},)"
                               R"("e":{"dtype":"I32","shape":[0,3],"data_offsets":[32,32]},)"
                               R"("h":{"dtype":"F16","shape":[1],"data_offsets":[32,34]},)"
                               R"("mask":{"dtype":"BOOL","shape":[3],"data_offsets":[34,37]}}      )";
    ASSERT_EQ(header.size(), 0x158u);
    const Bytes data = {0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf7, 0xff, 0xff, 0xff, 0xff,
                        0xff, 0xff, 0xff, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x00,
                        0x50, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3c, 0x01, 0x00, 0x01};
    const Bytes bytes = make_file(header, data);
    File file;
    std::string error;
    ASSERT_TRUE(parse(bytes.data(), bytes.size(), &file, &error)) << error;

    ASSERT_EQ(file.metadata.size(), 2u);
    EXPECT_EQ(file.metadata[0].first, "note");
    EXPECT_EQ(file.metadata[0].second, "caf\xC3\xA9 \"q\"");
    ASSERT_NE(file.find_metadata("format"), nullptr);
    EXPECT_EQ(*file.find_metadata("format"), "snn");
    EXPECT_EQ(file.find_metadata("missing"), nullptr);

    ASSERT_EQ(file.tensors.size(), 5u);
    const char* order[] = {"idx", "w", "e", "h", "mask"};
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(file.tensors[i].name, order[i]);

    const TensorView* idx = file.find("idx");
    ASSERT_NE(idx, nullptr);
    EXPECT_EQ(idx->dtype, DType::I64);
    EXPECT_EQ(idx->shape, std::vector<int64_t>({2}));
    ASSERT_EQ(idx->nbytes, 16u);
    int64_t ints[2];
    std::memcpy(ints, idx->data, sizeof ints);
    EXPECT_EQ(ints[0], 7);
    EXPECT_EQ(ints[1], -9);

    const TensorView* w = file.find("w");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->shape, std::vector<int64_t>({2, 2}));
    float floats[4];
    ASSERT_EQ(w->nbytes, sizeof floats);
    std::memcpy(floats, w->data, sizeof floats);
    EXPECT_EQ(floats[0], 1.5f);
    EXPECT_EQ(floats[1], -2.0f);
    EXPECT_EQ(floats[2], 3.25f);
    EXPECT_EQ(floats[3], 0.0f);

    EXPECT_EQ(file.find("e")->nbytes, 0u);
    EXPECT_EQ(file.find("e")->shape, std::vector<int64_t>({0, 3}));
    EXPECT_EQ(file.find("h")->dtype, DType::F16);
    EXPECT_EQ(file.find("h")->data[1], 0x3c);
    EXPECT_EQ(file.find("mask")->dtype, DType::BOOL);
    EXPECT_EQ(file.find("mask")->data[2], 1);
    EXPECT_EQ(file.find("mask")->data + 3, bytes.data() + bytes.size());
    EXPECT_EQ(file.find("nope"), nullptr);
}

TEST(SafetensorsWrite, RoundTripAllDTypes) {
    const std::vector<float> f32 = {1.0f, -2.5f, 3.0f, 4.0f, 5.0f, 6.0f};
    const std::vector<double> f64 = {0.1, -1e300};
    const std::vector<uint8_t> u8 = {1, 2, 3};
    const std::vector<int32_t> i32 = {-1, 2147483647, 0, 4};
    const std::vector<int64_t> i64 = {std::numeric_limits<int64_t>::min()};
    const std::vector<uint8_t> flags = {1, 0};
    const std::vector<uint16_t> bf16 = {0x3f80, 0xc000, 0x0000};
    const std::vector<uint16_t> f16 = {0x3c00};

    Writer writer;
    writer.add_metadata("format", "snn");
    writer.add_metadata("config", R"({"neurons": 3, "name": "caf\u00e9"})");
    writer.add_metadata("unicode \xE2\x82\xAC", "line\nbreak\t\"quoted\"");
    writer.add_tensor("bytes", DType::U8, {3}, u8.data(), u8.size());  // odd size goes last
    writer.add_tensor("layer.0/weights", DType::F32, {2, 3}, f32.data(), f32.size() * 4);
    writer.add_tensor("f64", DType::F64, {2}, f64.data(), 16);
    writer.add_tensor("i32", DType::I32, {2, 2}, i32.data(), 16);
    writer.add_tensor("scalar", DType::I64, {}, i64.data(), 8);
    writer.add_tensor("mask", DType::BOOL, {2}, flags.data(), 2);
    writer.add_tensor("bf16", DType::BF16, {3}, bf16.data(), 6);
    writer.add_tensor("f16", DType::F16, {1, 1, 1}, f16.data(), 2);
    writer.add_tensor("empty", DType::F32, {4, 0}, nullptr, 0);

    Bytes bytes;
    std::string error;
    ASSERT_TRUE(writer.finish(&bytes, &error)) << error;
    Bytes again;
    ASSERT_TRUE(writer.finish(&again, &error)) << error;
    EXPECT_EQ(bytes, again);  // deterministic

    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | bytes[i];
    EXPECT_EQ(header_size % 8, 0u);
    EXPECT_EQ(bytes[8], '{');
    const uint8_t* buffer = bytes.data() + 8 + header_size;

    File file;
    ASSERT_TRUE(parse(bytes.data(), bytes.size(), &file, &error)) << error;
    ASSERT_EQ(file.metadata.size(), 3u);
    EXPECT_EQ(file.metadata[1].second, R"({"neurons": 3, "name": "caf\u00e9"})");
    EXPECT_EQ(file.metadata[2].first, "unicode \xE2\x82\xAC");
    EXPECT_EQ(file.metadata[2].second, "line\nbreak\t\"quoted\"");

    const struct {
        const char* name;
        DType dtype;
        std::vector<int64_t> shape;
        Bytes data;
    } expected[] = {
        {"bytes", DType::U8, {3}, u8},
        {"layer.0/weights", DType::F32, {2, 3}, bytes_of(f32)},
        {"f64", DType::F64, {2}, bytes_of(f64)},
        {"i32", DType::I32, {2, 2}, bytes_of(i32)},
        {"scalar", DType::I64, {}, bytes_of(i64)},
        {"mask", DType::BOOL, {2}, flags},
        {"bf16", DType::BF16, {3}, bytes_of(bf16)},
        {"f16", DType::F16, {1, 1, 1}, bytes_of(f16)},
        {"empty", DType::F32, {4, 0}, {}},
    };
    ASSERT_EQ(file.tensors.size(), std::size(expected));
    for (size_t i = 0; i < file.tensors.size(); ++i) {
        const TensorView& t = file.tensors[i];
        SCOPED_TRACE(t.name);
        EXPECT_EQ(t.name, expected[i].name);  // header keeps the order of add_tensor
        EXPECT_EQ(t.dtype, expected[i].dtype);
        EXPECT_EQ(t.shape, expected[i].shape);
        ASSERT_EQ(t.nbytes, expected[i].data.size());
        EXPECT_EQ(Bytes(t.data, t.data + t.nbytes), expected[i].data);
        // Offsets in the buffer suit the element size.
        EXPECT_EQ(static_cast<size_t>(t.data - buffer) % element_size(t.dtype), 0u);
    }
}

TEST(SafetensorsWrite, EmptyFile) {
    Bytes bytes;
    std::string error;
    ASSERT_TRUE(Writer().finish(&bytes, &error)) << error;
    EXPECT_EQ(std::string(bytes.begin() + 8, bytes.end()), "{}      ");
    File file;
    ASSERT_TRUE(parse(bytes.data(), bytes.size(), &file, &error)) << error;
    EXPECT_TRUE(file.tensors.empty());
    EXPECT_TRUE(file.metadata.empty());
}

TEST(SafetensorsWrite, Errors) {
    const float data[4] = {};
    auto finish_error = [](const Writer& writer) {
        Bytes out = {42};
        std::string error;
        EXPECT_FALSE(writer.finish(&out, &error));
        EXPECT_EQ(out, Bytes({42}));
        EXPECT_EQ(error.rfind("safetensors: ", 0), 0u) << error;
        return error;
    };
    {
        Writer w;
        w.add_tensor("a", DType::F32, {1}, data, 4);
        w.add_tensor("a", DType::F32, {1}, data, 4);
        expect_contains(finish_error(w), "duplicate tensor name \"a\"");
    }
    {
        Writer w;
        w.add_tensor("__metadata__", DType::F32, {1}, data, 4);
        expect_contains(finish_error(w), "reserved");
    }
    {
        Writer w;
        w.add_tensor("a", DType::F32, {2}, data, 4);
        expect_contains(finish_error(w), "need 8");
    }
    {
        Writer w;
        w.add_tensor("a", DType::F32, {-1}, data, 4);
        expect_contains(finish_error(w), "negative dimension");
    }
    {
        Writer w;
        w.add_tensor("a", DType::U8, {int64_t{1} << 40, int64_t{1} << 40}, data, 0);
        expect_contains(finish_error(w), "too many");
    }
    {
        Writer w;
        w.add_tensor("a", DType::F32, {1}, nullptr, 4);
        expect_contains(finish_error(w), "null");
    }
    {
        Writer w;
        w.add_tensor("a", static_cast<DType>(99), {1}, data, 4);
        expect_contains(finish_error(w), "invalid dtype");
    }
    {
        Writer w;
        w.add_metadata("k", "1");
        w.add_metadata("k", "2");
        expect_contains(finish_error(w), "duplicate metadata key \"k\"");
    }
    {
        Writer w;
        w.add_tensor("bad \xC0\x80", DType::F32, {1}, data, 4);
        expect_contains(finish_error(w), "UTF-8");
    }
    {
        Writer w;
        w.add_metadata("k", "bad \xFF");
        expect_contains(finish_error(w), "UTF-8");
    }
}

TEST(SafetensorsRead, FramingErrors) {
    for (size_t n = 0; n < 8; ++n) expect_contains(parse_error(zeros(n)), "too short");
    std::string error;
    EXPECT_FALSE(parse(nullptr, 100, nullptr, &error));

    Bytes file = make_file("{}      ");
    for (uint64_t length : {uint64_t{9}, uint64_t{1} << 32, uint64_t{1} << 63,
                            std::numeric_limits<uint64_t>::max(), kMaxHeaderBytes + 1}) {
        put_u64_le(length, file.data());
        expect_contains(parse_error(file), "header length");
    }
    // Length within the cap but beyond the file.
    put_u64_le(kMaxHeaderBytes, file.data());
    expect_contains(parse_error(file), "exceeds the 8 bytes");
    put_u64_le(0, file.data());
    expect_contains(parse_error(file), "not valid JSON");
}

TEST(SafetensorsRead, HeaderErrors) {
    expect_contains(header_error("{"), "not valid JSON");
    expect_contains(header_error("not json"), "not valid JSON");
    expect_contains(header_error("{\"a\xFF\":1}"), "UTF-8");
    expect_contains(header_error(std::string("{}\0", 3)), "not valid JSON");
    expect_contains(header_error("{} x"), "not valid JSON");
    expect_contains(header_error("[]"), "not a JSON object");
    expect_contains(header_error("\"{}\""), "not a JSON object");
    expect_contains(header_error(R"({"__metadata__":[]})"), "__metadata__ is not an object");
    expect_contains(header_error(R"({"__metadata__":{"a":1}})"), "metadata value for \"a\"");
    expect_contains(header_error(R"({"__metadata__":{"a":null}})"), "not a string");
    expect_contains(header_error(R"({"__metadata__":{"a":{"b":"c"}}})"), "not a string");
    expect_contains(header_error(R"({"__metadata__":{},"__metadata__":{}})"), "duplicate");
    expect_contains(header_error(std::string(200, '[') + std::string(200, ']')), "nesting");
}

TEST(SafetensorsRead, TensorEntryErrors) {
    expect_contains(header_error(R"({"t":1})"), "tensor \"t\": entry is not an object");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1]}})", 4), "needs");
    expect_contains(header_error(R"({"t":{"shape":[1],"data_offsets":[0,4]}})", 4), "needs");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}})", 4),
                    "unknown field \"x\"");
    expect_contains(
        header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"dtype":"F32"}})", 4),
        "duplicate");
    expect_contains(header_error(R"({"t":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4),
                    "dtype is not a string");
    expect_contains(header_error(R"({"t":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1),
                    "unsupported dtype \"F8_E4M3\"");
    expect_contains(header_error(R"({"t":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}})", 4),
                    "unsupported dtype");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", 4),
                    "shape is not an array");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})"),
                    "negative dimension");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", 4),
                    "not a 64-bit integer");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})", 4),
                    "not a 64-bit integer");
    expect_contains(
        header_error(R"({"t":{"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,4]}})", 4),
        "not a 64-bit integer");
    expect_contains(
        header_error(R"({"t":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
        "too many elements");
    expect_contains(
        header_error(R"({"t":{"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]}})"),
        "too many elements");
    expect_contains(
        header_error(R"({"t":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})"),
        "too many bytes");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4),
                    "array of two");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}})", 4),
                    "array of two");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":{"0":4}}})", 4),
                    "array of two");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})", 4),
                    "not an unsigned 64-bit integer");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}})", 4),
                    "not an unsigned 64-bit integer");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4), "outside");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})", 4),
                    "outside the 4-byte data buffer");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[1],)"
                                 R"("data_offsets":[18446744073709551612,18446744073709551615]}})",
                                 4),
                    "outside");
    expect_contains(header_error(R"({"t":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4),
                    "span 4 bytes but dtype and shape need 8");
    expect_contains(header_error(R"({"t":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}})", 8), "need 6");
}

TEST(SafetensorsRead, CoverageErrors) {
    const std::string a = R"("a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]})";
    expect_contains(header_error("{" + a + R"(,"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})", 6),
                    "overlaps");
    expect_contains(header_error("{" + a + R"(,"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 4),
                    "overlaps");
    expect_contains(header_error("{" + a + R"(,"b":{"dtype":"U8","shape":[0],"data_offsets":[2,2]}})", 4),
                    "overlaps");
    expect_contains(header_error("{" + a + R"(,"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}})", 8),
                    "gap of 2 bytes before tensor \"b\"");
    expect_contains(header_error(R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}})", 3),
                    "gap of 1 bytes");
    expect_contains(header_error("{" + a + "}", 5), "1 bytes at the end");
    expect_contains(header_error("{}", 1), "1 bytes at the end");
    expect_contains(header_error("{" + a + "," + a + "}", 4), "duplicate object key \"a\"");
}

TEST(SafetensorsRead, AcceptedEdgeCases) {
    File file;
    std::string error;
    // Header padded with whitespace, zero-sized tensors sharing offsets,
    // entries out of buffer order, a scalar.
    const std::string header =
        R"( {"z":{"dtype":"U8","shape":[0],"data_offsets":[2,2]},)"
        R"("s":{"data_offsets":[0,2],"shape":[],"dtype":"F16"},)"
        R"("y":{"dtype":"F64","shape":[0,7,1317624576693539401],"data_offsets":[2,2]},)"
        R"("__metadata__":{}}  )"
        "\n\t ";
    const Bytes bytes = make_file(header, {0x00, 0x3c});
    ASSERT_TRUE(parse(bytes.data(), bytes.size(), &file, &error)) << error;
    ASSERT_EQ(file.tensors.size(), 3u);
    EXPECT_EQ(file.tensors[0].name, "z");
    EXPECT_TRUE(file.tensors[1].shape.empty());
    EXPECT_EQ(file.tensors[1].nbytes, 2u);
    EXPECT_EQ(file.tensors[2].nbytes, 0u);
    EXPECT_TRUE(file.metadata.empty());
    // Output untouched on failure.
    File kept = file;
    EXPECT_FALSE(parse(bytes.data(), bytes.size() - 1, &file, &error));
    EXPECT_EQ(file.tensors.size(), kept.tensors.size());
    EXPECT_EQ(file.tensors[0].data, kept.tensors[0].data);
}

// Checks what a successful parse promises, then writes the tensors again and
// reads them back.
void check_parsed_file(const uint8_t* data, size_t size, const File& file) {
    for (const TensorView& t : file.tensors) {
        ASSERT_GE(t.data, data);
        ASSERT_LE(t.data + t.nbytes, data + size);
        uint64_t count = 1;
        for (int64_t dim : t.shape) {
            ASSERT_GE(dim, 0);
            count *= static_cast<uint64_t>(dim);
        }
        ASSERT_EQ(count * element_size(t.dtype), t.nbytes);
    }
    Writer writer;
    for (const auto& entry : file.metadata) writer.add_metadata(entry.first, entry.second);
    for (const TensorView& t : file.tensors) writer.add_tensor(t.name, t.dtype, t.shape, t.data, t.nbytes);
    Bytes rewritten;
    std::string error;
    ASSERT_TRUE(writer.finish(&rewritten, &error)) << error;
    File back;
    ASSERT_TRUE(parse(rewritten.data(), rewritten.size(), &back, &error)) << error;
    ASSERT_EQ(back.metadata, file.metadata);
    ASSERT_EQ(back.tensors.size(), file.tensors.size());
    for (size_t i = 0; i < back.tensors.size(); ++i) {
        ASSERT_EQ(back.tensors[i].name, file.tensors[i].name);
        ASSERT_EQ(back.tensors[i].shape, file.tensors[i].shape);
        ASSERT_EQ(Bytes(back.tensors[i].data, back.tensors[i].data + back.tensors[i].nbytes),
                  Bytes(file.tensors[i].data, file.tensors[i].data + file.tensors[i].nbytes));
    }
}

// Parses an exactly sized copy; a failure must be a clean error.
void parse_mutant(const Bytes& bytes, int* accepted) {
    std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size() == 0 ? 1 : bytes.size()]);
    if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
    File file;
    std::string error;
    if (parse(copy.get(), bytes.size(), &file, &error)) {
        ++*accepted;
        check_parsed_file(copy.get(), bytes.size(), file);
    } else {
        ASSERT_EQ(error.rfind("safetensors: ", 0), 0u) << error;
    }
}

Bytes fuzz_seed() {
    static const float weights[6] = {0.5f, -1.0f, 2.0f, 0.0f, 1e-3f, 7.0f};
    static const int64_t seed[1] = {42};
    static const uint8_t flags[3] = {1, 0, 1};
    Writer writer;
    writer.add_metadata("format", "snn");
    writer.add_metadata("v", "1");
    writer.add_tensor("w", DType::F32, {2, 3}, weights, sizeof weights);
    writer.add_tensor("seed", DType::I64, {}, seed, sizeof seed);
    writer.add_tensor("m", DType::BOOL, {3}, flags, sizeof flags);
    writer.add_tensor("e", DType::BF16, {0, 5}, nullptr, 0);
    Bytes bytes;
    std::string error;
    EXPECT_TRUE(writer.finish(&bytes, &error)) << error;
    return bytes;
}

TEST(SafetensorsFuzz, TruncationsAndBitFlips) {
    const Bytes seed = fuzz_seed();
    int accepted = 0;
    for (size_t length = 0; length <= seed.size(); ++length) {
        parse_mutant(Bytes(seed.begin(), seed.begin() + length), &accepted);
    }
    EXPECT_EQ(accepted, 1);  // only the whole file
    for (size_t bit = 0; bit < seed.size() * 8; ++bit) {
        Bytes mutant = seed;
        mutant[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
        parse_mutant(mutant, &accepted);
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(accepted, 1);  // flips in the data or padding are still valid files
}

TEST(SafetensorsFuzz, RandomMutations) {
    const Bytes seed = fuzz_seed();
    uint64_t seed_header_size = 0;
    for (int i = 7; i >= 0; --i) seed_header_size = (seed_header_size << 8) | seed[i];
    const std::string alphabet = "{}[]\",:0123456789-.e \\u\x80\xFF";
    std::mt19937_64 rng(1234);
    int accepted = 0;
    for (int iteration = 0; iteration < 20000; ++iteration) {
        Bytes mutant = seed;
        const int mutations = 1 + static_cast<int>(rng() % 4);
        for (int m = 0; m < mutations; ++m) {
            const size_t at = mutant.empty() ? 0 : rng() % mutant.size();
            switch (rng() % 8) {
                case 0:
                    if (!mutant.empty()) mutant[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
                    break;
                case 1:
                    if (!mutant.empty()) mutant[at] = static_cast<uint8_t>(rng());
                    break;
                case 2:
                    if (!mutant.empty()) mutant[at] = static_cast<uint8_t>(alphabet[rng() % alphabet.size()]);
                    break;
                case 3:
                    mutant.insert(mutant.begin() + static_cast<std::ptrdiff_t>(at),
                                  static_cast<uint8_t>(alphabet[rng() % alphabet.size()]));
                    break;
                case 4:
                    if (!mutant.empty()) {
                        const size_t n = std::min<size_t>(1 + rng() % 4, mutant.size() - at);
                        mutant.erase(mutant.begin() + static_cast<std::ptrdiff_t>(at),
                                     mutant.begin() + static_cast<std::ptrdiff_t>(at + n));
                    }
                    break;
                case 5: mutant.resize(at); break;
                case 6: {
                    // Header length field: huge, small, off by a little, or random.
                    const uint64_t choices[] = {0,
                                                1,
                                                7,
                                                8,
                                                seed_header_size - 1,
                                                seed_header_size + 1,
                                                mutant.size() - 8,
                                                mutant.size() - 7,
                                                kMaxHeaderBytes,
                                                kMaxHeaderBytes + 1,
                                                uint64_t{1} << 63,
                                                std::numeric_limits<uint64_t>::max(),
                                                rng()};
                    if (mutant.size() >= 8) put_u64_le(choices[rng() % std::size(choices)], mutant.data());
                    break;
                }
                case 7:
                    // Keeps the header length consistent with an inserted header byte,
                    // so that the mutation reaches the JSON and the checks after it.
                    if (mutant.size() > 9) {
                        uint64_t length = 0;
                        for (int i = 7; i >= 0; --i) length = (length << 8) | mutant[i];
                        if (length < mutant.size() - 8) {
                            const size_t in_header = 8 + rng() % (length + 1);
                            mutant.insert(mutant.begin() + static_cast<std::ptrdiff_t>(in_header),
                                          static_cast<uint8_t>(alphabet[rng() % alphabet.size()]));
                            put_u64_le(length + 1, mutant.data());
                        }
                    }
                    break;
            }
        }
        parse_mutant(mutant, &accepted);
        if (HasFatalFailure()) return;
    }
    EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace snn::safetensors
