//! The elementwise kernels against straightforward f64 references, on ragged lengths. They
//! vectorise for the active ISA tier, so CI runs this file under BACKPROP_ISA=scalar, avx2 and
//! the detected tier (the GEMM tests in gemm.rs pick every tier explicitly).

use kernels::plan::{Activation, Clip, Fused, Loss, Optimizer, Variable};
use kernels::rng::Rng;
use kernels::{activations, batch_norm, chain, dropout, losses, optimizers};

const LENGTHS: [usize; 7] = [1, 2, 7, 16, 17, 33, 101];

fn random(rng: &mut Rng, n: usize, scale: f64) -> Vec<f32> {
    (0..n).map(|_| ((rng.next_f64() * 2.0 - 1.0) * scale) as f32).collect()
}

fn close(got: f64, want: f64, rel: f64, abs: f64) -> bool {
    (got - want).abs() <= abs + rel * want.abs()
}

fn reference_forward(act: Activation, z: &[f64], cols: usize) -> Vec<f64> {
    match act {
        Activation::Linear => z.to_vec(),
        Activation::Sigmoid => z.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect(),
        Activation::Tanh => z.iter().map(|v| v.tanh()).collect(),
        Activation::Relu => z.iter().map(|&v| v.max(0.0)).collect(),
        Activation::LeakyRelu(alpha) => z.iter().map(|&v| if v > 0.0 { v } else { alpha as f64 * v }).collect(),
        Activation::Softmax => z
            .chunks(cols)
            .flat_map(|row| {
                let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
                row.iter().map(move |v| (v - max).exp() / sum).collect::<Vec<_>>()
            })
            .collect(),
    }
}

/// dL/dz from dL/da by the definition of each derivative (softmax: the full Jacobian).
fn reference_backward(act: Activation, z: &[f64], g: &[f64], cols: usize) -> Vec<f64> {
    let a = reference_forward(act, z, cols);
    match act {
        Activation::Softmax => a
            .chunks(cols)
            .zip(g.chunks(cols))
            .flat_map(|(a, g)| (0..cols).map(move |i| (0..cols).map(|j| g[j] * a[j] * (if i == j { 1.0 } else { 0.0 } - a[i])).sum::<f64>()))
            .collect(),
        _ => z
            .iter()
            .zip(g)
            .zip(&a)
            .map(|((&z, &g), &a)| {
                g * match act {
                    Activation::Linear => 1.0,
                    Activation::Sigmoid => a * (1.0 - a),
                    Activation::Tanh => 1.0 - a * a,
                    Activation::Relu => f64::from(z > 0.0),
                    Activation::LeakyRelu(alpha) => if z > 0.0 { 1.0 } else { alpha as f64 },
                    Activation::Softmax => unreachable!(),
                }
            })
            .collect(),
    }
}

const ACTIVATIONS: [Activation; 6] = [Activation::Linear, Activation::Sigmoid, Activation::Tanh, Activation::Relu, Activation::LeakyRelu(0.2), Activation::Softmax];

#[test]
fn activations_match_their_definitions() {
    let mut rng = Rng::new([3, 1, 4, 1]);
    for act in ACTIVATIONS {
        for &n in &LENGTHS {
            let cols = if act == Activation::Softmax { [1, 2, 7, 16, 17, 33, 101].into_iter().find(|c| n % c == 0 && *c > 1).unwrap_or(n) } else { 1 };
            let z = random(&mut rng, n, 6.0);
            let z64: Vec<f64> = z.iter().map(|&v| v as f64).collect();
            let mut a = z.clone();
            activations::forward(act, &mut a, cols);
            let want = reference_forward(act, &z64, cols);
            for i in 0..n {
                assert!(close(a[i] as f64, want[i], 3e-6, 1e-7), "{act:?} n={n}: forward[{i}] = {} want {}", a[i], want[i]);
            }
            let g = random(&mut rng, n, 1.0);
            let g64: Vec<f64> = g.iter().map(|&v| v as f64).collect();
            let mut grad = g.clone();
            activations::backward(act, &a, &mut grad, cols);
            let want = reference_backward(act, &z64, &g64, cols);
            for i in 0..n {
                assert!(close(grad[i] as f64, want[i], 1e-5, 1e-6), "{act:?} n={n}: backward[{i}] = {} want {}", grad[i], want[i]);
            }
        }
    }
}

