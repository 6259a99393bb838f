//! RFC 9457 problem responses: the one place that maps domain errors to HTTP.
//!
//! Every error the service returns, whether from a handler, an extractor (body, key, path id) or
//! the framework (unknown route, bad parameter), leaves as `application/problem+json` with a
//! stable `code`. Details never quote submitted values: they name fields and rules only.
//!
//! Each domain error converts with `From` (so handlers use `?`), in the `impl From` blocks below:
//! one match per domain error, and nowhere else. A 503 carries no retry interval of its own:
//! the `RetryAfter` middleware in `api` adds `Retry-After` from the settings when the response
//! is rendered.

use poem::{Response, error::ResponseError, http::StatusCode};
use poem_openapi::{ApiResponse, Object, payload::Json};

use crate::{
    auth::AuthError,
    clocks::service::ClockError,
    contact::ContactError,
    db::StoreError,
    intake::{FieldError, IntakeError, service::BatchItemError},
    outbox::OutboxError,
    reports::ReportError,
    triage::TriageError,
    worklist::WorklistError,
};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// `Retry-After` on a typed 503 before the `RetryAfter` middleware replaces it with the
/// configured interval.
const RETRY_AFTER_PLACEHOLDER: &str = "1";

/// An RFC 9457 problem.
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(rename = "Problem")]
pub struct Problem {
    /// A URI reference naming the problem type; stable, one per `code`.
    #[oai(rename = "type")]
    pub problem_type: String,
    /// A short, human-readable summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, without quoting any submitted data.
    pub detail: String,
    /// A stable, machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// Every field at fault (validation problems only).
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<ProblemField>>,
}

/// One field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
pub struct ProblemField {
    /// JSON pointer (RFC 6901) into the request body; `""` is the whole body.
    pub pointer: String,
    /// The rule the value breaks.
    pub detail: String,
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> Self {
        Self { pointer: e.pointer, detail: e.detail }
    }
}

/// An error on its way to becoming a problem response.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {}", .problem.code, .problem.detail)]
pub struct ApiError {
    pub problem: Problem,
}

impl ApiError {
    /// A problem with `status`, a stable `code`, a title and a detail.
    pub fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Self {
        Self {
            problem: Problem {
                problem_type: format!("/problems/{}", code.replace('_', "-")),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: detail.into(),
                code: code.to_owned(),
                errors: None,
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn validation(errors: Vec<FieldError>) -> Self {
        let count = errors.len();
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "The request is not valid",
            format!("{count} field{} failed validation; see `errors`.", if count == 1 { "" } else { "s" }),
        );
        e.problem.errors = Some(errors.into_iter().map(ProblemField::from).collect());
        e
    }

    pub fn malformed_json(err: &serde_json::Error) -> Self {
        if err.to_string().starts_with(super::payload::DUPLICATE_KEY) {
            return Self::new(
                StatusCode::BAD_REQUEST,
                "duplicate_key",
                "The body repeats a field",
                format!(
                    "An object in the body names the same field twice (line {}, column {}).",
                    err.line(),
                    err.column()
                ),
            );
        }
        // serde_json's position is safe to share; its message may quote input, so it is not used.
        Self::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            "The body is not valid JSON",
            format!(
                "The body could not be parsed as JSON ({:?} error at line {}, column {}).",
                err.classify(),
                err.line(),
                err.column()
            ),
        )
    }

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "The body is too large",
            format!("The body may be at most {limit} bytes."),
        )
    }

    /// Over the caller's rate limit.
    pub fn too_many_requests(retry_after_seconds: u32) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            format!(
                "This key has used its request quota; retry in {retry_after_seconds} seconds (see the RateLimit headers)."
            ),
        )
    }

    /// A body within its byte limit but with more JSON values than any real request has.
    pub fn body_too_complex(values: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_complex",
            "The body has too many values",
            format!("The body may hold at most {values} JSON values."),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported content type",
            "Send the body as application/json.",
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Missing or unknown API key",
            "Send a valid key as `Authorization: Bearer <key>`.",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for this key",
            "This key's role may not use this operation.",
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Not found",
            format!("No {what} with that id is visible to this key."),
        )
    }

    /// 400 for a query or path parameter: named in the detail and, as a pointer, in `errors`.
    pub fn invalid_parameter(name: &str, detail: &str) -> Self {
        let mut e = Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "Invalid parameter",
            format!("Parameter `{name}` {detail}."),
        );
        e.problem.errors =
            Some(vec![ProblemField::from(FieldError { pointer: format!("/{name}"), detail: detail.into() })]);
        e
    }

    /// A store is down; `Retry-After` is added when the response is rendered.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "Temporarily unavailable",
            "A data store is unavailable, so the request may not have been completed. Retrying is safe: \
             submissions are idempotent on agency_reference. Retry after the interval in Retry-After.",
        )
    }

    /// 409 with a stable code.
    fn conflict(code: &str, title: &str, detail: &str) -> Self {
        Self::new(StatusCode::CONFLICT, code, title, detail)
    }

    /// 422 naming one field.
    fn field(pointer: &str, detail: &str) -> Self {
        Self::validation(vec![FieldError { pointer: pointer.into(), detail: detail.into() }])
    }

    /// 412: the caller's `If-Match` is stale.
    fn version_mismatch(current: i64) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            "version_mismatch",
            "The contact has changed",
            format!("The contact is at version {current}; read it again."),
        )
    }

    /// 409: the contact has been decided.
    fn already_decided(detail: &str) -> Self {
        Self::conflict("already_decided", "Already decided", detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "Internal error",
            "The service failed; the failure has been logged.",
        )
    }

    /// The response for this error.
    pub fn to_response(&self) -> Response {
        let mut builder = Response::builder().status(self.status()).content_type(PROBLEM_JSON);
        if self.status() == StatusCode::UNAUTHORIZED {
            builder = builder.header("WWW-Authenticate", "Bearer");
        }
        let body = serde_json::to_vec(&poem_openapi::types::ToJSON::to_json(&self.problem)).unwrap_or_default();
        builder.body(body)
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(errors: Vec<FieldError>) -> Self {
        Self::validation(errors)
    }
}

