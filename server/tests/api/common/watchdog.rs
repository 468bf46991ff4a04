//! A test that runs far longer than any test does is reported and the test binary stopped: a
//! hang otherwise holds CI until its own limit and says nothing (two clean-clone runs ended
//! that way). The report names the test and shows what its database sessions were doing.

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// No test takes a minute on its own (libtest warns past 60 s and never has); four is a hang.
const HUNG_AFTER: Duration = Duration::from_secs(240);

#[derive(Clone)]
struct Watched {
    test: String,
    /// The test's databases, as `(admin URL, name)`, for the report.
    databases: Vec<(String, String)>,
    since: Instant,
    thread: std::thread::ThreadId,
}

static WATCHED: Mutex<Vec<Watched>> = Mutex::new(Vec::new());

/// Removes the calling test's entry when its thread ends: libtest runs each test on a thread of
/// its own, so a test that finishes (or panics) leaves the list, and one that hangs stays.
struct Leaves;

impl Drop for Leaves {
    fn drop(&mut self) {
        let me = std::thread::current().id();
        if let Ok(mut watched) = WATCHED.lock() {
            watched.retain(|entry| entry.thread != me);
        }
    }
}

thread_local! {
    static LEAVES: Leaves = const { Leaves };
}

/// Watches the calling test; `database` (admin URL and name), when given, goes in its report.
pub fn watch(database: Option<(&str, &str)>) {
    start_watchdog();
    let me = std::thread::current();
    LEAVES.with(|_| {}); // registers the thread-exit hook
    let mut watched = WATCHED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let entry = match watched.iter_mut().position(|entry| entry.thread == me.id()) {
        Some(at) => &mut watched[at],
        None => {
            watched.push(Watched {
                test: me.name().unwrap_or("an unnamed test").to_owned(),
                databases: Vec::new(),
                since: Instant::now(),
                thread: me.id(),
            });
            watched.last_mut().expect("just pushed")
        }
    };
    if let Some((admin_url, name)) = database {
        entry
            .databases
            .push((admin_url.to_owned(), name.to_owned()));
    }
}

fn start_watchdog() {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        std::thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_secs(5));
                let hung: Vec<Watched> = {
                    let watched = WATCHED.lock().unwrap_or_else(|p| p.into_inner());
                    (watched.iter())
                        .filter(|entry| entry.since.elapsed() > HUNG_AFTER)
                        .cloned()
                        .collect()
                };
                if !hung.is_empty() {
                    report_and_exit(&hung);
                }
            })
            .expect("the watchdog thread starts");
    });
}

/// Writes straight to the process's stderr (libtest captures the macros' output, not this),
/// then exits; `exit` runs the atexit hook that releases the shared cluster.
fn report_and_exit(hung: &[Watched]) -> ! {
    let mut report = String::new();
    for entry in hung {
        let (test, running) = (&entry.test, entry.since.elapsed());
        report += &format!("\nHUNG TEST: {test} has run for {running:?}\n");
        for (admin_url, name) in &entry.databases {
            report += &format!("  database {name}:\n{}", sessions_of(admin_url, name));
        }
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(report.as_bytes());
    let _ = stderr.flush();
    std::process::exit(101);
}

/// The database's sessions: state, what each waits on, and its query.
fn sessions_of(admin_url: &str, name: &str) -> String {
    let admin_url = admin_url.to_owned();
    let name = name.to_owned();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => return format!("    (no runtime for the report: {err})\n"),
    };
    let rows = runtime.block_on(async move {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::query_as::<_, (i32, String, String, String, String, String)>(
            "select pid, coalesce(usename, ''), coalesce(state, ''), \
             coalesce(wait_event_type || '/' || wait_event, ''), \
             coalesce(to_char(now() - xact_start, 'HH24:MI:SS'), ''), left(query, 300) \
             from pg_stat_activity where datname = $1 order by pid",
        )
        .bind(&name)
        .fetch_all(&mut conn)
        .await
    });
    match rows {
        Ok(rows) => rows
            .into_iter()
            .map(|(pid, user, state, wait, xact, query)| {
                format!("    pid {pid} {user} {state} wait={wait} xact={xact}: {query}\n")
            })
            .collect(),
        Err(err) => format!("    (could not list its sessions: {err})\n"),
    }
}
