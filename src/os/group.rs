//! Process groups: a child started in a group of its own (the agent, a success check's
//! command), whether any member of a group still runs, and ending a group with a grace period
//! (each signal in turn, then SIGKILL) so that nothing it started outlives it. A group's
//! [`Identity`] survives the supervisor: a later process can tell whether a recorded group is
//! still the same one before it signals it.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::process::ExitStatus;
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::Instant;

/// How long SIGKILL's members get to leave the process table (a zombie init may never reap).
const KILL_SETTLE: Duration = Duration::from_secs(2);
/// How long the leader's status is waited for once the group is ended.
const STATUS_WAIT: Duration = Duration::from_secs(5);

/// Who a process group's leader is, for good: a pid can be reused, a pid with its start time
/// and the boot's id cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The leader's pid, which is also the group's id.
    pub pgid: u32,
    /// The leader's start in clock ticks after boot.
    pub start_ticks: Option<u64>,
    /// The boot it started in.
    pub boot_id: Option<String>,
}

impl Identity {
    /// The identity of the running group leader `pgid`.
    pub fn of(pgid: u32) -> Self {
        Self { pgid, start_ticks: crate::os::proc::stat(pgid).and_then(|s| s.start_ticks), boot_id: crate::os::proc::boot_id() }
    }
}

/// What was found of a recorded group, and what was done about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftover {
    /// The machine restarted since the group was recorded: none of it is left.
    MachineRestarted,
    /// The pid belongs to another process now; nothing was signalled.
    PidReused,
    /// No member is alive.
    Gone,
    /// The group id cannot be a pid.
    OutOfRange,
    /// Members were alive and were ended.
    Ended {
        /// How many were alive.
        members: usize,
        /// SIGKILL was needed after the grace period.
        killed: bool,
    },
}

/// End what is left of a recorded group, if it is still that group: after a reboot nothing
/// is; a live leader must have the recorded start time; members without their leader are the
/// group's, since the kernel does not hand out a pid that is still a group's id.
pub async fn end_recorded(identity: &Identity, grace: Duration) -> Leftover {
    if identity.boot_id.is_some() && identity.boot_id != crate::os::proc::boot_id() {
        return Leftover::MachineRestarted;
    }
    if let Some(ticks) = crate::os::proc::stat(identity.pgid).and_then(|s| s.start_ticks) {
        if identity.start_ticks.is_some_and(|recorded| recorded != ticks) {
            return Leftover::PidReused;
        }
    }
    let members = members(identity.pgid).len();
    if members == 0 {
        return Leftover::Gone;
    }
    let Some(group) = pid(identity.pgid) else { return Leftover::OutOfRange };
    let killed = end(group, None, &[Signal::SIGTERM], grace).await;
    Leftover::Ended { members, killed }
}

/// The live (not zombie) members of process group `pgid`.
pub fn members(pgid: u32) -> Vec<u32> {
    crate::os::proc::pids()
        .unwrap_or_default()
        .into_iter()
        .filter(|pid| crate::os::proc::stat(*pid).is_some_and(|stat| stat.pgrp == pgid && !stat.is_gone()))
        .collect()
}

/// Whether a process group has a member that is not a zombie. Zombies count as gone: an
/// orphan's parent may be an init that never reaps (containers), and they cannot run anyway.
/// Without `/proc`, whether the group can be signalled at all.
pub fn alive(pgid: u32) -> bool {
    match crate::os::proc::pids() {
        Some(pids) => pids.into_iter().any(|pid| crate::os::proc::stat(pid).is_some_and(|stat| stat.pgrp == pgid && !stat.is_gone())),
        None => pid(pgid).is_some_and(|group| killpg(group, None).is_ok()),
    }
}

fn pid(pgid: u32) -> Option<Pid> {
    i32::try_from(pgid).ok().map(Pid::from_raw)
}

/// A child running in a process group of its own; the whole group is SIGKILLed if it is
/// dropped before [`Group::terminate`].
pub struct Group {
    child: Child,
    pgid: u32,
    ended: bool,
}

impl Group {
    /// Start `command` as the leader of a new process group.
    pub fn spawn(command: &mut Command) -> std::io::Result<Group> {
        let child = command.process_group(0).kill_on_drop(true).spawn()?;
        let pgid = child.id().ok_or_else(|| std::io::Error::other("the process exited before it could be supervised"))?;
        Ok(Group { child, pgid, ended: false })
    }

    /// The leader's pid, which is also the group's id.
    pub fn pgid(&self) -> u32 {
        self.pgid
    }

