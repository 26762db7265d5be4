#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "cpu/kernels.h"

namespace snn::cpu {

namespace {

bool cpu_has(const char* level) {
#if defined(SNN_CPU_X86) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (std::strcmp(level, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("bmi2");
    if (std::strcmp(level, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return std::strcmp(level, "generic") == 0;
}

const KernelTable* by_name(const char* level) {
    if (std::strcmp(level, "generic") == 0) return &generic_kernels();
#if defined(SNN_CPU_X86)
    if (std::strcmp(level, "avx2") == 0) return &avx2_kernels();
    if (std::strcmp(level, "avx512") == 0) return &avx512_kernels();
#endif
    return nullptr;
}

// Whether sparse rows should use AVX-512 scatter: yes on Intel (a scatter of
// 16 floats costs about what 16 scalar stores do, and the gather, add and
// compare run 16 wide), no on AMD (Zen 4 microcodes scatter: on the
// benchmarks' 10 000-neuron network, 1.0 ns per synapse against 0.56 one at a
// time). $SNN_CPU_SCATTER = "0" or "1" decides instead (tests run both).
bool scatter_pays() {
    const char* forced = std::getenv("SNN_CPU_SCATTER");
    if (forced && *forced) return std::strcmp(forced, "0") != 0;
#if defined(SNN_CPU_X86) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    return !__builtin_cpu_is("amd");
#else
    return false;
#endif
}

// The level's table with sparse_rows chosen (made once: only the avx512
// level has a scatter variant).
const KernelTable& with_sparse_choice(const KernelTable& level) {
    if (!level.sparse_rows_scatter) return level;
    static const KernelTable scatter = [&] {
        KernelTable t = level;
        t.sparse_rows = t.sparse_rows_scatter;
        return t;
    }();
    return scatter_pays() ? scatter : level;
}

}  // namespace

const KernelTable& select_kernels(const char* wanted) {
    if (!wanted || !*wanted || std::strcmp(wanted, "auto") == 0) wanted = std::getenv("SNN_CPU_SIMD");
    if (!wanted || !*wanted || std::strcmp(wanted, "auto") == 0) {
        for (const char* level : {"avx512", "avx2", "generic"})
            if (by_name(level) && cpu_has(level)) return with_sparse_choice(*by_name(level));
    }
    const KernelTable* table = by_name(wanted);
    if (!table) throw fail(SNN_UNSUPPORTED, "simd: \"%s\" is not a SIMD level of this build (auto, avx512, avx2, generic)", wanted);
    if (!cpu_has(wanted)) throw fail(SNN_UNSUPPORTED, "simd: this CPU cannot run \"%s\"", wanted);
    return with_sparse_choice(*table);
}

}  // namespace snn::cpu
