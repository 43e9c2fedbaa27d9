//! Command-line definitions (clap derive) and nothing else: no I/O, no HTTP.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Declarative deployment reconciler for Power BI.
#[derive(Debug, Parser)]
#[command(name = "pbideploy", version = env!("PBIDEPLOY_VERSION_LINE"), about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// When to colour output (honours NO_COLOR when `auto`).
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true)]
    pub color: ColorWhen,
    /// More log output on stderr (repeat for more: -v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Less output: only errors.
    #[arg(short, long, action = clap::ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a manifest: syntax, schema and references, without contacting the service.
    ///
    /// Example: pbideploy validate -f manifests/quickstart.yaml --env prod
    Validate(ValidateArgs),
    /// Show what apply would change, without changing anything.
    ///
    /// Example: pbideploy plan -f pbideploy.yaml --env test --out plan.json --detailed-exitcode
    Plan(PlanArgs),
    /// Make the service match the manifest (or apply a saved plan exactly).
    ///
    /// Example: pbideploy apply -f pbideploy.yaml --env prod --auto-approve
    Apply(ApplyArgs),
    /// Render a saved plan file.
    ///
    /// Example: pbideploy show plan.json --format markdown
    Show(ShowArgs),
    /// Show what the service will see in a PBIX: kind, storage mode, tables, parameters,
    /// data sources, Desktop version; for a thin report its dataset.
    ///
    /// Example: pbideploy inspect "pbix/Sales.pbix" --format json
    Inspect(InspectArgs),
    /// Inspect or edit the ledger (state file).
    ///
    /// Example: pbideploy state list -f pbideploy.yaml --env prod
    #[command(subcommand)]
    State(StateCommand),
    /// Write a manifest describing existing workspaces (reads the service with GET only).
    ///
    /// Example: pbideploy init --workspace "Sales [Prod]" --pbix-dir pbix -o pbideploy.yaml
    Init(InitArgs),
    /// Print a shell completion script.
    ///
    /// Example: pbideploy completions bash > /etc/bash_completion.d/pbideploy
    Completions(CompletionsArgs),
}

/// Which manifest, environment and variables to use.
#[derive(Debug, Clone, Args)]
pub struct ManifestArgs {
    /// The manifest file.
    #[arg(short = 'f', long = "file", default_value = "pbideploy.yaml")]
    pub file: PathBuf,
    /// The environment from the manifest's `environments` to use.
    #[arg(long, env = "PBIDEPLOY_ENV")]
    pub env: Option<String>,
    /// Set a manifest variable (repeatable): --var name=value.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// Output format of the diagnostics.
    #[arg(long, value_enum, default_value_t = DiagnosticFormat::Text)]
    pub format: DiagnosticFormat,
}

