//! The `mash-triage` binary itself: configuration errors, signals, the spec, key commands and
//! `audit verify`.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use sqlx::{Connection, PgConnection};

use crate::{
    fixtures::example_contact,
    helpers::{TestApp, admin_url, redis_url, spawn_app, with_database},
    resilience::set_accepting_connections,
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_mash-triage");

/// Starts `mash-triage serve` on a free port against `app`'s database (plus `env`) and waits
/// until it answers `path` with 200. Returns the child and the port.
pub(crate) async fn start_serve(
    app: &crate::helpers::TestApp,
    env: &[(&str, &str)],
    path: &str,
) -> (std::process::Child, u16) {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut command = Command::new(BIN);
    command
        .arg("serve")
        .env("DATABASE_URL", app.database_url())
        .env("REDIS_URL", redis_url())
        .env("MASH_LISTEN", format!("127.0.0.1:{port}"))
        // Tests run side by side: each process's metrics listener takes a free port.
        .env("MASH_METRICS__LISTEN", "127.0.0.1:0")
        .env("MASH_REDIS__KEY_PREFIX", format!("mash-test:{}:", app.db_name))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}{path}");
    for _ in 0..100 {
        if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
            return (child, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("serve did not answer {path}");
}

#[test]
fn serve_refuses_bad_configuration_naming_the_setting_and_hiding_secrets() {
    let out =
        Command::new(BIN).arg("serve").env("DATABASE_URL", "mysql://clerk:hunter2@db.example/mash").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("database.url"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "a secret was printed: {stderr}");

    let out = Command::new(BIN).arg("serve").env("MASH_LISTEN", "not-an-address").output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.listen"));
}

#[test]
fn openapi_prints_the_committed_spec() {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(printed["info"]["title"], "mash-triage");
    assert!(printed["paths"]["/v1/contacts"]["post"].is_object());
}

#[tokio::test]
async fn key_create_prints_a_working_key_once() {
    let app = spawn_app().await;
    let db = app.database_url();
    let out =
        Command::new(BIN).args(["key", "create", "--agency", "Test Police"]).env("DATABASE_URL", &db).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let body = crate::fixtures::example_contact(app.today(), "CLI-1");
    assert_eq!(app.caller(&key).create_contact(&body).await.status(), 201);

    let out = Command::new(BIN)
        .args(["key", "create", "--agency", "No Such Agency"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = Command::new(BIN)
        .args(["agency", "create", "--name", "Test Police", "--kind", "police"])
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(!out.status.success(), "agency names are unique");
}

#[tokio::test]
async fn sigterm_stops_serve_cleanly() {
    let app = spawn_app().await;
    let (mut child, _) = start_serve(&app, &[], "/health/ready").await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut exited = None;
    for _ in 0..100 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exited = exited.unwrap_or_else(|| {
        let _ = child.kill();
        panic!("serve did not exit within 10 s of SIGTERM");
    });
    assert!(exited.success(), "serve exits 0 after SIGTERM: {exited:?}");
}

#[tokio::test]
async fn traces_and_metrics_are_exported_over_otlp_when_an_endpoint_is_set() {
    use tokio::io::AsyncReadExt;

    let app = spawn_app().await;
    // A stand-in collector: it records what each exporter sends (gRPC starts with the HTTP/2
    // connection preface) and never answers, which is enough to see that both exported: the
    // trace exporter and the metrics push each open their own connection.
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let received = tokio::spawn(async move {
        let mut prefaces = Vec::new();
        let mut held = Vec::new();
        while prefaces.len() < 2 {
            let (mut socket, _) = collector.accept().await.unwrap();
            let mut buf = vec![0u8; 24];
            socket.read_exact(&mut buf).await.unwrap();
            prefaces.push(buf);
            held.push(socket);
        }
        prefaces
    });

    let (mut child, _) = start_serve(
        &app,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "200"),
        ],
        "/health/live",
    )
    .await;
    let prefaces = tokio::time::timeout(Duration::from_secs(10), received).await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let prefaces = prefaces.expect("both exporters connected within 10 s").unwrap();
    for preface in prefaces {
        assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "the exporters speak gRPC (HTTP/2)");
    }
}

fn policy_path() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/config/policy/default.toml").to_owned()
}

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn policy_check_passes_the_default_and_locates_every_error_in_a_broken_file() {
    let ok = Command::new(BIN).args(["policy", "check", &policy_path()]).output().unwrap();
    assert!(ok.status.success());
    assert!(String::from_utf8_lossy(&ok.stdout).contains("version default-2026.3+sha256:"));

    let default = std::fs::read_to_string(policy_path()).unwrap();
    let broken = default.replace(r#""female_genital_mutilation"]"#, r#""fgm"]"#).replace("raise = 1", "raise = 9");
    let path = write_temp("bad.toml", &broken);
    let out = Command::new(BIN).args(["policy", "check"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 error(s)"), "{stderr}");
    let fgm_line = broken.lines().position(|l| l.contains(r#""fgm"]"#)).unwrap() + 1;
    assert!(stderr.contains(&format!("{fgm_line}:")) && stderr.contains("rules[4].when.concerns_any[0]"), "{stderr}");
    assert!(stderr.contains("modifiers[0].raise") && stderr.contains("modifiers[1].raise"), "{stderr}");

    // The server refuses to start on it.
    let serve = Command::new(BIN).arg("serve").env("MASH_POLICY__FILE", &path).output().unwrap();
    assert!(!serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stderr).contains("policy.file"));
    std::fs::remove_file(path).unwrap();
}

#[test]
fn policy_explain_prints_the_decision_and_every_reason_without_a_database() {
    let contact = serde_json::json!({
        "agency_reference": "X-1",
        "referrer": {"name": "R", "role": "Health visitor"},
        "children": [{"given_name": "B", "date_of_birth": "2026-09-01"}],
        "concerns": ["neglect"],
        "narrative": "At the home visit I noticed a bruise on the baby's forehead.",
        "consent": {"status": "obtained"}
    });
    let path = write_temp("contact.json", &contact.to_string());
    let out = Command::new(BIN)
        .args(["policy", "explain", &policy_path()])
        .arg(&path)
        .args(["--agency-kind", "health", "--received-at", "2026-11-22T10:00:00Z"])
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("urgency: red"), "{stdout}");
    assert!(stdout.contains("queue:   immediate"), "{stdout}");
    assert!(stdout.contains("child 0: injury_non_mobile -> red"), "{stdout}");
    assert!(stdout.contains("route:immediate"), "{stdout}");

    let repeat = Command::new(BIN)
        .args(["policy", "explain", &policy_path()])
        .arg(&path)
        .args(["--received-at", "2027-06-01T10:00:00Z", "--prior-contacts", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&repeat.stdout);
    assert!(stdout.contains("repeat_contacts"), "{stdout}");
    std::fs::remove_file(path).unwrap();
}

/// `mash-triage audit verify` as the app's runtime role: the exit code and stdout.
fn audit_verify(app: &TestApp) -> (i32, String) {
    let out = Command::new(BIN).args(["audit", "verify"]).env("DATABASE_URL", app.database_url()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code().unwrap_or(-1), format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

/// Submits `n` contacts at once, so their transactions interleave in the audit chains.
async fn submit_concurrently(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let police = app.police();
            let body = example_contact(app.today(), &format!("{prefix}-{i}"));
            tokio::spawn(async move { police.submit(&body).await })
        })
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids
}

#[tokio::test]
async fn audit_verify_counts_a_sound_trail_and_names_the_row_the_owner_altered_behind_the_services_back() {
    let app = spawn_app().await;
    let contact_ids = submit_concurrently(&app, "CHAIN", 24).await;
    let rows = app.count("select count(*) from audit_events").await;
    let (code, out) = audit_verify(&app);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("audit trail sound: {rows} events in ")), "{out}");

    // The owner lifts the refusal, rewrites one row's urgency, and puts the refusal back.
    let (id, chain, seq): (i64, String, i64) = sqlx::query_as(
        "select id, to_char(chain_day, 'YYYY-MM-DD') || '/' || chain_lane, chain_seq from audit_events
          where action = 'contact.submitted' order by chain_day, chain_lane, chain_seq limit 1",
    )
    .fetch_one(app.owner_db())
    .await
    .unwrap();
    let mut tx = app.owner_db().begin().await.unwrap();
    sqlx::raw_sql("alter table audit_events disable trigger audit_events_no_update_delete")
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("update audit_events set detail = detail || '{\"urgency\": \"green\"}' where id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::raw_sql("alter table audit_events enable trigger audit_events_no_update_delete")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (code, out) = audit_verify(&app);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains(&format!("BROKEN at chain {chain}, seq {seq}, event {id}: its hash does not match its content")),
        "{out}"
    );
    for contact_id in &contact_ids {
        assert!(!out.contains(contact_id.as_str()), "the report names positions and event ids only: {out}");
    }
}

/// One audit row as the runtime role writes it, for the chain tests below.
const AUDIT_ROW: &str = "insert into audit_events (occurred_at, actor_kind, action, detail)
     select now(), 'system', 'test.chained', jsonb_build_object('i', i) from generate_series(1, $1) i";

#[tokio::test]
async fn a_transaction_reads_its_chains_head_once_and_links_its_later_rows_to_the_row_before() {
    let app = spawn_app().await;
    // Statistics from a nearly empty table: the head lookup must still be the index's.
    sqlx::raw_sql("analyze audit_events").execute(app.owner_db()).await.unwrap();
    // The scans this connection has made and not yet reported (they are reported between
    // transactions, never within one).
    let scans = "select coalesce(seq_scan, 0), coalesce(idx_scan, 0) from pg_stat_xact_user_tables
                  where relname = 'audit_events'";
    let mut tx = app.db().begin().await.unwrap();
    let before: (i64, i64) = sqlx::query_as(scans).fetch_one(&mut *tx).await.unwrap();
    sqlx::query(AUDIT_ROW).bind(50).execute(&mut *tx).await.unwrap();
    sqlx::query(AUDIT_ROW).bind(5).execute(&mut *tx).await.unwrap();
    let after: (i64, i64) = sqlx::query_as(scans).fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        (after.0 - before.0, after.1 - before.1),
        (0, 1),
        "one index lookup of the head for 55 rows in two statements"
    );
    let (code, out) = audit_verify(&app);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test]
async fn audit_rows_chain_soundly_across_savepoints_rolled_back_and_a_head_left_in_the_session() {
    let app = spawn_app().await;
    let mut conn = PgConnection::connect(&app.database_url()).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    // A value for the session, as if left by something else: today's day and this transaction's
    // lane, but another transaction's id, so it must not be taken for this one's head.
    sqlx::raw_sql(
        "select set_config('mash.audit_chain_head',
            to_char((now() at time zone 'UTC')::date, 'YYYY-MM-DD') || '/' || pg_current_xact_id()::text::bigint % 8
              || '/' || pg_current_xact_id()::text::bigint + 1 || ' 41 ' || repeat('00', 32), false)",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(AUDIT_ROW).bind(3).execute(&mut *tx).await.unwrap();
    // Rows written after a savepoint and rolled back take the head they set with them.
    sqlx::raw_sql("savepoint a").execute(&mut *tx).await.unwrap();
    sqlx::query(AUDIT_ROW).bind(2).execute(&mut *tx).await.unwrap();
    sqlx::raw_sql("rollback to savepoint a").execute(&mut *tx).await.unwrap();
    sqlx::query(AUDIT_ROW).bind(1).execute(&mut *tx).await.unwrap();
    sqlx::raw_sql("savepoint b").execute(&mut *tx).await.unwrap();
    sqlx::query(AUDIT_ROW).bind(2).execute(&mut *tx).await.unwrap();
    sqlx::raw_sql("release savepoint b").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    // A savepoint rolled back before the transaction's first row: the next row looks up again.
    let mut tx = conn.begin().await.unwrap();
    sqlx::raw_sql("savepoint c").execute(&mut *tx).await.unwrap();
    sqlx::query(AUDIT_ROW).bind(2).execute(&mut *tx).await.unwrap();
    sqlx::raw_sql("rollback to savepoint c").execute(&mut *tx).await.unwrap();
    sqlx::query(AUDIT_ROW).bind(2).execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    conn.close().await.unwrap();
    // Contacts submitted at once interleave with one another in the lanes.
    submit_concurrently(&app, "SAVE", 8).await;

    assert_eq!(app.count("select count(*) from audit_events where action = 'test.chained'").await, 8);
    let rows = app.count("select count(*) from audit_events").await;
    let (code, out) = audit_verify(&app);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("audit trail sound: {rows} events in ")), "{out}");
}

