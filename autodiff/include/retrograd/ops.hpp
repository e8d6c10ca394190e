#pragma once
// Differentiable operations. Each is recorded on the tape when an input
// requires grad; each VJP is itself written with these ops, so gradients can be
// differentiated again (create_graph). Broadcasting follows NumPy, and every
// broadcasting op reduces its gradient back to its input's shape.
// Axes may be negative (counted from the end).
#include <retrograd/tensor.hpp>

#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

namespace rg {

// ---- elementwise, binary (broadcasting) -------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor minimum(const Tensor& a, const Tensor& b);  // ties share the gradient equally
Tensor maximum(const Tensor& a, const Tensor& b);

// input + value * t1 * t2 in one pass over memory, broadcasting all three (as
// torch.addcmul): where `input + t1 * t2` writes and rereads a temporary.
Tensor addcmul(const Tensor& input, const Tensor& t1, const Tensor& t2, double value = 1.0);

// With a scalar (the scalar takes the tensor's dtype).
Tensor add(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor pow(const Tensor& base, double exponent);
Tensor rpow(double base, const Tensor& exponent);  // base ** exponent
Tensor rsub(double a, const Tensor& b);  // a - b

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(const Tensor& a, double b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(const Tensor& a, double b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(const Tensor& a, double b);
Tensor operator/(double a, const Tensor& b);
Tensor operator-(const Tensor& a);

// ---- comparisons, logic, masks (mask_ops.cpp) ------------------------------------
// Comparisons give bool tensors, as PyTorch's, and have no gradient. Operands
// of different dtypes are compared in the wider one (bool < int64 < float32 <
// float64); a float tensor meets a number in its own precision.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor ne(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor le(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);
Tensor ge(const Tensor& a, double b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator==(const Tensor& a, double b);
Tensor operator!=(const Tensor& a, double b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor operator==(double a, const Tensor& b);
Tensor operator!=(double a, const Tensor& b);
Tensor operator<(double a, const Tensor& b);
Tensor operator<=(double a, const Tensor& b);
Tensor operator>(double a, const Tensor& b);
Tensor operator>=(double a, const Tensor& b);
// Logic on any dtype (non-zero is true), giving bool; the operators & | ^ ~
// take bool tensors only (on numbers PyTorch's are bitwise, not logic).
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_xor(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& x);
Tensor operator&(const Tensor& a, const Tensor& b);
Tensor operator|(const Tensor& a, const Tensor& b);
Tensor operator^(const Tensor& a, const Tensor& b);
Tensor operator~(const Tensor& x);
// Whether some / every element over the axes is non-zero (bool; all axes by default).
Tensor any(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor all(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// a where the bool mask is true, else b, broadcasting all three; the gradient
// goes to the side picked. Either side may be a number.
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
Tensor where(const Tensor& mask, const Tensor& a, double b);
Tensor where(const Tensor& mask, double a, const Tensor& b);
// x with `value` where the bool mask (broadcast to x's shape) is true:
// scores.masked_fill(future, -inf) before a softmax. Differentiable in x.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// ---- elementwise, unary -------------------------------------------------------
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor expm1(const Tensor& x);  // e^x - 1, exact near 0
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);  // log(1 + x), exact near 0
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);  // gradient sign(x), 0 at 0
Tensor sign(const Tensor& x);  // gradient 0
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);  // gradient 0 at 0, as PyTorch
Tensor leaky_relu(const Tensor& x, double slope = 0.01);  // gradient `slope` at 0
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor softplus(const Tensor& x);  // log(1 + e^x), computed stably
Tensor atan(const Tensor& x);
Tensor step(const Tensor& x);  // binary step (the course's activation table): 1 for x >= 0, else 0; gradient 0
Tensor clamp(const Tensor& x, double low, double high);  // gradient 1 inside [low, high]
Tensor square(const Tensor& x);
// One-sided and tensor bounds (clamp_ops.cpp): x passes its gradient where
// low <= x <= high, as PyTorch; a tensor bound gets it where it is the result.
// clamp(x, std::nullopt, high) is clamp_max; an undefined Tensor{} bound is no bound.
Tensor clamp(const Tensor& x, std::optional<double> low, std::optional<double> high);
Tensor clamp(const Tensor& x, const Tensor& low, const Tensor& high);
Tensor clamp_min(const Tensor& x, double low);
Tensor clamp_max(const Tensor& x, double high);
Tensor clamp_min(const Tensor& x, const Tensor& low);
Tensor clamp_max(const Tensor& x, const Tensor& high);

// ---- activations (activation_ops.cpp) ------------------------------------------
Tensor erf(const Tensor& x);  // the error function
// x Φ(x); approximate = "tanh" uses x/2 (1 + tanh(sqrt(2/π) (x + 0.044715 x³))), as PyTorch.
Tensor gelu(const Tensor& x, std::string_view approximate = "none");
Tensor silu(const Tensor& x);  // x σ(x), also called swish
Tensor mish(const Tensor& x);  // x tanh(softplus(x))
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);  // no gradient at the corners
Tensor hardsigmoid(const Tensor& x);  // x/6 + 1/2 limited to [0, 1]
Tensor logsigmoid(const Tensor& x);  // log σ(x), exact for large |x|
Tensor softsign(const Tensor& x);  // x / (1 + |x|)

// ---- reductions -----------------------------------------------------------------
// An empty axis list reduces over every axis.
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);  // ties share the gradient
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// Variance with `correction` degrees of freedom removed (1: unbiased, as torch.var).
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdims = false, int correction = 1);
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);  // int64, no gradient
Tensor argmin(const Tensor& x, int axis, bool keepdims = false);
Tensor argmax(const Tensor& x);  // index into the flattened tensor

// ---- linear algebra ---------------------------------------------------------------
// NumPy matmul: 1-D and 2-D operands, and batched (broadcast) leading dimensions.
Tensor matmul(const Tensor& a, const Tensor& b);
// op(a) @ op(b), where op transposes the last two axes when asked; leading
// (batch) axes broadcast. The primitive behind matmul: its VJP is again a gemm,
// so no transposed copies are made.
Tensor gemm(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);
// Σ over the batch of op(a_i) op(b_i), for a and b with the same batch axes:
// the gradient of a matrix shared by a batch (a layer's weight), in one pass.
Tensor gemm_sum(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);
Tensor dot(const Tensor& a, const Tensor& b);  // 1-D · 1-D -> scalar
Tensor outer(const Tensor& a, const Tensor& b);  // 1-D ⊗ 1-D -> 2-D
// Views with the axes reordered (no copy).
Tensor transpose(const Tensor& x);  // reverses the axes (2-D: the transpose)
Tensor transpose(const Tensor& x, int axis0, int axis1);
Tensor permute(const Tensor& x, const Axes& order);

// ---- views: the result shares the input's storage (no copy) ----------------------
// One entry of the new shape may be -1 (inferred). reshape returns a view when
// the input's strides allow it and a copy otherwise; view() never copies and
// says so when it cannot.
Tensor reshape(const Tensor& x, IntList shape);
Tensor view(const Tensor& x, IntList shape);
Tensor flatten(const Tensor& x, int start_axis = 0, int end_axis = -1);
Tensor squeeze(const Tensor& x, std::optional<int> axis = std::nullopt);
Tensor unsqueeze(const Tensor& x, int axis);
// Size-1 axes repeated without copying (stride 0); -1 keeps an axis's size.
Tensor broadcast_to(const Tensor& x, IntList shape);
Tensor expand(const Tensor& x, IntList shape);  // same as broadcast_to
// x[start:stop:step] along one axis, Python conventions (negative indices count
// from the end, bounds are clipped, step > 0).
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1);
// x[start:start+length] along axis, with the bounds checked (as torch.narrow).
Tensor narrow(const Tensor& x, int axis, std::int64_t start, std::int64_t length);
// x[index] along axis: the axis is removed.
Tensor select(const Tensor& x, int axis, std::int64_t index);
// The diagonal of the (axis0, axis1) planes, as a last axis; offset > 0 above it.
Tensor diagonal(const Tensor& x, std::int64_t offset = 0, int axis0 = 0, int axis1 = 1);

