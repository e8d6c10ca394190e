#pragma once
/// @file
/// All of rg::nn, rg::optim and rg::data.
#include <retrograd/data/idx.hpp>
#include <retrograd/data/layout.hpp>
#include <retrograd/data/loader.hpp>
#include <retrograd/data/mnist.hpp>
#include <retrograd/nn/activations.hpp>
#include <retrograd/nn/diagnostics.hpp>
#include <retrograd/nn/init.hpp>
#include <retrograd/nn/layers.hpp>
#include <retrograd/nn/losses.hpp>
#include <retrograd/nn/models.hpp>
#include <retrograd/nn/module.hpp>
#include <retrograd/nn/network.hpp>
#include <retrograd/nn/optim.hpp>
#include <retrograd/nn/serialize.hpp>
#include <retrograd/nn/trainer.hpp>
