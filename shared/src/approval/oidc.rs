//! The organisation's OpenID Connect provider, over HTTPS: discovery, the authorization URL, the
//! code exchange (PKCE, and the client secret when there is one), and the ID token verified
//! against the provider's published keys. Any standard issuer: Cognito user pools, Entra ID,
//! Okta, Google, Keycloak.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::Full;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use tokio::sync::{OnceCell, RwLock};

use crate::approval::sign_in::{acceptable_url, IdClaims, Identity, IdentityProvider, SignInError};
use crate::https_client::HttpsClient;

const TIMEOUT: Duration = Duration::from_secs(5);
/// An unknown key id refreshes the keys, at most this often (key rotation, not a flood).
const KEYS_REFRESH: Duration = Duration::from_secs(60);
/// Signature algorithms accepted: public-key only (never `none`, never HMAC).
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Who Warden is to the provider.
#[derive(Clone)]
pub struct OidcClientConfig {
    /// The issuer, exactly as its ID tokens name it (`https://login.example.com/realms/ops`).
    pub issuer: String,
    pub client_id: String,
    /// A confidential client's secret (sent with HTTP Basic); `None`: a public client (PKCE).
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for OidcClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClientConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "(redacted)"))
            .finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub struct OidcProvider {
    config: OidcClientConfig,
    client: HttpsClient,
    discovery: OnceCell<Discovery>,
    keys: RwLock<Option<(JwkSet, Instant)>>,
}

impl OidcProvider {
    pub fn new(config: OidcClientConfig) -> Result<Self, String> {
        if !acceptable_url(&config.issuer) {
            return Err(format!("the issuer {:?} must be an https:// URL", config.issuer));
        }
        let client = HttpsClient::new(TIMEOUT)?;
        Ok(Self { config, client, discovery: OnceCell::new(), keys: RwLock::new(None) })
    }

    async fn send(&self, request: http::Request<Full<Bytes>>) -> Result<(u16, Bytes), SignInError> {
        self.client.send(request).await.map_err(SignInError::Unavailable)
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T, SignInError> {
        let request = http::Request::get(url)
            .header("accept", "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|e| SignInError::Unavailable(format!("{url}: {e}")))?;
        let (status, body) = self.send(request).await?;
        if status != 200 {
            return Err(SignInError::Unavailable(format!("{url} answered {status}")));
        }
        serde_json::from_slice(&body)
            .map_err(|e| SignInError::Unavailable(format!("{url}: not the JSON expected: {e}")))
    }

    async fn discovery(&self) -> Result<&Discovery, SignInError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
                let d: Discovery = self.get_json(&url).await?;
                // The document must be the issuer's own, and send the browser nowhere weaker.
                if d.issuer != self.config.issuer {
                    return Err(SignInError::Unavailable(format!(
                        "the discovery document names issuer {:?}, not {:?}",
                        d.issuer, self.config.issuer
                    )));
                }
                for url in [&d.authorization_endpoint, &d.token_endpoint, &d.jwks_uri] {
                    if !acceptable_url(url) {
                        return Err(SignInError::Unavailable(format!("the provider's endpoint {url:?} is not https")));
                    }
                }
                Ok(d)
            })
            .await
    }

    /// The key for `kid`: from the cached key set, refreshed once when the id is unknown.
    async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, SignInError> {
        let pick = |set: &JwkSet| -> Option<Result<DecodingKey, SignInError>> {
            let jwk = match kid {
                Some(kid) => set.find(kid)?,
                None if set.keys.len() == 1 => &set.keys[0],
                None => return None,
            };
            Some(DecodingKey::from_jwk(jwk).map_err(|e| SignInError::InvalidToken(format!("the provider's key: {e}"))))
        };
        if let Some((set, _)) = self.keys.read().await.as_ref() {
            if let Some(found) = pick(set) {
                return found;
            }
        }
        let mut keys = self.keys.write().await;
        let stale = keys.as_ref().is_none_or(|(_, at)| at.elapsed() >= KEYS_REFRESH);
        if stale {
            let jwks_uri = self.discovery().await?.jwks_uri.clone();
            let set: JwkSet = self.get_json(&jwks_uri).await?;
            *keys = Some((set, Instant::now()));
        }
        let set = &keys.as_ref().expect("just set or present").0;
        pick(set)
            .unwrap_or_else(|| Err(SignInError::InvalidToken("signed with a key the provider does not publish".into())))
    }

    fn verify(&self, id_token: &str, key: &DecodingKey, alg: Algorithm) -> Result<IdClaims, SignInError> {
        let mut validation = Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        jsonwebtoken::decode::<IdClaims>(id_token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| SignInError::InvalidToken(e.to_string()))
    }
}

impl IdentityProvider for OidcProvider {
    async fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> Result<String, SignInError> {
        let endpoint = &self.discovery().await?.authorization_endpoint;
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid email")
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("prompt", "login")
            .finish();
        let sep = if endpoint.contains('?') { '&' } else { '?' };
        Ok(format!("{endpoint}{sep}{query}"))
    }

    async fn redeem(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        nonce: &str,
    ) -> Result<Identity, SignInError> {
        let token_endpoint = self.discovery().await?.token_endpoint.clone();
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("code_verifier", verifier)
            .append_pair("client_id", &self.config.client_id)
            .finish();
        let mut request = http::Request::post(&token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if let Some(secret) = &self.config.client_secret {
            // RFC 6749 2.3.1: both parts form-encoded, then Basic.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = STANDARD.encode(format!("{}:{}", enc(&self.config.client_id), enc(secret)));
            request = request.header("authorization", format!("Basic {basic}"));
        }
        let request = request
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| SignInError::Unavailable(format!("{token_endpoint}: {e}")))?;
        let (status, body) = self.send(request).await?;
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|_| SignInError::Unavailable(format!("{token_endpoint} answered {status} without JSON")))?;
        let id_token = match (status, answer.id_token) {
            (200, Some(t)) => t,
            (200, None) => {
                return Err(SignInError::Refused("the provider sent no ID token (is `openid` allowed?)".into()))
            }
            (_, _) => {
                let error = answer.error.unwrap_or_else(|| format!("status {status}"));
                let detail = answer.error_description.map(|d| format!(": {d}")).unwrap_or_default();
                return Err(SignInError::Refused(format!("{error}{detail}")));
            }
        };
        let header = jsonwebtoken::decode_header(&id_token)
            .map_err(|e| SignInError::InvalidToken(format!("unreadable header: {e}")))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(SignInError::InvalidToken(format!("algorithm {:?} is not accepted", header.alg)));
        }
        let key = self.key(header.kid.as_deref()).await?;
        self.verify(&id_token, &key, header.alg)?.identity(nonce, &self.config.client_id)
    }

    fn origin(&self) -> String {
        let issuer = &self.config.issuer;
        let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
        let end = issuer[after_scheme..].find('/').map_or(issuer.len(), |i| after_scheme + i);
        issuer[..end].to_string()
    }
}
