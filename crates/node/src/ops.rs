//! The low-level kernels as functions of typed arrays, for benchmarks and advanced users:
//! `matmul`, `denseForward`, `denseBackward`, `activationForward`, `activationBackward` and
//! `info`. The trainer does not drive these one by one (see the `Network` class).
//!
//! Each export reads its options first (a getter may run JavaScript), then its numbers, then its
//! typed arrays; an output that shares memory with an input gets a private copy of that input,
//! so aliased arguments give the mathematically expected result.

use std::borrow::Cow;

use kernels::activations;
use kernels::gemm::{gemm, Epilogue, MatMut, MatRef, Tile};
use kernels::plan::Activation;

use crate::env::{Args, Env};
use crate::error::{JsError, JsResult};
use crate::sys::napi_value;
use crate::typed::{self, View};

/// The activations by the names lib/plan.ts uses.
pub const ACTIVATION_NAMES: [&str; 6] = ["linear", "sigmoid", "tanh", "relu", "leakyRelu", "softmax"];

/// Slope of leakyRelu for negative inputs when none is given (as lib/activations.ts).
const DEFAULT_LEAKY_RELU_ALPHA: f64 = 0.2;

/// An activation from its name and optional alpha (leakyRelu only).
pub fn activation(env: Env, name: napi_value, alpha: napi_value, what: &str) -> JsResult<Activation> {
    let s = env.string_arg(name, what)?;
    let alpha = if env.is_nullish(alpha) { DEFAULT_LEAKY_RELU_ALPHA } else { env.finite(alpha, "alpha", 0.0, f64::MAX)? };
    Ok(match s.as_str() {
        "linear" => Activation::Linear,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "relu" => Activation::Relu,
        "leakyRelu" => Activation::LeakyRelu(alpha as f32),
        "softmax" => Activation::Softmax,
        _ => {
            let names = ACTIVATION_NAMES.map(|n| format!("'{n}'")).join(", ");
            return Err(JsError::range_error(format!("{what} must be one of {names}, got '{s}'")));
        }
    })
}

/// `a × b`, or a RangeError naming the product when it does not fit.
fn product(a: usize, b: usize, what: &str) -> JsResult<usize> {
    a.checked_mul(b).ok_or_else(|| JsError::range_error(format!("{what} = {a} × {b} is too large")))
}

/// The input's elements, copied when `output` shares memory with it.
///
/// # Safety
/// As `View::slice`; the returned borrow must end before JavaScript runs again.
unsafe fn input_for<'a>(input: &View<f32>, output: &View<f32>) -> JsResult<Cow<'a, [f32]>> {
    Ok(if input.overlaps(output) {
        Cow::Owned(unsafe { input.to_vec() }?)
    } else {
        Cow::Borrowed(unsafe { input.slice() })
    })
}

/// An optional output array of exactly `len` values, or a new one.
fn output(env: Env, value: Option<napi_value>, name: &str, len: usize, what: &str) -> JsResult<View<f32>> {
    match value {
        Some(v) if !env.is_nullish(v) => typed::read_exact::<f32>(env, v, name, len, what),
        _ => typed::create::<f32>(env, len, name),
    }
}

fn gemm_error(e: kernels::gemm::GemmError) -> JsError {
    JsError::range_error(e.to_string())
}

/// matmul(a, b, m, k, n, { transA, transB, out, accumulate }?) → out = op(a)·op(b) (+ out).
pub fn matmul(env: Env, args: &Args) -> JsResult<napi_value> {
    let options = env.options(args.get(5), "matmul options")?;
    let (mut trans_a, mut trans_b, mut accumulate, mut out) = (false, false, false, None);
    if let Some(o) = options {
        trans_a = env.optional_boolean(env.get(o, c"transA")?, "options.transA", false)?;
        trans_b = env.optional_boolean(env.get(o, c"transB")?, "options.transB", false)?;
        accumulate = env.optional_boolean(env.get(o, c"accumulate")?, "options.accumulate", false)?;
        out = Some(env.get(o, c"out")?);
    }
    let m = env.size(args.get(2), "m", 0)?;
    let k = env.size(args.get(3), "k", 0)?;
    let n = env.size(args.get(4), "n", 0)?;
    let a_what = if trans_a { "k × m" } else { "m × k" };
    let b_what = if trans_b { "n × k" } else { "k × n" };
    let a = typed::read_exact::<f32>(env, args.get(0), "a", product(m, k, a_what)?, &format!("{a_what} = {m} × {k}"))?;
    let b = typed::read_exact::<f32>(env, args.get(1), "b", product(k, n, b_what)?, &format!("{b_what} = {k} × {n}"))?;
    let out = output(env, out, "options.out", product(m, n, "m × n")?, &format!("m × n = {m} × {n}"))?;
    // SAFETY: every argument has been read, no JavaScript runs until we return, and inputs that
    // share memory with `out` are copied first, so `c` is the only view of its bytes.
    unsafe {
        let (a_data, b_data) = (input_for(&a, &out)?, input_for(&b, &out)?);
        let a_mat = if trans_a { MatRef::new(&a_data, k, m).t() } else { MatRef::new(&a_data, m, k) };
        let b_mat = if trans_b { MatRef::new(&b_data, n, k).t() } else { MatRef::new(&b_data, k, n) };
        gemm(a_mat, b_mat, MatMut::new(out.slice_mut(), m, n), accumulate, Epilogue::None).map_err(gemm_error)?;
    }
    Ok(out.value)
}

