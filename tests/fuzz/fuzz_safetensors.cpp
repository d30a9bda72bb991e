// libFuzzer target: the safetensors header parser must reject or accept any bytes without
// crashing, and everything it accepts must describe spans inside the input; then the check of
// Q8_0 / Q4_0 blocks (format/quant.h) runs over what it accepted.
#include "base/error.h"
#include "format/quant.h"
#include "format/safetensors.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QByteArrayView input(reinterpret_cast<const char *>(data), qsizetype(size));
    try {
        const surfing::SafetensorsHeader header = surfing::parseSafetensors(input, QStringLiteral("fuzz"));
        for (const surfing::TensorInfo &t : header.tensors) {
            if (t.begin < 0 || t.end < t.begin || header.dataOffset + t.end > qint64(size))
                std::abort(); // accepted a span outside the file
            const int block = surfing::dtypeBlockValues(t.dtype);
            if (block > 1 && t.byteSize() != t.elementCount() / block * surfing::dtypeSize(t.dtype))
                std::abort(); // accepted a block count that is not the shape's
        }
        surfing::quant::checkQuantizedTensors(header, input, QStringLiteral("fuzz"));
    } catch (const surfing::Error &) {
    }
    return 0;
}
