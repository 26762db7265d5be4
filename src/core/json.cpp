#include "core/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <numeric>
#include <system_error>

namespace snn::json {
namespace {

// Values deeper than this are not written, so that parse() with default
// limits reads back everything write() produces.
constexpr size_t kWriteMaxDepth = ParseLimits{}.max_depth;

// Exponents are accumulated only up to here; beyond it the double overflows
// or underflows anyway and the integer analysis gives up.
constexpr int64_t kExponentCap = 1000000000;

constexpr uint64_t kTwoTo63 = uint64_t{1} << 63;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Length of the well-formed UTF-8 sequence at p (whose first byte is >= 0x80)
// or 0: rejects overlong forms, surrogates, code points above U+10FFFF and
// sequences cut off by the end of the input.
size_t utf8_sequence_length(const unsigned char* p, size_t available) {
    const unsigned char lead = p[0];
    size_t length = 0;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead == 0xE0) {
        length = 3, second_min = 0xA0;
    } else if (lead == 0xED) {
        length = 3, second_max = 0x9F;
    } else if (lead >= 0xE1 && lead <= 0xEF) {
        length = 3;
    } else if (lead == 0xF0) {
        length = 4, second_min = 0x90;
    } else if (lead >= 0xF1 && lead <= 0xF3) {
        length = 4;
    } else if (lead == 0xF4) {
        length = 4, second_max = 0x8F;
    } else {
        return 0;
    }
    if (available < length || p[1] < second_min || p[1] > second_max) return 0;
    for (size_t i = 2; i < length; ++i) {
        if ((p[i] & 0xC0) != 0x80) return 0;
    }
    return length;
}

void append_utf8(uint32_t code_point, std::string* out) {
    if (code_point < 0x80) {
        out->push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
        out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
        out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else if (code_point < 0x10000) {
        out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
        out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    } else {
        out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
        out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
        out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
    }
}

// Untrusted text in messages: printable ASCII only, and not too much of it.
std::string printable(std::string_view text) {
    constexpr size_t kMaxShown = 64;
    std::string shown;
    for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
        const char c = text[i];
        shown.push_back(c >= 0x20 && c < 0x7F ? c : '?');
    }
    if (text.size() > kMaxShown) shown += "...";
    return shown;
}

std::string describe_byte(char c) {
    if (c >= 0x20 && c < 0x7F) return std::string("'") + c + "'";
    static const char kHex[] = "0123456789abcdef";
    const auto byte = static_cast<unsigned char>(c);
    return std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xF];
}

// The exact value of a decimal literal, when it is an integer of magnitude
// below 2^64: digits = int_digits followed by frac_digits, value = digits *
// 10^(exponent - frac_digits.size()).
bool exact_integer(std::string_view int_digits, std::string_view frac_digits, int64_t exponent,
                   uint64_t* magnitude) {
    const size_t count = int_digits.size() + frac_digits.size();
    auto digit_at = [&](size_t i) {
        return i < int_digits.size() ? int_digits[i] - '0' : frac_digits[i - int_digits.size()] - '0';
    };
    size_t first = 0;
    while (first < count && digit_at(first) == 0) ++first;
    if (first == count) {
        *magnitude = 0;
        return true;
    }
    size_t last = count - 1;
    while (digit_at(last) == 0) --last;
    // Power of ten that multiplies the significant digits [first, last].
    const int64_t scale =
        exponent - static_cast<int64_t>(frac_digits.size()) + static_cast<int64_t>(count - 1 - last);
    const int64_t significant = static_cast<int64_t>(last - first + 1);
    if (scale < 0) return false;                 // has a fractional part
    if (significant + scale > 20) return false;  // at least 10^20 > 2^64
    uint64_t value = 0;
    constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
    for (size_t i = first; i <= last; ++i) {
        const auto d = static_cast<uint64_t>(digit_at(i));
        if (value > (kMax - d) / 10) return false;
        value = value * 10 + d;
    }
    for (int64_t i = 0; i < scale; ++i) {
        if (value > kMax / 10) return false;
        value *= 10;
    }
    *magnitude = value;
    return true;
}

}  // namespace

