#pragma once
// Differentiable operations. Each is recorded on the tape when an input
// requires grad; each VJP is itself written with these ops, so gradients can be
// differentiated again (create_graph). Broadcasting follows NumPy, and every
// broadcasting op reduces its gradient back to its input's shape.
// Axes may be negative (counted from the end).
//
// Unlike LibTorch, operands of different dtypes are not promoted (a bool
// operand of an arithmetic op excepted, which takes the other's float dtype),
// and arithmetic takes float tensors only: convert with .to(rg::float32) first.
// Every op throws rg::Error, naming the op, when a tensor argument is
// undefined (Tensor{}).
#include <retrograd/tensor.hpp>

#include <optional>
#include <string_view>
#include <tuple>
#include <vector>

namespace rg {

// ---- elementwise, binary (broadcasting) -------------------------------------
/// a + b elementwise, broadcasting. VJP: da = g, db = g, each summed to its
/// input's shape. Unlike LibTorch, there is no `alpha` argument.
/// @param a, b float tensors of one dtype (a bool operand takes the other's)
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor add(const Tensor& a, const Tensor& b);
/// a - b elementwise, broadcasting. VJP: da = g, db = -g.
/// @param a, b float tensors of one dtype (a bool operand takes the other's)
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor sub(const Tensor& a, const Tensor& b);
/// a * b elementwise, broadcasting. VJP: da = g b, db = g a.
/// @param a, b float tensors of one dtype (a bool operand takes the other's,
/// so x * mask works)
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor mul(const Tensor& a, const Tensor& b);
/// a / b elementwise, broadcasting (true division). VJP: da = g / b,
/// db = -g a / b².
/// @param a, b float tensors of one dtype (a bool operand takes the other's)
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor div(const Tensor& a, const Tensor& b);
/// base ** exponent elementwise, broadcasting. VJP: dbase = g e b^(e-1) (0
/// where e = 0), dexponent = g b^e log b, taken as 0 where b <= 0.
/// @param base, exponent float tensors of one dtype
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor pow(const Tensor& base, const Tensor& exponent);
/// The smaller of a and b elementwise, broadcasting. VJP: g goes to the
/// smaller side; ties share it equally (g / 2 each).
/// @param a, b float tensors of one dtype
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor minimum(const Tensor& a, const Tensor& b);  // ties share the gradient equally
/// The larger of a and b elementwise, broadcasting. VJP: g goes to the
/// larger side; ties share it equally (g / 2 each).
/// @param a, b float tensors of one dtype
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor maximum(const Tensor& a, const Tensor& b);
/// The angle of the point (x, y) in (-π, π], elementwise, broadcasting
/// (torch.atan2). VJP: dy = g x / (x² + y²), dx = -g y / (x² + y²).
/// @param y, x float tensors of one dtype
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor atan2(const Tensor& y, const Tensor& x);  // the angle of (x, y), in (-π, π]
/// a - b trunc(a / b), with a's sign (C's fmod, torch.fmod): fmod(-3, 2) = -1.
/// VJP: da = g, db = -g trunc(a / b).
/// @param a, b float tensors of one dtype
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor fmod(const Tensor& a, const Tensor& b);  // the sign of a
/// a - b floor(a / b), with b's sign (Python's %, torch.remainder):
/// remainder(-3, 2) = 1. VJP: da = g, db = -g floor(a / b).
/// @param a, b float tensors of one dtype
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor remainder(const Tensor& a, const Tensor& b);  // the sign of b
/// start + weight (end - start), broadcasting all three (torch.lerp). VJP:
/// dstart = g (1 - weight), dend = g weight, dweight = g (end - start).
/// @param start, end, weight float tensors of one dtype
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight);

// input + value * t1 * t2 in one pass over memory, broadcasting all three (as
// torch.addcmul): where `input + t1 * t2` writes and rereads a temporary.
/// input + value * t1 * t2 in one pass, broadcasting all three (torch.addcmul).
/// VJP: dinput = g, dt1 = value g t2, dt2 = value g t1.
/// @param input, t1, t2 float tensors of one dtype
/// @param value the product's factor
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor addcmul(const Tensor& input, const Tensor& t1, const Tensor& t2, double value = 1.0);

// With a scalar (the scalar takes the tensor's dtype).
/// a + b for a number b, which takes a's dtype. VJP: da = g.
/// @param a a float tensor
/// @param b the number
/// @throws rg::Error when a is not floating (LibTorch accepts integer tensors)
Tensor add(const Tensor& a, double b);
/// a * b for a number b, which takes a's dtype. VJP: da = b g.
/// @param a a float tensor
/// @param b the number
/// @throws rg::Error when a is not floating (LibTorch accepts integer tensors)
Tensor mul(const Tensor& a, double b);
/// base ** exponent for a number exponent. VJP: dbase = g p base^(p-1).
/// @param base a float tensor
/// @param exponent the number p
/// @throws rg::Error when base is not floating
Tensor pow(const Tensor& base, double exponent);
/// base ** exponent for a number base (torch.pow(scalar, tensor)).
/// VJP: dexponent = g y log(base).
/// @param base the number
/// @param exponent a float tensor
/// @throws rg::Error when exponent is not floating
Tensor rpow(double base, const Tensor& exponent);  // base ** exponent
/// a - b for a number a (torch.rsub). VJP: db = -g.
/// @param a the number
/// @param b a float tensor
/// @throws rg::Error when b is not floating
Tensor rsub(double a, const Tensor& b);  // a - b
/// fmod(a, b) for a number b, with a's sign. VJP: da = g.
/// @param a a float tensor
/// @param b the divisor (0 gives NaN, as in LibTorch)
/// @throws rg::Error when a is not floating
Tensor fmod(const Tensor& a, double b);
/// remainder(a, b) for a number b, with b's sign. VJP: da = g.
/// @param a a float tensor
/// @param b the divisor (0 gives NaN, as in LibTorch)
/// @throws rg::Error when a is not floating
Tensor remainder(const Tensor& a, double b);
/// start + weight (end - start) for a number weight, broadcasting start and
/// end. VJP: dstart = g (1 - weight), dend = g weight.
/// @param start, end float tensors of one dtype
/// @param weight the number
/// @throws rg::Error when the shapes do not broadcast, the dtypes differ or
/// are not floating
Tensor lerp(const Tensor& start, const Tensor& end, double weight);

/// add(a, b).
/// @param a, b float tensors of one dtype
/// @throws rg::Error as add
Tensor operator+(const Tensor& a, const Tensor& b);
/// sub(a, b).
/// @param a, b float tensors of one dtype
/// @throws rg::Error as sub
Tensor operator-(const Tensor& a, const Tensor& b);
/// mul(a, b).
/// @param a, b float tensors of one dtype
/// @throws rg::Error as mul
Tensor operator*(const Tensor& a, const Tensor& b);
/// div(a, b).
/// @param a, b float tensors of one dtype
/// @throws rg::Error as div
Tensor operator/(const Tensor& a, const Tensor& b);
/// add(a, b) with a number b.
/// @param a a float tensor
/// @param b the number
/// @throws rg::Error when a is not floating
Tensor operator+(const Tensor& a, double b);
/// add(b, a) with a number a.
/// @param a the number
/// @param b a float tensor
/// @throws rg::Error when b is not floating
Tensor operator+(double a, const Tensor& b);
/// add(a, -b) with a number b.
/// @param a a float tensor
/// @param b the number
/// @throws rg::Error when a is not floating
Tensor operator-(const Tensor& a, double b);
/// rsub(a, b): a number minus a tensor.
/// @param a the number
/// @param b a float tensor
/// @throws rg::Error when b is not floating
Tensor operator-(double a, const Tensor& b);
/// mul(a, b) with a number b.
/// @param a a float tensor
/// @param b the number
/// @throws rg::Error when a is not floating
Tensor operator*(const Tensor& a, double b);
/// mul(b, a) with a number a.
/// @param a the number
/// @param b a float tensor
/// @throws rg::Error when b is not floating
Tensor operator*(double a, const Tensor& b);
/// a * (1 / b) with a number b.
/// @param a a float tensor
/// @param b the number
/// @throws rg::Error when a is not floating
Tensor operator/(const Tensor& a, double b);
/// a * b^-1: a number divided by a tensor, elementwise.
/// @param a the number
/// @param b a float tensor
/// @throws rg::Error when b is not floating
Tensor operator/(double a, const Tensor& b);
/// neg(a).
/// @param a a float tensor
/// @throws rg::Error when a is not floating
Tensor operator-(const Tensor& a);

