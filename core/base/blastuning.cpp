#include "base/blastuning.h"

#include <cstdlib>

namespace surfing {

QByteArray preferredOpenBlasCoreType()
{
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd"))
        return QByteArrayLiteral("SkylakeX");
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return QByteArrayLiteral("Haswell");
#endif
    return {};
}

void preferFastOpenBlasKernels()
{
    if (std::getenv("OPENBLAS_CORETYPE"))
        return;
    const QByteArray core = preferredOpenBlasCoreType();
    if (!core.isEmpty())
        ::setenv("OPENBLAS_CORETYPE", core.constData(), 0);
}

} // namespace surfing
