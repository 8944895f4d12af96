//! Small safe helpers over the raw Node-API calls: creating values, reading arguments with the
//! checks every export needs (exact types, integers, finite numbers), and throwing errors.
//! Typed arrays have their own module (`typed`).

use std::ffi::{c_char, CStr};
use std::ptr;

use crate::error::{JsError, JsResult};
use crate::sys::*;

/// The environment of the current call. Valid only on the JavaScript thread, during the call
/// (or the completion callback) it was handed to.
#[derive(Clone, Copy)]
pub struct Env(pub napi_env);

/// The arguments of a call: `this` and up to `MAX_ARGS` values (missing ones are `undefined`).
pub struct Args {
    pub this: napi_value,
    /// `new.target`: NULL unless the function was called with `new`.
    pub new_target: napi_value,
    values: [napi_value; MAX_ARGS],
    /// In: room in `values`; out: how many arguments the caller passed.
    count: usize,
}

pub const MAX_ARGS: usize = 10;

impl Args {
    pub fn get(&self, i: usize) -> napi_value {
        self.values[i]
    }
}

impl Env {
    /// Turns a failed status into an error; a pending exception is left for JavaScript to see.
    pub fn check(self, status: napi_status) -> JsResult<()> {
        if status == NAPI_OK {
            return Ok(());
        }
        if status == NAPI_PENDING_EXCEPTION || self.exception_pending() {
            return Err(JsError::Pending);
        }
        let mut info: *const napi_extended_error_info = ptr::null();
        // SAFETY: `info` receives a pointer owned by Node, valid until the next Node-API call.
        let detail = unsafe {
            if napi_get_last_error_info(self.0, &mut info) == NAPI_OK && !info.is_null() && !(*info).error_message.is_null() {
                CStr::from_ptr((*info).error_message).to_string_lossy().into_owned()
            } else {
                String::from("no detail")
            }
        };
        Err(JsError::error(format!("a Node-API call failed (status {status}: {detail})")))
    }

    pub fn exception_pending(self) -> bool {
        let mut pending = false;
        // SAFETY: plain query on a live env.
        unsafe { napi_is_exception_pending(self.0, &mut pending) };
        pending
    }

    pub fn args(self, info: napi_callback_info) -> JsResult<Args> {
        let mut args = Args { this: ptr::null_mut(), new_target: ptr::null_mut(), values: [ptr::null_mut(); MAX_ARGS], count: MAX_ARGS };
        // SAFETY: `values` has room for `count` (= MAX_ARGS) values; Node fills missing ones
        // with `undefined` and writes the real count back.
        self.check(unsafe { napi_get_cb_info(self.0, info, &mut args.count, args.values.as_mut_ptr(), &mut args.this, ptr::null_mut()) })?;
        self.check(unsafe { napi_get_new_target(self.0, info, &mut args.new_target) })?;
        Ok(args)
    }

    // ─── creating values ─────────────────────────────────────────────────────────────────

    pub fn undefined(self) -> JsResult<napi_value> {
        let mut v = ptr::null_mut();
        self.check(unsafe { napi_get_undefined(self.0, &mut v) })?;
        Ok(v)
    }

    pub fn null(self) -> JsResult<napi_value> {
        let mut v = ptr::null_mut();
        self.check(unsafe { napi_get_null(self.0, &mut v) })?;
        Ok(v)
    }

    pub fn boolean(self, value: bool) -> JsResult<napi_value> {
        let mut v = ptr::null_mut();
        self.check(unsafe { napi_get_boolean(self.0, value, &mut v) })?;
        Ok(v)
    }

    pub fn double(self, value: f64) -> JsResult<napi_value> {
        let mut v = ptr::null_mut();
        self.check(unsafe { napi_create_double(self.0, value, &mut v) })?;
        Ok(v)
    }

    pub fn string(self, value: &str) -> JsResult<napi_value> {
        let mut v = ptr::null_mut();
        self.check(unsafe { napi_create_string_utf8(self.0, value.as_ptr().cast::<c_char>(), value.len(), &mut v) })?;
        Ok(v)
    }

    pub fn object(self) -> JsResult<napi_value> {
        let mut v = ptr::null_mut();
        self.check(unsafe { napi_create_object(self.0, &mut v) })?;
        Ok(v)
    }

    /// A JavaScript array of numbers.
    pub fn numbers(self, values: &[f64]) -> JsResult<napi_value> {
        let mut array = ptr::null_mut();
        self.check(unsafe { napi_create_array_with_length(self.0, values.len(), &mut array) })?;
        for (i, &x) in values.iter().enumerate() {
            let item = self.double(x)?;
            self.check(unsafe { napi_set_element(self.0, array, i as u32, item) })?;
        }
        Ok(array)
    }

    pub fn set(self, object: napi_value, name: &CStr, value: napi_value) -> JsResult<()> {
        self.check(unsafe { napi_set_named_property(self.0, object, name.as_ptr(), value) })
    }