// ---- comparisons, logic, masks (mask_ops.cpp) ------------------------------------
// Comparisons give bool tensors, as PyTorch's, and have no gradient. Operands
// of different dtypes are compared in the wider one (bool < int64 < float32 <
// float64); a float tensor meets a number in its own precision.
/// True where a == b (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype, compared in the wider one
/// @throws rg::Error when the shapes do not broadcast
Tensor eq(const Tensor& a, const Tensor& b);
/// True where a != b (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype, compared in the wider one
/// @throws rg::Error when the shapes do not broadcast
Tensor ne(const Tensor& a, const Tensor& b);
/// True where a < b (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype, compared in the wider one
/// @throws rg::Error when the shapes do not broadcast
Tensor lt(const Tensor& a, const Tensor& b);
/// True where a <= b (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype, compared in the wider one
/// @throws rg::Error when the shapes do not broadcast
Tensor le(const Tensor& a, const Tensor& b);
/// True where a > b (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype, compared in the wider one
/// @throws rg::Error when the shapes do not broadcast
Tensor gt(const Tensor& a, const Tensor& b);
/// True where a >= b (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype, compared in the wider one
/// @throws rg::Error when the shapes do not broadcast
Tensor ge(const Tensor& a, const Tensor& b);
/// True where a == b for a number b (bool; no gradient). A float tensor meets
/// b in its own precision, so x == 0.1 holds for a float32 x made from 0.1.
/// @param a a tensor of any dtype
/// @param b the number
Tensor eq(const Tensor& a, double b);
/// True where a != b for a number b (bool; no gradient).
/// @param a a tensor of any dtype
/// @param b the number
Tensor ne(const Tensor& a, double b);
/// True where a < b for a number b (bool; no gradient).
/// @param a a tensor of any dtype
/// @param b the number
Tensor lt(const Tensor& a, double b);
/// True where a <= b for a number b (bool; no gradient).
/// @param a a tensor of any dtype
/// @param b the number
Tensor le(const Tensor& a, double b);
/// True where a > b for a number b (bool; no gradient).
/// @param a a tensor of any dtype
/// @param b the number
Tensor gt(const Tensor& a, double b);
/// True where a >= b for a number b (bool; no gradient).
/// @param a a tensor of any dtype
/// @param b the number
Tensor ge(const Tensor& a, double b);
/// eq(a, b).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor operator==(const Tensor& a, const Tensor& b);
/// ne(a, b).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor operator!=(const Tensor& a, const Tensor& b);
/// lt(a, b).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor operator<(const Tensor& a, const Tensor& b);
/// le(a, b).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor operator<=(const Tensor& a, const Tensor& b);
/// gt(a, b).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor operator>(const Tensor& a, const Tensor& b);
/// ge(a, b).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor operator>=(const Tensor& a, const Tensor& b);
/// eq(a, b) with a number b.
/// @param a a tensor of any dtype
/// @param b the number
Tensor operator==(const Tensor& a, double b);
/// ne(a, b) with a number b.
/// @param a a tensor of any dtype
/// @param b the number
Tensor operator!=(const Tensor& a, double b);
/// lt(a, b) with a number b.
/// @param a a tensor of any dtype
/// @param b the number
Tensor operator<(const Tensor& a, double b);
/// le(a, b) with a number b.
/// @param a a tensor of any dtype
/// @param b the number
Tensor operator<=(const Tensor& a, double b);
/// gt(a, b) with a number b.
/// @param a a tensor of any dtype
/// @param b the number
Tensor operator>(const Tensor& a, double b);
/// ge(a, b) with a number b.
/// @param a a tensor of any dtype
/// @param b the number
Tensor operator>=(const Tensor& a, double b);
/// eq(b, a): a number compared with a tensor.
/// @param a the number
/// @param b a tensor of any dtype
Tensor operator==(double a, const Tensor& b);
/// ne(b, a): a number compared with a tensor.
/// @param a the number
/// @param b a tensor of any dtype
Tensor operator!=(double a, const Tensor& b);
/// True where a < b: a number compared with a tensor (gt(b, a)).
/// @param a the number
/// @param b a tensor of any dtype
Tensor operator<(double a, const Tensor& b);
/// True where a <= b: a number compared with a tensor (ge(b, a)).
/// @param a the number
/// @param b a tensor of any dtype
Tensor operator<=(double a, const Tensor& b);
/// True where a > b: a number compared with a tensor (lt(b, a)).
/// @param a the number
/// @param b a tensor of any dtype
Tensor operator>(double a, const Tensor& b);
/// True where a >= b: a number compared with a tensor (le(b, a)).
/// @param a the number
/// @param b a tensor of any dtype
Tensor operator>=(double a, const Tensor& b);
// Logic on any dtype (non-zero is true), giving bool; the operators & | ^ ~
// take bool tensors only (on numbers PyTorch's are bitwise, not logic).
/// True where a and b are both non-zero (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor logical_and(const Tensor& a, const Tensor& b);
/// True where a or b is non-zero (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor logical_or(const Tensor& a, const Tensor& b);
/// True where exactly one of a and b is non-zero (bool, broadcasting; no gradient).
/// @param a, b tensors of any dtype
/// @throws rg::Error when the shapes do not broadcast
Tensor logical_xor(const Tensor& a, const Tensor& b);
/// True where x is zero (bool; no gradient).
/// @param x a tensor of any dtype
Tensor logical_not(const Tensor& x);
/// logical_and of two bool tensors. Unlike LibTorch, not a bitwise and on
/// integers: numbers are refused.
/// @param a, b bool tensors
/// @throws rg::Error when a or b is not bool, or the shapes do not broadcast
Tensor operator&(const Tensor& a, const Tensor& b);
/// logical_or of two bool tensors (not bitwise on integers, unlike LibTorch).
/// @param a, b bool tensors
/// @throws rg::Error when a or b is not bool, or the shapes do not broadcast
Tensor operator|(const Tensor& a, const Tensor& b);
/// logical_xor of two bool tensors (not bitwise on integers, unlike LibTorch).
/// @param a, b bool tensors
/// @throws rg::Error when a or b is not bool, or the shapes do not broadcast
Tensor operator^(const Tensor& a, const Tensor& b);
/// logical_not of a bool tensor (not bitwise on integers, unlike LibTorch).
/// @param x a bool tensor
/// @throws rg::Error when x is not bool
Tensor operator~(const Tensor& x);
// Whether some / every element over the axes is non-zero (bool; all axes by default).
/// True where some element over the axes is non-zero (bool; no gradient).
/// @param x a tensor of any dtype
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @throws rg::Error when an axis is out of range
Tensor any(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// True where every element over the axes is non-zero (bool; no gradient).
/// @param x a tensor of any dtype
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @throws rg::Error when an axis is out of range
Tensor all(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// a where the bool mask is true, else b, broadcasting all three; the gradient
// goes to the side picked. Either side may be a number.
/// a where the mask is true, else b, broadcasting all three (torch.where).
/// VJP: da = g where the mask holds, db = g elsewhere (each summed to its shape).
/// @param mask a bool tensor
/// @param a, b float tensors of one dtype
/// @throws rg::Error when the mask is not bool, a and b are not float tensors
/// of one dtype, or the shapes do not broadcast
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
/// where(mask, a, b) with a number b, which takes a's dtype.
/// @param mask a bool tensor
/// @param a a float tensor
/// @param b the number taken where the mask is false
/// @throws rg::Error as where
Tensor where(const Tensor& mask, const Tensor& a, double b);
/// where(mask, a, b) with a number a, which takes b's dtype.
/// @param mask a bool tensor
/// @param a the number taken where the mask is true
/// @param b a float tensor
/// @throws rg::Error as where
Tensor where(const Tensor& mask, double a, const Tensor& b);
// x with `value` where the bool mask (broadcast to x's shape) is true:
// scores.masked_fill(future, -inf) before a softmax. Differentiable in x.
/// x with `value` where the bool mask is true, e.g. scores.masked_fill(future,
/// -inf) before a softmax. VJP: dx = g where the mask is false, else 0.
/// @param x a float tensor
/// @param mask a bool tensor that broadcasts to x's shape
/// @param value the value written
/// @throws rg::Error when the mask is not bool or does not broadcast to x's shape
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);

// ---- elementwise, unary -------------------------------------------------------
// Each takes a float tensor and throws rg::Error naming the op for any other dtype.
/// -x. VJP: dx = -g.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor neg(const Tensor& x);
/// e^x. VJP: dx = g y.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor exp(const Tensor& x);
/// e^x - 1, exact near 0. VJP: dx = g (y + 1).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor expm1(const Tensor& x);  // e^x - 1, exact near 0
/// The natural logarithm. VJP: dx = g / x.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor log(const Tensor& x);
/// log(1 + x), exact near 0. VJP: dx = g / (1 + x).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor log1p(const Tensor& x);  // log(1 + x), exact near 0
/// The square root. VJP: dx = g / (2 y).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor sqrt(const Tensor& x);
/// |x|. VJP: dx = g sign(x), 0 at 0.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor abs(const Tensor& x);  // gradient sign(x), 0 at 0
/// -1, 0 or 1 by the sign of x; the gradient is 0.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor sign(const Tensor& x);  // gradient 0
/// The sine. VJP: dx = g cos(x).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor sin(const Tensor& x);
/// The cosine. VJP: dx = -g sin(x).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor cos(const Tensor& x);
/// The hyperbolic tangent. VJP: dx = g (1 - y²) (recorded as tanh_backward).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor tanh(const Tensor& x);
/// The logistic function 1 / (1 + e^-x), computed stably. VJP: dx = g y (1 - y)
/// (recorded as sigmoid_backward).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor sigmoid(const Tensor& x);
/// max(x, 0). VJP: dx = g where y > 0, else 0 (0 at 0, as PyTorch).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor relu(const Tensor& x);  // gradient 0 at 0, as PyTorch
/// x for x > 0, else slope * x. VJP: dx = g where x > 0, else slope * g.
/// @param x a float tensor
/// @param slope the slope for x <= 0 (PyTorch's negative_slope)
/// @throws rg::Error when x is not floating
Tensor leaky_relu(const Tensor& x, double slope = 0.01);  // gradient `slope` at 0
/// x for x > 0, else alpha (e^x - 1). VJP: dx = g where x > 0, else g alpha e^x.
/// @param x a float tensor
/// @param alpha the scale of the negative part
/// @throws rg::Error when x is not floating
Tensor elu(const Tensor& x, double alpha = 1.0);
/// log(1 + e^x), computed stably. VJP: dx = g σ(x). Unlike LibTorch, no
/// `beta` or `threshold` arguments.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor softplus(const Tensor& x);  // log(1 + e^x), computed stably
/// The arctangent. VJP: dx = g / (1 + x²).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor atan(const Tensor& x);
/// The binary step of the course's activation table: 1 for x >= 0, else 0;
/// the gradient is 0. Not in LibTorch (torch.heaviside differs at 0).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor step(const Tensor& x);  // binary step (the course's activation table): 1 for x >= 0, else 0; gradient 0
/// x limited to [low, high]. VJP: dx = g where low <= x <= high, else 0.
/// @param x a float tensor
/// @param low, high the bounds
/// @throws rg::Error when x is not floating, a bound is NaN or low > high
/// (LibTorch then gives high everywhere)
Tensor clamp(const Tensor& x, double low, double high);  // gradient 1 inside [low, high]
/// x². VJP: dx = 2 g x.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor square(const Tensor& x);
// The elementary functions of elementary_ops.cpp.
/// 1 / x. VJP: dx = -g y².
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor reciprocal(const Tensor& x);
/// 1 / √x. VJP: dx = -g y³ / 2.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor rsqrt(const Tensor& x);
/// The tangent. VJP: dx = g (1 + y²).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor tan(const Tensor& x);
/// The arcsine (NaN outside [-1, 1]). VJP: dx = g / √(1 - x²).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor asin(const Tensor& x);
/// The arccosine (NaN outside [-1, 1]). VJP: dx = -g / √(1 - x²).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor acos(const Tensor& x);
/// The hyperbolic sine. VJP: dx = g cosh(x).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor sinh(const Tensor& x);
/// The hyperbolic cosine. VJP: dx = g sinh(x).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor cosh(const Tensor& x);
/// The base-2 logarithm. VJP: dx = g / (x ln 2).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor log2(const Tensor& x);
/// The base-10 logarithm. VJP: dx = g / (x ln 10).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor log10(const Tensor& x);
/// 2^x. VJP: dx = g y ln 2.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor exp2(const Tensor& x);
/// log(x / (1 - x)), the inverse of sigmoid, as torch.logit: with eps, x is
/// first clamped to [eps, 1 - eps]. VJP: dx = g / (x (1 - x)); with eps, 0
/// where x is outside [eps, 1 - eps] (PyTorch's logit_backward).
/// @param x a float tensor
/// @param eps the clamp's margin, in [0, 0.5]; std::nullopt: no clamp
/// @throws rg::Error when eps is outside [0, 0.5] or x is not floating
Tensor logit(const Tensor& x, std::optional<double> eps = std::nullopt);

// ---- rounding and classification (rounding_ops.cpp) ------------------------------
// The rounding ops are piecewise constant: their gradient is zeros of the
// input's shape and dtype, as PyTorch's. isnan, isinf and isfinite give bool
// tensors and have no gradient.
/// The largest integer <= x; the gradient is 0.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor floor(const Tensor& x);
/// The smallest integer >= x; the gradient is 0.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor ceil(const Tensor& x);
/// The nearest integer, half-way values to the even one (as torch.round):
/// 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -0.5 -> -0. The gradient is 0.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor round(const Tensor& x);  // half to even, as torch.round
/// x rounded toward 0; the gradient is 0.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor trunc(const Tensor& x);
/// x - trunc(x), with x's sign: frac(-1.25) = -0.25. VJP: dx = g.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor frac(const Tensor& x);
/// x with NaN, +inf and -inf replaced, as torch.nan_to_num. VJP: dx = g
/// where x is finite, else 0.
/// @param x a float tensor
/// @param nan the value for NaN
/// @param posinf the value for +inf; std::nullopt: the dtype's largest finite value
/// @param neginf the value for -inf; std::nullopt: the dtype's lowest finite value
/// @throws rg::Error when x is not floating
Tensor nan_to_num(const Tensor& x, double nan = 0.0, std::optional<double> posinf = std::nullopt,
                  std::optional<double> neginf = std::nullopt);
/// True where x is NaN (bool; no gradient). int64 and bool tensors give false.
/// @param x a tensor of any dtype
Tensor isnan(const Tensor& x);
/// True where x is +inf or -inf (bool; no gradient). int64 and bool tensors give false.
/// @param x a tensor of any dtype
Tensor isinf(const Tensor& x);
/// True where x is neither infinite nor NaN (bool; no gradient). int64 and
/// bool tensors give true.
/// @param x a tensor of any dtype
Tensor isfinite(const Tensor& x);
// One-sided and tensor bounds (clamp_ops.cpp): x passes its gradient where
// low <= x <= high, as PyTorch; a tensor bound gets it where it is the result.
// clamp(x, std::nullopt, high) is clamp_max; an undefined Tensor{} bound is no bound.
/// x limited by optional bounds: clamp(x, std::nullopt, high) is clamp_max.
/// @param x a float tensor
/// @param low, high the bounds; std::nullopt: none on that side
/// @throws rg::Error when neither bound is given, a bound is NaN, or x is not floating
Tensor clamp(const Tensor& x, std::optional<double> low, std::optional<double> high);
/// x limited by tensor bounds, broadcasting all three; where low > high, high
/// wins (as torch.clamp). x gets the gradient where low <= x <= high, a bound
/// where it is the result.
/// @param x a float tensor
/// @param low, high float tensors of x's dtype; an undefined Tensor{} is no bound
/// @throws rg::Error when neither bound is defined, the shapes do not
/// broadcast or the dtypes differ
Tensor clamp(const Tensor& x, const Tensor& low, const Tensor& high);
/// max(x, low) for a number low. dx = g where x >= low.
/// @param x a float tensor
/// @param low the lower bound
/// @throws rg::Error when low is NaN or x is not floating
Tensor clamp_min(const Tensor& x, double low);
/// min(x, high) for a number high. dx = g where x <= high.
/// @param x a float tensor
/// @param high the upper bound
/// @throws rg::Error when high is NaN or x is not floating
Tensor clamp_max(const Tensor& x, double high);
/// max(x, low) for a tensor low, broadcasting.
/// @param x a float tensor
/// @param low a float tensor of x's dtype
/// @throws rg::Error when the shapes do not broadcast or the dtypes differ
Tensor clamp_min(const Tensor& x, const Tensor& low);
/// min(x, high) for a tensor high, broadcasting.
/// @param x a float tensor
/// @param high a float tensor of x's dtype
/// @throws rg::Error when the shapes do not broadcast or the dtypes differ
Tensor clamp_max(const Tensor& x, const Tensor& high);

// ---- activations (activation_ops.cpp) ------------------------------------------
/// The error function 2/√π ∫₀ˣ e^(-t²) dt. VJP: dx = g 2/√π e^(-x²).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor erf(const Tensor& x);  // the error function
// x Φ(x); approximate = "tanh" uses x/2 (1 + tanh(sqrt(2/π) (x + 0.044715 x³))), as PyTorch.
/// x Φ(x), Φ the standard normal CDF (exact, with erf). VJP: dx = g (Φ(x) + x φ(x)).
/// @param x a float tensor
/// @param approximate "none", or "tanh" for x/2 (1 + tanh(√(2/π) (x + 0.044715 x³))), as PyTorch
/// @throws rg::Error when approximate is another string or x is not floating
Tensor gelu(const Tensor& x, std::string_view approximate = "none");
/// x σ(x), also called swish. VJP: dx = g s (1 + x (1 - s)), s = σ(x).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor silu(const Tensor& x);  // x σ(x), also called swish
/// x tanh(softplus(x)). VJP: dx = g (t + x (1 - t²) σ(x)), t = tanh(softplus(x)).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor mish(const Tensor& x);  // x tanh(softplus(x))
/// x limited to [min_val, max_val]. VJP: dx = g where min_val < x < max_val,
/// else 0 (no gradient at the corners, where clamp passes it).
/// @param x a float tensor
/// @param min_val, max_val the bounds
/// @throws rg::Error when min_val > max_val or x is not floating
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);  // no gradient at the corners
/// x/6 + 1/2 limited to [0, 1]. VJP: dx = g / 6 where -3 < x < 3, else 0.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor hardsigmoid(const Tensor& x);  // x/6 + 1/2 limited to [0, 1]
/// log σ(x) = -softplus(-x), exact for large |x|. VJP: dx = g σ(-x).
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor logsigmoid(const Tensor& x);  // log σ(x), exact for large |x|
/// x / (1 + |x|). VJP: dx = g / (1 + |x|)².
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor softsign(const Tensor& x);  // x / (1 + |x|)
/// x relu6(x + 3) / 6 (torch.nn.functional.hardswish). VJP, as PyTorch's:
/// 0 where x < -3, g (x/3 + 1/2) where -3 <= x <= 3, g above.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor hardswish(const Tensor& x);
/// min(max(x, 0), 6): hardtanh(x, 0, 6), as torch.nn.functional.relu6 (no
/// gradient at 0 and 6). A composition, with no node of its own.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor relu6(const Tensor& x);
/// scale elu(x, alpha) with PyTorch's constants, alpha = 1.6732632423543772848170429916717
/// and scale = 1.0507009873554804934193349852946 (torch.selu). A composition,
/// with no node of its own.
/// @param x a float tensor
/// @throws rg::Error when x is not floating
Tensor selu(const Tensor& x);

