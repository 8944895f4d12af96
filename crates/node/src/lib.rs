//! The Node-API boundary of backprop: hand-written Node-API declarations (`sys`), small safe
//! helpers (`env`, `typed`, `wrapped`, `guard`), and the exports — the low-level kernels
//! (`ops`) and the `Network` class that runs the Rust executor of crates/kernels a batch or an
//! epoch per call, synchronously or on the libuv thread pool (`task`, `progress`).
//!
//! The export names are listed once, in `EXPORTS`; native/exports.json (read by the loader
//! generator) must list the same names, which a test checks against the loaded addon.

mod training_data;
mod env;
mod error;
mod guard;
mod mpi;
mod network;
mod ops;
mod plan_code;
mod progress;
mod results;
mod shutdown;
mod sys;
mod task;
mod typed;
mod wrapped;

use std::ptr;

use env::Env;
use error::JsResult;
use sys::*;

js_function!(matmul => ops::matmul);
js_function!(dense_forward => ops::dense_forward);
js_function!(dense_backward => ops::dense_backward);
js_function!(activation_forward => ops::activation_forward);
js_function!(activation_backward => ops::activation_backward);
js_function!(info => ops::info);
js_function!(plan_round_trip => plan_code::plan_round_trip);
js_function!(shutdown_js => shutdown::shutdown);
js_function!(mpi_js => mpi::mpi_info);
js_function!(mpi_sum_js => mpi::mpi_sum);
js_function!(mpi_broadcast_js => mpi::mpi_broadcast);
js_function!(mpi_finalize_js => mpi::mpi_finalize);

type Callback = unsafe extern "C" fn(napi_env, napi_callback_info) -> napi_value;

/// The functions the addon exports, by their JavaScript names (plus the `Network` class).
const EXPORTS: [(&std::ffi::CStr, Callback); 12] = [
    (c"matmul", matmul),
    (c"denseForward", dense_forward),
    (c"denseBackward", dense_backward),
    (c"activationForward", activation_forward),
    (c"activationBackward", activation_backward),
    (c"info", info),
    (c"planRoundTrip", plan_round_trip),
    (c"shutdown", shutdown_js),
    (c"mpi", mpi_js),
    (c"mpiSum", mpi_sum_js),
    (c"mpiBroadcast", mpi_broadcast_js),
    (c"mpiFinalize", mpi_finalize_js),
];

fn register(env: Env, exports: napi_value) -> JsResult<()> {
    let mut properties: Vec<napi_property_descriptor> = EXPORTS
        .iter()
        .map(|&(name, f)| napi_property_descriptor {
            utf8name: name.as_ptr(),
            name: ptr::null_mut(),
            method: Some(f),
            getter: None,
            setter: None,
            value: ptr::null_mut(),
            // Enumerable, or Object.keys (and the generated loader's checks) would not see them.
            attributes: NAPI_ENUMERABLE,
            data: ptr::null_mut(),
        })
        .collect();
    properties.push(napi_property_descriptor {
        utf8name: c"Network".as_ptr(),
        name: ptr::null_mut(),
        method: None,
        getter: None,
        setter: None,
        value: network::define_class(env)?,
        attributes: NAPI_ENUMERABLE,
        data: ptr::null_mut(),
    });
    // SAFETY: the descriptors live across the call; Node copies what it keeps.
    env.check(unsafe { napi_define_properties(env.0, exports, properties.len(), properties.as_ptr()) })
}

/// Node calls this once per environment (the main thread and each worker) that loads the addon.
///
/// # Safety
/// Called by Node with a live environment and its `exports` object.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    let env = Env(env);
    let outcome = std::panic::catch_unwind(|| register(env, exports));
    match outcome {
        Ok(Ok(())) => exports,
        Ok(Err(e)) => {
            env.throw(e);
            ptr::null_mut()
        }
        Err(payload) => {
            env.throw(error::internal(&error::panic_message(payload.as_ref())));
            ptr::null_mut()
        }
    }
}

/// The Node-API version this addon needs (type tags: 8).
#[no_mangle]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    8
}
