#include "core/error.h"

#include <cstdarg>
#include <cstdio>

namespace snn {

namespace {
thread_local std::string t_last_error;
}

Error fail(snn_status status, const char* format, ...) {
    char buffer[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buffer, sizeof buffer, format, args);
    va_end(args);
    return Error(status, buffer);
}

void set_last_error(const char* message) { t_last_error = message ? message : ""; }
const char* last_error() { return t_last_error.c_str(); }

}  // namespace snn
