// all_reduce, broadcast, all_gather and barrier, for each dtype, and their errors.
#include <doctest/doctest.h>
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

namespace {

namespace dist = rg::dist;
const rg::Dtype dtypes[] = {rg::Dtype::float32, rg::Dtype::float64, rg::Dtype::int64};

rg::Tensor ramp(double scale, rg::Dtype dtype) {  // scale * [[0, 1, 2], [3, 4, 5]]
    return rg::from_vector({0 * scale, 1 * scale, 2 * scale, 3 * scale, 4 * scale, 5 * scale}, {2, 3},
                           {.dtype = dtype});
}

}  // namespace

TEST_SUITE("collectives") {
    TEST_CASE("all_reduce sums, averages, maxes and mins every dtype in place") {
        const int r = dist::rank(), w = dist::world_size();
        for (rg::Dtype dtype : dtypes) {
            CAPTURE(rg::dtype_name(dtype));
            rg::Tensor t = ramp(r + 1, dtype);
            dist::all_reduce(t);  // sum over ranks of (r + 1) * ramp
            CHECK(t.dtype() == dtype);
            const int rank_sum = w * (w + 1) / 2;  // 1 + 2 + ... + w
            CHECK(t.to_vector() == ramp(rank_sum, dtype).to_vector());
            rg::Tensor hi = ramp(r + 1, dtype), lo = ramp(r + 1, dtype);
            dist::all_reduce(hi, dist::ReduceOp::max);
            dist::all_reduce(lo, dist::ReduceOp::min);
            CHECK(hi.to_vector() == ramp(w, dtype).to_vector());
            CHECK(lo.to_vector() == ramp(1, dtype).to_vector());
            if (dtype != rg::Dtype::int64) {
                rg::Tensor m = ramp(2 * (r + 1), dtype);  // mean of 2(r + 1) over ranks is w + 1
                dist::all_reduce(m, dist::ReduceOp::mean);
                CHECK(m.to_vector() == ramp(w + 1, dtype).to_vector());
            }
        }
    }

    TEST_CASE("all_reduce on a transposed tensor reduces it in its own layout") {
        const int r = dist::rank(), w = dist::world_size();
        rg::Tensor t =
            rg::transpose(ramp(r + 1, rg::Dtype::float64));  // (3, 2); a strided view once the engine has them
        dist::all_reduce(t);
        CHECK(t.shape() == rg::Shape{3, 2});
        const int rank_sum = w * (w + 1) / 2;  // 1 + 2 + ... + w
        CHECK(t.to_vector() == rg::transpose(ramp(rank_sum, rg::Dtype::float64)).to_vector());
        rg::Tensor column = rg::slice(ramp(r + 1, rg::Dtype::float32), 1, 1, 2);  // [[1], [4]] * (r + 1)
        dist::all_reduce(column);
        CHECK(column.to_vector() == std::vector<double>{1.0 * w * (w + 1) / 2, 4.0 * w * (w + 1) / 2});
    }

    TEST_CASE("broadcast copies the root's values to every rank, each dtype") {
        const int r = dist::rank(), w = dist::world_size(), root = w - 1;
        for (rg::Dtype dtype : dtypes) {
            CAPTURE(rg::dtype_name(dtype));
            rg::Tensor t = ramp(r + 1, dtype);
            dist::broadcast(t, root);
            CHECK(t.to_vector() == ramp(root + 1, dtype).to_vector());
        }
        rg::Tensor t = ramp(1, rg::Dtype::float32);
        CHECK_THROWS_WITH(dist::broadcast(t, w),
                          fmt::format("rg::dist::broadcast (rank {}): root {} is not a rank; ranks go from 0 to {}", r,
                                      w, w - 1)
                              .c_str());
    }

    TEST_CASE("all_gather returns every rank's tensor in rank order, each dtype") {
        const int r = dist::rank(), w = dist::world_size();
        for (rg::Dtype dtype : dtypes) {
            CAPTURE(rg::dtype_name(dtype));
            const rg::TensorList all = dist::all_gather(ramp(r + 1, dtype));
            REQUIRE(all.size() == static_cast<std::size_t>(w));
            for (int k = 0; k < w; ++k) {
                CHECK(all[k].shape() == rg::Shape{2, 3});
                CHECK(all[k].dtype() == dtype);
                CHECK(all[k].to_vector() == ramp(k + 1, dtype).to_vector());
            }
        }
        dist::barrier();
    }

    TEST_CASE("ranks passing different shapes, dtypes or collectives get the same error on every rank") {
        const int r = dist::rank(), w = dist::world_size();
        if (w < 2) return;
        const std::string where = fmt::format("(rank {} of {})", r, w);
        rg::Tensor t = r == 1 ? rg::zeros({3, 2}) : rg::zeros({2, 3});
        CHECK_THROWS_WITH(dist::all_reduce(t),
                          fmt::format("rg::dist::all_reduce {}: rank 0 passed (2, 3) float32 but rank 1 passed (3, 2) "
                                      "float32; every rank must pass the same shape and dtype",
                                      where)
                              .c_str());
        rg::Tensor d = r == 1 ? rg::zeros({2, 3}, {.dtype = rg::Dtype::float64}) : rg::zeros({2, 3});
        CHECK_THROWS_WITH(dist::all_gather(d),
                          fmt::format("rg::dist::all_gather {}: rank 0 passed (2, 3) float32 but rank 1 passed (2, 3) "
                                      "float64; every rank must pass the same shape and dtype",
                                      where)
                              .c_str());
        rg::Tensor u = rg::zeros({2});
        const auto mismatched = [&] {
            if (r == 1)
                dist::broadcast(u, 0);
            else
                dist::all_reduce(u);
        };
        CHECK_THROWS_WITH(mismatched(),
                          fmt::format("{} {}: rank 0 called all_reduce but rank 1 called broadcast; every rank "
                                      "must call the same collectives in the same order",
                                      r == 1 ? "rg::dist::broadcast" : "rg::dist::all_reduce", where)
                              .c_str());
        rg::Tensor i = rg::from_indices({1, 2});
        CHECK_THROWS_WITH(dist::all_reduce(i, dist::ReduceOp::mean), "rg::dist::all_reduce: mean of an int64 tensor "
                                                                     "(2,) would round; use ReduceOp::sum and divide, "
                                                                     "or convert to float64");
        dist::barrier();  // still in step after the errors
    }
}

