//! What the live schema looks like, engine-neutral: for the schema-parity test and for
//! diagnosing a database that drifted.

use sqlx::Row as _;

use crate::{Engine, Result, Store};

/// A column as both engines can describe it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub table: String,
    pub name: String,
    /// `integer`, `text`, `real` or `blob`.
    pub family: String,
    pub nullable: bool,
    pub primary_key: bool,
}

/// An index (primary keys and unique constraints included), by what it covers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    pub table: String,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
    pub unique: bool,
}

/// A single-column foreign key and what deleting the referenced row does.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub table: String,
    pub column: String,
    pub references_table: String,
    pub references_column: String,
    /// `CASCADE`, `NO ACTION`, …
    pub on_delete: String,
}

fn family(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") {
        "integer"
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text"
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") || t.contains("numeric") {
        "real"
    } else {
        "blob"
    }
    .to_owned()
}

impl Store {
    /// SQLite: the application's tables (SQLite's own and migration bookkeeping left out).
    async fn sqlite_tables(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '\\_sqlx%' ESCAPE '\\'",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every column of every application table (migration bookkeeping excluded), sorted.
    pub async fn describe_schema(&self) -> Result<Vec<Column>> {
        let mut columns = Vec::new();
        match self.engine {
            Engine::Sqlite => {
                let tables = self.sqlite_tables().await?;
                for table in tables {
                    let rows =
                        sqlx::query("SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid")
                            .bind(table.clone())
                            .fetch_all(&self.pool)
                            .await?;
                    for row in rows {
                        let pk: i64 = row.try_get(3)?;
                        let not_null: i64 = row.try_get(2)?;
                        columns.push(Column {
                            table: table.clone(),
                            name: row.try_get(0)?,
                            family: family(&row.try_get::<String, _>(1)?),
                            // SQLite lets a non-INTEGER primary key hold NULL unless NOT NULL is said.
                            nullable: not_null == 0,
                            primary_key: pk > 0,
                        });
                    }
                }
            }
            Engine::Postgres => {
                let rows = sqlx::query(
                    "SELECT c.table_name::text, c.column_name::text, c.data_type::text, c.is_nullable::text, \
                     CASE WHEN EXISTS (SELECT 1 FROM information_schema.table_constraints tc \
                       JOIN information_schema.key_column_usage k ON k.constraint_name = tc.constraint_name \
                        AND k.table_schema = tc.table_schema AND k.table_name = tc.table_name \
                       WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = c.table_schema \
                        AND tc.table_name = c.table_name AND k.column_name = c.column_name) THEN 1 ELSE 0 END::bigint \
                     FROM information_schema.columns c \
                     WHERE c.table_schema = current_schema() AND c.table_name NOT LIKE '\\_sqlx%'",
                )
                .fetch_all(&self.pool)
                .await?;
                for row in rows {
                    let pk: i64 = row.try_get(4)?;
                    columns.push(Column {
                        table: row.try_get(0)?,
                        name: row.try_get(1)?,
                        family: family(&row.try_get::<String, _>(2)?),
                        nullable: row.try_get::<String, _>(3)? == "YES",
                        primary_key: pk == 1,
                    });
                }
            }
        }
        columns.sort();
        Ok(columns)
    }

    /// Every index of every application table, sorted (names differ per engine, so indexes are
    /// compared by table, columns and uniqueness).
    pub async fn describe_indexes(&self) -> Result<Vec<Index>> {
        let mut indexes = Vec::new();
        match self.engine {
            Engine::Sqlite => {
                let tables = self.sqlite_tables().await?;
                for table in tables {
                    let list = sqlx::query("SELECT name, \"unique\" FROM pragma_index_list($1)")
                        .bind(table.clone())
                        .fetch_all(&self.pool)
                        .await?;
                    for row in list {
                        let name: String = row.try_get(0)?;
                        let unique: i64 = row.try_get(1)?;
                        let columns: Vec<String> =
                            sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                                .bind(name)
                                .fetch_all(&self.pool)
                                .await?;
                        indexes.push(Index { table: table.clone(), columns, unique: unique == 1 });
                    }
                }
            }
            Engine::Postgres => {
                let rows = sqlx::query(
                    "SELECT tablename::text, indexdef::text FROM pg_indexes \
                     WHERE schemaname = current_schema() AND tablename NOT LIKE '\\_sqlx%'",
                )
                .fetch_all(&self.pool)
                .await?;
                for row in rows {
                    let definition: String = row.try_get(1)?;
                    // A partial index's predicate is not compared (SQLite does not list it).
                    let definition = definition.split(" WHERE ").next().unwrap_or_default();
                    let inside = definition
                        .rsplit_once('(')
                        .and_then(|(_, rest)| rest.split_once(')'))
                        .map(|(columns, _)| columns)
                        .unwrap_or_default();
                    indexes.push(Index {
                        table: row.try_get(0)?,
                        columns: inside.split(',').map(|c| c.trim().trim_matches('"').to_owned()).collect(),
                        unique: definition.starts_with("CREATE UNIQUE INDEX"),
                    });
                }
            }
        }
        indexes.sort();
        Ok(indexes)
    }

    /// Every foreign key of every application table, sorted.
    pub async fn describe_foreign_keys(&self) -> Result<Vec<ForeignKey>> {
        let mut keys = Vec::new();
        match self.engine {
            Engine::Sqlite => {
                for table in self.sqlite_tables().await? {
                    let rows =
                        sqlx::query("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list($1)")
                            .bind(table.clone())
                            .fetch_all(&self.pool)
                            .await?;
                    for row in rows {
                        keys.push(ForeignKey {
                            table: table.clone(),
                            column: row.try_get(1)?,
                            references_table: row.try_get(0)?,
                            references_column: row.try_get(2)?,
                            on_delete: row.try_get::<String, _>(3)?.to_ascii_uppercase(),
                        });
                    }
                }
            }
            Engine::Postgres => {
                let rows = sqlx::query(
                    "SELECT tc.table_name::text, kcu.column_name::text, ccu.table_name::text, \
                     ccu.column_name::text, rc.delete_rule::text \
                     FROM information_schema.table_constraints tc \
                     JOIN information_schema.key_column_usage kcu \
                       ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema \
                     JOIN information_schema.constraint_column_usage ccu \
                       ON ccu.constraint_name = tc.constraint_name AND ccu.table_schema = tc.table_schema \
                     JOIN information_schema.referential_constraints rc \
                       ON rc.constraint_name = tc.constraint_name AND rc.constraint_schema = tc.table_schema \
                     WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema()",
                )
                .fetch_all(&self.pool)
                .await?;
                for row in rows {
                    keys.push(ForeignKey {
                        table: row.try_get(0)?,
                        column: row.try_get(1)?,
                        references_table: row.try_get(2)?,
                        references_column: row.try_get(3)?,
                        on_delete: row.try_get(4)?,
                    });
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}