/// Where the Power BI service is, how to authenticate to it, and the ledger (`plan`, `apply`).
#[derive(Debug, Clone, Args)]
pub struct ServiceArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The ledger: a file path (`file:PATH` also), or Azure Blob Storage as
    /// `azblob://ACCOUNT/CONTAINER[/PATH]` or an account URL; by default the manifest's
    /// `state:` block, else a file beside the manifest, one per environment.
    #[arg(long, value_name = "URL")]
    pub state: Option<String>,
    /// The Azure Blob state's connection string or SAS token, as a secret reference
    /// (`env:NAME` or `file:PATH`); without one, Entra ID as for Power BI.
    #[arg(long, value_name = "REF")]
    pub state_credential: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMethod {
    ClientSecret,
    ClientCertificate,
    WorkloadIdentity,
    GithubOidc,
    ManagedIdentity,
    AzureCli,
    AccessToken,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Save the plan to FILE for `apply FILE` and `show FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan only this address and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Only show drift between the ledger and the service.
    #[arg(long)]
    pub refresh_only: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A saved plan to apply exactly (from `plan --out`).
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub manifest: ManifestArgs,
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// At most this many steps work at once (each sends its requests in order; a step waiting
    /// for an import or refresh to finish does not count). The client keeps at most twice this
    /// many requests in flight while applying (steps plus status polls; the plan's reads
    /// before use 16) and slows down when the service throttles.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallelism: u16,
    /// Print one JSON event per line instead of human output.
    #[arg(long)]
    pub json: bool,
    /// Wait for refreshes triggered by the apply and report their outcome.
    #[arg(long)]
    pub wait_refresh: bool,
    /// Apply only this address and what it depends on (repeatable).
    #[arg(long = "target", value_name = "ADDRESS")]
    pub targets: Vec<String>,
    /// Wait up to this many seconds for another run's ledger lock (0: fail at once).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The saved plan file.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InspectFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The .pbix (or .pbit) file.
    pub file: PathBuf,
    /// Output format (JSON follows schemas/inspect.schema.json).
    #[arg(long, value_enum, default_value_t = InspectFormat::Text)]
    pub format: InspectFormat,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the addresses the ledger tracks.
    ///
    /// Example: pbideploy state list -f pbideploy.yaml --env prod
    List(StateArgs),
    /// Show one ledger entry.
    ///
    /// Example: pbideploy state show -f pbideploy.yaml 'workspace["Sales"].dataset["Sales Model"]'
    // `--version` here picks a ledger version (as the issue names it), not the program's.
    #[command(disable_version_flag = true)]
    Show {
        #[command(flatten)]
        state: StateArgs,
        /// For example: workspace["Sales"].dataset["Sales Model"]
        address: String,
        /// Show it in an earlier version of the ledger (an id from `state history`).
        #[arg(long, value_name = "ID")]
        version: Option<String>,
    },
    /// List the earlier versions of the ledger its backend keeps (Azure Blob snapshots).
    ///
    /// Example: pbideploy state history -f pbideploy.yaml --env prod
    History(StateArgs),
    /// Release the ledger lock of a run that is gone (`--force`: break a blob lease).
    ///
    /// Example: pbideploy state unlock -f pbideploy.yaml 6f1c0c4e-0000-4000-8000-000000000000 --force
    Unlock {
        #[command(flatten)]
        state: StateArgs,
        /// The lock id the locked run's error message names.
        lock_id: String,
        /// Break the lease even though its holder may still run.
        #[arg(long)]
        force: bool,
    },
    /// Copy the ledger to another backend, under both locks; refuses to overwrite a
    /// different ledger there.
    ///
    /// Example: pbideploy state migrate -f pbideploy.yaml --to azblob://acct/pbideploy-state
    Migrate {
        #[command(flatten)]
        state: StateArgs,
        /// Where to: a file path, or azblob://ACCOUNT/CONTAINER[/PATH] or an account URL.
        #[arg(long, value_name = "URL")]
        to: String,
        /// The destination's connection string or SAS token (`env:NAME` or `file:PATH`).
        #[arg(long, value_name = "REF")]
        to_credential: Option<String>,
    },
    /// Forget one ledger entry (the service is not touched).
    ///
    /// Example: pbideploy state rm -f pbideploy.yaml 'workspace["Sales"].report["Old Report"]'
    Rm {
        #[command(flatten)]
        state: StateArgs,
        /// For example: workspace["Sales"].dataset["Sales Model"]
        address: String,
    },
    /// Record existing service items as matching the manifest's PBIX files, without importing.
    ///
    /// Example: pbideploy state adopt -f pbideploy.yaml 'workspace["Sales"].dataset["Sales Model"]'
    Adopt {
        #[command(flatten)]
        state: StateArgs,
        #[command(flatten)]
        service: ConnectArgs,
        /// Addresses to adopt; all datasets and reports of the manifest when none.
        addresses: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(flatten)]
    pub manifest: ManifestArgs,
    /// The ledger: a file, or Azure Blob Storage (`azblob://ACCOUNT/CONTAINER[/PATH]` or an
    /// account URL); by default the manifest's `state:` block, else a file beside the manifest.
    #[arg(long = "state-file", visible_alias = "state", value_name = "URL")]
    pub state: Option<String>,
    /// The Azure Blob state's connection string or SAS token (`env:NAME` or `file:PATH`).
    #[arg(long, value_name = "REF")]
    pub state_credential: Option<String>,
    /// Wait up to this many seconds for another run's ledger lock (0: fail at once).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub lock_timeout: u64,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// A workspace to describe (repeatable; names compare case-insensitively).
    #[arg(long = "workspace", value_name = "NAME", required = true)]
    pub workspaces: Vec<String>,
    /// Where to write the manifest (`-` for stdout).
    #[arg(short = 'o', long = "output", default_value = "pbideploy.yaml")]
    pub output: PathBuf,
    /// A folder (inside the manifest's folder) whose PBIX files are matched to items by name;
    /// unmatched items get placeholder paths flagged `# TODO`.
    #[arg(long, value_name = "DIR")]
    pub pbix_dir: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub service: ConnectArgs,
}

/// Where the service is and how to authenticate. `init` and `state adopt` take only this
/// (`state adopt` names its ledger with `--state-file`, like the other `state` commands).
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// `local` runs the built-in emulator in-process, with state under `.pbideploy/local/`
    /// beside the manifest; otherwise the manifest's `service` settings are used.
    #[arg(long, value_name = "local")]
    pub service: Option<String>,
    /// Override the Power BI REST API base URL (for example an emulator's URL).
    #[arg(long, env = "PBIDEPLOY_SERVICE_URL")]
    pub service_url: Option<String>,
    /// Authentication method; by default the first whose settings are present.
    #[arg(long, value_enum, env = "PBIDEPLOY_AUTH")]
    pub auth: Option<AuthMethod>,
}
