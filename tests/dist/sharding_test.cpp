// The DataLoader's shards across real MPI ranks (the single-process checks of
// sharding are in loader_sharding_test.cpp, which needs no MPI).
#include <doctest/doctest.h>
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

#include "numbered_data.hpp"

#include <algorithm>

namespace {

namespace dist = rg::dist;
namespace data = rg::data;

using test::epoch_of;
using test::flat;
using test::numbered;

}  // namespace

TEST_SUITE("sharding") {
    TEST_CASE("across the MPI ranks: the shards are disjoint and complete") {
        const auto r = static_cast<std::size_t>(dist::rank()), w = static_cast<std::size_t>(dist::world_size());
        const std::size_t n = 10 * w;
        data::DataLoader loader(numbered(n),
                                {.batch_size = 4, .shuffle = true, .seed = 11, .rank = r, .world_size = w});
        const rg::TensorList all = dist::all_gather(rg::from_indices(flat(epoch_of(loader, 3))));
        std::vector<std::int64_t> everything;
        for (const auto& t : all)
            for (double v : t.to_vector()) everything.push_back(static_cast<std::int64_t>(v));
        std::sort(everything.begin(), everything.end());
        std::vector<std::int64_t> expected(n);
        for (std::size_t i = 0; i < n; ++i) expected[i] = static_cast<std::int64_t>(i);
        CHECK(everything == expected);
    }
}