// ---- reductions -----------------------------------------------------------------
// An empty axis list reduces over every axis.
/// The sum over axes. VJP: dx = g broadcast back to x's shape. int64 and bool
/// tensors sum to int64 (a count of true values), without gradient, as PyTorch.
/// @param x a tensor
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @throws rg::Error when an axis is out of range or repeated
Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// The mean over axes: sum(x) / n.
/// @param x a float tensor
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @throws rg::Error when an axis is out of range or x is not floating
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// The maximum over axes (values only; LibTorch's max(x, dim) also returns
/// indices: use argmax). VJP: g goes to the largest elements, shared equally
/// by ties. NaN propagates.
/// @param x a float tensor
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @throws rg::Error when x is empty, an axis is out of range or x is not floating
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);  // ties share the gradient
/// The minimum over axes (values only). VJP: g goes to the smallest elements,
/// shared equally by ties. NaN propagates.
/// @param x a float tensor
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @throws rg::Error when x is empty, an axis is out of range or x is not floating
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
/// log Σ e^x over axes, shifted by the maximum so it does not overflow:
/// log(sum(exp(x - m))) + m (composite).
/// @param x a float tensor
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @throws rg::Error when an axis is out of range or x is not floating
Tensor logsumexp(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// Variance with `correction` degrees of freedom removed (1: unbiased, as torch.var).
/// The variance over axes, Σ (x - mean)² / (n - correction) (composite).
/// @param x a float tensor
/// @param axes the axes reduced; empty: all of them
/// @param keepdims keep the reduced axes with size 1
/// @param correction degrees of freedom removed: 1 unbiased (torch.var's default), 0 the population variance
/// @throws rg::Error when n - correction <= 0, an axis is out of range or x is not floating
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdims = false, int correction = 1);
/// The index of the maximum along an axis (int64, no gradient); the first one
/// among ties, a NaN's if there is one.
/// @param x a float tensor
/// @param axis the axis searched
/// @param keepdims keep the axis with size 1
/// @throws rg::Error when the axis is out of range or empty, or x is not floating
Tensor argmax(const Tensor& x, int axis, bool keepdims = false);  // int64, no gradient
/// The index of the minimum along an axis (int64, no gradient); the first one
/// among ties, a NaN's if there is one.
/// @param x a float tensor
/// @param axis the axis searched
/// @param keepdims keep the axis with size 1
/// @throws rg::Error when the axis is out of range or empty, or x is not floating
Tensor argmin(const Tensor& x, int axis, bool keepdims = false);
/// The index of the maximum in the flattened tensor (an int64 scalar).
/// @param x a float tensor
/// @throws rg::Error when x is empty or not floating
Tensor argmax(const Tensor& x);  // index into the flattened tensor
/// For the rows of x grouped in segments, row r in segment segments[r]: the
/// index of the row holding each segment's maximum, column by column, (count,
/// columns) int64 (no gradient), the first one among ties, a NaN's if there is
/// one; `empty` for a segment with no row. gather(x, 0, indices) then takes the
/// maxima with their gradient (EmbeddingBag's max mode: x with a row of zeros
/// appended, and empty = its index).
/// @param x a float tensor (rows, columns)
/// @param segments int64 (rows,), each in [0, count)
/// @param count the number of segments
/// @param empty the index written for a segment with no row
/// @throws rg::Error when x is not a 2-D float tensor, or segments is not int64 (rows,) with values in [0, count)
Tensor segment_argmax(const Tensor& x, const Tensor& segments, std::size_t count, std::int64_t empty);