#[tokio::test]
async fn audit_verify_finds_a_row_that_a_superuser_removed_in_replica_mode() {
    let app = spawn_app().await;
    submit_concurrently(&app, "GONE", 16).await;
    // A superuser skips every trigger in replica mode.
    let mut superuser = PgConnection::connect(&with_database(&admin_url(), &app.db_name)).await.unwrap();
    let (id, chain): (i64, String) = sqlx::query_as(
        "select a.id, to_char(a.chain_day, 'YYYY-MM-DD') || '/' || a.chain_lane from audit_events a
          where a.chain_seq = 2 and exists (select from audit_events b where (b.chain_day, b.chain_lane, b.chain_seq)
                                                                           = (a.chain_day, a.chain_lane, 3))
          order by a.chain_day, a.chain_lane limit 1",
    )
    .fetch_one(&mut superuser)
    .await
    .expect("a chain of three rows");
    sqlx::raw_sql("set session_replication_role = replica").execute(&mut superuser).await.unwrap();
    sqlx::query("delete from audit_events where id = $1").bind(id).execute(&mut superuser).await.unwrap();
    superuser.close().await.unwrap();

    let (code, out) = audit_verify(&app);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains(&format!("chain {chain}, seq 3, event ")), "{out}");
    assert!(out.contains("seq 2 onwards is missing before it"), "{out}");
}

