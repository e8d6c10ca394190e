// Network::fit: the course's training loop, on the tape.
#include <retrograd/autograd.hpp>
#include <retrograd/nn/network.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/ops.hpp>

#include <algorithm>
#include <iostream>

namespace rg::nn {

Network& Network::use(LossFunction loss) {
    if (!loss) fail("Network::use: the loss function is empty");
    loss_ = std::move(loss);
    return *this;
}

Network& Network::use(Tensor (*loss)(const Tensor&, const Tensor&, LossOptions)) {
    if (!loss) fail("Network::use: the loss function is null");
    return use([loss](const Tensor& p, const Tensor& t) { return loss(p, t, {}); });
}

FitHistory Network::fit(const Tensor& x, const Tensor& y, FitOptions options) {
    if (layers_.size() == 0) fail("Network::fit: the network has no layers; add() some first");
    if (!loss_) fail("Network::fit: no loss chosen; call use() first");
    if (!x.defined() || !y.defined() || x.dim() == 0 || y.dim() == 0 || x.shape()[0] != y.shape()[0])
        fail("Network::fit: x {} and y {} must have the same number of samples along axis 0",
             x.defined() ? shape_str(x.shape()) : "undefined", y.defined() ? shape_str(y.shape()) : "undefined");
    if (options.epochs == 0 || options.batch_size == 0)
        fail("Network::fit: epochs ({}) and batch_size ({}) must be positive", options.epochs, options.batch_size);
    std::ostream& out = options.out ? *options.out : std::cout;
    const std::size_t samples = x.shape()[0];
    optim::SGD sgd(layers_.parameters(), {.lr = options.learning_rate});
    layers_.train();
    std::vector<std::int64_t> order(samples);
    for (std::size_t i = 0; i < samples; ++i) order[i] = static_cast<std::int64_t>(i);
    FitHistory history;
    for (std::size_t epoch = 1; epoch <= options.epochs; ++epoch) {
        if (options.shuffle)
            for (std::size_t i = samples; i > 1; --i) std::swap(order[i - 1], order[random_u64() % i]);
        double total = 0;
        std::size_t batches = 0;
        for (std::size_t start = 0; start < samples; start += options.batch_size) {
            const std::size_t stop = std::min(samples, start + options.batch_size);
            Tensor rows = from_indices(std::vector<std::int64_t>(order.begin() + static_cast<long>(start),
                                                                 order.begin() + static_cast<long>(stop)));
            Tensor loss = loss_(layers_.forward(index_select(x, 0, rows)), index_select(y, 0, rows));
            if (loss.numel() != 1)
                fail("Network::fit: the loss returned shape {}, expected one value", shape_str(loss.shape()));
            total += loss.item();
            ++batches;
            sgd.zero_grad();
            loss.backward();
            sgd.step();
        }
        history.loss.push_back(total / static_cast<double>(batches));
        if (options.verbose)
            out << fmt::format("epoch {}/{}  error={:.6f}\n", epoch, options.epochs, history.loss.back());
    }
    return history;
}

Tensor Network::predict(const Tensor& x) {
    NoGrad off;
    const bool was_training = layers_.is_training();
    layers_.eval();
    Tensor out = layers_.forward(x);
    layers_.train(was_training);
    return out;
}

}  // namespace rg::nn
