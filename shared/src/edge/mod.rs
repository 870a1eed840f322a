//! The edge: what arrives from AWS (EventBridge events, API Gateway and function URL requests)
//! becomes a typed request or a clear error, and what goes back is one typed response.

pub mod events;
pub mod failure;
pub mod http;
