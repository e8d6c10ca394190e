#pragma once
/// @file
/// Everything in rg::dist (link retrograd::dist; needs MPI).
#include <retrograd/dist/collectives.hpp>
#include <retrograd/dist/data_parallel.hpp>
#include <retrograd/dist/environment.hpp>
