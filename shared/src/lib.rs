//! Warden's shared library: domain types, the pure planners, the executor that applies a plan,
//! the port traits it applies it through, and the AWS adapters of those ports.
//!
//! Functions (`functions/*`) are thin binaries: they parse an event at the edge, hand it to
//! this crate, and turn the outcome into a response.

/// `Display` and comparison with the names people and JSON use, for enums with `as_str`: reports
/// carry enums, tests and logs read names.
macro_rules! named_enum {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<&str> for $t {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

pub mod approval;
#[cfg(feature = "aws")]
pub mod aws;
pub mod compliance;
pub mod config;
pub mod edge;
pub mod exposure;
pub mod http;
#[cfg(feature = "aws")]
pub mod https_client;
pub mod isolation;
pub mod metrics;
pub mod notify;
pub mod operator;
pub mod ports;
pub mod registry;
pub mod suspension;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod validator;
