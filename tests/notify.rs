//! The notifiers against real receivers on 127.0.0.1: an HTTP server that records requests
//! (webhook, Slack, Discord, ntfy, Twilio) and a real SMTP server (aiosmtpd). Most tests drive
//! the real `night notify --test`; the dispatcher tests use the library as `night run` does.

mod support;

use base64::Engine as _;
use night::ast::{Event, Notifier};
use night::notify::{Delivery, Dispatcher, Message, Settings};
use night::source::{Source, Spanned};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::http_receiver::{Receiver, Reply};
use support::{closed_port, runbook, Certs, Repo, SmtpSink};

const SUMMARY: &str = "nightly-auth: test notification from night: this notifier works";
const DETAIL: &str = "sent by `night notify --test`; a real run sends its outcome here";
const FACTS: &str = "branch night/auth-test · 0 attempts · 0s";
const WAIT: Duration = Duration::from_secs(10);

// ------------------------------------------------------------ channels ----

#[test]
fn webhook_receives_the_message_as_json() {
    let receiver = Receiver::start();
    let repo = Repo::with_runbook(&runbook(&format!("  webhook \"{}\" on start", receiver.url("/hooks/night"))));
    let run = repo.notify_test(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("webhook ({}): delivered\n", receiver.host())), "{run:?}");
    assert!(run.stdout.ends_with("1 of 1 delivered\n"), "{run:?}");

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/hooks/night"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("x-night-event"), Some("end"));
    assert!(request.header("user-agent").is_some_and(|ua| ua.starts_with("night/")));
    let body = request.json();
    let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "event", "outcome", "run_id", "name", "branch", "started_at", "at", "elapsed_seconds", "attempt", "attempts", "checks", "tokens",
        "cost_usd", "report", "summary", "detail",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected, "the documented schema, nothing more");
    assert_eq!(body["event"], "end");
    assert_eq!(body["outcome"], serde_json::Value::Null);
    assert_eq!(body["run_id"], "nightly-auth-test");
    assert_eq!(body["name"], "nightly-auth");
    assert_eq!(body["branch"], "night/auth-test");
    assert_eq!(body["summary"], SUMMARY);
    assert_eq!(body["detail"], DETAIL);
    assert_eq!(body["checks"], serde_json::json!([]));
    assert!(body["at"].as_str().unwrap().ends_with('Z'));
    // It is the library's Message, field for field.
    let message: Message = serde_json::from_value(body).unwrap();
    assert_eq!(message.event, Event::End);
}

#[test]
fn slack_and_discord_get_their_own_payloads() {
    let receiver = Receiver::start();
    let repo = Repo::with_runbook(&runbook("  slack env.NIGHT_TEST_SLACK\n  discord env.NIGHT_TEST_DISCORD"));
    let slack = receiver.url("/services/T0000/B0000/slacksecrettoken");
    let discord = receiver.url("/api/webhooks/123/discordsecrettoken");
    let run = repo.notify_test(&[("NIGHT_TEST_SLACK", &slack), ("NIGHT_TEST_DISCORD", &discord)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("slack ({}): delivered", receiver.host())), "{run:?}");
    assert!(run.stdout.contains(&format!("discord ({}): delivered", receiver.host())), "{run:?}");
    assert!(!run.all().contains("secrettoken"), "{run:?}");

    let requests = receiver.requests();
    let to = |path: &str| requests.iter().find(|r| r.path == path).unwrap_or_else(|| panic!("nothing posted to {path}: {requests:?}"));
    let slack = to("/services/T0000/B0000/slacksecrettoken");
    assert_eq!(slack.header("content-type"), Some("application/json"));
    assert_eq!(slack.json(), serde_json::json!({ "text": format!("*{SUMMARY}*\n{DETAIL}\n{FACTS}") }));
    let discord = to("/api/webhooks/123/discordsecrettoken");
    assert_eq!(
        discord.json(),
        serde_json::json!({ "content": format!("**{SUMMARY}**\n{DETAIL}\n{FACTS}"), "allowed_mentions": { "parse": [] } })
    );
}

