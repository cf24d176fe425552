//! `NativePool`: one pool per `sql` instance. `submitter()`'s function queues a batch of queries
//! (sync, see `submit`); completion frames are pushed to the `onFrames` callback, a chunk of many
//! completions per call (see `delivery`).
use super::config::{resolve, view, ResolvedOptions};
use super::credentials::{JsProvider, ProviderFn};
use super::delivery::{self, FrameBuffer, Frames, FramesFn, OnFrames};
use super::submit;
use super::to_napi;
use crate::core::completions::CompletionQueue;
use crate::core::config::{Config, EnvOverlay};
use crate::core::credentials::{static_credentials, CredentialCache, Source};
use crate::core::error::Error;
use crate::core::pool::{Pool, PoolOptions, PoolStats, Reservation};
use crate::core::protocol::CopyOp;
use crate::core::transport::NoticeHandler;
use crate::core::wire::FrameWriter;
use aws_credential_types::provider::SharedCredentialsProvider;
use napi::bindgen_prelude::{
    within_runtime_if_available, Buffer, Either, Float64ArraySlice, Function, Promise, PromiseRaw, Unknown,
};
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi::Env;
use napi_derive::napi;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// `sql.stats()`'s native part (see `core::pool::PoolStats` for each field). Counters are numbers
/// (exact up to 2^53).
#[napi(object)]
pub struct PoolStatsView {
    pub connections: u32,
    pub open: u32,
    pub opening: u32,
    pub idle: u32,
    pub busy: u32,
    pub reserved: u32,
    pub inflight: u32,
    pub waiting: u32,
    pub queries: f64,
    pub connect_attempts: f64,
    pub connect_failures: f64,
    pub tokens_signed: f64,
    pub credential_resolutions: f64,
    /// Queries that never ran on the connection they were given to and ran on another.
    pub retried: f64,
    pub bytes_in: f64,
    pub bytes_out: f64,
    /// Failed queries by SQLSTATE class (`'40'`) or error code (`'CONNECTION_CLOSED'`).
    pub errors_by_class: BTreeMap<String, f64>,
}

#[napi]
pub struct NativePool {
    /// Shared with nothing but this object; the env-teardown hook holds it weakly (see `new`).
    pool: Arc<Pool>,
    /// Delivers completion frames; referenced (keeps Node alive) only while queries are pending.
    deliver: Arc<FramesFn>,
    frames: Arc<FrameBuffer>,
}