/// Per-sample losses by definition, in f64 (probabilities clipped for the unfused forms).
fn reference_loss(loss: Loss, fused: bool, z_or_a: &[f64], y: &[f64], cols: usize) -> Vec<f64> {
    let rows = z_or_a.len() / cols;
    (0..rows)
        .map(|r| {
            let v = &z_or_a[r * cols..(r + 1) * cols];
            let clip = |p: f64| p.clamp(1e-7, 1.0 - 1e-7);
            match loss {
                Loss::SparseCategoricalCrossEntropy | Loss::CategoricalCrossEntropy => {
                    let p: Vec<f64> = if fused { reference_forward(Activation::Softmax, v, cols) } else { v.to_vec() };
                    if loss == Loss::SparseCategoricalCrossEntropy {
                        -clip(p[y[r] as usize]).ln()
                    } else {
                        -(0..cols).map(|k| y[r * cols + k] * clip(p[k]).ln()).sum::<f64>()
                    }
                }
                Loss::BinaryCrossEntropy => {
                    (0..cols)
                        .map(|k| {
                            let p = if fused { 1.0 / (1.0 + (-v[k]).exp()) } else { clip(v[k]) };
                            let t = y[r * cols + k];
                            -(t * p.ln() + (1.0 - t) * (1.0 - p).ln())
                        })
                        .sum::<f64>()
                        / cols as f64
                }
                Loss::MeanSquaredError => (0..cols).map(|k| (v[k] - y[r * cols + k]).powi(2)).sum::<f64>() / cols as f64,
            }
        })
        .collect()
}

#[test]
fn losses_and_their_gradients_match_definitions_with_and_without_weights() {
    let mut rng = Rng::new([2, 7, 1, 8]);
    let cases = [
        (Loss::SparseCategoricalCrossEntropy, Some(Fused::SoftmaxCrossEntropy)),
        (Loss::CategoricalCrossEntropy, Some(Fused::SoftmaxCrossEntropy)),
        (Loss::BinaryCrossEntropy, Some(Fused::SigmoidCrossEntropy)),
        (Loss::SparseCategoricalCrossEntropy, None),
        (Loss::CategoricalCrossEntropy, None),
        (Loss::BinaryCrossEntropy, None),
        (Loss::MeanSquaredError, None),
    ];
    for (loss, fused) in cases {
        for (rows, cols) in [(1, 2), (3, 5), (17, 3), (8, 1)] {
            if matches!(loss, Loss::SparseCategoricalCrossEntropy | Loss::CategoricalCrossEntropy) && cols < 2 {
                continue;
            }
            let sparse = loss == Loss::SparseCategoricalCrossEntropy;
            let inputs: Vec<f32> = match fused {
                Some(_) => random(&mut rng, rows * cols, 4.0),
                // Unfused cross-entropies take probabilities inside the clip.
                None if loss != Loss::MeanSquaredError => (0..rows * cols).map(|_| (0.05 + 0.9 * rng.next_f64()) as f32).collect(),
                None => random(&mut rng, rows * cols, 2.0),
            };
            let y: Vec<f32> = if sparse {
                (0..rows).map(|_| rng.next_below(cols) as f32).collect()
            } else if loss == Loss::CategoricalCrossEntropy {
                (0..rows).flat_map(|_| {
                    let k = rng.next_below(cols);
                    (0..cols).map(move |j| f32::from(j == k))
                }).collect()
            } else if loss == Loss::BinaryCrossEntropy {
                (0..rows * cols).map(|_| rng.next_f64().round() as f32).collect()
            } else {
                random(&mut rng, rows * cols, 1.0)
            };
            let x64: Vec<f64> = inputs.iter().map(|&v| v as f64).collect();
            let y64: Vec<f64> = y.iter().map(|&v| v as f64).collect();
            let per_sample = reference_loss(loss, fused.is_some(), &x64, &y64, cols);
            for weighted in [false, true] {
                let w: Vec<f32> = (0..rows).map(|r| if weighted { 0.25 + r as f32 * 0.5 } else { 1.0 }).collect();
                let scale = 1.0 / rows as f64;
                let mut grad = vec![0.0f32; rows * cols];
                let mut probs = vec![0.0f32; rows * cols];
                let weights = if weighted { Some(&w[..]) } else { None };
                let total = match fused {
                    Some(kind) => losses::fused(kind, sparse, &inputs, &mut probs, &y, cols, &mut grad, scale, weights),
                    None => losses::unfused(loss, &inputs, &y, cols, &mut grad, scale, weights),
                };
                let want: f64 = per_sample.iter().zip(&w).map(|(l, &w)| l * w as f64).sum();
                assert!(close(total, want, 1e-6, 1e-9), "{loss:?} {fused:?} {rows}×{cols} weighted={weighted}: {total} vs {want}");
                // The gradient by central differences of the f64 reference.
                for i in 0..rows * cols {
                    let h = 1e-6;
                    let (mut up, mut down) = (x64.clone(), x64.clone());
                    up[i] += h;
                    down[i] -= h;
                    let r = i / cols;
                    let fd = (reference_loss(loss, fused.is_some(), &up, &y64, cols)[r] - reference_loss(loss, fused.is_some(), &down, &y64, cols)[r]) / (2.0 * h)
                        * scale
                        * w[r] as f64;
                    assert!(close(grad[i] as f64, fd, 1e-4, 1e-7), "{loss:?} {fused:?} {rows}×{cols} weighted={weighted}: grad[{i}] {} vs {fd}", grad[i]);
                }
            }
        }
    }
}

