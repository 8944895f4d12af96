//! The Plan code as it crosses from lib/engine/native/plan-code.ts (layout and codes in
//! lib/plan-schema.ts), and `planRoundTrip`, which proves both sides of that schema agree.

use kernels::plan::Plan;

use crate::env::{Args, Env};
use crate::error::{JsError, JsResult};
use crate::sys::napi_value;
use crate::typed::{self, View};

/// The plan a `planCode` argument encodes, or a RangeError saying what is wrong with it.
///
/// # Safety
/// As `View::slice`: nothing may run JavaScript during the call.
pub unsafe fn decode(code: &View<f64>) -> JsResult<Plan> {
    Plan::decode(unsafe { code.slice() }).map_err(|e| JsError::range_error(format!("planCode is not a valid plan: {e}")))
}

/// planRoundTrip(planCode) → the code Rust writes for the plan it decodes from `planCode`;
/// equal to `planCode` whenever the TypeScript and Rust sides of the schema agree.
pub fn plan_round_trip(env: Env, args: &Args) -> JsResult<napi_value> {
    let code = typed::read::<f64>(env, args.get(0), "planCode")?;
    // SAFETY: the only argument is read; no JavaScript runs while it is decoded.
    let plan = unsafe { decode(&code) }?;
    typed::from_slice::<f64>(env, &plan.encode(), "planCode")
}
