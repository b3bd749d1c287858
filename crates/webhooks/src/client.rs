//! The outbound HTTP client every webhook delivery (and later every connector) uses. It
//! resolves names itself and connects only to addresses the [`AddressPolicy`] permits: the
//! vetted addresses are the ones the connection uses, so a name cannot resolve to something
//! else between the check and the call. Literal IP hosts are checked the same way. Redirects
//! are never followed, no proxy is used, and every call has a connect and a total timeout.
//!
//! `https://` is verified against the system's trust store (rustls with the platform verifier)
//! plus any roots the installation adds (`[network] extra_ca_file`), for receivers behind a
//! private certificate authority.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::policy::AddressPolicy;

/// How much of a response body is kept (for the delivery log).
pub const RESPONSE_PREFIX_BYTES: usize = 1024;

/// Timeouts of outbound calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    /// DELIVERY.md: connect 5 s, whole request 15 s.
    fn default() -> Self {
        Self { connect: Duration::from_secs(5), total: Duration::from_secs(15) }
    }
}

/// Why a call got no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The address policy refused every address of the host: nothing was sent.
    #[error("refused: {0}")]
    Refused(String),
    /// The URL cannot be called (not http or https, no host, …): nothing was sent.
    #[error("not a usable URL: {0}")]
    BadUrl(String),
    #[error("the call timed out")]
    Timeout,
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("the call failed: {0}")]
    Other(String),
}

impl SendError {
    /// Whether trying again later may help (DELIVERY.md: connection errors and timeouts do;
    /// a refused or unusable address does not).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Timeout | Self::Connect(_) | Self::Other(_))
    }
}

/// The guarded client. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GuardedClient {
    http: reqwest::Client,
    addresses: Arc<AddressPolicy>,
    /// The extra trusted roots as PEM, for TLS that is not HTTP (SMTP).
    extra_roots_pem: Arc<Vec<u8>>,
    /// This installation's own listener, reachable for its flows' webhook path only.
    own_flows: Option<SocketAddr>,
}

/// Certificate authorities trusted besides the system's (see [`GuardedClient::parse_roots`]).
#[derive(Debug, Clone, Default)]
pub struct ExtraRoots {
    pem: Vec<u8>,
    certificates: Vec<reqwest::Certificate>,
}

/// Resolves with the system resolver and keeps only permitted addresses.
#[derive(Debug)]
struct VettingResolver {
    addresses: Arc<AddressPolicy>,
}

/// Every address of a name was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{host}` resolves only to addresses outbound calls may not reach ({addresses}); list their network in \
     network.allowed_networks if that is intended"
)]
struct AllRefused {
    host: String,
    addresses: String,
}

