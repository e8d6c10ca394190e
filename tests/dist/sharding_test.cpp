// The DataLoader's shards across real MPI ranks (the single-process checks of
// sharding are in loader_sharding_test.cpp, which needs no MPI).
#include <doctest/doctest.h>
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

#include <algorithm>

namespace {

namespace dist = rg::dist;
namespace data = rg::data;

data::TensorDataset numbered(std::size_t n) {  // sample i is the number i
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<double>(i);
    return {rg::from_vector(values, {n, 1}, {.dtype = rg::Dtype::float64}), rg::from_indices(std::vector<std::int64_t>(n, 0))};
}

// The sample numbers of one epoch, batch by batch.
std::vector<std::vector<std::int64_t>> epoch_of(data::DataLoader& loader, std::uint64_t epoch) {
    std::vector<std::vector<std::int64_t>> batches;
    loader.reset(epoch);
    data::Batch b;
    while (loader.next(b)) {
        batches.emplace_back();
        for (double v : b.inputs.to_vector()) batches.back().push_back(static_cast<std::int64_t>(v));
    }
    return batches;
}

std::vector<std::int64_t> flat(const std::vector<std::vector<std::int64_t>>& batches) {
    std::vector<std::int64_t> out;
    for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
    return out;
}

}  // namespace

TEST_SUITE("sharding") {
TEST_CASE("across the MPI ranks: the shards are disjoint and complete") {
    const auto r = static_cast<std::size_t>(dist::rank()), w = static_cast<std::size_t>(dist::world_size());
    const std::size_t n = 10 * w;
    data::DataLoader loader(numbered(n), {.batch_size = 4, .shuffle = true, .seed = 11, .rank = r, .world_size = w});
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
