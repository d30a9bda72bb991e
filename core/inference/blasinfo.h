// Which BLAS libtorch multiplies with. Debian's libtorch calls libblas.so.3, which the system's
// alternatives point at netlib's reference BLAS (slow, several times behind llama.cpp) unless a
// fast one (OpenBLAS, BLIS) is installed; users and bug reports need to see which one it is.
// No torch in this header: the GUI's About box includes it.
#pragma once

#include <QString>

namespace surfing {

struct BlasInfo {
    QString name;       // "OpenBLAS 0.3.21 (pthread)", "netlib reference BLAS", "BLIS (pthread)", ...
    QString library;    // the resolved file, e.g. /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
    bool isReference = false;
    bool found() const { return !library.isEmpty(); }
};

// The BLAS loaded into this process (after libtorch is loaded; empty when none is).
BlasInfo loadedBlas();

// Logs a warning, once per process, when the loaded BLAS is the reference one, saying how to fix it.
void warnIfReferenceBlas();

// When OpenBLAS was loaded with slower kernels than this CPU runs (see preferredOpenBlasCoreType())
// and OPENBLAS_CORETYPE is unset, replaces this process by itself (same argv) with it set:
// OpenBLAS reads it only when loaded. Call first in main(), before any thread or file is opened.
// Returns when nothing needs doing, or when the exec failed (then logs why).
void restartForFastBlasKernels(char *argv[]);

// How many threads the BLAS may use for one call (OpenBLAS, BLIS); at::set_num_threads does not
// reach them, so `--threads 1` would otherwise still run prompts on every core.
void setBlasThreads(int threads);
// The BLAS's thread count now, or 0 when the BLAS does not say (the reference BLAS has none).
int blasThreads();

} // namespace surfing