// ---- linear algebra ---------------------------------------------------------------
// NumPy matmul: 1-D and 2-D operands, and batched (broadcast) leading dimensions.
/// The matrix product, as torch.matmul: 1-D operands act as a row / column
/// and lose that axis, leading (batch) axes broadcast. VJP: dA = G Bᵀ,
/// dB = Aᵀ G, summed over broadcast batches.
/// @param a, b float tensors of one dtype, each with at least one axis
/// @throws rg::Error when an operand is 0-D, the inner sizes differ, the batch
/// axes do not broadcast, or the dtypes differ or are not floating
Tensor matmul(const Tensor& a, const Tensor& b);
// op(a) @ op(b), where op transposes the last two axes when asked; leading
// (batch) axes broadcast. The primitive behind matmul: its VJP is again a gemm,
// so no transposed copies are made.
/// op(a) @ op(b), op transposing the last two axes when asked, batch axes
/// broadcasting: the primitive behind matmul, whose VJP is again a gemm (no
/// transposed copies). No LibTorch equivalent.
/// @param a, b float tensors of one dtype and rank >= 2
/// @param transpose_a, transpose_b whether to use aᵀ, bᵀ
/// @throws rg::Error when a rank is below 2, the inner sizes differ or the
/// batch axes do not broadcast
Tensor gemm(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);
// Σ over the batch of op(a_i) op(b_i), for a and b with the same batch axes:
// the gradient of a matrix shared by a batch (a layer's weight), in one pass.
/// Σ over the batch of op(a_i) op(b_i): a shared weight's gradient in one pass.
/// VJP: dA_i = G B_iᵀ, dB_i = A_iᵀ G. No LibTorch equivalent.
/// @param a, b float tensors of one dtype with the same batch axes
/// @param transpose_a, transpose_b whether to use a_iᵀ, b_iᵀ
/// @throws rg::Error when the batch axes differ or the inner sizes differ
Tensor gemm_sum(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b);
/// The dot product a · b of two vectors (a scalar); sum(a * b).
/// @param a, b 1-D float tensors of one length
/// @throws rg::Error when they are not 1-D of one length
Tensor dot(const Tensor& a, const Tensor& b);  // 1-D · 1-D -> scalar
/// The outer product a ⊗ b of two vectors (2-D).
/// @param a, b 1-D float tensors
/// @throws rg::Error when they are not 1-D
Tensor outer(const Tensor& a, const Tensor& b);  // 1-D ⊗ 1-D -> 2-D
// Views with the axes reordered (no copy).
/// The axes reversed (2-D: the transpose), a view. Note: LibTorch's
/// transpose needs two axes; this overload is x.t() / NumPy's x.T.
/// @param x a tensor
Tensor transpose(const Tensor& x);  // reverses the axes (2-D: the transpose)
/// Two axes swapped, a view.
/// @param x a tensor
/// @param axis0, axis1 the axes swapped
/// @throws rg::Error when an axis is out of range
Tensor transpose(const Tensor& x, int axis0, int axis1);
/// The axes reordered, a view: axis i of the result is axis order[i] of x.
/// VJP: g permuted back by the inverse order.
/// @param x a tensor
/// @param order a permutation of x's axes
/// @throws rg::Error when order has the wrong length, repeats an axis or
/// holds one out of range
Tensor permute(const Tensor& x, const Axes& order);

