//! The service's instruments: what monitoring reads (`/metrics` on `metrics.listen`, and OTLP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set). `docs/MONITORING.md` says what each one means.
//!
//! One OpenTelemetry meter provider per [`Metrics`], read by two exporters: a Prometheus
//! registry rendered on scrape, and (optionally) a periodic OTLP push, so both carry the same
//! instruments under the same names. Names are exactly the contract's (`mash_*`, units and
//! `_total` written out, not appended by the exporter).
//!
//! Three kinds of numbers:
//! - **events** (counters and histograms), counted by the domain service that caused them,
//!   after its transaction committed, in this process; Prometheus sums them across replicas;
//! - **the hub's state now** (gauges such as open contacts and the breach forecast), read from
//!   PostgreSQL by `monitoring` into a [`Snapshot`], the same on every replica (aggregate with
//!   `max`, never `sum`);
//! - **this process** (Redis reachable, last ladder round, build info).
//!
//! Labels carry closed sets only (urgency, queue, outcome, step, route template...): never an
//! id, a name or anything a caller typed.

use std::sync::{
    Arc, RwLock,
    atomic::{AtomicI64, Ordering},
};

use opentelemetry::{
    KeyValue,
    metrics::{Counter, Histogram, Meter, MeterProvider as _},
};
use opentelemetry_sdk::{Resource, metrics::SdkMeterProvider};

/// Buckets of budget used at decision: around the half, three-quarter and full points.
const BUDGET_BUCKETS: [f64; 9] = [0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0, 3.0];
/// Working seconds: 15 minutes to 4 working days of 8 hours.
const WORKING_BUCKETS: [f64; 10] =
    [900.0, 1800.0, 3600.0, 7200.0, 14_400.0, 28_800.0, 57_600.0, 86_400.0, 115_200.0, 172_800.0];
/// Ladder lateness: the ladder aims at a second; a sweep finds a lost step within minutes.
const LATENESS_BUCKETS: [f64; 10] = [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0];
const RESEED_BUCKETS: [f64; 8] = [0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0];
const HTTP_BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// One gauge series: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Series {
    pub fn new(labels: &[(&'static str, &str)], value: f64) -> Self {
        Self { labels: labels.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(), value }
    }
}

/// The hub-wide gauges as last read from PostgreSQL, by metric name.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub series: std::collections::BTreeMap<&'static str, Vec<Series>>,
}

/// The hub-wide gauges the snapshot fills (names fixed by the contract).
pub const SNAPSHOT_GAUGES: [(&str, &str); 9] = [
    ("mash_open_contacts", "Open contacts (awaiting or in screening), by queue, urgency, state and escalation."),
    (
        "mash_open_contacts_by_budget_band",
        "Open contacts by the share of their decision budget used: under_50, 50_to_75, 75_to_100, breached.",
    ),
    (
        "mash_oldest_unclaimed_contact_age_seconds",
        "Age of the oldest contact nobody has claimed, per queue (elapsed seconds).",
    ),
    (
        "mash_breach_forecast_contacts",
        "Open contacts that will breach their decision timescale before the horizon if nobody decides them.",
    ),
    ("mash_ladder_overdue_steps", "Pending escalation steps due more than a minute ago and not yet fired."),
    ("mash_ladder_failing_steps", "Escalation steps set aside because they could not fire."),
    ("mash_webhook_pending_deliveries", "Webhook deliveries waiting to be sent or retried."),
    ("mash_webhook_oldest_pending_age_seconds", "Age of the oldest webhook delivery still pending."),
    ("mash_redis_up", "1 when this process reaches Redis, 0 when its circuit breaker is open."),
];

/// The label values known before any event (see [`Metrics::start_at_zero`]).
pub struct Known<'a> {
    pub agency_kinds: &'a [&'a str],
    pub levels: &'a [String],
    pub queues: &'a [String],
    pub outcomes: &'a [String],
    pub steps: &'a [String],
    pub late_reasons: &'a [String],
}

