//! Harness for the end-to-end tests under `tests/tests/`: a real relay process on a free
//! loopback port with its own database file, and real headless Chromium browsers driven through
//! Debian's chromedriver.
//!
//! Everything started here is killed on drop, so a failing test leaves no process behind.
//!
//! With `RELAY_TEST_ENGINE=postgres` each relay keeps every table on PostgreSQL (`--postgres`,
//! at `RELAY_TEST_POSTGRES`, default the local server's `test` database), in a schema of its
//! own; `make test` runs the demo's end-to-end tests once more that way.

use std::{
    net::TcpListener as StdListener,
    path::{Path, PathBuf},
    process::Stdio,
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

mod balancer;

/// Clusters this test process started, so each one's node ids are its own.
static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

use anyhow::{bail, Context, Result};
use fantoccini::{Client, ClientBuilder};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    time::{sleep, Instant},
};

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// Where test artefacts a person may want to look at (screenshots) are kept.
pub fn output_dir() -> PathBuf {
    let dir = workspace_root().join("tests").join("output");
    let _ = std::fs::create_dir_all(&dir);
    dir
}

fn relay_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("RELAY_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join("relay")
}

/// Polls `check` until it returns `Some`, or fails after `timeout` with `what` in the error.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        sleep(Duration::from_millis(20)).await;
    }
}

/// A relay process serving `www/` with a fresh database.
pub struct Relay {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    child: Child,
    _dir: tempfile::TempDir,
    /// `--db`, and on PostgreSQL `--postgres` and `--postgres-schema`: where its tables are.
    database: Vec<std::ffi::OsString>,
}

