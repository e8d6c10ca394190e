#pragma once
// What rg::dist's sources share: the communicator, error checks, waits with a
// deadline and the one place that reaches a tensor's values.
#include <retrograd/autograd.hpp>

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

// The one place that touches a tensor's storage: MPI reads and writes a
// contiguous tensor's values where they are; a strided view goes through a
// contiguous copy, written back after `use` when `write_back`.
template <class F> void with_contiguous_values(const Tensor& tensor, bool write_back, F&& use) {
    if (tensor.is_contiguous()) {
        use(tensor.data_ptr());
        return;
    }
    // A strided view: MPI works on a dense copy, written back when asked.
    rg::NoGrad off;
    Tensor dense = tensor.clone();
    use(dense.data_ptr());
    if (write_back) Tensor(tensor).copy_(dense);
}

}  // namespace rg::dist::detail
