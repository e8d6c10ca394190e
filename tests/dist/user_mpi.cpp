// A program that initialises MPI itself: rg::dist's Environment uses it and
// leaves it to the program (no second MPI_Init, no MPI_Finalize); nested
// Environments share the first. Before any Environment, rank() is an error.
// Exits non-zero on the first check that fails.
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

#include <mpi.h>

#include <cstdio>
#include <string>

namespace {
int failures = 0;
void expect(bool ok, const std::string& what) {
    if (!ok) {
        std::fprintf(stderr, "user_mpi: FAILED: %s\n", what.c_str());
        ++failures;
    }
}
}  // namespace

int main(int argc, char** argv) {
    try {
        rg::dist::rank();
        expect(false, "rank() without an Environment throws");
    } catch (const rg::Error& e) {
        expect(std::string(e.what()) == "rg::dist::rank: no rg::dist::Environment is alive; create one at the start "
                                        "of main (and launch with mpirun)",
               std::string("the message without an Environment, got: ") + e.what());
    }
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int world_rank = 0, world_size = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    {
        rg::dist::Environment outer;
        expect(outer.rank() == world_rank && outer.world_size() == world_size, "the Environment sees MPI_COMM_WORLD");
        {
            rg::dist::Environment inner;  // nested: shares the outer one's setup
            rg::Tensor t = rg::from_indices({1});
            rg::dist::all_reduce(t);
            expect(t.item() == world_size, "all_reduce inside a nested Environment");
        }
        rg::Tensor t = rg::from_indices({1});
        rg::dist::all_reduce(t);
        expect(t.item() == world_size, "all_reduce after the nested Environment ended");
    }
    int finalized = 1;
    MPI_Finalized(&finalized);
    expect(!finalized, "MPI is still the program's after the Environment");
    int one = 1, sum = 0;
    MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    expect(sum == world_size, "the program's own MPI calls still work");
    MPI_Finalize();
    return failures == 0 ? 0 : 1;
}
