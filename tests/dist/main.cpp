// The rg::dist suites, run by every rank under mpirun (tests/dist/mpirun.sh).
// Every rank runs the same test cases in the same order, so their collectives
// match; a rank whose checks fail makes every rank's exit code non-zero.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <retrograd/dist/dist.hpp>

int main(int argc, char** argv) {
    rg::dist::Environment env(argc, argv, {.timeout = std::chrono::seconds(60)});
    return rg::dist::run_or_abort([&] {
        doctest::Context context(argc, argv);
        const int failed = context.run() != 0 ? 1 : 0;
        rg::Tensor any = rg::from_indices({failed});
        rg::dist::all_reduce(any, rg::dist::ReduceOp::max);
        return static_cast<int>(any.item());
    });
}