// ---------------------------------------------------------------------------
// Value

Value Value::from_bool(bool b) {
    Value v;
    v.data_ = b;
    return v;
}

Value Value::from_double(double d) {
    Number n;
    n.value = d;
    // An integral double is its own exact integer value.
    if (std::isfinite(d) && d == std::trunc(d) && d >= -0x1p63 && d < 0x1p64) {
        n.integral = true;
        n.negative = std::signbit(d);
        n.magnitude = n.negative ? static_cast<uint64_t>(-d) : static_cast<uint64_t>(d);
    }
    return Value(n);
}

Value Value::from_int64(int64_t i) {
    Number n;
    n.value = static_cast<double>(i);
    n.integral = true;
    n.negative = i < 0;
    n.magnitude = n.negative ? uint64_t{0} - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
    return Value(n);
}

Value Value::from_uint64(uint64_t u) {
    Number n;
    n.value = static_cast<double>(u);
    n.integral = true;
    n.magnitude = u;
    return Value(n);
}

Value Value::from_string(std::string s) {
    Value v;
    v.data_ = std::move(s);
    return v;
}

Value Value::array() {
    Value v;
    v.data_ = Array();
    return v;
}

Value Value::object() {
    Value v;
    v.data_ = Object();
    return v;
}

bool Value::as_bool() const {
    const bool* b = std::get_if<bool>(&data_);
    return b != nullptr && *b;
}

double Value::as_number() const {
    const Number* n = std::get_if<Number>(&data_);
    return n != nullptr ? n->value : 0.0;
}

const std::string& Value::as_string() const {
    static const std::string kEmpty;
    const std::string* s = std::get_if<std::string>(&data_);
    return s != nullptr ? *s : kEmpty;
}

const Value::Array& Value::as_array() const {
    static const Array kEmpty;
    const Array* a = std::get_if<Array>(&data_);
    return a != nullptr ? *a : kEmpty;
}

const Value::Object& Value::as_object() const {
    static const Object kEmpty;
    const Object* o = std::get_if<Object>(&data_);
    return o != nullptr ? *o : kEmpty;
}

bool Value::is_integer() const {
    const Number* n = std::get_if<Number>(&data_);
    return n != nullptr && n->integral;
}

bool Value::as_int64(int64_t* out) const {
    const Number* n = std::get_if<Number>(&data_);
    if (n == nullptr || !n->integral) return false;
    if (n->negative) {
        if (n->magnitude > kTwoTo63) return false;
        // Written so that -2^63 does not overflow.
        *out = n->magnitude == 0 ? 0 : -static_cast<int64_t>(n->magnitude - 1) - 1;
    } else {
        if (n->magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
        *out = static_cast<int64_t>(n->magnitude);
    }
    return true;
}

bool Value::as_uint64(uint64_t* out) const {
    const Number* n = std::get_if<Number>(&data_);
    if (n == nullptr || !n->integral || (n->negative && n->magnitude != 0)) return false;
    *out = n->magnitude;
    return true;
}

const Value* Value::find(std::string_view key) const {
    for (const Member& member : as_object()) {
        if (member.first == key) return &member.second;
    }
    return nullptr;
}

bool Value::push_back(Value v) {
    Array* a = std::get_if<Array>(&data_);
    if (a == nullptr) return false;
    a->push_back(std::move(v));
    return true;
}

bool Value::set(std::string key, Value v) {
    Object* o = std::get_if<Object>(&data_);
    if (o == nullptr) return false;
    for (Member& member : *o) {
        if (member.first == key) {
            member.second = std::move(v);
            return true;
        }
    }
    o->emplace_back(std::move(key), std::move(v));
    return true;
}

bool operator==(const Value& a, const Value& b) {
    if (a.kind() != b.kind()) return false;
    switch (a.kind()) {
        case Kind::Null: return true;
        case Kind::Bool: return a.as_bool() == b.as_bool();
        case Kind::Number: {
            const auto& x = std::get<Value::Number>(a.data_);
            const auto& y = std::get<Value::Number>(b.data_);
            uint64_t x_bits, y_bits;
            std::memcpy(&x_bits, &x.value, sizeof x_bits);
            std::memcpy(&y_bits, &y.value, sizeof y_bits);
            return x_bits == y_bits && x.integral == y.integral && x.negative == y.negative &&
                   x.magnitude == y.magnitude;
        }
        case Kind::String: return a.as_string() == b.as_string();
        case Kind::Array: return a.as_array() == b.as_array();
        case Kind::Object: return a.as_object() == b.as_object();
    }
    return false;
}

// ---------------------------------------------------------------------------
// Parser: iterative, with an explicit stack of open containers.

class Parser {
public:
    Parser(std::string_view text, const ParseLimits& limits) : text_(text), limits_(limits) {}

    bool run(Value* out);
    const std::string& error() const { return error_; }

private:
    struct Frame {
        bool is_object = false;
        Value::Array array;
        Value::Object object;             // last member's value is filled in later
        std::vector<size_t> key_offsets;  // parallel to object, for error reports
    };

    bool fail(size_t offset, const std::string& what) {
        error_ = "json: " + what + " at byte " + std::to_string(offset);
        return false;
    }
    bool at_end() const { return pos_ >= text_.size(); }
    unsigned char peek() const { return static_cast<unsigned char>(text_[pos_]); }
    void skip_whitespace() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
            ++pos_;
        }
    }

    bool count_value();
    bool parse_scalar(Value* out);
    bool parse_word(std::string_view word);
    bool parse_number(Value* out);
    bool parse_string(std::string* out);
    bool parse_hex4(uint32_t* out);
    bool parse_key(Frame* frame);
    bool check_unique_keys(const Frame& frame);

    std::string_view text_;
    ParseLimits limits_;
    size_t pos_ = 0;
    size_t values_ = 0;
    size_t string_bytes_ = 0;
    std::string error_;
};

