#pragma once
// What rg::dist's sources share: the communicator, error checks, waits with a
// deadline and the one place that reaches a tensor's values.
#include <retrograd/tensor.hpp>

#include <mpi.h>

#include <cstddef>
#include <string_view>

namespace rg::dist::detail {

// The library's own communicator (a duplicate of MPI_COMM_WORLD with
// MPI_ERRORS_RETURN). Fails naming `caller` when no Environment is alive, or
// when called from another thread than MPI's (MPI_THREAD_FUNNELED).
MPI_Comm comm(std::string_view caller);
int rank_or_zero();
int size_or_one();
// An rg::Error naming the caller, this rank and MPI's message, unless code is MPI_SUCCESS.
void check(int code, std::string_view caller);
// Waits for `count` requests by polling (MPI_Testall), so that a rank that
// never arrives makes an rg::Error after the Environment's timeout instead of
// a hang. Returns the seconds spent waiting.
double wait(MPI_Request* requests, int count, std::string_view caller);
// Lets MPI progress outstanding requests (MPI only moves non-blocking
// collectives forward inside MPI calls); true when all are complete.
bool test(MPI_Request* requests, int count, std::string_view caller);

MPI_Datatype mpi_type(Dtype dtype);
std::size_t element_size(Dtype dtype);

// The one place that touches a tensor's storage. Every tensor is contiguous
// today (an xt::xarray, row-major), so MPI reads and writes its values where
// they are. With strided views (engine v2) a non-contiguous tensor goes
// through a contiguous copy here, written back after `use` when `write_back`.
template <class F>
void with_contiguous_values(const Tensor& tensor, bool write_back, F&& use) {
    (void)write_back;
    Tensor t = tensor;
    switch (t.dtype()) {
        case Dtype::float32: use(static_cast<void*>(t.value<float>().data())); break;
        case Dtype::float64: use(static_cast<void*>(t.value<double>().data())); break;
        case Dtype::int64: use(static_cast<void*>(t.value<std::int64_t>().data())); break;
    }
}

}  // namespace rg::dist::detail
