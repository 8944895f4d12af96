//! MPI for data-parallel training, loaded at run time: the package installs and runs with no MPI
//! present, and only `mpi()` asks for it. The declarations are written by hand from Open MPI's
//! mpi.h (no crates here), for Open MPI's ABI (libmpi.so.40, as Debian's openmpi-bin ships): its
//! handles are the addresses of predefined objects (`ompi_mpi_comm_world`, …), found with
//! dlsym. Another MPI (MPICH's handles are integers) is detected and refused with a message.
//!
//! The library is opened with RTLD_GLOBAL: Open MPI's own plugins resolve its symbols globally.
//! Every call goes through MPI_COMM_WORLD with MPI_ERRORS_RETURN, so a failure is an error here
//! rather than an abort of the process; when a process of the run dies, mpirun ends the others.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Arc, Mutex, OnceLock};

use kernels::collective::Collective;

use crate::env::{Args, Env};
use crate::error::{JsError, JsResult};
use crate::sys::napi_value;
use crate::typed;

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}
const RTLD_NOW: c_int = 2;
const RTLD_GLOBAL: c_int = 0x100;

/// Open MPI's values (mpi.h).
const MPI_SUCCESS: c_int = 0;
const MPI_THREAD_SERIALIZED: c_int = 2;
const MPI_IN_PLACE: *mut c_void = 1 as *mut c_void;
const MPI_MAX_LIBRARY_VERSION_STRING: usize = 256;
const MPI_MAX_ERROR_STRING: usize = 256;

/// A predefined MPI object (communicator, datatype, operation, error handler): its address.
type Handle = *mut c_void;

struct Functions {
    allreduce: unsafe extern "C" fn(*const c_void, *mut c_void, c_int, Handle, Handle, Handle) -> c_int,
    bcast: unsafe extern "C" fn(*mut c_void, c_int, Handle, c_int, Handle) -> c_int,
    finalize: unsafe extern "C" fn() -> c_int,
    finalized: unsafe extern "C" fn(*mut c_int) -> c_int,
    error_string: unsafe extern "C" fn(c_int, *mut c_char, *mut c_int) -> c_int,
}

pub struct Mpi {
    f: Functions,
    comm_world: Handle,
    float: Handle,
    double: Handle,
    byte: Handle,
    sum: Handle,
    pub rank: usize,
    pub size: usize,
    pub library: String,
    /// MPI is called from the JavaScript thread and from the libuv pool: one call at a time
    /// (the thread level asked for is MPI_THREAD_SERIALIZED).
    lock: Mutex<()>,
}

// SAFETY: the handles are addresses of Open MPI's immutable predefined objects, valid for the
// life of the process, and calls are serialised by `lock`.
unsafe impl Send for Mpi {}
unsafe impl Sync for Mpi {}

static MPI: OnceLock<Result<Arc<Mpi>, String>> = OnceLock::new();

/// MPI, initialised on first use (MPI_Init_thread), or why it cannot be.
pub fn get() -> Result<Arc<Mpi>, String> {
    MPI.get_or_init(|| open().map(Arc::new)).clone()
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated message owned by libc.
    let e = unsafe { dlerror() };
    if e.is_null() {
        "unknown error".into()
    } else {
        unsafe { CStr::from_ptr(e) }.to_string_lossy().into_owned()
    }
}

