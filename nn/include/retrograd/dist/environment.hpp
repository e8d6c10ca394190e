#pragma once
/// @file
/// rg::dist: data-parallel training over MPI (Open MPI on Debian). An
/// Environment initialises MPI for the lifetime of a scope; rank() and
/// world_size() say where this process stands; collectives.hpp moves tensors
/// between the processes and data_parallel.hpp averages gradients.
///
/// Every MPI call of rg::dist goes through a private duplicate of
/// MPI_COMM_WORLD whose errors are returned (MPI_ERRORS_RETURN) and turned into
/// rg::Error, and every wait polls with a deadline, so a missing rank becomes
/// an error instead of a hang. MPI is initialised with MPI_THREAD_FUNNELED:
/// collectives (and backward passes of a DataParallel model) must run on the
/// thread that created the Environment.
#include <chrono>
#include <functional>
#include <string_view>

namespace rg::dist {

/// How an Environment starts.
struct EnvironmentOptions {
    /// How long a collective waits for the other ranks before failing.
    std::chrono::duration<double> timeout = std::chrono::minutes(5);
    /// When positive: the world size the program was written for; any other
    /// (e.g. `mpirun -np 3` for a 2-process job) fails at start.
    int required_world_size = 0;
};

/// MPI for the lifetime of a scope: create one at the start of main().
class Environment {
public:
    /// Initialises MPI unless the program already did (then MPI stays the
    /// program's: this Environment neither re-initialises nor finalises it).
    /// An Environment created while another lives shares its setup (and its
    /// timeout); MPI cannot start again once the last one has finalised it.
    /// @param options timeout and required world size
    /// @throws rg::Error when MPI cannot start, was finalised already, or the
    ///         world size is not the required one
    explicit Environment(EnvironmentOptions options = {});
    /// The same, passing main()'s arguments to MPI_Init_thread.
    /// @param argc main()'s argc
    /// @param argv main()'s argv
    /// @param options timeout and required world size
    /// @throws rg::Error as the other constructor
    Environment(int& argc, char**& argv, EnvironmentOptions options = {});
    /// Finalises MPI if this Environment initialised it. Left by an exception
    /// while other ranks may be waiting in a collective, it aborts every rank
    /// (MPI_Abort) rather than let them hang; catch errors first with
    /// run_or_abort() to have their message printed.
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    /// This process's rank, 0 .. world_size() - 1.
    int rank() const;
    /// The number of processes.
    int world_size() const;

private:
    void start(int* argc, char*** argv, EnvironmentOptions options);
    int exceptions_at_start_ = 0;
};

/// This process's rank (0 .. world_size() - 1).
/// @throws rg::Error without a live Environment
int rank();
/// The number of processes.
/// @throws rg::Error without a live Environment
int world_size();
/// Whether an Environment is alive.
bool active();

/// Prints "rank R of W: message" to stderr and stops every rank (MPI_Abort).
/// @param message what went wrong
/// @param exit_code the processes' exit code
[[noreturn]] void abort(std::string_view message, int exit_code = 1);

/// Runs body and returns its exit code. An exception escaping it is printed
/// with this rank's number and, when there are other ranks, stops them all
/// (abort()) so that none is left waiting for this one.
/// @param body the program, returning its exit code
int run_or_abort(const std::function<int()>& body);

}  // namespace rg::dist
