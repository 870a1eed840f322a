//! `fake-ollama [PORT]`: the test double of Ollama's inference API, for `make demo` and
//! `cargo lambda invoke` runs of the request validator (default port 11434).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).map_or(Ok(11434), |p| p.parse()).map_err(std::io::Error::other)?;
    let fake = warden_integration_tests::fake_ollama::FakeOllama::start(port).await?;
    eprintln!("fake Ollama listening on {}", fake.url);
    std::future::pending::<()>().await;
    Ok(())
}
