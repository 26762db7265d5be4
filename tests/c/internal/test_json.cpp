#include "core/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace snn::json {
namespace {

Value parse_ok(std::string_view text) {
    Value value;
    std::string error;
    EXPECT_TRUE(parse(text, &value, &error)) << text << ": " << error;
    return value;
}

// Returns the error message; fails the test if parsing succeeds.
std::string parse_error(std::string_view text, const ParseLimits& limits = {}) {
    Value value = Value::from_string("unchanged");
    std::string error;
    EXPECT_FALSE(parse(text, &value, &error, limits)) << "accepted: " << text;
    EXPECT_EQ(value, Value::from_string("unchanged"));  // output untouched on failure
    EXPECT_FALSE(error.empty());
    return error;
}

std::string write_ok(const Value& value) {
    std::string text, error;
    EXPECT_TRUE(write(value, &text, &error)) << error;
    return text;
}

uint64_t bits_of(double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return bits;
}

TEST(JsonParse, Scalars) {
    EXPECT_TRUE(parse_ok("null").is_null());
    EXPECT_TRUE(parse_ok("true").as_bool());
    EXPECT_TRUE(parse_ok("false").is_bool());
    EXPECT_FALSE(parse_ok("false").as_bool());
    EXPECT_EQ(parse_ok("-12.5e1").as_number(), -125.0);
    EXPECT_EQ(parse_ok("\"hi\"").as_string(), "hi");
    EXPECT_EQ(parse_ok(" \t\r\n 7 \n").as_number(), 7.0);
}

TEST(JsonParse, NestedStructureKeepsInsertionOrder) {
    Value v = parse_ok(R"({"z": [1, {"a": null}], "a": "x", "m": {}, "e": []})");
    ASSERT_TRUE(v.is_object());
    const auto& members = v.as_object();
    ASSERT_EQ(members.size(), 4u);
    EXPECT_EQ(members[0].first, "z");
    EXPECT_EQ(members[1].first, "a");
    EXPECT_EQ(members[2].first, "m");
    EXPECT_EQ(members[3].first, "e");
    ASSERT_NE(v.find("z"), nullptr);
    EXPECT_EQ(v.find("z")->as_array().size(), 2u);
    EXPECT_TRUE(v.find("z")->as_array()[1].find("a")->is_null());
    EXPECT_TRUE(v.find("m")->is_object());
    EXPECT_TRUE(v.find("e")->is_array());
    EXPECT_EQ(v.find("missing"), nullptr);
    EXPECT_EQ(parse_ok("[1]").find("a"), nullptr);  // not an object
}

TEST(JsonParse, WrongKindAccessorsAreHarmless) {
    Value n = parse_ok("1");
    EXPECT_FALSE(n.as_bool());
    EXPECT_EQ(n.as_string(), "");
    EXPECT_TRUE(n.as_array().empty());
    EXPECT_TRUE(n.as_object().empty());
    Value s = parse_ok("\"1\"");
    EXPECT_EQ(s.as_number(), 0.0);
    int64_t i = 42;
    EXPECT_FALSE(s.as_int64(&i));
    EXPECT_EQ(i, 42);
}

TEST(JsonNumbers, ExactIntegers) {
    int64_t i = 0;
    uint64_t u = 0;
    EXPECT_TRUE(parse_ok("9223372036854775807").as_int64(&i));
    EXPECT_EQ(i, std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(parse_ok("-9223372036854775808").as_int64(&i));
    EXPECT_EQ(i, std::numeric_limits<int64_t>::min());
    EXPECT_FALSE(parse_ok("9223372036854775808").as_int64(&i));
    EXPECT_FALSE(parse_ok("-9223372036854775809").as_int64(&i));
    EXPECT_TRUE(parse_ok("9223372036854775808").as_uint64(&u));
    EXPECT_EQ(u, uint64_t{1} << 63);
    EXPECT_TRUE(parse_ok("18446744073709551615").as_uint64(&u));
    EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
    EXPECT_FALSE(parse_ok("18446744073709551616").as_uint64(&u));
    EXPECT_FALSE(parse_ok("18446744073709551616").is_integer());
    EXPECT_FALSE(parse_ok("-1").as_uint64(&u));
    // Above 2^53 a double cannot hold these; the integer stays exact.
    EXPECT_TRUE(parse_ok("9007199254740993").as_int64(&i));
    EXPECT_EQ(i, 9007199254740993);
    EXPECT_TRUE(parse_ok("12345678901234567891").as_uint64(&u));
    EXPECT_EQ(u, 12345678901234567891u);
}

TEST(JsonNumbers, IntegralLiteralsInOtherForms) {
    int64_t i = 0;
    EXPECT_TRUE(parse_ok("1e3").as_int64(&i));
    EXPECT_EQ(i, 1000);
    EXPECT_TRUE(parse_ok("2.50e1").as_int64(&i));
    EXPECT_EQ(i, 25);
    EXPECT_TRUE(parse_ok("-7.000").as_int64(&i));
    EXPECT_EQ(i, -7);
    EXPECT_TRUE(parse_ok("120000e-4").as_int64(&i));
    EXPECT_EQ(i, 12);
    EXPECT_TRUE(parse_ok("0.0e99999999999").as_int64(&i));
    EXPECT_EQ(i, 0);
    EXPECT_FALSE(parse_ok("0.5").is_integer());
    EXPECT_FALSE(parse_ok("1e-1").is_integer());
    EXPECT_FALSE(parse_ok("1e20").is_integer());  // beyond 2^64
    // Rounds to an integral double, but the literal is not an integer.
    EXPECT_FALSE(parse_ok("4503599627370496.5").is_integer());
    uint64_t u = 0;
    EXPECT_TRUE(parse_ok("-0").as_uint64(&u));
    EXPECT_EQ(u, 0u);
    EXPECT_TRUE(std::signbit(parse_ok("-0").as_number()));
    EXPECT_TRUE(std::signbit(parse_ok("-0.0e5").as_number()));
}

TEST(JsonNumbers, DoublesAndExtremes) {
    EXPECT_EQ(parse_ok("0.1").as_number(), 0.1);
    EXPECT_EQ(parse_ok("-2.5E-3").as_number(), -2.5e-3);
    EXPECT_EQ(parse_ok("1.7976931348623157e308").as_number(), std::numeric_limits<double>::max());
    EXPECT_EQ(parse_ok("4.9406564584124654e-324").as_number(), std::numeric_limits<double>::denorm_min());
    // Underflow becomes a signed zero; overflow is an error.
    EXPECT_EQ(bits_of(parse_ok("1e-400").as_number()), bits_of(0.0));
    EXPECT_EQ(bits_of(parse_ok("-0.00001e-99999999999").as_number()), bits_of(-0.0));
    EXPECT_NE(parse_error("1e400").find("out of range"), std::string::npos);
    EXPECT_NE(parse_error("-123456789e99999999999999").find("out of range"), std::string::npos);
    // Very long literals are handled in linear time.
    EXPECT_NE(parse_error("1" + std::string(100000, '0')).find("out of range"), std::string::npos);
    EXPECT_EQ(parse_ok("0." + std::string(100000, '3')).as_number(), 1.0 / 3.0);
}

TEST(JsonNumbers, GrammarErrors) {
    for (const char* text : {"01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "1.e3", "--1", "0x10", "NaN",
                             "nan", "Infinity", "-Infinity", "1_000", "1 2", "1e5.0"}) {
        SCOPED_TRACE(text);
        parse_error(text);
    }
}

TEST(JsonStrings, Escapes) {
    EXPECT_EQ(parse_ok(R"("\" \\ \/ \b \f \n \r \t")").as_string(), "\" \\ / \b \f \n \r \t");
    EXPECT_EQ(parse_ok(R"("\u0041\u00e9\u20AC")").as_string(), "A\xC3\xA9\xE2\x82\xAC");
    EXPECT_EQ(parse_ok(R"("\ud83d\ude00")").as_string(), "\xF0\x9F\x98\x80");
    EXPECT_EQ(parse_ok(R"("\uDBFF\uDFFF")").as_string(), "\xF4\x8F\xBF\xBF");
    EXPECT_EQ(parse_ok(R"("a\u0000b")").as_string(), std::string("a\0b", 3));
    EXPECT_EQ(parse_ok("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").as_string(), "caf\xC3\xA9 \xF0\x9F\x98\x80");
    EXPECT_EQ(parse_ok("\"\x7F\"").as_string(), "\x7F");  // DEL is not a control character here
}

TEST(JsonStrings, Errors) {
    EXPECT_NE(parse_error(R"("\ud83d")").find("surrogate"), std::string::npos);
    EXPECT_NE(parse_error(R"("\ud83dx")").find("surrogate"), std::string::npos);
    EXPECT_NE(parse_error(R"("\ud83d\u0041")").find("surrogate"), std::string::npos);
    EXPECT_NE(parse_error(R"("\ude00")").find("surrogate"), std::string::npos);
    EXPECT_NE(parse_error(R"("\u12")").find("\\u"), std::string::npos);
    EXPECT_NE(parse_error(R"("\u12G4")").find("hex"), std::string::npos);
    EXPECT_NE(parse_error(R"("\x")").find("escape"), std::string::npos);
    EXPECT_NE(parse_error(R"("\)").find("unterminated"), std::string::npos);
    EXPECT_NE(parse_error("\"abc").find("unterminated"), std::string::npos);
    EXPECT_NE(parse_error("\"a\nb\"").find("control"), std::string::npos);
    EXPECT_NE(parse_error(std::string("\"a\0b\"", 5)).find("control"), std::string::npos);
    EXPECT_NE(parse_error("'single'").find("expected a value"), std::string::npos);
}

TEST(JsonStrings, InvalidUtf8) {
    for (const char* bad : {"\xC0\x80",          // overlong NUL
                            "\xC1\xBF",          // overlong
                            "\xE0\x80\x80",      // overlong
                            "\xE0\x9F\xBF",      // overlong
                            "\xED\xA0\x80",      // encoded surrogate
                            "\xF0\x80\x80\x80",  // overlong
                            "\xF4\x90\x80\x80",  // above U+10FFFF
                            "\xF5\x80\x80\x80", "\xFF", "\x80", "\xBF",
                            "\xE2\x82",  // truncated
                            "\xE2\x28\xA1", "\xF0\x9F\x98"}) {
        SCOPED_TRACE(testing::PrintToString(std::string(bad)));
        EXPECT_NE(parse_error("\"" + std::string(bad) + "\"").find("UTF-8"), std::string::npos);
        // Cut off by the end of the input.
        parse_error("\"" + std::string(bad));
    }
}

TEST(JsonStructure, Errors) {
    for (const char* text : {"",
                             "   ",
                             "[",
                             "]",
                             "{",
                             "}",
                             "[1,]",
                             "[,1]",
                             "[1 2]",
                             "{\"a\":1,}",
                             "{,}",
                             "{\"a\"}",
                             "{\"a\" 1}",
                             "{\"a\":}",
                             "{a:1}",
                             "{1:1}",
                             "{\"a\":1 \"b\":2}",
                             "[1}",
                             "{\"a\":1]",
                             "[1]]",
                             "{} {}",
                             "tru",
                             "nul",
                             "True",
                             "nulll",
                             "[1] x",
                             "// c\n1",
                             "/* c */ 1",
                             "1 // c",
                             "\xEF\xBB\xBF{}",
                             "[\"a\",]",
                             "{\"a\":1,,\"b\":2}",
                             "\x01"}) {
        SCOPED_TRACE(testing::PrintToString(std::string(text)));
        parse_error(text);
    }
}

TEST(JsonStructure, DuplicateKeysAreErrors) {
    EXPECT_NE(parse_error(R"({"a":1,"b":2,"a":3})").find("duplicate object key \"a\""), std::string::npos);
    EXPECT_NE(parse_error(R"({"x":{"k":1,"k":1}})").find("duplicate"), std::string::npos);
    // Escaped and raw spellings of the same key are the same key.
    parse_error(R"({"A":1,"\u0041":2})");
    // Same key in different objects is fine.
    parse_ok(R"({"a":{"a":1},"b":{"a":2}})");
}

TEST(JsonStructure, ErrorsNameTheByteOffset) {
    EXPECT_NE(parse_error("[1, 2, x]").find("at byte 7"), std::string::npos);
    EXPECT_NE(parse_error("{\"a\":1,\"a\":2}").find("at byte 7"), std::string::npos);
    EXPECT_NE(parse_error("\"ab\x01\"").find("at byte 3"), std::string::npos);
    EXPECT_NE(parse_error("[1] 2").find("at byte 4"), std::string::npos);
}

TEST(JsonLimits, Depth) {
    const auto nested = [](size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
    parse_ok(nested(128));
    EXPECT_NE(parse_error(nested(129)).find("nesting"), std::string::npos);
    ParseLimits shallow;
    shallow.max_depth = 2;
    Value v;
    EXPECT_TRUE(parse("[[1],{\"a\":[]}]", &v, nullptr, ParseLimits{3}));
    EXPECT_FALSE(parse("[[1],{\"a\":[]}]", &v, nullptr, shallow));
    EXPECT_TRUE(parse("{\"a\":[1]}", &v, nullptr, shallow));
    // No stack overflow, and quick, on deep hostile input.
    const std::string hostile(1 << 22, '[');
    EXPECT_NE(parse_error(hostile).find("nesting"), std::string::npos);
    std::string alternating;
    for (int i = 0; i < 100000; ++i) alternating += "{\"k\":[";
    parse_error(alternating);
}

TEST(JsonLimits, ValuesAndStringBytes) {
    ParseLimits limits;
    limits.max_values = 3;
    Value v;
    EXPECT_TRUE(parse("[1,2]", &v, nullptr, limits));
    EXPECT_NE(parse_error("[1,2,3]", limits).find("values"), std::string::npos);
    EXPECT_NE(parse_error("[[],{}, []]", limits).find("values"), std::string::npos);
    limits = ParseLimits();
    limits.max_string_bytes = 5;
    EXPECT_TRUE(parse(R"({"ab":"cde"})", &v, nullptr, limits));
    EXPECT_NE(parse_error(R"({"ab":"cdef"})", limits).find("strings"), std::string::npos);
    EXPECT_TRUE(parse(R"("\u00e9\u00e9")", &v, nullptr, limits));  // counts decoded bytes
    EXPECT_FALSE(parse(R"("\u00e9\u00e9\u00e9")", &v, nullptr, limits));
}

TEST(JsonLimits, LargeInputsAreLinear) {
    std::string object = "{";
    for (int i = 0; i < 200000; ++i)
        object += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
    object += "}";
    Value v = parse_ok(object);
    EXPECT_EQ(v.as_object().size(), 200000u);
    EXPECT_EQ(v.find("k199999")->as_number(), 199999.0);
    std::string duplicate = object;
    duplicate.back() = ',';
    duplicate += "\"k5\":0}";
    parse_error(duplicate);
    const std::string long_string = "\"" + std::string(10 << 20, 'x') + "\"";
    EXPECT_EQ(parse_ok(long_string).as_string().size(), size_t{10} << 20);
}

TEST(JsonParse, NullPointersAreAllowed) {
    EXPECT_TRUE(parse("[1]", nullptr, nullptr));
    EXPECT_FALSE(parse("[1", nullptr, nullptr));
}

TEST(JsonBuild, Builders) {
    Value root = Value::object();
    EXPECT_TRUE(root.set("name", Value::from_string("net")));
    EXPECT_TRUE(root.set("seed", Value::from_uint64(18446744073709551615u)));
    EXPECT_TRUE(root.set("size", Value::from_int64(-3)));
    EXPECT_TRUE(root.set("rate", Value::from_double(0.25)));
    EXPECT_TRUE(root.set("on", Value::from_bool(true)));
    EXPECT_TRUE(root.set("none", Value()));
    Value list = Value::array();
    EXPECT_TRUE(list.push_back(Value::from_int64(1)));
    EXPECT_TRUE(list.push_back(Value::object()));
    EXPECT_TRUE(root.set("list", list));
    EXPECT_TRUE(root.set("size", Value::from_int64(4)));  // replaces in place
    EXPECT_FALSE(root.push_back(Value()));
    EXPECT_FALSE(list.set("k", Value()));
    EXPECT_EQ(write_ok(root), R"({"name":"net","seed":18446744073709551615,"size":4,"rate":0.25,"on":true,)"
                              R"("none":null,"list":[1,{}]})");
    EXPECT_EQ(parse_ok(write_ok(root)), root);
}

TEST(JsonBuild, FromDoubleIsExactForIntegralValues) {
    int64_t i = 0;
    uint64_t u = 0;
    EXPECT_TRUE(Value::from_double(3.0).as_int64(&i));
    EXPECT_EQ(i, 3);
    EXPECT_TRUE(Value::from_double(-0x1p63).as_int64(&i));
    EXPECT_EQ(i, std::numeric_limits<int64_t>::min());
    EXPECT_TRUE(Value::from_double(0x1p63).as_uint64(&u));
    EXPECT_FALSE(Value::from_double(0x1p64).is_integer());
    EXPECT_FALSE(Value::from_double(0.5).is_integer());
    EXPECT_FALSE(Value::from_double(std::nan("")).is_integer());
    EXPECT_FALSE(Value::from_double(INFINITY).is_integer());
}

TEST(JsonWrite, CompactEscapedDeterministic) {
    Value v = parse_ok(" { \"b\" : [ true , false , null ] , \"a\" : \"x\\u0001\\\"\\\\\\n\\/\xC3\xA9\" } ");
    EXPECT_EQ(write_ok(v), "{\"b\":[true,false,null],\"a\":\"x\\u0001\\\"\\\\\\n/\xC3\xA9\"}");
    EXPECT_EQ(write_ok(Value::from_string(std::string("\0\x1F\x7F", 3))), "\"\\u0000\\u001f\x7F\"");
    EXPECT_EQ(write_ok(Value::from_string("\b\f\r\t")), "\"\\b\\f\\r\\t\"");
}

TEST(JsonWrite, Numbers) {
    EXPECT_EQ(write_ok(Value::from_int64(std::numeric_limits<int64_t>::min())), "-9223372036854775808");
    EXPECT_EQ(write_ok(Value::from_uint64(std::numeric_limits<uint64_t>::max())), "18446744073709551615");
    EXPECT_EQ(write_ok(parse_ok("12345678901234567891")), "12345678901234567891");
    EXPECT_EQ(write_ok(parse_ok("1e3")), "1000");
    EXPECT_EQ(write_ok(Value::from_double(0.1)), "0.1");
    EXPECT_EQ(write_ok(Value::from_double(-0.0)), "-0");
    EXPECT_EQ(write_ok(Value::from_double(1e300)), "1e+300");
    EXPECT_EQ(write_ok(Value::from_double(5e-324)), "5e-324");
    EXPECT_EQ(write_ok(Value::from_double(2.0)), "2");
}

TEST(JsonWrite, DoublesRoundTripBitForBit) {
    std::mt19937_64 rng(20240611);
    std::vector<double> samples = {0.0,
                                   -0.0,
                                   0.1,
                                   1.0 / 3.0,
                                   0x1p53,
                                   0x1p53 + 2,
                                   0x1p64,
                                   -0x1p63,
                                   std::numeric_limits<double>::max(),
                                   std::numeric_limits<double>::min(),
                                   std::numeric_limits<double>::denorm_min(),
                                   123456789.123456789};
    for (int i = 0; i < 20000; ++i) {
        const uint64_t bits = rng();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) samples.push_back(d);
        samples.push_back(static_cast<double>(static_cast<int64_t>(bits) >> (bits & 63)));
    }
    for (double d : samples) {
        const std::string text = write_ok(Value::from_double(d));
        Value back = parse_ok(text);
        ASSERT_EQ(bits_of(back.as_number()), bits_of(d)) << text;
        ASSERT_EQ(back, Value::from_double(d)) << text;
    }
}

TEST(JsonWrite, Errors) {
    std::string text = "untouched", error;
    EXPECT_FALSE(write(Value::from_double(std::nan("")), &text, &error));
    EXPECT_NE(error.find("non-finite"), std::string::npos);
    EXPECT_EQ(text, "untouched");
    EXPECT_FALSE(write(Value::from_double(-INFINITY), &text, &error));
    Value nested = Value::array();
    EXPECT_TRUE(nested.push_back(Value::from_double(INFINITY)));
    EXPECT_FALSE(write(nested, &text, &error));
    EXPECT_FALSE(write(Value::from_string("bad \xC0\x80"), &text, &error));
    EXPECT_NE(error.find("UTF-8"), std::string::npos);
    Value object = Value::object();
    EXPECT_TRUE(object.set("\xFF", Value()));
    EXPECT_FALSE(write(object, &text, &error));
    EXPECT_EQ(text, "untouched");
}

TEST(JsonWrite, DepthMatchesParseLimit) {
    auto nest = [](size_t depth) {
        Value v = Value::array();
        for (size_t i = 1; i < depth; ++i) {
            Value outer = Value::array();
            outer.push_back(std::move(v));
            v = std::move(outer);
        }
        return v;
    };
    EXPECT_EQ(parse_ok(write_ok(nest(128))), nest(128));
    std::string text, error;
    EXPECT_FALSE(write(nest(129), &text, &error));
    EXPECT_NE(error.find("nesting"), std::string::npos);
}

TEST(JsonRoundTrip, Documents) {
    for (const char* text :
         {"null", "[]", "{}", "\"\"", "[[[]],{},[{}]]", R"({"a":{"b":{"c":[1,-2,3.5,"d"]}}})",
          R"({"seed":18446744073709551615,"n":-9223372036854775808,"x":1.5e-300})",
          "\"\\u0000\xF4\x8F\xBF\xBF\"", R"(["\u2028","\ud834\udd1e"])"}) {
        SCOPED_TRACE(text);
        Value first = parse_ok(text);
        const std::string written = write_ok(first);
        Value second = parse_ok(written);
        EXPECT_EQ(first, second);
        EXPECT_EQ(write_ok(second), written);  // stable after one trip
    }
}

// Mutates valid documents many times; every outcome must be a clean result,
// and anything accepted must survive a write/parse round trip. (Values are
// compared through their written form: a literal like "1234567890123456.7"
// reads as an integral double, which then writes as an integer.)
TEST(JsonFuzz, MutatedDocuments) {
    const std::vector<std::string> seeds = {
        R"({"__metadata__":{"format":"snn","v":"1"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})",
        R"([1,-2.5e-3,true,false,null,"caf\u00e9 \ud83d\ude00",{"a":[[]]},18446744073709551615])",
        "{\"s\":\"\xE2\x82\xAC\\n\",\"n\":-0,\"e\":1E+2}"};
    const std::string alphabet = "{}[]\",:\\u0123456789.eE+-tfn \x80\xC3\xED\xF4\xFF";
    std::mt19937_64 rng(7);
    int accepted = 0;
    for (int iteration = 0; iteration < 30000; ++iteration) {
        std::string text = seeds[rng() % seeds.size()];
        const int mutations = 1 + static_cast<int>(rng() % 4);
        for (int m = 0; m < mutations && !text.empty(); ++m) {
            const size_t at = rng() % text.size();
            switch (rng() % 5) {
                case 0: text[at] = static_cast<char>(text[at] ^ (1 << (rng() % 8))); break;
                case 1: text[at] = alphabet[rng() % alphabet.size()]; break;
                case 2: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
                case 3: text.erase(at, 1 + rng() % 3); break;
                case 4: text.resize(at); break;
            }
        }
        Value value;
        std::string error;
        if (!parse(text, &value, &error)) {
            ASSERT_EQ(error.rfind("json: ", 0), 0u) << error;
            continue;
        }
        ++accepted;
        std::string written;
        ASSERT_TRUE(write(value, &written, &error)) << text << ": " << error;
        Value back;
        ASSERT_TRUE(parse(written, &back, &error)) << written << ": " << error;
        std::string rewritten;
        ASSERT_TRUE(write(back, &rewritten, &error)) << error;
        ASSERT_EQ(rewritten, written) << text;
    }
    EXPECT_GT(accepted, 100);  // the mutations do not only produce garbage
}

}  // namespace
}  // namespace snn::json