#[test]
fn ntfy_posts_text_with_title_priority_and_tags() {
    let receiver = Receiver::start();
    let server = receiver.url("");
    let repo = Repo::with_runbook(&runbook(&format!("  ntfy \"night-runs\" server \"{server}\"")));
    let run = repo.notify_test(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("ntfy ({}): delivered", receiver.host())), "{run:?}");
    let requests = receiver.requests();
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/night-runs"));
    assert_eq!(request.header("title"), Some("night: nightly-auth end"));
    assert_eq!(request.header("priority"), Some("default"));
    assert_eq!(request.header("tags"), Some("bell"));
    assert_eq!(request.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(request.header("authorization"), None);
    assert_eq!(request.text(), format!("{SUMMARY}\n{DETAIL}\n{FACTS}"));
}

#[test]
fn ntfy_server_credentials_become_basic_auth() {
    let receiver = Receiver::start();
    let server = receiver.url("").replace("http://", "http://alice:ntfy-pass-123@");
    let repo = Repo::with_runbook(&runbook("  ntfy env.NIGHT_TEST_TOPIC server env.NIGHT_TEST_NTFY"));
    let run = repo.notify_test(&[("NIGHT_TEST_TOPIC", "secret-topic-42"), ("NIGHT_TEST_NTFY", &server)]);
    assert_eq!(run.code, 0, "{run:?}");
    let request = &receiver.requests()[0];
    assert_eq!(request.path, "/secret-topic-42");
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice:ntfy-pass-123"));
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
    assert!(!run.all().contains("ntfy-pass-123") && !run.all().contains("secret-topic-42"), "{run:?}");
}

#[test]
fn twilio_gets_a_form_with_basic_auth() {
    let receiver = Receiver::start();
    receiver.otherwise(Reply::Status(201, r#"{"sid": "SM1", "status": "queued"}"#.into()));
    let repo = Repo::with_runbook(&runbook("  sms \"+15550100\" via twilio \"AC0123456789\" env.NIGHT_TEST_TWILIO_TOKEN from \"+15550199\""));
    let run = repo.notify_test(&[("NIGHT_TEST_TWILIO_TOKEN", "twilio-token-secret"), ("NIGHT_TWILIO_API_BASE", &receiver.url(""))]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("sms (+15550100 via twilio): delivered"), "{run:?}");
    let request = &receiver.requests()[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/2010-04-01/Accounts/AC0123456789/Messages.json"));
    assert_eq!(request.header("content-type"), Some("application/x-www-form-urlencoded"));
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("AC0123456789:twilio-token-secret"));
    assert_eq!(request.header("authorization"), Some(expected.as_str()));
    let form = request.form();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(field("To"), Some("+15550100"));
    assert_eq!(field("From"), Some("+15550199"));
    assert_eq!(field("Body"), Some(format!("{SUMMARY}\n{DETAIL}").as_str()));
    assert_eq!(form.len(), 3);
    assert!(!run.all().contains("twilio-token-secret"), "{run:?}");
}

#[test]
fn command_gets_the_night_variables_in_the_runbook_folder() {
    let repo = Repo::with_runbook(&runbook(
        r#"  command "printf '%s|%s|%s|%s|%s' \"$NIGHT_EVENT\" \"$NIGHT_OUTCOME\" \"$NIGHT_RUN_ID\" \"$NIGHT_REPORT\" \"$NIGHT_SUMMARY\" > notified.txt""#,
    ));
    let elsewhere = tempfile::tempdir().unwrap();
    let runbook_path = repo.runbook();
    let run = support::night(elsewhere.path(), &["notify", "--test", runbook_path.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{run:?}");
    let written = std::fs::read_to_string(repo.dir.path().join("notified.txt")).expect("the command ran in the runbook's folder");
    assert_eq!(written, format!("end||nightly-auth-test||{SUMMARY}"));
}

// --------------------------------------------------------------- email ----

#[test]
fn email_over_plain_smtp_with_auth() {
    let Some(sink) = SmtpSink::start(&["--user", "night@example.com", "--password", "mail-pass-9"]) else { return };
    let repo = Repo::with_runbook(&runbook("  email \"me@example.com\" via env.NIGHT_TEST_SMTP"));
    let url = format!("smtp://night%40example.com:mail-pass-9@127.0.0.1:{}", sink.port);
    let run = repo.notify_test(&[("NIGHT_TEST_SMTP", &url)]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("email (me@example.com via 127.0.0.1:{}): delivered", sink.port)), "{run:?}");
    assert!(!run.all().contains("mail-pass-9"), "{run:?}");
    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail["mail_from"], "night@example.com");
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["me@example.com"]));
    assert_eq!(mail["login"], "night@example.com");
    assert_eq!(mail["tls"], false, "the sink offers no STARTTLS, and 127.0.0.1 may go without");
    let data = mail["data"].as_str().unwrap().replace("\r\n", "\n");
    assert!(data.contains("To: me@example.com\n"), "{data}");
    assert!(data.contains("Content-Type: text/plain; charset=utf-8\n"), "{data}");
    assert_eq!(mail["subject"], "night: nightly-auth end");
    let body = mail["body"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(body.trim_end(), format!("{SUMMARY}\n{DETAIL}\n{FACTS}\n\n-- \nsent by night (nightly-auth-test)"));
}

#[test]
fn email_wrong_password_fails_without_retrying_or_leaking() {
    let Some(sink) = SmtpSink::start(&["--user", "night@example.com", "--password", "right-pass"]) else { return };
    let repo = Repo::with_runbook(&runbook("  email \"me@example.com\" via env.NIGHT_TEST_SMTP"));
    let url = format!("smtp://night%40example.com:wrong-pass-77@127.0.0.1:{}", sink.port);
    let run = repo.notify_test(&[("NIGHT_TEST_SMTP", &url)]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&format!("email (me@example.com via 127.0.0.1:{}): failed: smtp 127.0.0.1:{}: permanent error (535)", sink.port, sink.port)), "{run:?}");
    assert!(!run.all().contains("wrong-pass-77"), "{run:?}");
    assert!(sink.mails().is_empty());
}

