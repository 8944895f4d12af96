//! The opaque TrainingData object: a private copy of training or evaluation data, checked against
//! one network's plan. Asynchronous work reads only this copy (shared through an `Arc`), never
//! JavaScript memory, so the caller may mutate, transfer or detach its arrays at any time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use kernels::network::{check_data, TrainingData};
use kernels::plan::Plan;

use crate::env::Env;
use crate::error::{JsError, JsResult};
use crate::sys::{napi_type_tag, napi_value};
use crate::typed::{self, View};
use crate::wrapped::{self, Wrapped};

pub struct TrainingDataBox {
    pub data: Arc<TrainingData>,
    /// The id of the network whose plan the data was checked against.
    pub owner: u64,
    /// Bytes reported to V8 as external memory (returned by the finalizer).
    bytes: i64,
}

impl Wrapped for TrainingDataBox {
    const TAG: napi_type_tag = napi_type_tag { lower: 0x6261_636b_7072_6f70, upper: 0x6461_7461_7365_7431 };
    const NAME: &'static str = "TrainingData (from network.createTrainingData)";

    fn finalize(&mut self, env: Env) {
        env.adjust_external_memory(-self.bytes);
    }
}

fn invalid(e: String) -> JsError {
    JsError::range_error(e)
}

/// Copies checked rows (and sample weights, if any) into a new TrainingData object owned by network
/// `owner`.
///
/// # Safety
/// As `View::slice`: no JavaScript may run during the call.
pub unsafe fn create(env: Env, plan: &Plan, owner: u64, x: &View<f32>, y: &View<f32>, w: Option<&View<f32>>, rows: usize) -> JsResult<napi_value> {
    let (xs, ys) = unsafe { (x.slice(), y.slice()) };
    let ws = w.map_or(&[][..], |w| unsafe { w.slice() });
    check_data(plan, xs, ys, ws, rows).map_err(invalid)?;
    let data = TrainingData { x: typed::copy_of(xs)?, y: typed::copy_of(ys)?, w: typed::copy_of(ws)?, rows };
    let bytes = ((data.x.len() + data.y.len() + data.w.len()) * 4) as i64;
    let object = env.object()?;
    env.set(object, c"rows", env.double(rows as f64)?)?;
    wrapped::wrap(env, object, TrainingDataBox { data: Arc::new(data), owner, bytes })?;
    env.adjust_external_memory(bytes);
    Ok(object)
}

/// The training data in `value`, which must belong to network `owner`.
pub fn unwrap<'a>(env: Env, value: napi_value, name: &str, owner: u64) -> JsResult<&'a mut TrainingDataBox> {
    let raw = wrapped::unwrap::<TrainingDataBox>(env, value, name)?;
    // SAFETY: the object is an argument of the current call, so it (and its box) is alive;
    // each call unwraps at most one training data object, so this is the only reference.
    let td = unsafe { &mut *raw };
    if td.owner != owner {
        return Err(JsError::type_error(format!("{name} was created by another network; create it with this network's createTrainingData")));
    }
    Ok(td)
}

/// Brings the private copy up to date with `x`, `y` and the weights (the arrays it was made
/// from, possibly changed since): compares first and copies only when something differs, so an
/// unchanged copy costs one read. Returns whether anything changed.
///
/// # Safety
/// As `View::slice`.
pub unsafe fn refresh(td: &mut TrainingDataBox, plan: &Plan, x: &View<f32>, y: &View<f32>, w: Option<&View<f32>>, threads: usize) -> JsResult<bool> {
    let (xs, ys) = unsafe { (x.slice(), y.slice()) };
    let ws = w.map_or(&[][..], |w| unsafe { w.slice() });
    let rows = td.data.rows;
    if ws.len() != td.data.w.len() {
        return Err(JsError::range_error(format!(
            "refreshTrainingData needs {} sample weights as the training data was created with, got {}; create new training data instead",
            td.data.w.len(),
            ws.len()
        )));
    }
    if xs.len() != td.data.x.len() || ys.len() != td.data.y.len() {
        return Err(JsError::range_error(format!(
            "refreshTrainingData needs arrays of the training data's size ({} and {} values), got {} and {}; create new training data instead",
            td.data.x.len(),
            td.data.y.len(),
            xs.len(),
            ys.len()
        )));
    }
    let (x_same, y_same, w_same) = (same_bits(xs, &td.data.x, threads), same_bits(ys, &td.data.y, threads), same_bits(ws, &td.data.w, threads));
    if x_same && y_same && w_same {
        return Ok(false);
    }
    if !(y_same && w_same) {
        check_data(plan, xs, ys, ws, rows).map_err(invalid)?;
    }
    let data = Arc::get_mut(&mut td.data)
        .ok_or_else(|| JsError::Busy("busy: training is running with this training data; await it before refreshing it".into()))?;
    data.x.copy_from_slice(xs);
    data.y.copy_from_slice(ys);
    data.w.copy_from_slice(ws);
    Ok(true)
}

