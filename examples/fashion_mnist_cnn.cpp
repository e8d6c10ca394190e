// The CNN of *Réseaux de neurones en pratique* (part VIII), modernised: two convolutions with max-pooling, on
// Fashion-MNIST.
#include "fashion_mnist.hpp"

int main(int argc, char** argv) { return run_fashion_mnist("cnn", argc, argv); }