/// When the env this pool was made in is torn down (a `worker_threads` Worker terminated or ended,
/// or the process exiting) with the pool still open: nothing may call into that env again, and the
/// pool's connections must not outlive it on the shared runtime. The hook stops deliveries (the
/// frames callback is never called again; napi aborts the threadsafe functions themselves) and ends
/// the pool at once: queries still running fail into a sink nobody reads, connections are closed.
/// Cleanup hooks run before the env's objects are finalized, so a pool not yet collected is still
/// reachable through the weak handle; one collected earlier has nothing left to end.
fn end_with_env(env: &Env, pool: &Arc<Pool>) -> napi::Result<()> {
    let handle = within_runtime_if_available(|| tokio::runtime::Handle::try_current().ok());
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
        let cfg = resolve(url, options, EnvOverlay::new(variables.unwrap_or_default()))?;
        let creds = CredentialCache::new(credential_source(&cfg, credentials_provider)?);
        let queue = Arc::new(OnceLock::new());
        let opts = PoolOptions {
            text_oids,
            on_notice: Some(notice_handler(queue.clone())),
            on_close: close_hook(on_connection_close)?,
        };
        let pool = within_runtime_if_available(|| Pool::new(cfg, creds, opts)).map_err(to_napi)?;
        let _ = queue.set(pool.completions());
        let (deliver, frames) = delivery::deliver(&pool.completions(), on_frames, frames)?;
        let pool = Arc::new(pool);
        end_with_env(&env, &pool)?;
        Ok(NativePool { pool, deliver, frames })
    }

    /// The resolved options, without secrets.
    #[napi(getter)]
    pub fn options(&self) -> ResolvedOptions {
        view(self.pool.config())
    }

    /// `submit(batch)`: queues a batch of queries encoded by the facade (see `core::protocol`); the
    /// function is bound to this pool (see `binding::submit`).
    #[napi(ts_return_type = "(batch: Buffer) => void")]
    pub fn submitter<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>> {
        submit::submit_function(env, &self.pool)
    }

    /// While queries are pending the frames callback keeps Node alive (as a socket with work would).
    #[napi]
    pub fn set_busy(&self, env: Env, busy: bool) -> napi::Result<()> {
        delivery::keep_alive(&env, &self.deliver, busy)
    }

    /// The next chunk of a delivery that reported more, as `onFrames` gets it (0 when none is left;
    /// then the next frames call `onFrames` again).
    #[napi(ts_return_type = "number | Buffer")]
    pub fn take_frames(&self) -> Either<u32, Frames> {
        let queue = self.pool.completions();
        let chunk = queue.take_delivery().0;
        self.frames.place(&queue, chunk)
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
        self.pool.copy_op(id, copy_op(op, data)?);
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
        let started = within_runtime_if_available(|| self.pool.reserve_start());
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
        self.pool.close(seconds(timeout_secs)).await;
        Ok(())
    }

    /// Ends the pool: waits up to `timeoutSecs` (forever when absent) for running queries.
    #[napi]
    pub async fn end(&self, timeout_secs: Option<f64>) -> napi::Result<()> {
        self.pool.end(seconds(timeout_secs)).await;
        // No more deliveries: the callback (and what it holds in JS) can be released.
        self.pool.completions().deliver_with(None);
        Ok(())
    }

    #[napi]
    pub fn stats(&self) -> PoolStatsView {
        PoolStatsView::from(self.pool.stats())
    }

    /// `sql.stats()`' fast path (js/stats.js): the numbers of `stats()` written into `out` in the
    /// order of [`STATS_FIELDS`], then the count of failed queries (so the facade asks for
    /// `errorsByClass` only when it moved). One N-API call and no object: an object made here costs
    /// an N-API property (a string to intern) per field.
    #[napi]
    pub fn stats_into(&self, mut out: Float64ArraySlice) {
        let s = self.pool.stats();
        let failed: u64 = s.errors_by_class.values().sum();
        let values = [
            s.connections as f64,
            s.open as f64,
            s.opening as f64,
            s.idle as f64,
            s.busy as f64,
            s.reserved as f64,
            s.inflight as f64,
            s.waiting as f64,
            s.queries as f64,
            s.connect_attempts as f64,
            s.connect_failures as f64,
            s.tokens_signed as f64,
            s.credential_resolutions as f64,
            s.bytes_in as f64,
            s.bytes_out as f64,
            s.retried as f64,
            failed as f64,
        ];
        // SAFETY: the typed array's memory, valid for this synchronous call on the JS thread, which
        // is the only thread that touches it (nothing in JS runs meanwhile).
        let out = unsafe { out.as_mut() };
        for (o, v) in out.iter_mut().zip(values) {
            *o = v;
        }
    }

    /// The names of `statsInto`'s numbers, in order (the last is the count of failed queries).
    #[napi]
    pub fn stats_fields() -> Vec<&'static str> {
        STATS_FIELDS.to_vec()
    }
}

/// The order of `stats_into`'s numbers: `PoolStatsView`'s fields in camelCase, then `failedQueries`.
const STATS_FIELDS: [&str; 17] = [
    "connections",
    "open",
    "opening",
    "idle",
    "busy",
    "reserved",
    "inflight",
    "waiting",
    "queries",
    "connectAttempts",
    "connectFailures",
    "tokensSigned",
    "credentialResolutions",
    "bytesIn",
    "bytesOut",
    "retried",
    "failedQueries",
];

