#!/usr/bin/python3
"""Writes the PyTorch parity references of tests/nn_parity_test.cpp.

Run with Debian's Python and PyTorch (apt-get install python3-torch, 1.13):

    /usr/bin/python3 tests/parity/make_references.py            # every case
    /usr/bin/python3 tests/parity/make_references.py attention  # only MultiheadAttention and the Transformer layers

For each layer and option set it writes tests/parity/data/<case>.safetensors,
holding, under these names:

    <PyTorch's state-dict names>  the layer's parameters (float32), as
                                  module.state_dict() names them
    input.<name>                  the inputs (float32, or int64 indices)
    output.<name>                 the outputs
    cotangent.<name>              fixed random weights w of each output
    grad.<name>                   d/d(name) of sum over outputs of sum(out * w),
                                  for every floating input and every parameter

Inputs and parameters are float32 values; the outputs and gradients are
computed from them in float64 and stored as float64, so that a float32 run is
compared with the exact answer, and a float64 run can be compared tightly.
The safetensors format (8-byte little-endian header length, a JSON header,
raw little-endian data) is written by hand: the safetensors package is not
needed. Nothing here is run by the build or the tests; the files are committed.
"""
import json
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
CODES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def save_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes()  # little-endian on every machine PyTorch runs on here
        header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def as_float32_values(t):
    """t rounded to float32 and back to float64: the values the file stores."""
    return t.float().double()


def write_case(name, module, inputs, run, description=None):
    """module: a torch module (its parameters are rounded to float32 values and
    the computation runs in float64); inputs: name -> tensor; run(module,
    inputs) -> name -> output tensor."""
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(as_float32_values(p))
    xs = {}
    for key, value in inputs.items():
        if value.is_floating_point():
            xs[key] = as_float32_values(value).requires_grad_(True)
        else:
            xs[key] = value
    outputs = run(module, xs)
    cotangents = {key: torch.randn_like(out) for key, out in outputs.items()}
    scalar = sum((out * cotangents[key]).sum() for key, out in outputs.items())
    params = dict(module.named_parameters())
    wrt = {key: x for key, x in xs.items() if x.is_floating_point()}
    wrt.update(params)
    grads = torch.autograd.grad(scalar, list(wrt.values()))
    tensors = {key: value.float() for key, value in module.state_dict().items()}
    for key, value in xs.items():
        tensors["input." + key] = value.float() if value.is_floating_point() else value
    for key, value in outputs.items():
        tensors["output." + key] = value
        tensors["cotangent." + key] = cotangents[key]
    for key, g in zip(wrt.keys(), grads):
        tensors["grad." + key] = g
    metadata = {"torch": torch.__version__, "module": description or repr(module)}
    save_safetensors(os.path.join(OUT, name + ".safetensors"), tensors, metadata)
    print(f"{name}: {metadata['module']}")


def recurrent(module, x, h0=None, c0=None):
    """Inputs and run function of an RNN/LSTM/GRU with the given initial states."""
    inputs = {"x": x}
    if h0 is not None:
        inputs["h0"] = h0
    if c0 is not None:
        inputs["c0"] = c0

    def run(m, xs):
        if "c0" in xs:
            out, (h, c) = m(xs["x"], (xs["h0"], xs["c0"]))
            return {"output": out, "h": h, "c": c}
        out, state = m(xs["x"], xs.get("h0"))
        if isinstance(state, tuple):
            return {"output": out, "h": state[0], "c": state[1]}
        return {"output": out, "h": state}

    return inputs, run


def case_recurrent(name, module, x, h0=None, c0=None, train=False):
    module.train(train)
    inputs, run = recurrent(module, x, h0, c0)
    write_case(name, module, inputs, run)


def cell(name, module, x, h=None, c=None):
    inputs = {"x": x}
    if h is not None:
        inputs["h"] = h
    if c is not None:
        inputs["c"] = c

    def run(m, xs):
        if isinstance(m, torch.nn.LSTMCell):
            state = (xs["h"], xs["c"]) if "h" in xs else None
            h_next, c_next = m(xs["x"], state)
            return {"h": h_next, "c": c_next}
        return {"h": m(xs["x"], xs.get("h"))}

    write_case(name, module, inputs, run)


def plain(name, module, x):
    write_case(name, module, {"x": x}, lambda m, xs: {"output": m(xs["x"])})


