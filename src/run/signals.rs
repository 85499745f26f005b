//! SIGINT, SIGTERM and SIGHUP to night, counted: the first ends the run cleanly (the agent is
//! stopped, its work checked, the report written, the end notified), the second skips the
//! checks still to run.

use tokio::sync::watch;

/// The signals received so far.
pub struct Interrupts {
    count: watch::Receiver<u32>,
}

impl Interrupts {
    /// Start counting.
    pub fn listen() -> Self {
        let (sender, count) = watch::channel(0u32);
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
                return;
            };
            loop {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hup.recv() => {}
                }
                sender.send_modify(|n| *n += 1);
            }
        });
        Self { count }
    }

    /// How many have arrived.
    pub fn count(&self) -> u32 {
        *self.count.borrow()
    }

    /// Resolves once at least `n` signals have arrived.
    pub async fn reached(&self, n: u32) {
        let mut count = self.count.clone();
        let _ = count.wait_for(|c| *c >= n).await;
    }
}