/// Replaces the rows of the training data with rows `order[0..]` of the datasets `x`, `y` and
/// `w` (whole row-major arrays of the same number of rows; `w` may be absent), in that order,
/// and checks their targets and weights. This is how a chunk of an in-memory epoch too large to
/// copy whole gets its rows (lib/training/gathered-chunks.ts): one pass, where a gather in
/// JavaScript followed by `refresh` took three (2.4 + 1.5 ms for a 4 MB chunk of mnist rows,
/// competing with the two threads that trained the other chunk). Rows that fail the check
/// leave the training data empty.
///
/// # Safety
/// As `View::slice`.
pub unsafe fn gather(env: Env, td: &mut TrainingDataBox, plan: &Plan, x: &View<f32>, y: &View<f32>, w: Option<&View<f32>>, order: &View<u32>) -> JsResult<()> {
    let (xs, ys, order) = unsafe { (x.slice(), y.slice(), order.slice()) };
    let ws = w.map_or(&[][..], |w| unsafe { w.slice() });
    let (inputs, target_cols) = (plan.input_size, plan.target_cols());
    let source_rows = xs.len() / inputs;
    if xs.len() % inputs != 0 {
        return Err(invalid(format!("x has {} values, not whole rows of {inputs} inputs", xs.len())));
    }
    if ys.len() != source_rows * target_cols {
        return Err(invalid(format!("y has {} values, expected {target_cols} per row of x = {}", ys.len(), source_rows * target_cols)));
    }
    if w.is_some() && ws.len() != source_rows {
        return Err(invalid(format!("sampleWeight has {} values, expected one per row of x = {source_rows}", ws.len())));
    }
    if let Some((i, r)) = order.iter().enumerate().find(|&(_, &r)| r as usize >= source_rows) {
        return Err(invalid(format!("order[{i}] is {r}, but x has {source_rows} rows")));
    }
    let data = Arc::get_mut(&mut td.data)
        .ok_or_else(|| JsError::Busy("busy: training is running with this training data; await it before gathering into it".into()))?;
    let rows = order.len();
    empty(data);
    let reserved = data.x.try_reserve_exact(rows * inputs)
        .and_then(|()| data.y.try_reserve_exact(rows * target_cols))
        .and_then(|()| data.w.try_reserve_exact(if w.is_some() { rows } else { 0 }));
    // V8 hears of what is held now, even when a reservation failed after another grew.
    let bytes = ((data.x.capacity() + data.y.capacity() + data.w.capacity()) * 4) as i64;
    env.adjust_external_memory(bytes - td.bytes);
    td.bytes = bytes;
    reserved.map_err(|_| JsError::range_error(format!("not enough memory to gather {rows} rows")))?;
    for &r in order {
        let r = r as usize;
        data.x.extend_from_slice(&xs[r * inputs..(r + 1) * inputs]);
        data.y.extend_from_slice(&ys[r * target_cols..(r + 1) * target_cols]);
        if w.is_some() {
            data.w.push(ws[r]);
        }
    }
    if let Err(e) = check_data(plan, &data.x, &data.y, &data.w, rows) {
        empty(data);
        return Err(invalid(e));
    }
    data.rows = rows;
    Ok(())
}

/// No rows, and their memory kept for the next gather.
fn empty(data: &mut TrainingData) {
    data.rows = 0;
    data.x.clear();
    data.y.clear();
    data.w.clear();
}

/// Whether two equal-length arrays hold the same bits (NaN payloads and -0 count as changes, as
/// they would for training). Compared a block at a time with an or of xors, which vectorises,
/// on up to `threads` threads of the kernels' pool (the pass is memory-bound, and two cores draw
/// more bandwidth than one); once a block differs the rest are skipped, so changed data (a
/// streamed chunk's next rows) costs only its copy. An element-by-element early exit had been
/// 7% of an mnist epoch that refreshes 51 MB.
fn same_bits(a: &[f32], b: &[f32], threads: usize) -> bool {
    let differs = AtomicBool::new(false);
    a.len() == b.len() && {
        kernels::pool::map_ranges(a.len(), 1 << 16, threads, |r| {
            if differs.load(Ordering::Relaxed) {
                return;
            }
            let (p, q) = (&a[r.clone()], &b[r]);
            let diff = kernels::isa::vectorized(
                #[inline(always)]
                || p.iter().zip(q).fold(0u32, |acc, (x, y)| acc | (x.to_bits() ^ y.to_bits())),
            );
            if diff != 0 {
                differs.store(true, Ordering::Relaxed);
            }
        });
        !differs.load(Ordering::Relaxed)
    }
}
