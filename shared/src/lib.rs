//! Warden's shared library: domain types, the pure planners, the executor that applies a plan,
//! the port traits it applies it through, and the AWS adapters of those ports.
//!
//! Functions (`functions/*`) are thin binaries: they parse an event at the edge, hand it to
//! this crate, and turn the outcome into a response.

pub mod approval;
pub mod approvals;
#[cfg(feature = "aws")]
pub mod aws;
pub mod compliance;
pub mod config;
pub mod config_rules;
pub mod event;
pub mod executor;
pub mod exposure;
pub mod gateway;
pub mod guard;
pub mod isolation;
pub mod isolation_executor;
pub mod metrics;
pub mod notify;
pub mod ollama;
pub mod plan;
pub mod ports;
pub mod registry;
pub mod report;
pub mod request_guard;
pub mod suspension;
pub mod suspension_service;
pub mod telemetry;
pub mod upstream;
pub mod validator;

#[cfg(test)]
pub mod fakes;
