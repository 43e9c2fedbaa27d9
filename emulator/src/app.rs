//! The shared application state: the model behind a lock, run-time knobs, the request log,
//! the random generator (deterministic given the seed) and persistence to the state file.

use crate::config::{ConfigError, EmulatorConfig, seed_model};
use crate::model::Model;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

/// Transport knobs, settable at run time through `POST /_emulator/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Knobs {
    /// Added latency, ms.
    pub latency_ms: u64,
    /// Random extra latency bound, ms.
    pub jitter_ms: u64,
    /// Import/refresh processing delay, ms.
    pub import_delay_ms: u64,
    /// Requests per second per principal (0 = unlimited).
    pub throttle_rps: f64,
    /// Fault probability 0..1.
    pub fault_rate: f64,
    /// Targeted faults: the next requests that match fail, whatever the dice say.
    pub fail_next: Vec<FailRule>,
    /// How long a Fabric long-running operation runs, ms.
    pub lro_delay_ms: u64,
    /// Fabric calls answer at once (201/200) instead of with an operation (202).
    pub lro_sync: bool,
    /// Items per page of the Fabric items list (0 = the default, 100).
    pub items_page_size: usize,
    /// How long a deleted Fabric item's display name stays unavailable, ms.
    pub name_hold_ms: u64,
}

/// Fail the next `count` requests whose method is `method` (any when empty) and whose whole
/// path matches the glob `path` (`*` is any run of characters; case-insensitive), with
/// `status`; tests use it to fail one chosen step.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct FailRule {
    /// HTTP method, e.g. `POST`; empty matches any.
    pub method: String,
    /// A path glob, e.g. `*/Default.UpdateParameters`.
    pub path: String,
    /// The status to answer: 500 and 503 are the service's error bodies, others a 400-style one.
    pub status: u16,
    /// How many matching requests fail (then the rule is gone).
    pub count: u32,
}

impl FailRule {
    /// Whether the request matches.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        (self.method.is_empty() || self.method.eq_ignore_ascii_case(method))
            && glob(&self.path.to_ascii_lowercase(), &path.to_ascii_lowercase())
    }
}

/// Whole-string match where `*` stands for any run of characters.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod glob_tests {
    use super::glob;

    #[test]
    fn stars_match_any_run_and_the_rest_must_match_whole() {
        assert!(glob("*/groups", "/v1.0/myorg/groups"));
        assert!(!glob("*/groups", "/v1.0/myorg/groups/1/imports"));
        assert!(glob(
            "*/gateways/*/datasources/*",
            "/v1.0/myorg/gateways/g/datasources/d"
        ));
        assert!(!glob(
            "*/gateways/*/datasources/*",
            "/v1.0/myorg/gateways/g"
        ));
        assert!(glob("/exact", "/exact") && !glob("/exact", "/exact/more"));
        assert!(glob("*", "") && glob("a*a", "aa") && !glob("a*a", "a"));
    }
}

/// One logged request (never a body).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Query string.
    pub query: String,
    /// Response status.
    pub status: u16,
    /// Duration, ms.
    pub duration_ms: u64,
    /// Client id of the caller, when the bearer token is known.
    pub principal: Option<String>,
    /// The `RequestId` header answered.
    pub request_id: String,
}

/// The mutable world: the model plus the random generator and throttle buckets.
pub struct World {
    /// The service state.
    pub model: Model,
    /// Seeded generator for ids, tokens, faults and jitter.
    pub rng: ChaCha8Rng,
    /// Token buckets per principal: (tokens, last refill ms).
    pub buckets: HashMap<String, (f64, u64)>,
    /// Run-time knobs.
    pub knobs: Knobs,
}