impl From<StoreError> for ApiError {
    /// 503 when the store is down, 500 (logged with its cause chain) otherwise.
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error.cause = %cause, "database unavailable");
                Self::unavailable()
            }
            StoreError::Query(_) => {
                log_internal(&err);
                Self::internal()
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Unauthenticated => Self::unauthenticated(),
            AuthError::Forbidden => Self::forbidden(),
            AuthError::UnknownAgency => Self::not_found("agency"),
            AuthError::DuplicateAgency => {
                Self::conflict("duplicate_agency", "Agency exists", "An agency with that name exists already.")
            }
            AuthError::UnknownKey => Self::not_found("key"),
            AuthError::UnknownStaff => Self::not_found("staff member"),
            AuthError::KeyNotLive => Self::conflict(
                "key_not_live",
                "Key not live",
                "The key is revoked or expired, or its staff member is deactivated.",
            ),
            AuthError::ExpiryNotInFuture => Self::field("/expires_at", "must be in the future"),
            AuthError::Store(e) => e.into(),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(err: IntakeError) -> Self {
        match err {
            IntakeError::ReferenceConflict => Self::conflict(
                "agency_reference_conflict",
                "Reference already used",
                "This agency_reference was already used for a contact with a different body. Use a new reference for a new contact.",
            ),
            IntakeError::KeyInFlight => Self::new(
                StatusCode::CONFLICT,
                "idempotency_key_in_flight",
                "A request with this Idempotency-Key is still being processed",
                "Retry after it completes: the retry is answered as the first request was.",
            ),
            IntakeError::KeyReused => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "The Idempotency-Key was used with a different request",
                "Each Idempotency-Key belongs to one request body for 24 hours: use a new key for a new contact.",
            ),
            IntakeError::Store(e) => e.into(),
            IntakeError::Encode(_) => {
                log_internal(&err);
                Self::internal()
            }
        }
    }
}

impl From<BatchItemError> for ApiError {
    fn from(err: BatchItemError) -> Self {
        match err {
            BatchItemError::Invalid(errors) => Self::validation(errors),
            BatchItemError::Intake(e) => e.into(),
            BatchItemError::StoreUnavailable => Self::unavailable(),
        }
    }
}

impl From<ContactError> for ApiError {
    fn from(err: ContactError) -> Self {
        match err {
            ContactError::NotFound => Self::not_found("contact"),
            ContactError::Store(e) => e.into(),
        }
    }
}

