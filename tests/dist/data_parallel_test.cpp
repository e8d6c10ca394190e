// DataParallel: rank 0's weights everywhere, gradients averaged in buckets
// equal to the single-process gradient of the whole batch, no_sync, buffers.
#include <doctest/doctest.h>
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

namespace {

namespace dist = rg::dist;
namespace nn = rg::nn;

std::shared_ptr<nn::Sequential> small_model(std::uint64_t seed) {
    rg::manual_seed(seed);
    auto model = std::make_shared<nn::Sequential>(nn::Linear(5, 4), nn::Tanh(), nn::Linear(4, 3));
    model->to(rg::Dtype::float64);
    return model;
}

// The same 8 samples on every rank.
struct Data {
    rg::Tensor x, y;
};
Data global_batch(std::uint64_t seed, std::size_t n = 8) {
    rg::manual_seed(seed);
    return {rg::randn({n, 5}, {.dtype = rg::Dtype::float64}), rg::randint(0, 3, {n})};
}
// This rank's rows: rank, rank + world, ... (as the sharded DataLoader).
Data shard(const Data& d) {
    std::vector<std::int64_t> rows;
    for (auto i = static_cast<std::size_t>(dist::rank()); i < d.x.shape()[0];
         i += static_cast<std::size_t>(dist::world_size()))
        rows.push_back(static_cast<std::int64_t>(i));
    const rg::Tensor index = rg::from_indices(rows);
    return {rg::index_select(d.x, 0, index), rg::index_select(d.y, 0, index)};
}

std::vector<std::vector<double>> grads_of(const nn::Module& m) {
    std::vector<std::vector<double>> out;
    for (const auto& p : m.parameters())
        out.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<double>{});
    return out;
}

double max_difference(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b) {
    double worst = a.size() == b.size() ? 0 : 1e300;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        if (a[i].size() != b[i].size()) return 1e300;
        for (std::size_t k = 0; k < a[i].size(); ++k) worst = std::max(worst, std::abs(a[i][k] - b[i][k]));
    }
    return worst;
}

}  // namespace

