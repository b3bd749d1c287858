//! Email over SMTP (TARGETS.md): submission on 587 with STARTTLS or 465 with TLS, AUTH
//! PLAIN/LOGIN, plain SMTP only to this machine. Messages are `multipart/alternative` with the
//! Markdown as the text part and its HTML rendering as the HTML part; lettre encodes UTF-8
//! subjects and names and sets `Message-ID` and `Date`. The server's address is resolved and
//! vetted by the same address policy as every other outbound call, and the connection goes to
//! the vetted address (the name is kept for TLS).

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use webhooks::GuardedClient;

use crate::connections::Settings;
use crate::{ConnectorError, Target};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (submission, port 587). Refused if the server
    /// does not offer it.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only to this machine (localhost).
    None,
}

/// Whether `host` names this machine.
pub fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An email to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: Vec<String>,
    /// Shown to every recipient.
    pub cc: Vec<String>,
    /// Sent to, never shown: they are in the envelope only, not in a header.
    pub bcc: Vec<String>,
    pub subject: String,
    pub markdown: String,
}

/// What the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentEmail {
    pub message_id: String,
}

struct Smtp<'a> {
    host: &'a str,
    port: u16,
    security: SmtpSecurity,
    username: &'a str,
    from: &'a str,
}

fn smtp(target: &Target) -> Result<Smtp<'_>, ConnectorError> {
    match &target.settings {
        Settings::Smtp { host, port, security, username, from } => {
            Ok(Smtp { host, port: *port, security: *security, username, from })
        }
        other => Err(ConnectorError::permanent(format!("a {} connection cannot send email", other.kind()))),
    }
}

async fn transport(
    client: &GuardedClient,
    target: &Target,
    smtp: &Smtp<'_>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, ConnectorError> {
    let address = client.vet(smtp.host, smtp.port).await.map_err(|e| ConnectorError::from(e).on_field("host"))?;
    // The system's roots, plus the installation's extra ones (network.extra_ca_file).
    let tls_for = |name: &str| {
        let fail = |e: lettre::transport::smtp::Error| {
            ConnectorError::permanent(format!("TLS for `{name}`: {e}")).on_field("host")
        };
        let mut parameters = TlsParameters::builder(name.to_owned());
        if !client.extra_roots_pem().is_empty() {
            parameters =
                parameters.add_root_certificate(Certificate::from_pem(client.extra_roots_pem()).map_err(fail)?);
        }
        parameters.build_rustls().map_err(fail)
    };
    let tls = match smtp.security {
        SmtpSecurity::Starttls => Tls::Required(tls_for(smtp.host)?),
        SmtpSecurity::Tls => Tls::Wrapper(tls_for(smtp.host)?),
        SmtpSecurity::None if address.ip().is_loopback() => Tls::None,
        SmtpSecurity::None => {
            return Err(ConnectorError::permanent(format!(
                "`{}` is not this machine: plain SMTP is only used to localhost; choose starttls or tls",
                smtp.host
            ))
            .on_field("security"));
        }
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(address.ip().to_string())
        .port(address.port())
        .tls(tls)
        .timeout(Some(Duration::from_secs(15)));
    if !smtp.username.is_empty() {
        builder = builder
            .credentials(Credentials::new(smtp.username.to_owned(), target.secret()?.to_owned()))
            .authentication(vec![Mechanism::Plain, Mechanism::Login]);
    }
    Ok(builder.build())
}

fn mailbox(text: &str, field: &str) -> Result<Mailbox, ConnectorError> {
    text.trim()
        .parse()
        .map_err(|e| ConnectorError::permanent(format!("`{text}` is not an email address ({e})")).on_field(field))
}

/// Sends `email`.
pub async fn send(client: &GuardedClient, target: &Target, email: &Email) -> Result<SentEmail, ConnectorError> {
    let smtp = smtp(target)?;
    if email.to.is_empty() {
        return Err(ConnectorError::permanent("an email needs at least one recipient").on_field("to"));
    }
    let mut builder =
        Message::builder().from(mailbox(smtp.from, "from")?).subject(email.subject.trim()).message_id(None);
    for to in &email.to {
        builder = builder.to(mailbox(to, "to")?);
    }
    for cc in &email.cc {
        builder = builder.cc(mailbox(cc, "cc")?);
    }
    // lettre keeps Bcc recipients in the envelope and leaves the header out of the message.
    for bcc in &email.bcc {
        builder = builder.bcc(mailbox(bcc, "bcc")?);
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(email.markdown.clone(), render::to_html(&email.markdown)))
        .map_err(|e| ConnectorError::permanent(format!("the message cannot be built: {e}")))?;
    let message_id = message.headers().get_raw("Message-ID").unwrap_or_default().to_owned();
    let transport = transport(client, target, &smtp).await?;
    transport.send(message).await.map_err(failure)?;
    Ok(SentEmail { message_id })
}

/// "Test connection": connects, says hello, upgrades to TLS as configured and signs in,
/// sending nothing.
pub async fn test(client: &GuardedClient, target: &Target) -> Result<String, ConnectorError> {
    let smtp = smtp(target)?;
    let transport = transport(client, target, &smtp).await?;
    match transport.test_connection().await {
        Ok(true) => Ok(format!(
            "the SMTP server at {}:{} answers{}",
            smtp.host,
            smtp.port,
            if smtp.username.is_empty() { String::new() } else { format!(" and accepts {}", smtp.username) }
        )),
        Ok(false) => {
            Err(ConnectorError::transient(format!("the SMTP server at {}:{} did not answer", smtp.host, smtp.port)))
        }
        Err(e) => Err(failure(e)),
    }
}

/// SMTP's own classification: 4xx answers may pass later, 5xx will not (535: the credentials);
/// connection problems and timeouts may pass later.
fn failure(error: lettre::transport::smtp::Error) -> ConnectorError {
    let text = error.to_string();
    if error.is_permanent() {
        let failure = ConnectorError::permanent(format!("the SMTP server refused: {text}"));
        return if text.contains("535") || text.to_ascii_lowercase().contains("auth") {
            failure.on_field("secret")
        } else {
            failure
        };
    }
    if error.is_client() {
        // The server and these settings do not fit (no sign-in offered on a plain connection,
        // say): trying again will not help.
        return ConnectorError::permanent(format!(
            "SMTP: {text} (does the server want STARTTLS or TLS before signing in?)"
        ))
        .on_field("security");
    }
    if error.is_tls() {
        return ConnectorError::transient(format!("TLS with the SMTP server failed: {text}")).on_field("security");
    }
    ConnectorError::transient(format!("SMTP: {text}"))
}