fn open() -> Result<Mpi, String> {
    let path = std::env::var("BACKPROP_MPI_LIB").unwrap_or_else(|_| "libmpi.so.40".into());
    let c_path = CString::new(path.clone()).map_err(|_| format!("BACKPROP_MPI_LIB holds a NUL byte: {path:?}"))?;
    // SAFETY: a valid C string; dlopen runs the library's constructors, which Open MPI allows.
    let lib = unsafe { dlopen(c_path.as_ptr(), RTLD_NOW | RTLD_GLOBAL) };
    if lib.is_null() {
        return Err(format!("no MPI library could be loaded from {path} ({}); install Open MPI (Debian: apt-get install openmpi-bin) or set BACKPROP_MPI_LIB to its libmpi.so", dl_error()));
    }
    let symbol = |name: &CStr| -> *mut c_void {
        // SAFETY: a valid handle and C string.
        unsafe { dlsym(lib, name.as_ptr()) }
    };
    let comm_world = symbol(c"ompi_mpi_comm_world");
    if comm_world.is_null() {
        let kind = if symbol(c"MPI_Init").is_null() { "is not an MPI library" } else { "is an MPI other than Open MPI (MPICH?), whose ABI this build does not speak" };
        return Err(format!("{path} {kind}; set BACKPROP_MPI_LIB to Open MPI's libmpi.so.40"));
    }
    macro_rules! function {
        ($name:literal) => {{
            let p = symbol($name);
            if p.is_null() {
                return Err(format!("{path} lacks {}", $name.to_string_lossy()));
            }
            // SAFETY: the symbol is the MPI function of that name, whose C signature the
            // field's type states (Open MPI's mpi.h).
            unsafe { std::mem::transmute::<*mut c_void, _>(p) }
        }};
    }
    let handle = |name: &CStr| -> Result<Handle, String> {
        let p = symbol(name);
        if p.is_null() {
            Err(format!("{path} lacks {}", name.to_string_lossy()))
        } else {
            Ok(p)
        }
    };
    let f = Functions {
        allreduce: function!(c"MPI_Allreduce"),
        bcast: function!(c"MPI_Bcast"),
        finalize: function!(c"MPI_Finalize"),
        finalized: function!(c"MPI_Finalized"),
        error_string: function!(c"MPI_Error_string"),
    };
    let initialized: unsafe extern "C" fn(*mut c_int) -> c_int = function!(c"MPI_Initialized");
    let init_thread: unsafe extern "C" fn(*mut c_int, *mut *mut *mut c_char, c_int, *mut c_int) -> c_int = function!(c"MPI_Init_thread");
    let set_errhandler: unsafe extern "C" fn(Handle, Handle) -> c_int = function!(c"MPI_Comm_set_errhandler");
    let comm_rank: unsafe extern "C" fn(Handle, *mut c_int) -> c_int = function!(c"MPI_Comm_rank");
    let comm_size: unsafe extern "C" fn(Handle, *mut c_int) -> c_int = function!(c"MPI_Comm_size");
    let version: unsafe extern "C" fn(*mut c_char, *mut c_int) -> c_int = function!(c"MPI_Get_library_version");
    let mpi = Mpi {
        f,
        comm_world,
        float: handle(c"ompi_mpi_float")?,
        double: handle(c"ompi_mpi_double")?,
        byte: handle(c"ompi_mpi_byte")?,
        sum: handle(c"ompi_mpi_op_sum")?,
        rank: 0,
        size: 1,
        library: String::new(),
        lock: Mutex::new(()),
    };
    let (mut flag, mut provided, mut rank, mut size) = (0, 0, 0, 0);
    let mut text = vec![0 as c_char; MPI_MAX_LIBRARY_VERSION_STRING + 1];
    let mut length = 0;
    // SAFETY: MPI's documented calls with valid out-pointers; null argc/argv is allowed.
    unsafe {
        mpi.check("MPI_Initialized", initialized(&mut flag))?;
        if flag == 0 {
            mpi.check("MPI_Init_thread", init_thread(std::ptr::null_mut(), std::ptr::null_mut(), MPI_THREAD_SERIALIZED, &mut provided))?;
            if provided < MPI_THREAD_SERIALIZED {
                return Err(format!("{path} provides thread level {provided}; data-parallel training needs MPI_THREAD_SERIALIZED ({MPI_THREAD_SERIALIZED})"));
            }
        }
        mpi.check("MPI_Comm_set_errhandler", set_errhandler(comm_world, handle(c"ompi_mpi_errors_return")?))?;
        mpi.check("MPI_Comm_rank", comm_rank(comm_world, &mut rank))?;
        mpi.check("MPI_Comm_size", comm_size(comm_world, &mut size))?;
        mpi.check("MPI_Get_library_version", version(text.as_mut_ptr(), &mut length))?;
    }
    // SAFETY: MPI wrote a NUL-terminated string into the buffer, which has room for it.
    let library = unsafe { CStr::from_ptr(text.as_ptr()) }.to_string_lossy().trim().to_string();
    let _ = length;
    Ok(Mpi { rank: rank as usize, size: size as usize, library, ..mpi })
}

impl Mpi {
    /// An MPI return code as a Result, with MPI's own words for a failure.
    fn check(&self, call: &str, code: c_int) -> Result<(), String> {
        if code == MPI_SUCCESS {
            return Ok(());
        }
        let mut text = vec![0 as c_char; MPI_MAX_ERROR_STRING + 1];
        let mut length = 0;
        // SAFETY: a buffer of MPI_MAX_ERROR_STRING characters, as MPI_Error_string requires.
        unsafe { (self.f.error_string)(code, text.as_mut_ptr(), &mut length) };
        let message = unsafe { CStr::from_ptr(text.as_ptr()) }.to_string_lossy().into_owned();
        Err(format!("{call} failed with code {code}: {message}"))
    }

