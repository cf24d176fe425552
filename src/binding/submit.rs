//! The facade's hot path: `submit(batch)`, a plain N-API function bound to one pool. A `#[napi]`
//! method would cost more per call (napi-rs unwraps `this`, checks its type tag, records the borrow
//! and makes a reference to the Buffer argument); this function reads its argument's bytes and
//! nothing else. A malformed batch throws (a bug in the facade).

use crate::core::pool::Pool;
use crate::core::wire::parse_batch;
use napi::bindgen_prelude::Unknown;
use napi::Env;

/// Makes `submit(batch)` for `pool`.
pub(super) fn submit_function<'env>(env: &'env Env, pool: &Pool) -> napi::Result<Unknown<'env>> {
    let data = Box::into_raw(Box::new(Pool::clone(pool)));
    let mut f = std::ptr::null_mut();
    // SAFETY: called on the JS thread with its env. `data` is a leaked Box<Pool> owned by the
    // function from here on: the finalizer frees it when the function is collected (or right
    // here when either call fails).
    unsafe {
        let name = "submit";
        let mut status = napi::sys::napi_create_function(
            env.raw(),
            name.as_ptr().cast(),
            name.len() as isize,
            Some(submit_raw),
            data.cast(),
            &mut f,
        );
        if status == napi::sys::Status::napi_ok {
            status = napi::sys::napi_add_finalizer(
                env.raw(),
                f,
                data.cast(),
                Some(drop_pool),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
        }
        if status != napi::sys::Status::napi_ok {
            drop(Box::from_raw(data));
            napi::check_status!(status)?;
        }
    }
    // SAFETY: `f` is the function just made in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), f) })
}

/// The function made by [`NativePool::submitter`]: `submit(batch)`, with the pool as its data.
unsafe extern "C" fn submit_raw(
    env: napi::sys::napi_env,
    info: napi::sys::napi_callback_info,
) -> napi::sys::napi_value {
    let mut argc = 1usize;
    let mut argv = [std::ptr::null_mut(); 1];
    let mut data = std::ptr::null_mut();
    let mut bytes = std::ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: N-API calls on the JS thread with the env and callback info it gave; `data` is the
    // Box<Pool> the function was made with (alive as long as the function); the batch's bytes are
    // read (and copied into jobs) before this returns, while the argument is alive.
    unsafe {
        let ok = napi::sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), std::ptr::null_mut(), &mut data)
            == napi::sys::Status::napi_ok
            && argc >= 1
            && !data.is_null()
            && napi::sys::napi_get_buffer_info(env, argv[0], &mut bytes, &mut len) == napi::sys::Status::napi_ok;
        if !ok {
            napi::sys::napi_throw_type_error(env, std::ptr::null(), c"submit: a Buffer is required".as_ptr());
            return std::ptr::null_mut();
        }
        let pool = &*(data as *const Pool);
        let batch: &[u8] = if len == 0 { &[] } else { std::slice::from_raw_parts(bytes as *const u8, len) };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            parse_batch(batch).map(|jobs| napi::bindgen_prelude::within_runtime_if_available(move || pool.submit(jobs)))
        }));
        let message = match outcome {
            Ok(Ok(())) => return std::ptr::null_mut(),
            Ok(Err(e)) => e.to_json().to_string(),
            Err(_) => crate::core::error::Error::invalid("submit: internal error (panic)").to_json().to_string(),
        };
        // A message with a NUL cannot be one of ours (JSON escapes it); say so rather than fail.
        let message = std::ffi::CString::new(message).unwrap_or_else(|_| c"submit failed".to_owned());
        napi::sys::napi_throw_error(env, c"GenericFailure".as_ptr(), message.as_ptr());
        std::ptr::null_mut()
    }
}

unsafe extern "C" fn drop_pool(_env: napi::sys::napi_env, data: *mut std::ffi::c_void, _hint: *mut std::ffi::c_void) {
    // SAFETY: `data` is the Box<Pool> leaked by `submitter`, freed once, here.
    drop(unsafe { Box::from_raw(data as *mut Pool) });
}
