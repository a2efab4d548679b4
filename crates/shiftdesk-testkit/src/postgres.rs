//! A database of its own for each PostgreSQL test, on the machine's server.
//!
//! [`TestDb::create`] connects to the server's `test` database (`127.0.0.1:5432`, user
//! `postgres`, trust auth; `SHIFTDESK_TEST_POSTGRES` names another server), creates a database
//! with a unique name and drops it when dropped, a failed test included (`WITH (FORCE)`
//! ends what is still connected). A database left by a test process that was killed is dropped
//! by the next one. When the server does not answer, the test prints `skipped: PostgreSQL not
//! reachable at …` and returns, unless `SHIFTDESK_REQUIRE_POSTGRES=1` (as in CI), which makes
//! that a failure.
//!
//! The work runs on a thread of its own: the client blocks on a runtime of its own, which
//! must not happen on an async test's runtime.

use shiftdesk_hub::store::PostgresTarget;
use shiftdesk_hub::store::postgres::describe_error;

/// The server tests use, with the database to connect to for creating others.
pub const DEFAULT_SERVER: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Names of test databases start with this, then the test process's id.
const PREFIX: &str = "sdtest_";

/// A database that exists for one test.
pub struct TestDb {
    /// `postgres://…/NAME`, for `--store` or [`PostgresTarget::parse`].
    pub url: String,
    pub name: String,
    admin: PostgresTarget,
}

fn server_url() -> String {
    std::env::var("SHIFTDESK_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_SERVER.into())
}

fn required() -> bool {
    std::env::var("SHIFTDESK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1")
}

/// Run one SQL statement on a connection of its own to `target` (on a thread of its own);
/// the first column of each row, as text.
fn run_sql(target: &PostgresTarget, sql: &str) -> Result<Vec<String>, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                runtime.block_on(async {
                    let connect = tokio::time::timeout(
                        std::time::Duration::from_secs(5),
                        target.config().connect(tokio_postgres::NoTls),
                    );
                    let (client, connection) = match connect.await {
                        Ok(Ok(pair)) => pair,
                        Ok(Err(e)) => return Err(describe_error(&e)),
                        Err(_) => return Err("no answer within 5 s".into()),
                    };
                    let driver = tokio::spawn(connection);
                    let rows = client
                        .simple_query(sql)
                        .await
                        .map_err(|e| describe_error(&e));
                    drop(client);
                    let _ = driver.await;
                    Ok(rows?
                        .into_iter()
                        .filter_map(|message| match message {
                            tokio_postgres::SimpleQueryMessage::Row(row) => {
                                Some(row.get(0).unwrap_or_default().to_string())
                            }
                            _ => None,
                        })
                        .collect())
                })
            })
            .join()
            .unwrap_or_else(|_| Err("the PostgreSQL admin thread panicked".into()))
    })
}

/// `url` (`postgres://USER@HOST:PORT/DB?…`) naming the database `name` instead; the password,
/// if any, kept (`redacted` URLs hide it).
fn url_with_database(url: &str, name: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let path = url[authority..]
        .find('/')
        .map_or(url.len(), |i| authority + i);
    let query = url[path..].find('?').map_or(url.len(), |i| path + i);
    format!("{}/{name}{}", &url[..path], &url[query..])
}

/// Drop the test databases of test processes that are gone (killed before their drop ran).
fn drop_orphans(admin: &PostgresTarget) {
    let Ok(names) = run_sql(
        admin,
        &format!("SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%'"),
    ) else {
        return;
    };
    for name in names {
        let pid = name[PREFIX.len()..].split('_').next().unwrap_or_default();
        let alive = pid.parse::<u32>().is_ok_and(|pid| {
            pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if !alive {
            // Another test process may be dropping it too: whoever loses does not mind.
            let _ = run_sql(
                admin,
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
        }
    }
}

impl TestDb {
    /// A new, empty database for `test` (a few words naming the test), or `None` when the
    /// server does not answer and PostgreSQL is not required.
    pub fn create(test: &str) -> Option<TestDb> {
        let server = server_url();
        let admin_target = match PostgresTarget::parse(&server) {
            Ok(target) => target,
            Err(e) => panic!("SHIFTDESK_TEST_POSTGRES: {e}"),
        };
        let slug: String = test
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(24)
            .collect();
        let name = format!(
            "{PREFIX}{}_{slug}_{:08x}",
            std::process::id(),
            rand::random::<u32>()
        );
        let created = run_sql(&admin_target, &format!("CREATE DATABASE \"{name}\""));
        match created {
            Ok(_) => drop_orphans(&admin_target),
            Err(e) if required() => panic!(
                "PostgreSQL is required (SHIFTDESK_REQUIRE_POSTGRES=1) but {}: {e}",
                admin_target.redacted()
            ),
            Err(e) => {
                println!(
                    "skipped: PostgreSQL not reachable at {} ({e})",
                    admin_target.redacted()
                );
                return None;
            }
        }
        Some(TestDb {
            url: url_with_database(&server, &name),
            name,
            admin: admin_target,
        })
    }

    /// This database, for [`shiftdesk_hub::store::PostgresStore::open`].
    pub fn target(&self) -> PostgresTarget {
        PostgresTarget::parse(&self.url).expect("a test database's URL parses")
    }

    /// Run SQL in this database (on a connection of its own); the rows' first columns as text.
    pub fn query(&self, sql: &str) -> Vec<String> {
        run_sql(&self.admin.with_database(&self.name), sql).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// End every session connected to this database (`pg_terminate_backend`) but the caller's;
    /// returns how many.
    pub fn terminate_connections(&self) -> usize {
        let sql = format!(
            "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity \
             WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        );
        run_sql(&self.admin, &sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .len()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        if let Err(e) = run_sql(&self.admin, &sql) {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}
