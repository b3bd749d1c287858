//! An SMTP server on 127.0.0.1 for tests: it holds a real SMTP conversation (EHLO, STARTTLS
//! when given a certificate, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET,
//! NOOP, QUIT), requires sign-in when given credentials, and keeps every message it accepts.

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncWrite, AsyncWriteExt as _, BufReader, ReadHalf};

/// A message as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The account that signed in, if any.
    pub authenticated_as: Option<String>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The message (headers and body) with dot-stuffing removed.
    pub data: String,
    /// Whether the conversation had switched to TLS (STARTTLS) when the message came.
    pub over_tls: bool,
}

/// A running SMTP server.
#[derive(Debug, Clone)]
pub struct SmtpServer {
    pub port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpServer {
    /// Starts a server; with `credentials`, MAIL is refused until that account signs in.
    pub async fn start(credentials: Option<(&str, &str)>) -> Self {
        Self::start_with(credentials, None).await
    }

    /// Starts a server that offers STARTTLS with `tls`'s certificate and refuses MAIL on a
    /// connection that has not switched to TLS.
    pub async fn start_tls(credentials: Option<(&str, &str)>, tls: tokio_rustls::TlsAcceptor) -> Self {
        Self::start_with(credentials, Some(tls)).await
    }

    /// Starts a server that speaks TLS from the first byte (as on port 465).
    pub async fn start_implicit_tls(credentials: Option<(&str, &str)>, tls: tokio_rustls::TlsAcceptor) -> Self {
        Self::start_mode(credentials, None, Some(tls)).await
    }

    async fn start_with(credentials: Option<(&str, &str)>, tls: Option<tokio_rustls::TlsAcceptor>) -> Self {
        Self::start_mode(credentials, tls, None).await
    }

    async fn start_mode(
        credentials: Option<(&str, &str)>,
        tls: Option<tokio_rustls::TlsAcceptor>,
        implicit: Option<tokio_rustls::TlsAcceptor>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let credentials = credentials.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (store, credentials, tls, implicit) =
                    (store.clone(), credentials.clone(), tls.clone(), implicit.clone());
                tokio::spawn(async move {
                    let (mut stream, mut over_tls): (Box<dyn Stream>, bool) = match implicit {
                        None => (Box::new(stream), false),
                        Some(acceptor) => match acceptor.accept(stream).await {
                            Ok(secured) => (Box::new(secured), true),
                            Err(_) => return,
                        },
                    };
                    let mut greet = true;
                    // A STARTTLS ends one conversation and starts the next over TLS.
                    while let Ok(Some(plain)) =
                        converse(stream, &credentials, &store, tls.is_some(), over_tls, greet).await
                    {
                        greet = false;
                        let Some(acceptor) = tls.clone() else { return };
                        let Ok(secured) = acceptor.accept(plain).await else { return };
                        stream = Box::new(secured);
                        over_tls = true;
                    }
                });
            }
        });
        Self { port, received }
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().unwrap().clone()
    }
}

