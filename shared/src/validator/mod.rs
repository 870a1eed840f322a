//! The request validator: Ollama's API as strict types, the model registry's verdict, the content
//! guard, the pure decision, and the service that adds quotas, suspensions and forwarding.

pub mod catalog;
pub mod decision;
pub mod guard;
pub mod ollama;
pub mod openai;
pub mod output;
pub mod ports;
pub mod relay;
pub mod service;
pub mod upstream;
