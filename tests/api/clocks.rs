//! Clocks and the escalation ladder, with a manual clock: a working day of steps in a second.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::{
    fixtures::{amber_contact, example_contact, green_contact, london, monday_10, unknown_id},
    helpers::{Overrides, SWEEP_GRACE, TestApp, sample, spawn_app, spawn_app_with},
};

async fn steps(app: &TestApp, id: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "select s.step, s.status from ladder_steps s join clocks c on c.id = s.clock_id
          where c.contact_id = $1::uuid and c.kind = 'decision' order by s.step",
    )
    .bind(id)
    .fetch_all(app.db())
    .await
    .unwrap()
}

/// A page of events once it holds `want` of them. An event becomes readable when every older
/// transaction on the server has finished (the cursor's guarantee), and other tests' databases
/// share the server, so it may take a moment.
async fn events_page(app: &TestApp, query: &[(&str, &str)], want: usize) -> Value {
    for _ in 0..100 {
        let page: Value = app.auditor().events(query).await.json();
        if page["events"].as_array().is_some_and(|e| e.len() >= want) {
            return page;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{query:?} did not reach {want} events");
}

#[tokio::test]
async fn a_day_of_ladder_steps_fires_in_order_each_once() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let contact = app.school().create_contact(amber_contact(app.today(), "DAY-1")).await.created();
    let id = contact["id"].as_str().unwrap();
    assert_eq!(contact["urgency"], "amber");
    assert_eq!(contact["decision_due_at"], json!("2026-11-24T10:00:00+00:00"), "Monday 10:00 + 1 working day");

    let at = |h, m| london(2026, 11, 23, h, m);
    app.set_time(at(13, 59));
    assert_eq!(app.fire_due_steps().await, 0, "nothing due before 50%");
    app.set_time(at(14, 0));
    assert_eq!(app.fire_due_steps().await, 1, "reminder at 50% (4 working hours)");
    assert_eq!(app.fire_due_steps().await, 0, "and only once");
    app.set_time(at(16, 0));
    assert_eq!(app.fire_due_steps().await, 1, "escalate at 75%");
    let escalated: bool = app.value("select escalated from contacts where id = $1::uuid", id).await;
    assert!(escalated);
    app.set_time(london(2026, 11, 24, 9, 59));
    assert_eq!(app.fire_due_steps().await, 0);
    app.set_time(london(2026, 11, 24, 10, 0));
    assert_eq!(app.fire_due_steps().await, 1, "breach at 100%");
    assert_eq!(app.count("select count(*) from breaches").await, 1);
    assert_eq!(
        steps(&app, id).await,
        [("breach".into(), "fired".into()), ("escalate".into(), "fired".into()), ("reminder".into(), "fired".into())]
    );

    // The events outbox, in order, paged by cursor.
    let page = events_page(&app, &[("limit", "2")], 2).await;
    let kinds: Vec<&str> = page["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["reminder", "escalate"]);
    let after = page["next_after"].as_str().unwrap();
    let rest = events_page(&app, &[("after", after)], 1).await;
    assert_eq!(rest["events"][0]["kind"], "breach");
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert!(!rest.to_string().contains("Ella"), "events carry ids only");
    // The database refuses to remove a breach.
    assert!(sqlx::query("delete from breaches").execute(app.db()).await.is_err());
}

#[tokio::test]
async fn a_red_contact_notifies_the_duty_manager_at_receipt_and_breaches_after_four_hours() {
    let app = spawn_app().await;
    app.set_time(london(2026, 11, 28, 22, 0)); // a Saturday night: red runs round the clock
    let contact = app.school().create_contact(example_contact(app.today(), "RED-1")).await.created();
    assert_eq!(contact["urgency"], "red");
    assert_eq!(contact["decision_due_at"], json!("2026-11-29T02:00:00+00:00"));
    assert_eq!(app.fire_due_steps().await, 1, "notify_duty_manager at receipt");
    app.set_time(london(2026, 11, 29, 2, 0));
    assert_eq!(app.fire_due_steps().await, 3, "reminder, escalate and breach are all due");
    let events: Vec<String> = app.values("select kind from events order by id").await;
    assert_eq!(events.len(), 4);
    assert_eq!(events[0], "notify_duty_manager");
}

#[tokio::test]
async fn two_workers_racing_fire_every_step_exactly_once() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let school = app.school();
    for i in 0..20 {
        let reference = format!("RACE-{i}");
        let body =
            if i % 2 == 0 { amber_contact(app.today(), &reference) } else { green_contact(app.today(), &reference) };
        school.create_contact(body).await.created();
    }
    let (ours, other) = (app.worker(), app.another_worker());
    app.set_time(monday_10() + TimeDelta::days(10));
    let (a, b) = tokio::join!(ours.fire_due_steps(), other.fire_due_steps());
    let fired = a + b;
    assert_eq!(fired, 60, "20 contacts x (reminder, escalate, breach)");
    assert_eq!(app.count("select count(*) from events").await, 60);
    assert_eq!(app.count("select count(*) from audit_events where action = 'clock.step_fired'").await, 60);
    assert_eq!(app.count("select count(*) from breaches").await, 20);
    assert_eq!(app.fire_due_steps().await, 0);
    assert_eq!(app.ladder_index_len().await, 0, "the index is empty once all fired");
}

#[tokio::test]
async fn a_worker_that_dies_after_claiming_gives_its_step_back_after_the_lease() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    app.school().submit(amber_contact(app.today(), "DIE-1")).await;
    let reminder = london(2026, 11, 23, 14, 0);
    app.set_time(reminder);
    // A worker claims the reminder and dies before its transaction commits.
    let claimed = app.claim_due_steps(reminder, 10, TimeDelta::seconds(30)).await;
    assert_eq!(claimed.len(), 1);
    assert_eq!(app.fire_due_steps().await, 0, "the claim is leased to the dead worker");
    app.set_time(reminder + TimeDelta::seconds(31));
    assert_eq!(app.fire_due_steps().await, 1, "after the lease another worker fires it");
    assert_eq!(app.count("select count(*) from events").await, 1);
}

