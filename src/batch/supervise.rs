//! The batch supervisor's loop: at most `jobs` runs at once, each `night run` (or, after a
//! SIGKILL, `night resume RUN`) in a process and process group of its own; the rest wait in
//! the order given. A signal (Ctrl-C, SIGTERM from `night stop BATCH`, SIGHUP) starts no new
//! run and goes on to every run as SIGTERM, which ends each cleanly (checks, report,
//! notifications); a second one goes on too (the runs skip their checks). With a terminal's
//! status lines or a budget, twice a second it reads each live run's journal: the status lines,
//! and what each run has spent (`spent.json`, the batch budget's pool).
//!
//! Between those it sleeps until something happens: a signal, or a run's output closing (it
//! ended), each of which writes a byte to a socket the loop waits on; once a second at most
//! otherwise, for runs it did not start (adopted after a resume) and runs whose output another
//! process still holds. A batch of eight idle runs wakes it about once a second, not ten times.

use crate::record::journal::Tail;
use crate::record::{BatchDir, BatchEvent, BatchHistory, History, Member, RunsDir};
use crate::report::status::Status;
use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Receives one line of text.
pub type Sink = Arc<dyn Fn(&str) + Send + Sync>;

/// Receives a live run's status line: its member index, its label, the line.
pub type StatusSink = Arc<dyn Fn(usize, &str, &str) + Send + Sync>;

/// How the batch supervisor starts its runs, and where it says what they do.
pub struct Launch {
    /// night's own executable.
    pub exe: PathBuf,
    /// Every line the runs print, prefixed with their label.
    pub lines: Sink,
    /// Each live run's status, twice a second: member index, label, the status line.
    pub status: Option<StatusSink>,
    /// Environment variables the runs must not inherit (the detached child's marker).
    pub env_remove: Vec<String>,
    /// Secrets each run receives in memory, never in its environment (`--on HOST`,
    /// src/remote/secrets.rs): the variable that tells a night process to read them on its
    /// standard input, and what to write there.
    pub secrets: Option<(String, Vec<u8>)>,
}

/// Signals received by the batch supervisor.
static SIGNALS: AtomicU32 = AtomicU32::new(0);

/// The socket a signal writes a byte to, waking the loop (-1: none).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// How often the journals are read for the status lines and the budget.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);
/// The longest the loop sleeps with nothing to wake it.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How soon it looks again for a run whose output closed but which has not exited yet.
const EXITING: Duration = Duration::from_millis(20);

extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::SeqCst);
    let fd = WAKE_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local; a full socket
        // (EAGAIN, non-blocking) already holds a wake-up.
        let _ = unsafe { libc::write(fd, [1u8].as_ptr().cast(), 1) };
    }
}

/// What wakes the loop: a byte on `waker`'s other end, written by a signal or by a run's
/// output closing.
struct Alarm {
    waiting: UnixStream,
    waker: UnixStream,
}

impl Alarm {
    fn new() -> std::io::Result<Self> {
        let (waiting, waker) = UnixStream::pair()?;
        waker.set_nonblocking(true)?;
        WAKE_FD.store(waker.as_raw_fd(), Ordering::SeqCst);
        Ok(Self { waiting, waker })
    }

    /// Sleep until woken or `at_most` has passed.
    fn sleep(&self, at_most: Duration) {
        let mut bytes = [0u8; 64];
        if self.waiting.set_read_timeout(Some(at_most.max(Duration::from_millis(1)))).is_ok() {
            // A byte, a timeout or a signal: each is a reason to look.
            let _ = (&self.waiting).read(&mut bytes);
        } else {
            std::thread::sleep(at_most);
        }
    }
}

impl Drop for Alarm {
    fn drop(&mut self) {
        WAKE_FD.store(-1, Ordering::SeqCst);
    }
}

