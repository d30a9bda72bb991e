// Keys and values of every decoder layer for the tokens seen so far, kept across generation
// steps while the layers' weights come and go. Internal to core/inference (libtorch).
#pragma once

#include <ATen/ATen.h>
#include <vector>

namespace surfing {

class KVCache
{
public:
    explicit KVCache(int layers = 0) : m_keys(layers), m_values(layers) {}

    int layers() const { return int(m_keys.size()); }
    // Tokens cached so far (0 before the first step).
    int64_t length() const { return m_keys.empty() || !m_keys[0].defined() ? 0 : m_keys[0].size(2); }

    // Appends this step's k, v [B, Hkv, T, D] for `layer`; returns the whole history.
    std::pair<at::Tensor, at::Tensor> append(int layer, const at::Tensor &k, const at::Tensor &v)
    {
        at::Tensor &ks = m_keys.at(size_t(layer));
        at::Tensor &vs = m_values.at(size_t(layer));
        ks = ks.defined() ? at::cat({ks, k}, 2) : k.contiguous();
        vs = vs.defined() ? at::cat({vs, v}, 2) : v.contiguous();
        return {ks, vs};
    }

    void clear()
    {
        for (auto &t : m_keys) t = at::Tensor();
        for (auto &t : m_values) t = at::Tensor();
    }

    int64_t bytes() const
    {
        int64_t n = 0;
        for (size_t i = 0; i < m_keys.size(); ++i)
            if (m_keys[i].defined())
                n += m_keys[i].nbytes() + m_values[i].nbytes();
        return n;
    }

private:
    std::vector<at::Tensor> m_keys;
    std::vector<at::Tensor> m_values;
};

} // namespace surfing