#[tokio::test]
async fn after_redis_loses_the_index_every_pending_step_still_fires_once() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    for i in 0..5 {
        app.school().submit(amber_contact(app.today(), &format!("FLUSH-{i}"))).await;
    }
    app.set_time(london(2026, 11, 23, 14, 0));
    assert_eq!(app.fire_due_steps().await, 5, "the reminders");
    // Redis restarts empty (only this test's keys are removed: other runs share the server).
    app.lose_ladder_index().await;
    app.set_time(london(2026, 11, 24, 10, 0));
    // Nothing is indexed, but the escalations (due Monday 16:00) are long overdue: the
    // PostgreSQL sweep fires them. The breaches are due this instant, within the sweep's grace.
    assert_eq!(app.fire_due_steps().await, 5, "the overdue escalations, from PostgreSQL alone");
    let reseeded = app.reseed_ladder_index().await;
    assert_eq!(reseeded, 5, "the breaches; fired steps are not re-seeded");
    assert_eq!(app.fire_due_steps().await, 5);
    assert_eq!(app.count("select count(*) from events").await, 15, "each step exactly once");
    // A re-seed after firing adds nothing, and stale index entries are harmless no-ops.
    assert_eq!(app.reseed_ladder_index().await, 0);
}

#[tokio::test]
async fn a_decision_before_75_percent_cancels_the_rest_and_starts_the_feedback_clock() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let id = app.school().submit(amber_contact(app.today(), "STOP-1")).await;
    app.set_time(london(2026, 11, 23, 14, 0));
    assert_eq!(app.fire_due_steps().await, 1, "reminder");
    // The outcome is recorded at 15:00 (60%).
    let decided = london(2026, 11, 23, 15, 0);
    app.set_time(decided);
    app.stop_decision_clock(&id, decided).await;
    app.set_time(decided + TimeDelta::days(30));
    let fired = app.fire_due_steps().await;
    assert_eq!(
        steps(&app, &id).await,
        [
            ("breach".into(), "cancelled".into()),
            ("escalate".into(), "cancelled".into()),
            ("reminder".into(), "fired".into())
        ]
    );
    assert_eq!(fired, 3, "only the feedback clock's reminder, escalate and breach");
    let view = app.manager().clocks(&id).await.ok();
    let decision = &view["clocks"][0];
    assert_eq!((decision["kind"].as_str(), decision["state"].as_str()), (Some("decision"), Some("stopped")));
    assert_eq!(decision["used_minutes"], 300);
    let feedback = &view["clocks"][1];
    assert_eq!(feedback["kind"], "feedback");
    assert_eq!(feedback["deadline"], json!("2026-11-24T15:00:00+00:00"));
}

