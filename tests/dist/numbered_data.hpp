#pragma once
// A data set whose sample i is the number i, and what a loader gives of it:
// shared by the sharding tests with and without MPI.
#include <retrograd/retrograd.hpp>

#include <cstdint>
#include <vector>

namespace test {

inline rg::data::TensorDataset numbered(std::size_t n) {
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = static_cast<double>(i);
    return {rg::from_vector(values, {n, 1}, {.dtype = rg::Dtype::float64}),
            rg::from_indices(std::vector<std::int64_t>(n, 0))};
}

// The sample numbers of one epoch, batch by batch.
inline std::vector<std::vector<std::int64_t>> epoch_of(rg::data::DataLoader& loader, std::uint64_t epoch) {
    std::vector<std::vector<std::int64_t>> batches;
    loader.reset(epoch);
    rg::data::Batch b;
    while (loader.next(b)) {
        batches.emplace_back();
        for (double v : b.inputs.to_vector()) batches.back().push_back(static_cast<std::int64_t>(v));
    }
    return batches;
}

inline std::vector<std::int64_t> flat(const std::vector<std::vector<std::int64_t>>& batches) {
    std::vector<std::int64_t> out;
    for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
    return out;
}

}  // namespace test
