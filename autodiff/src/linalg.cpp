// matmul, gemm and gemm_sum: shapes, broadcast batches, views read in place,
// and their VJPs; the products themselves are in kernels/blas.cpp.
#include "kernels/batched_product.hpp"
#include "kernels/bf16.hpp"
#include "kernels/onednn.hpp"
#include "op_defs.hpp"

namespace rg {
namespace {

// A matrix operand as BLAS reads it, without copying a transposed or
// batch-sliced view: row-major (unit column stride) or column-major (unit row
// stride, read as the transpose) with a leading dimension; other layouts are
// copied dense first.
template <class T> struct MatrixOperand {
    MatrixOperand(const Tensor& t, bool transpose) {
        const std::size_t r = t.dim() - 2;
        const auto rows = static_cast<std::ptrdiff_t>(t.shape()[r]),
                   cols = static_cast<std::ptrdiff_t>(t.shape()[r + 1]);
        const std::ptrdiff_t sr = t.strides()[r], sc = t.strides()[r + 1];
        const Tensor& source = t;
        if ((sc == 1 || cols == 1) && sr >= std::max<std::ptrdiff_t>(cols, 1)) {
            set(source, transpose, static_cast<std::size_t>(sr));
        } else if ((sr == 1 || rows == 1) && sc >= std::max<std::ptrdiff_t>(rows, 1)) {
            set(source, !transpose, static_cast<std::size_t>(sc));  // a transposed view: BLAS transposes it back
        } else {
            holder = detail::contiguous_values(t);
            set(holder, transpose, static_cast<std::size_t>(std::max<std::ptrdiff_t>(cols, 1)));
        }
    }
    const T* data = nullptr;
    bool transposed = false;
    std::size_t ld = 1;
    Strides batch_strides;

private:
    void set(const Tensor& t, bool transpose, std::size_t leading) {
        data = t.data_ptr<T>();
        transposed = transpose;
        ld = leading;
        batch_strides.assign(t.strides().begin(), t.strides().end() - 2);
    }
    Tensor holder;
};

[[noreturn]] void inner_mismatch(const char* op, const Shape& a, const Shape& b, std::size_t ka, std::size_t kb) {
    fail("{}: cannot multiply {} by {}: inner sizes {} and {} differ", op, shape_str(a), shape_str(b), ka, kb);
}

}  // namespace

// The "matmul" entry: the public matmul() (1-D operands unsqueezed) and
// gemm() both record this node.
const OpDef& gemm_def = define_op(
    {.name = "matmul",
     .signature = "matmul(A, B), gemm(A, B, transpose_a, transpose_b)",
     .doc = "NumPy matmul through BLAS: vectors, matrices and broadcast batches; gemm with transpose flags",
     .rule = "Y = A B: dA = G B^T, dB = A^T G (summed over broadcast batches; for Y = A W^T, as in Linear, dW = G^T A)",
     .kind = OpKind::linalg,
     .call = [](const TensorList& v) { return matmul(v[0], v[1]); },
     .samples = {{{Shape{2, 3}, Shape{3, 4}}, -2.0, 2.0},
                 {{Shape{3}, Shape{3, 2}}, -2.0, 2.0},
                 {{Shape{2, 3}, Shape{3}}, -2.0, 2.0},
                 {{Shape{2, 2, 3}, Shape{3, 4}}, -2.0, 2.0},
                 {{Shape{0, 3}, Shape{3, 2}}, -2.0, 2.0}},
     .aliases = {"gemm"},
     .bad_shapes = {Shape{2, 3}, Shape{4, 2}}});
Tensor gemm(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    detail::check_same_dtype(a, b, "matmul");
    if (a.dim() < 2 || b.dim() < 2)
        fail("gemm: expected operands of rank 2 or more, got shapes {} and {}", shape_str(a.shape()),
             shape_str(b.shape()));
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const std::size_t ra = sa[sa.size() - 2], ca = sa.back(), rb = sb[sb.size() - 2], cb = sb.back();
    const std::size_t m = transpose_a ? ca : ra, k = transpose_a ? ra : ca;
    const std::size_t kb = transpose_b ? cb : rb, n = transpose_b ? rb : cb;
    if (k != kb) {
        if (transpose_a || transpose_b) {
            const Shape ea{m, k}, eb{kb, n};
            inner_mismatch("matmul", ea, eb, k, kb);
        }
        inner_mismatch("matmul", sa, sb, k, kb);
    }
    const Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
    const Shape batch = batch_a == batch_b ? batch_a : broadcast_shapes(batch_a, batch_b, "matmul");
    Shape out_shape = batch;
    out_shape.push_back(m);
    out_shape.push_back(n);
    // Under rg::Autocast's native kernel, the bfloat16 images of a and b,
    // which the backward products take instead of converting them again.
    std::shared_ptr<detail::Bf16Images> images;
    if (a.dtype() == Dtype::float32 && batch.empty() && needs_grad(a, b) &&
        detail::product_mode() == detail::ProductMode::native)
        images = detail::bf16_images();
    Tensor out = detail::visit_dtype(a.dtype(), [&](auto zero) {
        using T = decltype(zero);
        if constexpr (std::is_integral_v<T>) {
            fail("matmul: expected float32 or float64 tensors, got {}", dtype_name(a.dtype()));
            return Tensor{};
        } else if constexpr (std::is_same_v<T, BFloat16>) {
            // The product of the bfloat16 values in float32 (exact inputs), rounded once.
            return detail::float32_as_bf16(detail::without_grad([&] {
                return gemm(detail::bf16_as_float32(a), detail::bf16_as_float32(b), transpose_a, transpose_b);
            }));
        } else {
            const MatrixOperand<T> x(a, transpose_a), y(b, transpose_b);
            Tensor c = detail::empty_dense<T>(out_shape, "matmul");
            // Each operand's image kept only for the other's gradient, which reads it.
            std::optional<detail::Bf16ImageScope> scope;
            if (images)
                scope.emplace(images.get(), std::initializer_list<const void*>{needs_grad(b) ? a.data_ptr() : nullptr,
                                                                               needs_grad(a) ? b.data_ptr() : nullptr});
            // One BLAS call per matrix of the (broadcast) batch; batch strides in elements.
            detail::product_batch<T>({x.data, x.transposed, x.ld,
                                      detail::broadcast_strides(batch_a, x.batch_strides, batch)},
                                     {y.data, y.transposed, y.ld,
                                      detail::broadcast_strides(batch_b, y.batch_strides, batch)},
                                     batch, m, n, k, c.data_ptr<T>());
            return c;
        }
    });
    if (!needs_grad(a, b)) return out;
    // d op(A) = G op(B)^T and d op(B) = op(A)^T G, rewritten as gemms of the
    // stored operands (no transposed copies), then summed over broadcast batches.
    // Each operand is saved only for the other's gradient.
    // A product recorded inside rg::Autocast has its backward products in bfloat16 too.
    return record(gemm_def, out, {a, b}, {.inputs = {b.requires_grad(), a.requires_grad()}},
                  [transpose_a, transpose_b, bf16 = detail::autocast_products(), images](const OpContext& c,
                                                                                         const Tensor& g) {
                      const detail::AutocastProducts products(bf16);
                      const Shape& shape_a = c.input_shape(0);
                      const Shape& shape_b = c.input_shape(1);
                      // A 2-D operand shared by a batch whose other operand has every batch
                      // axis gets its gradient summed by gemm_sum, in one accumulating pass.
                      const bool a_shared = shape_a.size() == 2 && shape_b.size() > 2 && shape_b.size() == g.dim();
                      const bool b_shared = shape_b.size() == 2 && shape_a.size() > 2 && shape_a.size() == g.dim();
                      // Unpacked (their versions checked) before their images are read.
                      const Tensor b = c.needs_grad(0) ? c.input(1) : Tensor{};
                      const Tensor a = c.needs_grad(1) ? c.input(0) : Tensor{};
                      // The forward pass's images of a and b, and g's, converted once for both products.
                      std::shared_ptr<detail::Bf16Images> mine;
                      std::optional<detail::Bf16ImageScope> scope;
                      if (images && g.dtype() == Dtype::float32) {
                          const auto first = [](const Tensor& t) -> const void* {
                              return t.defined() ? t.data_ptr() : nullptr;
                          };
                          mine = detail::bf16_images(images.get());
                          scope.emplace(mine.get(), std::initializer_list<const void*>{first(g), first(a), first(b)});
                      }
                      Tensor ga, gb;
                      if (c.needs_grad(0)) {
                          auto grad_a = a_shared ? gemm_sum : gemm;
                          ga = sum_to(transpose_a ? grad_a(b, g, transpose_b, true) : grad_a(g, b, false, !transpose_b),
                                      shape_a);
                      }
                      if (c.needs_grad(1)) {
                          auto grad_b = b_shared ? gemm_sum : gemm;
                          gb = sum_to(transpose_b ? grad_b(g, a, true, transpose_a) : grad_b(a, g, !transpose_a, false),
                                      shape_b);
                      }
                      return GradList{ga, gb};
                  });
}

const OpDef& gemm_sum_def =
    define_op({.name = "gemm_sum",
               .signature = "gemm_sum(a, b, transpose_a, transpose_b)",
               .doc = "sum over the batch of op(a_i) @ op(b_i): a shared weight's gradient in one pass",
               .rule = "Y = sum over the batch of A_i B_i: dA_i = G B_i^T, dB_i = A_i^T G",
               .kind = OpKind::linalg,
               .call = [](const TensorList& v) { return gemm_sum(v[0], v[1], true, false); },
               .samples = {{{Shape{2, 3, 4}, Shape{2, 3, 5}}, -2.0, 2.0}}});
Tensor gemm_sum(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
    detail::check_same_dtype(a, b, "gemm_sum");
    if (a.dim() < 3 || a.shape().size() != b.dim() ||
        !std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()))
        fail("gemm_sum: expected operands with the same batch axes, got shapes {} and {}", shape_str(a.shape()),
             shape_str(b.shape()));
    const Shape& sa = a.shape();
    const Shape& sb = b.shape();
    const std::size_t ra = sa[sa.size() - 2], ca = sa.back(), rb = sb[sb.size() - 2], cb = sb.back();
    const std::size_t m = transpose_a ? ca : ra, k = transpose_a ? ra : ca;
    const std::size_t kb = transpose_b ? cb : rb, n = transpose_b ? rb : cb;
    if (k != kb) inner_mismatch("gemm_sum", Shape{m, k}, Shape{kb, n}, k, kb);
    const std::size_t batch = a.numel() / (ra * ca);
    Tensor out = detail::visit_float2(a, b, "gemm_sum", [&](const auto& x, const auto& y) {
        using T = typename std::decay_t<decltype(x)>::value_type;
        Tensor c = detail::empty_dense<T>(Shape{m, n}, "gemm_sum");
        detail::product_sum(transpose_a, transpose_b, m, n, k, x.data(), ra * ca, ca, y.data(), rb * cb, cb, batch,
                            c.data_ptr<T>());
        return c;
    });
    if (!needs_grad(a, b)) return out;
    // Each term's gradient, with the 2-D output gradient shared by the batch.
    return record(gemm_sum_def, out, {a, b}, {.inputs = {b.requires_grad(), a.requires_grad()}},
                  [transpose_a, transpose_b](const OpContext& c, const Tensor& g) {
                      Tensor ga, gb;
                      if (c.needs_grad(0)) {
                          const Tensor b = c.input(1);
                          ga = transpose_a ? gemm(b, g, transpose_b, true) : gemm(g, b, false, !transpose_b);
                      }
                      if (c.needs_grad(1)) {
                          const Tensor a = c.input(0);
                          gb = transpose_b ? gemm(g, a, true, transpose_a) : gemm(a, g, !transpose_a, false);
                      }
                      return GradList{ga, gb};
                  });
}

