#!/usr/bin/env python3
# Compares Surfing's quantized stories260K chunks with llama.cpp's quantization of the same model,
# byte for byte: every tensor that hf2gguf.py does not permute (the embedding, gate/up/v/o
# projections; q/k are re-ordered for llama.cpp's rope) must hold the same blocks.
#   cmpgguf.py CHUNK_DIR MODEL.gguf        (run by bench/run-quant.sh)
import json, struct, sys
def gguf_tensors(path):
    f = open(path, 'rb'); b = f.read()
    assert b[:4] == b'GGUF'
    ver, nt, nkv = struct.unpack_from('<IQQ', b, 4); o = 24
    def rstr(o):
        n, = struct.unpack_from('<Q', b, o); return b[o+8:o+8+n].decode(), o+8+n
    sizes = {0:1,1:1,2:2,3:2,4:4,5:4,6:4,7:1,10:8,11:8,12:8}
    align = 32
    def rval(t, o):
        if t == 8: return rstr(o)
        if t == 9:
            et, n = struct.unpack_from('<IQ', b, o); o += 12; vals = []
            for _ in range(n):
                v, o = rval(et, o); vals.append(v)
            return vals, o
        fmt = {0:'<B',1:'<b',2:'<H',3:'<h',4:'<I',5:'<i',6:'<f',7:'<?',10:'<Q',11:'<q',12:'<d'}[t]
        return struct.unpack_from(fmt, b, o)[0], o + sizes[t]
    for _ in range(nkv):
        k, o = rstr(o); t, = struct.unpack_from('<I', b, o); o += 4
        v, o = rval(t, o)
        if k == 'general.alignment': align = v
    infos = []
    for _ in range(nt):
        name, o = rstr(o); nd, = struct.unpack_from('<I', b, o); o += 4
        dims = struct.unpack_from('<%dQ' % nd, b, o); o += 8 * nd
        typ, off = struct.unpack_from('<IQ', b, o); o += 12
        infos.append((name, dims, typ, off))
    data = (o + align - 1) // align * align
    return b, data, infos
def safetensors(path):
    b = open(path, 'rb').read(); n, = struct.unpack_from('<Q', b, 0)
    return b, 8 + n, json.loads(b[8:8+n])
chunks, gguf = sys.argv[1], sys.argv[2]
gb, gdata, ginfos = gguf_tensors(gguf)
pairs = [('embed_tokens', 'weight', 'token_embd.weight')]
for i in range(5):
    pairs += [('layer_%d' % i, 'mlp.gate_proj.weight', 'blk.%d.ffn_gate.weight' % i), ('layer_%d' % i, 'mlp.up_proj.weight', 'blk.%d.ffn_up.weight' % i),
              ('layer_%d' % i, 'self_attn.v_proj.weight', 'blk.%d.attn_v.weight' % i), ('layer_%d' % i, 'self_attn.o_proj.weight', 'blk.%d.attn_output.weight' % i)]
types = {8: 'Q8_0', 2: 'Q4_0', 0: 'F32', 1: 'F16'}
same = differ = 0
for unit, key, gname in pairs:
    sb, sdata, hdr = safetensors('%s/%s.safetensors' % (chunks, unit))
    e = hdr[key]; ours = sb[sdata + e['data_offsets'][0]: sdata + e['data_offsets'][1]]
    name, dims, typ, off = next(x for x in ginfos if x[0] == gname)
    theirs = gb[gdata + off: gdata + off + len(ours)]
    ok = ours == theirs and e['dtype'] == types.get(typ)
    same += ok; differ += not ok
    if not ok: print('DIFFER', unit, key, e['dtype'], types.get(typ), sum(x != y for x, y in zip(ours, theirs)), 'of', len(ours), 'bytes')
print('%s vs %s: %d tensors byte-identical, %d differ' % (chunks, gguf, same, differ))
