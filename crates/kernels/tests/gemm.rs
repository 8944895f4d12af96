//! GEMM against a straightforward f64 reference: every form, ISA tier and thread count, on the
//! ragged shapes neural networks produce.

use kernels::gemm::{gemm, gemm_split, gemm_with, k_share, Epilogue, GemmError, MatMut, MatRef, Split, Tile};
use kernels::isa::Isa;

/// Small deterministic generator so failures reproduce (values in [-1, 1), some exact zeros).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let x = ((self.0 >> 40) as f32) / (1u64 << 24) as f32;
        if x < 0.02 {
            0.0
        } else {
            2.0 * x - 1.0
        }
    }

    fn vec(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next()).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    /// C = A·B, A m×k, B k×n.
    Nn,
    /// C = Aᵀ·B, A stored k×m.
    Tn,
    /// C = A·Bᵀ, B stored n×k.
    Nt,
    /// C = Aᵀ·Bᵀ (not needed by backprop, but free).
    Tt,
}

const FORMS: [Form; 4] = [Form::Nn, Form::Tn, Form::Nt, Form::Tt];

fn relu(_row: usize, _col: usize, tile: Tile) {
    tile.for_each_row(|_, seg| seg.iter_mut().for_each(|x| *x = x.max(0.0)));
}

/// One test case: storage with padding (`pad` extra floats per row), expected values in f64.
struct Case {
    m: usize,
    n: usize,
    k: usize,
    form: Form,
    pad: usize,
    a: Vec<f32>,
    lda: usize,
    b: Vec<f32>,
    ldb: usize,
    c0: Vec<f32>,
    ldc: usize,
    bias: Vec<f32>,
}

impl Case {
    fn new(m: usize, n: usize, k: usize, form: Form, pad: usize, seed: u64) -> Case {
        let mut rng = Rng(seed ^ (m * 1_000_003 + n * 1009 + k) as u64);
        let (ar, ac) = if matches!(form, Form::Tn | Form::Tt) {
            (k, m)
        } else {
            (m, k)
        };
        let (br, bc) = if matches!(form, Form::Nt | Form::Tt) {
            (n, k)
        } else {
            (k, n)
        };
        let (lda, ldb, ldc) = (ac + pad, bc + pad, n + pad);
        let len = |r: usize, ld: usize| if r == 0 { 0 } else { (r - 1) * ld + ld.max(1) };
        Case {
            m,
            n,
            k,
            form,
            pad,
            a: rng.vec(len(ar, lda)),
            lda,
            b: rng.vec(len(br, ldb)),
            ldb,
            c0: rng.vec(len(m, ldc)),
            ldc,
            bias: rng.vec(n),
        }
    }

    fn a_at(&self, i: usize, p: usize) -> f64 {
        let t = matches!(self.form, Form::Tn | Form::Tt);
        (if t {
            self.a[p * self.lda + i]
        } else {
            self.a[i * self.lda + p]
        }) as f64
    }

    fn b_at(&self, p: usize, j: usize) -> f64 {
        let t = matches!(self.form, Form::Nt | Form::Tt);
        (if t {
            self.b[j * self.ldb + p]
        } else {
            self.b[p * self.ldb + j]
        }) as f64
    }

    fn views(&self) -> (MatRef<'_>, MatRef<'_>) {
        let (m, n, k) = (self.m, self.n, self.k);
        let a = match self.form {
            Form::Nn | Form::Nt => MatRef::with_ld(&self.a, m, k, self.lda),
            Form::Tn | Form::Tt => MatRef::with_ld(&self.a, k, m, self.lda).t(),
        };
        let b = match self.form {
            Form::Nn | Form::Tn => MatRef::with_ld(&self.b, k, n, self.ldb),
            Form::Nt | Form::Tt => MatRef::with_ld(&self.b, n, k, self.ldb).t(),
        };
        (a, b)
    }