// ---- views: the result shares the input's storage (no copy) ----------------------
// One entry of the new shape may be -1 (inferred). reshape returns a view when
// the input's strides allow it and a copy otherwise; view() never copies and
// says so when it cannot.
/// The same values in a new shape: a view when x's strides allow it, else a copy.
/// @param x a tensor
/// @param shape the new shape; one entry may be -1 (inferred)
/// @throws rg::Error when the element counts differ, two entries are -1 or
/// one is otherwise negative
Tensor reshape(const Tensor& x, IntList shape);
/// A view in a new shape; never copies.
/// @param x a tensor
/// @param shape the new shape; one entry may be -1 (inferred)
/// @throws rg::Error when reshape would, or when x's strides do not allow a
/// view (the message says why; use reshape or contiguous())
Tensor view(const Tensor& x, IntList shape);
/// Axes start_axis..end_axis merged into one (reshape).
/// @param x a tensor
/// @param start_axis, end_axis the first and last axes merged
/// @throws rg::Error when an axis is out of range or start comes after end
Tensor flatten(const Tensor& x, int start_axis = 0, int end_axis = -1);
/// Size-1 axes removed, a view.
/// @param x a tensor
/// @param axis the axis removed; none: every size-1 axis
/// @throws rg::Error when the axis is out of range or its size is not 1
/// (LibTorch then returns x unchanged)
Tensor squeeze(const Tensor& x, std::optional<int> axis = std::nullopt);
/// A size-1 axis inserted at `axis`, a view.
/// @param x a tensor
/// @param axis where, from -(rank + 1) to rank
/// @throws rg::Error when the axis is out of range
Tensor unsqueeze(const Tensor& x, int axis);
// Size-1 axes repeated without copying (stride 0); -1 keeps an axis's size.
/// x broadcast to `shape`: size-1 axes repeated without copying (stride 0),
/// leading axes added. VJP: g summed over the broadcast axes.
/// @param x a tensor
/// @param shape the target shape; -1 keeps an axis's size
/// @throws rg::Error when x does not broadcast to the shape
Tensor broadcast_to(const Tensor& x, IntList shape);
/// The same as broadcast_to.
/// @param x a tensor
/// @param shape the target shape; -1 keeps an axis's size
/// @throws rg::Error when x does not broadcast to the shape
Tensor expand(const Tensor& x, IntList shape);  // same as broadcast_to
// x[start:stop:step] along one axis, Python conventions (negative indices count
// from the end, bounds are clipped, step > 0).
/// x[start:stop:step] along one axis, a view; Python conventions (negative
/// indices count from the end, bounds are clipped). VJP: g written into zeros
/// of x's shape (slice_scatter).
/// @param x a tensor
/// @param axis the axis sliced
/// @param start, stop the bounds
/// @param step the stride, > 0
/// @throws rg::Error when the axis is out of range or step <= 0
Tensor slice(const Tensor& x, int axis, std::int64_t start, std::int64_t stop, std::int64_t step = 1);
// x[start:start+length] along axis, with the bounds checked (as torch.narrow).
/// x[start:start+length] along an axis, a view (torch.narrow).
/// @param x a tensor
/// @param axis the axis narrowed
/// @param start the first index (negative: from the end)
/// @param length how many elements
/// @throws rg::Error when the axis is out of range or the range does not fit
Tensor narrow(const Tensor& x, int axis, std::int64_t start, std::int64_t length);
// x[index] along axis: the axis is removed.
/// x[index] along an axis, which is removed; a view.
/// @param x a tensor
/// @param axis the axis
/// @param index the position (negative: from the end)
/// @throws rg::Error when the axis or the index is out of range
Tensor select(const Tensor& x, int axis, std::int64_t index);
// The diagonal of the (axis0, axis1) planes, as a last axis; offset > 0 above it.
/// The diagonal of the (axis0, axis1) planes as a new last axis, a view
/// (torch.diagonal). VJP: diagonal_scatter(g, x.shape, offset, axis0, axis1).
/// @param x a tensor of rank >= 2
/// @param offset 0 the main diagonal, > 0 above it, < 0 below
/// @param axis0, axis1 the two axes, distinct
/// @throws rg::Error when x has rank < 2, an axis is out of range or they are equal
Tensor diagonal(const Tensor& x, std::int64_t offset = 0, int axis0 = 0, int axis1 = 1);

// ---- shape ops that copy --------------------------------------------------------------
// Sums broadcast dimensions away so the result has `shape` (the VJP of broadcasting).
/// Broadcast axes summed away so that the result has `shape` (the VJP of
/// broadcasting). Not in LibTorch (at::sum_to is internal).
/// @param x a tensor
/// @param shape a shape that broadcasts to x's
/// @throws rg::Error when x cannot be summed down to `shape`
Tensor sum_to(const Tensor& x, const Shape& shape);
// Writes `source` into a zero tensor of `shape` at x[start:stop:step] (the VJP of slice).
/// `source` written into zeros of `shape` at [start:stop:step] along an axis
/// (slice's VJP; unlike torch.slice_scatter, the rest is zeros, not an input).
/// VJP: dsource = the slice of g.
/// @param source the values written, of the slice's shape
/// @param shape the result's shape
/// @param axis, start, stop, step the slice, as in slice
/// @throws rg::Error when source does not have the slice's shape
Tensor slice_scatter(const Tensor& source, const Shape& shape, int axis, std::int64_t start, std::int64_t stop,
                     std::int64_t step = 1);
