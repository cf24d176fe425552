//! `NativePool`: one pool per `sql` instance. `submit` queues a batch of queries (sync); completion
//! frames are pushed to the `onFrames` callback, a chunk of many completions per call.
use super::config::{resolve, view, ResolvedOptions};
use super::credentials::{JsProvider, ProviderFn};
use super::to_napi;
use crate::core::credentials::{static_credentials, CredentialCache, Source};
use crate::core::pool::{Pool, PoolOptions};
use crate::core::wire::{parse_batch, FrameWriter};
use aws_credential_types::provider::SharedCredentialsProvider;
use napi::bindgen_prelude::{Buffer, FnArgs, Function, Promise, ToNapiValue, TypeName};
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
    pool: Pool,
    /// Delivers completion frames; referenced (keeps Node alive) only while queries are pending.
    deliver: Arc<FramesFn>,
}

type FramesFn = ThreadsafeFunction<(), (), FnArgs<(Frames, bool)>, napi::Status, false, true>;

/// A chunk of completion frames for JS (at most 128 KB but for one large push), copied into a new
/// Buffer: cheaper than an external buffer with a finalizer, and nothing for V8's GC to call back.
pub struct Frames(Vec<u8>);

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
        napi::check_status!(napi::sys::napi_create_buffer_copy(env, val.0.len(), val.0.as_ptr().cast(), &mut data, &mut out))?;
        Ok(out)
    }
}

#[napi]
impl NativePool {
    /// `textOids`: column types to deliver as text (custom parsers). `credentialsProvider`: an async
    /// function returning AWS credentials (used instead of the default chain).
    #[napi(constructor, ts_args_type = "url: string | undefined | null, options: Record<string, unknown>, textOids: number[], onFrames: (frames: Buffer, more: boolean) => void, credentialsProvider?: () => Promise<{ accessKeyId: string, secretAccessKey: string, sessionToken?: string, expiration?: number }>, onConnectionClose?: (connection: number) => void")]
    pub fn new(url: Option<String>, options: serde_json::Value, text_oids: Vec<u32>, on_frames: Function<FnArgs<(Buffer, bool)>, ()>, credentials_provider: Option<Function<(), Promise<serde_json::Value>>>, on_connection_close: Option<Function<u32, ()>>) -> napi::Result<Self> {
        let cfg = resolve(url, options)?;
        let source = match (credentials_provider, &cfg.static_credentials) {
            (Some(f), _) => {
                let tsfn: ProviderFn = f.build_threadsafe_function().callee_handled::<false>().weak::<true>().build()?;
                Source::Provider(SharedCredentialsProvider::new(JsProvider(Arc::new(tsfn))))
            }
            (None, Some(s)) => Source::Provider(SharedCredentialsProvider::new(static_credentials(s))),
            (None, None) => Source::DefaultChain { profile: cfg.profile.clone(), region: cfg.region.clone() },
        };
        // Notices travel with the completions (frame kind NOTICE, id 0).
        let sink_slot: Arc<std::sync::OnceLock<Arc<crate::core::pool::Sink>>> = Arc::new(std::sync::OnceLock::new());
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
        let pool = napi::bindgen_prelude::within_runtime_if_available(|| Pool::new(cfg, CredentialCache::new(source), PoolOptions { text_oids, on_notice: Some(on_notice), on_close })).map_err(to_napi)?;
        let _ = sink_slot.set(pool.sink());
        // The callback takes its chunk on the JS thread, when it runs: frames that arrive meanwhile
        // join the same delivery. It holds the sink weakly (the sink holds the callback).
        let sink = Arc::downgrade(&pool.sink());
        let deliver: Arc<FramesFn> = Arc::new(on_frames.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build_callback(move |_| {
            let (chunk, more) = sink.upgrade().map(|s| s.take_delivery()).unwrap_or_default();
            Ok(FnArgs::from((Frames(chunk), more)))
        })?);
        let hook = deliver.clone();
        pool.sink().deliver_with(Some(Arc::new(move || {
            let _ = hook.call((), ThreadsafeFunctionCallMode::NonBlocking);
        })));
        Ok(NativePool { pool, deliver })
    }

    /// The resolved options, without secrets.
    #[napi(getter)]
    pub fn options(&self) -> ResolvedOptions {
        view(self.pool.config())
    }

    /// Queues a batch of queries encoded by the facade (see `core::wire`).
    #[napi]
    pub fn submit(&self, batch: Buffer) -> napi::Result<()> {
        let jobs = parse_batch(&batch).map_err(to_napi)?;
        let pool = self.pool.clone();
        napi::bindgen_prelude::within_runtime_if_available(move || pool.submit(jobs));
        Ok(())
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

    /// The next chunk of a delivery that reported more (empty when none is left; then the next
    /// frames call `onFrames` again).
    #[napi(ts_return_type = "Buffer")]
    pub fn take_frames(&self) -> Frames {
        Frames(self.pool.sink().take_delivery().0)
    }

    /// Completion frames available now (no waiting).
    #[napi]
    pub fn poll_now(&self) -> Buffer {
        self.pool.sink().try_take().into()
    }

    /// Lets cursor `id` deliver its next batch of rows.
    #[napi]
    pub fn cursor_next(&self, id: u32) {
        self.pool.cursor_next(id)
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
        self.pool.sink().deliver_with(None);
        Ok(())
    }

    #[napi]
    pub fn stats(&self) -> PoolStatsView {
        let s = self.pool.stats();
        PoolStatsView { connections: s.connections as u32, open: s.open as u32, reserved: s.reserved as u32, inflight: s.inflight as u32, waiting: s.waiting as u32 }
    }
}
