//! The `mash-triage` binary: thin subcommands over the library. Operator commands act as the
//! system actor in the audit trail.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use anyhow::Context;
use clap::{Parser, Subcommand};
use mash_triage::{
    app::{self, ProcessRole},
    audit::{self, Actor, Verdict},
    auth::{AgencyKind, KeyOwner, Role, service},
    clock::SystemClock,
    config::Settings,
    db, demo,
    id::{ApiKeyId, StaffId},
    intake::{Today, validate::parse_new_contact},
    policy::Policy,
    state::AppState,
    triage,
    vocabulary::ContactSource,
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
    /// Issue, list, revoke and rotate API keys (a key is printed once and stored only as a hash).
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Manage hub staff.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
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
        /// Its contact source, as the census code (1A-1D, 2A, 2B, 3A-3F, 4, 5A-5D, 6-10) Ofsted's
        /// Annex A reports its contacts under; by default the one its kind usually means.
        #[arg(long, value_parser = parse_source)]
        contact_source: Option<ContactSource>,
    },
    /// Change an agency's contact source (the census code its contacts are reported under).
    SetContactSource {
        /// The agency's id or exact name.
        agency: String,
        /// The census code: 1A-1D, 2A, 2B, 3A-3F, 4, 5A-5D, 6-10.
        #[arg(value_parser = parse_source)]
        contact_source: ContactSource,
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
        #[command(flatten)]
        expiry: Expiry,
    },
    /// List every key: id, owner, created, expires, status. Never the secret or its hash.
    List,
    /// Revoke a key: every replica refuses it (401) within a second.
    Revoke {
        /// The key's id (from `key list`).
        key_id: uuid::Uuid,
    },
    /// Issue a new key for the same owner (printed once) and end the old one after a grace period.
    Rotate {
        /// The old key's id (from `key list`).
        key_id: uuid::Uuid,
        /// Hours the old key keeps working, so its holder can switch without downtime (0: revoke it now).
        #[arg(long, default_value_t = 24)]
        grace_hours: u32,
        #[command(flatten)]
        expiry: Expiry,
    },
}

/// When a new key stops working; without either option, when it is revoked.
#[derive(Debug, clap::Args)]
struct Expiry {
    /// The key stops working this many days after it is issued.
    #[arg(long, conflicts_with = "expires_at", value_parser = clap::value_parser!(u32).range(1..=3650))]
    expires_in_days: Option<u32>,
    /// The key stops working at this instant (RFC 3339), or at the start of this day in
    /// Europe/London (YYYY-MM-DD).
    #[arg(long, value_parser = parse_instant)]
    expires_at: Option<DateTime<Utc>>,
}

impl Expiry {
    fn at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.expires_at.or_else(|| self.expires_in_days.map(|days| now + TimeDelta::days(days.into())))
    }
}