// ---- shape ops that copy --------------------------------------------------------------
// Sums broadcast dimensions away so the result has `shape` (the VJP of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);
// Writes `source` into a zero tensor of `shape` at x[start:stop:step] (the VJP of slice).
Tensor slice_scatter(const Tensor& source, const Shape& shape, int axis, std::int64_t start, std::int64_t stop,
                     std::int64_t step = 1);
// Writes `source` on the diagonal of a zero tensor of `shape` (the VJP of diagonal).
Tensor diagonal_scatter(const Tensor& source, const Shape& shape, std::int64_t offset = 0, int axis0 = 0,
                        int axis1 = 1);
// Rows (or entries along `axis`) picked by an int64 index vector; repeats allowed.
Tensor index_select(const Tensor& x, int axis, const Tensor& indices);
// Adds `source` into zeros of `shape` at the indices along axis (VJP of index_select).
Tensor index_add(const Tensor& source, const Shape& shape, int axis, const Tensor& indices);
// out[i][j] = x[i][index[i][j]] for axis 1 (torch.gather); index is int64, same rank as x.
Tensor gather(const Tensor& x, int axis, const Tensor& index);
// Adds source into zeros of `shape` at index along axis (VJP of gather).
Tensor scatter_add(const Tensor& source, const Shape& shape, int axis, const Tensor& index);
Tensor concat(const TensorList& tensors, int axis = 0);
Tensor stack(const TensorList& tensors, int axis = 0);
// Constant padding in torch::nn::functional::pad's order: pairs from the last
// axis back, {left, right} for the last axis, then {top, bottom} for the one
// before...; axes not named are not padded, and a negative amount crops.
Tensor pad(const Tensor& x, IntList pads, double value = 0.0);
// torch.nn.functional.pad's other modes, in the same order of pairs: reflect
// (mirrors without repeating the edge: each amount < the axis size), replicate
// (repeats the edge) and circular (wraps around: each amount <= the axis size).
// Composed from narrow, flip, broadcast_to and cat (pad_modes.cpp).
enum class PadMode { constant, reflect, replicate, circular };
Tensor pad(const Tensor& x, IntList pads, PadMode mode, double value = 0.0);
const char* pad_mode_name(PadMode mode);

