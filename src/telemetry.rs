//! Logs and traces.
//!
//! Log lines and spans carry ids, codes and counts only: never names, dates of birth, NHS
//! numbers, addresses or narrative (see `docs/LOGGING.md`; a test scans captured logs). Traces
//! are exported over OTLP/gRPC when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the exporter reads the
//! standard `OTEL_*` variables itself).

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::{LogFormat, TelemetrySettings};

/// Keeps the trace exporter alive; call [`Telemetry::shutdown`] before exit to flush it.
pub struct Telemetry {
    tracer_provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the exporter. Blocks briefly.
    pub fn shutdown(self) {
        if let Some(provider) = self.tracer_provider
            && let Err(err) = provider.shutdown()
        {
            tracing::warn!(error = %err, "trace exporter did not shut down cleanly");
        }
    }
}

/// Installs the global subscriber. Must run inside the Tokio runtime (the gRPC exporter needs it).
pub fn init(settings: &TelemetrySettings) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env().or_else(|_| EnvFilter::try_new(&settings.log_filter))?;
    let tracer_provider = if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
        let exporter = opentelemetry_otlp::SpanExporter::builder().with_tonic().build()?;
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name("mash-triage").build())
                .build(),
        )
    } else {
        None
    };
    let otel = tracer_provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("mash-triage")));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    match settings.log_format {
        LogFormat::Json => registry.with(tracing_subscriber::fmt::layer().json().flatten_event(true)).try_init()?,
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer()).try_init()?,
    }
    Ok(Telemetry { tracer_provider })
}
