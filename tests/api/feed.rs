//! The agency change feed, `GET /v1/contacts`: each agency's own contacts changed since a
//! cursor, in commit-safe order, each change once.

use serde_json::{Value, json};

use crate::{
    client::Caller,
    fixtures::{example_contact, green_contact},
    helpers::spawn_app,
};

/// The whole feed after `after`, page by page: (ids with their status, the last cursor).
async fn drain(caller: &Caller, after: Option<&str>, limit: &str) -> (Vec<(String, String)>, Option<String>) {
    let mut seen = vec![];
    let mut cursor = after.map(str::to_owned);
    loop {
        let mut query = vec![("limit", limit.to_owned())];
        if let Some(c) = &cursor {
            query.push(("after", c.clone()));
        }
        let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page: Value = caller.contact_feed(&query).await.expect(200);
        let contacts = page["contacts"].as_array().unwrap();
        let next = page["next_after"].as_str().map(str::to_owned);
        if contacts.is_empty() {
            assert_eq!(next, cursor, "an empty page gives the same cursor back");
            return (seen, cursor);
        }
        for c in contacts {
            seen.push((c["id"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()));
        }
        cursor = next;
    }
}

/// [`drain`], again until it lists `want` contacts (for 10 s at most). Another test's
/// transaction still running anywhere in the cluster holds the feed back (as it must: it could
/// still commit a change before ours), so a page may briefly come back short.
async fn drain_until(
    caller: &Caller,
    after: Option<&str>,
    limit: &str,
    want: usize,
) -> (Vec<(String, String)>, Option<String>) {
    for _ in 0..100 {
        let drained = drain(caller, after, limit).await;
        if drained.0.len() >= want {
            return drained;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the feed did not list {want} contacts");
}

#[tokio::test]
async fn an_agency_catches_up_on_its_own_changes_once_each_in_order() {
    let app = spawn_app().await;
    let school = app.school();
    let a = school.submit(green_contact(app.today(), "FEED-A")).await;
    let b = school.submit(green_contact(app.today(), "FEED-B")).await;
    let other = app.police().submit(example_contact(app.today(), "FEED-POLICE")).await;

    let (all, cursor) = drain_until(&school, None, "1", 2).await;
    assert_eq!(all, [(a.clone(), "awaiting_screening".to_owned()), (b.clone(), "awaiting_screening".to_owned())]);
    assert!(!all.iter().any(|(id, _)| *id == other), "never another agency's");
    let cursor = cursor.unwrap();

    // B is claimed, then decided: it appears once, at its latest change, with its outcome.
    let practitioner = app.practitioner();
    let tag = practitioner.claim(&b).await.etag();
    let decision = json!({"outcome": "early_help", "rationale": "r", "feedback": "Early help has been offered.", "threshold_level": "early_help"});
    practitioner.decide(&b, decision, Some(&tag)).await.expect(200);
    let (changes, _) = drain_until(&school, Some(&cursor), "100", 1).await;
    assert_eq!(changes.len(), 1);
    let page: Value = school.contact_feed(&[("after", &cursor)]).await.expect(200);
    let latest = &page["contacts"][0];
    assert_eq!((latest["id"].as_str(), latest["status"].as_str()), (Some(&*b), Some("decided")));
    assert_eq!(
        (latest["outcome"].as_str(), latest["feedback"].as_str()),
        (Some("early_help"), Some("Early help has been offered."))
    );
    let (rest, _) = drain(&school, page["next_after"].as_str(), "100").await;
    assert!(rest.is_empty(), "nothing twice");

    // Filters: status and received period.
    let decided: Value = school.contact_feed(&[("status", "decided")]).await.expect(200);
    assert_eq!(decided["contacts"].as_array().unwrap().len(), 1);
    let later = (app.now() + chrono::TimeDelta::hours(1)).to_rfc3339();
    let none: Value = school.contact_feed(&[("received_from", &later)]).await.expect(200);
    assert_eq!(none["contacts"], json!([]));

    // Staff work the queues; a bad cursor is named.
    app.practitioner().contact_feed(&[]).await.problem(403);
    let bad = school.contact_feed(&[("after", "1.x")]).await.problem(400);
    assert!(bad.to_string().contains("after"));
    assert!(app.count("select count(*) from audit_events where action = 'contact.feed_read'").await > 0);
}

#[tokio::test]
async fn a_change_that_commits_late_is_never_skipped() {
    let app = spawn_app().await;
    let school = app.school();
    let first = school.submit(green_contact(app.today(), "LATE-1")).await;
    let (_, cursor) = drain_until(&school, None, "100", 1).await;
    let cursor = cursor.unwrap();

    // A change to the first contact is in flight (its transaction began and wrote, not yet
    // committed) while a second contact is submitted and committed.
    let mut slow = app.db().begin().await.unwrap();
    sqlx::query("update contacts set status = 'in_screening' where id = $1::uuid")
        .bind(&first)
        .execute(&mut *slow)
        .await
        .unwrap();
    let second = school.submit(green_contact(app.today(), "LATE-2")).await;
    let (meanwhile, held) = drain(&school, Some(&cursor), "100").await;
    assert!(meanwhile.is_empty(), "nothing after the in-flight change is listed yet: {meanwhile:?}");
    assert_eq!(held.as_deref(), Some(&*cursor));

    slow.commit().await.unwrap();
    let (after, _) = drain_until(&school, Some(&cursor), "100", 2).await;
    assert_eq!(after, [(first, "in_screening".to_owned()), (second, "awaiting_screening".to_owned())]);
}