#[test]
fn email_with_starttls_and_with_implicit_tls() {
    let Some(certs) = Certs::make() else { return };
    let (cert, key) = (certs.cert(), certs.key());
    let Some(starttls) = SmtpSink::start(&["--user", "u", "--password", "p", "--starttls", &cert, &key]) else { return };
    let Some(implicit) = SmtpSink::start(&["--user", "u", "--password", "p", "--implicit-tls", &cert, &key]) else { return };
    let repo = Repo::with_runbook(&runbook("  email \"a@example.com\" via env.NIGHT_TEST_STARTTLS\n  email \"b@example.com\" via env.NIGHT_TEST_SMTPS"));
    let run = repo.notify_test(&[
        ("NIGHT_TEST_STARTTLS", &format!("smtp://u:p@127.0.0.1:{}?tls=required&from=night@example.com", starttls.port)),
        ("NIGHT_TEST_SMTPS", &format!("smtps://u:p@127.0.0.1:{}", implicit.port)),
        ("NIGHT_NOTIFY_CA_FILE", &certs.ca()),
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let (a, b) = (starttls.mails(), implicit.mails());
    assert_eq!((a.len(), b.len()), (1, 1), "{run:?}");
    assert_eq!(a[0]["tls"], true);
    assert_eq!(a[0]["mail_from"], "night@example.com");
    assert_eq!(b[0]["tls"], true);
    assert_eq!(b[0]["mail_from"], "b@example.com", "without a sender, the recipient sends to itself");
}

#[test]
fn required_starttls_refuses_a_server_without_it() {
    let Some(sink) = SmtpSink::start(&["--user", "u", "--password", "plain-text-pass"]) else { return };
    let repo = Repo::with_runbook(&runbook("  email \"me@example.com\" via env.NIGHT_TEST_SMTP"));
    let run = repo.notify_test(&[("NIGHT_TEST_SMTP", &format!("smtp://u:plain-text-pass@127.0.0.1:{}?tls=required", sink.port))]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("email (me@example.com via 127.0.0.1:"), "{run:?}");
    assert!(run.stdout.to_lowercase().contains("tls"), "the error says TLS was missing: {run:?}");
    assert!(sink.mails().is_empty(), "nothing was sent in plain text");
}

// ------------------------------------------------------------ failures ----

#[test]
fn connection_refused_is_retried_then_reported() {
    let port = closed_port();
    let repo = Repo::with_runbook(&runbook(&format!("  webhook \"http://127.0.0.1:{port}/hook\"\n  command \"true\"")));
    let run = repo.notify_test(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains(&format!("webhook (127.0.0.1:{port}): failed after 3 tries: cannot connect to 127.0.0.1:{port}: Connection refused")),
        "{run:?}"
    );
    assert!(run.stdout.contains("command (`true`): delivered"), "{run:?}");
    assert!(run.stdout.ends_with("1 of 2 delivered\n"), "{run:?}");
}

#[test]
fn a_stalled_server_times_out() {
    let receiver = Receiver::start();
    receiver.otherwise(Reply::Stall(Duration::from_secs(5)));
    let repo = Repo::with_runbook(&runbook(&format!("  webhook \"{}\"", receiver.url("/slow"))));
    let run = repo.notify_test(&[("NIGHT_NOTIFY_TIMEOUT_MS", "300")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&format!("webhook ({}): failed after 3 tries: timed out after 300ms", receiver.host())), "{run:?}");
    assert_eq!(receiver.requests().len(), 3);
    assert!(run.elapsed < Duration::from_secs(4), "three tries of 300 ms, not the server's 5 s: {:?}", run.elapsed);
}

#[test]
fn a_command_past_the_timeout_is_killed_with_its_children() {
    let repo = Repo::with_runbook(&runbook(r#"  command "sleep 30 & echo $! >> sleepers; wait""#));
    let run = repo.notify_test(&[("NIGHT_NOTIFY_TIMEOUT_MS", "300")]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("command (`sleep 30 & echo $! >> sleepers; wait`): failed after 3 tries: timed out after 300ms"), "{run:?}");
    let sleepers = std::fs::read_to_string(repo.dir.path().join("sleepers")).unwrap();
    assert_eq!(sleepers.lines().count(), 3);
    std::thread::sleep(Duration::from_millis(100));
    for pid in sleepers.lines() {
        let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(status.is_empty() || status.contains(") Z "), "`sleep` {pid} outlived its notifier: {status}");
    }
}

#[test]
fn a_500_then_success_is_retried() {
    let receiver = Receiver::start();
    receiver.then(Reply::Status(500, "boom".into()));
    let repo = Repo::with_runbook(&runbook(&format!("  webhook \"{}\"", receiver.url("/flaky"))));
    let run = repo.notify_test(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains(&format!("webhook ({}): delivered after 2 tries", receiver.host())), "{run:?}");
    assert_eq!(receiver.requests().len(), 2);
}

#[test]
fn a_404_is_not_retried() {
    let receiver = Receiver::start();
    receiver.otherwise(Reply::Status(404, "no such hook".into()));
    let repo = Repo::with_runbook(&runbook(&format!("  discord \"{}\"", receiver.url("/gone"))));
    let run = repo.notify_test(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&format!("discord ({}): failed: HTTP 404 Not Found: no such hook", receiver.host())), "{run:?}");
    assert_eq!(receiver.requests().len(), 1);
}

#[test]
fn an_unresolvable_host_fails() {
    // `.invalid` never resolves (RFC 2606): no traffic leaves the machine but the lookup.
    let repo = Repo::with_runbook(&runbook("  webhook \"http://nonexistent.invalid/hook\""));
    let run = repo.notify_test(&[("NIGHT_NOTIFY_TIMEOUT_MS", "5000")]);
    assert_eq!(run.code, 1, "{run:?}");
    // Where the resolver cannot be reached at all, the look-up times out instead.
    let refused = run.stdout.contains("webhook (nonexistent.invalid): failed after 3 tries: cannot connect to nonexistent.invalid: ");
    let timed_out = run.stdout.contains("webhook (nonexistent.invalid): failed after 3 tries: timed out after 5s");
    assert!(refused || timed_out, "{run:?}");
}

#[test]
fn secrets_never_appear_even_when_the_server_echoes_them() {
    let receiver = Receiver::start();
    let secret_path = "/services/T0/B0/echoed-secret-token-5150";
    receiver.otherwise(Reply::Status(400, format!("invalid_token for {} at {secret_path}", receiver.url(secret_path))));
    let repo = Repo::with_runbook(&runbook("  slack env.NIGHT_TEST_SLACK\n  sms \"+1555\" via twilio env.NIGHT_TEST_SID env.NIGHT_TEST_TOKEN from \"+1556\""));
    let run = repo.notify_test(&[
        ("NIGHT_TEST_SLACK", &receiver.url(secret_path)),
        ("NIGHT_TEST_SID", "ACsecretsid0001"),
        ("NIGHT_TEST_TOKEN", "sms-token-0002"),
        ("NIGHT_TWILIO_API_BASE", &format!("http://127.0.0.1:{}", closed_port())),
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains(&format!("slack ({}): failed: HTTP 400 Bad Request: invalid_token for ", receiver.host())), "{run:?}");
    for secret in ["echoed-secret-token-5150", "ACsecretsid0001", "sms-token-0002"] {
        assert!(!run.all().contains(secret), "`{secret}` leaked: {run:?}");
    }
}

// ---------------------------------------------------------- exit codes ----

#[test]
fn exit_2_when_the_runbook_cannot_be_read_or_has_no_notifiers() {
    let repo = Repo::with_runbook(&runbook("  command \"true\""));
    let run = support::night(repo.dir.path(), &["notify", "--test", "missing.night"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("error[unreadable]: cannot read `missing.night`: no such file"), "{run:?}");

    std::fs::write(repo.dir.path().join("bare.night"), "name \"bare\"\n").unwrap();
    let run = support::night(repo.dir.path(), &["notify", "--test", "bare.night"], &[]);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("has no `notify` block to test"), "{run:?}");

    let run = support::night(repo.dir.path(), &["notify", "t.night"], &[]);
    assert_eq!(run.code, 2, "`--test` is required: {run:?}");
}

#[test]
fn an_unset_variable_fails_that_notifier_only() {
    let repo = Repo::with_runbook(&runbook("  slack env.NIGHT_TEST_NEVER_SET\n  command \"true\""));
    let run = repo.notify_test(&[]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("slack (env.NIGHT_TEST_NEVER_SET): failed: environment variable `NIGHT_TEST_NEVER_SET` is not set"), "{run:?}");
    assert!(run.stdout.contains("command (`true`): delivered"), "{run:?}");
}

#[test]
fn other_runbook_errors_do_not_stop_the_test() {
    let receiver = Receiver::start();
    let text = format!("name \"half-done\"\ntask {{ prompt \"later\" }}\nnotify {{\n  webhook \"{}\" on start\n}}\n", receiver.url("/h"));
    let repo = Repo::with_runbook(&text);
    let run = repo.notify_test(&[]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("outside `notify` (`night check` shows them); testing the notifiers anyway"), "{run:?}");
    assert_eq!(receiver.requests().len(), 1, "sent despite `on start`: a test goes through every notifier");
}

// ---------------------------------------------------------- dispatcher ----

fn notifiers(lines: &str) -> Vec<Spanned<Notifier>> {
    let source = Source::new("t.night", format!("notify {{\n{lines}\n}}\n"));
    night::syntax::parse(&source).runbook.notify.expect("a notify block").notifiers
}

fn message(event: Event) -> Message {
    let mut message = night::notify::test_message("auth-jwt", "night/auth-jwt/1");
    message.event = event;
    message.outcome = matches!(event, Event::End).then(|| "success".to_string());
    message.summary = format!("auth-jwt: {event}");
    message
}

/// Wait (without blocking the runtime) until `done`, at most 10 s.
async fn until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

type Log = Arc<Mutex<Vec<Delivery>>>;
type OnDelivery = Box<dyn Fn(&Delivery) + Send + Sync>;

fn recorder() -> (Log, OnDelivery) {
    let log: Log = Arc::default();
    let sink = Arc::clone(&log);
    (log, Box::new(move |delivery: &Delivery| sink.lock().unwrap().push(delivery.clone())))
}

fn quick() -> Settings {
    Settings { timeout: Duration::from_secs(5), backoff: vec![Duration::from_millis(20), Duration::from_millis(80)], ..Settings::default() }
}

#[tokio::test]
async fn the_dispatcher_routes_by_event_and_reports_each_delivery_once() {
    let (a, b) = (Receiver::start(), Receiver::start());
    let lines = format!("  webhook \"{}\" on start end\n  webhook \"{}\"", a.url("/a"), b.url("/b"));
    let (log, on_delivery) = recorder();
    let dispatcher = Dispatcher::with_settings(&notifiers(&lines), &|_| None, on_delivery, quick()).unwrap();
    dispatcher.notify(message(Event::Start));
    dispatcher.notify(message(Event::Attempt));
    dispatcher.notify(message(Event::End));
    let deliveries = dispatcher.flush(WAIT).await;
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    assert!(deliveries.iter().all(|d| d.delivered && d.tries == 1 && d.error.is_none()), "{deliveries:?}");
    let events = |r: &Receiver| r.requests().iter().map(|q| q.json()["event"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(events(&a), ["start", "end"]);
    assert_eq!(events(&b), ["end"], "default `on end`");
    assert_eq!(log.lock().unwrap().len(), 3);
    assert!(dispatcher.flush(WAIT).await.is_empty(), "a flush returns what was queued since the last one");
}

#[tokio::test]
async fn an_end_is_one_message_per_notifier_for_its_most_specific_event() {
    let receiver = Receiver::start();
    let lines = ["/end", "/failure", "/stuck", "/success"]
        .map(|path| format!("  webhook \"{}\" on {}", receiver.url(path), if path == "/end" { "end" } else { &path[1..] }))
        .join("\n")
        + &format!("\n  webhook \"{}\" on end failure stuck", receiver.url("/all"));
    let dispatcher = Dispatcher::with_settings(&notifiers(&lines), &|_| None, Box::new(|_| {}), quick()).unwrap();
    let mut stuck = message(Event::End);
    stuck.outcome = Some("stuck".into());
    dispatcher.notify_end(stuck);
    let deliveries = dispatcher.flush(WAIT).await;
    assert_eq!(deliveries.len(), 4, "{deliveries:?}");
    let mut got: Vec<(String, String)> =
        receiver.requests().iter().map(|r| (r.path.clone(), r.json()["event"].as_str().unwrap().to_string())).collect();
    got.sort();
    let expected = [("/all", "stuck"), ("/end", "end"), ("/failure", "failure"), ("/stuck", "stuck")];
    assert_eq!(got, expected.map(|(p, e)| (p.to_string(), e.to_string())));
}

#[tokio::test]
async fn the_dispatcher_never_blocks_and_gives_up_at_exit() {
    let stalled = Receiver::start();
    stalled.otherwise(Reply::Stall(Duration::from_secs(5)));
    let lines = format!("  webhook \"{}\"", stalled.url("/slow"));
    let (log, on_delivery) = recorder();
    let dispatcher = Dispatcher::with_settings(&notifiers(&lines), &|_| None, on_delivery, quick()).unwrap();
    let started = Instant::now();
    dispatcher.notify(message(Event::End));
    assert!(started.elapsed() < Duration::from_millis(100), "notify returned at once");
    until(|| !stalled.requests().is_empty()).await;
    let deliveries = dispatcher.flush(Duration::from_millis(300)).await;
    assert!(started.elapsed() < Duration::from_secs(2), "flush waited at most its bound: {:?}", started.elapsed());
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!((delivery.delivered, delivery.tries, delivery.error.as_deref()), (false, 1, Some("timed out waiting at exit")));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(*log.lock().unwrap(), deliveries, "reported once, as given up");
}

#[tokio::test]
async fn a_failed_delivery_is_reported_with_its_tries() {
    let port = closed_port();
    let (log, on_delivery) = recorder();
    let dispatcher =
        Dispatcher::with_settings(&notifiers(&format!("  webhook \"http://127.0.0.1:{port}/x\" on failure")), &|_| None, on_delivery, quick())
            .unwrap();
    dispatcher.notify(message(Event::Failure));
    let deliveries = dispatcher.flush(WAIT).await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].tries, 3);
    assert_eq!(deliveries[0].event, Event::Failure);
    assert_eq!(deliveries[0].notifier, format!("webhook (127.0.0.1:{port})"));
    assert!(deliveries[0].error.as_deref().unwrap().starts_with(&format!("cannot connect to 127.0.0.1:{port}:")), "{deliveries:?}");
    assert_eq!(*log.lock().unwrap(), deliveries);
}

#[test]
fn the_dispatcher_lists_every_unset_variable() {
    let lines = "  slack env.NIGHT_A\n  sms \"+1\" via twilio env.NIGHT_B env.NIGHT_C from \"+2\"\n  discord env.NIGHT_A";
    let env = |name: &str| (name == "NIGHT_B").then(|| "ACset".to_string());
    let error = Dispatcher::new(&notifiers(lines), &env, Box::new(|_| {})).unwrap_err();
    assert_eq!(error.unset, ["NIGHT_A", "NIGHT_C"]);
    assert_eq!(error.to_string(), "environment variables `NIGHT_A`, `NIGHT_C` are not set");
}

#[test]
fn the_dispatcher_refuses_a_bad_url_without_showing_it() {
    let env = |_: &str| Some("ftp://user:hunter22@example.com/x".to_string());
    let error = Dispatcher::new(&notifiers("  webhook env.NIGHT_HOOK"), &env, Box::new(|_| {})).unwrap_err();
    assert_eq!(error.to_string(), "the webhook URL (from `env.NIGHT_HOOK`) must start with `https://` or `http://`, not `ftp:`");
}

#[tokio::test]
async fn secrets_are_listed_and_scrubbed_from_messages() {
    let receiver = Receiver::start();
    let url = receiver.url("/hook/secret-path-token");
    let env = |name: &str| (name == "NIGHT_HOOK").then(|| url.clone());
    let dispatcher = Dispatcher::with_settings(&notifiers("  webhook env.NIGHT_HOOK"), &env, Box::new(|_| {}), quick()).unwrap();
    assert!(dispatcher.secrets().contains(&url));
    assert!(dispatcher.secrets().iter().any(|s| s == "/hook/secret-path-token"));
    assert_eq!(dispatcher.env_names(), ["NIGHT_HOOK"]);
    assert_eq!(dispatcher.notifiers(), [format!("webhook ({})", receiver.host())]);
    let mut leaky = message(Event::End);
    leaky.detail = Some(format!("the agent printed {url}"));
    dispatcher.notify(leaky);
    dispatcher.flush(WAIT).await;
    let body = receiver.requests()[0].text();
    assert!(!body.contains("secret-path-token"), "{body}");
    assert!(body.contains(&format!("the agent printed http://{}/…", receiver.host())), "{body}");
}

#[test]
fn notify_works_outside_any_runtime_and_survives_a_panicking_journal() {
    let receiver = Receiver::start();
    let lines = format!("  webhook \"{}\"", receiver.url("/x"));
    let dispatcher =
        Dispatcher::with_settings(&notifiers(&lines), &|_| None, Box::new(|_| panic!("the journal is broken")), quick()).unwrap();
    dispatcher.notify(message(Event::End));
    assert_eq!(receiver.wait_for(1, WAIT).len(), 1);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let deliveries = runtime.block_on(dispatcher.flush(WAIT));
    assert!(deliveries[0].delivered, "{deliveries:?}");
}
