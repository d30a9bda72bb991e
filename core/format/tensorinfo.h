// Where one tensor sits in a safetensors data buffer.
#pragma once

#include "format/dtype.h"

#include <QString>
#include <QVector>

namespace surfing {

struct TensorInfo {
    QString name;
    Dtype dtype = Dtype::F32;
    QVector<qint64> shape;
    qint64 begin = 0; // byte offsets relative to the start of the data buffer
    qint64 end = 0;

    qint64 byteSize() const { return end - begin; }
    qint64 elementCount() const
    {
        qint64 n = 1;
        for (qint64 d : shape)
            n *= d;
        return n;
    }
};

} // namespace surfing