bool Parser::run(Value* out) {
    std::vector<Frame> stack;
    Value done;  // the value completed last
    for (;;) {
        // Here a value must start.
        skip_whitespace();
        if (at_end()) return fail(pos_, "expected a value, found the end of the text");
        const char open = text_[pos_];
        if (open == '[' || open == '{') {
            if (!count_value()) return false;
            if (stack.size() >= limits_.max_depth) {
                return fail(pos_, "nesting deeper than " + std::to_string(limits_.max_depth));
            }
            ++pos_;
            stack.emplace_back();
            Frame& frame = stack.back();
            frame.is_object = open == '{';
            skip_whitespace();
            const char close = frame.is_object ? '}' : ']';
            if (at_end() || text_[pos_] != close) {
                if (frame.is_object && !parse_key(&frame)) return false;
                continue;
            }
            ++pos_;
            done = frame.is_object ? Value::object() : Value::array();
            stack.pop_back();
        } else if (!parse_scalar(&done)) {
            return false;
        }

        // `done` is complete: store it in its container, closing finished ones.
        for (;;) {
            if (stack.empty()) {
                skip_whitespace();
                if (!at_end())
                    return fail(pos_, "unexpected " + describe_byte(text_[pos_]) + " after the value");
                *out = std::move(done);
                return true;
            }
            Frame& frame = stack.back();
            if (frame.is_object) {
                frame.object.back().second = std::move(done);
            } else {
                frame.array.push_back(std::move(done));
            }
            skip_whitespace();
            const char close = frame.is_object ? '}' : ']';
            if (at_end() || (text_[pos_] != ',' && text_[pos_] != close)) {
                return fail(pos_, std::string("expected ',' or '") + close + "', found " +
                                      (at_end() ? "the end of the text" : describe_byte(text_[pos_])));
            }
            if (text_[pos_] == ',') {
                ++pos_;
                if (frame.is_object) {
                    skip_whitespace();
                    if (!parse_key(&frame)) return false;
                }
                break;  // on to the next value
            }
            ++pos_;
            if (frame.is_object) {
                if (!check_unique_keys(frame)) return false;
                done.data_ = std::move(frame.object);
            } else {
                done.data_ = std::move(frame.array);
            }
            stack.pop_back();
        }
    }
}