impl From<TriageError> for ApiError {
    fn from(err: TriageError) -> Self {
        match err {
            TriageError::NotFound => Self::not_found("contact"),
            TriageError::UnknownChild => Self::not_found("child"),
            TriageError::Decided => {
                Self::already_decided("The contact has been decided; its urgency can no longer change.")
            }
            TriageError::UnknownLevel => Self::field("/urgency", "must be one of the policy's levels"),
            TriageError::SameLevel => Self::field("/urgency", "is already the contact's urgency"),
            TriageError::ReasonRequired => Self::field("/reason", "must be a written reason of 1 to 2000 characters"),
            TriageError::VersionMismatch { current } => Self::version_mismatch(current),
            TriageError::Store(e) => e.into(),
        }
    }
}

impl From<ClockError> for ApiError {
    fn from(err: ClockError) -> Self {
        let state = |detail| Self::conflict("clock_state", "The clock cannot do that now", detail);
        match err {
            ClockError::NotFound => Self::not_found("clock"),
            ClockError::ReasonNotAllowed => Self::field("/reason", "must be one of the policy's pause reasons"),
            ClockError::NotRunning => state("The clock is not running."),
            ClockError::NotPaused => state("The clock is not paused."),
            ClockError::Stopped => state("The clock has stopped."),
            ClockError::Store(e) => e.into(),
        }
    }
}

impl From<WorklistError> for ApiError {
    fn from(err: WorklistError) -> Self {
        match err {
            WorklistError::NotFound => Self::not_found("contact"),
            WorklistError::NoFeedbackClock => Self::not_found("running feedback clock"),
            WorklistError::UnknownQueue => Self::not_found("queue"),
            WorklistError::UnknownStaff => Self::field("/staff_id", "must be a practitioner or manager"),
            WorklistError::NotClaimHolder => Self::new(
                StatusCode::FORBIDDEN,
                "not_claim_holder",
                "Not the claim holder",
                "Only the practitioner holding the claim, or a manager, may do this.",
            ),
            WorklistError::VersionMismatch { current } => Self::version_mismatch(current),
            WorklistError::VersionRequired => Self::new(
                StatusCode::PRECONDITION_REQUIRED,
                "version_required",
                "If-Match required",
                "Send the contact's version (its ETag) in If-Match, or `*` to overwrite whatever is there.",
            ),
            WorklistError::ClaimedByOther => Self::conflict(
                "claimed_by_other",
                "Claimed by someone else",
                "Another member of staff holds this contact; a manager can reassign it.",
            ),
            WorklistError::AlreadyDecided => Self::already_decided("The contact has been decided."),
            WorklistError::NotAwaitingAuthorisation => Self::conflict(
                "not_awaiting_authorisation",
                "No decision awaits authorisation",
                "The contact has no decision waiting for a manager's authorisation.",
            ),
            WorklistError::OwnDecision => Self::new(
                StatusCode::FORBIDDEN,
                "own_decision",
                "Not your own decision",
                "A decision that needs authorisation is authorised or sent back by a manager other than its author.",
            ),
            WorklistError::Invalid { pointer, detail } => Self::field(pointer, detail),
            WorklistError::Store(e) => e.into(),
        }
    }
}

impl From<ReportError> for ApiError {
    fn from(err: ReportError) -> Self {
        match err {
            ReportError::Invalid { pointer, detail } => {
                Self::invalid_parameter(pointer.trim_start_matches('/'), detail)
            }
            ReportError::Store(e) => e.into(),
        }
    }
}

impl From<crate::sandbox::SandboxError> for ApiError {
    fn from(err: crate::sandbox::SandboxError) -> Self {
        use crate::sandbox::SandboxError as E;
        match err {
            E::NotSandbox => Self::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                "This deployment is not a sandbox: its clock cannot be moved.",
            ),
            E::NotForward { now } => Self::field(
                "/advance_to",
                &format!(
                    "must be after the test clock's time, {}",
                    now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ),
            E::Role => Self::field("/role", "must be practitioner or manager"),
            E::Store(e) => e.into(),
            E::Worker(e) => {
                log_internal(&e);
                Self::internal()
            }
        }
    }
}

