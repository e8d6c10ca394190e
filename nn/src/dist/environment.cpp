// MPI's lifetime, the library's communicator, and waiting with a deadline.
#include "mpi.hpp"

#include <retrograd/dist/environment.hpp>
#include <retrograd/error.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

namespace rg::dist {
namespace {

struct State {
    int depth = 0;  // live Environments (nested ones share the first's setup)
    bool owns_mpi = false;  // MPI_Init_thread was ours, so MPI_Finalize is too
    bool funneled = true;  // MPI calls only from the thread that initialised MPI
    MPI_Comm comm = MPI_COMM_NULL;
    int rank = 0, size = 1;
    double timeout_seconds = 300;
};
State state;

}  // namespace

namespace detail {

MPI_Comm comm(std::string_view caller) {
    if (state.depth == 0)
        fail("{}: no rg::dist::Environment is alive; create one at the start of main (and launch with mpirun)", caller);
    if (state.funneled) {
        int is_main = 0;
        MPI_Is_thread_main(&is_main);
        if (!is_main)
            fail("{} (rank {}): called from a thread other than the one that initialised MPI; with "
                 "MPI_THREAD_FUNNELED, collectives and a DataParallel model's backward must run on that thread",
                 caller, state.rank);
    }
    return state.comm;
}

int rank_or_zero() { return state.rank; }
int size_or_one() { return state.size; }

void check(int code, std::string_view caller) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    fail("{} (rank {} of {}): MPI error: {}", caller, state.rank, state.size,
         std::string_view(text, static_cast<std::size_t>(length)));
}

bool test(MPI_Request* requests, int count, std::string_view caller) {
    int done = 0;
    check(MPI_Testall(count, requests, &done, MPI_STATUSES_IGNORE), caller);
    return done != 0;
}

double wait(MPI_Request* requests, int count, std::string_view caller) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto deadline =
        start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(state.timeout_seconds));
    // MPI moves a non-blocking collective forward only inside MPI calls, so
    // poll often; yield the CPU between polls so that a rank sharing a core
    // with the one it waits for lets it run, and only after a long wait (a
    // slow or stuck rank) sleep between polls.
    for (long polls = 0;; ++polls) {
        if (test(requests, count, caller)) return std::chrono::duration<double>(Clock::now() - start).count();
        const auto now = Clock::now();
        if (now > deadline)
            fail("{} (rank {} of {}): the other ranks did not complete within {} s; one has stopped, is stuck, or "
                 "called a different collective (raise EnvironmentOptions::timeout if it is only slow)",
                 caller, state.rank, state.size, state.timeout_seconds);
        if (polls < 100) continue;
        if (now - start < std::chrono::milliseconds(50))
            std::this_thread::yield();
        else
            std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
}

MPI_Datatype mpi_type(Dtype dtype) {
    switch (dtype) {
        case Dtype::float32: return MPI_FLOAT;
        case Dtype::float64: return MPI_DOUBLE;
        case Dtype::int64: return MPI_INT64_T;
        case Dtype::bool_: return MPI_C_BOOL;
        case Dtype::bfloat16: return MPI_UINT16_T;  // copied as bits; all_reduce refuses it
    }
    fail("mpi_type: unknown dtype (enum value {})", static_cast<int>(dtype));
}

std::size_t element_size(Dtype dtype) { return dtype_size(dtype); }

}  // namespace detail

Environment::Environment(EnvironmentOptions options) { start(nullptr, nullptr, options); }
Environment::Environment(int& argc, char**& argv, EnvironmentOptions options) { start(&argc, &argv, options); }

void Environment::start(int* argc, char*** argv, EnvironmentOptions options) {
    if (!(options.timeout.count() > 0))
        fail("rg::dist::Environment: the timeout must be positive, got {} s", options.timeout.count());
    exceptions_at_start_ = std::uncaught_exceptions();
    if (state.depth > 0) {  // nested: the outer Environment's MPI and communicator
        if (options.required_world_size > 0 && options.required_world_size != state.size)
            fail("rg::dist::Environment: this program needs {} processes but was launched with {} (mpirun -np {})",
                 options.required_world_size, state.size, options.required_world_size);
        ++state.depth;
        return;
    }
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (finalized)
        fail("rg::dist::Environment: MPI was already finalised in this process and cannot start again; keep one "
             "Environment for the whole program");
    int provided = MPI_THREAD_SINGLE;
    if (!initialized) {
        if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
            fail("rg::dist::Environment: MPI_Init_thread failed");
    } else {
        MPI_Query_thread(&provided);
    }
    if (provided < MPI_THREAD_FUNNELED) {
        if (!initialized) MPI_Finalize();
        fail("rg::dist::Environment: MPI provides thread level {} but retrograd needs MPI_THREAD_FUNNELED or higher "
             "(its kernels run OpenMP threads); initialise MPI with MPI_Init_thread(..., MPI_THREAD_FUNNELED, ...)",
             provided);
    }
    MPI_Comm comm = MPI_COMM_NULL;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    state.owns_mpi = !initialized;
    state.funneled = provided < MPI_THREAD_MULTIPLE;
    state.comm = comm;
    MPI_Comm_rank(comm, &state.rank);
    MPI_Comm_size(comm, &state.size);
    state.timeout_seconds = options.timeout.count();
    state.depth = 1;
    if (options.required_world_size > 0 && options.required_world_size != state.size) {
        const int size = state.size;
        state.depth = 0;
        MPI_Comm_free(&state.comm);
        if (state.owns_mpi) MPI_Finalize();
        state = State{};
        fail("rg::dist::Environment: this program needs {} processes but was launched with {} (mpirun -np {})",
             options.required_world_size, size, options.required_world_size);
    }
}

Environment::~Environment() {
    if (std::uncaught_exceptions() > exceptions_at_start_ && state.size > 1)
        abort("an exception is leaving the scope of rg::dist::Environment; stopping every rank so that none waits "
              "for this one (catch it with rg::dist::run_or_abort to see its message)");
    if (--state.depth > 0) return;
    MPI_Comm_free(&state.comm);
    if (state.owns_mpi) MPI_Finalize();
    state = State{};
}

int Environment::rank() const { return state.rank; }
int Environment::world_size() const { return state.size; }

int rank() {
    detail::comm("rg::dist::rank");
    return state.rank;
}
int world_size() {
    detail::comm("rg::dist::world_size");
    return state.size;
}
bool active() { return state.depth > 0; }

void abort(std::string_view message, int exit_code) {
    std::fprintf(stderr, "rank %d of %d: %.*s\n", state.rank, state.size, static_cast<int>(message.size()),
                 message.data());
    std::fflush(stderr);
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);
}

int run_or_abort(const std::function<int()>& body) {
    try {
        return body();
    } catch (const std::exception& e) {
        if (active() && state.size > 1) abort(e.what());
        if (active())
            std::fprintf(stderr, "rank %d of %d: %s\n", state.rank, state.size, e.what());
        else
            std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}

}  // namespace rg::dist