bool Parser::count_value() {
    if (values_ >= limits_.max_values) {
        return fail(pos_, "more than " + std::to_string(limits_.max_values) + " values");
    }
    ++values_;
    return true;
}

bool Parser::parse_scalar(Value* out) {
    const char c = text_[pos_];
    if (c == '"' || c == 't' || c == 'f' || c == 'n' || c == '-' || is_digit(c)) {
        if (!count_value()) return false;
    }
    switch (c) {
        case '"': {
            std::string s;
            if (!parse_string(&s)) return false;
            *out = Value::from_string(std::move(s));
            return true;
        }
        case 't': *out = Value::from_bool(true); return parse_word("true");
        case 'f': *out = Value::from_bool(false); return parse_word("false");
        case 'n': *out = Value(); return parse_word("null");
        default:
            if (c == '-' || is_digit(c)) return parse_number(out);
            return fail(pos_, "expected a value, found " + describe_byte(c));
    }
}

bool Parser::parse_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail(pos_, "invalid literal");
    pos_ += word.size();
    return true;
}

bool Parser::parse_number(Value* out) {
    const size_t start = pos_;
    const bool negative = peek() == '-';
    if (negative) ++pos_;
    if (at_end() || !is_digit(text_[pos_])) return fail(pos_, "expected a digit");
    const size_t int_begin = pos_;
    if (text_[pos_] == '0') {
        ++pos_;
        if (!at_end() && is_digit(text_[pos_])) return fail(pos_, "leading zeros are not allowed");
    } else {
        while (!at_end() && is_digit(text_[pos_])) ++pos_;
    }
    const std::string_view int_digits = text_.substr(int_begin, pos_ - int_begin);

    std::string_view frac_digits;
    if (!at_end() && text_[pos_] == '.') {
        const size_t frac_begin = ++pos_;
        while (!at_end() && is_digit(text_[pos_])) ++pos_;
        if (pos_ == frac_begin) return fail(pos_, "expected a digit after the decimal point");
        frac_digits = text_.substr(frac_begin, pos_ - frac_begin);
    }

    int64_t exponent = 0;
    if (!at_end() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
        ++pos_;
        bool exponent_negative = false;
        if (!at_end() && (text_[pos_] == '+' || text_[pos_] == '-')) exponent_negative = text_[pos_++] == '-';
        if (at_end() || !is_digit(text_[pos_])) return fail(pos_, "expected a digit in the exponent");
        for (; !at_end() && is_digit(text_[pos_]); ++pos_) {
            if (exponent < kExponentCap) exponent = exponent * 10 + (text_[pos_] - '0');
        }
        if (exponent_negative) exponent = -exponent;
    }

    Value::Number number;
    uint64_t magnitude = 0;
    if (exact_integer(int_digits, frac_digits, exponent, &magnitude) &&
        (!negative || magnitude <= kTwoTo63)) {
        // Converting the exact integer rounds like parsing the literal would.
        number.integral = true;
        number.negative = negative;
        number.magnitude = magnitude;
        number.value = negative ? -static_cast<double>(magnitude) : static_cast<double>(magnitude);
    } else {
        const char* first = text_.data() + start;
        const char* last = text_.data() + pos_;
        const auto result = std::from_chars(first, last, number.value);
        if (result.ec == std::errc::result_out_of_range) {
            // Tell underflow (becomes zero) from overflow (rejected) by the decimal
            // exponent of the leading significant digit.
            const std::string_view all = text_.substr(int_begin, pos_ - int_begin);
            const size_t lead = all.find_first_of("123456789");
            const bool in_fraction = lead > int_digits.size();  // skips the '.'
            const int64_t lead_exponent = static_cast<int64_t>(int_digits.size()) - 1 -
                                          static_cast<int64_t>(lead) + (in_fraction ? 1 : 0) + exponent;
            if (lead_exponent >= 0) return fail(start, "number out of range");
            number.value = negative ? -0.0 : 0.0;
        } else if (result.ec != std::errc() || result.ptr != last) {
            return fail(start, "invalid number");
        }
    }
    *out = Value(number);
    return true;
}