    /// Reads a property. This may run a getter, i.e. arbitrary JavaScript: read every property
    /// before looking at any typed array's memory.
    pub fn get(self, object: napi_value, name: &CStr) -> JsResult<napi_value> {
        let mut v = ptr::null_mut();
        self.check(unsafe { napi_get_named_property(self.0, object, name.as_ptr(), &mut v) })?;
        Ok(v)
    }

    /// An error object of the kind `error` asks for.
    pub fn error_value(self, error: &JsError) -> JsResult<napi_value> {
        let message = self.string(error.message())?;
        let mut value = ptr::null_mut();
        // SAFETY: `message` is a live string value; code NULL means no `code` property.
        unsafe {
            let status = match error {
                JsError::Type(_) => napi_create_type_error(self.0, ptr::null_mut(), message, &mut value),
                JsError::Range(_) => napi_create_range_error(self.0, ptr::null_mut(), message, &mut value),
                _ => napi_create_error(self.0, ptr::null_mut(), message, &mut value),
            };
            self.check(status)?;
        }
        if let JsError::Busy(_) = error {
            let code = self.string("ERR_BACKPROP_BUSY")?;
            self.set(value, c"code", code)?;
        }
        Ok(value)
    }

    /// Throws `error` unless an exception is already pending (which then wins).
    pub fn throw(self, error: JsError) {
        if matches!(error, JsError::Pending) || self.exception_pending() {
            return;
        }
        if let Ok(value) = self.error_value(&error) {
            // SAFETY: `value` is a live error object.
            unsafe { napi_throw(self.0, value) };
        }
    }

