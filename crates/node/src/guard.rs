//! Every function JavaScript can call enters through `entry`: a Rust panic is caught there and
//! thrown as a JavaScript `Error` (unwinding into Node's C++ frames would be undefined behaviour
//! and in practice aborts the process), and a `JsError` becomes the matching exception.

use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use crate::env::{Args, Env};
use crate::error::{internal, panic_message, JsResult};
use crate::sys::{napi_callback_info, napi_env, napi_value};

/// Runs `body` for one call from JavaScript and returns its result, or NULL (`undefined`) with
/// an exception pending.
pub fn entry(env: napi_env, info: napi_callback_info, body: impl FnOnce(Env, &Args) -> JsResult<napi_value>) -> napi_value {
    let env = Env(env);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let args = env.args(info)?;
        body(env, &args)
    }));
    match outcome {
        Ok(Ok(value)) => value,
        Ok(Err(error)) => {
            env.throw(error);
            ptr::null_mut()
        }
        Err(payload) => {
            env.throw(internal(&panic_message(payload.as_ref())));
            ptr::null_mut()
        }
    }
}

/// Runs `f` where no panic may escape (finalizers and completion callbacks, which Node calls
/// from C++); a panic there is reported on stderr, as nothing in JavaScript is waiting for it.
pub fn contain(what: &str, f: impl FnOnce()) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(f)) {
        eprintln!("backprop native core: internal error in {what}: {}", panic_message(payload.as_ref()));
    }
}

/// Declares an `extern "C"` Node-API callback that runs `$body(env, args)` through `entry`.
#[macro_export]
macro_rules! js_function {
    ($name:ident => $body:expr) => {
        unsafe extern "C" fn $name(env: $crate::sys::napi_env, info: $crate::sys::napi_callback_info) -> $crate::sys::napi_value {
            $crate::guard::entry(env, info, $body)
        }
    };
}