bool Parser::parse_hex4(uint32_t* out) {
    if (text_.size() - pos_ < 4) return fail(pos_, "truncated \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        const char c = text_[pos_ + i];
        uint32_t digit;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            digit = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            digit = c - 'A' + 10;
        } else {
            return fail(pos_ + i, "invalid hex digit in \\u escape");
        }
        value = value * 16 + digit;
    }
    pos_ += 4;
    *out = value;
    return true;
}

bool Parser::parse_string(std::string* out) {
    const size_t start = pos_;
    ++pos_;  // opening quote
    std::string s;
    for (;;) {
        // Copy runs of plain ASCII in one go.
        size_t run_end = pos_;
        while (run_end < text_.size()) {
            const auto c = static_cast<unsigned char>(text_[run_end]);
            if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
            ++run_end;
        }
        s.append(text_.data() + pos_, run_end - pos_);
        pos_ = run_end;
        if (at_end()) return fail(start, "unterminated string");
        const unsigned char c = peek();
        if (c == '"') {
            ++pos_;
            break;
        }
        if (c < 0x20) return fail(pos_, "unescaped control character in string");
        if (c >= 0x80) {
            const auto* p = reinterpret_cast<const unsigned char*>(text_.data()) + pos_;
            const size_t length = utf8_sequence_length(p, text_.size() - pos_);
            if (length == 0) return fail(pos_, "invalid UTF-8 in string");
            s.append(text_.data() + pos_, length);
            pos_ += length;
            continue;
        }
        // A backslash escape.
        const size_t escape_at = pos_++;
        if (at_end()) return fail(start, "unterminated string");
        const char kind = text_[pos_++];
        switch (kind) {
            case '"': s.push_back('"'); break;
            case '\\': s.push_back('\\'); break;
            case '/': s.push_back('/'); break;
            case 'b': s.push_back('\b'); break;
            case 'f': s.push_back('\f'); break;
            case 'n': s.push_back('\n'); break;
            case 'r': s.push_back('\r'); break;
            case 't': s.push_back('\t'); break;
            case 'u': {
                uint32_t code_point;
                if (!parse_hex4(&code_point)) return false;
                if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
                    return fail(escape_at, "unpaired low surrogate in \\u escape");
                }
                if (code_point >= 0xD800 && code_point <= 0xDBFF) {
                    if (text_.substr(pos_, 2) != "\\u") {
                        return fail(escape_at, "high surrogate not followed by a \\u low surrogate");
                    }
                    pos_ += 2;
                    uint32_t low;
                    if (!parse_hex4(&low)) return false;
                    if (low < 0xDC00 || low > 0xDFFF) {
                        return fail(escape_at, "high surrogate not followed by a \\u low surrogate");
                    }
                    code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
                }
                append_utf8(code_point, &s);
                break;
            }
            default: return fail(escape_at, "invalid escape sequence");
        }
    }
    string_bytes_ += s.size();
    if (string_bytes_ > limits_.max_string_bytes) {
        return fail(start, "strings exceed " + std::to_string(limits_.max_string_bytes) + " bytes");
    }
    *out = std::move(s);
    return true;
}

bool Parser::parse_key(Frame* frame) {
    if (at_end() || peek() != '"') {
        return fail(pos_, at_end() ? "expected a string key, found the end of the text"
                                   : "expected a string key, found " + describe_byte(text_[pos_]));
    }
    const size_t key_at = pos_;
    std::string key;
    if (!parse_string(&key)) return false;
    skip_whitespace();
    if (at_end() || peek() != ':') return fail(pos_, "expected ':' after an object key");
    ++pos_;
    frame->object.emplace_back(std::move(key), Value());
    frame->key_offsets.push_back(key_at);
    return true;
}

// Sorting once per object keeps the check O(n log n) however many keys.
bool Parser::check_unique_keys(const Frame& frame) {
    const Value::Object& members = frame.object;
    if (members.size() < 2) return true;
    std::vector<size_t> order(members.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        const int cmp = members[a].first.compare(members[b].first);
        return cmp != 0 ? cmp < 0 : a < b;
    });
    for (size_t i = 1; i < order.size(); ++i) {
        if (members[order[i]].first == members[order[i - 1]].first) {
            return fail(frame.key_offsets[order[i]],
                        "duplicate object key \"" + printable(members[order[i]].first) + "\"");
        }
    }
    return true;
}

