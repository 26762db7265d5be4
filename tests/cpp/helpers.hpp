// Shared helpers of the C++ wrapper tests. Every test file is compiled three
// times (tests/cpp/CMakeLists.txt): C++17, C++20 (snn::Span is std::span)
// and C++17 with -fno-exceptions and SNN_NO_EXCEPTIONS (Status forms only).
#pragma once

#include <gtest/gtest.h>
#include <snn/snn.hpp>

#include <cmath>
#include <string>
#include <vector>

#define ASSERT_SNN(status) ASSERT_TRUE((status).ok()) << (status).to_string()
#define EXPECT_SNN(status) EXPECT_TRUE((status).ok()) << (status).to_string()

// A failed call: the code is `expected` and the message names `needle`.
#define EXPECT_SNN_FAILED(status, expected, needle)                                                     \
    do {                                                                                                \
        EXPECT_STREQ((status).name(), snn_status_name(expected)) << (status).to_string();               \
        EXPECT_NE((status).message().find(needle), std::string::npos)                                   \
            << "the message \"" << (status).message() << "\" does not name \"" << (needle) << "\"";     \
    } while (0)

namespace cpptest {

// The parameters of the tests' LIF neurons (docs/models.md defaults, named).
constexpr double kTauMem = 20e-3;
constexpr double kVRest = -65e-3;
constexpr double kDt = 1e-4;

inline snn::Context make_context(const char* backend = "auto") {
    snn::Status status;
    snn::Context ctx = snn::Context::create(snn::ContextOptions().backend(backend).threads(1), status);
    EXPECT_TRUE(status.ok()) << status.to_string();
    return ctx;
}

// spike_source "in" (n) -> lif "out" (n), one to one with weight w (delta, delay 1).
struct Relay {
    snn::Network net;
    snn::Population in, out;
    snn::Connection conn;
};

inline Relay make_relay(snn::Context& ctx, int64_t n, float w, int32_t batch = 1) {
    snn::Status s;
    Relay r;
    r.net = snn::Network::create(ctx, snn::NetworkOptions().dt(kDt).batch(batch), s);
    EXPECT_TRUE(s.ok()) << s.to_string();
    r.in = r.net.add_population("in", n, "spike_source", s);
    EXPECT_TRUE(s.ok()) << s.to_string();
    r.out = r.net.add_population("out", n, "lif", s);
    EXPECT_TRUE(s.ok()) << s.to_string();
    r.conn = r.net.connect_one_to_one(r.in, r.out, w, snn::ConnectionOptions().name("relay"), s);
    EXPECT_TRUE(s.ok()) << s.to_string();
    return r;
}

}  // namespace cpptest
