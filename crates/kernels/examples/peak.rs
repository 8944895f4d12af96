//! The machine's measured float32 FMA peak and its caches, what the bench reports shares of:
//!   cargo run --release --offline -p backprop-kernels --example peak
//!   cargo run … --example peak -- --round-trip    # only the round trip between cores (below)
//! Prints one JSON object: GFLOP/s of one core and of every core for each ISA tier the CPU has
//! (independent FMA chains on registers, no memory traffic), and the data-cache sizes from CPUID
//! (`kernels::caches`, which the GEMM sizes its blocks from). Some cores run 512-bit FMAs at
//! half rate: there the avx512 and avx2 peaks are close.
//!
//! With two cores or more it also times a cache line's round trip between two threads (one on
//! each core while both spin): what every hand-over between cores costs. On one virtual machine
//! it was 100–170 ns when its two vCPUs shared a die and 400 ns when the host had placed them on
//! two, and mnist trained 1.70× and 1.21× as fast on two threads as on one, the same build.

use std::arch::x86_64::*;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// FMAs per chain between timer reads: long enough that the clock and the loop cost nothing.
const ITERATIONS: u64 = 20_000_000;
/// Independent accumulators: enough to cover the FMA latency (4 cycles) × 2 ports.
const CHAINS: usize = 12;

#[target_feature(enable = "avx512f")]
unsafe fn fma_avx512(iterations: u64) -> f32 {
    let mut acc = [_mm512_set1_ps(0.0); CHAINS];
    let a = _mm512_set1_ps(black_box(0.999_999));
    let b = _mm512_set1_ps(black_box(1e-7));
    for _ in 0..iterations {
        for c in acc.iter_mut() {
            *c = _mm512_fmadd_ps(*c, a, b);
        }
    }
    let mut sum = _mm512_setzero_ps();
    for c in acc {
        sum = _mm512_add_ps(sum, c);
    }
    _mm512_reduce_add_ps(sum)
}

#[target_feature(enable = "avx2,fma")]
unsafe fn fma_avx2(iterations: u64) -> f32 {
    let mut acc = [_mm256_set1_ps(0.0); CHAINS];
    let a = _mm256_set1_ps(black_box(0.999_999));
    let b = _mm256_set1_ps(black_box(1e-7));
    for _ in 0..iterations {
        for c in acc.iter_mut() {
            *c = _mm256_fmadd_ps(*c, a, b);
        }
    }
    let mut out = [0.0f32; 8];
    let mut sum = _mm256_setzero_ps();
    for c in acc {
        sum = _mm256_add_ps(sum, c);
    }
    _mm256_storeu_ps(out.as_mut_ptr(), sum);
    out.iter().sum()
}

/// GFLOP/s of `threads` threads each running the tier's loop (2 flops per lane per FMA).
fn measure(tier: &str, threads: usize) -> f64 {
    let lanes = if tier == "avx512" { 16 } else { 8 };
    let run = move || {
        // SAFETY: main only measures tiers the CPU reports.
        let r = unsafe { if tier == "avx512" { fma_avx512(ITERATIONS) } else { fma_avx2(ITERATIONS) } };
        black_box(r);
    };
    run(); // warm-up: lets the core reach its AVX frequency
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(run);
            }
        });
        best = best.min(start.elapsed().as_secs_f64());
    }
    let flops = 2.0 * lanes as f64 * CHAINS as f64 * ITERATIONS as f64 * threads as f64;
    flops / best / 1e9
}

/// The median over a few runs of the mean time, in ns, for a value to go from one thread to
/// another and back through one cache line.
fn round_trip_ns() -> f64 {
    const TRIPS: u64 = 100_000;
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let line = AtomicU64::new(0);
            std::thread::scope(|s| {
                s.spawn(|| {
                    for i in 0..TRIPS {
                        while line.load(Ordering::Acquire) != 2 * i + 1 {}
                        line.store(2 * i + 2, Ordering::Release);
                    }
                });
                let start = Instant::now();
                for i in 0..TRIPS {
                    line.store(2 * i + 1, Ordering::Release);
                    // No pause hint: it would add its own latency (tens of cycles) to each trip.
                    while line.load(Ordering::Acquire) != 2 * i + 2 {}
                }
                start.elapsed().as_secs_f64() * 1e9 / TRIPS as f64
            })
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if std::env::args().nth(1).as_deref() == Some("--round-trip") {
        let trip = if cores > 1 { format!("{:.0}", round_trip_ns()) } else { "null".into() };
        println!("{{\"roundTripNs\": {trip}}}");
        return;
    }
    let mut tiers = Vec::new();
    if is_x86_feature_detected!("avx512f") {
        tiers.push("avx512");
    }
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        tiers.push("avx2");
    }
    let peaks: Vec<String> = tiers
        .iter()
        .map(|tier| format!("\"{tier}\": {{\"oneCore\": {:.1}, \"allCores\": {:.1}}}", measure(tier, 1), measure(tier, cores)))
        .collect();
    let caches: Vec<String> = kernels::caches::data_caches().iter().map(|c| format!("{{\"level\": {}, \"bytes\": {}, \"sharedBy\": {}}}", c.level, c.bytes, c.shared_by)).collect();
    let trip = if cores > 1 { format!(", \"roundTripNs\": {:.0}", round_trip_ns()) } else { String::new() };
    println!("{{\"cores\": {cores}, \"gflops\": {{{}}}, \"caches\": [{}]{trip}}}", peaks.join(", "), caches.join(", "));
}