    /// Takes the pending exception (e.g. thrown by a callback), leaving none pending.
    pub fn take_exception(self) -> Option<napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: returns `undefined` when nothing is pending.
        let ok = unsafe { napi_get_and_clear_last_exception(self.0, &mut v) } == NAPI_OK;
        (ok && !v.is_null() && self.type_of(v) != NAPI_UNDEFINED).then_some(v)
    }

    // ─── reading arguments ───────────────────────────────────────────────────────────────

    pub fn type_of(self, value: napi_value) -> napi_valuetype {
        let mut t = NAPI_UNDEFINED;
        // SAFETY: plain query; an invalid handle yields an error status and `undefined`.
        unsafe { napi_typeof(self.0, value, &mut t) };
        t
    }

    pub fn is_nullish(self, value: napi_value) -> bool {
        matches!(self.type_of(value), NAPI_UNDEFINED | NAPI_NULL)
    }

    /// How a value reads in an error message: `the string 'abc'`, `the number 1.5`, `null`, …
    /// Never runs JavaScript (no `toString`).
    pub fn describe(self, value: napi_value) -> String {
        match self.type_of(value) {
            NAPI_UNDEFINED => "undefined".into(),
            NAPI_NULL => "null".into(),
            NAPI_BOOLEAN => {
                let mut b = false;
                unsafe { napi_get_value_bool(self.0, value, &mut b) };
                format!("the boolean {b}")
            }
            NAPI_NUMBER => format!("the number {}", js_number(self.raw_double(value))),
            NAPI_STRING => match self.read_string(value, 40) {
                Ok((s, true)) => format!("the string '{s}…'"),
                Ok((s, false)) => format!("the string '{s}'"),
                Err(_) => "a string".into(),
            },
            NAPI_SYMBOL => "a symbol".into(),
            NAPI_FUNCTION => "a function".into(),
            NAPI_BIGINT => "a bigint".into(),
            NAPI_EXTERNAL => "an external value".into(),
            _ => match crate::typed::array_type_name(self, value) {
                Some(name) => format!("a {name}"),
                None => "an object".into(),
            },
        }
    }

    fn raw_double(self, value: napi_value) -> f64 {
        let mut x = f64::NAN;
        unsafe { napi_get_value_double(self.0, value, &mut x) };
        x
    }

    /// A string argument, at most `max` bytes (longer ones are cut; the flag says so).
    fn read_string(self, value: napi_value, max: usize) -> JsResult<(String, bool)> {
        let mut len = 0usize;
        self.check(unsafe { napi_get_value_string_utf8(self.0, value, ptr::null_mut(), 0, &mut len) })?;
        let take = len.min(max);
        let mut buf = vec![0u8; take + 1];
        let mut written = 0usize;
        self.check(unsafe { napi_get_value_string_utf8(self.0, value, buf.as_mut_ptr().cast::<c_char>(), buf.len(), &mut written) })?;
        buf.truncate(written);
        Ok((String::from_utf8_lossy(&buf).into_owned(), len > take))
    }

    /// A string argument (up to 256 bytes: names and options, never data).
    pub fn string_arg(self, value: napi_value, name: &str) -> JsResult<String> {
        if self.type_of(value) != NAPI_STRING {
            return Err(JsError::type_error(format!("{name} must be a string, got {}", self.describe(value))));
        }
        Ok(self.read_string(value, 256)?.0)
    }

    /// A number, any value (NaN and infinities included).
    pub fn number(self, value: napi_value, name: &str) -> JsResult<f64> {
        if self.type_of(value) != NAPI_NUMBER {
            return Err(JsError::type_error(format!("{name} must be a number, got {}", self.describe(value))));
        }
        Ok(self.raw_double(value))
    }

    /// A finite number within [min, max].
    pub fn finite(self, value: napi_value, name: &str, min: f64, max: f64) -> JsResult<f64> {
        let x = self.number(value, name)?;
        if !(x.is_finite() && x >= min && x <= max) {
            let range = match (min == f64::MIN, max == f64::MAX) {
                (true, true) => "a finite number".to_owned(),
                (false, true) => format!("a finite number ≥ {}", js_number(min)),
                (true, false) => format!("a finite number ≤ {}", js_number(max)),
                (false, false) => format!("a finite number in [{}, {}]", js_number(min), js_number(max)),
            };
            return Err(JsError::range_error(format!("{name} must be {range}, got {}", js_number(x))));
        }
        Ok(x)
    }

    /// An integer within [min, max] (max ≤ 2⁵³, so it is exact).
    pub fn integer(self, value: napi_value, name: &str, min: u64, max: u64) -> JsResult<u64> {
        let x = self.number(value, name)?;
        if !(x.fract() == 0.0 && x >= min as f64 && x <= max as f64) {
            return Err(JsError::range_error(format!("{name} must be an integer in [{min}, {max}], got {}", js_number(x))));
        }
        Ok(x as u64)
    }

    /// A count or size: an integer in [min, 2³¹ − 1].
    pub fn size(self, value: napi_value, name: &str, min: usize) -> JsResult<usize> {
        Ok(self.integer(value, name, min as u64, i32::MAX as u64)? as usize)
    }

    pub fn boolean_arg(self, value: napi_value, name: &str) -> JsResult<bool> {
        if self.type_of(value) != NAPI_BOOLEAN {
            return Err(JsError::type_error(format!("{name} must be a boolean, got {}", self.describe(value))));
        }
        let mut b = false;
        self.check(unsafe { napi_get_value_bool(self.0, value, &mut b) })?;
        Ok(b)
    }

    /// An optional boolean: `undefined` gives `default`.
    pub fn optional_boolean(self, value: napi_value, name: &str, default: bool) -> JsResult<bool> {
        if self.type_of(value) == NAPI_UNDEFINED {
            return Ok(default);
        }
        self.boolean_arg(value, name)
    }

    /// An options object: `undefined` gives None; anything but a plain object is a TypeError.
    pub fn options(self, value: napi_value, name: &str) -> JsResult<Option<napi_value>> {
        match self.type_of(value) {
            NAPI_UNDEFINED => Ok(None),
            NAPI_OBJECT if crate::typed::array_type_name(self, value).is_none() => Ok(Some(value)),
            _ => Err(JsError::type_error(format!("{name} must be an options object, got {}", self.describe(value)))),
        }
    }

    /// A function or nothing (`undefined`/`null`).
    pub fn optional_function(self, value: napi_value, name: &str) -> JsResult<Option<napi_value>> {
        match self.type_of(value) {
            NAPI_UNDEFINED | NAPI_NULL => Ok(None),
            NAPI_FUNCTION => Ok(Some(value)),
            _ => Err(JsError::type_error(format!("{name} must be a function, got {}", self.describe(value)))),
        }
    }

    /// Calls `f(args…)` with `this` undefined; a throw is left pending (`JsError::Pending`).
    pub fn call(self, f: napi_value, args: &[napi_value]) -> JsResult<napi_value> {
        let recv = self.undefined()?;
        let mut result = ptr::null_mut();
        self.check(unsafe { napi_call_function(self.0, recv, f, args.len(), args.as_ptr(), &mut result) })?;
        Ok(result)
    }

    /// Runs `f` inside its own handle scope, so values it creates are freed when it returns
    /// (a loop that calls into JavaScript per batch must not pile up handles).
    pub fn scoped<T>(self, f: impl FnOnce() -> JsResult<T>) -> JsResult<T> {
        let mut scope = ptr::null_mut();
        self.check(unsafe { napi_open_handle_scope(self.0, &mut scope) })?;
        let result = f();
        // SAFETY: closes the scope opened above; nothing created in it escapes (T holds no handles
        // by contract of the callers).
        unsafe { napi_close_handle_scope(self.0, scope) };
        result
    }

    /// Tells V8 about memory held natively for a JavaScript object, so garbage collection
    /// runs as often as the real memory use needs.
    pub fn adjust_external_memory(self, bytes: i64) {
        let mut total = 0i64;
        // SAFETY: allowed from finalizers too; the result is informational.
        unsafe { napi_adjust_external_memory(self.0, bytes, &mut total) };
    }
}

/// A number as JavaScript prints it (NaN, Infinity, 1.5, 3).
pub fn js_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else if x.fract() == 0.0 && x.abs() < 1e21 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}