impl Resolve for VettingResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.addresses.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found.iter().copied().filter(|a| policy.permits(a.ip())).collect();
            if permitted.is_empty() {
                let addresses = found.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
                return Err(Box::new(AllRefused { host, addresses }) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

/// The extra roots could not be read.
#[derive(Debug, thiserror::Error)]
#[error("extra trusted roots: {0}")]
pub struct BadRoots(String);

/// reqwest is built without a default TLS crypto provider (its own, aws-lc-rs, builds a large C
/// library); ring is ours, installed for the process before any reqwest client is built. Any
/// other place that builds a reqwest client calls this first.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install it between the check and here: that one stays, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl GuardedClient {
    /// A client that trusts the system's certificate authorities.
    pub fn new(addresses: AddressPolicy, timeouts: Timeouts) -> Result<Self, SendError> {
        Self::with_roots(addresses, timeouts, ExtraRoots::default())
    }

    /// Reads a PEM bundle of extra trusted roots (at least one certificate).
    pub fn parse_roots(pem: &[u8]) -> Result<ExtraRoots, BadRoots> {
        let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| BadRoots(e.to_string()))?;
        if certificates.is_empty() {
            return Err(BadRoots("no PEM certificate (-----BEGIN CERTIFICATE-----) found".to_owned()));
        }
        Ok(ExtraRoots { pem: pem.to_vec(), certificates })
    }

    /// The extra trusted roots as a PEM bundle (empty when there are none).
    pub fn extra_roots_pem(&self) -> &[u8] {
        &self.extra_roots_pem
    }

    /// A client that trusts the system's certificate authorities and `extra_roots`.
    pub fn with_roots(
        addresses: AddressPolicy,
        timeouts: Timeouts,
        extra_roots: ExtraRoots,
    ) -> Result<Self, SendError> {
        install_crypto_provider();
        let addresses = Arc::new(addresses);
        let http = reqwest::Client::builder()
            .tls_certs_merge(extra_roots.certificates)
            .dns_resolver(Arc::new(VettingResolver { addresses: addresses.clone() }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .user_agent(concat!("ucm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SendError::Other(e.to_string()))?;
        Ok(Self { http, addresses, extra_roots_pem: Arc::new(extra_roots.pem), own_flows: None })
    }

    /// The same client, also allowed to call this installation's own listener at `address`,
    /// and there only its flows' webhooks (`/automation/webhooks/…`): exactly that address and
    /// port, whatever `network.allowed_networks` says about the rest of its network.
    pub fn with_own_flows_endpoint(mut self, address: SocketAddr) -> Self {
        self.own_flows = Some(address);
        self
    }

    fn is_own_flows(&self, ip: IpAddr, url: &reqwest::Url) -> bool {
        self.own_flows.is_some_and(|own| {
            own.ip() == ip
                && url.port_or_known_default() == Some(own.port())
                && url.path().starts_with("/automation/webhooks/")
        })
    }

    /// Resolves `host` and returns the first of its addresses that outbound calls may reach,
    /// for connections that are not HTTP (SMTP), which then connect to that address only.
    pub async fn vet(&self, host: &str, port: u16) -> Result<SocketAddr, SendError> {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = literal.parse::<IpAddr>() {
            if !self.addresses.permits(ip) {
                return Err(SendError::Refused(format!(
                    "{ip} is not an address outbound calls may reach; list its network in network.allowed_networks \
                     if that is intended"
                )));
            }
            return Ok(SocketAddr::new(ip, port));
        }
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| SendError::Connect(format!("cannot resolve `{host}`: {e}")))?
            .collect();
        found.iter().copied().find(|a| self.addresses.permits(a.ip())).ok_or_else(|| {
            let addresses = found.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ");
            SendError::Refused(AllRefused { host: host.to_owned(), addresses }.to_string())
        })
    }

    /// Sends `request` and reads at most `max_body` bytes of the answer (the rest is dropped
    /// and `truncated` set). A 3xx answer is returned as it is (not followed).
    pub async fn send(&self, request: &Request, max_body: usize) -> Result<Response, SendError> {
        // Errors name the scheme and host only: a URL's path can be a credential (Slack webhooks).
        let url =
            reqwest::Url::parse(&request.url).map_err(|e| SendError::BadUrl(format!("the URL is not valid: {e}")))?;
        let shown = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SendError::BadUrl(format!("{shown}: only http:// and https:// can be called")));
        }
        let host = url.host_str().ok_or_else(|| SendError::BadUrl(format!("{shown}: no host")))?;
        // Literal addresses do not go through the resolver: check them here.
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>()
            && !self.addresses.permits(ip)
            && !self.is_own_flows(ip, &url)
        {
            return Err(SendError::Refused(format!(
                "{ip} is not an address outbound calls may reach; list its network in network.allowed_networks \
                     if that is intended"
            )));
        }
        let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| SendError::BadUrl(format!("`{}` is not an HTTP method", request.method)))?;
        let mut builder = self.http.request(method, url);
        if let Some(body) = &request.body {
            builder = builder.body(body.clone());
        }
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let mut response = builder.send().await.map_err(classify)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
            .collect();
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    body.extend_from_slice(&chunk);
                    if body.len() > max_body {
                        body.truncate(max_body);
                        truncated = true;
                        break;
                    }
                }
                Ok(None) => break,
                // The status is what counts; a body cut short is only less to read.
                Err(_) => {
                    truncated = true;
                    break;
                }
            }
        }
        Ok(Response { status, headers, body, truncated })
    }
}

/// A request of any method (connectors and web request steps). `Debug` shows the method and
/// the scheme and host only: paths, headers and bodies may hold credentials.
#[derive(Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, …
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let to = reqwest::Url::parse(&self.url)
            .map(|u| format!("{}://{}", u.scheme(), u.host_str().unwrap_or_default()))
            .unwrap_or_default();
        f.debug_struct("Request").field("method", &self.method).field("to", &to).finish_non_exhaustive()
    }
}

impl Request {
    /// A request with a JSON body and `content-type: application/json`.
    pub fn json(method: &str, url: impl Into<String>, body: &impl serde::Serialize) -> Self {
        Self {
            method: method.to_owned(),
            url: url.into(),
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: Some(serde_json::to_vec(body).unwrap_or_default()),
        }
    }

    /// A GET request.
    pub fn get(url: impl Into<String>) -> Self {
        Self { method: "GET".to_owned(), url: url.into(), ..Self::default() }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// An answer to [`GuardedClient::send`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, values that are text.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body was longer than asked for (or ended early) and is cut short.
    pub truncated: bool,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON, if it is.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn classify(error: reqwest::Error) -> SendError {
    // The resolver's refusal arrives wrapped; find it in the chain.
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<AllRefused>() {
            return SendError::Refused(refused.to_string());
        }
        source = e.source();
    }
    if error.is_builder() {
        // A header that cannot be sent, and the like: trying again will not help.
        SendError::BadUrl(format!("the request cannot be sent: {}", root_cause(&error)))
    } else if error.is_timeout() {
        SendError::Timeout
    } else if error.is_connect() {
        SendError::Connect(root_cause(&error))
    } else {
        SendError::Other(root_cause(&error))
    }
}

fn root_cause(error: &dyn std::error::Error) -> String {
    let mut last = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}
