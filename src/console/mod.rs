//! The staff console: server-rendered pages at `/console` for hub staff, on the same domain
//! services as the API (no rule is implemented twice). Only this module and `api` know HTTP.
//!
//! Invariants:
//! - A page is served only within a live session (`auth::session`): a random token in an
//!   `HttpOnly`, `SameSite=Strict` cookie scoped to `/console` (`Secure` when the service's public
//!   URL is https); anything else is sent to the sign-in page.
//! - Every form carries the session's CSRF token (sign-in a token of its own, in a cookie of its
//!   own); a post without the right one changes nothing (403).
//! - Every page is `Cache-Control: no-store`: pages carry case data.
//! - Roles are the API's: admins see no case data.
//!
//! Built so far (issue 12): sign-in, sign-out, sessions with idle and absolute timeouts that end
//! when the key is revoked, and the board. The queue, contact and decision pages, the live board
//! and the govuk-frontend assets are still to come.

use std::sync::Arc;

use askama::Template;
use chrono::{DateTime, Utc};
use poem::{
    Endpoint, EndpointExt, Request, Response, Route, get, handler,
    http::{StatusCode, header},
    web::{Data, Form},
};
use serde::Deserialize;

use crate::{
    auth::{
        AuthError, Role,
        session::{self, Session, SignIn},
    },
    state::AppState,
    worklist,
};

/// The session cookie.
const SESSION_COOKIE: &str = "mash_session";
/// The sign-in form's own CSRF cookie (there is no session yet to hold its token).
const SIGN_IN_COOKIE: &str = "mash_sign_in";

/// The console's routes, to nest at `/console`.
pub fn routes(state: Arc<AppState>) -> impl Endpoint {
    Route::new()
        .at("/", get(board))
        .at("/sign-in", get(sign_in_page).post(sign_in))
        .at("/sign-out", poem::post(sign_out))
        .at("/queues/:queue", get(queue_page))
        .at("/queues/:queue/take-next", poem::post(take_next))
        .at("/assets/*path", get(asset))
        .data(state)
        .after(|result: poem::Result<Response>| async move {
            // Every page may carry case data, and none may be kept by a browser or proxy (the
            // static assets say otherwise for themselves).
            let mut resp = result.unwrap_or_else(poem::Error::into_response);
            if !resp.headers().contains_key(header::CACHE_CONTROL) {
                resp.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            }
            Ok(resp)
        })
}

/// GOV.UK Frontend's files, embedded at build time (`build.rs`).
mod assets {
    include!(concat!(env!("OUT_DIR"), "/console_assets.rs"));
}

/// A GOV.UK Frontend file: the same for everyone and versioned with the binary, so cacheable.
#[handler]
fn asset(poem::web::Path(path): poem::web::Path<String>) -> Response {
    match assets::ASSETS.iter().find(|(name, ..)| *name == path) {
        Some((_, kind, bytes)) => {
            Response::builder().content_type(*kind).header(header::CACHE_CONTROL, "public, max-age=86400").body(*bytes)
        }
        None => Response::builder().status(StatusCode::NOT_FOUND).header(header::CACHE_CONTROL, "no-store").finish(),
    }
}