fn listen() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let action = SigAction::new(SigHandler::Handler(count_signal), SaFlags::SA_RESTART, SigSet::empty());
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        // SAFETY: the handler only adds to an atomic counter, which is async-signal-safe.
        let _ = unsafe { sigaction(signal, &action) };
    }
}

/// A member's run under way.
struct Live {
    index: usize,
    run_id: String,
    /// Our child (`None`: a run whose supervisor outlived the batch supervisor, adopted).
    child: Option<Child>,
    tail: Tail,
    history: History,
    /// The last lines it wrote to stderr: why it was refused, if it was.
    said: Arc<Mutex<VecDeque<String>>>,
    /// How many of its two output streams have closed (both: it has ended, or is ending).
    closed: Arc<AtomicUsize>,
}

/// Supervise the batch in `dir` to its end (a new batch, or one resumed after its supervisor
/// died): start what has not started, resume what died, wait for what still runs.
pub fn supervise(dir: &BatchDir, launch: &Launch) -> std::io::Result<BatchHistory> {
    listen();
    let alarm = Alarm::new()?;
    let history = dir.load()?;
    let Some((start, _)) = history.start.clone() else { return Err(std::io::Error::other("the batch journal has no start")) };
    let runs = RunsDir::of_repo(Path::new(&start.repo));
    let starter = Starter { launch, dir, runs: &runs, html: start.html, waker: &alarm.waker };
    let mut queue: VecDeque<&Member> = VecDeque::new();
    let mut live: Vec<Live> = Vec::new();
    for (member, state) in start.members.iter().zip(&history.members) {
        if state.ended.is_some() || state.skipped.is_some() {
            continue;
        }
        let run = state.run_id.as_ref().map(|id| runs.run(id)).filter(|run| run.journal().is_file());
        match run {
            None => queue.push_back(member),
            Some(run) if run.is_live() => live.push(adopt(member.index, &run.id(), &runs)),
            Some(run) => {
                let args = vec!["resume".into(), run.id().into()];
                live.push(spawn(&starter, member, &run.id(), args)?);
            }
        }
    }
    let mut forwarded = 0;
    let mut spent = BTreeMap::<String, f64>::new();
    let mut last_status = Instant::now().checked_sub(FOLLOW_EVERY).unwrap_or_else(Instant::now);
    loop {
        let signals = SIGNALS.load(Ordering::SeqCst);
        if signals > forwarded {
            forwarded = signals;
            for run in &live {
                stop(run, &runs);
            }
        }
        let stopping = forwarded > 0;
        // Reap what ended.
        let mut i = 0;
        while i < live.len() {
            if finished(&mut live[i], &runs) {
                let run = live.remove(i);
                // An adopted run whose supervisor died without an outcome (killed with the batch
                // supervisor, and still exiting when this one looked) is resumed, not crashed.
                let died = run.child.is_none() && !stopping && runs.run(&run.run_id).load().is_ok_and(|history| history.start.is_some() && history.outcome().is_none());
                let member = start.members.iter().find(|member| member.index == run.index);
                match member.filter(|_| died) {
                    Some(member) => {
                        let args = vec!["resume".into(), run.run_id.clone().into()];
                        match spawn(&starter, member, &run.run_id, args) {
                            Ok(resumed) => live.insert(i, resumed),
                            Err(_) => record_end(dir, &runs, &run, launch),
                        }
                        i += 1;
                    }
                    None => record_end(dir, &runs, &run, launch),
                }
            } else {
                i += 1;
            }
        }
        while !stopping && live.len() < start.jobs {
            let Some(member) = queue.pop_front() else { break };
            let run_id = fresh_id(&runs, &member.label);
            dir.record(BatchEvent::RunStarted { index: member.index, run_id: run_id.clone() })?;
            let args = vec![
                "run".into(),
                member.runbook.clone().into(),
                "--batch-dir".into(),
                dir.path().as_os_str().to_owned(),
                "--batch-index".into(),
                member.index.to_string().into(),
                "--batch-run-id".into(),
                run_id.clone().into(),
            ];
            match spawn(&starter, member, &run_id, args) {
                Ok(run) => live.push(run),
                Err(e) => dir.record(BatchEvent::RunSkipped { index: member.index, reason: format!("cannot start night: {e}") })?,
            }
        }
        if live.is_empty() && (queue.is_empty() || stopping) {
            break;
        }
        let following = launch.status.is_some() || start.budget_usd.is_some();
        if following && last_status.elapsed() >= FOLLOW_EVERY {
            last_status = Instant::now();
            follow(&mut live, &start.members, launch, start.budget_usd.map(|_| (dir, &mut spent)));
        }
        let exiting = live.iter().any(|run| run.child.is_some() && run.closed.load(Ordering::SeqCst) >= 2);
        let sleep = match (exiting, following) {
            (true, _) => EXITING,
            (false, true) => FOLLOW_EVERY.saturating_sub(last_status.elapsed()),
            (false, false) => LOOK_EVERY,
        };
        alarm.sleep(sleep);
    }
    let stopped = forwarded > 0;
    for member in queue {
        dir.record(BatchEvent::RunSkipped { index: member.index, reason: "the batch was stopped before it started".into() })?;
    }
    let reason = if stopped { "stopped by a signal (Ctrl-C or `night stop`)" } else { "every run ended" };
    dir.record(BatchEvent::BatchEnd { reason: reason.into() })?;
    dir.load()
}