/// Training-mode batch normalisation in f64, returning Σ c·y for a fixed random c.
fn batch_norm_objective(x: &[f64], gamma: &[f64], beta: &[f64], c: &[f64], units: usize, eps: f64) -> f64 {
    let rows = x.len() / units;
    let mut total = 0.0;
    for j in 0..units {
        let col: Vec<f64> = (0..rows).map(|r| x[r * units + j]).collect();
        let mean = col.iter().sum::<f64>() / rows as f64;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / rows as f64;
        for r in 0..rows {
            total += c[r * units + j] * (gamma[j] * (col[r] - mean) / (var + eps).sqrt() + beta[j]);
        }
    }
    total
}

#[test]
fn batch_normalization_forward_and_backward_match_the_definition() {
    let mut rng = Rng::new([5, 5, 5, 5]);
    for (rows, units) in [(2, 1), (5, 3), (17, 16), (33, 7)] {
        let eps = 1e-3;
        let x = random(&mut rng, rows * units, 3.0);
        let gamma: Vec<f32> = (0..units).map(|_| (0.5 + rng.next_f64()) as f32).collect();
        let beta = random(&mut rng, units, 1.0);
        let c = random(&mut rng, rows * units, 1.0);
        let mut cache = batch_norm::Cache::new(units, rows).unwrap();
        let mut out = vec![0.0; rows * units];
        let norm = chain::Norm { gamma: &gamma, beta: &beta, epsilon: eps, cache: &mut cache };
        chain::forward(&x, units, Some(norm), None, &mut out, None, &mut Rng::new([1, 2, 3, 4]), 1);
        let to64 = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        let (x64, g64, b64, c64) = (to64(&x), to64(&gamma), to64(&beta), to64(&c));
        let objective: f64 = out.iter().zip(&c).map(|(&o, &c)| o as f64 * c as f64).sum();
        assert!(close(objective, batch_norm_objective(&x64, &g64, &b64, &c64, units, eps), 1e-5, 1e-5));
        // Backward with dL/dy = c: every gradient against central differences of the objective.
        let mut grads = vec![0.0f32; 2 * units];
        let mut dx = vec![0.0f32; rows * units];
        let norm = chain::NormBackward { gamma: &gamma, input: &x, cache: &mut cache, delta: None, grads: &mut grads, gamma_at: 0, beta_at: units };
        chain::backward(&c, units, None, None, Some(norm), Some(&mut dx), 1);
        let h = 1e-6;
        let fd = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
        for i in 0..rows * units {
            let want = fd(&|d| {
                let mut x = x64.clone();
                x[i] += d;
                batch_norm_objective(&x, &g64, &b64, &c64, units, eps)
            });
            assert!(close(dx[i] as f64, want, 1e-3, 1e-5), "{rows}×{units}: dx[{i}] {} vs {want}", dx[i]);
        }
        for j in 0..units {
            let dg = fd(&|d| {
                let mut g = g64.clone();
                g[j] += d;
                batch_norm_objective(&x64, &g, &b64, &c64, units, eps)
            });
            let db = fd(&|d| {
                let mut b = b64.clone();
                b[j] += d;
                batch_norm_objective(&x64, &g64, &b, &c64, units, eps)
            });
            assert!(close(grads[j] as f64, dg, 1e-4, 1e-5) && close(grads[units + j] as f64, db, 1e-4, 1e-5), "{rows}×{units}: dγ/dβ[{j}]");
        }
    }
}