class RMSNorm(torch.nn.Module):
    """torch.nn.RMSNorm of PyTorch 2.4, which 1.13 lacks: the same formula and the
    same parameter name (weight); eps None means the float32 machine epsilon
    (the layer is float32 in the tests)."""

    def __init__(self, shape, eps=None):
        super().__init__()
        self.shape = tuple(shape)
        self.eps = eps
        self.weight = torch.nn.Parameter(torch.ones(self.shape))

    def forward(self, x):
        eps = torch.finfo(torch.float32).eps if self.eps is None else self.eps
        dims = tuple(range(-len(self.shape), 0))
        return x * torch.rsqrt(x.pow(2).mean(dims, keepdim=True) + eps) * self.weight

    def extra_repr(self):
        return f"{self.shape}, eps={self.eps}"


def randomise_affine(module):
    """Norm layers start at weight 1, bias 0: random values test the affine part."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p))
    return module


def main():
    os.makedirs(OUT, exist_ok=True)
    r = torch.randn
    torch.manual_seed(0)
    plain("layernorm", randomise_affine(torch.nn.LayerNorm(4)), r(2, 3, 4))
    plain("layernorm_two_axes", randomise_affine(torch.nn.LayerNorm([3, 4], eps=1e-3)), r(2, 3, 4))
    plain("layernorm_no_affine", torch.nn.LayerNorm(5, elementwise_affine=False), r(3, 5))
    plain("groupnorm", randomise_affine(torch.nn.GroupNorm(2, 6)), r(2, 6, 3))
    plain("groupnorm_no_affine_4d", torch.nn.GroupNorm(3, 6, affine=False), r(2, 6, 2, 2))
    plain("rmsnorm", randomise_affine(RMSNorm([4])), r(2, 3, 4))
    plain("rmsnorm_two_axes_eps", randomise_affine(RMSNorm([3, 4], eps=1e-6)), r(2, 3, 4))

    L, N = 4, 2
    case_recurrent("rnn_tanh", torch.nn.RNN(3, 5), r(L, N, 3), h0=r(1, N, 5))
    case_recurrent("rnn_relu_two_layers_bidirectional_batch_first",
                   torch.nn.RNN(3, 4, num_layers=2, nonlinearity="relu", batch_first=True, bidirectional=True),
                   r(N, L, 3))
    case_recurrent("lstm", torch.nn.LSTM(3, 5), r(L, N, 3), h0=r(1, N, 5), c0=r(1, N, 5))
    case_recurrent("lstm_two_layers_bidirectional_batch_first",
                   torch.nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True),
                   r(N, L, 3), h0=r(4, N, 4), c0=r(4, N, 4))
    case_recurrent("lstm_no_bias", torch.nn.LSTM(3, 4, bias=False), r(L, N, 3))
    case_recurrent("lstm_unbatched", torch.nn.LSTM(3, 4), r(L, 3), h0=r(1, 4), c0=r(1, 4))
    case_recurrent("lstm_dropout_eval", torch.nn.LSTM(3, 4, num_layers=2, dropout=0.5), r(L, N, 3))
    case_recurrent("gru", torch.nn.GRU(3, 5), r(L, N, 3), h0=r(1, N, 5))
    case_recurrent("gru_two_layers_bidirectional_batch_first",
                   torch.nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True), r(N, L, 3),
                   h0=r(4, N, 4))
    case_recurrent("gru_no_bias_unbatched", torch.nn.GRU(3, 4, bias=False), r(L, 3))

    cell("rnncell", torch.nn.RNNCell(3, 5), r(N, 3), h=r(N, 5))
    cell("rnncell_relu_no_bias", torch.nn.RNNCell(3, 5, bias=False, nonlinearity="relu"), r(3, 3))
    cell("lstmcell", torch.nn.LSTMCell(3, 5), r(N, 3), h=r(N, 5), c=r(N, 5))
    cell("lstmcell_unbatched", torch.nn.LSTMCell(3, 4), r(3), h=r(4), c=r(4))
    cell("grucell", torch.nn.GRUCell(3, 5), r(N, 3), h=r(N, 5))
    cell("grucell_unbatched_zero_state", torch.nn.GRUCell(3, 4), r(3))

    embedding = torch.nn.Embedding(6, 4, padding_idx=1)
    with torch.no_grad():
        embedding.weight[1] = torch.randn(4)  # a loaded padding row: read as is, never updated
    write_case("embedding_padding_idx", embedding, {"x": torch.tensor([[1, 0, 3], [5, 1, 1]])},
               lambda m, xs: {"output": m(xs["x"])})


def jitter(module, names=("bias", "norm")):
    """Attention biases start at 0 and norms at 1, 0: small random offsets test them."""
    with torch.no_grad():
        for key, p in module.named_parameters():
            if any(n in key for n in names):
                p.add_(0.3 * torch.randn_like(p))
    return module


def bool_of(xs, key):
    """Masks are stored as int64 0/1 (the files hold no bool dtype): true where 1."""
    value = xs.get(key)
    return value.bool() if value is not None and not value.is_floating_point() else value


def mha_case(name, module, inputs, need_weights=True, average=True):
    def run(m, xs):
        out, weights = m(xs["query"], xs["key"], xs["value"], key_padding_mask=bool_of(xs, "key_padding_mask"),
                         need_weights=need_weights, attn_mask=bool_of(xs, "attn_mask"),
                         average_attn_weights=average)
        return {"output": out, "weights": weights} if need_weights else {"output": out}

    write_case(name, jitter(module).eval(), inputs, run)


def encoder_case(name, module, src, **masks):
    def run(m, xs):
        kwargs = {"src_key_padding_mask": bool_of(xs, "src_key_padding_mask")}
        kwargs["src_mask" if isinstance(m, torch.nn.TransformerEncoderLayer) else "mask"] = bool_of(xs, "src_mask")
        return {"output": m(xs["src"], **kwargs)}

    write_case(name, jitter(module).eval(), dict(src=src, **masks), run)


def decoder_case(name, module, tgt, memory, **masks):
    def run(m, xs):
        keys = ("tgt_mask", "memory_mask", "tgt_key_padding_mask", "memory_key_padding_mask")
        return {"output": m(xs["tgt"], xs["memory"], **{k: bool_of(xs, k) for k in keys})}

    write_case(name, jitter(module).eval(), dict(tgt=tgt, memory=memory, **masks), run)


def causal(n):
    """int64 (n, n), 1 above the diagonal: PyTorch's bool attn_mask of a causal layer (true: masked out)."""
    return torch.triu(torch.ones(n, n, dtype=torch.int64), 1)