TEST_SUITE("collectives") {
    TEST_CASE("bad arguments: undefined tensors, environments, DataParallel options") {
        const int w = dist::world_size();
        rg::Tensor undefined;
        CHECK_THROWS_WITH(dist::all_reduce(undefined), "rg::dist::all_reduce: the tensor is undefined");
        CHECK_THROWS_WITH(dist::broadcast(undefined), "rg::dist::broadcast: the tensor is undefined");
        CHECK_THROWS_WITH(dist::all_gather(undefined), "rg::dist::all_gather: the tensor is undefined");
        CHECK_THROWS_WITH(dist::Environment({.timeout = std::chrono::seconds(0)}),
                          "rg::dist::Environment: the timeout must be positive, got 0 s");
        CHECK_THROWS_WITH(dist::Environment({.required_world_size = w + 1}),
                          fmt::format("rg::dist::Environment: this program needs {} processes but was launched with {} "
                                      "(mpirun -np {})",
                                      w + 1, w, w + 1)
                              .c_str());
        {
            dist::Environment nested({.required_world_size = w});  // the right size: fine, and shares MPI
            CHECK(nested.world_size() == w);
        }
        CHECK(dist::active());  // the outer Environment (main's) still stands
        CHECK_THROWS_WITH(dist::DataParallel(rg::nn::ModulePtr{}), "rg::dist::DataParallel: no module given");
        CHECK_THROWS_WITH(dist::DataParallel(rg::nn::Linear(2, 2), {.bucket_bytes = 0}),
                          "rg::dist::DataParallel: bucket_bytes and first_bucket_bytes must be positive");
    }
}
