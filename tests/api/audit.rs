//! The audit trail: written with every change, listable by auditors, refused any change.

use serde_json::Value;

use crate::{fixtures::example_contact, helpers::spawn_app};

#[tokio::test]
async fn auditors_list_events_by_contact_with_a_cursor() {
    let app = spawn_app().await;
    let today = app.today();
    let (police, auditor) = (app.police(), app.auditor());
    let a_id = police.submit(example_contact(today, "A-1")).await;
    let b_id = police.submit(example_contact(today, "A-2")).await;
    let (a_id, b_id) = (a_id.as_str(), b_id.as_str());
    app.practitioner().get_contact(a_id).await;

    let page: Value = auditor.audit(&[("contact_id", a_id)]).await.json();
    let actions: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["contact.submitted", "contact.read"]);
    let read = &page["events"][1];
    assert_eq!(read["actor_kind"], "staff");
    assert!(read["actor_id"].is_string() && read["api_key_id"].is_string() && read["occurred_at"].is_string());
    assert!(page["events"].as_array().unwrap().iter().all(|e| e["contact_id"] == a_id));

    // Paging: one at a time through everything about contact b.
    let first: Value = auditor.audit(&[("contact_id", b_id), ("limit", "1")]).await.json();
    assert_eq!(first["events"].as_array().unwrap().len(), 1);
    let after = first["next_after"].as_i64().expect("a full page has a cursor");
    let second: Value =
        auditor.audit(&[("contact_id", b_id), ("limit", "1"), ("after", &after.to_string())]).await.json();
    assert!(second["events"].as_array().unwrap().is_empty());

    // The listings themselves are audited.
    assert_eq!(app.count("select count(*) from audit_events where action = 'audit.listed'").await, 3);
}

#[tokio::test]
async fn only_auditors_may_list_the_audit_trail() {
    let app = spawn_app().await;
    for caller in [app.practitioner(), app.manager(), app.admin(), app.police()] {
        caller.audit(&[]).await.problem(403);
    }
    app.auditor().audit(&[("limit", "0")]).await.problem(400);
}

#[tokio::test]
async fn the_database_refuses_to_change_or_remove_audit_rows() {
    let app = spawn_app().await;
    app.police().create_contact(example_contact(app.today(), "IMM-1")).await;
    let before = app.count("select count(*) from audit_events").await;
    assert!(before > 0);
    // The trigger stops even the owner, as long as it is enabled.
    for sql in ["update audit_events set action = 'x'", "delete from audit_events", "truncate audit_events"] {
        let err = sqlx::query(sql).execute(app.owner_db()).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(app.count("select count(*) from audit_events").await, before);
}

/// The SQLSTATE of a refused statement.
fn refusal(err: &sqlx::Error) -> String {
    err.as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .map(std::borrow::Cow::into_owned)
        .unwrap_or_default()
}

#[tokio::test]
async fn the_runtime_role_owns_nothing_and_cannot_lift_or_go_around_the_audit_trails_refusals() {
    let app = spawn_app().await;
    app.police().create_contact(example_contact(app.today(), "ROLE-1")).await;
    let before = app.count("select count(*) from audit_events").await;

    assert!(!app.value::<bool>("select rolsuper from pg_roles where rolname = $1", "mash_test_runtime").await);
    let owned = app
        .count("select count(*) from pg_class where relowner = (select oid from pg_roles where rolname = current_user)")
        .await;
    assert_eq!(owned, 0, "the runtime role owns no table, index or sequence");

    // Each of these is refused for want of a privilege or ownership (42501), before any trigger
    // could refuse it ("append-only", which would mean the role held the privilege).
    for sql in [
        "alter table audit_events disable trigger audit_events_no_update_delete",
        "alter table audit_events disable trigger all",
        "set session_replication_role = replica",
        "update audit_events set action = 'x'",
        "delete from audit_events",
        "truncate audit_events",
        "create trigger sneak before insert on audit_events for each row execute function audit_events_chain()",
        "update breaches set deadline = now()",
    ] {
        let err = sqlx::raw_sql(sql).execute(app.db()).await.expect_err(sql);
        assert_eq!(refusal(&err), "42501", "{sql}: {err}");
        assert!(!err.to_string().contains("append-only"), "{sql}: refused by the trigger, not the privileges: {err}");
    }
    assert_eq!(app.count("select count(*) from audit_events").await, before);
}

#[tokio::test]
async fn a_back_dated_audit_row_is_stamped_with_the_database_time_and_chained_after_the_others() {
    let app = spawn_app().await;
    app.police().create_contact(example_contact(app.today(), "BACK-1")).await;
    // The runtime role may append, and tries to forge the time of writing and the chain position.
    let (recorded_days_ago, seq, linked): (f64, i64, bool) = sqlx::query_as(
        "insert into audit_events (occurred_at, recorded_at, actor_kind, action, chain_day, chain_lane, chain_seq,
                                   prev_hash, hash)
         values ('2020-01-01', '2020-01-01', 'system', 'forged', '2020-01-01', 0, 1, '\\x00', '\\x00')
         returning (extract(epoch from now() - recorded_at) / 86400)::float8, chain_seq,
                   prev_hash <> '\\x00' and octet_length(hash) = 32 and chain_day = (now() at time zone 'UTC')::date",
    )
    .fetch_one(app.db())
    .await
    .unwrap();
    assert!(recorded_days_ago.abs() < 1.0, "recorded_at is the database's time, not the caller's");
    assert!(linked, "the chain fields are the database's, not the caller's");
    assert!(seq >= 1);
    let chained: i64 = app.count("select count(distinct (chain_day, chain_lane, chain_seq)) from audit_events").await;
    assert_eq!(chained, app.count("select count(*) from audit_events").await, "every row has its own position");
}

#[tokio::test]
async fn key_and_agency_creation_are_audited_without_secrets() {
    let app = spawn_app().await;
    // spawn_app created three agencies, three agency keys and four staff with keys.
    assert_eq!(app.count("select count(*) from audit_events where action = 'agency.created'").await, 3);
    assert_eq!(app.count("select count(*) from audit_events where action = 'api_key.created'").await, 3);
    assert_eq!(app.count("select count(*) from audit_events where action = 'staff.created'").await, 4);
    let details: Vec<String> = app.values("select detail::text from audit_events").await;
    for detail in details {
        assert!(!detail.contains("mash_"), "no key material in the audit trail: {detail}");
    }
    // Keys are stored only as 32-byte hashes.
    let hashes: Vec<Vec<u8>> = app.values("select key_hash from api_keys").await;
    assert!(hashes.iter().all(|h| h.len() == 32));
    assert!(!hashes.iter().any(|h| h.windows(5).any(|w| w == b"mash_")));
}
