// Precompiled header for core/inference: the libtorch headers every model file needs.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/functional.h>
