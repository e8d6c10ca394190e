// torch.nn.utils: parameters as one vector, and padded batches of sequences,
// composed from recorded ops so that gradients flow through them.
#include <retrograd/autograd.hpp>
#include <retrograd/ops.hpp>
#include <retrograd/nn/utils.hpp>

#include <algorithm>
#include <string>

namespace rg::nn::utils {

Tensor parameters_to_vector(const TensorList& parameters) {
    if (parameters.empty()) fail("parameters_to_vector: no parameters, expected at least one tensor");
    TensorList flat;
    flat.reserve(parameters.size());
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        const Tensor& p = parameters[i];
        if (!p.defined()) fail("parameters_to_vector: parameter {} is undefined", i);
        if (p.dtype() != parameters[0].dtype())
            fail("parameters_to_vector: parameter {} is {} but parameter 0 is {}; the dtypes must match", i,
                 dtype_name(p.dtype()), dtype_name(parameters[0].dtype()));
        flat.push_back(reshape(p, {-1}));
    }
    return concat(flat);
}

void vector_to_parameters(const Tensor& vector, const TensorList& parameters) {
    if (!vector.defined() || vector.dim() != 1)
        fail("vector_to_parameters: expected a 1-D vector, got {}",
             vector.defined() ? "shape " + shape_str(vector.shape()) : std::string("an undefined tensor"));
    std::size_t total = 0;
    for (std::size_t i = 0; i < parameters.size(); ++i) {
        if (!parameters[i].defined()) fail("vector_to_parameters: parameter {} is undefined", i);
        total += parameters[i].numel();
    }
    if (vector.numel() != total)
        fail("vector_to_parameters: the vector has {} elements but the {} parameters have {} in all", vector.numel(),
             parameters.size(), total);
    NoGrad off;
    std::int64_t offset = 0;
    for (Tensor p : parameters) {  // a handle on the same storage: copy_ writes the parameter
        const auto count = static_cast<std::int64_t>(p.numel());
        p.copy_(reshape(narrow(vector, 0, offset, count), p.shape()));
        offset += count;
    }
}

namespace rnn {

Tensor pad_sequence(const TensorList& sequences, bool batch_first, double padding_value) {
    if (sequences.empty()) fail("pad_sequence: no sequences, expected at least one tensor of shape (L, *)");
    std::size_t longest = 0;
    for (std::size_t i = 0; i < sequences.size(); ++i) {
        const Tensor& s = sequences[i];
        if (!s.defined() || s.dim() == 0)
            fail("pad_sequence: sequence {} is {}, expected a tensor of shape (L, *)", i,
                 s.defined() ? "a scalar" : "undefined");
        const Tensor& first = sequences[0];
        if (s.dtype() != first.dtype())
            fail("pad_sequence: sequence {} is {} but sequence 0 is {}; the dtypes must match", i,
                 dtype_name(s.dtype()), dtype_name(first.dtype()));
        if (s.dim() != first.dim() || !std::equal(s.shape().begin() + 1, s.shape().end(), first.shape().begin() + 1))
            fail("pad_sequence: sequence {} has shape {} but sequence 0 has {}; the sizes after the first must match",
                 i, shape_str(s.shape()), shape_str(first.shape()));
        longest = std::max(longest, s.shape()[0]);
    }
    TensorList padded;
    padded.reserve(sequences.size());
    for (const Tensor& s : sequences) {
        if (s.shape()[0] == longest) {
            padded.push_back(s);
            continue;
        }
        // The padding is a constant block joined below the sequence (not rg::pad,
        // which takes float tensors only: torch pads integer sequences too).
        Shape tail = s.shape();
        tail[0] = longest - s.shape()[0];
        padded.push_back(concat({s, full(tail, padding_value, {s.dtype()})}));
    }
    return stack(padded, batch_first ? 0 : 1);
}

}  // namespace rnn
}  // namespace rg::nn::utils