impl From<OutboxError> for ApiError {
    fn from(err: OutboxError) -> Self {
        match err {
            OutboxError::Invalid { pointer, detail } => Self::field(pointer, &detail),
            OutboxError::UnknownAgency => Self::not_found("agency"),
            OutboxError::UnknownEndpoint => Self::not_found("webhook endpoint"),
            OutboxError::UnknownDelivery => Self::not_found("delivery"),
            OutboxError::NotReplayable(status) => Self::new(
                StatusCode::CONFLICT,
                "not_replayable",
                "The delivery is not failed or cancelled",
                format!("The delivery is {status}: only a failed or cancelled delivery is replayed."),
            ),
            OutboxError::NoLiveEndpoint => Self::new(
                StatusCode::CONFLICT,
                "no_live_endpoint",
                "No live webhook endpoint",
                "The agency has no live webhook endpoint to send to: an admin registers or replaces it.",
            ),
            OutboxError::AlreadyRegistered => Self::new(
                StatusCode::CONFLICT,
                "webhook_exists",
                "The agency already has a webhook",
                "Replacing an agency's webhook is its own act: use PUT on the same path.",
            ),
            OutboxError::Store(e) => e.into(),
        }
    }
}

/// Logs a 5xx cause once, with its whole chain. Causes are database and encoding errors, which
/// carry SQL and codes, not submitted values.
fn log_internal(err: &dyn std::error::Error) {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::error!(error.cause_chain = %chain, "request failed");
}

impl ResponseError for ApiError {
    fn status(&self) -> StatusCode {
        ApiError::status(self)
    }

    fn as_response(&self) -> Response {
        self.to_response()
    }
}

/// Converts any error that reaches the outside of the router into a problem response.
pub fn convert_error(err: poem::Error) -> Response {
    if let Some(api) = err.downcast_ref::<ApiError>() {
        return api.to_response();
    }
    // A handler's own error enum (e.g. `SubmitError`) arrives already rendered as a problem.
    if err.is_from_response() {
        return err.into_response();
    }
    let status = err.status();
    let api = if let Some(param) = err.downcast_ref::<poem_openapi::error::ParseParamError>() {
        ApiError::invalid_parameter(param.name, "is not valid")
    } else {
        match status {
            StatusCode::UNAUTHORIZED => ApiError::unauthenticated(),
            StatusCode::FORBIDDEN => ApiError::forbidden(),
            StatusCode::NOT_FOUND => ApiError::new(status, "not_found", "Not found", "There is nothing at this path."),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::new(
                status,
                "method_not_allowed",
                "Method not allowed",
                "This path does not accept that method.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::unsupported_media_type(),
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::new(status, "body_too_large", "The body is too large", "The body exceeds the size limit.")
            }
            s if s.is_client_error() => {
                ApiError::new(s, "bad_request", "Bad request", "The request could not be understood.")
            }
            _ => {
                tracing::error!(error.cause_chain = %err, "request failed outside a handler");
                ApiError::internal()
            }
        }
    };
    api.to_response()
}

macro_rules! error_response {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $status:literal => $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, ApiResponse)]
        pub enum $name {
            $(
                $(#[$vdoc])*
                #[oai(status = $status, content_type = "application/problem+json")]
                $variant(Json<Problem>),
            )+
            /// A data store is unavailable; the request may not have completed. Retrying is safe.
            #[oai(status = 503, content_type = "application/problem+json")]
            Unavailable(Json<Problem>, #[oai(header = "Retry-After")] String),
            /// The service failed; the failure is logged.
            #[oai(status = 500, content_type = "application/problem+json")]
            Internal(Json<Problem>),
        }

        impl<E: Into<ApiError>> From<E> for $name {
            fn from(err: E) -> Self {
                let err: ApiError = err.into();
                match err.problem.status {
                    $($status => Self::$variant(Json(err.problem)),)+
                    // The documented header; `RetryAfter` sets its value from the settings.
                    503 => Self::Unavailable(Json(err.problem), RETRY_AFTER_PLACEHOLDER.to_owned()),
                    other => {
                        tracing::error!(status = other, code = %err.problem.code, "an operation returned a status it does not declare");
                        Self::Internal(Json(ApiError::internal().problem))
                    }
                }
            }
        }
    };
}

error_response!(
    /// Errors of reading one contact.
    ContactReadError {
        /// A query parameter is not valid (e.g. a page offset out of range).
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// The key's role may not read contacts (admins manage the service, not cases).
        403 => Forbidden,
        /// No such contact, or not visible to this key (another agency's contact is "not found").
        404 => NotFound,
    }
);

