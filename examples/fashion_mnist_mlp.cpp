// The MLP of *Réseaux de neurones en pratique* (part XII), modernised: 784-256-128-10 with ReLU, on Fashion-MNIST.
#include "fashion_mnist.hpp"

int main(int argc, char** argv) { return run_fashion_mnist("mlp", argc, argv); }
