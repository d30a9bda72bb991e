#include "inference/quantops.h"

#include "base/error.h"
#include "inference/computethreads.h"
#include "inference/linearops_internal.h"
#include "inference/quantmatvec.h"

#include <algorithm>

namespace surfing::ops {
namespace {

using detail::floatBias;
using detail::outputSizes;
using detail::scratch;
using quant::QuantType;

const uint8_t *blocksOf(const at::Tensor &w)
{
    return static_cast<const uint8_t *>(w.data_ptr());
}

int64_t colsOf(const at::Tensor &w)
{
    return w.size(1) * quant::kBlockValues;
}

at::Tensor oneRow(QuantType type, const at::Tensor &x, const at::Tensor &w, const at::Tensor &bias)
{
    const int64_t out = w.size(0), in = colsOf(w);
    const at::Tensor xc = x.contiguous(), b = floatBias(bias);
    at::Tensor y = at::empty(outputSizes(x, out), at::kFloat);
    const auto *blocks = blocksOf(w);
    const float *xp = xc.data_ptr<float>(), *bp = b.defined() ? b.data_ptr<float>() : nullptr;
    float *yp = y.data_ptr<float>();
    forOutputRanges(out, w.nbytes(), [&](int64_t begin, int64_t end) {
        kernels::quantMatvec(type, blocks, in, xp, yp, bp, begin, end);
    });
    return y;
}

// Row blocks of W [out, in]: each fills the columns [r, r + n) of y.
at::Tensor severalRows(QuantType type, const at::Tensor &x, const at::Tensor &w, const at::Tensor &bias,
                       int64_t scratchFloats)
{
    const int64_t out = w.size(0), in = colsOf(w);
    const at::Tensor x2 = x.reshape({-1, in}).contiguous();
    at::Tensor y = at::empty({x2.size(0), out}, at::kFloat);
    const int64_t block = std::max<int64_t>(1, scratchFloats / in);
    const at::Tensor buffer = scratch(std::min(block, out) * in);
    for (int64_t r = 0; r < out; r += block) {
        const int64_t n = std::min(block, out - r);
        const at::Tensor wb = buffer.narrow(0, 0, n * in).view({n, in});
        kernels::quantDequantizeRows(type, blocksOf(w), in, r, r + n, wb.data_ptr<float>());
        at::Tensor yb = y.narrow(1, r, n);
        at::mm_out(yb, x2, wb.t());
    }
    if (bias.defined())
        y.add_(floatBias(bias));
    return y.view(outputSizes(x, out));
}

} // namespace

std::optional<QuantType> quantTypeOf(const at::Tensor &t)
{
    if (!t.defined() || t.scalar_type() != at::kByte || t.dim() != 3 || !t.is_contiguous())
        return std::nullopt;
    if (t.size(2) == quant::kQ8BlockBytes)
        return QuantType::Q8_0;
    if (t.size(2) == quant::kQ4BlockBytes)
        return QuantType::Q4_0;
    return std::nullopt;
}

at::Tensor quantizedMatrix(void *data, QuantType type, int64_t rows, int64_t cols, std::shared_ptr<const void> owner)
{
    return at::from_blob(data, {rows, cols / quant::kBlockValues, quant::blockBytes(type)}, [owner](void *) {},
                         at::TensorOptions().dtype(at::kByte));
}

at::Tensor affineQuantized(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias, int64_t scratchFloats)
{
    const QuantType type = *quantTypeOf(weight);
    const int64_t in = colsOf(weight);
    if (x.dim() < 1 || x.size(-1) != in)
        throw Error(QStringLiteral("quantized linear layer: input has %1 features, the %2 weight [%3, %4] needs %4")
                        .arg(x.dim() ? x.size(-1) : 0).arg(quant::quantTypeName(type)).arg(weight.size(0)).arg(in));
    const at::Tensor xf = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
    if (xf.numel() == in)
        return oneRow(type, xf, weight, bias);
    return severalRows(type, xf, weight, bias, scratchFloats);
}

at::Tensor embeddingQuantized(const at::Tensor &table, const at::Tensor &ids)
{
    const QuantType type = *quantTypeOf(table);
    const int64_t rows = table.size(0), cols = colsOf(table);
    const at::Tensor flat = ids.reshape({-1}).to(at::kLong).contiguous();
    at::Tensor out = at::empty({flat.numel(), cols}, at::kFloat);
    const int64_t *idp = flat.data_ptr<int64_t>();
    float *dst = out.data_ptr<float>();
    for (int64_t i = 0; i < flat.numel(); ++i) {
        if (idp[i] < 0 || idp[i] >= rows)
            throw Error(QStringLiteral("token id %1 is outside the embedding table of %2 rows").arg(idp[i]).arg(rows));
        kernels::quantDequantizeRows(type, blocksOf(table), cols, idp[i], idp[i] + 1, dst + i * cols);
    }
    std::vector<int64_t> sizes = ids.sizes().vec();
    sizes.push_back(cols);
    return out.view(sizes);
}

at::Tensor dequantized(const at::Tensor &weight)
{
    const QuantType type = *quantTypeOf(weight);
    const int64_t rows = weight.size(0), cols = colsOf(weight);
    at::Tensor out = at::empty({rows, cols}, at::kFloat);
    kernels::quantDequantizeRows(type, blocksOf(weight), cols, 0, rows, out.data_ptr<float>());
    return out;
}

} // namespace surfing::ops
