/* Compiled as C99 with -Wpedantic -Werror: the public header must stay clean C. */
#include <snn/snn.h>
#include <snn/snn.h> /* include guard works */

int snn_headertest_c(void);
int snn_headertest_c(void) {
    snn_context_options options;
    snn_tensor tensor;
    (void)tensor;
    return snn_context_options_init(&options, (uint32_t)sizeof options) == SNN_OK ? SNN_VERSION_MAJOR : -1;
}