Tensor matmul(const Tensor& a, const Tensor& b) {
    detail::check_same_dtype(a, b, "matmul");
    if (a.dim() == 0 || b.dim() == 0)
        fail("matmul: both operands need at least one dimension, got shapes {} and {}", shape_str(a.shape()),
             shape_str(b.shape()));
    if (a.dim() == 1 && b.dim() == 1) {
        if (a.shape()[0] != b.shape()[0]) inner_mismatch("matmul", a.shape(), b.shape(), a.shape()[0], b.shape()[0]);
        return dot(a, b);
    }
    if (a.dim() == 1) {
        if (a.shape()[0] != b.shape()[b.dim() - 2])
            inner_mismatch("matmul", a.shape(), b.shape(), a.shape()[0], b.shape()[b.dim() - 2]);
        return squeeze(matmul(unsqueeze(a, 0), b), -2);
    }
    if (b.dim() == 1) {
        if (b.shape()[0] != a.shape().back())
            inner_mismatch("matmul", a.shape(), b.shape(), a.shape().back(), b.shape()[0]);
        return squeeze(matmul(a, unsqueeze(b, -1)), -1);
    }
    return gemm(a, b, false, false);
}

const OpDef& dot_def = define_op({.name = "dot",
                                  .signature = "dot(a, b)",
                                  .doc = "a · b of two vectors",
                                  .rule = "composite: sum(a * b)",
                                  .kind = OpKind::linalg,
                                  .call = [](const TensorList& v) { return dot(v[0], v[1]); },
                                  .samples = {{{Shape{3}, Shape{3}}, -2.0, 2.0}},
                                  .composite = true,
                                  .bad_shapes = {Shape{3}, Shape{4}}});
Tensor dot(const Tensor& a, const Tensor& b) {
    detail::check_same_dtype(a, b, "dot");
    if (a.dim() != 1 || b.dim() != 1 || a.shape()[0] != b.shape()[0])
        fail("dot: expected two 1-D tensors of the same length, got {} and {}", shape_str(a.shape()),
             shape_str(b.shape()));
    return sum(a * b);
}

const OpDef& outer_def = define_op({.name = "outer",
                                    .signature = "outer(a, b)",
                                    .doc = "a ⊗ b of two vectors",
                                    .rule = "composite: unsqueeze(a, 1) * unsqueeze(b, 0)",
                                    .kind = OpKind::linalg,
                                    .call = [](const TensorList& v) { return outer(v[0], v[1]); },
                                    .samples = {{{Shape{3}, Shape{2}}, -2.0, 2.0}},
                                    .composite = true});
Tensor outer(const Tensor& a, const Tensor& b) {
    if (a.dim() != 1 || b.dim() != 1)
        fail("outer: expected two 1-D tensors, got {} and {}", shape_str(a.shape()), shape_str(b.shape()));
    return unsqueeze(a, 1) * unsqueeze(b, 0);
}

void detail::link_linalg() {}  // see registry.cpp

}  // namespace rg