#[tokio::test]
async fn re_rating_recomputes_the_deadline_from_the_original_receipt() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let contact = app.school().create_contact(green_contact(app.today(), "RR-1")).await.created();
    let id = contact["id"].as_str().unwrap();
    assert_eq!(contact["decision_due_at"], json!("2026-11-26T10:00:00+00:00"), "3 working days");
    app.set_time(london(2026, 11, 23, 12, 0));
    let rerate = async |urgency: &str| {
        app.manager().rerate(id, json!({"urgency": urgency, "reason": "New information."}), None).await
    };
    assert_eq!(rerate("amber").await.status(), 200);
    let view = app.manager().clocks(id).await.ok();
    assert_eq!(
        view["clocks"][0]["deadline"],
        json!("2026-11-24T10:00:00+00:00"),
        "1 working day from Monday 10:00, not from the re-rating"
    );
    assert_eq!(view["clocks"][0]["level"], "amber");
    let contact = app.manager().get_contact(id).await.ok();
    assert_eq!(contact["decision_due_at"], json!("2026-11-24T10:00:00+00:00"), "the contact's deadline moves too");
    // To red at 15:00: 4 elapsed hours from receipt were up at 14:00, so the breach is due now.
    app.set_time(london(2026, 11, 23, 15, 0));
    assert_eq!(rerate("red").await.status(), 200);
    assert_eq!(app.fire_due_steps().await, 4, "notify_duty_manager, reminder, escalate and breach all due at once");
    assert_eq!(app.count("select count(*) from breaches").await, 1);
}

#[tokio::test]
async fn paused_time_does_not_count_and_only_managers_pause_for_allowed_reasons() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let id = app.school().submit(amber_contact(app.today(), "PAUSE-1")).await;
    let id = id.as_str();
    let manager = app.manager();
    app.set_time(london(2026, 11, 23, 12, 0));
    app.practitioner().pause_clock(id, "decision", json!({"reason": "awaiting_police_checks"})).await.problem(403);
    // The role is checked before the body is read: a caller without it learns nothing of the rules.
    app.school().pause_clock(id, "decision", json!({"reasn": 7})).await.problem(403);
    app.practitioner().pause_clock(id, "decision", json!({})).await.problem(403);
    let p = manager.pause_clock(id, "decision", json!({"reason": "because"})).await.problem(422);
    assert_eq!(p["errors"][0]["pointer"], "/reason");
    let paused: Value = manager.pause_clock(id, "decision", json!({"reason": "awaiting_police_checks"})).await.json();
    assert_eq!(paused["clocks"][0]["state"], "paused");
    assert!(paused["clocks"][0].get("deadline").is_none());
    manager.pause_clock(id, "decision", json!({"reason": "awaiting_police_checks"})).await.problem(409);
    // Nothing fires while paused, even long after the original deadline.
    app.set_time(london(2026, 11, 24, 15, 0));
    assert_eq!(app.fire_due_steps().await, 0);
    let due: Option<DateTime<Utc>> = app.value("select decision_due_at from contacts where id = $1::uuid", id).await;
    assert_eq!(due, None);
    // Resumed Tuesday 15:00 with 2 working hours used: 6 left, so due Wednesday 13:00.
    let resumed: Value = manager.resume_clock(id, "decision").await.json();
    assert_eq!(resumed["clocks"][0]["deadline"], json!("2026-11-25T13:00:00+00:00"));
    assert_eq!(resumed["clocks"][0]["used_minutes"], 120);
    let due: Option<DateTime<Utc>> = app.value("select decision_due_at from contacts where id = $1::uuid", id).await;
    assert_eq!(due, Some(london(2026, 11, 25, 13, 0)), "the contact's deadline follows the resumed clock");
    // The reminder (at 4 working hours) comes 2 working hours after the resume: Tuesday 17:00.
    assert_eq!(app.fire_due_steps().await, 0);
    app.set_time(london(2026, 11, 24, 17, 0));
    assert_eq!(app.fire_due_steps().await, 1);
    assert_eq!(
        app.count("select count(*) from audit_events where action in ('clock.paused', 'clock.resumed')").await,
        2
    );
}

#[tokio::test]
async fn clocks_of_an_unknown_contact_are_not_found_and_agencies_cannot_see_clocks() {
    let app = spawn_app().await;
    app.manager().clocks(&unknown_id()).await.problem(404);
    let school = app.school();
    let id = school.submit(amber_contact(app.today(), "AG-1")).await;
    school.clocks(&id).await.problem(403);
    school.events(&[]).await.problem(403);
}

#[tokio::test]
async fn the_aligned_clock_agrees_with_the_database_clock() {
    let app = spawn_app().await;
    let ours = app.aligned_clock_now().await;
    let server: DateTime<Utc> = sqlx::query_scalar("select clock_timestamp()").fetch_one(app.db()).await.unwrap();
    assert!((server - ours).num_milliseconds().abs() < 1000, "within a second: {ours} vs {server}");
}

