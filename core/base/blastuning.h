// The BLAS that libtorch calls is chosen by the system, but how it runs is ours to set: which
// kernels OpenBLAS uses and how many threads it starts. No torch here: the torch-free
// surfing-cli sets the environment before it hands a run to surfing-cli-torch.
#pragma once

#include <QByteArray>

namespace surfing {

// The OPENBLAS_CORETYPE whose kernels this CPU runs best ("SkylakeX" with AVX-512, "Haswell" with
// AVX2+FMA), or empty when OpenBLAS's own choice is as good. OpenBLAS 0.3.21 chooses by CPU model
// number and falls back to its SSE3 "Prescott" kernels on models it does not know (virtual CPUs
// named "Intel Xeon Processor", newer AMD parts): 4-8x slower matrix products.
QByteArray preferredOpenBlasCoreType();

// Sets OPENBLAS_CORETYPE to preferredOpenBlasCoreType() unless the user set it already. Only a
// program that loads OpenBLAS afterwards (a child, or after exec) sees the effect: OpenBLAS reads
// it once, when it is loaded.
void preferFastOpenBlasKernels();

} // namespace surfing