bool parse(std::string_view text, Value* out, std::string* error, const ParseLimits& limits) {
    Parser parser(text, limits);
    Value result;
    if (!parser.run(&result)) {
        if (error != nullptr) *error = parser.error();
        return false;
    }
    if (out != nullptr) *out = std::move(result);
    return true;
}

// ---------------------------------------------------------------------------
// Writer

namespace {

class Writer {
public:
    bool write(const Value& value, size_t depth);
    std::string text;
    std::string error;

private:
    bool write_string(const std::string& s);
    bool write_number(const Value& value);
};

bool Writer::write(const Value& value, size_t depth) {
    switch (value.kind()) {
        case Kind::Null: text += "null"; return true;
        case Kind::Bool: text += value.as_bool() ? "true" : "false"; return true;
        case Kind::Number: return write_number(value);
        case Kind::String: return write_string(value.as_string());
        case Kind::Array:
        case Kind::Object: break;
    }
    if (depth >= kWriteMaxDepth) {
        error = "json: cannot write nesting deeper than " + std::to_string(kWriteMaxDepth);
        return false;
    }
    bool first = true;
    if (value.is_array()) {
        text.push_back('[');
        for (const Value& element : value.as_array()) {
            if (!first) text.push_back(',');
            first = false;
            if (!write(element, depth + 1)) return false;
        }
        text.push_back(']');
    } else {
        text.push_back('{');
        for (const Value::Member& member : value.as_object()) {
            if (!first) text.push_back(',');
            first = false;
            if (!write_string(member.first)) return false;
            text.push_back(':');
            if (!write(member.second, depth + 1)) return false;
        }
        text.push_back('}');
    }
    return true;
}

bool Writer::write_number(const Value& value) {
    char buffer[32];
    std::to_chars_result result{};
    const double d = value.as_number();
    uint64_t u;
    int64_t i;
    if (value.as_uint64(&u)) {
        char* p = buffer;
        if (std::signbit(d)) *p++ = '-';  // keeps -0 a negative zero
        result = std::to_chars(p, buffer + sizeof buffer, u);
    } else if (value.as_int64(&i)) {
        result = std::to_chars(buffer, buffer + sizeof buffer, i);
    } else if (std::isfinite(d)) {
        // Shortest form that reads back to the same double.
        result = std::to_chars(buffer, buffer + sizeof buffer, d);
    } else {
        error = "json: cannot write a non-finite number";
        return false;
    }
    text.append(buffer, result.ptr);
    return true;
}

bool Writer::write_string(const std::string& s) {
    static const char kHex[] = "0123456789abcdef";
    text.push_back('"');
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            const size_t length =
                utf8_sequence_length(reinterpret_cast<const unsigned char*>(s.data()) + i, s.size() - i);
            if (length == 0) {
                error = "json: cannot write a string that is not valid UTF-8";
                return false;
            }
            text.append(s, i, length);
            i += length;
            continue;
        }
        switch (c) {
            case '"': text += "\\\""; break;
            case '\\': text += "\\\\"; break;
            case '\b': text += "\\b"; break;
            case '\f': text += "\\f"; break;
            case '\n': text += "\\n"; break;
            case '\r': text += "\\r"; break;
            case '\t': text += "\\t"; break;
            default:
                if (c < 0x20) {
                    text += "\\u00";
                    text.push_back(kHex[c >> 4]);
                    text.push_back(kHex[c & 0xF]);
                } else {
                    text.push_back(static_cast<char>(c));
                }
        }
        ++i;
    }
    text.push_back('"');
    return true;
}

}  // namespace

bool write(const Value& value, std::string* out, std::string* error) {
    Writer writer;
    if (!writer.write(value, 0)) {
        if (error != nullptr) *error = writer.error;
        return false;
    }
    if (out != nullptr) *out = std::move(writer.text);
    return true;
}

}  // namespace snn::json
