//! Placeholder: the packed, cache-blocked GEMM lands here.
