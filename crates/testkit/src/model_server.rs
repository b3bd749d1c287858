//! A model endpoint that speaks the OpenAI chat-completions protocol on 127.0.0.1, answering
//! with scripted replies in order, and keeping every request it received.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this chat completion.
    Completion(Value),
    /// This status and body as they are.
    Raw { status: u16, body: String },
    /// Waits, then answers.
    Slow { delay: Duration, reply: Box<Reply> },
}

impl Reply {
    /// A final answer with `text`.
    pub fn text(text: &str) -> Self {
        Self::Completion(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        }))
    }

    /// A request to call `tool` with `arguments`.
    pub fn tool_call(id: &str, tool: &str, arguments: &Value) -> Self {
        Self::Completion(json!({
            "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": id, "type": "function",
                    "function": {"name": tool, "arguments": arguments.to_string()}}],
            }}],
        }))
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Received {
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Debug, Default)]
struct Script {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
}

/// The server. It stops with the test's runtime.
#[derive(Debug, Clone)]
pub struct ModelServer {
    /// The API root to configure (`http://127.0.0.1:PORT/v1`).
    pub base_url: String,
    script: Arc<Mutex<Script>>,
}

impl ModelServer {
    pub async fn start() -> Self {
        let script = Arc::new(Mutex::new(Script::default()));
        let app =
            axum::Router::new().route("/v1/chat/completions", axum::routing::post(complete)).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { base_url, script }
    }

    /// Queues the next answers.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().replies.extend(replies);
    }

    /// Every request so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }
}

async fn complete(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let reply = {
        let mut script = script.lock().unwrap();
        let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
        script.received.push(Received { authorization, body });
        script.replies.pop_front()
    };
    let mut reply = reply.unwrap_or(Reply::Raw { status: 500, body: "no reply scripted".to_owned() });
    loop {
        match reply {
            Reply::Completion(value) => return Json(value).into_response(),
            Reply::Raw { status, body } => return (StatusCode::from_u16(status).unwrap(), body).into_response(),
            Reply::Slow { delay, reply: next } => {
                tokio::time::sleep(delay).await;
                reply = *next;
            }
        }
    }
}
