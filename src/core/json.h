// A small strict JSON (RFC 8259) reader and writer for untrusted input such as
// safetensors headers. Private to the library.
//
// Reading is iterative and bounded by ParseLimits, rejects anything the RFC
// does not allow (comments, trailing commas, NaN, invalid UTF-8, lone
// surrogates, duplicate object keys) and reports the byte offset of the error.
// Writing is compact and deterministic, and every finite number reads back to
// the same double bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace snn::json {

enum class Kind { Null, Bool, Number, String, Array, Object };

class Parser;

class Value {
public:
    using Array = std::vector<Value>;
    using Member = std::pair<std::string, Value>;
    using Object = std::vector<Member>;  // insertion order, keys unique

    Value() = default;  // null

    static Value from_bool(bool b);
    static Value from_double(double d);
    static Value from_int64(int64_t i);
    static Value from_uint64(uint64_t u);
    static Value from_string(std::string s);
    static Value array();
    static Value object();

    Kind kind() const { return static_cast<Kind>(data_.index()); }
    bool is_null() const { return kind() == Kind::Null; }
    bool is_bool() const { return kind() == Kind::Bool; }
    bool is_number() const { return kind() == Kind::Number; }
    bool is_string() const { return kind() == Kind::String; }
    bool is_array() const { return kind() == Kind::Array; }
    bool is_object() const { return kind() == Kind::Object; }

    // Accessors of the wrong kind return false / 0 / an empty container.
    bool as_bool() const;
    double as_number() const;
    const std::string& as_string() const;
    const Array& as_array() const;
    const Object& as_object() const;

    // True for a number whose exact value is an integer in [-2^63, 2^64). A
    // parsed literal counts by its decimal value ("1e3" and "1.0" do, "0.5" and
    // "4503599627370496.5" do not), so integers above 2^53 stay exact.
    bool is_integer() const;
    // Succeed only when the exact value is an integer that fits the type.
    bool as_int64(int64_t* out) const;
    bool as_uint64(uint64_t* out) const;

    // Object member lookup (linear); nullptr when absent or not an object.
    const Value* find(std::string_view key) const;

    // Builders. They return false, changing nothing, on a value of the wrong
    // kind. set() replaces an existing key in place (linear lookup).
    bool push_back(Value v);
    bool set(std::string key, Value v);

    // Same kind and content; numbers compare by their bits and integer value.
    friend bool operator==(const Value& a, const Value& b);
    friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

private:
    friend class Parser;
    struct Number {
        double value = 0;
        bool integral = false;   // exact value is the integer below
        bool negative = false;   // sign of that integer (also set for -0)
        uint64_t magnitude = 0;  // |integer|, at most 2^63 when negative
    };
    explicit Value(Number n) : data_(n) {}

    // Alternative order must match Kind.
    std::variant<std::monostate, bool, Number, std::string, Array, Object> data_;
};

struct ParseLimits {
    // Nesting of arrays and objects; "[]" has depth 1. Keep it modest: the
    // parser does not recurse, but destroying, comparing and writing a Value do.
    size_t max_depth = 128;
    // Count of values (keys are not values) and bytes of decoded strings (keys
    // included). The input length already bounds both, so the defaults let
    // memory grow only in proportion to the input; set them lower to cap it.
    size_t max_values = std::numeric_limits<size_t>::max();
    size_t max_string_bytes = std::numeric_limits<size_t>::max();
};

// Parses exactly one JSON text (surrounding whitespace allowed). On failure
// returns false, leaves *out unchanged and sets *error (if non-null) to a
// message naming the problem and its byte offset.
bool parse(std::string_view text, Value* out, std::string* error, const ParseLimits& limits = {});

// Writes compact JSON. Fails for non-finite numbers, strings that are not
// valid UTF-8 and nesting deeper than ParseLimits{}.max_depth, so whatever
// it writes parse() reads back with default limits.
bool write(const Value& value, std::string* out, std::string* error);

}  // namespace snn::json
