//! TEMPORARY stand-in with the API of branch `notify` (dropped at merge).
#![allow(missing_docs, unused_variables)]

use crate::ast::{Event, Notifier};
use crate::source::Spanned;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub event: Event,
    pub outcome: Option<String>,
    pub run_id: String,
    pub name: String,
    pub branch: String,
    pub started_at: String,
    pub at: String,
    pub elapsed_seconds: u64,
    pub attempt: Option<u64>,
    pub attempts: u64,
    pub checks: Vec<CheckSummary>,
    pub tokens: u64,
    pub cost_usd: f64,
    pub report: Option<String>,
    pub summary: String,
    pub detail: Option<String>,
}
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckSummary { pub check: String, pub passed: bool, pub detail: Option<String> }
#[derive(Debug, Clone)]
pub struct Delivery { pub notifier: String, pub event: Event, pub delivered: bool, pub tries: u32, pub error: Option<String>, pub at: String }
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotifyError(String);

#[derive(Debug, Clone, Default)]
pub struct Settings { pub dir: Option<std::path::PathBuf> }
impl Settings {
    pub fn from_lookup(env: &dyn Fn(&str) -> Option<String>) -> Self { Settings::default() }
    #[must_use]
    pub fn in_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self { self.dir = Some(dir.into()); self }
}

pub struct Dispatcher;
impl Dispatcher {
    pub fn new(notifiers: &[Spanned<Notifier>], env: &dyn Fn(&str) -> Option<String>, on_delivery: Box<dyn Fn(&Delivery) + Send + Sync>) -> Result<Self, NotifyError> { Ok(Dispatcher) }
    pub fn with_settings(notifiers: &[Spanned<Notifier>], env: &dyn Fn(&str) -> Option<String>, on_delivery: Box<dyn Fn(&Delivery) + Send + Sync>, settings: Settings) -> Result<Self, NotifyError> { Ok(Dispatcher) }
    pub fn env_names(&self) -> Vec<String> { Vec::new() }
    pub fn notify_end(&self, message: Message) {}
    pub fn secrets(&self) -> Vec<String> { Vec::new() }
    pub fn notify(&self, message: Message) {}
    pub async fn flush(&self, within: std::time::Duration) -> Vec<Delivery> { Vec::new() }
}
