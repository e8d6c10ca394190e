// LibTorch's fixed-rank products: mm (2-D), bmm (3-D batches) and baddbmm
// (beta * input + alpha * bmm). Composites of matmul, whose gemm has the VJP;
// they exist for their names and for their clear rank errors.
#include "op_defs.hpp"
#include "op_references.hpp"

namespace rg {
namespace {

using detail::ref::Array;
using detail::ref::for_each_index;
using detail::ref::Index;

// sum over j of a[b, i, j] * b[b, j, k] for 3-D arrays.
Array batched_product_reference(const Array& a, const Array& b) {
    Array out(Shape{a.shape[0], a.shape[1], b.shape[2]});
    for_each_index(out.shape, [&](const Index& at) {
        for (std::size_t j = 0; j < a.shape[2]; ++j) out[at] += a[{at[0], at[1], j}] * b[{at[0], j, at[2]}];
    });
    return out;
}

void check_bmm_operands(const Tensor& a, const Tensor& b, const char* op) {
    detail::check_same_dtype(a, b, op);
    if (a.dim() != 3 || b.dim() != 3)
        fail("{}: expected two 3-D tensors (batch, n, m) and (batch, m, p), got shapes {} and {}; matmul "
             "broadcasts batches of any rank",
             op, shape_str(a.shape()), shape_str(b.shape()));
    if (a.shape()[0] != b.shape()[0])
        fail("{}: batch sizes {} and {} differ in shapes {} and {}", op, a.shape()[0], b.shape()[0],
             shape_str(a.shape()), shape_str(b.shape()));
    if (a.shape()[2] != b.shape()[1])
        fail("{}: cannot multiply {} by {}: inner sizes {} and {} differ", op, shape_str(a.shape()),
             shape_str(b.shape()), a.shape()[2], b.shape()[1]);
}

}  // namespace

const OpDef& mm_def = define_op({.name = "mm",
                                 .signature = "mm(a, b)",
                                 .doc = "the product of two matrices (2-D only; matmul for other ranks)",
                                 .rule = "composite: matmul",
                                 .kind = OpKind::linalg,
                                 .call = [](const TensorList& v) { return mm(v[0], v[1]); },
                                 .samples = {{{Shape{2, 3}, Shape{3, 4}}, -2.0, 2.0}},
                                 .composite = true,
                                 .bad_shapes = {Shape{2, 3}, Shape{3}},
                                 .reference =
                                     [](const TensorList& v) {
                                         const Array a(reshape(v[0], {1, 2, 3})), b(reshape(v[1], {1, 3, 4}));
                                         return reshape(batched_product_reference(a, b).tensor(), {2, 4});
                                     }});
Tensor mm(const Tensor& a, const Tensor& b) {
    detail::check_same_dtype(a, b, "mm");
    if (a.dim() != 2 || b.dim() != 2)
        fail("mm: expected two 2-D tensors, got shapes {} and {}; matmul takes other ranks", shape_str(a.shape()),
             shape_str(b.shape()));
    if (a.shape()[1] != b.shape()[0])
        fail("mm: cannot multiply {} by {}: inner sizes {} and {} differ", shape_str(a.shape()), shape_str(b.shape()),
             a.shape()[1], b.shape()[0]);
    return matmul(a, b);
}

const OpDef& bmm_def = define_op(
    {.name = "bmm",
     .signature = "bmm(a, b)",
     .doc = "batched matrix product of (batch, n, m) and (batch, m, p) (3-D only)",
     .rule = "composite: matmul",
     .kind = OpKind::linalg,
     .call = [](const TensorList& v) { return bmm(v[0], v[1]); },
     .samples = {{{Shape{2, 3, 4}, Shape{2, 4, 2}}, -2.0, 2.0}, {{Shape{1, 0, 2}, Shape{1, 2, 3}}, -2.0, 2.0}},
     .composite = true,
     .bad_shapes = {Shape{3, 4}, Shape{4, 2}},
     .reference = [](const TensorList& v) { return batched_product_reference(Array(v[0]), Array(v[1])).tensor(); }});
Tensor bmm(const Tensor& a, const Tensor& b) {
    check_bmm_operands(a, b, "bmm");
    return matmul(a, b);
}

const OpDef& baddbmm_def =
    define_op({.name = "baddbmm",
               .signature = "baddbmm(input, batch1, batch2, beta = 1, alpha = 1)",
               .doc = "beta * input + alpha * bmm(batch1, batch2), input broadcast; with beta = 0 input is not read",
               .rule = "composite: beta * input + alpha * matmul",
               .kind = OpKind::linalg,
               .call = [](const TensorList& v) { return baddbmm(v[0], v[1], v[2], 0.5, 2.0); },
               .samples = {{{Shape{2, 3, 2}, Shape{2, 3, 4}, Shape{2, 4, 2}}, -2.0, 2.0},
                           {{Shape{2}, Shape{2, 3, 4}, Shape{2, 4, 2}}, -2.0, 2.0}},
               .composite = true,
               .bad_shapes = {Shape{2, 3, 2}, Shape{2, 3, 4}, Shape{3, 4, 2}},
               .reference =
                   [](const TensorList& v) {
                       const Array input(broadcast_to(v[0], {2, 3, 2}));
                       Array out = batched_product_reference(Array(v[1]), Array(v[2]));
                       for (std::size_t i = 0; i < out.values.size(); ++i)
                           out.values[i] = 0.5 * input.values[i] + 2.0 * out.values[i];
                       return out.tensor();
                   }});
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta, double alpha) {
    check_bmm_operands(batch1, batch2, "baddbmm");
    detail::check_same_dtype(input, batch1, "baddbmm");
    const Shape out{batch1.shape()[0], batch1.shape()[1], batch2.shape()[2]};
    if (input.dim() > 3 || broadcast_shapes(input.shape(), out, "baddbmm") != out)
        fail("baddbmm: input of shape {} does not broadcast to the product's shape {}", shape_str(input.shape()),
             shape_str(out));
    Tensor product = alpha == 1.0 ? matmul(batch1, batch2) : matmul(batch1, batch2) * alpha;
    if (beta == 0.0) return product;  // as PyTorch: input is ignored, its NaN and Inf included
    return (beta == 1.0 ? input : input * beta) + product;
}

void detail::link_products() {}  // see registry.cpp

}  // namespace rg