/// A connection, plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// One conversation. Returns the connection when the client asked to switch to TLS.
async fn converse(
    stream: Box<dyn Stream>,
    credentials: &Option<(String, String)>,
    store: &Arc<Mutex<Vec<ReceivedMail>>>,
    offers_tls: bool,
    over_tls: bool,
    greet: bool,
) -> std::io::Result<Option<Box<dyn Stream>>> {
    let (read, mut write) = tokio::io::split(stream);
    let mut lines = BufReader::new(read);
    if greet {
        write.write_all(b"220 ucm-test ESMTP ready\r\n").await?;
    }
    let mut authenticated_as: Option<String> = None;
    let mut mail_from: Option<String> = None;
    let mut rcpt_to: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        let mut reply = async |text: &str| write.write_all(format!("{text}\r\n").as_bytes()).await;
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let command = line.trim_end_matches(['\r', '\n']).to_owned();
        let verb = command.split(' ').next().unwrap_or_default().to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" if offers_tls && !over_tls => {
                // As submission servers do: no sign-in offered before TLS.
                reply("250-ucm-test\r\n250-8BITMIME\r\n250 STARTTLS").await?;
            }
            "EHLO" => reply("250-ucm-test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN").await?,
            "STARTTLS" if offers_tls && !over_tls => {
                reply("220 2.0.0 Ready to start TLS").await?;
                let read: ReadHalf<Box<dyn Stream>> = lines.into_inner();
                return Ok(Some(read.unsplit(write)));
            }
            "MAIL" if offers_tls && !over_tls => reply("530 5.7.0 Must issue a STARTTLS command first").await?,
            "HELO" => reply("250 ucm-test").await?,
            "AUTH" if offers_tls && !over_tls => reply("530 5.7.0 Must issue a STARTTLS command first").await?,
            "AUTH" => {
                let words: Vec<&str> = command.split(' ').collect();
                let (user, password) = match words.get(1).map(|m| m.to_ascii_uppercase()).as_deref() {
                    Some("PLAIN") => {
                        let encoded = match words.get(2) {
                            Some(inline) => (*inline).to_owned(),
                            None => {
                                reply("334 ").await?;
                                read_trimmed(&mut lines).await?
                            }
                        };
                        let decoded = STANDARD.decode(encoded).unwrap_or_default();
                        let parts: Vec<String> =
                            decoded.split(|b| *b == 0).map(|p| String::from_utf8_lossy(p).into_owned()).collect();
                        (parts.get(1).cloned().unwrap_or_default(), parts.get(2).cloned().unwrap_or_default())
                    }
                    Some("LOGIN") => {
                        reply("334 VXNlcm5hbWU6").await?;
                        let user = STANDARD.decode(read_trimmed(&mut lines).await?).unwrap_or_default();
                        reply("334 UGFzc3dvcmQ6").await?;
                        let password = STANDARD.decode(read_trimmed(&mut lines).await?).unwrap_or_default();
                        (String::from_utf8_lossy(&user).into_owned(), String::from_utf8_lossy(&password).into_owned())
                    }
                    _ => {
                        reply("504 5.5.4 Unrecognized authentication type").await?;
                        continue;
                    }
                };
                if credentials.as_ref().is_some_and(|(u, p)| *u == user && *p == password) {
                    authenticated_as = Some(user);
                    reply("235 2.7.0 Authentication successful").await?;
                } else {
                    reply("535 5.7.8 Authentication credentials invalid").await?;
                }
            }
            "MAIL" if credentials.is_some() && authenticated_as.is_none() => {
                reply("530 5.7.0 Authentication required").await?;
            }
            "MAIL" => {
                mail_from = Some(address(&command));
                rcpt_to.clear();
                reply("250 2.1.0 OK").await?;
            }
            "RCPT" if mail_from.is_none() => reply("503 5.5.1 MAIL first").await?,
            "RCPT" => {
                rcpt_to.push(address(&command));
                reply("250 2.1.5 OK").await?;
            }
            "DATA" if rcpt_to.is_empty() => reply("503 5.5.1 RCPT first").await?,
            "DATA" => {
                reply("354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(None);
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                store.lock().unwrap().push(ReceivedMail {
                    authenticated_as: authenticated_as.clone(),
                    mail_from: mail_from.take().unwrap_or_default(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                    over_tls,
                });
                reply("250 2.0.0 OK queued").await?;
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                reply("250 2.0.0 OK").await?;
            }
            "NOOP" => reply("250 2.0.0 OK").await?,
            "QUIT" => {
                reply("221 2.0.0 Bye").await?;
                return Ok(None);
            }
            _ => reply("502 5.5.2 Command not recognized").await?,
        }
    }
}

async fn read_trimmed(lines: &mut BufReader<ReadHalf<Box<dyn Stream>>>) -> std::io::Result<String> {
    let mut line = String::new();
    lines.read_line(&mut line).await?;
    Ok(line.trim().to_owned())
}

/// The address inside `<…>` of `MAIL FROM:<a@b> …` or `RCPT TO:<a@b>`.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..].find('>').map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}