#[tokio::test]
async fn two_workers_firing_the_same_claims_at_once_fire_each_step_once() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    for i in 0..10 {
        app.school().submit(amber_contact(app.today(), &format!("SAME-{i}"))).await;
    }
    let now = london(2026, 11, 23, 14, 0);
    app.set_time(now);
    // Both workers hold the very same claims (as after an expired lease), so only the
    // PostgreSQL guard stands between them.
    let claimed = app.claim_due_steps(now, 100, TimeDelta::seconds(30)).await;
    assert_eq!(claimed.len(), 10);
    let (ours, other) = (app.worker(), app.another_worker());
    let (a, b) = tokio::join!(ours.fire_claimed(&claimed, now), other.fire_claimed(&claimed, now));
    assert_eq!(a + b, 10);
    assert_eq!(app.count("select count(*) from events").await, 10);
    assert_eq!(app.count("select count(*) from audit_events where action = 'clock.step_fired'").await, 10);
}

#[tokio::test]
async fn red_to_amber_and_back_to_red_notifies_the_duty_manager() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let id = app.school().submit(amber_contact(app.today(), "BACK-1")).await;
    let id = id.as_str();
    let rerate = async |urgency: &str| {
        app.manager().rerate(id, json!({"urgency": urgency, "reason": "Changing picture."}), None).await
    };
    assert_eq!(rerate("red").await.status(), 200);
    assert_eq!(rerate("amber").await.status(), 200, "before the worker ran: notify is cancelled");
    assert!(steps(&app, id).await.contains(&("notify_duty_manager".into(), "cancelled".into())));
    assert_eq!(rerate("red").await.status(), 200);
    assert!(steps(&app, id).await.contains(&("notify_duty_manager".into(), "pending".into())), "revived");
    assert!(app.fire_due_steps().await >= 1);
    assert_eq!(app.count("select count(*) from events where kind = 'notify_duty_manager'").await, 1);
}

#[tokio::test]
async fn with_redis_unreachable_steps_still_fire_from_postgresql() {
    let app = spawn_app_with(Overrides { redis_url: Some("redis://127.0.0.1:1".into()), ..Overrides::default() }).await;
    app.set_time(monday_10());
    // Intake still works (the index write is best effort) and the steps are in PostgreSQL.
    app.school().submit(amber_contact(app.today(), "NOREDIS-1")).await;
    app.set_time(london(2026, 11, 23, 14, 0) + SWEEP_GRACE);
    assert_eq!(app.fire_due_steps().await, 1, "the reminder, found by the sweep");
    assert_eq!(app.count("select count(*) from events").await, 1);
}

#[tokio::test]
async fn a_stopped_clock_is_audited_and_clears_the_due_time() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let id = app.school().submit(amber_contact(app.today(), "STOPAUD-1")).await;
    app.stop_decision_clock(&id, monday_10()).await;
    let due: Option<DateTime<Utc>> = app.value("select decision_due_at from contacts where id = $1::uuid", &id).await;
    assert_eq!(due, None);
    assert_eq!(app.count("select count(*) from audit_events where action = 'clock.stopped'").await, 1);
}

#[tokio::test]
async fn only_one_replica_re_seeds_at_a_time() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    app.school().submit(amber_contact(app.today(), "SEED-1")).await;
    // Another replica holds the re-seed lock.
    let mut other = app.db().acquire().await.unwrap();
    let held: bool =
        sqlx::query_scalar("select pg_try_advisory_lock(7881707715308122981)").fetch_one(&mut *other).await.unwrap();
    assert!(held);
    assert_eq!(app.reseed_ladder_index_if_free().await, None);
    let _: bool =
        sqlx::query_scalar("select pg_advisory_unlock(7881707715308122981)").fetch_one(&mut *other).await.unwrap();
    assert_eq!(app.reseed_ladder_index_if_free().await, Some(3));
}

#[tokio::test]
async fn breaches_refuse_changes_in_their_own_name() {
    let app = spawn_app().await;
    // TRUNCATE fires the statement trigger whether or not there are rows. The runtime role may not
    // truncate at all; the trigger stops even the owner.
    let err = sqlx::query("truncate breaches").execute(app.owner_db()).await.expect_err("breaches are immutable");
    let message = err.as_database_error().map(|e| e.message().to_owned()).unwrap_or_default();
    assert_eq!(message, "breaches is append-only: TRUNCATE refused");
    let err = sqlx::query("truncate audit_events").execute(app.owner_db()).await.expect_err("so is the audit trail");
    assert!(err.to_string().contains("audit_events is append-only"));
}