#[derive(Debug, Subcommand)]
enum StaffCommand {
    /// Deactivate someone who has left: all their keys are revoked and the contacts they hold go
    /// back to their queues.
    Deactivate {
        /// The staff member's id (from `key list`).
        staff_id: uuid::Uuid,
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

fn parse_source(s: &str) -> Result<ContactSource, String> {
    s.to_ascii_uppercase()
        .parse()
        .map_err(|_| format!("must be one of: {}", <ContactSource as strum::VariantNames>::VARIANTS.join(", ")))
}

fn parse_kind(s: &str) -> Result<AgencyKind, String> {
    s.parse().map_err(|_| format!("must be one of: {}", <AgencyKind as strum::VariantNames>::VARIANTS.join(", ")))
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(instant) = DateTime::parse_from_rfc3339(s) {
        return Ok(instant.to_utc());
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "must be RFC 3339 or YYYY-MM-DD".to_owned())?;
    // The hub's day starts at midnight London time; `earliest` also covers a midnight that a
    // clock change would skip.
    date.and_hms_opt(0, 0, 0)
        .and_then(|midnight| midnight.and_local_timezone(chrono_tz::Europe::London).earliest())
        .map(|instant| instant.to_utc())
        .ok_or_else(|| "no such instant in Europe/London".to_owned())
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
        Command::Agency { command: AgencyCommand::Create { name, kind, contact_source } } => {
            let source = contact_source.unwrap_or_else(|| ContactSource::default_for(kind));
            let id = service::create_agency_with_source(&*connect(settings).await?, &name, kind, source).await?;
            println!("{id}");
        }
        Command::Agency { command: AgencyCommand::SetContactSource { agency, contact_source } } => {
            let state = connect(settings).await?;
            let id = service::find_agency(&state, &agency).await?;
            service::set_contact_source(&state, id, contact_source).await?;
            println!("{id} contact source {contact_source}");
        }
        Command::Key { command } => key_command(&*connect(settings).await?, command).await?,
        Command::Staff { command: StaffCommand::Deactivate { staff_id } } => {
            match service::deactivate_staff(&*connect(settings).await?, &Actor::system(), StaffId(staff_id)).await? {
                Some(done) => println!(
                    "staff {staff_id} deactivated: {} key(s) revoked, {} claimed contact(s) released to their queues",
                    done.revoked_keys.len(),
                    done.ended_claims.len()
                ),
                None => println!("staff {staff_id} was already deactivated"),
            }
        }
        Command::Demo => {
            for key in demo::seed(&*connect(settings).await?).await? {
                println!("{}  {}", key.label, key.secret);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `key create | list | revoke | rotate`: the operator acts as the system actor.
async fn key_command(state: &AppState, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { agency, staff, role, expiry } => {
            let expires_at = expiry.at(state.clock.now());
            let key = match (agency, staff, role) {
                (Some(agency), _, _) => {
                    let agency_id = service::find_agency(state, &agency).await?;
                    service::create_agency_key_expiring(state, agency_id, expires_at).await?
                }
                (None, Some(name), Some(role)) => {
                    let (staff_id, key) =
                        service::create_staff_with_key_expiring(state, &name, role, expires_at).await?;
                    eprintln!("staff {staff_id}");
                    key
                }
                _ => anyhow::bail!("give --agency, or --staff with --role"),
            };
            // The id goes to stderr, so scripts reading the secret from stdout are unaffected.
            eprintln!("key {} expires {}", key.id, expires_at.map_or_else(|| "never".to_owned(), |at| at.to_rfc3339()));
            println!("{}", key.secret);
            Ok(())
        }
        KeyCommand::List => {
            let keys = service::list_keys(state).await?;
            println!("id\towner\tcreated\texpires\tstatus");
            let stamp = |at: Option<DateTime<Utc>>| at.map_or_else(|| "-".to_owned(), |at| at.to_rfc3339());
            for key in keys {
                let owner = match key.owner {
                    KeyOwner::Agency { id, name } => format!("agency {id} {name:?}"),
                    KeyOwner::Staff { id, role } => format!("staff {id} {role}"),
                };
                let status = match key.revoked_at {
                    Some(at) => format!("{} {}", key.status, at.to_rfc3339()),
                    None => key.status.to_string(),
                };
                println!("{}\t{owner}\t{}\t{}\t{status}", key.id, key.created_at.to_rfc3339(), stamp(key.expires_at));
            }
            Ok(())
        }
        KeyCommand::Revoke { key_id } => {
            let revoked = service::revoke_key(state, &Actor::system(), ApiKeyId(key_id)).await?;
            println!("key {key_id} {}", if revoked { "revoked" } else { "was already revoked" });
            Ok(())
        }
        KeyCommand::Rotate { key_id, grace_hours, expiry } => {
            let grace = TimeDelta::hours(grace_hours.into());
            let rotated =
                service::rotate_key(state, &Actor::system(), ApiKeyId(key_id), grace, expiry.at(state.clock.now()))
                    .await?;
            eprintln!(
                "key {} replaces {key_id}, which stops working at {}",
                rotated.new.id,
                rotated.old_stops_at.to_rfc3339()
            );
            println!("{}", rotated.new.secret);
            Ok(())
        }
    }
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

    #[test]
    fn an_expiry_is_an_rfc3339_instant_or_the_start_of_a_london_day() {
        assert_eq!(parse_instant("2027-01-31T12:00:00+01:00").unwrap().to_rfc3339(), "2027-01-31T11:00:00+00:00");
        // Midnight in London is 23:00 UTC the day before in summer, and midnight UTC in winter.
        assert_eq!(parse_instant("2027-07-01").unwrap().to_rfc3339(), "2027-06-30T23:00:00+00:00");
        assert_eq!(parse_instant("2027-01-31").unwrap().to_rfc3339(), "2027-01-31T00:00:00+00:00");
        assert!(parse_instant("31/01/2027").is_err());
        let rotate = Cli::try_parse_from(["mash-triage", "key", "rotate", "0190d1f4-0000-7000-8000-000000000000"]);
        assert!(matches!(
            rotate.unwrap().command,
            Command::Key { command: KeyCommand::Rotate { grace_hours: 24, .. } }
        ));
        let both = ["key", "create", "--agency", "A", "--expires-in-days", "1", "--expires-at", "2027-01-01"];
        assert!(Cli::try_parse_from(std::iter::once("mash-triage").chain(both)).is_err());
    }
}