error_response!(
    /// Errors of re-rating a contact.
    RerateError {
        /// The body is not valid JSON, or repeats a field.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// Only managers re-rate.
        403 => Forbidden,
        /// No such contact.
        404 => NotFound,
        /// The contact has been decided.
        409 => Conflict,
        /// `If-Match` names a version that is no longer the contact's: read it again.
        412 => PreconditionFailed,
        /// The body exceeds the size limit.
        413 => PayloadTooLarge,
        /// The body is not `application/json`.
        415 => UnsupportedMediaType,
        /// Not a level of the policy, the same level as now, or no reason.
        422 => UnprocessableEntity,
    }
);

error_response!(
    /// Errors of pausing or resuming a clock.
    ClockChangeError {
        /// The body is not valid JSON.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// Only managers pause and resume clocks.
        403 => Forbidden,
        /// No such contact or clock.
        404 => NotFound,
        /// The clock is not in a state that allows it (already paused, not paused, stopped).
        409 => Conflict,
        /// The body exceeds the size limit.
        413 => PayloadTooLarge,
        /// The body is not `application/json`.
        415 => UnsupportedMediaType,
        /// The reason is not one the policy allows.
        422 => UnprocessableEntity,
    }
);

error_response!(
    /// Errors of worklist changes (release, renew, assign, move, notes, decisions).
    WorklistChangeError {
        /// The body is not valid JSON.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// The role may not do this, the caller does not hold the claim, or a manager would
        /// authorise their own decision.
        403 => Forbidden,
        /// No such contact.
        404 => NotFound,
        /// The contact has already been decided, or has no decision awaiting authorisation.
        409 => Conflict,
        /// `If-Match` names a version that is no longer the contact's.
        412 => PreconditionFailed,
        /// The body exceeds the size limit.
        413 => PayloadTooLarge,
        /// The body is not `application/json`.
        415 => UnsupportedMediaType,
        /// A field is missing or invalid.
        422 => UnprocessableEntity,
        /// `If-Match` is required on this update (the contact's `ETag`, or `*`).
        428 => PreconditionRequired,
    }
);

error_response!(
    /// Errors of reports and exports.
    ReportReadError {
        /// A query parameter is missing or not valid (`from` after `to`, a queue or urgency the
        /// policy does not have).
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// Only managers and auditors read reports.
        403 => Forbidden,
    }
);

error_response!(
    /// Errors of listing.
    ListError {
        /// A query parameter is not valid.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// The key's role may not use this operation.
        403 => Forbidden,
    }
);

error_response!(
    /// Errors of a test delivery or a replay.
    DeliveryActionError {
        /// A query parameter is not valid.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// Only the agency itself and admins.
        403 => Forbidden,
        /// No such delivery, or not the caller's.
        404 => NotFound,
        /// The delivery is not failed or cancelled, or there is no live endpoint to send to.
        409 => Conflict,
    }
);

error_response!(
    /// Errors of moving a sandbox test clock.
    SandboxError {
        /// The body is not valid JSON.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// Only agency keys have a test clock.
        403 => Forbidden,
        /// Not a sandbox: this deployment's clock cannot be moved.
        404 => NotFound,
        /// The body exceeds the size limit.
        413 => PayloadTooLarge,
        /// The body is not `application/json`.
        415 => UnsupportedMediaType,
        /// `advance_to` is missing, not an RFC 3339 instant, or not after the clock's time.
        422 => UnprocessableEntity,
    }
);

error_response!(
    /// Errors of submitting one contact.
    SubmitError {
        /// The body is not valid JSON, or repeats a field.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// Only agency keys submit contacts.
        403 => Forbidden,
        /// The `agency_reference` was used before with a different body, or a request with the
        /// same `Idempotency-Key` is still being processed (retry later).
        409 => Conflict,
        /// The body exceeds the size limit.
        413 => PayloadTooLarge,
        /// The body is not `application/json`.
        415 => UnsupportedMediaType,
        /// The contact is not valid (`errors` lists every field at fault), or the
        /// `Idempotency-Key` was used before with a different body.
        422 => UnprocessableEntity,
    }
);

error_response!(
    /// Errors of a batch as a whole (each item's own outcome is in the 207 answer).
    BatchError {
        /// The body is not valid JSON, or repeats a field.
        400 => BadRequest,
        /// Missing or unknown API key.
        401 => Unauthorized,
        /// Only agency keys submit contacts.
        403 => Forbidden,
        /// The body exceeds the size limit.
        413 => PayloadTooLarge,
        /// The body is not `application/json`.
        415 => UnsupportedMediaType,
        /// The envelope is not valid: `contacts` missing, empty or over 500 items.
        422 => UnprocessableEntity,
    }
);