#[tokio::test]
async fn when_redis_loses_its_data_the_next_round_reseeds_and_steps_fire_on_time() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    for i in 0..5 {
        app.school().submit(amber_contact(app.today(), &format!("LOST-{i}"))).await;
    }
    app.set_time(london(2026, 11, 23, 14, 0));
    assert_eq!(app.fire_due_steps().await, 5, "the reminders");
    // Redis restarts empty.
    app.lose_redis_data().await;
    // The escalations fall due this instant: within the sweep's grace, so only the index can
    // fire them now, and it must first notice that it was lost.
    app.set_time(london(2026, 11, 23, 16, 0));
    let reseeds_before = sample(&app.scrape().await, "mash_reseed_duration_seconds_count", &[]);
    assert_eq!(app.fire_due_steps().await, 5, "the escalations, on time");
    assert_eq!(app.ladder_index_len().await, 5, "the breaches are indexed again");
    assert_eq!(app.count("select count(*) from events").await, 10);
    // Monitoring sees that re-seed as it sees the periodic ones (at start-up it is often the
    // only one: the periodic one then finds the lock taken).
    let reseeds = sample(&app.scrape().await, "mash_reseed_duration_seconds_count", &[]);
    // Counts: exact in an f64.
    #[allow(clippy::float_cmp)]
    {
        assert_eq!(reseeds, reseeds_before + 1.0, "the re-seed is counted");
    }
}

#[tokio::test]
async fn a_step_that_cannot_fire_is_recorded_retried_later_and_holds_up_no_other() {
    let app = spawn_app().await;
    app.set_time(monday_10());
    let poisoned = app.school().submit(amber_contact(app.today(), "POISON-0")).await;
    app.advance_time(TimeDelta::minutes(1));
    for i in 1..5 {
        app.school().submit(amber_contact(app.today(), &format!("POISON-{i}"))).await;
    }
    // The database refuses every event of the first contact (as a broken row or a faulty
    // trigger might): its steps cannot fire, and its batch cannot commit.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "create function refuse_poisoned() returns trigger language plpgsql as $$
         begin
             if new.contact_id = '{poisoned}' then raise exception 'refused' using errcode = 'P0001'; end if;
             return new;
         end $$;
         create trigger refuse_poisoned before insert on events for each row execute function refuse_poisoned();"
    )))
    .execute(app.owner_db())
    .await
    .unwrap();
    let attempts = async |step: &str| -> (i32, Option<String>) {
        sqlx::query_as(
            "select s.fire_attempts, s.last_failure from ladder_steps s join clocks c on c.id = s.clock_id
              where c.contact_id = $1::uuid and s.step = $2",
        )
        .bind(&poisoned)
        .bind(step)
        .fetch_one(app.db())
        .await
        .unwrap()
    };

    // From the index: the five reminders are claimed in one batch.
    app.set_time(london(2026, 11, 23, 14, 1));
    assert_eq!(app.fire_due_steps().await, 4, "the other reminders fire");
    assert_eq!(attempts("reminder").await, (1, Some("P0001".into())), "the failure is recorded, as a code");
    assert_eq!(app.failing_steps().await, 1);
    assert_eq!(app.count("select count(*) from audit_events where action = 'clock.step_failed'").await, 1);
    assert_eq!(app.fire_due_steps().await, 0);
    assert_eq!(attempts("reminder").await.0, 1, "not retried before its backoff");
    app.advance_time(TimeDelta::seconds(10));
    assert_eq!(app.fire_due_steps().await, 0);
    assert_eq!(attempts("reminder").await.0, 2, "retried after it");

    // From the PostgreSQL sweep, oldest first, with the index lost: the poisoned reminder is
    // the oldest overdue step, and must not stall the escalations behind it.
    app.lose_ladder_index().await;
    app.set_time(london(2026, 11, 23, 16, 2) + SWEEP_GRACE);
    assert_eq!(app.fire_due_steps().await, 4, "the other escalations fire");
    assert_eq!(attempts("escalate").await.0, 1);
    assert_eq!(app.failing_steps().await, 2);

    // Once the fault is mended, both fire, once each.
    sqlx::raw_sql("drop trigger refuse_poisoned on events").execute(app.owner_db()).await.unwrap();
    app.advance_time(TimeDelta::minutes(30));
    assert_eq!(app.fire_due_steps().await, 2);
    assert_eq!(app.failing_steps().await, 0);
    assert_eq!(app.count("select count(*) from events").await, 10, "every reminder and escalation, once");
    assert_eq!(app.count("select count(*) from events where kind = 'breach'").await, 0);
}