#[test]
fn dropout_drops_at_its_rate_scales_survivors_and_draws_the_shared_stream() {
    for rate in [0.0, 0.1, 0.5, 0.9] {
        let n = 20_000;
        let x: Vec<f32> = (0..n).map(|i| 1.0 + (i % 7) as f32).collect();
        let (mut out, mut mask) = (vec![0.0; n], vec![0.0; n]);
        let mut rng = Rng::new([1, 2, 3, 4]);
        let drop = chain::Dropout { rate, mask: &mut mask, keep_mask: true, out: None };
        chain::forward(&x, 100, None, None, &mut out, Some(drop), &mut rng, 1);
        // The mask is exactly "draw < rate", one draw per unit in order.
        let mut replay = Rng::new([1, 2, 3, 4]);
        let keep = (1.0 / (1.0 - rate)) as f32;
        for i in 0..n {
            let dropped = replay.next_f64() < rate;
            assert_eq!(mask[i], if dropped { 0.0 } else { keep });
            assert_eq!(out[i], x[i] * mask[i]);
        }
        assert_eq!(rng, replay, "one draw per unit");
        let fraction = mask.iter().filter(|&&m| m == 0.0).count() as f64 / n as f64;
        assert!((fraction - rate).abs() < 0.015, "rate {rate}: dropped {fraction}");
        let dy: Vec<f32> = (0..n).map(|i| i as f32 * 0.01).collect();
        let mut dx = vec![0.0; n];
        chain::backward(&dy, 100, Some(chain::DropoutBackward::Mask(&mask)), None, None, Some(&mut dx), 1);
        assert!((0..n).all(|i| dx[i] == dy[i] * mask[i]));
    }
}

/// Everything one BatchNorm → Activation → Dropout chain computes, forward and backward (the
/// Activation's output only where it is kept).
#[derive(PartialEq, Debug)]
struct ChainRun {
    activated: Option<Vec<f32>>,
    mask: Vec<f32>,
    out: Vec<f32>,
    rng: Rng,
    dx: Vec<f32>,
    grads: Vec<f32>,
}

/// How `run_chain` runs the chain.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Run {
    /// Three chains of one layer each.
    Layers,
    /// One chain, keeping the Activation's output for its derivative.
    Chained,
    /// One chain, the derivative read from Dropout's output (`Chain::derivative_from_dropout`).
    FromDropout,
    /// As FromDropout, for ReLU, without the mask (`Chain::reads_mask`): the forward pass leaves
    /// the draws in its buffer, and the backward pass has only the survivors' scale.
    MaskFree,
}

fn run_chain(x: &[f32], dy: &[f32], units: usize, act: Activation, gamma: &[f32], beta: &[f32], run: Run, threads: usize) -> ChainRun {
    let (n, rows) = (x.len(), x.len() / units);
    let mut cache = batch_norm::Cache::new(units, rows).unwrap();
    let (mut normed, mut activated, mut mask, mut out) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
    let mut rng = Rng::new([9, 8, 7, 6]);
    let drop = |mask| chain::Dropout { rate: 0.3, mask, keep_mask: run != Run::MaskFree, out: None };
    let norm = chain::Norm { gamma, beta, epsilon: 1e-3, cache: &mut cache };
    match run {
        Run::Layers => {
            chain::forward(x, units, Some(norm), None, &mut normed, None, &mut rng, threads);
            chain::forward(&normed, units, None, Some(act), &mut activated, None, &mut rng, threads);
            chain::forward(&activated, units, None, None, &mut out, Some(drop(&mut mask)), &mut rng, threads);
        }
        Run::Chained => chain::forward(x, units, Some(norm), Some(act), &mut activated, Some(chain::Dropout { out: Some(&mut out), ..drop(&mut mask) }), &mut rng, threads),
        Run::FromDropout | Run::MaskFree => chain::forward(x, units, Some(norm), Some(act), &mut out, Some(drop(&mut mask)), &mut rng, threads),
    }
    let (mut grads, mut dx, mut delta) = (vec![0.0; 2 * units], vec![0.0; n], vec![0.0; n]);
    let delta = (run != Run::Layers).then_some(&mut delta[..]);
    let norm = chain::NormBackward { gamma, input: x, cache: &mut cache, delta, grads: &mut grads, gamma_at: 0, beta_at: units };
    let masked = Some(chain::DropoutBackward::Mask(&mask));
    match run {
        Run::Layers => {
            let (mut d1, mut d2) = (vec![0.0; n], vec![0.0; n]);
            chain::backward(dy, units, masked, None, None, Some(&mut d1), threads);
            chain::backward(&d1, units, None, Some((act, &activated)), None, Some(&mut d2), threads);
            chain::backward(&d2, units, None, None, Some(norm), Some(&mut dx), threads);
        }
        Run::Chained => chain::backward(dy, units, masked, Some((act, &activated)), Some(norm), Some(&mut dx), threads),
        Run::FromDropout => chain::backward(dy, units, masked, Some((act, &out)), Some(norm), Some(&mut dx), threads),
        Run::MaskFree => chain::backward(dy, units, Some(chain::DropoutBackward::Scale(dropout::keep_scale(0.3))), Some((act, &out)), Some(norm), Some(&mut dx), threads),
    }
    let activated = matches!(run, Run::Layers | Run::Chained).then_some(activated);
    // Without the mask, its buffer holds the draws it was decided from.
    let mask = if run == Run::MaskFree { Vec::new() } else { mask };
    ChainRun { activated, mask, out, rng, dx, grads }
}