    /// Runs the GEMM and checks every element (and that padding is untouched).
    fn check(
        &self,
        isa: Isa,
        threads: usize,
        accumulate: bool,
        bias: bool,
        hook: bool,
    ) -> Vec<f32> {
        let mut c = self.c0.clone();
        let (a, b) = self.views();
        let ep = match (bias, hook) {
            (false, false) => Epilogue::None,
            (true, false) => Epilogue::Bias(&self.bias),
            (false, true) => Epilogue::Map(&relu),
            (true, true) => Epilogue::BiasThen(&self.bias, &relu),
        };
        gemm_with(
            isa,
            threads,
            a,
            b,
            MatMut::with_ld(&mut c, self.m, self.n, self.ldc),
            accumulate,
            ep,
        )
        .unwrap();
        for i in 0..self.m {
            for j in 0..self.ldc {
                let got = c[i * self.ldc + j];
                let old = self.c0[i * self.ldc + j];
                if j >= self.n {
                    assert_eq!(got.to_bits(), old.to_bits(), "padding written at ({i},{j})");
                    continue;
                }
                let (mut want, mut scale) = (0.0f64, 0.0f64);
                for p in 0..self.k {
                    let prod = self.a_at(i, p) * self.b_at(p, j);
                    want += prod;
                    scale += prod.abs();
                }
                if accumulate {
                    want += old as f64;
                    scale += (old as f64).abs();
                }
                if bias {
                    want += self.bias[j] as f64;
                    scale += (self.bias[j] as f64).abs();
                }
                if hook {
                    want = want.max(0.0);
                }
                let tol = 1e-5 * scale + 1e-30;
                assert!(
                    (got as f64 - want).abs() <= tol,
                    "{isa} threads={threads} {:?} m={} n={} k={} pad={} acc={accumulate} bias={bias} \
                     hook={hook}: C[{i}][{j}] = {got}, want {want} (tol {tol})",
                    self.form, self.m, self.n, self.k, self.pad
                );
            }
        }
        c
    }
}

const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (2, 3, 4),
    (7, 13, 17),
    (31, 37, 41),
    (12, 32, 5),
    (13, 33, 257),
    (17, 15, 300),
    (33, 65, 31),
    (1000, 3, 2),
    (3, 1000, 2),
    (32, 16, 2),
    (128, 10, 128),
    (5, 200, 1),
    (0, 5, 7),
    (5, 0, 7),
    (5, 7, 0),
    (0, 0, 0),
];

