// Errors inside the core: functions throw snn::Error; the extern "C" shims in
// src/api catch it (and everything else) and turn it into a status code plus
// the thread's last-error message. Nothing here crosses the C ABI.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

#include "snn/snn.h"

namespace snn {

class Error : public std::exception {
public:
    Error(snn_status status, std::string message) : status_(status), message_(std::move(message)) {}
    snn_status status() const noexcept { return status_; }
    const char* what() const noexcept override { return message_.c_str(); }

private:
    snn_status status_;
    std::string message_;
};

// printf-style constructor of an Error, e.g. throw fail(SNN_SHAPE, "weights: %lld values", n).
[[nodiscard]] Error fail(snn_status status, const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

// The calling thread's last-error text.
void set_last_error(const char* message);
const char* last_error();

}  // namespace snn
