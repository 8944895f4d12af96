//! Rust values owned by JavaScript objects (`napi_wrap`), with a type tag per Rust type so an
//! object wrapped by another addon — or a TrainingData passed where a Network is expected — is
//! refused instead of being reinterpreted as the wrong type.

use std::ffi::c_void;
use std::ptr;

use crate::env::Env;
use crate::error::{JsError, JsResult};
use crate::guard;
use crate::sys::*;

/// A Rust type JavaScript objects can own.
pub trait Wrapped: Sized + 'static {
    /// Unique to this type (random constants).
    const TAG: napi_type_tag;
    /// What the object is called in error messages.
    const NAME: &'static str;

    /// Called on the JavaScript thread just before the value is dropped by the finalizer.
    fn finalize(&mut self, _env: Env) {}
}

/// Gives `object` ownership of `value`: dropped when the object is garbage-collected.
pub fn wrap<T: Wrapped>(env: Env, object: napi_value, value: T) -> JsResult<()> {
    env.check(unsafe { napi_type_tag_object(env.0, object, &T::TAG) })?;
    let raw = Box::into_raw(Box::new(value));
    // SAFETY: `raw` is a live Box handed to Node, reclaimed exactly once in `finalize::<T>`.
    let status = unsafe { napi_wrap(env.0, object, raw.cast::<c_void>(), Some(finalize::<T>), ptr::null_mut(), ptr::null_mut()) };
    if let Err(e) = env.check(status) {
        // SAFETY: Node did not take it, so it is still ours.
        drop(unsafe { Box::from_raw(raw) });
        return Err(e);
    }
    Ok(())
}

unsafe extern "C" fn finalize<T: Wrapped>(env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    guard::contain("a finalizer", || {
        // SAFETY: `data` is the Box leaked in `wrap::<T>`; Node calls this once.
        let mut value = unsafe { Box::from_raw(data.cast::<T>()) };
        value.finalize(Env(env));
    });
}

/// The value `object` owns, if it is a `T`. The pointer stays valid while `object` is
/// reachable, so at least for the current call when `object` is one of its arguments.
pub fn unwrap<T: Wrapped>(env: Env, object: napi_value, name: &str) -> JsResult<*mut T> {
    let wrong = || JsError::type_error(format!("{name} must be a {}, got {}", T::NAME, env.describe(object)));
    if env.type_of(object) != NAPI_OBJECT {
        return Err(wrong());
    }
    let mut tagged = false;
    env.check(unsafe { napi_check_object_type_tag(env.0, object, &T::TAG, &mut tagged) })?;
    if !tagged {
        return Err(wrong());
    }
    let mut data = ptr::null_mut();
    // SAFETY: the tag proves `object` was wrapped by `wrap::<T>`.
    if unsafe { napi_unwrap(env.0, object, &mut data) } != NAPI_OK || data.is_null() {
        return Err(wrong());
    }
    Ok(data.cast::<T>())
}
