//! Typed-array arguments and results. A view records where a typed array's elements live after
//! checking its exact type (a Float32Array, not a Float64Array or a Buffer), that its buffer is
//! not detached or shared with other threads, and its length. Slices over that memory are made
//! only for the length of a synchronous call, after every argument has been read (reading an
//! options object can run a getter that detaches a buffer), and never two slices of which one is
//! mutable over overlapping bytes: callers check `overlaps` and copy first.

use std::ffi::c_void;
use std::ops::Range;
use std::ptr::{self, NonNull};

use crate::env::Env;
use crate::error::{JsError, JsResult};
use crate::sys::*;

/// An element type a typed array can hold here.
pub trait Element: Copy + Default + 'static {
    const TYPE: napi_typedarray_type;
    const NAME: &'static str;
}

impl Element for f32 {
    const TYPE: napi_typedarray_type = NAPI_FLOAT32_ARRAY;
    const NAME: &'static str = "Float32Array";
}

impl Element for f64 {
    const TYPE: napi_typedarray_type = NAPI_FLOAT64_ARRAY;
    const NAME: &'static str = "Float64Array";
}

impl Element for u32 {
    const TYPE: napi_typedarray_type = NAPI_UINT32_ARRAY;
    const NAME: &'static str = "Uint32Array";
}

/// Where a typed array's elements are. Holds no borrow: see the module comment for when a
/// slice over it may be made.
pub struct View<T> {
    pub value: napi_value,
    ptr: *mut T,
    len: usize,
}

