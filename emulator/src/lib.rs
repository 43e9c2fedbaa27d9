//! `pbideploy-emulator`: a local model of the Power BI REST service, of the Fabric items API
//! for semantic models and reports (`/v1`, [`fabric`]) and of the Entra ID token endpoint, for tests, demos and dry runs. Built from Microsoft's Power BI REST API
//! documentation and swagger, not from pbideploy's code, so that a client mistake is not
//! mirrored here. In the code, each behaviour is marked `// documented: <section>` (a section
//! of the project's API notes, which summarise that documentation) or `// guess: <why>`.

pub mod app;
pub mod auth;
pub mod config;
pub mod crypto;
pub mod errors;
pub mod fabric;
pub mod model;
pub mod pbix;
pub mod routes;
pub mod transport;
pub mod util;

pub use app::{App, Knobs, RequestRecord, World};
pub use config::{ConfigError, EmulatorConfig};
pub use model::Model;

use std::sync::Arc;
use tokio::sync::oneshot;

/// A running emulator: its URL, its state, and a way to stop it.
pub struct RunningEmulator {
    url: String,
    app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    /// Base URL, e.g. `http://127.0.0.1:43125` (API under `/v1.0/myorg/`, the Fabric items API
    /// under `/v1/`, tokens under
    /// `/{tenant}/oauth2/v2.0/token`, control API under `/_emulator/`).
    pub fn url(&self) -> String {
        self.url.clone()
    }
    /// The shared state, for in-process inspection and seeding.
    pub fn app(&self) -> Arc<App> {
        self.app.clone()
    }
    /// The whole state as JSON (same as `GET /_emulator/state`).
    pub fn snapshot(&self) -> serde_json::Value {
        self.app.snapshot()
    }
    /// Runs `f` on the model under the lock (and saves the state file afterwards).
    pub fn with_model<R>(&self, f: impl FnOnce(&mut Model) -> R) -> R {
        self.app.with(|w| f(&mut w.model))
    }
    /// Stops serving and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.app.cleanup();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
            self.app.cleanup();
        }
    }
}

/// Starts an emulator on `config.listen` and serves in a background task.
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, ConfigError> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ConfigError::Io {
            path: config.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| ConfigError::Io {
        path: config.listen.to_string(),
        source,
    })?;
    let url = format!("http://{addr}");
    let app = Arc::new(App::new(&config, url.clone())?);
    let router = routes::router(app.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!("emulator server stopped: {e}");
        }
    });
    Ok(RunningEmulator {
        url,
        app,
        stop: Some(tx),
        task: Some(task),
    })
}
