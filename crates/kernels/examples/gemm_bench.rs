//! GEMM throughput: GFLOP/s (median of timed samples after warm-up) for square sizes and the
//! shapes of a 784-256-128-10 MLP at batch 128, in the three forms, on 1 and 2 threads.
//!
//!   cargo run --release --offline -p backprop-kernels --example gemm_bench
//!   cargo run … --example gemm_bench -- --csv            # machine-readable (bench/gemm_numpy.py)
//!   cargo run … --example gemm_bench -- --sizes 512,1024 --threads 1 --forms nn
//!   cargo run … --example gemm_bench -- --shape 128x10x128 --forms nn   # one m×n×k shape only
//!   BACKPROP_ISA=avx2 cargo run …                        # another tier
//!
//! Forms: nn = A·B, tn = Aᵀ·B (A stored k×m), nt = A·Bᵀ (B stored n×k); m×n×k is the shape of
//! the product (C is m×n).

use std::hint::black_box;
use std::time::{Duration, Instant};

use kernels::gemm::{gemm_with, Epilogue, MatMut, MatRef};
use kernels::isa::active_isa;

/// One case: `form` on an m×n×k product.
#[derive(Clone, Copy)]
struct Case {
    form: &'static str,
    m: usize,
    n: usize,
    k: usize,
}

/// The cases, in the same order as bench/gemm_numpy.py.
fn cases(sizes: &[usize], forms: &[&'static str], training: bool) -> Vec<Case> {
    let mut out = Vec::new();
    for &form in forms {
        for &s in sizes {
            out.push(Case {
                form,
                m: s,
                n: s,
                k: s,
            });
        }
    }
    if training {
        // Forward X·W, weight gradient Xᵀ·dZ, input gradient dZ·Wᵀ for each layer.
        for (inp, out_) in [(784, 256), (256, 128), (128, 10)] {
            let b = 128;
            out.push(Case {
                form: "nn",
                m: b,
                n: out_,
                k: inp,
            });
            out.push(Case {
                form: "tn",
                m: inp,
                n: out_,
                k: b,
            });
            out.push(Case {
                form: "nt",
                m: b,
                n: inp,
                k: out_,
            });
        }
    }
    out
}

/// Median seconds per call: warm up for ~50 ms, then `samples` samples of ≥ 2 ms each.
fn time_case(c: Case, threads: usize, samples: usize) -> f64 {
    let (m, n, k) = (c.m, c.n, c.k);
    let a: Vec<f32> = (0..m * k)
        .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
        .collect();
    let b: Vec<f32> = (0..k * n)
        .map(|i| ((i * 5 % 11) as f32 - 5.0) / 8.0)
        .collect();
    let mut cm = vec![0.0f32; m * n];
    let isa = active_isa();
    let mut call = || {
        let av = if c.form == "tn" {
            MatRef::new(&a, k, m).t()
        } else {
            MatRef::new(&a, m, k)
        };
        let bv = if c.form == "nt" {
            MatRef::new(&b, n, k).t()
        } else {
            MatRef::new(&b, k, n)
        };
        gemm_with(
            isa,
            threads,
            black_box(av),
            black_box(bv),
            MatMut::new(&mut cm, m, n),
            false,
            Epilogue::None,
        )
        .unwrap();
    };
    let start = Instant::now();
    let mut warm = 0u32;
    while start.elapsed() < Duration::from_millis(50) || warm < 3 {
        call();
        warm += 1;
    }
    let per_call = start.elapsed().as_secs_f64() / warm as f64;
    let reps = ((2e-3 / per_call).ceil() as usize).max(1);
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                call();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    black_box(&cm);
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn list<T: std::str::FromStr>(s: &str) -> Vec<T> {
    s.split(',')
        .map(|x| x.trim().parse().ok().expect("bad list item"))
        .collect()
}

fn main() {
    let mut sizes = vec![64, 128, 256, 512, 1024, 2048];
    let mut threads = vec![1, 2];
    let mut forms = vec!["nn", "tn", "nt"];
    let mut training = true;
    let mut csv = false;
    let mut samples = 11;
    let mut shape: Option<(usize, usize, usize)> = None;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().expect("missing value").clone();
        match a.as_str() {
            "--sizes" => sizes = list(&val()),
            "--threads" => threads = list(&val()),
            "--forms" => {
                let v = val();
                forms = ["nn", "tn", "nt"]
                    .into_iter()
                    .filter(|f| v.split(',').any(|x| x == *f))
                    .collect();
            }
            "--no-training" => training = false,
            "--shape" => {
                let d: Vec<usize> = list(&val().replace('x', ","));
                shape = Some((d[0], d[1], d[2]));
            }
            "--samples" => samples = val().parse().expect("--samples N"),
            "--csv" => csv = true,
            other => panic!("unknown argument {other}; see the header of gemm_bench.rs"),
        }
    }
    if !csv {
        println!(
            "backprop-kernels gemm, isa {}, pool threads {}",
            active_isa(),
            kernels::pool::max_threads()
        );
        println!(
            "{:<5} {:>16} {:>8} {:>10} {:>10}",
            "form", "m×n×k", "threads", "µs", "GFLOP/s"
        );
    }
    let cases = match shape {
        Some((m, n, k)) => forms.iter().map(|&form| Case { form, m, n, k }).collect(),
        None => cases(&sizes, &forms, training),
    };
    for c in cases {
        for &t in &threads {
            let secs = time_case(c, t, samples);
            let gflops = 2.0 * (c.m * c.n * c.k) as f64 / secs / 1e9;
            if csv {
                println!("{},{},{},{},{},{:.3}", c.form, c.m, c.n, c.k, t, gflops);
            } else {
                let shape = format!("{}×{}×{}", c.m, c.n, c.k);
                println!(
                    "{:<5} {:>16} {:>8} {:>10.1} {:>10.1}",
                    c.form,
                    shape,
                    t,
                    secs * 1e6,
                    gflops
                );
            }
        }
    }
}