#[tokio::test]
async fn an_agencys_contact_source_is_set_at_creation_and_changed_later_for_annex_a() {
    let app = spawn_app().await;
    let db = app.database_url();
    let run = |args: &[&str]| Command::new(BIN).args(args).env("DATABASE_URL", &db).output().unwrap();
    let out = run(&["agency", "create", "--name", "Riverside Surgery", "--kind", "health", "--contact-source", "3a"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        !run(&["agency", "create", "--name", "Bad", "--kind", "health", "--contact-source", "3G"]).status.success()
    );
    let out = run(&["key", "create", "--agency", "Riverside Surgery"]);
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    app.caller(&key).submit(crate::fixtures::example_contact(app.today(), "GP-1")).await;
    let sources = async || {
        let today = app.today().to_string();
        let query = [("from", today.as_str()), ("to", today.as_str())];
        let resp =
            app.manager().request(reqwest::Method::GET, "/v1/exports/annex-a/contacts").query(&query).send().await;
        let text = resp.text();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        reader.records().map(|r| r.unwrap()[6].to_owned()).collect::<Vec<_>>()
    };
    assert!(sources().await.iter().all(|s| s == "g) 3A: Health services"), "{:?}", sources().await);
    let out = run(&["agency", "set-contact-source", "Riverside Surgery", "3E"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(sources().await.iter().all(|s| s == "k) 3E: Health services"), "{:?}", sources().await);
    assert!(!run(&["agency", "set-contact-source", "No Such Agency", "6"]).status.success());
    let trail = app.auditor().audit(&[]).await.ok().to_string();
    assert!(trail.contains("agency.changed") && trail.contains(r#""contact_source":"3E""#), "{trail}");
}

#[tokio::test]
async fn serve_on_a_database_without_its_migrations_is_not_ready_and_fires_nothing_until_migrated() {
    serve_waits_for_its_migrations(false).await;
}

/// The same when the database does not answer as the process starts, and comes back still
/// without the migrations: not answering is no reason to start the background work.
#[tokio::test]
async fn serve_started_while_its_database_is_down_still_waits_for_its_migrations() {
    serve_waits_for_its_migrations(true).await;
}

async fn serve_waits_for_its_migrations(database_down_at_start: bool) {
    let app = spawn_app().await;
    // A red contact: its first ladder step is due at receipt.
    app.police().submit(example_contact(app.today(), "SCHEMA-GATE")).await;
    let fired = "select count(*) from ladder_steps where status = 'fired'";
    assert_eq!(app.count(fired).await, 0);
    // The last migration not recorded as applied (the row kept outside `public`).
    sqlx::raw_sql(
        "create schema scratch; create table scratch.held_back as select * from _sqlx_migrations where version = (select max(version) from _sqlx_migrations);
         delete from _sqlx_migrations where version = (select version from scratch.held_back)",
    )
    .execute(app.owner_db())
    .await
    .unwrap();
    if database_down_at_start {
        set_accepting_connections(&app.db_name, false).await;
    }
    let (child, port) = start_serve(&app, &[], "/health/live").await;
    // Stopped however the test ends, so a failed assertion leaves no server running.
    let _serve = KillOnDrop(child);
    let ready = format!("http://127.0.0.1:{port}/health/ready");
    let readiness = async || -> (u16, serde_json::Value) {
        let answer = reqwest::get(&ready).await.unwrap();
        (answer.status().as_u16(), answer.json().await.unwrap())
    };
    if database_down_at_start {
        // The database refuses at once (55000): every check the gate makes in these seconds fails.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (status, body) = readiness().await;
        assert_eq!((status, &body["database"]), (503, &serde_json::json!(false)), "{body}");
        tokio::time::sleep(Duration::from_secs(3)).await;
        set_accepting_connections(&app.db_name, true).await;
    }
    // Long enough for a due step to fire had the background work started.
    tokio::time::sleep(Duration::from_millis(if database_down_at_start { 3000 } else { 1500 })).await;
    let (status, body) = readiness().await;
    assert_eq!(
        (status, &body["database"], &body["schema"]),
        (503, &serde_json::json!(true), &serde_json::json!(false))
    );
    assert_eq!(app.count(fired).await, 0, "the ladder waits for the migrations");

    sqlx::raw_sql("insert into _sqlx_migrations select * from scratch.held_back")
        .execute(app.owner_db())
        .await
        .unwrap();
    let mut done = false;
    for _ in 0..100 {
        if app.count(fired).await > 0 && reqwest::get(&ready).await.unwrap().status() == 200 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "once migrated, the replica is ready and the due step fires");
}

/// A child process killed and reaped when dropped.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
