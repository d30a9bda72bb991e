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

} // namespace surfing
