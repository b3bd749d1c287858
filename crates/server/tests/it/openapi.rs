use std::path::PathBuf;

use testkit::TestDb;

use crate::{App, json_ok};

/// The served OpenAPI document equals the committed snapshot (`crates/server/openapi.json`).
/// After an intended API change: `UPDATE_SNAPSHOTS=1 cargo test -p server openapi`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_openapi_matches_the_committed_snapshot() {
    let app = App::start(TestDb::sqlite().await).await;
    let served = json_ok(app.request(reqwest::Method::GET, "/api/openapi.json", None).send().await.unwrap()).await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == pretty,
        "the served OpenAPI document differs from {}; if the change is intended, run \
         `UPDATE_SNAPSHOTS=1 cargo test -p server openapi` and commit the file",
        path.display()
    );
    for path in ["/api/v1/users", "/api/v1/saved-filters/{filterId}", "/api/v1/api-keys", "/healthz"] {
        assert!(served["paths"][path].is_object(), "{path} is documented");
    }
}
