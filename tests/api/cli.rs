//! The `mash-triage` binary itself: configuration errors, signals, the spec and key commands.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use crate::helpers::{admin_url, redis_url, spawn_app, with_database};

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
        .env("DATABASE_URL", with_database(&admin_url(), &app.db_name))
        .env("REDIS_URL", redis_url())
        .env("MASH_LISTEN", format!("127.0.0.1:{port}"))
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
    let db = with_database(&admin_url(), &app.db_name);
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
async fn traces_are_exported_over_otlp_when_an_endpoint_is_set() {
    use tokio::io::AsyncReadExt;

    let app = spawn_app().await;
    // A stand-in collector: it records what the exporter sends (gRPC starts with the HTTP/2
    // connection preface) and never answers, which is enough to see that spans were exported.
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let received = tokio::spawn(async move {
        let (mut socket, _) = collector.accept().await.unwrap();
        let mut buf = vec![0u8; 24];
        socket.read_exact(&mut buf).await.unwrap();
        buf
    });

    let (mut child, _) = start_serve(
        &app,
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_BSP_SCHEDULE_DELAY", "100")],
        "/health/live",
    )
    .await;
    let preface = tokio::time::timeout(Duration::from_secs(10), received).await;
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    child.wait().unwrap();
    let preface = preface.expect("the exporter connected within 10 s").unwrap();
    assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "the exporter speaks gRPC (HTTP/2)");
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
    assert!(String::from_utf8_lossy(&ok.stdout).contains("version default-2026.1+sha256:"));

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
