#!/usr/bin/python3
"""Writes the PyTorch parity references of tests/nn_parity_test.cpp.

Run with Debian's Python and PyTorch (apt-get install python3-torch, 1.13):

    /usr/bin/python3 tests/parity/make_references.py [layers] [functional] [attention] [spatial] [layers_extra] [margin]
                                                     [batchnorm] [activations] [packed] [transformer]
                                                     [proj] [modules_extra] [interpolate]
                                                     # default: all

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


def write_case(name, module, inputs, run, description=None, constants=None, out=OUT):
    """module: a torch module (its parameters are rounded to float32 values and
    the computation runs in float64); inputs: name -> tensor; run(module,
    inputs) -> name -> output tensor. constants: name -> float tensor passed to
    run with the inputs but not differentiated (class weights, targets), stored
    as const.<name>."""
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
    for key, value in (constants or {}).items():
        xs[key] = as_float32_values(value)
    outputs = run(module, xs)
    # Integer outputs (max_pool2d's indices) are compared, not differentiated.
    cotangents = {key: torch.randn_like(out) for key, out in outputs.items() if out.is_floating_point()}
    scalar = sum((out * cotangents[key]).sum() for key, out in outputs.items() if key in cotangents)
    params = dict(module.named_parameters())
    wrt = {key: x for key, x in xs.items() if x.is_floating_point() and key not in (constants or {})}
    wrt.update(params)
    grads = torch.autograd.grad(scalar, list(wrt.values()))
    # Integer buffers (num_batches_tracked) keep their dtype.
    tensors = {key: value.float() if value.is_floating_point() else value
               for key, value in module.state_dict().items()}
    for key, value in xs.items():
        if key in (constants or {}):
            tensors["const." + key] = value.float()
            continue
        tensors["input." + key] = value.float() if value.is_floating_point() else value
    for key, value in outputs.items():
        tensors["output." + key] = value
        if key in cotangents:
            tensors["cotangent." + key] = cotangents[key]
    for key, g in zip(wrt.keys(), grads):
        tensors["grad." + key] = g
    metadata = {"torch": torch.__version__, "module": description or repr(module)}
    save_safetensors(os.path.join(out, name + ".safetensors"), tensors, metadata)
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


FUNCTIONAL = os.path.join(OUT, "functional")


def functional(name, call, inputs, constants=None, description=None):
    """A torch.nn.functional call on float64 inputs, written to data/functional/
    (tests/nn_functional_parity_test.cpp): call(xs) -> the output tensor, or
    name -> tensor for several."""
    def run(m, xs):
        out = call(xs)
        return out if isinstance(out, dict) else {"output": out}

    write_case(name, torch.nn.Module(), inputs, run,
               description=description or name, constants=constants, out=FUNCTIONAL)


def functional_cases():
    """Losses, pooling and padding options, each against torch.nn.functional."""
    os.makedirs(FUNCTIONAL, exist_ok=True)
    torch.manual_seed(1)
    r, F = torch.randn, torch.nn.functional
    targets = torch.tensor([0, -100, 2, 1])
    weight = torch.rand(3) + 0.5
    functional("nll_loss_weight_ignore", lambda xs: F.nll_loss(xs["x"].log_softmax(1), xs["t"], weight=xs["w"]),
               {"x": r(4, 3), "t": targets}, {"w": weight}, "F.nll_loss(log_softmax(x), t, weight=w)")
    functional("nll_loss_spatial_none_ignore_1",
               lambda xs: F.nll_loss(xs["x"], xs["t"], ignore_index=1, reduction="none"),
               {"x": r(2, 3, 2, 2), "t": torch.randint(0, 3, (2, 2, 2))}, None,
               "F.nll_loss(x, t, ignore_index=1, reduction='none')")
    functional("cross_entropy_weight_ignore", lambda xs: F.cross_entropy(xs["x"], xs["t"], weight=xs["w"]),
               {"x": r(4, 3), "t": targets}, {"w": weight}, "F.cross_entropy(x, t, weight=w)")
    functional("cross_entropy_smoothing_ignore",
               lambda xs: F.cross_entropy(xs["x"], xs["t"], label_smoothing=0.2),
               {"x": r(4, 3), "t": targets}, None, "F.cross_entropy(x, t, label_smoothing=0.2)")
    functional("cross_entropy_smoothing_weight_ignore",
               lambda xs: F.cross_entropy(xs["x"], xs["t"], weight=xs["w"], label_smoothing=0.2),
               {"x": r(4, 3), "t": targets}, {"w": weight}, "F.cross_entropy(x, t, weight=w, label_smoothing=0.2)")
    functional("cross_entropy_spatial_sum_smoothing_weight",
               lambda xs: F.cross_entropy(xs["x"], xs["t"], weight=xs["w"], label_smoothing=0.1, reduction="sum"),
               {"x": r(2, 3, 2, 2), "t": torch.tensor([[[0, 1], [2, -100]], [[1, 1], [0, 2]]])}, {"w": weight},
               "F.cross_entropy(x, t, weight=w, label_smoothing=0.1, reduction='sum')")
    functional("cross_entropy_3d_none_smoothing_weight",
               lambda xs: F.cross_entropy(xs["x"], xs["t"], weight=xs["w"], label_smoothing=0.3, reduction="none"),
               {"x": r(2, 3, 4), "t": torch.tensor([[0, 1, 2, -100], [2, 2, 1, 0]])}, {"w": weight},
               "F.cross_entropy(x, t, weight=w, label_smoothing=0.3, reduction='none')")
    functional("cross_entropy_unbatched", lambda xs: F.cross_entropy(xs["x"], xs["t"]),
               {"x": r(3), "t": torch.tensor(2)}, None, "F.cross_entropy(x, t) with x (C,), t ()")
    functional("cross_entropy_probabilities_weight_smoothing",
               lambda xs: F.cross_entropy(xs["x"], xs["p"], weight=xs["w"], label_smoothing=0.1),
               {"x": r(4, 3)}, {"p": torch.softmax(r(4, 3), 1), "w": weight},
               "F.cross_entropy(x, p, weight=w, label_smoothing=0.1) with probabilities p")
    functional("bce_with_logits_pos_weight_weight",
               lambda xs: F.binary_cross_entropy_with_logits(xs["x"], xs["t"], weight=xs["w"],
                                                             pos_weight=xs["pw"]),
               {"x": 3 * r(3, 4)}, {"t": torch.rand(3, 4), "w": torch.rand(3, 1), "pw": torch.rand(4) * 3},
               "F.binary_cross_entropy_with_logits(x, t, weight=w, pos_weight=pw)")
    functional("bce_with_logits_pos_weight_none",
               lambda xs: F.binary_cross_entropy_with_logits(xs["x"], xs["t"], pos_weight=xs["pw"],
                                                             reduction="none"),
               {"x": 3 * r(2, 3)}, {"t": torch.randint(0, 2, (2, 3)).double(), "pw": torch.rand(3) * 3},
               "F.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction='none')")

    image = r(2, 2, 7, 6)
    functional("max_pool2d_dilation_ceil_indices",
               lambda xs: dict(zip(("output", "indices"),
                                   F.max_pool2d(xs["x"], 3, stride=2, padding=1, dilation=2, ceil_mode=True,
                                                return_indices=True))),
               {"x": image}, None,
               "F.max_pool2d(x, 3, stride=2, padding=1, dilation=2, ceil_mode=True, return_indices=True)")
    functional("max_pool2d_indices_rectangular",
               lambda xs: dict(zip(("output", "indices"),
                                   F.max_pool2d(xs["x"], (2, 3), stride=(1, 2), padding=(1, 0), return_indices=True))),
               {"x": r(1, 2, 5, 7)}, None,
               "F.max_pool2d(x, (2, 3), stride=(1, 2), padding=(1, 0), return_indices=True)")
    functional("avg_pool2d_ceil_exclude_pad",
               lambda xs: F.avg_pool2d(xs["x"], 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
               {"x": image}, None, "F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)")
    functional("avg_pool2d_ceil_include_pad",
               lambda xs: F.avg_pool2d(xs["x"], (3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True),
               {"x": image}, None, "F.avg_pool2d(x, (3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=True)")
    functional("avg_pool2d_divisor_override",
               lambda xs: F.avg_pool2d(xs["x"], (2, 3), stride=2, padding=1, divisor_override=4),
               {"x": image}, None, "F.avg_pool2d(x, (2, 3), stride=2, padding=1, divisor_override=4)")
    functional("adaptive_avg_pool2d_uneven", lambda xs: F.adaptive_avg_pool2d(xs["x"], (3, 4)),
               {"x": r(2, 2, 7, 5)}, None, "F.adaptive_avg_pool2d(x, (3, 4)) of 7x5 planes")
    for mode in ("reflect", "replicate", "circular"):
        functional(f"pad_{mode}", lambda xs, mode=mode: F.pad(xs["x"], (2, 1, 3, 0), mode=mode),
                   {"x": r(1, 2, 4, 5)}, None, f"F.pad(x, (2, 1, 3, 0), mode='{mode}')")
    functional("conv2d_same_dilation_even_kernel",
               lambda xs: F.conv2d(xs["x"], xs["w"], xs["b"], padding="same", dilation=(1, 2)),
               {"x": r(2, 2, 5, 6), "w": r(3, 2, 2, 4), "b": r(3)}, None,
               "F.conv2d(x, w, b, padding='same', dilation=(1, 2)) with a 2x4 kernel")
    functional("conv2d_valid", lambda xs: F.conv2d(xs["x"], xs["w"], None, stride=2, padding="valid"),
               {"x": r(1, 2, 5, 6), "w": r(3, 2, 3, 3)}, None, "F.conv2d(x, w, stride=2, padding='valid')")


def layer_cases():
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

    # Added after the cases above, so that their random draws, and files, are unchanged.
    plain("conv2d_padding_mode_reflect", torch.nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="reflect"),
          r(2, 2, 5, 6))
    plain("conv2d_padding_mode_replicate_stride", torch.nn.Conv2d(2, 4, (2, 3), stride=2, padding=1,
                                                                  padding_mode="replicate"), r(1, 2, 5, 5))
    plain("conv2d_same_circular", torch.nn.Conv2d(2, 3, (2, 3), padding="same", padding_mode="circular"),
          r(2, 2, 4, 5))
    plain("conv2d_same_zeros_even_kernel", torch.nn.Conv2d(2, 3, 4, padding="same", bias=False), r(1, 2, 5, 5))
    plain("maxpool2d_dilation_ceil", torch.nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
          r(2, 2, 7, 6))
    plain("avgpool2d_ceil_exclude_pad", torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                           count_include_pad=False), r(2, 2, 7, 6))
    plain("adaptive_avgpool2d", torch.nn.AdaptiveAvgPool2d((4, 3)), r(1, 2, 9, 7))


def main():
    """Arguments choose the groups to write, "layers", "functional",
    "attention", "spatial", "layers_extra", "margin", "batchnorm", "activations", "packed",
    "transformer", "containers", "proj", "modules_extra" and/or "interpolate" (default: all), so that adding cases leaves the other
    files untouched."""
    groups = sys.argv[1:] or ["layers", "functional", "attention", "spatial", "layers_extra", "margin", "batchnorm",
                              "activations", "packed", "transformer", "containers", "proj", "modules_extra",
                              "interpolate"]
    if "layers" in groups:
        layer_cases()
    if "functional" in groups:
        functional_cases()
    if "attention" in groups:
        attention_cases()
    if "spatial" in groups:
        spatial_cases()
    if "layers_extra" in groups:
        layers_extra_cases()
    if "margin" in groups:
        margin_cases()
    if "batchnorm" in groups:
        batchnorm_cases()
    if "activations" in groups:
        activation_cases()
    if "packed" in groups:
        packed_cases()
    if "transformer" in groups:
        transformer_cases()
    if "containers" in groups:
        container_cases()
    if "proj" in groups:
        proj_cases()
    if "modules_extra" in groups:
        modules_extra_cases()
    if "interpolate" in groups:
        interpolate_cases()


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


def spatial_cases():
    """Conv1d, ConvTranspose2d, Upsample and TransformerDecoder layers, and
    interpolate, unfold and fold against torch.nn.functional; a group of its
    own, so that the other groups' random draws and files are unchanged."""
    os.makedirs(FUNCTIONAL, exist_ok=True)
    r, F, nn = torch.randn, torch.nn.functional, torch.nn
    torch.manual_seed(2)
    plain("conv1d_stride_dilation_groups", nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2),
          r(2, 4, 9))
    plain("conv1d_same_reflect_no_bias", nn.Conv1d(3, 4, 4, padding="same", padding_mode="reflect", bias=False),
          r(2, 3, 7))
    plain("conv1d_circular", nn.Conv1d(2, 3, 3, padding=2, padding_mode="circular"), r(1, 2, 6))
    plain("conv_transpose2d_output_padding_groups",
          nn.ConvTranspose2d(4, 6, (3, 2), stride=2, padding=1, output_padding=1, groups=2), r(2, 4, 3, 4))
    plain("conv_transpose2d_dilation_no_bias",
          nn.ConvTranspose2d(2, 3, 3, padding=1, output_padding=(1, 0), dilation=2, bias=False), r(1, 2, 4, 3))
    plain("upsample_nearest_scale", nn.Upsample(scale_factor=2.5), r(1, 2, 3, 4))
    plain("upsample_nearest_size", nn.Upsample(size=(5, 7)), r(2, 2, 3, 4))
    plain("upsample_bilinear_scale", nn.Upsample(scale_factor=2, mode="bilinear"), r(1, 2, 3, 3))
    plain("upsample_bilinear_align_corners_size", nn.Upsample(size=(4, 7), mode="bilinear", align_corners=True),
          r(2, 1, 3, 5))
    T, S, N = 5, 4, 2
    decoder_case("transformer_decoder_two_layers_norm",
                 nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, dim_feedforward=16), 2, norm=nn.LayerNorm(8)),
                 r(T, N, 8), r(S, N, 8), tgt_mask=causal(T),
                 memory_key_padding_mask=torch.tensor([[0, 0, 0, 1], [0, 0, 0, 0]]))

    functional("interpolate_nearest_1d", lambda xs: F.interpolate(xs["x"], size=7), {"x": r(2, 3, 4)},
               description="F.interpolate(x, size=7)")
    functional("interpolate_bilinear_scale_pair",
               lambda xs: F.interpolate(xs["x"], scale_factor=(1.5, 0.5), mode="bilinear"), {"x": r(1, 2, 4, 6)},
               description="F.interpolate(x, scale_factor=(1.5, 0.5), mode='bilinear')")
    functional("unfold_dilation_padding_stride",
               lambda xs: F.unfold(xs["x"], (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), {"x": r(2, 3, 5, 6)},
               description="F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))")
    functional("fold_dilation_padding_stride",
               lambda xs: F.fold(xs["x"], (5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
               {"x": r(2, 18, 12)}, description="F.fold(x, (5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1))")


def two_inputs(name, module, x1, x2):
    write_case(name, module, {"x1": x1, "x2": x2}, lambda m, xs: {"output": m(xs["x1"], xs["x2"])})


def layers_extra_cases():
    """The 1-D and adaptive max pools, instance norms, pixel (un)shuffle,
    Unflatten, Bilinear and padding modules (nn/src/layers_extra.cpp); a group
    of its own, so that the other groups' random draws and files are unchanged."""
    os.makedirs(OUT, exist_ok=True)
    r, nn = torch.randn, torch.nn
    torch.manual_seed(3)
    plain("maxpool1d_stride_padding_dilation_ceil", nn.MaxPool1d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
          r(2, 3, 9))
    plain("maxpool1d_unbatched", nn.MaxPool1d(2), r(3, 7))
    plain("avgpool1d_ceil_exclude_pad", nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
          r(2, 3, 8))
    plain("avgpool1d_padding_unbatched", nn.AvgPool1d(2, padding=1), r(3, 5))
    plain("adaptive_avgpool1d", nn.AdaptiveAvgPool1d(4), r(2, 3, 10))
    plain("adaptive_maxpool1d_unbatched", nn.AdaptiveMaxPool1d(4), r(3, 10))
    plain("adaptive_maxpool2d_uneven", nn.AdaptiveMaxPool2d((3, 4)), r(2, 2, 7, 5))
    plain("adaptive_maxpool2d_divisible_unbatched", nn.AdaptiveMaxPool2d(2), r(3, 6, 4))
    plain("adaptive_maxpool2d_larger_output", nn.AdaptiveMaxPool2d((5, 3)), r(1, 2, 3, 2))
    plain("instancenorm1d", nn.InstanceNorm1d(3), r(2, 3, 5))
    plain("instancenorm1d_affine_unbatched", randomise_affine(nn.InstanceNorm1d(3, affine=True)), r(3, 6))
    plain("instancenorm2d_affine_eps", randomise_affine(nn.InstanceNorm2d(4, affine=True, eps=1e-3)), r(2, 4, 3, 3))
    norm = randomise_affine(nn.InstanceNorm2d(3, affine=True, track_running_stats=True))
    with torch.no_grad():
        norm.running_mean.copy_(r(3))
        norm.running_var.copy_(torch.rand(3) + 0.5)
        norm.num_batches_tracked.fill_(7)
    plain("instancenorm2d_running_stats_eval", norm.eval(), r(2, 3, 4, 4))
    plain("pixel_shuffle", nn.PixelShuffle(2), r(2, 8, 3, 2))
    plain("pixel_shuffle_extra_batch_axis", nn.PixelShuffle(3), r(2, 1, 9, 2, 2))
    plain("pixel_unshuffle", nn.PixelUnshuffle(2), r(1, 2, 4, 6))
    plain("pixel_unshuffle_unbatched", nn.PixelUnshuffle(3), r(2, 3, 6))
    plain("unflatten", nn.Unflatten(1, (2, 3)), r(2, 6, 2))
    plain("unflatten_inferred_last_axis", nn.Unflatten(-1, (-1, 2)), r(3, 4))
    two_inputs("bilinear", nn.Bilinear(3, 4, 5), r(2, 3), r(2, 4))
    two_inputs("bilinear_no_bias_batch_axes", nn.Bilinear(2, 3, 4, bias=False), r(2, 3, 2), r(2, 3, 3))
    plain("reflection_pad1d", nn.ReflectionPad1d((2, 1)), r(2, 3, 5))
    plain("reflection_pad2d", nn.ReflectionPad2d((1, 2, 2, 0)), r(1, 2, 4, 5))
    plain("replication_pad1d_unbatched", nn.ReplicationPad1d(2), r(3, 4))
    plain("replication_pad2d_unbatched", nn.ReplicationPad2d((2, 0, 1, 3)), r(3, 3, 4))
    plain("zero_pad2d_crop", nn.ZeroPad2d((1, -1, 2, 0)), r(2, 2, 3, 4))
    plain("constant_pad1d", nn.ConstantPad1d((2, 3), 1.5), r(2, 4))
    plain("constant_pad2d", nn.ConstantPad2d(1, -2.0), r(1, 2, 3, 3))


def batchnorm_cases():
    """BatchNorm's state dict as PyTorch writes it (num_batches_tracked an
    int64 scalar) loaded unchanged, evaluated with its running statistics; a
    group of its own, so that the other groups' random draws and files are
    unchanged."""
    os.makedirs(OUT, exist_ok=True)
    r, nn = torch.randn, torch.nn
    torch.manual_seed(4)
    for name, norm, x in (("batchnorm1d_eval", nn.BatchNorm1d(3), r(4, 3, 5)),
                          ("batchnorm2d_eval_eps", nn.BatchNorm2d(2, eps=1e-3), r(2, 2, 3, 3))):
        norm = randomise_affine(norm)
        with torch.no_grad():
            norm.running_mean.copy_(r(norm.num_features))
            norm.running_var.copy_(torch.rand(norm.num_features) + 0.5)
            norm.num_batches_tracked.fill_(12)
        plain(name, norm.eval(), x)


def margin_cases():
    """The margin, embedding and likelihood losses (nn/src/losses_margin.cpp) against
    torch.nn.functional; a group of its own, so that the other groups' random draws and files are
    unchanged. Labels, class weights and Poisson counts are constants (const.<name>)."""
    os.makedirs(FUNCTIONAL, exist_ok=True)
    r, F = torch.randn, torch.nn.functional
    torch.manual_seed(3)

    def signs(*shape):
        return torch.randint(0, 2, shape).double() * 2 - 1

    functional("margin_ranking_loss_margin",
               lambda xs: F.margin_ranking_loss(xs["x1"], xs["x2"], xs["y"], margin=0.3),
               {"x1": r(6), "x2": r(6)}, {"y": signs(6)}, "F.margin_ranking_loss(x1, x2, y, margin=0.3)")
    functional("margin_ranking_loss_none",
               lambda xs: F.margin_ranking_loss(xs["x1"], xs["x2"], xs["y"], reduction="none"),
               {"x1": r(2, 3), "x2": r(2, 3)}, {"y": signs(2, 3)}, "F.margin_ranking_loss(x1, x2, y, reduction='none')")
    functional("hinge_embedding_loss_margin_sum",
               lambda xs: F.hinge_embedding_loss(xs["x"], xs["y"], margin=1.5, reduction="sum"),
               {"x": 2 * torch.rand(2, 4)}, {"y": signs(2, 4)},
               "F.hinge_embedding_loss(x, y, margin=1.5, reduction='sum')")
    functional("soft_margin_loss", lambda xs: F.soft_margin_loss(xs["x"], xs["y"]),
               {"x": 2 * r(2, 3)}, {"y": signs(2, 3)}, "F.soft_margin_loss(x, y)")
    functional("cosine_embedding_loss_margin",
               lambda xs: F.cosine_embedding_loss(xs["x1"], xs["x2"], xs["y"], margin=-0.2),
               {"x1": r(5, 3), "x2": r(5, 3)}, {"y": signs(5)}, "F.cosine_embedding_loss(x1, x2, y, margin=-0.2)")
    functional("cosine_embedding_loss_unbatched_none",
               lambda xs: F.cosine_embedding_loss(xs["x1"], xs["x2"], xs["y"], reduction="none"),
               {"x1": r(4), "x2": r(4)}, {"y": torch.tensor(1.0)},
               "F.cosine_embedding_loss(x1, x2, y, reduction='none') with x (D,), y ()")
    functional("triplet_margin_loss", lambda xs: F.triplet_margin_loss(xs["a"], xs["p"], xs["n"]),
               {"a": r(4, 3), "p": r(4, 3), "n": r(4, 3)}, None, "F.triplet_margin_loss(a, p, n)")
    functional("triplet_margin_loss_p1_swap_none",
               lambda xs: F.triplet_margin_loss(xs["a"], xs["p"], xs["n"], margin=2.0, p=1, swap=True,
                                                reduction="none"),
               {"a": r(4, 3), "p": r(4, 3), "n": r(4, 3)}, None,
               "F.triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True, reduction='none')")
    functional("multi_margin_loss", lambda xs: F.multi_margin_loss(xs["x"], xs["t"]),
               {"x": r(4, 5), "t": torch.tensor([0, 4, 2, 2])}, None, "F.multi_margin_loss(x, t)")
    functional("multi_margin_loss_p2_weight_none",
               lambda xs: F.multi_margin_loss(xs["x"], xs["t"], p=2, margin=0.7, weight=xs["w"], reduction="none"),
               {"x": r(4, 5), "t": torch.tensor([1, 3, 0, 4])}, {"w": torch.rand(5) + 0.5},
               "F.multi_margin_loss(x, t, p=2, margin=0.7, weight=w, reduction='none')")
    functional("multilabel_soft_margin_loss_weight",
               lambda xs: F.multilabel_soft_margin_loss(xs["x"], xs["y"], weight=xs["w"]),
               {"x": 2 * r(3, 4)}, {"y": torch.randint(0, 2, (3, 4)).double(), "w": torch.rand(4) + 0.5},
               "F.multilabel_soft_margin_loss(x, y, weight=w)")
    functional("multilabel_margin_loss",
               lambda xs: F.multilabel_margin_loss(xs["x"], xs["t"]),
               {"x": r(3, 4), "t": torch.tensor([[3, 0, -1, 1], [1, -1, 2, 2], [2, 2, 0, 1]])}, None,
               "F.multilabel_margin_loss(x, t), rows ending at -1, one listing a class twice")
    functional("poisson_nll_loss", lambda xs: F.poisson_nll_loss(xs["x"], xs["t"]),
               {"x": r(2, 3)}, {"t": torch.tensor([[0.0, 1.0, 3.0], [2.0, 0.0, 5.0]])}, "F.poisson_nll_loss(x, t)")
    functional("poisson_nll_loss_rate_full_sum",
               lambda xs: F.poisson_nll_loss(xs["x"], xs["t"], log_input=False, full=True, reduction="sum"),
               {"x": torch.rand(2, 3) + 0.1}, {"t": torch.tensor([[0.0, 1.0, 3.0], [2.0, 0.5, 5.0]])},
               "F.poisson_nll_loss(x, t, log_input=False, full=True, reduction='sum')")
    functional("gaussian_nll_loss", lambda xs: F.gaussian_nll_loss(xs["x"], xs["t"], xs["var"]),
               {"x": r(3, 4), "t": r(3, 4), "var": torch.rand(3, 4) + 0.1}, None, "F.gaussian_nll_loss(x, t, var)")
    functional("gaussian_nll_loss_row_var_eps_full_sum",
               lambda xs: F.gaussian_nll_loss(xs["x"], xs["t"], xs["var"], full=True, eps=0.1, reduction="sum"),
               {"x": r(4, 3), "t": r(4, 3), "var": torch.tensor([0.02, 0.5, 0.08, 1.5])}, None,
               "F.gaussian_nll_loss(x, t, var, full=True, eps=0.1, reduction='sum') with var (N,), two below eps")



def activation_cases():
    """torch.nn.functional's other activations (nn/src/activations.cpp) and
    PReLU's state dict (its slopes named weight); a group of its own, so that
    the other groups' random draws and files are unchanged. Inputs keep away
    from the kinks, where finite differences and PyTorch's subgradients differ."""
    os.makedirs(FUNCTIONAL, exist_ok=True)
    r, F = torch.randn, torch.nn.functional
    torch.manual_seed(5)

    def away_from(x, *kinks):
        for k in kinks:
            x = torch.where((x - k).abs() < 0.05, x + 0.1, x)
        return x

    # alpha 0.5: PyTorch 1.13 rounds 1 / alpha to float32 in its float64 gradient, exact for a power of 2.
    functional("celu_alpha", lambda xs: F.celu(xs["x"], alpha=0.5), {"x": 2 * r(3, 4)}, description="F.celu(x, 0.5)")
    functional("glu_dim1", lambda xs: F.glu(xs["x"], dim=1), {"x": r(2, 6, 3)}, description="F.glu(x, dim=1)")
    functional("softmin", lambda xs: F.softmin(xs["x"], dim=-1), {"x": r(3, 5)}, description="F.softmin(x, dim=-1)")
    functional("softshrink", lambda xs: F.softshrink(xs["x"], 0.4), {"x": away_from(r(4, 5), 0.4, -0.4)},
               description="F.softshrink(x, 0.4)")
    functional("hardshrink", lambda xs: F.hardshrink(xs["x"], 0.3), {"x": away_from(r(4, 5), 0.3, -0.3)},
               description="F.hardshrink(x, 0.3)")
    functional("tanhshrink", lambda xs: F.tanhshrink(xs["x"]), {"x": r(3, 4)}, description="F.tanhshrink(x)")
    functional("threshold", lambda xs: F.threshold(xs["x"], 0.2, -1.5), {"x": away_from(r(4, 5), 0.2)},
               description="F.threshold(x, 0.2, -1.5)")
    functional("rrelu_eval", lambda xs: F.rrelu(xs["x"], 0.1, 0.3, training=False), {"x": away_from(r(3, 4), 0.0)},
               description="F.rrelu(x, 0.1, 0.3, training=False)")
    functional("softmax2d", lambda xs: torch.nn.Softmax2d()(xs["x"]), {"x": r(2, 3, 2, 2)},
               description="nn.Softmax2d()(x)")
    torch.manual_seed(6)
    prelu = torch.nn.PReLU(3)
    with torch.no_grad():
        prelu.weight.copy_(torch.rand(3))
    plain("prelu_per_channel", prelu, away_from(r(2, 3, 4), 0.0))


def packed_case(name, module, x, lengths, h0=None, c0=None, enforce_sorted=False):
    """A recurrent layer over pack_padded_sequence(x, lengths); the output is
    unpacked with total_length = x's steps, so the padding reads 0."""
    module.eval()
    batch_first = module.batch_first
    inputs = {"x": x, "lengths": torch.tensor(lengths)}
    if h0 is not None:
        inputs["h0"] = h0
    if c0 is not None:
        inputs["c0"] = c0

    def run(m, xs):
        rnn_utils = torch.nn.utils.rnn
        packed = rnn_utils.pack_padded_sequence(xs["x"], xs["lengths"], batch_first=batch_first,
                                                enforce_sorted=enforce_sorted)
        state = (xs["h0"], xs["c0"]) if "c0" in xs else xs.get("h0")
        out, state = m(packed, state)
        padded, _ = rnn_utils.pad_packed_sequence(out, batch_first=batch_first,
                                                  total_length=xs["x"].shape[1 if batch_first else 0])
        if isinstance(state, tuple):
            return {"output": padded, "h": state[0], "c": state[1]}
        return {"output": padded, "h": state}

    write_case(name, module, inputs, run, description=f"{module!r} over a packed batch of lengths {lengths}"
               f"{'' if enforce_sorted else ', enforce_sorted=False'}")


def packed_cases():
    os.makedirs(OUT, exist_ok=True)
    r = torch.randn
    torch.manual_seed(7)
    nn = torch.nn
    packed_case("lstm_packed_unsorted", nn.LSTM(3, 4), r(5, 4, 3), [2, 5, 3, 1], r(1, 4, 4), r(1, 4, 4))
    packed_case("lstm_packed_two_layers_bidirectional", nn.LSTM(3, 4, num_layers=2, bidirectional=True),
                r(6, 5, 3), [4, 6, 1, 6, 3], r(4, 5, 4), r(4, 5, 4))
    packed_case("gru_packed_sorted_two_layers_bidirectional", nn.GRU(3, 4, num_layers=2, bidirectional=True),
                r(5, 4, 3), [5, 3, 3, 1], enforce_sorted=True)
    packed_case("rnn_packed_relu_bidirectional_batch_first",
                nn.RNN(3, 4, nonlinearity="relu", bidirectional=True, batch_first=True), r(4, 5, 3), [3, 5, 2, 4],
                r(2, 4, 4))
    packed_case("gru_packed_no_bias_one_sequence", nn.GRU(3, 4, bias=False), r(4, 1, 3), [3])


def transformer_case(name, description, src, tgt, **masks):
    """description: the torch.nn expression of the model, evaluated here and stored as the file's metadata."""
    module = eval(description, {"nn": torch.nn})
    def run(m, xs):
        keys = ("src_mask", "tgt_mask", "memory_mask", "src_key_padding_mask", "tgt_key_padding_mask",
                "memory_key_padding_mask")
        return {"output": m(xs["src"], xs["tgt"], **{k: bool_of(xs, k) for k in keys})}

    write_case(name, jitter(module).eval(), dict(src=src, tgt=tgt, **masks), run, description=description)


def transformer_cases():
    """torch.nn.Transformer (encoder and decoder stacks with their final
    LayerNorms); a group of its own, so that the other groups' files are unchanged."""
    r, nn = torch.randn, torch.nn
    torch.manual_seed(3)
    S, T, N = 4, 5, 2
    # The float causal mask of generate_square_subsequent_mask (-inf above the diagonal), as tutorials use it.
    transformer_case("transformer", "nn.Transformer(8, 2, 2, 2, 16, dropout=0.0)", r(S, N, 8), r(T, N, 8),
                     tgt_mask=nn.Transformer.generate_square_subsequent_mask(T),
                     src_key_padding_mask=torch.tensor([[0, 0, 0, 0], [0, 0, 1, 1]]),
                     memory_key_padding_mask=torch.tensor([[0, 0, 0, 0], [0, 0, 1, 1]]))
    transformer_case("transformer_norm_first_gelu",
                     "nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, activation='gelu', norm_first=True, "
                     "layer_norm_eps=1e-4)",
                     r(S, N, 8), r(T, N, 8), tgt_mask=causal(T), memory_mask=0.5 * r(T, S))
    transformer_case("transformer_batch_first", "nn.Transformer(8, 2, 2, 2, 16, dropout=0.0, batch_first=True)",
                     r(N, S, 8), r(N, T, 8), src_mask=torch.tensor([[0, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 1],
                                                                    [0, 0, 0, 0]]),
                     tgt_mask=causal(T), tgt_key_padding_mask=torch.tensor([[0, 0, 0, 0, 0], [0, 0, 0, 0, 1]]))
    transformer_case("transformer_unbatched", "nn.Transformer(8, 2, 2, 2, 16, dropout=0.0)", r(S, 8), r(T, 8),
                     tgt_mask=causal(T), src_key_padding_mask=torch.tensor([0, 0, 0, 1]),
                     memory_key_padding_mask=torch.tensor([0, 0, 0, 1]))


class WithContainers(torch.nn.Module):
    """ModuleList, ModuleDict, ParameterList and ParameterDict in one model, so
    that its state dict has each container's names (blocks.0.weight,
    heads.mean.weight, gains.0, offsets.mean)."""

    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.blocks = nn.ModuleList([nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 4)])
        self.heads = nn.ModuleDict({"mean": nn.Linear(4, 2), "scale": nn.Linear(4, 2, bias=False)})
        self.gains = nn.ParameterList([nn.Parameter(torch.randn(4)), nn.Parameter(torch.randn(2))])
        self.offsets = nn.ParameterDict({"mean": nn.Parameter(torch.randn(2)), "scale": nn.Parameter(torch.randn(2))})

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        x = x * self.gains[0]
        mean = self.heads["mean"](x) * self.gains[1] + self.offsets["mean"]
        scale = self.heads["scale"](x) + self.offsets["scale"]
        return mean * torch.sigmoid(scale)


def container_cases():
    """torch.nn's containers; a group of its own, so that the other groups' files are unchanged."""
    torch.manual_seed(4)
    plain("containers", WithContainers(), torch.randn(5, 3))


def proj_cases():
    """LSTM with projections (proj_size): h is proj_size wide, c hidden_size; a
    group of its own, so that the other groups' files are unchanged."""
    os.makedirs(OUT, exist_ok=True)
    r, nn = torch.randn, torch.nn
    torch.manual_seed(11)
    L, N = 4, 3
    case_recurrent("lstm_proj_two_layers_bidirectional_batch_first",
                   nn.LSTM(3, 5, proj_size=2, num_layers=2, batch_first=True, bidirectional=True),
                   r(N, L, 3), h0=r(4, N, 2), c0=r(4, N, 5))
    case_recurrent("lstm_proj_unbatched_zero_state", nn.LSTM(3, 4, proj_size=3), r(L, 3))
    # No biases: weight_hr directly follows weight_hh in each direction.
    case_recurrent("lstm_proj_no_bias_dropout_eval", nn.LSTM(3, 5, proj_size=3, num_layers=2, bias=False,
                                                             dropout=0.5), r(L, N, 3))
    packed_case("lstm_proj_packed_two_layers_bidirectional",
                nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True), r(5, 4, 3), [2, 5, 3, 1],
                r(4, 4, 2), r(4, 4, 5))


def embedding_bag_case(name, module, x, offsets=None, per_sample_weights=None):
    """EmbeddingBag on int64 indices x (and offsets), per_sample_weights a float input when given."""
    inputs = {"x": x}
    if offsets is not None:
        inputs["offsets"] = offsets
    if per_sample_weights is not None:
        inputs["per_sample_weights"] = per_sample_weights
    write_case(name, module, inputs, lambda m, xs: {
        "output": m(xs["x"], xs.get("offsets"), per_sample_weights=xs.get("per_sample_weights"))})


def modules_extra_cases():
    """ConvTranspose1d, Unfold, Fold and EmbeddingBag; a group of its own, so that the other groups' files are
    unchanged."""
    os.makedirs(OUT, exist_ok=True)
    r, nn, index = torch.randn, torch.nn, torch.tensor
    torch.manual_seed(12)
    plain("conv_transpose1d_stride_padding_output_padding_groups_dilation",
          nn.ConvTranspose1d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2, dilation=2), r(2, 4, 5))
    plain("conv_transpose1d_unbatched_no_bias", nn.ConvTranspose1d(3, 2, 4, stride=3, bias=False), r(3, 4))
    plain("unfold_dilation_padding_stride_module", nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
          r(2, 3, 5, 6))
    plain("fold_dilation_padding_stride_module",
          nn.Fold((5, 6), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)), r(2, 18, 12))
    plain("fold_unbatched", nn.Fold((4, 5), 2, stride=(2, 1)), r(8, 8))
    embedding_bag_case("embedding_bag_sum_per_sample_weights_offsets", nn.EmbeddingBag(7, 3, mode="sum"),
                       index([1, 4, 4, 0, 6, 2, 5]), index([0, 3, 5]), r(7))
    embedding_bag_case("embedding_bag_mean_padding_idx_2d", nn.EmbeddingBag(6, 4, padding_idx=2),
                       index([[1, 2, 3], [2, 2, 2], [5, 0, 2], [4, 4, 1]]))
    # PyTorch 1.13's backward of mode "max" with include_last_offset corrupts the heap (munmap_chunk(): invalid
    # pointer): the reference is the same bags without it, the input cut at the last offset.
    def max_bags_ending_at_last_offset(m, xs):
        end = xs["offsets"][-1]
        return {"output": torch.nn.functional.embedding_bag(xs["x"][:end], m.weight, xs["offsets"][:-1], mode="max")}

    write_case("embedding_bag_max_empty_bag_include_last_offset", nn.EmbeddingBag(8, 3, mode="max"),
               {"x": index([3, 7, 1, 1, 0, 5, 2, 6]), "offsets": index([0, 3, 3, 6, 7])},
               max_bags_ending_at_last_offset, description="EmbeddingBag(8, 3, mode=max, include_last_offset=True)")


