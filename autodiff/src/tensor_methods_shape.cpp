// The method forms of LibTorch's shape, scan, sort, reduction and product ops
// (x.flip({0}), x.topk(5), x.var(1, false, true)...), each the free function.
#include "kernels.hpp"

namespace rg {

Tensor Tensor::flip(const Axes& dims) const { return rg::flip(*this, dims); }
Tensor Tensor::roll(IntList shifts, const Axes& dims) const { return rg::roll(*this, shifts, dims); }
TensorList Tensor::chunk(std::int64_t chunks, int dim) const { return rg::chunk(*this, chunks, dim); }
TensorList Tensor::split(std::int64_t split_size, int dim) const { return rg::split(*this, split_size, dim); }
TensorList Tensor::split(IntList split_sizes, int dim) const { return rg::split(*this, split_sizes, dim); }
TensorList Tensor::unbind(int dim) const { return rg::unbind(*this, dim); }
Tensor Tensor::repeat(IntList repeats) const { return rg::repeat(*this, repeats); }
Tensor Tensor::tile(IntList reps) const { return rg::tile(*this, reps); }
Tensor Tensor::tril(std::int64_t k) const { return rg::tril(*this, k); }
Tensor Tensor::triu(std::int64_t k) const { return rg::triu(*this, k); }
Tensor Tensor::view_as(const Tensor& other) const { return rg::view_as(*this, other); }
Tensor Tensor::expand_as(const Tensor& other) const { return rg::expand_as(*this, other); }
Tensor Tensor::cumsum(int dim) const { return rg::cumsum(*this, dim); }
Tensor Tensor::cumprod(int dim) const { return rg::cumprod(*this, dim); }
std::tuple<Tensor, Tensor> Tensor::sort(int dim, bool descending) const { return rg::sort(*this, dim, descending); }
Tensor Tensor::argsort(int dim, bool descending) const { return rg::argsort(*this, dim, descending); }
std::tuple<Tensor, Tensor> Tensor::topk(std::int64_t k, int dim, bool largest, bool sorted) const {
    return rg::topk(*this, k, dim, largest, sorted);
}
Tensor Tensor::prod() const { return rg::prod(*this); }
Tensor Tensor::prod(int dim, bool keepdim) const { return rg::prod(*this, dim, keepdim); }
Tensor Tensor::var() const { return rg::var(*this); }
Tensor Tensor::var(int dim, bool unbiased, bool keepdim) const {
    return rg::var(*this, {dim}, keepdim, unbiased ? 1 : 0);
}
Tensor Tensor::std() const { return rg::std(*this); }
Tensor Tensor::std(int dim, bool unbiased, bool keepdim) const { return rg::std(*this, {dim}, unbiased, keepdim); }
Tensor Tensor::norm(double p, const Axes& dims, bool keepdim) const { return rg::norm(*this, p, dims, keepdim); }
Tensor Tensor::outer(const Tensor& other) const { return rg::outer(*this, other); }
Tensor Tensor::mm(const Tensor& other) const { return rg::mm(*this, other); }
Tensor Tensor::bmm(const Tensor& other) const { return rg::bmm(*this, other); }
Tensor Tensor::baddbmm(const Tensor& batch1, const Tensor& batch2, double beta, double alpha) const {
    return rg::baddbmm(*this, batch1, batch2, beta, alpha);
}

}  // namespace rg
