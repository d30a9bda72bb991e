// What the x86 kernel files (matvec_x86.cpp, quantmatvec_x86.cpp) share: the intrinsics and the
// target attributes of their two paths, chosen at run time by CPUID. Include only inside
// `#if SURFING_KERNELS_X86`.
#pragma once

// GCC 12 reports its own _mm512_undefined_*() self-initialisation as uninitialised (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#define SURFING_AVX2 __attribute__((target("avx2,fma,f16c")))
#define SURFING_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))