/// The value of cookie `name` in the request, if any.
fn cookie<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn secure(state: &AppState) -> bool {
    state.settings.http.public_base_url.starts_with("https://")
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Strict`, scoped to `path`, `Secure` behind https;
/// `None` for `max_age` makes a session cookie, `Some(0)` deletes it.
fn set_cookie(state: &AppState, name: &str, value: &str, path: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if secure(state) {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str("; Max-Age=");
        c.push_str(&age.to_string());
    }
    c
}

fn see_other(to: &str) -> Response {
    Response::builder().status(StatusCode::SEE_OTHER).header(header::LOCATION, to).finish()
}

fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => Response::builder().status(status).content_type("text/html; charset=utf-8").body(body),
        Err(err) => {
            tracing::error!(error = %err, "a console page failed to render");
            Response::builder().status(StatusCode::INTERNAL_SERVER_ERROR).finish()
        }
    }
}

fn unavailable(err: &dyn std::fmt::Display) -> Response {
    tracing::warn!(error = %err, "console: a store failed");
    Response::builder()
        .status(StatusCode::SERVICE_UNAVAILABLE)
        .header(header::RETRY_AFTER, "5")
        .content_type("text/plain; charset=utf-8")
        .body("The service is temporarily unavailable. Try again in a few seconds.")
}

/// The live session of the request, or the response that replaces the page (to sign in).
async fn session_of(state: &AppState, req: &Request) -> Result<Session, Response> {
    let Some(token) = cookie(req, SESSION_COOKIE) else { return Err(see_other("/console/sign-in")) };
    match session::resume(state, token).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            let mut resp = see_other("/console/sign-in");
            if let Ok(v) = set_cookie(state, SESSION_COOKIE, "", "/console", Some(0)).parse() {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            Err(resp)
        }
        Err(err) => Err(unavailable(&err)),
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    csrf_token: String,
    error: Option<&'static str>,
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The sign-in page, with a fresh token for its form (and the same in its cookie).
fn sign_in_form(state: &AppState, status: StatusCode, error: Option<&'static str>) -> Response {
    let token = random_token();
    let mut resp = html(status, &SignInPage { csrf_token: token.clone(), error });
    if let Ok(v) = set_cookie(state, SIGN_IN_COOKIE, &token, "/console/sign-in", None).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

#[handler]
#[allow(clippy::needless_pass_by_value)] // poem hands extractors over by value
fn sign_in_page(state: Data<&Arc<AppState>>) -> Response {
    sign_in_form(&state, StatusCode::OK, None)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf_token: String,
}

#[handler]
async fn sign_in(state: Data<&Arc<AppState>>, req: &Request, form: Form<SignInForm>) -> Response {
    let state = &**state;
    let expected = cookie(req, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || expected != form.csrf_token {
        return forbidden();
    }
    let key = form.key.trim();
    if key.is_empty() {
        return sign_in_form(state, StatusCode::UNPROCESSABLE_ENTITY, Some("Enter your staff key"));
    }
    match session::start(state, SignIn::StaffKey(key)).await {
        Ok((token, _)) => {
            let mut resp = see_other("/console");
            if let Ok(v) = set_cookie(state, SESSION_COOKIE, &token, "/console", None).parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            if let Ok(v) = set_cookie(state, SIGN_IN_COOKIE, "", "/console/sign-in", Some(0)).parse() {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            resp
        }
        Err(AuthError::Forbidden) => sign_in_form(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("This is an agency's key: only hub staff can sign in to the console"),
        ),
        Err(AuthError::Unauthenticated) => sign_in_form(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("Enter a staff key that is current: this one is not known, revoked or expired"),
        ),
        Err(err) => unavailable(&err),
    }
}

fn forbidden() -> Response {
    Response::builder()
        .status(StatusCode::FORBIDDEN)
        .content_type("text/plain; charset=utf-8")
        .body("This form has expired or did not come from this service. Go back, reload the page and try again.")
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

#[handler]
async fn sign_out(state: Data<&Arc<AppState>>, req: &Request, form: Form<CsrfForm>) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if !session::csrf_matches(&session, &form.csrf_token) {
        return forbidden();
    }
    if let Some(token) = cookie(req, SESSION_COOKIE)
        && let Err(err) = session::end(state, token).await
    {
        return unavailable(&err);
    }
    let mut resp = see_other("/console/sign-in");
    if let Ok(v) = set_cookie(state, SESSION_COOKIE, "", "/console", Some(0)).parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// One queue's row on the board.
struct BoardRow {
    name: String,
    by_urgency: Vec<i64>,
    unclaimed: i64,
    claimed: i64,
    escalated: i64,
    oldest: String,
    next_deadline: String,
}

#[derive(Template)]
#[template(path = "console/board.html")]
struct BoardPage {
    csrf_token: String,
    role: &'static str,
    levels: Vec<String>,
    queues: Vec<BoardRow>,
}

/// A time as staff read it on the hub's calendar, e.g. "Tue 24 Nov 10:30".
fn local(state: &AppState, at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "none".to_owned(),
        |t| t.with_timezone(&state.policy.clocks.calendar.tz).format("%a %-d %b %H:%M").to_string(),
    )
}

#[handler]
async fn board(state: Data<&Arc<AppState>>, req: &Request) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let role = session.staff.role;
    // Admins manage the service and see no case data, exactly as in the API.
    let queues = if Role::CASE_READERS.contains(&role) {
        match worklist::service::queues(state).await {
            Ok(q) => q,
            Err(err) => {
                return unavailable(&err);
            }
        }
    } else {
        Vec::new()
    };
    let page = BoardPage {
        csrf_token: session.csrf_token,
        role: role.into(),
        levels: state.policy.levels.iter().rev().cloned().collect(),
        queues: queues
            .into_iter()
            .map(|q| BoardRow {
                name: q.queue,
                by_urgency: q.by_urgency.into_iter().map(|(_, n)| n).collect(),
                unclaimed: q.unclaimed,
                claimed: q.claimed,
                escalated: q.escalated,
                oldest: local(state, q.oldest_received_at),
                next_deadline: local(state, q.next_deadline),
            })
            .collect(),
    };
    html(StatusCode::OK, &page)
}

/// Contacts per queue page.
const PAGE_SIZE: i64 = 25;

/// One open contact on a queue page.
struct QueueRow {
    id: String,
    received: String,
    urgency: String,
    /// The GOV.UK tag colour of the urgency (its text says it too: never colour alone).
    urgency_class: &'static str,
    time_left: String,
    breached: bool,
    escalated: bool,
    holder: String,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    csrf_token: String,
    role: &'static str,
    queue: String,
    can_work: bool,
    notice: Option<String>,
    items: Vec<QueueRow>,
    previous: Option<i64>,
    next: Option<i64>,
}

/// "2 h 10 m" of a positive duration.
fn hours_minutes(d: chrono::TimeDelta) -> String {
    let minutes = d.num_minutes().max(0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} m"),
        (h, m) => format!("{h} h {m} m"),
    }
}

/// The time left before `due`, in the terms of the urgency's budget: working time for a
/// working-time budget ("2 h 10 m working time left, due Tue 24 Nov 10:30"), elapsed time
/// otherwise.
fn time_left(state: &AppState, urgency: Option<&str>, due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(due) = due else { return "Clock paused".to_owned() };
    let policy = &state.policy;
    let working = urgency
        .and_then(|u| policy.levels.iter().position(|l| l == u))
        .and_then(|l| policy.clocks.decision.get(l))
        .is_some_and(|b| b.is_working());
    let when = local(state, Some(due));
    if due <= now {
        return format!("Past its deadline ({when})");
    }
    if working {
        format!("{} working time left, due {when}", hours_minutes(policy.clocks.calendar.working_between(now, due)))
    } else {
        format!("{} left, due {when}", hours_minutes(due - now))
    }
}

fn urgency_class(urgency: &str) -> &'static str {
    match urgency {
        "red" => "govuk-tag--red",
        "amber" => "govuk-tag--orange",
        "green" => "govuk-tag--green",
        _ => "govuk-tag--grey",
    }
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    page: Option<i64>,
    notice: Option<String>,
    claimed: Option<uuid::Uuid>,
}

#[handler]
async fn queue_page(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(queue): poem::web::Path<String>,
    poem::web::Query(query): poem::web::Query<PageQuery>,
) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let staff = session.staff;
    if !Role::CASE_READERS.contains(&staff.role) {
        return Response::builder().status(StatusCode::FORBIDDEN).body("Your role does not show case data.");
    }
    let page = query.page.unwrap_or(1).clamp(1, 100_000);
    let actor = crate::audit::Actor::staff(staff.staff_id, staff.key_id);
    let items =
        match worklist::service::queue_contacts(state, &actor, &queue, (page - 1) * PAGE_SIZE, PAGE_SIZE + 1).await {
            Ok(items) => items,
            Err(worklist::WorklistError::UnknownQueue) => {
                return Response::builder().status(StatusCode::NOT_FOUND).body("There is no such queue.");
            }
            Err(err) => return unavailable(&err),
        };
    let now = state.clock.now();
    let more = i64::try_from(items.len()).is_ok_and(|n| n > PAGE_SIZE);
    let rows = items
        .into_iter()
        .take(usize::try_from(PAGE_SIZE).unwrap_or(25))
        .map(|i| {
            let urgency = i.urgency.clone().unwrap_or_else(|| "unrated".to_owned());
            QueueRow {
                id: i.id.to_string(),
                received: local(state, Some(i.received_at)),
                urgency_class: urgency_class(&urgency),
                time_left: time_left(state, i.urgency.as_deref(), i.decision_due_at, now),
                breached: i.decision_due_at.is_some_and(|d| d <= now),
                escalated: i.escalated,
                holder: match i.claimed_by {
                    Some(s) if s == staff.staff_id => "Claimed by you".to_owned(),
                    Some(_) => "Claimed by a colleague".to_owned(),
                    None => "Unclaimed".to_owned(),
                },
                urgency,
            }
        })
        .collect();
    let notice = match (query.notice.as_deref(), query.claimed) {
        (_, Some(id)) => Some(format!("You now hold contact {id}.")),
        (Some("empty"), None) => Some("There is no unclaimed contact in this queue.".to_owned()),
        _ => None,
    };
    let page_view = QueuePage {
        csrf_token: session.csrf_token,
        role: staff.role.into(),
        can_work: Role::CASEWORKERS.contains(&staff.role),
        queue,
        notice,
        items: rows,
        previous: (page > 1).then_some(page - 1),
        next: more.then_some(page + 1),
    };
    html(StatusCode::OK, &page_view)
}

/// "Take next": claims the queue's next unclaimed contact for the member of staff, exactly as
/// `POST /v1/queues/{queue}/claim` does, and opens it.
#[handler]
async fn take_next(
    state: Data<&Arc<AppState>>,
    req: &Request,
    poem::web::Path(queue): poem::web::Path<String>,
    form: Form<CsrfForm>,
) -> Response {
    let state = &**state;
    let session = match session_of(state, req).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if !session::csrf_matches(&session, &form.csrf_token) {
        return forbidden();
    }
    if !Role::CASEWORKERS.contains(&session.staff.role) {
        return Response::builder().status(StatusCode::FORBIDDEN).body("Your role does not work contacts.");
    }
    match worklist::service::claim_next(state, &session.staff, &queue).await {
        Ok(Some(claimed)) => see_other(&format!("/console/queues/{queue}?claimed={}", claimed.contact_id)),
        Ok(None) => see_other(&format!("/console/queues/{queue}?notice=empty")),
        Err(worklist::WorklistError::UnknownQueue) => {
            Response::builder().status(StatusCode::NOT_FOUND).body("There is no such queue.")
        }
        Err(err) => unavailable(&err),
    }
}
