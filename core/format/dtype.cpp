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
};

constexpr std::array<DtypeRow, 15> kDtypes{{
    {Dtype::F64, "F64", 8, true},         {Dtype::F32, "F32", 4, true},
    {Dtype::F16, "F16", 2, true},         {Dtype::BF16, "BF16", 2, true},
    {Dtype::F8_E4M3, "F8_E4M3", 1, true}, {Dtype::F8_E5M2, "F8_E5M2", 1, true},
    {Dtype::I64, "I64", 8, false},        {Dtype::I32, "I32", 4, false},
    {Dtype::I16, "I16", 2, false},        {Dtype::I8, "I8", 1, false},
    {Dtype::U64, "U64", 8, false},        {Dtype::U32, "U32", 4, false},
    {Dtype::U16, "U16", 2, false},        {Dtype::U8, "U8", 1, false},
    {Dtype::Bool, "BOOL", 1, false},
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