/// Whether this run's relays keep their tables on PostgreSQL (`RELAY_TEST_ENGINE=postgres`).
pub fn on_postgres() -> bool {
    std::env::var("RELAY_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// The relay's database arguments for a relay whose files are in `dir`: the SQLite file,
/// and on PostgreSQL a schema of its own named after this process and `dir`.
fn database_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let mut args = vec!["--db".into(), dir.join("relay.db").into_os_string()];
    if on_postgres() {
        args.extend(postgres_args(dir));
    }
    args
}

/// `--postgres URL --postgres-schema S`, S named after this process and `dir`.
fn postgres_args(dir: &Path) -> Vec<std::ffi::OsString> {
    let url = std::env::var("RELAY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://root@127.0.0.1:5432/test".to_owned());
    let name: String = dir
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    static CLEANED: std::sync::Once = std::sync::Once::new();
    CLEANED.call_once(|| {
        let url = url.clone();
        // Not on a tokio worker: the blocking client would panic there.
        let _ = std::thread::spawn(move || drop_stale_schemas(&url)).join();
    });
    let schema = format!("relay_e2e_{}_{}", std::process::id(), name.to_lowercase());
    vec![
        "--postgres".into(),
        url.into(),
        "--postgres-schema".into(),
        schema.into(),
    ]
}

impl Relay {
    /// Starts the relay binary (built by `make test` before this crate's tests) with the demo
    /// site and agent seeded, and waits until it prints its address.
    pub async fn start(extra_args: &[&str]) -> Result<Relay> {
        Relay::start_serving(&workspace_root().join("www"), extra_args).await
    }

    /// [`Relay::start`], serving `www` instead of the workspace's `www/`.
    pub async fn start_serving(www: &Path, extra_args: &[&str]) -> Result<Relay> {
        let dir = tempfile::tempdir()?;
        let database = database_args(dir.path());
        Relay::spawn(www, dir, database, extra_args).await
    }

    /// `n` relay processes as the nodes of one cluster: one PostgreSQL schema (at
    /// `RELAY_TEST_POSTGRES`, default the local `test` database) and the local NATS server
    /// (`RELAY_TEST_NATS`, default 127.0.0.1:4222), nodes `n0`, `n1`, ..., each with the demo
    /// seeded (one after another) and its own directory for attachments.
    pub async fn cluster(n: usize, extra_args: &[&str]) -> Result<Vec<Relay>> {
        let nats =
            std::env::var("RELAY_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
        let mut shared = None;
        let mut nodes = Vec::with_capacity(n);
        // Taken before the first node starts: clusters started at once get their own ids.
        let cluster = CLUSTERS.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let dir = tempfile::tempdir()?;
            let postgres = shared
                .get_or_insert_with(|| postgres_args(dir.path()))
                .clone();
            let mut database = vec!["--db".into(), dir.path().join("relay.db").into_os_string()];
            database.extend(postgres);
            // Unique to this cluster (one NATS server serves every test's): a node takes piped
            // co-browse connections on a subject named by its id.
            let node = format!("n{i}-{}-{cluster}", std::process::id());
            let mut args: Vec<&str> = vec!["--nats", &nats, "--node-id", &node];
            args.extend_from_slice(extra_args);
            nodes.push(Relay::spawn(&workspace_root().join("www"), dir, database, &args).await?);
        }
        Ok(nodes)
    }

    async fn spawn(
        www: &Path,
        dir: tempfile::TempDir,
        database: Vec<std::ffi::OsString>,
        extra_args: &[&str],
    ) -> Result<Relay> {
        let bin = relay_binary();
        let mut child = Command::new(&bin)
            .arg("serve")
            .args(["--addr", "127.0.0.1:0", "--seed-demo"])
            .args(&database)
            .arg("--www")
            .arg(www)
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("relay stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.strip_prefix("Relay listening on ") {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    return Ok::<_, anyhow::Error>(url.trim_end_matches('/').to_string());
                }
            }
            bail!("relay exited before printing its address")
        })
        .await
        .context("relay did not print its address in 30 s")??;
        // Keep draining stdout so the relay never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Relay {
            base,
            child,
            _dir: dir,
            database,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Runs a `relay` command (`agent add ...`) on this relay's database, as an operator would.
    pub async fn cli(&self, args: &[&str]) -> Result<()> {
        let status = Command::new(relay_binary())
            .args(&self.database)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .await?;
        if !status.success() {
            bail!("relay {args:?} failed: {status}");
        }
        Ok(())
    }

    /// A widget guest of the demo site that wrote once, through `http` (the guest API limits
    /// each client address): its conversation's id and the guest's token.
    pub async fn guest_conversation(&self, http: &reqwest::Client) -> Result<(String, String)> {
        let issued: serde_json::Value = http
            .post(self.url("/api/messaging/guest"))
            .header("origin", &self.base)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let guest = issued["token"]
            .as_str()
            .context("a guest token")?
            .to_owned();
        let sent: serde_json::Value = http
            .post(self.url("/api/messaging/guest/messages"))
            .header("origin", &self.base)
            .header("x-guest-token", &guest)
            .json(&serde_json::json!({"text": "can you show me?"}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let conversation = sent["conversation_id"]
            .as_str()
            .context("a conversation")?
            .to_owned();
        Ok((conversation, guest))
    }

    /// Signs `name` in over the API (the password is the name, as the demo and the tests
    /// make people); its bearer token.
    pub async fn token_of(&self, name: &str) -> Result<String> {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(self.url("/api/login"))
            .json(&serde_json::json!({"name": name, "password": name}))
            .send()
            .await?
            .json()
            .await?;
        Ok(answer["token"]
            .as_str()
            .context("sign-in gave no token")?
            .to_owned())
    }

    /// The signed-in agent with `token` takes `conversation` (an agent offers co-browse, and
    /// wraps up, only in its own conversations).
    pub async fn take(&self, conversation: &str, token: &str) -> Result<()> {
        let taken = reqwest::Client::new()
            .post(self.url(&format!(
                "/api/messaging/conversations/{conversation}/assign"
            )))
            .bearer_auth(token)
            .send()
            .await?;
        if !taken.status().is_success() {
            bail!("taking {conversation}: {}", taken.status());
        }
        Ok(())
    }

    /// A widget guest's conversation, taken by the signed-in agent with `token`: the
    /// conversation's id and the guest's token.
    pub async fn conversation_of(&self, token: &str) -> Result<(String, String)> {
        let (conversation, guest) = self.guest_conversation(&reqwest::Client::new()).await?;
        self.take(&conversation, token).await?;
        Ok((conversation, guest))
    }

    /// The directory holding the relay's database and attachments.
    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }

    /// CPU time the relay process has used so far (user and system, from `/proc`).
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        // Fields after the command name (which may hold spaces), from the third on.
        let rest = stat.rsplit_once(") ")?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // The kernel's USER_HZ is 100 on every Linux the relay runs on.
        Some(Duration::from_millis(ticks * 10))
    }

    /// The relay process's resident memory now, in KiB (from `/proc`).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    }

    /// Sends SIGTERM, as an orchestrator stopping the node does, and waits (up to 15 s) for
    /// the process to exit: how it exited.
    pub async fn terminate(&mut self) -> Result<std::process::ExitStatus> {
        let pid = self.child.id().context("the relay already exited")?;
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(sent.success(), "kill -TERM {pid} failed");
        tokio::time::timeout(Duration::from_secs(15), self.child.wait())
            .await
            .context("the relay did not exit within 15 s of SIGTERM")?
            .map_err(Into::into)
    }

    /// Kills the process hard, as a crash would.
    pub async fn kill(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// Drops the schemas earlier test processes left (their process is gone), so the shared
/// database holds at most the running processes' tables.
fn drop_stale_schemas(url: &str) {
    let Ok(mut client) = postgres::Client::connect(url, postgres::NoTls) else {
        return;
    };
    let Ok(rows) = client.query(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'relay\\_e2e\\_%'",
        &[],
    ) else {
        return;
    };
    for row in rows {
        let name: String = row.get(0);
        let pid = name.split('_').nth(2).unwrap_or_default();
        if pid.is_empty() || !Path::new("/proc").join(pid).exists() {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"));
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A headless Chromium driven through its own chromedriver process.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// The messaging widget's shadow root, as a script expression.
pub const WIDGET: &str = "document.getElementById('cobrowse-messaging').shadowRoot";

/// Chromium's fake camera and microphone (granted without a prompt: see the profile's
/// preferences in [`Browser::start_with`]), and media that play without a gesture: for the
/// call tests.
pub const FAKE_MEDIA: &[&str] = &[
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
];

/// What the customer's Chromium shares when asked for a screen, beside [`FAKE_MEDIA`]:
/// Chromium's fake entire screen (through its fake, auto-accepting prompt), or the messaging
/// demo page's own tab (picked by its title, so a real tab capture, with its capture handle).
pub const SHARES_SCREEN: &[&str] = &[
    "--use-fake-ui-for-media-stream",
    "--auto-select-desktop-capture-source=Entire screen",
];
pub const SHARES_THIS_TAB: &[&str] =
    &["--auto-select-tab-capture-source-by-title=Messaging demo page"];

/// Two browsers with fake media for a call: the customer on the messaging demo page has
/// written, and the console (signed in as `agent`, in the inbox) has taken the conversation
/// and shows the call buttons. Returns (console, customer).
pub async fn call_pair(relay: &Relay) -> Result<(Browser, Browser)> {
    call_pair_sharing(relay, SHARES_SCREEN).await
}

/// [`call_pair`], the customer's browser sharing what `shares` says.
pub async fn call_pair_sharing(relay: &Relay, shares: &[&str]) -> Result<(Browser, Browser)> {
    let customer_flags: Vec<&str> = FAKE_MEDIA.iter().chain(shares).copied().collect();
    let (console, customer) = tokio::try_join!(
        Browser::start_with(FAKE_MEDIA),
        Browser::start_with(&customer_flags)
    )?;
    console.client.set_window_size(1400, 900).await?;
    customer
        .client
        .goto(&relay.url("/messaging/demo.html"))
        .await?;
    customer.widget_sends("Could you call me?").await?;
    console
        .client
        .goto(&relay.url("/console/inbox.html"))
        .await?;
    console.sign_in("agent").await?;
    console
        .until(
            "the waiting conversation",
            "document.querySelector('#waiting .conv')",
        )
        .await?;
    console.click("#waiting .conv").await?;
    console
        .until("the Take button", "!document.getElementById('take').hidden")
        .await?;
    console.click("#take").await?;
    console
        .until(
            "the call buttons",
            "!document.getElementById('call-video').hidden",
        )
        .await?;
    Ok((console, customer))
}

/// The console places a video call and the customer answers *Accept with video* in the
/// widget's ring prompt (the pair from [`call_pair`]); the console has shown it ringing.
pub async fn video_call_accepted(console: &Browser, customer: &Browser) -> Result<()> {
    console.click("#call-video").await?;
    console
        .until(
            "ringing",
            "document.getElementById('call-panel').dataset.state === 'ringing'",
        )
        .await?;
    customer
        .press(
            "the incoming call",
            &format!("{WIDGET}.querySelector('.ring button.video')"),
        )
        .await
}

impl Browser {
    pub async fn start() -> Result<Browser> {
        Browser::start_with(&[]).await
    }

    /// A browser started with `extra` arguments beside the usual ones (see [`FAKE_MEDIA`]).
    pub async fn start_with(extra: &[&str]) -> Result<Browser> {
        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let port = free_port()?;
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, which the Chromium it starts joins: dropping the browser
            // kills the group (see `Drop`), not chromedriver alone, whose Chromium would live on.
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {chromedriver}"))?;
        let profile = tempfile::tempdir()?;
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1280,800",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                // The microphone and camera are granted without a prompt, also where the fake
                // prompt (`--use-fake-ui-for-media-stream`) is off so a real tab can be shared.
                "prefs": {
                    "profile.default_content_setting_values.media_stream_mic": 1,
                    "profile.default_content_setting_values.media_stream_camera": 1,
                },
            }
        });
        let mut caps = caps;
        if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
            args.extend(extra.iter().map(|a| serde_json::Value::from(*a)));
        }
        let caps = match caps {
            serde_json::Value::Object(map) => map,
            _ => bail!("capabilities are an object"),
        };
        let url = format!("http://127.0.0.1:{port}");
        let client = wait_for("chromedriver", Duration::from_secs(20), || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                ClientBuilder::native()
                    .capabilities(caps)
                    .connect(&url)
                    .await
                    .ok()
            }
        })
        .await?;
        Ok(Browser {
            client,
            driver,
            _profile: profile,
        })
    }

    /// Clicks the element `selector` (CSS) finds.
    pub async fn click(&self, selector: &str) -> Result<()> {
        self.client
            .find(fantoccini::Locator::Css(selector))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Types `text` into the element whose id is `id`, as a person would.
    pub async fn type_into(&self, id: &str, text: &str) -> Result<()> {
        self.client
            .find(fantoccini::Locator::Id(id))
            .await?
            .send_keys(text)
            .await?;
        Ok(())
    }

    /// Signs `name` in on a console page's own sign-in form (`#view-login`; the password is
    /// the name, as the demo and the tests make people). The page reloads, signed in.
    pub async fn sign_in(&self, name: &str) -> Result<()> {
        self.until(
            "the sign-in form",
            "!document.getElementById('view-login').hidden",
        )
        .await?;
        self.type_into("login-name", name).await?;
        self.type_into("login-password", name).await?;
        self.click("#login-form button[type=submit]").await
    }

    /// Runs an async script (the last argument is the callback) and returns its result.
    pub async fn eval_async(&self, script: &str) -> Result<serde_json::Value> {
        Ok(self.client.execute_async(script, vec![]).await?)
    }

    /// Runs a synchronous script and returns its result.
    pub async fn js(&self, script: &str) -> Result<serde_json::Value> {
        Ok(self.client.execute(script, vec![]).await?)
    }

    /// Waits (up to 20 s) until the expression `expr` is truthy; `what` names it in the error.
    pub async fn until(&self, what: &str, expr: &str) -> Result<()> {
        let script = format!("try {{ return !!({expr}); }} catch (e) {{ return false; }}");
        wait_for(what, Duration::from_secs(20), || async {
            self.js(&script)
                .await
                .ok()
                .filter(|v| *v == serde_json::Value::Bool(true))
        })
        .await
        .map(drop)
    }

    /// Clicks the element `expr` finds once it exists, by script, so inside a shadow root too.
    pub async fn press(&self, what: &str, expr: &str) -> Result<()> {
        self.until(what, expr).await?;
        self.js(&format!("{expr}.click(); return 1"))
            .await
            .map(drop)
    }

    /// On a page with the messaging widget: opens it, sends `text` from its composer, and
    /// returns once the relay acknowledged the message (the bubble says `sent`).
    pub async fn widget_sends(&self, text: &str) -> Result<()> {
        self.press("the widget", &format!("{WIDGET}.querySelector('.launch')"))
            .await?;
        let text = serde_json::to_string(text)?;
        self.js(&format!(
            "const r = {WIDGET}; r.querySelector('textarea').value = {text};
             r.querySelector('form').requestSubmit(); return 1"
        ))
        .await?;
        self.until(
            "the visitor's message acknowledged",
            &format!("{WIDGET}.querySelector('.msg.customer').dataset.delivery === 'sent'"),
        )
        .await
    }

    /// Saves a screenshot as `tests/output/{name}.png` for a person to look at.
    pub async fn screenshot(&self, name: &str) -> Result<()> {
        let png = self.client.screenshot().await?;
        std::fs::write(output_dir().join(format!("{name}.png")), png)?;
        Ok(())
    }

    pub async fn close(self) -> Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

impl Drop for Browser {
    /// Kills chromedriver's process group: every Chromium it started, including one from a
    /// session request that was retried, and one that a test failing early never closed.
    /// Killing chromedriver alone left those running (and using CPU) after the test run.
    fn drop(&mut self) {
        let Some(pid) = self.driver.id() else {
            return;
        };
        let killed = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stderr(Stdio::null())
            .status();
        if let Err(e) = killed {
            eprintln!("killing chromedriver's process group {pid}: {e}");
        }
    }
}

/// Widget guests writing through one relay as fast as it answers, until stopped: what a
/// crash test kills the relay under. Each guest keeps the ids of its messages acknowledged
/// (a 200 whose body arrived in full).
pub struct Writers {
    acked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    guests: Vec<(String, tokio::task::JoinHandle<Vec<String>>)>,
}

impl Writers {
    /// `n` guests of `relay`, each writing in a loop.
    pub async fn start(relay: &Relay, n: usize) -> Result<Writers> {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let http = reqwest::Client::new();
        let acked = std::sync::Arc::new(AtomicUsize::new(0));
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let mut guests = Vec::with_capacity(n);
        for _ in 0..n {
            let issued: serde_json::Value = http
                .post(relay.url("/api/messaging/guest"))
                .send()
                .await?
                .json()
                .await?;
            let token = issued["token"].as_str().context("token")?.to_owned();
            let (http, url) = (http.clone(), relay.url("/api/messaging/guest/messages"));
            let (count, stop, guest) = (acked.clone(), stop.clone(), token.clone());
            let task = tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let sent = http
                        .post(&url)
                        .header("x-guest-token", &guest)
                        .json(&serde_json::json!({ "text": format!("m{i}") }))
                        .send()
                        .await;
                    let Ok(response) = sent else { break };
                    if response.status() == 429 {
                        sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    let Ok(body) = response.json::<serde_json::Value>().await else {
                        break;
                    };
                    if let Some(id) = body["message"]["id"].as_str() {
                        acked.push(id.to_owned());
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
                acked
            });
            guests.push((token, task));
        }
        Ok(Writers {
            acked,
            stop,
            guests,
        })
    }

    /// Waits (up to 20 s) until `n` messages were acknowledged in all.
    pub async fn until_acked(&self, n: usize) -> Result<()> {
        wait_for(
            &format!("{n} acknowledged messages"),
            Duration::from_secs(20),
            || async { (self.acked.load(std::sync::atomic::Ordering::Relaxed) >= n).then_some(()) },
        )
        .await
    }

    /// Stops the guests, then checks through `relay` that each one's history holds every
    /// message it was acknowledged; returns how many that was in all.
    pub async fn all_stored_in(self, relay: &Relay) -> Result<usize> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let http = reqwest::Client::new();
        let mut total = 0;
        for (token, task) in self.guests {
            let acked = task.await?;
            let history: serde_json::Value = http
                .get(relay.url("/api/messaging/guest/history"))
                .header("x-guest-token", &token)
                .send()
                .await?
                .json()
                .await?;
            let stored: Vec<&str> = history["history"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["messages"].as_array().into_iter().flatten())
                .filter_map(|m| m["id"].as_str())
                .collect();
            for id in &acked {
                anyhow::ensure!(
                    stored.contains(&id.as_str()),
                    "acknowledged message {id} was lost"
                );
            }
            total += acked.len();
        }
        Ok(total)
    }
}