impl From<PoolStats> for PoolStatsView {
    fn from(s: PoolStats) -> Self {
        PoolStatsView {
            connections: s.connections as u32,
            open: s.open as u32,
            opening: s.opening as u32,
            idle: s.idle as u32,
            busy: s.busy as u32,
            reserved: s.reserved as u32,
            inflight: s.inflight as u32,
            waiting: s.waiting as u32,
            queries: s.queries as f64,
            connect_attempts: s.connect_attempts as f64,
            connect_failures: s.connect_failures as f64,
            tokens_signed: s.tokens_signed as f64,
            credential_resolutions: s.credential_resolutions as f64,
            retried: s.retried as f64,
            bytes_in: s.bytes_in as f64,
            bytes_out: s.bytes_out as f64,
            errors_by_class: s.errors_by_class.into_iter().map(|(k, n)| (k, n as f64)).collect(),
        }
    }
}

/// A timeout in seconds from JS (absent, negative or not finite: none).
fn seconds(secs: Option<f64>) -> Option<Duration> {
    secs.filter(|t| t.is_finite() && *t >= 0.0).map(Duration::from_secs_f64)
}

/// A COPY operation from its number (see `core::protocol::CopyOp`); `Write` carries `data`.
fn copy_op(op: u32, data: Option<&[u8]>) -> napi::Result<crate::core::copy::Op> {
    use crate::core::copy::Op;
    Ok(match (CopyOp::from_value(op), data) {
        (Some(CopyOp::Write), Some(d)) => Op::Write(d.to_vec()),
        (Some(CopyOp::End), _) => Op::End,
        (Some(CopyOp::Abort), _) => Op::Abort,
        (Some(CopyOp::Read), _) => Op::Read,
        _ => return Err(napi::Error::new(napi::Status::InvalidArg, format!("copy: unknown operation {op}"))),
    })
}

/// Where the pool's credentials come from: the JS `customCredentialsProvider` function, static
/// credentials from the options, or the default chain.
fn credential_source(cfg: &Config, provider: Option<Function<(), Promise<serde_json::Value>>>) -> napi::Result<Source> {
    Ok(match (provider, &cfg.static_credentials) {
        (Some(f), _) => {
            let tsfn: ProviderFn = f.build_threadsafe_function().callee_handled::<false>().weak::<true>().build()?;
            Source::Provider(SharedCredentialsProvider::new(JsProvider(Arc::new(tsfn))))
        }
        (None, Some(s)) => Source::Provider(SharedCredentialsProvider::new(static_credentials(s))),
        (None, None) => {
            Source::DefaultChain { profile: cfg.profile.clone(), region: cfg.region.clone(), env: cfg.env.clone() }
        }
    })
}

/// Notices travel with the completions (frame kind NOTICE, id 0); the queue is known once the pool is made.
fn notice_handler(queue: Arc<OnceLock<Arc<CompletionQueue>>>) -> NoticeHandler {
    Arc::new(move |n| {
        if let Some(queue) = queue.get() {
            queue.push(&FrameWriter::notice(&Error::Db(Box::new(n)).to_json().to_string()));
        }
    })
}

/// Unexpected connection closes (WebSocket `onReservedConnectionClose`); the callback never keeps the
/// process alive.
type CloseHook = Arc<dyn Fn(u32) + Send + Sync>;
fn close_hook(f: Option<Function<u32, ()>>) -> napi::Result<Option<CloseHook>> {
    let Some(f) = f else { return Ok(None) };
    let tsfn = f.build_threadsafe_function().callee_handled::<false>().weak::<true>().build()?;
    Ok(Some(Arc::new(move |id| {
        let _ = tsfn.call(id, ThreadsafeFunctionCallMode::NonBlocking);
    })))
}
