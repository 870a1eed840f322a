//! A real OpenID Connect provider for the tests (panva's oidc-provider, `tests/oidc/`), and a
//! person signing in to it. Warden's approvals page signs people in against it exactly as it
//! would against Cognito or Entra ID: discovery, authorization code + PKCE, JWKS.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use warden::approval::flow::SignIn;
use warden::approval::oidc::{OidcClientConfig, OidcProvider};
use warden::approval::sign_in::Approvers;

use crate::{url_event, AwsApprovals};

pub const CLIENT_ID: &str = "warden-approvals";
pub const CLIENT_SECRET: &str = "warden-test-secret";

fn oidc_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// The provider, running while this lives.
pub struct LocalOidc {
    child: Child,
    pub issuer: String,
}

impl LocalOidc {
    /// Start it on a free port, with `redirect_uri` as the client's one redirect.
    pub fn start(redirect_uri: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        assert!(
            oidc_dir().join("node_modules/oidc-provider").exists(),
            "the local OIDC provider is not installed: run `make client-deps` (npm ci in tests/oidc)"
        );
        // Its log, for when a test fails: the system temp directory, one file per port.
        let log = std::env::temp_dir().join(format!("warden-oidc-{port}.log"));
        let mut child = Command::new("node")
            .arg(oidc_dir().join("provider.mjs"))
            .args([&port.to_string(), redirect_uri, CLIENT_SECRET])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("a log file"))
            .spawn()
            .expect("node runs the OIDC provider");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        // Keep reading what it prints, so it never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let issuer = line.trim().strip_prefix("ready ").unwrap_or_else(|| panic!("provider did not start: {line:?}"));
        Self { issuer: issuer.to_string(), child }
    }

    /// Warden's sign-in against it: this client, and who may approve what.
    pub fn sign_in(&self, approvers: &str) -> SignIn<OidcProvider> {
        SignIn {
            provider: OidcProvider::new(OidcClientConfig {
                issuer: self.issuer.clone(),
                client_id: CLIENT_ID.into(),
                client_secret: Some(CLIENT_SECRET.into()),
            })
            .unwrap(),
            approvers: Approvers::from_json(approvers).unwrap(),
        }
    }

    /// A person signs in at the provider (email, `<name>-password`): where it sends the
    /// browser back, or `Err(the provider's page)`.
    pub fn person_signs_in(authorization_url: &str, email: &str, password: &str) -> Result<String, String> {
        let out = Command::new("node")
            .arg(oidc_dir().join("sign_in.mjs"))
            .args([authorization_url, email, password])
            .output()
            .expect("node runs the sign-in");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).to_string())
        }
    }
}

impl Drop for LocalOidc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One function URL answer: status, body, and its headers and cookies.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
    pub cookies: Vec<String>,
}

impl Answer {
    pub fn of(v: &Value) -> Self {
        Self {
            status: v["statusCode"].as_u64().unwrap() as u16,
            body: v["body"].as_str().unwrap_or_default().to_string(),
            location: v["headers"]["location"].as_str().map(str::to_string),
            cookies: v["cookies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect(),
        }
    }
}

/// The value of one hidden field of the page's (only) form.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker).unwrap_or_else(|| panic!("no {name} field in:\n{html}")) + marker.len();
    html[start..].split('"').next().unwrap().replace("&quot;", "\"").replace("&amp;", "&")
}

/// The page's one form as a body, every hidden field.
pub fn form_of(html: &str) -> String {
    let form = html.split("<form").nth(1).unwrap_or_else(|| panic!("no form in:\n{html}"));
    let mut body = form_urlencoded::Serializer::new(String::new());
    for part in form.split("<input").skip(1) {
        let attr = |a: &str| part.split(&format!(r#"{a}=""#)).nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
        body.append_pair(attr("name"), &attr("value").replace("&quot;", "\"").replace("&amp;", "&"));
    }
    body.finish()
}

/// A browser, as far as the approvals page is concerned: GET and POST function URL events, and
/// the cookies Warden set.
pub struct Visit<'a, R> {
    pub approvals: &'a AwsApprovals,
    pub runner: &'a R,
    pub sign_in: &'a SignIn<OidcProvider>,
    pub cookies: Vec<String>,
}

impl<R: warden::approval::ports::ActionRunner> Visit<'_, R> {
    async fn send(&mut self, mut event: Value) -> Answer {
        if !self.cookies.is_empty() {
            event["cookies"] = self.cookies.iter().map(|c| c.split(';').next().unwrap().to_string()).collect();
        }
        let answer = Answer::of(&self.approvals.http(&event, self.runner, self.sign_in, chrono::Utc::now()).await);
        for set in &answer.cookies {
            let name = set.split('=').next().unwrap().to_string();
            self.cookies.retain(|c| !c.starts_with(&format!("{name}=")));
            if !set.contains("Max-Age=0") {
                self.cookies.push(set.clone());
            }
        }
        answer
    }

    pub async fn get(&mut self, query: &str) -> Answer {
        self.send(url_event("GET", query, None, "")).await
    }

    pub async fn post(&mut self, body: &str) -> Answer {
        self.send(url_event("POST", "", Some(body), "application/x-www-form-urlencoded")).await
    }

    /// Open a link, press its button, sign in at the provider as `email`: the answer of the
    /// provider's redirect back (the signed-in page, or why there is none).
    pub async fn sign_in_from(&mut self, link: &str, email: &str, password: &str) -> Answer {
        let page = self.get(link.split_once('?').unwrap().1).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let started = self.post(&form_of(&page.body)).await;
        assert_eq!(started.status, 303, "{}", started.body);
        let back = LocalOidc::person_signs_in(started.location.as_deref().unwrap(), email, password)
            .unwrap_or_else(|page| panic!("sign-in failed: {page}"));
        self.get(back.split_once('?').unwrap().1).await
    }

    /// The whole of it: sign in from the link as `email` and press the decision's button.
    pub async fn decide_as(&mut self, link: &str, email: &str) -> Answer {
        let password = format!("{}-password", email.split('@').next().unwrap());
        let signed_in = self.sign_in_from(link, email, &password).await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.body);
        self.post(&form_of(&signed_in.body)).await
    }
}
