//! `NativePool`: one pool per `sql` instance. `submitter()`'s function queues a batch of queries
//! (sync); completion frames are pushed to the `onFrames` callback, a chunk of many completions per
//! call.
use super::config::{resolve, view, ResolvedOptions};
use super::credentials::{JsProvider, ProviderFn};
use super::to_napi;
use crate::core::credentials::{static_credentials, CredentialCache, Source};
use crate::core::pool::{Pool, PoolOptions, Reservation};
use crate::core::wire::{parse_batch, FrameWriter};
use aws_credential_types::provider::SharedCredentialsProvider;
use napi::bindgen_prelude::{Buffer, Either, FnArgs, Function, Promise, PromiseRaw, ToNapiValue, TypeName, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Env;
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;

#[napi(object)]
pub struct PoolStatsView {
    pub connections: u32,
    pub open: u32,
    pub reserved: u32,
    pub inflight: u32,
    pub waiting: u32,
}

#[napi]
pub struct NativePool {
    /// Shared with nothing but this object; the env-teardown hook holds it weakly (see `new`).
    pool: Arc<Pool>,
    /// Delivers completion frames; referenced (keeps Node alive) only while queries are pending.
    deliver: Arc<FramesFn>,
    frames: Arc<FrameBuffer>,
}

type FramesFn = ThreadsafeFunction<(), (), FnArgs<(Either<u32, Frames>, bool)>, napi::Status, false, true>;

/// `onFrames(chunk, more)`: the chunk's length in the frame buffer, or a Buffer of its own.
type OnFrames<'a> = Function<'a, FnArgs<(Either<u32, Buffer>, bool)>, ()>;

/// A chunk of completion frames too large for the facade's frame buffer (see [`FrameBuffer`]),
/// copied into a new Buffer: cheaper than an external buffer with a finalizer, and nothing for V8's
/// GC to call back.
pub struct Frames(Vec<u8>);

/// The Buffer the facade made once for this pool's chunks of frames (at most
/// [`crate::core::pool::POLL_BYTES`] but for one large push): a chunk is copied into it and JS is
/// told its length, so that no Buffer is made per delivery (making one through N-API was about 7% of
/// the JS thread's time for queries awaited one after another). Written only on the JS thread (by
/// the frames callback and `takeFrames`), after JS has decoded the previous chunk: decoding is
/// synchronous and keeps nothing of the buffer.
struct FrameBuffer(std::sync::Mutex<Buffer>);

impl FrameBuffer {
    /// The chunk's length once copied in, or the chunk itself when it does not fit.
    fn place(&self, sink: &crate::core::completions::CompletionQueue, chunk: Vec<u8>) -> Either<u32, Frames> {
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

/// When the env this pool was made in is torn down (a `worker_threads` Worker terminated or ended,
/// or the process exiting) with the pool still open: nothing may call into that env again, and the
/// pool's connections must not outlive it on the shared runtime. The hook stops deliveries (the
/// frames callback is never called again; napi aborts the threadsafe functions themselves) and ends
/// the pool at once: queries still running fail into a sink nobody reads, connections are closed.
/// Cleanup hooks run before the env's objects are finalized, so a pool not yet collected is still
/// reachable through the weak handle; one collected earlier has nothing left to end.
fn end_with_env(env: &Env, pool: &Arc<Pool>) -> napi::Result<()> {
    let handle = napi::bindgen_prelude::within_runtime_if_available(|| tokio::runtime::Handle::try_current().ok());
    env.add_env_cleanup_hook(Arc::downgrade(pool), move |pool| {
        let Some(pool) = pool.upgrade() else { return };
        pool.completions().deliver_with(None);
        // A runtime already shut down (the last env going away) has dropped the connections' tasks
        // itself; spawning on it then only drops this future.
        if let Some(handle) = handle {
            let pool = Pool::clone(&pool);
            handle.spawn(async move { pool.end(Some(Duration::ZERO)).await });
        }
    })?;
    Ok(())
}

#[napi]
impl NativePool {
    /// `textOids`: column types to deliver as text (custom parsers). `credentialsProvider`: an async
    /// function returning AWS credentials (used instead of the default chain).
    /// `frames`: the Buffer chunks of completion frames are copied into; `onFrames` gets the length of
    /// the chunk in it, or a Buffer of its own for a chunk larger than `frames`.
    #[napi(
        constructor,
        ts_args_type = "url: string | undefined | null, options: Record<string, unknown>, textOids: number[], frames: Buffer, onFrames: (frames: number | Buffer, more: boolean) => void, credentialsProvider?: () => Promise<{ accessKeyId: string, secretAccessKey: string, sessionToken?: string, expiration?: number }>, onConnectionClose?: (connection: number) => void, variables?: Record<string, string>"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        env: Env,
        url: Option<String>,
        options: serde_json::Value,
        text_oids: Vec<u32>,
        frames: Buffer,
        on_frames: OnFrames<'_>,
        credentials_provider: Option<Function<(), Promise<serde_json::Value>>>,
        on_connection_close: Option<Function<u32, ()>>,
        variables: Option<std::collections::HashMap<String, String>>,
    ) -> napi::Result<Self> {
        // `variables`: process.env's values of the variables Rust reads (Bun keeps run-time ones there only).
        let cfg = resolve(url, options, crate::core::config::EnvOverlay::new(variables.unwrap_or_default()))?;
        let source = match (credentials_provider, &cfg.static_credentials) {
            (Some(f), _) => {
                let tsfn: ProviderFn =
                    f.build_threadsafe_function().callee_handled::<false>().weak::<true>().build()?;
                Source::Provider(SharedCredentialsProvider::new(JsProvider(Arc::new(tsfn))))
            }
            (None, Some(s)) => Source::Provider(SharedCredentialsProvider::new(static_credentials(s))),
            (None, None) => {
                Source::DefaultChain { profile: cfg.profile.clone(), region: cfg.region.clone(), env: cfg.env.clone() }
            }
        };
        // Notices travel with the completions (frame kind NOTICE, id 0).
        let sink_slot: Arc<std::sync::OnceLock<Arc<crate::core::completions::CompletionQueue>>> = Arc::new(std::sync::OnceLock::new());
        let slot = sink_slot.clone();
        let on_notice: crate::core::transport::NoticeHandler = Arc::new(move |n| {
            if let Some(sink) = slot.get() {
                sink.push(&FrameWriter::notice(&crate::core::error::Error::Db(Box::new(n)).to_json().to_string()));
            }
        });
        // Unexpected connection closes (WebSocket `onReservedConnectionClose`); the callback never keeps the process alive.
        let on_close = match on_connection_close {
            Some(f) => {
                let tsfn = f.build_threadsafe_function().callee_handled::<false>().weak::<true>().build()?;
                let hook: Arc<dyn Fn(u32) + Send + Sync> = Arc::new(move |id| {
                    let _ = tsfn.call(id, napi::threadsafe_function::ThreadsafeFunctionCallMode::NonBlocking);
                });
                Some(hook)
            }
            None => None,
        };
        let pool = napi::bindgen_prelude::within_runtime_if_available(|| {
            Pool::new(
                cfg,
                CredentialCache::new(source),
                PoolOptions { text_oids, on_notice: Some(on_notice), on_close },
            )
        })
        .map_err(to_napi)?;
        let _ = sink_slot.set(pool.completions());
        // The callback takes its chunk on the JS thread, when it runs: frames that arrive meanwhile
        // join the same delivery. It holds the sink weakly (the sink holds the callback).
        let sink = Arc::downgrade(&pool.completions());
        let frames = Arc::new(FrameBuffer(std::sync::Mutex::new(frames)));
        let into = frames.clone();
        let deliver: Arc<FramesFn> = Arc::new(
            on_frames.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build_callback(
                move |_| {
                    Ok(FnArgs::from(match sink.upgrade() {
                        Some(sink) => {
                            let (chunk, more) = sink.take_delivery();
                            (into.place(&sink, chunk), more)
                        }
                        None => (Either::A(0), false),
                    }))
                },
            )?,
        );
        let hook = deliver.clone();
        pool.completions().deliver_with(Some(Arc::new(move || {
            let _ = hook.call((), ThreadsafeFunctionCallMode::NonBlocking);
        })));
        let pool = Arc::new(pool);
        end_with_env(&env, &pool)?;
        Ok(NativePool { pool, deliver, frames })
    }

    /// The resolved options, without secrets.
    #[napi(getter)]
    pub fn options(&self) -> ResolvedOptions {
        view(self.pool.config())
    }

    /// `submit(batch)`: queues a batch of queries encoded by the facade (see `core::wire`). A plain
    /// function bound to this pool, as it is the facade's hot path: a `#[napi]` method
    /// call costs about 2.5 µs here (napi-rs unwraps `this`, checks its type tag, records the
    /// borrow in a global map and makes a reference to the Buffer argument); this function reads
    /// its argument's bytes and nothing else. A malformed batch throws (a bug in the facade).
    #[napi(ts_return_type = "(batch: Buffer) => void")]
    pub fn submitter(&self, env: Env) -> napi::Result<Unknown<'_>> {
        let data = Box::into_raw(Box::new(Pool::clone(&self.pool)));
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

    /// While queries are pending the frames callback keeps Node alive (as a socket with work would).
    #[napi]
    pub fn set_busy(&self, env: Env, busy: bool) -> napi::Result<()> {
        // SAFETY: called on the JS thread with its env; the function stays valid while `self` holds it.
        let status = unsafe {
            if busy {
                napi::sys::napi_ref_threadsafe_function(env.raw(), self.deliver.raw())
            } else {
                napi::sys::napi_unref_threadsafe_function(env.raw(), self.deliver.raw())
            }
        };
        napi::check_status!(status)
    }

    /// The next chunk of a delivery that reported more, as `onFrames` gets it (0 when none is left;
    /// then the next frames call `onFrames` again).
    #[napi(ts_return_type = "number | Buffer")]
    pub fn take_frames(&self) -> Either<u32, Frames> {
        let sink = self.pool.completions();
        let chunk = sink.take_delivery().0;
        self.frames.place(&sink, chunk)
    }

    /// Completion frames available now (no waiting).
    #[napi]
    pub fn poll_now(&self) -> Buffer {
        self.pool.completions().try_take().into()
    }

    /// Lets cursor `id` deliver its next batch of rows.
    #[napi]
    pub fn cursor_next(&self, id: u32) {
        self.pool.cursor_next(id)
    }

    /// An operation on running COPY `id`: 0 write `data` (acknowledged by a COPY_ACK frame), 1 end,
    /// 2 abort, 3 read the next batch of rows (a COPY_DATA frame). See `core::copy`.
    #[napi]
    pub fn copy(&self, id: u32, op: u32, data: Option<&[u8]>) -> napi::Result<()> {
        use crate::core::copy::Op;
        let op = match (op, data) {
            (0, Some(d)) => Op::Write(d.to_vec()),
            (1, _) => Op::End,
            (2, _) => Op::Abort,
            (3, _) => Op::Read,
            _ => return Err(napi::Error::new(napi::Status::InvalidArg, format!("copy: unknown operation {op}"))),
        };
        self.pool.copy_op(id, op);
        Ok(())
    }

    /// Ends cursor `id` early.
    #[napi]
    pub fn cursor_close(&self, id: u32) {
        self.pool.cursor_close(id)
    }

    #[napi]
    pub async fn reserve(&self) -> napi::Result<u32> {
        self.pool.reserve().await.map_err(to_napi)
    }

    /// Reserves a connection, taking its place in the pool's order at the call (see
    /// `Pool::reserve_start`): resolves to the connection's id.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn reserve_in_order<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, u32>> {
        let started = napi::bindgen_prelude::within_runtime_if_available(|| self.pool.reserve_start());
        match started.map_err(to_napi)? {
            Reservation::Granted(id) => env.spawn_future(async move { Ok(id) }),
            Reservation::Queued(rx) => env.spawn_future(async move { Pool::reserve_wait(rx).await.map_err(to_napi) }),
        }
    }

    /// `query.cancel()` of submitted query `id`: resolves once a CancelRequest was sent (or at once
    /// when the query was not sent yet; it then fails with 57014).
    #[napi]
    pub async fn cancel(&self, id: u32) -> napi::Result<()> {
        self.pool.cancel(id).await;
        Ok(())
    }

    #[napi]
    pub fn release(&self, id: u32) {
        self.pool.release(id)
    }

    /// Closes the open connections, keeping the pool usable (`sql.close({ timeout })`).
    #[napi]
    pub async fn close(&self, timeout_secs: Option<f64>) -> napi::Result<()> {
        let t = timeout_secs.filter(|t| t.is_finite() && *t >= 0.0).map(Duration::from_secs_f64);
        self.pool.close(t).await;
        Ok(())
    }

    /// Ends the pool: waits up to `timeoutSecs` (forever when absent) for running queries.
    #[napi]
    pub async fn end(&self, timeout_secs: Option<f64>) -> napi::Result<()> {
        let t = timeout_secs.filter(|t| t.is_finite() && *t >= 0.0).map(Duration::from_secs_f64);
        self.pool.end(t).await;
        // No more deliveries: the callback (and what it holds in JS) can be released.
        self.pool.completions().deliver_with(None);
        Ok(())
    }

    #[napi]
    pub fn stats(&self) -> PoolStatsView {
        let s = self.pool.stats();
        PoolStatsView {
            connections: s.connections as u32,
            open: s.open as u32,
            reserved: s.reserved as u32,
            inflight: s.inflight as u32,
            waiting: s.waiting as u32,
        }
    }
}