def attention_cases():
    r = torch.randn
    torch.manual_seed(1)
    L, S, N = 3, 4, 2
    mha_case("mha", torch.nn.MultiheadAttention(8, 2), {"query": r(L, N, 8), "key": r(S, N, 8), "value": r(S, N, 8)})
    mha_case("mha_batch_first_bool_masks_per_head", torch.nn.MultiheadAttention(8, 2, batch_first=True),
             {"query": r(N, L, 8), "key": r(N, S, 8), "value": r(N, S, 8),
              "attn_mask": torch.tensor([[0, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 1]]),
              "key_padding_mask": torch.tensor([[0, 0, 0, 1], [0, 0, 0, 0]])}, average=False)
    mha_case("mha_kdim_vdim_no_bias_float_mask_3d", torch.nn.MultiheadAttention(8, 2, bias=False, kdim=5, vdim=6),
             {"query": r(L, N, 8), "key": r(S, N, 5), "value": r(S, N, 6), "attn_mask": r(N * 2, L, S)})
    mha_case("mha_unbatched_padding_no_weights", torch.nn.MultiheadAttention(6, 3),
             {"query": r(L, 6), "key": r(S, 6), "value": r(S, 6), "key_padding_mask": torch.tensor([0, 1, 0, 0])},
             need_weights=False)

    T, S = 5, 4
    encoder_case("transformer_encoder_layer", torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16),
                 r(T, N, 8), src_mask=causal(T), src_key_padding_mask=torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 1, 1]]))
    encoder_case("transformer_encoder_layer_gelu_norm_first_batch_first",
                 torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu", norm_first=True,
                                                  batch_first=True, layer_norm_eps=1e-4),
                 r(N, T, 8), src_mask=0.5 * r(T, T))
    encoder_case("transformer_encoder_layer_gelu_batch_first",
                 torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation="gelu", batch_first=True),
                 r(N, T, 8))
    encoder_case("transformer_encoder_layer_relu_norm_first",
                 torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, norm_first=True), r(T, N, 8),
                 src_mask=causal(T))
    encoder_case("transformer_encoder_two_layers_norm",
                 torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16), 2,
                                             norm=torch.nn.LayerNorm(8)),
                 r(T, N, 8), src_key_padding_mask=torch.tensor([[0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]))
    decoder_case("transformer_decoder_layer", torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16),
                 r(T, N, 8), r(S, N, 8), tgt_mask=causal(T),
                 memory_key_padding_mask=torch.tensor([[0, 0, 1, 1], [0, 0, 0, 0]]))
    decoder_case("transformer_decoder_layer_gelu_norm_first_batch_first",
                 torch.nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, activation="gelu", norm_first=True,
                                                  batch_first=True),
                 r(N, T, 8), r(N, S, 8), memory_mask=0.5 * r(T, S),
                 tgt_key_padding_mask=torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 0, 1]]))


if __name__ == "__main__":
    if sys.argv[1:] != ["attention"]:
        main()
    attention_cases()