#[test]
fn every_form_tier_and_shape() {
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for &(m, n, k) in SHAPES {
            for form in FORMS {
                for pad in [0, 3] {
                    let case = Case::new(m, n, k, form, pad, 1);
                    for accumulate in [false, true] {
                        for (bias, hook) in
                            [(false, false), (true, false), (true, true), (false, true)]
                        {
                            case.check(isa, 1, accumulate, bias, hook);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn large_training_shapes_all_tiers_and_threads() {
    // The shapes of a 784-256-128-10 MLP at batch 128: forward, weight grad, input grad.
    let shapes = [
        (128, 256, 784, Form::Nn),
        (784, 256, 128, Form::Tn),
        (128, 784, 256, Form::Nt),
        (128, 128, 256, Form::Nn),
        (128, 10, 128, Form::Nn),
        (128, 10, 128, Form::Tn),
        (300, 500, 600, Form::Nn),
    ];
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for &(m, n, k, form) in &shapes {
            let case = Case::new(m, n, k, form, 1, 7);
            let one = case.check(isa, 1, true, true, true);
            let two = case.check(isa, 2, true, true, true);
            let many = case.check(isa, 8, true, true, true);
            assert!(
                bits(&one) == bits(&two) && bits(&one) == bits(&many),
                "{isa} {form:?} {m}x{n}x{k}: thread count changed the result"
            );
        }
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn deterministic_across_calls_threads_and_splits() {
    // Shapes whose thread split moves tile boundaries; results must not move with them.
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for &(m, n, k) in &[(97, 203, 211), (250, 70, 513), (64, 999, 100)] {
            for form in FORMS {
                let case = Case::new(m, n, k, form, 2, 3);
                let first = case.check(isa, 1, false, true, false);
                for threads in [2, 3, 4, 1] {
                    let again = case.check(isa, threads, false, true, false);
                    assert_eq!(
                        bits(&first),
                        bits(&again),
                        "{isa} {form:?} {m}x{n}x{k} threads={threads}"
                    );
                }
            }
        }
    }
}

#[test]
fn hook_sees_each_element_once_with_positions() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let (m, n, k) = (37, 70, 9);
    let a = vec![1.0f32; m * k];
    let b = vec![1.0f32; k * n];
    let bias: Vec<f32> = (0..n).map(|j| j as f32).collect();
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for threads in [1, 2] {
            let seen: Vec<AtomicU32> = (0..m * n).map(|_| AtomicU32::new(0)).collect();
            let hook = |row: usize, col: usize, tile: Tile| {
                tile.for_each_row(|r, seg| {
                    for (d, x) in seg.iter_mut().enumerate() {
                        // The value proves the hook runs after the full sum and the bias.
                        assert_eq!(*x, k as f32 + (col + d) as f32, "row {} col {}", row + r, col + d);
                        seen[(row + r) * n + col + d].fetch_add(1, Ordering::Relaxed);
                        *x = -1.0;
                    }
                })
            };
            let mut c = vec![0.0f32; m * n];
            gemm_with(
                isa,
                threads,
                MatRef::new(&a, m, k),
                MatRef::new(&b, k, n),
                MatMut::new(&mut c, m, n),
                false,
                Epilogue::BiasThen(&bias, &hook),
            )
            .unwrap();
            assert!(
                seen.iter().all(|s| s.load(Ordering::Relaxed) == 1),
                "{isa} threads={threads}"
            );
            assert!(c.iter().all(|&x| x == -1.0));
        }
    }
}

#[test]
fn k_zero_zeroes_or_keeps_then_applies_epilogue() {
    let bias = [1.0f32, -2.0, 3.0];
    let mut c = vec![5.0f32; 6];
    gemm(
        MatRef::new(&[], 2, 0),
        MatRef::new(&[], 0, 3),
        MatMut::new(&mut c, 2, 3),
        false,
        Epilogue::BiasThen(&bias, &relu),
    )
    .unwrap();
    assert_eq!(c, [1.0, 0.0, 3.0, 1.0, 0.0, 3.0]);
    let mut c = vec![5.0f32; 6];
    gemm(
        MatRef::new(&[], 2, 0),
        MatRef::new(&[], 0, 3),
        MatMut::new(&mut c, 2, 3),
        true,
        Epilogue::Bias(&bias),
    )
    .unwrap();
    assert_eq!(c, [6.0, 3.0, 8.0, 6.0, 3.0, 8.0]);
}

#[test]
fn bad_arguments_are_errors_and_leave_c_alone() {
    let a = vec![1.0f32; 12];
    let b = vec![1.0f32; 12];
    let mut c = vec![7.0f32; 12];
    let run = |a: MatRef, b: MatRef, c: MatMut, ep| gemm(a, b, c, false, ep);
    assert_eq!(
        run(
            MatRef::new(&a, 3, 4),
            MatRef::new(&b, 3, 4),
            MatMut::new(&mut c, 3, 4),
            Epilogue::None
        ),
        Err(GemmError::InnerDim {
            a_cols: 4,
            b_rows: 3
        })
    );
    assert_eq!(
        run(
            MatRef::new(&a, 3, 4),
            MatRef::new(&b, 4, 3),
            MatMut::new(&mut c, 4, 3),
            Epilogue::None
        ),
        Err(GemmError::OutputShape {
            expected: (3, 3),
            got: (4, 3)
        })
    );
    assert_eq!(
        run(
            MatRef::with_ld(&a, 3, 4, 3),
            MatRef::new(&b, 4, 3),
            MatMut::new(&mut c, 3, 3),
            Epilogue::None
        ),
        Err(GemmError::LeadingDim {
            matrix: "A",
            ld: 3,
            cols: 4
        })
    );
    assert_eq!(
        run(
            MatRef::with_ld(&a, 3, 4, 5),
            MatRef::new(&b, 4, 3),
            MatMut::new(&mut c, 3, 3),
            Epilogue::None
        ),
        Err(GemmError::TooShort {
            matrix: "A",
            len: 12,
            needed: 14
        })
    );
    assert_eq!(
        run(
            MatRef::new(&a, 3, 4),
            MatRef::new(&b, 4, 3),
            MatMut::new(&mut c[..8], 3, 3),
            Epilogue::None
        ),
        Err(GemmError::TooShort {
            matrix: "C",
            len: 8,
            needed: 9
        })
    );
    assert_eq!(
        run(
            MatRef::new(&a, 3, 4),
            MatRef::new(&b, 4, 3),
            MatMut::new(&mut c, 3, 3),
            Epilogue::Bias(&[0.0; 2])
        ),
        Err(GemmError::BiasLen { len: 2, n: 3 })
    );
    assert!(c.iter().all(|&x| x == 7.0));
    let msg = GemmError::TooShort {
        matrix: "B",
        len: 1,
        needed: 2,
    }
    .to_string();
    assert!(msg.contains("B needs 2 floats"), "{msg}");
}

#[test]
fn panicking_hook_reaches_caller() {
    let (m, n, k) = (256, 256, 256);
    let a = vec![1.0f32; m * k];
    let b = vec![1.0f32; k * n];
    let mut c = vec![0.0f32; m * n];
    let hook = |row: usize, _: usize, tile: Tile| assert!(!(row..row + tile.rows()).contains(&200), "hook failed on row 200");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gemm_with(
            Isa::Avx512,
            2,
            MatRef::new(&a, m, k),
            MatRef::new(&b, k, n),
            MatMut::new(&mut c, m, n),
            false,
            Epilogue::Map(&hook),
        )
    }));
    assert!(r.is_err());
    // The pool still works afterwards.
    gemm(
        MatRef::new(&a, m, k),
        MatRef::new(&b, k, n),
        MatMut::new(&mut c, m, n),
        false,
        Epilogue::None,
    )
    .unwrap();
    assert!(c.iter().all(|&x| x == k as f32));
}

/// The AVX2 and AVX-512 kernels give the same bits (same block sizes, the same FMAs in the same
/// order), which is what lets `gemm_isa` pick the faster of them per machine.
#[test]
fn avx2_and_avx512_products_are_bit_identical() {
    if !Isa::Avx512.is_supported() {
        return;
    }
    let shapes = [(128, 256, 784), (784, 256, 128), (37, 10, 1100), (13, 33, 257), (1000, 3, 2), (5, 200, 1)];
    for &(m, n, k) in &shapes {
        for form in FORMS {
            let case = Case::new(m, n, k, form, 1, 7);
            for (accumulate, bias, hook) in [(false, false, false), (true, true, true)] {
                let a = case.check(Isa::Avx2, 1, accumulate, bias, hook);
                let b = case.check(Isa::Avx512, 2, accumulate, bias, hook);
                assert!(bits(&a) == bits(&b), "{form:?} {m}x{n}x{k}: the tiers differ");
            }
        }
    }
    assert!(matches!(kernels::gemm::gemm_isa(Isa::Avx512), Isa::Avx512 | Isa::Avx2));
    assert_eq!(kernels::gemm::gemm_isa(Isa::Avx2), Isa::Avx2);
    assert_eq!(kernels::gemm::gemm_isa(Isa::Scalar), Isa::Scalar);
}

/// A gathered operand (rows read through an index, as training reads a shuffled batch) gives
/// exactly the product of the same rows copied out first, in every place it can take — A or B,
/// transposed or not — on every tier and thread count; an index past the data is an error.
#[test]
fn gathered_rows_equal_the_rows_copied_out() {
    let mut rng = Rng(77);
    let stored = 300;
    // One column too: then a row is one float and both strides are 1.
    for (isa, cols) in Isa::ALL.into_iter().filter(|i| i.is_supported()).flat_map(|isa| [(isa, 37), (isa, 1)]) {
        let data = rng.vec(stored * cols);
        for rows in [1, 5, 13, 130] {
            let index: Vec<u32> = (0..rows).map(|r| ((r * 7919 + 11) % stored) as u32).collect();
            let copy: Vec<f32> = index.iter().flat_map(|&r| data[r as usize * cols..(r as usize + 1) * cols].to_vec()).collect();
            let gathered = MatRef::gathered(&data, &index, cols);
            let copied = MatRef::new(&copy, rows, cols);
            // The other operand for X·W (k = cols), Xᵀ·D (k = rows) and W·Xᵀ, D·X used as B.
            let w = rng.vec(cols * 19);
            let d = rng.vec(rows * 23);
            for threads in [1, 2] {
                let run = |a: MatRef, b: MatRef, m: usize, n: usize| {
                    let mut c = vec![0.0; m * n];
                    gemm_with(isa, threads, a, b, MatMut::new(&mut c, m, n), false, Epilogue::None).unwrap();
                    bits(&c)
                };
                let (wm, dm) = (MatRef::new(&w, cols, 19), MatRef::new(&d, rows, 23));
                let cases = [
                    ("X·W", run(gathered, wm, rows, 19), run(copied, wm, rows, 19)),
                    ("Xᵀ·D", run(gathered.t(), dm, cols, 23), run(copied.t(), dm, cols, 23)),
                    ("Dᵀ·X", run(dm.t(), gathered, 23, cols), run(dm.t(), copied, 23, cols)),
                    ("Wᵀ·Xᵀ", run(wm.t(), gathered.t(), 19, rows), run(wm.t(), copied.t(), 19, rows)),
                ];
                for (name, got, want) in cases {
                    assert!(got == want, "{isa:?}, {threads} threads, {rows} rows: {name} differs from the copy");
                }
            }
        }
        let mut c = vec![0.0; 2 * 19];
        let past_the_end = [3, stored as u32];
        let bad = MatRef::gathered(&data, &past_the_end, cols);
        let w = rng.vec(cols * 19);
        let err = gemm_with(isa, 1, bad, MatRef::new(&w, cols, 19), MatMut::new(&mut c, 2, 19), false, Epilogue::None).unwrap_err();
        assert_eq!(err.to_string(), format!("gemm: A gathers row {stored} but its data has {stored} rows"));
    }
}

/// The splits that keep a layer's weights on one thread (`Split::Depth`, `Rows`, `Columns`) give
/// the bits of one thread's product, with the bias, the hook and accumulation, on shapes of two
/// and three k blocks (uneven ones too) and of one (where they fall back to `Cheapest`). On one
/// thread, `Rows` and `Columns` give `Cheapest`'s bits, and `Depth` its own (see the next test).
#[test]
fn every_split_gives_one_threads_bits() {
    let shapes = [(37, 70, 1100), (130, 256, 784), (600, 40, 1100), (40, 600, 784), (24, 33, 1536), (50, 50, 300), (64, 96, 256), (20, 30, 200)];
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for &(m, n, k) in &shapes {
            for form in [Form::Nn, Form::Tn, Form::Nt] {
                let case = Case::new(m, n, k, form, 3, 11);
                let (a, b) = case.views();
                let hook = relu;
                for (accumulate, epilogue) in [(false, Epilogue::BiasThen(&case.bias, &hook)), (true, Epilogue::None), (true, Epilogue::Bias(&case.bias))] {
                    let run = |split: Split, threads: usize| {
                        let mut c = case.c0.clone();
                        gemm_split(isa, threads, split, a, b, MatMut::with_ld(&mut c, m, n, case.ldc), accumulate, epilogue).unwrap();
                        bits(&c)
                    };
                    let one = run(Split::Cheapest, 1);
                    assert!(run(Split::Rows, 1) == one && run(Split::Columns, 1) == one, "{isa} {form:?} {m}x{n}x{k}: one thread");
                    for split in [Split::Depth, Split::Rows, Split::Columns, Split::Cheapest] {
                        let one = if split == Split::Depth { run(Split::Depth, 1) } else { one.clone() };
                        for threads in [2, 3, 4] {
                            assert!(run(split, threads) == one, "{isa} {form:?} {m}x{n}x{k} {split:?} on {threads} threads, accumulate {accumulate}, {epilogue:?}");
                        }
                    }
                }
            }
        }
        // The forward product of a first layer reads gathered rows.
        let mut rng = Rng(5);
        let data = rng.vec(300 * 784);
        let index: Vec<u32> = (0..128).map(|r| ((r * 7919 + 11) % 300) as u32).collect();
        let w = rng.vec(784 * 256);
        let run = |split: Split, threads: usize| {
            let mut c = vec![0.0; 128 * 256];
            gemm_split(isa, threads, split, MatRef::gathered(&data, &index, 784), MatRef::new(&w, 784, 256), MatMut::new(&mut c, 128, 256), false, Epilogue::None).unwrap();
            bits(&c)
        };
        assert!(run(Split::Depth, 2) == run(Split::Depth, 1), "{isa}: gathered rows split by depth");
    }
}

