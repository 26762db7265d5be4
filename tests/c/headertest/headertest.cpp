// Compiled as C++ with -Wpedantic -Werror: the public header must stay clean C++.
#include <snn/snn.h>

int snn_headertest_cxx();
int snn_headertest_cxx() {
    snn_network_options options{};
    return snn_network_options_init(&options, sizeof options) == SNN_OK ? SNN_VERSION_MINOR : -1;
}
