//! The edge: what arrives from AWS (EventBridge events, AWS Config invocations, schedules) becomes
//! a typed request or a clear error, and what goes wrong becomes one kind of Lambda error. HTTP
//! requests and responses (API Gateway, function URLs) are `crate::http`, below every capability.

pub mod events;
pub mod failure;
