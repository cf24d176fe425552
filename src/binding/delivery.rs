//! Completion frames from the pool to the facade: the threadsafe `onFrames` callback, the Buffer
//! chunks are copied into, and whether pending deliveries keep Node alive.

use crate::core::completions::CompletionQueue;
use napi::bindgen_prelude::{Buffer, Either, FnArgs, Function, ToNapiValue, TypeName};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Env;
use std::sync::Arc;

pub(super) type FramesFn = ThreadsafeFunction<(), (), FnArgs<(Either<u32, Frames>, bool)>, napi::Status, false, true>;

/// `onFrames(chunk, more)`: the chunk's length in the frame buffer, or a Buffer of its own.
pub(super) type OnFrames<'a> = Function<'a, FnArgs<(Either<u32, Buffer>, bool)>, ()>;

/// A chunk of completion frames too large for the facade's frame buffer (see [`FrameBuffer`]),
/// copied into a new Buffer: cheaper than an external buffer with a finalizer, and nothing for V8's
/// GC to call back.
pub struct Frames(Vec<u8>);

/// The Buffer the facade made once for this pool's chunks of frames (at most
/// [`crate::core::protocol::POLL_BYTES`] but for one large push): a chunk is copied into it and JS is
/// told its length, so that no Buffer is made per delivery (making one through N-API was about 7% of
/// the JS thread's time for queries awaited one after another). Written only on the JS thread (by
/// the frames callback and `takeFrames`), after JS has decoded the previous chunk: decoding is
/// synchronous and keeps nothing of the buffer.
pub(super) struct FrameBuffer(std::sync::Mutex<Buffer>);

impl FrameBuffer {
    /// The chunk's length once copied in, or the chunk itself when it does not fit.
    pub(super) fn place(&self, sink: &CompletionQueue, chunk: Vec<u8>) -> Either<u32, Frames> {
        let mut buf = match self.0.lock() {
            Ok(b) => b,
            Err(poisoned) => poisoned.into_inner(),
        };
        let n = chunk.len();
        if n > buf.len() || n > u32::MAX as usize {
            return Either::B(Frames(chunk));
        }
        buf[..n].copy_from_slice(&chunk);
        sink.recycle(chunk);
        Either::A(n as u32)
    }
}

impl TypeName for Frames {
    fn type_name() -> &'static str {
        "Buffer"
    }
    fn value_type() -> napi::ValueType {
        napi::ValueType::Object
    }
}

impl ToNapiValue for Frames {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        let mut data = std::ptr::null_mut();
        let mut out = std::ptr::null_mut();
        napi::check_status!(napi::sys::napi_create_buffer_copy(
            env,
            val.0.len(),
            val.0.as_ptr().cast(),
            &mut data,
            &mut out
        ))?;
        Ok(out)
    }
}

/// Delivers `completions` to `on_frames` on the JS thread: the callback takes its chunk when it runs,
/// so frames that arrive meanwhile join the same delivery. It holds the queue weakly (the queue
/// holds the callback).
pub(super) fn deliver(
    completions: &Arc<CompletionQueue>,
    on_frames: OnFrames<'_>,
    frames: Buffer,
) -> napi::Result<(Arc<FramesFn>, Arc<FrameBuffer>)> {
    let queue = Arc::downgrade(completions);
    let frames = Arc::new(FrameBuffer(std::sync::Mutex::new(frames)));
    let into = frames.clone();
    let deliver: Arc<FramesFn> =
        Arc::new(on_frames.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build_callback(
            move |_| {
                Ok(FnArgs::from(match queue.upgrade() {
                    Some(queue) => {
                        let (chunk, more) = queue.take_delivery();
                        (into.place(&queue, chunk), more)
                    }
                    None => (Either::A(0), false),
                }))
            },
        )?);
    let hook = deliver.clone();
    completions.deliver_with(Some(Arc::new(move || {
        let _ = hook.call((), ThreadsafeFunctionCallMode::NonBlocking);
    })));
    Ok((deliver, frames))
}

/// Whether the frames callback keeps Node alive (while queries are pending, as a socket with work would).
pub(super) fn keep_alive(env: &Env, deliver: &FramesFn, busy: bool) -> napi::Result<()> {
    // SAFETY: called on the JS thread with its env; the function stays valid while `self` holds it.
    let status = unsafe {
        if busy {
            napi::sys::napi_ref_threadsafe_function(env.raw(), deliver.raw())
        } else {
            napi::sys::napi_unref_threadsafe_function(env.raw(), deliver.raw())
        }
    };
    napi::check_status!(status)
}
