// The "avx2" level of the cpu kernels (compiler flags set in CMakeLists.txt).
#if defined(SNN_CPU_X86)
#include <cmath>
#include <cstring>
#include <initializer_list>
#include <type_traits>

#include <immintrin.h>

#include "core/conv_loops.h"
#include "core/phi.h"
#include "core/rng.h"
#include "cpu/kernels.h"

namespace snn::cpu {
namespace level_avx2 {
#define SNN_KERNEL_NAME "avx2"
#include "cpu/kernels.inl"
}  // namespace level_avx2

const KernelTable& avx2_kernels() { return level_avx2::table(); }
}  // namespace snn::cpu
#endif
