use testkit::{TestDb, backend_tests};

backend_tests!(migrations_apply_and_seed_the_app_types, migrations_are_idempotent);

async fn migrations_apply_and_seed_the_app_types(db: TestDb) {
    let catalog = db.store.catalog().await.unwrap();
    let keys: Vec<&str> = catalog.apps.iter().map(|a| a.app_type.as_str()).collect();
    assert_eq!(
        keys,
        [
            "jira-software",
            "jira-servicedesk",
            "confluence",
            "cmdb",
            "customer-service-management",
            "jira-product-discovery",
            "bitbucket",
            "compass"
        ]
    );
    assert_eq!(catalog.app("JSM").unwrap().display_name, "Jira Service Management");
    assert_eq!(catalog.app("csm").unwrap().app_type.as_str(), "customer-service-management");
    assert_eq!(catalog.app("Assets").unwrap().app_type.as_str(), "cmdb");
}

async fn migrations_are_idempotent(db: TestDb) {
    let options = store::StoreOptions { postgres_schema: db.schema.clone(), ..Default::default() };
    let again = store::Store::open(&db.url, &options).await.unwrap();
    assert_eq!(again.catalog().await.unwrap().apps.len(), 8);
}

/// The two engines' schemas describe the same tables and columns (name, type family,
/// nullability, primary key), the same indexes (columns, uniqueness) and the same foreign keys
/// (columns, referenced column, delete rule). Fails if either migration folder drifts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_match() {
    let sqlite = TestDb::sqlite().await;
    let Some(postgres) = TestDb::postgres().await else {
        return;
    };
    let left = sqlite.store.describe_schema().await.unwrap();
    let right = postgres.store.describe_schema().await.unwrap();
    assert!(left.len() > 40, "the schema was read: {} columns", left.len());
    let only_sqlite: Vec<_> = left.iter().filter(|c| !right.contains(c)).collect();
    let only_postgres: Vec<_> = right.iter().filter(|c| !left.contains(c)).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "schemas differ\n only in SQLite: {only_sqlite:#?}\n only in PostgreSQL: {only_postgres:#?}"
    );
    let left = sqlite.store.describe_indexes().await.unwrap();
    let right = postgres.store.describe_indexes().await.unwrap();
    assert!(left.iter().any(|i| i.table == "users" && i.unique), "primary keys and unique keys are listed: {left:#?}");
    assert!(left.iter().any(|i| i.columns == ["app_type", "site_id", "account_id", "activity_at"]), "{left:#?}");
    assert_eq!(left, right, "indexes differ between SQLite and PostgreSQL");
    let left = sqlite.store.describe_foreign_keys().await.unwrap();
    let right = postgres.store.describe_foreign_keys().await.unwrap();
    assert!(
        left.iter().any(|k| k.table == "user_groups" && k.column == "group_id" && k.on_delete == "CASCADE"),
        "{left:#?}"
    );
    assert_eq!(left, right, "foreign keys differ between SQLite and PostgreSQL");
}

/// An installation configured with a PostgreSQL schema that does not exist yet creates it,
/// rather than failing with "no schema has been selected to create in".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_postgres_schema_is_created() {
    let Some(url) = testkit::postgres_url() else { return };
    let schema = format!("fresh_{}", model::random::secret_text(8).to_ascii_lowercase().replace(['-', '_'], "x"));
    let options = store::StoreOptions { postgres_schema: Some(schema.clone()), ..Default::default() };
    let opened = store::Store::open(&url, &options).await;
    let applied = match &opened {
        Ok(store) => store.catalog().await.map(|c| c.apps.len()).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Ok(store) = opened {
        store.close().await;
    }
    store::drop_postgres_schema(&url, &schema).await.unwrap();
    assert_eq!(applied, Ok(8));
}
