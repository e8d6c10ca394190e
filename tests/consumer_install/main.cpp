// Links every installed library: autodiff (backward), nn (a Linear layer) and
// dist (an all_reduce over the ranks of mpirun).
#include <retrograd/dist/dist.hpp>
#include <retrograd/retrograd.hpp>

int main() {
    rg::dist::Environment env;
    rg::nn::Linear layer(2, 1);
    auto x = rg::tensor({{1.0, 2.0}});
    rg::sum(layer(x)).backward();
    auto grad = layer.named_parameters()[0].second.grad();
    auto total = rg::full({1}, 1.0);
    rg::dist::all_reduce(total);
    const bool ok =
        grad.to_vector() == std::vector<double>{1.0, 2.0} && total.item() == static_cast<double>(env.world_size());
    return ok ? 0 : 1;
}