def interpolate_cases():
    """F.interpolate's modes nearest-exact, linear, trilinear and area, and nearest on volumes; a group of its own,
    so that the other groups' files are unchanged."""
    os.makedirs(FUNCTIONAL, exist_ok=True)
    torch.manual_seed(13)
    r, F = torch.randn, torch.nn.functional

    def case(name, x, **options):
        described = ", ".join(f"{k}={v!r}" for k, v in options.items())
        functional(name, lambda xs: F.interpolate(xs["x"], **options), {"x": x},
                   description=f"F.interpolate(x, {described})")

    case("interpolate_linear_scale", r(2, 3, 5), scale_factor=1.7, mode="linear")
    case("interpolate_linear_align_corners_down", r(2, 2, 7), size=4, mode="linear", align_corners=True)
    case("interpolate_trilinear_scale_triple", r(1, 2, 4, 6, 3), scale_factor=(1.5, 0.5, 2.0), mode="trilinear")
    case("interpolate_trilinear_align_corners_size", r(2, 1, 2, 4, 3), size=(3, 5, 2), mode="trilinear",
         align_corners=True)
    case("interpolate_nearest_exact_2d", r(1, 2, 3, 7), size=(5, 3), mode="nearest-exact")
    case("interpolate_nearest_exact_scale_1d", r(2, 2, 6), scale_factor=1.7, mode="nearest-exact")
    case("interpolate_nearest_3d", r(1, 2, 3, 4, 6), scale_factor=(2.0, 1.5, 0.5), mode="nearest")
    # 37 / 3.7 is 10: in float (PyTorch's nearest kernels) the index is 10, in double 9.
    case("interpolate_nearest_float_index", r(1, 1, 11), scale_factor=3.7, mode="nearest")
    case("interpolate_area_2d", r(2, 2, 7, 4), size=(3, 5), mode="area")
    case("interpolate_area_1d_scale", r(2, 3, 9), scale_factor=0.6, mode="area")


if __name__ == "__main__":
    main()