/// A run id for `label` that no run folder has: `<label>-<YYYYMMDD-HHMMSS>`, waiting for the
/// next second when a run of the same label took this one.
fn fresh_id(runs: &RunsDir, label: &str) -> String {
    loop {
        let id = format!("{label}-{}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
        if !runs.run(&id).path().exists() {
            return id;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What starting a run needs besides the run itself.
struct Starter<'a> {
    launch: &'a Launch,
    dir: &'a BatchDir,
    runs: &'a RunsDir,
    html: bool,
    /// Written to when the run's output closes.
    waker: &'a UnixStream,
}

fn spawn(starter: &Starter<'_>, member: &Member, run_id: &str, mut args: Vec<std::ffi::OsString>) -> std::io::Result<Live> {
    let Starter { launch, dir, runs, html, waker } = *starter;
    if html {
        args.push("--html".into());
    }
    let mut command = Command::new(&launch.exe);
    command.args(&args).current_dir(runs.path().parent().and_then(Path::parent).unwrap_or(dir.path())).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for name in &launch.env_remove {
        command.env_remove(name);
    }
    if let Some((marker, _)) = &launch.secrets {
        command.env(marker, "1").stdin(Stdio::piped());
    }
    // A group of its own: the terminal's Ctrl-C reaches the batch supervisor alone, which
    // passes one clean stop to each run.
    command.process_group(0);
    let mut child = command.spawn()?;
    if let (Some((_, body)), Some(mut stdin)) = (&launch.secrets, child.stdin.take()) {
        // The run reads them first thing; a run that cannot is refused, and says why.
        let _ = stdin.write_all(body);
    }
    let said = Arc::new(Mutex::new(VecDeque::new()));
    let closed = Arc::new(AtomicUsize::new(0));
    let label = member.label.clone();
    let ends = |closed: &Arc<AtomicUsize>| Closed { count: closed.clone(), waker: waker.try_clone().ok() };
    match child.stdout.take() {
        Some(stdout) => forward(stdout, &label, launch.lines.clone(), None, ends(&closed)),
        None => drop(ends(&closed)),
    }
    match child.stderr.take() {
        Some(stderr) => forward(stderr, &label, launch.lines.clone(), Some(said.clone()), ends(&closed)),
        None => drop(ends(&closed)),
    }
    Ok(Live { index: member.index, run_id: run_id.to_string(), child: Some(child), tail: Tail::new(&runs.run(run_id).journal()), history: History::default(), said, closed })
}

/// Counts an output stream of a run closed, and wakes the loop, when dropped.
struct Closed {
    count: Arc<AtomicUsize>,
    waker: Option<UnixStream>,
}

impl Drop for Closed {
    fn drop(&mut self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        if let Some(waker) = &mut self.waker {
            // Non-blocking: a full socket already holds a wake-up.
            let _ = waker.write(&[1]);
        }
    }
}

/// A run whose supervisor is still alive from before (the batch supervisor was killed, the run was not).
fn adopt(index: usize, run_id: &str, runs: &RunsDir) -> Live {
    Live { index, run_id: run_id.to_string(), child: None, tail: Tail::new(&runs.run(run_id).journal()), history: History::default(), said: Arc::default(), closed: Arc::default() }
}

/// Each line of `from`, prefixed with the run's label, to `lines`; stderr's last lines kept;
/// `closed` dropped at its end.
fn forward(from: impl std::io::Read + Send + 'static, label: &str, lines: Sink, keep: Option<Arc<Mutex<VecDeque<String>>>>, closed: Closed) {
    let label = label.to_string();
    std::thread::spawn(move || {
        let _closed = closed;
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if let Some(keep) = &keep {
                if let Ok(mut kept) = keep.lock() {
                    kept.push_back(line.clone());
                    if kept.len() > 6 {
                        kept.pop_front();
                    }
                }
            }
            lines(&format!("[{label}] {line}"));
        }
    });
}

/// Ask a run to end cleanly: SIGTERM to its supervisor, as `night stop` sends.
fn stop(run: &Live, runs: &RunsDir) {
    let pid = match &run.child {
        Some(child) => Some(child.id()),
        None => runs.run(&run.run_id).supervisor(),
    };
    if let Some(pid) = pid.and_then(|pid| i32::try_from(pid).ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
}

fn finished(run: &mut Live, runs: &RunsDir) -> bool {
    match &mut run.child {
        Some(child) => !matches!(child.try_wait(), Ok(None)),
        None => !runs.run(&run.run_id).is_live(),
    }
}

fn record_end(dir: &BatchDir, runs: &RunsDir, run: &Live, launch: &Launch) {
    let folder = runs.run(&run.run_id);
    let event = match folder.load() {
        Ok(history) if history.start.is_some() => BatchEvent::RunEnded { index: run.index, run_id: run.run_id.clone(), outcome: history.outcome() },
        _ => {
            let said: Vec<String> = run.said.lock().map(|kept| kept.iter().cloned().collect()).unwrap_or_default();
            let reason = said.iter().rev().find(|line| line.starts_with("error")).cloned().unwrap_or_else(|| "the run was refused before it started".into());
            BatchEvent::RunSkipped { index: run.index, reason }
        }
    };
    if let Err(e) = dir.record(event) {
        (launch.lines)(&format!("night: cannot write the batch journal: {e}"));
    }
}

/// Read each live run's journal: its status line, and what it has spent.
fn follow(live: &mut [Live], members: &[Member], launch: &Launch, spent: Option<(&BatchDir, &mut BTreeMap<String, f64>)>) {
    let now = chrono::Utc::now();
    for run in live.iter_mut() {
        for entry in run.tail.poll().entries {
            run.history.apply(&entry);
        }
        if let (Some(status), Some(member)) = (&launch.status, members.get(run.index)) {
            status(run.index, &member.label, &Status::new(&run.history, now).line());
        }
    }
    if let Some((dir, spent)) = spent {
        let before = spent.clone();
        for run in live.iter() {
            spent.insert(run.run_id.clone(), run.history.cost_usd);
        }
        if *spent != before {
            if let Ok(text) = serde_json::to_string(spent) {
                let partial = dir.path().join(".spent.json.partial");
                let _ = std::fs::write(&partial, text).and_then(|()| std::fs::rename(&partial, dir.spent()));
            }
        }
    }
}