impl World {
    /// A new GUID from the seeded generator.
    pub fn new_id(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
    /// A random float in [0, 1).
    pub fn roll(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
}

/// Everything the handlers share.
pub struct App {
    world: Mutex<World>,
    seed: Model,
    seed_number: u64,
    initial_knobs: Knobs,
    state_file: Option<PathBuf>,
    last_saved: Mutex<String>,
    /// Where uploads and blocks are stored.
    pub data_dir: PathBuf,
    /// The request log.
    pub log: Mutex<Vec<RequestRecord>>,
    /// Base URL of this emulator.
    pub base_url: String,
}

impl App {
    /// Builds the state from the config: the state file when it exists, else the tenant seed.
    pub fn new(config: &EmulatorConfig, base_url: String) -> Result<Self, ConfigError> {
        let seed = seed_model(config.tenant.as_ref())?;
        // A restarted emulator must not hand out the ids it handed out before (they are in the
        // loaded state): the generator is seeded from `--seed` and the state it resumes from,
        // so runs stay deterministic for the same seed and state.
        let mut rng_seed = config.seed;
        let model = match &config.state_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                let digest = sha2::Sha256::digest(text.as_bytes());
                let mut first = [0u8; 8];
                first.copy_from_slice(&digest[..8]);
                rng_seed ^= u64::from_le_bytes(first);
                serde_json::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.display().to_string(),
                    what: "state file",
                    source,
                })?
            }
            _ => seed.clone(),
        };
        let knobs = Knobs {
            latency_ms: config.latency_ms,
            jitter_ms: config.jitter_ms,
            import_delay_ms: config.import_delay_ms,
            throttle_rps: config.throttle_rps,
            fault_rate: config.fault_rate,
            fail_next: Vec::new(),
            lro_delay_ms: config.lro_delay_ms,
            lro_sync: config.lro_sync,
            items_page_size: config.items_page_size,
            name_hold_ms: config.name_hold_ms,
        };
        let data_dir = std::env::temp_dir().join(format!(
            "pbideploy-emulator-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&data_dir).map_err(|source| ConfigError::Io {
            path: data_dir.display().to_string(),
            source,
        })?;
        let app = Self {
            world: Mutex::new(World {
                model,
                rng: ChaCha8Rng::seed_from_u64(rng_seed),
                buckets: HashMap::new(),
                knobs: knobs.clone(),
            }),
            seed,
            seed_number: config.seed,
            initial_knobs: knobs,
            state_file: config.state_file.clone(),
            last_saved: Mutex::new(String::new()),
            data_dir,
            log: Mutex::new(Vec::new()),
            base_url,
        };
        app.with(|_| ());
        Ok(app)
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the world: first finishes due asynchronous work (imports), then saves the
    /// state file if anything changed.
    pub fn with<R>(&self, f: impl FnOnce(&mut World) -> R) -> R {
        let mut world = self.lock();
        let now = crate::util::now_ms();
        crate::model::imports::finish_due(&mut world, now);
        crate::fabric::operations::finish_due(&mut world, now);
        let out = f(&mut world);
        if let Some(path) = &self.state_file
            && let Ok(json) = serde_json::to_string_pretty(&world.model)
        {
            let mut last = self.last_saved.lock().unwrap_or_else(|p| p.into_inner());
            if *last != json {
                if let Err(e) = save_atomic(path, &json) {
                    tracing::error!("cannot save the state file {}: {e}", path.display());
                } else {
                    *last = json;
                }
            }
        }
        out
    }

    /// The knobs in force.
    pub fn knobs(&self) -> Knobs {
        self.lock().knobs.clone()
    }

    /// The whole state as JSON.
    pub fn snapshot(&self) -> serde_json::Value {
        self.with(|w| serde_json::to_value(&w.model).unwrap_or(serde_json::Value::Null))
    }

    /// Back to the seed state (tenant file or default tenant), knobs and generator included.
    pub fn reset(&self) {
        self.with(|w| {
            w.model = self.seed.clone();
            w.rng = ChaCha8Rng::seed_from_u64(self.seed_number);
            w.buckets.clear();
            w.knobs = self.initial_knobs.clone();
        });
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Removes the upload directory.
    pub fn cleanup(&self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }

    /// Appends a request record.
    pub fn record(&self, rec: RequestRecord) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= 10_000 {
            log.remove(0);
        }
        log.push(rec);
    }
}

/// Writes `text` to `path` through a temp file, fsync and rename.
fn save_atomic(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