/// A chain gives what its layers give one at a time, on any number of threads: sizes large
/// enough to split rows, units (not a multiple of the vector width) and the dropout draws. The
/// values are compared (a dropped unit's zero gradient may differ in sign when the derivative
/// is read from Dropout's output); every thread count gives the same bits.
#[test]
fn a_chain_equals_its_layers_one_at_a_time_on_any_number_of_threads() {
    let mut rng = Rng::new([3, 1, 4, 1]);
    for (rows, units) in [(3, 5), (256, 200), (131, 517)] {
        let x = random(&mut rng, rows * units, 3.0);
        let dy = random(&mut rng, rows * units, 1.0);
        let gamma: Vec<f32> = (0..units).map(|_| (0.5 + rng.next_f64()) as f32).collect();
        let beta = random(&mut rng, units, 1.0);
        for act in [Activation::Relu, Activation::Tanh, Activation::Sigmoid, Activation::LeakyRelu(0.2), Activation::Linear] {
            let reference = run_chain(&x, &dy, units, act, &gamma, &beta, Run::Layers, 1);
            assert!(reference.mask.contains(&0.0) && reference.dx.iter().any(|&d| d != 0.0), "a case that drops and passes gradients");
            let sign_only = matches!(act, Activation::Relu | Activation::LeakyRelu(_) | Activation::Linear);
            let runs = [Run::Chained].into_iter().chain(sign_only.then_some(Run::FromDropout)).chain((act == Activation::Relu).then_some(Run::MaskFree));
            for run in runs {
                let one = run_chain(&x, &dy, units, act, &gamma, &beta, run, 1);
                let mask = if run == Run::MaskFree { Vec::new() } else { reference.mask.clone() };
                let want = ChainRun { activated: one.activated.is_some().then(|| reference.activated.clone().unwrap()), mask, ..run_chain(&x, &dy, units, act, &gamma, &beta, Run::Layers, 1) };
                assert!(one == want, "{rows}×{units} {act:?}: {run:?} differs from the layers one at a time");
                let bits = |r: &ChainRun| [&r.out, &r.dx, &r.grads].map(|v| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>());
                let several = run_chain(&x, &dy, units, act, &gamma, &beta, run, 4);
                assert!(bits(&several) == bits(&one) && several == one, "{rows}×{units} {act:?}: {run:?} on 4 threads differs in bits from 1 thread");
            }
        }
    }
}