/// Z = X·W + b followed by the activation, as the network's dense layer computes it.
fn dense_into(x: &[f32], w: &[f32], bias: Option<&[f32]>, rows: usize, inputs: usize, units: usize, act: Activation, out: &mut [f32]) -> JsResult<()> {
    let hook = |_: usize, _: usize, tile: Tile| tile.for_each_row(|_, seg| activations::forward(act, seg, 1));
    let elementwise = !matches!(act, Activation::Linear | Activation::Softmax);
    let epilogue = match (bias, elementwise) {
        (Some(b), true) => Epilogue::BiasThen(b, &hook),
        (Some(b), false) => Epilogue::Bias(b),
        (None, true) => Epilogue::Map(&hook),
        (None, false) => Epilogue::None,
    };
    gemm(MatRef::new(x, rows, inputs), MatRef::new(w, inputs, units), MatMut::new(out, rows, units), false, epilogue).map_err(gemm_error)?;
    if act == Activation::Softmax {
        activations::forward(act, out, units);
    }
    Ok(())
}

/// denseForward(x, w, b | null, rows, inputs, units, activation, alpha?, out?) → out.
pub fn dense_forward(env: Env, args: &Args) -> JsResult<napi_value> {
    let rows = env.size(args.get(3), "rows", 0)?;
    let inputs = env.size(args.get(4), "inputs", 1)?;
    let units = env.size(args.get(5), "units", 1)?;
    let act = activation(env, args.get(6), args.get(7), "activation")?;
    let x = typed::read_exact::<f32>(env, args.get(0), "x", product(rows, inputs, "rows × inputs")?, &format!("rows × inputs = {rows} × {inputs}"))?;
    let w = typed::read_exact::<f32>(env, args.get(1), "w", product(inputs, units, "inputs × units")?, &format!("inputs × units = {inputs} × {units}"))?;
    let b = if env.is_nullish(args.get(2)) { None } else { Some(typed::read_exact::<f32>(env, args.get(2), "b", units, "units")?) };
    let out = output(env, Some(args.get(8)), "out", product(rows, units, "rows × units")?, &format!("rows × units = {rows} × {units}"))?;
    // SAFETY: all arguments are read; inputs overlapping `out` are copied (see `matmul`).
    unsafe {
        let (xs, ws) = (input_for(&x, &out)?, input_for(&w, &out)?);
        let bs = b.as_ref().map(|b| input_for(b, &out)).transpose()?;
        dense_into(&xs, &ws, bs.as_deref(), rows, inputs, units, act, out.slice_mut())?;
    }
    Ok(out.value)
}

