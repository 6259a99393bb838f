//! The `mash-triage` binary: thin subcommands over the library.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use chrono::{DateTime, Utc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use mash_triage::{
    app::{self, ProcessRole},
    audit::{self, Verdict},
    auth::{AgencyKind, Role, service},
    clock::SystemClock,
    config::Settings,
    db, demo,
    intake::{Today, validate::parse_new_contact},
    policy::Policy,
    state::AppState,
    triage,
};

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
    /// Run the background work only: the escalation ladder, its re-seed, claim expiry and webhook delivery.
    Worker,
    /// Apply pending database migrations as the owner role, then grant the runtime role what
    /// serving needs (see the README, "Database roles").
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
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Check a policy file, or explain a decision under it (no database needed).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Report every error in a policy file with its location; exit non-zero if there are any.
    Check {
        /// The policy file (TOML).
        file: PathBuf,
    },
    /// Print the decision and every reason for a contact (a POST /v1/contacts body).
    Explain {
        /// The policy file (TOML).
        file: PathBuf,
        /// The contact as JSON.
        contact: PathBuf,
        /// The kind of agency that sends it.
        #[arg(long, value_parser = parse_kind, default_value = "other")]
        agency_kind: AgencyKind,
        /// When it is received (RFC 3339); default now.
        #[arg(long)]
        received_at: Option<DateTime<Utc>>,
        /// Pretend this many earlier contacts about each child, one a day before receipt.
        #[arg(long, default_value_t = 0)]
        prior_contacts: u32,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Recompute every hash chain of the audit trail. Exit 0 when sound (prints the count), 2 at
    /// the first broken link (prints its chain, seq and event id), 1 when it cannot check.
    Verify,
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

/// `policy check` and `policy explain`: no settings, no database.
fn policy_command(command: &PolicyCommand) -> ExitCode {
    let (PolicyCommand::Check { file } | PolicyCommand::Explain { file, .. }) = command;
    let policy = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| Policy::parse(&t).map_err(|e| e.to_string()))
    {
        Ok(policy) => policy,
        Err(err) => {
            eprintln!("{}: {err}", file.display());
            return ExitCode::FAILURE;
        }
    };
    match command {
        PolicyCommand::Check { .. } => {
            println!("{}: ok, version {}", file.display(), policy.version);
            ExitCode::SUCCESS
        }
        PolicyCommand::Explain { contact, agency_kind, received_at, prior_contacts, .. } => {
            match explain(&policy, contact, *agency_kind, received_at.unwrap_or_else(Utc::now), *prior_contacts) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(err) => {
                    eprintln!("{}: {err}", contact.display());
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Reads and validates a contact file (as the API would) and explains its decision.
fn explain(
    policy: &Policy,
    contact: &std::path::Path,
    kind: AgencyKind,
    received_at: DateTime<Utc>,
    priors: u32,
) -> Result<String, String> {
    use std::fmt::Write as _;
    let text = std::fs::read_to_string(contact).map_err(|e| e.to_string())?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let today = Today { date: received_at.with_timezone(&chrono_tz::Europe::London).date_naive(), now: received_at };
    let contact = parse_new_contact(&value, today).map_err(|errors| {
        errors.iter().fold(String::new(), |mut out, e| {
            let _ = write!(out, "\n  {}: {}", if e.pointer.is_empty() { "/" } else { &e.pointer }, e.detail);
            out
        })
    })?;
    Ok(triage::explain::render(&triage::explain::explain(policy, &contact, kind, received_at, priors)))
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
    if let Command::Policy { command } = &cli.command {
        return policy_command(command);
    }
    match run(cli).await {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mash-triage: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code of `audit verify` when a link is broken, apart from 1 (could not check).
const BROKEN_CHAIN: u8 = 2;

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let settings = Settings::load()?;
    // A state over a connected pool, for the commands that need the database now.
    let connect = async |settings: Settings| {
        let state = AppState::new(settings, Arc::new(SystemClock))?;
        db::ping(&state.db).await.context("cannot connect to the database (database.url)")?;
        anyhow::Ok(state)
    };
    match cli.command {
        Command::Serve => app::run(ProcessRole::Serve, settings).await?,
        Command::Worker => app::run(ProcessRole::Worker, settings).await?,
        Command::Policy { .. } => unreachable!("handled before settings are loaded"),
        Command::Openapi => {
            // The spec needs no stores: a state over lazy pools is enough.
            print!("{}", mash_triage::api::openapi_json(&AppState::new(settings, Arc::new(SystemClock))?));
        }
        Command::Migrate => {
            // Migrating needs no policy, so a state is not built for it.
            let (setting, runtime) = match db::runtime_role(&settings.database).context("database.migrate_url")? {
                Some(runtime) => ("database.migrate_url", Some(runtime)),
                None => ("database.url", None),
            };
            let pool = db::connect_owner(&settings.database)
                .await
                .with_context(|| format!("cannot connect to the database ({setting})"))?;
            db::migrate(&pool, runtime.as_deref()).await.context("migration failed")?;
            match runtime {
                Some(runtime) => println!("migrations applied; runtime role {runtime} granted"),
                None => println!("migrations applied (one role: database.migrate_url is unset or names the same user)"),
            }
        }
        Command::Audit { command: AuditCommand::Verify } => {
            match audit::verify(&*connect(settings).await?).await.context("cannot read the audit trail")? {
                Verdict::Sound { events, chains } => {
                    println!("audit trail sound: {events} events in {chains} chains");
                }
                Verdict::Broken { checked, first } => {
                    println!("audit trail BROKEN at {first} ({checked} events checked before it)");
                    return Ok(ExitCode::from(BROKEN_CHAIN));
                }
            }
        }
        Command::Agency { command: AgencyCommand::Create { name, kind } } => {
            let id = service::create_agency(&*connect(settings).await?, &name, kind).await?;
            println!("{id}");
        }
        Command::Key { command: KeyCommand::Create { agency, staff, role } } => {
            let state = connect(settings).await?;
            let key = match (agency, staff, role) {
                (Some(agency), _, _) => {
                    let agency_id = service::find_agency(&state, &agency).await?;
                    service::create_agency_key(&state, agency_id).await?
                }
                (None, Some(name), Some(role)) => service::create_staff_with_key(&state, &name, role).await?.1,
                _ => anyhow::bail!("give --agency, or --staff with --role"),
            };
            println!("{}", key.secret);
        }
        Command::Demo => {
            for key in demo::seed(&*connect(settings).await?).await? {
                println!("{}  {}", key.label, key.secret);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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

    #[test]
    fn audit_verify_is_a_subcommand() {
        assert!(Cli::try_parse_from(["mash-triage", "audit", "verify"]).is_ok());
        assert!(Cli::try_parse_from(["mash-triage", "audit"]).is_err());
    }
}