impl<T: Element> View<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// # Safety
    /// No JavaScript may run while the slice lives (it could detach or resize the buffer), and
    /// no mutable slice over overlapping bytes may exist at the same time.
    pub unsafe fn slice<'a>(&self) -> &'a [T] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` is non-null, aligned and points at `len` elements of a live, attached,
        // non-shared ArrayBuffer (checked in `read`); the caller upholds the rest.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// # Safety
    /// As `slice`, and no other slice over overlapping bytes may exist at the same time.
    pub unsafe fn slice_mut<'a>(&self) -> &'a mut [T] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as in `slice`; exclusivity is the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// A copy of the elements (for work that outlives the call); an allocation failure is an
    /// error, not an abort (these copies are as large as the caller's data).
    ///
    /// # Safety
    /// As `slice`.
    pub unsafe fn to_vec(&self) -> JsResult<Vec<T>> {
        copy_of(unsafe { self.slice() })
    }

    fn bytes(&self) -> Range<usize> {
        let start = self.ptr as usize;
        start..start + self.len * std::mem::size_of::<T>()
    }

    /// Whether the two arrays share any byte of memory (the same array, two views of one buffer).
    pub fn overlaps<U: Element>(&self, other: &View<U>) -> bool {
        let (a, b) = (self.bytes(), other.bytes());
        !a.is_empty() && !b.is_empty() && a.start < b.end && b.start < a.end
    }
}

/// A copy of `values`, or a RangeError when the memory cannot be had.
pub fn copy_of<T: Copy>(values: &[T]) -> JsResult<Vec<T>> {
    let mut copy = Vec::new();
    copy.try_reserve_exact(values.len())
        .map_err(|_| JsError::range_error(format!("not enough memory to copy {} values", values.len())))?;
    copy.extend_from_slice(values);
    Ok(copy)
}

/// The constructor name of a typed array (`Uint8Array` covers Buffer), or None for other values.
pub fn array_type_name(env: Env, value: napi_value) -> Option<&'static str> {
    let mut is_typed = false;
    // SAFETY: plain queries on a live value.
    unsafe {
        if napi_is_typedarray(env.0, value, &mut is_typed) != NAPI_OK || !is_typed {
            return None;
        }
        let mut kind = -1;
        let (mut len, mut data, mut buffer, mut offset) = (0usize, ptr::null_mut::<c_void>(), ptr::null_mut(), 0usize);
        if napi_get_typedarray_info(env.0, value, &mut kind, &mut len, &mut data, &mut buffer, &mut offset) != NAPI_OK {
            return Some("typed array");
        }
        Some(match kind {
            NAPI_INT8_ARRAY => "Int8Array",
            NAPI_UINT8_ARRAY => "Uint8Array (or Buffer)",
            NAPI_UINT8_CLAMPED_ARRAY => "Uint8ClampedArray",
            NAPI_INT16_ARRAY => "Int16Array",
            NAPI_UINT16_ARRAY => "Uint16Array",
            NAPI_INT32_ARRAY => "Int32Array",
            NAPI_UINT32_ARRAY => "Uint32Array",
            NAPI_FLOAT32_ARRAY => "Float32Array",
            NAPI_FLOAT64_ARRAY => "Float64Array",
            NAPI_BIGINT64_ARRAY => "BigInt64Array",
            NAPI_BIGUINT64_ARRAY => "BigUint64Array",
            _ => "typed array",
        })
    }
}

/// Reads a typed-array argument of exactly element type `T`, any length.
pub fn read<T: Element>(env: Env, value: napi_value, name: &str) -> JsResult<View<T>> {
    let wrong = || JsError::type_error(format!("{name} must be a {}, got {}", T::NAME, env.describe(value)));
    let mut is_typed = false;
    env.check(unsafe { napi_is_typedarray(env.0, value, &mut is_typed) })?;
    if !is_typed {
        return Err(wrong());
    }
    let (mut kind, mut len, mut data, mut buffer, mut offset) = (-1, 0usize, ptr::null_mut::<c_void>(), ptr::null_mut(), 0usize);
    // SAFETY: `value` is a typed array; every out-pointer is valid.
    env.check(unsafe { napi_get_typedarray_info(env.0, value, &mut kind, &mut len, &mut data, &mut buffer, &mut offset) })?;
    if kind != T::TYPE {
        return Err(wrong());
    }
    let mut detached = false;
    env.check(unsafe { napi_is_detached_arraybuffer(env.0, buffer, &mut detached) })?;
    if detached || (data.is_null() && len > 0) {
        return Err(JsError::type_error(format!(
            "{name} is a {} whose ArrayBuffer is detached (transferred or structuredClone'd away); pass an array that still owns its memory",
            T::NAME
        )));
    }
    let mut plain = false;
    env.check(unsafe { napi_is_arraybuffer(env.0, buffer, &mut plain) })?;
    if !plain {
        return Err(JsError::type_error(format!(
            "{name} is a {} over a SharedArrayBuffer, which another thread may change while native code reads it; copy it into a {} of its own first",
            T::NAME,
            T::NAME
        )));
    }
    let ptr = if len == 0 { NonNull::<T>::dangling().as_ptr() } else { data.cast::<T>() };
    if ptr as usize % std::mem::align_of::<T>() != 0 {
        return Err(JsError::type_error(format!("{name} is not aligned to its element size")));
    }
    Ok(View { value, ptr, len })
}

/// Reads a typed array that must hold exactly `expected` elements; `what` explains the number
/// (e.g. "rows × inputs = 4 × 3").
pub fn read_exact<T: Element>(env: Env, value: napi_value, name: &str, expected: usize, what: &str) -> JsResult<View<T>> {
    let view = read::<T>(env, value, name)?;
    if view.len != expected {
        return Err(JsError::range_error(format!("{name} has {} values, expected {what} = {expected}", view.len)));
    }
    Ok(view)
}

/// Largest typed array this addon creates, in elements (V8 refuses larger ArrayBuffers anyway;
/// checking first gives a clear message instead of an allocation failure).
pub const MAX_NEW_ELEMENTS: usize = 1 << 30;

/// A new, zero-filled typed array of `len` elements.
pub fn create<T: Element>(env: Env, len: usize, what: &str) -> JsResult<View<T>> {
    if len > MAX_NEW_ELEMENTS {
        return Err(JsError::range_error(format!("{what} would have {len} values, more than the {MAX_NEW_ELEMENTS} this addon allocates")));
    }
    let bytes = len * std::mem::size_of::<T>();
    let mut data = ptr::null_mut::<c_void>();
    let mut buffer = ptr::null_mut();
    if bytes == 0 {
        // SAFETY: out-pointers are valid.
        env.check(unsafe { napi_create_arraybuffer(env.0, 0, &mut data, &mut buffer) })?;
    } else {
        // Not napi_create_arraybuffer: V8 ends the process when it cannot allocate one. The
        // memory is allocated here, fallibly, and handed to V8, which frees it through
        // `free_external` when the array is collected.
        let layout = std::alloc::Layout::from_size_align(bytes, 16).map_err(|_| too_big(what, bytes))?;
        // SAFETY: a non-zero size; null on failure.
        data = unsafe { std::alloc::alloc_zeroed(layout) }.cast::<c_void>();
        if data.is_null() {
            return Err(too_big(what, bytes));
        }
        // SAFETY: `data` holds `bytes` zeroed bytes; the hint carries the size for the free.
        let status = unsafe { napi_create_external_arraybuffer(env.0, data, bytes, Some(free_external), bytes as *mut c_void, &mut buffer) };
        if status != NAPI_OK {
            unsafe { std::alloc::dealloc(data.cast::<u8>(), layout) };
            env.check(status)?;
        }
    }
    let mut value = ptr::null_mut();
    env.check(unsafe { napi_create_typedarray(env.0, T::TYPE, len, buffer, 0, &mut value) })?;
    let ptr = if len == 0 || data.is_null() { NonNull::<T>::dangling().as_ptr() } else { data.cast::<T>() };
    Ok(View { value, ptr, len })
}

fn too_big(what: &str, bytes: usize) -> JsError {
    JsError::range_error(format!("out of memory: {what}: {:.2} GB could not be allocated", bytes as f64 / 1e9))
}

/// Frees the memory of an array made by `create` (V8 calls it when the array is collected).
unsafe extern "C" fn free_external(_env: napi_env, data: *mut c_void, hint: *mut c_void) {
    let bytes = hint as usize;
    // SAFETY: `data` was allocated in `create` with this size and alignment 16.
    unsafe { std::alloc::dealloc(data.cast::<u8>(), std::alloc::Layout::from_size_align_unchecked(bytes, 16)) };
}

/// A new typed array holding a copy of `values`.
pub fn from_slice<T: Element>(env: Env, values: &[T], what: &str) -> JsResult<napi_value> {
    let view = create::<T>(env, values.len(), what)?;
    // SAFETY: a fresh array nobody else can see yet; no JavaScript runs during the copy.
    unsafe { view.slice_mut() }.copy_from_slice(values);
    Ok(view.value)
}
