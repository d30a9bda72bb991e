// Keys and values of every decoder layer for the tokens seen so far, kept across generation
// steps while the layers' weights come and go. Internal to core/inference (libtorch).
#pragma once

#include <ATen/ATen.h>
#include <algorithm>
#include <vector>

namespace surfing {

class KVCache
{
public:
    explicit KVCache(int layers = 0) : m_slots(size_t(layers)) {}

    int layers() const { return int(m_slots.size()); }
    // Tokens cached so far (0 before the first step).
    int64_t length() const { return m_slots.empty() ? 0 : m_slots[0].length; }

    // Room for `positions` tokens, taken by each layer at its first append: a generation knows
    // its prompt and how many tokens it adds, so its cache need hold no room it never uses nor
    // be copied to grow (a batch of 64 prompts of 8 held 16 positions for 11). Past the reserve,
    // storage doubles as without one.
    void reserve(int64_t positions) { m_reserved = positions; }
    // The capacity a slot grows to when `needed` positions do not fit.
    static int64_t grownCapacity(int64_t needed) { return std::max<int64_t>(2 * needed, 16); }

    // Appends this step's k, v [B, Hkv, T, D] for `layer`; returns the whole history as views
    // (valid until the next append). Storage grows by doubling, so a step copies only its own
    // keys and values instead of the whole history.
    std::pair<at::Tensor, at::Tensor> append(int layer, const at::Tensor &k, const at::Tensor &v)
    {
        Slot &slot = m_slots.at(size_t(layer));
        const int64_t needed = slot.length + k.size(2);
        if (!slot.keys.defined() && needed <= m_reserved)
            takeReserve(k, v);
        if (!fits(slot, k, v) || needed > slot.keys.size(2))
            grow(slot, k, v, needed <= m_reserved ? m_reserved : grownCapacity(needed));
        slot.keys.narrow(2, slot.length, k.size(2)).copy_(k);
        slot.values.narrow(2, slot.length, v.size(2)).copy_(v);
        slot.length = needed;
        return {slot.keys.narrow(2, 0, needed), slot.values.narrow(2, 0, needed)};
    }

    void clear()
    {
        for (Slot &slot : m_slots)
            slot = Slot();
    }

    // Bytes held, including room reserved for the next tokens.
    int64_t bytes() const
    {
        int64_t n = 0;
        for (const Slot &slot : m_slots)
            if (slot.keys.defined())
                n += slot.keys.nbytes() + slot.values.nbytes();
        return n;
    }

private:
    struct Slot {
        at::Tensor keys, values; // [B, Hkv, capacity, D]
        int64_t length = 0;
    };

    // Every layer's room at once, at the first layer's append: taken layer by layer, the slots
    // landed between each layer's freed temporaries (batch 64 on the 1 GB model: 6 MiB more
    // peak RSS).
    void takeReserve(const at::Tensor &k, const at::Tensor &v)
    {
        for (Slot &slot : m_slots)
            if (!slot.keys.defined())
                grow(slot, k, v, m_reserved);
    }

    // A layer whose heads differ from the first's does not keep the room taken with its shape.
    static bool fits(const Slot &slot, const at::Tensor &k, const at::Tensor &v)
    {
        const auto same = [](const at::Tensor &a, const at::Tensor &b) {
            return a.size(0) == b.size(0) && a.size(1) == b.size(1) && a.size(3) == b.size(3) && a.dtype() == b.dtype();
        };
        return slot.keys.defined() && (slot.length > 0 || (same(slot.keys, k) && same(slot.values, v)));
    }

    static void grow(Slot &slot, const at::Tensor &k, const at::Tensor &v, int64_t capacity)
    {
        at::Tensor keys = at::empty({k.size(0), k.size(1), capacity, k.size(3)}, k.options());
        at::Tensor values = at::empty({v.size(0), v.size(1), capacity, v.size(3)}, v.options());
        if (slot.length > 0) {
            keys.narrow(2, 0, slot.length).copy_(slot.keys.narrow(2, 0, slot.length));
            values.narrow(2, 0, slot.length).copy_(slot.values.narrow(2, 0, slot.length));
        }
        slot.keys = keys;
        slot.values = values;
    }

    std::vector<Slot> m_slots;
    int64_t m_reserved = 0;
};

} // namespace surfing