// Writes `source` on the diagonal of a zero tensor of `shape` (the VJP of diagonal).
/// `source` written on the diagonal of zeros of `shape` (diagonal's VJP;
/// unlike torch.diagonal_scatter, the rest is zeros). VJP: dsource = diagonal(g).
/// @param source the values, of the diagonal's shape
/// @param shape the result's shape
/// @param offset, axis0, axis1 the diagonal, as in diagonal
/// @throws rg::Error when source does not have the diagonal's shape
Tensor diagonal_scatter(const Tensor& source, const Shape& shape, std::int64_t offset = 0, int axis0 = 0,
                        int axis1 = 1);
// Rows (or entries along `axis`) picked by an int64 index vector; repeats allowed.
/// Entries along an axis picked by an index vector; repeats allowed. VJP:
/// index_add of g (repeats add up).
/// @param x a tensor
/// @param axis the axis indexed
/// @param indices a 1-D int64 tensor of positions in [0, size)
/// @throws rg::Error when the axis is out of range, the indices are not 1-D
/// int64, or one is out of range
Tensor index_select(const Tensor& x, int axis, const Tensor& indices);
// Adds `source` into zeros of `shape` at the indices along axis (VJP of index_select).
/// `source` added into zeros of `shape` at the indices along an axis (index_select's
/// VJP; unlike torch.index_add, into zeros, not into an input).
/// @param source the values added
/// @param shape the result's shape
/// @param axis the axis indexed
/// @param indices a 1-D int64 tensor, one position per entry of source along the axis
/// @throws rg::Error when the shapes disagree, or an index is not int64 or out of range
Tensor index_add(const Tensor& source, const Shape& shape, int axis, const Tensor& indices);
// out[i][j] = x[i][index[i][j]] for axis 1 (torch.gather); index is int64, same rank as x.
/// out[i][j] = x[i][index[i][j]] for axis 1, and likewise for other axes
/// (torch.gather). VJP: scatter_add of g (repeats add up).
/// @param x a tensor
/// @param axis the axis indexed
/// @param index an int64 tensor of x's rank, no larger than x on the other axes
/// @throws rg::Error when the index is not int64, has another rank, exceeds x's
/// shape or holds a position out of range
Tensor gather(const Tensor& x, int axis, const Tensor& index);
// Adds source into zeros of `shape` at index along axis (VJP of gather).
/// `source` added into zeros of `shape` at `index` along an axis (gather's
/// VJP; torch.scatter_add into zeros).
/// @param source the values added
/// @param shape the result's shape
/// @param axis the axis indexed
/// @param index an int64 tensor of source's shape
/// @throws rg::Error when source and index differ in shape, the index is not
/// int64 or holds a position out of range
Tensor scatter_add(const Tensor& source, const Shape& shape, int axis, const Tensor& index);
/// Tensors joined along an existing axis (torch.cat). VJP: each input gets its slice of g.
/// @param tensors one or more tensors of one dtype and rank, equal on the other axes
/// @param axis the axis joined
/// @throws rg::Error when the list is empty, the dtypes differ, or the shapes
/// differ outside the axis
Tensor concat(const TensorList& tensors, int axis = 0);
/// Tensors of one shape stacked along a new axis (torch.stack).
/// @param tensors one or more tensors of one shape and dtype
/// @param axis where the new axis goes
/// @throws rg::Error when the list is empty or the shapes differ
Tensor stack(const TensorList& tensors, int axis = 0);
// Constant padding in torch::nn::functional::pad's order: pairs from the last
// axis back, {left, right} for the last axis, then {top, bottom} for the one
// before...; axes not named are not padded, and a negative amount crops.
/// Constant padding in torch::nn::functional::pad's order: pairs from the last
/// axis back, {left, right, top, bottom, ...}; a negative amount crops.
/// VJP: dx = pad(g, -pads).
/// @param x a float tensor
/// @param pads pairs (before, after), last axis first, for at most x's rank axes
/// @param value the padding value
/// @throws rg::Error when pads has an odd length or too many pairs, or an
/// amount leaves a negative size
Tensor pad(const Tensor& x, IntList pads, double value = 0.0);
// torch.nn.functional.pad's other modes, in the same order of pairs: reflect
// (mirrors without repeating the edge: each amount < the axis size), replicate
// (repeats the edge) and circular (wraps around: each amount <= the axis size).
// Composed from narrow, flip, broadcast_to and cat (pad_modes.cpp).
/// How pad fills: a constant, the mirror image without the edge (reflect),
/// the edge repeated (replicate), or the other end (circular).
enum class PadMode {
    constant,  ///< the value given
    reflect,  ///< mirrored without repeating the edge
    replicate,  ///< the edge repeated
    circular  ///< wrapped around from the other end
};
/// Padding in one of torch.nn.functional.pad's modes, pairs in pad's order.
/// As PyTorch, the non-constant modes pad the trailing spatial axes of an
/// (N, C, ...) or (C, ...) input only: at most rank - 1 pairs.
/// @param x a float tensor
/// @param pads pairs (before, after), last axis first, non-negative outside
/// constant mode: < the axis size for reflect, <= it for circular
/// @param mode the fill
/// @param value the padding value (constant mode only)
/// @throws rg::Error when pads has an odd length or too many pairs, or an
/// amount is negative or too large for its mode
Tensor pad(const Tensor& x, IntList pads, PadMode mode, double value = 0.0);
/// The mode's name: "constant", "reflect", "replicate" or "circular".
/// @param mode the mode
const char* pad_mode_name(PadMode mode);

// ---- softmax --------------------------------------------------------------------------
// Stable: the maximum is subtracted first, so large inputs give exact probabilities.
/// e^x / Σ e^x along an axis, the maximum subtracted first (stable).
/// VJP: dx = y (g - Σ g y) (recorded as softmax_backward).
/// @param x a float tensor of rank >= 1
/// @param axis the axis normalised
/// @throws rg::Error when the axis is out of range (a 0-D x has none) or x is not floating
Tensor softmax(const Tensor& x, int axis = -1);
/// x - logsumexp(x) along an axis, stable. VJP: dx = g - e^y Σ g
/// (recorded as log_softmax_backward).
/// @param x a float tensor of rank >= 1
/// @param axis the axis normalised
/// @throws rg::Error when the axis is out of range (a 0-D x has none) or x is not floating
Tensor log_softmax(const Tensor& x, int axis = -1);

// ---- layer normalisation ------------------------------------------------------------------
/// torch.nn.functional.layer_norm: each row of the trailing `normalized_shape`
/// axes of x centred and divided by sqrt(var + eps) (the biased variance),
/// then times weight plus bias, in one pass per row. VJP: dx =
/// layer_norm_backward(g, x, weight), dweight = Σ g x̂, dbias = Σ g over the
/// leading axes. bfloat16 is computed in float32.
/// @param x a float tensor whose trailing axes are normalized_shape
/// @param normalized_shape the sizes of the normalised axes (at least one)
/// @param weight undefined, or of shape normalized_shape and x's dtype
/// @param bias undefined, or of shape normalized_shape and x's dtype
/// @param eps added to the variance, finite and >= 0
/// @throws rg::Error when x is not floating, normalized_shape is empty, has a
///   size <= 0 or is not x's trailing shape, weight or bias has another shape
///   or dtype, or eps is negative or not finite
Tensor layer_norm(const Tensor& x, const IntList& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);
/// The VJP of layer_norm to its input: rstd (a - mean(a) - x̂ mean(a x̂))
/// per row, with a = g weight (g when weight is undefined), x̂ and rstd
/// recomputed from x. Recorded itself, so that double backward flows through it.
/// @param g the gradient of layer_norm's output, of x's shape and dtype
/// @param x layer_norm's input
/// @param weight layer_norm's weight, or undefined
/// @param normalized_shape as given to layer_norm
/// @param eps as given to layer_norm
/// @throws rg::Error as layer_norm, and when g's shape or dtype is not x's
Tensor layer_norm_backward(const Tensor& g, const Tensor& x, const Tensor& weight, const IntList& normalized_shape,
                           double eps = 1e-5);

