// The "avx512" level of the cpu kernels (compiler flags set in CMakeLists.txt).
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
namespace level_avx512 {
#define SNN_KERNEL_NAME "avx512"
#include "cpu/kernels.inl"
}  // namespace level_avx512

const KernelTable& avx512_kernels() { return level_avx512::table(); }
}  // namespace snn::cpu
#endif