    /// The leader, to take its pipes.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Let the group be: dropping it no longer kills what is left of it (a notifier's command
    /// that exited and left a child of its own to finish in the background).
    pub fn release(mut self) {
        self.ended = true;
    }

    /// Wait for the leader to exit by itself. Cancel-safe.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// End the whole group: `signals` in turn, each given its share of `grace`, then SIGKILL to
    /// whatever is left. Also right after the leader exited by itself, so that what it left
    /// running does not outlive it. Returns the leader's status, when it could be read, and
    /// whether SIGKILL was needed.
    pub async fn terminate(&mut self, signals: &[Signal], grace: Duration) -> (Option<ExitStatus>, bool) {
        let leader_done = matches!(self.child.try_wait(), Ok(Some(_)));
        let mut killed = false;
        if !leader_done || alive(self.pgid) {
            if let Some(group) = pid(self.pgid) {
                killed = end(group, Some(&mut self.child), signals, grace).await;
            }
        }
        self.ended = true;
        let status = tokio::time::timeout(STATUS_WAIT, self.child.wait()).await.ok().and_then(Result::ok);
        (status, killed)
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.ended {
            if let Some(group) = pid(self.pgid) {
                let _ = killpg(group, Signal::SIGKILL);
            }
        }
    }
}

/// `signals` in turn, then SIGKILL once `grace` has passed with a member alive; true when
/// SIGKILL was sent. With the leader's `Child`, it is reaped on the way.
async fn end(group: Pid, mut leader: Option<&mut Child>, signals: &[Signal], grace: Duration) -> bool {
    let pgid = group.as_raw().unsigned_abs();
    let deadline = Instant::now() + grace;
    let per_signal = grace / u32::try_from(signals.len().max(1)).unwrap_or(1);
    for signal in signals {
        let _ = killpg(group, *signal);
        let until = (Instant::now() + per_signal).min(deadline);
        if gone_by(pgid, leader.as_deref_mut(), until).await {
            return false;
        }
    }
    let leader_running = leader.as_deref_mut().is_some_and(|child| matches!(child.try_wait(), Ok(None)));
    if !alive(pgid) && !leader_running {
        return false;
    }
    let _ = killpg(group, Signal::SIGKILL);
    // SIGKILL cannot be ignored, but the members leave the table only once reaped: wait for
    // that, bounded, so that "ended" means gone.
    gone_by(pgid, leader, Instant::now() + KILL_SETTLE).await;
    true
}

/// Wait until the leader (if given) is reaped and no member is alive, or `until`.
async fn gone_by(pgid: u32, mut leader: Option<&mut Child>, until: Instant) -> bool {
    let mut pause = Duration::from_millis(1);
    loop {
        let leader_done = match leader.as_deref_mut() {
            Some(child) => tokio::time::timeout_at(until, child.wait()).await.is_ok(),
            None => true,
        };
        if leader_done && !alive(pgid) {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        // Members other than the leader give no signal when they exit: look again soon at
        // first (they usually die within milliseconds of the signal), then every 20 ms.
        tokio::time::sleep(pause.min(until.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[tokio::test]
    async fn a_group_ignoring_sigterm_is_killed_whole_after_the_grace_period() {
        let mut group = Group::spawn(&mut shell("trap '' TERM; sleep 30 & wait; sleep 30")).expect("spawn");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(alive(group.pgid()));
        assert_eq!(members(group.pgid()).len(), 2);
        let started = Instant::now();
        let (_, killed) = group.terminate(&[Signal::SIGTERM], Duration::from_millis(300)).await;
        assert!(killed);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(!alive(group.pgid()), "no member of the group survives");
    }

    #[tokio::test]
    async fn a_recorded_group_is_ended_only_while_it_is_the_same_one() {
        let mut group = Group::spawn(&mut shell("sleep 30 & wait")).expect("spawn");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let identity = Identity::of(group.pgid());
        let reused = Identity { start_ticks: identity.start_ticks.map(|t| t + 1), ..identity.clone() };
        assert_eq!(end_recorded(&reused, Duration::from_millis(200)).await, Leftover::PidReused);
        let rebooted = Identity { boot_id: Some("another boot".into()), ..identity.clone() };
        assert_eq!(end_recorded(&rebooted, Duration::from_millis(200)).await, Leftover::MachineRestarted);
        assert_eq!(end_recorded(&identity, Duration::from_secs(2)).await, Leftover::Ended { members: 2, killed: false });
        let _ = group.wait().await;
        assert_eq!(end_recorded(&identity, Duration::from_millis(200)).await, Leftover::Gone);
    }
}