TEST_SUITE("data_parallel") {
    TEST_CASE("construction gives every rank rank 0's parameters") {
        auto model = small_model(100 + static_cast<std::uint64_t>(dist::rank()));  // different on each rank
        dist::DataParallel dp(model);
        for (const auto& p : model->parameters()) {
            const rg::TensorList all = dist::all_gather(p);
            for (const auto& other : all) CHECK(other.to_vector() == all[0].to_vector());
        }
        CHECK(dp.named_parameters().front().first == "module.0.weight");
    }

    TEST_CASE("a DataParallel is neither copied nor wrapped in another DataParallel") {
        // DataParallel(dp) with a non-const dp used to pick the forwarding
        // constructor (a better match than the copy), whose nn::share(dp)
        // constructed DataParallel(dp) again: a recursion without end.
        CHECK_FALSE(std::is_constructible_v<dist::DataParallel, dist::DataParallel&>);
        CHECK_FALSE(std::is_constructible_v<dist::DataParallel, const dist::DataParallel&>);
        CHECK_FALSE(std::is_constructible_v<dist::DataParallel, dist::DataParallel&&>);
        CHECK_FALSE(std::is_copy_assignable_v<dist::DataParallel>);
        // Any other module is still taken by value or by shared_ptr.
        CHECK(std::is_constructible_v<dist::DataParallel, rg::nn::Linear>);
        CHECK(std::is_constructible_v<dist::DataParallel, rg::nn::Sequential&>);
        CHECK(std::is_constructible_v<dist::DataParallel, std::shared_ptr<rg::nn::Sequential>>);
    }

    TEST_CASE("bucketed gradients equal the single-process gradient of the whole batch (float64)") {
        auto model = small_model(1);
        // Tiny buckets: several all-reduces per backward, started in reverse parameter order.
        dist::DataParallel dp(model, {.bucket_bytes = 16, .first_bucket_bytes = 16});
        const auto buckets = dp.buckets();
        REQUIRE(buckets.size() == 4);
        CHECK(buckets[0] == std::vector<std::string>{"2.bias"});  // 24 bytes: over 16, the bucket is full
        CHECK(buckets[1] == std::vector<std::string>{"2.weight"});
        CHECK(buckets[2] == std::vector<std::string>{"0.bias"});
        CHECK(buckets[3] == std::vector<std::string>{"0.weight"});
        const Data data = global_batch(2);

        // The reference: this process alone, the whole batch, no reduction.
        {
            auto guard = dp.no_sync();
            nn::cross_entropy(dp(data.x), data.y).backward();
        }
        const auto reference = grads_of(*model);
        model->zero_grad();

        const Data mine = shard(data);
        nn::cross_entropy(dp(mine.x), mine.y).backward();
        CHECK(dp.synchronized());  // every parameter got its gradient: averaged by the end of backward
        dp.synchronize();  // nothing left to do
        CHECK(max_difference(grads_of(*model), reference) < 1e-14);
        CHECK(dp.stats().iterations == 1);
        CHECK(dp.stats().buckets_reduced == 4);
    }

    TEST_CASE("a weight tied between two layers is averaged once") {
        struct Tied : nn::Module {
            std::shared_ptr<nn::Linear> in, out;
            Tied() {
                in = register_module("in", std::make_shared<nn::Linear>(5, 5));
                out = register_module("out", std::make_shared<nn::Linear>(5, 5, false));
                out->weight = out->replace_parameter("weight", in->weight);
            }
            rg::Tensor forward(const rg::Tensor& x) override { return (*out)(rg::tanh((*in)(x))); }
        };
        rg::manual_seed(9);
        auto model = std::make_shared<Tied>();
        model->to(rg::Dtype::float64);
        dist::DataParallel dp(model, {.bucket_bytes = 100});
        std::size_t listed = 0;
        for (const auto& bucket : dp.buckets()) listed += bucket.size();
        CHECK(listed == 2);  // in.weight (= out.weight) and in.bias
        const Data data = global_batch(21);
        {
            auto guard = dp.no_sync();
            nn::cross_entropy(dp(data.x), data.y).backward();
        }
        const auto reference = grads_of(*model);
        model->zero_grad();
        const Data mine = shard(data);
        nn::cross_entropy(dp(mine.x), mine.y).backward();
        dp.synchronize();
        CHECK(max_difference(grads_of(*model), reference) < 1e-14);
    }

    TEST_CASE("no_sync accumulates locally; the next backward averages the sum") {
        auto model = small_model(3);
        dist::DataParallel dp(model, {.bucket_bytes = 100});
        const Data a = global_batch(4), b = global_batch(5);
        {
            auto guard = dp.no_sync();
            nn::cross_entropy(dp(a.x), a.y).backward();
            nn::cross_entropy(dp(b.x), b.y).backward();
        }
        const auto reference = grads_of(*model);
        model->zero_grad();

        const Data mine_a = shard(a), mine_b = shard(b);
        {
            auto guard = dp.no_sync();
            nn::cross_entropy(dp(mine_a.x), mine_a.y).backward();
        }
        CHECK(dp.stats().iterations == 0);
        nn::cross_entropy(dp(mine_b.x), mine_b.y).backward();
        CHECK(dp.stats().iterations == 1);
        CHECK(max_difference(grads_of(*model), reference) < 1e-14);
    }

    TEST_CASE("parameters that backward does not reach: synchronize() finishes the reduction with zeros") {
        auto model = small_model(6);
        dist::DataParallel dp(model, {.bucket_bytes = 64, .first_bucket_bytes = 32});
        const Data mine = shard(global_batch(7));
        rg::sum((*model)[0](mine.x)).backward();  // only the first Linear
        CHECK_FALSE(dp.synchronized());
        CHECK_THROWS_WITH(dp(mine.x),
                          fmt::format("rg::dist::DataParallel (rank {}): forward while the previous backward's "
                                      "gradients are still being averaged; call synchronize() after backward "
                                      "(before optimizer.step())",
                                      dist::rank())
                              .c_str());
        dp.synchronize();
        CHECK(dp.synchronized());
        auto& last = dynamic_cast<nn::Linear&>((*model)[2]);
        CHECK(last.weight.grad().to_vector() == std::vector<double>(12, 0.0));
        // The first layer's bias gradient is the row count of the shard, averaged: 8 / world per rank... summed / world.
        auto& first = dynamic_cast<nn::Linear&>((*model)[0]);
        const double rows = 8.0 / dist::world_size();
        CHECK(first.bias.grad().to_vector() == std::vector<double>(4, rows));
    }

    TEST_CASE("a second backward before synchronize is an error naming the parameter") {
        auto model = small_model(8);
        dist::DataParallel dp(model);
        const Data mine = shard(global_batch(9));
        rg::sum((*model)[0](mine.x)).backward();
        CHECK_THROWS_WITH(rg::sum((*model)[0](mine.x)).backward(),
                          fmt::format("rg::dist::DataParallel (rank {}): parameter '0.bias' received a second gradient "
                                      "before the first was averaged; call synchronize() between backward passes, or "
                                      "accumulate them inside no_sync()",
                                      dist::rank())
                              .c_str());
        dp.synchronize();
    }

    TEST_CASE("BatchNorm buffers: rank 0's, broadcast at each training forward") {
        rg::manual_seed(10);
        auto model = std::make_shared<nn::Sequential>(nn::Linear(5, 4), nn::BatchNorm1d(4));
        dist::DataParallel dp(model);
        auto& bn = dynamic_cast<nn::BatchNorm&>((*model)[1]);
        rg::manual_seed(20 + static_cast<std::uint64_t>(dist::rank()));  // different data on each rank
        const rg::Tensor x = rg::randn({6, 5});
        {
            rg::NoGrad off;
            dp(x);
        }  // no gradients: no broadcast, each rank keeps its own statistics
        const rg::TensorList before = dist::all_gather(bn.running_mean);
        if (dist::world_size() > 1) CHECK(before[0].to_vector() != before[1].to_vector());
        dp.trainer_hooks().before_forward();
        const rg::TensorList after = dist::all_gather(bn.running_mean);
        for (const auto& t : after) CHECK(t.to_vector() == before[0].to_vector());
    }

    TEST_CASE("models that differ between ranks are refused at construction, on every rank") {
        const int r = dist::rank();
        if (dist::world_size() < 2) return;
        auto model = std::make_shared<nn::Sequential>(nn::Linear(5, r == 1 ? 3 : 4));
        CHECK_THROWS_WITH(dist::DataParallel{model},
                          fmt::format("rg::dist::DataParallel (rank {}): parameter '0.weight' is (4, 5) float32 on "
                                      "rank 0 "
                                      "but (3, 5) float32 on rank 1; every rank must build the same model",
                                      r)
                              .c_str());
        auto deeper = std::make_shared<nn::Sequential>(nn::Linear(5, 4));
        if (r == 1) deeper->add(nn::Linear(4, 2));
        CHECK_THROWS_WITH(dist::DataParallel{deeper},
                          fmt::format("rg::dist::DataParallel (rank {}): rank 0's model has 2 parameters and 0 buffers "
                                      "but "
                                      "rank 1's has 4 and 0; every rank must build the same model",
                                      r)
                              .c_str());
    }
}