/// One update of each optimizer, written out from its documented rule in f64.
#[test]
fn every_optimizer_takes_the_documented_step() {
    let clip = Clip::NONE;
    let mut rng = Rng::new([8, 6, 7, 5]);
    for &n in &LENGTHS {
        let w0: Vec<f32> = random(&mut rng, n, 1.0);
        let g: Vec<f32> = random(&mut rng, n, 1.0);
        let s0: Vec<f32> = (0..3 * n).map(|_| rng.next_f64() as f32).collect();
        let (lr, t) = (0.05, 3u64);
        let cases = [
            Optimizer::Sgd { lr, momentum: 0.0, nesterov: false, clip },
            Optimizer::Sgd { lr, momentum: 0.9, nesterov: true, clip },
            Optimizer::AdaGrad { lr, initial_accumulator: 0.1, epsilon: 1e-7, clip },
            Optimizer::RmsProp { lr, rho: 0.9, momentum: 0.5, epsilon: 1e-7, centered: true, clip },
            Optimizer::Adam { lr, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, weight_decay: 0.01, clip },
        ];
        for opt in cases {
            let slots = opt.slot_count();
            let mut w = w0.clone();
            let mut s = s0[..slots * n].to_vec();
            let top = optimizers::step(&opt, &mut w, &g, &mut s, &[Variable::row(0, n)], t, lr, usize::MAX);
            assert_eq!(top, optimizers::max_abs(&w).max(optimizers::max_abs(&s)), "{opt:?}: the largest value written");
            for i in 0..n {
                let (wi, gi) = (w0[i] as f64, g[i] as f64);
                let si = |k: usize| s0[k * n + i] as f64;
                let (want_w, want_s): (f64, Vec<f64>) = match opt {
                    Optimizer::Sgd { momentum: 0.0, .. } => (wi - lr * gi, vec![]),
                    Optimizer::Sgd { momentum: mu, .. } => {
                        let v = mu * si(0) - lr * gi;
                        (wi + mu * v - lr * gi, vec![v])
                    }
                    Optimizer::AdaGrad { epsilon, .. } => {
                        let a = si(0) + gi * gi;
                        (wi - lr * gi / (a.sqrt() + epsilon), vec![a])
                    }
                    Optimizer::RmsProp { rho, momentum: mu, epsilon, .. } => {
                        let v = rho * si(0) + (1.0 - rho) * gi * gi;
                        let mg = rho * si(2) + (1.0 - rho) * gi;
                        let m = mu * si(1) + lr * gi / ((v - mg * mg).max(0.0).sqrt() + epsilon);
                        (wi - m, vec![v, m, mg])
                    }
                    Optimizer::Adam { beta1, beta2, epsilon, weight_decay, .. } => {
                        let m = beta1 * si(0) + (1.0 - beta1) * gi;
                        let v = beta2 * si(1) + (1.0 - beta2) * gi * gi;
                        let alpha = lr * (1.0 - beta2.powi(t as i32)).sqrt() / (1.0 - beta1.powi(t as i32));
                        (wi * (1.0 - lr * weight_decay) - alpha * m / (v.sqrt() + epsilon), vec![m, v])
                    }
                };
                assert!(close(w[i] as f64, want_w, 1e-5, 1e-6), "{opt:?} n={n}: w[{i}] {} vs {want_w}", w[i]);
                for (k, want) in want_s.iter().enumerate() {
                    assert!(close(s[k * n + i] as f64, *want, 1e-5, 1e-6), "{opt:?} n={n}: slot {k}[{i}] {} vs {want}", s[k * n + i]);
                }
            }
        }
    }
}

#[test]
fn clipping_by_norm_then_by_value() {
    let mut g = vec![3.0f32, 4.0, 0.0, -12.0];
    let sum_squares = optimizers::clip(Clip { norm: None, global_norm: Some(6.5), value: Some(2.0) }, &mut g, &[Variable::row(0, 4)], 1);
    assert_eq!(sum_squares, 169.0);
    // ‖g‖ = 13 → scaled by 0.5 to [1.5, 2, 0, −6], then clamped to ±2.
    assert_eq!(g, [1.5, 2.0, 0.0, -2.0]);
    let mut bad = vec![1.0f32, f32::NAN];
    assert!(optimizers::clip(Clip { norm: None, global_norm: Some(1.0), value: None }, &mut bad, &[Variable::row(0, 2)], 1).is_nan());
}

#[test]
fn clipping_each_variable_by_its_own_norm() {
    // Two variables: [3, 4] (norm 5 → scaled by 0.5) and [0.6, 0.8] (norm 1, kept).
    let mut g = vec![3.0f32, 4.0, 0.6, 0.8];
    optimizers::clip(Clip { norm: Some(2.5), global_norm: None, value: None }, &mut g, &[Variable::row(0, 2), Variable::row(2, 2)], 1);
    assert_eq!(g, [1.5, 2.0, 0.6, 0.8]);
}
