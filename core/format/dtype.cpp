#include "format/dtype.h"

#include <QStringList>
#include <array>

namespace surfing {
namespace {

struct DtypeRow {
    Dtype dtype;
    const char *name;
    int size;
    bool floating;
    int blockValues = 1;
};

constexpr std::array<DtypeRow, 17> kDtypes{{
    {Dtype::F64, "F64", 8, true},         {Dtype::F32, "F32", 4, true},
    {Dtype::F16, "F16", 2, true},         {Dtype::BF16, "BF16", 2, true},
    {Dtype::F8_E4M3, "F8_E4M3", 1, true}, {Dtype::F8_E5M2, "F8_E5M2", 1, true},
    {Dtype::I64, "I64", 8, false},        {Dtype::I32, "I32", 4, false},
    {Dtype::I16, "I16", 2, false},        {Dtype::I8, "I8", 1, false},
    {Dtype::U64, "U64", 8, false},        {Dtype::U32, "U32", 4, false},
    {Dtype::U16, "U16", 2, false},        {Dtype::U8, "U8", 1, false},
    {Dtype::Bool, "BOOL", 1, false},
    {Dtype::Q8_0, "Q8_0", 34, false, 32}, {Dtype::Q4_0, "Q4_0", 18, false, 32},
}};

const DtypeRow &row(Dtype dtype)
{
    return kDtypes[size_t(dtype)];
}

} // namespace

std::optional<Dtype> dtypeFromName(const QString &name)
{
    for (const DtypeRow &r : kDtypes) {
        if (name == QLatin1String(r.name))
            return r.dtype;
    }
    return std::nullopt;
}

QString dtypeName(Dtype dtype)
{
    return QLatin1String(row(dtype).name);
}

int dtypeSize(Dtype dtype)
{
    return row(dtype).size;
}

int dtypeBlockValues(Dtype dtype)
{
    return row(dtype).blockValues;
}

qint64 dtypeByteCount(Dtype dtype, qint64 elements, qint64 lastDim)
{
    const int block = dtypeBlockValues(dtype);
    if (block > 1 && lastDim % block != 0)
        return -1; // also a scalar (lastDim 1); an empty last dimension holds no blocks
    qint64 bytes = 0;
    if (__builtin_mul_overflow(elements / block, qint64(dtypeSize(dtype)), &bytes))
        return -1;
    return bytes;
}

bool isFloatingPoint(Dtype dtype)
{
    return row(dtype).floating;
}

QString supportedDtypeNames()
{
    QStringList names;
    for (const DtypeRow &r : kDtypes)
        names << QLatin1String(r.name);
    return names.join(QLatin1String(", "));
}

} // namespace surfing