    /// MPI_Allreduce(MPI_IN_PLACE, …, MPI_SUM) over `len` values at `data`, in pieces of at most
    /// i32::MAX (MPI counts are ints).
    fn sum(&self, data: *mut c_void, len: usize, element: usize, datatype: Handle) -> Result<(), String> {
        let _serial = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = 0;
        while done < len {
            let count = (len - done).min(i32::MAX as usize);
            // SAFETY: `data` holds `len` elements of `element` bytes; MPI writes the sums in place.
            let code = unsafe { (self.f.allreduce)(MPI_IN_PLACE, data.cast::<u8>().add(done * element).cast(), count as c_int, datatype, self.sum, self.comm_world) };
            self.check("MPI_Allreduce", code)?;
            done += count;
        }
        Ok(())
    }

    fn broadcast(&self, data: *mut c_void, bytes: usize, root: usize) -> Result<(), String> {
        let _serial = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = 0;
        while done < bytes {
            let count = (bytes - done).min(i32::MAX as usize);
            // SAFETY: `data` holds `bytes` bytes, as MPI_BYTE elements (ompi_mpi_byte).
            let code = unsafe { (self.f.bcast)(data.cast::<u8>().add(done).cast(), count as c_int, self.byte, root as c_int, self.comm_world) };
            self.check("MPI_Bcast", code)?;
            done += count;
        }
        Ok(())
    }
}

impl Collective for Mpi {
    fn rank(&self) -> usize {
        self.rank
    }
    fn size(&self) -> usize {
        self.size
    }
    fn sum_f32(&self, values: &mut [f32]) -> Result<(), String> {
        self.sum(values.as_mut_ptr().cast(), values.len(), 4, self.float)
    }
    fn sum_f64(&self, values: &mut [f64]) -> Result<(), String> {
        self.sum(values.as_mut_ptr().cast(), values.len(), 8, self.double)
    }
}

/// mpi() → { rank, size, library }: initialises MPI (once); throws why it cannot.
pub fn mpi_info(env: Env, _args: &Args) -> JsResult<napi_value> {
    let mpi = get().map_err(JsError::error)?;
    let out = env.object()?;
    env.set(out, c"rank", env.double(mpi.rank as f64)?)?;
    env.set(out, c"size", env.double(mpi.size as f64)?)?;
    env.set(out, c"library", env.string(&mpi.library)?)?;
    Ok(out)
}

/// mpiSum(values: Float32Array | Float64Array): sums across processes, in place.
pub fn mpi_sum(env: Env, args: &Args) -> JsResult<napi_value> {
    let mpi = get().map_err(JsError::error)?;
    let result = match typed::array_type_name(env, args.get(0)) {
        Some("Float64Array") => {
            let view = typed::read::<f64>(env, args.get(0), "values")?;
            // SAFETY: the array is alive for the call and not shared with another argument.
            mpi.sum_f64(unsafe { view.slice_mut() })
        }
        _ => {
            let view = typed::read::<f32>(env, args.get(0), "values")?;
            // SAFETY: as above.
            mpi.sum_f32(unsafe { view.slice_mut() })
        }
    };
    result.map_err(JsError::error)?;
    env.undefined()
}

/// mpiBroadcast(values: Float32Array, root): every process gets the root's values.
pub fn mpi_broadcast(env: Env, args: &Args) -> JsResult<napi_value> {
    let mpi = get().map_err(JsError::error)?;
    let view = typed::read::<f32>(env, args.get(0), "values")?;
    let root = env.size(args.get(1), "root", 0)?;
    if root >= mpi.size {
        return Err(JsError::range_error(format!("root must be a rank below {}, got {root}", mpi.size)));
    }
    // SAFETY: the array is alive for the call.
    let values = unsafe { view.slice_mut() };
    mpi.broadcast(values.as_mut_ptr().cast(), values.len() * 4, root).map_err(JsError::error)?;
    env.undefined()
}

/// mpiFinalize(): ends MPI in this process (at exit: mpirun expects every process to).
pub fn mpi_finalize(env: Env, _args: &Args) -> JsResult<napi_value> {
    if let Some(Ok(mpi)) = MPI.get() {
        let _serial = mpi.lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = 0;
        // SAFETY: MPI's documented calls; finalising twice is avoided by MPI_Finalized.
        unsafe {
            (mpi.f.finalized)(&mut done);
            if done == 0 {
                mpi.check("MPI_Finalize", (mpi.f.finalize)()).map_err(JsError::error)?;
            }
        }
    }
    env.undefined()
}
