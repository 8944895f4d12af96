//! Zero-dependency compute kernels for backprop: GEMM with per-ISA micro-kernels, and (to come)
//! activations, losses, optimizers, normalisation, the shared PRNG and the Plan executor.

pub mod gemm;
