//! The key lifecycle from the command line: listing, revoking, rotating, expiring keys and
//! deactivating staff, each refused within a second on every replica (each process keeps key
//! lookups until a change is announced) and each audited.

use std::process::{Command, Output};

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::{
    cli::{BIN, start_serve},
    client::Caller,
    fixtures::green_contact,
    helpers::{TestApp, admin_url, spawn_app, with_database},
};

/// Runs `mash-triage ARGS` against `app`'s database.
fn cli(app: &TestApp, args: &[&str]) -> Output {
    Command::new(BIN).args(args).env("DATABASE_URL", with_database(&admin_url(), &app.db_name)).output().unwrap()
}

/// Runs a command that must succeed; returns its stdout and stderr.
fn cli_ok(app: &TestApp, args: &[&str]) -> (String, String) {
    let out = cli(app, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// The status a caller gets from a route every key may use: 404 (let in, nothing there) or 401.
async fn door(caller: &Caller) -> u16 {
    caller.get_contact(&uuid::Uuid::nil().to_string()).await.status()
}

/// The status from [`door`] once a change committed elsewhere has had a second to arrive:
/// 401 as soon as it is refused, the last status otherwise.
async fn door_after_change(caller: &Caller) -> u16 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let status = door(caller).await;
        if status == 401 || std::time::Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The id of the key whose `key list` line contains `owner`, the only such line.
fn key_id_of(list: &str, owner: &str) -> String {
    let lines: Vec<&str> = list.lines().filter(|l| l.contains(owner)).collect();
    assert_eq!(lines.len(), 1, "one key of {owner} in:\n{list}");
    lines[0].split('\t').next().unwrap().to_owned()
}

async fn audit_details(app: &TestApp, action: &str) -> Vec<Value> {
    sqlx::query_scalar("select detail from audit_events where action = $1 order by id")
        .bind(action)
        .fetch_all(app.db())
        .await
        .unwrap()
}

#[tokio::test]
async fn key_list_names_every_key_and_owner_but_never_a_secret_or_a_staff_name() {
    let app = spawn_app().await;
    let (list, _) = cli_ok(&app, &["key", "list"]);
    let mut lines = list.lines();
    assert_eq!(lines.next(), Some("id\towner\tcreated\texpires\tstatus"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 7, "three agencies and four staff:\n{list}");
    assert!(rows.iter().all(|r| r.split('\t').count() == 5 && r.ends_with("\tlive")), "{list}");
    assert!(list.contains("\"Test Police\""), "agencies are named: {list}");
    let practitioner: uuid::Uuid = app.value("select id from staff where role = $1", "practitioner").await;
    assert!(list.contains(&format!("staff {practitioner} practitioner")), "{list}");
    assert!(!list.contains("Test practitioner"), "staff are named by id and role only: {list}");
    let callers = [app.police(), app.school(), app.health(), app.practitioner(), app.admin()];
    for caller in &callers {
        let secret = caller.key();
        assert!(!list.contains(secret) && !list.contains(&secret[5..21]), "a secret was printed");
    }
    let hashes: Vec<Vec<u8>> = app.values("select key_hash from api_keys").await;
    for hash in hashes {
        assert!(!list.contains(&hex::encode(&hash)[..16]), "a hash was printed");
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused_within_a_second_on_every_replica_and_the_revocation_is_audited() {
    let app = spawn_app().await;
    // A second replica: the real binary, with its own process and connection pool.
    let (mut replica, port) = start_serve(&app, &[], "/health/ready").await;
    let police = app.police();
    let on_replica =
        Caller::new(reqwest::Client::new(), format!("http://127.0.0.1:{port}"), Some(police.key().into()), None);
    // Let in twice on each: the second time from each process's memory of the key.
    for _ in 0..2 {
        assert_eq!((door(&police).await, door(&on_replica).await), (404, 404));
    }

    let (list, _) = cli_ok(&app, &["key", "list"]);
    let key_id = key_id_of(&list, "\"Test Police\"");
    // The revocation commits in a third process; each replica hears of it from PostgreSQL.
    let (out, _) = cli_ok(&app, &["key", "revoke", &key_id]);
    assert_eq!(out.trim(), format!("key {key_id} revoked"));
    let after = (door_after_change(&police).await, door_after_change(&on_replica).await);
    let _ = replica.kill();
    replica.wait().unwrap();
    assert_eq!(after, (401, 401), "refused on both replicas within a second");
    assert_eq!(door(&app.school()).await, 404, "other keys still work");

    let (list, _) = cli_ok(&app, &["key", "list"]);
    let line = list.lines().find(|l| l.starts_with(&key_id)).unwrap();
    assert!(line.contains("\trevoked "), "{line}");
    let revoked = audit_details(&app, "api_key.revoked").await;
    assert_eq!(revoked, [json!({"api_key_id": key_id, "agency_id": police.agency_id()})]);
    let actor: String = app.value("select actor_kind from audit_events where action = $1", "api_key.revoked").await;
    assert_eq!(actor, "system");

    // Revoking again changes nothing and records nothing; an unknown id is an error.
    let (out, _) = cli_ok(&app, &["key", "revoke", &key_id]);
    assert!(out.contains("already revoked"), "{out}");
    assert_eq!(audit_details(&app, "api_key.revoked").await.len(), 1);
    let unknown = cli(&app, &["key", "revoke", &uuid::Uuid::now_v7().to_string()]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no key with that id"));
}

#[tokio::test]
async fn a_key_created_with_an_expiry_is_refused_from_that_moment() {
    let app = spawn_app().await;
    let (secret, stderr) = cli_ok(&app, &["key", "create", "--agency", "Test Police", "--expires-in-days", "2"]);
    let key = app.caller(secret.trim());
    assert_eq!(door(&key).await, 404);
    let expires: chrono::DateTime<chrono::Utc> = app
        .value("select expires_at from api_keys where id = $1::uuid", stderr.split_whitespace().nth(1).unwrap())
        .await;
    assert!((expires - (chrono::Utc::now() + TimeDelta::days(2))).num_seconds().abs() < 60, "{expires}");
    let created = audit_details(&app, "api_key.created").await;
    assert!(created.last().unwrap()["expires_at"].is_string(), "the expiry is in the audit trail");

    app.set_time(expires - TimeDelta::seconds(1));
    assert_eq!(door(&key).await, 404, "still works just before");
    app.set_time(expires);
    assert_eq!(door(&key).await, 401, "refused from its expiry");
    assert_eq!(door(&app.police()).await, 404, "keys without an expiry keep working");

    // A staff key with a date; an expiry in the past is refused.
    let (secret, _) = cli_ok(
        &app,
        &["key", "create", "--staff", "Temp Worker", "--role", "practitioner", "--expires-at", "2099-01-31"],
    );
    assert_eq!(door(&app.caller(secret.trim())).await, 404);
    let past = cli(&app, &["key", "create", "--agency", "Test Police", "--expires-at", "2020-01-01T00:00:00Z"]);
    assert!(!past.status.success());
    assert!(String::from_utf8_lossy(&past.stderr).contains("expiry must be in the future"));
}

#[tokio::test]
async fn a_rotated_key_gives_a_working_key_and_the_old_one_works_until_the_grace_ends() {
    let app = spawn_app().await;
    let old = app.school();
    let (list, _) = cli_ok(&app, &["key", "list"]);
    let old_id = key_id_of(&list, "\"Test School\"");

    let (secret, stderr) = cli_ok(&app, &["key", "rotate", &old_id, "--grace-hours", "2"]);
    let new = app.caller(secret.trim());
    assert!(stderr.contains(&format!("replaces {old_id}")), "{stderr}");
    assert_eq!((door(&new).await, door(&old).await), (404, 404), "both work during the grace period");
    let submitted = new.create_contact(green_contact(app.today(), "ROT-1")).await;
    assert_eq!(submitted.status(), 201, "the new key belongs to the same agency");

    let stops: chrono::DateTime<chrono::Utc> =
        app.value("select expires_at from api_keys where id = $1::uuid", &old_id).await;
    assert!((stops - (chrono::Utc::now() + TimeDelta::hours(2))).num_seconds().abs() < 60, "{stops}");
    app.set_time(stops - TimeDelta::seconds(1));
    assert_eq!(door(&old).await, 404);
    app.set_time(stops);
    assert_eq!((door(&new).await, door(&old).await), (404, 401), "the old key ends with the grace period");

    let rotated = audit_details(&app, "api_key.rotated").await;
    assert_eq!(rotated.len(), 1);
    assert_eq!(rotated[0]["api_key_id"], old_id.as_str());
    assert_eq!(rotated[0]["agency_id"], old.agency_id());
    assert!(rotated[0]["new_api_key_id"].is_string() && rotated[0]["old_key_stops_at"].is_string());

    // Without grace the old key is refused at once; an ended key cannot be rotated again.
    let (list, _) = cli_ok(&app, &["key", "list"]);
    let new_id = list.lines().find(|l| l.contains("\"Test School\"") && !l.starts_with(&old_id)).unwrap();
    let new_id = new_id.split('\t').next().unwrap().to_owned();
    let (newest, _) = cli_ok(&app, &["key", "rotate", &new_id, "--grace-hours", "0"]);
    assert_eq!((door(&app.caller(newest.trim())).await, door_after_change(&new).await), (404, 401));
    let again = cli(&app, &["key", "rotate", &new_id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("revoked or expired"));
    assert_eq!(audit_details(&app, "api_key.rotated").await.len(), 2);
}

#[tokio::test]
async fn a_deactivated_staff_member_is_refused_with_every_key_and_their_claims_go_back() {
    let app = spawn_app().await;
    let leaver = app.practitioner();
    let leaver_id: uuid::Uuid = app.value("select id from staff where role = $1", "practitioner").await;
    // A second key of theirs, still in its grace period.
    let (list, _) = cli_ok(&app, &["key", "list"]);
    let first_key = key_id_of(&list, &format!("staff {leaver_id}"));
    let (second, _) = cli_ok(&app, &["key", "rotate", &first_key]);
    let second = app.caller(second.trim());
    let contact = app.school().submit(green_contact(app.today(), "LEAVER-1")).await;
    assert_eq!(leaver.claim(&contact).await.status(), 200);
    assert_eq!((door(&leaver).await, door(&second).await), (404, 404));

    let (out, _) = cli_ok(&app, &["staff", "deactivate", &leaver_id.to_string()]);
    assert!(out.contains("2 key(s) revoked, 1 claimed contact(s)"), "{out}");
    assert_eq!(
        (door_after_change(&leaver).await, door_after_change(&second).await),
        (401, 401),
        "every key refused within a second"
    );

    // Their contact is free at once; the claim-expiry round puts it back in its queue.
    assert_eq!(app.expire_claims().await, 1);
    let status: String = app.value("select status from contacts where id = $1::uuid", &contact).await;
    assert_eq!(status, "awaiting_screening");
    let colleague = app.add_practitioner("Colleague").await;
    assert_eq!(colleague.claim(&contact).await.status(), 200);
    // No work can be assigned to them.
    let p = app
        .manager()
        .assign(&contact, json!({"staff_id": leaver_id, "reason": "Knows the family."}), Some("*"))
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/staff_id");

    let deactivated = audit_details(&app, "staff.deactivated").await;
    assert_eq!(deactivated.len(), 1);
    assert_eq!(deactivated[0]["staff_id"], leaver_id.to_string());
    assert_eq!(deactivated[0]["revoked_api_key_ids"].as_array().unwrap().len(), 2);
    assert_eq!(deactivated[0]["ended_claims_contact_ids"], json!([contact]));
    let (list, _) = cli_ok(&app, &["key", "list"]);
    assert_eq!(list.lines().filter(|l| l.contains(&leaver_id.to_string()) && l.contains("\trevoked ")).count(), 2);

    let (out, _) = cli_ok(&app, &["staff", "deactivate", &leaver_id.to_string()]);
    assert!(out.contains("already deactivated"), "{out}");
    assert_eq!(audit_details(&app, "staff.deactivated").await.len(), 1);
    assert!(!cli(&app, &["staff", "deactivate", &uuid::Uuid::now_v7().to_string()]).status.success());
}

/// Waits until `app`'s key cache is in use (its listener hears its heartbeats).
async fn until_listening(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !app.key_cache().listening() {
        assert!(std::time::Instant::now() < deadline, "the key-change listener is not listening");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The hits and misses of the key cache during `work`, from an empty cache in use. A cache that
/// paused meanwhile (a heartbeat late by seconds on a loaded machine) counts differently, so a
/// caller that needs exact counts retries: `None` then.
async fn counted(app: &TestApp, work: impl AsyncFn()) -> Option<(u64, u64)> {
    until_listening(app).await;
    app.key_cache().forget_all();
    let (hits, misses) = app.key_cache().stats();
    work().await;
    let (hits_after, misses_after) = app.key_cache().stats();
    app.key_cache().listening().then_some((hits_after - hits, misses_after - misses))
}

#[tokio::test]
async fn a_key_is_read_from_postgresql_once_and_forgotten_when_any_change_to_keys_commits() {
    let app = spawn_app().await;
    let police = app.police();
    let five = async || {
        for _ in 0..5 {
            assert_eq!(door(&police).await, 404);
        }
    };
    let mut counts = None;
    for _ in 0..3 {
        counts = counted(&app, five).await.filter(|c| *c == (4, 1)).or(counts);
    }
    assert_eq!(counts, Some((4, 1)), "one lookup in PostgreSQL, four from memory");

    // An operator's SQL, outside the service: announced by the trigger when it commits.
    sqlx::query("update api_keys set revoked_at = now() where agency_id = $1::uuid")
        .bind(police.agency_id())
        .execute(app.owner_db())
        .await
        .unwrap();
    assert_eq!(door_after_change(&police).await, 401, "refused within a second");
    assert_eq!(door(&app.school()).await, 404, "the others are read again and still work");

    // A change that rolls back announces nothing, and a key never let in is never remembered.
    let rolled_back = async || {
        assert_eq!(door(&app.school()).await, 404);
        let mut tx = app.owner_db().begin().await.unwrap();
        sqlx::query("update api_keys set revoked_at = now() where agency_id = $1::uuid")
            .bind(app.school().agency_id())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert_eq!(door(&app.school()).await, 404);
        assert_eq!(door(&police).await, 401);
        assert_eq!(door(&police).await, 401);
    };
    let mut counts = None;
    for _ in 0..3 {
        counts = counted(&app, rolled_back).await.filter(|c| *c == (1, 3)).or(counts);
    }
    assert_eq!(counts, Some((1, 3)), "the school's key read once, then from memory; the revoked key read twice");
}

#[tokio::test]
async fn a_listener_that_loses_its_connection_forgets_every_key_and_listens_again() {
    let app = spawn_app().await;
    until_listening(&app).await;
    let police = app.police();
    assert_eq!(door(&police).await, 404);
    let (_, misses) = app.key_cache().stats();
    assert_eq!(door(&police).await, 404);
    assert_eq!(app.key_cache().stats().1, misses, "from memory");

    // Its connection is cut (a failover, a proxy's timeout): notifications sent meanwhile are
    // lost, so everything it held is forgotten, and it listens again on a new connection.
    let admin = sqlx::PgPool::connect(&admin_url()).await.unwrap();
    let cut: i64 = sqlx::query_scalar(
        "select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity
          where datname = $1 and query ilike 'listen%') t",
    )
    .bind(&app.db_name)
    .fetch_one(&admin)
    .await
    .unwrap();
    assert_eq!(cut, 1, "one listening connection");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    until_listening(&app).await;
    assert_eq!(door(&police).await, 404);
    assert_eq!(app.key_cache().stats().1, misses + 1, "read from PostgreSQL again after the cut");
}
