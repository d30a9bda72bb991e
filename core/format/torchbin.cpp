// pytorch_model.bin through libtorch's own unpickler. Torch's C++ unpickler only rebuilds tensors
// and plain containers (it cannot run arbitrary Python), and we accept dicts of tensors only.
#include "format/checkpoint.h"

#include "base/error.h"

#include <QFile>
#include <torch/csrc/jit/serialization/pickle.h>

namespace surfing {
namespace {

std::optional<Dtype> dtypeOf(c10::ScalarType type)
{
    switch (type) {
    case c10::ScalarType::Double: return Dtype::F64;
    case c10::ScalarType::Float: return Dtype::F32;
    case c10::ScalarType::Half: return Dtype::F16;
    case c10::ScalarType::BFloat16: return Dtype::BF16;
    case c10::ScalarType::Long: return Dtype::I64;
    case c10::ScalarType::Int: return Dtype::I32;
    case c10::ScalarType::Short: return Dtype::I16;
    case c10::ScalarType::Char: return Dtype::I8;
    case c10::ScalarType::Byte: return Dtype::U8;
    case c10::ScalarType::Bool: return Dtype::Bool;
    default: return std::nullopt;
    }
}

void collect(const c10::IValue &value, const QString &prefix, const QString &file,
             std::vector<std::pair<QString, at::Tensor>> &out)
{
    if (value.isTensor()) {
        out.emplace_back(prefix, value.toTensor());
        return;
    }
    if (!value.isGenericDict())
        throw Error(QStringLiteral("%1: '%2' is a %3; only tensors and dicts of tensors are accepted")
                        .arg(file, prefix.isEmpty() ? QStringLiteral("<root>") : prefix,
                             QString::fromStdString(value.tagKind())));
    for (const auto &item : value.toGenericDict()) {
        if (!item.key().isString())
            throw Error(QStringLiteral("%1: dictionary key under '%2' is not a string").arg(file, prefix));
        const QString key = QString::fromStdString(item.key().toStringRef());
        collect(item.value(), prefix.isEmpty() ? key : prefix + QLatin1Char('.') + key, file, out);
    }
}

void readTorchBin(const QString &file, Checkpoint &checkpoint)
{
    QFile input(file);
    if (!input.open(QIODevice::ReadOnly))
        throw Error(QStringLiteral("%1: cannot open: %2").arg(file, input.errorString()));
    const QByteArray bytes = input.readAll();
    std::vector<std::pair<QString, at::Tensor>> tensors;
    try {
        const c10::IValue root = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
        collect(root, QString(), file, tensors);
    } catch (const c10::Error &e) {
        throw Error(QStringLiteral("%1: not a readable torch.save archive: %2")
                        .arg(file, QString::fromStdString(e.what_without_backtrace())));
    }
    for (auto &[name, tensor] : tensors) {
        const auto dtype = dtypeOf(tensor.scalar_type());
        if (!dtype)
            throw Error(QStringLiteral("%1: tensor '%2' has unsupported type %3")
                            .arg(file, name, QString::fromUtf8(c10::toString(tensor.scalar_type()))));
        auto owned = std::make_shared<at::Tensor>(tensor.contiguous());
        TensorInfo info;
        info.name = name;
        info.dtype = *dtype;
        for (int64_t d : owned->sizes())
            info.shape.append(d);
        info.end = qint64(owned->nbytes());
        checkpoint.addTensor(info, QByteArrayView(static_cast<const char *>(owned->data_ptr()), info.end), file);
        checkpoint.keepAlive(owned);
    }
}

} // namespace

void installTorchBinReader()
{
    setTorchBinReader(&readTorchBin);
}

} // namespace surfing
