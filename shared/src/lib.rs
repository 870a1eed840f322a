//! Warden's shared library: domain types, the pure planners, the executor that applies a plan,
//! the port traits it applies it through, and the AWS adapters of those ports.
//!
//! Functions (`functions/*`) are thin binaries: they parse an event at the edge, hand it to
//! this crate, and turn the outcome into a response.

pub mod approval;
#[cfg(feature = "aws")]
pub mod aws;
pub mod compliance;
pub mod config;
pub mod edge;
pub mod exposure;
pub mod http;
pub mod isolation;
pub mod metrics;
pub mod notify;
pub mod ports;
pub mod registry;
pub mod suspension;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod validator;