// ---- batch normalisation ------------------------------------------------------------------
/// torch.nn.functional.batch_norm: each channel (axis 1) of x centred and
/// divided by sqrt(var + eps), the statistics taken over the batch and every
/// other axis, then times weight plus bias. In training (`training`) the
/// batch's biased variance normalises, and running_mean and running_var
/// (when defined) become (1 - momentum) running + momentum batch, the
/// variance unbiased, as PyTorch; in evaluation the running statistics
/// normalise (one addcmul, differentiable in x, weight and bias). Training
/// VJP: dx = batch_norm_backward(g, x, weight), dweight =
/// batch_norm_weight_grad(g, x), dbias = Σ g over every axis but 1.
/// bfloat16 is computed in float32.
/// @param x a float tensor (N, C, ...) of rank >= 2
/// @param running_mean undefined, or (C,) floats, updated in place in training
/// @param running_var undefined, or (C,) floats, updated in place in training
/// @param weight undefined, or (C,) of x's dtype
/// @param bias undefined, or (C,) of x's dtype
/// @param training normalise with the batch's statistics (else the running ones)
/// @param momentum the running statistics' update factor, finite
/// @param eps added to the variance, finite and >= 0
/// @throws rg::Error when x is not floating or of rank < 2, a per-channel tensor
///   has another shape (or weight and bias another dtype), eps or momentum is
///   out of range, training sees one value per channel, or evaluation lacks
///   a running statistic
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight = {},
                  const Tensor& bias = {}, bool training = false, double momentum = 0.1, double eps = 1e-5);
/// The VJP of batch_norm (training) to its input: weight rstd (g - mean(g) -
/// x̂ mean(g x̂)) per channel, x̂ and rstd recomputed from x. Recorded itself,
/// so that double backward flows through it.
/// @param g the gradient of batch_norm's output, of x's shape and dtype
/// @param x batch_norm's input
/// @param weight batch_norm's weight, or undefined
/// @param eps as given to batch_norm
/// @throws rg::Error as batch_norm, and when g's shape or dtype is not x's
Tensor batch_norm_backward(const Tensor& g, const Tensor& x, const Tensor& weight, double eps = 1e-5);
/// The VJP of batch_norm (training) to its weight: Σ g x̂ per channel, a (C,)
/// tensor. Recorded itself, so that double backward flows through it.
/// @param g the gradient of batch_norm's output, of x's shape and dtype
/// @param x batch_norm's input
/// @param eps as given to batch_norm
/// @throws rg::Error as batch_norm_backward
Tensor batch_norm_weight_grad(const Tensor& g, const Tensor& x, double eps = 1e-5);

// ---- recurrent cells ------------------------------------------------------------------------
/// An LSTM cell after its two products, in one pass: from gates = x W_ihᵀ +
/// b_ih + h W_hhᵀ + b_hh, (..., 4H) with the quarters i, f, g, o in
/// PyTorch's order, and the cell state c (..., H), the new hidden and cell
/// states h' = σ(o) tanh(c') and c' = σ(f) c + σ(i) tanh(g), stacked:
/// result[0] is h', result[1] is c'. VJP: one pass writing dgates and dc
/// (with create_graph, the same formula in single ops, so that second
/// derivatives flow). bfloat16 is computed in float32. rg::nn::LSTM and
/// LSTMCell run on it.
/// @param gates a float tensor (..., 4H) of rank >= 1
/// @param c the cell state (..., H), of gates' dtype
/// @return (2, ..., H): h' and c'
/// @throws rg::Error when gates is 0-D, its last axis is not a multiple of 4,
///   c's shape is not gates' with a quarter of the last axis, the dtypes
///   differ, or they are not floating
Tensor lstm_pointwise(const Tensor& gates, const Tensor& c);
/// A GRU cell after its two products, in one pass: from xw = x W_ihᵀ + b_ih
/// and hw = h W_hhᵀ + b_hh, (..., 3H) with the thirds r, z, n in PyTorch's
/// order, and the hidden state h (..., H), the new hidden state
/// h' = (1 - z) n + z h, with r, z = σ(xw + hw) over their thirds and
/// n = tanh(xw_n + r hw_n) (the reset gate scales hw's part, bias included,
/// as PyTorch). VJP: one pass writing dxw, dhw and dh (with create_graph, the
/// same formula in single ops). bfloat16 is computed in float32.
/// rg::nn::GRU and GRUCell run on it.
/// @param xw a float tensor (..., 3H) of rank >= 1
/// @param hw of xw's shape and dtype
/// @param h the hidden state (..., H), of xw's dtype
/// @return h', of h's shape
/// @throws rg::Error when xw is 0-D, xw and hw differ in shape, the last axis
///   is not a multiple of 3, h's shape is not xw's with a third of the last
///   axis, the dtypes differ, or they are not floating
Tensor gru_pointwise(const Tensor& xw, const Tensor& hw, const Tensor& h);

