//! The `mash-triage` binary: thin subcommands over the library.

use std::{process::ExitCode, sync::Arc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use mash_triage::{
    app::{self, AppState},
    auth::{AgencyKind, Role, service},
    clock::{SharedClock, SystemClock},
    config::Settings,
    db, demo, telemetry,
};
use tokio_util::sync::CancellationToken;

/// The front door of a Multi-Agency Safeguarding Hub.
#[derive(Debug, Parser)]
#[command(name = "mash-triage", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API (settings from config and the environment; see the README).
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Print the OpenAPI spec (JSON).
    Openapi,
    /// Manage partner agencies.
    Agency {
        #[command(subcommand)]
        command: AgencyCommand,
    },
    /// Issue API keys (each key is printed once and stored only as a hash).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Create the demo agencies and one staff key per role, printing fresh keys.
    Demo,
}

#[derive(Debug, Subcommand)]
enum AgencyCommand {
    /// Create an agency and print its id.
    Create {
        /// The agency's name (unique).
        #[arg(long)]
        name: String,
        /// The kind of agency.
        #[arg(long, value_parser = parse_kind)]
        kind: AgencyKind,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a key for an agency client or a staff member.
    Create {
        /// The agency's id or exact name.
        #[arg(long, conflicts_with_all = ["staff", "role"], required_unless_present = "staff")]
        agency: Option<String>,
        /// The staff member's name (a new staff member is created).
        #[arg(long, requires = "role")]
        staff: Option<String>,
        /// The staff member's role.
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
}

fn parse_kind(s: &str) -> Result<AgencyKind, String> {
    s.parse().map_err(|_| format!("must be one of: {}", <AgencyKind as strum::VariantNames>::VARIANTS.join(", ")))
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|_| format!("must be one of: {}", <Role as strum::VariantNames>::VARIANTS.join(", ")))
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mash-triage: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::load()?;
    let clock: SharedClock = Arc::new(SystemClock);
    match cli.command {
        Command::Serve => serve(settings, clock).await,
        Command::Openapi => {
            // The spec needs no stores: a state over lazy pools is enough.
            print!("{}", mash_triage::api::openapi_json(&AppState::new(settings, clock)?));
            Ok(())
        }
        Command::Migrate => {
            let pool =
                db::connect(&settings.database).await.context("cannot connect to the database (database.url)")?;
            db::MIGRATOR.run(&pool).await.context("migration failed")?;
            println!("migrations applied");
            Ok(())
        }
        Command::Agency { command: AgencyCommand::Create { name, kind } } => {
            let pool =
                db::connect(&settings.database).await.context("cannot connect to the database (database.url)")?;
            let id = service::create_agency(&pool, clock.as_ref(), &name, kind).await?;
            println!("{id}");
            Ok(())
        }
        Command::Key { command: KeyCommand::Create { agency, staff, role } } => {
            let pool =
                db::connect(&settings.database).await.context("cannot connect to the database (database.url)")?;
            let key = match (agency, staff, role) {
                (Some(agency), _, _) => {
                    let agency_id = service::find_agency(&pool, &agency).await?;
                    service::create_agency_key(&pool, clock.as_ref(), agency_id).await?
                }
                (None, Some(name), Some(role)) => {
                    service::create_staff_with_key(&pool, clock.as_ref(), &name, role).await?.1
                }
                _ => anyhow::bail!("give --agency, or --staff with --role"),
            };
            println!("{}", key.secret);
            Ok(())
        }
        Command::Demo => {
            let pool =
                db::connect(&settings.database).await.context("cannot connect to the database (database.url)")?;
            for key in demo::seed(&pool, clock.as_ref()).await? {
                println!("{}  {}", key.label, key.secret);
            }
            Ok(())
        }
    }
}

async fn serve(settings: Settings, clock: SharedClock) -> anyhow::Result<()> {
    let telemetry = telemetry::init(&settings.telemetry)?;
    let listen = settings.http.listen;
    let state = AppState::new(settings, clock)?;
    let shutdown = CancellationToken::new();
    app::cancel_on_signal(shutdown.clone())?;
    let (addr, server) =
        app::bind(state, listen, shutdown).await.with_context(|| format!("cannot listen on {listen} (http.listen)"))?;
    tracing::info!(%addr, "listening");
    let result = server.await;
    tracing::info!("stopped");
    telemetry.shutdown();
    Ok(result?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn key_create_takes_an_agency_or_a_staff_member_with_a_role() {
        assert!(Cli::try_parse_from(["mash-triage", "key", "create", "--agency", "Demo Police Force"]).is_ok());
        assert!(
            Cli::try_parse_from(["mash-triage", "key", "create", "--staff", "Sam Patel", "--role", "manager"]).is_ok()
        );
        assert!(Cli::try_parse_from(["mash-triage", "key", "create", "--staff", "Sam Patel"]).is_err());
        assert!(Cli::try_parse_from(["mash-triage", "key", "create"]).is_err());
        assert!(Cli::try_parse_from(["mash-triage", "key", "create", "--staff", "S", "--role", "boss"]).is_err());
    }
}
