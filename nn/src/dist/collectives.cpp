// all_reduce, broadcast, all_gather and barrier on tensors.
#include "mpi.hpp"

#include <retrograd/dist/collectives.hpp>

#include <array>
#include <cstring>
#include <limits>
#include <vector>

namespace rg::dist {
namespace {

enum class Kind : std::int64_t { all_reduce = 1, broadcast, all_gather, barrier };

const char* kind_name(std::int64_t kind) {
    switch (static_cast<Kind>(kind)) {
        case Kind::all_reduce: return "all_reduce";
        case Kind::broadcast: return "broadcast";
        case Kind::all_gather: return "all_gather";
        case Kind::barrier: return "barrier";
    }
    return "an unknown collective";
}

const char* op_name(std::int64_t op) {
    static const char* names[] = {"sum", "mean", "max", "min"};
    return op >= 0 && op < 4 ? names[op] : "?";
}

// What a rank passed to a collective: kind, op or root, dtype, rank and up to
// 8 sizes (a longer shape folds the rest into the last).
constexpr std::size_t max_dims = 8;
using Descriptor = std::array<std::int64_t, 4 + max_dims>;

Descriptor describe(Kind kind, std::int64_t argument, const Tensor* t) {
    Descriptor d{};
    d[0] = static_cast<std::int64_t>(kind);
    d[1] = argument;
    if (!t) return d;
    d[2] = static_cast<std::int64_t>(t->dtype());
    d[3] = static_cast<std::int64_t>(t->dim());
    for (std::size_t i = 0; i < t->dim(); ++i) {
        const auto size = static_cast<std::int64_t>(t->shape()[i]);
        const std::size_t slot = std::min(i, max_dims - 1);
        d[4 + slot] = i < max_dims ? size : d[4 + slot] * size;
    }
    return d;
}

std::string tensor_str(const Descriptor& d) {
    Shape shape;
    for (std::int64_t i = 0; i < std::min<std::int64_t>(d[3], max_dims); ++i)
        shape.push_back(static_cast<std::size_t>(d[4 + i]));
    return fmt::format("{} {}", shape_str(shape), dtype_name(static_cast<Dtype>(d[2])));
}

// Every rank learns what every other passed and fails with the same message
// if they differ, naming rank 0's arguments and the first rank that differs.
void agree(Kind kind, std::int64_t argument, const Tensor* t, const char* caller) {
    MPI_Comm comm = detail::comm(caller);
    const int size = detail::size_or_one(), me = detail::rank_or_zero();
    if (t && t->numel() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        fail("{} (rank {}): {} has {} elements, more than MPI's count limit {}; split it", caller, me,
             shape_str(t->shape()), t->numel(), std::numeric_limits<int>::max());
    const Descriptor mine = describe(kind, argument, t);
    std::vector<Descriptor> all(static_cast<std::size_t>(size));
    MPI_Request request;
    detail::check(MPI_Iallgather(mine.data(), static_cast<int>(mine.size()), MPI_INT64_T, all.data(),
                                 static_cast<int>(mine.size()), MPI_INT64_T, comm, &request),
                  caller);
    detail::wait(&request, 1, caller);
    const Descriptor& first = all[0];
    for (int r = 1; r < size; ++r) {
        const Descriptor& other = all[static_cast<std::size_t>(r)];
        if (other == first) continue;
        if (other[0] != first[0])
            fail("{} (rank {} of {}): rank 0 called {} but rank {} called {}; every rank must call the same "
                 "collectives in the same order",
                 caller, me, size, kind_name(first[0]), r, kind_name(other[0]));
        if (kind == Kind::broadcast && other[1] != first[1])
            fail("{} (rank {} of {}): rank 0 named root {} but rank {} named root {}; every rank must name the same "
                 "root",
                 caller, me, size, first[1], r, other[1]);
        if (other[1] != first[1])
            fail("{} (rank {} of {}): rank 0 asked for {} but rank {} for {}; every rank must ask for the same "
                 "reduction",
                 caller, me, size, op_name(first[1]), r, op_name(other[1]));
        fail("{} (rank {} of {}): rank 0 passed {} but rank {} passed {}; every rank must pass the same shape and "
             "dtype",
             caller, me, size, tensor_str(first), r, tensor_str(other));
    }
}

MPI_Op mpi_op(ReduceOp op) {
    switch (op) {
        case ReduceOp::max: return MPI_MAX;
        case ReduceOp::min: return MPI_MIN;
        default: return MPI_SUM;
    }
}

const Tensor& defined(const Tensor& t, const char* caller) {
    if (!t.defined()) fail("{}: the tensor is undefined", caller);
    return t;
}

}  // namespace

void all_reduce(Tensor& tensor, ReduceOp op) {
    const char* caller = "rg::dist::all_reduce";
    defined(tensor, caller);
    if (tensor.dtype() == Dtype::bool_)  // MPI reduces bools with logical ops only
        fail("{}: cannot reduce the bool tensor {}; convert it with .to(rg::int64) first", caller,
             shape_str(tensor.shape()));
    if (tensor.dtype() == Dtype::bfloat16)  // MPI has no bfloat16 arithmetic
        fail("{}: cannot reduce the bfloat16 tensor {}; convert it with .to(rg::float32) first", caller,
             shape_str(tensor.shape()));
    if (op == ReduceOp::mean && !tensor.is_floating())
        fail("{}: mean of an int64 tensor {} would round; use ReduceOp::sum and divide, or convert to float64", caller,
             shape_str(tensor.shape()));
    agree(Kind::all_reduce, static_cast<std::int64_t>(op), &tensor, caller);
    if (tensor.numel() == 0) return;
    MPI_Comm comm = detail::comm(caller);
    detail::with_contiguous_values(tensor, true, [&](void* values) {
        MPI_Request request;
        detail::check(MPI_Iallreduce(MPI_IN_PLACE, values, static_cast<int>(tensor.numel()),
                                     detail::mpi_type(tensor.dtype()), mpi_op(op), comm, &request),
                      caller);
        detail::wait(&request, 1, caller);
        if (op == ReduceOp::mean) {
            const auto n = static_cast<double>(detail::size_or_one());
            if (tensor.dtype() == Dtype::float32)
                for (float *p = static_cast<float*>(values), *end = p + tensor.numel(); p != end; ++p)
                    *p = static_cast<float>(*p / n);
            else
                for (double *p = static_cast<double*>(values), *end = p + tensor.numel(); p != end; ++p) *p /= n;
        }
    });
}

void broadcast(Tensor& tensor, int root) {
    const char* caller = "rg::dist::broadcast";
    defined(tensor, caller);
    MPI_Comm comm = detail::comm(caller);
    if (root < 0 || root >= detail::size_or_one())
        fail("{} (rank {}): root {} is not a rank; ranks go from 0 to {}", caller, detail::rank_or_zero(), root,
             detail::size_or_one() - 1);
    agree(Kind::broadcast, root, &tensor, caller);
    if (tensor.numel() == 0) return;
    detail::with_contiguous_values(tensor, true, [&](void* values) {
        MPI_Request request;
        detail::check(MPI_Ibcast(values, static_cast<int>(tensor.numel()), detail::mpi_type(tensor.dtype()), root, comm,
                                 &request),
                      caller);
        detail::wait(&request, 1, caller);
    });
}

TensorList all_gather(const Tensor& tensor) {
    const char* caller = "rg::dist::all_gather";
    defined(tensor, caller);
    agree(Kind::all_gather, 0, &tensor, caller);
    MPI_Comm comm = detail::comm(caller);
    const auto size = static_cast<std::size_t>(detail::size_or_one());
    const std::size_t n = tensor.numel(), bytes = n * detail::element_size(tensor.dtype());
    Tensor all = empty({size * n}, {tensor.dtype()});  // every rank's values, one after the other
    if (n > 0) {
        detail::with_contiguous_values(tensor, false, [&](void* mine) {
            detail::with_contiguous_values(all, true, [&](void* out) {
                MPI_Request request;
                detail::check(MPI_Iallgather(mine, static_cast<int>(n), detail::mpi_type(tensor.dtype()), out,
                                             static_cast<int>(n), detail::mpi_type(tensor.dtype()), comm, &request),
                              caller);
                detail::wait(&request, 1, caller);
            });
        });
    }
    TensorList result;
    detail::with_contiguous_values(all, false, [&](void* gathered) {
        for (std::size_t r = 0; r < size; ++r) {
            Tensor part = empty(tensor.shape(), {tensor.dtype()});
            if (n > 0)
                detail::with_contiguous_values(part, true, [&](void* out) {
                    std::memcpy(out, static_cast<const char*>(gathered) + r * bytes, bytes);
                });
            result.push_back(part);
        }
    });
    return result;
}

void barrier() {
    // Exchanging the descriptors is itself a barrier: no rank's all-gather
    // completes before every rank has contributed.
    agree(Kind::barrier, 0, nullptr, "rg::dist::barrier");
}

}  // namespace rg::dist