// ---- LibTorch's shape, scan, sort, reduction and product ops ------------------------------
// In LibTorch's names and argument order. chunk, split and unbind return views.
/// The order of the elements reversed along each of `dims` (a copy, as torch.flip).
/// VJP: dx = flip(g, dims).
/// @param x a tensor
/// @param dims the axes reversed
/// @throws rg::Error when an axis is out of range
Tensor flip(const Tensor& x, const Axes& dims);  // a copy, as torch.flip
/// Elements shifted circularly along dims (torch.roll).
/// @param x a tensor
/// @param shifts one shift per dim (or one, without dims); negative shifts go back
/// @param dims the axes rolled; empty: over the flattened tensor, shape kept
/// @throws rg::Error when shifts and dims differ in length (one shift without dims)
Tensor roll(const Tensor& x, IntList shifts, const Axes& dims = {});  // no dims: over the flattened tensor
/// Views of ceil(size / chunks) along a dim, as torch.chunk: the last may be
/// smaller and fewer than `chunks` may come back; an empty dim gives `chunks`
/// empty views.
/// @param x a tensor
/// @param chunks how many pieces at most, > 0
/// @param dim the axis split
/// @throws rg::Error when chunks <= 0 (or over 2^20 for an empty dim) or dim is out of range
TensorList chunk(const Tensor& x, std::int64_t chunks, int dim = 0);
/// Views of consecutive pieces of split_size along a dim; the last may be smaller.
/// @param x a tensor
/// @param split_size each piece's size, > 0
/// @param dim the axis split
/// @throws rg::Error when split_size <= 0 or dim is out of range
TensorList split(const Tensor& x, std::int64_t split_size, int dim = 0);  // the last piece may be smaller
/// Views of consecutive pieces of the given sizes along a dim.
/// @param x a tensor
/// @param split_sizes the sizes, non-negative, adding up to the dim's size
/// @param dim the axis split
/// @throws rg::Error when a size is negative, they do not add up, or dim is out of range
TensorList split(const Tensor& x, IntList split_sizes, int dim = 0);  // sizes must add up to the dim's size
/// The slices along a dim, which is removed (views, torch.unbind).
/// @param x a tensor
/// @param dim the axis
/// @throws rg::Error when dim is out of range
TensorList unbind(const Tensor& x, int dim = 0);
/// x repeated along each axis (Tensor.repeat); extra counts add leading axes.
/// @param x a tensor
/// @param repeats one count per axis (at least x.dim() of them), >= 0
/// @throws rg::Error when there are fewer counts than axes or a count is negative
Tensor repeat(const Tensor& x, IntList repeats);  // Tensor.repeat: at least x.dim() counts
/// repeat, with reps padded by leading 1s to x's rank (torch.tile).
/// @param x a tensor
/// @param reps repeat counts, >= 0
/// @throws rg::Error when a count is negative
Tensor tile(const Tensor& x, IntList reps);  // reps padded with leading 1s
/// The lower triangle of the last two axes (j - i <= k), zeros above;
/// int64 tensors too. VJP: dx = tril(g, k).
/// @param x a tensor of rank >= 2
/// @param k the diagonal kept last: 0 the main one, > 0 above it
/// @throws rg::Error when x has rank < 2
Tensor tril(const Tensor& x, std::int64_t k = 0);  // of the last two axes; int64 too
/// The upper triangle of the last two axes (j - i >= k), zeros below.
/// VJP: dx = triu(g, k).
/// @param x a tensor of rank >= 2
/// @param k the diagonal kept first: 0 the main one, > 0 above it
/// @throws rg::Error when x has rank < 2
Tensor triu(const Tensor& x, std::int64_t k = 0);
/// LibTorch's name for concat.
/// @param tensors one or more tensors of one dtype and rank, equal outside dim
/// @param dim the axis joined
/// @throws rg::Error as concat
Tensor cat(const TensorList& tensors, int dim = 0);  // concat
/// view(x, other.shape()).
/// @param x a tensor
/// @param other the tensor whose shape is taken
/// @throws rg::Error as view
Tensor view_as(const Tensor& x, const Tensor& other);
/// expand(x, other.shape()).
/// @param x a tensor
/// @param other the tensor whose shape is taken
/// @throws rg::Error as expand
Tensor expand_as(const Tensor& x, const Tensor& other);
/// Running sums along a dim. VJP: dx = flip(cumsum(flip(g))).
/// @param x a float or int64 tensor
/// @param dim the axis
/// @throws rg::Error when dim is out of range or x is bool (LibTorch sums it as int64)
Tensor cumsum(const Tensor& x, int dim);
/// Running products along a dim; the gradient is exact where x holds zeros.
/// @param x a float or int64 tensor
/// @param dim the axis
/// @throws rg::Error when dim is out of range or x is bool
Tensor cumprod(const Tensor& x, int dim);  // gradient exact where x holds zeros
// Stable: equal values keep their order; NaN sorts above every number. The
// values' gradient goes back to the positions they came from.
/// The values in order along a dim and their int64 indices; stable (equal
/// values keep their order, as torch.sort(stable=true)), NaN above every
/// number. The values' gradient goes back where they came from (gather).
/// @param x a float or int64 tensor
/// @param dim the axis sorted
/// @param descending largest first
/// @return (values, indices)
/// @throws rg::Error when dim is out of range
std::tuple<Tensor, Tensor> sort(const Tensor& x, int dim = -1, bool descending = false);  // (values, int64 indices)
/// The int64 indices that sort x along a dim (stable; no gradient).
/// @param x a float or int64 tensor
/// @param dim the axis sorted
/// @param descending largest first
/// @throws rg::Error when dim is out of range
Tensor argsort(const Tensor& x, int dim = -1, bool descending = false);
// The k largest (or smallest) along dim, always in order (`sorted` is accepted for LibTorch's signature).
/// The k largest (or smallest) values along a dim and their int64 indices,
/// always in order. The values' gradient goes back where they came from.
/// @param x a float or int64 tensor
/// @param k how many, 0 <= k <= the dim's size
/// @param dim the axis
/// @param largest the largest (else the smallest)
/// @param sorted accepted for LibTorch's signature; the result is always sorted
/// @return (values, indices)
/// @throws rg::Error when k is out of range or dim is
std::tuple<Tensor, Tensor> topk(const Tensor& x, std::int64_t k, int dim = -1, bool largest = true, bool sorted = true);
/// The product of all elements (a scalar); the gradient is exact where x holds zeros.
/// @param x a float or int64 tensor
/// @throws rg::Error when x is bool
Tensor prod(const Tensor& x);
/// The product along a dim. VJP: dx = g (product of the elements before) (product
/// of those after), no division, so exact where x holds zeros.
/// @param x a float or int64 tensor
/// @param dim the axis
/// @param keepdim keep the axis with size 1
/// @throws rg::Error when dim is out of range or x is bool
Tensor prod(const Tensor& x, int dim, bool keepdim = false);  // gradient exact where x holds zeros
/// The standard deviation sqrt(var(x)) over dims (torch.std).
/// @param x a float tensor
/// @param dims the axes reduced; empty: all of them
/// @param unbiased divide by n - 1 (else n)
/// @param keepdim keep the reduced axes with size 1
/// @throws rg::Error as var
Tensor std(const Tensor& x, const Axes& dims = {}, bool unbiased = true, bool keepdim = false);
/// The standard deviation with `correction` degrees of freedom removed.
/// @param x a float tensor
/// @param dims the axes reduced; empty: all of them
/// @param correction subtracted from n in the divisor
/// @param keepdim keep the reduced axes with size 1
/// @throws rg::Error as var
Tensor std(const Tensor& x, const Axes& dims, int correction, bool keepdim = false);
/// The vector p-norm over dims, as torch.norm and torch.linalg.vector_norm:
/// (sum |x|^p)^(1/p) for p > 0 (p = 2 over every element: the Frobenius
/// norm), max |x| for inf, min |x| for -inf, and the count of non-zero
/// elements for 0. VJPs as PyTorch's: 0 where the norm is 0 (not NaN), and for
/// p < 1 also where x is 0; the infinity norms share the gradient among ties.
/// Negative finite p are refused (LibTorch's vector_norm accepts them).
/// @param x a float tensor
/// @param p p >= 0, std::numeric_limits<double>::infinity() or its negative
/// @param dims the axes reduced; empty: all of them
/// @param keepdim keep the reduced axes with size 1
/// @throws rg::Error when p is negative and finite or NaN, x is not floating, or p = +-inf over an empty x
Tensor norm(const Tensor& x, double p = 2, const Axes& dims = {}, bool keepdim = false);
/// The product of two matrices (2-D only; matmul for other ranks).
/// @param a, b 2-D float tensors of one dtype
/// @throws rg::Error when a or b is not 2-D or the inner sizes differ
Tensor mm(const Tensor& a, const Tensor& b);  // 2-D only
/// Batched matrix product of (batch, n, m) and (batch, m, p), 3-D only.
/// @param a, b 3-D float tensors of one dtype
/// @throws rg::Error when a or b is not 3-D, the batch sizes differ or the inner sizes do
Tensor bmm(const Tensor& a, const Tensor& b);  // (batch, n, m) @ (batch, m, p) only
/// beta * input + alpha * bmm(batch1, batch2), input broadcast to the
/// product's shape; with beta = 0 input is not read (as torch.baddbmm).
/// @param input a float tensor that broadcasts to (batch, n, p)
/// @param batch1, batch2 (batch, n, m) and (batch, m, p)
/// @param beta, alpha the factors
/// @throws rg::Error as bmm, or when input does not broadcast to the product's shape
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta = 1.0, double alpha = 1.0);
// "ij,jk->ik", "bhqd,bhkd->bhqk", "ii->", "...ij,...jk" (implicit output: the
// '...' dims, then the letters used once, alphabetically).
/// Einstein summation: "ij,jk->ik", "bhqd,bhkd->bhqk", "ii->" (a trace),
/// "...ij,...jk" (implicit output: the '...' dims, then the letters used once,
/// alphabetically). Composed of diagonal, sum, permute, reshape and matmul.
/// @param equation the subscripts, letters a-z and A-Z, with '...' and '->'
/// @param operands one float tensor per term, of one dtype
/// @throws rg::Error when the equation is malformed, the operands do not
/// match it in number, rank or sizes, or are not floating
Tensor einsum(std::string_view equation, const TensorList& operands);
// In training, zeros each element with probability p and scales the rest by 1 / (1 - p).
/// In training, each element zeroed with probability p and the others scaled
/// by 1 / (1 - p) (the random mask comes from rg::manual_seed's generator);
/// otherwise x itself.
/// @param x a float tensor
/// @param p the probability of zeroing, in [0, 1]
/// @param training whether to drop; false returns x
/// @throws rg::Error when p is outside [0, 1] or x is not floating
Tensor dropout(const Tensor& x, double p, bool training);

// ---- helpers shared by ops (validation) ----------------------------------------------
/// A possibly negative axis as an index in [0, rank).
/// @param axis the axis, from -rank to rank - 1
/// @param rank the tensor's rank
/// @param op the op named in the error
/// @return the axis counted from the front
/// @throws rg::Error when the axis is out of range (always for rank 0)
std::size_t normalize_axis(int axis, std::size_t rank, const char* op);
/// The NumPy broadcast of two shapes.
/// @param a, b the shapes
/// @param op the op named in the error
/// @throws rg::Error when they do not broadcast (sizes differ and neither is 1)
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace rg