// ---- softmax --------------------------------------------------------------------------
// Stable: the maximum is subtracted first, so large inputs give exact probabilities.
Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);

// ---- LibTorch's shape, scan, sort, reduction and product ops ------------------------------
// In LibTorch's names and argument order. chunk, split and unbind return views.
Tensor flip(const Tensor& x, const Axes& dims);  // a copy, as torch.flip
Tensor roll(const Tensor& x, IntList shifts, const Axes& dims = {});  // no dims: over the flattened tensor
TensorList chunk(const Tensor& x, std::int64_t chunks, int dim = 0);
TensorList split(const Tensor& x, std::int64_t split_size, int dim = 0);  // the last piece may be smaller
TensorList split(const Tensor& x, IntList split_sizes, int dim = 0);  // sizes must add up to the dim's size
TensorList unbind(const Tensor& x, int dim = 0);
Tensor repeat(const Tensor& x, IntList repeats);  // Tensor.repeat: at least x.dim() counts
Tensor tile(const Tensor& x, IntList reps);  // reps padded with leading 1s
Tensor tril(const Tensor& x, std::int64_t k = 0);  // of the last two axes; int64 too
Tensor triu(const Tensor& x, std::int64_t k = 0);
Tensor cat(const TensorList& tensors, int dim = 0);  // concat
Tensor view_as(const Tensor& x, const Tensor& other);
Tensor expand_as(const Tensor& x, const Tensor& other);
Tensor cumsum(const Tensor& x, int dim);
Tensor cumprod(const Tensor& x, int dim);  // gradient exact where x holds zeros
// Stable: equal values keep their order; NaN sorts above every number. The
// values' gradient goes back to the positions they came from.
std::tuple<Tensor, Tensor> sort(const Tensor& x, int dim = -1, bool descending = false);  // (values, int64 indices)
Tensor argsort(const Tensor& x, int dim = -1, bool descending = false);
// The k largest (or smallest) along dim, always in order (`sorted` is accepted for LibTorch's signature).
std::tuple<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, int dim = -1, bool largest = true, bool sorted = true);
Tensor prod(const Tensor& x);
Tensor prod(const Tensor& x, int dim, bool keepdim = false);  // gradient exact where x holds zeros
Tensor std(const Tensor& x, const Axes& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const Axes& dims, int correction, bool keepdim = false);
// Vector p-norm over dims (all by default) for p = 1, 2 or inf; p = 2 over all: Frobenius.
Tensor norm(const Tensor& x, double p = 2, const Axes& dims = {}, bool keepdim = false);
Tensor mm(const Tensor& a, const Tensor& b);  // 2-D only
Tensor bmm(const Tensor& a, const Tensor& b);  // (batch, n, m) @ (batch, m, p) only
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta = 1.0, double alpha = 1.0);
// "ij,jk->ik", "bhqd,bhkd->bhqk", "ii->", "...ij,...jk" (implicit output: the
// '...' dims, then the letters used once, alphabetically).
Tensor einsum(std::string_view equation, const TensorList& operands);
// In training, zeros each element with probability p and scales the rest by 1 / (1 - p).
Tensor dropout(const Tensor& x, double p, bool training);

// ---- helpers shared by ops (validation) ----------------------------------------------
std::size_t normalize_axis(int axis, std::size_t rank, const char* op);
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace rg