/// denseBackward(x, w, a | null, grad, rows, inputs, units, activation, alpha?) → { dX, dW, db }:
/// the gradients of a dense layer whose output was `a` = act(x·w + b), given `grad` = dL/da.
/// `a` may be null for the linear activation, whose derivative does not need it.
pub fn dense_backward(env: Env, args: &Args) -> JsResult<napi_value> {
    let rows = env.size(args.get(4), "rows", 0)?;
    let inputs = env.size(args.get(5), "inputs", 1)?;
    let units = env.size(args.get(6), "units", 1)?;
    let act = activation(env, args.get(7), args.get(8), "activation")?;
    let n_out = product(rows, units, "rows × units")?;
    let out_what = format!("rows × units = {rows} × {units}");
    let x = typed::read_exact::<f32>(env, args.get(0), "x", product(rows, inputs, "rows × inputs")?, &format!("rows × inputs = {rows} × {inputs}"))?;
    let w = typed::read_exact::<f32>(env, args.get(1), "w", product(inputs, units, "inputs × units")?, &format!("inputs × units = {inputs} × {units}"))?;
    let a = if env.is_nullish(args.get(2)) {
        if act != Activation::Linear {
            return Err(JsError::type_error("a (the layer's output) is needed for every activation but 'linear'; got null"));
        }
        None
    } else {
        Some(typed::read_exact::<f32>(env, args.get(2), "a", n_out, &out_what)?)
    };
    let grad = typed::read_exact::<f32>(env, args.get(3), "grad", n_out, &out_what)?;
    let dx = typed::create::<f32>(env, product(rows, inputs, "rows × inputs")?, "dX")?;
    let dw = typed::create::<f32>(env, product(inputs, units, "inputs × units")?, "dW")?;
    let db = typed::create::<f32>(env, units, "db")?;
    // SAFETY: the inputs are only read; the three outputs are fresh arrays nobody else sees.
    unsafe {
        let mut dz = grad.to_vec()?;
        if let Some(a) = &a {
            activations::backward(act, a.slice(), &mut dz, units);
        }
        let (xs, ws) = (x.slice(), w.slice());
        let dz_mat = MatRef::new(&dz, rows, units);
        gemm(MatRef::new(xs, rows, inputs).t(), dz_mat, MatMut::new(dw.slice_mut(), inputs, units), false, Epilogue::None).map_err(gemm_error)?;
        gemm(dz_mat, MatRef::new(ws, inputs, units).t(), MatMut::new(dx.slice_mut(), rows, inputs), false, Epilogue::None).map_err(gemm_error)?;
        let db_s = db.slice_mut();
        let mut sums = vec![0.0f64; units];
        for row in dz.chunks_exact(units) {
            sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v as f64);
        }
        db_s.iter_mut().zip(&sums).for_each(|(d, &s)| *d = s as f32);
    }
    let result = env.object()?;
    env.set(result, c"dX", dx.value)?;
    env.set(result, c"dW", dw.value)?;
    env.set(result, c"db", db.value)?;
    Ok(result)
}

/// Rows of `cols` values: `len` must be a multiple of `cols`.
fn check_rows(len: usize, cols: usize, name: &str) -> JsResult<()> {
    if len % cols != 0 {
        return Err(JsError::range_error(format!("{name} has {len} values, not a whole number of rows of cols = {cols}")));
    }
    Ok(())
}

/// activationForward(name, z, cols, alpha?) → z, transformed in place.
pub fn activation_forward(env: Env, args: &Args) -> JsResult<napi_value> {
    let act = activation(env, args.get(0), args.get(3), "name")?;
    let cols = env.size(args.get(2), "cols", 1)?;
    let z = typed::read::<f32>(env, args.get(1), "z")?;
    check_rows(z.len(), cols, "z")?;
    // SAFETY: one array, changed in place; no JavaScript runs meanwhile.
    activations::forward(act, unsafe { z.slice_mut() }, cols);
    Ok(z.value)
}

/// activationBackward(name, a, grad, cols, alpha?) → grad, turned from dL/da into dL/dz in place.
pub fn activation_backward(env: Env, args: &Args) -> JsResult<napi_value> {
    let act = activation(env, args.get(0), args.get(4), "name")?;
    let cols = env.size(args.get(3), "cols", 1)?;
    let a = typed::read::<f32>(env, args.get(1), "a")?;
    let grad = typed::read_exact::<f32>(env, args.get(2), "grad", a.len(), "a.length")?;
    check_rows(a.len(), cols, "a")?;
    // SAFETY: `a` is copied when it shares memory with `grad` (see `matmul`).
    unsafe {
        let a_data = input_for(&a, &grad)?;
        activations::backward(act, &a_data, grad.slice_mut(), cols);
    }
    Ok(grad.value)
}

/// info() → { isa, gemmIsa, threads, version, isaProblem?, threadsProblem? }.
pub fn info(env: Env, _args: &Args) -> JsResult<napi_value> {
    let result = env.object()?;
    env.set(result, c"isa", env.string(kernels::isa::active_isa().name())?)?;
    env.set(result, c"gemmIsa", env.string(kernels::gemm::gemm_isa(kernels::isa::active_isa()).name())?)?;
    env.set(result, c"threads", env.double(kernels::pool::max_threads() as f64)?)?;
    env.set(result, c"version", env.string(env!("CARGO_PKG_VERSION"))?)?;
    if let Some(problem) = kernels::isa::isa_env_problem() {
        env.set(result, c"isaProblem", env.string(problem)?)?;
    }
    if let Some(problem) = kernels::pool::threads_env_problem() {
        env.set(result, c"threadsProblem", env.string(problem)?)?;
    }
    Ok(result)
}