/// The instruments of one service instance.
pub struct Metrics {
    registry: prometheus::Registry,
    provider: SdkMeterProvider,
    contacts_received: Counter<u64>,
    decisions: Counter<u64>,
    late_decisions: Counter<u64>,
    steps_fired: Counter<u64>,
    breaches: Counter<u64>,
    claims_expired: Counter<u64>,
    rerates: Counter<u64>,
    reseeds: Counter<u64>,
    webhook_attempts: Counter<u64>,
    http_requests: Counter<u64>,
    budget_used: Histogram<f64>,
    decision_working: Histogram<f64>,
    feedback_working: Histogram<f64>,
    ladder_lateness: Histogram<f64>,
    reseed_duration: Histogram<f64>,
    http_duration: Histogram<f64>,
    snapshot: Arc<RwLock<Arc<Snapshot>>>,
    worker_round: Arc<AtomicI64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

fn labels(pairs: &[(&'static str, &str)]) -> Vec<KeyValue> {
    pairs.iter().map(|(k, v)| KeyValue::new(*k, (*v).to_owned())).collect()
}

fn histogram(
    meter: &Meter,
    name: &'static str,
    help: &'static str,
    unit: &'static str,
    buckets: &[f64],
) -> Histogram<f64> {
    meter.f64_histogram(name).with_description(help).with_unit(unit).with_boundaries(buckets.to_vec()).build()
}

/// A meter provider read by `registry` on scrape, and pushing over OTLP when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Names are taken as given: the contract's names
/// already carry their units and `_total`.
fn provider(registry: &prometheus::Registry) -> anyhow::Result<SdkMeterProvider> {
    let exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .without_units()
        .without_counter_suffixes()
        .without_target_info()
        .scope_info_enabled(false)
        .build()?;
    let mut builder = SdkMeterProvider::builder()
        .with_reader(exporter)
        .with_resource(Resource::builder().with_service_name("mash-triage").build());
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        builder = builder.with_periodic_exporter(opentelemetry_otlp::MetricExporter::builder().with_tonic().build()?);
    }
    Ok(builder.build())
}

/// The observable gauges: the hub-wide snapshot's, this process's last ladder round, and the
/// build info.
fn register_gauges(
    meter: &Meter,
    snapshot: &Arc<RwLock<Arc<Snapshot>>>,
    worker_round: &Arc<AtomicI64>,
    build: Vec<KeyValue>,
) {
    for (name, help) in SNAPSHOT_GAUGES {
        let snapshot = snapshot.clone();
        meter
            .f64_observable_gauge(name)
            .with_description(help)
            .with_callback(move |observer| {
                let Ok(snapshot) = snapshot.read() else { return };
                for series in snapshot.series.get(name).into_iter().flatten() {
                    let attrs: Vec<KeyValue> =
                        series.labels.iter().map(|(k, v)| KeyValue::new(*k, v.clone())).collect();
                    observer.observe(series.value, &attrs);
                }
            })
            .build();
    }
    {
        let worker_round = worker_round.clone();
        meter
            .i64_observable_gauge("mash_worker_last_round_timestamp_seconds")
            .with_description("Unix time at which this process last finished a round of the escalation ladder.")
            .with_callback(move |observer| {
                let at = worker_round.load(Ordering::Relaxed);
                if at > 0 {
                    observer.observe(at, &[]);
                }
            })
            .build();
    }
    meter
        .u64_observable_gauge("mash_build_info")
        .with_description("Always 1: the running version and the policy version it triages under.")
        .with_callback(move |observer| observer.observe(1, &build))
        .build();
}

impl Metrics {
    /// The instruments, exported to a private Prometheus registry, and over OTLP when
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is set (must then run inside the Tokio runtime).
    pub fn new(version: &str, policy_version: &str) -> anyhow::Result<Self> {
        let registry = prometheus::Registry::new();
        let provider = provider(&registry)?;
        let meter = provider.meter("mash-triage");
        let counter = |name: &'static str, help: &'static str| meter.u64_counter(name).with_description(help).build();

        let snapshot = Arc::new(RwLock::new(Arc::new(Snapshot::default())));
        let worker_round = Arc::new(AtomicI64::new(0));
        register_gauges(
            &meter,
            &snapshot,
            &worker_round,
            labels(&[("version", version), ("policy_version", policy_version)]),
        );

        Ok(Self {
            contacts_received: counter(
                "mash_contacts_received_total",
                "Contacts received, by agency kind and urgency.",
            ),
            decisions: counter(
                "mash_decisions_total",
                "Screening decisions, by urgency, queue, outcome and whether within the decision timescale.",
            ),
            late_decisions: counter(
                "mash_late_decisions_total",
                "Decisions recorded after the contact's deadline, by urgency, queue and the reason given.",
            ),
            steps_fired: counter(
                "mash_ladder_steps_fired_total",
                "Escalation ladder steps fired, by step, urgency and queue.",
            ),
            breaches: counter("mash_breaches_total", "Timescale breaches recorded, by clock, urgency and queue."),
            claims_expired: counter(
                "mash_claims_expired_total",
                "Claims that lapsed and returned a contact to its queue.",
            ),
            rerates: counter("mash_rerates_total", "Re-ratings by a manager, by direction (up, down, same)."),
            reseeds: counter(
                "mash_reseed_runs_total",
                "Rebuilds of the Redis ladder index from PostgreSQL, by result.",
            ),
            webhook_attempts: counter(
                "mash_webhook_delivery_attempts_total",
                "Webhook delivery attempts, by result (delivered, rejected by the receiver, failed).",
            ),
            http_requests: counter("mash_http_requests_total", "HTTP requests, by route template, method and status."),
            budget_used: histogram(
                &meter,
                "mash_decision_budget_used_ratio",
                "Decision time as a fraction of the contact's decision budget (1 = at the deadline).",
                "1",
                &BUDGET_BUCKETS,
            ),
            decision_working: histogram(
                &meter,
                "mash_decision_working_seconds",
                "Working time from receipt to decision.",
                "s",
                &WORKING_BUCKETS,
            ),
            feedback_working: histogram(
                &meter,
                "mash_feedback_working_seconds",
                "Working time from decision to the referrer being told.",
                "s",
                &WORKING_BUCKETS,
            ),
            ladder_lateness: histogram(
                &meter,
                "mash_ladder_lateness_seconds",
                "How late an escalation step fired: fired minus due.",
                "s",
                &LATENESS_BUCKETS,
            ),
            reseed_duration: histogram(
                &meter,
                "mash_reseed_duration_seconds",
                "How long a rebuild of the Redis ladder index took.",
                "s",
                &RESEED_BUCKETS,
            ),
            http_duration: histogram(
                &meter,
                "mash_http_request_duration_seconds",
                "HTTP request latency, by route template and method.",
                "s",
                &HTTP_BUCKETS,
            ),
            registry,
            provider,
            snapshot,
            worker_round,
        })
    }

    /// Creates every business counter's series at zero for the label values known in advance
    /// (the policy's levels, queues, outcomes and ladder steps; the agency kinds), so dashboards
    /// and alerts see a 0, not an absent series, before the first event, and `increase()`
    /// counts the first one.
    pub fn start_at_zero(&self, known: &Known<'_>) {
        for kind in known.agency_kinds {
            for urgency in known.levels {
                self.contacts_received.add(0, &labels(&[("agency_kind", kind), ("urgency", urgency)]));
            }
        }
        for urgency in known.levels {
            for queue in known.queues {
                for outcome in known.outcomes {
                    for within in ["true", "false"] {
                        let l = [
                            ("urgency", urgency.as_str()),
                            ("queue", queue),
                            ("outcome", outcome),
                            ("within_timescale", within),
                        ];
                        self.decisions.add(0, &labels(&l));
                    }
                }
                for reason in known.late_reasons {
                    let l = [("urgency", urgency.as_str()), ("queue", queue), ("late_reason", reason)];
                    self.late_decisions.add(0, &labels(&l));
                }
                for step in known.steps {
                    self.steps_fired.add(0, &labels(&[("step", step), ("urgency", urgency), ("queue", queue)]));
                }
                for clock in ["decision", "authorisation", "feedback"] {
                    self.breaches.add(0, &labels(&[("clock", clock), ("urgency", urgency), ("queue", queue)]));
                }
            }
        }
        for queue in known.queues {
            self.claims_expired.add(0, &labels(&[("queue", queue)]));
        }
        for direction in ["up", "down", "same"] {
            self.rerates.add(0, &labels(&[("direction", direction)]));
        }
        for result in ["ok", "error"] {
            self.reseeds.add(0, &labels(&[("result", result)]));
        }
        for result in ["delivered", "rejected", "failed"] {
            self.webhook_attempts.add(0, &labels(&[("result", result)]));
        }
    }

    /// The Prometheus text exposition of every instrument.
    pub fn render(&self) -> String {
        use prometheus::Encoder as _;
        let mut text = Vec::new();
        if let Err(err) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::warn!(error = %err, "could not encode metrics");
        }
        String::from_utf8(text).unwrap_or_default()
    }

    /// Replaces the hub-wide gauges.
    pub fn set_snapshot(&self, snapshot: Arc<Snapshot>) {
        if let Ok(mut current) = self.snapshot.write() {
            *current = snapshot;
        }
    }

    /// Flushes and stops the OTLP export, if any. Blocks briefly.
    pub fn shutdown(&self) {
        if let Err(err) = self.provider.shutdown() {
            tracing::debug!(error = %err, "meter provider did not shut down cleanly");
        }
    }

    pub fn contact_received(&self, agency_kind: &str, urgency: &str) {
        self.contacts_received.add(1, &labels(&[("agency_kind", agency_kind), ("urgency", urgency)]));
    }

    /// A decision: `budget_used` is the fraction of the decision budget used, `working_seconds`
    /// the working time since receipt.
    pub fn decision(&self, urgency: &str, queue: &str, outcome: &str, budget_used: f64, working_seconds: f64) {
        // At the deadline itself the breach step fires: a decision then is late.
        let within = budget_used < 1.0;
        self.decisions.add(
            1,
            &labels(&[
                ("urgency", urgency),
                ("queue", queue),
                ("outcome", outcome),
                ("within_timescale", if within { "true" } else { "false" }),
            ]),
        );
        let by = labels(&[("urgency", urgency), ("queue", queue)]);
        self.budget_used.record(budget_used, &by);
        self.decision_working.record(working_seconds, &by);
    }

    /// A decision recorded after its deadline, with the policy's reason for it.
    pub fn late_decision(&self, urgency: &str, queue: &str, reason: &str) {
        self.late_decisions.add(1, &labels(&[("urgency", urgency), ("queue", queue), ("late_reason", reason)]));
    }

    pub fn feedback_given(&self, urgency: &str, working_seconds: f64) {
        self.feedback_working.record(working_seconds, &labels(&[("urgency", urgency)]));
    }

    pub fn step_fired(&self, step: &str, urgency: &str, queue: &str, lateness_seconds: f64) {
        self.steps_fired.add(1, &labels(&[("step", step), ("urgency", urgency), ("queue", queue)]));
        self.ladder_lateness.record(lateness_seconds.max(0.0), &labels(&[("step", step)]));
    }

    pub fn breach(&self, clock: &str, urgency: &str, queue: &str) {
        self.breaches.add(1, &labels(&[("clock", clock), ("urgency", urgency), ("queue", queue)]));
    }

    pub fn claim_expired(&self, queue: &str) {
        self.claims_expired.add(1, &labels(&[("queue", queue)]));
    }

    /// `direction`: `up`, `down` or `same`.
    pub fn rerate(&self, direction: &str) {
        self.rerates.add(1, &labels(&[("direction", direction)]));
    }

    pub fn reseed(&self, ok: bool, seconds: f64) {
        self.reseeds.add(1, &labels(&[("result", if ok { "ok" } else { "error" })]));
        if ok {
            self.reseed_duration.record(seconds, &[]);
        }
    }

    /// `result`: `delivered`, `rejected` (the receiver answered 4xx) or `failed`.
    pub fn webhook_attempt(&self, result: &str) {
        self.webhook_attempts.add(1, &labels(&[("result", result)]));
    }

    pub fn http_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        self.http_requests.add(1, &labels(&[("route", route), ("method", method), ("status", &status)]));
        self.http_duration.record(seconds, &labels(&[("route", route), ("method", method)]));
    }

    /// This process finished a ladder round at `unix_seconds`.
    pub fn worker_round(&self, unix_seconds: i64) {
        self.worker_round.store(unix_seconds, Ordering::Relaxed);
    }
}
