#include "inference/linearops.h"

#include "client/chunkarrival.h"
#include "inference/computethreads.h"
#include "inference/linearops_internal.h"
#include "inference/matvec.h"
#include "inference/quantops.h"

#include <algorithm>
#include <optional>

namespace surfing::ops {
namespace {

using detail::floatBias;
using detail::outputSizes;
using detail::scratch;

// 4 MiB of floats per thread. bench_matvec "prompt128": 1-4 MiB cost 3-9 % over f32 GEMM on both
// 2816x1024 and 1024x2816, 256 KiB up to 32 % (more, thinner GEMM calls); 4 MiB was the most even.
constexpr int64_t kScratchFloats = int64_t(1) << 20;

std::optional<kernels::WeightType> kernelType(at::ScalarType type)
{
    switch (type) {
    case at::kFloat: return kernels::WeightType::F32;
    case at::kHalf: return kernels::WeightType::F16;
    case at::kBFloat16: return kernels::WeightType::BF16;
    default: return std::nullopt;
    }
}

std::optional<kernels::WeightType> kernelType(const at::Tensor &w)
{
    return kernelType(w.scalar_type());
}

// x [..., in] float32 and W a contiguous 2-D matrix of a kernel dtype whose `inDim` is x's last.
bool kernelFits(const at::Tensor &x, const at::Tensor &w, int inDim, const at::Tensor &bias)
{
    return kernelType(w) && x.scalar_type() == at::kFloat && x.dim() >= 1 && w.dim() == 2 && w.is_contiguous()
           && x.size(-1) == w.size(inDim) && x.size(-1) > 0
           && (!bias.defined() || (bias.dim() == 1 && bias.size(0) == w.size(1 - inDim)));
}

bool oneRow(const at::Tensor &x)
{
    return x.numel() == x.size(-1);
}

at::Tensor oneRowInOut(const at::Tensor &x, const at::Tensor &w, const at::Tensor &bias)
{
    const kernels::WeightType type = *kernelType(w);
    const int64_t in = w.size(0), out = w.size(1);
    const at::Tensor xc = x.contiguous(), b = floatBias(bias);
    at::Tensor y = at::empty(outputSizes(x, out), at::kFloat);
    const float *xp = xc.data_ptr<float>(), *bp = b.defined() ? b.data_ptr<float>() : nullptr;
    float *yp = y.data_ptr<float>();
    const void *wp = w.data_ptr();
    forOutputRanges(out, w.nbytes(), [&](int64_t begin, int64_t end) {
        kernels::vecmat(type, wp, in, out, xp, yp, bp, begin, end);
    });
    return y;
}

// K-blocks of W [in, out] are contiguous: y = sum over blocks of x[:, k0:k1] W[k0:k1, :].
at::Tensor widenedInOut(const at::Tensor &x, const at::Tensor &w, const at::Tensor &bias)
{
    const kernels::WeightType type = *kernelType(w);
    const int64_t in = w.size(0), out = w.size(1);
    const at::Tensor x2 = x.reshape({-1, in}).contiguous();
    at::Tensor y = at::empty({x2.size(0), out}, at::kFloat);
    const int64_t block = std::max<int64_t>(1, kScratchFloats / out);
    const at::Tensor buffer = scratch(std::min(block, in) * out);
    const auto *wp = static_cast<const char *>(w.data_ptr());
    for (int64_t k = 0; k < in; k += block) {
        const int64_t n = std::min(block, in - k);
        const at::Tensor wb = buffer.narrow(0, 0, n * out).view({n, out});
        kernels::widen(type, wp + k * out * w.element_size(), wb.data_ptr<float>(), n * out);
        if (k == 0)
            at::mm_out(y, x2.narrow(1, k, n), wb);
        else
            y.addmm_(x2.narrow(1, k, n), wb);
    }
    if (bias.defined())
        y.add_(floatBias(bias));
    return y.view(outputSizes(x, out));
}

} // namespace

at::Tensor affineOneRow(const at::Tensor &x, const at::Tensor &w, const at::Tensor &bias)
{
    const kernels::WeightType type = *kernelType(w);
    const int64_t out = w.size(0), in = w.size(1);
    const at::Tensor xc = x.contiguous(), b = floatBias(bias);
    at::Tensor y = at::empty(outputSizes(x, out), at::kFloat);
    const float *xp = xc.data_ptr<float>(), *bp = b.defined() ? b.data_ptr<float>() : nullptr;
    float *yp = y.data_ptr<float>();
    const void *wp = w.data_ptr();
    forOutputRanges(out, w.nbytes(), [&](int64_t begin, int64_t end) {
        kernels::matvec(type, wp, out, in, xp, yp, bp, begin, end);
    });
    return y;
}

at::Tensor affineArriving(const at::Tensor &x, const UnitWeights::ArrivingRows &w, const at::Tensor &bias)
{
    if (x.scalar_type() != at::kFloat || x.dim() < 1 || !oneRow(x) || x.size(-1) != w.cols || w.cols == 0
        || (bias.defined() && (bias.dim() != 1 || bias.size(0) != w.rows)))
        return {};
    const kernels::WeightType type = *kernelType(w.type);
    const at::Tensor xc = x.contiguous(), b = floatBias(bias);
    at::Tensor y = at::empty(outputSizes(x, w.rows), at::kFloat);
    const float *xp = xc.data_ptr<float>(), *bp = b.defined() ? b.data_ptr<float>() : nullptr;
    float *yp = y.data_ptr<float>();
    const qint64 rowBytes = w.cols * qint64(c10::elementSize(w.type));
    int64_t done = 0; // rows multiplied; read() calls never overlap
    w.arrival->readAsVerified(w.offset, w.offset + w.rows * rowBytes, [&](const char *chunk, qint64 upTo) {
        const int64_t ready = std::min<int64_t>(w.rows, (upTo - w.offset) / rowBytes);
        if (ready > done)
            kernels::matvec(type, chunk + w.offset, w.rows, w.cols, xp, yp, bp, done, ready);
        done = std::max(done, ready);
    });
    return y;
}

// Row blocks of W [out, in] are contiguous: each fills the columns [r, r + n) of y.
at::Tensor affineWidened(const at::Tensor &x, const at::Tensor &w, const at::Tensor &bias, int64_t scratchFloats)
{
    const kernels::WeightType type = *kernelType(w);
    const int64_t out = w.size(0), in = w.size(1);
    const at::Tensor x2 = x.reshape({-1, in}).contiguous();
    at::Tensor y = at::empty({x2.size(0), out}, at::kFloat);
    const int64_t block = std::max<int64_t>(1, scratchFloats / in);
    const at::Tensor buffer = scratch(std::min(block, out) * in);
    const auto *wp = static_cast<const char *>(w.data_ptr());
    for (int64_t r = 0; r < out; r += block) {
        const int64_t n = std::min(block, out - r);
        const at::Tensor wb = buffer.narrow(0, 0, n * in).view({n, in});
        kernels::widen(type, wp + r * in * w.element_size(), wb.data_ptr<float>(), n * in);
        at::Tensor yb = y.narrow(1, r, n);
        at::mm_out(yb, x2, wb.t());
    }
    if (bias.defined())
        y.add_(floatBias(bias));
    return y.view(outputSizes(x, out));
}

at::Tensor affine(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias)
{
    if (quantTypeOf(weight))
        return affineQuantized(x, weight, bias);
    if (kernelFits(x, weight, 1, bias)) {
        if (oneRow(x))
            return affineOneRow(x, weight, bias);
        if (weight.scalar_type() != at::kFloat)
            return affineWidened(x, weight, bias, kScratchFloats);
    }
    // f32 prompt rows (BLAS GEMM on the weight as it lies), and anything the kernels do not take.
    const at::Tensor w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
    return at::linear(x, w, bias.defined() ? c10::optional<at::Tensor>(bias.to(x.scalar_type())) : c10::nullopt);
}

at::Tensor affineInOut(const at::Tensor &x, const at::Tensor &weight, const at::Tensor &bias)
{
    if (quantTypeOf(weight)) // the chunker never quantizes [in, out] (Conv1D) weights
        return affine(x, dequantized(weight).t(), bias);
    if (kernelFits(x, weight, 0, bias)) {
        if (oneRow(x))
            return oneRowInOut(x, weight, bias);
        if (weight.scalar_type() != at::kFloat)
            return widenedInOut(x, weight, bias);
    }
    const at::Tensor w = weight.scalar_type() == x.scalar_type() ? weight : weight.to(x.scalar_type());
    const at::Tensor y = at::matmul(x, w);
    return bias.defined() ? y + bias.to(x.scalar_type()) : y;
}

at::Tensor embedding(const at::Tensor &table, const at::Tensor &ids)
{
    if (quantTypeOf(table))
        return embeddingQuantized(table, ids);
    const at::Tensor rows = at::embedding(table, ids);
    return rows.scalar_type() == at::kFloat ? rows : rows.to(at::kFloat);
}

namespace detail {

at::Tensor floatBias(const at::Tensor &bias)
{
    return bias.defined() ? bias.to(at::kFloat).contiguous() : bias;
}

std::vector<int64_t> outputSizes(const at::Tensor &x, int64_t features)
{
    std::vector<int64_t> sizes = x.sizes().vec();
    sizes.back() = features;
    return sizes;
}

at::Tensor scratch(int64_t floats)
{
    thread_local at::Tensor buffer;
    if (!buffer.defined() || buffer.numel() < floats)
        buffer = at::empty({floats}, at::kFloat);
    return buffer.narrow(0, 0, floats);
}

} // namespace detail

} // namespace surfing::ops
