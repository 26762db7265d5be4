// The "generic" level of the cpu kernels (compiler flags set in CMakeLists.txt).
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <type_traits>

#include "core/conv_loops.h"
#include "core/phi.h"
#include "core/rng.h"
#include "cpu/kernels.h"

namespace snn::cpu {
namespace level_generic {
#define SNN_KERNEL_NAME "generic"
#include "cpu/kernels.inl"
}  // namespace level_generic

const KernelTable& generic_kernels() { return level_generic::table(); }
}  // namespace snn::cpu