/// `Split::Depth` sums a layer's inputs in blocks of at most half of them from 256 inputs on
/// (and of at most the kernel's 512 or, scalar, 256): its product on one thread is, bit for bit,
/// the product of the first block followed by the product of each later block accumulated onto
/// it, the bias and hook coming with the last. Below 256 inputs it is `Cheapest`'s product.
#[test]
fn depth_sums_a_layers_inputs_in_blocks_of_at_most_half() {
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        let kc = if isa == Isa::Scalar { 256 } else { 512 };
        for (m, n, k) in [(64, 96, 256), (33, 40, 300), (50, 20, 513), (40, 70, 784), (30, 50, 1100), (20, 30, 255)] {
            let case = Case::new(m, n, k, Form::Nn, 3, 11);
            let (a, b) = case.views();
            let hook = relu;
            let mut depth = case.c0.clone();
            gemm_split(isa, 1, Split::Depth, a, b, MatMut::with_ld(&mut depth, m, n, case.ldc), false, Epilogue::BiasThen(&case.bias, &hook)).unwrap();
            let count = k.div_ceil(kc).max(if k >= 256 { 2 } else { 1 });
            let size = k.div_ceil(count);
            let mut blocks = case.c0.clone();
            for j in 0..count {
                let ks = j * size..((j + 1) * size).min(k);
                let av = MatRef::with_ld(&case.a[ks.start..], m, ks.len(), case.lda);
                let bv = MatRef::with_ld(&case.b[ks.start * case.ldb..], ks.len(), n, case.ldb);
                let c = MatMut::with_ld(&mut blocks, m, n, case.ldc);
                let epilogue = if j + 1 == count { Epilogue::BiasThen(&case.bias, &hook) } else { Epilogue::None };
                gemm_with(isa, 1, av, bv, c, j > 0, epilogue).unwrap();
            }
            assert!(bits(&depth) == bits(&blocks), "{isa} {m}x{n}x{k}: {count} blocks of {size}");
        }
    }
}

/// Thread shares of a length cover it in order, in whole k blocks, and exist only when every
/// thread gets a block.
#[test]
fn k_shares_cover_the_length_in_whole_blocks() {
    for isa in Isa::ALL.into_iter().filter(|i| i.is_supported()) {
        for len in [1, 255, 256, 300, 512, 513, 784, 1100, 3072] {
            for threads in [1, 2, 3, 4] {
                let shares: Vec<_> = (0..threads).map(|h| k_share(isa, len, threads, h)).collect();
                if shares.iter().any(Option::is_none) {
                    assert!(shares.iter().all(Option::is_none), "{isa} {len} {threads}: {shares:?}");
                    let blocks = len.div_ceil(if isa == Isa::Scalar { 256 } else { 512 }).max(if len >= 256 { 2 } else { 1 });
                    assert!(threads == 1 || blocks < threads, "{isa} {len} {threads}: no shares");
                    continue;
                }
                let shares: Vec<_> = shares.into_iter().flatten().collect();
                assert_eq!(shares[0].start, 0);
                assert_eq!(shares[threads - 1].end, len);
                assert!(shares.windows(2).all(|w| w[0].end == w[1].start && !w[0].is_empty()), "{isa} {len} {threads}: {shares:?}");
            }
        }
    }
}
