// The DataLoader's shards, all ranks simulated in one process (no MPI): the
// same order on every rank, disjoint parts that cover the data, padded or cut
// to equal sizes, and together the unsharded loader's batches.
#include <doctest/doctest.h>
#include <retrograd/retrograd.hpp>

#include "numbered_data.hpp"

#include <algorithm>
#include <map>

namespace {

namespace data = rg::data;

using test::epoch_of;
using test::flat;
using test::numbered;

}  // namespace

TEST_SUITE("sharding") {
    TEST_CASE("three ranks in one process: disjoint shards, padded to equal sizes") {
        const std::size_t n = 10, world = 3;
        std::map<std::int64_t, int> seen;
        for (std::size_t r = 0; r < world; ++r) {
            data::DataLoader loader(numbered(n),
                                    {.batch_size = 2, .shuffle = true, .seed = 5, .rank = r, .world_size = world});
            CHECK(loader.samples() == 4);  // ceil(10 / 3)
            CHECK(loader.batches() == 2);
            for (auto i : flat(epoch_of(loader, 1))) ++seen[i];
        }
        CHECK(seen.size() == n);  // complete
        int twice = 0;
        for (const auto& entry : seen) twice += entry.second == 2;
        CHECK(twice == 2);  // 12 places for 10 samples: two are repeated
        std::map<std::int64_t, int> dropped;
        for (std::size_t r = 0; r < world; ++r) {
            data::DataLoader loader(numbered(n), {.batch_size = 2,
                                                  .shuffle = true,
                                                  .seed = 5,
                                                  .rank = r,
                                                  .world_size = world,
                                                  .drop_remainder = true});
            CHECK(loader.samples() == 3);
            for (auto i : flat(epoch_of(loader, 1))) ++dropped[i];
        }
        CHECK(dropped.size() == 9);  // one sample left out, none repeated
        for (const auto& entry : dropped) CHECK(entry.second == 1);
    }

    TEST_CASE("the ranks' k-th batches together are the k-th batch of the unsharded loader, every epoch") {
        const std::size_t n = 24, world = 2;
        data::DataLoader whole(numbered(n), {.batch_size = 6, .shuffle = true, .seed = 9});
        data::DataLoader part0(numbered(n),
                               {.batch_size = 3, .shuffle = true, .seed = 9, .rank = 0, .world_size = world});
        data::DataLoader part1(numbered(n),
                               {.batch_size = 3, .shuffle = true, .seed = 9, .rank = 1, .world_size = world});
        for (std::uint64_t epoch = 1; epoch <= 2; ++epoch) {
            const auto g = epoch_of(whole, epoch), a = epoch_of(part0, epoch), b = epoch_of(part1, epoch);
            REQUIRE(g.size() == 4);
            REQUIRE(a.size() == 4);
            REQUIRE(b.size() == 4);
            for (std::size_t k = 0; k < g.size(); ++k) {
                auto both = a[k];
                both.insert(both.end(), b[k].begin(), b[k].end());
                std::sort(both.begin(), both.end());
                auto expected = g[k];
                std::sort(expected.begin(), expected.end());
                CHECK(both == expected);
            }
        }
        CHECK(flat(epoch_of(whole, 1)) != flat(epoch_of(whole, 2)));  // a new order each epoch
    }

    TEST_CASE("bad ranks and world sizes") {
        CHECK_THROWS_WITH(data::DataLoader(numbered(4), {.rank = 2, .world_size = 2}),
                          "DataLoader: rank 2 is not a rank of a world of size 2; ranks go from 0 to 1");
        CHECK_THROWS_WITH(data::DataLoader(numbered(4), {.world_size = 0}),
                          "DataLoader: world_size must be positive (1 without sharding)");
    }
}
